/* SPDX-License-Identifier: MIT */
/*
 * layout/select.c — which of the mapped hugepages to keep, so that the memory
 * asked for on each NUMA node comes in as few physically contiguous pieces as
 * the mapped set allows (steps B5, B9 and B10 of docs/design.md). Pure
 * computation: no system calls.
 *
 * Runs. The pages are sorted by (node, iova). A run is a maximal stretch of
 * sorted pages on one node whose IOVAs follow each other by exactly one page
 * size. Runs never cross a node boundary, even where two nodes' memory is
 * physically adjacent: a piece of memory has one node. Finding them is one
 * pass; the same pass refuses unsorted or overlapping input, which would
 * otherwise turn into wrong translations much later.
 *
 * The fewest pieces. With the runs of one node sorted longest first, the
 * fewest pieces that cover WANT pages is the smallest j whose j longest runs
 * hold WANT pages: any j runs hold at most as much as the j longest, so no
 * j-1 runs can do. hmi_best_pieces answers that from a plain array of lengths
 * without copying or sorting it: it binary-searches the largest length T such
 * that the runs of length >= T hold WANT pages; the runs longer than T are
 * then all taken and the rest comes from runs of length exactly T, so
 * j = count(len > T) + ceil((WANT - sum(len > T)) / T). O(n log max) with no
 * allocation, which suits a caller that only wants "the best the pool
 * allows".
 *
 * The choice (hmi_select). Per node with WANT > 0: sort the node's runs by
 * (length descending, iova ascending), take runs whole while taking one more
 * whole still leaves pages to find (that is the j-1 longest), then cover the
 * remainder REM from the SHORTEST remaining run that holds REM pages (best
 * fit), the lower iova among equal lengths. Best fit leaves the long runs in
 * the pool for whoever maps next, and with j == 1 it is "the shortest run
 * that fits" (want 35 from runs 100, 40, 33 takes the 40, not the 100). From
 * a run longer than needed the lowest pages are kept (a prefix), so what goes
 * back to the pool is one run, not two. Exactly one run per node is cut at
 * most. Ties are broken by iova so that the choice is deterministic.
 *
 * What it does not do. Among all j-run choices, the one leaving the best pool
 * behind can differ from "j-1 longest + best fit": runs 10, 9, 9 for want 18
 * give 10 + 8 of a 9 here, where 9 + 9 would leave the 10 whole. Finding the
 * j runs that cut nothing is a subset-sum problem (NP-hard in general), and
 * the piece count — what the caller sees — is optimal either way.
 *
 * Cost, for n pages in R runs: the run pass O(n), the sort O(R log R), the
 * choice O(R) per node, marking the kept pages O(n). One allocation of R run
 * records and R sort keys.
 */
#include "layout/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int page_cmp(const void *a, const void *b)
{
	const struct hmi_page *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->iova != y->iova)
		return cmp_u64(x->iova, y->iova);
	/* Equal IOVAs are refused later; a full order keeps the sort deterministic. */
	if (x->backing != y->backing)
		return x->backing < y->backing ? -1 : 1;
	if (x->offset != y->offset)
		return cmp_u64(x->offset, y->offset);
	return cmp_u64(x->va, y->va);
}

void hmi_pages_sort(struct hmi_page *pages, size_t n)
{
	if (n > 1)
		qsort(pages, n, sizeof(*pages), page_cmp);
}

/* 1: NEXT continues PREV's run; 0: NEXT starts a new run; -1: NEXT sorts
 * before PREV or overlaps it. PREV->iova + PAGE_SIZE does not wrap (checked). */
static int page_follows(const struct hmi_page *prev, const struct hmi_page *next,
			uint64_t page_size)
{
	if (next->node != prev->node)
		return next->node > prev->node ? 0 : -1;
	if (next->iova < prev->iova + page_size)
		return -1;
	return next->iova == prev->iova + page_size;
}

/* Check the order of PAGES and count their runs. */
static int count_runs(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n,
		      uint64_t page_size, size_t *count)
{
	size_t i, runs = 0;

	for (i = 0; i < n; i++) {
		const struct hmi_page *p = &pages[i];
		int follows;

		if (p->iova > UINT64_MAX - page_size)
			return hmi_err(ctx, EINVAL,
				       "page %zu: iova 0x%" PRIx64 " plus one page passes the "
				       "end of the address space",
				       i, p->iova);
		follows = i ? page_follows(&pages[i - 1], p, page_size) : 0;
		if (follows < 0)
			return hmi_err(
			    ctx, EINVAL,
			    "page %zu (node %d, iova 0x%" PRIx64 ") is out of order or "
			    "overlaps page %zu (node %d, iova 0x%" PRIx64 "): pages must be "
			    "sorted by (node, iova) and distinct (hmi_pages_sort)",
			    i, p->node, p->iova, i - 1, pages[i - 1].node, pages[i - 1].iova);
		runs += !follows;
	}
	*count = runs;
	return 0;
}

int hmi_runs_find(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n, uint64_t page_size,
		  struct hmi_run **runs, size_t *n_runs)
{
	struct hmi_run *r;
	size_t i, count = 0, k = 0;
	int rc;

	*runs = NULL;
	*n_runs = 0;
	if (page_size == 0)
		return hmi_err(ctx, EINVAL, "page size 0: runs need the size of a page");
	rc = count_runs(ctx, pages, n, page_size, &count);
	if (rc < 0 || count == 0)
		return rc;
	r = calloc(count, sizeof(*r));
	if (!r)
		return hmi_err(ctx, ENOMEM, "no memory for %zu runs of pages", count);
	r[0] = (struct hmi_run){.first = 0, .len = 1, .node = pages[0].node};
	for (i = 1; i < n; i++) {
		if (page_follows(&pages[i - 1], &pages[i], page_size) == 1)
			r[k].len++;
		else
			r[++k] = (struct hmi_run){.first = i, .len = 1, .node = pages[i].node};
	}
	*runs = r;
	*n_runs = count;
	return 0;
}

/* The sum (saturating) and the count of LENGTHS that are >= AT_LEAST. */
static uint64_t sum_at_least(const uint64_t *lengths, size_t n, uint64_t at_least, size_t *count)
{
	uint64_t sum = 0;
	size_t i, c = 0;

	for (i = 0; i < n; i++) {
		if (lengths[i] < at_least)
			continue;
		c++;
		sum = lengths[i] > UINT64_MAX - sum ? UINT64_MAX : sum + lengths[i];
	}
	*count = c;
	return sum;
}

size_t hmi_best_pieces(const uint64_t *lengths, size_t n, uint64_t want)
{
	uint64_t lo = 1, hi = 0, above;
	size_t i, n_above;

	if (want == 0)
		return 0;
	if (sum_at_least(lengths, n, 1, &n_above) < want)
		return SIZE_MAX;
	for (i = 0; i < n; i++)
		hi = lengths[i] > hi ? lengths[i] : hi;
	/* The largest T in [1, max] with sum(len >= T) >= WANT; T = 1 qualifies. */
	while (lo < hi) {
		uint64_t mid = hi - (hi - lo) / 2; /* in (lo, hi] */

		if (sum_at_least(lengths, n, mid, &n_above) >= want)
			lo = mid;
		else
			hi = mid - 1;
	}
	above = 0;
	n_above = 0;
	if (lo < UINT64_MAX)
		above = sum_at_least(lengths, n, lo + 1, &n_above);
	/* above < WANT: the runs longer than T do not suffice, runs of length T fill up. */
	return n_above + (size_t)((want - above - 1) / lo + 1);
}

/* A run as the choice sorts it: by node, then longest first, then lower iova. */
struct run_key {
	int node;
	uint64_t len;
	uint64_t iova;
	size_t run;
};

static int run_key_cmp(const void *a, const void *b)
{
	const struct run_key *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return cmp_u64(x->iova, y->iova);
}

/* Node ids in range and the pages each node holds. */
static int pages_per_node(struct hm_ctx *ctx, const struct hmi_page *pages,
			  const struct hmi_run *runs, size_t n_runs, uint64_t have[HM_MAX_NODES])
{
	size_t i;

	memset(have, 0, HM_MAX_NODES * sizeof(have[0]));
	for (i = 0; i < n_runs; i++) {
		int node = runs[i].node;

		if (node < 0 || node >= HM_MAX_NODES)
			return hmi_err(ctx, EINVAL,
				       "page %zu (iova 0x%" PRIx64 ") is on node %d, outside the "
				       "node ids 0..%d",
				       runs[i].first, pages[runs[i].first].iova, node,
				       HM_MAX_NODES - 1);
		have[node] += runs[i].len;
	}
	return 0;
}

static int check_wants(struct hm_ctx *ctx, const uint64_t have[HM_MAX_NODES],
		       const uint64_t want[HM_MAX_NODES], uint64_t page_size)
{
	char size[32];
	int node;

	for (node = 0; node < HM_MAX_NODES; node++) {
		if (want[node] <= have[node])
			continue;
		hmi_format_size(page_size, size, sizeof(size));
		return hmi_err(ctx, ENOMEM,
			       "node %d: asked %" PRIu64 " pages of %s, only %" PRIu64 " mapped",
			       node, want[node], size, have[node]);
	}
	return 0;
}

/* KEYS[from, m) sorted longest first; at least KEYS[from] holds REM pages.
 * The shortest that does, the lowest iova among equals (they sort first). */
static size_t best_fit(const struct run_key *keys, size_t from, size_t m, uint64_t rem)
{
	size_t last = from;

	while (last + 1 < m && keys[last + 1].len >= rem)
		last++;
	while (last > from && keys[last - 1].len == keys[last].len)
		last--;
	return last;
}

static void keep_prefix(const struct hmi_run *run, uint64_t count, unsigned char *keep)
{
	memset(keep + run->first, 1, (size_t)count);
}

/* Choose WANT pages (> 0, <= what the runs hold) from one node's KEYS[0, m):
 * the j-1 longest runs whole, then the best fit for the rest. Returns j. */
static size_t select_node(const struct run_key *keys, size_t m, const struct hmi_run *runs,
			  uint64_t want, unsigned char *keep)
{
	uint64_t got = 0;
	size_t j = 0, fit;

	while (got + keys[j].len < want) {
		keep_prefix(&runs[keys[j].run], keys[j].len, keep);
		got += keys[j].len;
		j++;
	}
	fit = best_fit(keys, j, m, want - got);
	keep_prefix(&runs[keys[fit].run], want - got, keep);
	return j + 1;
}

static int sort_keys(struct hm_ctx *ctx, const struct hmi_page *pages, const struct hmi_run *runs,
		     size_t n_runs, struct run_key **keys)
{
	struct run_key *k;
	size_t i;

	*keys = NULL;
	if (n_runs == 0)
		return 0;
	k = calloc(n_runs, sizeof(*k));
	if (!k)
		return hmi_err(ctx, ENOMEM, "no memory to sort %zu runs of pages", n_runs);
	for (i = 0; i < n_runs; i++)
		k[i] = (struct run_key){.node = runs[i].node,
					.len = runs[i].len,
					.iova = pages[runs[i].first].iova,
					.run = i};
	qsort(k, n_runs, sizeof(*k), run_key_cmp);
	*keys = k;
	return 0;
}

int hmi_select(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n, uint64_t page_size,
	       const uint64_t want[HM_MAX_NODES], unsigned char *keep, size_t *pieces)
{
	uint64_t have[HM_MAX_NODES];
	struct hmi_run *runs;
	struct run_key *keys = NULL;
	size_t n_runs, b, e, total = 0;
	int rc;

	*pieces = 0;
	rc = hmi_runs_find(ctx, pages, n, page_size, &runs, &n_runs);
	if (rc < 0)
		return rc;
	rc = pages_per_node(ctx, pages, runs, n_runs, have);
	if (rc == 0)
		rc = check_wants(ctx, have, want, page_size);
	if (rc == 0)
		rc = sort_keys(ctx, pages, runs, n_runs, &keys);
	if (rc < 0 || !keys) /* no keys: no pages, nothing to keep */
		goto out;
	memset(keep, 0, n);
	for (b = 0; b < n_runs; b = e) {
		uint64_t w = want[keys[b].node];

		for (e = b + 1; e < n_runs && keys[e].node == keys[b].node; e++)
			;
		if (w)
			total += select_node(keys + b, e - b, runs, w, keep);
	}
	*pieces = total;
out:
	free(keys);
	free(runs);
	return rc;
}
