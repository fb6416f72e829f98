/* SPDX-License-Identifier: MIT */
/*
 * heap/growth.c — a heap that cannot serve a request asks for a growth unit
 * (grow/) and adds it as a region. The unit is mapped, translated and
 * announced to the memory-event callbacks before the heap lock is taken, so
 * no callback runs under it; only adding the region happens under the lock.
 * The caller then tries its request again (another thread may take the new
 * memory first: then the request fails as any request that finds no room).
 */
#include "heap/heap.h"

#include "grow/grow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Add unit U as a region (without the lock held on entry). */
static int add_unit(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_unit_info *u)
{
	uint64_t first, end;
	int rc = 0;

	if (hmi_region_of(u->va, u->va + u->len, &first, &end) < 0)
		rc = hmi_err(ctx, EINVAL, "a growth unit of %llu bytes holds no block",
			     (unsigned long long)u->len);
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	if (rc == 0) {
		rc = hmi_heap_add_region(ctx, v, first, end, u->node);
		if (rc >= 0) /* secondaries learn of it before they next read a free list */
			hmi_grow_publish(ctx, u->va, (uint32_t)rc, 1);
		rc = rc < 0 ? rc : 0;
		if (hmi_heap_unlock_check(ctx, v) < 0 && rc == 0)
			rc = -ENOTRECOVERABLE;
	}
	return rc;
}

/* Keep the cause's message while giving unit U back. */
static void give_back(struct hm_ctx *ctx, const struct hmi_unit_info *u)
{
	char why[HMI_ERR_MAX];

	memcpy(why, hm_errmsg(ctx), sizeof(why));
	hmi_grow_give_back(ctx, u->va, NULL); /* never live: no secondary maps it */
	snprintf(ctx->err, sizeof(ctx->err), "%s", why);
}

int hmi_heap_grow(struct hm_ctx *ctx, struct hmi_heap_view *v, const char *fn, int node,
		  uint64_t bytes, uint64_t align)
{
	/* the region loses up to a block's alignment at its start and its
	 * sentinel at its end; the block may need ALIGN more to start aligned */
	uint64_t need = bytes + (align > HMI_BLK_ALIGN ? align : 0) + 4 * HMI_BLK_ALIGN;
	struct hmi_unit_info u = {0};
	char why[HMI_ERR_MAX];
	int rc = hmi_grow_unit(ctx, node, need, &u);

	if (rc == 0) {
		rc = add_unit(ctx, v, &u);
		if (rc < 0 && rc != -ENOTRECOVERABLE) /* not in the heap: nothing uses it */
			give_back(ctx, &u);
	}
	if (rc == 0 || rc == -ENOTRECOVERABLE)
		return rc;
	memcpy(why, hm_errmsg(ctx), sizeof(why));
	return hmi_err(ctx, -rc, "%s: no room for %llu bytes on node %d, and growing failed: %s",
		       fn, (unsigned long long)bytes, node, why);
}
