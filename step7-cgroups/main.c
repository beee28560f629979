/*
 * Step 7: limits of its own.
 *
 *     container run sh -c 'cat /proc/self/cgroup'
 *
 * A control group caps what the container may use: 20 processes, so a
 * fork bomb fails; 64 MiB of memory, past which the kernel kills; and
 * half a CPU.  The cgroup is made before the container starts and
 * removed when it ends.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "container.h"

#define HOSTNAME "container"

/* The child's stack: clone() does not allocate one. */
static char child_stack[1024 * 1024] __attribute__((aligned(16)));

/*
 * cgroup v2 has one tree, with the files of every controller in each
 * cgroup.  cgroup v1 has one tree per controller, and other file names.
 * "Hybrid" hosts mount v1 at /sys/fs/cgroup: for us, they are v1.
 */
#define CGROUP_ROOT "/sys/fs/cgroup"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const controllers[] = { "pids", "memory", "cpu" };
#define N_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))
#define CGROUP_HINT "is the controller enabled? 'make doctor' checks"

static const struct limit {
	const char *controller;
	const char *v2_file, *v2_value;
	const char *v1_file, *v1_value;
	bool optional; /* absent where the kernel has no swap accounting */
} limits[] = {
	/* A fork bomb stops at 20 tasks: "Resource temporarily unavailable". */
	{ "pids", "pids.max", "20", "pids.max", "20", false },
	/* Past 64 MiB the kernel's OOM killer picks a process in here. */
	{ "memory", "memory.max", "64M", "memory.limit_in_bytes", "64M", false },
	/* And no swap on top (v1 counts memory and swap together). */
	{ "memory", "memory.swap.max", "0", "memory.memsw.limit_in_bytes", "64M", true },
	/* Half a CPU: 50 ms of CPU time in every 100 ms period. */
	{ "cpu", "cpu.max", "50000 100000", "cpu.cfs_quota_us", "50000", false },
};

static bool cgroup_v2;
static char cgroup_name[32];

/* CGROUP_ROOT[/controller]/NAME[/file] */
static const char *cgroup_path(const char *name, const char *controller, const char *file)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), CGROUP_ROOT "%s%s/%s%s%s",
		 cgroup_v2 ? "" : "/", cgroup_v2 ? "" : controller,
		 name, *file ? "/" : "", file);
	return path;
}

/* One directory on v2, one per controller on v1. */
static size_t cgroup_dirs(void)
{
	return cgroup_v2 ? 1 : N_CONTROLLERS;
}

/* Kill every process in the cgroup of controller I. */
static void cgroup_kill(size_t i)
{
	FILE *procs = fopen(cgroup_path(cgroup_name, controllers[i], "cgroup.procs"), "re");
	int pid;

	while (procs && fscanf(procs, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	if (procs)
		fclose(procs);
}

/* Remove the cgroup, killing whatever is still in it. */
static void cgroup_remove(void)
{
	for (size_t i = 0; i < cgroup_dirs(); i++) {
		/*
		 * Usually it is empty by now: when the container's init
		 * exits, the kernel kills all that is left in its PID
		 * namespace.  But a process may have joined from outside.
		 */
		if (rmdir(cgroup_path(cgroup_name, controllers[i], "")) == 0 || errno == ENOENT)
			continue;
		cgroup_kill(i);
		/* Killed tasks leave the cgroup a moment after they die. */
		const char *dir = cgroup_path(cgroup_name, controllers[i], "");
		for (int try = 0; rmdir(dir) < 0 && errno == EBUSY && try < 100; try++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		if (access(dir, F_OK) == 0)
			report(NULL, "rmdir %s", dir);
	}
}

/*
 * A container program killed by SIGKILL cannot remove its cgroup (its
 * init dies with it, so the cgroup is empty).  Remove every empty
 * container-PID whose PID is gone, so that they don't pile up.  Every
 * one has a pids directory (on v1, the first tree): list that one.
 */
static void cgroup_remove_stale(void)
{
	const char *parent = cgroup_v2 ? CGROUP_ROOT : CGROUP_ROOT "/pids";
	DIR *dir = opendir(parent); /* if missing, mkdir said so already */
	struct dirent *entry;
	int pid, end = 0;

	while (dir && (entry = readdir(dir))) {
		if (sscanf(entry->d_name, "container-%d%n", &pid, &end) != 1 ||
		    entry->d_name[end] || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		for (size_t i = 0; i < cgroup_dirs(); i++) {
			const char *path = cgroup_path(entry->d_name, controllers[i], "");
			/* EBUSY: not empty, so not ours to judge: leave it. */
			if (rmdir(path) < 0 && errno != EBUSY && errno != ENOENT)
				report(NULL, "rmdir stale cgroup %s", path);
		}
	}
	if (dir)
		closedir(dir);
}

/* After report(): undo what cgroup_create() did so far, and give up. */
static _Noreturn void cgroup_abort(void)
{
	cgroup_remove();
	exit(EXIT_SETUP);
}

/* v2: a cgroup offers its children only the controllers it enables. */
static void cgroup_enable_controllers(void)
{
	for (size_t i = 0; i < N_CONTROLLERS; i++) {
		char word[16];
		snprintf(word, sizeof(word), "+%s", controllers[i]);
		if (write_file(CGROUP_ROOT "/cgroup.subtree_control", word) < 0)
			die("in a container? run 'sudo make cgroup-setup'; 'make doctor' checks",
			    "write %s to " CGROUP_ROOT "/cgroup.subtree_control", word);
	}
}

/* A cgroup with our limits, made before the container exists. */
static void cgroup_create(void)
{
	struct statfs fs;

	if (statfs(CGROUP_ROOT, &fs) < 0)
		die("is cgroupfs mounted?", "statfs %s", CGROUP_ROOT);
	cgroup_v2 = fs.f_type == CGROUP2_SUPER_MAGIC;
	snprintf(cgroup_name, sizeof(cgroup_name), "container-%d", (int)getpid());

	if (cgroup_v2)
		cgroup_enable_controllers();
	for (size_t i = 0; i < cgroup_dirs(); i++) {
		const char *dir = cgroup_path(cgroup_name, controllers[i], "");
		if (mkdir(dir, 0755) < 0) {
			report(CGROUP_HINT, "mkdir %s", dir);
			cgroup_abort();
		}
	}
	for (const struct limit *l = limits; l < limits + sizeof(limits) / sizeof(*l); l++) {
		const char *file = cgroup_v2 ? l->v2_file : l->v1_file;
		const char *value = cgroup_v2 ? l->v2_value : l->v1_value;
		const char *path = cgroup_path(cgroup_name, l->controller, file);
		if (write_file(path, value) < 0 && !(l->optional && errno == ENOENT)) {
			report(CGROUP_HINT, "write %s to %s", value, path);
			cgroup_abort();
		}
	}
}

/*
 * Move the calling process into the cgroup: "0" means "myself".  v1 has
 * two files for it: cgroup.procs moves a whole process, tasks a single
 * thread.  We are one thread, so either will do; but to move a whole
 * process the kernel takes a global lock, and taking it can wait for an
 * RCU grace period: milliseconds, on a busy machine.  (v2 moves single
 * threads only within a "threaded" subtree: there, cgroup.procs.)
 */
static void cgroup_join(void)
{
	for (size_t i = 0; i < cgroup_dirs(); i++) {
		const char *name = cgroup_v2 ? "cgroup.procs" : "tasks";
		const char *file = cgroup_path(cgroup_name, controllers[i], name);
		if (write_file(file, "0") < 0)
			die(NULL, "write 0 to %s", file);
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
	if (pid < 0) {
		report(NULL, "clone");
		cgroup_remove();
		return EXIT_SETUP;
	}

	/* Housekeeping, while the container starts. */
	cgroup_remove_stale();
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
