/* SPDX-License-Identifier: MIT */
/*
 * heap/follow.c — a secondary's view of a heap that grows in another process.
 *
 * The primary adds a unit as a region under the heap lock and, before it
 * lets the lock go, publishes it (grow/share.c: LIVE, the region's index,
 * the generation). A secondary, each time it takes the lock (heap/lock.c),
 * compares the generation with the one its view matches; when it moved, it
 * maps the new pages (grow/) and tracks each live unit as the region of the
 * same index the primary gave it (the high-water marks are shared by index),
 * so no free-list block it may read next lies outside a region it knows.
 * Nothing shared is written here.
 */
#include "heap/heap.h"

#include "grow/grow.h"

#include <errno.h>
#include <stdlib.h>

/* Regions I of the view (grown ones) against the live units: set or drop. */
static int match_regions(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_unit_info *u,
			 const uint32_t *idx, size_t n)
{
	unsigned char *seen = calloc(v->cap_regions + 1, 1);
	uint64_t first = 0, end = 0;

	if (!seen)
		return hmi_err(ctx, ENOMEM, "out of memory following growth");
	for (size_t k = 0; k < n; k++) {
		if (idx[k] < v->n_sorted || idx[k] >= v->cap_regions ||
		    hmi_slot(v, u[k].node) < 0 ||
		    hmi_region_of(u[k].va, u[k].va + u[k].len, &first, &end) < 0) {
			free(seen);
			return hmi_err(ctx, EPROTO,
				       "the primary's table of grown memory names region %u on "
				       "node %d, which this heap cannot have: restart the primary",
				       idx[k], u[k].node);
		}
		hmi_view_set_region(v, idx[k], first, end, u[k].node);
		seen[idx[k]] = 1;
	}
	for (size_t i = v->n_sorted; i < v->n_regions; i++)
		if (!seen[i])
			hmi_view_set_region(v, i, 0, 0, -1);
	free(seen);
	return 0;
}

int hmi_heap_follow(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	uint64_t gen = hmi_grow_generation(ctx);
	size_t max = v->cap_regions - v->n_sorted + 1, n;
	struct hmi_unit_info *u;
	uint32_t *idx, shared_n = HMI_READ(v->h->n_regions);
	int rc;

	if (gen == v->grow_gen)
		return 0;
	rc = hmi_grow_sync(ctx); /* the pages first: a region is read once it is tracked */
	u = rc >= 0 ? malloc(max * sizeof(*u)) : NULL;
	idx = u ? malloc(max * sizeof(*idx)) : NULL;
	if (rc >= 0 && !idx)
		rc = hmi_err(ctx, ENOMEM, "out of memory following growth");
	if (rc >= 0 && (shared_n < v->n_sorted || shared_n > v->cap_regions))
		rc = hmi_err(ctx, EPROTO, "the heap says %u regions, this view holds %zu at most",
			     shared_n, v->cap_regions);
	if (rc >= 0) {
		v->n_regions = shared_n;
		n = hmi_grow_live_units(ctx, u, idx, max);
		rc = match_regions(ctx, v, u, idx, n);
	}
	if (rc >= 0)
		v->grow_gen = gen;
	free(u);
	free(idx);
	return rc < 0 ? rc : 0;
}
