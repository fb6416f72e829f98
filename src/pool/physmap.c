/* SPDX-License-Identifier: MIT */
/*
 * pool/physmap.c — the physical map behind `hugemem map`: every hugepage of one
 * size placed on its node's span, next to the memory that is no such
 * hugepage and the holes between memory blocks, with the pages of live
 * hugemem prefixes told apart from pages someone else maps.
 *
 * Spans. Memory is onlined in blocks of block_size_bytes (hex, in
 * /sys/devices/system/memory); /sys/devices/system/node/node<N>/memory<K>
 * says block K is node N's (sys/kpage.c reads them). The blocks of all nodes,
 * sorted and merged where they touch, are the ranges the scan walks; a
 * node's span runs from its first range to the end of its last, and what
 * lies between its ranges is a hole. Any user may read these. Without them
 * (a fixture, a kernel without memory hotplug) there is one range from PFN 0
 * to the end of /proc/kpageflags, on the first node.
 *
 * Hugepages. sys/kpage.c's scan, per range: one /proc/kpageflags word per
 * hugepage-size stride finds each head of exactly the map's size (larger and
 * smaller hugetlb pages told apart and skipped); its /proc/kpagecount word
 * says whether anyone maps it: 0 is free (an upper bound, as for the pool
 * map: unmapped page files and reservations read 0). Unlike the pool map, no
 * head is looked for in a block no node lists. Root only: without it the map
 * keeps spans and prefixes, and says what is missing.
 *
 * Prefixes. Each live prefix (hm_prefixes_live) has published its layout
 * (hmi_shconf_read): its segments, and with them the address of each page.
 * In IOVA = PA mode that IOVA is the physical address; otherwise (root) the
 * primary's /proc/<pid>/pagemap gives it. The context's own memory, after
 * hm_init or hm_attach, is one more prefix, marked self. The physical
 * addresses of all prefixes' pages, sorted, answer by binary search whose a
 * mapped head is.
 *
 * Extents. Per node, one pass over its ranges and its heads (both
 * ascending): holes, other memory up to each head, the head itself; touching
 * extents of one kind (and one prefix) merge, so a FREE extent is exactly a
 * free run.
 */
#include "sys/kpage.h"
#include "sys/pagemap.h"
#include "layout/layout.h"
#include "shconf/shconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PFN	 HMI_KPAGE_MAX_PFN
#define MAX_LIVE 64

struct range {
	uint64_t lo, hi; /* PFNs, [lo, hi) */
	int node_index;
};

struct head {
	uint64_t pfn;
	enum hm_phys_kind kind;
	int prefix;
};

struct heads {
	struct head *v;
	size_t n, cap;
};

/* One page of a prefix, by physical address. */
struct owner {
	uint64_t pa;
	int prefix;
};

struct build {
	struct hm_ctx *ctx;
	const struct hm_sysinfo *si;
	const struct hm_pool *pool;
	struct hm_physmap *map;
	struct hmi_kpage kp; /* base, stride and the word files */
	struct range *ranges;
	size_t n_ranges, cap_ranges;
	struct heads heads[HM_MAX_NODES];
	struct owner *owners;
	size_t n_owners, cap_owners, cap_prefixes;
};

/* ------------------------------------------------------------------ spans */

static int add_range(struct build *b, uint64_t lo, uint64_t hi, int idx)
{
	int rc = hmi_array_reserve(b->ctx, (void **)&b->ranges, &b->cap_ranges, b->n_ranges + 1,
				   sizeof(*b->ranges), 64, "memory blocks");

	if (rc < 0)
		return rc;
	b->ranges[b->n_ranges++] = (struct range){.lo = lo, .hi = hi, .node_index = idx};
	return 0;
}

static void set_spans(struct build *b)
{
	for (size_t i = 0; i < b->n_ranges; i++) {
		struct hm_phys_node *n = &b->map->nodes[b->ranges[i].node_index];
		uint64_t lo = b->ranges[i].lo * b->kp.base, hi = b->ranges[i].hi * b->kp.base;

		if (n->memory == 0 || lo < n->start)
			n->start = lo;
		if (hi > n->end)
			n->end = hi;
		n->memory += hi - lo;
	}
}

/* Block [LO, HI) of node index IDX, blocks coming in ascending order: it
 * extends the last range when the two touch on one node. */
static int add_block(struct build *b, uint64_t lo, uint64_t hi, int idx)
{
	struct range *last = b->n_ranges ? &b->ranges[b->n_ranges - 1] : NULL;

	if (!last || last->node_index != idx || last->hi < lo)
		return add_range(b, lo, hi, idx);
	if (hi > last->hi)
		last->hi = hi;
	return 0;
}

/* The memory blocks as ranges; a block beyond the last PFN is left out. */
static int read_ranges(struct build *b)
{
	struct hmi_kpage_blocks bl = {0};
	int rc = hmi_kpage_blocks_read(b->ctx, &b->kp, b->si, HMI_KPAGE_ANY_USER, &bl);

	for (size_t i = 0; rc == 0 && i < bl.n; i++) {
		uint64_t block = bl.v[i].block;

		if (block < MAX_PFN / bl.pfns)
			rc = add_block(b, block * bl.pfns, (block + 1) * bl.pfns,
				       bl.v[i].node_index);
	}
	hmi_kpage_blocks_free(&bl);
	if (rc == 0)
		set_spans(b);
	return rc;
}

/* ------------------------------------------------------------------ prefixes */

static int new_prefix(struct build *b, const char *name, pid_t pid, struct hm_phys_prefix **out)
{
	struct hm_physmap *m = b->map;
	int rc = hmi_array_reserve(b->ctx, (void **)&m->prefixes, &b->cap_prefixes,
				   (size_t)m->n_prefixes + 1, sizeof(*m->prefixes), 4, "prefixes");

	if (rc < 0)
		return rc;
	*out = &m->prefixes[m->n_prefixes++];
	memset(*out, 0, sizeof(**out));
	snprintf((*out)->name, sizeof((*out)->name), "%s", name);
	(*out)->pid = pid;
	return 0;
}

static int alloc_segments(struct build *b, struct hm_phys_prefix *p, size_t n)
{
	p->segments = calloc(n ? n : 1, sizeof(*p->segments));
	if (!p->segments)
		return hmi_err(b->ctx, ENOMEM, "out of memory for %zu segments of prefix %s", n,
			       p->name);
	p->n_segments = (int)n;
	return 0;
}

/* The context's own memory, after hm_init or hm_attach. */
static int self_prefix(struct build *b)
{
	const struct hm_layout_info *in = hm_layout(b->ctx);
	struct hm_phys_prefix *p;
	int rc;

	if (!in)
		return 0;
	rc = new_prefix(b, in->file_prefix ? in->file_prefix : "", in->pid, &p);
	if (rc == 0)
		rc = alloc_segments(b, p, in->n_segments > 0 ? (size_t)in->n_segments : 0);
	if (rc < 0)
		return rc;
	p->self = 1;
	p->iova_mode = in->iova_mode;
	p->page_size = in->hugepages ? in->page_size : 0;
	p->total_bytes = in->total_bytes;
	for (int i = 0; i < p->n_segments; i++)
		if (hm_segment_get(b->ctx, i, &p->segments[i]) < 0)
			p->n_segments = i;
	return 0;
}

static int copy_layout(struct build *b, struct hm_phys_prefix *p, const struct hmi_shconf *sc)
{
	int rc = alloc_segments(b, p, sc->n_segs);

	if (rc < 0)
		return rc;
	p->iova_mode = sc->iova_mode;
	p->page_size = sc->hugepages ? sc->page_size : 0;
	p->total_bytes = sc->total_bytes;
	for (size_t i = 0; i < sc->n_segs; i++) {
		const struct hmi_seg *s = &sc->segs[i];

		p->segments[i] = (struct hm_segment){.va = (void *)(uintptr_t)s->va,
						     .iova = s->iova,
						     .len = s->len,
						     .page_size = s->page_size,
						     .node = s->node,
						     .n_pages = (uint32_t)s->n_pages};
	}
	return 0;
}

/* A live prefix: its layout, or a note saying why there is none. */
static int published_prefix(struct build *b, const char *name, pid_t pid)
{
	struct hm_phys_prefix *p;
	struct hmi_shconf sc;
	char dir[HM_PATH_MAX];
	int rc = new_prefix(b, name, pid, &p);

	if (rc < 0)
		return rc;
	rc = hm_prefix_dir(b->ctx, name, dir, sizeof(dir));
	if (rc == 0)
		rc = hmi_shconf_read(b->ctx, dir, &sc);
	if (rc < 0) {
		snprintf(p->note, sizeof(p->note), "no layout: %s", hm_errmsg(b->ctx));
		hmi_err_clear(b->ctx);
		return 0;
	}
	rc = copy_layout(b, p, &sc);
	hmi_shconf_free(&sc);
	return rc;
}

static void add_missing(struct hm_physmap *m, const char *what)
{
	size_t used = strlen(m->missing);

	snprintf(m->missing + used, sizeof(m->missing) - used, "%s%s", used ? "; " : "", what);
}

static int gather_prefixes(struct build *b, const char *only)
{
	char names[MAX_LIVE][HM_PREFIX_MAX], msg[HMI_ERR_MAX + 32];
	pid_t pids[MAX_LIVE];
	int rc = self_prefix(b), n;

	if (rc < 0)
		return rc;
	n = hm_prefixes_live(b->ctx, names, pids, MAX_LIVE);
	if (n < 0) {
		snprintf(msg, sizeof(msg), "live prefixes: %s", hm_errmsg(b->ctx));
		add_missing(b->map, msg);
		hmi_err_clear(b->ctx);
		return 0;
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		int is_self = b->map->n_prefixes && b->map->prefixes[0].self &&
			      strcmp(b->map->prefixes[0].name, names[i]) == 0;

		if (!is_self && (!only || strcmp(only, names[i]) == 0))
			rc = published_prefix(b, names[i], pids[i]);
	}
	return rc;
}

/* ------------------------------------------------------------------ owners */

static int add_owner(struct build *b, uint64_t pa, int prefix)
{
	int rc = hmi_array_reserve(b->ctx, (void **)&b->owners, &b->cap_owners, b->n_owners + 1,
				   sizeof(*b->owners), 256, "prefix pages");

	if (rc < 0)
		return rc;
	b->owners[b->n_owners++] = (struct owner){.pa = pa, .prefix = prefix};
	return 0;
}

/* The physical address of VA in PID's pagemap (PM); 0 when unknown. */
static uint64_t pagemap_pa(const struct build *b, const struct hmi_pagemap *pm, uint64_t va)
{
	uint64_t pa = 0;

	if (pm->fd < 0 || hmi_pagemap_pa(b->ctx, pm, va, &pa) <= 0) {
		hmi_err_clear(b->ctx);
		return 0;
	}
	return pa;
}

/* PID's pagemap when its IOVAs are not physical addresses; an unreadable one
 * only leaves those pages without an address. */
static void open_pagemap(struct build *b, const struct hm_phys_prefix *p, struct hmi_pagemap *pm)
{
	hmi_pagemap_init(pm);
	if (p->iova_mode != HM_IOVA_PA && hmi_pagemap_open(b->ctx, pm, p->pid) < 0)
		hmi_err_clear(b->ctx);
}

/* Every page of prefix IDX, by physical address. */
static int prefix_owners(struct build *b, int idx)
{
	struct hm_phys_prefix *p = &b->map->prefixes[idx];
	uint64_t ps = b->map->page_size, pages = 0, found = 0;
	struct hmi_pagemap pm;
	int rc = 0;

	open_pagemap(b, p, &pm);
	for (int s = 0; rc == 0 && s < p->n_segments; s++) {
		const struct hm_segment *seg = &p->segments[s];

		for (uint64_t off = 0; rc == 0 && off + ps <= seg->len; off += ps, pages++) {
			uint64_t pa = p->iova_mode == HM_IOVA_PA
					  ? seg->iova + off
					  : pagemap_pa(b, &pm, (uint64_t)(uintptr_t)seg->va + off);

			if (pa && ++found)
				rc = add_owner(b, pa, idx);
		}
	}
	hmi_pagemap_close(&pm);
	if (rc == 0 && found < pages && !p->note[0])
		snprintf(p->note, sizeof(p->note),
			 "%llu of %llu pages without a physical address (IOVA = VA and no "
			 "readable pagemap for pid %d)",
			 (unsigned long long)(pages - found), (unsigned long long)pages,
			 (int)p->pid);
	return rc;
}

static int by_pa(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;

	return (x->pa > y->pa) - (x->pa < y->pa);
}

static int gather_owners(struct build *b)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < b->map->n_prefixes; i++)
		if (b->map->prefixes[i].page_size == b->map->page_size)
			rc = prefix_owners(b, i);
	if (rc == 0 && b->n_owners)
		qsort(b->owners, b->n_owners, sizeof(*b->owners), by_pa);
	return rc;
}

static int owner_of(const struct build *b, uint64_t pa)
{
	size_t lo = 0, hi = b->n_owners;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->owners[mid].pa == pa)
			return b->owners[mid].prefix;
		if (b->owners[mid].pa < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ------------------------------------------------------------------ the scan */

/* The word files cannot be opened (not root): the map says why and keeps
 * spans and prefixes. RC when it failed before opening (a path too long). */
static int not_placed(struct build *b, int rc)
{
	char msg[HM_PATH_MAX + 128];
	int err = b->kp.open_errno;

	if (!b->kp.unopened)
		return rc;
	hmi_err_clear(b->ctx);
	snprintf(msg, sizeof(msg), "where each hugepage sits: %s: %s%s", b->kp.unopened,
		 strerror(err), err == EACCES || err == EPERM ? " (run as root)" : "");
	add_missing(b->map, msg);
	return 0;
}

static int add_head(struct build *b, int idx, uint64_t pfn)
{
	struct heads *h = &b->heads[idx];
	uint64_t mapped;
	int owner = -1, rc = hmi_kpage_count(b->ctx, &b->kp, pfn, &mapped);

	if (rc < 0)
		return rc;
	if (mapped)
		owner = owner_of(b, pfn * b->kp.base);
	rc = hmi_array_reserve(b->ctx, (void **)&h->v, &h->cap, h->n + 1, sizeof(*h->v), 256,
			       "hugepages");
	if (rc < 0)
		return rc;
	h->v[h->n++] = (struct head){.pfn = pfn,
				     .kind = !mapped	  ? HM_PHYS_FREE
					     : owner >= 0 ? HM_PHYS_PREFIX
							  : HM_PHYS_USED,
				     .prefix = owner};
	return 0;
}

struct range_scan {
	struct build *b;
	const struct range *r;
};

/* A head of the map's size: placed when the whole page lies in the range. */
static int range_head(void *arg, uint64_t pfn)
{
	const struct range_scan *rs = arg;

	if (pfn + rs->b->kp.stride > rs->r->hi)
		return 0;
	return add_head(rs->b, rs->r->node_index, pfn);
}

/* Walk range R from *PFN (carried over a large page ending past the last
 * range); a range ending at MAX_PFN ends at the end of kpageflags instead. */
static int scan_range(struct build *b, struct range *r, uint64_t *pfn)
{
	struct range_scan rs = {.b = b, .r = r};
	uint64_t stride = b->kp.stride, first = (r->lo + stride - 1) / stride * stride;
	int rc;

	if (*pfn < first)
		*pfn = first;
	rc = hmi_kpage_scan(b->ctx, &b->kp, pfn, r->hi, range_head, &rs);
	if (rc == 1 && r->hi == MAX_PFN)
		r->hi = *pfn;
	return rc < 0 ? rc : 0;
}

static int scan(struct build *b)
{
	uint64_t pfn = 0;
	int rc = 0;

	if (b->n_ranges == 0) {
		rc = add_range(b, 0, MAX_PFN, 0);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; rc == 0 && i < b->n_ranges; i++)
		rc = scan_range(b, &b->ranges[i], &pfn);
	if (rc == 0 && b->map->nodes[0].memory == 0)
		set_spans(b); /* the one range of a tree without memory blocks */
	return rc;
}

/* ------------------------------------------------------------------ extents */

static int emit(struct build *b, struct hm_phys_node *n, size_t *cap, uint64_t pa, uint64_t len,
		enum hm_phys_kind kind, int prefix)
{
	struct hm_phys_extent *last = n->n_extents ? &n->extents[n->n_extents - 1] : NULL;
	int rc;

	if (len == 0)
		return 0;
	if (last && last->kind == kind && last->prefix == prefix && last->pa + last->len == pa) {
		last->len += len;
		return 0;
	}
	rc = hmi_array_reserve(b->ctx, (void **)&n->extents, cap, n->n_extents + 1,
			       sizeof(*n->extents), 64, "extents");
	if (rc < 0)
		return rc;
	n->extents[n->n_extents++] =
	    (struct hm_phys_extent){.pa = pa, .len = len, .kind = kind, .prefix = prefix};
	return 0;
}

/* Range R of node IDX with its heads from *NEXT on: other memory around them. */
static int emit_range(struct build *b, int idx, const struct range *r, size_t *next, size_t *cap,
		      uint64_t *cursor)
{
	struct hm_phys_node *n = &b->map->nodes[idx];
	const struct heads *h = &b->heads[idx];
	uint64_t ps = b->map->page_size, lo = r->lo * b->kp.base, hi = r->hi * b->kp.base;
	int rc = 0;

	if (*cursor < lo)
		rc = emit(b, n, cap, *cursor, lo - *cursor, HM_PHYS_HOLE, -1);
	if (*cursor < lo)
		*cursor = lo;
	for (; rc == 0 && *next < h->n && h->v[*next].pfn < r->hi; ++*next) {
		uint64_t pa = h->v[*next].pfn * b->kp.base;

		if (pa < *cursor)
			continue; /* cannot happen with ascending heads; never overlap */
		rc = emit(b, n, cap, *cursor, pa - *cursor, HM_PHYS_OTHER, -1);
		if (rc == 0)
			rc = emit(b, n, cap, pa, ps, h->v[*next].kind, h->v[*next].prefix);
		*cursor = pa + ps;
	}
	if (rc == 0 && *cursor < hi)
		rc = emit(b, n, cap, *cursor, hi - *cursor, HM_PHYS_OTHER, -1);
	if (*cursor < hi)
		*cursor = hi;
	return rc;
}

static void count_extent(struct hm_physmap *m, struct hm_phys_node *n,
			 const struct hm_phys_extent *e)
{
	uint64_t pages = e->len / m->page_size;

	if (e->kind == HM_PHYS_FREE) {
		n->free_pages += pages;
		n->free_runs++;
		if (pages > n->largest_run) {
			n->largest_run = pages;
			n->largest_pa = e->pa;
		}
	} else if (e->kind == HM_PHYS_USED) {
		n->used_pages += pages;
	} else if (e->kind == HM_PHYS_PREFIX) {
		n->prefix_pages += pages;
		m->prefixes[e->prefix].pages_placed += pages;
	}
	if (e->kind >= HM_PHYS_FREE)
		n->hugepages += pages;
}

static int build_node(struct build *b, int idx)
{
	struct hm_phys_node *n = &b->map->nodes[idx];
	uint64_t cursor = n->start;
	size_t next = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < b->n_ranges; i++)
		if (b->ranges[i].node_index == idx)
			rc = emit_range(b, idx, &b->ranges[i], &next, &cap, &cursor);
	for (uint64_t e = 0; rc == 0 && e < n->n_extents; e++)
		count_extent(b->map, n, &n->extents[e]);
	return rc;
}

/* ------------------------------------------------------------------ the call */

static int place_pages(struct build *b)
{
	uint64_t free_seen = 0;
	int rc = hmi_kpage_open(b->ctx, &b->kp);

	if (rc < 0)
		return not_placed(b, rc); /* not root: spans and prefixes only */
	rc = gather_owners(b);
	if (rc == 0)
		rc = scan(b);
	for (int i = 0; rc == 0 && i < b->map->n_nodes; i++)
		rc = build_node(b, i);
	if (rc < 0)
		return rc;
	for (int i = 0; i < b->map->n_nodes; i++)
		free_seen += b->map->nodes[i].free_pages;
	b->map->placed = 1;
	b->map->exact = free_seen == b->pool->free && b->pool->resv == 0;
	return 0;
}

static int start(struct build *b, uint64_t page_size)
{
	const struct hm_sysinfo *si = b->si;
	char want[32];
	int rc;

	b->pool = hm_sysinfo_pool(si, page_size);
	if (!b->pool) {
		hmi_format_size(page_size ? page_size : si->default_page_size, want, sizeof(want));
		return hmi_err(b->ctx, EINVAL,
			       "no %s hugepage pool to map: see 'hugemem status' for the sizes "
			       "offered",
			       page_size || si->default_page_size ? want : "default");
	}
	rc = hmi_kpage_setup(b->ctx, &b->kp, si, b->pool->page_size, "the physical map");
	if (rc < 0)
		return rc;
	b->map = calloc(1, sizeof(*b->map));
	if (!b->map)
		return hmi_err(b->ctx, ENOMEM, "out of memory for the physical map");
	b->map->page_size = b->pool->page_size;
	b->map->n_nodes =
	    si->n_nodes > 0 ? (si->n_nodes < HM_MAX_NODES ? si->n_nodes : HM_MAX_NODES) : 1;
	for (int i = 0; i < b->map->n_nodes; i++)
		b->map->nodes[i].node = si->n_nodes > 0 ? si->node_ids[i] : 0;
	return 0;
}

static void finish(struct build *b)
{
	hmi_kpage_close(&b->kp);
	for (int i = 0; i < HM_MAX_NODES; i++)
		free(b->heads[i].v);
	free(b->ranges);
	free(b->owners);
}

int hm_physmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    const char *prefix, struct hm_physmap **out)
{
	struct build b = {.ctx = ctx, .si = si, .kp = HMI_KPAGE_INIT};
	int rc;

	hmi_err_clear(ctx);
	*out = NULL;
	rc = start(&b, page_size);
	if (rc == 0)
		rc = read_ranges(&b);
	if (rc == 0)
		rc = gather_prefixes(&b, prefix);
	if (rc == 0)
		rc = place_pages(&b);
	finish(&b);
	if (rc < 0) {
		hm_physmap_free(b.map);
		return rc;
	}
	*out = b.map;
	return 0;
}

void hm_physmap_free(struct hm_physmap *map)
{
	if (!map)
		return;
	for (int i = 0; i < map->n_nodes && i < HM_MAX_NODES; i++)
		free(map->nodes[i].extents);
	for (int i = 0; i < map->n_prefixes; i++)
		free(map->prefixes[i].segments);
	free(map->prefixes);
	free(map);
}

uint64_t hm_physmap_pieces(const struct hm_physmap *map, int node_index, uint64_t bytes)
{
	const struct hm_phys_node *n;
	uint64_t *len, want;
	size_t count = 0, pieces;

	if (!map || !map->placed || node_index < 0 || node_index >= map->n_nodes || !bytes)
		return 0;
	n = &map->nodes[node_index];
	want = (bytes + map->page_size - 1) / map->page_size;
	len = malloc((n->free_runs + 1) * sizeof(*len));
	if (!len)
		return 0;
	for (uint64_t e = 0; e < n->n_extents; e++)
		if (n->extents[e].kind == HM_PHYS_FREE)
			len[count++] = n->extents[e].len / map->page_size;
	pieces = hmi_best_pieces(len, count, want);
	free(len);
	return pieces == SIZE_MAX ? 0 : (uint64_t)pieces;
}
