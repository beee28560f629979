#!/usr/bin/env bash
# make -C lab bench: what a container start costs, step by step, next to /bin/true, chroot
# (the floor), unshare, crun and runc, all running /bin/true in the same root filesystem.
# Not a test: fails only if a command fails or something is left behind (README.md here).
# usage: lab/bench/bench.sh RUNBENCH [STEP7_GLIBC]   environment: RUNS, WARMUP, OUT, ROOTFS
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RUNBENCH=$(realpath "${1:?usage: $0 path/to/runbench [path/to/step7-glibc]}")
STEP7_GLIBC=${2:+$(realpath "$2")}
RUNS=${RUNS:-500} WARMUP=${WARMUP:-20}
OUT=$(realpath -m "${OUT:-$REPO/build/bench}")
ROOTFS=$(realpath "${ROOTFS:-$REPO/rootfs}") && export ROOTFS # the step programs' too
UNIFIED=/sys/fs/cgroup/unified ID=cfsbench-$$ # crun's and runc's containers: $ID-*
say() { echo "bench: $*" >&2; }
die() { say "$@" && exit 1; }

[[ $(id -u) -eq 0 ]] || die "namespaces, mounts and cgroups need root: sudo make bench"
[[ -x $ROOTFS/bin/true ]] || die "no $ROOTFS/bin/true: sudo make rootfs"
# shellcheck source=tests/lock.bash
. "$REPO/tests/lock.bash" && take_test_lock # others' containers would look left behind
"$REPO/common/require-packages.sh" crun runc
command -v gnuplot >/dev/null || "$REPO/common/require-packages.sh" gnuplot-nox ||
	say "no gnuplot: no chart (a bonus)"

# An OCI bundle like step 7 (README.md); /dev a tmpfs for the runtimes' device nodes.
rm -rf "$OUT"/{state,bundle} "$OUT"/bench.{md,png}
mkdir -p "$OUT"/{state/crun,state/runc,bundle}
cat >"$OUT/bundle/config.json" <<END
{ "ociVersion": "1.0.2", "hostname": "container", "root": {"path": "$ROOTFS", "readonly": true},
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"], "cwd": "/",
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc",
      "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "mode=755", "size=64k"]}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "mount"}],
    "resources": {"pids": {"limit": 20}}}}
END

# `row WORD...`: a line of commands.tsv: label, what runbench hides (- nothing), argv.
# `runtime NAME SUFFIX`: NAME runs the bundle as $ID-NAME-SUFFIX ({run}: the run's number).
row() { local IFS=$'\t'; echo "$*"; }
runtime() { row "$1" --root "$OUT/state/$1" run --bundle "$OUT/bundle" "$ID-$1-$2"; }

# `probe NAME`: COVER[NAME] "-" if it runs the bundle, $UNIFIED if only with that hidden
# (runbench.c), "" if not at all (NOTE[NAME] says why).
declare -A COVER NOTE
probe() {
	local err
	COVER[$1]=-
	err=$("$1" --root "$OUT/state/$1" run --bundle "$OUT/bundle" "$ID-$1-probe" 2>&1) && return
	err=${err//$'\n'/ } COVER[$1]=$UNIFIED
	row probe "$UNIFIED" "$(runtime "$1" probe2)" >"$OUT/probe.tsv"
	if [[ $err == *"hybrid mode"* ]] && mountpoint -q "$UNIFIED" &&
		"$RUNBENCH" -n 1 -w 0 "$OUT/probe.tsv" >/dev/null; then
		NOTE[$1]="$1 refuses this cgroup v1 \"hybrid\" host (\`$err\`): its runs hide"
		NOTE[$1]+=" $UNIFIED (README.md), at a cost: \"chroot, with $1's workaround\"."
		return
	fi
	COVER[$1]='' NOTE[$1]="$1 could not run the bundle here, so it has no row: \`$err\`"
	say "${NOTE[$1]}"
}
for name in crun runc; do probe "$name"; done

# Cgroups of crun's and runc's containers, or container-PID whose PID is gone (step 7's).
leftover_cgroups() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d \
		\( -name "$ID-*" -o -name 'container-[0-9]*' \) -print 2>/dev/null | sort |
		awk -F /container- 'NF < 2 || system("kill -0 " $2 " 2>/dev/null")'
}
cgroups_before=$(leftover_cgroups)

spec=$OUT/commands.tsv
{
	row /bin/true - /bin/true
	row "chroot rootfs /bin/true" - chroot "$ROOTFS" /bin/true
	row "rootfs/bin/true (busybox, no chroot)" - "$ROOTFS/bin/true"
	for dir in "$REPO"/step[1-7]-*; do
		row "${dir##*/}: container run /bin/true" - "$dir/container" run /bin/true
	done
	[[ -z $STEP7_GLIBC ]] || row "step 7 built with glibc: container run /bin/true" - \
		"$STEP7_GLIBC" run /bin/true
	row "unshare -upmf --mount-proc chroot" - unshare -upmf "--mount-proc=$ROOTFS/proc" \
		chroot "$ROOTFS" /bin/true
	for name in crun runc; do
		cover=${COVER[$name]}
		[[ -z $cover ]] || row "$name run" "$cover" "$(runtime "$name" '{run}')"
		[[ $cover == @(|-) ]] ||
			row "chroot, with $name's workaround" "$cover" chroot "$ROOTFS" /bin/true
	done
} >"$spec"

say "$((RUNS + WARMUP)) rounds of $(wc -l <"$spec") commands, shuffled anew, $WARMUP to warm up"
start=$SECONDS load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
"$RUNBENCH" -n "$RUNS" -w "$WARMUP" -s "$OUT/samples.tsv" "$spec" >"$OUT/summary.tsv"
took=$((SECONDS - start)) load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

# What was left behind.  A container-N cgroup may belong to a container in
# another PID namespace (N is no host PID): one still there later is left.
new_cgroups=$(comm -13 <(echo "$cgroups_before") <(leftover_cgroups))
[[ -z $new_cgroups ]] || sleep 2
mapfile -t leftovers < <(
	find "$OUT"/state/{crun,runc} -mindepth 1 -maxdepth 1 | sed 's/^/state: /'
	comm -12 <(echo "$new_cgroups") <(leftover_cgroups) | sed 's/^/cgroup: /'
	# Any file of the root filesystem changed, made or removed (its directory changes).
	find "$ROOTFS" -xdev -cnewer "$spec" | sed 's/^/rootfs: /'
	findmnt -lno TARGET | awk -v root="$ROOTFS" 'index($0, root) == 1 { print "mount: " $0 }'
)
rm -rf "$OUT/state" "$OUT/probe.tsv"

# The table, then step 7 against the floor, crun and runc (medians, then fastest runs).
# shellcheck disable=SC2016 # awk's $
report='
!/^#/ { row[++n] = $0 }
$1 == "chroot rootfs /bin/true" { rt[0] = $3; rt_min[0] = $4; name[0] = " the chroot floor" }
$1 ~ /^step7/ { s7 = $3; s7_min = $4; rss = $7; rssmax = $8 }
$1 ~ /^(crun|runc) run$/ { rt[++r] = $3; rt_min[r] = $4; name[r] = " " substr($1, 1, 4) }
END {
	print "| command | median ms | min–max ms | × chroot | CPU ms | peak RSS MiB (max) |"
	print "|---|--:|--:|--:|--:|--:|"
	for (i = 1; i <= n; i++) {
		split(row[i], f, "\t")
		printf "| %s | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f (%.2f) |\n", f[1], f[3] / 1e3,
			f[4] / 1e3, f[5] / 1e3, f[3] / rt[0], f[6] / 1e3, f[7] / 1024, f[8] / 1024
	}
	for (i = 0; i <= r; i++) {
		by = by sprintf("%s%.2f×%s", i ? ", " : "", s7 / rt[i], name[i])
		by_min = by_min sprintf("%s%.2f×", i ? ", " : "", s7_min / rt_min[i])
	}
	printf "\nStep 7 takes %s (by the fastest runs, which other load on the machine touches " \
		"least: %s); its peak RSS is %d KiB (%.2f MiB), at most %d KiB.\n\n", by, by_min,
		rss, rss / 1024, rssmax
}'
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
cc=$(cut -d ' ' -f 1 "$REPO/build/flags") # make writes it with the programs
built="\`${cc##*/}\`, statically linked with glibc $(version libc6)"
[[ $cc != *musl* ]] || built="\`${cc##*/}\`, statically linked with musl $(version musl-dev)"
cgroup=$(stat -f -c %T /sys/fs/cgroup | sed 's/^cgroup2fs$/v2/; s/^tmpfs$/v1/')
[[ $cgroup != v1 ]] || ! mountpoint -q "$UNIFIED" ||
	cgroup="v1 \"hybrid\" (cgroup2 at $UNIFIED, controllers: $(<"$UNIFIED/cgroup.controllers"))"
for p in crun runc util-linux coreutils busybox-static; do versions+="$p $(version "$p"), "; done
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
child=$(sed -n 's/^# forked child before exec: peak RSS \([0-9]*\) KiB$/\1/p' "$OUT/summary.tsv")

# The chart, a bonus.  Short labels: the table has the long ones.
chart() {
	sed -e '/^#/d; s/: container run [^\t]*//; s/^\(chroot\|unshare\) [^\t]*/\1/' \
		-e 's/^rootfs\/bin\/true[^\t]*/busybox true/' \
		-e "s/^chroot, with \([a-z]*\)'s/chroot + \1/" "$OUT/summary.tsv" >"$OUT/chart.tsv"
	gnuplot <<END
set terminal pngcairo size 1100,800 font ",10"; set output "$OUT/bench.png"
set datafile separator "\t"; set style fill solid 0.6 border -1; set boxwidth 0.7
set xtics rotate by -30 left noenhanced; set key off; set grid ytics
set lmargin 10; set bmargin 6; set rmargin 8
set multiplot layout 2,1 title "Container start: $RUNS runs of /bin/true" noenhanced
set title "median wall time, ms (log scale; whiskers: 10th to 90th percentile)"; set logscale y
plot "$OUT/chart.tsv" using 0:(\$3/1000):xtic(1) with boxes lc rgb "#4477aa", \
	'' using 0:(\$3/1000):(\$9/1000):(\$10/1000) with yerrorbars lc rgb "#222222" pt -1
unset logscale y; set yrange [0:*]
set title "peak RSS of the largest process, MiB (median; whiskers: max)"
plot "$OUT/chart.tsv" using 0:(\$7/1024):xtic(1) with boxes lc rgb "#cc6677", \
	'' using 0:(\$7/1024):(\$7/1024):(\$8/1024) with yerrorbars lc rgb "#222222" pt -1
unset multiplot
END
	rm -f "$OUT/chart.tsv"
}
! command -v gnuplot >/dev/null || chart || say "gnuplot failed: no chart"

{
	printf '%s\n\n' "# Container start: $RUNS runs of \`/bin/true\` each"
	awk -F '\t' "$report" "$OUT/summary.tsv"
	echo "Machine: $(uname -sr), $cpu, $(nproc) CPUs, cgroup $cgroup;" \
		"$(wc -l </proc/self/mountinfo) mounts on the host. The step programs: built with" \
		"$built. ${versions}$(date -u +%F), $took s; load average $load_before before," \
		"$load_after after. A forked child exiting before its exec peaks at $child KiB."
	printf '\nHow it was measured, and where the differences come from: lab/bench/README.md.\n'
	for name in crun runc; do [[ -z ${NOTE[$name]:-} ]] || echo "- ${NOTE[$name]}"; done
	echo
	echo "Left behind (a bug to fix; checked: crun's and runc's state, cgroups of theirs or"
	echo "of a finished step 7, mounts under the root filesystem, and its every file):"
	printf -- '- %s\n' "${leftovers[@]:-nothing}"
} | tee "$OUT/bench.md"
say "wrote $OUT/bench.md, samples.tsv$([[ -f $OUT/bench.png ]] && echo ", bench.png")"
((${#leftovers[@]} == 0)) || die "left behind: ${leftovers[*]}"
