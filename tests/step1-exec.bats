#!/usr/bin/env bats
# Step 1: the container runs a command, nothing isolated yet.
# Run: make test-step1 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step1-exec; }

@test "step 1: echo hello prints hello; the narration goes to stderr" { check_echo_hello; }
@test "step 1: the exit status is the command's" { check_exit_status; }
@test "step 1: a command killed by signal N exits 128+N" { check_signal_status; }
@test "step 1: a command not found exits 127 and names it" { check_not_found; }
@test "step 1: a command that cannot be executed exits 126" { check_cannot_exec; }
@test "step 1: a bad command line exits 2 with a usage line" { check_usage; }
@test "step 1: stdin reaches the command" { check_stdin_passes; }
@test "step 1: PATH is passed on; without one, the command gets the usual" { check_default_path; }
@test "step 1: from the host, ps shows the command under the container" { check_descends_from_container; }

@test "step 1: inside, the hostname is the host's" {
	skip_if_feature UTS "the hostname"
	run_ctr hostname
	[ "$output" = "$HOST_HOSTNAME" ]
}

@test "step 1: inside, the command's PID is the host's PID for it" {
	skip_if_feature PID "process IDs"
	start_ctr sh -c 'echo $$; exec sleep 30'
	wait_output "$CMD_PID"
	[ "$(head -n 1 "$CTR_OUT")" = "$CMD_PID" ]
	stop_ctr
}
