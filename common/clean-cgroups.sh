#!/usr/bin/env bash
# `make clean-cgroups`: remove the cgroups of containers whose program was killed with SIGKILL.
# Step 7 removes its cgroup however the container ends, but then nothing runs to: its init died
# too (PR_SET_PDEATHSIG), the kernel killed the rest.  Only such go: empty, named by a gone PID.
# usage: common/clean-cgroups.sh [--list]   (--list: only print them)
set -euo pipefail

found=0 failed=0
# On v2 at the top of the tree, on v1 at the top of each controller's tree.
for dir in /sys/fs/cgroup/container-* /sys/fs/cgroup/*/container-*; do
	pid=${dir##*/container-}
	[[ -d $dir && $pid =~ ^[0-9]+$ ]] || continue
	kill -0 "$pid" 2>/dev/null && continue
	# A process still in it: not a container's leftover, leave it.
	[[ -z $(<"$dir/cgroup.procs") ]] || continue
	found=$((found + 1))
	if [[ ${1-} == --list ]]; then
		echo "$dir"
	elif rmdir "$dir"; then
		echo "removed $dir"
	else
		failed=1
	fi
done
[[ ${1-} == --list ]] || ((found > 0)) || echo "no cgroup left by a killed container"
exit "$failed"
