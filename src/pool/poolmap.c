/* SPDX-License-Identifier: MIT */
/*
 * pool/poolmap.c — the free hugepage pool's physical layout, read from
 * /proc/kpageflags and /proc/kpagecount without mapping (or zeroing) a page.
 *
 * The reading is sys/kpage.c's: one kpageflags word per hugepage-size stride
 * finds every head of exactly PAGE_SIZE, larger and smaller hugetlb pages
 * told apart and skipped, and a head whose kpagecount word is 0 is mapped by
 * nobody: free. Runs are consecutive free heads (PFN == previous free PFN +
 * STRIDE) on one node.
 *
 * Nodes. sys/kpage.c's table of memory blocks answers each head's node, so a run
 * that crosses a node boundary becomes one run per node. With one node, or
 * no block_size_bytes, every page is on the first node; so is a page in a
 * block no node lists (the physical map, pool/physmap.c, scans no such block).
 *
 * An upper bound: pages of page files nobody maps and reserved but unfaulted
 * pages also count 0. The map is exact when the free pages seen equal the
 * pool's free_hugepages and no reservation is outstanding.
 */
#include "sys/kpage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct scan {
	struct hm_ctx *ctx;
	struct hm_poolmap *map;
	struct hmi_kpage kp;
	struct hmi_kpage_blocks blocks;
	uint64_t last_free[HM_MAX_NODES];
	uint64_t run_cap[HM_MAX_NODES];
};

static const struct hm_pool *find_pool(const struct hm_sysinfo *si, uint64_t page_size)
{
	if (page_size == 0)
		page_size = si->default_page_size;
	for (int i = 0; i < si->n_pools; i++)
		if (si->pools[i].page_size == page_size)
			return &si->pools[i];
	if (page_size == 0 && si->n_pools > 0) /* no default size known: the smallest */
		return &si->pools[0];
	return NULL;
}

static int no_pool(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size)
{
	char want[32], sizes[HM_MAX_PAGE_SIZES * 32] = "none", one[32];
	size_t used = 0;

	hmi_format_size(page_size, want, sizeof(want));
	for (int i = 0; i < si->n_pools && i < HM_MAX_PAGE_SIZES; i++) {
		hmi_format_size(si->pools[i].page_size, one, sizeof(one));
		/* ", " and at most 22 bytes a size: 8 of them fit */
		used += (size_t)snprintf(sizes + used, sizeof(sizes) - used, "%s%s", i ? ", " : "",
					 one);
		if (used >= sizeof(sizes))
			break;
	}
	if (page_size == 0)
		return hmi_err(ctx, EINVAL, "no default hugepage size to map: sizes offered: %s",
			       sizes);
	return hmi_err(ctx, EINVAL, "no %s hugepage pool to map: sizes offered: %s", want, sizes);
}

static int add_free(struct scan *s, int idx, uint64_t pfn)
{
	struct hm_poolmap_node *n = &s->map->nodes[idx];
	struct hm_run *run;

	n->free_pages++;
	if (s->last_free[idx] != HMI_KPAGE_NO_PFN && pfn == s->last_free[idx] + s->kp.stride) {
		run = &n->runs[n->n_runs - 1];
	} else {
		if (n->n_runs == s->run_cap[idx]) {
			uint64_t cap = s->run_cap[idx] ? s->run_cap[idx] * 2 : 16;
			struct hm_run *bigger = realloc(n->runs, cap * sizeof(*bigger));

			if (!bigger)
				return hmi_err(s->ctx, ENOMEM,
					       "out of memory building the pool map");
			n->runs = bigger;
			s->run_cap[idx] = cap;
		}
		run = &n->runs[n->n_runs++];
		run->pa = pfn * s->kp.base;
		run->pages = 0;
	}
	run->pages++;
	if (run->pages > n->largest)
		n->largest = run->pages;
	s->last_free[idx] = pfn;
	return 0;
}

/* A head of the pool's size at PFN: counted on its node, free when unmapped.
 * A block no node lists counts on the first node. */
static int count_head(void *arg, uint64_t pfn)
{
	struct scan *s = arg;
	uint64_t mapped;
	int idx = hmi_kpage_block_node(&s->blocks, pfn);
	int rc = hmi_kpage_count(s->ctx, &s->kp, pfn, &mapped);

	if (rc < 0)
		return rc;
	if (idx < 0)
		idx = 0;
	s->map->nodes[idx].heads++;
	return mapped == 0 ? add_free(s, idx, pfn) : 0;
}

static void init_map(struct hm_poolmap *map, const struct hm_sysinfo *si, uint64_t page_size)
{
	map->page_size = page_size;
	map->n_nodes = si->n_nodes > 0 ? si->n_nodes : 1;
	if (map->n_nodes > HM_MAX_NODES)
		map->n_nodes = HM_MAX_NODES;
	for (int i = 0; i < map->n_nodes; i++)
		map->nodes[i].node = si->n_nodes > 0 ? si->node_ids[i] : 0;
}

static int run_scan(struct scan *s, const struct hm_sysinfo *si, const struct hm_pool *pool)
{
	uint64_t free_seen = 0, pfn = 0;
	int rc = hmi_kpage_open(s->ctx, &s->kp);

	if (rc == 0 && s->map->n_nodes > 1)
		rc = hmi_kpage_blocks_read(s->ctx, &s->kp, si, 0, &s->blocks);
	if (rc == 0)
		rc = hmi_kpage_scan(s->ctx, &s->kp, &pfn, HMI_KPAGE_MAX_PFN, count_head, s);
	if (rc < 0)
		return rc;
	for (int i = 0; i < s->map->n_nodes; i++)
		free_seen += s->map->nodes[i].free_pages;
	s->map->exact = free_seen == pool->free && pool->resv == 0;
	return 0;
}

int hm_poolmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    struct hm_poolmap **out)
{
	const struct hm_pool *pool = find_pool(si, page_size);
	struct scan s = {.ctx = ctx, .kp = HMI_KPAGE_INIT};
	int rc;

	hmi_err_clear(ctx);
	if (!pool)
		return no_pool(ctx, si, page_size);
	rc = hmi_kpage_setup(ctx, &s.kp, si, pool->page_size, "the pool map");
	if (rc < 0)
		return rc;
	s.map = calloc(1, sizeof(*s.map));
	if (!s.map)
		return hmi_err(ctx, ENOMEM, "out of memory building the pool map");
	init_map(s.map, si, pool->page_size);
	for (int i = 0; i < HM_MAX_NODES; i++)
		s.last_free[i] = HMI_KPAGE_NO_PFN;
	rc = run_scan(&s, si, pool);
	hmi_kpage_close(&s.kp);
	hmi_kpage_blocks_free(&s.blocks);
	if (rc < 0) {
		hm_poolmap_free(s.map);
		return rc;
	}
	*out = s.map;
	return 0;
}

void hm_poolmap_free(struct hm_poolmap *map)
{
	if (!map)
		return;
	for (int i = 0; i < map->n_nodes && i < HM_MAX_NODES; i++)
		free(map->nodes[i].runs);
	free(map);
}
