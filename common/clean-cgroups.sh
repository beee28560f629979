#!/usr/bin/env bash
# `make clean-cgroups`: remove the cgroups that containers killed with
# SIGKILL left behind.  Step 7 removes its cgroup when the container
# ends, however it ends, except when the container program itself is
# killed with SIGKILL: then nothing runs to remove it.  Its init died
# with it (PR_SET_PDEATHSIG), and the kernel killed the rest of the
# container, so what is left is an empty directory, container-PID,
# whose PID is gone.  Only those are removed.
#
# usage: common/clean-cgroups.sh [--list]   (--list: only print them)
set -euo pipefail

root=/sys/fs/cgroup
list_only=0
[[ ${1-} == --list ]] && list_only=1

# The cgroup directories of containers whose program is gone: on v2 at
# the top of the tree, on v1 at the top of each controller's tree.
stale() {
	local dir pid
	for dir in "$root"/container-* "$root"/*/container-*; do
		[[ -d $dir ]] || continue
		pid=${dir##*/container-}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null && continue
		# A process still in it: not a container's leftover, leave it.
		[[ -z $(<"$dir/cgroup.procs") ]] || continue
		echo "$dir"
	done
}

found=0 failed=0
while IFS= read -r dir; do
	found=$((found + 1))
	if ((list_only)); then
		echo "$dir"
	elif rmdir "$dir"; then
		echo "removed $dir"
	else
		failed=1
	fi
done < <(stale)
((list_only || found > 0)) || echo "no cgroup left by a killed container"
exit "$failed"
