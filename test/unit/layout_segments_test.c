/* SPDX-License-Identifier: MIT */
/*
 * layout_segments_test.c — final VAs, the segment table and translation on
 * synthetic pages (no root, no hugepages): hmi_assign_va then
 * hmi_segments_build then hmi_xlate_*. Every page's first and last byte is
 * translated both ways; guard gaps, addresses before and after the window and
 * IOVA holes must miss; contig lengths; the VA window's alignment and overflow
 * limits; the general merge rule (VA, IOVA and node must all continue);
 * overlap refusals; 1 GiB pages; and 10^5 pages in scattered runs checked
 * against a linear-scan reference on random addresses.
 */
#include "layout/layout.h"
#include "tap.h"

#include <errno.h>

#define MB2  (2ULL << 20)
#define GB1  (1ULL << 30)
#define BASE 0x200000000000ULL

struct spec {
	int node;
	uint64_t start; /* page number */
	size_t len;
};

static uint64_t rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(uint64_t *state, uint64_t n)
{
	return n ? rnd(state) % n : 0;
}

/* Sorted pages of SPECS, shuffled first (as a kernel hands them out). */
static struct hmi_page *make_pages(const struct spec *specs, size_t ns, uint64_t page_size,
				   size_t *n, uint64_t seed)
{
	size_t total = 0, k = 0;
	struct hmi_page *pages;

	for (size_t s = 0; s < ns; s++)
		total += specs[s].len;
	pages = calloc(total ? total : 1, sizeof(*pages));
	for (size_t s = 0; s < ns; s++)
		for (size_t i = 0; i < specs[s].len; i++)
			pages[k++] = (struct hmi_page){.iova = (specs[s].start + i) * page_size,
						       .node = specs[s].node};
	for (size_t i = total; i > 1; i--) {
		size_t j = (size_t)rnd_below(&seed, i);
		struct hmi_page t = pages[i - 1];

		pages[i - 1] = pages[j];
		pages[j] = t;
	}
	hmi_pages_sort(pages, total);
	*n = total;
	return pages;
}

/* Every page's first and last byte, both ways, with contig lengths: 4 checks.
 * The reference segment end of each page comes from walking the pages
 * backwards: a page ends where its successor does when that one follows it in
 * VA and IOVA on the same node. */
static void check_every_page(const struct hmi_xlate *x, const struct hmi_page *pages, size_t n,
			     uint64_t page_size, const char *name)
{
	uint64_t end = 0;
	int fwd = 1, back = 1, contig_ok = 1, last_ok = 1;

	for (size_t i = n; i-- > 0;) {
		const struct hmi_page *p = &pages[i], *q = i + 1 < n ? &pages[i + 1] : NULL;
		uint64_t c_first = 0, c_last = 0;

		if (!q || q->node != p->node || q->va != p->va + page_size ||
		    q->iova != p->iova + page_size)
			end = p->va + page_size;
		fwd &= hmi_virt2iova(x, p->va, &c_first) == p->iova;
		fwd &= hmi_virt2iova(x, p->va + page_size - 1, &c_last) == p->iova + page_size - 1;
		back &= hmi_iova2virt(x, p->iova) == p->va;
		back &= hmi_iova2virt(x, p->iova + page_size - 1) == p->va + page_size - 1;
		contig_ok &= c_first == end - p->va;
		last_ok &= c_last == end - p->va - page_size + 1;
	}
	ok(fwd, "%s: first and last byte of every page: VA -> IOVA", name);
	ok(back, "%s: first and last byte of every page: IOVA -> VA", name);
	ok(contig_ok, "%s: contig at a page's first byte reaches the segment end", name);
	ok(last_ok, "%s: contig at a page's last byte is one page less", name);
}

static void test_basic(struct hm_ctx *ctx)
{
	static const struct spec specs[] = {{2, 5000, 4}, {0, 200, 1}, {0, 100, 3}};
	struct hmi_seg *segs = NULL;
	struct hmi_xlate x;
	struct hmi_page *pages;
	size_t n, n_segs = 0;
	uint64_t window = 1, c = 99;
	int rc;

	pages = make_pages(specs, 3, MB2, &n, 7);
	rc = hmi_assign_va(ctx, pages, n, MB2, BASE, &window);
	is_int(rc, 0, "assign_va: succeeds");
	is_u64(window, 10 * MB2, "assign_va: window = 8 pages + 2 guard pages");
	ok(pages[0].va == BASE && pages[1].va == BASE + MB2 && pages[2].va == BASE + 2 * MB2,
	   "assign_va: first run (node 0, 3 pages) at the base");
	is_u64(pages[3].va, BASE + 4 * MB2, "assign_va: second run after a one-page gap");
	ok(pages[4].va == BASE + 6 * MB2 && pages[7].va == BASE + 9 * MB2,
	   "assign_va: third run (node 2) after another gap");

	rc = hmi_segments_build(ctx, pages, n, MB2, &segs, &n_segs);
	is_int(rc, 0, "segments_build: succeeds");
	is_int(n_segs, 3, "segments_build: one segment per run");
	ok(n_segs == 3 && segs[0].va == BASE && segs[0].iova == 100 * MB2 &&
	       segs[0].len == 3 * MB2 && segs[0].node == 0 && segs[0].first_page == 0 &&
	       segs[0].n_pages == 3 && segs[0].page_size == MB2,
	   "segments_build: segment 0 fields");
	ok(n_segs == 3 && segs[1].va == BASE + 4 * MB2 && segs[1].iova == 200 * MB2 &&
	       segs[1].len == MB2 && segs[1].first_page == 3 && segs[1].n_pages == 1,
	   "segments_build: segment 1 fields");
	ok(n_segs == 3 && segs[2].va == BASE + 6 * MB2 && segs[2].iova == 5000 * MB2 &&
	       segs[2].len == 4 * MB2 && segs[2].node == 2 && segs[2].first_page == 4 &&
	       segs[2].n_pages == 4,
	   "segments_build: segment 2 fields (node 2)");

	rc = hmi_xlate_init(ctx, &x, segs, n_segs);
	is_int(rc, 0, "xlate_init: succeeds");
	check_every_page(&x, pages, n, MB2, "2 MiB, 3 runs");
	is_u64(hmi_virt2iova(&x, BASE + 3 * MB2, &c), UINT64_MAX, "VA in the first gap: none");
	is_u64(c, 0, "VA in a gap: contig 0");
	is_u64(hmi_virt2iova(&x, BASE + 4 * MB2 - 1, NULL), UINT64_MAX,
	       "last byte of the first gap: none");
	is_u64(hmi_virt2iova(&x, BASE + 5 * MB2 + 12345, NULL), UINT64_MAX,
	       "inside the second gap: none");
	is_u64(hmi_virt2iova(&x, BASE - 1, NULL), UINT64_MAX, "byte before the window: none");
	is_u64(hmi_virt2iova(&x, BASE + window, NULL), UINT64_MAX, "one past the window: none");
	is_u64(hmi_virt2iova(&x, BASE + window - 1, &c), 5004 * MB2 - 1,
	       "last byte of the window: the last page's last byte");
	is_u64(c, 1, "last byte of the window: contig 1");
	is_u64(hmi_virt2iova(&x, 0, NULL), UINT64_MAX, "VA 0: none");
	is_u64(hmi_virt2iova(&x, UINT64_MAX, NULL), UINT64_MAX, "VA 2^64-1: none");
	is_u64(hmi_virt2iova(&x, BASE + MB2 + 5, &c), 101 * MB2 + 5, "VA mid first run");
	is_u64(c, 2 * MB2 - 5, "VA mid first run: contig to the end of the run");
	is_u64(hmi_iova2virt(&x, 103 * MB2), 0, "IOVA one past the first run: none");
	is_u64(hmi_iova2virt(&x, 100 * MB2 - 1), 0, "IOVA one before the first run: none");
	is_u64(hmi_iova2virt(&x, 0), 0, "IOVA 0: none");
	is_u64(hmi_iova2virt(&x, UINT64_MAX), 0, "IOVA 2^64-1: none");
	is_u64(hmi_iova2virt(&x, 5004 * MB2), 0, "IOVA one past the last segment: none");
	is_u64(hmi_iova2virt(&x, 5002 * MB2 + 77), BASE + 8 * MB2 + 77, "IOVA mid last run");
	hmi_xlate_release(&x);
	ok(x.by_iova == NULL && x.n == 0, "xlate_release: index freed and cleared");
	hmi_xlate_release(&x);
	hmi_xlate_release(NULL);
	ok(1, "xlate_release: twice and on NULL is harmless");
	free(segs);
	free(pages);
}

static void test_assign_errors(struct hm_ctx *ctx)
{
	static const struct spec specs[] = {{0, 0, 3}, {0, 10, 5}, {1, 20, 2}};
	uint64_t window = 1, top = UINT64_MAX - UINT64_MAX % MB2 + 1; /* 2^64 mod 2 MiB = 0 */
	struct hmi_page *pages;
	size_t n;
	int rc;

	pages = make_pages(specs, 3, MB2, &n, 3); /* 10 pages, 3 runs: 12-page window */
	rc = hmi_assign_va(ctx, pages, n, MB2, BASE + 4096, &window);
	is_int(rc, -EINVAL, "unaligned base: -EINVAL");
	like(hm_errmsg(ctx),
	     "base address 0x200000001000 is not a multiple of the page size (2 MiB)",
	     "unaligned base: message names the base and the page size");
	like(hm_errmsg(ctx), "0x200000200000", "unaligned base: message suggests an aligned base");
	is_u64(window, 0, "unaligned base: window 0");
	rc = hmi_assign_va(ctx, pages, n, MB2, 0, &window);
	is_int(rc, -EINVAL, "base 0: -EINVAL");
	like(hm_errmsg(ctx), "base address 0", "base 0: message");
	rc = hmi_assign_va(ctx, pages, n, 3 * MB2, BASE, &window);
	is_int(rc, -EINVAL, "page size 6 MiB: -EINVAL");
	like(hm_errmsg(ctx), "not a power of two", "page size not a power of two: message");
	rc = hmi_assign_va(ctx, pages, n, 0, BASE, &window);
	is_int(rc, -EINVAL, "page size 0: -EINVAL");

	top = 0 - 12 * MB2; /* base + 12 pages == 2^64: wraps */
	rc = hmi_assign_va(ctx, pages, n, MB2, top, &window);
	is_int(rc, -ERANGE, "window ending at 2^64: -ERANGE");
	like(hm_errmsg(ctx), "passes the end of the address space", "window overflow: message");
	like(hm_errmsg(ctx), "10 pages in 3 runs", "window overflow: message gives the counts");
	rc = hmi_assign_va(ctx, pages, n, MB2, top - MB2, &window);
	is_int(rc, 0, "window ending one page below 2^64: accepted");
	is_u64(window, 12 * MB2, "window ending one page below 2^64: 12 pages");
	is_u64(pages[n - 1].va, UINT64_MAX - 2 * MB2 + 1, "the last page sits below the top");
	rc = hmi_assign_va(ctx, pages, 0, MB2, BASE, &window);
	ok(rc == 0 && window == 0, "no pages: window 0");

	pages[0].node = 1; /* now out of order */
	rc = hmi_assign_va(ctx, pages, n, MB2, BASE, &window);
	is_int(rc, -EINVAL, "unsorted pages: -EINVAL");
	like(hm_errmsg(ctx), "out of order", "unsorted pages: message");
	free(pages);
}

static void test_general_merge(struct hm_ctx *ctx)
{
	const uint64_t v = BASE, i0 = 64 * MB2;
	struct hmi_page pages[6] = {
	    {.va = v, .iova = i0},
	    {.va = v + MB2, .iova = i0 + MB2},			   /* continues */
	    {.va = v + 2 * MB2, .iova = i0 + 5 * MB2},		   /* IOVA breaks */
	    {.va = v + 3 * MB2, .iova = i0 + 6 * MB2, .node = 1},  /* node breaks */
	    {.va = v + 10 * MB2, .iova = i0 + 7 * MB2, .node = 1}, /* VA breaks */
	    {.va = v - 4 * MB2, .iova = i0 + 100 * MB2},	   /* lowest VA, last */
	};
	struct hmi_seg *segs = NULL;
	struct hmi_xlate x;
	size_t n_segs = 0;
	int rc;

	rc = hmi_segments_build(ctx, pages, 6, MB2, &segs, &n_segs);
	is_int(rc, 0, "general merge: succeeds");
	is_int(n_segs, 5, "general merge: only VA+IOVA+node continuity merges");
	ok(n_segs == 5 && segs[0].first_page == 5 && segs[0].va == v - 4 * MB2,
	   "general merge: sorted by VA (the last page's segment first)");
	ok(n_segs == 5 && segs[1].first_page == 0 && segs[1].n_pages == 2 && segs[1].len == 2 * MB2,
	   "general merge: the first two pages form one segment");
	ok(n_segs == 5 && segs[2].first_page == 2 && segs[3].first_page == 3 && segs[3].node == 1 &&
	       segs[4].first_page == 4,
	   "general merge: IOVA, node and VA breaks each start a segment");
	rc = hmi_xlate_init(ctx, &x, segs, n_segs);
	is_int(rc, 0, "general merge: xlate_init succeeds");
	is_u64(hmi_virt2iova(&x, v + 2 * MB2 - 1, NULL), i0 + 2 * MB2 - 1,
	       "general merge: VA across merged pages");
	is_u64(hmi_iova2virt(&x, i0 + 100 * MB2 + 1), v - 4 * MB2 + 1,
	       "general merge: highest IOVA maps to the lowest VA");
	hmi_xlate_release(&x);
	free(segs);

	pages[4].va = v + 2 * MB2 + 4096; /* overlaps page 2's segment in VA */
	segs = (struct hmi_seg *)1;
	rc = hmi_segments_build(ctx, pages, 6, MB2, &segs, &n_segs);
	ok(rc == -EINVAL && segs == NULL && n_segs == 0, "VA overlap: refused, nothing returned");
	like(hm_errmsg(ctx), "overlaps or sorts before", "VA overlap: message");
	pages[4].va = 0;
	rc = hmi_segments_build(ctx, pages, 6, MB2, &segs, &n_segs);
	is_int(rc, -EINVAL, "a page without a VA: refused");
	like(hm_errmsg(ctx), "page 4 (iova 0x8e00000) has no virtual address",
	     "a page without a VA: message names it");
	pages[4].va = UINT64_MAX - MB2 + 1;
	rc = hmi_segments_build(ctx, pages, 6, MB2, &segs, &n_segs);
	is_int(rc, -EINVAL, "a page at the top of the address space: refused");
	rc = hmi_segments_build(ctx, pages, 6, 0, &segs, &n_segs);
	is_int(rc, -EINVAL, "segments with page size 0: refused");
	rc = hmi_segments_build(ctx, NULL, 0, MB2, &segs, &n_segs);
	ok(rc == 0 && segs == NULL && n_segs == 0, "segments of no pages: none");
}

static void test_xlate_errors(struct hm_ctx *ctx)
{
	struct hmi_seg segs[2] = {
	    {.va = BASE, .iova = 0x1000000, .len = 4 * MB2, .page_size = MB2},
	    {.va = BASE + 8 * MB2, .iova = 0x1000000 + 2 * MB2, .len = MB2, .page_size = MB2},
	};
	struct hmi_xlate x;
	uint64_t c = 5;
	int rc;

	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, -EINVAL, "segments overlapping in IOVA: refused");
	like(hm_errmsg(ctx), "overlap in IOVA", "IOVA overlap: message");
	ok(x.by_iova == NULL && x.n == 0, "IOVA overlap: nothing kept");
	segs[1].iova = 0x1000000 + 4 * MB2; /* adjacent in IOVA, apart in VA: fine */
	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, 0, "segments adjacent in IOVA, apart in VA: accepted");
	is_u64(hmi_iova2virt(&x, 0x1000000 + 4 * MB2), BASE + 8 * MB2,
	       "adjacent in IOVA: the boundary byte belongs to the second");
	is_u64(hmi_iova2virt(&x, 0x1000000 + 4 * MB2 - 1), BASE + 4 * MB2 - 1,
	       "adjacent in IOVA: the byte before belongs to the first");
	hmi_virt2iova(&x, BASE + 4 * MB2 - 1, &c);
	is_u64(c, 1, "adjacent in IOVA: contig stops at the VA segment end");
	hmi_xlate_release(&x);
	segs[1].va = BASE + 2 * MB2;
	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, -EINVAL, "segments overlapping in VA: refused");
	segs[1].va = BASE - MB2;
	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, -EINVAL, "segments not sorted by VA: refused");
	segs[1].va = BASE + 8 * MB2;
	segs[1].len = 0;
	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, -EINVAL, "empty segment: refused");
	like(hm_errmsg(ctx), "segment 1", "empty segment: message names it");
	segs[1].len = MB2;
	segs[1].iova = UINT64_MAX - MB2 + 1;
	rc = hmi_xlate_init(ctx, &x, segs, 2);
	is_int(rc, -EINVAL, "segment holding IOVA 2^64-1: refused");

	rc = hmi_xlate_init(ctx, &x, NULL, 0);
	is_int(rc, 0, "no segments: xlate_init succeeds");
	c = 5;
	ok(hmi_virt2iova(&x, BASE, &c) == UINT64_MAX && c == 0, "no segments: VA lookups miss");
	is_u64(hmi_iova2virt(&x, 0x1000000), 0, "no segments: IOVA lookups miss");
	hmi_xlate_release(&x);
}

static void test_1g(struct hm_ctx *ctx)
{
	static const struct spec specs[] = {{1, 64, 3}, {0, 8, 1}, {0, 4, 2}};
	const uint64_t base = 0x400000000000ULL;
	struct hmi_seg *segs = NULL;
	struct hmi_xlate x;
	struct hmi_page *pages;
	size_t n, n_segs = 0;
	uint64_t window = 0, c = 0;
	int rc;

	pages = make_pages(specs, 3, GB1, &n, 11);
	rc = hmi_assign_va(ctx, pages, n, GB1, BASE + MB2, &window);
	is_int(rc, -EINVAL, "1 GiB: a 2 MiB-aligned base is refused");
	like(hm_errmsg(ctx), "(1 GiB)", "1 GiB: message names the page size");
	rc = hmi_assign_va(ctx, pages, n, GB1, base, &window);
	is_int(rc, 0, "1 GiB: assign_va succeeds");
	is_u64(window, 8 * GB1, "1 GiB: window 6 pages + 2 gaps");
	rc = hmi_segments_build(ctx, pages, n, GB1, &segs, &n_segs);
	ok(rc == 0 && n_segs == 3 && segs[0].len == 2 * GB1 && segs[2].node == 1 &&
	       segs[2].va == base + 5 * GB1 && segs[2].page_size == GB1,
	   "1 GiB: three segments, the node 1 run last");
	rc = hmi_xlate_init(ctx, &x, segs, n_segs);
	is_int(rc, 0, "1 GiB: xlate_init succeeds");
	check_every_page(&x, pages, n, GB1, "1 GiB");
	is_u64(hmi_virt2iova(&x, base + 2 * GB1, NULL), UINT64_MAX, "1 GiB: gap misses");
	is_u64(hmi_virt2iova(&x, base + GB1 + 3, &c), 5 * GB1 + 3, "1 GiB: inside a page");
	is_u64(c, GB1 - 3, "1 GiB: contig to the segment end");
	is_u64(hmi_iova2virt(&x, 6 * GB1), 0, "1 GiB: IOVA hole misses");
	is_u64(hmi_iova2virt(&x, 67 * GB1 - 1), base + 8 * GB1 - 1, "1 GiB: last byte");
	is_u64(hmi_iova2virt(&x, 67 * GB1), 0, "1 GiB: one past the last byte misses");
	hmi_xlate_release(&x);
	free(segs);
	free(pages);
}

/* The segment holding VA (or IOVA), by looking at every one: -1 for none. */
static long ref_find(const struct hmi_seg *segs, size_t n, uint64_t addr, int by_iova)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t start = by_iova ? segs[i].iova : segs[i].va;

		if (addr >= start && addr - start < segs[i].len)
			return (long)i;
	}
	return -1;
}

struct big_stats {
	int v2i, contig, i2v, round, hits, misses;
};

static void random_lookups(const struct hmi_xlate *x, const struct hmi_page *pages, size_t n,
			   uint64_t window, uint64_t *seed, struct big_stats *st)
{
	for (int t = 0; t < 20000; t++) {
		const struct hmi_page *p = &pages[rnd_below(seed, n)];
		const struct hmi_seg *g = &x->segs[rnd_below(seed, x->n)];
		uint64_t va, iova, c = 0, got;
		long s, si;

		/* near a page, anywhere around the window, or in the gap after a segment */
		va = t % 3 == 0	  ? p->va - MB2 + rnd_below(seed, 3 * MB2)
		     : t % 3 == 1 ? BASE - MB2 + rnd_below(seed, window + 2 * MB2)
				  : g->va + g->len + rnd_below(seed, MB2);
		iova = t % 3 == 2 ? g->iova + g->len + rnd_below(seed, MB2)
				  : p->iova - MB2 + rnd_below(seed, 3 * MB2);
		s = ref_find(x->segs, x->n, va, 0);
		si = ref_find(x->segs, x->n, iova, 1);

		got = hmi_virt2iova(x, va, &c);
		st->v2i &=
		    s < 0 ? got == UINT64_MAX : got == x->segs[s].iova + (va - x->segs[s].va);
		st->contig &= s < 0 ? c == 0 : c == x->segs[s].va + x->segs[s].len - va;
		st->i2v &=
		    si < 0 ? hmi_iova2virt(x, iova) == 0
			   : hmi_iova2virt(x, iova) == x->segs[si].va + (iova - x->segs[si].iova);
		if (s >= 0)
			st->round &= hmi_iova2virt(x, got) == va;
		st->hits += s >= 0;
		st->misses += s < 0;
	}
}

static void test_many(struct hm_ctx *ctx)
{
	enum { MAX_SPECS = 20000 };
	struct spec *specs = calloc(MAX_SPECS, sizeof(*specs));
	struct big_stats st = {1, 1, 1, 1, 0, 0};
	uint64_t seed = 0xfeedULL, at[2] = {1000, 1 << 24}, window = 0, total = 0;
	struct hmi_seg *segs = NULL;
	struct hmi_run *runs = NULL;
	struct hmi_page *pages;
	struct hmi_xlate x;
	size_t ns = 0, n, n_segs = 0, n_runs = 0;
	int rc, layout_ok = 1;

	while (total < 100000 && ns < MAX_SPECS) {
		int node = (int)rnd_below(&seed, 2);

		specs[ns] = (struct spec){node, at[node] + 1 + rnd_below(&seed, 5),
					  1 + (size_t)rnd_below(&seed, 60)};
		at[node] = specs[ns].start + specs[ns].len;
		total += specs[ns++].len;
	}
	pages = make_pages(specs, ns, MB2, &n, seed);
	rc = hmi_assign_va(ctx, pages, n, MB2, BASE, &window);
	is_int(rc, 0, "10^5 pages in %zu runs: assign_va succeeds", ns);
	rc = hmi_segments_build(ctx, pages, n, MB2, &segs, &n_segs);
	is_int(rc, 0, "10^5 pages: segments_build succeeds");
	hmi_runs_find(ctx, pages, n, MB2, &runs, &n_runs);
	is_int(n_segs, n_runs, "10^5 pages: one segment per run (%zu)", n_runs);
	is_u64(window, (n + n_runs - 1) * MB2, "10^5 pages: window = pages + gaps");
	for (size_t i = 1; i < n_segs; i++)
		layout_ok &= segs[i].va == segs[i - 1].va + segs[i - 1].len + MB2;
	ok(layout_ok, "10^5 pages: segments one guard page apart, sorted by VA");
	rc = hmi_xlate_init(ctx, &x, segs, n_segs);
	is_int(rc, 0, "10^5 pages: xlate_init succeeds");
	check_every_page(&x, pages, n, MB2, "10^5 pages");
	random_lookups(&x, pages, n, window, &seed, &st);
	ok(st.v2i, "20000 random VAs: VA -> IOVA agrees with a linear scan");
	ok(st.contig, "20000 random VAs: contig agrees with a linear scan");
	ok(st.i2v, "20000 random IOVAs: IOVA -> VA agrees with a linear scan");
	ok(st.round, "random VAs in segments: IOVA -> VA -> back is the identity");
	ok(st.hits > 1000 && st.misses > 1000, "random lookups hit (%d) and miss (%d)", st.hits,
	   st.misses);
	hmi_xlate_release(&x);
	free(runs);
	free(segs);
	free(pages);
	free(specs);
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("no memory for a context");
	test_basic(ctx);
	test_assign_errors(ctx);
	test_general_merge(ctx);
	test_xlate_errors(ctx);
	test_1g(ctx);
	test_many(ctx);
	hm_ctx_free(ctx);
	return done();
}
