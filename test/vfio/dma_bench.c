/* SPDX-License-Identifier: MIT */
/*
 * dma_bench.c — issue 16's benchmark, in the VFIO guest: the time and the
 * number of ioctls to map a layout for a device and to unmap it again, the
 * way hugemem does it (one mapping per segment: hmi_dma_map_segments, the
 * library's own path) against DPDK's (one VFIO_IOMMU_MAP_DMA / IOAS_MAP per
 * page, eal_vfio.c), same guest, same memory, same run, interleaved.
 *
 *   dma_bench BDF HUGE_DIR MODE    (mode iommu; bench/dma.sh boots it)
 *
 * Layouts: 64 MiB (32 pages of 2 MiB) and, when the guest has the pages,
 * 1024 pages (2 GiB). Each is a hugemem primary without devices; for each
 * backend (iommufd, type1) a domain is opened on the edu, then REPS rounds
 * alternate: map + unmap per segment, map + unmap per page. Medians in ms;
 * under TCG absolute times mean little, the ratios do. One "ok" line per
 * figure (the numbers are in the description), so the run is also a test
 * that both ways map and unmap every byte.
 */
#include "hugemem.h"

#include "dma/dma.h"
#include "base/ctx.h"
#include "layout/layout.h"
#include "tap.h"
#include "vfio_guest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 7

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* One page a mapping, as DPDK does: map every page, then unmap each. */
static int per_page(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_segtab *t,
		    double *map_ms, double *unmap_ms, long *ioctls)
{
	const struct hmi_dma_ops *ops =
	    d->backend == HMI_DMA_IOMMUFD ? &hmi_dma_iommufd_ops : &hmi_dma_type1_ops;
	double t0 = now_ms();
	int rc = 0;

	*ioctls = 0;
	for (size_t s = 0; rc == 0 && s < t->n_segs; s++)
		for (uint64_t o = 0; rc == 0 && o < t->segs[s].len; o += t->segs[s].page_size) {
			struct hmi_dma_map m = {t->segs[s].va + o, t->segs[s].va + o,
						t->segs[s].page_size};

			rc = ops->map(ctx, d, &m);
			++*ioctls;
		}
	*map_ms = now_ms() - t0;
	t0 = now_ms();
	for (size_t s = 0; s < t->n_segs; s++)
		for (uint64_t o = 0; o < t->segs[s].len; o += t->segs[s].page_size) {
			struct hmi_dma_map m = {t->segs[s].va + o, t->segs[s].va + o,
						t->segs[s].page_size};
			uint64_t done = 0;

			if (ops->unmap(ctx, d, &m, &done) < 0 || done != m.len)
				rc = rc ? rc : -1;
			++*ioctls;
		}
	*unmap_ms = now_ms() - t0;
	return rc;
}

/* hugemem's way: the library's own map step, then its teardown's unmaps. */
static int per_segment(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req,
		       const struct hmi_segtab *t, double *map_ms, double *unmap_ms, long *ioctls)
{
	uint64_t *iovas = calloc(t->n_segs + 1, sizeof(*iovas));
	double t0;
	int rc;

	for (size_t i = 0; i < t->n_segs; i++)
		iovas[i] = t->segs[i].va;
	t0 = now_ms();
	rc = hmi_dma_map_segments(ctx, d, req, t->segs, t->n_segs, iovas);
	*map_ms = now_ms() - t0;
	*ioctls = (long)d->n_maps;
	t0 = now_ms();
	while (rc == 0 && d->n_maps > 0) {
		struct hmi_dma_map m = d->ledger[d->n_maps - 1];
		uint64_t done = 0;
		const struct hmi_dma_ops *ops =
		    d->backend == HMI_DMA_IOMMUFD ? &hmi_dma_iommufd_ops : &hmi_dma_type1_ops;

		if (ops->unmap(ctx, d, &m, &done) < 0 || done != m.len)
			rc = -1;
		hmi_ledger_remove(d, m.iova);
		++*ioctls;
	}
	*unmap_ms = now_ms() - t0;
	free(iovas);
	return rc;
}

static void bench(struct hm_ctx *ctx, const char *bdf, enum hmi_dma_backend b, const char *be,
		  const char *layout)
{
	const char *bdfs[] = {bdf};
	struct hmi_dma_request req = {.backend = b, .bdfs = bdfs, .n_bdfs = 1, .fixed = "VA"};
	double seg_map[REPS], seg_unmap[REPS], page_map[REPS], page_unmap[REPS];
	long seg_ioctls = 0, page_ioctls = 0;
	struct hmi_dma *d = NULL;
	int bad = 0;

	if (!ok(hmi_dma_open(ctx, &req, &d) == 0, "%s: %s: domain open (%s)", be, layout,
		hm_errmsg(ctx)))
		return;
	for (int r = 0; r < REPS; r++) {
		bad |= per_segment(ctx, d, &req, ctx->tab, &seg_map[r], &seg_unmap[r], &seg_ioctls);
		bad |= per_page(ctx, d, ctx->tab, &page_map[r], &page_unmap[r], &page_ioctls);
	}
	ok(!bad, "%s: %s: both ways map and unmap every byte", be, layout);
	ok(1,
	   "%s: %s: BENCH map+unmap ms per segment %.2f+%.2f (%ld ioctls) vs per page %.2f+%.2f "
	   "(%ld ioctls): map %.1fx, unmap %.1fx, ioctls %.0fx",
	   be, layout, median(seg_map, REPS), median(seg_unmap, REPS), seg_ioctls,
	   median(page_map, REPS), median(page_unmap, REPS), page_ioctls,
	   median(page_map, REPS) / median(seg_map, REPS),
	   median(page_unmap, REPS) / median(seg_unmap, REPS),
	   (double)page_ioctls / (double)(seg_ioctls ? seg_ioctls : 1));
	hmi_dma_teardown(ctx, d, 0);
}

static void layout_run(const struct vg_args *a, uint64_t mem, const char *name)
{
	struct hm_ctx *ctx = NULL;
	char msg[512], layout[96];

	if (vg_primary(&ctx, a->huge_dir, "dma_bench", mem, msg, sizeof(msg)) < 0) {
		ok(1, "# SKIP %s: %s", name, msg);
		return;
	}
	snprintf(layout, sizeof(layout), "%s (%llu pages in %d segments)", name,
		 (unsigned long long)(hm_layout(ctx)->total_bytes / hm_layout(ctx)->page_size),
		 hm_layout(ctx)->n_segments);
	bench(ctx, a->bdf, HMI_DMA_IOMMUFD, "iommufd", layout);
	bench(ctx, a->bdf, HMI_DMA_TYPE1, "type1", layout);
	vg_primary_end(ctx);
}

int main(int argc, char **argv)
{
	struct vg_args a;

	if (vg_args_parse(argc, argv, &a) < 0)
		return 2;
	layout_run(&a, 64ULL << 20, "64 MiB");
	layout_run(&a, 2048ULL << 20, "1024 pages");
	return done();
}
