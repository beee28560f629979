#!/usr/bin/env bats
# Step 6: a mount namespace: the container's mounts stay inside.
# Run: make test-step6 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step6-mounts; }

@test "so far: step 1 runs a command" { check_echo_hello; }
@test "so far: step 2 gives it its own hostname" { check_hostname_change_stays_inside; }
@test "so far: step 3 makes its parent PID 1" { check_parent_is_pid1; }
@test "so far: step 4 gives it its own root" { check_root_is_rootfs; }
@test "so far: step 5 gives it its own /proc" { check_ps_only_container; }

@test "step 6: while it runs, the host sees neither its /proc nor its /mytemp" { check_mounts_invisible; }
@test "step 6: ...also when the host's / is shared, as systemd makes it" { check_mounts_invisible_shared_root; }
@test "step 6: /mytemp inside is a tmpfs, not the rootfs directory" { check_mytemp_tmpfs; }
@test "step 6: no mount is left after SIGINT to the container" { check_no_mount_after sigint; }
