#!/usr/bin/env bats
# Step 4: chroot: a root filesystem of its own.
# Run: make test-step4 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step4-chroot; }

@test "so far: step 1: the command runs: its output, input and exit status pass through" { check_runs_command; }
@test "so far: step 1: signals sent to the container program reach the command" { check_signals_pass_on; }
@test "so far: step 1: the command starts with no signal blocked or ignored" { check_signals_reset; }
@test "so far: step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }
@test "so far: step 3: the command's parent is PID 1, the container's init; the command is not PID 1" { check_pid_namespace; }
@test "so far: step 3: PID 1 reaps orphans, and dies with the container program, even of SIGKILL" { check_init_duties; }

@test "step 4: inside, / and the working directory are the root filesystem ROOTFS names (spaces and all)" { check_own_root; }

@test "step 4: from the host, the command's root and working directory are in the root filesystem" {
	start_ctr sleep 30
	local root cwd
	root=$(readlink "/proc/$CMD_PID/root")
	cwd=$(readlink "/proc/$CMD_PID/cwd")
	assert_equal "$root" "$(readlink -f "$ROOTFS_DIR")" || fail "the command's root is not \$ROOTFS"
	[[ $cwd == "$root" || $cwd == "$root"/* ]] ||
		fail "the command's working directory, $cwd, is outside its root: chdir(\"/\") after chroot()"
	stop_ctr
}

@test "step 4: the host's files are out of sight" {
	run_ctr sh -c "test -e '$BATS_TEST_FILENAME' && echo 'host file: seen'; echo done"
	assert_line "done"
	refute_line "host file: seen" || fail "the container sees the host's files: chroot() into \$ROOTFS"
}

@test "step 4: commands are looked up inside: memhog (only there) runs, bash (only on the host) does not" {
	run_ctr memhog 1
	assert_line "memhog: touched 1 MiB" || fail "memhog, in the root filesystem's /usr/local/bin, did not run: look the command up after chroot()"
	run_ctr bash -c 'echo "bash ran"'
	refute_line "bash ran" || fail "the host's bash ran in the container: look the command up in the new root, after chroot()"
	[ "$status" -ne 0 ] || fail "bash, which the root filesystem lacks, was found: exit status 0"
}

@test "step 4: not isolated yet: inside, ps finds no process (/proc is an empty directory)" {
	skip_if_feature PROC "/proc"
	run_ctr ps -o pid,comm
	refute_line --regexp '^ *[0-9]+ ' || fail "ps found processes: is the root filesystem's /proc empty?"
	[ "$status" -eq 0 ]
}

@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }
@test "convention: the program says 'Running [...] as PID <its host PID>', its init 'as PID 1'" { convention_narration_pids; }
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }
@test "convention: a missing root filesystem: exit 125, naming it and saying what to do" { convention_missing_rootfs; }
