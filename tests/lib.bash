# The harness every test file loads: run a container, find its command from the host, stop it, and
# make sure nothing is left.  BIN, the program under test, is a step's own, or any with the same
# command line in any language (make test-stepN BIN=...): the tests judge only what it does (its
# command's output, /proc, mounts, cgroups).  Every wait is time-limited and says what it waited for.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # status, output, stderr: set by bats's `run`, read by tests

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mapfile -t STEPS < <(cd "$REPO" && printf '%s\n' step[1-9]-*)
# Another program than this repository's (BIN) is given this repository's rootfs.
ROOTFS_DIR=${ROOTFS:-$REPO/rootfs}
[[ -z ${BIN-} ]] || export ROOTFS=$ROOTFS_DIR
CGROUP_ROOT=/sys/fs/cgroup

# Seconds: a container's whole run; its command's start; its end after a signal.
CTR_TIMEOUT=${CTR_TIMEOUT:-20}
START_TIMEOUT=10
STOP_TIMEOUT=${STOP_TIMEOUT:-5}
# The first wait that ran out (timed_out), for the whole run: later tests fail at once (lib_setup).
HANG_FILE=$BATS_RUN_TMPDIR/hung

# `timed_out SECONDS WHAT [MORE]`: fail, the harness's wait for WHAT having run out.
timed_out() {
	local where=${BATS_TEST_DESCRIPTION:-setup_file of ${BATS_TEST_FILENAME##*/}}
	[[ -e $HANG_FILE ]] || echo "in test '$where', timed out after $1 s while waiting for $2" >"$HANG_FILE"
	fail "timed out after $1 s while waiting for $2${3-}"
}

# `wait_for SECONDS CMD...`: true once CMD succeeds; false if it does not in time.
wait_for() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		"${@:2}" && return 0
		sleep 0.05
	done
	return 1
}

# `run_ctr [--stdin TEXT] CMD...`: capture a container's whole run, its stdin TEXT or /dev/null.
run_ctr() {
	local input=/dev/null
	[[ $1 == --stdin ]] && { input=$BATS_TEST_TMPDIR/stdin; echo "$2" >"$input"; shift 2; }
	LAST_CMD="container run $*"
	capture timed_ctr run "$@" <"$input"
}

# `capture CMD...`: bats's `run --separate-stderr`, with a time limit, and without its warning
# on status 127 (a container's command not found): sets $output, $stderr, $status, and so on.
capture() {
	local start=$SECONDS
	status=0
	"$@" >"$BATS_TEST_TMPDIR/capture.out" 2>"$BATS_TEST_TMPDIR/capture.err" || status=$?
	output=$(<"$BATS_TEST_TMPDIR/capture.out")
	stderr=$(<"$BATS_TEST_TMPDIR/capture.err")
	mapfile -t lines <<<"$output" # at least one line, as bats-assert wants
	mapfile -t stderr_lines <<<"$stderr"
	LAST_STATUS=$status LAST_OUT=$output LAST_ERR=$stderr
	# timeout(1) exits 124 after TERM, 137 after KILL; a container's own come sooner.
	if (((status == 124 || status == 137) && SECONDS - start >= CTR_TIMEOUT)); then
		timed_out "$CTR_TIMEOUT" "\`$LAST_CMD\` to exit"
	fi
}

timed_ctr() { timeout -k 2 "$CTR_TIMEOUT" env TEST_TOKEN="$TOKEN" "$BIN" "$@"; }

# `start_ctr CMD...`: start a container in the background and wait until its command runs.  Sets
# CTR_PID (the program), CMD_PID (the command's host PID); its stdout, stderr: $CTR_OUT, $CTR_ERR.
start_ctr() {
	CTR_OUT=$BATS_TEST_TMPDIR/ctr.out CTR_ERR=$BATS_TEST_TMPDIR/ctr.err
	LAST_CMD="container run $*"
	# A simple command: $! is the container program, not a subshell.
	TEST_TOKEN=$TOKEN "$BIN" run "$@" </dev/null >"$CTR_OUT" 2>"$CTR_ERR" &
	CTR_PID=$!
	CMD_PID='' POLLS=0
	# The command lines (/proc/PID/cmdline, NULs as \1) the command may have: CMD's own, and for
	# `sh -c '...; exec CMD2'`, CMD2's, which the shell becomes.
	declare -gA CMD_LINES=(["$(printf '%s\1' "$@")"]=1)
	if [[ $# -eq 3 && $1 == sh && $2 == -c && $3 =~ exec\ ([^\;\&\|\']*)$ ]]; then
		# shellcheck disable=SC2086 # the words of CMD2
		CMD_LINES[$(printf '%s\1' ${BASH_REMATCH[1]})]=1
	fi
	if ! wait_for "$START_TIMEOUT" started_or_exited; then
		timed_out "$START_TIMEOUT" "the command of \`$LAST_CMD\` to start" "; its stderr: $(<"$CTR_ERR")"
	elif [[ -z $CMD_PID ]]; then
		wait_ctr
		fail "\`$LAST_CMD\` exited with status $status before its command ran; its stderr: $(<"$CTR_ERR")"
	fi
}

# True once the container program has exited, or its command runs: CMD_PID, the first descendant of
# the program that runs another executable (it may re-run itself, or fork an init) with one of
# CMD_LINES, not a helper it runs first (`ip`, as runtimes run CNI plugins); after 2 s, any will do.
started_or_exited() {
	local exe pid pids line
	running "$CTR_PID" || return 0
	POLLS=$((POLLS + 1))
	exe=$(readlink "/proc/$CTR_PID/exe") || return 1
	pids=$(descendants "$CTR_PID")
	# The same program before and after listing them: not mid-exec (until then, $CTR_PID is the
	# test's shell, and its children are not the container's).
	[[ $(readlink "/proc/$CTR_PID/exe") == "$exe" ]] || return 1
	for pid in $pids; do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) != "$exe" ]] || continue
		{ line=$(tr '\0' '\1' <"/proc/$pid/cmdline"); } 2>/dev/null || continue
		((POLLS > 40)) || [[ -n $line && -n ${CMD_LINES[$line]-} ]] || continue
		running "$pid" && CMD_PID=$pid
		return
	done
	return 1
}

# `wait_output [--regexp] LINE`: wait until the background container prints LINE (or a match).
wait_output() {
	local how=(-xF)
	[[ $1 == --regexp ]] && { how=(-E); shift; }
	wait_for "$START_TIMEOUT" grep -q "${how[@]}" -- "$1" "$CTR_OUT" ||
		fail "timed out after $START_TIMEOUT s while waiting for a line '$1' on the stdout of \`$LAST_CMD\`; it printed: $(<"$CTR_OUT")"
}

# `stop_ctr [SIGNAL]`: send SIGNAL (default TERM) to the container, wait; sets $status.
stop_ctr() {
	local sig=${1:-TERM}
	kill -"$sig" "$CTR_PID"
	wait_ctr "$STOP_TIMEOUT" " after SIG$sig" ": does it pass SIG$sig on to the command?"
}

# `wait_ctr [SECONDS [AFTER [HINT]]]`: wait for a background container to end; sets $status.
wait_ctr() {
	local limit=${1:-$CTR_TIMEOUT}
	wait_gone "$CTR_PID" "$limit" || timed_out "$limit" "\`$LAST_CMD\` to exit${2-}" "${3-}" || return
	status=0
	wait "$CTR_PID" 2>/dev/null || status=$? # 2>: bash's "Killed"
	LAST_STATUS=$status LAST_OUT=$(<"$CTR_OUT") LAST_ERR=$(<"$CTR_ERR")
	CTR_PID=
}

# `proc_stat PID`: sets state, ppid from /proc/PID/stat (comm may hold spaces); false if gone.
proc_stat() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1 # not $(<): set -e ends bash
	read -r state ppid _ <<<"${stat##*) }"
}

# True while PID runs (not gone, not a zombie).
running() { local state ppid; proc_stat "$1" && [[ $state != [ZX] ]]; }
ppid_of() { local state ppid; proc_stat "$1" && echo "$ppid"; }
process_gone() { ! running "$1"; }
wait_gone() { wait_for "$2" process_gone "$1"; } # `wait_gone PID SECONDS`

# `descendants PID [Z]`: PID's running descendants (with Z, zombies), parents before children.
descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v zombies="${2-}" '
		{ pid = $1; sub(/.*\) /, ""); state[pid] = $1; kids[$2] = kids[$2] " " pid }
		END {
			n = split(kids[root], queue, " ")
			for (i = 1; i <= n; i++) {
				p = queue[i]
				if (zombies ? state[p] == "Z" : state[p] !~ /[ZX]/) print p
				m = split(kids[p], more, " ")
				for (j = 1; j <= m; j++) queue[++n] = more[j]
			}
		}'
}
zombies_under() { descendants "$1" Z; }

# True if running process $1 descends from $2.
descends_from() { descendants "$2" | grep -qx "$1"; }
same_ns() { [[ $(readlink "/proc/$1/ns/$3") == "$(readlink "/proc/$2/ns/$3")" ]]; }
# The PID of process $1 in its own (innermost) PID namespace.
inner_pid() { awk '/^NSpid:/ { print $NF }' "/proc/$1/status"; }
# Mounts in this namespace (the tests' "host"): ID, place, filesystem type.
mounts() { awk '{ print $1, $5, $(NF - 2) }' /proc/self/mountinfo; }
# `new_mounts SNAPSHOT`: the mounts made since SNAPSHOT, newest first.
new_mounts() { join -v 1 <(mounts | sort -k1,1) <(sort -k1,1 "$1.mounts") | sort -rn; }

# Process $1's cgroup directories for the lesson's controllers (v2: one; v1: pids, memory, cpu).
cgroup_dirs_of() {
	awk -F: -v root="$CGROUP_ROOT" -v fs="$(stat -f -c %T "$CGROUP_ROOT")" '
		{ sub(/\/$/, "", $3) }
		fs == "cgroup2fs" && $1 == 0 { print root $3 }
		fs != "cgroup2fs" && match("," $2 ",", /,(pids|memory|cpu),/) {
			print root "/" substr("," $2 ",", RSTART + 1, RLENGTH - 2) $3
		}' "/proc/$1/cgroup"
}

# The cgroups of process $1 that the tests themselves are not in.
own_cgroups_of() { comm -23 <(cgroup_dirs_of "$1" | sort) <(cgroup_dirs_of $$ | sort); }

# `cgroup_file PID FILE`: the path of FILE in whichever cgroup of PID has it.
cgroup_file() {
	local dir
	for dir in $(cgroup_dirs_of "$1"); do
		[[ -e $dir/$2 ]] && { echo "$dir/$2"; return 0; }
	done
	echo "no $2 in the cgroups of the command: $(cgroup_dirs_of "$1" | tr '\n' ' ')" >&2
	return 1
}

# Every cgroup, whatever its name, but systemd's units (systemd makes and removes them meanwhile).
cgroups() {
	find "$CGROUP_ROOT" -mindepth 1 -type d \
		! -name '*.scope' ! -name '*.service' ! -name '*.slice' 2>/dev/null | sort
}

# Another root filesystem: a copy of $ROOTFS_DIR with a space in its name
# and a file /which-root.  Once per file, in the repository (/tmp may be nodev).
OTHER_ROOT="$REPO/build/test roots/$(basename "$BATS_TEST_FILENAME" .bats)"
other_root() {
	[[ -e $OTHER_ROOT/which-root ]] && return 0
	rm -rf -- "$OTHER_ROOT"
	mkdir -p -- "$OTHER_ROOT"
	cp -a -x -- "$ROOTFS_DIR/." "$OTHER_ROOT/"
	echo other >"$OTHER_ROOT/which-root"
}

# A test of what a step does NOT isolate yet (step 3's ps lists the host's processes) is skipped for
# one that does: FEAT_UTS, _PID, _ROOT, _PROC, _MNT (1 or 0), found once per file from the host.
detect_features() {
	TOKEN=detect-$$-$RANDOM
	start_ctr sleep 30 || return
	export FEAT_UTS=0 FEAT_PID=0 FEAT_ROOT=0 FEAT_PROC=0 FEAT_MNT=0
	same_ns "$CMD_PID" $$ uts || FEAT_UTS=1
	same_ns "$CMD_PID" $$ pid || FEAT_PID=1
	same_ns "$CMD_PID" $$ mnt || FEAT_MNT=1
	# By inode, not by name: a root that pivot_root() made is "/" by name.
	[[ $(stat -L -c %d:%i "/proc/$CMD_PID/root/") == $(stat -c %d:%i /) ]] || FEAT_ROOT=1
	# mountinfo's paths are relative to the root: with a root of its own, "/proc" is its own.
	((FEAT_ROOT)) && grep -qE '^([^ ]+ ){4}/proc .* - proc ' "/proc/$CMD_PID/mountinfo" && FEAT_PROC=1
	stop_leftover_ctr
}

# `skip_if_feature FEAT why`: skip when the program under test has it.
skip_if_feature() {
	local var=FEAT_$1
	[[ ${!var:-0} != 1 ]] || skip "the program under test already isolates this (a later step): $2"
}

# What a test must leave as it found it: mounts, cgroups, the hostname.
snapshot() {
	mounts >"$1.mounts"
	cgroups >"$1.cgroups"
	hostname >"$1.hostname"
}

# `cleanup_since SNAPSHOT`: remove and name what containers left since SNAPSHOT, whatever its
# name (processes by their token, mounts and cgroups by SNAPSHOT); false if anything was left.
cleanup_since() {
	local found=0 pid dir mnt fs was
	for pid in $(token_pids); do
		echo "leftover process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		kill -KILL "$pid" 2>/dev/null || true
		found=1
	done
	while read -r _ mnt fs; do # newest first: a mount inside another goes first
		echo "leftover mount: $mnt ($fs)"
		umount -l "$mnt" 2>/dev/null || true
		found=1
	done < <(new_mounts "$1")
	# Deepest first; a new cgroup that stays empty (leftovers were just killed) is a leak.
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

# True if cgroup $1 exists and stays empty for a second (another runtime's fills or goes away).
empty_cgroup() { ! wait_for 1 busy_cgroup "$1"; }
busy_cgroup() { [[ ! -d $1 || -n $(cat "$1/cgroup.procs" 2>/dev/null) ]]; }

# The processes that carry $TOKEN, as each one a test starts does: found wherever reparented to.
token_pids() {
	grep -lz "^TEST_TOKEN=$TOKEN\$" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | sort -n
}

# Stop the container the test left running: TERM, for it to clean up, then soon KILL (a test that
# failed because TERM did nothing need not wait).
stop_leftover_ctr() {
	[[ -n ${CTR_PID-} ]] || return 0
	kill -TERM "$CTR_PID" 2>/dev/null || true
	wait_gone "$CTR_PID" 2 || kill -KILL "$CTR_PID" 2>/dev/null || true
	wait "$CTR_PID" 2>/dev/null || true
	CTR_PID=
}

# After a failed test: what the last container printed.
show_last_container() {
	[[ -n ${LAST_CMD-} ]] || return 0
	echo "-- the last container: \`$LAST_CMD\`"
	echo "exit status: ${LAST_STATUS-(still running)}"
	[[ -n ${LAST_STATUS-} || -z ${CTR_OUT-} ]] || LAST_OUT=$(<"$CTR_OUT") LAST_ERR=$(<"$CTR_ERR")
	printf 'stdout:\n%s\nstderr:\n%s\n--\n' "$(quoted "${LAST_OUT-}")" "$(quoted "${LAST_ERR-}")"
}
quoted() { head -n 30 <<<"$1" | sed 's/^/  | /'; }

# `step_setup_file STEPDIR`, in setup_file: exports BIN, its features, teardown_file's snapshot.
step_setup_file() {
	[[ $(id -u) -eq 0 ]] || skip "needs root: namespaces, mounts and cgroups (run: sudo make test)"
	export BIN=${BIN:-$REPO/$1/container}
	[[ -x $BIN ]] || fail "$BIN: no such program (run make, or give BIN=path/to/your/program)" || return
	[[ -e $ROOTFS_DIR/container-rootfs ]] || fail "no root filesystem at $ROOTFS_DIR (run: sudo make rootfs)" || return
	export FILE_SNAPSHOT=$BATS_FILE_TMPDIR/file
	snapshot "$FILE_SNAPSHOT"
	detect_features
	cleanup_since "$FILE_SNAPSHOT" >/dev/null || true # not a test
}

# A failed setup_file may still have left something: clean it up, quietly.
teardown_file() {
	stop_leftover_ctr
	[[ -z ${FILE_SNAPSHOT-} ]] || cleanup_since "$FILE_SNAPSHOT" >/dev/null || true
	rm -rf -- "$OTHER_ROOT"
}

# A test file that needs a setup or teardown of its own calls these.
setup() { lib_setup; }
teardown() { lib_teardown; }

lib_setup() {
	TOKEN=cfs-test-$$-$BATS_TEST_NUMBER-$RANDOM CTR_PID='' LAST_CMD=''
	[[ -z ${TESTS_FAIL_FAST-} || ! -e $BATS_RUN_TMPDIR/failed ]] ||
		skip "an earlier test failed (tests/run --fail-fast)"
	[[ ! -e $HANG_FILE ]] || fail "not run: $(<"$HANG_FILE"); fix that first" || return
	snapshot "$BATS_TEST_TMPDIR/before"
}

lib_teardown() {
	stop_leftover_ctr
	local status=0
	if [[ -z ${BATS_TEST_COMPLETED-} && -z ${BATS_TEST_SKIPPED-} ]]; then
		show_last_container
		status=1
	fi
	[[ ! -e $BATS_TEST_TMPDIR/before.mounts ]] || cleanup_since "$BATS_TEST_TMPDIR/before" || status=1
	((status == 0)) || touch "$BATS_RUN_TMPDIR/failed" # for --fail-fast (lib_setup)
	return "$status"
}
