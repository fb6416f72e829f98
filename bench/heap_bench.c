/* SPDX-License-Identifier: MIT */
/*
 * heap_bench — hugemem's side of bench/heap.sh (DPDK's is
 * bench/probes/dpdk_malloc.c; both print the same lines).
 *
 *   heap_bench primary PREFIX MB
 *       hm_init -m MB, print "ready", then one command per line of stdin,
 *       one "rate WALL CPU" line per command (per second of wall time, and
 *       of the thread's CPU time: the machine may be shared):
 *         pairs SIZE SECONDS ZERO   hm_malloc (ZERO: hm_zmalloc) + hm_free of
 *                                   SIZE bytes, 64-byte aligned, a byte
 *                                   written in each: pairs per second
 *         xlate SECONDS             hm_virt2iova of 4096 random addresses in
 *                                   1024 blocks of 64 KiB: lookups per second
 *   heap_bench secondary PREFIX SIZE SECONDS ZERO
 *       hm_attach PREFIX, run "pairs" once, print "rate WALL CPU".
 */
#include "hugemem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct hm_ctx *ctx;

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
			char *p = zero ? hm_zmalloc(ctx, size, 64) : hm_malloc(ctx, size, 64);

			if (!p) {
				fprintf(stderr, "heap_bench: %s\n", hm_errmsg(ctx));
				return 0;
			}
			*(volatile char *)p = 1;
			hm_free(ctx, p);
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
		blk[i] = hm_malloc(ctx, 65536, 64);
	for (int i = 0; i < ADDRS; i++)
		a[i] = (char *)blk[rand() % BLOCKS] + rand() % 65536;
	t0 = now_s();
	c0 = cpu_s();
	do {
		for (int i = 0; i < ADDRS; i++)
			sum += hm_virt2iova(ctx, a[i]);
		n += ADDRS;
	} while ((t = now_s()) - t0 < secs);
	*per_cpu = (double)n / (cpu_s() - c0);
	for (int i = 0; i < BLOCKS; i++)
		hm_free(ctx, blk[i]);
	free(blk);
	free(a);
	return sum == 42 ? 0 : (double)n / (t - t0); /* SUM keeps the loop */
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
	struct hm_opts o;
	int rc;

	if (argc < 4 || hm_ctx_new(&ctx) < 0) {
		fprintf(stderr, "usage: heap_bench primary PREFIX MB | secondary PREFIX SIZE SECS "
				"ZERO\n");
		return 2;
	}
	hm_opts_init(&o);
	o.file_prefix = argv[2];
	if (strcmp(argv[1], "primary") == 0) {
		o.mem = strtoull(argv[3], NULL, 10) << 20;
		rc = hm_init(ctx, &o);
	} else {
		rc = argc < 6 ? -1 : hm_attach(ctx, &o);
	}
	if (rc < 0) {
		fprintf(stderr, "heap_bench: %s\n", hm_errmsg(ctx));
		return 1;
	}
	if (strcmp(argv[1], "primary") == 0) {
		printf("ready\n");
		fflush(stdout);
		serve();
	} else {
		double cpu = 0, wall = pairs(strtoull(argv[3], NULL, 10), atof(argv[4]),
					     atoi(argv[5]), &cpu);

		printf("rate %.0f %.0f\n", wall, cpu);
	}
	hm_fini(ctx);
	hm_ctx_free(ctx);
	return 0;
}
