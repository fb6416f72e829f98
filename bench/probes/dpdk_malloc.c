/* DPDK's side of bench/heap.sh (hugemem's is bench/heap_bench.c; both print the same
 * lines). Built against Debian's libdpdk-dev (pkg-config libdpdk).
 *
 *   dpdk_malloc [EAL args...] -- primary
 *       rte_eal_init, print "ready", then one command per line of stdin, one
 *       "rate WALL CPU" line per command (per second of wall time, and of the
 *       thread's CPU time: the machine may be shared):
 *         pairs SIZE SECONDS ZERO   rte_malloc (ZERO: rte_zmalloc) + rte_free of
 *                                   SIZE bytes, 64-byte aligned, a byte written
 *                                   in each: pairs per second
 *         xlate SECONDS             rte_mem_virt2iova of 4096 random addresses in
 *                                   1024 blocks of 64 KiB: lookups per second
 *   dpdk_malloc [EAL args with --proc-type=secondary] -- secondary SIZE SECONDS ZERO
 *       run "pairs" once, print "rate WALL CPU".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Pairs per second of wall time, and (*PER_CPU) per second of this
 * thread's CPU time: the machine may be shared. */
static double pairs(size_t size, double secs, int zero, double *per_cpu)
{
	double t0 = now_s(), c0 = cpu_s(), t;
	long n = 0;

	do {
		for (int i = 0; i < 256; i++) {
			char *p = zero ? rte_zmalloc(NULL, size, 64) : rte_malloc(NULL, size, 64);

			if (!p) {
				fprintf(stderr, "dpdk_malloc: rte_malloc of %zu failed\n", size);
				return 0;
			}
			*(volatile char *)p = 1;
			rte_free(p);
		}
		n += 256;
	} while ((t = now_s()) - t0 < secs);
	*per_cpu = (double)n / (cpu_s() - c0);
	return (double)n / (t - t0);
}

static double xlate(double secs, double *per_cpu)
{
	enum { BLOCKS = 1024, ADDRS = 4096 };
	void **blk = calloc(BLOCKS, sizeof(*blk));
	char **a = calloc(ADDRS, sizeof(*a));
	uint64_t sum = 0;
	double t0, c0, t;
	long n = 0;

	for (int i = 0; i < BLOCKS; i++)
		blk[i] = rte_malloc(NULL, 65536, 64);
	for (int i = 0; i < ADDRS; i++)
		a[i] = (char *)blk[rand() % BLOCKS] + rand() % 65536;
	t0 = now_s();
	c0 = cpu_s();
	do {
		for (int i = 0; i < ADDRS; i++)
			sum += rte_mem_virt2iova(a[i]);
		n += ADDRS;
	} while ((t = now_s()) - t0 < secs);
	*per_cpu = (double)n / (cpu_s() - c0);
	for (int i = 0; i < BLOCKS; i++)
		rte_free(blk[i]);
	free(blk);
	free(a);
	return sum == 42 ? 0 : (double)n / (t - t0);
}

static void serve(void)
{
	char line[128];
	double secs, wall, cpu = 0;
	size_t size;
	int zero;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "pairs %zu %lf %d", &size, &secs, &zero) == 3)
			wall = pairs(size, secs, zero, &cpu);
		else if (sscanf(line, "xlate %lf", &secs) == 1)
			wall = xlate(secs, &cpu);
		else
			wall = cpu = 0;
		printf("rate %.0f %.0f\n", wall, cpu);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "dpdk_malloc: eal init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	if (argc >= 2 && strcmp(argv[1], "primary") == 0) {
		printf("ready\n");
		fflush(stdout);
		serve();
	} else if (argc >= 5 && strcmp(argv[1], "secondary") == 0) {
		double cpu = 0, wall = pairs(strtoull(argv[2], NULL, 10), atof(argv[3]),
					     atoi(argv[4]), &cpu);

		printf("rate %.0f %.0f\n", wall, cpu);
	} else {
		fprintf(stderr,
			"dpdk_malloc: after the EAL arguments: -- primary | -- secondary SIZE "
			"SECONDS ZERO\n");
		return 2;
	}
	rte_eal_cleanup();
	return 0;
}
