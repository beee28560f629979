#!/usr/bin/env bash
# make trace-stepN: the system calls with which step N builds its container, one a line, as
# `strace -f` sees it run /bin/true (the whole trace stays in build/trace/stepN.strace); then what
# step N adds to step N-1's, and drops.  The same on every run and machine (but the cgroup
# version), musl or glibc: PIDs become roles, the repository <repo>, return values go but errors.
# usage: common/trace.sh N   (N = 1..7, as root; make trace-stepN builds first)
set -euo pipefail

n=${1-}
[[ $n =~ ^[1-7]$ ]] || { echo "usage: common/trace.sh N   (N = 1..7)" >&2; exit 2; }
die() { echo "trace: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root, as the containers do (run: sudo make trace-step$n)"
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
steps=(step[1-9]-*)
command -v strace >/dev/null || die "strace not found (Debian, Ubuntu: sudo apt-get install strace)"
mkdir -p build/trace
# `trace N`: step N's calls, even if it failed (the error is in the list): "ROLE  CALL", ROLE
# container (the program), child or init (its clone()'s; init if PID 1 of a new PID namespace) or
# command (/bin/true, forked).  strace -f starts each line with the PID, and splits a call another
# process interrupts: "call(args <unfinished ...>", then "<... call resumed>rest".
trace() {
	local bin=${steps[$1 - 1]}/container raw=build/trace/step$1.strace status=0
	[[ -x $bin ]] || die "no $bin: run make step$1"
	# -qq: no "exited" lines; -y: a file descriptor with its path.
	strace -f -qq -y -s 256 -e signal=none -o "$raw" "$bin" run /bin/true >"$work/out" 2>&1 ||
		status=$?
	awk -v repo="$repo" '
	function child_kind(call) { # "command": fork(), or glibc'"'"'s, clone() without CLONE_NEW*
		return call ~ /CLONE_NEWPID/ ? "init" : call ~ /CLONE_NEW/ ? "child" : "command"
	}
	function quoted(s) { # the first "string" in s, without its quotes
		return match(s, /"[^"]*"/) ? substr(s, RSTART + 1, RLENGTH - 2) : ""
	}
	{
		pid = $1
		line = $0
		sub(/^[0-9]+ +/, "", line)
		# A process is known by the oldest creating call whose child has not
		# shown up yet: inside a PID namespace, fork() returns 2, not its PID.
		if (!(pid in role))
			role[pid] = seen++ ? kinds[++born] : "container"
		if (sub(/^<\.\.\. [a-z0-9_]+ resumed>/, "", line)) {
			text[slot[pid]] = text[slot[pid]] line
			next
		}
		text[++lines] = line # kept where it started: a clone() comes before its child
		who[lines] = pid
		if (sub(/ <unfinished \.\.\.>$/, "", text[lines]))
			slot[pid] = lines
		if (line ~ /^(clone|clone3|fork|vfork)\(/)
			kinds[++made] = kind[lines] = child_kind(line)
	}
	END {
		cpid = who[1]
		for (i = 2; i <= lines; i++) { # 1: strace starting the program
			p = who[i]; call = text[i]
			if (done[p]) continue # what /bin/true does is not the lesson
			name = substr(call, 1, index(call, "(") - 1)
			error = out = ""
			if (match(call, / += [^=]*$/)) { # " = RESULT", padded, goes; but an error
				result = substr(call, RSTART)
				call = substr(call, 1, RSTART - 1)
				if (sub(/^ += -1 /, " = -1 ", result)) error = result
			}
			if (name ~ /^(clone|clone3|fork|vfork)$/) {
				flags = ""
				if (match(call, /flags=[A-Z0-9_|]+/))
					flags = substr(call, RSTART + 6, RLENGTH - 6)
				if (match(call, /exit_signal=[A-Z0-9]+/)) # clone3
					flags = flags "|" substr(call, RSTART + 12, RLENGTH - 12)
				out = kind[i] == "command" ? "fork()" : "clone(" flags ")"
				if (!error) out = out " = " kind[i]
			} else if (name == "execve") {
				if (!error) done[p] = 1
				out = call
				sub(/, 0x[0-9a-f]+ \/\*.*\*\/\)$/, ")", out) # the environment
			} else if (match(call, /^write\([0-9]+<\/(sys|proc)\/[^>]*>, /)) {
				# Only to the kernel'"'"'s files: the narration goes to stderr.
				out = call
				sub(/^write\([0-9]+</, "write ", out)
				sub(/>, /, " ", out)
				sub(/, [0-9]+\)$/, "", out)
			} else if (name ~ /^open/ && error && call ~ /O_WRONLY|O_RDWR/ &&
				   quoted(call) ~ /^\/(sys|proc)\//) {
				out = "open " quoted(call) # a file to write that is not there
			} else if (name ~ /^mkdir/) { # or mkdirat, as glibc may
				made_dir[quoted(call)] = 1 # rmdir: only these, not stale ones
				mode = substr(call, match(call, /[^ ]+$/))
				out = "mkdir(\"" quoted(call) "\", " mode
			} else if (name == "rmdir" || call ~ /^unlinkat\(.*AT_REMOVEDIR/) {
				if (made_dir[quoted(call)]) out = "rmdir(\"" quoted(call) "\")"
			} else if (name ~ /^(unshare|setns|sethostname|chroot|pivot_root|chdir)$/ ||
				   name ~ /^(mount|umount2|prctl)$/) {
				out = call
			}
			if (out == "") continue
			while ((j = index(out, repo "/")) > 0) # as text, not a regex
				out = substr(out, 1, j - 1) "<repo>/" substr(out, j + length(repo) + 1)
			gsub("container-" cpid "/", "container-<PID>/", out)
			gsub("container-" cpid "\"", "container-<PID>\"", out)
			printf "%-10s %s%s\n", role[p], out, error
		}
	}' "$raw"
	((status == 0)) ||
		die "strace -f $bin run /bin/true exited with $status:"$'\n'"$(<"$work/out")"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "strace -f ${steps[n - 1]}/container run /bin/true: the calls that build the container"
trace "$n" | tee "$work/this"
((n > 1)) || exit 0
trace $((n - 1)) >"$work/prev"
echo
echo "What step $n adds (+) to step $((n - 1)), and drops (-):"
# Compared without the roles (step 3's child becomes the init, same sethostname), shown with them.
diff --unchanged-line-format= --old-line-format=$'- %dn\n' --new-line-format=$'+ %dn\n' \
	<(sed 's/^[^ ]* *//' "$work/prev") <(sed 's/^[^ ]* *//' "$work/this") |
	awk 'FILENAME == ARGV[1] { old[FNR] = $0; next } FILENAME == ARGV[2] { new[FNR] = $0; next }
		{ print $1, ($1 == "-" ? old[$2] : new[$2]) }' "$work/prev" "$work/this" - || (($? == 1))
