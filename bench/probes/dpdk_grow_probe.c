/* DPDK's side of bench/growth.sh (hugemem's is bench/growth_bench.c; both print the same
 * lines). Built against Debian's libdpdk-dev (pkg-config libdpdk). The EAL arguments choose
 * the memory mode: bench/growth.sh gives the default dynamic mode (no -m, no --legacy-mem),
 * in which rte_malloc maps more pages when the heap cannot serve it.
 *
 *   dpdk_grow_probe [EAL args...] -- grow SIZE N [wait]
 *       rte_malloc(SIZE) until N calls have grown the heap (the sum over sockets of
 *       rte_malloc_get_socket_stats' heap_totalsz_bytes larger after the call than before).
 *       Every call is timed; the N that grew are printed, one line each:
 *       "grow SIZE NS GREW_BYTES". The first call that grows is a warm-up (not printed).
 *       With "wait": print "ready" and wait for a line on standard input first (so that a
 *       secondary can attach: the primary's growth then waits for it to map the pages).
 *   dpdk_grow_probe [EAL args...] -- xlate STEPS ROUNDS SECONDS
 *       grow STEPS times through rte_malloc(64 KiB), then ROUNDS times rte_mem_virt2iova and
 *       rte_malloc_virt2iova of 4096 random addresses in every block allocated, for SECONDS
 *       each: "xlate NS_MEM_VIRT2IOVA NS_MALLOC_VIRT2IOVA" per round (per second of the
 *       thread's CPU time), and "layout MEMSEGS BYTES".
 *   Both print "iova PA" or "iova VA" first: DPDK's IOVA mode decides what
 *   rte_mem_virt2iova costs (PA: a read of /proc/self/pagemap per call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#define KIB64	 65536
#define MAX_CALL 4000000L

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t heap_total(void)
{
	struct rte_malloc_socket_stats s;
	uint64_t sum = 0;

	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0)
			sum += s.heap_totalsz_bytes;
	return sum;
}

struct blocks {
	void **v;
	size_t n, cap;
};

static int keep(struct blocks *b, void *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		void **v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = p;
	return 0;
}

/* rte_malloc(SIZE) until one call grows the heap: that call's time in *NS, the growth in
 * *GREW. -1 when an allocation fails. */
static int grow_once(struct blocks *b, size_t size, uint64_t *ns, uint64_t *grew)
{
	uint64_t before = heap_total(), after, t0, t1;

	for (long i = 0; i < MAX_CALL; i++) {
		void *p;

		t0 = now_ns();
		p = rte_malloc(NULL, size, 64);
		t1 = now_ns();
		if (!p || keep(b, p) < 0) {
			fprintf(stderr, "dpdk_grow_probe: rte_malloc(%zu) failed\n", size);
			return -1;
		}
		*(volatile char *)p = 1;
		after = heap_total();
		if (after > before) {
			*ns = t1 - t0;
			*grew = after - before;
			return 0;
		}
	}
	fprintf(stderr, "dpdk_grow_probe: %ld calls and the heap never grew\n", MAX_CALL);
	return -1;
}

static int run_grow(size_t size, int n)
{
	struct blocks b = {0};
	uint64_t ns, grew;
	int rc = 0;

	for (int i = 0; i <= n && rc == 0; i++) {
		rc = grow_once(&b, size, &ns, &grew);
		if (rc == 0 && i > 0) /* the first growth is the warm-up */
			printf("grow %zu %llu %llu\n", size, (unsigned long long)ns,
			       (unsigned long long)grew);
	}
	for (size_t i = 0; i < b.n; i++)
		rte_free(b.v[i]);
	free(b.v);
	return rc;
}

/* ns per call over ADDRS addresses (block BLK[i] + OFF[i]) for SECS of thread CPU time;
 * MALLOC: rte_malloc_virt2iova (the heap's own, through the block's memseg; it takes the
 * block's start only) plus the offset, instead of rte_mem_virt2iova of the address. */
static double xlate_round(char **blk, const unsigned *off, int addrs, double secs, int malloc_way)
{
	uint64_t sum = 0;
	double c0 = cpu_s(), c;
	long n = 0;

	do {
		for (int i = 0; i < addrs; i++)
			sum += malloc_way ? rte_malloc_virt2iova(blk[i]) + off[i]
					  : rte_mem_virt2iova(blk[i] + off[i]);
		n += addrs;
	} while ((c = cpu_s()) - c0 < secs);
	return sum == 42 ? 0 : (c - c0) * 1e9 / (double)n; /* SUM keeps the loop */
}

static int count_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	(void)msl;
	(void)ms;
	++*(int *)arg;
	return 0;
}

static int run_xlate(int steps, int rounds, double secs)
{
	enum { ADDRS = 4096 };
	struct blocks b = {0};
	char **a = calloc(ADDRS, sizeof(*a));
	unsigned *off = calloc(ADDRS, sizeof(*off));
	uint64_t ns, grew;
	int rc = 0, segs = 0;

	for (int i = 0; i < steps && rc == 0; i++)
		rc = grow_once(&b, KIB64, &ns, &grew);
	if (rc < 0 || !a || !off)
		return -1;
	srand(17);
	for (int i = 0; i < ADDRS; i++) {
		a[i] = b.v[(size_t)rand() % b.n];
		off[i] = (unsigned)(rand() % KIB64);
	}
	for (int r = 0; r < rounds; r++)
		printf("xlate %.2f %.2f\n", xlate_round(a, off, ADDRS, secs, 0),
		       xlate_round(a, off, ADDRS, secs, 1));
	rte_memseg_walk(count_seg, &segs);
	printf("layout %d %llu\n", segs, (unsigned long long)heap_total());
	for (size_t i = 0; i < b.n; i++)
		rte_free(b.v[i]);
	free(b.v);
	free(a);
	free(off);
	return 0;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv), rc = 2;

	if (n < 0) {
		fprintf(stderr, "dpdk_grow_probe: eal init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	printf("iova %s\n", rte_eal_iova_mode() == RTE_IOVA_VA ? "VA" : "PA");
	if (argc >= 4 && strcmp(argv[1], "grow") == 0) {
		char line[16];

		if (argc >= 5 && strcmp(argv[4], "wait") == 0) {
			printf("ready\n");
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				return 1;
		}
		rc = run_grow(strtoull(argv[2], NULL, 10), atoi(argv[3])) < 0;
	} else if (argc >= 5 && strcmp(argv[1], "xlate") == 0)
		rc = run_xlate(atoi(argv[2]), atoi(argv[3]), atof(argv[4])) < 0;
	else
		fprintf(stderr,
			"dpdk_grow_probe: after the EAL arguments: -- grow SIZE N | -- xlate "
			"STEPS ROUNDS SECONDS\n");
	rte_eal_cleanup();
	return rc;
}
