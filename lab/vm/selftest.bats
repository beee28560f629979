#!/usr/bin/env bats
# A quick look at the test VMs themselves (about a minute), not part of
# `make -C lab vm`: after changing lab/vm/, run
#   lab/vm/run lab/vm/selftest.bats            (ARCH=arm64 too)

bats_require_minimum_version 1.5.0

@test "cgroup2 is mounted at /sys/fs/cgroup" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
}

@test "/ is shared (outside tests/run's own mount namespace)" {
	[ "$(findmnt --task 1 -no PROPAGATION /)" = shared ]
}

@test "host tools: ps, hostname, su, setpriv" {
	pgrep -f bats >/dev/null
	[ "$(hostname)" = vm-guest ]
	[ "$(su -s /bin/sh -c 'id -u' nobody)" = 65534 ]
	[ "$(setpriv --reuid=65534 --regid=65534 --clear-groups id -u)" = 65534 ]
}

@test "step 7 runs its container in a cgroup of its own, with limits" {
	run step7-cgroups/container run cat /proc/self/cgroup
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"0::/container-"* ]]
	step7-cgroups/container run sleep 3 &
	sleep 1.5
	[ "$(cat /sys/fs/cgroup/container-$!/pids.max)" = 20 ]
	[ "$(cat /sys/fs/cgroup/container-$!/memory.max)" = 67108864 ]
	wait "$!" # not bats's own timer, also in the background
	[ ! -e /sys/fs/cgroup/container-$! ]
}

@test "step 6's mounts do not show outside" {
	step6-mounts/container run sleep 2 &
	sleep 1
	run ! grep -q mytemp /proc/self/mountinfo
	wait "$!"
}

# The docker pass (lab/vm/init), where `make test` ran cgroup-setup
# before these tests.
in_docker_pass() {
	[ -e /.dockerenv ] || skip "only in the docker pass"
}

@test "docker pass: a cgroup namespace, whose root make cgroup-setup emptied into init" {
	in_docker_pass
	# Not the real root: only that has no cgroup.type.
	[ -e /sys/fs/cgroup/cgroup.type ]
	[ "$(findmnt -no FSROOT /sys/fs/cgroup)" = / ]
	[ "$(cat /proc/self/cgroup)" = 0::/init ]
	[ -z "$(cat /sys/fs/cgroup/cgroup.procs)" ]
	local controllers
	controllers=" $(cat /sys/fs/cgroup/cgroup.subtree_control) "
	[[ $controllers == *" pids "* && $controllers == *" memory "* && $controllers == *" cpu "* ]]
}

@test "docker pass: make cgroup-setup has nothing more to do; make doctor's cgroups say OK" {
	in_docker_pass
	run make -s cgroup-setup
	[ "$status" -eq 0 ]
	[[ $output == "cgroup-setup: nothing to do: /sys/fs/cgroup already hands pids memory cpu down to its children" ]]
	run make -s doctor
	[[ $output == *"OK    cgroups      v2, a container's cgroup namespace: pids, memory and cpu limits can be set"* ]]
}
