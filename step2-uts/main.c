/*
 * Step 2: a hostname of its own.
 *
 *     container run sh -c 'hostname; hostname other; hostname'
 *
 * The command runs in a new UTS namespace: it sees, and may change, a
 * hostname that is not the host's.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

	if (sethostname(HOSTNAME, strlen(HOSTNAME)) < 0)
		die(NULL, "sethostname %s", HOSTNAME);
	exec_command(cmd);
}

static int run(char **cmd)
{
	print_running(cmd, 0);

	/* Each CLONE_NEW* flag puts the child in a new namespace of a kind. */
	int flags = CLONE_NEWUTS /* a hostname of its own */
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
