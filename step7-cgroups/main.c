/*
 * Step 7: limits of its own.
 *
 *     container run sh -c 'cat /proc/self/cgroup'
 *
 * A control group caps what the container may use: 20 tasks, 64 MiB of
 * memory, half a CPU.  A cgroup is a directory in /sys/fs/cgroup: its
 * files hold its limits; a process written to its cgroup.procs is in it,
 * with all it starts.  Ours is made before the container starts, joined
 * by its init, and removed when it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"

#define HOSTNAME "container"

/* The child's stack: clone() does not allocate one. */
static char child_stack[1024 * 1024] __attribute__((aligned(16)));

#define CGROUP_HINT "is the controller enabled? 'make doctor' checks"
static char dirs[3][64]; /* the cgroup: one directory (v1: three) */
static int made; /* how many of them exist */

/* A cgroup outlives its processes: remove ours when we exit (atexit). */
static void cgroup_remove(void)
{
	while (made > 0)
		if (rmdir(dirs[--made]) < 0 && errno != ENOENT)
			report(NULL, "rmdir %s", dirs[made]);
}

/* mkdir PARENT/container-PID: our PID, which no other running program has. */
static const char *cgroup_mkdir(const char *parent)
{
	snprintf(dirs[made], sizeof(dirs[0]), "%s/container-%d", parent, (int)getpid());
	if (mkdir(dirs[made], 0755) < 0)
		die(CGROUP_HINT, "mkdir %s", dirs[made]);
	return dirs[made++];
}

/* Write VALUE to DIR/FILE; an OPTIONAL file may be missing. */
static void cgroup_write(const char *dir, const char *file, const char *value, bool optional)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (write_file(path, value) < 0 && !(optional && errno == ENOENT))
		die(CGROUP_HINT, "write a limit to %s", path);
}

/* cgroup v1 (older hosts, and hybrid ones): a tree per controller. */
static void cgroup_create_v1(void)
{
	cgroup_write(cgroup_mkdir("/sys/fs/cgroup/pids"), "pids.max", "20", false);
	const char *memory = cgroup_mkdir("/sys/fs/cgroup/memory");
	cgroup_write(memory, "memory.limit_in_bytes", "64M", false);
	cgroup_write(memory, "memory.memsw.limit_in_bytes", "64M", true); /* with swap */
	cgroup_write(cgroup_mkdir("/sys/fs/cgroup/cpu"), "cpu.cfs_quota_us", "50000", false);
}

/* Our cgroup (v2), with its limits, made before the container exists. */
static void cgroup_create(void)
{
	atexit(cgroup_remove); /* however we exit, errors included */
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0) /* only v2 has it */
		return cgroup_create_v1();
	/* A cgroup offers its children only the controllers it enables. */
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+pids +memory +cpu") < 0)
		die("in a container? run 'sudo make cgroup-setup'; 'make doctor' checks",
		    "enable pids, memory and cpu in /sys/fs/cgroup/cgroup.subtree_control");
	const char *dir = cgroup_mkdir("/sys/fs/cgroup");
	cgroup_write(dir, "pids.max", "20", false); /* a fork bomb stops at 20 tasks */
	cgroup_write(dir, "memory.max", "64M", false); /* past it, the OOM killer */
	cgroup_write(dir, "memory.swap.max", "0", true); /* missing if swap is not counted */
	cgroup_write(dir, "cpu.max", "50000 100000", false); /* 50 ms in every 100 */
}

/* Move the calling process into the cgroup: "0" means "myself". */
static void cgroup_join(void)
{
	char procs[256];
	for (int i = 0; i < made; i++) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[i]);
		if (write_file(procs, "0") < 0)
			die(NULL, "write 0 to %s", procs);
	}
	made = 0; /* we are in it now: our parent removes it, not us */
}

/* Become the command.  execvp() searches PATH, as a shell does. */
static _Noreturn void exec_command(char **cmd)
{
	reset_signals();
	execvp(cmd[0], cmd);
	exec_failed(cmd[0]);
}

/*
 * Runs first thing inside the container, before the command.  Go cannot
 * run code between fork and exec, which is why the Go lesson re-runs
 * itself as "/proc/self/exe child"; clone() calls a C function instead.
 */
static int child(void *arg)
{
	char **cmd = arg;

	print_running(cmd, getpid());
	/* Join it before chroot(): after, /sys/fs/cgroup is a plain directory. */
	cgroup_join();
	if (sethostname(HOSTNAME, strlen(HOSTNAME)) < 0)
		die(NULL, "sethostname %s", HOSTNAME);

	/*
	 * The new mount namespace starts as a copy of the host's mounts,
	 * with their propagation.  systemd makes / "shared", so a mount in
	 * here would show up on the host too (issue #3 of the talk's code;
	 * Go's Unshareflags quietly did this).  Make every mount private
	 * before mounting anything.
	 */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("is / a mount point? a chroot's directory must be bind-mounted onto itself",
		    "make / private (mount --make-rprivate /)");

	/*
	 * chroot() makes the root filesystem the "/" of this process and
	 * all it starts, so execvp() now searches PATH in there.  It leaves
	 * the working directory where it was, outside: chdir("/") moves it
	 * in.
	 */
	const char *root = rootfs_path();
	if (chroot(root) < 0)
		die("run 'make rootfs' or set ROOTFS", "chroot %s", root);
	if (chdir("/") < 0)
		die(NULL, "chdir / in %s", root);

	/*
	 * ps reads /proc, and /proc in the new root is an empty directory.
	 * A proc filesystem shows the PID namespace of the process that
	 * mounted it: mounted here, it lists only the container.
	 */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("the root filesystem needs a /proc directory",
		    "mount proc on %s/proc", root);

	/* A mount that exists only inside, as in the talk. */
	if (mount("mytemp", "/mytemp", "tmpfs", MS_NOSUID | MS_NODEV, NULL) < 0)
		die("the root filesystem needs a /mytemp directory",
		    "mount tmpfs on %s/mytemp", root);

	/*
	 * We are PID 1 here, and PID 1 has duties: every orphan in the
	 * namespace becomes its child and must be reaped, and when it
	 * exits the kernel kills all that is left.  So stay, as a small
	 * init, and run the command as PID 2.  And die with the container
	 * program, even of SIGKILL, so no container is left without it.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die(NULL, "prctl PR_SET_PDEATHSIG");
	pid_t pid = fork();
	if (pid < 0)
		die(NULL, "fork");
	if (pid == 0)
		exec_command(cmd);
	return wait_forwarding(pid);
}

static int run(char **cmd)
{
	print_running(cmd, getpid());

	/* Each CLONE_NEW* flag puts the child in a new namespace of a kind. */
	int flags = CLONE_NEWUTS /* a hostname of its own */
		    | CLONE_NEWPID /* PID 1 of a new PID namespace */
		    | CLONE_NEWNS /* a mount table of its own */
		    | SIGCHLD; /* report its exit to us, as fork() does */

	block_signals();
	cgroup_create();
	pid_t pid = clone(child, child_stack + sizeof(child_stack), flags, cmd);
	if (pid < 0)
		die(NULL, "clone");

	return wait_forwarding(pid);
}

int main(int argc, char **argv)
{
	char **cmd = parse_args(argc, argv);
	int status = run(cmd);

	fprintf(stderr, "== Finished ==\n");
	return status;
}
