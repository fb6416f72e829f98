/* SPDX-License-Identifier: MIT */
/*
 * pages/lookup.c — where each mapped page really is: its physical address
 * (IOVA) from /proc/self/pagemap and its NUMA node from move_pages(2)
 * (steps B3 and B4 of docs/design.md).
 *
 * pagemap holds one 64-bit entry per base page of the address space, at
 * offset (va / base page size) * 8; the entry of a hugepage's first base page
 * carries the PFN of its head, so one pread per page is all it takes (page
 * counts are small next to the zeroing that mapped them). The descriptor is
 * opened once per set and kept (ps->pagemap), read through sys/pagemap.c. Without CAP_SYS_ADMIN the
 * kernel hides PFNs: a present page reads PFN 0; then no page's physical address is known, so every
 * page of the set gets IOVA = VA and ps->pa_missing tells the caller, who says so once. Anonymous
 * (--no-huge) pages always use IOVA = VA: a 4 KiB page's physical address can change under us
 * (migration, compaction).
 *
 * The node of every page comes from ONE move_pages call with a NULL node
 * list (a query: nothing moves), never from a numa_maps scan per page. Some
 * kernels answer -ENOENT for hugetlb pages; those pages, and all of them
 * when move_pages itself fails, fall back to get_mempolicy(MPOL_F_NODE |
 * MPOL_F_ADDR), one call per page. A kernel without NUMA (ENOSYS) has only
 * node 0.
 */
#include "pages/pages.h"
#include "base/platform.h"
#include "sys/pagemap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void iova_from_va(struct hmi_pageset *ps, size_t from)
{
	size_t i;

	for (i = from; i < ps->n; i++)
		if (ps->pages[i].va != 0)
			ps->pages[i].iova = ps->pages[i].va;
}

/* IOVA of pages[from..n); on PFN 0 (no CAP_SYS_ADMIN), IOVA = VA for the
 * whole set, pages looked up earlier included, so no set mixes the two. */
static int lookup_pfns(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from)
{
	uint64_t pa = 0;
	int rc = 0;

	for (size_t i = from; rc >= 0 && i < ps->n; i++) {
		struct hmi_page *p = &ps->pages[i];

		if (p->va == 0)
			continue;
		rc = hmi_pagemap_pa(ctx, &ps->pagemap, p->va, &pa);
		if (rc == 0)
			rc = hmi_err(ctx, EFAULT,
				     "the page at VA 0x%" PRIx64
				     " is not present in pagemap although it was faulted in",
				     p->va);
		if (rc > 0 && pa == 0) {
			ps->pa_missing = 1;
			iova_from_va(ps, 0);
			return 0;
		}
		if (rc > 0)
			p->iova = pa;
	}
	return rc < 0 ? rc : 0;
}

int hmi_pages_iova(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from, int iova_as_va)
{
	int rc;

	if (from > ps->n)
		return hmi_err(ctx, EINVAL, "page %zu is past the set's %zu pages", from, ps->n);
	if (iova_as_va || ps->pa_missing || ps->kind == HMI_BACK_ANON) {
		iova_from_va(ps, from);
		return 0;
	}
	/* one 8-byte read a page: the kernel builds every entry of a range it
	 * is asked for (512 per 2 MiB page), so reading ahead costs more (1 ms
	 * against 0.1 ms for 32 pages, measured) than the system calls it saves */
	rc = hmi_pagemap_open(ctx, &ps->pagemap, 0);
	return rc < 0 ? rc : lookup_pfns(ctx, ps, from);
}

/* get_mempolicy for one page that move_pages could not answer for. */
static int node_fallback(struct hm_ctx *ctx, struct hmi_page *p, int status)
{
	int node = -1, rc = hmi_page_node((void *)(uintptr_t)p->va, &node);

	if (rc == -ENOSYS)
		node = 0;
	else if (rc < 0)
		return hmi_err(ctx, -rc,
			       "cannot tell the node of the page at VA 0x%" PRIx64
			       ": move_pages said %s, get_mempolicy %s",
			       p->va, strerror(-status), strerror(-rc));
	p->node = node;
	return 0;
}

static int node_store(struct hm_ctx *ctx, struct hmi_page *p, int status)
{
	int rc = 0;

	if (status >= 0)
		p->node = status;
	else
		rc = node_fallback(ctx, p, status);
	if (rc == 0 && (p->node < 0 || p->node >= HM_MAX_NODES))
		return hmi_err(ctx, ERANGE,
			       "the page at VA 0x%" PRIx64 " is on node %d: hugemem handles node "
			       "ids 0..%d",
			       p->va, p->node, HM_MAX_NODES - 1);
	return rc;
}

/* The set's mapped pages from FROM on, their addresses into ADDRS. */
static size_t live_pages(const struct hmi_pageset *ps, size_t from, void **addrs, size_t *index)
{
	size_t i, k = 0;

	for (i = from; i < ps->n; i++) {
		if (ps->pages[i].va == 0)
			continue;
		addrs[k] = (void *)(uintptr_t)ps->pages[i].va;
		index[k++] = i;
	}
	return k;
}

int hmi_pages_numa(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from)
{
	size_t count = from <= ps->n ? ps->n - from : 0, live, k;
	void **addrs = calloc(count ? count : 1, sizeof(*addrs));
	size_t *index = calloc(count ? count : 1, sizeof(*index));
	int *status = calloc(count ? count : 1, sizeof(*status));
	int rc = 0, mp;

	if (from > ps->n)
		rc = hmi_err(ctx, EINVAL, "page %zu is past the set's %zu pages", from, ps->n);
	else if (!addrs || !index || !status)
		rc = hmi_err(ctx, ENOMEM, "out of memory for %zu node lookups", count);
	live = rc == 0 ? live_pages(ps, from, addrs, index) : 0;
	mp = live ? hmi_move_pages_query(live, addrs, status) : 0;
	for (k = 0; rc == 0 && k < live; k++) {
		struct hmi_page *p = &ps->pages[index[k]];

		if (mp == -ENOSYS) /* no NUMA in this kernel */
			p->node = 0;
		else
			rc = node_store(ctx, p, mp < 0 ? mp : status[k]);
	}
	free(addrs);
	free(index);
	free(status);
	return rc;
}
