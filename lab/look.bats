#!/usr/bin/env bats
# common/look.sh (make look): draws each running container as the host
# sees it.  Run: tests/run tests/look.bats (as root).
#
# tests/run runs bats in a UTS and a mount namespace of its own: here,
# "the host" is that namespace, not PID 1's.  The tool is told so
# (LOOK_HOST_PID=$$), and so draws only the containers these tests start,
# not those others may run on the machine meanwhile.
# stderr, stderr_lines: set by lib.bash's capture.
# shellcheck disable=SC2154

load ../tests/lib

setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: namespaces and cgroups (run: sudo tests/run tests/look.bats)"
	fi
	local step
	for step in step1-exec step3-pid step5-proc step7-cgroups; do
		[[ -x $REPO/$step/container ]] || fail "$REPO/$step/container: no such program (run make)" || return
	done
	[[ -e $ROOTFS_DIR/container-rootfs ]] || fail "no root filesystem at $ROOTFS_DIR (run: sudo make rootfs)" || return
	export FILE_SNAPSHOT=$BATS_FILE_TMPDIR/file
	snapshot "$FILE_SNAPSHOT"
}

# `look [PID]`: run the tool, as from a second terminal on this "host";
# every line it prints must fit 80 columns.
look() {
	capture env LOOK_HOST_PID=$$ "$REPO/common/look.sh" "$@"
	local line
	for line in "${lines[@]}" "${stderr_lines[@]}"; do
		((${#line} <= 80)) || fail "a line of ${#line} columns, more than 80: '$line'" || return
	done
}

# `start STEP CMD...`: start step STEP's program in the background.
# (Its commands sleep long: in an emulated VM, the tool takes seconds.)
start() {
	BIN=$REPO/$1/container
	shift
	start_ctr "$@"
}

# `has_line TEXT`: $output has the line TEXT, with runs of blanks as one.
has_line() {
	tr -s ' ' <<<"$output" | grep -qxF -- "$(tr -s ' ' <<<"$1")" ||
		fail "no line '$1' in the tool's output: $output"
}

# The namespaces of the container's first process $1: its own and the
# host's, by /proc/PID/ns (not by lsns, which the tool uses).
check_namespaces() {
	local kind own='' hosts=''
	for kind in uts pid mnt net ipc user cgroup; do
		if same_ns "$1" $$ "$kind"; then hosts+=" $kind"; else own+=" $kind"; fi
	done
	has_line "    own ${own:- (none)}"
	has_line "    host's ${hosts:- (none)}"
}

# One container, whose first process, $1, the container program started.
check_one_container() {
	[ "$status" -eq 0 ] || fail "exit status $status; stderr: $stderr"
	has_line "Container 1 of 1: process $1, started by process $CTR_PID"
	assert_equal "$(grep -c '^Container ' <<<"$output")" 1
}

@test "look: step 3: the chain with both PIDs, its own uts and pid namespaces, its hostname" {
	start step3-pid sleep 300
	local init
	init=$(ppid_of "$CMD_PID")
	look
	check_one_container "$init"
	has_line "    $BIN run sleep 300 (host $CTR_PID)"
	has_line "    \`- $BIN run sleep 300 (host $init, inside $(inner_pid "$init"))"
	has_line "       \`- sleep 300 (host $CMD_PID, inside $(inner_pid "$CMD_PID"))"
	[ "$(inner_pid "$CMD_PID")" = 2 ]
	check_namespaces "$init"
	has_line "    /: the host's"
	has_line "    container"
	has_line "    none: it shares the host's mount table"
	has_line "    the same as process $CTR_PID's: no limits of its own"
	stop_ctr
}

@test "look: step 5: its own root directory; no mount namespace yet" {
	start step5-proc sleep 300
	local init
	init=$(ppid_of "$CMD_PID")
	look
	check_one_container "$init"
	check_namespaces "$init"
	has_line "    $(readlink "/proc/$init/root"): its own"
	has_line "    none: it shares the host's mount table"
	stop_ctr
}

@test "look: step 7: mounts /proc and /mytemp, and the cgroup: 2 tasks of 20, 64 MiB, half a CPU" {
	start step7-cgroups sleep 300
	local init
	init=$(ppid_of "$CMD_PID")
	look
	check_one_container "$init"
	has_line "       \`- sleep 300 (host $CMD_PID, inside 2)"
	check_namespaces "$init"
	assert_line --regexp '^    /proc +proc +proc$'
	assert_line --regexp '^    /mytemp +tmpfs '
	local tasks
	tasks=$(cat "$(cgroup_file "$CMD_PID" pids.current)")
	assert_equal "$tasks" 2
	assert_line --regexp "^    tasks +$tasks of 20 +pids.current, pids.max$"
	assert_line --regexp '^    memory +[0-9.]+ MiB of 64.0 MiB '
	assert_line --regexp '^    CPU +0.50 of a CPU '
	assert_line --regexp '^    dir +/sys/fs/cgroup/.*container-'
	stop_ctr
}

@test "look: step 1: \`container run\` and its child, with no namespace of its own" {
	start step1-exec sleep 300
	look
	check_one_container "$CMD_PID"
	has_line "    $BIN run sleep 300 (host $CTR_PID)"
	has_line "    \`- sleep 300 (host $CMD_PID)"
	has_line "    own (none)"
	has_line "    host's uts pid mnt net ipc user cgroup"
	stop_ctr
}

@test "look PID: draws that process's container, from any of its processes" {
	start step3-pid sleep 300
	local init pid
	init=$(ppid_of "$CMD_PID")
	for pid in "$CMD_PID" "$init" "$CTR_PID"; do
		look "$pid"
		check_one_container "$init"
	done
	stop_ctr
}

@test "look: a long command line is cut to fit 80 columns" {
	start step3-pid sh -c 'sleep 300; exit 0' "$(printf 'a-long-argument-%s ' {1..12})"
	look
	assert_line --regexp "^       \`- sh -c sleep 300; exit 0 a-long-.*\.\.\. \(host $CMD_PID, inside 2\)$"
	stop_ctr
}

@test "look: no container running: says so, and how to start one; exit 0" {
	look
	assert_equal "$status" 0
	assert_line "No container is running.  Start one in another terminal:"
	assert_line "    sudo step3-pid/container run sh"
	assert_output --partial "make look PID=N"
}

@test "look: not root: exit 1, and says to run it with sudo" {
	capture setpriv --reuid=65534 --regid=65534 --clear-groups bash /proc/self/fd/8 8<"$REPO/common/look.sh"
	assert_equal "$status" 1
	assert_equal "$output" ""
	[[ $stderr == *"run as root"*sudo* ]] || fail "stderr: $stderr"
}

@test "look: a bad command line, or no such process: exit 2" {
	look x
	assert_equal "$status" 2
	[[ $stderr == usage:* ]] || fail "stderr: $stderr"
	look 999999999
	assert_equal "$status" 2
	[[ $stderr == *"no process 999999999"* ]] || fail "stderr: $stderr"
}
