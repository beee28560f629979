/*
 * cpuburn SECONDS: spin for SECONDS of wall-clock time, then print the
 * CPU time it got as a percentage of one CPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cpuburn SECONDS\n");
		return 2;
	}
	double start = now(CLOCK_MONOTONIC), end = start + atof(argv[1]);
	double wall;
	while ((wall = now(CLOCK_MONOTONIC)) < end)
		;
	double cpu = now(CLOCK_PROCESS_CPUTIME_ID);
	printf("cpuburn: %d%% of a CPU\n", (int)(100 * cpu / (wall - start) + 0.5));
	return 0;
}
