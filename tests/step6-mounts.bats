#!/usr/bin/env bats
# Step 6: a mount namespace: the container's mounts stay inside.
# Run: make test-step6 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step6-mounts; }

@test "so far: step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }
@test "so far: step 1: signals sent to the container program reach the command" { check_signals_pass_on; }
@test "so far: step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }
@test "so far: step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }
@test "so far: step 3: the command's parent is PID 1, the container's init; the command is not PID 1" { check_pid_namespace; }
@test "so far: step 3: PID 1 reaps orphans, and dies with the container program, even of SIGKILL" { check_init_duties; }
@test "so far: step 4: inside, / and the working directory are the root filesystem ROOTFS names (spaces and all)" { check_own_root; }
@test "so far: step 5: inside, ps lists PID 1 and ps itself, nothing else" { check_own_proc; }

@test "step 6: its /proc and its tmpfs on /mytemp stay inside, even where / is shared, as systemd makes it" { check_private_mounts; }

@test "step 6: from the host, the command has a mount namespace of its own, and its mounts are not here" {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ mnt || fail "the command shares the host's mount namespace: clone() with CLONE_NEWNS"
	local now
	now=$(comm -13 <(cut -d' ' -f1 "$BATS_TEST_TMPDIR/before.mounts" | sort) <(mounts | cut -d' ' -f1 | sort))
	[ -z "$now" ] || fail "while the container runs, the host has new mounts: $(mounts | grep -F -f <(echo "$now"))"
	stop_ctr
}

@test "step 6: a file written to /mytemp stays in the tmpfs, not in the root filesystem" {
	run_ctr sh -c "echo hi >/mytemp/file-$TOKEN && cat /mytemp/file-$TOKEN"
	local landed=0
	[[ ! -e $ROOTFS_DIR/mytemp/file-$TOKEN ]] || { landed=1; rm -f "$ROOTFS_DIR/mytemp/file-$TOKEN"; }
	assert_line hi || fail "the command could not write to /mytemp"
	[ "$landed" -eq 0 ] || fail "the file landed in $ROOTFS_DIR/mytemp: mount a tmpfs on /mytemp inside"
}

@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }
@test "convention: the program says 'Running [...] as PID <its host PID>', its init 'as PID 1'" { convention_narration_pids; }
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }
@test "convention: a missing root filesystem: exit 125, naming it and saying what to do" { convention_missing_rootfs; }
