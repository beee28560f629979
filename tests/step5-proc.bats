#!/usr/bin/env bats
# Step 5: proc mounted inside: ps sees only the container.
# Run: make test-step5 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step5-proc; }

@test "so far: step 1 runs a command" { check_echo_hello; }
@test "so far: step 2 gives it its own hostname" { check_hostname_change_stays_inside; }
@test "so far: step 3 makes its parent PID 1" { check_parent_is_pid1; }
@test "so far: step 4 gives it its own root" { check_root_is_rootfs; }

@test "step 5: ps inside lists PID 1 and ps itself, nothing else" { check_ps_only_container; }
@test "step 5: inside PID 2 is a host PID seen from outside" { check_ps_pids_from_host; }
@test "step 5: no mount is left after the command exits" { check_no_mount_after exit; }
@test "step 5: no mount is left after SIGTERM to the container" { check_no_mount_after sigterm; }

@test "step 5: while it runs, the host sees the proc mount (no mount namespace)" {
	skip_if_feature MNT "mounts"
	start_ctr sleep 30
	[ "$(host_mounts_under "$ROOTFS_DIR")" = "$ROOTFS_DIR/proc" ]
	stop_ctr
}
