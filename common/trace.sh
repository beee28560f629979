#!/usr/bin/env bash
# make trace-stepN: the system calls with which step N builds its
# container, as strace sees them, one a line; then what step N adds to
# step N-1's and what it drops.  A step is only a few calls: this shows
# them, without the C library's own.
#
# usage: common/trace.sh N      (N = 1..7, as root; make trace-stepN
#                               builds the programs and rootfs/ first)
#
# Each step runs `/bin/true` (a command that does nothing) under
# `strace -f`; the whole trace stays in build/trace/stepN.strace.  The
# list is the same from run to run and from machine to machine (but for
# the cgroup version, in step 7), and with musl or glibc: PIDs become
# roles, paths under the repository start with <repo>, and return values
# are left out except for errors.
set -euo pipefail

n=${1-}
[[ $n =~ ^[1-7]$ ]] || { echo "usage: common/trace.sh N   (N = 1..7)" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
	echo "trace: needs root, as the containers do (run: sudo make trace-step$n)" >&2
	exit 1
fi

repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
steps=(step[1-9]-*)
command -v strace >/dev/null || {
	echo "trace: strace not found (Debian, Ubuntu: sudo apt-get install strace)" >&2
	exit 1
}
mkdir -p build/trace

# The lesson's calls, one a line: "ROLE  CALL".  The roles: container
# (the program), child or init (what its clone() starts; init when it is
# PID 1 of a new PID namespace) and command (/bin/true, once it forked).
# strace -o with -f starts each line with the PID, and splits a call
# that another process's calls interrupt in two: "call(args <unfinished
# ...>" and, later, "<... call resumed>rest".
lesson() {
	awk -v repo="$repo" '
	# A process is known by the call that made it: the oldest creating
	# call whose child has not yet shown up.  (A PID will not do: inside
	# a PID namespace fork() returns the namespace'"'"'s PID, 2.)
	function child_kind(call) {
		if (call ~ /CLONE_NEWPID/) return "init"
		if (call ~ /CLONE_NEW/) return "child"
		return "command" # fork(), or glibc'"'"'s fork: clone() without CLONE_NEW*
	}
	function replace(s, from, to,    i, out) {
		while ((i = index(s, from)) > 0) {
			out = out substr(s, 1, i - 1) to
			s = substr(s, i + length(from))
		}
		return out s
	}
	function quoted(s) { # the first "string" in s, without its quotes
		return match(s, /"[^"]*"/) ? substr(s, RSTART + 1, RLENGTH - 2) : ""
	}
	{
		pid = $1
		line = $0
		sub(/^[0-9]+ +/, "", line)
		if (!(pid in role))
			role[pid] = seen++ ? kinds[++born] : "container"
		if (sub(/^<\.\.\. [a-z0-9_]+ resumed>/, "", line)) {
			text[slot[pid]] = text[slot[pid]] line
			next
		}
		# Kept where it started, so that a clone() comes before its child.
		text[++lines] = line
		who[lines] = pid
		if (sub(/ <unfinished \.\.\.>$/, "", text[lines]))
			slot[pid] = lines
		if (line ~ /^(clone|clone3|fork|vfork)\(/)
			kinds[++made] = kind[lines] = child_kind(line)
	}
	END {
		cpid = who[1]
		for (i = 2; i <= lines; i++) { # 1: strace starting the program
			p = who[i]
			if (done[p]) continue # what /bin/true does is not the lesson
			call = text[i]
			name = call
			sub(/\(.*/, "", name)
			# " = RESULT" goes, unless an error: "= -1 ENOENT (...)".
			result = ""
			if (match(call, / += [^=]*$/)) { # strace pads " = " to a column
				result = substr(call, RSTART)
				sub(/^ += /, "", result)
				call = substr(call, 1, RSTART - 1)
			}
			error = result ~ /^-1 / ? " = " result : ""
			out = ""
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
				sub(/, 0x[0-9a-f]+ \/\*.*\*\/\)$/, ")", call) # the environment
				out = call
			} else if (name == "write" && call ~ /^write\([0-9]+<\/(sys|proc)\//) {
				# Narration goes to stderr: only writes to the kernel'"'"'s files.
				path = call
				sub(/^write\([0-9]+</, "", path)
				sub(/>.*/, "", path)
				value = call
				sub(/^write\([0-9]+<[^>]*>, /, "", value)
				sub(/, [0-9]+\)$/, "", value)
				out = "write " path " " value
			} else if (name ~ /^open/ && error && call ~ /O_WRONLY|O_RDWR/ &&
				   quoted(call) ~ /^\/(sys|proc)\//) {
				out = "open " quoted(call) # a file to write that is not there
			} else if (name ~ /^mkdir/) { # mkdir or mkdirat: glibc may use either
				made_dir[quoted(call)] = 1
				mode = call
				sub(/.*, /, "", mode)
				out = "mkdir(\"" quoted(call) "\", " mode
			} else if (name == "rmdir" || call ~ /^unlinkat\(.*AT_REMOVEDIR/) {
				# Only what it made here, not a stale cgroup of another run.
				if (made_dir[quoted(call)]) out = "rmdir(\"" quoted(call) "\")"
			} else if (name ~ /^(unshare|setns|sethostname|chroot|pivot_root|chdir|mount|umount2|prctl)$/) {
				out = call
			}
			if (out == "") continue
			out = replace(out, repo "/", "<repo>/")
			out = replace(out, "container-" cpid "/", "container-<PID>/")
			out = replace(out, "container-" cpid "\"", "container-<PID>\"")
			printf "%-10s %s%s\n", role[p], out, error
		}
	}'
}

# `trace N`: run step N's container under strace; print its list.
trace() {
	local bin=${steps[$1 - 1]}/container raw=build/trace/step$1.strace
	local status=0
	[[ -x $bin ]] || { echo "trace: no $bin: run make step$1" >&2; exit 1; }
	: >"$raw"
	# -qq: no "exited" lines; -y: a file descriptor with its path.
	strace -f -qq -y -s 256 -e signal=none -o "$raw" "$bin" run /bin/true >"$work/out" 2>&1 ||
		status=$?
	# Even when it failed: the error is in the list.
	lesson <"$raw"
	if ((status != 0)); then
		echo "trace: strace -f $bin run /bin/true exited with $status:" >&2
		cat "$work/out" >&2
		exit 1
	fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "strace -f ${steps[n - 1]}/container run /bin/true: the calls that build the container"
trace "$n" | tee "$work/this"
((n > 1)) || exit 0

# Compared without the roles: in step 3 the clone() child becomes the
# init, and the line "sethostname" stays the same.
trace $((n - 1)) >"$work/prev"
echo
echo "What step $n adds (+) to step $((n - 1)), and drops (-):"
# diff gives the numbers of the lines that differ (status 1: some do);
# print those lines in full.
sed 's/^[^ ]* *//' "$work/prev" >"$work/prev.calls"
sed 's/^[^ ]* *//' "$work/this" >"$work/this.calls"
diff --unchanged-line-format= --old-line-format=$'- %dn\n' --new-line-format=$'+ %dn\n' \
	"$work/prev.calls" "$work/this.calls" >"$work/changes" || (($? == 1))
awk 'FILENAME == ARGV[1] { old[FNR] = $0; next } FILENAME == ARGV[2] { new[FNR] = $0; next }
	{ print $1, ($1 == "-" ? old[$2] : new[$2]) }' "$work/prev" "$work/this" "$work/changes"
