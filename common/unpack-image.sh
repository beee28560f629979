#!/usr/bin/env bash
# Unpack an OCI image layout (what `skopeo copy ... oci:DIR` or umoci write: DIR/index.json,
# DIR/blobs/sha256/...) into overlay layers, offline.
#   common/unpack-image.sh LAYOUT [DEST]      (DEST: build/image)
# Each layer becomes DEST/1, DEST/2... (1 the base), and on top DEST/init holds what the steps
# need (/proc, /mytemp, /dev/null...), as Docker adds an "init" layer of its own.  DEST/lowerdir
# gets the list to give as ROOTFS: topmost first, separated by ':', as overlay's lowerdir takes it.
# An OCI layer deletes a file NAME of the layers below with an empty file .wh.NAME, and hides a
# whole directory's with .wh..wh..opq in it; overlay wants a character device 0/0 named NAME, and
# the directory's xattr trusted.overlay.opaque=y: they are converted.
set -euo pipefail

die() { echo "unpack-image: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 LAYOUT [DEST]"
layout=${1%/} dest=$(realpath -m -- "${2:-$(dirname "$0")/../build/image}")
[[ $(id -u) -eq 0 ]] || die "whiteouts are device nodes: run as root (sudo make rootfs IMAGE=...)"
[[ -f $layout/index.json ]] || die "$layout/index.json: no such file: is $layout an OCI image layout?"
"$(dirname "$0")/require-packages.sh" attr

blob() { # a blob by its digest, checked: its name is the SHA-256 of its contents
	local file=$layout/blobs/sha256/${1#sha256:}
	[[ $1 == sha256:* && -f $file ]] || die "$1: no such blob in $layout"
	echo "${1#sha256:}  $file" | sha256sum --check --quiet >&2 || die "$file: corrupt"
	echo "$file"
}
digests() { # the sha256 digests in a JSON file's array KEY, in order; no jq: between "KEY":[ and ]
	tr -d ' \t\r\n' <"$1" | sed -n "s/.*\"$2\":\[\([^]]*\)\].*/\1/p" | grep -o 'sha256:[0-9a-f]\{64\}' || true
}

mapfile -t manifests < <(digests "$layout/index.json" manifests)
((${#manifests[@]} == 1)) || die "$layout/index.json lists ${#manifests[@]} images, not one"
manifest=$(blob "${manifests[0]}")
! grep -q '"manifests"' "$manifest" ||
	die "$layout holds an image for several platforms: copy one (skopeo copy without --all)"
mapfile -t layers < <(digests "$manifest" layers)
((${#layers[@]} > 0)) || die "$manifest lists no layers"

rm -rf -- "$dest"
n=0
for digest in "${layers[@]}"; do
	dir=$dest/$((++n))
	mkdir -p "$dir"
	tar -xf "$(blob "$digest")" -C "$dir" --numeric-owner || die "could not unpack layer $digest"
	find "$dir" -name '.wh.*' -print0 | while IFS= read -r -d '' wh; do
		name=${wh##*/.wh.}
		if [[ $name == .wh..opq ]]; then
			setfattr -n trusted.overlay.opaque -v y "${wh%/*}"
		elif [[ ! -e ${wh%/*}/$name && ! -L ${wh%/*}/$name ]]; then
			mknod "${wh%/*}/$name" c 0 0
		fi
		rm -f -- "$wh"
	done
done

mkdir -p "$dest"/init/{proc,sys,dev,tmp,mytemp}
chmod 1777 "$dest/init/tmp"
mknod -m 666 "$dest/init/dev/null" c 1 3 && mknod -m 666 "$dest/init/dev/zero" c 1 5
lowerdir=$dest/init
for ((i = n; i > 0; i--)); do lowerdir+=:$dest/$i; done
echo "$lowerdir" >"$dest/lowerdir"
echo "unpack-image: $n layers in $dest; to run it: export ROOTFS=\$(cat $dest/lowerdir)"
