#!/usr/bin/env bats
# Hardening: this repository's own programs under load, with bad input
# and large output, at every step that has the feature.  (The steps'
# own files check each feature, signals and zombies included.)  Nothing
# may be left behind.  Tagged no-vm: what neither the cgroup layout, nor
# mount propagation, nor the architecture can change; the VMs (lab/vm),
# where these are the slowest tests, leave them out.
# stderr: set by bats's run; LAST_CMD: read by lib.bash.  Commands for
# inner shells: single quotes.
# shellcheck disable=SC2154,SC2016,SC2034

load lib
load checks

setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: namespaces, mounts and cgroups (run: sudo make test)"
	fi
}

# `each_step FROM FN`: call FN with BIN set to each step's program from
# step FROM on, each time with a fresh token and nothing left after it.
each_step() {
	# Not "i": bats's run sets a global i.
	local from=$1 fn=$2 step left
	for ((step = from - 1; step < ${#STEPS[@]}; step++)); do
		BIN=$REPO/${STEPS[step]}/container
		TOKEN=cfs-test-$$-$BATS_TEST_NUMBER-$step-$RANDOM
		"$fn" || fail "failed with ${STEPS[step]}" || return
		if ! left=$(cleanup_since "$BATS_TEST_TMPDIR/before"); then
			fail "${STEPS[step]} left: $left" || return
		fi
	done
}

# ---- load ------------------------------------------------------------------

@test "load: 20 step-7 containers at once: own cgroup and hostname, right status, nothing left" {
	BIN=$REPO/step7-cgroups/container
	local i pids=() out=$BATS_TEST_TMPDIR name groups
	for ((i = 1; i <= 20; i++)); do
		TEST_TOKEN=$TOKEN timeout 60 "$BIN" run sh -c "hostname c$i; sleep 1; echo \$(hostname) \$(cat /proc/self/cgroup | grep -c container-); exit $i" \
			>"$out/$i.out" 2>"$out/$i.err" &
		pids+=($!)
	done
	for ((i = 1; i <= 20; i++)); do
		status=0
		wait "${pids[i - 1]}" || status=$?
		[ "$status" -eq "$i" ] || fail "container $i: status $status: $(cat "$out/$i.err")"
		read -r name groups <"$out/$i.out"
		assert_equal "$name" "c$i"
		[ "$groups" -ge 1 ] || fail "container $i is in no container cgroup: $(cat "$out/$i.out")"
	done
}

@test "load: a fork bomb in one container does not starve another" {
	BIN=$REPO/step7-cgroups/container
	start_ctr forkloop 3
	wait_output --regexp '^forkloop: '
	local bomb=$CTR_PID round
	# Another container can still start, fork and finish.
	for ((round = 0; round < 5; round++)); do
		run_ctr sh -c 'sleep 0.1 & sleep 0.1 & wait; echo fine'
		assert_success
		assert_output fine
	done
	CTR_PID=$bomb
	wait_ctr
	assert_success
}

# ---- what step 7 leaves to `make clean-cgroups` ------------------------------

@test "clean-cgroups: removes the cgroup a container killed with SIGKILL left, not a live one's" {
	BIN=$REPO/step7-cgroups/container
	start_ctr sleep 30
	local live=$CTR_PID live_dirs dirs dir
	live_dirs=$(own_cgroups_of "$CMD_PID")
	start_ctr sleep 30
	dirs=$(own_cgroups_of "$CMD_PID")
	kill -KILL "$CTR_PID"
	wait_gone "$CMD_PID" 2 || fail "the container outlived its program"
	wait_ctr
	# Nothing ran to remove it: its init died with the program.
	for dir in $dirs; do [ -d "$dir" ] || fail "$dir is gone: step 7 did remove it after all"; done
	capture make -s -C "$REPO" clean-cgroups
	assert_success
	for dir in $dirs; do
		assert_line "removed $dir"
		[ ! -e "$dir" ] || fail "$dir is still there"
	done
	for dir in $live_dirs; do [ -d "$dir" ] || fail "the live container's $dir was removed"; done
	CTR_PID=$live
	stop_ctr
}

# ---- bad input: this repository's exact messages ------------------------------

# `expect_message STATUS TEXT CMD...`: CMD exits STATUS; stderr has TEXT in
# its one line beginning "container: ".
expect_message() {
	local want=$1 text=$2
	shift 2
	LAST_CMD="$*"
	capture "$@"
	[ "$status" -eq "$want" ] || fail "$*: exit status $status, expected $want"
	grep -qF -- "$text" <<<"$stderr" || fail "$*: no '$text' in: $stderr"
	[ "$(grep -c '^container: ' <<<"$stderr")" -eq 1 ] || fail "$*: not one line: $stderr"
}

bad_command_lines() {
	expect_message 2 "no subcommand" timed_ctr
	expect_message 2 "unknown subcommand: walk" timed_ctr walk
	expect_message 2 "run: no command given" timed_ctr run
	expect_message 2 "the command is an empty string" timed_ctr run ""
	expect_message 126 "cannot execute /tmp: Permission denied" timed_ctr run /tmp
	expect_message 126 "cannot execute /etc/passwd: Permission denied" timed_ctr run /etc/passwd
	expect_message 127 "no-such-command: No such file or directory" timed_ctr run no-such-command
}

# bats test_tags=no-vm
@test "bad input: command lines and commands get their status and one line" {
	each_step 1 bad_command_lines
}

bad_rootfs() {
	local file=$BATS_TEST_TMPDIR/a-file
	touch "$file"
	ROOTFS=/nonexistent expect_message 125 "chroot /nonexistent: No such file or directory (run 'make rootfs' or set ROOTFS)" timed_ctr run true
	ROOTFS=$file expect_message 125 "chroot $file: Not a directory" timed_ctr run true
	ROOTFS='' expect_message 125 "ROOTFS is set but empty" timed_ctr run true
	ROOTFS="$BATS_TEST_TMPDIR/no such dir" expect_message 125 "chroot $BATS_TEST_TMPDIR/no such dir: No such file" timed_ctr run true
}

# bats test_tags=no-vm
@test "bad input: ROOTFS missing, a file, empty, or a missing path with spaces: 125" {
	each_step 4 bad_rootfs
}

# ---- pass-through ------------------------------------------------------------

big_output() {
	LAST_CMD="container run seq 1 100000 | cksum"
	capture bash -c 'timeout 20 "$0" run seq 1 100000 | cksum' "$BIN"
	assert_success
	assert_output "$(seq 1 100000 | cksum)"
}

# bats test_tags=no-vm
@test "pass-through: 100 000 lines of output arrive intact" {
	each_step 1 big_output
}

some_exit_codes() {
	local code
	for code in 0 1 2 125 126 127 128 254 255; do
		run_ctr sh -c "exit $code"
		[ "$status" -eq "$code" ] || fail "exit $code: got $status"
	done
}

# bats test_tags=no-vm
@test "pass-through: exit codes, from each step" {
	each_step 1 some_exit_codes
}

# bats test_tags=no-vm
@test "pass-through: every exit code 0-255 from the full container" {
	BIN=$REPO/step7-cgroups/container
	# A plain loop: 256 containers through run_ctr would be slow.
	local code got
	for ((code = 0; code < 256; code++)); do
		got=0
		TEST_TOKEN=$TOKEN timeout 20 "$BIN" run sh -c "exit $code" 2>/dev/null || got=$?
		[ "$got" -eq "$code" ] || fail "exit $code: got $got"
	done
}
