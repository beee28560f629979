/*
 * Step 7: limits of its own.
 *
 *     container run sh -c 'cat /proc/self/cgroup'
 *
 * A control group caps what the container may use: 20 tasks, so a fork
 * bomb fails; 64 MiB of memory, past which the kernel kills; and half a
 * CPU.  The cgroup is made before the container starts, joined by its
 * init, and removed when it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

/*
 * A cgroup is a directory in /sys/fs/cgroup: its files hold its limits,
 * and a process written into its cgroup.procs is in it, with all it
 * starts.  This is cgroup v2; v1, on older hosts, is set apart below.
 */
#define CGROUP_HINT "is the controller enabled? 'make doctor' checks"

static char dirs[3][64]; /* the cgroup: one directory (v1: three) */
static int made; /* how many of them exist */
static void cgroup_remove(void);

/* Say what failed, remove what we made, and give up. */
static _Noreturn void cgroup_abort(const char *hint, const char *what, const char *path)
{
	report(hint, "%s%s", what, path);
	cgroup_remove();
	exit(EXIT_SETUP);
}

/* mkdir PARENT/container-PID, with our PID: no other running program has it. */
static const char *cgroup_mkdir(const char *parent)
{
	snprintf(dirs[made], sizeof(dirs[0]), "%s/container-%d", parent, (int)getpid());
	if (mkdir(dirs[made], 0755) < 0)
		cgroup_abort(CGROUP_HINT, "mkdir ", dirs[made]);
	return dirs[made++];
}

/* Write VALUE to the file NAME in DIR; an OPTIONAL one may be missing. */
static void cgroup_write(const char *dir, const char *name, const char *value, bool optional)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_file(path, value) < 0 && !(optional && errno == ENOENT))
		cgroup_abort(CGROUP_HINT, "write a limit to ", path);
}

/*
 * cgroup v1 (older hosts, and hybrid ones, which mount v1 here): a tree
 * per controller, so a directory in each, and other files.
 */
static void cgroup_create_v1(void)
{
	const char *pids = cgroup_mkdir("/sys/fs/cgroup/pids");
	const char *memory = cgroup_mkdir("/sys/fs/cgroup/memory");
	const char *cpu = cgroup_mkdir("/sys/fs/cgroup/cpu");

	cgroup_write(pids, "pids.max", "20", false);
	cgroup_write(memory, "memory.limit_in_bytes", "64M", false);
	cgroup_write(memory, "memory.memsw.limit_in_bytes", "64M", true); /* with swap */
	cgroup_write(cpu, "cpu.cfs_quota_us", "50000", false); /* per 100000 us */
}

/* Our cgroup, with its limits, made before the container exists. */
static void cgroup_create(void)
{
	/* Only the root of a v2 tree has this file. */
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0) {
		cgroup_create_v1();
		return;
	}
	/* A cgroup offers its children only the controllers it enables. */
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+pids +memory +cpu") < 0)
		die("in a container? run 'sudo make cgroup-setup'; 'make doctor' checks",
		    "enable pids, memory and cpu in /sys/fs/cgroup/cgroup.subtree_control");
	const char *dir = cgroup_mkdir("/sys/fs/cgroup");
	cgroup_write(dir, "pids.max", "20", false);
	cgroup_write(dir, "memory.max", "64M", false);
	cgroup_write(dir, "memory.swap.max", "0", true); /* no file if swap is not counted */
	cgroup_write(dir, "cpu.max", "50000 100000", false); /* 50 ms in every 100 */
}

/* Move the calling process into the cgroup: "0" means "myself". */
static void cgroup_join(void)
{
	char procs[PATH_MAX];

	for (int i = 0; i < made; i++) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[i]);
		if (write_file(procs, "0") < 0)
			die(NULL, "write 0 to %s", procs);
	}
}

/*
 * A cgroup outlives its processes: remove it when the container has
 * ended.  (Killed with SIGKILL, we cannot: `make clean-cgroups`.)
 */
static void cgroup_remove(void)
{
	for (int i = 0; i < made; i++)
		if (rmdir(dirs[i]) < 0 && errno != ENOENT)
			report(NULL, "rmdir %s", dirs[i]);
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

	/*
	 * Join the cgroup first, while the host's /sys/fs/cgroup is still
	 * in view: after chroot() that path is a plain directory in the
	 * root filesystem, where the same writes "work" and limit nothing.
	 * All the container's processes descend from us, and inherit it.
	 */
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
		cgroup_abort(NULL, "clone", "");

	int status = wait_forwarding(pid);
	cgroup_remove();
	return status;
}

int main(int argc, char **argv)
{
	char **cmd = parse_args(argc, argv);
	int status = run(cmd);

	fprintf(stderr, "== Finished ==\n");
	return status;
}
