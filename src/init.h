/* SPDX-License-Identifier: MIT */
/*
 * init.h — the primary's state, shared by the init flow (init.c) and the
 * calls that read the finished layout (memory.c).
 */
#ifndef HM_INIT_H
#define HM_INIT_H

#include "ctx.h"
#include "layout.h"
#include "pages.h"

struct hmi_primary {
	struct hmi_pageset ps; /* the kept pages, sorted by (node, iova), at final VAs */
	struct hmi_seg *segs;  /* segment table, ascending VA */
	size_t n_segs;
	struct hmi_xlate xlate; /* O(log n) translation over segs */
	struct hm_layout_info info;
	char prefix[HM_PREFIX_MAX];
	char dir[HM_PATH_MAX]; /* the hugetlbfs mount of page files ("" for memfd/anon) */
	int lock_fd;	       /* the prefix's liveness lock, -1 when not held */
	uint64_t window_base, window_len;
	char notes[HM_MAX_NOTES][256];
};

/* Release everything the primary holds (hm_fini, and hm_ctx_free). */
int hmi_primary_release(struct hm_ctx *ctx);

#endif
