/*
 * Step 1: run a command.
 *
 *     container run echo hello
 *
 * No isolation yet: the command is an ordinary child process that sees
 * everything its parent sees.  This is what `docker run` grows from.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "container.h"

/* Become the command.  execvp() searches PATH, as a shell does. */
static _Noreturn void exec_command(char **cmd)
{
	reset_signals();
	execvp(cmd[0], cmd);
	exec_failed(cmd[0]);
}

static int run(char **cmd)
{
	print_running(cmd, 0);

	block_signals();
	pid_t pid = fork();
	if (pid < 0)
		die(NULL, "fork");
	if (pid == 0)
		exec_command(cmd);

	return wait_forwarding(pid);
}

int main(int argc, char **argv)
{
	char **cmd = parse_args(argc, argv);
	int status = run(cmd);

	fprintf(stderr, "== Finished ==\n");
	return status;
}
