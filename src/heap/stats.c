/* SPDX-License-Identifier: MIT */
/*
 * heap/stats.c — the heap as the application asks about it: hm_heap_check (the
 * invariants of check.c, under the lock, marking the heap broken when they
 * fail) and hm_heap_stats (per node: free and used bytes, blocks, the
 * largest free block, the zones, and what this process's thread caches
 * hold apart from the shared heap). Node -1 sums the NUMA nodes' heaps; an
 * external heap is asked for by its socket id (its largest free block only
 * where this process maps it: the lists lie in its memory).
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int hm_heap_check(struct hm_ctx *ctx)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	char msg[512];
	int rc;

	if (hmi_heap_inherited(ctx->heap)) /* a forked child: the heap is not mapped here */
		return hmi_err_inherited(ctx, "hm_heap_check");
	if (!v)
		return -ENOENT;
	rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	rc = hmi_heap_check_locked(v, NULL, msg, sizeof(msg));
	if (rc < 0) /* from now on every call of this process fails, and every process's */
		hmi_heap_damage(v, "hm_heap_check found: %s", msg);
	hmi_heap_unlock(v);
	if (rc < 0)
		return hmi_err(ctx, EUCLEAN, "heap check: %s: the heap is marked broken", msg);
	return 0;
}

static void add_node(struct hm_heap_stats *st, struct hmi_heap_view *v, int slot)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	/* an external heap's lists lie in its memory: read only where it is mapped */
	uint64_t largest = hmi_slot_mapped(v, slot) ? hmi_heap_largest(v, slot) : 0;

	st->total += HMI_READ(hn->total);
	st->free += HMI_READ(hn->free_bytes);
	st->used += HMI_READ(hn->used_bytes);
	st->free_blocks += HMI_READ(hn->free_blocks);
	st->used_blocks += HMI_READ(hn->used_blocks);
	st->heap_allocs += HMI_READ(hn->allocs);
	st->heap_frees += HMI_READ(hn->frees);
	if (largest > HMI_BLK_HDR && largest - HMI_BLK_HDR > st->largest_free)
		st->largest_free = largest - HMI_BLK_HDR;
}

static void add_zones(struct hm_ctx *ctx, struct hm_heap_stats *st, int node)
{
	const struct hmi_zone_table *t = hmi_arena_zones(ctx);

	for (size_t i = 0; t && i < HMI_ZONES_MAX; i++)
		if (t->z[i].name[0] && (node < 0 || t->z[i].socket == node)) {
			st->zones++;
			st->zone_bytes += t->z[i].len;
		}
}

static void add_private(struct hmi_heap_view *v, struct hm_heap_stats *st, int slot)
{
	uint64_t cached, allocs, frees;

	if (hmi_slot_is_ext(v, slot)) { /* never cached: the context's own counters */
		const struct hmi_counters *c = &v->ext_count[slot - (int)v->n_nodes];

		st->allocs += atomic_load_explicit(&c->allocs, memory_order_relaxed);
		st->frees += atomic_load_explicit(&c->frees, memory_order_relaxed);
		return;
	}
	hmi_view_counters(v, slot, &cached, &allocs, &frees);
	st->cached += cached;
	st->allocs += allocs;
	st->frees += frees;
}

static int stats_slots(struct hm_ctx *ctx, struct hmi_heap_view *v, int node, int *lo, int *hi)
{
	char nodes[128] = "";
	size_t used = 0;

	if (node == -1) {
		*lo = 0;
		*hi = (int)v->n_nodes;
		return 0;
	}
	*lo = hmi_slot(v, node);
	*hi = *lo + 1;
	if (*lo >= 0)
		return 0;
	for (int n = 0; n < HM_MAX_NODES && used < sizeof(nodes); n++)
		if (v->slot[n] >= 0)
			used += (size_t)snprintf(nodes + used, sizeof(nodes) - used, "%s%d",
						 used ? ", " : "", n);
	return hmi_err(ctx, ENOENT,
		       "hm_heap_stats: no heap on node %d (the prefix has memory on "
		       "node %s)",
		       node, nodes);
}

int hm_heap_stats(struct hm_ctx *ctx, int node, struct hm_heap_stats *st)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	int lo, hi, rc;

	if (hmi_heap_inherited(ctx->heap))
		return hmi_err_inherited(ctx, "hm_heap_stats");
	if (!v)
		return -ENOENT;
	rc = stats_slots(ctx, v, node, &lo, &hi);
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	if (hmi_slot_is_ext(v, lo) && !(v->ext_known >> (lo - (int)v->n_nodes) & 1)) {
		hmi_heap_unlock(v);
		return hmi_err(
		    ctx, ENOENT,
		    "hm_heap_stats: no external heap %d in this prefix (hm_extmem_heap_add "
		    "makes one)",
		    node);
	}
	memset(st, 0, sizeof(*st));
	st->node = node;
	for (int s = lo; s < hi; s++)
		add_node(st, v, s);
	add_zones(ctx, st, node);
	st->bad_frees = atomic_load(&v->h->bad_frees);
	st->recoveries = v->h->recoveries;
	st->repairs = v->h->repairs;
	rc = hmi_heap_unlock_check(ctx, v);
	if (rc < 0)
		return rc;
	for (int s = lo; s < hi; s++)
		add_private(v, st, s);
	return 0;
}
