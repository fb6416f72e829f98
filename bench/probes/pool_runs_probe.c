/* Copied unchanged from shared/bench/pool_runs_probe.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Pool probe: map every free hugepage of one size, read physical addresses from pagemap, and print the
 * physically contiguous runs the pool offers: the best that any page selection can reach.
 * usage: pool_runs_probe [PAGE_KB [WANT_MB ...]]   (root: pagemap PFNs read 0 without CAP_SYS_ADMIN)
 * prints: pool_pages=N runs=R largest_run_mb=L top_runs_mb=a,b,c,d,e
 *         and per WANT_MB: want_mb=W best_pieces=P best_largest_mb=L   (fewest runs that cover W, largest first) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

static int asc(const void *a, const void *b) { uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b; return x < y ? -1 : x > y; }
static int desc(const void *a, const void *b) { return asc(b, a); }

int main(int argc, char **argv)
{
	unsigned kb = argc > 1 ? atoi(argv[1]) : 2048;
	uint64_t sz = (uint64_t)kb << 10;
	char p[256];
	snprintf(p, sizeof p, "/sys/kernel/mm/hugepages/hugepages-%ukB/free_hugepages", kb);
	FILE *f = fopen(p, "r");
	long n = 0;
	if (!f || fscanf(f, "%ld", &n) != 1) { perror(p); return 1; }
	fclose(f);
	if (n <= 0) { printf("pool_pages=0\n"); return 0; }
	int shift = __builtin_ctzll(sz);
	char *va = mmap(NULL, n * sz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | (shift << MAP_HUGE_SHIFT), -1, 0);
	if (va == MAP_FAILED) { perror("mmap"); return 1; }
	int pm = open("/proc/self/pagemap", O_RDONLY);
	uint64_t *pa = malloc(n * 8), *runs = calloc(n, 8);
	for (long i = 0; i < n; i++) {
		uint64_t e;
		if (pread(pm, &e, 8, ((uintptr_t)(va + i * sz) / 4096) * 8) != 8) { perror("pagemap"); return 1; }
		pa[i] = (e & 0x7fffffffffffffULL) * 4096;
		if (!pa[i]) { fprintf(stderr, "pagemap gives no physical addresses (need CAP_SYS_ADMIN)\n"); return 1; }
	}
	qsort(pa, n, 8, asc);
	long r = 0;
	runs[0] = 1;
	for (long i = 1; i < n; i++) {
		if (pa[i] == pa[i - 1] + sz) runs[r]++;
		else runs[++r] = 1;
	}
	r++;
	qsort(runs, r, 8, desc);
	printf("pool_pages=%ld runs=%ld largest_run_mb=%llu top_runs_mb=", n, r, (unsigned long long)(runs[0] * sz >> 20));
	for (long i = 0; i < r && i < 5; i++) printf("%s%llu", i ? "," : "", (unsigned long long)(runs[i] * sz >> 20));
	printf("\n");
	for (int a = 2; a < argc; a++) {
		uint64_t want = (uint64_t)atoll(argv[a]) << 20, got = 0;
		long k = 0;
		while (k < r && got < want) got += runs[k++] * sz;
		printf("want_mb=%s best_pieces=%ld best_largest_mb=%llu%s\n", argv[a], k,
		       (unsigned long long)((runs[0] * sz < want ? runs[0] * sz : want) >> 20), got < want ? " (pool too small)" : "");
	}
	return 0;
}
