#!/usr/bin/env bats
# The root filesystem builder: from busybox, and from a tarball.
# Builds into temporary directories; rootfs/ itself is left alone.

load lib

setup_file() {
	[[ $(id -u) -eq 0 ]] || skip "needs root: device nodes (run: sudo make test)"
}

# BIN: the program lib.bash's run_ctr runs.
# shellcheck disable=SC2034
setup() {
	lib_setup
	BIN=$REPO/step5-proc/container
	# Not under BATS_TEST_TMPDIR: /tmp may be nodev (systemd's is), and
	# device nodes in the root filesystem must work.
	WORK=$REPO/build/rootfs-test
	rm -rf "$WORK"
	mkdir -p "$WORK"
}

teardown() {
	rm -rf "$WORK"
	lib_teardown
}

@test "rootfs: busybox build has the applets, the mount points and device nodes" {
	run "$REPO/common/mkrootfs.sh" "$WORK/root"
	[ "$status" -eq 0 ]
	local d
	for d in proc sys dev tmp mytemp; do [ -d "$WORK/root/$d" ]; done
	[ -c "$WORK/root/dev/null" ] && [ -c "$WORK/root/dev/zero" ] && [ -c "$WORK/root/dev/urandom" ]
	[ -x "$WORK/root/bin/busybox" ] && [ -L "$WORK/root/bin/sh" ]
	grep -q '^root:x:0:0:' "$WORK/root/etc/passwd"
	[ ! -e "$WORK/root.tmp" ]
	ROOTFS=$WORK/root run_ctr sh -c 'echo x >/dev/null && exec ps -o pid='
	assert_success
	assert_equal "$(tr -d ' ' <<<"$output")" "$(printf '1\n2')" # the init, and ps
	[ ! -s "$WORK/root/dev/null" ]
}

@test "rootfs: TARBALL=x.tar.gz builds from a tarball, adding what steps need" {
	"$REPO/common/mkrootfs.sh" "$WORK/src"
	rm -rf "$WORK/src"/{proc,mytemp,dev/null,container-rootfs}
	echo from-tarball >"$WORK/src/etc/which"
	tar -czf "$WORK/image.tar.gz" -C "$WORK/src" .
	run "$REPO/common/mkrootfs.sh" "$WORK/root" "$WORK/image.tar.gz"
	[ "$status" -eq 0 ]
	[ -d "$WORK/root/proc" ] && [ -d "$WORK/root/mytemp" ] && [ -c "$WORK/root/dev/null" ]
	grep -q 'image.tar.gz' "$WORK/root/container-rootfs"
	ROOTFS=$WORK/root run_ctr cat /etc/which
	[ "$output" = from-tarball ]
}

@test "rootfs: a tarball that is not a root filesystem is refused, nothing left" {
	echo hello >"$WORK/file"
	tar -cf "$WORK/bad.tar" -C "$WORK" file
	run "$REPO/common/mkrootfs.sh" "$WORK/root" "$WORK/bad.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"has no /bin/sh"* ]]
	[ ! -e "$WORK/root" ] && [ ! -e "$WORK/root.tmp" ]
}

@test "rootfs: a nodev filesystem is refused: its device nodes would not work" {
	mkdir -p "$WORK/nodev"
	mount -t tmpfs -o nodev none "$WORK/nodev"
	run "$REPO/common/mkrootfs.sh" "$WORK/nodev/root"
	umount "$WORK/nodev"
	[ "$status" -eq 1 ]
	[[ $output == *"is on a nodev filesystem"* ]]
}

@test "rootfs: rebuilding is refused while something is mounted inside" {
	"$REPO/common/mkrootfs.sh" "$WORK/root"
	mount -t tmpfs none "$WORK/root/mytemp"
	run "$REPO/common/mkrootfs.sh" "$WORK/root"
	umount "$WORK/root/mytemp"
	[ "$status" -eq 1 ]
	[[ $output == *"$WORK/root/mytemp is still mounted"* ]]
	[ -e "$WORK/root/bin/busybox" ]
}
