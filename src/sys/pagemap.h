/* SPDX-License-Identifier: MIT */
/*
 * sys/pagemap.h — the one reader of /proc/PID/pagemap: where the pages of a
 * process sit in physical memory. Used by the page lookup (pages/lookup.c),
 * hm_attach's --verify (mem/attach.c), pool order (pool/order.c) and the
 * physical map (pool/physmap.c). Internal: names are hmi_*.
 */
#ifndef HM_PAGEMAP_H
#define HM_PAGEMAP_H

#include "base/ctx.h"

#include <sys/types.h>

/* One open pagemap. Caller-owned: hmi_pagemap_init, hmi_pagemap_open, reads,
 * and always hmi_pagemap_close. */
struct hmi_pagemap {
	int fd;		    /* -1 while not open */
	uint64_t base_page; /* bytes one entry covers: the system's base page */
	char path[HM_PATH_MAX];
};

void hmi_pagemap_init(struct hmi_pagemap *pm);

/* Open ROOT/proc/PID/pagemap (PID 0: /proc/self/pagemap); nothing when it is
 * open already. -errno with a message naming the path (-EACCES/-EPERM when
 * this process may not read it). */
int hmi_pagemap_open(struct hm_ctx *ctx, struct hmi_pagemap *pm, pid_t pid);

/* The N raw entries of the N base pages from VA's on, in as few preads as the
 * kernel allows. -EIO when the file ends first, -errno on a failed read. */
int hmi_pagemap_entries(struct hm_ctx *ctx, const struct hmi_pagemap *pm, uint64_t va, size_t n,
			uint64_t *entries);

/* Where the page at VA is: 1 when it is present (*PA its physical address, 0
 * when the kernel hides it from a caller without CAP_SYS_ADMIN), 0 when it is
 * not (*PA = 0), -errno (with a message) when the entry cannot be read or
 * names a frame beyond any physical address. */
int hmi_pagemap_pa(struct hm_ctx *ctx, const struct hmi_pagemap *pm, uint64_t va, uint64_t *pa);

void hmi_pagemap_close(struct hmi_pagemap *pm);

#endif
