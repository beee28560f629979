/*
 * memhog MIB: allocate MIB mebibytes and touch every page, so that they
 * are really charged to the cgroup; print how much it got.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The last chunk; each holds the address of the one before.  The memory
 * stays in use, and reachable, until the program ends.
 */
static void *held;

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: memhog MIB\n");
		return 2;
	}
	int mib = atoi(argv[1]);
	for (int i = 0; i < mib; i++) {
		void **chunk = malloc(1 << 20);
		if (!chunk) {
			printf("memhog: malloc failed after %d MiB\n", i);
			return 1;
		}
		memset(chunk, 0xa5, 1 << 20); /* never freed: that is the point */
		*chunk = held;
		held = chunk;
	}
	printf("memhog: touched %d MiB\n", mib);
	return 0;
}
