#!/usr/bin/env bats
# Step 3: a PID namespace: the container's init is PID 1.
# Run: make test-step3 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step3-pid; }

@test "so far: step 1 runs a command" { check_echo_hello; }
@test "so far: step 2 gives it its own hostname" { check_hostname_change_stays_inside; }

@test "step 3: the container prints its host PID, its init 'as PID 1'" { check_narration_pids; }
@test "step 3: the command's parent is PID 1" { check_parent_is_pid1; }
@test "step 3: from the host, the command is PID 2 of a new PID namespace" { check_pid_ns_from_host; }
@test "step 3: PID 1 reaps orphans: no zombie is left" { check_orphans_reaped; }
@test "step 3: SIGTERM to the container reaches the command: exit 143" { check_signal_forwarded TERM 15; }
@test "step 3: SIGINT to the container reaches the command: exit 130" { check_signal_forwarded INT 2; }
@test "step 3: the exit status still passes through PID 1" { check_exit_status; check_signal_status; }

@test "step 3: ps inside still lists the host's processes (/proc is the host's)" {
	skip_if_feature ROOT "the root filesystem, and so /proc"
	start_ctr sleep 30
	run ctr run ps -e -o pid=
	[ "$status" -eq 0 ]
	# The host's PID of the container program, seen from inside.
	grep -qx " *$CTR_PID" <<<"$output"
	stop_ctr
}
