/*
 * What every step shares: reporting errors, printing the command, and
 * waiting for a child while passing signals on to it, which is also the
 * init's duty from step 3 on (reaping every orphan: TUTORIAL, step 3).
 * Each step's own feature is in its main.c.
 */
#ifndef CONTAINER_H
#define CONTAINER_H

#include <sys/types.h>

/* Exit statuses besides the command's own (README: "Exit status"). */
enum {
	EXIT_USAGE = 2, /* bad command line */
	EXIT_SETUP = 125, /* the container could not be set up */
	EXIT_CANNOT_EXEC = 126, /* the command exists but cannot run */
	EXIT_NOT_FOUND = 127, /* the command is not in PATH */
};

/*
 * Check "run CMD [ARG...]"; return CMD's argv, or exit 2 with usage.
 * Sets PATH to the usual default if it is unset.
 */
char **parse_args(int argc, char **argv);

/* "Running [echo hello]" on stderr, with " as PID n" when pid > 0. */
void print_running(char **cmd, pid_t pid);

/*
 * "container: WHAT: strerror(errno) (HINT)" on stderr.  HINT may be
 * NULL.  When not root, EPERM and EACCES get "run as root" instead,
 * since that is the fix.  die() exits 125.
 */
void report(const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void die(const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* After a failed execvp(): report it and exit 127 or 126. */
_Noreturn void exec_failed(const char *name);

/*
 * block_signals() before creating a child, so that no signal is lost
 * before wait_forwarding() listens; the child calls reset_signals()
 * just before execvp(), so that the command starts with the default
 * handling of them, as in a fresh system.
 */
void block_signals(void);
void reset_signals(void);

/*
 * Wait until CHILD exits, passing SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * on to it and reaping any other child meanwhile (as PID 1 every
 * orphan becomes ours).  Returns CHILD's exit status, or 128+N if
 * signal N killed it: what a shell reports.
 */
int wait_forwarding(pid_t child);

/* The root filesystem: $ROOTFS, else the one `make rootfs` built. */
const char *rootfs_path(void);

/* Write TEXT to the file PATH; -1 with errno set on failure. */
int write_file(const char *path, const char *text);

#endif
