#!/usr/bin/env bats
# Step 3: a PID namespace: the container's init is PID 1.
# Run: make test-step3 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step3-pid; }

# bats test_tags=so-far
@test "step 3: the command's parent is PID 1, the container's init; the command is not PID 1" { check_pid_namespace; }

@test "step 3: from the host, the command is in a new PID namespace, with a PID of its own there" {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ pid || fail "the command shares the host's PID namespace: clone() with CLONE_NEWPID"
	local inner
	inner=$(inner_pid "$CMD_PID")
	[ "$inner" != "$CMD_PID" ] || fail "the command's PID inside is its host PID, $CMD_PID"
	stop_ctr
}

# bats test_tags=so-far
@test "step 3: PID 1 reaps orphans, and dies with the container program, even of SIGKILL" { check_init_duties; }

@test "step 3: PID 1 reaps many orphans at once: no zombie is left" {
	start_ctr sh -c '(sleep 0.3 &); (sleep 0.3 &); (sleep 0.3 &); exec sleep 30'
	sleep 1
	local zombies
	zombies=$(zombies_under "$CTR_PID")
	[ -z "$zombies" ] || fail "zombie process(es) $zombies in the container: its PID 1 must wait for every child"
	stop_ctr
}

@test "step 3: not isolated yet: inside, /proc (what ps reads) still lists the host's processes" {
	skip_if_feature ROOT "the root filesystem, and so /proc"
	start_ctr sleep 30
	# What ps reads: procps's ps itself may give up where the PID
	# namespace has no PID 2, as in a container ("lookup self").
	run_ctr ls /proc
	# The host's PID of the container program in the background.
	assert_line "$CTR_PID"
	stop_ctr
}
