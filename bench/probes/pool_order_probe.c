/* Copied unchanged from shared/bench/pool_order_probe.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Pool order probe: rearrange the kernel's free list of 2 MiB hugepages so that whoever maps
 * pages next gets the longest physically contiguous run first, in ascending order.
 * The free list is LIFO: the page freed last is handed out first. So: map the whole free pool,
 * read physical addresses, and free the runs shortest first, each run from its highest page down.
 * Costs one zeroing of the pool. Root only (pagemap).
 * usage: pool_order_probe        prints: freed=<pages> runs=<n> longest_mb=<mb> (handed out first) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE (2UL << 20)
struct page { uint64_t pa; char *va; };
struct run { long first, len; };

static int by_pa(const void *a, const void *b)
{
	uint64_t x = ((const struct page *)a)->pa, y = ((const struct page *)b)->pa;
	return x < y ? -1 : x > y;
}
static int by_len(const void *a, const void *b)
{
	long x = ((const struct run *)a)->len, y = ((const struct run *)b)->len;
	return x < y ? -1 : x > y;
}
int main(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = 0;
	if (!f || fscanf(f, "%ld", &n) != 1 || n <= 0) { fprintf(stderr, "no free 2 MiB pages\n"); return 1; }
	fclose(f);
	char *base = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (base == MAP_FAILED) { perror("mmap"); return 1; }
	int pm = open("/proc/self/pagemap", O_RDONLY);
	struct page *p = malloc(n * sizeof *p);
	struct run *r = malloc(n * sizeof *r);
	for (long i = 0; i < n; i++) {
		uint64_t e = 0;
		p[i].va = base + i * PAGE;
		if (pread(pm, &e, 8, (uintptr_t)p[i].va / 4096 * 8) != 8 || !(e & 0x7fffffffffffffULL)) {
			fprintf(stderr, "pagemap gives no physical addresses (need CAP_SYS_ADMIN)\n");
			return 1;
		}
		p[i].pa = (e & 0x7fffffffffffffULL) * 4096;
	}
	qsort(p, n, sizeof *p, by_pa);
	long nr = 0;
	r[0] = (struct run){ 0, 1 };
	for (long i = 1; i < n; i++) {
		if (p[i].pa == p[i - 1].pa + PAGE) r[nr].len++;
		else r[++nr] = (struct run){ i, 1 };
	}
	nr++;
	qsort(r, nr, sizeof *r, by_len);
	for (long k = 0; k < nr; k++)
		for (long j = r[k].first + r[k].len - 1; j >= r[k].first; j--)
			munmap(p[j].va, PAGE);
	printf("freed=%ld runs=%ld longest_mb=%ld\n", n, nr, r[nr - 1].len * 2);
	return 0;
}
