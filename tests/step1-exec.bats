#!/usr/bin/env bats
# Step 1: the container runs a command, nothing isolated yet.
# Run: make test-step1 [BIN=path/to/your/container]
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash.
# shellcheck disable=SC2016,SC2034

load lib
load checks

setup_file() { step_setup_file step1-exec; }

# bats test_tags=so-far
@test "step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }

# bats test_tags=so-far
@test "step 1: signals sent to the container program reach the command" { check_signals_pass_on; }

# bats test_tags=so-far
@test "step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }

@test "step 1: from the host, the command runs under the container program" {
	start_ctr sleep 30
	descends_from "$CMD_PID" "$CTR_PID" ||
		fail "the command (PID $CMD_PID) does not descend from the container program (PID $CTR_PID)"
	stop_ctr
}

@test "step 1: nothing isolated: inside, the hostname is the host's" {
	skip_if_feature UTS "the hostname"
	run_ctr sh -c 'echo "hostname: $(hostname)"'
	assert_line "hostname: $(hostname)"
}

@test "step 1: nothing isolated: inside, the command's PID is the host's PID for it" {
	skip_if_feature PID "process IDs"
	start_ctr sh -c 'echo "pid: $$"; exec sleep 30'
	wait_output "pid: $CMD_PID"
	stop_ctr
}

@test "step 1: nothing isolated: inside, /proc (what ps reads) lists the host's processes" {
	skip_if_feature ROOT "the root filesystem, and so /proc"
	start_ctr sleep 30
	# What ps reads: procps's ps itself may give up where the PID
	# namespace has no PID 2, as in a container ("lookup self").
	run_ctr ls /proc
	# The host's PID of the container program in the background.
	assert_line "$CTR_PID"
	stop_ctr
}
