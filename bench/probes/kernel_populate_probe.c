/* Copied unchanged from shared/bench/kernel_populate_probe.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Physical-limit probe: the time the kernel takes to hand out and zero N MiB of hugepages.
 * Nothing that maps hugepages can be faster than this; it is the floor for an init benchmark.
 * usage: kernel_populate_probe MIB [THREADS [PAGE_KB]]
 * prints: populate_ms=<ms> mib=<n> threads=<t> page_kb=<kb> */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

static char *base;
static size_t per;
static int failed;

static void *touch(void *arg)
{
	if (madvise(base + (size_t)arg * per, per, MADV_POPULATE_WRITE)) failed = errno;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: kernel_populate_probe MIB [THREADS [PAGE_KB]]\n"); return 2; }
	size_t mib = atol(argv[1]), kb = argc > 3 ? atol(argv[3]) : 2048, len = mib << 20;
	int nt = argc > 2 ? atoi(argv[2]) : 1;
	if (nt < 1 || nt > 64 || len % (kb << 10) || len / nt % (kb << 10)) { fprintf(stderr, "MIB must split into whole pages per thread\n"); return 2; }
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (__builtin_ctzl(kb << 10) << MAP_HUGE_SHIFT), -1, 0);
	if (base == MAP_FAILED) { perror("mmap"); return 1; }
	per = len / nt;
	pthread_t t[64];
	for (int i = 0; i < nt; i++) pthread_create(&t[i], NULL, touch, (void *)(size_t)i);
	for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (failed) { fprintf(stderr, "MADV_POPULATE_WRITE: %s\n", strerror(failed)); return 1; }
	printf("populate_ms=%.1f mib=%zu threads=%d page_kb=%zu\n",
	       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, mib, nt, kb);
	munmap(base, len);
	return 0;
}
