#!/usr/bin/env bats
# Step 7: a cgroup: limits on processes, memory and CPU.
# Run: make test-step7 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step7-cgroups; }

@test "so far: step 1 runs a command" { check_echo_hello; }
@test "so far: step 2 gives it its own hostname" { check_hostname_change_stays_inside; }
@test "so far: step 3 makes its parent PID 1" { check_parent_is_pid1; }
@test "so far: step 4 gives it its own root" { check_root_is_rootfs; }
@test "so far: step 5 gives it its own /proc" { check_ps_only_container; }
@test "so far: step 6 keeps its mounts inside" { check_mounts_invisible; }

@test "step 7: from the host, its cgroup has pids, memory and CPU limits" { check_cgroup_limits; }
@test "step 7: a fork bomb stops at 20 processes" { check_fork_bomb_held; }
@test "step 7: past 64 MiB the OOM killer ends it (137); 16 MiB is fine" { check_memory_hog_killed; }
@test "step 7: a CPU burner is held to half a CPU" { check_half_a_cpu; }
@test "step 7: the cgroup is removed when the command exits" { check_cgroup_gone_after exit; }
@test "step 7: the cgroup is removed after SIGTERM to the container" { check_cgroup_gone_after sigterm; }
@test "step 7: the cgroup is removed after the command is SIGKILLed" { check_cgroup_gone_after sigkill-command; }
@test "step 7: two containers at once get separate cgroups" { check_two_containers; }
