#!/usr/bin/env bash
# Keeps TUTORIAL.md true to the code.
#
#   lab/tutorial.sh diffs [--fix]   every ```diff block must be the real
#                                     `diff -u A B` it names (--fix: rewrite
#                                     the blocks from the code)
#   lab/tutorial.sh files           a code block after <!-- file: PATH -->
#                                     must be that file; after <!-- excerpt:
#                                     PATH FUNCTION... --> those functions of
#                                     it, each with the comment above it
#   lab/tutorial.sh console N       run the ```console blocks of section
#                                     "## Step N" (0: the other sections)
#                                     and compare what they print
#
# In console blocks, "$ CMD" lines are run (a leading "sudo " is dropped
# when already root), each block in one bash from the repository's top,
# and the lines after them are what CMD prints, stdout and stderr alike.
# The expected text may say where output varies:
#   <N>     any number            <host>  this machine's hostname
#   <...>   any text in the line  ...     (a line alone) any lines
# Runs of spaces count as one, so columns may line up differently.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tutorial=$repo/TUTORIAL.md
cd "$repo"

# Print the blocks of TUTORIAL.md, each as a record: a header line
# "@@ <kind> <section> <first line number> <marker>" and then its lines.
blocks() {
	awk '
		/^## Step [0-9]+/ { section = $3 + 0 }
		/^## / && !/^## Step [0-9]+/ { section = 0 }
		/^<!-- file: .* -->$/ { marker = $3 }
		/^<!-- excerpt: .* -->$/ { marker = "excerpt"; for (i = 3; i < NF; i++) marker = marker ":" $i }
		/^```/ && !inside { inside = 1; kind = substr($0, 4); kind = kind == "" ? "text" : kind
			print "@@", kind, section, NR + 1, (marker == "" ? "-" : marker); marker = ""; next }
		/^```$/ && inside { inside = 0; next }
		inside { print }
	' "$tutorial"
}

# `split_blocks KIND [SECTION]`: one file per matching block in $work,
# named after its line number, and its marker in NAME.marker.
split_blocks() {
	local kind=$1 section=${2-} line
	local out=
	while IFS= read -r line; do
		if [[ $line =~ ^@@\ ([^ ]+)\ ([0-9]+)\ ([0-9]+)\ (.*)$ ]]; then
			out=
			if [[ ${BASH_REMATCH[1]} == "$kind" && (-z $section || ${BASH_REMATCH[2]} == "$section") ]]; then
				out=$work/${BASH_REMATCH[3]}
				printf '%s\n' "${BASH_REMATCH[4]}" >"$out.marker"
				: >"$out"
			fi
		elif [[ -n $out ]]; then
			printf '%s\n' "$line" >>"$out"
		fi
	done < <(blocks)
}

# The real diff, with the headers the tutorial uses (no timestamps).
real_diff() {
	diff -u "$1" "$2" | sed -e '1s/\t.*//' -e '2s/\t.*//' || true
}

check_diffs() {
	local fix=${1-} block from to bad=0
	split_blocks diff
	# Bottom up, so that --fix does not move the blocks still to do.
	for block in $(find "$work" -type f ! -name '*.marker' -printf '%f\n' | sort -rn); do
		from=$(sed -n '1s/^--- //p' "$work/$block")
		to=$(sed -n '2s/^+++ //p' "$work/$block")
		if [[ ! -f $from || ! -f $to ]]; then
			echo "TUTORIAL.md:$block: a diff block must start with '--- FILE' and '+++ FILE'" >&2
			bad=1
		elif ! real_diff "$from" "$to" | cmp -s - "$work/$block"; then
			if [[ $fix == --fix ]]; then
				replace_block "$block" <(real_diff "$from" "$to")
				echo "TUTORIAL.md:$block: updated the diff of $from and $to"
			else
				echo "TUTORIAL.md:$block: not the diff of $from and $to (lab/tutorial.sh diffs --fix):" >&2
				diff -u "$work/$block" <(real_diff "$from" "$to") >&2 || true
				bad=1
			fi
		fi
	done
	return "$bad"
}

# `replace_block LINE FILE`: the block whose body starts at LINE gets
# FILE's contents.
replace_block() {
	local start=$1 new=$2 tmp
	tmp=$(mktemp)
	awk -v start="$start" -v new="$new" '
		NR == start { while ((getline l < new) > 0) print l; skipping = 1 }
		skipping && /^```$/ { skipping = 0 }
		!skipping { print }
	' "$tutorial" >"$tmp"
	cat "$tmp" >"$tutorial"
	rm -f "$tmp"
}

# `excerpt FILE FUNCTION...`: each function's definition in FILE, from
# the comment above it to its closing brace, one blank line between.
excerpt() {
	local file=$1 fn
	shift
	for fn in "$@"; do
		awk -v fn="$fn" '
			/^\/\*/ { comment = "" ; in_comment = 1 }
			in_comment { comment = comment $0 "\n"; if (/\*\/$/) in_comment = 0; next }
			!found && $0 ~ "^[A-Za-z_].*[ *]" fn "\\(" && !/;$/ { found = 1; printf "%s", comment }
			found { print; if (/^}/) exit }
			!/^ \*/ && !/^\/\*/ { comment = "" }
		' "$file"
		[[ $fn == "${*: -1}" ]] || echo
	done
}

check_files() {
	local block path bad=0 expected
	for kind in c sh text; do split_blocks "$kind"; done
	for block in $(find "$work" -type f -name '*.marker' -printf '%f\n' | sort -n); do
		path=$(<"$work/$block")
		block=${block%.marker}
		[[ $path != - ]] || continue
		expected=$path
		if [[ $path == excerpt:* ]]; then
			IFS=: read -ra words <<<"${path#excerpt:}"
			expected=$work/$block.excerpt
			excerpt "${words[@]}" >"$expected"
			path="${words[0]}: ${words[*]:1}"
		fi
		if ! cmp -s "$expected" "$work/$block"; then
			echo "TUTORIAL.md:$block: not the contents of $path:" >&2
			diff -u "$work/$block" "$expected" >&2 || true
			bad=1
		fi
	done
	return "$bad"
}

# `matches EXPECTED ACTUAL`: compare two files line by line with the
# notation above.
matches() {
	HOST_RE=$(hostname | sed 's/[.]/[.]/g') awk '
		BEGIN { host = ENVIRON["HOST_RE"] }
		function squeeze(s) { gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
		function pattern(s,    out, c) {
			s = squeeze(s)
			# Escape what regular expressions would read, then put back
			# the notation.
			gsub(/[][\\.^$*+?(){}|\/]/, "\\\\&", s)
			gsub(/<N>/, "[0-9]+", s)
			gsub(/<\\.\\.\\.>/, ".*", s)
			gsub(/<host>/, host, s)
			return "^" s "$"
		}
		NR == FNR { want[++n] = $0; next }
		{ got[++m] = squeeze($0) }
		END {
			exit !match_from(1, 1)
		}
		function match_from(i, j) {
			while (i <= n) {
				if (want[i] == "...") {
					for (k = j; k <= m + 1; k++) if (match_from(i + 1, k)) return 1
					return 0
				}
				if (j > m || got[j] !~ pattern(want[i])) return 0
				i++; j++
			}
			return j > m
		}
	' "$1" "$2"
}

# `clean_env CMD...`: CMD as a learner's shell would run it: none of
# make's or bats's variables (a make of its own would say "Entering
# directory", a bats of its own would find bats's internals), and bats's
# own directories out of PATH.  The test lock is passed on: the run that
# started this one holds it (tests/lock.bash).  So is WERROR: the tree
# was built with it (CI), and a make without it would rebuild every step
# for its changed flags, printing the compiler's command line.
clean_env() {
	local path
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	env -i PATH="$path" HOME="${HOME:-/root}" TERM="${TERM:-dumb}" \
		${TESTS_LOCKED:+TESTS_LOCKED=1} ${WERROR:+WERROR="$WERROR"} "$@"
}

check_console() {
	local section=$1 block bad=0 script expected actual
	split_blocks console "$section"
	for block in $(find "$work" -type f ! -name '*.marker' -printf '%f\n' | sort -n); do
		script=$work/$block.sh
		expected=$work/$block.expected
		actual=$work/$block.actual
		# Each command echoes a marker first, so that the output can be
		# cut into what each command printed.
		awk -v root="$(id -u)" '
			BEGIN { print "exec 2>&1" }
			/^\$ / { cmd = substr($0, 3); if (root == 0) sub(/^sudo /, "", cmd)
				print "echo \"@@cmd " ++k "\""; print cmd; next }
		' "$work/$block" >"$script"
		awk '/^\$ / { print "@@cmd " ++k; next } { print }' "$work/$block" >"$expected"
		(cd "$repo" && clean_env bash "$script") >"$actual" 2>&1 || true
		if ! matches "$expected" "$actual"; then
			echo "TUTORIAL.md:$block: the console block does not print what it shows." >&2
			echo "--- shown" >&2
			cat "$expected" >&2
			echo "--- printed" >&2
			cat "$actual" >&2
			bad=1
		fi
	done
	return "$bad"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case ${1-} in
diffs) check_diffs "${2-}" ;;
files) check_files ;;
console) check_console "${2:?section number}" ;;
*)
	echo "usage: lab/tutorial.sh diffs [--fix] | files | console N" >&2
	exit 2
	;;
esac
