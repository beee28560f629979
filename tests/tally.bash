# The one place that writes and reads the line every test suite ends with:
#   tests: N passed, N failed, N skipped
# Sourced by tests/run, the lab's suites and CI.
# shellcheck shell=bash

# `tally_line P F S`: print the line.
tally_line() {
	echo "tests: $1 passed, $2 failed, $3 skipped"
}

# `tally_of FILE`: "P F S" from the last such line in FILE (a suite's
# log), whatever precedes it on its line; false if there is none.
tally_of() {
	local line
	line=$(grep -E 'tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$1" | tail -n 1) || return 1
	sed -E 's/.*tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<<"$line"
}

# `tally_tap FILE`: "P F S" counted from a bats TAP log.  Tests that
# never reported (bats died part way) count as failed.
tally_tap() {
	local planned passed failed skipped missing
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$1" | head -n 1)
	skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$1" || true)
	passed=$(($(grep -cE '^ok [0-9]+' "$1" || true) - skipped))
	failed=$(grep -cE '^not ok [0-9]+' "$1" || true)
	missing=$((${planned:-0} - passed - failed - skipped))
	((missing <= 0)) || failed=$((failed + missing))
	echo "$passed $failed $skipped"
}

# `tally_sum FILE...`: print the line that adds up the files' lines (a
# file without one counts for nothing); false if any test failed.
tally_sum() {
	local p f s total=(0 0 0) file
	for file in "$@"; do
		read -r p f s < <(tally_of "$file") || continue
		total=($((total[0] + p)) $((total[1] + f)) $((total[2] + s)))
	done
	tally_line "${total[@]}"
	((total[1] == 0))
}
