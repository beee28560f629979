/*
 * runbench: time commands, interleaved, and measure their peak memory.
 *
 *     runbench [-n RUNS] [-w WARMUP] [-s SAMPLES.tsv] COMMANDS.tsv
 *
 * COMMANDS.tsv has one command a line, fields separated by tabs:
 *
 *     LABEL  COVER  ARG0  ARG1 ...
 *
 * COVER is "-", or a directory that the command must not see: it then
 * runs in a private mount namespace where a small empty tmpfs covers
 * that directory (crun's workaround on cgroup v1 "hybrid" hosts; the
 * host's mounts do not change).  "{run}" in an argument becomes the
 * number of the run, for commands that need a unique name each time.
 *
 * Every round runs each command once, in an order shuffled anew each
 * round, so that a machine getting slower or faster over the minutes
 * weighs on every command alike.  WARMUP rounds come first and are not
 * counted.  The commands' stdin, stdout and stderr are /dev/null.
 *
 * Each run is timed from just before fork() to just after wait4()
 * returns, with CLOCK_MONOTONIC.  wait4() also gives the run's rusage:
 *   - CPU time: user + system of the command and of every descendant it
 *     (or they) waited for, so of the whole tree;
 *   - ru_maxrss: the largest peak resident set of any ONE process of that
 *     tree (the kernel keeps the maximum as children are reaped; it is
 *     not a sum), in KiB.  The forked child counts until it execs the
 *     command, so this program is linked statically and kept small, and
 *     it prints what such a child peaks at when it exits instead.
 *
 * Output: SAMPLES.tsv (if given) gets every counted run; stdout gets one
 * line per command: label, runs, wall median/min/max (microseconds),
 * CPU median (microseconds), peak RSS median/max (KiB), wall 10th/90th
 * percentile (microseconds).  Exits non-zero
 * as soon as a command fails: timings of a failing command mean nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMMANDS 32
#define MAX_ARGS 64

struct command {
	char *label, *cover;
	char *argv[MAX_ARGS + 1];
	long long *wall_ns, *cpu_us, *rss_kb; /* one per counted run */
};

static struct command commands[MAX_COMMANDS];
static int n_commands;

static _Noreturn void fail(const char *what)
{
	perror(what);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		fail("calloc");
	return p;
}

/* Parse COMMANDS.tsv; the strings stay in the buffer getline made. */
static void read_commands(const char *file, int runs)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t size = 0;

	if (!f)
		fail(file);
	while (getline(&line, &size, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line || *line == '#')
			continue;
		if (n_commands == MAX_COMMANDS) {
			fprintf(stderr, "runbench: more than %d commands\n", MAX_COMMANDS);
			exit(2);
		}
		struct command *c = &commands[n_commands++];
		char *field[MAX_ARGS + 2] = { 0 };
		int n = 0;
		for (char *s = line, *tok; (tok = strsep(&s, "\t")) && n < MAX_ARGS + 2;)
			field[n++] = tok;
		if (n < 3) {
			fprintf(stderr, "runbench: %s: want LABEL, COVER, ARG0...: %s\n", file,
				field[0] ? field[0] : "");
			exit(2);
		}
		c->label = field[0];
		c->cover = strcmp(field[1], "-") ? field[1] : NULL;
		memcpy(c->argv, field + 2, (n - 2) * sizeof(char *));
		c->wall_ns = xcalloc(runs, sizeof(long long));
		c->cpu_us = xcalloc(runs, sizeof(long long));
		c->rss_kb = xcalloc(runs, sizeof(long long));
		line = NULL; /* keep this line's buffer: argv points into it */
		size = 0;
	}
	fclose(f);
	if (!n_commands) {
		fprintf(stderr, "runbench: %s: no commands\n", file);
		exit(2);
	}
}

/* In the child: hide DIR from the command, in a mount namespace of its own. */
static void cover(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    umount2(dir, MNT_DETACH) < 0 ||
	    mount("bench-cover", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=755") < 0) {
		perror(dir);
		_exit(125);
	}
}

/* ARG with "{run}" replaced by RUN, in a buffer of the child's. */
static char *expand(char *arg, int run, char *buf, size_t size)
{
	char *at = strstr(arg, "{run}");
	if (!at)
		return arg;
	snprintf(buf, size, "%.*s%d%s", (int)(at - arg), arg, run, at + 5);
	return buf;
}

static long long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* Run C once; fill in sample I (when I >= 0). */
static void run_once(struct command *c, int run, int i, int devnull)
{
	struct timespec t0, t1;
	struct rusage ru;
	int wstatus;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		static char bufs[MAX_ARGS][256];
		char *argv[MAX_ARGS + 1] = { 0 };
		for (int a = 0; c->argv[a]; a++)
			argv[a] = expand(c->argv[a], run, bufs[a], sizeof(bufs[a]));
		if (c->cover)
			cover(c->cover);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &wstatus, 0, &ru) != pid)
		fail("wait4");
	clock_gettime(CLOCK_MONOTONIC, &t1);

	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus)) {
		fprintf(stderr, "runbench: %s (run %d) failed: %s %d; run it by hand to see why\n",
			c->label, run, WIFEXITED(wstatus) ? "exit status" : "signal",
			WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus));
		exit(1);
	}
	if (i < 0)
		return;
	c->wall_ns[i] = elapsed_ns(&t0, &t1);
	c->cpu_us[i] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
		       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	c->rss_kb[i] = ru.ru_maxrss;
}

/* The peak RSS of a child forked as run_once() does, that does not exec. */
static long child_floor_kb(int devnull)
{
	struct rusage ru;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		dup2(devnull, 1);
		_exit(0);
	}
	if (wait4(pid, NULL, 0, &ru) != pid)
		fail("wait4");
	return ru.ru_maxrss;
}

static int compare(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Sorts V in place. */
static long long median(long long *v, int n)
{
	qsort(v, n, sizeof(*v), compare);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int runs = 200, warmup = 20, opt;
	const char *samples_file = NULL;

	while ((opt = getopt(argc, argv, "n:w:s:")) != -1) {
		switch (opt) {
		case 'n':
			runs = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 's':
			samples_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || runs < 1 || warmup < 0) {
	usage:
		fprintf(stderr,
			"usage: runbench [-n RUNS] [-w WARMUP] [-s SAMPLES.tsv] COMMANDS.tsv\n");
		return 2;
	}
	read_commands(argv[optind], runs);

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		fail("/dev/null");
	int order[MAX_COMMANDS];
	for (int k = 0; k < n_commands; k++)
		order[k] = k;
	srandom(1); /* the same shuffles every time: runs are comparable */

	for (int round = 0; round < warmup + runs; round++) {
		for (int k = n_commands - 1; k > 0; k--) { /* Fisher-Yates */
			int j = random() % (k + 1), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < n_commands; k++)
			run_once(&commands[order[k]], round, round - warmup, devnull);
	}

	FILE *samples = samples_file ? fopen(samples_file, "we") : NULL;
	if (samples_file && !samples)
		fail(samples_file);
	if (samples) {
		fprintf(samples, "label\trun\twall_ns\tcpu_us\tmaxrss_kb\n");
		for (int k = 0; k < n_commands; k++) {
			const struct command *c = &commands[k];
			for (int i = 0; i < runs; i++)
				fprintf(samples, "%s\t%d\t%lld\t%lld\t%lld\n", c->label, i,
					c->wall_ns[i], c->cpu_us[i], c->rss_kb[i]);
		}
		if (fclose(samples) == EOF)
			fail(samples_file);
	}

	printf("# label\truns\twall_median_us\twall_min_us\twall_max_us\tcpu_median_us"
	       "\trss_median_kb\trss_max_kb\twall_p10_us\twall_p90_us\n");
	printf("# forked child before exec: peak RSS %ld KiB\n", child_floor_kb(devnull));
	for (int k = 0; k < n_commands; k++) {
		struct command *c = &commands[k];
		/* median() sorts: the minimum and maximum are at the ends. */
		long long wall = median(c->wall_ns, runs);
		long long cpu = median(c->cpu_us, runs);
		long long rss = median(c->rss_kb, runs);
		printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%lld\t%lld\t%lld\t%.1f\t%.1f\n", c->label, runs,
		       wall / 1e3, c->wall_ns[0] / 1e3, c->wall_ns[runs - 1] / 1e3,
		       cpu, rss, c->rss_kb[runs - 1],
		       c->wall_ns[runs / 10] / 1e3, c->wall_ns[runs - 1 - runs / 10] / 1e3);
	}
	return 0;
}
