/* SPDX-License-Identifier: MIT */
/*
 * layout/segments.c — final virtual addresses for the kept pages, the segment
 * table, and translation between virtual and IO addresses (steps B6 and B12
 * of docs/design.md). Pure computation: no system calls.
 *
 * Virtual addresses (hmi_assign_va). The kept pages, sorted by (node, iova),
 * fall into runs (see layout/select.c). Runs are laid out one after the other
 * from BASE, in sorted order, each on a contiguous VA range, with one page
 * size of unused address space (a guard gap) between two runs. The gap makes
 * "contiguous in VA" imply "contiguous in IOVA": a device buffer that runs off
 * the end of a piece faults instead of silently landing in memory that is
 * physically elsewhere, and every run becomes exactly one segment. The window
 * is (pages + runs - 1) pages long. BASE must be page aligned and not 0 (0
 * means "no address" to hmi_iova2virt), and the window must not pass the end
 * of the address space.
 *
 * Segments (hmi_segments_build). One pass over the pages merges a page into
 * the current segment when it is on the same node and follows it in VA and in
 * IOVA at once; otherwise it opens a new segment. This does not rely on the
 * gap rule above, so the table stays right if the VA policy changes. The
 * table is then sorted by VA and checked for overlaps. first_page/n_pages
 * name the segment's pages in the caller's array (they are consecutive there
 * because merging only joins neighbours).
 *
 * Translation (hmi_xlate_*). Segments are disjoint in VA and in IOVA (checked
 * at init), so each address lies in at most one segment. VA -> IOVA: binary
 * search for the last segment starting at or below VA, then check VA is
 * before its end. IOVA -> VA: the same over an index of segment numbers
 * sorted by IOVA, built once at init. O(log n) each, no allocation. No
 * segment may contain the "not found" answers (UINT64_MAX as an IOVA, 0 as a
 * VA): ends are checked not to wrap, and VA 0 is refused.
 */
#include "layout/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int check_page_size(struct hm_ctx *ctx, uint64_t page_size)
{
	if (page_size == 0 || (page_size & (page_size - 1)))
		return hmi_err(ctx, EINVAL, "page size %" PRIu64 " is not a power of two",
			       page_size);
	return 0;
}

static int check_base(struct hm_ctx *ctx, uint64_t base, uint64_t page_size)
{
	uint64_t aligned;
	char size[32];

	if (base == 0)
		return hmi_err(ctx, EINVAL,
			       "base address 0 cannot be used: 0 means \"no address\"; give a "
			       "page-aligned base such as 0x%llx",
			       HM_DEFAULT_BASE_VA);
	if (base % page_size == 0)
		return 0;
	aligned = base - base % page_size;
	if (aligned <= UINT64_MAX - page_size)
		aligned += page_size;
	hmi_format_size(page_size, size, sizeof(size));
	return hmi_err(ctx, EINVAL,
		       "base address 0x%" PRIx64 " is not a multiple of the page size (%s): use "
		       "an aligned base such as 0x%" PRIx64,
		       base, size, aligned);
}

int hmi_assign_va(struct hm_ctx *ctx, struct hmi_page *pages, size_t n, uint64_t page_size,
		  uint64_t base, uint64_t *window)
{
	struct hmi_run *runs;
	size_t n_runs, r, i;
	uint64_t slots, va = base;
	int rc;

	*window = 0;
	rc = check_page_size(ctx, page_size);
	if (rc == 0)
		rc = check_base(ctx, base, page_size);
	if (rc < 0 || n == 0)
		return rc;
	rc = hmi_runs_find(ctx, pages, n, page_size, &runs, &n_runs);
	if (rc < 0)
		return rc;
	slots = (uint64_t)n + n_runs - 1; /* pages plus one guard page between runs */
	if (slots > (UINT64_MAX - base) / page_size) {
		free(runs);
		return hmi_err(ctx, ERANGE,
			       "a VA window of %" PRIu64 " pages (%zu pages in %zu runs, a guard "
			       "page between runs) from 0x%" PRIx64 " passes the end of the "
			       "address space: use a lower base address",
			       slots, n, n_runs, base);
	}
	for (r = 0; r < n_runs; r++) {
		for (i = runs[r].first; i < runs[r].first + runs[r].len; i++) {
			pages[i].va = va;
			va += page_size;
		}
		va += page_size;
	}
	free(runs);
	*window = slots * page_size;
	return 0;
}

static int check_page_addresses(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n,
				uint64_t page_size)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct hmi_page *p = &pages[i];

		if (p->va == 0)
			return hmi_err(ctx, EINVAL,
				       "page %zu (iova 0x%" PRIx64 ") has no virtual address "
				       "yet: assign VAs before building segments",
				       i, p->iova);
		if (p->va > UINT64_MAX - page_size || p->iova > UINT64_MAX - page_size)
			return hmi_err(ctx, EINVAL,
				       "page %zu (va 0x%" PRIx64 ", iova 0x%" PRIx64 ") passes the "
				       "end of the address space",
				       i, p->va, p->iova);
	}
	return 0;
}

/* Does page P extend segment S (same node, next in VA and in IOVA)? */
static int seg_extends(const struct hmi_seg *s, const struct hmi_page *p)
{
	return p->node == s->node && p->va == s->va + s->len && p->iova == s->iova + s->len;
}

static void seg_open(struct hmi_seg *s, const struct hmi_page *p, size_t index, uint64_t page_size)
{
	*s = (struct hmi_seg){.va = p->va,
			      .iova = p->iova,
			      .len = page_size,
			      .page_size = page_size,
			      .node = p->node,
			      .first_page = index,
			      .n_pages = 1};
}

/* Fill SEGS (NULL: only count) from PAGES; returns the segment count. */
static size_t segs_fill(const struct hmi_page *pages, size_t n, uint64_t page_size,
			struct hmi_seg *segs)
{
	struct hmi_seg cur;
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (i > 0 && seg_extends(&cur, &pages[i])) {
			cur.len += page_size;
			cur.n_pages++;
			continue;
		}
		if (i > 0 && segs)
			segs[count - 1] = cur;
		seg_open(&cur, &pages[i], i, page_size);
		count++;
	}
	if (count && segs)
		segs[count - 1] = cur;
	return count;
}

static int seg_va_cmp(const void *a, const void *b)
{
	const struct hmi_seg *x = a, *y = b;

	return x->va < y->va ? -1 : x->va > y->va;
}

/* SEGS sorted by VA: each has a length, none wraps, none overlaps the next. */
static int check_va_order(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct hmi_seg *s = &segs[i];

		if (s->len == 0 || s->va == 0 || s->va > UINT64_MAX - s->len ||
		    s->iova > UINT64_MAX - s->len)
			return hmi_err(ctx, EINVAL,
				       "segment %zu (va 0x%" PRIx64 ", iova 0x%" PRIx64 ", %" PRIu64
				       " bytes) is empty, at VA 0 or passes the end of the address "
				       "space",
				       i, s->va, s->iova, s->len);
		if (i > 0 && s->va < segs[i - 1].va + segs[i - 1].len)
			return hmi_err(ctx, EINVAL,
				       "segment %zu (va 0x%" PRIx64 ") overlaps or sorts before "
				       "segment %zu (va 0x%" PRIx64 ", %" PRIu64 " bytes): "
				       "segments must be disjoint and sorted by VA",
				       i, s->va, i - 1, segs[i - 1].va, segs[i - 1].len);
	}
	return 0;
}

int hmi_segments_build(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n,
		       uint64_t page_size, struct hmi_seg **segs, size_t *n_segs)
{
	struct hmi_seg *s;
	size_t count;
	int rc;

	*segs = NULL;
	*n_segs = 0;
	rc = check_page_size(ctx, page_size);
	if (rc == 0)
		rc = check_page_addresses(ctx, pages, n, page_size);
	if (rc < 0 || n == 0)
		return rc;
	count = segs_fill(pages, n, page_size, NULL);
	s = calloc(count, sizeof(*s));
	if (!s)
		return hmi_err(ctx, ENOMEM, "no memory for %zu segments", count);
	segs_fill(pages, n, page_size, s);
	qsort(s, count, sizeof(*s), seg_va_cmp);
	rc = check_va_order(ctx, s, count);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*segs = s;
	*n_segs = count;
	return 0;
}

/* Segment number and IOVA, to sort the IOVA index without a context pointer. */
struct iova_key {
	uint64_t iova;
	size_t seg;
};

static int iova_key_cmp(const void *a, const void *b)
{
	const struct iova_key *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* The segment numbers of SEGS sorted by IOVA into BY_IOVA; -EINVAL on overlap. */
static int index_by_iova(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n, size_t *by_iova)
{
	struct iova_key *keys = calloc(n, sizeof(*keys));
	size_t i;
	int rc = 0;

	if (!keys)
		return hmi_err(ctx, ENOMEM, "no memory to index %zu segments by IOVA", n);
	for (i = 0; i < n; i++)
		keys[i] = (struct iova_key){.iova = segs[i].iova, .seg = i};
	qsort(keys, n, sizeof(*keys), iova_key_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		const struct hmi_seg *prev = i ? &segs[keys[i - 1].seg] : NULL;

		by_iova[i] = keys[i].seg;
		if (prev && keys[i].iova < prev->iova + prev->len)
			rc = hmi_err(
			    ctx, EINVAL,
			    "segments %zu and %zu overlap in IOVA (0x%" PRIx64 " + %" PRIu64
			    " bytes, 0x%" PRIx64 "): one physical page is mapped twice",
			    keys[i - 1].seg, keys[i].seg, prev->iova, prev->len, keys[i].iova);
	}
	free(keys);
	return rc;
}

int hmi_xlate_init(struct hm_ctx *ctx, struct hmi_xlate *x, const struct hmi_seg *segs, size_t n)
{
	size_t *by_iova;
	int rc;

	memset(x, 0, sizeof(*x));
	rc = check_va_order(ctx, segs, n);
	if (rc < 0 || n == 0)
		return rc;
	by_iova = calloc(n, sizeof(*by_iova));
	if (!by_iova)
		return hmi_err(ctx, ENOMEM, "no memory to index %zu segments by IOVA", n);
	rc = index_by_iova(ctx, segs, n, by_iova);
	if (rc < 0) {
		free(by_iova);
		return rc;
	}
	x->segs = segs;
	x->n = n;
	x->by_iova = by_iova;
	return 0;
}

void hmi_xlate_release(struct hmi_xlate *x)
{
	if (!x)
		return;
	free(x->by_iova);
	memset(x, 0, sizeof(*x));
}

uint64_t hmi_virt2iova(const struct hmi_xlate *x, uint64_t va, uint64_t *contig)
{
	size_t lo = 0, hi = x->n;
	const struct hmi_seg *s;

	if (contig)
		*contig = 0;
	/* lo = how many segments start at or below VA */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->segs[mid].va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return UINT64_MAX;
	s = &x->segs[lo - 1];
	if (va - s->va >= s->len)
		return UINT64_MAX;
	if (contig)
		*contig = s->len - (va - s->va);
	return s->iova + (va - s->va);
}

uint64_t hmi_iova2virt(const struct hmi_xlate *x, uint64_t iova)
{
	size_t lo = 0, hi = x->n;
	const struct hmi_seg *s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->segs[x->by_iova[mid]].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	s = &x->segs[x->by_iova[lo - 1]];
	if (iova - s->iova >= s->len)
		return 0;
	return s->va + (iova - s->iova);
}
