#!/usr/bin/env bats
# Step 4: chroot: a root filesystem of its own.
# Run: make test-step4 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step4-chroot; }

@test "so far: step 1 runs a command" { check_echo_hello; }
@test "so far: step 2 gives it its own hostname" { check_hostname_change_stays_inside; }
@test "so far: step 3 makes its parent PID 1" { check_parent_is_pid1; }

@test "step 4: ls / shows the root filesystem" { check_root_is_rootfs; }
@test "step 4: the host's files are out of sight" { check_host_files_hidden; }
@test "step 4: the command is looked up inside: host-only bash is not found" { check_cmd_found_inside; }
@test "step 4: from the host, the command's root is rootfs/" { check_root_from_host; }
@test "step 4: a missing root filesystem exits 125 and says what to do" { check_missing_rootfs; }
@test "step 4: ROOTFS names another root filesystem, spaces and all" { check_rootfs_env; }

@test "step 4: ps inside finds no process (/proc is an empty directory)" {
	skip_if_feature PROC "/proc"
	run_ctr ps -o pid
	[ "$status" -eq 0 ]
	[ "$output" = PID ]
}
