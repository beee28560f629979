#!/usr/bin/env bats
# This repository's conventions: what its programs print and how they
# exit.  A learner's program may differ: each convention is one test,
# and its message says what to change.
#
# Not run alone: tests/run adds each test tagged from-stepK to the run
# of step K's file and every later step's (lab/README.md, "Adding a
# test").  The checks themselves are in checks.bash.
# Commands for the shell inside the container are in single quotes.
# shellcheck disable=SC2016,SC2034

load lib
load checks

setup_file() { skip "run within a step's tests: make test-stepN"; }

# bats test_tags=from-step1
@test "convention: narration on stderr, the command's output alone on stdout" { convention_narration; }

# bats test_tags=from-step1
@test "convention: a command killed by signal N: exit status 128+N" { convention_signal_status; }

# bats test_tags=from-step1
@test "convention: not found: 127; cannot execute: 126; one line 'container: ...' naming it" { convention_exec_errors; }

# bats test_tags=from-step1
@test "convention: a bad command line: exit 2 and the usage line; --help: exit 0" { convention_usage; }

# bats test_tags=from-step1
@test "convention: without PATH, the command gets the usual default" { convention_default_path; }

# bats test_tags=from-step2
@test "convention: not root: exit 125, and the error says 'run as root'" { convention_not_root; }

# bats test_tags=from-step3
@test "convention: the program says 'Running [...] as PID <its host PID>', its init 'as PID 1'" { convention_narration_pids; }

# bats test_tags=from-step4
@test "convention: a missing root filesystem: exit 125, naming it and saying what to do" { convention_missing_rootfs; }

# bats test_tags=from-step7
@test "convention: no cgroup to be had: exit 125, naming what failed, and nothing left" { convention_no_cgroup; }
