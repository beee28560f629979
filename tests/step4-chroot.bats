#!/usr/bin/env bats
# Step 4: chroot: a root filesystem of its own.
# Run: make test-step4 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step4-chroot; }

# bats test_tags=so-far
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
