#!/usr/bin/env bats
# Step 6: a mount namespace: the container's mounts stay inside.
# Run: make test-step6 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step6-mounts; }

# bats test_tags=so-far
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
