#!/usr/bin/env bash
# Draw each running container as the host sees it: its processes, with
# their PIDs on the host and inside; its namespaces; its root, hostname,
# mounts and cgroup.  A container is an ordinary process with a
# restricted view: each part names the command that shows it ($ ...),
# so that you can run it yourself.
#
# usage: sudo common/look.sh [PID]      (make look [PID=N])
#   PID              look at that process (and its container) only
#   LOOK_HOST_PID=N  what counts as "the host": process N's view
#                    (default 1; the tests use their own shell's)
# Exit status: 0 drew the containers, or said none is running;
#              1 not root; 2 a bad command line or no such process.
set -euo pipefail

KINDS=(uts pid mnt net ipc user cgroup)
HOST=${LOOK_HOST_PID:-1}
if [[ $# -gt 1 || ! ${1-0} =~ ^[0-9]+$ ]]; then
	echo "usage: sudo common/look.sh [PID]   (or: sudo make look [PID=N])" >&2
	exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "look: run as root, to see every process's namespaces: sudo make look" >&2
	exit 1
fi
DIM='' OFF=''
[[ -t 1 && -z ${NO_COLOR-} ]] && DIM=$'\e[2m' OFF=$'\e[0m'

# `fit TEXT WIDTH`: TEXT, cut to WIDTH columns.
fit() { if ((${#1} > $2)); then echo "${1:0:$2-3}..."; else echo "$1"; fi; }
# A file's contents, or "?" if it is gone (its process ended meanwhile).
get() { cat "$1" 2>/dev/null || echo '?'; }
# `part TITLE COMMAND`: a part's title, and on the right, dim, its command.
part() { printf '  %s%*s%s$ %s%s\n' "$1" $((76 - ${#1} - ${#2})) '' "$DIM" "$2" "$OFF"; }
# `row LABEL TEXT [FILES]`: a line of a part (FILES: the files it reads).
row() {
	local line
	if [[ -z $1 ]]; then line="    $2"; else line=$(printf '    %-6s %-24s %s' "$1" "$2" "${3-}"); fi
	line=${line%"${line##*[! ]}"} # no trailing blanks
	fit "$line" 80
}

# What makes a process a container: a PID or UTS namespace, or a root
# directory, of its own (a root by its inode: a pivot_root()ed one is
# "/" by name).  Not a mount, network... namespace alone: systemd gives
# services those (PrivateTmp=, PrivateNetwork=); on a laptop, they are
# a dozen "containers" that this lesson's are not.
view() { stat -L -c %d:%i "/proc/$1/ns/pid" "/proc/$1/ns/uts" "/proc/$1/root/" 2>/dev/null; }

# Every process: its parent and its view.  Kernel threads (kthreadd,
# PID 2, and its children) have no view to look at.
declare -A PARENT=() VIEW=() KIDS=() TOP=()
for dir in /proc/[0-9]*; do
	pid=${dir#/proc/}
	{ read -r stat <"$dir/stat"; } 2>/dev/null || continue # gone meanwhile
	read -r _ ppid _ <<<"${stat##*) }"                 # after "(comm) "
	[[ $pid != 2 && $ppid != 2 ]] || continue
	v=$(view "$pid") || continue
	VIEW[$pid]=$v PARENT[$pid]=$ppid KIDS[$ppid]+=" $pid"
done
# Where PID 1 keeps its namespaces from us (in a sandbox, as a VM's
# agent may), the host is this tool's own view: it runs on the host.
[[ -n ${LOOK_HOST_PID-} || -n ${VIEW[1]-} ]] || HOST=$$
if [[ -z ${VIEW[$HOST]-} ]]; then
	echo "look: no process $HOST to compare with (LOOK_HOST_PID)" >&2
	exit 2
fi
host=${VIEW[$HOST]}
kids() { tr ' ' '\n' <<<"${KIDS[$1]-}" | sed '/^$/d' | sort -n; }
args() { tr '\0\n\t' '   ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ $//'; }

# TOP[C]=T: C is a container's first process, T the program that started
# it.  C's view is not the host's, T's is.  Not when T is systemd: what
# it starts in a namespace of its own is a service with a sandbox
# (ProtectHostname=, RootDirectory=), not a container program's work.  Step 1's program makes no
# namespace: `container run ...` with a child is one too, T its child C.
# Not this tool's own: a process it runs in (its view is the one it has).
own=" $$ " a=$$
while [[ -n ${PARENT[$a]-} ]]; do a=${PARENT[$a]} own+="$a "; done
for pid in $(printf '%s\n' "${!PARENT[@]}" | sort -n); do
	if [[ $# -eq 1 ]]; then
		[[ $pid == "$1" ]] || continue
		c=$pid # up to the first process with a view of its own
		while [[ -n ${VIEW[${PARENT[$c]:-0}]-} && ${VIEW[${PARENT[$c]}]} != "$host" ]]; do
			c=${PARENT[$c]}
		done
		if [[ ${VIEW[$c]} != "$host" || -z ${KIDS[$c]-} ]]; then TOP[$c]=${PARENT[$c]}
		else TOP[$(kids "$c" | head -n 1)]=$c; fi
	elif [[ ${VIEW[$pid]} != "$host" && ${VIEW[${PARENT[$pid]}]-} == "$host" &&
		$(get "/proc/${PARENT[$pid]}/comm") != systemd && $own != *" $pid "* ]]; then
		TOP[$pid]=${PARENT[$pid]}
	elif [[ ${VIEW[$pid]} == "$host" && $(get "/proc/$pid/comm") == container &&
		$(args "$pid") =~ ^[^\ ]+\ run\  && -n ${KIDS[$pid]-} ]]; then
		first=$(kids "$pid" | head -n 1)
		[[ ${VIEW[$first]} == "$host" ]] && TOP[$first]=$pid
	fi
done
if [[ $# -eq 1 && ${#TOP[@]} -eq 0 ]]; then
	echo "look: no process $1 (usage: sudo common/look.sh [PID])" >&2
	exit 2
fi
if [[ ${#TOP[@]} -eq 0 ]]; then
	echo "No container is running.  Start one in another terminal:"
	echo "    sudo step3-pid/container run sh"
	echo "and run this again.  To look at any process: sudo make look PID=N"
	exit 0
fi

# `process PID LEAD`: PID's command line, and its PIDs on the host and
# inside (the last of NSpid: its PIDs from the host's namespace inwards).
process() {
	local inside text
	inside=$(awk '/^NSpid:/ && NF > 2 { print ", inside " $NF }' "/proc/$1/status" 2>/dev/null) || true
	text=$(args "$1") || true
	text=$(fit "${text:-[gone]}" $((80 - ${#2} - ${#1} - ${#inside} - 8)))
	printf '%s%s (host %s%s)\n' "$2" "$text" "$1" "$inside"
}
# `tree PID LEAD BRANCH`: PID's line, then its children's below it.
tree() {
	local kid last
	process "$1" "$2$3"
	case $3 in '|- ') set -- "$1" "$2|  " ;; '`- ') set -- "$1" "$2   " ;; esac
	last=$(kids "$1" | tail -n 1)
	for kid in $(kids "$1"); do
		if [[ $kid == "$last" ]]; then tree "$kid" "$2" '`- '; else tree "$kid" "$2" '|- '; fi
	done
}

# `cgroup_dir PID CONTROLLER`: the directory of PID's cgroup.  v2: one
# tree; v1 (and "hybrid"): a tree per controller, /sys/fs/cgroup/NAME.
V2=0
[[ -e /sys/fs/cgroup/cgroup.controllers ]] && V2=1
cgroup_dir() {
	awk -F: -v v2=$V2 -v c="$2" '{ p = $3; for (i = 4; i <= NF; i++) p = p ":" $i }
		v2 && $1 == 0 { print "/sys/fs/cgroup" p }
		!v2 && ("," $2 ",") ~ ("," c ",") { print "/sys/fs/cgroup/" c p }' "/proc/$1/cgroup"
}
# Bytes in MiB; v1 says "no limit" with a huge number, v2 with "max".
mib() { awk -v b="$1" 'BEGIN { if (b == "max" || b > 2^60) print "no limit"
	else printf "%.1f MiB\n", b / 2^20 }'; }

# `cgroup C T`: C's cgroup, its limits and what it uses.
cgroup() {
	if [[ $(get "/proc/$1/cgroup") == "$(get "/proc/$2/cgroup")" ]]; then
		row "" "the same as process $2's: no limits of its own"
		return
	fi
	local pids mem cpu acct memf cpu_max cpuf used usedf
	pids=$(cgroup_dir "$1" pids) mem=$(cgroup_dir "$1" memory) cpu=$(cgroup_dir "$1" cpu)
	if ((V2)); then
		row dir "$pids"
		memf=(memory.current memory.max) cpu_max=$(get "$cpu/cpu.max") cpuf=cpu.max
		used=$(awk '$1 == "usage_usec" { printf "%.2f s", $2 / 1e6 }' "$cpu/cpu.stat")
		usedf="cpu.stat: usage_usec"
	else # a directory in each controller's tree, the same path in each
		if [[ ${mem#*/memory} == "${pids#*/pids}" && ${cpu#*/cpu} == "${pids#*/pids}" ]]; then
			row dir "/sys/fs/cgroup/{pids,memory,cpu}${pids#*/pids}"
		else
			row pids "$pids" && row memory "$mem" && row cpu "$cpu"
		fi
		memf=(memory.usage_in_bytes memory.limit_in_bytes) cpuf="cpu.cfs_quota_us, cpu.cfs_period_us"
		cpu_max="$(get "$cpu/cpu.cfs_quota_us") $(get "$cpu/cpu.cfs_period_us")"
		# cpuacct counts the time: in cpu's tree ("cpu,cpuacct"), or in
		# its own, if the container program put it in a cgroup there too.
		acct=$(cgroup_dir "$1" cpuacct)
		used="not counted: no cpuacct cgroup of its own" usedf=
		[[ ${acct#*/cpuacct} != "${cpu#*/cpu}" ]] ||
			used=$(awk '{ printf "%.2f s", $1 / 1e9 }' "$acct/cpuacct.usage") usedf=cpuacct.usage
	fi
	row tasks "$(get "$pids/pids.current") of $(get "$pids/pids.max")" "pids.current, pids.max"
	row memory "$(mib "$(get "$mem/${memf[0]}")") of $(mib "$(get "$mem/${memf[1]}")")" \
		"${memf[0]}, .${memf[1]#memory.}"
	row CPU "$(awk -v q="${cpu_max% *}" -v p="${cpu_max#* }" 'BEGIN {
		if (q == "max" || q < 0) print "no limit"; else printf "%.2f of a CPU\n", q / p }')" "$cpuf"
	row used "$used" "$usedf"
}

# `container C T`: the container whose first process is C, started by T.
n=0
container() {
	local type ns mine='' hosts='' host_mounts dev root target fs source new=''
	declare -A host_ns its_ns
	echo "Container $((++n)) of ${#TOP[@]}: process $1, started by process $2"
	part "processes (host PID, PID inside)" "grep NSpid /proc/$1/status"
	process "$2" "    "
	tree "$1" "    " '`- '
	part "namespaces, compared with the host's (PID $HOST)" "lsns -p $1"
	while read -r type ns; do host_ns[$type]=$ns; done < <(lsns -p "$HOST" -n -o TYPE,NS)
	while read -r type ns; do its_ns[$type]=$ns; done < <(lsns -p "$1" -n -o TYPE,NS)
	for type in "${KINDS[@]}"; do
		if [[ ${its_ns[$type]-} == "${host_ns[$type]-}" ]]; then hosts+=" $type"
		else mine+=" $type"; fi
	done
	row own "${mine:- (none)}"
	row "host's" "${hosts:- (none)}"
	part "root directory" "readlink /proc/$1/root"
	if [[ $(stat -L -c %d:%i "/proc/$1/root/") == "$(stat -L -c %d:%i "/proc/$HOST/root/")" ]]; then
		row "" "$(readlink "/proc/$1/root"): the host's"
	else
		row "" "$(readlink "/proc/$1/root"): its own"
	fi
	if [[ " $mine " == *" uts "* ]]; then
		part "hostname" "nsenter -u -t $1 hostname"
		row "" "$(nsenter -u -t "$1" hostname)"
	fi
	# A mount by what it mounts (device, and directory in it): its
	# place is relative to the process's root, and its ID is new in a
	# new mount namespace.
	part "mounts the host does not have" "findmnt -N $1"
	if [[ " $mine " != *" mnt "* ]]; then
		row "" "none: it shares the host's mount table"
		return
	fi
	host_mounts=$(findmnt -N "$HOST" -rn -o MAJ:MIN,FSROOT)
	while read -r dev root target fs source; do
		if ! grep -qxF "$dev $root" <<<"$host_mounts"; then
			fit "$(printf '    %-12s %-8s %s' "$target" "$fs" "$source")" 80
			new=1
		fi
	done < <(findmnt -N "$1" -rn -o MAJ:MIN,FSROOT,TARGET,FSTYPE,SOURCE)
	[[ -n $new ]] || row "" "none"
}

for c in $(printf '%s\n' "${!TOP[@]}" | sort -n); do
	((n == 0)) || echo
	container "$c" "${TOP[$c]}"
	part "cgroup" "cat /proc/$c/cgroup"
	cgroup "$c" "${TOP[$c]}"
done
