#!/usr/bin/env bash
# Build the container's root filesystem, offline.
#
#   common/mkrootfs.sh DIR              from the host's static busybox
#   common/mkrootfs.sh DIR TARBALL      from a tarball: an Alpine
#                                       minirootfs, `docker export` output
#   common/mkrootfs.sh --remove DIR     delete it (refused while mounted)
#
# It is built beside DIR and renamed into place, so a failed build never
# leaves half a root filesystem behind.
set -euo pipefail

die() { echo "mkrootfs: $*" >&2; exit 1; }

# Deleting a tree with a live mount inside (a container's /proc, left by
# step 5) would delete through the mount: refuse instead.
refuse_if_mounted() {
	local dir=$1 target
	while read -r _ _ _ _ target _; do
		target=$(printf '%b' "$target") # mountinfo escapes spaces as \040
		if [[ $target == "$dir" || $target == "$dir"/* ]]; then
			die "$target is still mounted (a container running?): umount $target first"
		fi
	done </proc/self/mountinfo
}

remove() {
	[[ -e $1 ]] || return 0
	refuse_if_mounted "$1"
	rm -rf -- "$1"
}

from_busybox() {
	local dir=$1 applet
	[[ -x /bin/busybox ]] || die "/bin/busybox not found: install busybox-static"
	! ldd /bin/busybox >/dev/null 2>&1 ||
		die "/bin/busybox is dynamically linked and cannot run in the root filesystem: install busybox-static"
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,var}
	cp /bin/busybox "$dir/bin/busybox"
	# Every applet is a link to busybox, which runs the one it is named.
	for applet in $(/bin/busybox --list-full | grep -vx linuxrc); do
		[[ -e $dir/$applet ]] || ln -s /bin/busybox "$dir/$applet"
	done
	cat >"$dir/etc/passwd" <<-'END'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/:/bin/false
	END
	cat >"$dir/etc/group" <<-'END'
		root:x:0:
		nogroup:x:65534:
	END
	cat >"$dir/etc/os-release" <<-END
		NAME="containers-from-scratch busybox rootfs"
		ID=busybox
		VERSION_ID="$(/bin/busybox | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')"
		PRETTY_NAME="containers-from-scratch rootfs (busybox)"
	END
}

from_tarball() {
	local dir=$1 tarball=$2
	[[ -f $tarball ]] || die "$tarball: no such file"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --numeric-owner ||
		die "could not unpack $tarball (a .tar, .tar.gz or .tar.xz?)"
	[[ -e $dir/bin/sh ]] || die "$tarball has no /bin/sh: is it a root filesystem?"
}

# What every step needs, whatever the root filesystem came from.
finish() {
	local dir=$1 source=$2
	# Mount points for steps 5 and 6, and a world-writable /tmp.
	mkdir -p "$dir"/{proc,sys,dev,tmp,mytemp}
	chmod 1777 "$dir/tmp"
	echo container >"$dir/etc/hostname"
	# Without device nodes, `echo > /dev/null` would create a plain file.
	rm -f "$dir"/dev/{null,zero,urandom}
	if ! { mknod -m 666 "$dir/dev/null" c 1 3 &&
		mknod -m 666 "$dir/dev/zero" c 1 5 &&
		mknod -m 666 "$dir/dev/urandom" c 1 9; }; then
		die "mknod in $dir/dev failed: run as root (sudo make rootfs)"
	fi
	# The marker the tests (and `ls /` inside) look for.
	cat >"$dir/container-rootfs" <<-END
		This is the container's root filesystem, built by \`make rootfs\`
		from $source on $(date -u +%Y-%m-%d).
	END
}

main() {
	if [[ ${1-} == --remove ]]; then
		[[ $# -eq 2 ]] || die "usage: $0 --remove DIR"
		remove "$2"
		return
	fi
	[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 DIR [TARBALL]"
	local dir tmp
	dir=$(realpath -m -- "$1")
	tmp=$dir.tmp
	[[ $(id -u) -eq 0 ]] || die "device nodes need root: run as root (sudo make rootfs)"
	# On a nodev filesystem (a systemd /tmp, say) the device nodes would
	# be made but not work: "can't create /dev/null: Permission denied".
	if findmnt -no OPTIONS -T "$(dirname -- "$dir")" | tr , '\n' | grep -qx nodev; then
		die "$(dirname -- "$dir") is on a nodev filesystem, where device nodes do not work: build the root filesystem elsewhere"
	fi
	remove "$tmp"
	trap 'rm -rf -- "$tmp"' EXIT
	if [[ $# -eq 2 ]]; then
		from_tarball "$tmp" "$2"
		finish "$tmp" "$(basename -- "$2")"
	else
		from_busybox "$tmp"
		finish "$tmp" "busybox $(/bin/busybox | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')"
	fi
	remove "$dir"
	mv -- "$tmp" "$dir"
	trap - EXIT
	echo "mkrootfs: built $dir"
}

main "$@"
