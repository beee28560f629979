/*
 * Step 6: a mount table of its own.
 *
 *     container run sh -c 'mount | grep -e proc -e mytemp'
 *
 * In a new mount namespace, what the container mounts (its /proc, a
 * tmpfs on /mytemp) is invisible to the host, and goes away with the
 * container, unmounted or not.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "container.h"

#define HOSTNAME "container"

/* The child's stack: clone() does not allocate one. */
static char child_stack[1024 * 1024] __attribute__((aligned(16)));

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
