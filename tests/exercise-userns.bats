#!/usr/bin/env bats
# Exercise "a user namespace" (TUTORIAL.md): root inside the container
# is an ordinary user outside, 100000, who may do nothing that only the
# host's root may; run by a user, the container runs all the same.
# Run: make test-exercise-userns [BIN=path/to/your/container]
# Every check below is harmless where it is NOT refused (a program with
# no user namespace runs it as the host's root): it makes a file and a
# device node in the root filesystem's /tmp, removed after, and writes a
# kernel setting its own current value.
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash; status, output, stderr are set by its capture.
# shellcheck disable=SC2016,SC2034,SC2154

load lib
load checks

# The host user the container's root is, as the TUTORIAL maps it.
MAPPED=100000

setup_file() {
	exercise_start_hint userns
	step_setup_file build/exercises/userns
}

# `error_hint LINE`: what to change, for the error line of a container
# that could not be set up, where this exercise's mistakes show.
error_hint() {
	local line=${1,,}
	case $line in
	*gid_map*"not permitted"*)
		echo "the kernel refuses gid_map: a process outside the new user namespace (the parent) writes it, and, run by a user, only after writing 'deny' to /proc/PID/setgroups"
		;;
	*uid_map*"not permitted"* | */setgroups*"not permitted"*)
		echo "the child cannot write its own maps to the host's IDs (its capabilities are its namespace's): the parent writes /proc/PID/uid_map and gid_map"
		;;
	*cgroup*"permission denied"* | *cgroup*"not permitted"*)
		echo "once root of its user namespace (user $MAPPED outside), the child may not write the cgroup's files, the host root's: the parent writes the child's PID to cgroup.procs"
		;;
	*set*id*"invalid argument"* | *setgroups*"not permitted"* | *setgroups*"invalid argument"*)
		echo "the child changed its IDs before its maps were written: it must wait (on a pipe, say) until the parent has written them"
		;;
	*"permission denied"*)
		echo "root inside is user $MAPPED on the host: it may not reach what only the host's root may (a root filesystem under a home of mode 0700, say)"
		;;
	*) echo "see the error, and TUTORIAL.md's pitfalls of this exercise" ;;
	esac
}

# `ids_of PID Uid|Gid`: the real, effective, saved and filesystem IDs
# of process PID, as the host numbers them.
ids_of() {
	awk -v key="$2:" '$1 == key { print $2, $3, $4, $5 }' "/proc/$1/status"
}

# `maps_root PID FILE`: process PID's map FILE (uid_map or gid_map) maps
# ID 0 inside to $MAPPED outside.
maps_root() {
	awk -v out="$MAPPED" '$1 == 0 && $2 == out { found = 1 } END { exit !found }' "/proc/$1/$2"
}

@test "exercise userns: root inside (id -u: 0) is user $MAPPED on the host, as the command's uid_map and gid_map say" {
	start_ctr sh -c 'echo "inside: uid $(id -u) gid $(id -g)"; exec sleep 30'
	wait_output --regexp '^inside: '
	local ids
	ids=$(ids_of "$CMD_PID" Uid)
	[[ $ids == "$MAPPED $MAPPED $MAPPED $MAPPED" ]] ||
		fail "from the host, the command's user IDs (real, effective, saved, filesystem) are $ids, expected $MAPPED: give it a user namespace (CLONE_NEWUSER) whose uid_map maps 0 to $MAPPED, and in the child become 0 (setresuid) once the map is written"
	ids=$(ids_of "$CMD_PID" Gid)
	[[ $ids == "$MAPPED $MAPPED $MAPPED $MAPPED" ]] ||
		fail "from the host, the command's group IDs are $ids, expected $MAPPED: map group 0 to $MAPPED in gid_map, and in the child become group 0 (setresgid)"
	maps_root "$CMD_PID" uid_map || fail "/proc/$CMD_PID/uid_map does not map 0 to $MAPPED: it reads: $(<"/proc/$CMD_PID/uid_map")"
	maps_root "$CMD_PID" gid_map || fail "/proc/$CMD_PID/gid_map does not map 0 to $MAPPED: it reads: $(<"/proc/$CMD_PID/gid_map")"
	grep -qx 'inside: uid 0 gid 0' "$CTR_OUT" ||
		fail "inside, the command should be root, uid 0 and gid 0, and is: $(<"$CTR_OUT") (65534 is 'nobody': an ID the namespace does not map)"
	stop_ctr
}

@test "exercise userns: from the host, the command has none of the host's groups" {
	# The tests' root may have no supplementary groups: the program
	# gets two of the host's, root (0) and adm (4), to drop.
	export USERNS_BIN=$BIN
	local wrapper=$BATS_TEST_TMPDIR/with-groups
	printf '#!/bin/sh\nexec setpriv --groups=0,4 "$USERNS_BIN" "$@"\n' >"$wrapper"
	chmod +x "$wrapper"
	BIN=$wrapper start_ctr sleep 30
	local groups group
	groups=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$CMD_PID/status")
	for group in $groups; do
		((group >= MAPPED)) ||
			fail "run with the host's groups 0 and 4, the command is still in group $group of the host (its groups: $groups): in the child, drop them, setgroups(0, NULL), once the maps are written" || return
	done
	stop_ctr
}

@test "exercise userns: a file the container makes belongs on the host to user $MAPPED" {
	local name=/tmp/userns-file-$TOKEN
	run_ctr sh -c "touch $name && echo made"
	local owner=
	[[ ! -e $ROOTFS_DIR$name ]] || owner=$(stat -c %u:%g "$ROOTFS_DIR$name")
	rm -f -- "$ROOTFS_DIR$name"
	assert_line made || fail "inside, touch $name failed (the root filesystem's /tmp is writable by all)"
	[[ $owner == "$MAPPED:$MAPPED" ]] ||
		fail "the file $name the container made belongs on the host to ${owner:-nobody: it is not in $ROOTFS_DIR/tmp} (user:group), expected $MAPPED:$MAPPED: the container's root must be user $MAPPED outside"
}

@test "exercise userns: root inside may not make a device node (mknod c 1 3 is refused)" {
	local name=/tmp/userns-null-$TOKEN
	run_ctr sh -c "mknod $name c 1 3 && echo made"
	local made=no
	[[ ! -e $ROOTFS_DIR$name ]] || made=yes
	rm -f -- "$ROOTFS_DIR$name"
	[[ $made == no ]] ||
		fail "root inside made a device node, $name (c 1 3, as /dev/null): only the host's root may, so the container's root is the host's: give it a user namespace (CLONE_NEWUSER)"
	[[ $stderr == *"not permitted"* ]] ||
		fail "mknod should have failed with 'Operation not permitted' (EPERM); stderr was: $stderr"
}

@test "exercise userns: root inside may not change a kernel setting (vm.swappiness to its own value is refused)" {
	[[ -e /proc/sys/vm/swappiness ]] || skip "this kernel has no vm.swappiness"
	run_ctr sh -c 'v=$(cat /proc/sys/vm/swappiness) && echo "$v" >/proc/sys/vm/swappiness && echo written'
	refute_line written ||
		fail "root inside wrote /proc/sys/vm/swappiness, a setting of the whole machine (its own value, so nothing changed): only the host's root may, so the container's root is the host's: give it a user namespace (CLONE_NEWUSER)"
	[[ $stderr == *"ermission denied"* ]] ||
		fail "the write should have failed with 'Permission denied' (EACCES); stderr was: $stderr"
}

# Why users may not make user namespaces here, if they may not: the
# settings by which kernels forbid it.
userns_forbidden() {
	local file=/proc/sys/kernel/unprivileged_userns_clone
	if [[ -r $file && $(<"$file") == 0 ]]; then
		echo "kernel.unprivileged_userns_clone is 0 (Debian's setting)"
	fi
	file=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
	if [[ -r $file && $(<"$file") == 1 ]]; then
		echo "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu's AppArmor setting)"
	fi
	file=/proc/sys/user/max_user_namespaces
	if [[ -r $file && $(<"$file") == 0 ]]; then
		echo "user.max_user_namespaces is 0"
	fi
}

@test "exercise userns: run by a user (nobody), the command is root inside, in a container named 'container'" {
	local why
	why=$(userns_forbidden)
	[[ -z $why ]] || skip "users may not make user namespaces on this machine: $why"
	# Nobody may not reach the root filesystem (under /root, say): then
	# no program could run there as nobody.
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$ROOTFS_DIR/bin/sh" ||
		skip "user nobody cannot reach $ROOTFS_DIR/bin/sh (a directory on its path is closed to others)"
	LAST_CMD="container run sh -c 'id -u; hostname' (as user nobody)"
	capture timeout -k 2 "$CTR_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env TEST_TOKEN="$TOKEN" /proc/self/fd/8 run sh -c 'echo "uid $(id -u)"; echo "hostname $(hostname)"' 8<"$BIN"
	local error hint="a user may map only his own IDs, '0 UID 1'"
	error=$(grep -i '^container: ' <<<"$stderr" | tail -n 1) || true
	case ${error,,} in
	*cgroup*) hint="a user may make no cgroup: go on without one (and say so on stderr)" ;;
	*gid_map*) hint="a user may write gid_map only after writing 'deny' to /proc/PID/setgroups, and only '0 GID 1', his own group" ;;
	*uid_map*) hint="a user may map only his own user ID: '0 UID 1' (UID outside: the user's)" ;;
	esac
	[ "$status" -eq 0 ] ||
		fail "run by user nobody, the container exited with status $status, expected 0: ${error:+$error: }$hint"
	assert_line "uid 0" || fail "run by user nobody, the command should be root inside (map 0 to the user's own ID, 65534)"
	assert_line "hostname container" || fail "run by user nobody, the hostname inside should be 'container'"
}

# `no_userns_for_users CMD...`: run CMD as user nobody in a user
# namespace of the test's own (identity-mapped, so nobody is 65534
# there too) where user.max_user_namespaces is 0: the host's setting
# stays as it is.  The inner bash is exec'ed only once the maps exist:
# a process that exec's unmapped loses its capabilities.
no_userns_for_users() {
	unshare -U bash -c 'until [[ -n $(</proc/self/uid_map) ]]; do sleep 0.05; done
		exec bash -c '\''echo 0 >/proc/sys/user/max_user_namespaces &&
			exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"'\'' _ "$@"' _ "$@" &
	local pid=$! i
	# Until unshare has made its namespace, these files are ours.
	for ((i = 0; i < 100; i++)); do
		[[ $(readlink "/proc/$pid/ns/user") == "$(readlink /proc/self/ns/user)" ]] || break
		sleep 0.05
	done
	if ! { echo "0 0 65536" >"/proc/$pid/gid_map" && echo "0 0 65536" >"/proc/$pid/uid_map"; }; then
		kill "$pid"
	fi
	wait "$pid"
}

@test "exercise userns: run by a user where user.max_user_namespaces is 0: exit 125, naming the setting" {
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$ROOTFS_DIR/bin/sh" ||
		skip "user nobody cannot reach $ROOTFS_DIR/bin/sh (a directory on its path is closed to others)"
	LAST_CMD="container run true (as user nobody, with user.max_user_namespaces 0)"
	capture timeout -k 2 "$CTR_TIMEOUT" bash -c "$(declare -f no_userns_for_users); no_userns_for_users \"\$@\"" _ \
		env TEST_TOKEN="$TOKEN" /proc/self/fd/8 run true 8<"$BIN"
	# Not expect_error: a line of its own may say there is no cgroup.
	[ "$status" -eq 125 ] ||
		fail "exit status $status, expected 125: where the kernel forbids users a user namespace, the container cannot be set up"
	grep -i '^container: ' <<<"$stderr" | grep -q max_user_namespaces ||
		fail "no error line 'container: ...' names the setting that forbids it, user.max_user_namespaces: say which settings may (a failed clone() cannot tell)"
}
