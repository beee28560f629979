#!/usr/bin/env bats
# Exercise "pivot_root instead of chroot" (TUTORIAL.md): the container's
# root is a mount of its own, the host's root is unmounted from its
# mount table, and a root process inside cannot get back out.
# Run: make test-exercise-pivot-root [BIN=path/to/your/container]
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash; status, output, stderr are set by its capture.
# shellcheck disable=SC2016,SC2034,SC2154

load lib
load checks

setup_file() {
	# The root filesystem before any container of this file used it.
	find "$ROOTFS_DIR" 2>/dev/null | sort >"$BATS_FILE_TMPDIR/rootfs.start"
	exercise_start_hint pivot-root
	step_setup_file build/exercises/pivot-root
}

# `error_hint LINE`: what to change, for the error line of a container
# that could not be set up, where pivot_root's users meet one.
error_hint() {
	case ${1,,} in
	*umount*busy* | *unmount*busy* | *detach*busy*)
		echo "EBUSY from umount: the old root has the host's mounts under it, which keep it busy: detach it instead, umount2(old, MNT_DETACH)"
		;;
	*"invalid argument"* | *busy*)
		echo "pivot_root() takes as its new root a mount point other than the current root's: bind-mount ROOTFS onto itself first (MS_BIND), and for pivot_root(\".\", \".\") chdir into it; it refuses shared mounts (EINVAL): make / private (MS_REC|MS_PRIVATE) before the bind mount, as step 7 does"
		;;
	*) echo "see the error, and TUTORIAL.md's pitfalls of this exercise" ;;
	esac
}

@test "exercise pivot-root: inside, a root process cannot chroot its way out to the host's files" {
	local host_file=$BATS_TEST_TMPDIR/host-only-$TOKEN
	touch "$host_file"
	run_ctr chroot-escape "$host_file"
	set_up || return
	stayed_inside "$host_file"
}

# `stayed_inside FILE`: chroot-escape, run inside, did not reach FILE.
stayed_inside() {
	refute_line --partial "out of the container's root" ||
		fail "the command escaped the root filesystem with chroot(\"..\"): use pivot_root and detach the old root (and chdir(\"/\") into the new one: a working directory left outside is a way out too)" || return
	assert_line "chroot-escape: still inside: no $1 here" ||
		fail "chroot-escape, run as root inside with a writable /tmp, should say it is still inside; it printed: $output $stderr"
}

# `host_mounts_in MOUNTINFO ROOTFS`: the mounts in MOUNTINFO (a
# container's) that are the host's, by filesystem and directory in it
# (fields 3 and 4): the same as a mount of the tests' own, but the one
# of the root filesystem ROOTFS, which the container's root may be.
host_mounts_in() {
	local rootfs=${2// /\\040}
	awk -v rootfs="$rootfs" '
		NR == FNR { if ($5 != rootfs && index($5, rootfs "/") != 1) host[$3 " " $4] = $5; next }
		($3 " " $4) in host { printf "%s (the host'"'"'s %s) ", $5, host[$3 " " $4] }
	' /proc/self/mountinfo "$1"
}

# `own_mount_table WHERE MOUNTINFO`: "/" is a mount, with /proc and
# /mytemp, and no mount of the host's is there.
own_mount_table() {
	local where=$1 file=$2 points host
	points=$(awk '{ print $5 }' "$file" | tr '\n' ' ')
	grep -q '^[^ ]* [^ ]* [^ ]* [^ ]* / ' "$file" ||
		fail "$where lists no mount at / (it lists: $points): the root is a plain directory, as chroot() leaves it, and the host's mounts are still in the container's mount table, only out of sight: bind-mount ROOTFS onto itself, pivot_root into it, and detach the old root" || return
	host=$(host_mounts_in "$file" "$ROOTFS_DIR")
	[ -z "$host" ] ||
		fail "$where lists the host's mounts: $host: the old root is still mounted: detach it after pivot_root, umount2(old, MNT_DETACH)" || return
	local point
	for point in /proc /mytemp; do
		grep -q "^[^ ]* [^ ]* [^ ]* [^ ]* $point " "$file" ||
			fail "$where lists no mount at $point (it lists: $points): mount it after pivot_root" || return
	done
}

@test "exercise pivot-root: the container's mount table, inside and from the host, has its /, /proc and /mytemp, and none of the host's mounts" {
	run_ctr cat /proc/self/mountinfo
	set_up || return
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/inside"
	own_mount_table "inside, /proc/self/mountinfo" "$BATS_TEST_TMPDIR/inside" || return
	start_ctr sleep 30
	cat "/proc/$CMD_PID/mountinfo" >"$BATS_TEST_TMPDIR/host"
	own_mount_table "from the host, /proc/$CMD_PID/mountinfo (the command's)" "$BATS_TEST_TMPDIR/host" || return
	stop_ctr
}

@test "exercise pivot-root: nothing of the old root is left: no new file in the root filesystem, no mount on the host" {
	other_root
	local before=$BATS_TEST_TMPDIR/rootfs.before after=$BATS_TEST_TMPDIR/rootfs.after
	find "$OTHER_ROOT" | sort >"$before"
	ROOTFS=$OTHER_ROOT run_ctr true
	set_up || return
	[ "$status" -eq 0 ] || fail "\`container run true\` exited $status"
	find "$OTHER_ROOT" | sort >"$after"
	# And in the usual one, all this file's containers so far.
	local left
	left=$({
		comm -13 "$before" "$after" | sed "s|^$OTHER_ROOT||"
		comm -13 "$BATS_FILE_TMPDIR/rootfs.start" <(find "$ROOTFS_DIR" | sort) | sed "s|^$ROOTFS_DIR||"
	} | sort -u | tr '\n' ' ')
	[ -z "$left" ] ||
		fail "after the containers, the root filesystem has new entries: $left: remove the old root's directory (rmdir) once it is detached, or use pivot_root(\".\", \".\"), which needs none"
	left=$(comm -13 <(awk '{ print $2 }' "$BATS_TEST_TMPDIR/before.mounts" | sort) <(mounts | awk '{ print $2 }' | sort) | tr '\n' ' ')
	[ -z "$left" ] ||
		fail "after the container, the host has new mounts: $left: make the bind mount in the container's mount namespace, after making / private"
}

@test "exercise pivot-root: inside, / is a mount of its own, and it is the root filesystem ROOTFS names (spaces and all)" {
	other_root
	ROOTFS=$OTHER_ROOT run_ctr sh -c 'echo "which: $(cat /which-root)"; stat -c "inode: %d:%i" /
		while read -r id parent dev root point rest; do
			if [ "$point" = / ]; then echo "mount at /: $root"; fi
		done </proc/self/mountinfo'
	set_up || return
	assert_line "which: other" ||
		fail "inside, / is not the root filesystem that ROOTFS names ($OTHER_ROOT): bind-mount \$ROOTFS onto itself and pivot_root into that"
	assert_line "inode: $(stat -c %d:%i "$OTHER_ROOT")" ||
		fail "inside, / is not the directory ROOTFS names ($OTHER_ROOT), by device and inode"
	assert_line --partial "mount at /: " ||
		fail "inside, / is no mount point of its own: bind-mount ROOTFS onto itself (pivot_root takes a mount point) and pivot_root into it"
	local roots
	roots=$(grep -c '^mount at /: ' <<<"$output")
	[ "$roots" -eq 1 ] ||
		fail "inside, $roots mounts are at /: the old root is still mounted over or under the new one: after pivot_root(\".\", \".\"), umount2(\".\", MNT_DETACH)"
}

# As systemd makes a host: "/" shared, and the root filesystem on a
# mount of its own (a separate /home, say), in a mount namespace of the
# test's own.  Prints the container's output and status, then the mounts
# that appeared there and stayed.
shared_host() {
	mount --make-rprivate / && mount --make-rshared / || return
	mount --bind "$ROOTFS_DIR" "$ROOTFS_DIR" || return
	local before status=0
	before=$(awk '{ print $5 }' /proc/self/mountinfo | sort)
	TEST_TOKEN=$TOKEN timeout -k 2 "$CTR_TIMEOUT" "$BIN" run chroot-escape "$1" </dev/null || status=$?
	echo "status: $status"
	comm -13 <(echo "$before") <(awk '{ print $5 }' /proc/self/mountinfo | sort) | sed 's/^/host: /'
}

@test "exercise pivot-root: where / is shared and ROOTFS is a mount point, as on systemd hosts, pivot_root works and its mounts stay inside" {
	local host_file=$BATS_TEST_TMPDIR/host-only-$TOKEN
	touch "$host_file"
	export -f shared_host
	export BIN ROOTFS_DIR TOKEN CTR_TIMEOUT
	LAST_CMD="container run chroot-escape $host_file (with / shared)"
	capture timeout 30 unshare -m bash -c 'shared_host "$1"' _ "$host_file"
	if ! grep -qx 'status: 0\|status: 1' <<<"$output"; then
		status=$(sed -n 's/^status: //p' <<<"$output")
		set_up || return
		fail "the container failed where / is shared: $output"
	fi
	stayed_inside "$host_file" || return
	local leaked
	leaked=$(grep '^host: ' <<<"$output" | tr '\n' ' ' || true)
	[ -z "$leaked" ] ||
		fail "the container's mounts stayed on a host whose / is shared: $leaked: make / private (MS_REC|MS_PRIVATE) before the bind mount"
}
