# The checks, one function each.  A step's test file calls the checks of
# its own feature, and one check per earlier step ("so far"), so that
# `make test-stepN` alone proves the whole container up to step N.
# shellcheck shell=bash
# status, output, lines, stderr, stderr_lines: set by bats's `run`.
# shellcheck disable=SC2154
# Commands for the shell inside the container are in single quotes.
# shellcheck disable=SC2016

# ---- step 1: run a command -------------------------------------------------

check_echo_hello() {
	run_ctr echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ] # stdout is the command's alone
	[[ ${stderr_lines[0]} == "Running [echo hello]"* ]]
	[ "${stderr_lines[-1]}" = "== Finished ==" ]
}

check_exit_status() {
	run_ctr sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run_ctr true
	[ "$status" -eq 0 ]
}

check_signal_status() {
	run_ctr sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
	run_ctr sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
}

check_not_found() {
	run_ctr -127 no-such-command-here
	[ "$status" -eq 127 ]
	[[ $stderr == *"container: no-such-command-here: No such file or directory"* ]]
}

check_cannot_exec() {
	run_ctr /etc/passwd
	[ "$status" -eq 126 ]
	[[ $stderr == *"/etc/passwd"*"Permission denied"* ]]
	run_ctr /
	[ "$status" -eq 126 ]
}

check_usage() {
	local args
	for args in "" "walk" "run"; do
		# shellcheck disable=SC2086 # word splitting is the point
		run --separate-stderr ctr $args
		[ "$status" -eq 2 ]
		[[ $stderr == *"usage: container run COMMAND [ARG...]"* ]]
	done
}

check_stdin_passes() {
	run --separate-stderr bash -c 'printf "one\ntwo\n" | "$0" run cat' "$BIN"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\ntwo')" ]
}

check_default_path() {
	run --separate-stderr env -u PATH "$BIN" run sh -c 'echo "$PATH"'
	[ "$status" -eq 0 ]
	[ "$output" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ]
	PATH=/bin:/opt/x run_ctr sh -c 'echo "$PATH"'
	[ "$output" = /bin:/opt/x ]
}

check_descends_from_container() {
	start_ctr sleep 30
	# What `ps -ef` shows: the command under the container program.
	descends_from "$CMD_PID" "$CTR_PID"
	run ps -o args= -p "$CTR_PID"
	[[ $output == *"run sleep 30"* ]]
	stop_ctr
}

# ---- step 2: hostname ------------------------------------------------------

check_hostname_inside() {
	run_ctr hostname
	[ "$status" -eq 0 ]
	[ "$output" = container ]
}

check_hostname_change_stays_inside() {
	run_ctr sh -c 'hostname other && hostname'
	[ "$status" -eq 0 ]
	[ "$output" = other ]
	[ "$(hostname)" = "$HOST_HOSTNAME" ]
}

check_uts_from_host() {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ uts
	[ "$(hostname)" = "$HOST_HOSTNAME" ]
	stop_ctr
}

# ---- step 3: PID namespace -------------------------------------------------

check_narration_pids() {
	start_ctr sleep 30
	grep -qx "Running \[sleep 30\] as PID $CTR_PID" "$CTR_ERR"
	grep -qx "Running \[sleep 30\] as PID 1" "$CTR_ERR"
	stop_ctr
}

check_parent_is_pid1() {
	run_ctr sh -c 'echo $PPID'
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

check_pid_ns_from_host() {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ pid
	# NSpid: the same process's PID in each namespace, host first.
	run awk '/^NSpid:/ { print $2, $NF }' "/proc/$CMD_PID/status"
	[ "$output" = "$CMD_PID 2" ]
	stop_ctr
}

check_orphans_reaped() {
	# The subshell exits at once, orphaning its sleep, which the
	# container's PID 1 inherits; when it ends, PID 1 must reap it.
	start_ctr sh -c '(sleep 0.2 &); exec sleep 30'
	sleep 1
	run ps -e -o pid=,ppid=,stat=,comm=
	local zombies
	zombies=$(awk '$3 ~ /^Z/ { print $1 }' <<<"$output")
	local z
	for z in $zombies; do
		refute descends_from "$z" "$CTR_PID"
	done
	stop_ctr
}

check_signal_forwarded() {
	local sig=$1 num=$2
	start_ctr sleep 30
	stop_ctr "$sig"
	[ "$status" -eq $((128 + num)) ]
	grep -qx "== Finished ==" "$CTR_ERR"
	refute kill -0 "$CMD_PID" 2>/dev/null
}

# ---- step 4: root filesystem ------------------------------------------------

check_root_is_rootfs() {
	run_ctr ls /
	[ "$status" -eq 0 ]
	[[ $output == *container-rootfs* ]]
	run_ctr cat /etc/os-release
	[[ $output == *'NAME="containers-from-scratch'* ]]
}

check_host_files_hidden() {
	run_ctr ls "$REPO"
	[ "$status" -ne 0 ]
	run_ctr test -e "$BATS_TEST_FILENAME"
	[ "$status" -eq 1 ]
}

check_cmd_found_inside() {
	# bash is on the host, not in the busybox root filesystem.
	run_ctr -127 bash -c true
	[ "$status" -eq 127 ]
	[[ $stderr == *"container: bash: No such file or directory"* ]]
}

check_root_from_host() {
	start_ctr sleep 30
	[ "$(readlink "/proc/$CMD_PID/root")" = "$(readlink -f "$ROOTFS_DIR")" ]
	stop_ctr
}

check_missing_rootfs() {
	ROOTFS=/nonexistent run_ctr true
	[ "$status" -eq 125 ]
	[[ $stderr == *"chroot /nonexistent: No such file or directory (run 'make rootfs' or set ROOTFS)"* ]]
}

check_rootfs_env() {
	# ROOTFS picks another root filesystem, even one whose path has a space.
	local alt="$BATS_TEST_TMPDIR/other root"
	mkdir -p "$alt"
	cp -a "$ROOTFS_DIR/." "$alt/"
	echo other >"$alt/which-root"
	ROOTFS=$alt run_ctr cat /which-root
	rm -rf "$alt"
	[ "$status" -eq 0 ]
	[ "$output" = other ]
}

# ---- step 5: /proc ----------------------------------------------------------

check_ps_only_container() {
	run_ctr ps -o pid,comm
	[ "$status" -eq 0 ]
	# A header, PID 1 (the container's init), and ps: nothing of the host.
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} =~ ^\ *1\ + ]]
	[[ ${lines[2]} =~ \ ps$ ]]
}

check_ps_pids_from_host() {
	start_ctr sh -c 'ps -o pid,args; exec sleep 30'
	wait_output "sh -c ps"
	# Inside, ps numbers the command 2...
	grep -Eq '^ *2 +sh -c ps' "$CTR_OUT"
	# ...a process the host knows by a PID of its own.
	[ "$(awk '/^NSpid:/ { print $2, $NF }' "/proc/$CMD_PID/status")" = "$CMD_PID 2" ]
	stop_ctr
}

check_no_mount_after() {
	local how=$1
	start_ctr sleep 30
	case $how in
	exit) kill -TERM "$CMD_PID"; wait_ctr ;;
	sigterm) stop_ctr TERM ;;
	sigint) stop_ctr INT ;;
	esac
	[ -z "$(host_mounts_under "$ROOTFS_DIR")" ]
}

# ---- step 6: mount namespace -------------------------------------------------

check_mounts_invisible() {
	start_ctr sleep 30
	[ -z "$(host_mounts_under "$ROOTFS_DIR")" ]
	# ...while the container does have them.
	run awk '$5 == "/proc" || $5 == "/mytemp" { print $5 }' "/proc/$CMD_PID/mountinfo"
	[ "$output" = "$(printf '/proc\n/mytemp')" ]
	stop_ctr
}

check_mounts_invisible_shared_root() {
	# Like systemd: "/" and every mount below it shared.  Without
	# MS_PRIVATE the container's mounts would propagate back here.
	local out=$BATS_TEST_TMPDIR/shared.out
	run --separate-stderr unshare -m --propagation shared bash -c '
		findmnt -no PROPAGATION / | grep -qx shared || { echo "/ is not shared"; exit 2; }
		CFS_TEST_TOKEN=$3 "$1" run sh -c "echo ready; exec sleep 30" >"$4" 2>/dev/null &
		for ((i = 0; i < 100; i++)); do grep -qs ready "$4" && break; sleep 0.05; done
		mounts=$(awk -v dir="$2" "index(\$5, dir \"/\") == 1 { print \$5 }" /proc/self/mountinfo)
		kill -TERM $!
		wait $!
		echo "${mounts:-none}"' _ "$BIN" "$ROOTFS_DIR" "$TOKEN" "$out"
	[ "$status" -eq 0 ]
	[ "$output" = none ]
}

check_mytemp_tmpfs() {
	run_ctr sh -c 'echo hi >/mytemp/file && cat /mytemp/file && grep " /mytemp " /proc/mounts'
	# Without the tmpfs the file lands in the root filesystem: note it,
	# and remove it so that it does not linger for the next test.
	local landed=0
	[ ! -e "$ROOTFS_DIR/mytemp/file" ] || { landed=1; rm -f "$ROOTFS_DIR/mytemp/file"; }
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hi ]
	[[ ${lines[1]} == *" /mytemp tmpfs "* ]]
	[ "$landed" -eq 0 ]
}

# ---- step 7: cgroups ---------------------------------------------------------

check_cgroup_limits() {
	start_ctr sleep 30
	[ "$(cat "$(cgroup_file "$CMD_PID" pids.max)")" = 20 ]
	local mem cpu
	if mem=$(cgroup_file "$CMD_PID" memory.max 2>/dev/null); then
		[ "$(cat "$mem")" = 67108864 ]
		cpu=$(cgroup_file "$CMD_PID" cpu.max)
		[ "$(cat "$cpu")" = "50000 100000" ]
	else
		[ "$(cat "$(cgroup_file "$CMD_PID" memory.limit_in_bytes)")" = 67108864 ]
		[ "$(cat "$(cgroup_file "$CMD_PID" cpu.cfs_quota_us)")" = 50000 ]
		[ "$(cat "$(cgroup_file "$CMD_PID" cpu.cfs_period_us)")" = 100000 ]
	fi
	stop_ctr
}

check_fork_bomb_held() {
	start_ctr forkloop 3
	local current
	current=$(cgroup_file "$CMD_PID" pids.current)
	wait_output "then fork"
	grep -q "then fork: Resource temporarily unavailable" "$CTR_OUT"
	[ "$(cat "$current")" -eq 20 ]
	wait_ctr
	[ "$status" -eq 0 ]
}

check_memory_hog_killed() {
	run_ctr memhog 16
	[ "$status" -eq 0 ]
	[ "$output" = "memhog: touched 16 MiB" ]
	run_ctr memhog 256
	[ "$status" -eq 137 ] # SIGKILL, from the OOM killer
}

check_half_a_cpu() {
	start_ctr sh -c 'cpuburn 2; exec sleep 30'
	wait_output "cpuburn:"
	local pct stat periods throttled
	pct=$(sed -n 's/^cpuburn: \([0-9]*\)% of a CPU$/\1/p' "$CTR_OUT")
	stat=$(cgroup_file "$CMD_PID" cpu.stat)
	periods=$(awk '$1 == "nr_periods" { print $2 }' "$stat")
	throttled=$(awk '$1 == "nr_throttled" { print $2 }' "$stat")
	echo "cpuburn got $pct% of a CPU; throttled in $throttled of $periods periods" >&2
	stop_ctr
	# At most half a CPU, with slack for accounting; and the kernel
	# enforced a quota (nr_periods counts its periods).  On an idle
	# machine it also throttled; on a busy one the burner may not have
	# reached the quota, so that is not required.
	[ "$pct" -le 60 ]
	[ "$periods" -gt 0 ]
}

check_cgroup_gone_after() {
	local how=$1 dirs
	start_ctr sleep 30
	# The container's own cgroups: those the test itself is not in.
	dirs=$(comm -23 <(cgroup_dirs_of "$CMD_PID" | sort) <(cgroup_dirs_of $$ | sort))
	[ -n "$dirs" ]
	case $how in
	exit) kill -TERM "$CMD_PID"; wait_ctr ;;
	sigterm) stop_ctr TERM ;;
	sigkill-command) kill -KILL "$CMD_PID"; wait_ctr; [ "$status" -eq 137 ] ;;
	esac
	local dir
	for dir in $dirs; do
		[ ! -e "$dir" ]
	done
}

check_two_containers() {
	start_ctr sleep 30
	local first_pid=$CTR_PID first_cmd=$CMD_PID
	TOKEN=$TOKEN-b
	start_ctr sleep 30
	[ "$(cgroup_dirs_of "$first_cmd")" != "$(cgroup_dirs_of "$CMD_PID")" ]
	stop_ctr
	CTR_PID=$first_pid
	TOKEN=${TOKEN%-b}
	stop_ctr
}
