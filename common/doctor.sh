#!/usr/bin/env bash
# `make doctor`: can this machine run the lesson?  One line per check, OK or
# FAIL, and for each FAIL what to do; exit status 1 if anything failed.  Safe
# to run anywhere: it changes nothing it does not undo.  usage: doctor.sh REPO
set -uo pipefail

repo=${1:-.}
failed=0
ok() { printf 'OK    %-12s %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %-12s %s\n' "$1" "$2"; failed=1; }
# `check NAME OK-TEXT FAIL-TEXT CMD...`: OK or FAIL, as CMD succeeds or not.
check() { if "${@:4}"; then ok "$1" "$2"; else fail "$1" "$3"; fi; }
is_root() { [[ $(id -u) -eq 0 ]]; }
have() { command -v "$1" >/dev/null; }

check_kernel() {
	local release major minor
	release=$(uname -r)
	IFS=. read -r major minor _ <<<"$release"
	check kernel "Linux $release" \
		"Linux $release is older than 4.6 (cgroup v2, pids controller): use a newer distribution or VM" \
		test $((major > 4 || (major == 4 && minor >= 6))) -eq 1
}

# Where namespaces cannot be made, say why rather than only that it fails.
where_are_we() {
	if ! is_root; then
		echo "run as root (sudo make doctor)"
	elif grep -qi microsoft /proc/version 2>/dev/null && ! grep -q microsoft-standard /proc/version; then
		echo "this is WSL1, which has no real Linux kernel: use WSL2 or a VM"
	elif ((!root_mount)); then
		echo "/ is not a mount point (see 'root mount' above)"
	elif [[ -e /.dockerenv || -e /run/.containerenv ]] ||
		grep -qE 'docker|containerd|kubepods|libpod' /proc/1/cgroup 2>/dev/null; then
		echo "in a container? run it with --privileged (or use a VM)"
	else
		echo "run as root, outside any container"
	fi
}

# Steps 6 and 7 make "/" private, which the kernel refuses (EINVAL) where
# "/" is not a mount point: in a plain chroot.  The mount table may list a
# bind mount of / onto itself made inside one, so as root, ask the kernel
# the way step 6 does, in a mount namespace of our own.
root_mount=1
root_is_mount() {
	local why
	mountpoint -q / || return 1
	is_root || return 0
	why=$(unshare --mount --propagation private true 2>&1) && return 0
	[[ $why != *"Invalid argument"* ]] # any other failure is the namespaces check's
}

check_namespaces() {
	local why
	if ! have unshare; then
		fail namespaces "unshare not found: install util-linux"
	elif why=$(unshare --uts --pid --mount --fork --mount-proc true 2>&1); then
		ok namespaces "UTS, PID and mount namespaces can be created"
	else
		fail namespaces "cannot create namespaces (${why##*: }): $(where_are_we)"
	fi
}

check_propagation() {
	((root_mount)) || return 0
	local propagation
	propagation=$(findmnt -no PROPAGATION / 2>/dev/null || echo unknown)
	case $propagation in
	shared*) ok propagation "/ is shared, as systemd mounts it: step 6 makes it private inside the container" ;;
	private*) ok propagation "/ is private: step 6's point shows only under systemd (its tests simulate it)" ;;
	*) ok propagation "/ is $propagation" ;;
	esac
}

# Try the limits for real, as step 7 sets them: make a cgroup, write them,
# remove it.
probe_v2() {
	local root=$1 dir=$1/$2 result=0 c
	for c in pids memory cpu; do echo "+$c" >"$root/cgroup.subtree_control" 2>/dev/null || return 1; done
	mkdir "$dir" 2>/dev/null || return 1
	{ echo 20 >"$dir/pids.max" && echo 64M >"$dir/memory.max" &&
		echo "50000 100000" >"$dir/cpu.max"; } 2>/dev/null || result=1
	rmdir "$dir"
	return "$result"
}

probe_v1() {
	local root=$1 name=$2 result=0 c
	for c in pids memory cpu; do mkdir "$root/$c/$name" 2>/dev/null || result=1; done
	((result == 0)) && { echo 20 >"$root/pids/$name/pids.max" &&
		echo 64M >"$root/memory/$name/memory.limit_in_bytes" &&
		echo 50000 >"$root/cpu/$name/cpu.cfs_quota_us"; } 2>/dev/null || result=1
	for c in pids memory cpu; do rmdir "$root/$c/$name" 2>/dev/null; done
	return "$result"
}

check_cgroups() {
	local root=/sys/fs/cgroup layout probe=probe_v1 why status=0
	case $(stat -f -c %T "$root" 2>/dev/null) in
	cgroup2fs) layout="v2" probe=probe_v2 ;;
	tmpfs)
		layout=v1
		[[ $(stat -f -c %T "$root/unified" 2>/dev/null) != cgroup2fs ]] || layout="v1 (hybrid)"
		;;
	*)
		fail cgroups "nothing mounted at $root: mount cgroupfs (or use a distribution that does)"
		return
		;;
	esac
	is_root || { fail cgroups "$layout; whether limits can be set needs root (run: sudo make doctor)"; return; }
	# Docker and Podman on cgroup v2: see cgroup-setup.sh.
	why=$("$repo/common/cgroup-setup.sh" --check) || status=$?
	if ((status == 1)); then
		fail cgroups "$layout: $why. Run 'sudo make cgroup-setup' ('make test' and 'make run' do it first): it moves those processes into $root/init, then enables pids, memory and cpu. Or restart the container with --cgroupns=host"
		return
	fi
	((status == 0)) || { fail cgroups "$layout: $why"; return; }
	[[ $layout != v2 || ! -e $root/cgroup.type ]] || layout="v2, a container's cgroup namespace"
	if "$probe" "$root" "doctor-$$"; then
		ok cgroups "$layout: pids, memory and cpu limits can be set"
	elif findmnt -no OPTIONS "$root" 2>/dev/null | grep -qE '(^|,)ro(,|$)'; then
		fail cgroups "$layout: $root is read-only: in a container? run it with --privileged (or use a VM)"
	else
		fail cgroups "$layout: cannot set pids, memory and cpu limits: run as root, outside any container, or in a VM"
	fi
}

# Cgroups that containers killed with SIGKILL left behind: harmless, but
# they pile up.
check_stale_cgroups() {
	local stale
	stale=$("$repo/common/clean-cgroups.sh" --list 2>/dev/null | wc -l)
	((stale == 0)) ||
		ok cgroups "$stale cgroup(s) left by containers killed with SIGKILL (sudo make clean-cgroups removes them)"
}

static_busybox() { [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1; }

check_tools() {
	check busybox "static /bin/busybox, for the root filesystem" \
		"no static /bin/busybox (run: sudo apt-get install busybox-static)" static_busybox
	# What the workshop runs besides the steps: the tests (bats 1.5 or later,
	# pinned from npm where the release's is older, and its two libraries),
	# make trace-stepN (strace), the exercises' builds (patch).  make
	# installs them when missing: better before the day.
	local tool pinned=$repo/build/pinned-bats version
	if [[ -f $pinned/pins ]]; then
		ok bats "$("$pinned/bats/bin/bats" --version), pinned (common/bats.sh)"
	else
		version=$(bats --version 2>/dev/null) || version="not found"
		check bats "$version" "$version: make test needs bats 1.5 or later (run: sudo make test-env)" \
			test "$(printf '1.5\n%s\n' "${version#Bats }" | sort -V | head -n 1)" = 1.5
	fi
	for tool in strace patch; do
		check "$tool" "$("$tool" --version 2>&1 | head -n 1)" \
			"not found (run: sudo apt-get install $tool)" have "$tool"
	done
	check ip "$(ip -V 2>&1)" \
		"not found, for the exercise 'a cable to the host' (run: sudo apt-get install iproute2)" have ip
	for tool in bats-support bats-assert; do
		check "$tool" "for make test" "not found, needed by make test (run: sudo make test-env)" \
			test -f "/usr/lib/bats/$tool/load.bash" -o -f "$pinned/$tool/load.bash"
	done
	# Steps 1 to 3 run the host's ps, in the container and beside it.
	check ps "$(ps --version 2>&1 | head -n 1)" \
		"ps not found, used from step 1 on and by make test (run: sudo apt-get install procps)" have ps
	# The compiler make builds the steps with: it says (make doctor); run by
	# hand, the Makefile's default: musl-gcc if installed, else $CC.
	local cc=${CONTAINER_CC:-$(command -v musl-gcc || echo "${CC:-cc}")}
	if have "$cc" && have make; then
		ok compiler "${cc##*/}: $("$cc" --version | head -n 1)"
		if [[ $cc == *musl* ]]; then
			ok libc "musl: make builds the programs with it"
		else
			ok libc "the system's (musl, from musl-tools, starts faster in a VM; make uses it when installed)"
		fi
		# The Makefile's choice (make doctor passes it): static where it can link so.
		if [[ ${LDFLAGS--static} == *-static* ]]; then
			ok linking "static: the programs need nothing but the kernel"
		else
			ok linking "dynamic (${cc##*/} has no static C library, or LDFLAGS said so): make copies the tests' helpers' loader and libraries into rootfs/; for static programs, install one (Fedora: glibc-static) or musl-gcc"
		fi
	else
		fail compiler "make and a C compiler are needed (run: sudo apt-get install make gcc)"
	fi
	check rootfs "$repo/rootfs" "not built yet (run: sudo make rootfs)" test -e "$repo/rootfs/container-rootfs"
}

# The exercise "a user namespace" runs its container as an ordinary user
# too: kernels can forbid that with one of three settings.
check_userns() {
	# SETTING:BAD:FIX: Linux's own, Debian's, Ubuntu's (AppArmor).
	local setting bad fix value
	for setting in user.max_user_namespaces:0:10000 kernel.unprivileged_userns_clone:0:1 \
		kernel.apparmor_restrict_unprivileged_userns:1:0; do
		IFS=: read -r setting bad fix <<<"$setting"
		value=$(sysctl -n "$setting" 2>/dev/null) || continue
		if [[ $value == "$bad" ]]; then
			fail userns "$setting is $value: an ordinary user cannot make a user namespace (exercise 'a user namespace'; run: sudo sysctl -w $setting=$fix)"
			return
		fi
	done
	ok userns "an ordinary user may make user namespaces (exercise 'a user namespace')"
}

check root "running as root" \
	"not root: namespaces, mounts and cgroups need it (run: sudo make doctor)" is_root
check_kernel
check_userns
root_is_mount || root_mount=0
check "root mount" "/ is a mount point: step 6 can make it private" \
	"/ is not a mount point (in a chroot?): step 6 cannot make it private; enter the chroot through a bind mount of its directory onto itself: mount --rbind DIR DIR; chroot DIR (doing it from inside does not help)" \
	test "$root_mount" -eq 1
check_namespaces
check_propagation
check_cgroups
check_stale_cgroups
check_tools
if ((failed)); then
	echo "Some checks failed: see the advice above."
	exit 1
fi
echo "All set for the lesson."
