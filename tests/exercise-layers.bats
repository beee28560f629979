#!/usr/bin/env bats
# Exercise "images in layers" (TUTORIAL.md): the image stays read-only,
# and each container writes to a layer of its own, which overlayfs lays
# over the image's layers and which is gone when the container ends.
# ROOTFS names one directory, or layers topmost first, separated by ':'
# (as overlay's lowerdir takes them): "top:base".
# Run: make test-exercise-layers [BIN=path/to/your/container]
# The images the containers write to are copies, made here, in
# build/test roots/ (device nodes and whiteouts must work there).
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash; status, output, stderr are set by its capture.
# shellcheck disable=SC2016,SC2034,SC2154

load lib
load checks

LAYER_DIR="$REPO/build/test roots/exercise-layers images"

setup_file() {
	exercise_start_hint layers
	step_setup_file build/exercises/layers
	# setfattr, for the opaque directory of the layers made here.
	"$REPO/common/require-packages.sh" attr >&2
}

teardown_file() {
	stop_leftover_ctr
	[[ -z ${FILE_SNAPSHOT-} ]] || cleanup_since "$FILE_SNAPSHOT" >/dev/null || true
	rm -rf -- "$OTHER_ROOT" "$LAYER_DIR"
}

NO_OVERLAY="mount an overlay (lowerdir: the image ROOTFS names; upperdir and workdir: new, empty directories of this container's own) and chroot (or pivot_root) into the directory it is mounted on"

# `error_hint LINE`: what to change, for the error line of a container
# that could not be set up, where this exercise's mistakes show.
error_hint() {
	case ${1,,} in
	*"invalid argument"*)
		echo "EINVAL from the overlay mount: most often its workdir is on another filesystem than its upperdir (a tmpfs /tmp, say): put both in one directory of the container's own; the workdir must also be empty, and not inside upperdir, and upperdir on a filesystem overlay can write (not overlay itself, not NFS): 'sudo dmesg | tail' says which"
		;;
	*busy*)
		echo "EBUSY: the upper or work directory is in use by another container's overlay: each container needs its own (named after its PID, as the cgroup is)"
		;;
	*"not empty"*)
		echo "the container's directories still hold what it wrote (and overlay's work/work) when you rmdir them: remove them recursively (nftw with FTW_DEPTH), or keep them on a tmpfs mounted in the container's mount namespace, which goes with it"
		;;
	*"file exists"*)
		echo "the directory for this container's layer exists already: another running container uses it, or one that ended left it: name it after the container (its PID), and remove it when the container ends"
		;;
	*chroot*:*"no such file"* | *pivot_root*:*"no such file"*)
		echo "ROOTFS names layers here ('top:base'), which only overlay's lowerdir takes: mount the overlay first, and chroot (or pivot_root) into the directory it is mounted on"
		;;
	*"no such file"* | *"not a directory"*)
		echo "a directory is missing: the image's (ROOTFS names one directory, or layers topmost first, 'top:base', as overlay's lowerdir takes them), or the upper, work or merged directory: make them before the mount"
		;;
	*"no such device"* | *"unknown filesystem"*)
		echo "this kernel has no overlay filesystem loaded: sudo modprobe overlay"
		;;
	*) echo "see the error, and TUTORIAL.md's pitfalls of this exercise" ;;
	esac
}

# `start_layers CMD...`: start_ctr, with the hint if it could not be set up.
start_layers() {
	start_ctr "$@" && return 0
	stderr=$(<"$CTR_ERR")
	set_up
	return 1
}

# `fresh_image NAME`: a new copy of the root filesystem, with NAME in its
# /which-root; prints its path.
fresh_image() {
	local dir=$LAYER_DIR/$1
	rm -rf -- "$dir"
	mkdir -p -- "$LAYER_DIR"
	cp -a -x -- "$ROOTFS_DIR" "$dir"
	echo "$1" >"$dir/which-root"
	echo "$dir"
}

# `overlay_options MOUNTINFO`: the options of the overlay mounted at "/"
# (the topmost one), one a line: lowerdir=..., upperdir=..., workdir=...
overlay_options() {
	local line opt
	line=$(awk '$5 == "/" && / - overlay / { l = $0 } END { print l }' "$1")
	[[ -n $line ]] || return 1
	tr ',' '\n' <<<"${line##* }" | while IFS= read -r opt; do printf '%b\n' "$opt"; done
}

# `root_is_overlay PID`: the command PID's "/" is an overlay, or fail.
root_is_overlay() {
	local root
	overlay_options "/proc/$1/mountinfo" >/dev/null && return 0
	root=$(awk '$5 == "/" { l = $0 } END { sub(/.* - /, "", l); print l }' "/proc/$1/mountinfo")
	fail "inside, / is no overlay (${root:-no mount at all, a plain directory}): the container writes straight into the image: $NO_OVERLAY"
}

@test "exercise layers: inside, / is an overlay of the image ROOTFS names (spaces and all), with an upper layer to write to" {
	other_root
	ROOTFS=$OTHER_ROOT start_layers sh -c 'echo "which: $(cat /which-root)"; exec sleep 30' || return
	wait_output "which: other" || fail "inside, / is not the image ROOTFS names ($OTHER_ROOT): give that directory to overlay as its lowerdir" || return
	root_is_overlay "$CMD_PID" || return
	overlay_options "/proc/$CMD_PID/mountinfo" | grep -q '^upperdir=' ||
		fail "the overlay at / has no upperdir: it is read-only: give it an upperdir and a workdir, new for each container" || return
	stop_ctr
}

# `manifest DIR`: every entry of DIR: its type, mode, owner, size, time.
manifest() {
	find "$1" -printf '%P %y %m %U:%G %s %T@ %l\n' | sort
}

@test "exercise layers: files written, changed, moved or deleted inside leave the image as it was, and the next container starts from it again" {
	local img changes
	img=$(fresh_image written)
	manifest "$img" >"$BATS_TEST_TMPDIR/before"
	ROOTFS=$img run_ctr sh -c 'echo new >/new-file && echo more >>/etc/passwd && chmod 600 /etc/group &&
		mv /etc/hostname /etc/hostname.moved && rm /bin/vi && rm -r /usr/sbin && mkdir /new-dir &&
		echo "written: $(tail -n 1 /etc/passwd) $(cat /new-file)"'
	set_up || return
	assert_line "written: more new" ||
		fail "inside, the command could not change its files: is / read-only? Give the overlay an upperdir and a workdir" || return
	manifest "$img" >"$BATS_TEST_TMPDIR/after"
	changes=$(diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" | grep '^[<>]' | cut -d' ' -f2 | sort -u | head -n 8 | tr '\n' ' ')
	[ -z "$changes" ] ||
		fail "the container's writes changed the image ($img): $changes: no overlay? $NO_OVERLAY" || return
	# The repository's rootfs/, as well.
	run_ctr sh -c "echo x >/written-$TOKEN"
	set_up || return
	if [[ -e $ROOTFS_DIR/written-$TOKEN ]]; then
		rm -f -- "$ROOTFS_DIR/written-$TOKEN"
		fail "a file the container wrote is in $ROOTFS_DIR: $NO_OVERLAY"
		return
	fi
	ROOTFS=$img run_ctr sh -c 'for f in /new-file /bin/vi; do if [ -e $f ]; then echo "$f: there"; fi; done'
	set_up || return
	refute_line "/new-file: there" ||
		fail "the next container on the same image sees the first one's /new-file: its upper directory was kept and used again: make a new, empty one for each container, and remove it when the container ends" || return
	assert_line "/bin/vi: there" ||
		fail "the next container on the same image misses /bin/vi, which the first one deleted: its upper directory (with the whiteout) was kept and used again: make a new one for each container"
}

@test "exercise layers: two containers at once, on one image, do not see each other's files" {
	local img
	img=$(fresh_image shared)
	ROOTFS=$img start_layers sh -c 'echo a >/from-a; echo ready; exec sleep 30' || return
	wait_output ready || return
	root_is_overlay "$CMD_PID" || return
	[[ -e /proc/$CMD_PID/root/from-a ]] || fail "the first container cannot see its own /from-a" || return
	ROOTFS=$img run_ctr sh -c 'if [ -e /from-a ]; then echo "b sees a"; fi; echo b >/from-b'
	set_up || return
	local shared="the two containers share one upper directory, so each sees what the other writes: make one for each container (named after its PID, as the cgroup is), with its own work directory"
	refute_line "b sees a" || fail "the second container sees the first one's /from-a: $shared" || return
	[[ ! -e /proc/$CMD_PID/root/from-b ]] || fail "the first container sees the second one's /from-b: $shared" || return
	stop_ctr
}

# `layer_dirs`: the host's paths of the running container's upper and
# work directories, and of its merged directory (the overlay's mount
# point, where its mount namespace shows it from the host's root), each
# on a line "upperdir PATH", "workdir PATH", "merged PATH".
layer_dirs() {
	local opts key dir cwd
	opts=$(overlay_options "/proc/$CMD_PID/mountinfo") || return 1
	cwd=$(readlink "/proc/$CTR_PID/cwd")
	for key in upperdir workdir; do
		dir=$(sed -n "s/^$key=//p" <<<"$opts")
		[[ -z $dir || $dir == /* ]] || dir=$cwd/$dir
		[[ -z $dir ]] || echo "$key $dir"
	done
	nsenter -t "$CMD_PID" -m cat /proc/self/mountinfo 2>/dev/null |
		awk '$5 != "/" && / - overlay / { print $5 }' | while IFS= read -r dir; do printf 'merged %b\n' "$dir"; done
}

# `ancestors PATH`: PATH and each directory above it, but /.
ancestors() {
	local path=$1
	while [[ -n $path ]]; do
		echo "$path"
		path=${path%/*}
	done
}

# `gone RUN`: after container RUN ended, its directories are gone.
gone() {
	local what dir
	while read -r what dir; do
		[[ -e $dir ]] || continue
		case $what in
		upperdir) fail "after the container ended, its upper directory $dir is still there$([[ -e $dir/probe ]] && echo ", with the file it wrote"): remove it when the container ends (all of it: rm -r), and its work directory" ;;
		workdir) fail "after the container ended, its work directory $dir is still there: remove it when the container ends (overlay leaves a directory work/work of mode 000 in it: rm -r)" ;;
		*) fail "after the container ended, its merged directory $dir (the overlay's mount point) is still there: remove it when the container ends" ;;
		esac
		return
	done <"$BATS_TEST_TMPDIR/dirs.$1"
}

@test "exercise layers: when the container ends, its upper, work and merged directories are gone, and nothing made for them is left" {
	local img run dir
	img=$(fresh_image gone)
	for run in 1 2; do
		ROOTFS=$img start_layers sh -c 'echo probe >/probe; echo ready; exec sleep 30' || return
		wait_output ready || return
		root_is_overlay "$CMD_PID" || return
		layer_dirs >"$BATS_TEST_TMPDIR/dirs.$run"
		# The first ends by SIGTERM to the container program, the second
		# as its command exits.
		if ((run == 1)); then
			stop_ctr || return
		else
			kill -TERM "$CMD_PID"
			wait_ctr || return
		fi
		gone "$run" || return
		while read -r _ dir; do ancestors "$dir"; done <"$BATS_TEST_TMPDIR/dirs.$run" | sort -u >"$BATS_TEST_TMPDIR/made.$run"
		# What is still there, of the directories above them.
		while read -r dir; do [[ ! -e $dir ]] || echo "$dir"; done <"$BATS_TEST_TMPDIR/made.$run" >"$BATS_TEST_TMPDIR/left.$run"
	done
	# A directory above them that one container had and the other did not
	# was made for it, and must go with it.
	local left
	left=$({
		comm -23 "$BATS_TEST_TMPDIR/left.1" "$BATS_TEST_TMPDIR/made.2"
		comm -23 "$BATS_TEST_TMPDIR/left.2" "$BATS_TEST_TMPDIR/made.1"
	} | tr '\n' ' ')
	[ -z "$left" ] ||
		fail "after the containers ended, what was made for them is still there: $left: remove the directory of the container's own too"
}

# The two layers of an image: base, a copy of the root filesystem with
# files for the top layer to delete or hide; and top, which changes
# /which-root, adds /etc/added, deletes /doomed and /doomed-dir, and
# makes /opaque opaque (the base's /opaque/old is hidden).  `top_layer
# DIR overlay` writes its deletions as overlay takes them (whiteouts:
# character devices 0/0; the xattr trusted.overlay.opaque=y); `top_layer
# DIR oci` as an OCI layer does (empty files .wh.NAME, .wh..wh..opq).
base_layer() {
	local dir
	dir=$(fresh_image base)
	echo doomed >"$dir/doomed"
	mkdir "$dir/doomed-dir" "$dir/opaque"
	echo x >"$dir/doomed-dir/x"
	echo old >"$dir/opaque/old"
	echo "$dir"
}

top_layer() {
	local dir=$1
	rm -rf -- "$dir"
	mkdir -p -- "$dir/etc" "$dir/opaque"
	echo top >"$dir/which-root"
	echo added >"$dir/etc/added"
	echo new >"$dir/opaque/new"
	if [[ $2 == overlay ]]; then
		mknod "$dir/doomed" c 0 0 && mknod "$dir/doomed-dir" c 0 0 &&
			setfattr -n trusted.overlay.opaque -v y "$dir/opaque"
	else
		touch "$dir/.wh.doomed" "$dir/.wh.doomed-dir" "$dir/opaque/.wh..wh..opq"
	fi
}

# What the container shows of the two layers.
STACK_SHOWS='echo "which: $(cat /which-root)"; echo "added: $(cat /etc/added 2>/dev/null)"
	for f in /doomed /doomed-dir /opaque/old /opaque/new; do
		if [ -c "$f" ]; then echo "$f: a device"; elif [ -e "$f" ]; then echo "$f: there"; else echo "$f: gone"; fi
	done'

stack_shown() {
	local stack="stack the layers with overlay: every one, topmost first, as its lowerdir (ROOTFS as it is: 'top:base'), which honours their whiteouts"
	refute_line "which: base" ||
		fail "the base layer's /which-root shows, not the top one's: the layers are in the wrong order: ROOTFS lists the topmost first, as overlay's lowerdir does" || return
	assert_line "which: top" || fail "inside, /which-root is not the top layer's: $stack" || return
	assert_line "added: added" || fail "the top layer's /etc/added is missing: $stack" || return
	local f
	for f in /doomed /doomed-dir; do
		refute_line "$f: a device" ||
			fail "the top layer's whiteout $f (a character device 0/0) shows as a file: the layers were copied into one, not stacked: $stack" || return
		assert_line "$f: gone" ||
			fail "the base layer's $f, which the top layer deletes, is there: whiteouts not honoured: $stack" || return
	done
	assert_line "/opaque/old: gone" ||
		fail "the base layer's /opaque/old shows through the top layer's opaque /opaque: $stack" || return
	assert_line "/opaque/new: there" || fail "the top layer's /opaque/new is missing: $stack"
}

@test "exercise layers: ROOTFS=top:base, an image of two layers: the top one's files win, its whiteouts delete the base's, its opaque directory hides the base's" {
	local base top=$LAYER_DIR/top
	base=$(base_layer)
	top_layer "$top" overlay
	ROOTFS="$top:$base" run_ctr sh -c "$STACK_SHOWS"
	set_up || return
	stack_shown
}

# `oci_layout LAYOUT DIR...`: an OCI image layout in LAYOUT, whose layers
# are the DIRs, base first, each as a gzip'd tarball; by hand, as the
# image specification describes it: each blob is named by its SHA-256.
oci_layout() {
	local layout=$1 dir blob layers='' diff_ids=''
	shift
	rm -rf -- "$layout"
	mkdir -p -- "$layout/blobs/sha256"
	for dir in "$@"; do
		tar -C "$dir" --numeric-owner -cf "$layout/layer" . || return
		diff_ids+=${diff_ids:+,}\"sha256:$(sha256sum <"$layout/layer" | cut -d' ' -f1)\"
		gzip -n "$layout/layer"
		blob=$(put_blob "$layout" "$layout/layer.gz")
		layers+=${layers:+,}$(printf '{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", %s}' "$blob")
	done
	printf '{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [%s]}}\n' "$diff_ids" >"$layout/config"
	blob=$(put_blob "$layout" "$layout/config")
	printf '{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", %s},\n  "layers": [\n    %s\n  ]\n}\n' \
		"$blob" "$layers" >"$layout/manifest"
	blob=$(put_blob "$layout" "$layout/manifest")
	printf '{\n  "schemaVersion": 2,\n  "manifests": [\n    {"mediaType": "application/vnd.oci.image.manifest.v1+json", %s}\n  ]\n}\n' "$blob" >"$layout/index.json"
	echo '{"imageLayoutVersion": "1.0.0"}' >"$layout/oci-layout"
}

# `put_blob LAYOUT FILE`: FILE becomes a blob; prints its digest and size.
put_blob() {
	local sum
	sum=$(sha256sum <"$2" | cut -d' ' -f1)
	mv -- "$2" "$1/blobs/sha256/$sum"
	printf '"digest": "sha256:%s", "size": %s' "$sum" "$(stat -c %s "$1/blobs/sha256/$sum")"
}

@test "exercise layers: make rootfs IMAGE=DIR unpacks an OCI image of two layers (whiteouts .wh.NAME, .wh..wh..opq) into layers the container stacks" {
	local base top=$LAYER_DIR/top-oci image=$LAYER_DIR/image
	base=$(base_layer)
	top_layer "$top" oci
	oci_layout "$LAYER_DIR/layout" "$base" "$top"
	LAST_CMD="make rootfs IMAGE=... IMAGE_DIR=..."
	capture env -u MAKEFLAGS -u MAKELEVEL make -s -C "$REPO" rootfs IMAGE="$LAYER_DIR/layout" IMAGE_DIR="$image"
	[ "$status" -eq 0 ] || fail "make rootfs IMAGE=$LAYER_DIR/layout failed: $stderr" || return
	[[ $(stat -c '%F %t:%T' "$image/2/doomed" 2>&1) == "character special file 0:0" ]] ||
		fail "common/unpack-image.sh did not make the OCI whiteout .wh.doomed an overlay whiteout, $image/2/doomed: $(stat -c %F "$image/2/doomed" 2>&1)" || return
	ROOTFS=$(<"$image/lowerdir") run_ctr sh -c "$STACK_SHOWS"
	set_up || return
	stack_shown
}
