/* SPDX-License-Identifier: MIT */
/*
 * grow/trim.c — growth units leave: keeps, retiring, giving pages back.
 *
 * A unit leaves in four steps. The heap takes its region out under the
 * heap lock (mem/growth.c) and the unit's pages turn BUSY in the shared
 * table: no process hands its memory out any more, secondaries leave their
 * mappings alone. The FREE callbacks run with no lock held (the DMA layer
 * unmaps it from the devices, with the translation still there to ask).
 * Then, when no secondary maps the prefix, its pages go back at once.
 * Otherwise it RETIRES: this process drops its translation, the pages turn
 * RETIRING and the generation moves; each secondary, the next time it looks
 * (a heap call, a translation miss: grow/share.c), unmaps them and writes
 * the generation it has seen in its follower slot. Once every live
 * secondary has seen the unit's retiring generation, a later trim gives the
 * pages back: punching a memfd or single-file page from under a mapping
 * would let that mapping's next touch fill the hole with a new page,
 * counted nowhere. A secondary in another pid namespace, or one that never
 * looks again, keeps the unit retiring: safe, and said in docs/growth.md.
 *
 * A unit a secondary grew (memfds, single files) is the primary's to trim
 * too, with no callback (none ran in the primary when it grew): the primary
 * unmaps it at once and retires it; the grower, at its next look, unmaps it
 * and forgets it (its records would otherwise name pages that are gone);
 * once all have, the primary punches its pages out of the files it shares
 * with the grower, at the offsets the table names.
 *
 * A unit a keep (hm_mem_keep) or a dma-buf export holds is never taken out:
 * the marks live in the shared table so that a secondary's keep holds
 * against the primary's trim, and both are read and written with the heap
 * lock held, the lock the trim takes the region out under.
 */
#include "grow/grow.h"
#include "grow/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Move the unit at VA from state FROM to TO: its length, 0 when it is not
 * in FROM. */
static uint64_t unit_state(struct hmi_grow *g, uint64_t va, int from, int to)
{
	struct unit *u;
	uint64_t len = 0;

	pthread_mutex_lock(&g->lock);
	u = hmi_grow_unit_at(g, va);
	if (u && u->state == from) {
		u->state = to;
		len = u->len;
	}
	pthread_mutex_unlock(&g->lock);
	return len;
}

/* Under both locks: [VA, VA+LEN) leaves this process's translation (here
 * it has left already) and turns RETIRING for the others: the generation
 * each secondary must have seen before its pages go. */
static uint64_t mark_retiring(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t va, uint64_t len)
{
	hmi_growmap_set(&ctx->tab->grow, va, NULL, (size_t)(len >> ctx->tab->grow.shift));
	hmi_grow_mark(ctx, g, va, len, GPAGE_RETIRING);
	return atomic_fetch_add_explicit(&g->shared->gen, 1, memory_order_acq_rel) + 1;
}

/* Under both locks: unit U leaves the heap but secondaries may map it. */
static void retire(struct hm_ctx *ctx, struct hmi_grow *g, struct unit *u)
{
	u->retire_gen = mark_retiring(ctx, g, u->va, u->len);
	u->state = UNIT_RETIRING;
}

int hmi_grow_give_back(struct hm_ctx *ctx, uint64_t va, const struct hmi_followers *f)
{
	struct hmi_grow *g = ctx->grow;
	uint64_t len = unit_state(g, va, UNIT_LIVE, UNIT_ADDING); /* no second trim meanwhile */
	struct unit *u;
	int rc;

	if (!len)
		return hmi_err(ctx, EBUSY, "the unit at 0x%" PRIx64 " is held", va);
	rc = hmi_events_run(ctx, HM_MEM_EVENT_FREE, va, len);
	if (rc == 0)
		rc = hmi_grow_lock_both(ctx, g);
	if (rc < 0) {
		unit_state(g, va, UNIT_ADDING, UNIT_LIVE);
		return rc;
	}
	u = hmi_grow_unit_at(g, va);
	if (f && f->n != 0) {
		retire(ctx, g, u);
		hmi_grow_unlock_both(g);
		return 0;
	}
	rc = hmi_grow_remove_unit(ctx, g, u);
	hmi_grow_unlock_both(g);
	return rc < 0 ? rc : 1;
}

/* ------------------------------------------------------------------ units secondaries grew */

size_t hmi_grow_foreign_units(struct hm_ctx *ctx, struct hmi_unit_info *out, size_t max)
{
	struct hmi_grow *g = ctx->grow;
	uint32_t *regions = malloc((max + 1) * sizeof(*regions));
	size_t n = regions ? hmi_grow_live_units(ctx, out, regions, max) : 0, kept = 0;

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < n; i++)
		if (!hmi_grow_unit_at(g, out[i].va))
			out[kept++] = out[i];
	pthread_mutex_unlock(&g->lock);
	free(regions);
	return kept;
}

int hmi_grow_retire_foreign(struct hm_ctx *ctx, uint64_t va)
{
	struct hmi_grow *g = ctx->grow;
	struct hmi_gpage *e = hmi_grow_unit_entry(ctx, va);
	uint64_t len = e ? HMI_READ(e->unit_len) : 0;
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t first = (size_t)((va - m->base) >> m->shift);
	int node = e ? HMI_READ(e->node) : -1, rc;

	/* shared memory: the unit must fit the area and name a node */
	if (!len || len % m->page_size || (len >> m->shift) > m->n_pages - first || node < 0 ||
	    node >= HM_MAX_NODES)
		return hmi_err(ctx, EPROTO,
			       "the table of grown memory describes the unit at 0x%" PRIx64
			       " wrongly (length %" PRIu64 ", node %d): restart the prefix",
			       va, len, node);
	rc = hmi_array_reserve(ctx, (void **)&g->foreign, &g->cap_foreign, g->n_foreign + 1,
			       sizeof(*g->foreign), 8, "units to give back");
	if (rc == 0)
		rc = hmi_grow_lock_both(ctx, g);
	if (rc < 0)
		return rc;
	/* in one call, so no other mapping lands in the hole */
	if (mmap((void *)(uintptr_t)va, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED)
		madvise((void *)(uintptr_t)va, len, MADV_DONTFORK);
	g->foreign[g->n_foreign++] = (struct foreign){
	    .va = va, .len = len, .node = node, .retire_gen = mark_retiring(ctx, g, va, len)};
	hmi_grow_unlock_both(g);
	return 0;
}

/* Punch page P's place in the file the primary shares with its grower
 * (checked: the table is shared memory). */
static void punch_page(struct hm_ctx *ctx, struct hmi_grow *g, size_t p)
{
	const struct hmi_pageset *ps = g->cfg.ps;
	const struct hmi_gpage *e = &g->shared->page[p];
	uint32_t b = HMI_READ(e->backing);
	uint64_t off = HMI_READ(e->offset), page = ctx->tab->grow.page_size;

	if (b < ps->n_backings && ps->backings[b].fd >= 0 && off % page == 0)
		fallocate(ps->backings[b].fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)page);
}

/* Under both locks: every secondary let the foreign unit U go: its pages
 * back to the pool, the highest IO address first (the next growth gets them
 * ascending), its place free. */
static void drop_foreign(struct hm_ctx *ctx, struct hmi_grow *g, const struct foreign *u)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t first = (size_t)((u->va - m->base) >> m->shift), n = (size_t)(u->len >> m->shift);
	size_t *order = malloc((n + 1) * sizeof(*order));

	for (size_t i = 0; order && i < n; i++) { /* insertion sort: a unit is short */
		size_t q = i;

		for (order[q] = first + i; q > 0 && HMI_READ(g->shared->page[order[q - 1]].iova) <
							HMI_READ(g->shared->page[first + i].iova);
		     q--) {
			order[q] = order[q - 1];
			order[q - 1] = first + i;
		}
	}
	for (size_t i = 0; i < n; i++) /* without memory for the order: as they sit */
		punch_page(ctx, g, order ? order[i] : first + i);
	free(order);
	g->shared->bytes[u->node] -= u->len;
	g->shared->total -= u->len;
	hmi_grow_mark(ctx, g, u->va, u->len, GPAGE_FREE);
}

/* Under both locks: the foreign units every follower of F let go, dropped. */
static int finish_foreign(struct hm_ctx *ctx, struct hmi_grow *g, const struct hmi_followers *f,
			  uint64_t *bytes)
{
	int given = 0;

	for (size_t i = g->n_foreign; i-- > 0;) {
		struct foreign u = g->foreign[i];

		if (f && f->n != 0 && !hmi_grow_followers_saw(ctx, f->pids, f->n, u.retire_gen))
			continue;
		drop_foreign(ctx, g, &u);
		g->foreign[i] = g->foreign[--g->n_foreign];
		given++;
		if (bytes)
			*bytes += u.len;
	}
	return given;
}

int hmi_grow_retired_finish(struct hm_ctx *ctx, const struct hmi_followers *f, uint64_t *bytes)
{
	struct hmi_grow *g = ctx->grow;
	int rc, given = 0;

	if (!g || !g->shared)
		return 0;
	rc = hmi_grow_lock_both(ctx, g);
	if (rc < 0)
		return rc;
	for (size_t i = g->n_units; rc == 0 && i-- > 0;) {
		struct unit *u = &g->units[i];
		uint64_t len = u->len;

		if (u->state != UNIT_RETIRING ||
		    (f && f->n != 0 && !hmi_grow_followers_saw(ctx, f->pids, f->n, u->retire_gen)))
			continue;
		rc = hmi_grow_remove_unit(ctx, g, u); /* moves the last unit to I: below I, done */
		given++;
		if (bytes)
			*bytes += len;
	}
	if (rc >= 0)
		given += finish_foreign(ctx, g, f, bytes);
	hmi_grow_unlock_both(g);
	return rc < 0 ? rc : given;
}

size_t hmi_grow_units(struct hm_ctx *ctx, struct hmi_unit_info *out, size_t max)
{
	struct hmi_grow *g = ctx->grow;
	size_t n = 0;

	if (!g)
		return 0;
	pthread_mutex_lock(&g->lock);
	for (size_t u = 0; u < g->n_units && n < max; u++)
		if (g->units[u].state == UNIT_LIVE)
			out[n++] = (struct hmi_unit_info){
			    .va = g->units[u].va, .len = g->units[u].len, .node = g->units[u].node};
	pthread_mutex_unlock(&g->lock);
	return n;
}

int hmi_grow_held(const struct hm_ctx *ctx, uint64_t va)
{
	const struct hmi_gpage *e = hmi_grow_unit_entry(ctx, va);

	return e && (atomic_load(&e->keeps) || atomic_load(&e->exported));
}

/* The first page of the live unit holding page P of the area, or NULL. */
static struct hmi_gpage *unit_of_page(const struct hm_ctx *ctx, size_t p)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	struct hmi_gshared *t = ctx->grow->shared;

	for (size_t q = p + 1; q-- > 0;) {
		uint64_t len = HMI_READ(t->page[q].unit_len);

		if (atomic_load_explicit(&t->page[q].live, memory_order_acquire) != GPAGE_LIVE)
			return NULL;
		if (len) /* checked: shared memory */
			return len % m->page_size == 0 && (len >> m->shift) > p - q ? &t->page[q]
										    : NULL;
	}
	return NULL;
}

/* Apply (DO 1) or only check (0) a keep over pages [P, END) of the area. */
static int keep_pages(struct hm_ctx *ctx, size_t p, size_t end, int keep, int export, int apply)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	struct hmi_gpage *e, *last = NULL;

	for (; p < end; p++) {
		if (!(e = unit_of_page(ctx, p)))
			return hmi_err(ctx, ENOENT,
				       "0x%" PRIx64 " is in the growth area but in no grown memory",
				       m->base + ((uint64_t)p << m->shift));
		if (e == last)
			continue;
		last = e;
		if (!apply && !keep && !export && !atomic_load(&e->keeps))
			return hmi_err(ctx, EINVAL,
				       "the grown memory at 0x%" PRIx64 " is not kept: nothing to "
				       "let go",
				       m->base + ((uint64_t)p << m->shift));
		if (apply)
			atomic_fetch_add(export ? &e->exported : &e->keeps,
					 keep ? 1 : (uint32_t)-1);
	}
	return 0;
}

int hmi_grow_keep(struct hm_ctx *ctx, uint64_t va, uint64_t len, int keep, int export)
{
	const struct hmi_growmap *m = ctx->tab ? &ctx->tab->grow : NULL;
	uint64_t end = va + len, area_end, lo, hi;
	int rc;

	if (!ctx->grow || !ctx->grow->shared || !m || !m->n_pages)
		return 0; /* nothing grows: nothing is ever trimmed */
	area_end = m->base + ((uint64_t)m->n_pages << m->shift);
	lo = va > m->base ? va : m->base;
	hi = end < area_end ? end : area_end;
	if (lo >= hi)
		return 0; /* start memory only: never trimmed */
	rc = keep_pages(ctx, (size_t)((lo - m->base) >> m->shift),
			(size_t)((hi - m->base + m->page_size - 1) >> m->shift), keep, export, 0);
	if (rc == 0)
		keep_pages(ctx, (size_t)((lo - m->base) >> m->shift),
			   (size_t)((hi - m->base + m->page_size - 1) >> m->shift), keep, export,
			   1);
	return rc;
}
