/* SPDX-License-Identifier: MIT */
/*
 * heap/arena.c — where the heap's and the zones' shared state lives.
 *
 * The primary, once its segments are final and before it publishes the
 * layout, writes an arena at the start of segment 0: a header (magic,
 * version, its own size and address, the segment count it was built for),
 * the zone table, then the heap (lock, the table of external heaps, node
 * heaps and external heaps, high-water marks). The
 * rest of segment 0 and every other segment become the heap's regions.
 * Secondaries map segment 0 at the same address, so they find the arena
 * there without any change to the published layout file; they check the
 * header and build the same region table from their copy of the segments.
 *
 * With --no-huge or --no-shconf nothing is published, and the arena simply
 * serves the one process.
 */
#include "heap/heap.h"

#include "grow/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAGIC   0x414e455241204d48ULL /* "HM ARENA" */
#define ARENA_VERSION 4 /* 2: grown regions; 3: external heaps; 4: follower slots, keeps */

struct hmi_arena_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size; /* sizeof(struct hmi_arena_hdr) */
	uint64_t size;	   /* the whole arena: header, zones, heap */
	uint64_t self;	   /* its address (segment 0's) */
	uint64_t n_segs;
	uint64_t zones_off, heap_off;
	uint64_t grow_regions;	      /* regions growth may add (0: the memory does not grow) */
	uint64_t grow_nodes;	      /* node ids that may grow, a bit per id */
	uint64_t grow_off, grow_size; /* the growth area's shared table (grow/share.c) */
};

static uint64_t round64(uint64_t x)
{
	return (x + 63) & ~63ULL;
}

static size_t count_nodes(const struct hmi_segtab *m, uint64_t grow_nodes)
{
	int seen[HM_MAX_NODES] = {0};
	size_t n = 0;

	for (int node = 0; node < HM_MAX_NODES && node < 64; node++)
		if ((grow_nodes >> node) & 1)
			seen[node] = 1, n++;
	for (size_t i = 0; i < m->n_segs; i++)
		if (m->segs[i].node >= 0 && m->segs[i].node < HM_MAX_NODES &&
		    !seen[m->segs[i].node]++)
			n++;
	return n;
}

/* Header, zone table and heap, each 64-byte aligned; the heap with room for
 * what growth may add (grow/). */
static void plan_arena(const struct hm_ctx *ctx, const struct hmi_segtab *m,
		       struct hmi_arena_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = ARENA_MAGIC;
	hdr->version = ARENA_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->self = m->segs[0].va;
	hdr->n_segs = m->n_segs;
	hdr->zones_off = round64(sizeof(*hdr));
	hdr->heap_off = hdr->zones_off + round64(sizeof(struct hmi_zone_table));
	hdr->grow_regions = hmi_grow_max_units(ctx);
	hdr->grow_nodes = hdr->grow_regions ? hmi_grow_nodes(ctx) : 0;
	hdr->grow_off = round64(hdr->heap_off + hmi_heap_size(count_nodes(m, hdr->grow_nodes),
							      m->n_segs + hdr->grow_regions));
	hdr->grow_size = hmi_grow_shared_size(ctx);
	hdr->size = round64(hdr->grow_off + hdr->grow_size);
}

/* The room HDR planned, for the heap and the view. */
static struct hmi_heap_room room_of(const struct hmi_segtab *m, const struct hmi_arena_hdr *hdr)
{
	return (struct hmi_heap_room){
	    .max_regions = hdr->grow_regions,
	    .nodes = hdr->grow_nodes,
	    .end = hdr->grow_regions ? m->grow.base + ((uint64_t)m->grow.n_pages << m->grow.shift)
				     : 0};
}

/* HDR: this process's checked copy of the header (never the shared one). */
static int view_open(struct hm_ctx *ctx, const struct hmi_segtab *m, struct hmi_arena *a,
		     const struct hmi_arena_hdr *hdr, struct hmi_region *r, size_t n)
{
	struct hmi_heap *h = (struct hmi_heap *)(uintptr_t)(hdr->self + hdr->heap_off);
	struct hmi_heap_room room = room_of(m, hdr);
	int rc = hmi_view_init(ctx, &a->view, h, r, n, m->segs[0].page_size, &room);

	if (rc < 0) {
		free(r);
		return rc;
	}
	a->zones = (struct hmi_zone_table *)(uintptr_t)(hdr->self + hdr->zones_off);
	if (hmi_grow_following(ctx)) /* the first follow happens at the first lock */
		a->view.follow = ctx;
	hmi_heap_ext_open(&a->view,
			  &ctx->tab->ext); /* external heaps: the ranges registered here */
	ctx->heap->arena = a;
	return 0;
}

int hmi_arena_create(struct hm_ctx *ctx)
{
	const struct hmi_segtab *m = ctx->tab;
	struct hmi_arena_hdr plan;
	struct hmi_region *r = NULL;
	struct hmi_arena *a;
	size_t n = 0;
	int rc;

	if (m->n_segs == 0)
		return hmi_err(ctx, EINVAL, "no segment to put the heap in");
	plan_arena(ctx, m, &plan);
	if (plan.size + 4 * HMI_BLK_ALIGN > m->segs[0].len)
		return hmi_err(ctx, ENOMEM,
			       "the first segment (%llu bytes) cannot hold the heap's arena (%llu "
			       "bytes for %zu segments): give more memory (-m)",
			       (unsigned long long)m->segs[0].len, (unsigned long long)plan.size,
			       m->n_segs);
	a = calloc(1, sizeof(*a));
	rc = a ? hmi_regions_from_segs(ctx, m->segs, m->n_segs, plan.size, &r, &n)
	       : hmi_err(ctx, ENOMEM, "out of memory creating the heap");
	if (rc == 0) {
		struct hmi_heap_room room = room_of(m, &plan);

		a->hdr = (struct hmi_arena_hdr *)(uintptr_t)m->segs[0].va;
		memset(a->hdr, 0, plan.size);
		rc = hmi_heap_format(ctx, (struct hmi_heap *)(uintptr_t)(plan.self + plan.heap_off),
				     r, n, 1, &room);
		if (rc == 0 && plan.grow_size)
			hmi_grow_share(ctx, (void *)(uintptr_t)(plan.self + plan.grow_off));
	}
	if (rc == 0) {
		*a->hdr = plan; /* last: a valid magic means a whole arena */
		rc = view_open(ctx, m, a, &plan, r, n);
		r = NULL;
	}
	free(r);
	if (rc < 0)
		free(a);
	return rc;
}

static int check_header(struct hm_ctx *ctx, const struct hmi_segtab *m,
			const struct hmi_arena_hdr *hdr)
{
	if (hdr->magic != ARENA_MAGIC)
		return hmi_err(ctx, EPROTO,
			       "no heap arena at 0x%llx (the start of the primary's first "
			       "segment): the primary is not a hugemem primary of this version",
			       (unsigned long long)m->segs[0].va);
	if (hdr->version != ARENA_VERSION || hdr->hdr_size != sizeof(*hdr))
		return hmi_err(
		    ctx, EPROTO,
		    "the primary's heap arena is version %u (header %u bytes); this "
		    "library reads version %d: use the same hugemem version on both sides",
		    hdr->version, hdr->hdr_size, ARENA_VERSION);
	if (hdr->self != m->segs[0].va || hdr->n_segs != m->n_segs || hdr->size > m->segs[0].len ||
	    hdr->size + 4 * HMI_BLK_ALIGN > m->segs[0].len ||
	    hdr->zones_off < round64(sizeof(*hdr)) || hdr->zones_off % 64 || hdr->heap_off % 64 ||
	    hdr->heap_off < hdr->zones_off + sizeof(struct hmi_zone_table) ||
	    hdr->heap_off > hdr->size ||
	    hdr->size - hdr->heap_off < hmi_heap_size(count_nodes(m, 0), m->n_segs))
		return hmi_err(ctx, EBADMSG,
			       "the primary's heap arena does not match its layout (at 0x%llx, "
			       "%llu bytes, %llu segments; layout: 0x%llx, %zu segments)",
			       (unsigned long long)hdr->self, (unsigned long long)hdr->size,
			       (unsigned long long)hdr->n_segs, (unsigned long long)m->segs[0].va,
			       m->n_segs);
	if (hdr->grow_regions &&
	    (hdr->grow_off < hdr->heap_off || hdr->grow_off % 64 || hdr->grow_off > hdr->size ||
	     hdr->size - hdr->grow_off < hdr->grow_size))
		return hmi_err(ctx, EBADMSG,
			       "the primary's heap arena places its table of grown memory outside "
			       "itself: restart the primary");
	return 0;
}

/* A growing primary's: follow it (grow/share.c), before the view is made
 * with room for its regions; a primary that does not grow: let go of what
 * was kept to follow one. */
static int follow_growth(struct hm_ctx *ctx, const struct hmi_arena_hdr *hdr)
{
	const struct hm_layout_info *in = &ctx->tab->info;

	int rc;

	if (!hdr->grow_regions) {
		hmi_grow_release(ctx);
		return 0;
	}
	rc = hmi_grow_follow(ctx, (const void *)(uintptr_t)(hdr->self + hdr->grow_off),
			     hdr->grow_size, in->va_base, in->va_len);
	if (rc == 0 && hdr->grow_regions > ctx->tab->grow.n_pages)
		rc = hmi_err(ctx, EBADMSG,
			     "the primary's heap arena has room for %llu grown regions, more than "
			     "its growth area's %zu pages: restart the primary",
			     (unsigned long long)hdr->grow_regions, ctx->tab->grow.n_pages);
	return rc;
}

int hmi_arena_open(struct hm_ctx *ctx)
{
	const struct hmi_segtab *m = ctx->tab;
	struct hmi_arena_hdr copy, *hdr = &copy; /* read once: the shared one may change */
	struct hmi_region *r = NULL;
	struct hmi_arena *a;
	size_t n = 0;
	int rc;

	if (m->n_segs == 0)
		return hmi_err(ctx, EPROTO, "the primary published no segment");
	memcpy(&copy, (const void *)(uintptr_t)m->segs[0].va, sizeof(copy));
	rc = check_header(ctx, m, hdr);
	if (rc == 0)
		rc = follow_growth(ctx, hdr);
	if (rc < 0)
		return rc;
	rc = hmi_regions_from_segs(ctx, m->segs, m->n_segs, hdr->size, &r, &n);
	a = rc == 0 ? calloc(1, sizeof(*a)) : NULL;
	if (rc == 0 && !a)
		rc = hmi_err(ctx, ENOMEM, "out of memory opening the heap");
	if (rc == 0) {
		a->hdr = (struct hmi_arena_hdr *)(uintptr_t)m->segs[0].va;
		rc = hmi_heap_adopt(ctx, (struct hmi_heap *)(uintptr_t)(hdr->self + hdr->heap_off),
				    r, n, hdr->grow_regions);
	}
	if (rc == 0) {
		rc = view_open(ctx, m, a, hdr, r, n); /* frees R when it fails */
		r = NULL;
	}
	free(r);
	if (rc < 0)
		free(a);
	return rc;
}

void hmi_arena_close(struct hm_ctx *ctx)
{
	struct hmi_heapslot *hs = ctx->heap;

	if (!hs || !hs->arena)
		return;
	hmi_heap_ext_release(&hs->arena->view);
	hmi_view_release(&hs->arena->view);
	free(hs->arena);
	hs->arena = NULL;
}

struct hmi_heap_view *hmi_arena_view(struct hm_ctx *ctx)
{
	if (ctx->heap && ctx->heap->arena)
		return &ctx->heap->arena->view;
	if (ctx->heap && ctx->heap->err[0])
		hmi_err(ctx, ENOENT, "no heap in this secondary: %s", ctx->heap->err);
	else
		hmi_err(ctx, ENOENT, "no heap: call hm_init or hm_attach first");
	return NULL;
}

struct hmi_zone_table *hmi_arena_zones(struct hm_ctx *ctx)
{
	if (ctx->heap && ctx->heap->arena)
		return ctx->heap->arena->zones;
	if (ctx->heap && ctx->heap->err[0])
		hmi_err(ctx, ENOENT, "no zones in this secondary: %s", ctx->heap->err);
	else
		hmi_err(ctx, ENOENT, "no zones: call hm_init or hm_attach first");
	return NULL;
}
