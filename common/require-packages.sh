#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the lesson needs that are missing, with apt-get (printing the
# command), or say which to install where that is not possible.  bats, bats-assert, bats-support:
# the release's if it has all three and a bats of 1.5 or later, else pinned ones (common/bats.sh).
# usage: common/require-packages.sh PACKAGE...   (busybox-static, bats, ...)
set -euo pipefail
common=$(cd "$(dirname "$0")" && pwd)
# The tests use bats_load_library, bats_require_minimum_version, run --separate-stderr: bats 1.5.
bats_1_5() { [[ $(bats --version 2>/dev/null) =~ ([0-9]+)\.([0-9]+) ]] && ((BASH_REMATCH[1] * 100 + BASH_REMATCH[2] >= 105)); }
pinned() { [[ -f $common/../build/pinned-bats/pins ]]; }
# These by a command they install.
declare -A COMMAND=([procps]=ps [musl-tools]=musl-gcc [strace]=strace [attr]=setfattr)
have() {
	case "$1" in
	# Only a static busybox runs inside the root filesystem, which has no C library.
	busybox-static) [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 ;;
	bats) pinned || bats_1_5 ;;
	bats-assert | bats-support) pinned || [[ -f /usr/lib/bats/$1/load.bash ]] ;;
	procps | musl-tools | strace | attr) command -v "${COMMAND[$1]}" >/dev/null ;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' ;;
	esac
}

# The version apt would install, if the release has the package.
candidate() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'; }

missing=()
for pkg in "$@"; do
	have "$pkg" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

command -v apt-get >/dev/null ||
	{ echo "Missing: ${missing[*]}. Install them with your distribution's package manager." >&2; exit 1; }
[[ $(id -u) -eq 0 ]] ||
	{ echo "Missing: ${missing[*]}. Install them: sudo apt-get install ${missing[*]}" >&2; exit 1; }
apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
echo "+ apt-get update" >&2
# A source out of reach is an error, not a warning (apt 2.2 on; older ones ignore the option).
"${apt[@]}" -o APT::Update::Error-Mode=any update >/dev/null ||
	{ echo "apt-get update failed (see above): is the package archive reachable?" >&2 && exit 1; }

release_bats() { # has the release both libraries, and a bats of 1.5 or later?
	[[ -n $(candidate bats-assert) && -n $(candidate bats-support) ]] &&
		dpkg --compare-versions "$(candidate bats)" ge 1.5 # none: "", older than any for dpkg
}
install=() fetch=
for pkg in "${missing[@]}"; do
	if [[ $pkg == bats* ]] && ! release_bats; then fetch=1; else install+=("$pkg"); fi
done
if [[ -n $fetch ]]; then
	echo "This release has no bats 1.5 or later with bats-assert and bats-support:" \
		"pinned ones from npm go in build/pinned-bats/ (common/bats.sh)" >&2
	command -v curl >/dev/null || command -v wget >/dev/null || install+=(curl)
	[[ -f /etc/ssl/certs/ca-certificates.crt ]] || install+=(ca-certificates)
fi

absent=()
for pkg in ${install[@]+"${install[@]}"}; do
	[[ -n $(candidate "$pkg") ]] || absent+=("$pkg")
done
if [[ ${#absent[@]} -gt 0 ]]; then
	# shellcheck disable=SC1091 # the machine's
	echo "Not in $(. /etc/os-release && echo "$PRETTY_NAME"): ${absent[*]} (apt-get update worked:" \
		"the archive is reachable, this release lacks them). Install them another way, or use Debian 12 or later." >&2
	exit 1
fi
if [[ ${#install[@]} -gt 0 ]]; then
	echo "+ apt-get install -y --no-install-recommends ${install[*]}" >&2
	"${apt[@]}" install --no-install-recommends "${install[@]}" >/dev/null ||
		{ echo "Installing ${install[*]} failed (see above)." >&2 && exit 1; }
fi
[[ -z $fetch ]] || "$common/bats.sh"
