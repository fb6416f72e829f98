/* SPDX-License-Identifier: MIT */
/*
 * pool/pool.h — the order in which to give hugepages back so that the
 * kernel's LIFO free list hands the longest run out first, ascending.
 */
#ifndef HM_POOLORDER_H
#define HM_POOLORDER_H

#include "layout/layout.h"

#include <stddef.h>
#include <stdint.h>

/* PAGES sorted by (node, iova). Write into ORDER the indices of the pages to
 * give back (those with KEEP[i] == 0; every page when KEEP is NULL), in the
 * order to free them: the maximal runs they form (contiguous in IOVA, same
 * node) shortest first (ties: higher address first), each run from its
 * highest page down. Returns the count written; 0 when it could not
 * allocate its run table (a caller with pages to give back reports that as
 * -ENOMEM). Pure: no system calls. */
size_t hmi_release_order(const struct hmi_page *pages, size_t n, uint64_t page_size,
			 const unsigned char *keep, size_t *order);

struct hm_ctx;

/* The machine-wide lock of the pool of PAGE_SIZE (pool/admin.c: a flock on its
 * sysfs directory), taken by every call that changes its size or maps its
 * whole free part: hm_reserve and hm_pool_order. A descriptor to close
 * (which unlocks), or -errno (-EBUSY after a minute held by another
 * process). */
int hmi_pool_lock(struct hm_ctx *ctx, uint64_t page_size);

#endif
