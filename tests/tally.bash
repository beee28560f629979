# The one place that writes (tally_line P F S) and reads the line every test suite ends with,
# `tests: N passed, N failed, N skipped`.  Sourced by tests/run, the lab's suites and CI.
# shellcheck shell=bash

tally_line() { echo "tests: $1 passed, $2 failed, $3 skipped"; }

# `tally_of FILE`: "P F S" from FILE's last such line, whatever precedes it there; false if none.
tally_of() {
	sed -nE 's/.*tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/p' "$1" |
		tail -n 1 | grep .
}

# `tally_tap FILE`: "P F S" counted from a bats TAP log; tests that never reported count as failed.
tally_tap() {
	awk '/^1\.\.[0-9]+$/ && plan == "" { plan = substr($0, 4) + 0 }
		/^ok [0-9]+ .*# skip/ { skipped++; next }
		/^ok [0-9]+/ { passed++ }
		/^not ok [0-9]+/ { failed++ }
		END { if (plan > passed + failed + skipped) failed = plan - passed - skipped
			print passed + 0, failed + 0, skipped + 0 }' "$1"
}

# `tally_sum FILE...`: the line that adds up the files' (where they have one); false if any failed.
tally_sum() {
	local file p f s
	read -r p f s < <(for file in "$@"; do tally_of "$file" || true; done |
		awk '{ p += $1; f += $2; s += $3 } END { print p + 0, f + 0, s + 0 }')
	tally_line "$p" "$f" "$s"
	((f == 0))
}
