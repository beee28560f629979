#!/usr/bin/env bats
# Step 7: a cgroup: limits on processes, memory and CPU.
# Run: make test-step7 [BIN=path/to/your/container]
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash.
# shellcheck disable=SC2016,SC2034

load lib
load checks

setup_file() { step_setup_file step7-cgroups; }

# `limit_is PID FILE VALUE [WHY]`: the cgroup file FILE of process PID
# holds VALUE.
limit_is() {
	local file
	file=$(cgroup_file "$1" "$2") || fail "the command is in no cgroup with a $2 file: join the container's cgroup (write to cgroup.procs)" || return
	assert_equal "$(<"$file")" "$3" || fail "$file should hold $3${4:+: $4}"
}

@test "step 7: from the host, the command's cgroup limits it to 20 tasks, 64 MiB and half a CPU" {
	start_ctr sleep 30
	[ -n "$(own_cgroups_of "$CMD_PID")" ] || fail "the command is in the same cgroups as the tests: make a cgroup for the container, and join it"
	limit_is "$CMD_PID" pids.max 20
	if [[ $(stat -f -c %T "$CGROUP_ROOT") == cgroup2fs ]]; then
		limit_is "$CMD_PID" memory.max 67108864
		limit_is "$CMD_PID" cpu.max "50000 100000"
		# No swap on top, where the kernel accounts for it.
		! cgroup_file "$CMD_PID" memory.swap.max 2>/dev/null ||
			limit_is "$CMD_PID" memory.swap.max 0 \
				"write it too, or the command can use swap on top of its 64 MiB"
	else
		limit_is "$CMD_PID" memory.limit_in_bytes 67108864
		! cgroup_file "$CMD_PID" memory.memsw.limit_in_bytes 2>/dev/null ||
			limit_is "$CMD_PID" memory.memsw.limit_in_bytes 67108864 \
				"memory and swap together: write it too, or the command can use swap on top of its 64 MiB"
		limit_is "$CMD_PID" cpu.cfs_quota_us 50000
		limit_is "$CMD_PID" cpu.cfs_period_us 100000
	fi
	stop_ctr
}

@test "step 7: a fork bomb stops at 20 tasks" {
	start_ctr forkloop 30
	local current
	current=$(cgroup_file "$CMD_PID" pids.current) || fail "the command is in no cgroup of the pids controller"
	wait_output --regexp '^forkloop: [0-9]+ children, then fork: .*'
	grep -q "then fork: Resource temporarily unavailable" "$CTR_OUT" ||
		fail "the fork loop was not stopped by the pids limit: $(<"$CTR_OUT")"
	assert_equal "$(<"$current")" 20 || fail "$current should be at the limit, 20"
	stop_ctr
}

@test "step 7: past 64 MiB the kernel's OOM killer ends the command; 16 MiB is fine" {
	run_ctr memhog 16
	assert_line "memhog: touched 16 MiB" || fail "16 MiB, well below the limit, should be fine"
	run_ctr memhog 256
	refute_line "memhog: touched 256 MiB" || fail "256 MiB, past the 64 MiB limit, were allowed"
}

@test "step 7: a CPU burner gets at most half a CPU" {
	start_ctr sh -c 'cpuburn 2; exec sleep 30'
	wait_output --regexp '^cpuburn: [0-9]+% of a CPU$'
	local pct stat periods throttled
	pct=$(sed -n 's/^cpuburn: \([0-9]*\)% of a CPU$/\1/p' "$CTR_OUT")
	stat=$(cgroup_file "$CMD_PID" cpu.stat) || fail "the command is in no cgroup of the cpu controller"
	periods=$(awk '$1 == "nr_periods" { print $2 }' "$stat")
	throttled=$(awk '$1 == "nr_throttled" { print $2 }' "$stat")
	stop_ctr
	# At most half a CPU, with slack for accounting; and the kernel
	# enforced a quota (nr_periods counts its periods).  On an idle
	# machine it also throttled; on a busy one the burner may not have
	# reached the quota, so that is not required.
	[ "$pct" -le 60 ] || fail "cpuburn got $pct% of a CPU (throttled in $throttled of $periods periods): limit the cgroup to 50000 of every 100000 us"
	[ "$periods" -gt 0 ] || fail "the kernel enforced no CPU quota in $stat"
}

# `cgroup_gone_after HOW`: the container's cgroup is removed when the
# command exits, the container program gets SIGTERM, or the command is
# killed.
cgroup_gone_after() {
	start_ctr sleep 30
	local dirs dir
	dirs=$(own_cgroups_of "$CMD_PID")
	[ -n "$dirs" ] || fail "the command is in the same cgroups as the tests: make a cgroup for the container, and join it"
	case $1 in
	exit) kill -TERM "$CMD_PID" && wait_ctr ;;
	TERM) stop_ctr TERM ;;
	KILL) kill -KILL "$CMD_PID" && wait_ctr ;;
	esac
	for dir in $dirs; do
		[ ! -e "$dir" ] || fail "$dir is still there after the container ended: remove the cgroup when the container ends"
	done
}

@test "step 7: the cgroup is removed when the command exits" { cgroup_gone_after exit; }
@test "step 7: the cgroup is removed after SIGTERM to the container program" { cgroup_gone_after TERM; }
@test "step 7: the cgroup is removed after the command is killed (SIGKILL)" { cgroup_gone_after KILL; }

@test "step 7: two containers at once get cgroups of their own" {
	start_ctr sleep 30
	local first=$CTR_PID first_cmd=$CMD_PID
	start_ctr sleep 30
	local a b
	a=$(own_cgroups_of "$first_cmd")
	b=$(own_cgroups_of "$CMD_PID")
	[ "$a" != "$b" ] || fail "two containers share the cgroup(s) $a: give each container a cgroup of its own"
	stop_ctr
	CTR_PID=$first
	stop_ctr
}
