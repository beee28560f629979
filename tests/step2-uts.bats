#!/usr/bin/env bats
# Step 2: a UTS namespace: a hostname of its own.
# Run: make test-step2 [BIN=path/to/your/container]

load lib
load checks

setup_file() { step_setup_file step2-uts; }

@test "so far: step 1 runs a command" { check_echo_hello; }

@test "step 2: inside, the hostname is 'container'" { check_hostname_inside; }
@test "step 2: hostname changed inside; the host's stays as it was" { check_hostname_change_stays_inside; }
@test "step 2: from the host, the command has its own UTS namespace" { check_uts_from_host; }
