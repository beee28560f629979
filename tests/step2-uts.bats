#!/usr/bin/env bats
# Step 2: a UTS namespace: a hostname of its own.
# Run: make test-step2 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step2-uts; }

@test "so far: step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }
@test "so far: step 1: signals sent to the container program reach the command" { check_signals_pass_on; }
@test "so far: step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }

@test "step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }

@test "step 2: from the host, the command has a UTS namespace of its own" {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ uts || fail "the command shares the host's UTS namespace: clone() it with CLONE_NEWUTS"
	stop_ctr
}

@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }
