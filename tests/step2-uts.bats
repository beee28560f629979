#!/usr/bin/env bats
# Step 2: a UTS namespace: a hostname of its own.
# Run: make test-step2 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step2-uts; }

# bats test_tags=so-far
@test "step 2: inside, the hostname is 'container'; renamed inside, the host's stays as it was" { check_hostname; }

@test "step 2: from the host, the command has a UTS namespace of its own" {
	start_ctr sleep 30
	refute same_ns "$CMD_PID" $$ uts || fail "the command shares the host's UTS namespace: clone() it with CLONE_NEWUTS"
	stop_ctr
}
