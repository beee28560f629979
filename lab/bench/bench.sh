#!/usr/bin/env bash
# `make bench`: what starting a container costs, step by step, next to
# plain /bin/true, chroot (the floor), unshare, crun and runc.  Each runs
# /bin/true in the same root filesystem.  Writes OUT/bench.md (a
# markdown table with notes), OUT/bench.png (if gnuplot is there) and
# the raw samples; lab/bench/README.md describes them.
#
# It measures and asserts nothing: it is not a test.
#
# usage: lab/bench/bench.sh RUNBENCH [STEP7_GLIBC]   (as root; from make bench)
# STEP7_GLIBC: step 7 built with glibc, for a row of its own.
# environment: RUNS (500), WARMUP (20), OUT (build/bench), ROOTFS
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RUNBENCH=$(realpath "${1:?usage: $0 path/to/runbench [path/to/step7-glibc]}")
STEP7_GLIBC=${2:+$(realpath "$2")}
RUNS=${RUNS:-500}
WARMUP=${WARMUP:-20}
OUT=$(realpath -m "${OUT:-$REPO/build/bench}")
ROOTFS_DIR=$(realpath "${ROOTFS:-$REPO/rootfs}")
export ROOTFS=$ROOTFS_DIR # the step programs use it too
CGROUP_ROOT=/sys/fs/cgroup
UNIFIED=$CGROUP_ROOT/unified
ID=cfsbench-$$ # crun and runc container names start with this

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "namespaces, mounts and cgroups need root: sudo make bench"
[[ -x $ROOTFS_DIR/bin/true ]] || die "no $ROOTFS_DIR/bin/true: sudo make rootfs"

# ---- tools -------------------------------------------------------------

"$REPO/common/require-packages.sh" crun runc
command -v unshare >/dev/null || die "unshare not found: apt-get install util-linux"
# The chart is a bonus: go on without it.
if ! command -v gnuplot >/dev/null; then
	"$REPO/common/require-packages.sh" gnuplot-nox || say "no gnuplot: no chart"
fi

# ---- an OCI bundle for crun and runc -------------------------------------

rm -rf "$OUT"/{state,bundle} "$OUT"/bench.{md,png}
mkdir -p "$OUT/state/crun" "$OUT/state/runc" "$OUT/bundle"
# The same namespaces as step 7 (no network namespace, as ours), a
# pids limit of 20, /proc; /dev is a tmpfs, so that the device nodes the
# runtimes make go there and not into the shared root filesystem, which
# they get read-only.
cat >"$OUT/bundle/config.json" <<END
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": { "uid": 0, "gid": 0 },
		"args": [ "/bin/true" ],
		"env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ],
		"cwd": "/"
	},
	"root": { "path": "$ROOTFS_DIR", "readonly": true },
	"hostname": "container",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc",
		  "options": [ "nosuid", "noexec", "nodev" ] },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "mode=755", "size=64k" ] }
	],
	"linux": {
		"namespaces": [ { "type": "pid" }, { "type": "uts" }, { "type": "mount" } ],
		"resources": { "pids": { "limit": 20 } }
	}
}
END

# `runtime_cmd NAME SUFFIX`: the command line, tab-separated, with which
# NAME (crun or runc) runs the bundle as container $ID-NAME-SUFFIX;
# runbench turns {run} into the run's number.
runtime_cmd() {
	printf '%s\t--root\t%s\trun\t--bundle\t%s\t%s' \
		"$1" "$OUT/state/$1" "$OUT/bundle" "$ID-$1-$2"
}

# `probe NAME`: run the bundle once.  Sets COVER[NAME] to "-" if that
# works, to $UNIFIED if it works only with that hidden (see runbench.c),
# and to "" (with the reason in NOTE[NAME]) if it does not run at all.
declare -A COVER NOTE
probe() {
	local name=$1 err spec=$OUT/probe.tsv
	if err=$("$name" --root "$OUT/state/$name" run --bundle "$OUT/bundle" "$ID-$name-probe" 2>&1); then
		COVER[$name]=-
		return
	fi
	err=${err//$'\n'/ }
	if [[ $err == *"hybrid mode"* ]] && mountpoint -q "$UNIFIED"; then
		printf 'probe\t%s\t%s\n' "$UNIFIED" "$(runtime_cmd "$name" probe2)" >"$spec"
		if "$RUNBENCH" -n 1 -w 0 "$spec" >/dev/null; then
			COVER[$name]=$UNIFIED
			NOTE[$name]="$name refuses this cgroup v1 \"hybrid\" host (\`$err\`: the cgroup2 mount at $UNIFIED lists controllers: $(tr '\n' ' ' <"$UNIFIED/cgroup.controllers")). So runbench starts each $name run in a private mount namespace where $UNIFIED is unmounted and covered with an empty tmpfs; $name then sees a plain cgroup v1 host, and the host's mounts stay as they are. What that costs is the row \"chroot, with ${name}'s workaround\"."
			return
		fi
	fi
	COVER[$name]=
	NOTE[$name]="$name could not run the bundle here, so it has no row: \`$err\`"
	say "${NOTE[$name]}"
}
probe crun
probe runc

# ---- what may be left behind, before -----------------------------------

# Cgroups named container-PID whose program is gone (step 7 leaked
# them), and any cgroup of crun's or runc's containers.
leftover_cgroups() {
	local dir
	find "$CGROUP_ROOT" -mindepth 1 -maxdepth 6 -type d \
		\( -name "$ID-*" -o -name 'container-[0-9]*' \) -print 2>/dev/null |
		while read -r dir; do
			[[ $dir == */container-* ]] && kill -0 "${dir##*/container-}" 2>/dev/null && continue
			echo "$dir"
		done | sort
}
# Every entry of the root filesystem with its type, mode, owner, size,
# and (for all but directories) modification time.
rootfs_listing() {
	find "$ROOTFS_DIR" -xdev \( -type d -printf '%y %m %U:%G %p\n' \) \
		-o -printf '%y %m %U:%G %s %T@ %p %l\n' | sort
}
rootfs_mounts() {
	awk -v root="$ROOTFS_DIR" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo
}
cgroups_before=$(leftover_cgroups)
rootfs_before=$(rootfs_listing)

# ---- the commands, and the run -----------------------------------------

spec=$OUT/commands.tsv
{
	echo "# label, what runbench hides from it (- for nothing), argv; tab-separated"
	printf '/bin/true\t-\t/bin/true\n'
	printf 'chroot rootfs /bin/true\t-\tchroot\t%s\t/bin/true\n' "$ROOTFS_DIR"
	# What the rows that run busybox cannot go below, in RSS above all.
	printf 'rootfs/bin/true (busybox, no chroot)\t-\t%s/bin/true\n' "$ROOTFS_DIR"
	for dir in "$REPO"/step[1-7]-*/; do
		dir=${dir%/}
		printf '%s: container run /bin/true\t-\t%s/container\trun\t/bin/true\n' "${dir##*/}" "$dir"
	done
	if [[ -n $STEP7_GLIBC ]]; then
		printf 'step 7 built with glibc: container run /bin/true\t-\t%s\trun\t/bin/true\n' "$STEP7_GLIBC"
	fi
	printf 'unshare -upmf --mount-proc chroot\t-\tunshare\t-upmf\t--mount-proc=%s/proc\tchroot\t%s\t/bin/true\n' \
		"$ROOTFS_DIR" "$ROOTFS_DIR"
	for name in crun runc; do
		[[ -n ${COVER[$name]} ]] || continue
		printf '%s run\t%s\t%s\n' "$name" "${COVER[$name]}" "$(runtime_cmd "$name" '{run}')"
		if [[ ${COVER[$name]} != - ]]; then
			printf "chroot, with %s's workaround\t%s\tchroot\t%s\t/bin/true\n" \
				"$name" "${COVER[$name]}" "$ROOTFS_DIR"
		fi
	done
} >"$spec"

n_commands=$(grep -vc '^#' "$spec")
say "$((RUNS + WARMUP)) rounds of $n_commands commands, each round in a new order ($WARMUP to warm up)..."
start=$(date +%s)
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
"$RUNBENCH" -n "$RUNS" -w "$WARMUP" -s "$OUT/samples.tsv" "$spec" >"$OUT/summary.tsv"
took=$(($(date +%s) - start))
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

# ---- what was left behind ------------------------------------------------

leftovers=()
for name in crun runc; do
	while read -r entry; do
		leftovers+=("$name state: $entry")
	done < <(find "$OUT/state/$name" -mindepth 1 -maxdepth 1)
done
# A container-N cgroup may also belong to a container running in another
# PID namespace (N is not a host PID): one that is still there a moment
# later was left behind.
new_cgroups=$(comm -13 <(echo "$cgroups_before") <(leftover_cgroups))
if [[ -n $new_cgroups ]]; then
	sleep 2
	new_cgroups=$(comm -12 <(echo "$new_cgroups") <(leftover_cgroups))
fi
while read -r dir; do
	[[ -n $dir ]] && leftovers+=("cgroup: $dir")
done <<<"$new_cgroups"
while read -r line; do
	[[ -n $line ]] && leftovers+=("rootfs: $line")
done < <(diff <(echo "$rootfs_before") <(rootfs_listing) | grep '^[<>]' || true)
while read -r mnt; do
	[[ -n $mnt ]] && leftovers+=("mount: $mnt")
done < <(rootfs_mounts)
rm -rf "$OUT/state" "$OUT/probe.tsv"

# ---- the table -------------------------------------------------------------

# `version PACKAGE`: its Debian version, or "?".
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

# What `make` built the step programs with (build/flags: its command line).
built_with() {
	local cc
	cc=$(cut -d ' ' -f 1 "$REPO/build/flags" 2>/dev/null) || cc=
	case $cc in
	*musl*) echo "\`${cc##*/}\`, statically linked with musl $(version musl-dev)" ;;
	?*) echo "\`${cc##*/}\`, statically linked with glibc $(version libc6)" ;;
	*) echo "an unknown compiler (no build/flags)" ;;
	esac
}

cgroup_mode() {
	if [[ $(stat -f -c %T "$CGROUP_ROOT") == cgroup2fs ]]; then
		echo "v2"
	elif mountpoint -q "$UNIFIED"; then
		echo "v1 \"hybrid\" (cgroup2 at $UNIFIED, controllers: $(tr '\n' ' ' <"$UNIFIED/cgroup.controllers" | sed 's/ *$//'))"
	else
		echo "v1"
	fi
}

table() {
	awk -F '\t' '
		/^#/ { next }
		{ label[NR] = $1; med[NR] = $3; lo[NR] = $4; hi[NR] = $5; cpu[NR] = $6; rss[NR] = $7; rssmax[NR] = $8 }
		$1 == "chroot rootfs /bin/true" { floor = $3 }
		END {
			print "| command | median ms | min–max ms | × chroot | CPU ms | peak RSS MiB (max) |"
			print "|---|--:|--:|--:|--:|--:|"
			for (i = 1; i <= NR; i++) {
				if (!(i in label)) continue
				printf "| %s | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f (%.2f) |\n", label[i],
					med[i] / 1000, lo[i] / 1000, hi[i] / 1000, med[i] / floor,
					cpu[i] / 1000, rss[i] / 1024, rssmax[i] / 1024
			}
		}' "$OUT/summary.tsv"
}

# One line: step 7 against the floor, crun and runc.
step7_line() {
	awk -F '\t' '
		/^#/ { next }
		$1 == "chroot rootfs /bin/true" { floor = $3; floor_min = $4 }
		$1 ~ /^step7/ { s7 = $3; s7_min = $4; rss = $7; rssmax = $8 }
		$1 == "crun run" { crun = $3; crun_min = $4 }
		$1 == "runc run" { runc = $3; runc_min = $4 }
		END {
			printf "Step 7 takes %.2f× the chroot floor", s7 / floor
			if (crun) printf ", %.2f× crun", s7 / crun
			if (runc) printf ", %.2f× runc", s7 / runc
			printf " (by the fastest runs, which other load on the machine touches least: %.2f×", s7_min / floor_min
			if (crun) printf ", %.2f×", s7_min / crun_min
			if (runc) printf ", %.2f×", s7_min / runc_min
			printf "); its peak RSS is %d KiB (%.2f MiB), at most %d KiB.\n", rss, rss / 1024, rssmax
		}' "$OUT/summary.tsv"
}

child_rss=$(sed -n 's/^# forked child before exec: peak RSS \([0-9]*\) KiB$/\1/p' "$OUT/summary.tsv")
host_mounts=$(wc -l </proc/self/mountinfo)

{
	echo "# Container start: $RUNS runs of \`/bin/true\` each"
	echo
	table
	echo
	step7_line
	echo
	echo "Machine: $(uname -sr), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
		"$(nproc) CPUs, cgroup $(cgroup_mode); $host_mounts mounts on the host." \
		"The step programs: built with $(built_with)." \
		"crun $(version crun), runc $(version runc), util-linux $(version util-linux)," \
		"coreutils $(version coreutils), busybox $(version busybox-static)." \
		"$(date -u +%Y-%m-%d), $took s; load average $load_before before, $load_after after" \
		"(other work on the machine slows the rows with more processes most)."
	echo
	echo "## How it was measured"
	echo
	echo "- \`lab/bench/runbench\` runs every command once per round, in an order shuffled anew each round, so that a machine getting slower or faster hits every command alike; $WARMUP rounds first are not counted. Output goes to /dev/null."
	echo "- *median*, *min–max*: wall time from just before \`fork()\` to just after \`wait4()\` returns (CLOCK_MONOTONIC), so it includes starting the command, everything it does, and tearing down what it made. × chroot: median over the median of \`chroot rootfs /bin/true\`, the floor: a program that changes root and runs busybox's \`true\`. Steps 1–3 run the host's \`/bin/true\` (no root filesystem yet), steps 4–7 busybox's."
	echo "- *CPU*: median user + system time of the command and every process it (or they) waited for. Kernel work done later, elsewhere (freeing a namespace or a cgroup after an RCU grace period) is not in it, but waits for it are in the wall time."
	echo "- *peak RSS*: \`ru_maxrss\` from \`wait4()\`: the peak resident memory of the largest **single** process of the command's tree (the kernel keeps the maximum over waited-for descendants; it is not a sum). It counts mapped pages of shared libraries and of the program file. The forked child counts until it execs: runbench is static and small, and such a child that exits instead peaks at $child_rss KiB. The RSS of a dynamically linked program varies from run to run (address space layout randomisation): the table gives the median and, in brackets, the maximum. The row \`rootfs/bin/true\` is busybox's \`true\` alone: a floor for the RSS of every row that runs it (all but /bin/true and steps 1–3)."
	echo
	echo "## Where the differences come from"
	echo
	echo "- **chroot** is one program that calls \`chroot()\` and execs \`true\`; it is dynamically linked, so the dynamic loader maps and relocates the C library first. **/bin/true** is one exec, of a dynamic program."
	echo "- **step 1** forks and waits: a process more than chroot, but the step programs are linked statically (no loader) and, where \`musl-gcc\` is installed, with musl, which starts in a fraction of glibc's time (next point), so the first steps come in well under the floor. **step 2** adds \`clone(CLONE_NEWUTS)\` and \`sethostname\`: a UTS namespace costs next to nothing."
	echo "- **The C library.** At start-up, glibc asks the CPU about its caches and features with some 70 CPUID instructions (in a static program; in a dynamic one, its loader does). In a virtual machine each CPUID traps to the hypervisor, which can take microseconds: then that start costs more than any namespace. musl asks nothing. The row *step 7 built with glibc* is the same program, statically linked with glibc: the difference from the step 7 row is that start. Every row that runs busybox (static, glibc), chroot, unshare, crun or runc pays it once per program it runs."
	echo "- **step 3**: a PID namespace, and our init: the container's PID 1 forks the command and reaps it, one more process. **step 4** adds \`chroot()\`, and runs busybox's static \`true\`, cheaper to start than the host's dynamic one: it can be faster than step 3."
	echo "- **step 5** mounts a proc filesystem, made for this PID namespace."
	echo "- **step 6**: a mount namespace copies the host's $host_mounts mounts, makes them private and adds a tmpfs; when its last process exits, the kernel unmounts them all again."
	echo "- **step 7** makes a cgroup: on v1, a \`mkdir\` in each of the pids, memory and cpu hierarchies (a memory cgroup is the dearest), four limit files, three writes to join (a cgroup migration each; through \`tasks\`, which spares the kernel a global lock that can wait for an RCU grace period), and three \`rmdir\`s at the end. The container then runs in a cpu cgroup of its own, scheduled as a group: on a busy machine it waits longer for a CPU, which shows in the wall time, not in the CPU time."
	echo "- **unshare** makes the namespaces of step 6 (without setting a hostname or mounting a tmpfs), forks and mounts /proc, but it takes three programs (unshare, chroot, true), two of them dynamically linked."
	echo "- **crun** and **runc** do much more, for a full OCI runtime: they parse config.json, re-exec themselves from a sealed copy of their binary (crun once; runc execs \`runc init\`, which re-execs again: three execs of a Go program), synchronise parent and child over pipes, \`pivot_root\` into a bind mount of the root filesystem, fill the /dev tmpfs with device nodes, create cgroups in every v1 hierarchy (not only three) and move the container in through \`cgroup.procs\` (a whole-process migration, which can wait for an RCU grace period: one reason their wall time is well above their CPU time), and write and remove state under \`--root\`. Unlike step 7 they set no memory or CPU limit here (only pids)."
	for name in crun runc; do
		[[ -n ${NOTE[$name]:-} ]] && echo "- ${NOTE[$name]}"
	done
	echo
	if [[ ${#leftovers[@]} -eq 0 ]]; then
		echo "Left behind: nothing. Checked: crun's and runc's state directories, cgroups named after their containers or after a finished step 7, mounts under the root filesystem, and every file of it (type, mode, owner, size, time): device nodes went to the bundle's /dev tmpfs."
	else
		echo "**Left behind** (a bug to fix):"
		echo
		printf -- '- %s\n' "${leftovers[@]}"
	fi
} >"$OUT/bench.md"

# ---- the chart -------------------------------------------------------------

chart() {
	command -v gnuplot >/dev/null || return 0
	local terminal=pngcairo
	gnuplot -e 'set terminal pngcairo' 2>/dev/null || terminal=png
	# Short labels: the table has the long ones.
	grep -v '^#' "$OUT/summary.tsv" | sed -e 's/: container run [^\t]*//' \
		-e 's/^chroot rootfs [^\t]*/chroot/' -e 's/^rootfs\/bin\/true[^\t]*/busybox true/' \
		-e 's/^unshare [^\t]*/unshare/' -e "s/^chroot, with \([a-z]*\)'s workaround/chroot + \1 workaround/" \
		>"$OUT/chart.tsv"
	gnuplot <<-END
		set terminal $terminal size 1100,800 font ",10"
		set output "$OUT/bench.png"
		set datafile separator "\t"
		set style fill solid 0.6 border -1
		set boxwidth 0.7
		set xtics rotate by -30 left noenhanced
		set key off
		set grid ytics
		set lmargin 10
		set bmargin 6
		set rmargin 8
		set multiplot layout 2,1 title "Container start: $RUNS runs of /bin/true each; $(uname -r), $(nproc) CPUs" noenhanced
		set title "median wall time, ms (log scale; whiskers: 10th to 90th percentile)"
		set logscale y
		plot "$OUT/chart.tsv" using 0:(\$3/1000):xtic(1) with boxes lc rgb "#4477aa", \
			'' using 0:(\$3/1000):(\$9/1000):(\$10/1000) with yerrorbars lc rgb "#222222" pt -1, \
			'' using 0:(\$3/1000):(sprintf("%.2f", \$3/1000)) with labels offset 0,0.8
		unset logscale y
		set yrange [0:*]
		set title "peak RSS of the largest process, MiB (median; whiskers: max)"
		plot "$OUT/chart.tsv" using 0:(\$7/1024):xtic(1) with boxes lc rgb "#cc6677", \
			'' using 0:(\$7/1024):(\$7/1024):(\$8/1024) with yerrorbars lc rgb "#222222" pt -1, \
			'' using 0:(\$7/1024):(sprintf("%.2f", \$7/1024)) with labels offset 0,0.8
		unset multiplot
	END
	rm -f "$OUT/chart.tsv"
}
chart || say "gnuplot failed: no chart"

cat "$OUT/bench.md"
say "wrote $OUT/bench.md$([[ -f $OUT/bench.png ]] && echo " and bench.png"), samples in $OUT/samples.tsv"
[[ ${#leftovers[@]} -eq 0 ]] || die "left behind: ${leftovers[*]}"
