#!/usr/bin/env bats
# make trace-stepN (common/trace.sh): each step's list of system calls
# shows what its lesson teaches and nothing else, is the same from run
# to run, and "What step N adds" holds exactly step N's feature.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup_file() {
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root: the traces start containers (run: sudo make test)"
	fi
	command -v strace >/dev/null || skip "strace is not installed (sudo make trace-step1 installs it)"
}

# `trace N`: run common/trace.sh N, with the repository's rootfs/, and
# check it succeeds; sets $list to its list of calls and $changes to
# what it says step N adds and drops.
trace() {
	run env -u ROOTFS "$REPO/common/trace.sh" "$1"
	assert_success
	list=$(sed -n '2,/^$/{/^$/d;p}' <<<"$output")
	changes=$(sed -n '/^What step /,${//d;p}' <<<"$output")
}

# Every line of $list is one of the calls the lessons teach, by one of
# the roles: no start-up of the C library, no narration, no waiting.
lesson_only() {
	local line
	local calls='clone\(CLONE_NEW|fork\(\) = command$|execve\("/bin/true", \["/bin/true"\]\)$'
	calls+='|sethostname\("container", 9\)$|prctl\(PR_SET_PDEATHSIG, SIGKILL\)$|chroot\(|chdir\("/"\)$'
	calls+='|mount\(|umount2\(|(mkdir\(|rmdir\(|write |open )"?/sys/fs/cgroup/'
	while IFS= read -r line; do
		[[ $line =~ ^(container|child|init|command)\ +($calls) ]] ||
			fail "not a call of the lessons: '$line'"
	done <<<"$list"
}

@test "trace-step1: the container program forks, and the child execs the command" {
	trace 1
	assert_equal "$list" 'container  fork() = command
command    execve("/bin/true", ["/bin/true"])'
	refute_output --partial "What step"
}

@test "trace-step2: clone(CLONE_NEWUTS) instead of fork(), and sethostname" {
	trace 2
	lesson_only
	assert_line 'child      sethostname("container", 9)'
	assert_equal "$changes" '- container  fork() = command
+ container  clone(CLONE_NEWUTS|SIGCHLD) = child
+ child      sethostname("container", 9)'
}

@test "trace-step3: CLONE_NEWPID, and the init forks the command" {
	trace 3
	lesson_only
	assert_line 'init       fork() = command'
	assert_line 'command    execve("/bin/true", ["/bin/true"])'
	assert_equal "$changes" '- container  clone(CLONE_NEWUTS|SIGCHLD) = child
+ container  clone(CLONE_NEWUTS|CLONE_NEWPID|SIGCHLD) = init
+ init       prctl(PR_SET_PDEATHSIG, SIGKILL)
+ init       fork() = command'
}

@test "trace-step4: chroot into rootfs/, then chdir" {
	trace 4
	lesson_only
	assert_equal "$changes" '+ init       chroot("<repo>/rootfs")
+ init       chdir("/")'
}

@test "trace-step5: mount proc, and unmount it at the end" {
	trace 5
	lesson_only
	# The unmount comes once the command has ended.
	assert_equal "$(tail -n 2 <<<"$list")" 'command    execve("/bin/true", ["/bin/true"])
init       umount2("/proc", MNT_DETACH)'
	assert_equal "$changes" '+ init       mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)
+ init       umount2("/proc", MNT_DETACH)'
}

@test "trace-step6: CLONE_NEWNS, / made private, a tmpfs; no unmount" {
	trace 6
	lesson_only
	assert_equal "$changes" '- container  clone(CLONE_NEWUTS|CLONE_NEWPID|SIGCHLD) = init
+ container  clone(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWPID|SIGCHLD) = init
+ init       mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)
+ init       mount("mytemp", "/mytemp", "tmpfs", MS_NOSUID|MS_NODEV, NULL)
- init       umount2("/proc", MNT_DETACH)'
}

@test "trace-step7: a cgroup made, limited, joined by the init and removed, and nothing else" {
	local v2=0 dir
	[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] && v2=1
	trace 7
	lesson_only
	echo "$list"
	if ((v2)); then
		dir=/sys/fs/cgroup/container-'<PID>'
		assert_line "+ container  write /sys/fs/cgroup/cgroup.subtree_control \"+pids +memory +cpu\""
		assert_line "+ container  write $dir/memory.max \"64M\""
		assert_line "+ container  write $dir/cpu.max \"50000 100000\""
	else
		dir=/sys/fs/cgroup/pids/container-'<PID>'
		assert_line "+ container  write /sys/fs/cgroup/memory/container-<PID>/memory.limit_in_bytes \"64M\""
		assert_line "+ container  write /sys/fs/cgroup/cpu/container-<PID>/cpu.cfs_quota_us \"50000\""
	fi
	assert_line "+ container  mkdir(\"$dir\", 0755)"
	assert_line "+ container  write $dir/pids.max \"20\""
	assert_line "+ init       write $dir/cgroup.procs \"0\""
	assert_line "+ container  rmdir(\"$dir\")"
	# Only cgroup calls are new, and none goes.
	run grep -cv '^+ [a-z]* *\(mkdir("\|rmdir("\|write \|open \)/sys/fs/cgroup/' <<<"$changes"
	assert_output 0
	# Made before the clone(), joined by the init first thing, removed
	# once the command has ended: who calls what, in order.
	local made='container mkdir
container write'
	# v2: the controllers enabled first; v1: a directory per controller.
	if ((v2)); then made="container write"$'\n'$made; else made=$made$'\n'$made$'\n'$made; fi
	local order="$made"'
container clone
init write
init sethostname
init mount
init chroot
init chdir
init mount
init prctl
init fork
command execve
container rmdir'
	assert_equal "$(awk '{ sub(/\(.*/, "", $2); print $1, $2 }' <<<"$list" | uniq)" "$order"
}

@test "trace-stepN prints the same, run after run" {
	local n first
	for n in 1 2 3 4 5 6 7; do
		trace "$n"
		first=$output
		trace "$n"
		assert_equal "$output" "$first"
	done
}

# User nobody reads the script through a file descriptor the test
# opened: nobody may not reach the repository (a clone under /root).
@test "trace: not as root, it says so" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups bash /proc/self/fd/8 2 8<"$REPO/common/trace.sh"
	assert_failure 1
	assert_output "trace: needs root, as the containers do (run: sudo make trace-step2)"
}

@test "make trace-step3 runs common/trace.sh 3" {
	# The test VM has no C library headers: make would try to rebuild
	# the programs, built on the host with another compiler.
	[[ -e /usr/include/stdio.h ]] || skip "no C headers to build the programs with here"
	run env -u ROOTFS make -s --no-print-directory -C "$REPO" trace-step3
	assert_success
	assert_line --index 0 "strace -f step3-pid/container run /bin/true: the calls that build the container"
	assert_line '+ init       fork() = command'
}
