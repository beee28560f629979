/*
 * forkloop SECONDS: fork idle children until fork() fails, say how far it
 * got and why, hold them for SECONDS (so the host can look), then end.
 * The tests' fork bomb, tame enough to clean up after itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: forkloop SECONDS\n");
		return 2;
	}
	static pid_t children[4096];
	int count = 0;
	while (count < 4096) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			pause();
			_exit(0);
		}
		children[count++] = pid;
	}
	printf("forkloop: %d children, then fork: %s\n", count, strerror(errno));
	fflush(stdout);
	sleep((unsigned)atoi(argv[1]));
	for (int i = 0; i < count; i++)
		kill(children[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
