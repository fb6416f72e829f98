/* SPDX-License-Identifier: MIT */
/*
 * layout_select_test.c — the layout layer's selection on synthetic pools (no
 * root, no hugepages): sorting, runs, the fewest-pieces count and the choice
 * of kept pages. Pools are lists of runs (node, first page number, length)
 * turned into struct hmi_page arrays, shuffled the way a kernel free list
 * hands pages out, then sorted. Covers a fresh pool handed out in descending
 * order, a scattered pool, the best fit among runs 100/40/33/7/2, ties, two
 * sparse nodes, a node short of pages, the input errors, and randomized pools
 * checked against a brute-force optimum.
 */
#include "layout/layout.h"
#include "tap.h"

#include <errno.h>

#define MB2 (2ULL << 20)
#define GB1 (1ULL << 30)

/* A run of a synthetic pool: LEN pages from page number START on NODE. */
struct spec {
	int node;
	uint64_t start;
	size_t len;
};

struct pool {
	struct hmi_page *pages;
	unsigned char *keep;
	size_t n;
	uint64_t page_size;
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

static void shuffle(struct hmi_page *pages, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rnd_below(state, i);
		struct hmi_page t = pages[i - 1];

		pages[i - 1] = pages[j];
		pages[j] = t;
	}
}

/* Pages of the runs SPECS, shuffled with SEED (0: in spec order), then sorted. */
static void pool_make(struct pool *p, const struct spec *specs, size_t n_specs, uint64_t page_size,
		      uint64_t seed)
{
	size_t total = 0, k = 0;

	for (size_t s = 0; s < n_specs; s++)
		total += specs[s].len;
	p->pages = calloc(total ? total : 1, sizeof(*p->pages));
	p->keep = calloc(total ? total : 1, 1);
	p->n = total;
	p->page_size = page_size;
	for (size_t s = 0; s < n_specs; s++)
		for (size_t i = 0; i < specs[s].len; i++, k++)
			p->pages[k] = (struct hmi_page){.iova = (specs[s].start + i) * page_size,
							.node = specs[s].node,
							.backing = (uint32_t)s,
							.offset = i * page_size};
	if (seed)
		shuffle(p->pages, total, &seed);
	hmi_pages_sort(p->pages, total);
}

static void pool_free(struct pool *p)
{
	free(p->pages);
	free(p->keep);
}

/* Kept pages of the run SPEC, and whether they are its lowest pages. The pool
 * is sorted by (node, iova): the run's pages are consecutive from the first
 * page at or above its start. */
static size_t spec_kept(const struct pool *p, const struct spec *spec, int *is_prefix)
{
	uint64_t start = spec->start * p->page_size, end = start + spec->len * p->page_size;
	size_t lo = 0, hi = p->n, kept = 0, i;
	int gap = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hmi_page *pg = &p->pages[mid];

		if (pg->node < spec->node || (pg->node == spec->node && pg->iova < start))
			lo = mid + 1;
		else
			hi = mid;
	}
	*is_prefix = 1;
	for (i = lo; i < p->n && p->pages[i].node == spec->node && p->pages[i].iova < end; i++) {
		if (p->keep[i] && gap)
			*is_prefix = 0;
		gap |= !p->keep[i];
		kept += p->keep[i];
	}
	return kept;
}

/* Select WANT0 pages on node 0 of the pool SPECS; expect PIECES and the kept
 * counts KEPT[] per spec. Four assertions. */
static void check_pick(struct hm_ctx *ctx, const char *name, const struct spec *specs, size_t ns,
		       uint64_t want0, size_t pieces, const size_t *kept)
{
	uint64_t want[HM_MAX_NODES] = {want0};
	struct pool p;
	size_t got_pieces = 99, s;
	int rc, same = 1, prefix = 1;
	char got[256] = "", *w = got;

	pool_make(&p, specs, ns, MB2, 0x9e3779b97f4a7c15ULL + want0);
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &got_pieces);
	is_int(rc, 0, "%s: want %" PRIu64 ": select succeeds", name, want0);
	is_int(got_pieces, pieces, "%s: want %" PRIu64 ": %zu pieces", name, want0, pieces);
	for (s = 0; s < ns; s++) {
		int pre;
		size_t k = spec_kept(&p, &specs[s], &pre);

		same &= k == kept[s];
		prefix &= pre;
		w += snprintf(w, (size_t)(got + sizeof(got) - w), " %zu", k);
	}
	if (!ok(same, "%s: want %" PRIu64 ": the expected runs are used", name, want0))
		diag("  kept per run:%s", got);
	ok(prefix, "%s: want %" PRIu64 ": kept pages are the lowest of each run", name, want0);
	pool_free(&p);
}

static void test_best_fit_pool(struct hm_ctx *ctx)
{
	/* lengths 100, 40, 33, 7, 2 at addresses in a different order */
	static const struct spec five[] = {
	    {0, 1000, 100}, {0, 200, 40}, {0, 3000, 33}, {0, 50, 7}, {0, 10, 2},
	};
	static const struct {
		uint64_t want;
		size_t pieces;
		size_t kept[5];
	} cases[] = {
	    {35, 1, {0, 35, 0, 0, 0}},	   /* the 40, not the 100 */
	    {120, 2, {100, 0, 20, 0, 0}},  /* 100 + best fit 33 for 20 */
	    {180, 4, {100, 40, 33, 7, 0}}, /* exact */
	    {182, 5, {100, 40, 33, 7, 2}}, /* everything */
	    {100, 1, {100, 0, 0, 0, 0}},   {41, 1, {41, 0, 0, 0, 0}},
	    {40, 1, {0, 40, 0, 0, 0}},	   {34, 1, {0, 34, 0, 0, 0}},
	    {33, 1, {0, 0, 33, 0, 0}},	   {8, 1, {0, 0, 8, 0, 0}},
	    {7, 1, {0, 0, 0, 7, 0}},	   {3, 1, {0, 0, 0, 3, 0}},
	    {2, 1, {0, 0, 0, 0, 2}},	   {1, 1, {0, 0, 0, 0, 1}},
	    {101, 2, {100, 0, 0, 0, 1}},   {140, 2, {100, 40, 0, 0, 0}},
	    {141, 3, {100, 40, 0, 0, 1}},  {0, 0, {0, 0, 0, 0, 0}},
	};

	for (size_t i = 0; i < HMI_ARRAY_SIZE(cases); i++)
		check_pick(ctx, "runs 100/40/33/7/2", five, 5, cases[i].want, cases[i].pieces,
			   cases[i].kept);
}

static void test_ties(struct hm_ctx *ctx)
{
	static const struct spec tens[] = {{0, 500, 10}, {0, 100, 10}, {0, 300, 10}};
	static const struct spec exact[] = {
	    {0, 0, 50},
	    {0, 200, 30},
	    {0, 100, 30},
	    {0, 300, 20},
	};
	static const size_t k5[] = {0, 5, 0}, k15[] = {0, 10, 5}, k25[] = {5, 10, 10};
	static const size_t k80[] = {50, 0, 30, 0}, k60[] = {50, 0, 0, 10};

	check_pick(ctx, "equal runs", tens, 3, 5, 1, k5);
	check_pick(ctx, "equal runs", tens, 3, 15, 2, k15);
	check_pick(ctx, "equal runs", tens, 3, 25, 3, k25);
	check_pick(ctx, "exact remainder", exact, 4, 80, 2, k80);
	check_pick(ctx, "short remainder", exact, 4, 60, 2, k60);
}

static void test_fresh_and_scattered(struct hm_ctx *ctx)
{
	uint64_t want[HM_MAX_NODES] = {16};
	struct hmi_page pages[100];
	unsigned char keep[100];
	size_t pieces = 99, i;
	int rc, first16 = 1;

	/* A fresh pool hands pages out in descending physical order. */
	for (i = 0; i < 64; i++)
		pages[i] = (struct hmi_page){.iova = (4096 + 63 - i) * MB2, .offset = i * MB2};
	rc = hmi_select(ctx, pages, 64, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "fresh pool, unsorted: refused");
	like(hm_errmsg(ctx), "out of order", "fresh pool, unsorted: message says so");
	like(hm_errmsg(ctx), "hmi_pages_sort", "fresh pool, unsorted: message names the fix");
	hmi_pages_sort(pages, 64);
	is_u64(pages[0].iova, 4096 * MB2, "fresh pool sorted: lowest address first");
	is_u64(pages[0].offset, 63 * MB2, "fresh pool sorted: the page mapped last comes first");
	rc = hmi_select(ctx, pages, 64, MB2, want, keep, &pieces);
	is_int(rc, 0, "fresh pool: select succeeds");
	is_int(pieces, 1, "fresh pool: 16 pages in 1 piece");
	for (i = 0; i < 64; i++)
		first16 &= keep[i] == (i < 16);
	ok(first16, "fresh pool: the 16 lowest pages are kept");

	/* Every other page: nothing is contiguous. */
	for (i = 0; i < 100; i++)
		pages[99 - i] = (struct hmi_page){.iova = 2 * i * MB2};
	hmi_pages_sort(pages, 100);
	want[0] = 10;
	rc = hmi_select(ctx, pages, 100, MB2, want, keep, &pieces);
	is_int(rc, 0, "scattered pool: select succeeds");
	is_int(pieces, 10, "scattered pool: 10 pages in 10 pieces");
	first16 = 1;
	for (i = 0; i < 100; i++)
		first16 &= keep[i] == (i < 10);
	ok(first16, "scattered pool: the 10 lowest pages are kept (ties go to lower iova)");
}

static void test_nodes(struct hm_ctx *ctx)
{
	static const struct spec specs[] = {
	    {0, 0, 50}, {0, 100, 10}, {1, 10000, 8}, {2, 20000, 30}, {2, 21000, 30}, {2, 20500, 5},
	};
	static const size_t expect[] = {50, 5, 0, 30, 0, 1};
	uint64_t want[HM_MAX_NODES] = {0};
	struct pool p;
	size_t pieces = 99, s;
	int rc, pre, all_pre = 1, same = 1;

	pool_make(&p, specs, HMI_ARRAY_SIZE(specs), MB2, 42);
	want[0] = 55;
	want[2] = 31;
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
	is_int(rc, 0, "nodes 0 and 2: select succeeds");
	is_int(pieces, 4, "nodes 0 and 2: 2 pieces each");
	for (s = 0; s < HMI_ARRAY_SIZE(specs); s++) {
		size_t k = spec_kept(&p, &specs[s], &pre);

		if (k != expect[s])
			diag("  run %zu (node %d): kept %zu, want %zu", s, specs[s].node, k,
			     expect[s]);
		same &= k == expect[s];
		all_pre &= pre;
	}
	ok(same, "nodes 0 and 2: 50 + 5 of 10 on node 0, 30 (lower) + 1 of 5 on node 2");
	ok(all_pre, "nodes 0 and 2: prefixes");

	want[0] = want[2] = 0;
	want[1] = 64;
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
	is_int(rc, -ENOMEM, "node short of pages: -ENOMEM");
	like(hm_errmsg(ctx), "node 1: asked 64 pages of 2 MiB, only 8 mapped",
	     "node short of pages: message names the node and the counts");
	is_int(pieces, 0, "node short of pages: no pieces");
	want[1] = 0;
	want[3] = 1;
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
	is_int(rc, -ENOMEM, "node without pages: -ENOMEM");
	like(hm_errmsg(ctx), "node 3: asked 1 pages of 2 MiB, only 0 mapped",
	     "node without pages: message names it");
	want[3] = 0;
	want[HM_MAX_NODES - 1] = 7;
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
	is_int(rc, -ENOMEM, "last node id without pages: -ENOMEM");
	like(hm_errmsg(ctx), "node 63: asked 7 pages", "last node id: message names it");
	want[HM_MAX_NODES - 1] = 0;

	memset(p.keep, 7, p.n);
	rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
	is_int(rc, 0, "want 0 everywhere: succeeds");
	is_int(pieces, 0, "want 0 everywhere: 0 pieces");
	ok(memchr(p.keep, 1, p.n) == NULL && memchr(p.keep, 7, p.n) == NULL,
	   "want 0 everywhere: nothing kept, every flag cleared");
	pool_free(&p);
}

static void test_short_1g(struct hm_ctx *ctx)
{
	static const struct spec specs[] = {{0, 4, 3}};
	uint64_t want[HM_MAX_NODES] = {4};
	struct pool p;
	size_t pieces;
	int rc;

	pool_make(&p, specs, 1, GB1, 0);
	rc = hmi_select(ctx, p.pages, p.n, GB1, want, p.keep, &pieces);
	is_int(rc, -ENOMEM, "1 GiB pool short: -ENOMEM");
	like(hm_errmsg(ctx), "node 0: asked 4 pages of 1 GiB, only 3 mapped",
	     "1 GiB pool short: message names the page size");
	want[0] = 3;
	rc = hmi_select(ctx, p.pages, p.n, GB1, want, p.keep, &pieces);
	ok(rc == 0 && pieces == 1 && p.keep[0] && p.keep[2], "1 GiB pool: 3 pages in 1 piece");
	rc = hmi_select(ctx, NULL, 0, GB1, (uint64_t[HM_MAX_NODES]){0}, NULL, &pieces);
	ok(rc == 0 && pieces == 0, "empty pool, want 0: 0 pieces");
	pool_free(&p);
}

static void test_bad_input(struct hm_ctx *ctx)
{
	uint64_t want[HM_MAX_NODES] = {1};
	struct hmi_page pages[2] = {{.iova = 0}, {.iova = MB2}};
	unsigned char keep[2];
	size_t pieces = 99;
	int rc;

	pages[1].node = -1;
	hmi_pages_sort(pages, 2);
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "node id -1: refused");
	like(hm_errmsg(ctx), "on node -1, outside the node ids 0..63", "node id -1: message");
	pages[0] = (struct hmi_page){.iova = 0, .node = 0};
	pages[1] = (struct hmi_page){.iova = MB2, .node = HM_MAX_NODES};
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "node id 64: refused");
	like(hm_errmsg(ctx), "on node 64", "node id 64: message");
	pages[1] = (struct hmi_page){.iova = MB2 / 2};
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "overlapping pages: refused");
	like(hm_errmsg(ctx), "overlaps page 0", "overlapping pages: message");
	pages[1] = pages[0];
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "the same page twice: refused");
	pages[1] = (struct hmi_page){.iova = UINT64_MAX - MB2 + 1};
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, -EINVAL, "a page at the end of the address space: refused");
	like(hm_errmsg(ctx), "passes the end of the address space", "end of space: message");
	pages[1] = (struct hmi_page){.iova = UINT64_MAX - 2 * MB2 + 1};
	rc = hmi_select(ctx, pages, 2, MB2, want, keep, &pieces);
	is_int(rc, 0, "the last whole page below the end: accepted");
	rc = hmi_select(ctx, pages, 2, 0, want, keep, &pieces);
	is_int(rc, -EINVAL, "page size 0: refused");
	like(hm_errmsg(ctx), "page size 0", "page size 0: message");
}

static void test_runs_find(struct hm_ctx *ctx)
{
	struct hmi_page pages[6];
	struct hmi_run *runs = (struct hmi_run *)1;
	size_t n_runs = 99;
	int rc;

	rc = hmi_runs_find(ctx, NULL, 0, MB2, &runs, &n_runs);
	ok(rc == 0 && runs == NULL && n_runs == 0, "runs of no pages: none");
	pages[0] = (struct hmi_page){.iova = 7 * MB2, .node = 3};
	rc = hmi_runs_find(ctx, pages, 1, MB2, &runs, &n_runs);
	ok(rc == 0 && n_runs == 1 && runs[0].first == 0 && runs[0].len == 1 && runs[0].node == 3,
	   "runs of one page: one run of 1 on its node");
	free(runs);

	/* 1 GiB pages at 0, 1, 2, 4, 5 GiB on node 0 and 6 GiB on node 1 */
	static const uint64_t at[] = {0, 1, 2, 4, 5, 6};
	for (int i = 0; i < 6; i++)
		pages[i] = (struct hmi_page){.iova = at[i] * GB1, .node = i == 5};
	rc = hmi_runs_find(ctx, pages, 6, GB1, &runs, &n_runs);
	is_int(rc, 0, "1 GiB runs: succeeds");
	is_int(n_runs, 3, "1 GiB runs: 3 runs (the node change breaks the last)");
	ok(n_runs == 3 && runs[0].first == 0 && runs[0].len == 3 && runs[1].first == 3 &&
	       runs[1].len == 2 && runs[2].first == 5 && runs[2].len == 1 && runs[2].node == 1,
	   "1 GiB runs: 0-2 GiB, 4-5 GiB, 6 GiB on node 1");
	free(runs);
	rc = hmi_runs_find(ctx, pages, 6, MB2, &runs, &n_runs);
	ok(rc == 0 && n_runs == 6, "the same pages read as 2 MiB pages: 6 runs of 1");
	free(runs);
	pages[5].node = 0;
	pages[5].iova = 3 * GB1;
	runs = (struct hmi_run *)1;
	rc = hmi_runs_find(ctx, pages, 6, GB1, &runs, &n_runs);
	ok(rc == -EINVAL && runs == NULL && n_runs == 0, "1 GiB runs, unsorted: refused, no runs");
	like(hm_errmsg(ctx), "page 5 (node 0, iova 0xc0000000) is out of order",
	     "1 GiB runs, unsorted: message names the page");
}

/* Reference: sort descending, take the longest until WANT is reached. */
static size_t ref_pieces(const uint64_t *lengths, size_t n, uint64_t want)
{
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s)), got = 0;
	size_t k = 0;

	memcpy(s, lengths, n * sizeof(*s));
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && s[j - 1] < s[j]; j--) {
			uint64_t t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	while (k < n && got < want)
		got += s[k++];
	free(s);
	return want == 0 ? 0 : got >= want ? k : SIZE_MAX;
}

static void test_best_pieces(void)
{
	static const uint64_t five[] = {7, 100, 2, 33, 40}, tens[] = {10, 10, 10};
	static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX};
	static const uint64_t halves[] = {UINT64_MAX / 2 + 1, UINT64_MAX / 2 + 1, 3};
	uint64_t seed = 12345, lengths[64];
	int agree = 1;

	is_u64(hmi_best_pieces(NULL, 0, 0), 0, "best pieces: nothing for nothing");
	is_u64(hmi_best_pieces(NULL, 0, 1), SIZE_MAX, "best pieces: no runs, want 1: impossible");
	is_u64(hmi_best_pieces(five, 5, 35), 1, "best pieces 100/40/33/7/2, want 35: 1");
	is_u64(hmi_best_pieces(five, 5, 100), 1, "best pieces, want 100: 1");
	is_u64(hmi_best_pieces(five, 5, 101), 2, "best pieces, want 101: 2");
	is_u64(hmi_best_pieces(five, 5, 120), 2, "best pieces, want 120: 2");
	is_u64(hmi_best_pieces(five, 5, 180), 4, "best pieces, want 180: 4");
	is_u64(hmi_best_pieces(five, 5, 182), 5, "best pieces, want 182: 5");
	is_u64(hmi_best_pieces(five, 5, 183), SIZE_MAX, "best pieces, want 183: impossible");
	is_u64(hmi_best_pieces(tens, 3, 25), 3, "best pieces 10/10/10, want 25: 3");
	is_u64(hmi_best_pieces(tens, 3, 20), 2, "best pieces 10/10/10, want 20: 2");
	is_u64(hmi_best_pieces(huge, 2, UINT64_MAX), 1, "best pieces: 2^64-1 long runs");
	is_u64(hmi_best_pieces(halves, 3, UINT64_MAX), 2, "best pieces: sums past 2^64");
	for (int t = 0; t < 2000; t++) {
		size_t n = (size_t)rnd_below(&seed, 40), i;
		uint64_t sum = 0, want;

		for (i = 0; i < n; i++) {
			lengths[i] = rnd_below(&seed, t % 2 ? 6 : 300); /* zeros and ties too */
			sum += lengths[i];
		}
		want = rnd_below(&seed, sum + 3);
		if (hmi_best_pieces(lengths, n, want) != ref_pieces(lengths, n, want)) {
			if (agree)
				diag("  trial %d: n %zu want %" PRIu64 ": got %zu, reference %zu",
				     t, n, want, hmi_best_pieces(lengths, n, want),
				     ref_pieces(lengths, n, want));
			agree = 0;
		}
	}
	ok(agree, "best pieces agrees with sort-and-take on 2000 random length lists");
}

/* The fewest of LENGTHS[0..n) (n <= 16) whose sum reaches WANT, by trying every subset. */
static size_t brute_pieces(const uint64_t *lengths, size_t n, uint64_t want)
{
	size_t best = want ? SIZE_MAX : 0;

	for (unsigned mask = 1; mask < (1u << n); mask++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += mask >> i & 1 ? lengths[i] : 0;
		if (sum >= want && (size_t)__builtin_popcount(mask) < best)
			best = (size_t)__builtin_popcount(mask);
	}
	return best;
}

struct random_stats {
	int rc_ok, optimal, brute, exact, prefix, touched, one_cut;
};

/* Per node: the runs' lengths, what was kept and how many runs were cut. */
static void check_random_pool(const struct pool *p, const struct spec *specs, size_t ns,
			      const uint64_t *want, size_t pieces, int tiny,
			      struct random_stats *st)
{
	static const int nodes[] = {0, 1, 3};
	size_t total_best = 0, total_touched = 0;

	for (size_t k = 0; k < HMI_ARRAY_SIZE(nodes); k++) {
		uint64_t *lengths = malloc((ns ? ns : 1) * sizeof(*lengths)), kept = 0;
		size_t m = 0, touched = 0, cut = 0;

		for (size_t s = 0; s < ns; s++) {
			int pre;
			size_t got;

			if (specs[s].node != nodes[k])
				continue;
			got = spec_kept(p, &specs[s], &pre);
			lengths[m++] = specs[s].len;
			kept += got;
			touched += got > 0;
			cut += got > 0 && got < specs[s].len;
			st->prefix &= pre;
		}
		total_best += hmi_best_pieces(lengths, m, want[nodes[k]]);
		total_touched += touched;
		st->exact &= kept == want[nodes[k]];
		st->one_cut &= cut <= 1;
		if (tiny)
			st->brute &= brute_pieces(lengths, m, want[nodes[k]]) ==
				     hmi_best_pieces(lengths, m, want[nodes[k]]);
		free(lengths);
	}
	st->optimal &= pieces == total_best;
	st->touched &= pieces == total_touched;
}

/* Runs on nodes 0, 1, 3 with gaps between them, random lengths (ties likely). */
static size_t random_specs(struct spec *specs, size_t max, uint64_t *seed, uint64_t max_len)
{
	size_t ns = (size_t)rnd_below(seed, max + 1);
	uint64_t at[4] = {0, 1 << 20, 2 << 20, 3 << 20};

	for (size_t s = 0; s < ns; s++) {
		int node = (int)rnd_below(seed, 3);

		node = node == 2 ? 3 : node;
		specs[s].node = node;
		specs[s].start = at[node] + 1 + rnd_below(seed, 3);
		specs[s].len = 1 + (size_t)rnd_below(seed, max_len);
		at[node] = specs[s].start + specs[s].len;
	}
	return ns;
}

static void test_random(struct hm_ctx *ctx, int trials, size_t max_specs, uint64_t max_len,
			int tiny)
{
	struct random_stats st = {1, 1, 1, 1, 1, 1, 1};
	uint64_t seed = 0x5eed0000ULL + max_specs;
	struct spec *specs = calloc(max_specs, sizeof(*specs));

	for (int t = 0; t < trials; t++) {
		uint64_t want[HM_MAX_NODES] = {0};
		size_t ns = random_specs(specs, max_specs, &seed, max_len), pieces = 0;
		struct pool p;
		int rc;

		pool_make(&p, specs, ns, MB2, seed | 1);
		for (size_t s = 0; s < ns; s++)
			want[specs[s].node] += specs[s].len;
		for (int node = 0; node < 4; node++)
			if (rnd_below(&seed, 8)) /* sometimes everything */
				want[node] = rnd_below(&seed, want[node] + 1);
		rc = hmi_select(ctx, p.pages, p.n, MB2, want, p.keep, &pieces);
		if (rc != 0 && st.rc_ok)
			diag("  trial %d: %s", t, hm_errmsg(ctx));
		st.rc_ok &= rc == 0;
		check_random_pool(&p, specs, ns, want, pieces, tiny, &st);
		pool_free(&p);
	}
	ok(st.rc_ok, "%d random pools (up to %zu runs): select succeeds", trials, max_specs);
	ok(st.optimal, "%d random pools: pieces == best pieces of each node's runs", trials);
	ok(st.exact, "%d random pools: exactly the pages asked are kept on each node", trials);
	ok(st.prefix, "%d random pools: kept pages of a run are its lowest", trials);
	ok(st.touched, "%d random pools: pieces == runs touched", trials);
	ok(st.one_cut, "%d random pools: at most one run cut per node", trials);
	if (tiny)
		ok(st.brute, "%d random pools: best pieces == brute-force optimum", trials);
	free(specs);
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("no memory for a context");
	test_best_fit_pool(ctx);
	test_ties(ctx);
	test_fresh_and_scattered(ctx);
	test_nodes(ctx);
	test_short_1g(ctx);
	test_bad_input(ctx);
	test_runs_find(ctx);
	test_best_pieces();
	test_random(ctx, 200, 12, 20, 1);
	test_random(ctx, 20, 1500, 300, 0);
	hm_ctx_free(ctx);
	return done();
}
