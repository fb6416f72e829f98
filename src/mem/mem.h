/* SPDX-License-Identifier: MIT */
/*
 * mem/mem.h — the memory a process holds, as a primary (hm_init, mem/init.c) or a
 * secondary (hm_attach, mem/attach.c), and what both share: the segment table,
 * translation, the layout summary, release (hm_fini, hm_ctx_free).
 */
#ifndef HM_INIT_H
#define HM_INIT_H

#include "base/ctx.h"
#include "dma/dma.h"
#include "heap/heap.h"
#include "keeper/keeper.h"
#include "layout/layout.h"
#include "pages/pages.h"
#include "shconf/shconf.h"

struct hmi_mem {
	int secondary;		  /* 1: attached to another process's pages */
	struct hmi_pageset ps;	  /* primary: the kept pages, sorted by (node, iova), final VAs */
	struct hmi_segtab tab;	  /* segments, translation, summary, prefix, owner (layout/) */
	struct hmi_heapslot heap; /* the arena (heap/) */
	char dir[HM_PATH_MAX];	  /* the hugetlbfs mount of page files ("" for memfd/anon) */
	char rundir[HM_PATH_MAX]; /* the prefix's runtime directory */
	int lock_fd;		  /* primary: the prefix's liveness lock; secondary: its
				     read lock on the clients file; -1 when not held */
	int published;		  /* primary: DIR/layout written */
	int fresh_rundir;	  /* primary: hm_init made the runtime directory (nothing
				     of a dead primary in it to reclaim) */
	int record_fd;		  /* primary with files: the record of the files it
				     creates (hugedir/hugedir.h), -1 when none */
	struct hmi_fdserver *fds; /* primary: descriptor server (memfd, single files) */
	struct hmi_dma *dma;	  /* the IOMMU domain the segments are mapped in, or NULL */
	uint64_t window_base, window_len;
	struct hmi_keeper_conn
	    keeper; /* primary served by a keeper: its connection (sock -1: none) */
	struct hmi_keeper_lease lease;	    /* what it leased (mem/keeper.c) */
	char keeper_dir[HM_PATH_MAX];	    /* primary served by a keeper: its directory */
	uint64_t *backing_chunk;	    /* ... and each backing's chunk id (the layout's) */
	char keeper_line[HMI_ERR_MAX + 16]; /* hm_layout_info.keeper */
	int auto_trim;			    /* --auto-trim given: keep AUTO_TRIM_KEEP bytes free */
	uint64_t auto_trim_keep;	    /* (mem/growth.c) */
	char notes[HM_MAX_NOTES][256];
};

/* Start holding memory in CTX (hm_init, hm_attach): -EALREADY when it
 * does, else a zeroed state set in ctx->mem. */
int hmi_mem_begin(struct hm_ctx *ctx, int secondary, struct hmi_mem **out);

/* Finish hm_init / hm_attach: on failure release everything, keeping the
 * message of the cause, not of the clean-up; on success note the total
 * time since T0. Returns RC. */
int hmi_mem_end(struct hm_ctx *ctx, int rc, double t0);

/* Release everything the process holds (hm_fini, and hm_ctx_free). In a
 * forked child it only forgets the parent's memory: it frees this process's
 * copy of the tables and closes its copies of the descriptors, and touches no
 * page, file, lock or shared state (hmi_tab_inherited). */
int hmi_mem_release(struct hm_ctx *ctx);

/* Was M made by another process than this one (this is a child forked from
 * it)? The fork generation alone: one load, for the calls of every heap
 * operation. A child made by a raw clone or _Fork (no atfork handlers) is
 * not seen here; hm_fini and hm_ctx_free also compare the pid. */
/* Primary side of sharing (mem/attach.c): publish the layout (and serve memfd
 * descriptors); undo it at exit, first of all. */
int hmi_publish(struct hm_ctx *ctx, struct hmi_mem *m);
void hmi_unpublish(struct hm_ctx *ctx, struct hmi_mem *m);

/* Do secondaries still map the primary's pages? Then pages of memfds and
 * single files must not be punched out at exit. */
int hmi_secondaries_alive(struct hm_ctx *ctx, const struct hmi_mem *m);

/* Leave the prefix (hmi_mem_release, primaries and secondaries alike): drop
 * this process's hold (the primary's prefix lock, the secondary's clients
 * lock) under the runtime directory's exit lock, and when no other process
 * of the prefix is left, remove every file of the directory and the
 * directory itself: the last one out leaves nothing (docs/reliability.md 5). */
void hmi_rundir_leave(struct hm_ctx *ctx, struct hmi_mem *m);

/* A new primary's check of a dead one's runtime directory: refuse while its
 * secondaries live (naming them), else remove what it left. */
int hmi_runtime_reclaim(struct hm_ctx *ctx, struct hmi_mem *m);

/* rundir.c: BUF = M's runtime directory + "/" + NAME. */
int hmi_rundir_file(struct hm_ctx *ctx, const struct hmi_mem *m, const char *name, char *buf,
		    size_t len);

/* rundir.c: the pids (at most MAX) holding a read lock on M's clients file:
 * the secondaries still mapping the prefix's pages. Count, or -errno. */
int hmi_clients_holders(struct hm_ctx *ctx, const struct hmi_mem *m, pid_t *pids, int max);
/* Every holder, up to MAX: the count, or -1 when they cannot all be named. */
int hmi_clients_list(struct hm_ctx *ctx, const struct hmi_mem *m, pid_t *pids, int max);

/* A thing hm_init says once (hm_layout_info's notes): at most HM_MAX_NOTES. */
void hmi_mem_note(struct hmi_mem *m, const char *fmt, ...) HMI_PRINTF(2, 3);

/* growth.c: the bytes --max-mem / --socket-max-mem let M's memory grow by,
 * its growth area's length (0: no growth), or -errno naming the option that
 * asks for less than the start; before the segments are mapped for the
 * devices, so that allocated IOVAs reserve the area's range with theirs. */
int hmi_mem_growth_room(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hm_opts *o,
			uint64_t *room);

/* growth.c: --max-mem / --socket-max-mem, once the start memory is placed
 * (and mapped for the devices): reserve the growth area after the window,
 * set growth up (grown pages at the IOVAs the plan reserved, with allocated
 * IOVAs), register the DMA layer's memory-event callback. 0 when the
 * options ask for no growth. SI (may be NULL) for a note when the pool
 * holds less. */
int hmi_mem_growth_setup(struct hm_ctx *ctx, struct hmi_mem *m, const struct hm_opts *o,
			 const struct hm_sysinfo *si, int iova_as_va);
/* --auto-trim: once the heap exists, have frees that leave a grown unit
 * wholly free trim (mem/growth.c). */
void hmi_mem_auto_trim_setup(struct hm_ctx *ctx);

/* mem/keeper.c. Lease the memory hm_init would map from a running keeper,
 * in two halves: ask sends the request without waiting (1 when sent), take
 * reads the answer (1 when leased: pr->lease), so that hm_init takes its
 * prefix while the keeper works. Either returns 0 when the keeper does not
 * serve (why in pr->keeper_line), -errno when --keeper DIR was named and it
 * cannot or will not. */
int hmi_mem_keeper_ask(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o);
int hmi_mem_keeper_take(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o);
/* What was leased into pr->ps, not mapped yet (place_pages maps each run
 * once at its final address), IOVAs set, sorted. */
int hmi_mem_keeper_map(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o);
/* Close what is left of the lease, and the connection (the keeper takes the
 * chunks back). */
void hmi_mem_keeper_end(struct hmi_mem *pr);
/* A secondary of a primary a keeper served (SC names the keeper): FETCH
 * the primary's memfds from the keeper by chunk id into FDS (at their
 * backing's index); this process then holds the chunks too, so the memory
 * stays while any process of the prefix holds it (the connection stays open
 * until hm_fini). 0, or the keeper's refusal, named. */
int hmi_mem_keeper_fetch(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc,
			 int *fds);

#define HMI_CLIENTS_FILE "clients" /* secondaries hold a read lock on it */

#endif
