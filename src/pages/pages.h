/* SPDX-License-Identifier: MIT */
/*
 * pages/pages.h — internal interface of the pages layer (steps B1-B4 and B7 of
 * docs/design.md): backing objects, mapping and faulting pages in on the node
 * they are wanted on without ever dying of SIGBUS, reading each page's
 * physical address and node, moving pages to their final addresses, and
 * giving pages back to the pool in a chosen order.
 *
 * A page set owns every mapping and backing object it creates; releasing it
 * (hmi_pageset_release) leaves nothing mapped and no file behind.
 */
#ifndef HM_PAGES_H
#define HM_PAGES_H

#include "base/ctx.h"
#include "sys/pagemap.h"

#include <stddef.h>
#include <sched.h>
#include <stdint.h>

/* One mapped hugepage (all pages of one call share one page size). */
struct hmi_page {
	uint64_t iova;	  /* physical address, or the VA in IOVA-as-VA mode */
	uint64_t va;	  /* where the first mapping put it (0 before remap) */
	int node;	  /* NUMA node id */
	uint32_t backing; /* index of its backing object (file or memfd) */
	uint64_t offset;  /* offset in that backing object */
};

enum hmi_backing_kind {
	HMI_BACK_PAGE_FILES = 0, /* one file per page: <dir>/<prefix>map_<n> */
	HMI_BACK_SINGLE_FILE,	 /* one file per node: <dir>/<prefix>map_<size>_<node> */
	HMI_BACK_MEMFD,		 /* one memfd (MFD_HUGETLB) per node, no mount needed */
	HMI_BACK_ANON,		 /* --no-huge: anonymous 4 KiB memory, IOVA = VA */
};

/* One backing object: a page file, a node's single file or memfd. */
struct hmi_backing {
	enum hmi_backing_kind kind;
	int node;
	int fd;		   /* open for single files and memfds (one per node), -1 for page files */
	char *path;	   /* NULL for memfd and anon */
	uint64_t size;	   /* bytes of the object (file length) */
	uint64_t dev, ino; /* files: the inode created (fstat), what proves a name is ours */
	uint32_t uid;	   /* files: its owner */
};

struct hmi_pageset {
	enum hmi_backing_kind kind;
	uint64_t page_size;
	const char *dir;	/* hugetlbfs mount (file kinds); not owned */
	const char *prefix;	/* file prefix; not owned */
	int unlink_files;	/* --huge-unlink: unlink page files once mapped */
	int threads;		/* fault-in threads (0 = one per online CPU, at most 8) */
	struct hmi_page *pages; /* va = current mapping, iova/node after the lookups */
	size_t n, cap;
	struct hmi_backing *backings;
	size_t n_backings, cap_backings;
	uint64_t next_file;	    /* next <n> of page files */
	struct hmi_pagemap pagemap; /* one open descriptor for every lookup, fd -1 until needed */
	int pa_missing;		    /* pagemap gave PFN 0 for a present page: no CAP_SYS_ADMIN */
	uint64_t hint_va;	    /* where the next map call tries to go first (0: anywhere);
				       each call that lands there moves it past its pages
				       and one guard page */
	uint64_t hint_end;	    /* the end of the last range mapped at the hint (0: none) */
	uint64_t unmapped_lo;	    /* [lo, hi): unmapped as a whole by the owner (the window,
				       one munmap and one TLB flush): a release skips the
				       munmap of pages inside it (0, 0: none) */
	uint64_t unmapped_hi;	    /* (the end of that range) */
	int shared_out;		    /* secondaries map these pages: releasing a page of a single
				       file or memfd only unmaps it (punching it out would take
				       it from under them); the last mapping frees it */
	int dir_fd;		    /* files: DIR, opened on first use; every file is created,
				       checked and removed relative to it (-1 until then) */
	int record_fd;		    /* files: the prefix's record of the files it creates
				       (hugedir/hugedir.h, hmi_record_*), -1 for none; not owned */
};

/* flock(FD, LOCK_SH) without blocking: retried for up to 100 ms while a
 * cleaner's probing LOCK_EX is in the way, then -EBUSY naming PATH. */
int hmi_flock_shared(struct hm_ctx *ctx, int fd, const char *path);

/* Set up an empty page set. DIR may be NULL for memfd and anon. */
void hmi_pageset_init(struct hmi_pageset *ps, enum hmi_backing_kind kind, uint64_t page_size,
		      const char *dir, const char *prefix);

/* Map and fault in COUNT more pages bound to NODE (node id; -1 = no
 * binding), appending them to ps->pages with their first-mapping VAs.
 * Every mapping gets MADV_DONTFORK; page files get a shared flock kept by
 * the mapping (their descriptors are closed at once: descriptors stay
 * bounded whatever COUNT is). Faulting uses MADV_POPULATE_WRITE, in parallel
 * threads over large counts; a short pool or a hugetlb cgroup cap is
 * -ENOMEM with a message saying how many pages were got and that the pool
 * or a cgroup refused (the caller adds which cap it knows of), never
 * SIGBUS; on any failure the pages of THIS call are all given back (no
 * file left) and the set is as before. */
int hmi_pages_map(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count);

/* As hmi_pages_map, at VA: a range of the caller's own reserved window
 * (inaccessible), which the pages replace with MAP_FIXED; on failure the
 * range is made inaccessible again (no hole). The pages then sit at VA,
 * VA + page size, ... in the order they were faulted: where grown memory
 * goes (grow/), with no move when they come physically contiguous. */
int hmi_pages_map_in_window(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count,
			    uint64_t va);

/* Make the hugepages mapped at [BASE, BASE+LEN) the process's own before
 * any of them faults in: MADV_DONTFORK (a child must not keep the pages or
 * copy-on-write them away from their physical addresses), then mbind to NODE
 * alone (-1: no binding; node 0 on a kernel without NUMA is no binding
 * either). 0 or -errno with a message. hmi_pages_map and pool order use it. */
int hmi_range_bind(struct hm_ctx *ctx, void *base, uint64_t len, int node);

/* Fault in the COUNT pages of PAGE_SIZE at BASE with MADV_POPULATE_WRITE,
 * split over THREADS threads (at most 64; 0 = 1), which zero in parallel,
 * each pinned to a CPU of the caller's affinity (hmi_worker_cpu) while the
 * caller waits; one thread is the caller itself:
 * unlike touching the memory, a short pool, node or cgroup limit is an error
 * (-EFAULT, -ENOMEM, -EHWPOISON), never SIGBUS, and -EINVAL means a kernel
 * before 5.14. *GOT = pages faulted in. 0 or the first -errno, without a
 * message: the caller knows what the pages are for. */
int hmi_populate(char *base, size_t count, uint64_t page_size, size_t threads, size_t *got);

/* The CPU hmi_populate's worker NTH is pinned to: the NTH of ALLOWED (the
 * calling thread's affinity) in CPU order from the one after CALLER_CPU (the
 * caller's, -1 = none), wrapping round and modulo their number: the
 * caller's own CPU comes last, free once the caller waits for the workers.
 * -1 when ALLOWED is empty (then the worker is not pinned). */
int hmi_worker_cpu(const cpu_set_t *allowed, int caller_cpu, size_t nth);

/* Seal every memfd of PS against shrinking (F_SEAL_SHRINK) once its size is
 * final: /dev/udmabuf turns only such a memfd into a dma-buf. Growing stays
 * allowed; a rollback by truncation is not, so call it when the set is
 * complete. */
int hmi_pageset_seal(struct hm_ctx *ctx, struct hmi_pageset *ps);

/* A node's single file or memfd another process made (a secondary's, from
 * the descriptor it received or opened): append it as a backing of PS with
 * FD (PS's now). Growing it maps at the end of the file (hmi_pageset_refresh
 * first: other processes grow it too). */
int hmi_pageset_adopt(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, int fd);

/* Read each node file's or memfd's size again (other processes of the
 * prefix may have grown it): where the next pages of it go. */
int hmi_pageset_refresh(struct hm_ctx *ctx, struct hmi_pageset *ps);

/* Fill pages[from..n).iova from ROOT/proc/self/pagemap (one descriptor).
 * When a present page reads PFN 0 (no CAP_SYS_ADMIN), set ps->pa_missing
 * and use the VA as IOVA for every page; so does IOVA_AS_VA. */
int hmi_pages_iova(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from, int iova_as_va);

/* Fill pages[from..n).node with one move_pages(2) call (NULL node list);
 * pages it cannot answer for fall back to get_mempolicy(MPOL_F_NODE |
 * MPOL_F_ADDR). */
int hmi_pages_numa(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t from);

/* Add the first COUNT pages of object B, which the set adopted already
 * faulted (hmi_pageset_adopt: a pool keeper's memfd), as pages of B's node
 * with offsets from 0, NOT mapped (VA 0): hmi_pages_move maps each run of
 * them once, at its final address; their IOVAs are the caller's to set.
 * Nothing is mapped, faulted or zeroed here. */
int hmi_pages_add_adopted(struct hm_ctx *ctx, struct hmi_pageset *ps, uint32_t b, size_t count);
/* Reserve [BASE, BASE+LEN) as an inaccessible window with
 * MAP_FIXED_NOREPLACE; -EEXIST naming the range when something is there. */
int hmi_window_reserve(struct hm_ctx *ctx, uint64_t base, uint64_t len);

/* Move page I to NEW_VA (inside a reserved window) without copying it: the
 * physical page stays (mremap for a page file, mapping the file page again
 * for a single file or memfd: see pages/pages.c on why); its first mapping is gone
 * afterwards. Updates pages[i].va. */
int hmi_page_move(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, uint64_t new_va);

/* Move pages I .. I+N-1, whose current VAs follow each other, to NEW_VA ..
 * in one call when they are one mapping (a single file's or memfd's pages at
 * consecutive offsets: an ordered pool, faulted in order, gives such
 * stretches; anonymous memory), else page by page as hmi_page_move. */
int hmi_pages_move(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n, uint64_t new_va);

/* Give pages back to the pool, in the order ORDER[0..count) (indices into
 * pages): unmap them all (as few munmap calls as their VAs allow), then
 * unlink each page file or punch each page out of the single file / memfd
 * in that order, so that the kernel's LIFO free list ends up in the reverse
 * of it. The pages stay in
 * ps->pages with va = 0; hmi_pageset_compact drops them. */
int hmi_pages_release(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order,
		      size_t count);

/* As hmi_pages_release, for pages inside a reserved window: each page's
 * range becomes an inaccessible reservation again in the same call that
 * drops the mapping, so the window never has a hole (grown memory given
 * back, grow/). */
int hmi_pages_release_in_window(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order,
				size_t count);

/* Drop released pages (va == 0) from ps->pages, keeping the order of the
 * rest. */
void hmi_pageset_compact(struct hmi_pageset *ps);

/* Release every page still held (in ps->pages order), close and remove
 * every backing object, free the arrays. Never fails half-way: errors are
 * recorded in ctx and the first one returned, but everything is attempted. */
int hmi_pageset_release(struct hm_ctx *ctx, struct hmi_pageset *ps);

/* A forked child's copy of its parent's page set: close the copies of the
 * descriptors and free the arrays. No page is unmapped, punched or unlinked,
 * no lock touched (closing a copy drops no flock: the parent's descriptor
 * keeps the open file). */
void hmi_pageset_forget(struct hmi_pageset *ps);

#endif
