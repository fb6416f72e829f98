/* SPDX-License-Identifier: MIT */
/*
 * heap_test.c — the heap, without hugepages.
 *
 * Part 1, the allocator core (heap/heap.c) on plain malloc'ed memory: three
 * regions on two nodes, one with a gap before it; random take/give/resize
 * sequences against a reference model (every live block's bytes carry its
 * own pattern, blocks never overlap, stay within one region, are aligned),
 * the invariant checker after every step, exhaustion, the unlocked pointer
 * check against stray pointers, and the robust lock: a thread that dies
 * holding it with the heap whole, with a torn free list (repaired), and with
 * an overwritten block header (broken for good).
 *
 * Part 2, the public calls (hm_malloc family, the per-context cache) over
 * an hm_init --no-huge context: random sequences with realloc and zeroing,
 * stray and double frees counted and ignored, alignment limits, exhaustion
 * messages, several threads on one context, statistics that add up.
 */
#include "heap/heap.h"
#include "mem/mem.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HM_DEBUG
#define HM_DEBUG 0
#endif
static const int debug_build = HM_DEBUG; /* make DEBUG=1: freed memory is poisoned */

#define MiB (1ULL << 20)
#define KiB (1ULL << 10)

static struct hm_ctx *ctx;

/* ------------------------------------------------------------------ part 1: the core */

struct core {
	unsigned char *mem;
	struct hmi_seg segs[3];
	struct hmi_heap *h;
	struct hmi_heap_view v;
};

static void core_setup(struct core *c)
{
	struct hmi_region *r;
	size_t n;

	c->mem = aligned_alloc(2 * MiB, 8 * MiB);
	memset(c->mem, 0xa5, 8 * MiB); /* not zero: the heap must not assume it */
	c->segs[0] = (struct hmi_seg){.va = (uintptr_t)c->mem, .len = 2 * MiB, .node = 0};
	c->segs[1] = (struct hmi_seg){
	    .va = (uintptr_t)c->mem + 2 * MiB + 4096, .len = 3 * MiB - 4096, .node = 0};
	c->segs[2] = (struct hmi_seg){
	    .va = (uintptr_t)c->mem + 5 * MiB + 65536, .len = 3 * MiB - 65536, .node = 1};
	is_int(hmi_regions_from_segs(ctx, c->segs, 3, 4096, &r, &n), 0, "regions from 3 segments");
	is_int(n, 3, "three regions");
	ok(r[0].first >= c->segs[0].va + 4096 && (r[0].first + HMI_BLK_HDR) % 64 == 0,
	   "region 0 starts after the skipped arena, payloads 64-aligned");
	c->h = malloc(hmi_heap_size(2, n));
	is_int(hmi_heap_format(ctx, c->h, r, n, 0, NULL), 0, "format");
	is_int(c->h->n_nodes, 2, "two node heaps");
	is_int(hmi_view_init(ctx, &c->v, c->h, r, n, 4096, NULL), 0, "view");
}

static void core_teardown(struct core *c)
{
	hmi_view_release(&c->v);
	pthread_mutex_destroy(&c->h->lock);
	free(c->h);
	free(c->mem);
}

static int check_now(struct core *c, struct hmi_walk *w)
{
	char msg[512] = "";
	int rc = hmi_heap_check_locked(&c->v, w, msg, sizeof(msg));

	if (rc < 0)
		diag("check: %s", msg);
	return rc;
}

struct live {
	uint64_t b;	 /* block */
	uint64_t size;	 /* payload bytes asked */
	unsigned char p; /* pattern */
};

static int pattern_intact(const struct live *l)
{
	const unsigned char *d = (const unsigned char *)(uintptr_t)(l->b + HMI_BLK_HDR);

	for (uint64_t i = 0; i < l->size; i++)
		if (d[i] != l->p)
			return 0;
	return 1;
}

static int cmp_live(const void *a, const void *b)
{
	const struct live *x = a, *y = b;

	return x->b < y->b ? -1 : x->b > y->b;
}

/* Every live block: pattern intact, inside one region, no overlap. */
static int model_ok(struct core *c, struct live *l, size_t n)
{
	struct live *s = malloc((n + 1) * sizeof(*s));
	int good = 1;

	memcpy(s, l, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_live);
	for (size_t i = 0; good && i < n; i++) {
		const struct hmi_region *r = hmi_region_find(&c->v, s[i].b);
		uint64_t end = s[i].b + hmi_blk_size(hmi_blk_at(s[i].b));

		good = r && end <= r->end && pattern_intact(&s[i]) &&
		       (i + 1 == n || end <= s[i + 1].b);
		if (!good)
			diag("live block 0x%llx (%llu bytes) is damaged or out of place",
			     (unsigned long long)s[i].b, (unsigned long long)s[i].size);
	}
	free(s);
	return good;
}

static uint64_t rnd_size(unsigned *seed)
{
	switch (rand_r(seed) % 4) {
	case 0:
		return 1 + rand_r(seed) % 64;
	case 1:
		return 1 + rand_r(seed) % 4096;
	case 2:
		return 1 + rand_r(seed) % (64 * KiB);
	default:
		return 1 + rand_r(seed) % (600 * KiB);
	}
}

static void take_one(struct core *c, struct live *l, size_t *n, unsigned *seed, int *fails)
{
	uint64_t size = rnd_size(seed), align = 1ULL << (6 + rand_r(seed) % 7); /* 64..4096 */
	int slot = rand_r(seed) % 2;
	uint64_t b = hmi_heap_take(&c->v, slot, hmi_blk_for(size), align, NULL);

	if (!b) {
		(*fails)++;
		return;
	}
	if ((b + HMI_BLK_HDR) % align || hmi_blk_at(b)->node != slot ||
	    hmi_blk_size(hmi_blk_at(b)) < hmi_blk_for(size))
		ok(0, "block 0x%llx: aligned to %llu, on node %d, big enough",
		   (unsigned long long)b, (unsigned long long)align, slot);
	l[*n] = (struct live){.b = b, .size = size, .p = (unsigned char)(1 + rand_r(seed) % 250)};
	memset((void *)(uintptr_t)(b + HMI_BLK_HDR), l[*n].p, size);
	(*n)++;
}

static void resize_one(struct core *c, struct live *l, unsigned *seed)
{
	uint64_t size = rnd_size(seed), keep = size < l->size ? size : l->size;

	if (!hmi_heap_resize(&c->v, l->b, hmi_blk_for(size)))
		return;
	l->size = keep; /* the bytes kept must still carry the pattern */
	if (!pattern_intact(l))
		ok(0, "resize of 0x%llx kept its bytes", (unsigned long long)l->b);
	memset((void *)(uintptr_t)(l->b + HMI_BLK_HDR), l->p, size);
	l->size = size;
}

static void core_random(struct core *c)
{
	enum { STEPS = 6000, MAXLIVE = 400 };
	struct live *l = calloc(MAXLIVE, sizeof(*l));
	struct hmi_walk w[2];
	unsigned seed = 12345;
	size_t n = 0;
	int bad_check = 0, bad_model = 0, fails = 0;

	for (int step = 0; step < STEPS; step++) {
		unsigned op = (unsigned)rand_r(&seed) % 10;

		if (n < MAXLIVE && (op < 5 || n == 0)) {
			take_one(c, l, &n, &seed, &fails);
		} else if (op < 8) {
			size_t i = (size_t)rand_r(&seed) % n;

			hmi_heap_give(&c->v, l[i].b);
			l[i] = l[--n];
		} else {
			resize_one(c, &l[(size_t)rand_r(&seed) % n], &seed);
		}
		bad_check += check_now(c, NULL) < 0;
		if (step % 50 == 0)
			bad_model += !model_ok(c, l, n);
	}
	is_int(bad_check, 0, "%d random steps: the checker passes after every one", STEPS);
	is_int(bad_model, 0, "live blocks keep their bytes, never overlap, stay in one region");
	ok(fails > 0, "some takes failed for want of room (%d): exhaustion was reached", fails);
	while (n)
		hmi_heap_give(&c->v, l[--n].b);
	is_int(check_now(c, w), 0, "all given back: heap checks");
	ok(w[0].free_blocks == 2 && w[1].free_blocks == 1 && w[0].used_blocks == 0,
	   "everything merged back: one free block per region (%llu, %llu)",
	   (unsigned long long)w[0].free_blocks, (unsigned long long)w[1].free_blocks);
	free(l);
}

static void core_exhaust(struct core *c)
{
	uint64_t b[64], got = 0, largest = hmi_heap_largest(&c->v, 1);
	size_t n = 0;

	ok(largest > 0 && largest < 3 * MiB, "node 1's largest free block: %llu bytes",
	   (unsigned long long)largest);
	ok(!hmi_heap_take(&c->v, 1, largest + HMI_BLK_ALIGN, 64, NULL),
	   "one block more than the largest: refused");
	b[n] = hmi_heap_take(&c->v, 1, largest, 64, NULL);
	ok(b[n] != 0, "exactly the largest: given");
	got += b[n] != 0;
	n += b[n] != 0;
	ok(!hmi_heap_take(&c->v, 1, 64, 64, NULL), "node 1 now full: even 64 bytes refused");
	ok(hmi_heap_take(&c->v, 0, 64, 64, NULL) != 0, "node 0 still gives");
	is_int(check_now(c, NULL), 0, "heap checks at exhaustion");
	while (n)
		hmi_heap_give(&c->v, b[--n]);
	(void)got;
}

static void core_big_align(struct core *c)
{
	uint64_t b = hmi_heap_take(&c->v, 1, hmi_blk_for(100 * KiB), 1 * MiB, NULL);

	ok(b && (b + HMI_BLK_HDR) % MiB == 0, "a 1 MiB-aligned block found by scanning");
	if (b)
		hmi_heap_give(&c->v, b);
	is_int(check_now(c, NULL), 0, "heap checks after an aligned take");
}

static void core_blk_of(struct core *c)
{
	uint64_t b = hmi_heap_take(&c->v, 0, 256, 64, NULL);
	char stack[128];

	ok(hmi_blk_of(&c->v, (void *)(uintptr_t)(b + HMI_BLK_HDR), NULL) == b,
	   "a live block is found");
	ok(!hmi_blk_of(&c->v, (void *)(uintptr_t)(b + HMI_BLK_HDR + 64), NULL),
	   "an interior pointer: no");
	ok(!hmi_blk_of(&c->v, (void *)(uintptr_t)(b + HMI_BLK_HDR + 1), NULL),
	   "a misaligned pointer: no");
	ok(!hmi_blk_of(&c->v, stack, NULL), "a stack pointer: no");
	ok(!hmi_blk_of(&c->v, (void *)(uintptr_t)(c->segs[1].va - 64), NULL),
	   "a pointer in the gap between regions: no");
	hmi_heap_give(&c->v, b);
	ok(!hmi_blk_of(&c->v, (void *)(uintptr_t)(b + HMI_BLK_HDR), NULL), "a freed block: no");
}

/* ------------------------------------------------------------------ part 1: the lock */

static void *die_holding(void *arg)
{
	struct core *c = arg;

	pthread_mutex_lock(&c->h->lock);
	return NULL; /* exits holding a robust mutex: the next locker sees EOWNERDEAD */
}

static void kill_holder(struct core *c)
{
	pthread_t t;

	pthread_create(&t, NULL, die_holding, c);
	pthread_join(t, NULL);
}

static void core_recovery(struct core *c)
{
	uint64_t b = hmi_heap_take(&c->v, 0, 4096, 64, NULL), b2, rec = c->h->recoveries;
	struct hmi_heap_node *hn = &c->h->nodes[0];

	kill_holder(c);
	is_int(hmi_heap_lock(ctx, &c->v), 0, "holder died, heap whole: the next locker goes on");
	is_int(c->h->recoveries, rec + 1, "recovery counted");
	is_int(c->h->repairs, 0, "no repair needed");
	hmi_heap_unlock(&c->v);

	/* a torn free: a dead process cleared the used bit and got no further */
	hmi_blk_at(b)->size &= ~HMI_BLK_USED;
	hn->used_bytes += 12345;
	kill_holder(c);
	is_int(hmi_heap_lock(ctx, &c->v), 0, "holder died mid-free: repaired, goes on");
	is_int(c->h->repairs, 1, "the repair is counted");
	is_int(check_now(c, NULL), 0, "after the repair the heap checks");
	b2 = hmi_heap_take(&c->v, 0, 4096, 64, NULL);
	ok(b2 != 0, "and gives blocks again");
	hmi_heap_give(&c->v, b2);
	hmi_heap_unlock(&c->v);

	/* a wild write over a header: sizes no longer chain */
	b = hmi_heap_take(&c->v, 0, 4096, 64, NULL);
	hmi_blk_at(b)->size = 7;
	kill_holder(c);
	is_int(hmi_heap_lock(ctx, &c->v), -ENOTRECOVERABLE, "overwritten header: beyond repair");
	like(hm_errmsg(ctx), "beyond repair", "the message says so");
	is_int(hmi_heap_lock(ctx, &c->v), -ENOTRECOVERABLE, "and stays so for every caller");
	like(hm_errmsg(ctx), "broken", "naming the heap broken");
}

static void part_core(void)
{
	struct core c;

	core_setup(&c);
	is_int(check_now(&c, NULL), 0, "a fresh heap checks");
	core_random(&c);
	core_exhaust(&c);
	core_big_align(&c);
	core_blk_of(&c);
	core_recovery(&c);
	c.v.h = NULL; /* broken: release must not lock */
	core_teardown(&c);
}

/* ------------------------------------------------------------------ part 2: public calls */

static char rundir[64];

static int init_no_huge(uint64_t mem)
{
	struct hm_opts o;

	hm_opts_init(&o);
	o.flags |= HM_OPT_NO_HUGE | HM_OPT_NO_SHCONF;
	o.mem = mem;
	o.file_prefix = "hmheaptest";
	return hm_init(ctx, &o);
}

static void api_errors(void)
{
	struct hm_heap_stats st;
	char local[64];
	void *p;

	errno = 0;
	ok(!hm_malloc(ctx, 64, 0), "no heap before hm_init: NULL");
	is_int(errno, ENOENT, "... errno ENOENT (the malloc-style calls set errno)");
	like(hm_errmsg(ctx), "hm_init", "the message says to init first");
	is_int(hm_heap_check(ctx), -ENOENT, "no heap to check");
	is_int(init_no_huge(16 * MiB), 0, "hm_init --no-huge -m 16");
	ok(!hm_malloc(ctx, 0, 0), "size 0: NULL");
	is_int(errno, EINVAL, "... errno EINVAL");
	like(hm_errmsg(ctx), "size 0", "message names size 0");
	ok(!hm_malloc(ctx, 64, 48), "alignment 48: NULL");
	like(hm_errmsg(ctx), "power of two", "message names the alignment rule");
	ok(!hm_malloc(ctx, 64, 8192), "alignment above the page size: NULL");
	ok(!hm_malloc(ctx, 64 * MiB, 0), "more than the heap: NULL");
	is_int(errno, ENOMEM, "... errno ENOMEM");
	like(hm_errmsg(ctx), "largest free block", "message names the largest free block");
	ok(!hm_malloc_socket(ctx, 64, 0, 3), "node 3 has no heap: NULL");
	like(hm_errmsg(ctx), "no memory on node 3", "message names the node");
	errno = 0;
	ok(!hm_calloc(ctx, SIZE_MAX / 2, 4, 0), "calloc overflow: NULL");
	is_int(errno, ENOMEM, "... errno ENOMEM");
	like(hm_errmsg(ctx), "overflow", "message names the overflow");
	hm_free(ctx, NULL);
	hm_free(ctx, local);
	like(hm_errmsg(ctx), "not a block", "a stack pointer: ignored, said");
	p = hm_malloc(ctx, 100, 0);
	hm_free(ctx, p);
	hm_free(ctx, p);
	like(hm_errmsg(ctx), "freed already", "a double free: ignored, said");
	p = hm_malloc(ctx, 100 * KiB, 0);
	hm_free(ctx, p);
	hm_free(ctx, p);
	is_int(hm_heap_stats(ctx, -1, &st), 0, "stats");
	is_int(st.bad_frees, 3, "three bad frees counted");
	is_int(hm_heap_check(ctx), 0, "the heap checks after them");
	is_int(hm_heap_stats(ctx, 5, &st), -ENOENT, "stats of a node without heap: -ENOENT");
	like(hm_errmsg(ctx), "node 0", "message names the nodes that exist");
	errno = 0;
	ok(!hm_realloc(ctx, local, 10, 0), "realloc of a stray pointer: NULL");
	is_int(errno, EINVAL, "... errno EINVAL");
	like(hm_errmsg(ctx), "not a block", "and says why");
}

static void api_poison(void)
{
	unsigned char *small = hm_malloc(ctx, 1000, 0), *big = hm_malloc(ctx, 100 * KiB, 0);
	int poisoned;

	memset(small, 0, 1000);
	memset(big, 0, 100 * KiB);
	hm_free(ctx, small);
	hm_free(ctx, big);
	/* the small block sits in the cache; the big one's payload after its
	 * free-list links */
	poisoned = small[500] == 0x6b && big[50 * KiB] == 0x6b;
	if (debug_build)
		ok(poisoned, "debug build: freed memory is filled with 0x6b");
	else
		ok(!poisoned, "release build: hm_free does not touch the memory");
}

static void api_alignment(void)
{
	int bad = 0;

	for (size_t a = 1; a <= 4096; a <<= 1)
		for (size_t s = 1; s < 9000; s = s * 3 + 1) {
			void *p = hm_malloc(ctx, s, a);

			bad += !p || (uintptr_t)p % (a < 64 ? 64 : a);
			hm_free(ctx, p);
		}
	is_int(bad, 0, "every alignment 1..4096 and size 1..8k honoured, 64 at least");
}

struct rlive {
	unsigned char *p;
	size_t size;
	unsigned char pat;
};

static int rlive_ok(const struct rlive *l)
{
	for (size_t i = 0; i < l->size; i++)
		if (l->p[i] != l->pat)
			return 0;
	return 1;
}

static void api_step(struct rlive *l, size_t *n, unsigned *seed, int *bad)
{
	unsigned op = (unsigned)rand_r(seed) % 10;
	size_t size = (size_t)rnd_size(seed), i = *n ? (size_t)rand_r(seed) % *n : 0;

	if (*n < 300 && (op < 5 || *n == 0)) {
		unsigned char *p = op == 0 ? hm_zmalloc(ctx, size, 0) : hm_calloc(ctx, 1, size, 0);

		if (!p)
			return;
		for (size_t k = 0; k < size; k += 97)
			if (p[k] != 0) {
				diag("step: %s of %zu bytes not zero at %zu",
				     op ? "calloc" : "zmalloc", size, k);
				(*bad)++;
				break;
			}
		l[*n] = (struct rlive){.p = p, .size = size, .pat = (unsigned char)(1 + op)};
		memset(p, l[*n].pat, size);
		(*n)++;
	} else if (op < 8) {
		if (!rlive_ok(&l[i]))
			diag("free: pattern damaged");
		*bad += !rlive_ok(&l[i]);
		hm_free(ctx, l[i].p);
		l[i] = l[--*n];
	} else {
		unsigned char *q = hm_realloc(ctx, l[i].p, size, 0);

		if (!q)
			return;
		l[i].p = q;
		l[i].size = size < l[i].size ? size : l[i].size;
		if (!rlive_ok(&l[i]))
			diag("realloc: pattern damaged");
		*bad += !rlive_ok(&l[i]);
		memset(q, l[i].pat, size);
		l[i].size = size;
	}
}

static void api_random(void)
{
	struct rlive *l = calloc(300, sizeof(*l));
	struct hm_heap_stats st;
	unsigned seed = 777;
	size_t n = 0;
	int bad = 0, bad_check = 0;

	for (int step = 0; step < 4000; step++) {
		api_step(l, &n, &seed, &bad);
		bad_check += hm_heap_check(ctx) < 0;
	}
	is_int(bad, 0, "4000 random calls: zeroed memory zero, contents kept through realloc");
	is_int(bad_check, 0, "hm_heap_check passes after every call");
	while (n)
		hm_free(ctx, l[--n].p);
	is_int(hm_heap_stats(ctx, 0, &st), 0, "stats of node 0");
	ok(st.free + st.used == st.total, "free + used = total (%llu + %llu = %llu)",
	   (unsigned long long)st.free, (unsigned long long)st.used, (unsigned long long)st.total);
	ok(st.used == st.cached, "all in use is this context's cache (%llu, %llu)",
	   (unsigned long long)st.used, (unsigned long long)st.cached);
	ok(st.allocs >= st.frees && st.allocs > 1000, "calls counted (%llu allocs, %llu frees)",
	   (unsigned long long)st.allocs, (unsigned long long)st.frees);
	free(l);
}

static void api_realloc(void)
{
	char *p = hm_malloc(ctx, 10000, 0), *q, *r;

	memset(p, 'x', 10000);
	q = hm_realloc(ctx, p, 50000, 0);
	ok(q == p, "realloc grows in place when the next block is free");
	r = hm_malloc(ctx, 100000, 0); /* takes the room after it */
	q = hm_realloc(ctx, q, 20000, 0);
	ok(q == p && q[9999] == 'x', "shrinks in place");
	q = hm_realloc(ctx, q, 1 * MiB, 4096);
	ok(q && (uintptr_t)q % 4096 == 0 && q[0] == 'x' && q[9999] == 'x',
	   "moves when it must, aligned, contents kept");
	if (!q)
		diag("%s", hm_errmsg(ctx));
	ok(!hm_realloc(ctx, q, 0, 0), "size 0 frees and returns NULL");
	hm_free(ctx, r);
	is_int(hm_heap_check(ctx), 0, "heap checks");
}

struct thr {
	unsigned seed;
	int bad;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	void *keep[64] = {0};

	for (int i = 0; i < 20000; i++) {
		int k = rand_r(&t->seed) % 64;
		size_t size = 1 + (size_t)rand_r(&t->seed) % (i % 7 ? 512 : 20000);

		if (keep[k]) {
			t->bad += *(unsigned char *)keep[k] != (unsigned char)k;
			hm_free(ctx, keep[k]);
		}
		keep[k] = hm_malloc(ctx, size, 0);
		if (keep[k])
			memset(keep[k], k, size);
	}
	for (int k = 0; k < 64; k++)
		hm_free(ctx, keep[k]);
	return NULL;
}

static void api_threads(void)
{
	pthread_t t[4];
	struct thr a[4];
	struct hm_heap_stats st;
	int bad = 0;

	for (int i = 0; i < 4; i++) {
		a[i] = (struct thr){.seed = (unsigned)i + 1};
		pthread_create(&t[i], NULL, thread_main, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		bad += a[i].bad;
	}
	is_int(bad, 0, "4 threads on one context, 80000 calls: no block shared by two");
	is_int(hm_heap_check(ctx), 0, "the heap checks after them");
	hm_heap_stats(ctx, -1, &st);
	ok(st.used == st.cached, "every block back (in use %llu bytes, in the cache %llu)",
	   (unsigned long long)st.used, (unsigned long long)st.cached);
}

/* hm_fini flushes the cache: watched through a view of our own over the
 * same shared heap, taken before the context's goes. */
static void api_fini_flushes(void)
{
	struct hmi_heap_view *v, mine;
	struct hmi_region *r;
	struct hm_heap_stats st;
	char msg[256] = "";

	is_int(hm_fini(ctx), 0, "hm_fini");
	is_int(init_no_huge(16 * MiB), 0, "init again");
	for (int i = 0; i < 100; i++)
		hm_free(ctx, hm_malloc(ctx, 32, 0));
	hm_heap_stats(ctx, -1, &st);
	ok(st.cached > 0 && st.used == st.cached, "a freed small block stays in the cache");
	v = hmi_arena_view(ctx);
	r = malloc(v->n_regions * sizeof(*r));
	memcpy(r, v->regions, v->n_regions * sizeof(*r));
	is_int(hmi_view_init(ctx, &mine, v->h, r, v->n_regions, 4096, NULL), 0, "a second view");
	hmi_arena_close(ctx); /* what hm_fini does first */
	is_int(mine.h->nodes[0].used_bytes, 0, "after the flush nothing is in use");
	is_int(hmi_heap_check_locked(&mine, NULL, msg, sizeof(msg)), 0, "and the heap checks");
	hmi_view_release(&mine);
	is_int(hm_fini(ctx), 0, "hm_fini");
}

/* ------------------------------------------------------------------ part 3: stray writes */

/* What the application (or another process) may do to the shared state: the
 * heap over a fresh hm_init --no-huge, then writes into it, then the calls.
 * Each case reproduces a crash or an out-of-bounds index of issue 14 item
 * 4: every call must fail with -ENOTRECOVERABLE from then on, never crash. */
static struct hmi_heap *fresh_heap(void)
{
	hm_fini(ctx);
	if (init_no_huge(16 * MiB) < 0) {
		diag("hm_init --no-huge: %s", hm_errmsg(ctx));
		exit(1);
	}
	return hmi_arena_view(ctx)->h;
}

/* Every kind of call fails, saying the heap is broken. */
static void all_fail(const char *what)
{
	struct hm_heap_stats st;
	struct hm_memzone z;
	void *p = hm_malloc(ctx, 100, 0);

	ok(!p && strstr(hm_errmsg(ctx), "broken"), "%s: hm_malloc fails: %s", what,
	   p ? "(a block)" : hm_errmsg(ctx));
	p = hm_malloc(ctx, 200000, 0);
	ok(!p, "%s: a large hm_malloc fails too", what);
	is_int(hm_heap_stats(ctx, -1, &st), -ENOTRECOVERABLE, "%s: hm_heap_stats", what);
	is_int(hm_heap_check(ctx), -ENOTRECOVERABLE, "%s: hm_heap_check", what);
	is_int(hm_memzone_lookup(ctx, "nosuch", &z), -ENOTRECOVERABLE, "%s: hm_memzone_lookup",
	       what);
}

/* UBSan: heap/heap.c:122 index 16 out of bounds for uint64_t[16] (a second-level
 * bitmap bit past the 16 lists). */
static void scribble_sl_bit16(void)
{
	struct hmi_heap *h = fresh_heap();
	void *p = hm_malloc(ctx, 40000, 0);

	for (int fl = 0; fl < HMI_FL_COUNT; fl++)
		h->nodes[0].sl_map[fl] |= 1u << 16;
	ok(!hm_malloc(ctx, 40000, 0), "sl_map bit 16: hm_malloc gives nothing");
	like(hm_errmsg(ctx), "broken", "and says the heap is broken");
	hm_free(ctx, p);
	all_fail("sl_map bit 16");
}

/* UBSan: heap/heap.c:374 index 62 out of bounds for uint32_t[42] (a first-level
 * bit past the 42 lists, read by the statistics' largest block). */
static void scribble_fl_bit62(void)
{
	struct hmi_heap *h = fresh_heap();
	struct hm_heap_stats st;

	h->nodes[0].fl_map |= 1ULL << 62;
	is_int(hm_heap_stats(ctx, -1, &st), -ENOTRECOVERABLE, "fl_map bit 62: hm_heap_stats");
	all_fail("fl_map bit 62");
}

/* UBSan: heap/heap.h:81 misaligned block pointer (a prev_size that leads into
 * the middle of a header); then the shared mark is rewritten: this process
 * stays failed, the cache's fast path included. */
static void scribble_misaligned(void)
{
	struct hmi_heap *h = fresh_heap();
	char *p = hm_malloc(ctx, 40000, 0);
	void *small[32];

	for (int i = 0; i < 32; i++) /* the thread's cache holds blocks of 32 bytes */
		small[i] = hm_malloc(ctx, 32, 0);
	for (int i = 0; i < 32; i++)
		hm_free(ctx, small[i]);
	ok(p != NULL, "a block of 40000 bytes");
	hmi_blk_at((uint64_t)(uintptr_t)p - HMI_BLK_HDR)->prev_size = 8;
	hm_free(ctx, p);
	like(hm_errmsg(ctx), "broken", "prev_size 8: hm_free says the heap is broken");
	ok(h->broken, "the heap is marked broken for every process");
	all_fail("misaligned prev_size");
	h->broken = 0;
	ok(!hm_malloc(ctx, 32, 0), "mark rewritten to 0: a cached size still fails");
	all_fail("mark rewritten");
}

/* hm_heap_check finds the damage: the heap is marked broken from then on. */
static void scribble_counter(void)
{
	struct hmi_heap *h = fresh_heap();

	h->nodes[0].free_bytes += 64;
	is_int(hm_heap_check(ctx), -EUCLEAN, "a counter off by 64: hm_heap_check -EUCLEAN");
	like(hm_errmsg(ctx), "marked broken", "and says the heap is now marked broken");
	ok(h->broken, "marked in the shared state");
	all_fail("after hm_heap_check");
}

/* Another process found the heap damaged: its mark stops this one. */
static void scribble_mark(void)
{
	struct hmi_heap *h = fresh_heap();

	h->broken = 1;
	ok(!hm_malloc(ctx, 5000, 0), "marked broken by another process: hm_malloc fails");
	h->broken = 0;
	all_fail("marked once");
}

/* A zone entry whose address was overwritten is never handed out. */
static void scribble_zone(void)
{
	struct hm_memzone z;
	struct hmi_zone_table *t;

	fresh_heap();
	is_int(hm_memzone_reserve(ctx, "zz", 4096, HM_SOCKET_ANY, 0, 0, &z), 0, "a zone");
	t = hmi_arena_zones(ctx);
	for (int i = 0; i < HMI_ZONES_MAX; i++)
		if (strcmp(t->z[i].name, "zz") == 0)
			t->z[i].va = 0x1000;
	is_int(hm_memzone_lookup(ctx, "zz", &z), -ENOTRECOVERABLE,
	       "its address overwritten: lookup -ENOTRECOVERABLE");
	all_fail("zone entry");
}

/* The free-list heads and bitmaps overwritten while the thread's cache
 * holds blocks: hm_fini must not walk them, and releases everything (no
 * leak under ASan). */
static void scribble_fini(void)
{
	struct hmi_heap *h = fresh_heap();
	void *small[64];

	for (int i = 0; i < 64; i++)
		small[i] = hm_malloc(ctx, 100 + 64 * (i % 8), 0);
	for (int i = 0; i < 64; i++)
		hm_free(ctx, small[i]);
	memset(h->nodes[0].heads, 0xff, sizeof(h->nodes[0].heads));
	memset(h->nodes[0].sl_map, 0xff, sizeof(h->nodes[0].sl_map));
	h->nodes[0].fl_map = ~0ULL;
	is_int(hm_fini(ctx), 0, "heads overwritten, blocks in the cache: hm_fini returns");
	ok(ctx->mem == NULL, "and the context holds nothing");
	is_int(init_no_huge(16 * MiB), 0, "a new hm_init on the same context works");
}

/* The lock word itself overwritten: it looks held (by pid 1) forever.
 * hm_fini gives up on flushing the cache after a bounded wait and still
 * releases everything; without the bound it would block for good. */
static void scribble_lock_word(void)
{
	struct hmi_heap *h = fresh_heap();
	void *p[16];
	double t0;

	for (int i = 0; i < 16; i++)
		p[i] = hm_malloc(ctx, 100, 0);
	for (int i = 0; i < 16; i++)
		hm_free(ctx, p[i]);
	h->lock.__data.__lock = 1; /* glibc: the owner's thread id */
	t0 = hmi_now_ms();
	is_int(hm_fini(ctx), 0, "lock word overwritten: hm_fini returns");
	ok(hmi_now_ms() - t0 < 10000, "within 10 s (%.0f ms)", hmi_now_ms() - t0);
	ok(ctx->mem == NULL, "and the context holds nothing");
	is_int(init_no_huge(16 * MiB), 0, "a new hm_init on the same context works");
}

static void part_scribble(void)
{
	scribble_sl_bit16();
	scribble_fl_bit62();
	scribble_misaligned();
	scribble_counter();
	scribble_mark();
	scribble_zone();
	scribble_fini();
	scribble_lock_word();
	is_int(hm_fini(ctx), 0, "hm_fini");
}

static void part_api(void)
{
	snprintf(rundir, sizeof(rundir), "/tmp/hmheaptest.%d", (int)getpid());
	mkdir(rundir, 0700);
	hm_ctx_set_runtime_dir(ctx, rundir);
	api_errors();
	api_realloc();
	api_poison();
	api_alignment();
	api_random();
	api_threads();
	api_fini_flushes();
	part_scribble();
	rmdir(rundir);
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("no memory for a context");
	part_core();
	part_api();
	hm_ctx_free(ctx);
	return done();
}
