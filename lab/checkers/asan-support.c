/*
 * Linked into the `make check-asan` builds only (build/asan/), never
 * into the lesson's programs: what the sanitizers cannot know, or get
 * wrong, about the steps' processes.
 *
 * 1. The clone child's stack.  ASan keeps, per thread, the bounds of its
 *    stack.  The steps' clone() child runs on child_stack, a static
 *    array, yet ASan still holds the main thread's bounds: a clone()
 *    without CLONE_VM is no thread it sees being made.  Before every
 *    call to a _Noreturn function (die(), exit(), exec_command()) ASan
 *    unpoisons the stack from there to its top; from child_stack that
 *    range spans terabytes, so it warns "ASan is ignoring requested
 *    __asan_handle_no_return ... False positive error reports may
 *    follow" and skips it; and LeakSanitizer would scan the stale copy
 *    of the parent's stack instead of the child's.  So the link wraps
 *    clone() (-Wl,--wrap=clone), and the child first tells ASan where
 *    its stack is, with the API ASan has for coroutine libraries, which
 *    switch stacks too.
 *
 * 2. The clone child's end.  When the child's function returns, glibc's
 *    clone() ends the process with the exit system call, not exit():
 *    atexit handlers do not run, LeakSanitizer's end-of-process check
 *    among them.  The wrapper runs that check itself, then returns.
 *
 * 3. /proc.  LeakSanitizer stops the process's threads, which it finds
 *    in /proc/<getpid()>/task, and reads /proc/self/maps.  In a new PID
 *    namespace that takes a /proc of that namespace.  The container's
 *    init and its children have none in step 4 (chroot, no proc mount)
 *    or in step 5's init once it has unmounted /proc: LeakSanitizer
 *    dies there ("Can't open /proc/2/task", exit status 1).  In step 3
 *    /proc is the host's, where /proc/1 is the host's init: it would
 *    take that process's thread IDs for ours and stop whatever they
 *    number in the container.  There, and only there, the leak check
 *    is skipped (__lsan_is_turned_off() below).  The same code is
 *    leak-checked where it can be: the container program on the host
 *    in every step, the clone child in step 2 (no PID namespace yet),
 *    and the container's init and its children in steps 6 and 7, and
 *    in step 5 until the unmount.
 *
 * 4. Where reports go.  GCC's ASan and UBSan runtimes are two libraries,
 *    each with its own copy of the code that writes reports, and both
 *    export __sanitizer_set_report_path().  libubsan's call to it, when
 *    it starts, binds to libasan's (loaded first), so UBSan's reports
 *    ignore its log_path and go to stderr, where the tests read the
 *    program's own messages.  Set libubsan's path from UBSAN_OPTIONS
 *    here.  (That call, at UBSan's first report, also points libasan's
 *    reports at UBSan's path; halt_on_error ends the process there.)
 *    And in a new PID namespace every container's init is PID 1:
 *    report files named log_path.PID would overwrite each other, so the
 *    clone child adds ".ctr<the container program's PID>" to the names.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int __real_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int __wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);

typedef void set_path_fn(const char *path);

/* libubsan's own __sanitizer_set_report_path(), or NULL. */
static set_path_fn *ubsan_set_report_path;

/*
 * The value of option NAME in the environment variable VAR, written as
 * "a=1:NAME=value:b=2", into BUF; NULL if it is not there.  Quoted
 * values, which the sanitizers also accept, are not needed here.
 */
static const char *option(const char *var, const char *name, char *buf, size_t size)
{
	const char *opts = getenv(var);
	size_t len = strlen(name);

	for (const char *p = opts; p && *p; p += strcspn(p, ":")) {
		p += strspn(p, ":");
		if (strncmp(p, name, len) == 0 && p[len] == '=') {
			snprintf(buf, size, "%.*s", (int)strcspn(p + len + 1, ":"), p + len + 1);
			return buf;
		}
	}
	return NULL;
}

/* Point a runtime's reports at VAR's log_path plus SUFFIX, if it has one. */
static void set_report_path(set_path_fn *set, const char *var, const char *suffix)
{
	char path[4096], full[4096 + 32];

	if (!set || !option(var, "log_path", path, sizeof(path)) ||
	    !strcmp(path, "stderr") || !strcmp(path, "stdout"))
		return;
	snprintf(full, sizeof(full), "%s%s", path, suffix);
	set(full);
}

__attribute__((constructor)) static void ubsan_reports(void)
{
	/* dlsym() on libubsan's handle finds its own definition first. */
	void *ubsan = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD);

	if (ubsan)
		ubsan_set_report_path = (set_path_fn *)dlsym(ubsan, "__sanitizer_set_report_path");
	set_report_path(ubsan_set_report_path, "UBSAN_OPTIONS", "");
}

/* What the child needs: clone() copies this with the parent's memory. */
static struct {
	int (*fn)(void *);
	void *arg;
	void *stack_bottom;
	size_t stack_size;
	char report_suffix[32];
} start;

static int start_child(void *unused)
{
	(void)unused;
	/*
	 * The fiber switch API, both halves at once: this process has
	 * already switched, and no other thread shares its memory.  The
	 * parent's fake stack (detect_stack_use_after_return) is kept, not
	 * freed: the function's argument may point into it.
	 */
	static void *parent_fake_stack;
	__sanitizer_start_switch_fiber(&parent_fake_stack, start.stack_bottom, start.stack_size);
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
	set_report_path(__sanitizer_set_report_path, "ASAN_OPTIONS", start.report_suffix);
	set_report_path(ubsan_set_report_path, "UBSAN_OPTIONS", start.report_suffix);

	int status = start.fn(start.arg);
	__lsan_do_leak_check();
	return status;
}

int __wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	/*
	 * The steps call clone() with four arguments and no CLONE_VM.  A
	 * child that shared our memory would share ASan's bookkeeping too,
	 * and the optional arguments are not passed on: refuse, loudly,
	 * rather than check something else than the program does.
	 */
	const int unsupported = CLONE_VM | CLONE_THREAD | CLONE_SETTLS | CLONE_PARENT_SETTID |
				CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	if (flags & unsupported) {
		fprintf(stderr, "asan-support: clone flags %#x: not supported\n",
			(unsigned)(flags & unsupported));
		abort();
	}

	/*
	 * The stack is a static array: ASan knows its bounds.  It also
	 * counts an address as "near" the global that starts up to 64 bytes
	 * after it, so ask about one well inside, and check the answer.
	 */
	char name[64];
	void *bottom = NULL;
	size_t size = 0;
	const char *kind = __asan_locate_address((char *)stack - 128, name, sizeof(name),
						 &bottom, &size);
	if (!bottom || (char *)bottom + size != (char *)stack) {
		fprintf(stderr, "asan-support: clone stack %p is not the end of a %s object\n",
			stack, kind);
		abort();
	}

	start.fn = fn;
	start.arg = arg;
	start.stack_bottom = bottom;
	start.stack_size = size;
	snprintf(start.report_suffix, sizeof(start.report_suffix), ".ctr%d", (int)getpid());
	return __real_clone(start_child, stack, flags, NULL);
}

/*
 * LeakSanitizer calls this before a leak check: nonzero skips it.  The
 * header asks for a constant; a process whose /proc cannot serve the
 * check cannot have one, and LeakSanitizer asks exactly when it checks.
 * The check is possible when /proc/self (which the kernel resolves in
 * the PID namespace of the proc mount) is /proc/<getpid()> (our PID in
 * our own namespace): then this /proc shows our namespace, and its
 * task directory is ours.
 */
int __lsan_is_turned_off(void)
{
	char self[32], mine[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	if (n < 0)
		return 1;
	self[n] = '\0';
	snprintf(mine, sizeof(mine), "%d", (int)getpid());
	return strcmp(self, mine) != 0;
}
