/* SPDX-License-Identifier: MIT */
/*
 * select_bench.c — how long the layout layer's pure algorithms take on a big
 * synthetic pool: PAGES pages (default 1,000,000) in RUNS physically
 * contiguous runs (default 10,000) of random lengths, with random gaps, handed
 * out in shuffled order as a used kernel free list would. Times (median of 5,
 * milliseconds): hmi_pages_sort on the shuffled pages, then hmi_select for a
 * few requests on the sorted pages, then hmi_assign_va + hmi_segments_build +
 * hmi_xlate_init on the kept pages.
 *
 * build (from the repository top):
 *   cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc src/base/ctx.c src/layout_*.c \
 *      bench/select_bench.c -o /tmp/select_bench
 * usage: select_bench [PAGES [RUNS]]
 */
#include "layout/layout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PS     (2ULL << 20)
#define REPEAT 5

static uint64_t rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, REPEAT, sizeof(*v), cmp_double);
	return v[REPEAT / 2];
}

/* RUNS runs of random lengths summing to N pages: RUNS-1 distinct cut points
 * (a run ends before each), then a random gap after each run. */
static void make_pool(struct hmi_page *pages, size_t n, size_t runs, uint64_t *seed)
{
	unsigned char *cut = calloc(n, 1);
	uint64_t frame = 1000;
	size_t i, cuts = 0;

	while (cuts < runs - 1) {
		i = 1 + (size_t)(rnd(seed) % (n - 1));
		cuts += !cut[i];
		cut[i] = 1;
	}
	for (i = 0; i < n; i++) {
		if (cut[i])
			frame += 1 + rnd(seed) % 8;
		pages[i] = (struct hmi_page){.iova = frame++ * PS, .node = 0};
	}
	for (i = n; i > 1; i--) {
		size_t j = (size_t)(rnd(seed) % i);
		struct hmi_page t = pages[i - 1];

		pages[i - 1] = pages[j];
		pages[j] = t;
	}
	free(cut);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	size_t runs = argc > 2 ? strtoul(argv[2], NULL, 0) : 10000, pieces = 0, i, k;
	static const double fractions[] = {0.001, 0.1, 0.5, 0.999};
	struct hmi_page *shuffled, *pages, *kept;
	uint64_t seed = 0x5e1ec7ULL, want[HM_MAX_NODES] = {0}, window;
	unsigned char *keep;
	struct hm_ctx *ctx;
	double t[REPEAT];

	if (n < 2 || runs < 1 || runs > n || hm_ctx_new(&ctx) < 0) {
		fprintf(stderr, "usage: select_bench [PAGES >= 2 [RUNS <= PAGES]]\n");
		return 2;
	}
	shuffled = malloc(n * sizeof(*shuffled));
	pages = malloc(n * sizeof(*pages));
	kept = malloc(n * sizeof(*kept));
	keep = malloc(n);
	make_pool(shuffled, n, runs, &seed);
	for (i = 0; i < REPEAT; i++) {
		memcpy(pages, shuffled, n * sizeof(*pages));
		t[i] = now_ms();
		hmi_pages_sort(pages, n);
		t[i] = now_ms() - t[i];
	}
	printf("pages=%zu runs=%zu\nhmi_pages_sort (shuffled): %.2f ms\n", n, runs, median(t));
	for (size_t f = 0; f < sizeof(fractions) / sizeof(fractions[0]); f++) {
		want[0] = (uint64_t)((double)n * fractions[f]);
		for (i = 0; i < REPEAT; i++) {
			t[i] = now_ms();
			if (hmi_select(ctx, pages, n, PS, want, keep, &pieces) < 0) {
				fprintf(stderr, "select: %s\n", hm_errmsg(ctx));
				return 1;
			}
			t[i] = now_ms() - t[i];
		}
		printf("hmi_select want=%" PRIu64 ": %.2f ms, %zu pieces\n", want[0], median(t),
		       pieces);
	}
	for (i = 0, k = 0; i < n; i++)
		if (keep[i])
			kept[k++] = pages[i];
	for (i = 0; i < REPEAT; i++) {
		struct hmi_seg *segs = NULL;
		struct hmi_xlate x;
		size_t n_segs;

		t[i] = now_ms();
		if (hmi_assign_va(ctx, kept, k, PS, HM_DEFAULT_BASE_VA, &window) < 0 ||
		    hmi_segments_build(ctx, kept, k, PS, &segs, &n_segs) < 0 ||
		    hmi_xlate_init(ctx, &x, segs, n_segs) < 0) {
			fprintf(stderr, "segments: %s\n", hm_errmsg(ctx));
			return 1;
		}
		t[i] = now_ms() - t[i];
		hmi_xlate_release(&x);
		free(segs);
	}
	printf("assign_va + segments_build + xlate_init (%zu pages): %.2f ms\n", k, median(t));
	free(shuffled);
	free(pages);
	free(kept);
	free(keep);
	hm_ctx_free(ctx);
	return 0;
}
