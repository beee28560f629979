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
 * A cgroup is a directory in the cgroup filesystem.  cgroup v2 has one
 * tree, with every controller's files in each cgroup; v1 has a tree per
 * controller, and other file names.  ("Hybrid" hosts mount v1 at
 * /sys/fs/cgroup: for us, they are v1.)
 */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_HINT "is the controller enabled? 'make doctor' checks"

static const char *const controllers[] = { "pids", "memory", "cpu" };

static const struct limit {
	const char *controller;
	const char *v2_file, *v2_value, *v1_file, *v1_value;
	bool optional; /* absent where the kernel does not account for swap */
} limits[] = {
	/* A fork bomb stops at 20 tasks: "Resource temporarily unavailable". */
	{ "pids", "pids.max", "20", "pids.max", "20", false },
	/* Past 64 MiB the kernel's OOM killer picks a process in here... */
	{ "memory", "memory.max", "64M", "memory.limit_in_bytes", "64M", false },
	/* ...with no swap on top (v1 counts memory and swap together). */
	{ "memory", "memory.swap.max", "0", "memory.memsw.limit_in_bytes", "64M", true },
	/* Half a CPU: 50 ms of CPU time in every 100 ms period. */
	{ "cpu", "cpu.max", "50000 100000", "cpu.cfs_quota_us", "50000", false },
};

static bool v2;
static char cgroup_name[32];

/* How many cgroup directories: v2 has one, v1 one per controller. */
#define CGROUP_DIRS (v2 ? 1 : sizeof(controllers) / sizeof(controllers[0]))

/* CGROUP_ROOT[/controller]/container-PID[/file] */
static const char *cgroup_path(const char *controller, const char *file)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), CGROUP_ROOT "%s%s/%s%s%s", v2 ? "" : "/",
		 v2 ? "" : controller, cgroup_name, file ? "/" : "", file ? file : "");
	return path;
}

static void cgroup_remove(void)
{
	for (size_t i = 0; i < CGROUP_DIRS; i++) {
		const char *dir = cgroup_path(controllers[i], NULL);
		if (rmdir(dir) < 0 && errno != ENOENT)
			report(NULL, "rmdir %s", dir);
	}
}

/* Say what failed, undo what cgroup_create() did so far, and give up. */
static _Noreturn void cgroup_abort(const char *hint, const char *what, const char *path)
{
	report(hint, "%s%s", what, path);
	cgroup_remove();
	exit(EXIT_SETUP);
}

/* A cgroup with our limits, made before the container exists. */
static void cgroup_create(void)
{
	/* Only the root of a v2 tree has this file. */
	v2 = access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0;
	snprintf(cgroup_name, sizeof(cgroup_name), "container-%d", (int)getpid());

	/* v2: a cgroup offers its children only the controllers it enables. */
	if (v2 && write_file(CGROUP_ROOT "/cgroup.subtree_control", "+pids +memory +cpu") < 0)
		die("in a container? run 'sudo make cgroup-setup'; 'make doctor' checks",
		    "enable pids, memory and cpu in %s/cgroup.subtree_control", CGROUP_ROOT);
	for (size_t i = 0; i < CGROUP_DIRS; i++) {
		const char *dir = cgroup_path(controllers[i], NULL);
		if (mkdir(dir, 0755) < 0)
			cgroup_abort(CGROUP_HINT, "mkdir ", dir);
	}
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const struct limit *l = &limits[i];
		const char *path = cgroup_path(l->controller, v2 ? l->v2_file : l->v1_file);
		if (write_file(path, v2 ? l->v2_value : l->v1_value) < 0 &&
		    !(l->optional && errno == ENOENT))
			cgroup_abort(CGROUP_HINT, "write a limit to ", path);
	}
}

/* Move the calling process into the cgroup: "0" means "myself". */
static void cgroup_join(void)
{
	for (size_t i = 0; i < CGROUP_DIRS; i++) {
		const char *procs = cgroup_path(controllers[i], "cgroup.procs");
		if (write_file(procs, "0") < 0)
			die(NULL, "write 0 to %s", procs);
	}
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

	/*
	 * A cgroup outlives its processes: remove it when the container
	 * has ended.  (Killed with SIGKILL, we cannot: `make clean-cgroups`.)
	 */
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
