#!/usr/bin/env bash
# Draw each running container (or PID's only) as the host sees it: processes,
# namespaces, root, hostname, mounts, cgroup; each part with the command that
# shows it ($ ...).  LOOK_HOST_PID=N: "the host" is process N's view (default 1).
# Exit status: 0 drew them, or said none runs; 1 not root; 2 bad usage or PID.
set -euo pipefail

HOST=${LOOK_HOST_PID:-1}
[[ $# -le 1 && ${1-0} =~ ^[0-9]+$ ]] ||
	{ echo "usage: sudo common/look.sh [PID]   (or: sudo make look [PID=N])" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] ||
	{ echo "look: run as root, to see every process's namespaces: sudo make look" >&2; exit 1; }
DIM='' OFF=''
[[ -t 1 && -z ${NO_COLOR-} ]] && DIM=$'\e[2m' OFF=$'\e[0m'

fit() { if ((${#1} > $2)); then echo "${1:0:$2-3}..."; else echo "$1"; fi; } # `fit TEXT WIDTH`
get() { cat "$1" 2>/dev/null || echo '?'; } # "?": gone (its process ended meanwhile)
args() { tr '\0\n\t' '   ' 2>/dev/null <"/proc/$1/cmdline" | sed 's/ $//'; }
# `part TITLE COMMAND`: a part's title, and on the right, dim, its command.
part() { printf '  %s%*s%s$ %s%s\n' "$1" $((76 - ${#1} - ${#2})) '' "$DIM" "$2" "$OFF"; }
row() { # `row LABEL TEXT [FILES]`: a line of a part (FILES: the files it reads)
	local line="    $2"
	[[ -z $1 ]] || line=$(printf '    %-6s %-24s %s' "$1" "$2" "${3-}")
	fit "${line%"${line##*[! ]}"}" 80 # no trailing blanks
}
# A container has a PID or UTS namespace, or a root (by inode: a pivot_root()ed
# one is "/"), of its own: systemd gives services the others (PrivateTmp=...).
view() { stat -L -c %d:%i "/proc/$1/ns/pid" "/proc/$1/ns/uts" "/proc/$1/root/" 2>/dev/null; }

# Every process but kernel threads (PID 2 and its children): its parent, its children, its view.
declare -A PARENT=() VIEW=() KIDS=() TOP=()
while read -r pid ppid; do
	[[ $pid != 2 && $ppid != 2 ]] || continue
	v=$(view "$pid") || continue # gone meanwhile
	VIEW[$pid]=$v PARENT[$pid]=$ppid KIDS[$ppid]+="$pid "
done < <(ps -e -o pid=,ppid=)
# Where PID 1 keeps its namespaces from us (a sandbox, as a VM's agent), the host is our own view.
[[ -n ${LOOK_HOST_PID-} || -n ${VIEW[1]-} ]] || HOST=$$
[[ -n ${VIEW[$HOST]-} ]] ||
	{ echo "look: no process $HOST to compare with (LOOK_HOST_PID)" >&2; exit 2; }
host=${VIEW[$HOST]}

# TOP[C]=T: C is a container's first process, T the program that started it:
# C's view is not the host's, T's is; T is not systemd (a service's sandbox),
# C not this tool's ancestor.  Step 1's `container run`'s child is one too.
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
		else TOP[${KIDS[$c]%% *}]=$c; fi
	elif [[ ${VIEW[$pid]} != "$host" && ${VIEW[${PARENT[$pid]}]-} == "$host" &&
		$(get "/proc/${PARENT[$pid]}/comm") != systemd && $own != *" $pid "* ]]; then
		TOP[$pid]=${PARENT[$pid]}
	elif [[ ${VIEW[$pid]} == "$host" && $(get "/proc/$pid/comm") == container &&
		$(args "$pid") =~ ^[^\ ]+\ run\  && -n ${KIDS[$pid]-} ]]; then
		first=${KIDS[$pid]%% *}
		[[ ${VIEW[$first]} == "$host" ]] && TOP[$first]=$pid
	fi
done
if [[ ${#TOP[@]} -eq 0 ]]; then
	[[ $# -eq 0 ]] || { echo "look: no process $1 (usage: sudo common/look.sh [PID])" >&2; exit 2; }
	printf '%s\n' "No container is running.  Start one in another terminal:" \
		"    sudo step3-pid/container run sh" \
		"and run this again.  To look at any process: sudo make look PID=N"
	exit 0
fi

process() { # `process PID LEAD`: its command line, PID on the host and inside
	local inside text
	inside=$(awk '/^NSpid:/ && NF > 2 { print ", inside " $NF }' "/proc/$1/status" 2>/dev/null) || true
	text=$(args "$1") || true
	text=$(fit "${text:-[gone]}" $((80 - ${#2} - ${#1} - ${#inside} - 8)))
	printf '%s%s (host %s%s)\n' "$2" "$text" "$1" "$inside"
}
tree() { # `tree PID LEAD BRANCH`: PID's line, then its children's below it
	local kid kids
	process "$1" "$2$3"
	case $3 in '|- ') set -- "$1" "$2|  " ;; '`- ') set -- "$1" "$2   " ;; esac
	read -ra kids <<<"${KIDS[$1]-}"
	for kid in "${kids[@]}"; do
		if [[ $kid == "${kids[-1]}" ]]; then tree "$kid" "$2" '`- '; else tree "$kid" "$2" '|- '; fi
	done
}
V2=0
[[ -e /sys/fs/cgroup/cgroup.controllers ]] && V2=1
cgroup_dir() { # `cgroup_dir PID CONTROLLER`: PID's cgroup (v1: a tree per controller)
	awk -F: -v v2=$V2 -v c="$2" '{ p = $3; for (i = 4; i <= NF; i++) p = p ":" $i }
		v2 && $1 == 0 { print "/sys/fs/cgroup" p }
		!v2 && ("," $2 ",") ~ ("," c ",") { print "/sys/fs/cgroup/" c p }' "/proc/$1/cgroup"
}
mib() { # bytes in MiB; v1 says "no limit" with a huge number, v2 with "max"
	awk -v b="$1" 'BEGIN { print (b == "max" || b > 2^60 ? "no limit" : sprintf("%.1f MiB", b / 2^20)) }'
}
cgroup() { # `cgroup C T`: C's cgroup, its limits and what it uses
	[[ $(get "/proc/$1/cgroup") != "$(get "/proc/$2/cgroup")" ]] ||
		{ row "" "the same as process $2's: no limits of its own"; return; }
	local pids mem cpu acct memf=(memory.current memory.max) cpuf=cpu.max cpu_max used
	local usedf="cpu.stat: usage_usec"
	pids=$(cgroup_dir "$1" pids) mem=$(cgroup_dir "$1" memory) cpu=$(cgroup_dir "$1" cpu)
	if ((V2)); then
		row dir "$pids"
		cpu_max=$(get "$cpu/cpu.max")
		used=$(awk '$1 == "usage_usec" { printf "%.2f s", $2 / 1e6 }' "$cpu/cpu.stat")
	else # a directory in each controller's tree, the same path in each
		if [[ ${mem#*/memory} == "${pids#*/pids}" && ${cpu#*/cpu} == "${pids#*/pids}" ]]; then
			row dir "/sys/fs/cgroup/{pids,memory,cpu}${pids#*/pids}"
		else
			row pids "$pids" && row memory "$mem" && row cpu "$cpu"
		fi
		memf=(memory.usage_in_bytes memory.limit_in_bytes) cpuf="cpu.cfs_quota_us, cpu.cfs_period_us"
		cpu_max="$(get "$cpu/cpu.cfs_quota_us") $(get "$cpu/cpu.cfs_period_us")"
		acct=$(cgroup_dir "$1" cpuacct) # the time: in cpu's tree ("cpu,cpuacct"), or its own
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
same_ns() { [[ $(readlink "/proc/$1/ns/$2") == "$(readlink "/proc/$HOST/ns/$2")" ]]; }
n=0
container() { # `container C T`: the container whose first process is C, started by T
	local type mine='' hosts='' root
	echo "Container $((++n)) of ${#TOP[@]}: process $1, started by process $2"
	part "processes (host PID, PID inside)" "grep NSpid /proc/$1/status"
	process "$2" "    "
	tree "$1" "    " '`- '
	part "namespaces, compared with the host's (PID $HOST)" "lsns -p $1"
	for type in uts pid mnt net ipc user cgroup; do
		if same_ns "$1" "$type"; then hosts+=" $type"; else mine+=" $type"; fi
	done
	row own "${mine:- (none)}"
	row "host's" "${hosts:- (none)}"
	part "root directory" "readlink /proc/$1/root"
	root="its own"
	[[ $(view "$1" | tail -n 1) != "$(view "$HOST" | tail -n 1)" ]] || root="the host's"
	row "" "$(readlink "/proc/$1/root"): $root"
	if [[ " $mine " == *" uts "* ]]; then
		part "hostname" "nsenter -u -t $1 hostname"
		row "" "$(nsenter -u -t "$1" hostname)"
	fi
	# A mount by what it mounts (device, directory in it): not by place or ID.
	part "mounts the host does not have" "findmnt -N $1"
	[[ " $mine " == *" mnt "* ]] || { row "" "none: it shares the host's mount table"; return; }
	findmnt -N "$1" -rn -o MAJ:MIN,FSROOT,TARGET,FSTYPE,SOURCE |
		awk -v host="$(findmnt -N "$HOST" -rn -o MAJ:MIN,FSROOT)" 'BEGIN { host = "\n" host "\n" }
			index(host, "\n" $1 " " $2 "\n") { next }
			{ line = sprintf("    %-12s %-8s %s", $3, $4, $5); new = 1
			  print (length(line) > 80 ? substr(line, 1, 77) "..." : line) }
			END { if (!new) print "    none" }'
}

for c in $(printf '%s\n' "${!TOP[@]}" | sort -n); do
	((n == 0)) || echo
	container "$c" "${TOP[$c]}"
	part "cgroup" "cat /proc/$c/cgroup"
	cgroup "$c" "${TOP[$c]}"
done
