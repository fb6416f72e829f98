/* SPDX-License-Identifier: MIT */
/*
 * mem/growth.c — what hm_init does for --max-mem, and hm_mem_trim.
 *
 * hm_init, once the start memory sits in its window: reserve the growth
 * area right after the window (PROT_NONE, so a touch of memory not grown
 * faults and allocates nothing), set growth up (grow/), and, when devices
 * use the memory, register the DMA layer's callback first of all: a unit is
 * mapped for the devices before any other callback or allocation sees it,
 * and unmapped after every other callback let it go. Where a unit sits in
 * IO space: at its VA (IOVA = VA), its physical address (IOVA = PA), or
 * with allocated IOVAs in the range the IOVA plan reserved for the whole
 * area when it placed the segments (hmi_mem_growth_room gives it the
 * length), at the unit's offset in the area.
 *
 * hm_mem_trim: every grown unit that is one free block of the heap is taken
 * out of the heap under its lock, then given back (FREE callbacks, then its
 * pages, outside the lock); a unit a callback refuses to let go goes back
 * into the heap.
 */
#include "mem/mem.h"

#include "grow/grow.h"
#include "heap/heap.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DMA_EVENTS "hugemem:dma" /* the DMA layer's callback */

/* ------------------------------------------------------------------ set-up */

static uint64_t round_up(uint64_t x, uint64_t to)
{
	return (x + to - 1) / to * to;
}

/* The growth allowed, in bytes, from CFG and the options (pages of PAGE
 * bytes); -errno when an option asks for less than the start. */
static int growth_room(struct hm_ctx *ctx, const struct hm_opts *o, struct hmi_grow_config *cfg,
		       uint64_t page, uint64_t *room)
{
	uint64_t start = 0;
	char a[32], b[32];

	for (int node = 0; node < HM_MAX_NODES; node++)
		start += cfg->start_bytes[node];
	*room = 0;
	for (int node = 0; cfg->per_node && node < HM_MAX_NODES; node++) {
		cfg->node_max[node] = o->socket_max_mem[node] / page * page;
		if (cfg->node_max[node] && cfg->node_max[node] < cfg->start_bytes[node]) {
			hmi_format_size(o->socket_max_mem[node], a, sizeof(a));
			hmi_format_size(cfg->start_bytes[node], b, sizeof(b));
			return hmi_err(ctx, EINVAL,
				       "--socket-max-mem gives node %d %s, less than the %s it "
				       "holds at start: give at least that",
				       node, a, b);
		}
		*room += cfg->node_max[node] ? cfg->node_max[node] - cfg->start_bytes[node] : 0;
	}
	cfg->max_bytes = round_up(o->max_mem, page);
	if (!cfg->per_node && cfg->max_bytes <= start) {
		hmi_format_size(o->max_mem, a, sizeof(a));
		hmi_format_size(start, b, sizeof(b));
		return hmi_err(ctx, EINVAL,
			       "--max-mem %s is not more than the %s mapped at start: give more "
			       "(or leave it out: the memory then does not grow)",
			       a, b);
	}
	if (!cfg->per_node)
		*room = cfg->max_bytes - start;
	return *room ? 0 : hmi_err(ctx, EINVAL, "--socket-max-mem lets no node grow");
}

/* A note when the pool holds less than the growth may ask for. */
static void note_pool(struct hmi_mem *m, const struct hm_sysinfo *si, uint64_t page, uint64_t room)
{
	const struct hm_pool *p = si ? hm_sysinfo_pool(si, page) : NULL;
	char a[32], b[32];

	if (!p || p->free * page >= room)
		return;
	hmi_format_size(room, a, sizeof(a));
	hmi_format_size(p->free * page, b, sizeof(b));
	hmi_mem_note(m,
		     "--max-mem lets the memory grow by %s, the pool has %s free now: growth past "
		     "what it holds then will fail",
		     a, b);
}

static int dma_events(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct hm_ctx *ctx = arg;
	uint64_t iova = hm_virt2iova(ctx, va);

	if (!ctx->dma)
		return 0;
	if (ev == HM_MEM_EVENT_ALLOC)
		return hmi_dma_map_range(ctx, ctx->dma, (uint64_t)(uintptr_t)va, iova, len,
					 ctx->tab->info.page_size);
	return hmi_dma_unmap_range(ctx, ctx->dma, iova, len);
}

/* CFG's start bytes and caps from O over M's start memory, and the bytes
 * they let it grow by. */
static int growth_config(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hm_opts *o,
			 struct hmi_grow_config *cfg, uint64_t *room)
{
	cfg->per_node = o->socket_max_mem_count > 0;
	for (size_t i = 0; i < m->ps.n; i++)
		cfg->start_bytes[m->ps.pages[i].node] += m->ps.page_size;
	return growth_room(ctx, o, cfg, m->ps.page_size, room);
}

int hmi_mem_growth_room(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hm_opts *o,
			uint64_t *room)
{
	struct hmi_grow_config cfg = {0};

	*room = 0;
	if (!o->max_mem && !o->socket_max_mem_count)
		return 0;
	return growth_config(ctx, m, o, &cfg, room);
}

/* Allocated IOVAs: a grown page's IOVA is the range the plan reserved for
 * this area (dma_map in mem/init.c) at the page's offset in the area. */
static int growth_iova(struct hm_ctx *ctx, struct hmi_mem *m, const struct hm_opts *o,
		       struct hmi_grow_config *cfg)
{
	const struct hmi_dma *d = m->dma;

	if (!d || o->iova_mode != HM_IOVA_ALLOC || d->backend == HMI_DMA_NOIOMMU)
		return 0;
	if (d->grow_va != cfg->base || d->grow_len != cfg->len)
		return hmi_err(ctx, EIO,
			       "the growth area (0x%llx, %llu bytes) is not the one its IO "
			       "addresses were reserved for (0x%llx, %llu bytes)",
			       (unsigned long long)cfg->base, (unsigned long long)cfg->len,
			       (unsigned long long)d->grow_va, (unsigned long long)d->grow_len);
	cfg->iova_base = d->grow_iova;
	hmi_mem_note(m, "grown memory's IOVAs: 0x%llx-0x%llx, reserved for --max-mem",
		     (unsigned long long)d->grow_iova,
		     (unsigned long long)(d->grow_iova + d->grow_len - 1));
	return 0;
}

int hmi_mem_growth_setup(struct hm_ctx *ctx, struct hmi_mem *m, const struct hm_opts *o,
			 const struct hm_sysinfo *si, int iova_as_va)
{
	struct hmi_grow_config cfg = {.ps = &m->ps, .iova_as_va = iova_as_va || m->ps.pa_missing};
	uint64_t room = 0, base = m->window_base + m->window_len;
	int rc;

	if (!o->max_mem && !o->socket_max_mem_count)
		return o->auto_trim
			   ? hmi_err(ctx, EINVAL,
				     "--auto-trim gives back grown memory, and without "
				     "--max-mem (or --socket-max-mem) nothing grows: give one")
			   : 0;
	m->auto_trim = o->auto_trim;
	m->auto_trim_keep = o->auto_trim_keep;
	rc = growth_config(ctx, m, o, &cfg, &room);
	if (rc == 0)
		rc = hmi_window_reserve(ctx, base, room);
	if (rc < 0)
		return rc == -EEXIST ? hmi_err(ctx, EEXIST,
					       "the addresses after the window (0x%llx, %llu bytes "
					       "for --max-mem) are taken: choose another "
					       "--base-virtaddr",
					       (unsigned long long)base, (unsigned long long)room)
				     : rc;
	madvise((void *)(uintptr_t)base, room, MADV_DONTFORK);
	m->window_len += room; /* released with the window */
	cfg.base = base;
	cfg.len = room;
	rc = growth_iova(ctx, m, o, &cfg);
	if (rc == 0)
		rc = hmi_grow_setup(ctx, &cfg);
	if (rc == 0 && m->dma)
		rc = hmi_events_add_first(ctx, DMA_EVENTS, dma_events, ctx);
	if (rc == 0)
		note_pool(m, si, m->ps.page_size, room);
	return rc;
}

/* ------------------------------------------------------------------ trim */

#define MAX_FOLLOWERS 256 /* secondaries a trim can name; more: it waits */

/* The secondaries that may map grown memory: every holder of the prefix's
 * clients lock (N -1 when they cannot all be named: a unit then retires). */
static struct hmi_followers followers_of(struct hm_ctx *ctx, pid_t *pids)
{
	int n = hmi_clients_list(ctx, ctx->mem, pids, MAX_FOLLOWERS);

	return (struct hmi_followers){.pids = pids, .n = n >= MAX_FOLLOWERS ? -1 : n};
}

/* With the heap lock: take unit U (its region at FIRST) out of the heap
 * unless something holds it or *SPARE bytes of free units may stay. */
static int take_unit(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_unit_info *u,
		     uint64_t first, uint64_t *spare)
{
	if (hmi_grow_held(ctx, u->va) || !hmi_heap_region_free(v, first))
		return 0;
	if (*spare >= u->len) { /* --auto-trim keeps this much free */
		*spare -= u->len;
		return 0;
	}
	if (!hmi_heap_take_region(v, first))
		return 0;
	hmi_grow_publish(ctx, u->va, 0, 0);
	return 1;
}

/* Take the unit U out of the heap, give it back (or retire it); a refusal
 * puts it back. 1 when given back, 0 when kept or retiring, -errno when the
 * heap is broken. */
static int trim_unit(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_unit_info *u,
		     const struct hmi_followers *f, uint64_t *spare, int foreign)
{
	uint64_t first, end;
	int rc = 0, taken = 0;

	if (hmi_region_of(u->va, u->va + u->len, &first, &end) == 0 &&
	    (rc = hmi_heap_lock(ctx, v)) == 0) {
		taken = take_unit(ctx, v, u, first, spare);
		rc = hmi_heap_unlock_check(ctx, v);
	}
	if (rc < 0 || !taken)
		return rc;
	/* a unit a secondary grew: no callback ran here for it, none runs now */
	rc = foreign ? hmi_grow_retire_foreign(ctx, u->va) : hmi_grow_give_back(ctx, u->va, f);
	if (rc >= 0)
		return rc;
	rc = hmi_heap_lock(ctx, v); /* a callback keeps it: back into the heap */
	if (rc == 0) {
		rc = hmi_heap_add_region(ctx, v, first, end, u->node);
		if (rc >= 0)
			hmi_grow_publish(ctx, u->va, (uint32_t)rc, 1);
		hmi_heap_unlock(v);
	}
	return rc < 0 ? rc : 0;
}

static int trim_refused(struct hm_ctx *ctx, const char *fn)
{
	if (hmi_tab_inherited(ctx->tab))
		return hmi_err_inherited(ctx, fn);
	if (ctx->mem->secondary)
		return hmi_err(ctx, EBUSY,
			       "%s: a secondary does not trim: the primary does (what a secondary "
			       "grew goes back when the prefix ends)",
			       fn);
	return hmi_events_refuse_nested(ctx, fn);
}

/* Trim this process's units (FOREIGN 0) or the ones secondaries grew (1):
 * every free one, the latest first, but for *SPARE bytes of them. */
static int trim_units(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_followers *f,
		      uint64_t *spare, int foreign, uint64_t *freed)
{
	size_t max = hmi_grow_max_units(ctx), n;
	struct hmi_unit_info *units = malloc((max + 1) * sizeof(*units));
	int rc = 0, given = 0;

	if (!units)
		return hmi_err(ctx, ENOMEM, "hm_mem_trim: out of memory");
	n = foreign ? hmi_grow_foreign_units(ctx, units, max) : hmi_grow_units(ctx, units, max);
	for (size_t i = n; rc >= 0 && i-- > 0;) { /* the latest first */
		rc = trim_unit(ctx, v, &units[i], f, spare, foreign);
		if (rc > 0 && freed)
			*freed += units[i].len;
		given += rc > 0;
	}
	free(units);
	return rc < 0 ? rc : given;
}

/* Trim: the retiring units every secondary has let go, then every free
 * unit, ours and those secondaries grew, but for SPARE bytes of them; then
 * the retired ones no secondary maps (all of them when none runs). */
static int trim(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t spare, uint64_t *freed)
{
	pid_t pids[MAX_FOLLOWERS];
	struct hmi_followers f = followers_of(ctx, pids);
	int rc, given = 0;

	rc = hmi_grow_retired_finish(ctx, &f, freed);
	given += rc > 0 ? rc : 0;
	if (rc >= 0)
		rc = trim_units(ctx, v, &f, &spare, 0, freed);
	given += rc > 0 ? rc : 0;
	if (rc >= 0)
		rc = trim_units(ctx, v, &f, &spare, 1, freed);
	if (rc >= 0 && f.n == 0) /* no secondary: what just retired goes now */
		rc = hmi_grow_retired_finish(ctx, &f, freed);
	given += rc > 0 ? rc : 0;
	return rc < 0 ? rc : given;
}

int hm_mem_trim(struct hm_ctx *ctx, uint64_t *freed_bytes)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	int rc;

	if (freed_bytes)
		*freed_bytes = 0;
	if (!v)
		return -ENOENT;
	rc = trim_refused(ctx, "hm_mem_trim");
	if (rc < 0 || !hmi_grow_possible(ctx))
		return rc;
	return trim(ctx, v, 0, freed_bytes);
}

/* --auto-trim: after a free left a grown unit wholly free (heap/heap.c),
 * with no lock held. Quiet: hm_free returns nothing, and the caller's last
 * message stays hers. Not in a secondary (the primary trims), a forked child
 * or a callback. */
static void auto_trim(struct hm_ctx *ctx)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	char msg[HMI_ERR_MAX];

	if (!v || !ctx->mem || ctx->mem->secondary || hmi_tab_inherited(ctx->tab) ||
	    !hmi_grow_possible(ctx) || hmi_events_inside(ctx))
		return;
	memcpy(msg, hm_errmsg(ctx), sizeof(msg));
	trim(ctx, v, ctx->mem->auto_trim_keep, NULL);
	snprintf(ctx->err, sizeof(ctx->err), "%s", msg);
}

void hmi_mem_auto_trim_setup(struct hm_ctx *ctx)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);

	if (v && ctx->mem && ctx->mem->auto_trim && hmi_grow_possible(ctx))
		v->on_unit_free = auto_trim;
}

/* ------------------------------------------------------------------ keep */

int hm_mem_keep(struct hm_ctx *ctx, const void *addr, size_t len, int keep)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	uint64_t va = (uint64_t)(uintptr_t)addr;
	int rc;

	if (!ctx->mem || !v)
		return hmi_err(ctx, ENODEV, "hm_mem_keep: no memory (hm_init did not run)");
	if (hmi_tab_inherited(ctx->tab))
		return hmi_err_inherited(ctx, "hm_mem_keep");
	if (len == 0 || va + len < va || va < ctx->mem->window_base ||
	    va + len - ctx->mem->window_base > ctx->mem->window_len)
		return hmi_err(ctx, EINVAL,
			       "hm_mem_keep: %p + %zu is %s hugemem's memory (0x%" PRIx64
			       " + %" PRIu64 ")",
			       addr, len, len ? "not inside" : "an empty range of",
			       ctx->mem->window_base, ctx->mem->window_len);
	rc = hmi_heap_lock(ctx, v); /* the lock a trim takes a unit out under */
	if (rc < 0)
		return rc;
	rc = hmi_grow_keep(ctx, va, len, keep != 0, 0);
	hmi_heap_unlock(v);
	return rc;
}
