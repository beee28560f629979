# Checks that test files share: each step's feature (behaviour only, checked again by every later
# step: "so far") and this repository's conventions, each failure saying what to change.
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # status etc.: set by run or capture; LAST_CMD: read by lib.bash
# shellcheck disable=SC2016 # commands for the shell inside the container: in single quotes

# ---- step 1: run a command ------------------------------------------------------
# Output, input and the exit status pass through.
check_runs_command() {
	run_ctr --stdin from-stdin sh -c 'read -r line; echo "read: $line"; echo to-stderr >&2; exit 3'
	assert_line --partial "read: " || fail "the command did not run, or its stdout did not reach ours"
	assert_line "read: from-stdin" || fail "the command did not read what was written to the container's stdin: pass stdin on"
	[[ $stderr == *to-stderr* ]] || fail "the command's stderr did not reach ours: pass stderr on"
	[ "$status" -eq 3 ] || fail "the command exited 3, the container program $status: exit with the command's status"
}

# The command starts as a fresh program would: no signal blocked (a blocked SIGCHLD hangs a shell's
# `wait`) or ignored (an ignored SIGINT cannot be trapped); real-time ones aside: the tests' may be.
check_signals_reset() {
	start_ctr sleep 30
	local blocked ignored
	read -r blocked ignored < <(awk '/^Sig(Blk|Ign):/ { printf "%s ", $2 } END { print "" }' \
		"/proc/$CMD_PID/status")
	((0x$blocked == 0)) ||
		fail "the command started with signals blocked (SigBlk: $blocked): unblock them before exec"
	(((0x$ignored & 0x7fffffff) == 0)) ||
		fail "the command started with signals ignored (SigIgn: $ignored): set them back to SIG_DFL before exec"
	stop_ctr
}

# Signals sent to the container program reach the command's own handler; its status comes back.
check_signals_pass_on() {
	local sig
	for sig in TERM INT HUP QUIT; do
		# The handler ends the sleep too: without a PID namespace, nothing else would.
		start_ctr sh -c "trap 'echo got $sig; kill \$!; exit 3' $sig; sleep 30 & wait"
		sleep 0.1 # the shell installs its trap
		stop_ctr "$sig"
		grep -qx "got $sig" <<<"$LAST_OUT" ||
			fail "the command did not get SIG$sig sent to the container program (its handler would print 'got $sig'): pass SIG$sig on to the command"
		[ "$status" -eq 3 ] || fail "the command's handler exited 3, the container program $status: exit with the command's status"
	done
}

# ---- step 2: a hostname of its own -------------------------------------------------
# A rename may fail (the exercise "fewer privileges" drops CAP_SYS_ADMIN), but never reach the host.
check_hostname() {
	run_ctr sh -c 'echo "hostname: $(hostname)"; hostname other && echo "renamed: $(hostname)"'
	assert_line "hostname: container" || fail "inside, the hostname should be 'container': set it (sethostname) in a new UTS namespace"
	[[ $stderr == *"hostname: sethostname: Operation not permitted"* ]] ||
		assert_line "renamed: other" || fail "the command could not rename its host"
	assert_equal "$(hostname)" "$(<"$BATS_TEST_TMPDIR/before.hostname")" ||
		fail "renaming inside renamed the host: give the container a UTS namespace of its own (CLONE_NEWUTS)"
}

# ---- step 3: process IDs of its own -------------------------------------------------
# Whatever number the command gets, its parent is the namespace's init.
check_pid_namespace() {
	run_ctr sh -c 'echo "pid: $$"; echo "ppid: $PPID"'
	assert_line --partial "pid: " || fail "the command did not run, or its stdout did not reach ours"
	assert_line "ppid: 1" || fail "the command's parent should be PID 1, the init of a new PID namespace (CLONE_NEWPID), which stays to run it"
	refute_line "pid: 1" || fail "the command is PID 1: keep an init as PID 1 that reaps orphans and passes signals on, and run the command as its child"
}

# PID 1 reaps the orphans it inherits, and dies with the container
# program, even of SIGKILL, taking the whole namespace with it.
check_init_duties() {
	start_ctr sh -c '(sleep 0.2 &); exec sleep 30'
	sleep 1
	local zombies cgroups mnt dir
	zombies=$(zombies_under "$CTR_PID")
	[ -z "$zombies" ] ||
		fail "zombie process(es) $zombies in the container: its PID 1 must wait for every child, orphans included"
	cgroups=$(own_cgroups_of "$CMD_PID")
	kill -KILL "$CTR_PID"
	wait_gone "$CMD_PID" 2 ||
		fail "the command still runs 2 s after the container program was killed (SIGKILL): have the container's init die with it (PR_SET_PDEATHSIG)"
	wait_ctr
	# Nobody was left to unmount the container's /proc without a mount
	# namespace (step 5), nor to remove its cgroup (step 7): not our business.
	while read -r _ mnt _; do umount -l "$mnt"; done < <(new_mounts "$BATS_TEST_TMPDIR/before")
	for dir in $cgroups; do rmdir "$dir" 2>/dev/null || true; done
}

# ---- step 4: a root filesystem of its own ----------------------------------------------
# "/" is the root filesystem $ROOTFS names (other_root), and so is the working
# directory: chroot() alone leaves the process in the host's directory.
check_own_root() {
	other_root
	local here=$BATS_TEST_TMPDIR/host-cwd
	mkdir -p "$here" && touch "$here/host-file-$TOKEN" && cd "$here" || return
	ROOTFS=$OTHER_ROOT run_ctr sh -c 'echo "root: $(cat /which-root)"; ls -a'
	assert_line "root: other" ||
		fail "inside, / is not the root filesystem that ROOTFS names ($OTHER_ROOT): chroot() into \$ROOTFS"
	refute_line "host-file-$TOKEN" ||
		fail "inside, ls lists the host directory the container was started from: after chroot(), chdir(\"/\") into the new root"
}

# ---- step 5: a /proc of its own ----------------------------------------------------------
# ps lists the init, PID 1, and itself, with some other PID: nothing of the host's.
check_own_proc() {
	run_ctr ps -o pid,comm
	local procs
	procs=$(grep -E '^ *[0-9]+ ' <<<"$output" || true)
	[ -n "$procs" ] || fail "ps inside lists no process: mount a proc filesystem on /proc inside the container"
	[ "$(wc -l <<<"$procs")" -eq 2 ] || fail "ps inside should list PID 1 and ps itself, and lists: $procs"
	grep -Eq '^ *1 ' <<<"$procs" || fail "ps inside lists no PID 1: $procs"
	grep -Eq '^ *([02-9]|[1-9][0-9]+) +ps$' <<<"$procs" || fail "ps inside does not list itself with a PID other than 1: $procs"
}

# ---- step 6: a mount table of its own ---------------------------------------------------
# The container's /proc and /mytemp stay inside even where they could propagate: in a mount
# namespace with "/" shared, as under systemd, and the rootfs on a mount of its own (so the mounts
# below "/" must be private too).  Prints the mounts that appeared there while the container ran.
systemd_like() {
	mount --make-rprivate / && mount --make-rshared /
	mount --bind "$ROOTFS_DIR" "$ROOTFS_DIR"
	local out=$BATS_TEST_TMPDIR/shared.out before
	before=$(awk '{ print $5 }' /proc/self/mountinfo | sort)
	TEST_TOKEN=$TOKEN "$BIN" run sh -c 'm=/proc/self/mountinfo
		grep -q " /proc .* - proc " $m && echo "/proc proc"
		grep -q " /mytemp .* - tmpfs " $m && echo "/mytemp tmpfs"
		echo ready; exec sleep 30' </dev/null >"$out" 2>&1 &
	CTR_PID=$!
	wait_for "$START_TIMEOUT" grep -qx ready "$out" || true
	comm -13 <(echo "$before") <(awk '{ print $5 }' /proc/self/mountinfo | sort) | sed 's/^/host: /'
	stop_leftover_ctr
	sed 's/^/container: /' "$out"
}

check_private_mounts() {
	export -f systemd_like stop_leftover_ctr wait_for wait_gone process_gone running proc_stat
	export BIN ROOTFS_DIR TOKEN START_TIMEOUT
	run timeout 20 unshare -m bash -c systemd_like
	assert_line "container: ready" || fail "the container did not start"
	assert_line "container: /proc proc" || fail "inside, /proc is not a proc filesystem: mount one there"
	assert_line "container: /mytemp tmpfs" || fail "inside, /mytemp is not a tmpfs: mount one there"
	local leaked
	leaked=$(grep '^host: ' <<<"$output" || true)
	[ -z "$leaked" ] ||
		fail "the container's mounts showed up on a host whose / is shared, as under systemd: $leaked (give it a mount namespace, and make every mount in it private, MS_REC|MS_PRIVATE, before mounting)"
}

# ---- conventions: this repository's choices (a learner's program may differ) ---

convention_narration() {
	run_ctr echo hello
	[[ $output != *"Running ["* && $output != *"== Finished =="* ]] ||
		fail "the narration (Running [...], == Finished ==) was printed on stdout: print it to stderr, so that the command's output stays clean"
	assert_output hello
	[[ ${stderr_lines[0]-} == "Running [echo hello]"* ]] ||
		fail "stderr should start with 'Running [echo hello]', and starts with '${stderr_lines[0]-}'"
	[[ ${stderr_lines[-1]-} == "== Finished ==" ]] ||
		fail "stderr should end with '== Finished ==', and ends with '${stderr_lines[-1]-}'"
}

convention_signal_status() {
	local sig num
	for sig in KILL:9 TERM:15; do
		num=${sig#*:}
		run_ctr sh -c "kill -${sig%:*} \$\$"
		[ "$status" -eq $((128 + num)) ] ||
			fail "a command killed by SIG${sig%:*} (signal $num): exit status $status, expected $((128 + num)): exit 128+N for signal N, as a shell does"
	done
}

# `expect_error STATUS WHAT DETAIL`: exit STATUS, and one stderr line "container: ..." naming WHAT.
expect_error() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1 ($3)"
	local errors
	errors=$(grep -i '^container: ' <<<"$stderr" || true)
	[ -n "$errors" ] || fail "no line 'container: ...' on stderr, naming $2 ($3); stderr was: $stderr"
	[ "$(wc -l <<<"$errors")" -eq 1 ] || fail "more than one error line on stderr: $errors"
	[[ ${errors,,} == *"${2,,}"* ]] || fail "the error line does not name $2: $errors"
}

convention_exec_errors() {
	run_ctr no-such-command-here
	expect_error 127 no-such-command-here "a command that is not found exits 127, as in a shell"
	run_ctr /etc/passwd
	expect_error 126 /etc/passwd "a command that cannot be executed exits 126, as in a shell"
}

convention_usage() {
	local args
	for args in "" "walk" "run"; do
		LAST_CMD="container $args"
		# shellcheck disable=SC2086 # word splitting is the point
		capture timed_ctr $args
		[ "$status" -eq 2 ] || fail "\`container $args\`: exit status $status, expected 2 for a bad command line"
		[[ $stderr == *"usage: container run COMMAND [ARG...]"* ]] ||
			fail "\`container $args\`: no line 'usage: container run COMMAND [ARG...]' on stderr: $stderr"
	done
	LAST_CMD="container --help"
	capture timed_ctr --help
	[ "$status" -eq 0 ] || fail "\`container --help\`: exit status $status, expected 0"
	[[ $output == *"usage: container run COMMAND [ARG...]"* ]] ||
		fail "\`container --help\`: no usage line on stdout: $output"
}

# `env`, not a shell: a shell would set a PATH of its own where none is.
convention_default_path() {
	LAST_CMD="container run env (no PATH)"
	capture timeout "$CTR_TIMEOUT" env -u PATH TEST_TOKEN="$TOKEN" "$BIN" run env
	assert_line "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ||
		fail "with no PATH in its environment, the command should get the usual one: set it (setenv) before exec"
	PATH=/opt/x:/usr/bin:/bin run_ctr env
	assert_line "PATH=/opt/x:/usr/bin:/bin" || fail "the command should get the container's PATH as it is"
}

# From step 2, creating namespaces needs root.  Nobody runs the program through a file descriptor
# (it may be under /root).  A rootless program (the exercise "a user namespace") may succeed if its
# command is root in a user namespace of its own: nobody could not have made the others otherwise.
convention_not_root() {
	LAST_CMD="container run id -u (as user nobody)"
	capture timeout "$CTR_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env TEST_TOKEN="$TOKEN" /proc/self/fd/8 run id -u 8<"$BIN"
	((status == 0)) && [[ $output == 0 ]] && return 0
	expect_error 125 "run as root" \
		"run as an ordinary user, the container cannot be set up: exit 125, and say 'run as root'"
}

convention_narration_pids() {
	start_ctr sleep 30
	local pid=$CTR_PID
	stop_ctr
	grep -qx "Running \[sleep 30\] as PID $pid" <<<"$LAST_ERR" ||
		fail "no line 'Running [sleep 30] as PID $pid' (the container program's host PID) on stderr"
	grep -qx "Running \[sleep 30\] as PID 1" <<<"$LAST_ERR" ||
		fail "no line 'Running [sleep 30] as PID 1' (the container's init) on stderr"
}

convention_missing_rootfs() {
	ROOTFS=/nonexistent run_ctr true
	expect_error 125 /nonexistent "a root filesystem that cannot be used: exit 125"
	[[ $stderr == *"make rootfs"* || $stderr == *ROOTFS* ]] ||
		fail "the error does not say what to do: 'run make rootfs or set ROOTFS'"
}

# An empty, read-only /sys/fs/cgroup (a host without cgroupfs), in a mount namespace of its own.
convention_no_cgroup() {
	LAST_CMD="container run true (with an empty /sys/fs/cgroup)"
	capture unshare -m bash -c 'mount -t tmpfs -o ro none /sys/fs/cgroup &&
		TEST_TOKEN=$2 timeout 20 "$1" run true' _ "$BIN" "$TOKEN"
	expect_error 125 /sys/fs/cgroup "a cgroup that cannot be made: exit 125"
}

# `exercise_start_hint NAME`: in setup_file, fail as set_up does if the program sets up no container.
exercise_start_hint() {
	local bin=${BIN:-$REPO/build/exercises/$1/container} error
	[[ $(id -u) -eq 0 && -x $bin ]] || return 0
	error=$(timeout -k 2 "$CTR_TIMEOUT" env TEST_TOKEN="start-hint-$$" "$bin" run true \
		2>&1 >/dev/null </dev/null | grep -i -m 1 '^container: ') || true
	[[ -z $error ]] || fail "the container could not be set up: $error: $(error_hint "$error")"
}

# After a container that should have run: if it could not be set up, fail with error_hint()'s hint.
set_up() {
	local error
	error=$(grep -i -m 1 '^container: ' <<<"$stderr") || return 0
	fail "the container could not be set up (exit status $status): $error: $(error_hint "$error")"
}
