#!/usr/bin/env bats
# Step 3: a PID namespace: the container's init is PID 1.
# Run: make test-step3 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step3-pid; }

@test "so far: step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }
@test "so far: step 1: signals sent to the container program reach the command" { check_signals_pass_on; }
@test "so far: step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }
@test "so far: step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }

@test "step 3: the command's parent is PID 1, the container's init; the command is not PID 1" { check_pid_namespace; }

@test "step 3: from the host, the command is in a new PID namespace, with a PID of its own there" {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ pid || fail "the command shares the host's PID namespace: clone() with CLONE_NEWPID"
	local inner
	inner=$(inner_pid "$CMD_PID")
	[ "$inner" != "$CMD_PID" ] || fail "the command's PID inside is its host PID, $CMD_PID"
	stop_ctr
}

@test "step 3: PID 1 reaps orphans, and dies with the container program, even of SIGKILL" { check_init_duties; }

@test "step 3: PID 1 reaps many orphans at once: no zombie is left" {
	start_ctr sh -c '(sleep 0.3 &); (sleep 0.3 &); (sleep 0.3 &); exec sleep 30'
	sleep 1
	local zombies
	zombies=$(zombies_under "$CTR_PID")
	[ -z "$zombies" ] || fail "zombie process(es) $zombies in the container: its PID 1 must wait for every child"
	stop_ctr
}

@test "step 3: not isolated yet: inside, /proc (what ps reads) still lists the host's processes" {
	skip_if_feature ROOT "the root filesystem, and so /proc"
	start_ctr sleep 30
	# What ps reads: procps's ps itself may give up where the PID
	# namespace has no PID 2, as in a container ("lookup self").
	run_ctr ls /proc
	# The host's PID of the container program in the background.
	assert_line "$CTR_PID"
	stop_ctr
}

@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }
@test "convention: the program says 'Running [...] as PID <its host PID>', its init 'as PID 1'" { convention_narration_pids; }
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }
