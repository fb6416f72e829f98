/* SPDX-License-Identifier: MIT */
/*
 * heap/extheap.c — hm_extmem_heap_add and hm_extmem_heap_remove: memory the
 * application registered (hm_extmem_register) made a heap of its own in the
 * prefix's shared heap, as DPDK's rte_malloc_heap_create +
 * rte_malloc_heap_memory_add (and _detach). The arguments are checked here,
 * the rest happens under the heap lock in heap/extview.c, which says how
 * external heaps are kept.
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define X(v) ((unsigned long long)(v))

/* [AT, AT+LEN) as a heap's range: registered here exactly so, holding a
 * block, IOVA-contiguous. *FIRST, *END: its region. */
static int check_range(struct hm_ctx *ctx, uint64_t at, uint64_t len, uint64_t *first,
		       uint64_t *end)
{
	uint64_t contig = 0;

	if (!at || !len || at + len < at || hmi_region_of(at, at + len, first, end) < 0)
		return hmi_err(ctx, EINVAL,
			       "hm_extmem_heap_add(0x%llx, %llu bytes): give a registered range "
			       "of at least %llu bytes",
			       X(at), X(len), X(4 * HMI_BLK_ALIGN));
	if (!hmi_extmap_has(&ctx->tab->ext, at, len))
		return hmi_err(
		    ctx, EINVAL,
		    "hm_extmem_heap_add(0x%llx, %llu bytes): no range registered exactly "
		    "so in this process: hm_extmem_register it first",
		    X(at), X(len));
	hmi_extmap_virt2iova(&ctx->tab->ext, at, &contig);
	if (contig < len)
		return hmi_err(
		    ctx, EINVAL,
		    "hm_extmem_heap_add(0x%llx, %llu bytes): its IOVAs are contiguous for "
		    "the first %llu bytes only, and every block of a heap is "
		    "IOVA-contiguous: register and add each contiguous run apart",
		    X(at), X(len), X(contig));
	return 0;
}

int hm_extmem_heap_add(struct hm_ctx *ctx, void *va, size_t len)
{
	uint64_t at = (uint64_t)(uintptr_t)va, first = 0, end = 0;
	struct hmi_heap_view *v;
	int rc;

	hmi_err_clear(ctx);
	if (hmi_heap_inherited(ctx->heap)) /* a forked child: the heap is not mapped here */
		return hmi_err_inherited(ctx, "hm_extmem_heap_add");
	v = hmi_arena_view(ctx);
	if (!v)
		return -ENOENT;
	rc = check_range(ctx, at, len, &first, &end);
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	rc = hmi_heap_ext_add_locked(ctx, v, at, len, first, end);
	return hmi_heap_unlock_check(ctx, v) < 0 ? -ENOTRECOVERABLE : rc;
}

int hm_extmem_heap_remove(struct hm_ctx *ctx, void *va, size_t len)
{
	uint64_t at = (uint64_t)(uintptr_t)va;
	struct hmi_heap_view *v;
	int rc;

	hmi_err_clear(ctx);
	if (hmi_heap_inherited(ctx->heap))
		return hmi_err_inherited(ctx, "hm_extmem_heap_remove");
	v = hmi_arena_view(ctx);
	if (!v)
		return -ENOENT;
	if (!va || !len)
		return hmi_err(ctx, EINVAL, "hm_extmem_heap_remove: no range given");
	rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	rc = hmi_heap_ext_remove_locked(ctx, v, at, len);
	return hmi_heap_unlock_check(ctx, v) < 0 ? -ENOTRECOVERABLE : rc;
}
