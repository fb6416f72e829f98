/* SPDX-License-Identifier: MIT */
/*
 * sys/kpage.h — where the hugepages of one size sit: /proc/kpageflags and
 * /proc/kpagecount read one word per page frame, and the memory blocks of
 * each node. Shared by the pool map (pool/poolmap.c) and the physical map
 * (pool/physmap.c); see sys/kpage.c for the rule. Internal: names are hmi_*.
 */
#ifndef HM_KPAGE_H
#define HM_KPAGE_H

#include "base/ctx.h"

#define HMI_KPAGE_NO_PFN  UINT64_MAX
#define HMI_KPAGE_MAX_PFN (1ULL << 52) /* PFN * 8 stays a valid file offset */

/* The two word files and the size looked for. Caller-owned: start from
 * HMI_KPAGE_INIT, then hmi_kpage_setup, hmi_kpage_open, ..., and always
 * hmi_kpage_close. */
struct hmi_kpage {
	int flags_fd, count_fd;	      /* -1 while not open */
	const char *user;	      /* "the pool map": who needs root, in messages */
	uint64_t base;		      /* bytes per PFN */
	uint64_t stride;	      /* PFNs per hugepage of the size looked for */
	uint64_t smaller;	      /* PFNs per next smaller size offered, 0 = none */
	uint64_t kept_pfn, kept_word; /* the flags word read last */
	const char *unopened;	      /* the path (in KP) an open of hmi_kpage_open failed on */
	int open_errno;		      /* and open's errno */
	char flags_path[HM_PATH_MAX], count_path[HM_PATH_MAX];
};

#define HMI_KPAGE_INIT                                                                             \
	{                                                                                          \
		.flags_fd = -1, .count_fd = -1, .kept_pfn = HMI_KPAGE_NO_PFN                       \
	}

/* Look for heads of PAGE_SIZE (a pool of SI). USER names the caller in the
 * "needs root" message. -EINVAL when PAGE_SIZE is no multiple of the base page. */
int hmi_kpage_setup(struct hm_ctx *ctx, struct hmi_kpage *kp, const struct hm_sysinfo *si,
		    uint64_t page_size, const char *user);

/* Open <root>/proc/kpageflags, then kpagecount. -EACCES ("needs root") or the
 * open's -errno, with KP->unopened and KP->open_errno set; -ENAMETOOLONG. */
int hmi_kpage_open(struct hm_ctx *ctx, struct hmi_kpage *kp);
void hmi_kpage_close(struct hmi_kpage *kp);

/* Called for each head of exactly the size looked for; 0 or -errno. */
typedef int hmi_kpage_head_fn(void *arg, uint64_t pfn);

/* Walk the flags from *PFN (a multiple of the stride) up to HI, calling
 * ON_HEAD(ARG, pfn) for each head of exactly the size; *PFN ends where the
 * walk stopped. 1 at the end of kpageflags, 0 at HI, or -errno. */
int hmi_kpage_scan(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t *pfn, uint64_t hi,
		   hmi_kpage_head_fn *on_head, void *arg);

/* How many page tables map PFN (kpagecount): 0 past the end of the file. */
int hmi_kpage_count(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t pfn, uint64_t *count);

/* Which node holds which memory block, sorted by block (then node index). */
struct hmi_kpage_block {
	uint64_t block;
	int node_index; /* i of si->node_ids[i]; 0 with no node ids */
};

struct hmi_kpage_blocks {
	uint64_t pfns; /* PFNs per block; 0 without block_size_bytes (no blocks then) */
	struct hmi_kpage_block *v;
	size_t n, cap;
};

/* For a caller that need not be root: an unreadable block_size_bytes counts
 * as absent and a node directory that cannot be listed has no blocks. */
#define HMI_KPAGE_ANY_USER 1

/* block_size_bytes, then the memory<K> entries of every node of SI (without
 * node ids: node 0). FLAGS: 0 or HMI_KPAGE_ANY_USER. Free with
 * hmi_kpage_blocks_free, on failure too. */
int hmi_kpage_blocks_read(struct hm_ctx *ctx, const struct hmi_kpage *kp,
			  const struct hm_sysinfo *si, int flags, struct hmi_kpage_blocks *bl);
void hmi_kpage_blocks_free(struct hmi_kpage_blocks *bl);

/* The node index of the block holding PFN; -1 when no node lists it. */
int hmi_kpage_block_node(const struct hmi_kpage_blocks *bl, uint64_t pfn);

#endif
