#!/usr/bin/env bash
# `make cgroup-setup`: make room for step 7's cgroups inside a Docker or
# Podman container on a cgroup v2 host.  Anywhere else it does nothing,
# and says why in one line.
#
# Such a container gets a cgroup namespace of its own: /sys/fs/cgroup
# is the container's cgroup, seen as the root ("0::/" in
# /proc/self/cgroup), and the container's processes are in it.  cgroup
# v2 lets a cgroup hand its memory controller (a "domain" controller)
# down to child cgroups only while it holds no process itself (the
# kernel's "no internal processes" rule; the real root is exempt, a
# namespace's root is not).  So step 7's write of "+memory" to
# /sys/fs/cgroup/cgroup.subtree_control fails: "Device or resource
# busy", or "Not supported" once "+pids" went in before it.
#
# The fix, which Docker-in-Docker's entrypoint applies too: move every
# process of that root cgroup into a leaf, /sys/fs/cgroup/init, then
# enable pids, memory and cpu for the children.  Nothing else changes:
# the container's own limits sit above the namespace and still hold,
# its processes' children start in init, and `docker exec` (runc, crun)
# puts new processes there too.  It lasts until the container restarts.
# Where it cannot work, it says so: then restart the container with
# --cgroupns=host, or use a VM.
#
# usage: common/cgroup-setup.sh [--quiet | --check]
#   --quiet  say something only when acting, or failing; exit 0 even
#            then: steps 1 to 6 do not need it, and step 7 will say
#            what is wrong (make test, make run)
#   --check  change nothing; print why, and exit 0 if there is nothing
#            to do, 1 if the move is needed, 2 if it would not help
#            (make doctor)
set -euo pipefail

CGROUP=/sys/fs/cgroup
LEAF=init
CONTROLLERS=(pids memory cpu)

mode=${1-}
case $mode in
"" | --quiet | --check) ;;
*)
	echo "usage: $0 [--quiet | --check]" >&2
	exit 2
	;;
esac

# Sets state (none, needed or blocked) and why (a sentence).
diagnose() {
	local enabled offered missing=() c type
	if [[ $(stat -f -c %T "$CGROUP" 2>/dev/null) != cgroup2fs ]]; then
		state=none why="$CGROUP is not cgroup v2 (cgroup v1 has no such rule)"
		return
	fi
	# Every cgroup but the real root has a cgroup.type.
	if [[ ! -e $CGROUP/cgroup.type ]]; then
		state=none why="$CGROUP is the host's root cgroup, which may hold processes and still hand controllers down"
		return
	fi
	if findmnt -no OPTIONS "$CGROUP" | grep -qE '(^|,)ro(,|$)'; then
		state=blocked why="$CGROUP is mounted read-only: run the container with --privileged"
		return
	fi
	enabled=" $(<"$CGROUP/cgroup.subtree_control") "
	for c in "${CONTROLLERS[@]}"; do
		[[ $enabled == *" $c "* ]] || missing+=("$c")
	done
	if ((${#missing[@]} == 0)); then
		state=none why="$CGROUP already hands ${CONTROLLERS[*]} down to its children"
		return
	fi
	if [[ $(</proc/self/cgroup) != "0::/" ]] || ! grep -qx "$$" "$CGROUP/cgroup.procs"; then
		state=none why="this process is not in the root of a cgroup namespace ($(</proc/self/cgroup))"
		return
	fi
	state=blocked
	offered=" $(<"$CGROUP/cgroup.controllers") "
	for c in "${missing[@]}"; do
		if [[ $offered != *" $c "* ]]; then
			why="the container's cgroup is not given the $c controller (see $CGROUP/cgroup.controllers): restart the container with --cgroupns=host, or use a VM"
			return
		fi
	done
	# "domain threaded" is fine: a cgroup with processes and pids or cpu
	# (threaded controllers) enabled shows it, as after a failed step 7,
	# and is plain "domain" again once empty.
	type=$(<"$CGROUP/cgroup.type")
	if [[ $type != domain && $type != "domain threaded" ]]; then
		why="the container's cgroup is of type '$type', which can hold no memory controller: restart the container with --cgroupns=host, or use a VM"
		return
	fi
	state=needed
	why="this is a container's cgroup namespace, whose root cgroup, $CGROUP, holds the container's processes: cgroup v2 lets such a cgroup hand no memory controller down to step 7's cgroups"
}

# Move every process of the root into the leaf, then enable the
# controllers.  A process may join the root meanwhile (`docker exec`
# before the controllers are on): then enabling fails, and we go again.
move_and_enable() {
	local pids pid try moved=0 words c
	words=$(printf '+%s ' "${CONTROLLERS[@]}")
	# A cgroup with processes and a threaded controller (pids, cpu)
	# enabled becomes a "domain threaded" root, below which no cgroup
	# may take a process ("domain invalid").  A failed step 7 leaves it
	# so, having enabled pids before memory failed.  Switch them off
	# first: no cgroup below uses them yet.
	for c in $(<"$CGROUP/cgroup.subtree_control"); do
		echo "-$c" 2>/dev/null >"$CGROUP/cgroup.subtree_control" || true
	done
	mkdir -p "$CGROUP/$LEAF"
	for ((try = 0; try < 10; try++)); do
		mapfile -t pids <"$CGROUP/cgroup.procs"
		for pid in "${pids[@]}"; do
			# One write per PID, as the kernel wants; a process that
			# has exited meanwhile cannot be moved, and need not be.
			if echo "$pid" 2>/dev/null >"$CGROUP/$LEAF/cgroup.procs"; then
				moved=$((moved + 1))
			fi
		done
		if echo "${words% }" 2>/dev/null >"$CGROUP/cgroup.subtree_control"; then
			echo "cgroup-setup: moved the $moved processes of this container's root cgroup into $CGROUP/$LEAF, and enabled ${CONTROLLERS[*]} for its children: step 7 can now give each container its limits"
			return 0
		fi
	done
	failed "could not enable ${CONTROLLERS[*]} in $CGROUP/cgroup.subtree_control: $(wc -l <"$CGROUP/cgroup.procs") processes are still in $CGROUP, and $CGROUP/$LEAF is of type '$(<"$CGROUP/$LEAF/cgroup.type")': restart the container with --cgroupns=host, or use a VM"
}

failed() {
	echo "cgroup-setup: $*" >&2
	[[ $mode == --quiet ]] || exit 1
	exit 0
}

diagnose
case $mode:$state in
--check:none) echo "$why" ;;
--check:needed)
	echo "$why"
	exit 1
	;;
--check:blocked)
	echo "$why"
	exit 2
	;;
--quiet:none) ;;
*:none) echo "cgroup-setup: nothing to do: $why" ;;
*:blocked) failed "$why" ;;
*:needed)
	[[ $(id -u) -eq 0 ]] || failed "$why; moving them needs root (run: sudo make cgroup-setup)"
	move_and_enable
	;;
esac
