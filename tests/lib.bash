# Shared by every step's test file: how to start a container, look at it
# from the host, and make sure it leaves nothing behind.
#
# A step's file sets STEP_DIR and loads this.  BIN, when set, names the
# program under test instead (`make test-stepN BIN=...`), so a learner
# can check their own container against any step's tests.
# shellcheck shell=bash
# status is bats's: the tests read it after stop_ctr and wait_ctr.
# shellcheck disable=SC2034

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
ROOTFS_DIR=$REPO/rootfs
CGROUP_ROOT=/sys/fs/cgroup

# ---- the container under test -------------------------------------------

# Every process a test starts carries $TOKEN in its environment, which
# the container passes on to the command: a process still carrying it
# after the test is a leftover, wherever it was reparented to.
ctr() {
	CFS_TEST_TOKEN=$TOKEN "$BIN" "$@"
}

# `run_ctr [-N] CMD...`: run a container; $output is its stdout, $stderr
# its stderr, $status its exit status.  -N: the status must be N (bats
# asks for it when N is 127, "command not found").
run_ctr() {
	local expect=()
	[[ $1 =~ ^-[0-9]+$ ]] && { expect=("$1"); shift; }
	run "${expect[@]}" --separate-stderr ctr run "$@"
}

# `start_ctr CMD...`: start a container in the background and wait until
# the command runs.  Sets CTR_PID (the container program, on the host)
# and CMD_PID (the command, as the host numbers it); its stdout and
# stderr go to $CTR_OUT and $CTR_ERR.
start_ctr() {
	CTR_OUT=$BATS_TEST_TMPDIR/ctr.out
	CTR_ERR=$BATS_TEST_TMPDIR/ctr.err
	# A simple command, not the ctr function: $! must be the container
	# program itself, not a subshell around it.
	CFS_TEST_TOKEN=$TOKEN "$BIN" run "$@" >"$CTR_OUT" 2>"$CTR_ERR" &
	CTR_PID=$!
	CMD_PID=
	local tries
	for ((tries = 0; tries < 200; tries++)); do
		CMD_PID=$(command_pid) && return 0
		kill -0 "$CTR_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "the container did not start its command: $(cat "$CTR_ERR")" >&2
	return 1
}

# The PIDs of the processes that carry $TOKEN, or with `token_pids
# exact` only $TOKEN itself (not TOKEN-suffixed ones), in PID order.
# One grep reads every environment: no fork per process.
token_pids() {
	local pattern="^CFS_TEST_TOKEN=$TOKEN"
	[[ ${1-} == exact ]] && pattern+='$'
	grep -lz "$pattern" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/\([0-9]*\)/environ$|\1|' | sort -n
}

# The command's host PID: the first process with our token that is no
# longer the container program itself (it has exec'ed the command).
command_pid() {
	local pid bin
	bin=$(readlink -f "$BIN")
	for pid in $(token_pids exact); do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) != "$bin" ]] || continue
		echo "$pid"
		return 0
	done
	return 1
}

# `wait_output TEXT`: wait (up to 5 s) for the background container's
# stdout to hold TEXT.
wait_output() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qF -- "$1" "$CTR_OUT" && return 0
		sleep 0.05
	done
	echo "no '$1' in the container's output: $(cat "$CTR_OUT")" >&2
	return 1
}

# `stop_ctr [SIGNAL]`: signal the container program (default TERM) and
# wait for it; sets $status to its exit status.
stop_ctr() {
	kill -"${1:-TERM}" "$CTR_PID"
	status=0
	wait "$CTR_PID" || status=$?
	CTR_PID=
}

# `wait_ctr`: wait for a background container to end by itself.
wait_ctr() {
	status=0
	wait "$CTR_PID" || status=$?
	CTR_PID=
}

# `refute CMD...`: fail if CMD succeeds.  A plain `! CMD` would never
# fail a bats test: errexit ignores negated commands.
refute() {
	if "$@"; then
		echo "expected to fail, but it did not: $*" >&2
		return 1
	fi
}

# ---- looking from the host ----------------------------------------------

# `wait_gone PID SECONDS`: true once PID has exited (it may be a zombie
# still; we only care that it stopped running).
wait_gone() {
	local i state
	for ((i = 0; i < $2 * 20; i++)); do
		state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
		[[ $state == Z ]] && return 0
		sleep 0.05
	done
	return 1
}

ppid_of() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) } # after "(comm)", which may hold spaces
	read -r _ ppid _ <<<"$stat"
	echo "$ppid"
}

# True if $1 descends from $2.
descends_from() {
	local pid=$1
	while [[ $pid -gt 1 ]]; do
		pid=$(ppid_of "$pid") || return 1
		[[ $pid == "$2" ]] && return 0
	done
	return 1
}

same_ns() {
	[[ $(readlink "/proc/$1/ns/$3") == "$(readlink "/proc/$2/ns/$3")" ]]
}

# The host's mounts at or below $1.
host_mounts_under() {
	awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo
}

# The cgroup directories of process $1, one per line, for the
# controllers the lesson limits (v2: one; v1: pids, memory, cpu).
cgroup_dirs_of() {
	local pid=$1 line hierarchy controllers path
	while IFS= read -r line; do
		hierarchy=${line%%:*}
		line=${line#*:}
		controllers=${line%%:*}
		path=${line#*:}
		if [[ $(stat -f -c %T "$CGROUP_ROOT") == cgroup2fs ]]; then
			[[ $hierarchy == 0 ]] && echo "$CGROUP_ROOT$path"
		else
			case ",$controllers," in
			*,pids,*) echo "$CGROUP_ROOT/pids$path" ;;
			*,memory,*) echo "$CGROUP_ROOT/memory$path" ;;
			*,cpu,*) echo "$CGROUP_ROOT/cpu$path" ;;
			esac
		fi
	done <"/proc/$pid/cgroup"
}

# `cgroup_file PID FILE`: the path of a cgroup file of process PID,
# whichever hierarchy holds it.
cgroup_file() {
	local dir
	for dir in $(cgroup_dirs_of "$1"); do
		[[ -e $dir/$2 ]] && { echo "$dir/$2"; return 0; }
	done
	echo "no $2 in the cgroups of $1: $(cgroup_dirs_of "$1" | tr '\n' ' ')" >&2
	return 1
}

# Cgroups named container-PID whose container program PID is gone: a
# container removes its cgroup before it exits, so these were leaked.
# (Live ones may belong to another test run on this machine.)
dead_container_cgroups() {
	local base dir
	for base in "$CGROUP_ROOT" "$CGROUP_ROOT"/{pids,memory,cpu}; do
		[[ -d $base ]] || continue
		for dir in "$base"/container-*; do
			[[ -d $dir ]] || continue
			# Look again once the program is seen gone: a container
			# removes its cgroup just before it exits.
			kill -0 "${dir##*/container-}" 2>/dev/null || [[ ! -d $dir ]] || echo "$dir"
		done
	done
}

# ---- what a later step changes -------------------------------------------

# Some of a step's tests show what that step does NOT isolate yet (ps
# still lists the host's processes in step 3).  A later step's program
# isolates it, so such a test is skipped, saying why, when the program
# under test already has the feature.  The features, found once per file
# by looking at a running container from the host:
#   FEAT_UTS FEAT_PID FEAT_ROOT FEAT_PROC FEAT_MNT FEAT_CGROUP  (1 or 0)
detect_features() {
	TOKEN=detect-$$-$RANDOM
	start_ctr sleep 30
	local root
	root=$(readlink "/proc/$CMD_PID/root")
	export FEAT_UTS=0 FEAT_PID=0 FEAT_ROOT=0 FEAT_PROC=0 FEAT_MNT=0 FEAT_CGROUP=0
	same_ns "$CMD_PID" $$ uts || FEAT_UTS=1
	same_ns "$CMD_PID" $$ pid || FEAT_PID=1
	[[ $root == / ]] || FEAT_ROOT=1
	same_ns "$CMD_PID" $$ mnt || FEAT_MNT=1
	# mountinfo paths are relative to the process's root: a proc mount
	# at "/proc" seen from a process with its own root is the container's.
	if ((FEAT_ROOT)) && awk '$5 == "/proc" && / - proc /' "/proc/$CMD_PID/mountinfo" | grep -q .; then
		FEAT_PROC=1
	fi
	[[ $(<"/proc/$CMD_PID/cgroup") == "$(<"/proc/self/cgroup")" ]] || FEAT_CGROUP=1
	stop_ctr KILL
	sleep 0.1
	cleanup_leftovers >/dev/null || true
}

# `skip_if_feature FEAT why`: skip when the program under test has it.
skip_if_feature() {
	local var=FEAT_$1
	if [[ ${!var:-0} == 1 ]]; then
		skip "the program under test already isolates this (a later step): $2"
	fi
}

# ---- nothing left behind ---------------------------------------------------

# Remove whatever a container left on the host, and say what it was:
# processes with the token, mounts in the root filesystem, cgroups.
cleanup_leftovers() {
	local found=0 pid mnt dir
	for pid in $(token_pids); do
		echo "leftover process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		kill -KILL "$pid" 2>/dev/null || true
		found=1
	done
	for mnt in $(host_mounts_under "$ROOTFS_DIR" | sort -r); do
		echo "leftover mount: $mnt"
		umount -l "$mnt" || true
		found=1
	done
	for dir in $(dead_container_cgroups); do
		xargs -r kill -KILL <"$dir/cgroup.procs" 2>/dev/null || true
		sleep 0.1
		# Gone meanwhile: another container run removed it as stale.
		rmdir "$dir" 2>/dev/null || [[ -d $dir ]] || continue
		echo "leftover cgroup: $dir"
		found=1
	done
	return "$found"
}

# ---- per-file and per-test hooks -------------------------------------------

# `step_setup_file STEPDIR`: call from setup_file.
step_setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: namespaces, mounts and cgroups (run: sudo make test)"
	fi
	export BIN=${BIN:-$REPO/$1/container}
	[[ -x $BIN ]] || { echo "$BIN: not built (run make)" >&2; return 1; }
	export HOST_HOSTNAME
	HOST_HOSTNAME=$(hostname)
	detect_features
}

setup() {
	TOKEN=cfs-test-$$-$BATS_TEST_NUMBER-$RANDOM
	CTR_PID=
}

teardown() {
	nothing_left_behind
}

# Stop what the test left running, then fail the test if it leaked.
nothing_left_behind() {
	if [[ -n ${CTR_PID-} ]] && kill -0 "$CTR_PID" 2>/dev/null; then
		# TERM first: the container passes it on and cleans up.
		kill -TERM "$CTR_PID" 2>/dev/null || true
		wait_gone "$CTR_PID" 5 || kill -KILL "$CTR_PID" 2>/dev/null || true
		wait "$CTR_PID" 2>/dev/null || true
	fi
	local left
	if ! left=$(cleanup_leftovers); then
		echo "$left" >&2
		return 1
	fi
	[[ $(hostname) == "$HOST_HOSTNAME" ]] || {
		echo "the host's hostname changed to $(hostname)" >&2
		hostname "$HOST_HOSTNAME"
		return 1
	}
}
