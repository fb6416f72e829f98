/* SPDX-License-Identifier: MIT */
/*
 * pool_replay.c — record the order in which the kernel's free list of 2 MiB
 * hugepages hands pages out, and put it back into that order later: so that
 * every contender of the benchmark starts from the very same pool, pages and
 * order, without rebuilding it (fragment_pool takes a minute and is not
 * reproducible physically anyway: the same seed gives the same holes in
 * virtual memory, not the same physical pages).
 *
 * The free list is LIFO per node (mm/hugetlb.c: enqueue puts a freed page at
 * the head, dequeue takes the head): the page freed last is handed out first.
 *
 *   save FILE     map every free page with one thread, in ascending VA order,
 *                 so the faults take the pages in hand-out order; read their
 *                 PFNs from pagemap (root) and write them to FILE in that
 *                 order; then free the pages one by one from the last handed
 *                 out to the first, which leaves the list as it was.
 *   restore FILE  map every free page (in parallel: the order does not matter
 *                 here), check that they are exactly the pages FILE lists, and
 *                 free them from the last of FILE to the first: whoever maps
 *                 next gets FILE's order again.
 *   check FILE    like save, but compare the hand-out order with FILE's; the
 *                 list is left as it was found. Prints match=1 or match=0.
 *
 * Each call costs one zeroing of the free pool (about 1.5 s for 8 GiB here).
 * The 2 MiB pool must not be in use by anyone else meanwhile (hold the bench
 * lock) and must have no surplus pages (those go back to the buddy allocator
 * when freed). The file is text: a count, then one hex PFN per line.
 *
 * usage: pool_replay save|restore|check FILE [THREADS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE	    (2UL << 20)
#define PFN_MASK    ((1ULL << 55) - 1)
#define MAX_THREADS 16
#define SYSFS	    "/sys/kernel/mm/hugepages/hugepages-2048kB/"

struct pool {
	char *base;
	long n;
	uint64_t *pfn; /* by VA: pfn[i] backs base + i * PAGE */
};

struct slice {
	char *from;
	size_t len;
	int err;
};

static long read_count(const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void *populate(void *arg)
{
	struct slice *s = arg;

	if (madvise(s->from, s->len, MADV_POPULATE_WRITE) < 0)
		s->err = errno;
	return NULL;
}

/* Fault every page in: with one thread the pages are taken in VA order. */
static int fault_in(const struct pool *p, int threads)
{
	struct slice s[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	int started[MAX_THREADS];
	long per = (p->n + threads - 1) / threads;
	int used = 0, err = 0;

	for (long first = 0; first < p->n; first += per, used++) {
		long cnt = first + per > p->n ? p->n - first : per;

		s[used] = (struct slice){p->base + first * PAGE, (size_t)cnt * PAGE, 0};
		started[used] = used && pthread_create(&t[used], NULL, populate, &s[used]) == 0;
		if (used && !started[used])
			populate(&s[used]); /* no thread: fault this slice here */
	}
	populate(&s[0]);
	for (int i = 0; i < used; i++) {
		if (started[i])
			pthread_join(t[i], NULL);
		err = err ? err : s[i].err;
	}
	if (err)
		fprintf(stderr, "pool_replay: MADV_POPULATE_WRITE: %s\n", strerror(err));
	return err ? -1 : 0;
}

static int read_pfns(struct pool *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0) {
		perror("pool_replay: /proc/self/pagemap");
		return -1;
	}
	for (long i = 0; i < p->n; i++) {
		uint64_t e = 0;
		off_t at = (off_t)((uintptr_t)(p->base + i * PAGE) / 4096 * 8);

		if (pread(fd, &e, 8, at) != 8 || !(e >> 63) || !(e & PFN_MASK)) {
			fprintf(stderr, "pool_replay: pagemap gives no physical address "
					"(run as root)\n");
			close(fd);
			return -1;
		}
		p->pfn[i] = e & PFN_MASK;
	}
	close(fd);
	return 0;
}

/* Map, fault and read every free page: the whole free pool. */
static int take_pool(struct pool *p, int threads)
{
	long nr = read_count("nr_hugepages"), free_pages = read_count("free_hugepages");
	long resv = read_count("resv_hugepages"), surplus = read_count("surplus_hugepages");

	if (nr < 0 || free_pages < 0 || resv < 0 || surplus < 0) {
		fprintf(stderr, "pool_replay: cannot read " SYSFS "\n");
		return -1;
	}
	if (free_pages != nr || resv || surplus) {
		fprintf(stderr,
			"pool_replay: the 2 MiB pool is in use (nr %ld, free %ld, resv %ld, "
			"surplus %ld): every page must be free\n",
			nr, free_pages, resv, surplus);
		return -1;
	}
	p->n = free_pages;
	p->pfn = calloc((size_t)p->n + 1, sizeof(*p->pfn));
	p->base = mmap(NULL, (size_t)p->n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (!p->pfn || p->base == MAP_FAILED) {
		fprintf(stderr, "pool_replay: mapping %ld pages: %s\n", p->n, strerror(errno));
		return -1;
	}
	if (fault_in(p, threads) < 0 || read_pfns(p) < 0) {
		munmap(p->base, (size_t)p->n * PAGE);
		return -1;
	}
	return 0;
}

/* Free the pages in the order given (VA indexes): the last freed goes out first. */
static void free_in_order(const struct pool *p, const long *idx)
{
	for (long k = 0; k < p->n; k++)
		munmap(p->base + idx[k] * PAGE, PAGE);
}

static void free_reverse_va(const struct pool *p)
{
	for (long i = p->n - 1; i >= 0; i--)
		munmap(p->base + i * PAGE, PAGE);
}

static int load(const char *file, uint64_t **out, long *n)
{
	FILE *f = fopen(file, "r");
	unsigned long long v;
	long cnt = -1;

	if (!f || fscanf(f, "%ld", &cnt) != 1 || cnt <= 0 || cnt > (1L << 26)) {
		fprintf(stderr, "pool_replay: %s: not a saved pool\n", file);
		if (f)
			fclose(f);
		return -1;
	}
	*out = calloc((size_t)cnt, sizeof(**out));
	for (long i = 0; *out && i < cnt; i++) {
		if (fscanf(f, "%llx", &v) != 1) {
			fprintf(stderr, "pool_replay: %s: truncated at entry %ld\n", file, i);
			fclose(f);
			return -1;
		}
		(*out)[i] = v;
	}
	fclose(f);
	*n = cnt;
	return *out ? 0 : -1;
}

static int save(const char *file)
{
	struct pool p;
	FILE *f;

	if (take_pool(&p, 1) < 0)
		return 1;
	f = fopen(file, "w");
	if (f) {
		fprintf(f, "%ld\n", p.n);
		for (long i = 0; i < p.n; i++)
			fprintf(f, "%llx\n", (unsigned long long)p.pfn[i]);
	}
	free_reverse_va(&p);
	if (!f || fclose(f) != 0) {
		perror(file);
		return 1;
	}
	printf("saved=%ld\n", p.n);
	return 0;
}

struct by_pfn {
	uint64_t pfn;
	long va_index;
};

static int cmp_pfn(const void *a, const void *b)
{
	uint64_t x = ((const struct by_pfn *)a)->pfn, y = ((const struct by_pfn *)b)->pfn;

	return x < y ? -1 : x > y;
}

/* The VA index of each saved PFN, last handed out first: the order to free. */
static int plan_restore(const struct pool *p, const uint64_t *saved, long *idx)
{
	struct by_pfn *map = malloc((size_t)p->n * sizeof(*map)), key, *hit;

	if (!map)
		return -1;
	for (long i = 0; i < p->n; i++)
		map[i] = (struct by_pfn){p->pfn[i], i};
	qsort(map, (size_t)p->n, sizeof(*map), cmp_pfn);
	for (long k = 0; k < p->n; k++) {
		key.pfn = saved[p->n - 1 - k];
		hit = bsearch(&key, map, (size_t)p->n, sizeof(*map), cmp_pfn);
		if (!hit || hit->va_index < 0) {
			fprintf(stderr,
				"pool_replay: page 0x%llx of the saved pool is not free now: "
				"the pool changed\n",
				(unsigned long long)key.pfn);
			free(map);
			return -1;
		}
		idx[k] = hit->va_index;
		hit->va_index = -1; /* each page once */
	}
	free(map);
	return 0;
}

static int restore(const char *file, int threads)
{
	uint64_t *saved = NULL;
	long n = 0, *idx;
	struct pool p;

	if (load(file, &saved, &n) < 0 || take_pool(&p, threads) < 0)
		return 1;
	idx = malloc((size_t)p.n * sizeof(*idx));
	if (n != p.n || !idx || plan_restore(&p, saved, idx) < 0) {
		if (n != p.n)
			fprintf(stderr, "pool_replay: %ld pages are free, %s saved %ld\n", p.n,
				file, n);
		munmap(p.base, (size_t)p.n * PAGE);
		return 1;
	}
	free_in_order(&p, idx);
	printf("restored=%ld\n", p.n);
	return 0;
}

static int check(const char *file)
{
	uint64_t *saved = NULL;
	long n = 0, diff = -1;
	struct pool p;

	if (load(file, &saved, &n) < 0 || take_pool(&p, 1) < 0)
		return 1;
	for (long i = 0; i < p.n && i < n && diff < 0; i++)
		if (p.pfn[i] != saved[i])
			diff = i;
	if (diff < 0 && n != p.n)
		diff = n < p.n ? n : p.n;
	free_reverse_va(&p);
	printf("match=%d first_diff=%ld pages=%ld\n", diff < 0, diff, p.n);
	return diff < 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int threads = argc > 3 ? atoi(argv[3]) : 2;

	if (argc < 3 || threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "usage: pool_replay save|restore|check FILE [THREADS]\n");
		return 2;
	}
	if (!strcmp(argv[1], "save"))
		return save(argv[2]);
	if (!strcmp(argv[1], "restore"))
		return restore(argv[2], threads);
	if (!strcmp(argv[1], "check"))
		return check(argv[2]);
	fprintf(stderr, "pool_replay: unknown command '%s'\n", argv[1]);
	return 2;
}
