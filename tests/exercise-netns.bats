#!/usr/bin/env bats
# Exercise "a network namespace": the container has a network of its
# own, with only a loopback interface, and that one up.
# Run: make test-exercise-netns [BIN=path/to/your/container]
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash; stderr is set by its run_ctr.
# shellcheck disable=SC2016,SC2034,SC2154

load lib
load checks

setup_file() { step_setup_file build/exercises/netns; }

# The interfaces /proc/net/dev lists (as seen by the process reading it),
# one name a line, from the text on stdin.
interfaces() {
	awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }'
}

@test "exercise netns: from the host, the command is in a network namespace of its own" {
	start_ctr sleep 30
	! same_ns "$CMD_PID" $$ net ||
		fail "the command is in the host's network namespace ($(readlink /proc/$$/ns/net)): create one for the container (CLONE_NEWNET)"
	stop_ctr
}

@test "exercise netns: inside, /proc/net/dev lists lo alone, none of the host's interfaces" {
	run_ctr cat /proc/net/dev
	assert_line --partial "Inter-|" || fail "cat /proc/net/dev printed no interface table inside"
	local inside host
	inside=$(interfaces <<<"$output" | paste -sd ' ')
	host=$(interfaces </proc/net/dev | paste -sd ' ')
	assert_equal "$inside" lo ||
		fail "inside, the interfaces are '$inside' (the host's are '$host'): only lo should be there, in a network namespace of the container's own (CLONE_NEWNET)"
}

@test "exercise netns: inside, lo is up" {
	run_ctr ip link show lo
	assert_line --regexp '^1: lo: <' || fail "ip link show lo printed no line for lo inside"
	assert_line --regexp '^1: lo: <([A-Z_]+,)*UP[,>]' ||
		fail "lo is down inside: bring it up (ioctl SIOCSIFFLAGS with IFF_UP, in the container's namespace)"
}

@test "exercise netns: inside, 127.0.0.1 answers a ping" {
	run_ctr sh -c 'ping -c 1 -W 2 127.0.0.1; echo "ping: $?"'
	assert_line --partial "ping: " || fail "the command did not run, or its stdout did not reach ours"
	if [[ $stderr == *"Network unreachable"* || $stderr == *"Network is unreachable"* ]]; then
		fail "ping 127.0.0.1 inside: Network unreachable: lo is down inside: bring it up (ioctl SIOCSIFFLAGS with IFF_UP)"
	fi
	assert_line "ping: 0" || fail "ping 127.0.0.1 got no answer inside"
}

# A free TCP port on the host's 127.0.0.1: none listens there.
free_port() {
	local port
	for ((port = 20000 + RANDOM % 20000; ; port++)); do
		grep -qi ":$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 || break
	done
	echo "$port"
}

@test "exercise netns: a server listening inside is out of the host's reach" {
	local port
	port=$(free_port)
	# Ready once its socket is in LISTEN state (0A) in the container's
	# own /proc/net/tcp6 (busybox's nc listens on IPv6 and IPv4 alike)
	# or tcp.
	start_ctr sh -c "nc -l -p $port >/dev/null &
		while ! grep -qi ':$(printf '%04X' "$port") [0:]* 0A' /proc/net/tcp6 /proc/net/tcp; do sleep 0.05; done
		echo listening; wait"
	wait_output listening
	if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
		fail "the host reached a server listening in the container, on 127.0.0.1:$port: give the container a network namespace of its own (CLONE_NEWNET)"
	fi
	stop_ctr
}
