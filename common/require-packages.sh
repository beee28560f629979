#!/usr/bin/env bash
# Make sure the Debian/Ubuntu packages the lesson needs are installed:
# install the missing ones with apt-get (printing the command), or say
# which to install where that is not possible.
#
# usage: common/require-packages.sh PACKAGE...   (busybox-static, bats, procps)
set -euo pipefail

have() {
	case "$1" in
	# A dynamically linked busybox would not run inside the root
	# filesystem, which has no C library: only the static one will do.
	busybox-static) [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 ;;
	bats) command -v bats >/dev/null ;;
	procps) command -v ps >/dev/null ;;
	musl-tools) command -v musl-gcc >/dev/null ;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' ;;
	esac
}

missing=()
for pkg in "$@"; do
	have "$pkg" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
	echo "Missing: ${missing[*]}. Install them with your distribution's package manager." >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing: ${missing[*]}. Install them: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
echo "+ apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
if ! { "${apt[@]}" update >/dev/null && "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; }; then
	echo "Installing ${missing[*]} failed (see above): is the package archive reachable?" >&2
	exit 1
fi
