#!/usr/bin/env bash
# Build the container's root filesystem offline, beside DIR, then renamed: no half one if it fails.
#   common/mkrootfs.sh DIR              from the host's static busybox
#   common/mkrootfs.sh DIR TARBALL      from a tarball: an Alpine minirootfs, `docker export` output
#   common/mkrootfs.sh --remove DIR     delete it (refused while mounted)
set -euo pipefail

die() { echo "mkrootfs: $*" >&2; exit 1; }
# rm -rf would delete through a live mount inside (a container's /proc, left by step 5): refuse.
remove() {
	[[ -e $1 ]] || return 0
	local t
	t=$(findmnt -lno TARGET | awk -v d="$1/" 'index($0 "/", d) == 1 { print; exit }')
	[[ -z $t ]] || die "$t is still mounted (a container running?): umount $t first"
	rm -rf -- "$1"
}

from_busybox() {
	local dir=$1 applet version
	[[ -x /bin/busybox ]] || die "/bin/busybox not found: install busybox-static"
	version=$(/bin/busybox | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
	origin="busybox v$version"
	! ldd /bin/busybox >/dev/null 2>&1 ||
		die "/bin/busybox is dynamically linked, of no use inside: install busybox-static"
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,var}
	cp /bin/busybox "$dir/bin/busybox"
	# Every applet is a link to busybox, which runs the one it is named.
	for applet in $(/bin/busybox --list-full | grep -vx linuxrc); do
		[[ -e $dir/$applet ]] || ln -s /bin/busybox "$dir/$applet"
	done
	printf '%s\n' root:x:0:0:root:/root:/bin/sh nobody:x:65534:65534:nobody:/:/bin/false \
		>"$dir/etc/passwd"
	printf '%s\n' root:x:0: nogroup:x:65534: >"$dir/etc/group"
	printf '%s\n' 'NAME="containers-from-scratch busybox rootfs"' ID=busybox \
		"VERSION_ID=\"$version\"" 'PRETTY_NAME="containers-from-scratch rootfs (busybox)"' \
		>"$dir/etc/os-release"
}

from_tarball() {
	local dir=$1 tarball=$2
	[[ -f $tarball ]] || die "$tarball: no such file"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --numeric-owner ||
		die "could not unpack $tarball (a .tar, .tar.gz or .tar.xz?)"
	[[ -e $dir/bin/sh ]] || die "$tarball has no /bin/sh: is it a root filesystem?"
	origin=${tarball##*/}
}

finish() { # what every step needs, whatever the root filesystem came from ($origin)
	local dir=$1 node
	# Mount points for steps 5 and 6, and a world-writable /tmp.
	mkdir -p "$dir"/{proc,sys,dev,tmp,mytemp}
	chmod 1777 "$dir/tmp"
	echo container >"$dir/etc/hostname"
	# Without device nodes, `echo > /dev/null` would create a plain file.
	rm -f "$dir"/dev/{null,zero,urandom}
	for node in null:3 zero:5 urandom:9; do
		mknod -m 666 "$dir/dev/${node%:*}" c 1 "${node#*:}" ||
			die "mknod in $dir/dev failed: run as root (sudo make rootfs)"
	done
	# The marker the tests (and `ls /` inside) look for.
	printf '%s\n' "This is the container's root filesystem, built by \`make rootfs\`" \
		"from $origin on $(date -u +%Y-%m-%d)." >"$dir/container-rootfs"
}

case ${1-}:$# in
--remove:2) remove "$2" && exit ;;
--remove:*) die "usage: $0 --remove DIR" ;;
*:1 | *:2) ;;
*) die "usage: $0 DIR [TARBALL]" ;;
esac
dir=$(realpath -m -- "$1")
tmp=$dir.tmp parent=$(dirname -- "$dir")
[[ $(id -u) -eq 0 ]] || die "device nodes need root: run as root (sudo make rootfs)"
# On a nodev filesystem (a systemd /tmp, say) device nodes are made but do not work.
findmnt -no OPTIONS -T "$parent" | tr , '\n' | grep -qx nodev &&
	die "$parent is on a nodev filesystem, where device nodes do not work: build it elsewhere"
remove "$tmp"
trap 'rm -rf -- "$tmp"' EXIT
if [[ $# -eq 2 ]]; then
	from_tarball "$tmp" "$2"
else
	from_busybox "$tmp"
fi
finish "$tmp"
remove "$dir"
mv -- "$tmp" "$dir"
trap - EXIT
echo "mkrootfs: built $dir"
