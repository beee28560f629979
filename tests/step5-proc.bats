#!/usr/bin/env bats
# Step 5: proc mounted inside: ps sees only the container.
# Run: make test-step5 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step5-proc; }

# bats test_tags=so-far
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
