/* Plumbing shared by every step; see container.h. */
#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DEFAULT_ROOTFS
#error "build with -DDEFAULT_ROOTFS=\"/path/to/rootfs\" (the Makefile does)"
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define USAGE "usage: container run COMMAND [ARG...]"

static _Noreturn void usage_error(const char *problem, const char *arg)
{
	fprintf(stderr, "container: %s%s (" USAGE ")\n", problem, arg);
	exit(EXIT_USAGE);
}

char **parse_args(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		puts(USAGE);
		exit(EXIT_SUCCESS);
	}
	if (argc < 2)
		usage_error("no subcommand", "");
	if (strcmp(argv[1], "run"))
		usage_error("unknown subcommand: ", argv[1]);
	if (argc < 3)
		usage_error("run: no command given", "");
	if (!*argv[2])
		usage_error("run: the command is an empty string", "");
	/* The command inherits PATH; without one, give it the usual. */
	if (setenv("PATH", DEFAULT_PATH, 0) < 0)
		die(NULL, "setenv PATH");
	return argv + 2;
}

void print_running(char **cmd, pid_t pid)
{
	/*
	 * Build the line first and write it once: the container's parent
	 * and its init both narrate, and one write() per line keeps their
	 * lines whole.
	 */
	char line[1024];
	size_t n = 0;

	n += snprintf(line, sizeof(line), "Running [");
	for (char **arg = cmd; *arg && n < sizeof(line); arg++)
		n += snprintf(line + n, sizeof(line) - n, "%s%s", arg == cmd ? "" : " ", *arg);
	if (n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, "]");
	if (pid > 0 && n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " as PID %d", (int)pid);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: still end the line */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it; the container still runs. */
	}
}

static void vreport(const char *hint, const char *fmt, va_list ap)
{
	int saved = errno;
	char what[512];

	vsnprintf(what, sizeof(what), fmt, ap);
	if ((saved == EPERM || saved == EACCES) && geteuid() != 0)
		hint = "run as root";
	else if (!hint && saved == EPERM)
		hint = "run as root, outside any container that forbids it";
	fprintf(stderr, "container: %s: %s%s%s%s\n", what, strerror(saved),
		hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	errno = saved;
}

void report(const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(hint, fmt, ap);
	va_end(ap);
}

void die(const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(hint, fmt, ap);
	va_end(ap);
	exit(EXIT_SETUP);
}

void exec_failed(const char *name)
{
	/* The same statuses a shell uses, so scripts can tell them apart. */
	if (errno == ENOENT) {
		report("is it installed, and in PATH where it runs?", "%s", name);
		exit(EXIT_NOT_FOUND);
	}
	report(NULL, "cannot execute %s", name);
	exit(EXIT_CANNOT_EXEC);
}

/* Passed on to the command, and SIGCHLD to learn when a child exits. */
static const int watched[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };

static sigset_t watched_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		sigaddset(&set, watched[i]);
	return set;
}

static void set_signal_mask(int how)
{
	sigset_t set = watched_signals();

	if (sigprocmask(how, &set, NULL) < 0)
		die(NULL, "sigprocmask");
}

void block_signals(void)
{
	set_signal_mask(SIG_BLOCK);
}

void reset_signals(void)
{
	/*
	 * A shell starts background jobs with SIGINT and SIGQUIT ignored,
	 * and an ignored signal stays ignored across execve(): the command
	 * would never see the SIGINT we pass on.
	 */
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		if (signal(watched[i], SIG_DFL) == SIG_ERR)
			die(NULL, "reset the handling of signal %d", watched[i]);
	}
	set_signal_mask(SIG_UNBLOCK);
}

static int exit_status(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

/* Reap every child that has exited; true once CHILD is among them. */
static bool reap(pid_t child, int *status)
{
	bool done = false;
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		if (pid == child) {
			*status = exit_status(wstatus);
			done = true;
		}
	}
	if (pid < 0 && errno != ECHILD)
		die(NULL, "waitpid");
	return done;
}

int wait_forwarding(pid_t child)
{
	/*
	 * The watched signals are blocked, so they wait as pending until
	 * sigwaitinfo() takes them: none is lost, and no handler runs in
	 * the middle of anything.  A blocked signal also reaches a PID 1,
	 * which the kernel otherwise shields from signals it has no
	 * handler for.
	 */
	sigset_t set = watched_signals();
	int status;

	while (!reap(child, &status)) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig < 0 && errno != EINTR)
			die(NULL, "sigwaitinfo");
		if (sig > 0 && sig != SIGCHLD && kill(child, sig) < 0 && errno != ESRCH)
			report(NULL, "kill %d", (int)child);
	}
	return status;
}

const char *rootfs_path(void)
{
	const char *path = getenv("ROOTFS");

	if (!path)
		return DEFAULT_ROOTFS;
	if (!*path) {
		fprintf(stderr,
			"container: ROOTFS is set but empty "
			"(unset it to use %s, or give a directory)\n",
			DEFAULT_ROOTFS);
		exit(EXIT_SETUP);
	}
	return path;
}

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t len = (ssize_t)strlen(text);
	if (write(fd, text, len) != len) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}
