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
 * A unit a keep (hm_mem_keep) or a dma-buf export holds is never taken out:
 * the marks live in the shared table so that a secondary's keep holds
 * against the primary's trim, and both are read and written with the heap
 * lock held, the lock the trim takes the region out under.
 */
#include "grow/grow.h"
#include "grow/state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

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

/* Under both locks: unit U leaves the heap but secondaries may map it. */
static void retire(struct hm_ctx *ctx, struct hmi_grow *g, struct unit *u)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t first = (size_t)((u->va - m->base) >> m->shift), n = (size_t)(u->len >> m->shift);

	hmi_growmap_set(&ctx->tab->grow, u->va, NULL, n); /* here, it has left already */
	for (size_t k = 0; k < n && first + k < m->n_pages; k++)
		atomic_store_explicit(&g->shared->page[first + k].live, GPAGE_RETIRING,
				      memory_order_release);
	u->retire_gen = atomic_fetch_add_explicit(&g->shared->gen, 1, memory_order_acq_rel) + 1;
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
