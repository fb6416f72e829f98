/* SPDX-License-Identifier: MIT */
/*
 * pages/backing.h — between pages/pages.c and pages/backing.c only (other layers
 * use pages/pages.h). Backing objects are created, mapped over a reserved VA range,
 * rolled back and removed in pages/backing.c; pages/pages.c owns the VA ranges and
 * the faulting.
 */
#ifndef HM_PAGES_BACKING_H
#define HM_PAGES_BACKING_H

#include "pages/pages.h"

/* Create COUNT page files bound for NODE and map them MAP_SHARED|MAP_FIXED at
 * BASE + i * page_size, one backing each (appended to ps->backings);
 * *MAPPED = files mapped. On failure what was created stays in ps->backings
 * for hmi_backings_undo. */
int hmi_backing_page_files(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *base,
			   size_t count, size_t *mapped);

/* Grow NODE's single file or memfd (created on first use) by COUNT pages and
 * map the new part at BASE. *INDEX = its backing, *OFFSET = the old length
 * (where the new pages start). */
int hmi_backing_node_map(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *base,
			 size_t count, uint32_t *index, uint64_t *offset);

/* Roll back one hmi_pages_map call after its VA range is unmapped: remove the
 * backings from index N_BACKINGS on, shrink backing GROWN (UINT32_MAX: none)
 * back to OLD_SIZE bytes, restore next_file. */
void hmi_backings_undo(struct hmi_pageset *ps, size_t n_backings, uint64_t next_file,
		       uint32_t grown, uint64_t old_size);

/* Map pages I .. I+N-1 again from their backing object at NEW_VA (MAP_FIXED,
 * shared flock retaken for page files) with their page table entries
 * (MAP_POPULATE: the pages are in the object already). N > 1 only for a
 * single file or memfd, the pages at consecutive offsets of it. How a single
 * file or memfd moves (never by mremap), and the fallback of hmi_page_move
 * for page files on kernels without hugetlb mremap. */
int hmi_backing_remap(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n,
		      uint64_t new_va);

/* Page I is unmapped: unlink its page file or punch it out of its single
 * file / memfd, so the page returns to the pool now. */
int hmi_backing_drop_page(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i);

/* Close every backing, unlink single files (and page files still linked),
 * free the array. Attempts all; returns the first error. */
int hmi_backings_release(struct hm_ctx *ctx, struct hmi_pageset *ps);

#endif
