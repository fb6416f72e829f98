/* SPDX-License-Identifier: MIT */
/*
 * poolorder_test.c — hmi_release_order, the order in which to give hugepages
 * back so that the kernel's LIFO free list hands the longest run out first,
 * ascending. Pure: fixed cases (runs of several lengths, kept pages cutting
 * a run, ties, two nodes, empty input, everything kept, the top of the
 * address space), then a seeded random property test: read backwards (what
 * a LIFO list hands out), the sequence is the runs longest first, each
 * ascending, and every page given back appears exactly once.
 */
#include "layout/layout.h"
#include "pool/pool.h"
#include "tap.h"

#define P	   (2ULL << 20)
#define NO_INDEX   ((size_t)-1)
#define RAND_CASES 500
#define RAND_MAX_N 200

static void set_pages(struct hmi_page *pages, size_t n, const int *node, const uint64_t *slot)
{
	for (size_t i = 0; i < n; i++)
		pages[i] = (struct hmi_page){.iova = slot[i] * P, .node = node ? node[i] : 0};
}

static int same_order(const size_t *got, const size_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			diag("  position %zu: got index %zu, want %zu", i, got[i], want[i]);
			return 0;
		}
	return 1;
}

static void test_lengths(void)
{
	/* runs of 2 (slots 5-6), 3 (10-12) and 1 (20): neither by address nor by length */
	static const uint64_t slot[] = {5, 6, 10, 11, 12, 20};
	static const size_t want[] = {5, 1, 0, 4, 3, 2};
	struct hmi_page pages[6];
	size_t order[6];

	set_pages(pages, 6, NULL, slot);
	is_u64(hmi_release_order(pages, 6, P, NULL, order), 6, "lengths 2,3,1: all 6 pages");
	ok(same_order(order, want, 6), "lengths 2,3,1: the 1, then the 2 high->low, then the 3");
}

static void test_keep_splits(void)
{
	/* one run of 5 pages; keeping the middle one leaves two runs of 2 */
	static const uint64_t slot[] = {40, 41, 42, 43, 44};
	static const unsigned char keep[] = {0, 0, 1, 0, 0};
	static const size_t want[] = {4, 3, 1, 0};
	struct hmi_page pages[5];
	size_t order[5] = {NO_INDEX, NO_INDEX, NO_INDEX, NO_INDEX, NO_INDEX};

	set_pages(pages, 5, NULL, slot);
	is_u64(hmi_release_order(pages, 5, P, keep, order), 4, "kept middle page: 4 pages back");
	ok(same_order(order, want, 4), "kept middle page: two runs of 2, the higher one first");
	ok(order[4] == NO_INDEX, "kept middle page: nothing written past the count");

	/* keeping both ends leaves the middle three as one run */
	static const unsigned char ends[] = {1, 0, 0, 0, 1};
	static const size_t want_mid[] = {3, 2, 1};

	is_u64(hmi_release_order(pages, 5, P, ends, order), 3, "kept ends: 3 pages back");
	ok(same_order(order, want_mid, 3), "kept ends: the middle run, high->low");
}

static void test_ties(void)
{
	/* three runs of 2 and two single pages, in address order */
	static const uint64_t slot[] = {0, 1, 3, 10, 11, 13, 20, 21};
	static const size_t want[] = {5, 2, 7, 6, 4, 3, 1, 0};
	struct hmi_page pages[8];
	size_t order[8];

	set_pages(pages, 8, NULL, slot);
	is_u64(hmi_release_order(pages, 8, P, NULL, order), 8, "ties: all 8 pages");
	ok(same_order(order, want, 8), "ties: equal lengths go higher address first");
}

static void test_two_nodes(void)
{
	/* node 0: slots 0-2; node 1: slot 3 (physically next to node 0's run, but
	 * another node) and slots 100-101 */
	static const int node[] = {0, 0, 0, 1, 1, 1};
	static const uint64_t slot[] = {0, 1, 2, 3, 100, 101};
	static const size_t want[] = {3, 5, 4, 2, 1, 0};
	struct hmi_page pages[6];
	size_t order[6];

	set_pages(pages, 6, node, slot);
	is_u64(hmi_release_order(pages, 6, P, NULL, order), 6, "two nodes: all 6 pages");
	ok(same_order(order, want, 6), "two nodes: a node change ends a run; one global order");

	/* equal lengths on two nodes: the higher address first, whatever the node */
	static const int node_b[] = {0, 0, 1, 1};
	static const uint64_t slot_b[] = {50, 51, 8, 9};
	static const size_t want_b[] = {1, 0, 3, 2};

	set_pages(pages, 4, node_b, slot_b);
	is_u64(hmi_release_order(pages, 4, P, NULL, order), 4, "two nodes, tie: 4 pages");
	ok(same_order(order, want_b, 4), "two nodes, tie: node 0's higher run first");
}

static void test_edges(void)
{
	static const unsigned char all_kept[] = {1, 1, 1};
	static const uint64_t slot[] = {1, 2, 3};
	struct hmi_page pages[3];
	size_t order[3] = {NO_INDEX, NO_INDEX, NO_INDEX};

	is_u64(hmi_release_order(NULL, 0, P, NULL, order), 0, "empty: 0");
	ok(order[0] == NO_INDEX, "empty: nothing written");
	set_pages(pages, 3, NULL, slot);
	is_u64(hmi_release_order(pages, 3, P, all_kept, order), 0, "all kept: 0");
	ok(order[0] == NO_INDEX, "all kept: nothing written");

	/* the last two pages of the address space are one run; no wrap to 0 */
	pages[0] = (struct hmi_page){.iova = UINT64_MAX - 2 * P + 1};
	pages[1] = (struct hmi_page){.iova = UINT64_MAX - P + 1};
	is_u64(hmi_release_order(pages, 2, P, NULL, order), 2, "top of the address space: 2");
	ok(order[0] == 1 && order[1] == 0, "top of the address space: one run, high->low");

	/* page size 0: nothing is contiguous, every page is a run of its own */
	set_pages(pages, 3, NULL, slot);
	is_u64(hmi_release_order(pages, 3, 0, NULL, order), 3, "page size 0: 3 pages");
	ok(order[0] == 2 && order[1] == 1 && order[2] == 0,
	   "page size 0: single pages, higher address first");
}

/* ------------------------------------------------------------ random */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random sorted page set: distinct slots out of a small range on up to
 * three nodes, so runs of every length appear; about one page in four kept. */
static size_t random_case(struct hmi_page *pages, unsigned char *keep)
{
	size_t n = rng() % RAND_MAX_N, i;
	uint64_t range = n + rng() % (n + 8) + 1;
	unsigned char used[3][2 * RAND_MAX_N + 16] = {{0}};

	for (i = 0; i < n; i++) {
		int node = (int)(rng() % 3);
		uint64_t s = rng() % range;

		while (used[node][s])
			s = (s + 1) % range;
		used[node][s] = 1;
		pages[i] = (struct hmi_page){.iova = s * P, .node = node};
	}
	hmi_pages_sort(pages, n);
	for (i = 0; i < n; i++)
		keep[i] = rng() % 4 == 0;
	return n;
}

/* The runs among the pages given back, found the slow way: for each one,
 * walk down while the page below is given back and contiguous. */
static void brute_runs(const struct hmi_page *pages, const unsigned char *keep, size_t n,
		       size_t *n_runs, size_t *longest)
{
	*n_runs = 0;
	*longest = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = 0, j = i;

		if (keep[i] || (i + 1 < n && !keep[i + 1] && pages[i + 1].node == pages[i].node &&
				pages[i + 1].iova == pages[i].iova + P))
			continue; /* not the top of a run */
		while (1) {
			len++;
			if (j == 0 || keep[j - 1] || pages[j - 1].node != pages[j].node ||
			    pages[j - 1].iova + P != pages[j].iova)
				break;
			j--;
		}
		(*n_runs)++;
		if (len > *longest)
			*longest = len;
	}
}

/* Each page given back exactly once, no kept page, nothing out of range. */
static int is_permutation(const size_t *order, size_t count, const unsigned char *keep, size_t n)
{
	unsigned char seen[RAND_MAX_N] = {0};
	size_t released = 0;

	for (size_t i = 0; i < n; i++)
		released += !keep[i];
	if (count != released)
		return 0;
	for (size_t i = 0; i < count; i++) {
		if (order[i] >= n || keep[order[i]] || seen[order[i]])
			return 0;
		seen[order[i]] = 1;
	}
	return 1;
}

/* Read backwards, ORDER must be runs longest first, each ascending and
 * contiguous; equal lengths lower address first. Counts the runs and gives
 * the first one's length. */
static int lifo_sorted(const struct hmi_page *pages, const size_t *order, size_t count,
		       size_t *n_runs, size_t *first_len)
{
	size_t prev_len = SIZE_MAX, len = 0;
	uint64_t prev_start = 0, start = 0;

	*n_runs = 0;
	*first_len = 0;
	for (size_t k = count; k-- > 0;) {
		const struct hmi_page *p = &pages[order[k]];
		const struct hmi_page *next = k ? &pages[order[k - 1]] : NULL;

		if (len++ == 0)
			start = p->iova;
		if (next && next->node == p->node && next->iova == p->iova + P)
			continue;
		if (len > prev_len || (len == prev_len && start < prev_start))
			return 0;
		if ((*n_runs)++ == 0)
			*first_len = len;
		prev_len = len;
		prev_start = start;
		len = 0;
	}
	return 1;
}

static void test_random(void)
{
	static struct hmi_page pages[RAND_MAX_N];
	static unsigned char keep[RAND_MAX_N];
	static size_t order[RAND_MAX_N];
	int bad_perm = 0, bad_lifo = 0, bad_runs = 0, bad_longest = 0;

	for (int c = 0; c < RAND_CASES; c++) {
		size_t n = random_case(pages, keep), count, runs, first, want_runs, longest;

		count = hmi_release_order(pages, n, P, keep, order);
		brute_runs(pages, keep, n, &want_runs, &longest);
		bad_perm += !is_permutation(order, count, keep, n);
		bad_lifo += !lifo_sorted(pages, order, count, &runs, &first);
		bad_runs += runs != want_runs;
		bad_longest += first != longest;
	}
	is_int(bad_perm, 0, "random (%d cases): every page given back exactly once", RAND_CASES);
	is_int(bad_lifo, 0, "random: read backwards, runs longest first, each ascending");
	is_int(bad_runs, 0, "random: as many runs as the pages given back form");
	is_int(bad_longest, 0, "random: the LIFO list starts with the longest run");
}

int main(void)
{
	plan(25);
	test_lengths();
	test_keep_splits();
	test_ties();
	test_two_nodes();
	test_edges();
	test_random();
	return done();
}
