#!/usr/bin/env bash
# `make cgroup-setup`: make room for step 7's cgroups inside a Docker or Podman container on a
# cgroup v2 host; anywhere else do nothing, and say why in one line.  There the cgroup namespace's
# root, /sys/fs/cgroup, holds the container's processes, and cgroup v2 lets such a cgroup hand no
# memory controller down (the "no internal processes" rule; only the real root is exempt).  The
# fix, as Docker-in-Docker's: move them into a leaf, /sys/fs/cgroup/init, then enable pids, memory
# and cpu.  It lasts until the container restarts.
# usage: common/cgroup-setup.sh [--quiet | --check]
#   --quiet  speak only when acting or failing; exit 0 even then: step 7 will say what is wrong
#   --check  change nothing; say why; exit 0 if there is nothing to do, 1 if the move is needed,
#            2 if it would not help (make doctor)
set -euo pipefail

CGROUP=/sys/fs/cgroup
LEAF=$CGROUP/init
CONTROLLERS=(pids memory cpu)
RESTART="restart the container with --cgroupns=host, or use a VM"
mode=${1-}
[[ $mode == @(|--quiet|--check) ]] || { echo "usage: $0 [--quiet | --check]" >&2; exit 2; }

# `missing FILE`: the controllers FILE does not list.
missing() { printf '%s\n' "${CONTROLLERS[@]}" | grep -vxF -f <(tr ' ' '\n' <"$1"); }
diagnose() { # sets state (none, needed or blocked) and why (a sentence)
	local c type
	state=none
	if [[ $(stat -f -c %T "$CGROUP" 2>/dev/null) != cgroup2fs ]]; then
		why="$CGROUP is not cgroup v2 (cgroup v1 has no such rule)"
	elif [[ ! -e $CGROUP/cgroup.type ]]; then # every cgroup has one, but the real root
		why="$CGROUP is the host's root cgroup, which may hold processes and still"
		why+=" hand controllers down"
	elif findmnt -no OPTIONS "$CGROUP" | tr , '\n' | grep -qx ro; then
		state=blocked why="$CGROUP is read-only: run the container with --privileged"
	elif ! missing "$CGROUP/cgroup.subtree_control" >/dev/null; then
		why="$CGROUP already hands ${CONTROLLERS[*]} down to its children"
	elif [[ $(</proc/self/cgroup) != "0::/" ]] || ! grep -qx "$$" "$CGROUP/cgroup.procs"; then
		why="this process is not in the root of a cgroup namespace ($(</proc/self/cgroup))"
	elif c=$(missing "$CGROUP/cgroup.controllers" | head -n 1) && [[ -n $c ]]; then
		state=blocked why="the container's cgroup is not given the $c controller"
		why+=" (see $CGROUP/cgroup.controllers): $RESTART"
	# "domain threaded" is fine: a failed step 7 leaves it so, having enabled pids.
	elif type=$(<"$CGROUP/cgroup.type") && [[ $type != @(domain|domain threaded) ]]; then
		state=blocked why="the container's cgroup is of type '$type', which can hold no"
		why+=" memory controller: $RESTART"
	else
		state=needed why="this is a container's cgroup namespace, whose root cgroup,"
		why+=" $CGROUP, holds the container's processes: cgroup v2 lets such a cgroup"
		why+=" hand no memory controller down to step 7's cgroups"
	fi
}

failed() { echo "cgroup-setup: $*" >&2; [[ $mode == --quiet ]] && exit 0; exit 1; }
# A process may join the root meanwhile (`docker exec`): then enabling fails, and we go again.
move_and_enable() {
	local pid try moved=0 c
	# With processes and pids or cpu enabled, the root is "domain threaded" and its children
	# "domain invalid": switch them off; no child uses them yet.
	for c in $(<"$CGROUP/cgroup.subtree_control"); do
		echo "-$c" 2>/dev/null >"$CGROUP/cgroup.subtree_control" || true
	done
	mkdir -p "$LEAF"
	for ((try = 0; try < 10; try++)); do
		# One PID a write; one that has exited meanwhile need not move.
		for pid in $(<"$CGROUP/cgroup.procs"); do
			echo "$pid" 2>/dev/null >"$LEAF/cgroup.procs" && moved=$((moved + 1))
		done
		if echo "${CONTROLLERS[@]/#/+}" 2>/dev/null >"$CGROUP/cgroup.subtree_control"; then
			echo "cgroup-setup: moved the $moved processes of this container's root" \
				"cgroup into $LEAF, and enabled ${CONTROLLERS[*]} for its" \
				"children: step 7 can now give each container its limits"
			return 0
		fi
	done
	failed "could not enable ${CONTROLLERS[*]} in $CGROUP/cgroup.subtree_control:" \
		"$(wc -l <"$CGROUP/cgroup.procs") processes are still in $CGROUP, and $LEAF is" \
		"of type '$(<"$LEAF/cgroup.type")': $RESTART"
}

diagnose
case $mode:$state in
--check:none) echo "$why" ;;
--check:needed) echo "$why" && exit 1 ;;
--check:blocked) echo "$why" && exit 2 ;;
--quiet:none) ;;
*:none) echo "cgroup-setup: nothing to do: $why" ;;
*:blocked) failed "$why" ;;
*:needed)
	[[ $(id -u) -eq 0 ]] || failed "$why; moving them needs root (run: sudo make cgroup-setup)"
	move_and_enable
	;;
esac
