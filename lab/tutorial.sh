#!/usr/bin/env bash
# Keeps TUTORIAL.md true to the code.  lab/tutorial.sh ...
#   diffs [--fix]  each ```diff block is the real `diff -u A B` it names
#   files          a block after <!-- file: PATH --> is that file; after <!-- excerpt: PATH
#                  FUNCTION... --> those functions
#   console N      the ```console blocks of "## Step N" (0: the rest) print what they show
# Console blocks: "$ CMD" lines run (no "sudo " as root), a block in one bash at the top, the lines
# after are its output.  <N> any number, <host> the hostname, <...> any text, "..." alone any
# lines; runs of spaces count as one.  "**Terminal 1**" then "**Terminal 2**": 1's command runs
# in the background, fed the lines after its prompts ("# ", "/ # ") by a FIFO; once it shows all
# but the last, 2's block runs, then the last line goes (say, exit).
set -euo pipefail

cd "$(dirname "$0")/.."
tutorial=$PWD/TUTORIAL.md prompt='^([^ ]+ )?# '

# `split_blocks KIND [SECTION]`: blocks to $work/LINE, each one's marker (or -) to LINE.marker.
split_blocks() {
	awk -v kind="$1" -v want="${2-}" -v work="$work" '
		/^## / { section = /^## Step [0-9]+/ ? $3 + 0 : 0 }
		/^<!-- file: .* -->$/ { marker = $3 }
		/^<!-- excerpt: .* -->$/ { marker = "excerpt"; for (i = 3; i < NF; i++) marker = marker ":" $i }
		/^\*\*Terminal [12]\*\*/ { marker = "t" substr($2, 1, 1) }
		/^```/ && !inside { inside = 1; k = substr($0, 4); k = k == "" ? "text" : k
			out = k == kind && (want == "" || section == want + 0) ? work "/" NR + 1 : ""
			if (out != "") {
				print (marker == "" ? "-" : marker) >(out ".marker"); close(out ".marker"); printf "" >out
			}
			marker = ""; next }
		/^```$/ && inside { inside = 0; if (out != "") close(out); next }
		inside && out != "" { print >out }
	' "$tutorial"
}
blocks() { find "$work" -name '*.marker' -printf '%f\n' | sed 's/[.]marker$//' | sort "$@"; }

check_diffs() {
	local block from to bad=0
	split_blocks diff
	# Bottom up, so that --fix does not move the blocks still to do.
	for block in $(blocks -rn); do
		from=$(sed -n '1s/^--- //p' "$work/$block") to=$(sed -n '2s/^+++ //p' "$work/$block")
		if [[ ! -f $from || ! -f $to ]]; then
			echo "TUTORIAL.md:$block: a diff block must start with '--- FILE' and '+++ FILE'" >&2
			bad=1 && continue
		fi
		# The headers without timestamps, as the tutorial shows them.
		diff -u "$from" "$to" | sed '1,2s/\t.*//' >"$work/new" || true
		cmp -s "$work/new" "$work/$block" && continue
		if [[ ${1-} == --fix ]]; then
			sed -i -e "$((block - 1))r $work/new" -e "$block,/^\`\`\`\$/{/^\`\`\`\$/!d}" "$tutorial"
			echo "TUTORIAL.md:$block: updated the diff of $from and $to"
		else
			echo "TUTORIAL.md:$block: not the diff of $from and $to (lab/tutorial.sh diffs --fix):" >&2
			diff -u "$work/$block" "$work/new" >&2 || bad=1
		fi
	done
	return "$bad"
}

# `excerpt FILE FUNCTION...`: each function in FILE with the comment above it.
excerpt() {
	local file=$1 fn
	for fn in "${@:2}"; do
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
	for block in $(blocks -n); do
		path=$(<"$work/$block.marker") expected=$path
		[[ $path != - && $path != t? ]] || continue
		if [[ $path == excerpt:* ]]; then
			IFS=: read -ra words <<<"${path#excerpt:}"
			expected=$work/$block.excerpt
			excerpt "${words[@]}" >"$expected"
			path="${words[0]}: ${words[*]:1}"
		fi
		cmp -s "$expected" "$work/$block" && continue
		echo "TUTORIAL.md:$block: not the contents of $path:" >&2
		diff -u "$work/$block" "$expected" >&2 || bad=1
	done
	return "$bad"
}

# `matches EXPECTED ACTUAL`: compare line by line, with the notation above.
matches() {
	HOST_RE=$(hostname | sed 's/[.]/[.]/g') awk '
		function squeeze(s) { gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
		function pattern(s) {
			s = squeeze(s)
			gsub(/[][\\.^$*+?(){}|\/]/, "\\\\&", s)
			gsub(/<N>/, "[0-9]+", s); gsub(/<\\.\\.\\.>/, ".*", s); gsub(/<host>/, ENVIRON["HOST_RE"], s)
			return "^" s "$"
		}
		function match_from(i, j,    k) {
			for (; i <= n; i++) {
				if (want[i] == "...") {
					for (k = j; k <= m + 1; k++) if (match_from(i + 1, k)) return 1
					return 0
				}
				if (j > m || got[j++] !~ pattern(want[i])) return 0
			}
			return j > m
		}
		NR == FNR { want[++n] = $0; next }
		{ got[++m] = squeeze($0) }
		END { exit !match_from(1, 1) }
	' "$1" "$2"
}

# `shown WHAT EXPECTED ACTUAL`: compare, and say how they differ.
shown() {
	matches "$2" "$3" && return
	printf 'TUTORIAL.md:%s does not print what it shows.\n--- shown\n' "$1" >&2
	cat "$2" >&2 && echo "--- printed" >&2 && cat "$3" >&2
	return 1
}

# `clean_env CMD...`: CMD as a learner's shell runs it, without make's or bats's variables
# or bats in PATH.  Passed on: the test lock (held by our caller), WERROR (else make
# rebuilds every step, printing the compiler's line), and the host's PID, for `make look`.
clean_env() {
	env -i PATH="$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)" \
		HOME="${HOME:-/root}" TERM="${TERM:-dumb}" LOOK_HOST_PID=$$ \
		${TESTS_LOCKED:+TESTS_LOCKED=1} ${WERROR:+WERROR="$WERROR"} "$@"
}

# `run_block BLOCK`: run its commands, each after a marker line, and compare.
run_block() {
	local b=$work/$1
	awk -v root="$(id -u)" 'BEGIN { print "exec 2>&1" }
		/^\$ / { cmd = substr($0, 3); if (root == 0) sub(/^sudo /, "", cmd)
			print "echo \"@@cmd " ++k "\""; print cmd }' "$b" >"$b.sh"
	awk '/^\$ / { print "@@cmd " ++k; next } 1' "$b" >"$b.expected"
	clean_env bash "$b.sh" >"$b.actual" 2>&1 || true
	shown "$1: the console block" "$b.expected" "$b.actual"
}

# `run_pair T1 T2`: play two terminals' blocks, as said at the top.
run_pair() {
	local t=$work/$1 last cmd i bad=0
	cmd=$(sed -n '1s/^\$ //p' "$t") last=$(grep -nE "$prompt" "$t" | tail -n 1 | cut -d: -f1)
	[[ $(id -u) -ne 0 ]] || cmd=${cmd#sudo }
	sed -n "2,$((last - 1))p" "$t" | grep -vE "$prompt" >"$t.before" || true
	sed 1d "$t" | grep -vE "$prompt" >"$t.expected" || true
	mkfifo "$t.in"
	clean_env timeout -k 5 60 bash -c "$cmd" <"$t.in" >"$t.actual" 2>&1 &
	exec 3>"$t.in"
	sed -n "2,$((last - 1))p" "$t" | sed -nE "s/$prompt//p" >&3
	for ((i = 0; i < 100; i++)); do ! matches "$t.before" "$t.actual" || break; sleep 0.1; done
	run_block "$2" || bad=1
	sed -n "${last}p" "$t" | sed -nE "s/$prompt//p" >&3
	exec 3>&-
	wait # for terminal 1, the one job
	shown "$1: terminal 1" "$t.expected" "$t.actual" && return "$bad"
}

check_console() {
	local block t1='' bad=0
	split_blocks console "$1"
	for block in $(blocks -n); do
		case $(<"$work/$block.marker") in
		t1) t1=$block ;;
		t2) run_pair "$t1" "$block" || bad=1 ;;
		*) run_block "$block" || bad=1 ;;
		esac
	done
	return "$bad"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case ${1-} in
diffs) check_diffs "${2-}" ;;
files) check_files ;;
console) check_console "${2:?section number}" ;;
*) echo "usage: lab/tutorial.sh diffs [--fix] | files | console N" >&2 && exit 2 ;;
esac
