/* SPDX-License-Identifier: MIT */
/*
 * grow/grow.c — growth units: memory mapped into the window while the
 * application runs, and given back.
 *
 * The window hm_init reserves with --max-mem is the start memory followed by
 * a growth area as large as the growth --max-mem allows, reserved
 * PROT_NONE: nothing in it is ever reachable until a unit is mapped there,
 * so a stray touch faults instead of allocating a page (a file mapping over
 * the whole area would let the kernel fill any hole on a touch).
 *
 * A unit is the pages one growth maps: as many as the request needs, on
 * the node asked for, faulted with MADV_POPULATE_WRITE (a short pool or a
 * cgroup cap is an error, never SIGBUS), read for their IOVAs, checked
 * IOVA-contiguous (IOVA = PA: an ordered pool hands pages out in ascending
 * order, docs/design.md; IOVA = VA and allocated IOVAs need no physical
 * contiguity), and moved to the lowest free place of the area that holds
 * them. Allocated IOVAs: the plan reserved one IOVA range for the whole
 * area (dma/iova.c), and a page's IOVA is its offset there. It is the unit
 * of everything that follows: one heap region, one DMA mapping (neither
 * type1 nor iommufd unmaps part of one), one trim. Units are placed
 * first-fit in the area, so a trimmed unit's place is reused and
 * VA-adjacent units of one node can merge into longer IOVA-contiguous
 * stretches under IOVA = VA.
 *
 * Order of a growth: map and translate under the growth lock; run the ALLOC
 * callbacks with no lock held (the unit is marked "adding", nothing hands
 * it out yet); the heap then adds it. A trim is the reverse: the heap takes
 * the region out, the FREE callbacks run, the pages are dropped in
 * descending physical order (the kernel's free list is LIFO: the next
 * growth gets them back ascending).
 */
#include "grow/grow.h"
#include "grow/state.h"

#include "sys/sysinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hmi_grow_setup(struct hm_ctx *ctx, const struct hmi_grow_config *cfg)
{
	struct hmi_grow *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return hmi_err(ctx, ENOMEM, "out of memory setting growth up");
	rc = hmi_growmap_init(ctx, &ctx->tab->grow, cfg->base, cfg->len / cfg->ps->page_size,
			      cfg->ps->page_size);
	if (rc < 0) {
		free(g);
		return rc;
	}
	pthread_mutex_init(&g->lock, NULL);
	g->follow.dir_fd = -1;
	g->slot = -1;
	g->cfg = *cfg;
	g->pid = getpid();
	ctx->grow = g;
	return 0;
}

void hmi_grow_release(struct hm_ctx *ctx)
{
	struct hmi_grow *g = ctx->grow;

	if (!g)
		return;
	if (ctx->tab)
		hmi_growmap_release(&ctx->tab->grow);
	for (size_t i = 0; i < g->follow.n_fds; i++)
		if (g->follow.fds[i] >= 0)
			close(g->follow.fds[i]);
	if (g->follow.dir_fd >= 0)
		close(g->follow.dir_fd);
	free(g->follow.fds);
	free(g->follow.nodes);
	/* a secondary's page set: its pages go with the window (unmapped by the
	 * caller, or never mapped in a forked child), and they are the prefix's, so
	 * only its descriptors and arrays go here: nothing is unmapped or punched */
	if (g->own_ps) {
		hmi_pageset_forget(g->own_ps);
		free(g->own_ps);
	}
	pthread_mutex_destroy(&g->lock);
	free(g->foreign);
	free(g->units);
	free(g);
	ctx->grow = NULL;
}

void hmi_grow_leave(struct hm_ctx *ctx)
{
	if (ctx->grow)
		hmi_grow_follower_leave(ctx->grow);
}

int hmi_grow_possible(const struct hm_ctx *ctx)
{
	const struct hmi_grow *g = ctx->grow;

	return g && g->cfg.ps && g->shared && g->pid == getpid();
}

size_t hmi_grow_max_units(const struct hm_ctx *ctx)
{
	size_t pages = ctx->grow && ctx->tab ? ctx->tab->grow.n_pages : 0;

	return pages < MAX_UNITS ? pages : MAX_UNITS;
}

/* ------------------------------------------------------------------ limits */

/* The cap that stops N more bytes on NODE, named; 0 when none does. With
 * the shared lock: the caps and counts are the prefix's (read once each:
 * shared memory). */
static int check_caps(struct hm_ctx *ctx, const struct hmi_grow *g, int node, uint64_t n)
{
	const struct hmi_gshared *t = g->shared;
	uint64_t max = HMI_READ(t->max_bytes), total = HMI_READ(t->total);
	uint64_t node_max = HMI_READ(t->node_max[node]), held = HMI_READ(t->bytes[node]);
	int per_node = HMI_READ(t->per_node);
	char a[32], b[32];

	if (!(HMI_READ(t->nodes) & hmi_node_bit(node)))
		return hmi_err(ctx, ENOMEM, "node %d may not grow: %s", node,
			       per_node ? "--socket-max-mem gives it nothing"
					: "it had no memory at start (give it some with "
					  "--socket-mem, or use --socket-max-mem)");
	if (per_node && held + n > node_max) {
		hmi_format_size(node_max, a, sizeof(a));
		hmi_format_size(held, b, sizeof(b));
		return hmi_err(ctx, ENOMEM,
			       "node %d holds %s of its --socket-max-mem %s: growing by %llu bytes "
			       "would pass it (raise --socket-max-mem, or free memory)",
			       node, b, a, (unsigned long long)n);
	}
	if (!per_node && total + n > max) {
		hmi_format_size(max, a, sizeof(a));
		hmi_format_size(total, b, sizeof(b));
		return hmi_err(ctx, ENOMEM,
			       "the memory holds %s of its --max-mem %s: growing by %llu bytes "
			       "would pass it (raise --max-mem, or free memory and hm_mem_trim)",
			       b, a, (unsigned long long)n);
	}
	if (g->n_units >= MAX_UNITS)
		return hmi_err(ctx, ENOMEM,
			       "%d growth units are alive, the most: free memory and hm_mem_trim, "
			       "or start with more (-m)",
			       MAX_UNITS);
	return 0;
}

/* Count LEN bytes on NODE in (SIGN 1) or out (-1), with the shared lock. */
static void account(struct hm_ctx *ctx, struct hmi_grow *g, int node, uint64_t len, int sign)
{
	g->shared->bytes[node] += sign > 0 ? len : -len;
	g->shared->total += sign > 0 ? len : -len;
	ctx->tab->info.total_bytes += sign > 0 ? len : -len;
}

/* Mark pages [VA, VA+LEN) of the shared table STATE (with the shared lock). */
void hmi_grow_mark(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t va, uint64_t len,
		   uint32_t state)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t first = (size_t)((va - m->base) >> m->shift);

	for (size_t k = 0; k < (len >> m->shift) && first + k < m->n_pages; k++)
		atomic_store_explicit(&g->shared->page[first + k].live, state,
				      memory_order_release);
}

/* The lowest VA of the growth area where N_PAGES pages fit between units:
 * first fit over the shared table, which under the shared lock is the
 * truth for every process (a place is taken from the moment a process
 * starts growing there until its pages are gone). 0 when none. */
static uint64_t find_place(const struct hm_ctx *ctx, const struct hmi_grow *g, size_t n_pages)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t run = 0;

	for (size_t p = 0; p < m->n_pages; p++) {
		run = atomic_load_explicit(&g->shared->page[p].live, memory_order_acquire) !=
			      GPAGE_FREE
			  ? 0
			  : run + 1;
		if (run == n_pages)
			return m->base + ((uint64_t)(p + 1 - n_pages) << m->shift);
	}
	return 0;
}

/* Which cap refused N more pages, in words: a hugetlb cgroup limit that the
 * pages would pass (with its cgroup and what is charged), else the pool's
 * free pages, else both as they are now. */
static void which_cap(const struct hm_pool *p, uint64_t page, size_t n, char *buf, size_t len)
{
	char lim[32], used[32];

	if (p->cgroup.version && p->cgroup.max != UINT64_MAX) {
		hmi_format_size(p->cgroup.max, lim, sizeof(lim));
		hmi_format_size(p->cgroup.usage, used, sizeof(used));
	}
	if (p->cgroup.version && p->cgroup.max != UINT64_MAX &&
	    p->cgroup.usage + n * page > p->cgroup.max)
		snprintf(buf, len,
			 "the hugetlb cgroup limit %s in %s is reached (%s charged): raise it, or "
			 "free memory and hm_mem_trim",
			 lim, p->cgroup.path ? p->cgroup.path : "?", used);
	else if (p->free < n)
		snprintf(buf, len, "the pool has %llu free pages: reserve more (hugemem reserve)",
			 (unsigned long long)p->free);
	else
		snprintf(buf, len, "now: %llu pages free in the pool, hugetlb cgroup limit %s",
			 (unsigned long long)p->free,
			 p->cgroup.version && p->cgroup.max != UINT64_MAX ? lim : "none");
}

/* Name what refused pages: the cgroup's limit or the pool. */
static void name_refusal(struct hm_ctx *ctx, const struct hmi_grow *g, int node, size_t n)
{
	char msg[HMI_ERR_MAX], size[32], cap[256] = "";
	uint64_t page = g->cfg.ps->page_size;
	struct hm_sysinfo *si = NULL;
	const struct hm_pool *p;

	memcpy(msg, hm_errmsg(ctx), sizeof(msg));
	hmi_format_size(page, size, sizeof(size));
	if (hm_sysinfo_read(ctx, NULL, &si) == 0 && (p = hm_sysinfo_pool(si, page)))
		which_cap(p, page, n, cap, sizeof(cap));
	hmi_err(ctx, ENOMEM, "growing node %d by %zu page%s of %s: %s%s%s", node, n,
		n == 1 ? "" : "s", size, cap[0] ? cap : msg, cap[0] ? " (" : "", cap[0] ? msg : "");
	if (cap[0]) /* close the parenthesis around the mapping's own words */
		snprintf(ctx->err + strlen(ctx->err), sizeof(ctx->err) - strlen(ctx->err), ")");
	hm_sysinfo_free(si);
}

/* ------------------------------------------------------------------ mapping a unit */

/* Move pages [FROM, FROM+N) to VA.. in IOVA order, stretches of pages that
 * are one mapping already in one call. */
static int move_in(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from, size_t n, uint64_t va)
{
	int rc = 0;

	for (size_t k = 0, run; rc == 0 && k < n; k += run) {
		for (run = 1;
		     k + run < n &&
		     ps->pages[from + k + run].va == ps->pages[from + k].va + run * ps->page_size &&
		     ps->pages[from + k + run].backing == ps->pages[from + k].backing &&
		     ps->pages[from + k + run].offset ==
			 ps->pages[from + k].offset + run * ps->page_size;
		     run++)
			;
		rc = hmi_pages_move(ctx, ps, from + k, run, va + k * ps->page_size);
	}
	return rc;
}

/* Give back the pages of the set in [VA, VA+LEN), highest IOVA first. */
static int drop_range(struct hm_ctx *ctx, struct hmi_pageset *ps, uint64_t va, uint64_t len)
{
	size_t *order = malloc((len / ps->page_size + 1) * sizeof(*order)), n = 0;
	int rc;

	if (!order)
		return hmi_err(ctx, ENOMEM, "out of memory giving grown pages back");
	for (size_t i = ps->n; i-- > 0;)
		if (ps->pages[i].va >= va && ps->pages[i].va < va + len)
			order[n++] = i;
	for (size_t a = 1; a < n; a++) /* insertion sort, descending IOVA: a unit is short */
		for (size_t b = a; b > 0 && ps->pages[order[b]].iova > ps->pages[order[b - 1]].iova;
		     b--) {
			size_t t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	rc = hmi_pages_release_in_window(ctx, ps, order, n);
	hmi_pageset_compact(ps);
	free(order);
	return rc;
}

/* Give back the pages of the set from FROM on (a failed growth): those
 * moved into the growth area in it, the others plainly. */
static void undo_new(struct hm_ctx *ctx, struct hmi_grow *g, size_t from)
{
	struct hmi_pageset *ps = g->cfg.ps;
	const struct hmi_growmap *m = &ctx->tab->grow;
	uint64_t end = m->base + ((uint64_t)m->n_pages << m->shift);
	char msg[HMI_ERR_MAX];

	memcpy(msg, hm_errmsg(ctx), sizeof(msg)); /* the cause, not the clean-up */
	for (size_t i = from; i < ps->n; i++) {
		if (!ps->pages[i].va)
			continue;
		if (ps->pages[i].va >= m->base && ps->pages[i].va < end)
			hmi_pages_release_in_window(ctx, ps, &i, 1);
		else
			hmi_pages_release(ctx, ps, &i, 1);
	}
	hmi_pageset_compact(ps);
	snprintf(ctx->err, sizeof(ctx->err), "%s", msg);
}

/* Pages [FROM, ps->n), sorted by (node, IOVA): the index of the first run
 * of N IOVA-contiguous pages of one node, or SIZE_MAX. */
static size_t find_run(const struct hmi_pageset *ps, size_t from, size_t n)
{
	size_t start = from;

	for (size_t i = from; i < ps->n; i++) {
		if (i > from && (ps->pages[i].node != ps->pages[i - 1].node ||
				 ps->pages[i].iova != ps->pages[i - 1].iova + ps->page_size))
			start = i;
		if (i + 1 - start >= n)
			return start;
	}
	return SIZE_MAX;
}

/* Give back the pages [FROM, ps->n) but the run [AT, AT+N), highest IOVA
 * first (the next growth gets them back in ascending order); the run is then
 * [FROM, FROM+N). */
static int release_others(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from, size_t at,
			  size_t n)
{
	size_t *order = malloc((ps->n - from + 1) * sizeof(*order)), k = 0;
	int rc;

	if (!order)
		return hmi_err(ctx, ENOMEM, "out of memory giving pages back");
	for (size_t i = ps->n; i-- > from;)
		if (i < at || i >= at + n)
			order[k++] = i;
	rc = hmi_pages_release(ctx, ps, order, k);
	hmi_pageset_compact(ps);
	free(order);
	return rc;
}

/* One more batch of N pages on NODE, translated, the new part of the set
 * from FROM sorted again. */
static int map_batch(struct hm_ctx *ctx, struct hmi_grow *g, int node, size_t n, size_t from)
{
	struct hmi_pageset *ps = g->cfg.ps;
	size_t first = ps->n;
	int rc = hmi_pages_map(ctx, ps, node, n);

	if (rc == 0)
		rc = hmi_pages_iova(ctx, ps, first, g->cfg.iova_as_va);
	if (rc == 0)
		rc = hmi_pages_numa(ctx, ps, first);
	if (rc == 0)
		hmi_pages_sort(ps->pages + from, ps->n - from);
	return rc;
}

/* Map pages on NODE until N IOVA-contiguous ones are among them (IOVA = VA:
 * the first N), at most SEARCH_FACTOR times N: a pool the kernel hands out
 * scattered still gives a run when it holds one. The others go back. */
#define SEARCH_FACTOR 4

static int map_contiguous(struct hm_ctx *ctx, struct hmi_grow *g, int node, size_t n, size_t from)
{
	struct hmi_pageset *ps = g->cfg.ps;
	int any = g->cfg.iova_as_va || ps->pa_missing, rc = 0;
	size_t at = SIZE_MAX;

	for (size_t round = 0; rc == 0 && at == SIZE_MAX && round < SEARCH_FACTOR; round++) {
		rc = map_batch(ctx, g, node, n, from);
		if (rc == -ENOMEM && round == 0)
			name_refusal(ctx, g, node, n);
		if (rc == 0)
			at = any ? from : find_run(ps, from, n);
		if (rc == -ENOMEM && round > 0) /* the pool gave what it had */
			rc = 0, round = SEARCH_FACTOR;
		if (rc == 0 && at == SIZE_MAX && hmi_cancel_check(ctx) < 0)
			rc = -ECANCELED;
	}
	if (rc == 0 && at == SIZE_MAX)
		rc = hmi_err(ctx, ENOMEM,
			     "growing node %d by %zu IOVA-contiguous pages: the pool gave none "
			     "in %zu tried: order it (hugemem reorder), or use IOVA = VA "
			     "(--iova-mode va)",
			     node, n, ps->n - from);
	if (rc == 0 && ps->n - from > n)
		rc = release_others(ctx, ps, from, at, n);
	return rc;
}

/* The common case first: the pages faulted straight into their place, no
 * move. 1 when they make the unit there (IOVA = VA, or ascending physical
 * addresses: an ordered pool); 0 when not (they went back, the place is
 * inaccessible again); -errno. */
static int map_in_place(struct hm_ctx *ctx, struct hmi_grow *g, int node, size_t n, uint64_t va)
{
	struct hmi_pageset *ps = g->cfg.ps;
	size_t from = ps->n;
	int rc = hmi_pages_map_in_window(ctx, ps, node, n, va);

	if (rc == -ENOMEM)
		name_refusal(ctx, g, node, n);
	if (rc == 0)
		rc = hmi_pages_iova(ctx, ps, from, g->cfg.iova_as_va);
	if (rc == 0)
		rc = hmi_pages_numa(ctx, ps, from);
	/* in fault order (their places): a unit when they are the run that starts
	 * at the first; IOVA = VA: whatever the pages */
	if (rc == 0 && (g->cfg.iova_as_va || ps->pa_missing || find_run(ps, from, n) == from))
		return 1;
	undo_new(ctx, g, from); /* scattered (or failed): the slow path, or the error */
	return rc;
}

/* The IOVA of grown page P at its place in the area: in the range reserved
 * for the area at the same offset (allocated IOVAs), its VA (IOVA = VA), or
 * the physical address read. */
static uint64_t grown_iova(const struct hmi_grow *g, const struct hmi_page *p)
{
	if (g->cfg.iova_base)
		return g->cfg.iova_base + (p->va - g->cfg.base);
	return g->cfg.iova_as_va || g->cfg.ps->pa_missing ? p->va : p->iova;
}

/* Map a unit of N IOVA-contiguous pages on NODE at VA: then pages [from,
 * from+N) of the set sit at VA, VA + page size, ... and their IOVAs are in
 * the growth area's translation. */
static int map_unit(struct hm_ctx *ctx, struct hmi_grow *g, int node, size_t n, uint64_t va)
{
	struct hmi_pageset *ps = g->cfg.ps;
	size_t from = ps->n;
	int rc = map_in_place(ctx, g, node, n, va);

	if (rc == 0)
		rc = map_contiguous(ctx, g, node, n, from);
	if (rc == 0)
		rc = move_in(ctx, ps, from, n, va);
	rc = rc > 0 ? 0 : rc;
	if (rc < 0) {
		undo_new(ctx, g, from);
		return rc;
	}
	for (size_t k = 0; k < n; k++) {
		ps->pages[from + k].iova = grown_iova(g, &ps->pages[from + k]);
		hmi_growmap_set(&ctx->tab->grow, va + k * ps->page_size, &ps->pages[from + k].iova,
				1);
	}
	hmi_grow_record_pages(ctx, g, va, from, n);
	return 0;
}

/* ------------------------------------------------------------------ units */

struct unit *hmi_grow_unit_at(struct hmi_grow *g, uint64_t va)
{
	for (size_t u = 0; u < g->n_units; u++)
		if (g->units[u].va == va)
			return &g->units[u];
	return NULL;
}

static void forget_unit(struct hmi_grow *g, struct unit *u)
{
	*u = g->units[--g->n_units];
}

/* Under both locks: place, map and record a unit of N pages on NODE. */
static int add_unit(struct hm_ctx *ctx, struct hmi_grow *g, int node, size_t n, uint64_t *va)
{
	uint64_t len = (uint64_t)n * g->cfg.ps->page_size;
	int rc = check_caps(ctx, g, node, len);

	if (rc == 0)
		rc = hmi_array_reserve(ctx, (void **)&g->units, &g->cap_units, g->n_units + 1,
				       sizeof(*g->units), 16, "the growth units");
	if (rc == 0 && !(*va = find_place(ctx, g, n)))
		rc = hmi_err(ctx, ENOMEM,
			     "no room for %zu more pages in the window's growth area (it holds "
			     "%zu pages): free memory and hm_mem_trim",
			     n, ctx->tab->grow.n_pages);
	if (rc == 0) /* the files may have grown in other processes */
		rc = hmi_pageset_refresh(ctx, g->cfg.ps);
	if (rc == 0) {
		hmi_grow_mark(ctx, g, *va, len,
			      GPAGE_BUSY); /* ours while we map: no one else places here */
		rc = map_unit(ctx, g, node, n, *va);
		if (rc < 0)
			hmi_grow_mark(ctx, g, *va, len, GPAGE_FREE);
	}
	if (rc < 0)
		return rc;
	g->units[g->n_units++] =
	    (struct unit){.va = *va, .len = len, .node = node, .state = UNIT_ADDING};
	account(ctx, g, node, len, 1);
	return 0;
}

/* Under both locks: unmap the unit U and give its pages back. */
int hmi_grow_remove_unit(struct hm_ctx *ctx, struct hmi_grow *g, struct unit *u)
{
	size_t n = (size_t)(u->len / g->cfg.ps->page_size);
	int rc;

	hmi_growmap_set(&ctx->tab->grow, u->va, NULL, n); /* translation first */
	rc = drop_range(ctx, g->cfg.ps, u->va, u->len);
	account(ctx, g, u->node, u->len, -1);
	hmi_grow_mark(ctx, g, u->va, u->len,
		      GPAGE_FREE); /* the place is free once the pages are gone */
	forget_unit(g, u);
	return rc;
}

/* The growth lock of this process, then the prefix's. */
int hmi_grow_lock_both(struct hm_ctx *ctx, struct hmi_grow *g)
{
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = hmi_gshared_lock(ctx, g->shared);
	if (rc < 0)
		pthread_mutex_unlock(&g->lock);
	return rc;
}

void hmi_grow_unlock_both(struct hmi_grow *g)
{
	hmi_gshared_unlock(g->shared);
	pthread_mutex_unlock(&g->lock);
}

/* A secondary grows only where every process can map what it adds. */
static int secondary_may_grow(struct hm_ctx *ctx, const struct hmi_grow *g, int node)
{
	const struct hmi_pageset *ps = g->cfg.ps;
	int has = 0;

	if (!g->following || ps != g->own_ps)
		return 0;
	if (ctx->dma)
		return hmi_err(ctx, EOPNOTSUPP,
			       "a secondary does not grow memory that devices use: the primary "
			       "maps what it grows for them (allocate there, or start with more)");
	for (size_t i = 0; i < ps->n_backings; i++)
		has |= ps->backings[i].node == node;
	return has ? 0
		   : hmi_err(ctx, ENOMEM,
			     "node %d has no file of the primary's that this secondary holds: "
			     "the primary grows it",
			     node);
}

int hmi_grow_unit(struct hm_ctx *ctx, int node, uint64_t bytes, struct hmi_unit_info *info)
{
	struct hmi_grow *g = ctx->grow;
	uint64_t page = g ? g->cfg.ps->page_size : 0, va = 0;
	size_t n = page ? (size_t)((bytes + page - 1) / page) : 0;
	int rc = hmi_events_refuse_nested(ctx, "growing the memory");

	if (rc < 0)
		return rc;
	if (!hmi_grow_possible(ctx))
		return hmi_err(ctx, ENOMEM, "this memory cannot grow (started without --max-mem)");
	rc = secondary_may_grow(ctx, g, node);
	if (rc == 0)
		rc = hmi_grow_lock_both(ctx, g);
	if (rc < 0)
		return rc;
	rc = add_unit(ctx, g, node, n, &va);
	hmi_grow_unlock_both(g);
	if (rc < 0)
		return rc;
	rc = hmi_events_run(ctx, HM_MEM_EVENT_ALLOC, va, (uint64_t)n * page);
	if (rc < 0 && hmi_grow_lock_both(ctx, g) == 0) {
		hmi_grow_remove_unit(ctx, g, hmi_grow_unit_at(g, va));
		hmi_grow_unlock_both(g);
	} else if (rc == 0) {
		pthread_mutex_lock(&g->lock);
		hmi_grow_unit_at(g, va)->state = UNIT_LIVE;
		pthread_mutex_unlock(&g->lock);
	}
	if (rc == 0)
		*info = (struct hmi_unit_info){.va = va, .len = (uint64_t)n * page, .node = node};
	return rc;
}
