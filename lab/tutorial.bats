#!/usr/bin/env bats
# TUTORIAL.md and the workshop tools tell the truth: its diffs are the
# code's, its transcripts are what the programs print, each step's tests
# catch that step's feature, and `make doctor` says what is wrong.

load ../tests/lib

setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: the transcripts start containers (run: sudo make test)"
	fi
	# Build first, quietly: a build inside a transcript (of a stale step,
	# or of an exercise, with patch to install) would print lines that
	# the transcript does not show.
	make -s -C "$REPO/lab" built >/dev/null
}


@test "tutorial: every diff block is the real diff -u between two steps" {
	"$REPO/lab/tutorial.sh" diffs
}

@test "tutorial: step 1's listing is step1-exec/main.c" {
	"$REPO/lab/tutorial.sh" files
}

# The lesson is the text before the section for instructors; its core,
# what a 90-minute slot keeps, is that from "Before you start" on, less
# the folded <details> and the "Try" tasks.
lesson() { awk '/^## For workshop instructors/ { exit } { print }' "$REPO/TUTORIAL.md"; }
core() {
	lesson | awk '/^## Before you start/ { on = 1 } /^<details>/ { d = 1 } on && !d && !/^\*\*Try [0-9]/
		/^<\/details>/ { d = 0 }'
}
# `count KIND`, of the text on stdin: words (outside code blocks), lines
# (of c and diff blocks), commands ("$ " lines), tests ("Check your
# work" lines that run a step's tests), moments ("Terminal 2" cells),
# tries (the "Try N.M." tasks).
count() {
	case $1 in
	words) awk '/^```/ { c = !c; next } !c' | wc -w ;;
	lines) awk '/^```/ { if (!c) { c = 1; k = substr($0, 4) } else c = 0; next } c && (k == "c" || k == "diff")' | wc -l ;;
	commands) grep -c '^\$ ' ;;
	tests) grep -c '^\*\*Check your work:\*\* `sudo make test-step' ;;
	moments) grep -c '^\*\*Terminal 2\*\*' ;;
	tries) grep -cE '^\*\*Try [0-9]+\.[0-9]+\.\*\*' ;;
	esac
}
# `about STATED COUNTED WHAT`: STATED is COUNTED within 10%.
about() {
	(($1 * 10 >= $2 * 9 && $1 * 10 <= $2 * 11)) || fail "the tutorial has $2 $3, not about $1"
}
# `stated REGEX`: the numbers in the text that REGEX matches (digits
# as [0-9,]*), one line, without thousands' commas.
stated() {
	local found
	found=$(tr '\n' ' ' <"$REPO/TUTORIAL.md" | tr -s ' ' | grep -o "$1" | head -n 1 | tr -d ,) ||
		fail "TUTORIAL.md no longer says: $1"
	grep -o '[0-9]\+' <<<"$found" | paste -sd' '
}

# The model: "At N words a minute, N lines of code a minute, N minute a
# command, N minutes a test run, N minutes a moment and N minutes a small
# exercise".
model() {
	local n='[0-9,]*'
	stated "At $n words a minute, $n lines of code a minute, $n minute a command, $n minutes a test run, $n minutes a moment and $n minutes a small exercise"
}

@test "tutorial: the time it states is counted from the text, by its model" {
	local n='[0-9,]*' w l c t m e rw rl rc rt rm re a b cc d f g setup total
	read -r w l c t m e < <(stated "about $n words of prose, $n lines of code and diffs, $n commands, $n test runs, $n second-terminal moments and $n small exercises")
	echo "stated: $w words, $l lines, $c commands, $t test runs, $m moments, $e exercises"
	about "$w" "$(lesson | count words)" "words of prose"
	about "$l" "$(lesson | count lines)" "lines of code"
	assert_equal "$c commands, $t tests, $m moments, $e tries" \
		"$(lesson | count commands) commands, $(lesson | count tests) tests, $(lesson | count moments) moments, $(lesson | count tries) tries"
	read -r rw rl rc rt rm re < <(model)
	read -r a b cc d f g setup total < <(stated "that is $n + $n + $n + $n + $n + $n minutes, and with $n minutes of setup about $n minutes")
	# Each term is its figure at its rate, rounded; the total their sum.
	assert_equal "$a + $b + $cc + $d + $f + $g" \
		"$(((w + rw / 2) / rw)) + $(((l + rl / 2) / rl)) + $((c * rc)) + $((t * rt)) + $((m * rm)) + $((e * re))"
	assert_equal "$total" $((a + b + cc + d + f + g + setup))
}

@test "tutorial: the 90-minute slot it states is counted from the text, by the same model" {
	local n='[0-9,]*' w l c m a b cc d rw rl rc rm
	read -r w l c m a b cc d < <(stated "about $n words, $n lines and $n commands, and the $n moments: $n + $n + $n + $n = ")
	echo "stated: $w words, $l lines, $c commands; counted: $(core | count words), $(core | count lines), $(core | count commands)"
	about "$w" "$(core | count words)" "words in its core"
	about "$l" "$(core | count lines)" "lines of code in its core"
	assert_equal "$c commands, $m moments" "$(core | count commands) commands, $(core | count moments) moments"
	read -r rw rl rc _ rm _ < <(model)
	assert_equal "$a + $b + $cc + $d" "$(((w + rw / 2) / rw)) + $(((l + rl / 2) / rl)) + $((c * rc)) + $((m * rm))"
}

@test "tutorial: step 1's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 1; }
@test "tutorial: step 2's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 2; }
@test "tutorial: step 3's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 3; }
@test "tutorial: step 4's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 4; }
@test "tutorial: step 5's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 5; }
@test "tutorial: step 6's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 6; }
@test "tutorial: step 7's transcripts print what they show" { "$REPO/lab/tutorial.sh" console 7; }
@test "tutorial: the instructors' transcripts print what they show" { "$REPO/lab/tutorial.sh" console 0; }

# `step_suite N M [OPTION]`: step N's tests against step M's program, as a
# learner runs `make test-stepN BIN=...`; a clean environment, so that
# nothing of this bats run leaks into that one.
step_suite() {
	# bats puts its own libexec first in PATH; the nested run must find
	# the bats command itself.
	local path
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	# This run holds the test lock already (tests/lock.bash).
	env -i PATH="$path" HOME="${HOME:-/root}" BIN="$REPO/${STEPS[$2 - 1]}/container" TESTS_LOCKED=1 \
		"$REPO/tests/run" "${@:3}" "$REPO/tests/${STEPS[$1 - 1]}.bats" >"$BATS_TEST_TMPDIR/suite.log" 2>&1
}

# Step N's tests pass for step 7's program, which isolates everything
# (a test about what step N does not isolate yet is skipped), and fail
# for step N-1's: they detect step N's feature.  (The mutants, `make
# test-mutants`, check each line of each feature.)
detects_feature() {
	local n=$1
	step_suite "$n" 7 || { echo "step $n's tests fail for step 7:" >&2; tail -n 30 "$BATS_TEST_TMPDIR/suite.log" >&2; return 1; }
	if ((n > 1)) && step_suite "$n" $((n - 1)) --fail-fast; then
		echo "step $n's tests pass for step $((n - 1))'s program" >&2
		return 1
	fi
}

@test "workshop: step 1's tests pass for step 7" { detects_feature 1; }
@test "workshop: step 2's tests pass for step 7 and fail for step 1" { detects_feature 2; }
@test "workshop: step 3's tests pass for step 7 and fail for step 2" { detects_feature 3; }
@test "workshop: step 4's tests pass for step 7 and fail for step 3" { detects_feature 4; }
@test "workshop: step 5's tests pass for step 7 and fail for step 4" { detects_feature 5; }
@test "workshop: step 6's tests pass for step 7 and fail for step 5" { detects_feature 6; }

@test "workshop: make doctor passes here" {
	run make -s -C "$REPO" doctor
	[ "$status" -eq 0 ]
	[[ $output != *FAIL* ]]
	[[ ${lines[-1]} == "All set for the lesson." ]]
}

@test "workshop: make doctor, not as root: FAIL, with advice" {
	# Its script on stdin: nobody may not reach the repository (in /root).
	run setpriv --reuid=65534 --regid=65534 --clear-groups bash -s -- "$REPO" <"$REPO/common/doctor.sh"
	[ "$status" -eq 1 ]
	[[ $output == *"FAIL  root"*"(run: sudo make doctor)"* ]]
	[[ $output == *"FAIL  namespaces"*"run as root"* ]]
}

@test "workshop: make doctor names a setting that forbids user namespaces, and its fix" {
	# In a user namespace of the test's own: the machine's setting stays.
	# shellcheck disable=SC2016 # $1 is the inner bash's
	run unshare -U --map-root-user bash -c 'echo 0 >/proc/sys/user/max_user_namespaces &&
		"$1/common/doctor.sh" "$1"' _ "$REPO"
	assert_line --partial "FAIL  userns       user.max_user_namespaces is 0"
	assert_line --partial "run: sudo sysctl -w user.max_user_namespaces=10000"
}

@test "workshop: make diff-step3 shows what step 3 adds" {
	run make -s -C "$REPO" diff-step3
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "--- step2-uts/main.c"* ]]
	[[ $output == *"+		    | CLONE_NEWPID"* ]]
}
