#!/usr/bin/env bats
# Step 5: proc mounted inside: ps sees only the container.
# Run: make test-step5 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step5-proc; }

@test "so far: step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }
@test "so far: step 1: signals sent to the container program reach the command" { check_signals_pass_on; }
@test "so far: step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }
@test "so far: step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }
@test "so far: step 3: the command's parent is PID 1, the container's init; the command is not PID 1" { check_pid_namespace; }
@test "so far: step 3: PID 1 reaps orphans, and dies with the container program, even of SIGKILL" { check_init_duties; }
@test "so far: step 4: inside, / and the working directory are the root filesystem ROOTFS names (spaces and all)" { check_own_root; }

@test "step 5: inside, ps lists PID 1 and ps itself, nothing else" { check_own_proc; }

@test "step 5: the PID ps shows inside is the one the host knows the command by, there" {
	start_ctr sh -c 'ps -o pid,args | sed "s/^/ps: /"; exec sleep 30'
	local inner
	inner=$(inner_pid "$CMD_PID")
	wait_output --regexp "^ps: *$inner +sh -c ps"
	stop_ctr
}

no_mount_left_after() {
	start_ctr sleep 30
	case $1 in
	exit) kill -TERM "$CMD_PID" && wait_ctr ;;
	TERM) stop_ctr TERM ;;
	esac
	local now
	now=$(comm -13 <(cut -d' ' -f1 "$BATS_TEST_TMPDIR/before.mounts" | sort) <(mounts | cut -d' ' -f1 | sort))
	[ -z "$now" ] || fail "the container's proc mount outlived it: unmount /proc when the command has ended"
}

@test "step 5: no mount is left after the command exits" { no_mount_left_after exit; }
@test "step 5: no mount is left after SIGTERM to the container program" { no_mount_left_after TERM; }

@test "step 5: not isolated yet: while it runs, the host sees its proc mount (no mount namespace)" {
	skip_if_feature MNT "mounts"
	start_ctr sleep 30
	run mounts
	assert_line --regexp " $(readlink -f "$ROOTFS_DIR")/proc proc\$"
	stop_ctr
}

@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }
@test "convention: the program says 'Running [...] as PID <its host PID>', its init 'as PID 1'" { convention_narration_pids; }
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }
@test "convention: a missing root filesystem: exit 125, naming it and saying what to do" { convention_missing_rootfs; }
