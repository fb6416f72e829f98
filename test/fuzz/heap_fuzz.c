/* SPDX-License-Identifier: MIT */
/*
 * heap_fuzz.c — the shared heap after stray writes into its shared state.
 *
 * The heap's state (arena header, zone table, lock, node heaps: free-list
 * heads and bitmaps, counters, high-water marks) and its block headers live
 * in memory every process of a prefix, and the application itself, can
 * write. Each input builds a heap on plain memory (one or two nodes, two
 * segments, as hm_init would over hugepages), then runs a little program:
 * the public calls (hm_malloc, hm_zmalloc, hm_realloc, hm_free of good,
 * stray and interior pointers, hm_heap_stats, hm_heap_check, memzones)
 * mixed with scribbles: bytes, small integers and addresses inside the heap
 * written at offsets of the first 160 KiB of segment 0 (the arena and the
 * first blocks) and the first 16 KiB of segment 1. Only the lock's own bytes
 * are spared: a process-shared mutex whose word is overwritten may block its
 * callers, as any lock would. Last, optionally, a second view opens the
 * scribbled arena (a secondary attaching), and both are closed (what
 * hm_fini does: flush the caches, free the private parts).
 *
 * Properties, for every input:
 *  - nothing crashes, reads or writes out of bounds, or leaks (ASan, UBSan,
 *    LeakSanitizer); no call loops (libFuzzer's timeout);
 *  - a block hm_malloc gives lies inside one segment's heap region;
 *  - once a call has said the heap is broken (-ENOTRECOVERABLE, or
 *    hm_heap_check's -EUCLEAN), every later call fails with
 *    -ENOTRECOVERABLE, even after the shared "broken" mark is rewritten to 0.
 */
#include "fuzz.h"
#include "heap/heap.h"

#include <sys/mman.h>

#define SEG0	  (512u << 10)
#define SEG1	  (256u << 10)
#define GAP	  (64u << 10)
#define SPAN0	  (160u << 10) /* scribbled part of segment 0: the arena (~113 KiB) and more */
#define SPAN1	  (16u << 10) /* and of segment 1 */
#define MAX_LIVE  64
#define MAX_SIZE  (48u << 10)
#define MAX_STEPS 400

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++) {
		v = v << 8 | (in->n ? *in->p : 0);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

struct live {
	char *p;
	size_t size;
};

struct run {
	struct hm_ctx *ctx;
	struct hmi_segtab tab;
	struct hmi_heapslot slot;
	struct hmi_seg segs[2];
	unsigned char *mem;
	struct live live[MAX_LIVE];
	size_t n_live;
	int broken;  /* a call said so: every later call must fail */
	int zone_id; /* names of zones made */
};

static unsigned char *arena_memory(void)
{
	static unsigned char *mem;

	if (!mem) {
		mem = mmap(NULL, SEG0 + GAP + SEG1, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		FUZZ_CHECK(mem != MAP_FAILED, "cannot map %u bytes", SEG0 + GAP + SEG1);
	}
	return mem;
}

static struct hmi_heap_view *view(struct run *r)
{
	return &r->slot.arena->view;
}

/* The heap said it is broken (or must have): check, and remember. */
static void saw(struct run *r, int rc, const char *call)
{
	if (rc == -ENOTRECOVERABLE)
		r->broken = 1;
	else
		FUZZ_CHECK(!r->broken, "%s returned %d after the heap was seen broken", call, rc);
}

static void check_block(struct run *r, const char *p, size_t size, const char *call)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	const struct hmi_region *reg = hmi_region_find(view(r), a - HMI_BLK_HDR);

	FUZZ_CHECK(reg && a + size <= reg->end, "%s gave %p (%zu bytes), outside every region",
		   call, (const void *)p, size);
	FUZZ_CHECK(a % 64 == 0, "%s gave %p: not 64-byte aligned", call, (const void *)p);
}

static void got(struct run *r, char *p, size_t size, const char *call)
{
	if (!p) {
		saw(r, strstr(hm_errmsg(r->ctx), "heap is broken") ? -ENOTRECOVERABLE : -ENOMEM,
		    call);
		return;
	}
	saw(r, 0, call);
	check_block(r, p, size, call);
	/* the application uses its memory: both ends (all of it would cost
	 * most of the time of a run, for nothing the heap reads) */
	memset(p, 0x5a, size < 256 ? size : 256);
	memset(p + size - (size < 64 ? size : 64), 0x5a, size < 64 ? size : 64);
	if (r->n_live < MAX_LIVE)
		r->live[r->n_live++] = (struct live){p, size};
	else
		hm_free(r->ctx, p);
}

static void op_malloc(struct run *r, struct input *in, int zero)
{
	size_t size = 1 + take(in, 2) % MAX_SIZE, align = (size_t)1 << (take(in, 1) % 13);
	char *p = zero ? hm_zmalloc(r->ctx, size, align) : hm_malloc(r->ctx, size, align);

	got(r, p, size, zero ? "hm_zmalloc" : "hm_malloc");
}

static void op_free(struct run *r, struct input *in)
{
	size_t i;

	if (!r->n_live)
		return;
	i = take(in, 1) % r->n_live;
	hm_free(r->ctx, r->live[i].p);
	r->live[i] = r->live[--r->n_live];
}

static void op_realloc(struct run *r, struct input *in)
{
	size_t i, size = 1 + take(in, 2) % MAX_SIZE;
	char *q;

	if (!r->n_live)
		return;
	i = take(in, 1) % r->n_live;
	q = hm_realloc(r->ctx, r->live[i].p, size, 0);
	if (!q) {
		if (strstr(hm_errmsg(r->ctx), "heap is broken"))
			saw(r, -ENOTRECOVERABLE, "hm_realloc");
		return; /* the old block stays the caller's */
	}
	r->live[i] = r->live[--r->n_live];
	got(r, q, size, "hm_realloc");
}

/* A pointer into the heap's memory that may or may not be a block. */
static void op_stray_free(struct run *r, struct input *in)
{
	uint64_t off = take(in, 3) % (SEG0 + GAP + SEG1);

	hm_free(r->ctx, r->mem + off);
	if (r->broken)
		FUZZ_CHECK(strstr(hm_errmsg(r->ctx), "heap is broken"),
			   "hm_free after the heap was seen broken: '%s'", hm_errmsg(r->ctx));
}

/* Where a scribble at offset OFF lands: segment 0's first SPAN0 bytes, or
 * segment 1's first SPAN1; never the lock. NULL to skip it. */
static unsigned char *target(struct run *r, uint64_t off, size_t len)
{
	unsigned char *at =
	    off < SPAN0 ? r->mem + off : r->mem + SEG0 + GAP + (off - SPAN0) % SPAN1;
	unsigned char *lock = (unsigned char *)&view(r)->h->lock;

	if (at + len > lock && at < lock + sizeof(pthread_mutex_t))
		return NULL;
	return at;
}

static void op_scribble(struct run *r, struct input *in, int kind)
{
	uint64_t off = take(in, 3) % (SPAN0 + SPAN1), v;
	size_t len = kind == 0 ? 1 + take(in, 1) % 16 : 8;
	unsigned char bytes[16], *at = target(r, off, len);

	if (kind == 0)
		for (size_t i = 0; i < len; i++)
			bytes[i] = (unsigned char)take(in, 1);
	else if (kind == 1) /* a small number: a size, an index, a bitmap */
		v = take(in, 2);
	else /* an address inside the heap's memory: a link, a head */
		v = (uint64_t)(uintptr_t)r->mem + take(in, 3) % (SEG0 + GAP + SEG1);
	if (kind)
		memcpy(bytes, &v, 8);
	if (at)
		memcpy(at, bytes, len);
}

static void op_stats_check(struct run *r, struct input *in)
{
	struct hm_heap_stats st;
	int which = (int)(take(in, 1) % 3), rc;

	if (which == 0) {
		rc = hm_heap_check(r->ctx);
		if (rc == -EUCLEAN && !r->broken)
			r->broken = 1; /* the check marks the heap broken */
		else
			saw(r, rc, "hm_heap_check");
		return;
	}
	rc = hm_heap_stats(r->ctx, which == 1 ? -1 : 0, &st);
	saw(r, rc, "hm_heap_stats");
}

static int walk_one(const struct hm_memzone *z, void *arg)
{
	struct run *r = arg;
	const struct hmi_region *reg =
	    hmi_region_find(view(r), (uint64_t)(uintptr_t)z->va - HMI_BLK_HDR);

	FUZZ_CHECK(reg && (uint64_t)(uintptr_t)z->va + z->len <= reg->end &&
		       memchr(z->name, 0, sizeof(z->name)),
		   "walk gave zone '%.31s' at %p (%llu bytes) outside every region", z->name, z->va,
		   (unsigned long long)z->len);
	return 0;
}

static void op_zone(struct run *r, struct input *in)
{
	unsigned what = (unsigned)take(in, 1);
	struct hm_memzone z;
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "z%u", what % 8);
	switch (what / 8 % 4) {
	case 0:
		rc = hm_memzone_reserve(r->ctx, name, 1 + take(in, 2) % MAX_SIZE, HM_SOCKET_ANY, 0,
					0, &z);
		if (rc == 0)
			FUZZ_CHECK(walk_one(&z, r) == 0, "reserve");
		saw(r, rc, "hm_memzone_reserve");
		break;
	case 1:
		rc = hm_memzone_lookup(r->ctx, name, &z);
		if (rc == 0)
			walk_one(&z, r);
		saw(r, rc, "hm_memzone_lookup");
		break;
	case 2:
		saw(r, hm_memzone_free(r->ctx, name), "hm_memzone_free");
		break;
	default:
		saw(r, hm_memzone_walk(r->ctx, walk_one, r), "hm_memzone_walk");
	}
}

static void step(struct run *r, struct input *in)
{
	switch (take(in, 1) % 12) {
	case 0:
	case 1:
		op_malloc(r, in, 0);
		break;
	case 2:
		op_malloc(r, in, 1);
		break;
	case 3:
	case 4:
		op_free(r, in);
		break;
	case 5:
		op_realloc(r, in);
		break;
	case 6:
		op_stray_free(r, in);
		break;
	case 7:
		op_scribble(r, in, (int)(take(in, 1) % 3));
		break;
	case 8:
		op_stats_check(r, in);
		break;
	case 9:
		op_zone(r, in);
		break;
	case 10: /* the shared mark rewritten: a process that saw damage stays failed */
		view(r)->h->broken = 0;
		break;
	default:
		if (r->n_live) /* an interior pointer */
			hm_free(r->ctx,
				r->live[take(in, 1) % r->n_live].p + 64 * (1 + take(in, 1) % 4));
	}
}

/* A secondary opens the scribbled arena: fails cleanly or works. */
static void secondary(struct run *r)
{
	struct hm_ctx *c2 = NULL;
	struct hmi_segtab t2;
	struct hmi_heapslot s2;
	void *p;

	if (hm_ctx_new(&c2) < 0)
		return;
	memset(&t2, 0, sizeof(t2));
	memset(&s2, 0, sizeof(s2));
	t2.segs = r->segs;
	t2.n_segs = 2;
	c2->tab = &t2;
	c2->heap = &s2;
	if (hmi_arena_open(c2) == 0) {
		p = hm_malloc(c2, 100, 0);
		hm_free(c2, p);
		hmi_arena_close(c2);
	} else {
		FUZZ_CHECK(hm_errmsg(c2)[0] && !strchr(hm_errmsg(c2), '\n'),
			   "attach failed without a one-line message");
	}
	c2->tab = NULL;
	c2->heap = NULL;
	hm_ctx_free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hm_ctx *ctx;
	struct input in = {data, size};
	struct run *r;
	unsigned cfg;
	int rc;

	if (!ctx && hm_ctx_new(&ctx) < 0)
		return 0;
	r = calloc(1, sizeof(*r));
	cfg = (unsigned)take(&in, 1);
	r->ctx = ctx;
	r->mem = arena_memory();
	memset(r->mem, 0, SEG0); /* the gap is never written */
	memset(r->mem + SEG0 + GAP, 0, SEG1);
	r->segs[0] = (struct hmi_seg){.va = (uintptr_t)r->mem, .len = SEG0, .page_size = 4096};
	r->segs[1] = (struct hmi_seg){
	    .va = (uintptr_t)r->mem + SEG0 + GAP, .len = SEG1, .page_size = 4096, .node = cfg & 1};
	r->tab.segs = r->segs;
	r->tab.n_segs = 2;
	snprintf(r->tab.prefix, sizeof(r->tab.prefix), "fuzz");
	ctx->tab = &r->tab;
	ctx->heap = &r->slot;
	rc = hmi_arena_create(ctx);
	FUZZ_CHECK(rc == 0, "arena: %s", hm_errmsg(ctx));
	for (int i = 0; i < MAX_STEPS && in.n; i++)
		step(r, &in);
	if (cfg & 2)
		secondary(r);
	hmi_arena_close(ctx); /* what hm_fini does with the heap */
	ctx->tab = NULL;
	ctx->heap = NULL;
	free(r);
	return 0;
}
