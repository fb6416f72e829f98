/* SPDX-License-Identifier: MIT */
/*
 * layout/layout.h — internal interface of the layout layer (steps B5, B6, B9, B10,
 * B12 of docs/design.md): from pages whose IOVA and node are known, find the
 * physically contiguous runs, select the pages to keep so the memory comes in
 * as few pieces as the mapped set allows, and build the segment table used
 * for translation. Pure computation: no system calls, no parsing.
 */
#ifndef HM_LAYOUT_H
#define HM_LAYOUT_H

#include "pages/pages.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A maximal run of pages contiguous in IOVA on one node: pages[first ..
 * first+len) after hmi_pages_sort. */
struct hmi_run {
	size_t first;
	size_t len;
	int node;
};

/* A segment: contiguous in VA and IOVA at once, one node, one page size. */
struct hmi_seg {
	uint64_t va, iova, len; /* len in bytes */
	uint64_t page_size;
	int node;
	size_t first_page; /* index into the kept pages */
	size_t n_pages;
};

/* Sort PAGES by (node, iova). */
void hmi_pages_sort(struct hmi_page *pages, size_t n);

/* The maximal runs of sorted PAGES: *RUNS malloc'd (free()), *N_RUNS set. */
int hmi_runs_find(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n, uint64_t page_size,
		  struct hmi_run **runs, size_t *n_runs);

/* The fewest pieces that can cover WANT pages from runs of the given
 * LENGTHS (any order): 0 when WANT is 0, SIZE_MAX when the runs hold fewer
 * than WANT pages. Used for "the best the pool allows". */
size_t hmi_best_pieces(const uint64_t *lengths, size_t n, uint64_t want);

/* Choose, among sorted PAGES, WANT[node] pages on each node id (index =
 * node id, HM_MAX_NODES entries) in the fewest pieces: keep[i] = 1 for kept
 * pages, 0 for the rest. *PIECES gets the number of runs used. A node with
 * fewer pages than asked: -ENOMEM with "node N: asked A pages of SIZE, only
 * H mapped" in the message. */
int hmi_select(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n, uint64_t page_size,
	       const uint64_t want[HM_MAX_NODES], unsigned char *keep, size_t *pieces);

/* Give the kept, sorted pages their final VAs starting at BASE: each run gets
 * one contiguous VA range; consecutive runs are separated by a one-page guard
 * gap so that no two runs look contiguous in VA. Sets pages[i].va; returns the
 * VA window length needed in *WINDOW. */
int hmi_assign_va(struct hm_ctx *ctx, struct hmi_page *pages, size_t n, uint64_t page_size,
		  uint64_t base, uint64_t *window);

/* Build the segment table from sorted PAGES with final VAs: maximal ranges
 * contiguous in VA and IOVA, same node. *SEGS malloc'd, sorted by VA. */
int hmi_segments_build(struct hm_ctx *ctx, const struct hmi_page *pages, size_t n,
		       uint64_t page_size, struct hmi_seg **segs, size_t *n_segs);

/* Translation index over a segment table: O(log n) lookups both ways. */
struct hmi_xlate {
	const struct hmi_seg *segs; /* sorted by VA (not owned) */
	size_t n;
	size_t *by_iova; /* segment indices sorted by IOVA (owned) */
};

int hmi_xlate_init(struct hm_ctx *ctx, struct hmi_xlate *x, const struct hmi_seg *segs, size_t n);
void hmi_xlate_release(struct hmi_xlate *x);
/* IOVA of VA, or UINT64_MAX when VA is in no segment. *CONTIG (may be NULL)
 * gets how many bytes from VA stay contiguous in IOVA (to the segment end). */
uint64_t hmi_virt2iova(const struct hmi_xlate *x, uint64_t va, uint64_t *contig);
/* VA of IOVA, or 0 when IOVA is in no segment. */
uint64_t hmi_iova2virt(const struct hmi_xlate *x, uint64_t iova);

/* ------------------------------------------------------------------ memory added later */

/* Memory that joins after hm_init (layout/added.c): pages grown into the
 * window's growth area (grow/, docs/growth.md) and ranges the application
 * registered (hm_extmem_register). Translation reads both without a lock
 * while another thread adds or removes: every entry is one atomic word or
 * guarded by its own sequence count, and nothing a reader may still hold is
 * freed before hm_fini. */
#define HMI_NO_IOVA UINT64_MAX

/* The growth area [base, base + n_pages * page_size): per page its IOVA
 * (HMI_NO_IOVA: not mapped). Allocated once, as large as --max-mem allows. */
struct hmi_growmap {
	uint64_t base, page_size;
	int shift; /* log2(page_size) */
	size_t n_pages;
	_Atomic uint64_t *iova;
};

#define HMI_EXT_MAX 64 /* registrations per context (DPDK's extmem has 128 chunk slots in all) */

/* What a registered range is doing (hmi_extmap_use): a heap may hold a READY
 * one (heap/extheap.c: hm_extmem_unregister then refuses it); a JOINING or
 * LEAVING one is out of reach of both. */
enum hmi_ext_use {
	HMI_EXT_JOINING, /* added, its ALLOC callbacks still running */
	HMI_EXT_READY,
	HMI_EXT_HEAP,	  /* an external heap of this process uses it */
	HMI_EXT_DETACHED, /* this process stopped using the heap over it (which lives on) */
	HMI_EXT_LEAVING,  /* being unregistered */
};

/* One external range; SEQ is odd while it is being written. IOVA: per page,
 * or NULL when the IOVA is the VA. USE: enum hmi_ext_use, written under the
 * writers' lock. */
struct hmi_extent {
	_Atomic uint32_t seq;
	_Atomic uint32_t use;
	uint64_t va, len, page_size;
	uint64_t *iova;
};

struct hmi_extmap {
	atomic_flag writing;  /* writers take turns (hmi_extmap_lock); readers never wait */
	_Atomic uint32_t n;   /* entries in use or freed, never shrinks */
	_Atomic uint32_t gen; /* bumped by every change (a heap's view compares it) */
	/* the heap's (heap/extheap.c): let go of the ranges of heaps gone since
	 * it last looked, before a refusal says one holds a range; NULL: none */
	void (*refresh)(void *arg);
	void *refresh_arg;
	struct hmi_extent e[HMI_EXT_MAX];
	uint64_t **retired; /* IOVA tables of removed ranges, freed at release */
	size_t n_retired, cap_retired;
};

/* Set up G over [BASE, BASE + N_PAGES * PAGE_SIZE): every page unmapped. */
int hmi_growmap_init(struct hm_ctx *ctx, struct hmi_growmap *g, uint64_t base, size_t n_pages,
		     uint64_t page_size);
void hmi_growmap_release(struct hmi_growmap *g);
/* Pages [VA, VA + N * page_size) get IOVAs IOVA[0..N), or lose theirs (IOVA NULL). */
void hmi_growmap_set(struct hmi_growmap *g, uint64_t va, const uint64_t *iova, size_t n);
/* IOVA of VA in grown memory (HMI_NO_IOVA when not); *CONTIG as hmi_virt2iova. */
uint64_t hmi_growmap_virt2iova(const struct hmi_growmap *g, uint64_t va, uint64_t *contig);
/* VA of IOVA in grown memory, 0 when none: a scan of the area's pages. */
uint64_t hmi_growmap_iova2virt(const struct hmi_growmap *g, uint64_t iova);

/* Add [VA, VA+LEN) of PAGE_SIZE pages with IOVA[] (taken over; NULL: IOVA =
 * VA) to X, JOINING. -ENOSPC when the table is full. The caller checked
 * overlaps. */
int hmi_extmap_add(struct hm_ctx *ctx, struct hmi_extmap *x, uint64_t va, uint64_t len,
		   uint64_t page_size, uint64_t *iova);
/* Remove the range that starts at VA and is LEN long: 0, -ENOENT (no
 * message), or -ENOMEM. */
int hmi_extmap_remove(struct hm_ctx *ctx, struct hmi_extmap *x, uint64_t va, uint64_t len);
/* Writers (add, remove) take turns: a spin on a flag, as registration is rare. */
void hmi_extmap_lock(struct hmi_extmap *x);
void hmi_extmap_unlock(struct hmi_extmap *x);
/* Is exactly [VA, VA+LEN) registered? */
int hmi_extmap_has(const struct hmi_extmap *x, uint64_t va, uint64_t len);
/* With the writers' lock: the range registered as exactly [VA, VA+LEN) goes
 * from use FROM to TO. 0; -EBUSY when it is in another use (*NOW, may be
 * NULL, says which); -ENOENT when no range is registered so. */
int hmi_extmap_use(struct hmi_extmap *x, uint64_t va, uint64_t len, enum hmi_ext_use from,
		   enum hmi_ext_use to, enum hmi_ext_use *now);
/* The count hmi_extmap_add, _remove and _use bump. */
static inline uint32_t hmi_extmap_generation(const struct hmi_extmap *x)
{
	return atomic_load_explicit(&x->gen, memory_order_acquire);
}
/* Index of the range overlapping [VA, VA+LEN), or -1. */
int hmi_extmap_overlap(const struct hmi_extmap *x, uint64_t va, uint64_t len);
uint64_t hmi_extmap_virt2iova(const struct hmi_extmap *x, uint64_t va, uint64_t *contig);
uint64_t hmi_extmap_iova2virt(const struct hmi_extmap *x, uint64_t iova);
void hmi_extmap_release(struct hmi_extmap *x);

/* One context's finished memory as the layers from here up read it: the
 * segment table, translation and summary, and who holds it. mem/ owns it (in
 * struct hmi_mem) and points ctx->tab at it while the memory is held. */
struct hmi_segtab {
	struct hmi_seg *segs; /* ascending VA */
	size_t n_segs;
	struct hmi_xlate xlate;	 /* O(log n) translation over segs */
	struct hmi_growmap grow; /* pages grown since hm_init (n_pages 0: no growth) */
	/* a secondary of a growing primary: map what grew since (grow/share.c),
	 * called when a translation misses inside the growth area; NULL: none */
	int (*follow)(struct hm_ctx *ctx);
	struct hm_ctx *follow_ctx;
	struct hmi_extmap ext; /* hm_extmem_register's ranges */
	struct hm_layout_info info;
	char prefix[HM_PREFIX_MAX];
	unsigned long fork_gen; /* hmi_fork_generation in PID (the heap's fast paths read it:
				   a forked child has a copy of the table, not the memory) */
	pid_t pid;		/* the process that ran hm_init or hm_attach */
};

/* Is TAB another process's memory (this process is a child forked from the
 * one that holds it)? One load and a compare: the heap's fast paths ask. */
static inline int hmi_tab_inherited(const struct hmi_segtab *t)
{
	return t && __builtin_expect(t->fork_gen != hmi_fork_generation, 0);
}

/* -ECHILD naming FN: this context's memory is the parent's (layout/query.c). */
int hmi_err_inherited(struct hm_ctx *ctx, const char *fn);

#endif
