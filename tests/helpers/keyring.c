/*
 * keyring [i386]: add a key to this process's own keyring (it goes
 * with the process) and say whether the kernel let it.  A call no
 * capability guards, that a seccomp filter can refuse.  With "i386",
 * make the same call through the i386 system call entry (int $0x80),
 * whose numbers differ: a filter that does not check the architecture
 * takes it for another call.
 */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define I386_NR_ADD_KEY 286

/* The strings must have 32-bit addresses: a static, non-PIE program's data. */
static const char type[] = "user", description[] = "containers-from-scratch", payload[] = "x";

#ifdef __x86_64__
static long add_key_i386(void)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(I386_NR_ADD_KEY), "b"(type), "c"(description), "d"(payload),
			   "S"(sizeof(payload) - 1), "D"(KEY_SPEC_PROCESS_KEYRING)
			 : "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	long key;

	if (strcmp(how, "i386") == 0) {
#ifdef __x86_64__
		key = add_key_i386();
#else
		printf("keyring: no i386 system calls here\n");
		return 2;
#endif
	} else {
		key = syscall(SYS_add_key, type, description, payload, sizeof(payload) - 1,
			      KEY_SPEC_PROCESS_KEYRING);
	}
	if (key < 0) {
		printf("keyring: add_key%s: %s\n", *how ? " (i386)" : "", strerror(errno));
		return 1;
	}
	printf("keyring: added key %ld%s\n", key, *how ? " (i386)" : "");
	return 0;
}
