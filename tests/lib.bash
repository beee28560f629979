# The harness every test file loads: run a container, find its command
# from the host, stop it, and make sure nothing is left behind.
#
# BIN is the program under test: a step's own program by default, or,
# with `make test-stepN BIN=...`, any program with the same command line
# (a workshop learner's, in any language).  The tests never rely on how
# it is written: only on what it does, as seen from inside (the
# command's output) and from the host (/proc, mounts, cgroups).
#
# Every wait has a time limit, and says what it was waiting for when it
# runs out.  tests/run runs bats in a UTS and a mount namespace of its
# own: a program that renames "the host" or leaks a mount does so there.
# shellcheck shell=bash
# status, output, stderr: set by bats's `run`, read by the test files.
# shellcheck disable=SC2034,SC2154

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The steps, in order: the folders step1-exec ... step7-cgroups.
mapfile -t STEPS < <(cd "$REPO" && printf '%s\n' step[1-9]-*)
# The root filesystem the containers use: $ROOTFS, as the programs see it.
# Another program than this repository's (BIN) has none built in: it is
# given this repository's.
ROOTFS_DIR=${ROOTFS:-$REPO/rootfs}
[[ -z ${BIN-} ]] || export ROOTFS=$ROOTFS_DIR
CGROUP_ROOT=/sys/fs/cgroup

# Seconds: a container's whole run; its command's start; its end after a
# signal.  A program that hangs fails the test with a message, in time.
CTR_TIMEOUT=${CTR_TIMEOUT:-20}
START_TIMEOUT=10
STOP_TIMEOUT=${STOP_TIMEOUT:-5}
# Where the first wait of the harness that ran out is noted, for every
# file of the run: the tests after it fail at once (lib_setup), instead
# of each waiting out its limit again on the same hanging program.
HANG_FILE=$BATS_RUN_TMPDIR/hung

# `hung WHAT`: note that the program under test hung (the first time).
# Only the harness's own waits call it: a container that the test
# expects to end by a signal, or with 124, is no hang.
hung() {
	local where=${BATS_TEST_DESCRIPTION:-setup_file of ${BATS_TEST_FILENAME##*/}}
	[[ -e $HANG_FILE ]] || echo "in test '$where', $1" >"$HANG_FILE"
}

# ---- running a container ----------------------------------------------------

# Every process a test starts carries $TOKEN in its environment (the
# container passes it on to the command, unless it clears the
# environment): a process that still carries it after the test is a
# leftover, wherever it was reparented to.
ctr() {
	TEST_TOKEN=$TOKEN "$BIN" "$@"
}

# `run_ctr [--stdin TEXT] CMD...`: run a container to its end, with
# stdin from TEXT (else /dev/null); $output is its stdout, $stderr its
# stderr, $status its exit status, and $lines, $stderr_lines as bats's
# `run` sets them.
run_ctr() {
	local input=
	[[ $1 == --stdin ]] && { input=$2; shift 2; }
	LAST_CMD="container run $*"
	if [[ -n $input ]]; then
		capture timed_ctr run "$@" <<<"$input"
	else
		capture timed_ctr run "$@" </dev/null
	fi
}

# `capture CMD...`: like bats's `run --separate-stderr`, but with a time
# limit, and without its warning when a program exits 127 (that is what
# a container does when its command is not found).
capture() {
	local start=$SECONDS
	status=0
	"$@" >"$BATS_TEST_TMPDIR/capture.out" 2>"$BATS_TEST_TMPDIR/capture.err" || status=$?
	output=$(<"$BATS_TEST_TMPDIR/capture.out")
	stderr=$(<"$BATS_TEST_TMPDIR/capture.err")
	# bats-assert wants at least one line, even an empty one.
	mapfile -t lines <<<"$output"
	mapfile -t stderr_lines <<<"$stderr"
	LAST_STATUS=$status LAST_OUT=$output LAST_ERR=$stderr
	# timeout(1) exits 124 after its TERM, 137 after its KILL (-k); a
	# container's own 124 or 137 comes sooner.
	if (((status == 124 || status == 137) && SECONDS - start >= CTR_TIMEOUT)); then
		hung "\`$LAST_CMD\` did not exit within $CTR_TIMEOUT s"
		fail "timed out after $CTR_TIMEOUT s while waiting for \`$LAST_CMD\` to exit"
	fi
}

timed_ctr() {
	timeout -k 2 "$CTR_TIMEOUT" env TEST_TOKEN="$TOKEN" "$BIN" "$@"
}

# `start_ctr CMD...`: start a container in the background and wait until
# its command runs.  Sets CTR_PID (the container program) and CMD_PID
# (the command, as the host numbers it); its stdout and stderr go to
# $CTR_OUT and $CTR_ERR.
start_ctr() {
	CTR_OUT=$BATS_TEST_TMPDIR/ctr.out
	CTR_ERR=$BATS_TEST_TMPDIR/ctr.err
	LAST_CMD="container run $*"
	# A simple command, not the ctr function: $! must be the container
	# program itself, not a subshell around it.
	TEST_TOKEN=$TOKEN "$BIN" run "$@" </dev/null >"$CTR_OUT" 2>"$CTR_ERR" &
	CTR_PID=$!
	CMD_PID=
	command_lines "$@"
	local i
	for ((i = 0; i < START_TIMEOUT * 20; i++)); do
		if ! running "$CTR_PID"; then
			wait_ctr
			fail "\`$LAST_CMD\` exited with status $status before its command ran; its stderr: $(<"$CTR_ERR")"
			return
		fi
		# After 2 s, any other program will do (see command_pid).
		CMD_PID=$(command_pid $((i >= 40))) && running "$CMD_PID" && return 0
		sleep 0.05
	done
	hung "the command of \`$LAST_CMD\` did not start within $START_TIMEOUT s"
	fail "timed out after $START_TIMEOUT s while waiting for the command of \`$LAST_CMD\` to start; its stderr: $(<"$CTR_ERR")"
}

# `command_lines CMD...`: the command lines (/proc/PID/cmdline, NULs as
# \1) the command may have: CMD's own, and for `sh -c '...; exec CMD2'`,
# CMD2's, which the shell becomes.
command_lines() {
	CMD_LINES=("$(printf '%s\1' "$@")")
	if [[ $# -eq 3 && $1 == sh && $2 == -c && $3 =~ exec\ ([^\;\&\|\']*)$ ]]; then
		# shellcheck disable=SC2086 # the words of CMD2
		CMD_LINES+=("$(printf '%s\1' ${BASH_REMATCH[1]})")
	fi
}

# The command's host PID: the first descendant of the container program
# that runs another executable than the program itself (which may re-run
# itself, as the Go lesson's "/proc/self/exe child" does, or fork an
# init that stays the same program), and has the command's command line.
# Not any other program: the container program may run helpers before
# the command (`ip`, to wire a network, as runtimes run CNI plugins).
# With $1 = 1, the first other program, whatever its command line.
command_pid() {
	local exe pid pids line
	exe=$(readlink "/proc/$CTR_PID/exe") || return 1
	pids=$(descendants "$CTR_PID")
	# Read before the program exec'ed (still the test's shell), the name
	# would not be the program's.
	[[ $(readlink "/proc/$CTR_PID/exe") == "$exe" ]] || return 1
	for pid in $pids; do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) != "$exe" ]] || continue
		{ line=$(tr '\0' '\1' <"/proc/$pid/cmdline"); } 2>/dev/null || continue
		[[ ${1-0} == 1 ]] || is_command_line "$line" || continue
		echo "$pid"
		return 0
	done
	return 1
}

is_command_line() {
	local line
	for line in "${CMD_LINES[@]}"; do [[ $1 == "$line" ]] && return 0; done
	return 1
}

# `wait_output [--regexp] LINE`: wait until the background container's
# stdout has the line LINE (or a line that matches the regexp).
wait_output() {
	local how=(-xF) i
	[[ $1 == --regexp ]] && { how=(-E); shift; }
	for ((i = 0; i < START_TIMEOUT * 20; i++)); do
		grep -q "${how[@]}" -- "$1" "$CTR_OUT" && return 0
		sleep 0.05
	done
	fail "timed out after $START_TIMEOUT s while waiting for a line '$1' on the stdout of \`$LAST_CMD\`; it printed: $(<"$CTR_OUT")"
}

# `stop_ctr [SIGNAL]`: send SIGNAL (default TERM) to the container
# program, and wait for it; sets $status to its exit status.
stop_ctr() {
	local sig=${1:-TERM}
	kill -"$sig" "$CTR_PID"
	if ! wait_gone "$CTR_PID" "$STOP_TIMEOUT"; then
		hung "\`$LAST_CMD\` did not exit within $STOP_TIMEOUT s after SIG$sig"
		fail "timed out after $STOP_TIMEOUT s while waiting for \`$LAST_CMD\` to exit after SIG$sig: does it pass SIG$sig on to the command?"
		return
	fi
	wait_ctr
}

# `wait_ctr`: wait for a background container to end by itself (within
# CTR_TIMEOUT); sets $status to its exit status.
wait_ctr() {
	if ! wait_gone "$CTR_PID" "$CTR_TIMEOUT"; then
		hung "\`$LAST_CMD\` did not exit within $CTR_TIMEOUT s"
		fail "timed out after $CTR_TIMEOUT s while waiting for \`$LAST_CMD\` to exit"
		return
	fi
	status=0
	# 2>: bash's note that a job was "Killed".
	wait "$CTR_PID" 2>/dev/null || status=$?
	LAST_STATUS=$status LAST_OUT=$(<"$CTR_OUT") LAST_ERR=$(<"$CTR_ERR")
	CTR_PID=
}

# ---- looking from the host ----------------------------------------------------

# True while PID runs (not gone, not a zombie).
running() {
	local state
	state=$(proc_state "$1") && [[ $state != [ZX] ]]
}

proc_state() {
	local stat
	{ stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
	stat=${stat##*) } # after "(comm)", which may hold spaces
	echo "${stat%% *}"
}

ppid_of() {
	local stat
	stat=$(<"/proc/$1/stat") || return 1
	stat=${stat##*) }
	read -r _ ppid _ <<<"$stat"
	echo "$ppid"
}

# `wait_gone PID SECONDS`: true once PID has stopped running.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		running "$1" || return 0
		sleep 0.05
	done
	return 1
}

# The descendants of PID, parents before children, and only the ones
# still running.
descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{ pid = $1; sub(/.*\) /, ""); state[pid] = $1; kids[$2] = kids[$2] " " pid }
		END {
			n = split(kids[root], queue, " ")
			for (i = 1; i <= n; i++) {
				p = queue[i]
				if (state[p] !~ /[ZX]/) print p
				m = split(kids[p], more, " ")
				for (j = 1; j <= m; j++) queue[++n] = more[j]
			}
		}'
}

# The zombies among PID's descendants.
zombies_under() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{ pid = $1; sub(/.*\) /, ""); state[pid] = $1; kids[$2] = kids[$2] " " pid }
		END {
			n = split(kids[root], queue, " ")
			for (i = 1; i <= n; i++) {
				p = queue[i]
				if (state[p] == "Z") print p
				m = split(kids[p], more, " ")
				for (j = 1; j <= m; j++) queue[++n] = more[j]
			}
		}'
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

# The PID of process $1 in its own (innermost) PID namespace.
inner_pid() {
	awk '/^NSpid:/ { print $NF }' "/proc/$1/status"
}

# Mount points in this namespace (the tests' "host"), by mount ID.
mounts() {
	awk '{ print $1, $5, $(NF - 2) }' /proc/self/mountinfo
}

# The cgroup directories of process $1, one a line, for the controllers
# the lesson limits (v2: one; v1: those of pids, memory and cpu).
cgroup_dirs_of() {
	local v2=0 hierarchy controllers path
	[[ $(stat -f -c %T "$CGROUP_ROOT") == cgroup2fs ]] && v2=1
	while IFS=: read -r hierarchy controllers path; do
		if ((v2)); then
			[[ $hierarchy == 0 ]] && echo "$CGROUP_ROOT${path%/}"
			continue
		fi
		case ",$controllers," in
		*,pids,*) echo "$CGROUP_ROOT/pids${path%/}" ;;
		*,memory,*) echo "$CGROUP_ROOT/memory${path%/}" ;;
		*,cpu,*) echo "$CGROUP_ROOT/cpu${path%/}" ;;
		esac
	done <"/proc/$1/cgroup"
}

# The cgroups of process $1 that the tests themselves are not in.
own_cgroups_of() {
	comm -23 <(cgroup_dirs_of "$1" | sort) <(cgroup_dirs_of $$ | sort)
}

# `cgroup_file PID FILE`: the path of a cgroup file of process PID,
# whichever of its hierarchies has it.
cgroup_file() {
	local dir
	for dir in $(cgroup_dirs_of "$1"); do
		[[ -e $dir/$2 ]] && { echo "$dir/$2"; return 0; }
	done
	echo "no $2 in the cgroups of the command: $(cgroup_dirs_of "$1" | tr '\n' ' ')" >&2
	return 1
}

# Every cgroup on the machine, whatever its name, but systemd's units,
# which systemd makes and removes by itself while the tests run.
cgroups() {
	find "$CGROUP_ROOT" -mindepth 1 -type d \
		! -name '*.scope' ! -name '*.service' ! -name '*.slice' 2>/dev/null | sort
}

# Another root filesystem: a copy of $ROOTFS_DIR with a space in its
# name and a file of its own, /which-root.  Made once per test file, in
# the repository (its device nodes must work: /tmp may be nodev).
OTHER_ROOT="$REPO/build/test roots/$(basename "$BATS_TEST_FILENAME" .bats)"
other_root() {
	[[ -e $OTHER_ROOT/which-root ]] && return 0
	rm -rf -- "$OTHER_ROOT"
	mkdir -p -- "$OTHER_ROOT"
	cp -a -x -- "$ROOTFS_DIR/." "$OTHER_ROOT/"
	echo other >"$OTHER_ROOT/which-root"
}

# ---- what a later step changes ------------------------------------------------

# Some tests show what a step does NOT isolate yet (in step 3, ps still
# lists the host's processes).  A later step's program isolates it, so
# such a test is skipped, saying why, when the program under test
# already has the feature.  The features, found once per file by looking
# at a running container from the host:
#   FEAT_UTS FEAT_PID FEAT_ROOT FEAT_PROC FEAT_MNT  (1 or 0)
detect_features() {
	TOKEN=detect-$$-$RANDOM
	start_ctr sleep 30 || return
	export FEAT_UTS=0 FEAT_PID=0 FEAT_ROOT=0 FEAT_PROC=0 FEAT_MNT=0
	same_ns "$CMD_PID" $$ uts || FEAT_UTS=1
	same_ns "$CMD_PID" $$ pid || FEAT_PID=1
	same_ns "$CMD_PID" $$ mnt || FEAT_MNT=1
	# By inode, not by name: a root that pivot_root() made is "/" by name.
	[[ $(stat -L -c %d:%i "/proc/$CMD_PID/root/") == $(stat -c %d:%i /) ]] || FEAT_ROOT=1
	# mountinfo paths are relative to the process's root: a proc mount
	# at "/proc", seen from a process with a root of its own, is the
	# container's.
	if ((FEAT_ROOT)) && awk '$5 == "/proc" && / - proc /' "/proc/$CMD_PID/mountinfo" | grep -q .; then
		FEAT_PROC=1
	fi
	stop_leftover_ctr
}

# `skip_if_feature FEAT why`: skip when the program under test has it.
skip_if_feature() {
	local var=FEAT_$1
	if [[ ${!var:-0} == 1 ]]; then
		skip "the program under test already isolates this (a later step): $2"
	fi
}

# ---- nothing left behind ---------------------------------------------------------

# What a test must leave as it found it: mounts, cgroups, the hostname.
snapshot() {
	mounts >"$1.mounts"
	cgroups >"$1.cgroups"
	hostname >"$1.hostname"
}

# `cleanup_since SNAPSHOT`: remove what containers left since SNAPSHOT
# and say what it was; false if anything was left.  Processes are found
# by their token, mounts and cgroups by comparing with the snapshot, so
# whatever their name.
cleanup_since() {
	local found=0 pid id dir mnt fs was
	for pid in $(token_pids); do
		echo "leftover process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		kill -KILL "$pid" 2>/dev/null || true
		found=1
	done
	# Newest first: a mount inside another goes before it.
	while read -r id mnt fs; do
		echo "leftover mount: $mnt ($fs)"
		umount -l "$mnt" 2>/dev/null || true
		found=1
	done < <(join -v 1 <(mounts | sort -k1,1) <(sort -k1,1 "$1.mounts") | sort -rn)
	# A new cgroup with no process left in it (leftovers were just
	# killed) is a leak; one with processes is someone else's, such as
	# a service started meanwhile.  Deepest first: a cgroup inside
	# another goes before it.
	for dir in $(comm -13 "$1.cgroups" <(cgroups) | sort -r); do
		empty_cgroup "$dir" || continue
		echo "leftover cgroup: $dir (the container program must remove its cgroup when the container ends)"
		rmdir "$dir" 2>/dev/null || true
		found=1
	done
	was=$(<"$1.hostname")
	if [[ $(hostname) != "$was" ]]; then
		echo "the host's hostname changed from $was to $(hostname) (give the container a UTS namespace of its own)"
		hostname "$was"
		found=1
	fi
	return "$found"
}

# True if cgroup $1 exists and stays empty for a second.  A leaked one
# does; another runtime's, made meanwhile (and during the test), gets
# its processes or goes away.
empty_cgroup() {
	local try
	for ((try = 0; try < 10; try++)); do
		[[ -d $1 && -z $(cat "$1/cgroup.procs" 2>/dev/null) ]] || return 1
		sleep 0.1
	done
}

# The PIDs of the processes that carry $TOKEN.
token_pids() {
	grep -lz "^TEST_TOKEN=$TOKEN\$" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/\([0-9]*\)/environ$|\1|' | sort -n
}

# Stop the container the test left running: TERM first, so that it can
# clean up; then KILL (a test that failed because TERM did nothing need
# not wait long again).
stop_leftover_ctr() {
	[[ -n ${CTR_PID-} ]] || return 0
	if running "$CTR_PID"; then
		kill -TERM "$CTR_PID" 2>/dev/null || true
		wait_gone "$CTR_PID" 2 || kill -KILL "$CTR_PID" 2>/dev/null || true
	fi
	wait "$CTR_PID" 2>/dev/null || true
	CTR_PID=
}

# After a failed test: what the last container printed, so that the
# failure can be read without running it again.
show_last_container() {
	[[ -n ${LAST_CMD-} ]] || return 0
	echo "-- the last container: \`$LAST_CMD\`"
	echo "exit status: ${LAST_STATUS-(still running)}"
	if [[ -z ${LAST_STATUS-} && -n ${CTR_OUT-} ]]; then
		LAST_OUT=$(<"$CTR_OUT") LAST_ERR=$(<"$CTR_ERR")
	fi
	echo "stdout:"
	head -n 30 <<<"${LAST_OUT-}" | sed 's/^/  | /'
	echo "stderr:"
	head -n 30 <<<"${LAST_ERR-}" | sed 's/^/  | /'
	echo "--"
}

# ---- per-file and per-test hooks ---------------------------------------------------

# `step_setup_file STEPDIR`: call from setup_file.  Exports BIN, the
# features of the program under test, and the snapshot teardown_file
# compares with.
step_setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: namespaces, mounts and cgroups (run: sudo make test)"
	fi
	export BIN=${BIN:-$REPO/$1/container}
	[[ -x $BIN ]] || fail "$BIN: no such program (run make, or give BIN=path/to/your/program)" || return
	[[ -e $ROOTFS_DIR/container-rootfs ]] || fail "no root filesystem at $ROOTFS_DIR (run: sudo make rootfs)" || return
	export FILE_SNAPSHOT=$BATS_FILE_TMPDIR/file
	snapshot "$FILE_SNAPSHOT"
	detect_features
	# The tests judge what was left behind; this is not one of them.
	cleanup_since "$FILE_SNAPSHOT" >/dev/null || true
}

# A failed setup_file (a program that cannot start a container) may
# still have left something: clean it up, quietly.
teardown_file() {
	stop_leftover_ctr
	[[ -z ${FILE_SNAPSHOT-} ]] || cleanup_since "$FILE_SNAPSHOT" >/dev/null || true
	rm -rf -- "$OTHER_ROOT"
}

# A test file that needs a setup or teardown of its own calls these.
setup() { lib_setup; }
teardown() { lib_teardown; }

lib_setup() {
	TOKEN=cfs-test-$$-$BATS_TEST_NUMBER-$RANDOM
	CTR_PID=
	LAST_CMD=
	if [[ -n ${TESTS_FAIL_FAST-} && -e $BATS_RUN_TMPDIR/failed ]]; then
		skip "an earlier test failed (tests/run --fail-fast)"
	fi
	if [[ -e $HANG_FILE ]]; then
		fail "not run: $(<"$HANG_FILE"); fix that first"
		return
	fi
	snapshot "$BATS_TEST_TMPDIR/before"
}

lib_teardown() {
	stop_leftover_ctr
	local left status=0
	if [[ -z ${BATS_TEST_COMPLETED-} && -z ${BATS_TEST_SKIPPED-} ]]; then
		show_last_container
		status=1
	fi
	if [[ -e $BATS_TEST_TMPDIR/before.mounts ]] && ! left=$(cleanup_since "$BATS_TEST_TMPDIR/before"); then
		echo "$left"
		status=1
	fi
	if ((status)) && [[ -n ${TESTS_FAIL_FAST-} ]]; then
		touch "$BATS_RUN_TMPDIR/failed"
	fi
	return "$status"
}
