#!/usr/bin/env bats
# Exercise "a cable to the host": the container has a network namespace
# of its own with one end of a veth pair, up, with an address in
# 10.200.0.0/24 and a default route via 10.200.0.1; the other end is on
# the bridge ctr0 of the host side, which has 10.200.0.1/24.  How the
# program wires it (rtnetlink in C, or a helper run with the child's
# PID) is its own business: the tests judge what works.
# Run: make test-exercise-veth [BIN=path/to/your/container]
#
# The "host side" is the tests' own network namespace: tests/run makes
# one for the whole run, so that the bridge and the cables are made in
# there and go with it, never on the machine's network.  In it, the
# tests add 10.201.0.1 (on lo): an address beyond the bridge, which a
# container reaches only through its default route.  Pings and
# connections are bounded in count and time; the servers stop by
# themselves.
# Commands for the shell inside the container are in single quotes;
# LAST_CMD is read by lib.bash; output and stderr are set by its
# run_ctr.
# shellcheck disable=SC2016,SC2034,SC2154

load lib
load checks

BRIDGE=ctr0
BEYOND=10.201.0.1

setup_file() {
	command -v ip >/dev/null || fail "these tests need iproute2's ip on the host: apt-get install iproute2" || return
	if [[ $(id -u) -eq 0 ]] && same_ns $$ 1 net; then
		fail "the tests would make a bridge on this machine's own network: run them with tests/run (make test-exercise-veth), which runs them in a network namespace of their own" || return
	fi
	# The host side as a machine has it: lo up, with an address beyond
	# the bridge; and no bridge, which the first container makes.
	ip link del "$BRIDGE" 2>/dev/null || true
	ip link set lo up
	ip addr replace "$BEYOND/32" dev lo
	netns_names >"$BATS_FILE_TMPDIR/netns"
	[[ -d /run/netns ]] || touch "$BATS_FILE_TMPDIR/no-netns-dir"
	step_setup_file build/exercises/veth
	netns_left "$BATS_FILE_TMPDIR" >/dev/null || true
}

teardown_file() {
	stop_leftover_ctr
	[[ -z ${FILE_SNAPSHOT-} ]] || cleanup_since "$FILE_SNAPSHOT" >/dev/null || true
	[[ ! -e $BATS_FILE_TMPDIR/netns ]] || netns_left "$BATS_FILE_TMPDIR" >/dev/null || true
	ip link del "$BRIDGE" 2>/dev/null || true
	ip addr del "$BEYOND/32" dev lo 2>/dev/null || true
}

# ---- the host side ---------------------------------------------------------------

# The interfaces of the host side, one name a line.
host_links() {
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}

# The interfaces made since the list in file $1, but the bridge, which
# stays from one container to the next.
links_since() {
	comm -13 "$1" <(host_links) | grep -vx "$BRIDGE" || true
}

# `links_left FILE`: wait up to 3 s for the interfaces made since FILE
# to go (a namespace's interfaces go a moment after its last process);
# print those that stay, and fail, if any does.
links_left() {
	local i left
	for ((i = 0; i < 30; i++)); do
		left=$(links_since "$1")
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "$left"
	return 1
}

# What an interface left behind on the host side is, as far as its own
# line tells.
describe_link() {
	local line
	line=$(ip -o -d link show dev "$1" 2>/dev/null) || { echo "$1"; return; }
	# link-netnsid N, or link-netns NAME: the other end is elsewhere.
	if [[ $line == *" veth "* && $line != *link-netns* ]]; then
		echo "$1 (a veth whose other end is on the host side too: one end was never moved into the container)"
	elif [[ $line == *link-netns* ]]; then
		echo "$1 (its other end is in a namespace that outlived the container: kept by 'ip netns attach' or a bind mount of /proc/PID/ns/net?)"
	else
		echo "$1"
	fi
}

# What looks wrong with the cable, seen from the host side: one line.
UP_FLAG='<([A-Z_-]+,)*UP[,>]'
cable_hint() {
	local line port ports
	if ! line=$(ip -o link show dev "$BRIDGE" 2>/dev/null); then
		echo "there is no bridge $BRIDGE on the host side: make it if it is missing (ip link add $BRIDGE type bridge)"
		return
	fi
	[[ $line =~ $UP_FLAG ]] || { echo "the bridge $BRIDGE is down: set it up (ip link set $BRIDGE up)"; return; }
	ip -o -4 addr show dev "$BRIDGE" | grep -q ' inet 10\.200\.0\.1/24 ' ||
		{ echo "the bridge $BRIDGE has no address 10.200.0.1/24: give it one (ip addr add 10.200.0.1/24 dev $BRIDGE)"; return; }
	ports=$(ip -o link show master "$BRIDGE" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
	[[ -n $ports ]] ||
		{ echo "no interface is on the bridge $BRIDGE: put the host end of the container's veth pair on it (ip link set END master $BRIDGE)"; return; }
	for port in $ports; do
		line=$(ip -o link show dev "$port" 2>/dev/null) || continue
		[[ $line =~ $UP_FLAG ]] ||
			{ echo "the host end $port, on the bridge $BRIDGE, is down: set it up (ip link set $port up)"; return; }
	done
	echo "from the host side, $BRIDGE and its ports (${ports//$'\n'/ }) look right: look inside (ip addr, ip route)"
}

# ---- inside ------------------------------------------------------------------------

# The command that lists the container's interfaces and addresses.
LIST='ip -o link; ip -o -4 addr'

# From LIST's output on stdin: the container's address in
# 10.200.0.0/24, without its prefix length, or nothing.
inside_addr() {
	awk '$3 == "inet" && $4 ~ /^10\.200\.0\.[0-9]+\// { sub(/\/.*/, "", $4); print $4; exit }'
}

# The command must not share the host side's network (that of the tests).
check_own_net() {
	! same_ns "$CMD_PID" $$ net ||
		fail "the command is in the host side's network namespace: create one for the container (CLONE_NEWNET)"
}

# ---- per test: no interface left behind ------------------------------------------------

# The names `ip netns add` and `ip netns attach` give namespaces: files
# in /run/netns, on the machine's /run (the mount on each is in the
# tests' mount namespace, which lib.bash's leftover check unmounts).
netns_names() {
	find /run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true
}

# `netns_left DIR`: remove the names made since DIR/netns (once their
# mounts are gone), and the directory if DIR/no-netns-dir says it was
# not there; say what was left, and fail, if any was.
netns_left() {
	local name found=0
	for name in $(comm -13 "$1/netns" <(netns_names)); do
		echo "leftover network namespace name: /run/netns/$name (ip netns add or attach: ip netns delete it when the container ends)"
		mountpoint -q "/run/netns/$name" || rm -f "/run/netns/$name"
		found=1
	done
	[[ ! -e $1/no-netns-dir ]] || rmdir /run/netns 2>/dev/null || true
	return "$found"
}

setup() {
	lib_setup
	host_links >"$BATS_TEST_TMPDIR/before.links"
	netns_names >"$BATS_TEST_TMPDIR/netns"
	[[ -d /run/netns ]] || touch "$BATS_TEST_TMPDIR/no-netns-dir"
}

teardown() {
	local status=0 left link
	lib_teardown || status=1
	[[ -e $BATS_TEST_TMPDIR/before.links ]] || return "$status"
	netns_left "$BATS_TEST_TMPDIR" || status=1
	if ! left=$(links_left "$BATS_TEST_TMPDIR/before.links"); then
		# All described first: deleting one end of a veth deletes both.
		for link in $left; do echo "leftover interface on the host side: $(describe_link "$link")"; done
		for link in $left; do ip link del "$link" 2>/dev/null || true; done
		echo "(the container's interfaces must go when it ends: a veth pair with one end in its network namespace goes with that namespace)"
		status=1
	fi
	return "$status"
}

# ---- the tests -------------------------------------------------------------------------

@test "exercise veth: from the host, the command is in a network namespace of its own" {
	start_ctr sleep 30
	check_own_net
	stop_ctr
}

@test "exercise veth: inside, an interface besides lo is up, with an address in 10.200.0.0/24" {
	run_ctr sh -c "$LIST"
	assert_line --regexp '^1: lo' || fail "ip -o link printed no line for lo inside"
	local links addr iface line
	links=$(awk '$2 ~ /:$/ { sub(/@.*/, "", $2); sub(/:$/, "", $2); print $2 }' <<<"$output" | grep -vx lo | paste -sd ' ')
	[[ -n $links ]] ||
		fail "inside, lo is the only interface: move one end of the veth pair into the container's network namespace (ip link set END netns PID; in C, IFLA_NET_NS_PID), or make it there"
	addr=$(inside_addr <<<"$output")
	[[ -n $addr ]] ||
		fail "inside, no interface has an address in 10.200.0.0/24 (the interfaces: $links): give the container's end one (ip addr add 10.200.0.N/24 dev eth0)"
	iface=$(awk -v a="$addr" '$3 == "inet" && index($4, a "/") == 1 { print $2; exit }' <<<"$output")
	line=$(grep -E "^[0-9]+: $iface(@[^:]*)?: " <<<"$output")
	[[ $line =~ $UP_FLAG ]] || fail "inside, $iface (with $addr) is down: set it up (ip link set $iface up)"
}

@test "exercise veth: on the host side, the bridge ctr0 is up with 10.200.0.1/24, and the container's end of the cable is on it, up" {
	start_ctr sleep 30
	check_own_net
	local hint
	hint=$(cable_hint)
	[[ $hint == *"look right"* ]] || fail "$hint"
	stop_ctr
}

@test "exercise veth: inside, the bridge's address 10.200.0.1 answers a ping" {
	start_ctr sh -c 'ping -c 1 -W 1 10.200.0.1 >/dev/null; echo "ping: $?"; exec sleep 30'
	check_own_net
	wait_output --regexp '^ping: '
	grep -qx 'ping: 0' "$CTR_OUT" ||
		fail "inside, 10.200.0.1 (the bridge $BRIDGE) did not answer a ping: $(cable_hint)"
	stop_ctr
}

@test "exercise veth: inside, the default route reaches 10.201.0.1, on the host side beyond the bridge" {
	start_ctr sh -c 'ping -c 1 -W 1 10.201.0.1 >/dev/null; echo "ping: $?"; ip route; echo routes; exec sleep 30'
	check_own_net
	wait_output routes
	if ! grep -qx 'ping: 0' "$CTR_OUT"; then
		grep -q '^default ' "$CTR_OUT" ||
			fail "inside, no default route: only 10.200.0.0/24 is in reach, not $BEYOND beyond the bridge: add one via the bridge (ip route add default via 10.200.0.1; in C, RTM_NEWROUTE)"
		grep -q '^default via 10\.200\.0\.1 ' "$CTR_OUT" ||
			fail "inside, the default route is not via 10.200.0.1, the bridge: $(grep '^default ' "$CTR_OUT")"
		fail "inside, $BEYOND (on the host side, beyond the bridge) did not answer a ping: $(cable_hint)"
	fi
	stop_ctr
}

@test "exercise veth: from the host side, a server inside answers at the container's address" {
	# Port 8000 (1F40) of the container's own network: ready once its
	# socket is in LISTEN state (0A) in /proc/net/tcp6 or tcp.  The
	# server serves once, or gives up after 10 s.
	start_ctr sh -c "$LIST"'
		echo hello-from-inside | timeout 10 nc -l -p 8000 >/dev/null &
		while ! grep -qi ":1F40 [0:]* 0A" /proc/net/tcp6 /proc/net/tcp; do sleep 0.05; done
		echo listening; wait'
	check_own_net
	wait_output listening
	local addr answer
	addr=$(inside_addr <"$CTR_OUT")
	[[ -n $addr ]] || fail "inside, no interface has an address in 10.200.0.0/24: $(cat "$CTR_OUT")"
	answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/8000" && cat <&3' _ "$addr" 2>&1) || true
	[[ $answer == *hello-from-inside* ]] ||
		fail "from the host side, the server listening inside on $addr:8000 did not answer (${answer:-nothing within 3 s}): $(cable_hint)"
	wait_ctr
}

@test "exercise veth: two containers on the bridge have addresses of their own, and reach each other" {
	start_ctr sh -c "$LIST"'; echo ready; exec sleep 30'
	check_own_net
	wait_output ready
	local first second
	first=$(inside_addr <"$CTR_OUT")
	[[ -n $first ]] || fail "inside, no interface has an address in 10.200.0.0/24: $(cat "$CTR_OUT")"
	run_ctr sh -c "$LIST; ping -c 1 -W 1 $first >/dev/null; echo \"ping: \$?\""
	second=$(inside_addr <<<"$output")
	[[ -n $second ]] || fail "inside the second container, no interface has an address in 10.200.0.0/24: $output"
	[[ $second != "$first" ]] ||
		fail "two containers were both given $first: give each a free address (the reference takes the first one that no container holds)"
	assert_line "ping: 0" ||
		fail "the second container ($second) could not reach the first ($first) across the bridge: $(cable_hint)"
	stop_ctr
}

@test "exercise veth: when the container ends, the interfaces it made on the host side are gone" {
	local before=$BATS_TEST_TMPDIR/links made left link
	host_links >"$before"
	start_ctr sleep 30
	check_own_net
	made=$(links_since "$before")
	[[ -n $made ]] ||
		fail "while the container ran, the host side had no new interface: where is the host end of its veth pair?"
	stop_ctr
	if ! left=$(links_left "$before"); then
		for link in $left; do describe_link "$link"; done >"$BATS_TEST_TMPDIR/described"
		for link in $left; do ip link del "$link" 2>/dev/null || true; done
		fail "after the container ended, still on the host side: $(paste -sd ';' "$BATS_TEST_TMPDIR/described")"
	fi
}
