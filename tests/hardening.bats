#!/usr/bin/env bats
# Hardening: signals, zombies, load, bad input and pass-through, for
# every step that has the feature.  Nothing may be left behind.
# stderr: set by bats's run.  Commands for inner shells: single quotes.
# shellcheck disable=SC2154,SC2016

load lib

STEPS=(step1-exec step2-uts step3-pid step4-chroot step5-proc step6-mounts step7-cgroups)

setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: namespaces, mounts and cgroups (run: sudo make test)"
	fi
	export HOST_HOSTNAME
	HOST_HOSTNAME=$(hostname)
}

# `each_step FROM FN`: call FN with BIN set to each step's program from
# step FROM on, each time with a fresh token and nothing left after it.
each_step() {
	# Not "i": bats's run sets a global i.
	local from=$1 fn=$2 step left
	for ((step = from - 1; step < ${#STEPS[@]}; step++)); do
		BIN=$REPO/${STEPS[step]}/container
		TOKEN=cfs-test-$$-$BATS_TEST_NUMBER-$step-$RANDOM
		"$fn" || { echo "failed with ${STEPS[step]}" >&2; return 1; }
		if ! left=$(cleanup_leftovers); then
			echo "${STEPS[step]} left: $left" >&2
			return 1
		fi
	done
}

# ---- signals ---------------------------------------------------------------

signals_forwarded() {
	local sig num
	for sig in INT:2 TERM:15 HUP:1 QUIT:3; do
		num=${sig#*:}
		start_ctr sleep 30
		stop_ctr "${sig%:*}"
		[ "$status" -eq $((128 + num)) ] || { echo "SIG${sig%:*}: status $status" >&2; return 1; }
		wait_gone "$CMD_PID" 2
	done
}

@test "signals: INT, TERM, HUP, QUIT to the container end the command with 128+N" {
	each_step 1 signals_forwarded
}

command_sigkilled() {
	start_ctr sleep 30
	kill -KILL "$CMD_PID"
	wait_ctr
	[ "$status" -eq 137 ]
}

@test "signals: SIGKILL of the command: exit 137, all cleaned up" {
	each_step 1 command_sigkilled
}

container_sigkilled() {
	start_ctr sleep 30
	local dirs
	dirs=$(comm -23 <(cgroup_dirs_of "$CMD_PID" | sort) <(cgroup_dirs_of $$ | sort))
	stop_ctr KILL
	# Its init dies with it (PR_SET_PDEATHSIG), and the whole PID
	# namespace with the init.
	wait_gone "$CMD_PID" 2
	if [[ $BIN == */step5-proc/* ]]; then
		# Its init had no time to unmount /proc, and with no mount
		# namespace that mount is the host's: step 6's lesson.
		[ "$(host_mounts_under "$ROOTFS_DIR")" = "$ROOTFS_DIR/proc" ]
		umount "$ROOTFS_DIR/proc"
	fi
	if [[ $BIN == */step7-cgroups/* ]]; then
		# Nobody was left to remove the cgroup...
		local dir
		for dir in $dirs; do [ -d "$dir" ]; done
		# ...so the next container does.
		run_ctr true
		[ "$status" -eq 0 ]
		for dir in $dirs; do [ ! -e "$dir" ]; done
	fi
}

@test "signals: SIGKILL of the container program: its init dies too; the next run removes its cgroup" {
	each_step 3 container_sigkilled
}

# ---- zombies ---------------------------------------------------------------

no_zombies() {
	# Each subshell exits at once, orphaning its sleep to PID 1.
	start_ctr sh -c '(sleep 0.3 &); (sleep 0.3 &); (sleep 0.3 &); exec sleep 30'
	sleep 1
	local pid
	for pid in $(ps -e -o pid=,stat= | awk '$2 ~ /^Z/ { print $1 }'); do
		if descends_from "$pid" "$CTR_PID"; then
			echo "zombie $pid in the container" >&2
			return 1
		fi
	done
	stop_ctr
}

@test "zombies: orphans are reaped by the container's PID 1" {
	each_step 3 no_zombies
}

# ---- load ------------------------------------------------------------------

@test "load: 20 step-7 containers at once: own cgroup and hostname, right status, nothing left" {
	BIN=$REPO/step7-cgroups/container
	local i pids=() out=$BATS_TEST_TMPDIR
	for ((i = 1; i <= 20; i++)); do
		CFS_TEST_TOKEN=$TOKEN "$BIN" run sh -c "hostname c$i; sleep 1; echo \$(hostname) \$(cat /proc/self/cgroup | grep -c container-); exit $i" \
			>"$out/$i.out" 2>"$out/$i.err" &
		pids+=($!)
	done
	for ((i = 1; i <= 20; i++)); do
		status=0
		wait "${pids[i - 1]}" || status=$?
		[ "$status" -eq "$i" ] || { echo "container $i: status $status: $(cat "$out/$i.err")" >&2; return 1; }
		read -r name groups <"$out/$i.out"
		[ "$name" = "c$i" ]
		[ "$groups" -ge 1 ]
	done
}

@test "load: a fork bomb in one container does not starve another" {
	BIN=$REPO/step7-cgroups/container
	start_ctr forkloop 3
	wait_output "then fork"
	local bomb=$CTR_PID round
	# Another container can still start, fork and finish.
	for ((round = 0; round < 5; round++)); do
		run_ctr sh -c 'sleep 0.1 & sleep 0.1 & wait; echo fine'
		[ "$status" -eq 0 ]
		[ "$output" = fine ]
	done
	CTR_PID=$bomb
	wait_ctr
	[ "$status" -eq 0 ]
}

# ---- bad input -------------------------------------------------------------

# `expect_error STATUS TEXT CMD...`: CMD exits STATUS; stderr has TEXT in a
# line of its own beginning "container: ".
expect_error() {
	local want=$1 text=$2
	shift 2
	run -"$want" --separate-stderr "$@"
	grep -qF -- "$text" <<<"$stderr" || { echo "$*: no '$text' in: $stderr" >&2; return 1; }
	[ "$(grep -c '^container: ' <<<"$stderr")" -eq 1 ] || { echo "$*: not one line: $stderr" >&2; return 1; }
}

bad_command_lines() {
	expect_error 2 "no subcommand" ctr
	expect_error 2 "unknown subcommand: walk" ctr walk
	expect_error 2 "run: no command given" ctr run
	expect_error 2 "the command is an empty string" ctr run ""
	expect_error 126 "cannot execute /tmp: Permission denied" ctr run /tmp
	expect_error 126 "cannot execute /etc/passwd: Permission denied" ctr run /etc/passwd
	expect_error 127 "no-such-command: No such file or directory" ctr run no-such-command
}

@test "bad input: command lines and commands get their status and one line" {
	each_step 1 bad_command_lines
}

bad_rootfs() {
	local file=$BATS_TEST_TMPDIR/a-file
	touch "$file"
	ROOTFS=/nonexistent expect_error 125 "chroot /nonexistent: No such file or directory (run 'make rootfs' or set ROOTFS)" ctr run true
	ROOTFS=$file expect_error 125 "chroot $file: Not a directory" ctr run true
	ROOTFS='' expect_error 125 "ROOTFS is set but empty" ctr run true
	ROOTFS="$BATS_TEST_TMPDIR/no such dir" expect_error 125 "chroot $BATS_TEST_TMPDIR/no such dir: No such file" ctr run true
}

@test "bad input: ROOTFS missing, a file, empty, or a missing path with spaces: 125" {
	each_step 4 bad_rootfs
}

not_root() {
	expect_error 125 "(run as root)" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env CFS_TEST_TOKEN="$TOKEN" "$BIN" run true
}

@test "bad input: not root: 125, 'run as root'" {
	each_step 2 not_root
}

@test "bad input: no cgroup controller to be had: 125, and nothing left" {
	BIN=$REPO/step7-cgroups/container
	# An empty, read-only /sys/fs/cgroup, as on a host without cgroupfs
	# for these controllers; in a mount namespace of the test's own.
	run --separate-stderr unshare -m bash -c '
		mount -t tmpfs -o ro none /sys/fs/cgroup &&
		CFS_TEST_TOKEN=$2 "$1" run true' _ "$BIN" "$TOKEN"
	[ "$status" -eq 125 ]
	[[ $stderr == *"container: mkdir /sys/fs/cgroup/pids/container-"*"(is the controller enabled?"* ]]
}

# ---- pass-through ------------------------------------------------------------

big_output() {
	run --separate-stderr bash -c '"$0" run seq 1 100000 | cksum' "$BIN"
	[ "$status" -eq 0 ]
	[ "$output" = "$(seq 1 100000 | cksum)" ]
}

@test "pass-through: 100 000 lines of output arrive intact" {
	each_step 1 big_output
}

some_exit_codes() {
	local code
	for code in 0 1 2 125 126 127 128 254 255; do
		run_ctr -"$code" sh -c "exit $code"
	done
}

@test "pass-through: exit codes, from each step" {
	each_step 1 some_exit_codes
}

@test "pass-through: every exit code 0-255 from the full container" {
	BIN=$REPO/step7-cgroups/container
	# A plain loop: 256 containers through bats's run would be slow.
	local code got
	for ((code = 0; code < 256; code++)); do
		got=0
		CFS_TEST_TOKEN=$TOKEN "$BIN" run sh -c "exit $code" 2>/dev/null || got=$?
		[ "$got" -eq "$code" ] || { echo "exit $code: got $got" >&2; return 1; }
	done
}

stdin_to_command() {
	run --separate-stderr bash -c 'seq 1 1000 | "$0" run wc -l' "$BIN"
	[ "$status" -eq 0 ]
	[ "$output" -eq 1000 ]
}

@test "pass-through: stdin reaches the command" {
	each_step 1 stdin_to_command
}
