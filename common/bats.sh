#!/usr/bin/env bash
# bats-core, bats-support and bats-assert, pinned and checked by hash, into build/pinned-bats/,
# for a release whose own are missing or older than bats 1.5 (Debian 11: bats 1.2.1, no
# bats-assert); common/require-packages.sh runs this then, and tests/run uses them if there.
# From the npm registry: bats-core's project publishes each release there too, at a fixed
# address, reachable over https from any machine; an older release's apt knows only its archive.
# usage: common/bats.sh     (fetches them unless already there)
set -euo pipefail

dir=$(cd "$(dirname "$0")/.." && pwd)/build/pinned-bats
# NAME VERSION SHA256 of https://registry.npmjs.org/NAME/-/NAME-VERSION.tgz
# (bats 1.11.1 is Debian 13's: the same bats there and here).
pins=(
	"bats 1.11.1 1d8a88fc70bc5a518c7cf17e5201b80b24e9475be95abe6508b3197a64b73365"
	"bats-support 0.3.0 a0135a6533f368551b0db6d340b37ce9ee6613de2785c16713c60f9a8afedecf"
	"bats-assert 2.2.4 86560ae56aea605102e8b0a1dc13ea9c367208e44fa4f63d6d173ca0bea361ec"
)
[[ $(cat "$dir/pins" 2>/dev/null) != "${pins[*]}" ]] || exit 0

fail() { echo "common/bats.sh: $*" >&2; exit 1; }
download=(curl -fsSL --retry 3 -o)
command -v curl >/dev/null || download=(wget -q -O)
rm -rf -- "$dir"
mkdir -p "$dir"
for pin in "${pins[@]}"; do
	read -r name version sum <<<"$pin"
	url=https://registry.npmjs.org/$name/-/$name-$version.tgz
	file=$dir/$name.tgz
	echo "+ download $url" >&2
	"${download[@]}" "$file" "$url" || fail "could not download $url"
	sha256sum --quiet -c <<<"$sum  $file" || fail "$url is not the file pinned here (sha256 $sum)"
	# Each in build/pinned-bats/NAME, where BATS_LIB_PATH=build/pinned-bats finds the libraries.
	mkdir -p "$dir/$name"
	tar -xzf "$file" -C "$dir/$name" --strip-components=1 --no-same-owner
	rm -- "$file"
done
echo "${pins[*]}" >"$dir/pins"
echo "Installed $("$dir/bats/bin/bats" --version), bats-support, bats-assert in build/pinned-bats/" >&2
