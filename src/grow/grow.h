/* SPDX-License-Identifier: MIT */
/*
 * grow/grow.h — memory that joins or leaves while the application runs
 * (docs/growth.md): growth units mapped into the window's growth area when
 * the heap or a zone cannot be served, handed back by a trim; the
 * memory-event callbacks told of both; external memory the application
 * registers. Below the heap, which asks for a unit and adds it as a region.
 */
#ifndef HM_GROW_H
#define HM_GROW_H

#include "base/ctx.h"
#include "layout/layout.h"
#include "pages/pages.h"

#include <pthread.h>

/* What hm_init sets growth up with (mem/init.c). */
struct hmi_grow_config {
	struct hmi_pageset *ps;		 /* the primary's page set: grown pages join it */
	uint64_t base, len;		 /* the growth area of the window */
	uint64_t max_bytes;		 /* --max-mem: all memory, start included (0: per node) */
	uint64_t node_max[HM_MAX_NODES]; /* --socket-max-mem: per node id (0: none there) */
	int per_node;
	uint64_t start_bytes[HM_MAX_NODES]; /* mapped at start, per node id */
	int iova_as_va;			    /* IOVA = VA: a unit needs no physical contiguity */
	/* allocated IOVAs (--iova-mode alloc): the start of the IOVA range the
	 * plan reserved for the area, and a grown page's IOVA is iova_base +
	 * (va - base); 0: none (IOVA = VA or PA, as iova_as_va says) */
	uint64_t iova_base;
};

/* A unit, as the heap sees it. */
struct hmi_unit_info {
	uint64_t va, len;
	int node;
};

/* Set growth up in CTX (ctx->grow, and the growth area's translation in
 * ctx->tab). */
int hmi_grow_setup(struct hm_ctx *ctx, const struct hmi_grow_config *cfg);
/* A secondary, before its window (and the arena in it) goes: give its
 * follower slot back. */
void hmi_grow_leave(struct hm_ctx *ctx);
/* Free the private state (the pages are the page set's, released with it). */
void hmi_grow_release(struct hm_ctx *ctx);

/* May CTX's memory grow (a growth area, and this process the one that set it up)? */
int hmi_grow_possible(const struct hm_ctx *ctx);
/* Node ids growth may use (bit per id): the heap gives each a node heap. */
uint64_t hmi_grow_nodes(const struct hm_ctx *ctx);
/* Regions growth may add at most: the heap's table is made that large. */
size_t hmi_grow_max_units(const struct hm_ctx *ctx);

/* Map a unit that holds at least BYTES on NODE, IOVA-contiguous, into the
 * growth area; its IOVAs join translation and the ALLOC callbacks have run
 * (none failed) when it returns 0. -ENOMEM naming the cap (--max-mem, the
 * node's, the pool, a cgroup), -EDEADLK from inside a callback; nothing
 * left mapped on failure. */
int hmi_grow_unit(struct hm_ctx *ctx, int node, uint64_t bytes, struct hmi_unit_info *u);

/* The processes besides this one that may map grown memory (mem/ names
 * the holders of the prefix's clients lock): N < 0 when they cannot all be
 * named (a trim then waits). */
struct hmi_followers {
	const pid_t *pids;
	int n;
};

/* The unit at VA (its start) is free in the heap and out of it: the FREE
 * callbacks run, then its pages go back to the pool (highest physical
 * address first, so the next growth gets them in ascending order) — at once
 * when no follower of F (NULL: none) may map it, else it retires: every
 * process unmaps it when it next looks (a heap call, a translation miss)
 * and hmi_grow_retired_finish gives it back once all have. 1 when given
 * back, 0 when retiring; a callback's refusal: -errno, the unit stays (the
 * caller puts its region back). */
int hmi_grow_give_back(struct hm_ctx *ctx, uint64_t va, const struct hmi_followers *f);
/* Give back every retiring unit that each follower of F has let go: the
 * count, their bytes added to *BYTES. */
int hmi_grow_retired_finish(struct hm_ctx *ctx, const struct hmi_followers *f, uint64_t *bytes);

/* This process's live units, for trim: up to MAX of them in *OUT, oldest
 * first; the count. */
size_t hmi_grow_units(struct hm_ctx *ctx, struct hmi_unit_info *out, size_t max);
/* The primary: the live units secondaries grew (in the shared table, not
 * its own), up to MAX in *OUT; the count. */
size_t hmi_grow_foreign_units(struct hm_ctx *ctx, struct hmi_unit_info *out, size_t max);
/* The primary, once the heap took the foreign unit at VA out: unmap it here
 * and retire it (its pages go, punched from the files this process shares
 * with its grower, once every secondary has let it go: the grower too, which
 * then forgets it). No callback runs: none ran here when it grew. 0 or
 * -errno. */
int hmi_grow_retire_foreign(struct hm_ctx *ctx, uint64_t va);
/* With the heap lock held (any process): does a keep or a dma-buf export
 * hold the unit at VA? */
int hmi_grow_held(const struct hm_ctx *ctx, uint64_t va);
/* With the heap lock held (any process): count a keep of (KEEP 1) or let go
 * of (0) every grown unit [VA, VA+LEN) touches; EXPORT: count a dma-buf
 * export instead (never let go of but to undo a failed export). 0; -ENOENT
 * naming the address when part of the growth area in the range holds no
 * live unit; -EINVAL letting go of a unit not kept. Nothing changes on an
 * error. */
int hmi_grow_keep(struct hm_ctx *ctx, uint64_t va, uint64_t len, int keep, int export);

/* ------------------------------------------------------------------ sharing (grow/share.c) */

/* Bytes of the shared table of the growth area (0: no growth), placed in
 * the arena by the heap (heap/arena.c). */
size_t hmi_grow_shared_size(const struct hm_ctx *ctx);
/* Primary: format the shared table at AT; from now on every unit that goes
 * live is written there for the secondaries. */
void hmi_grow_share(struct hm_ctx *ctx, void *at);
/* Primary, with the heap lock held: the unit at VA is in the heap as region
 * REGION (or, LIVE 0, out of it): write it in the shared table and bump the
 * generation. */
void hmi_grow_publish(struct hm_ctx *ctx, uint64_t va, uint32_t region, int live);
/* The shared generation (0 without a shared table). */
uint64_t hmi_grow_generation(const struct hm_ctx *ctx);

/* What a secondary keeps to follow growth (mem/attach.c): the primary's
 * backing descriptors by published index (memfds, single files; -1 none;
 * taken over), the mount (page files: opened by name and proved by inode),
 * the prefix. */
struct hmi_grow_follower {
	int *fds;
	int *nodes; /* each backing's node id */
	size_t n_fds;
	int dir_fd;	       /* -1: memfd backing */
	char dir[HM_PATH_MAX]; /* the primary's mount ("" for memfds) */
	enum hmi_backing_kind kind;
	char prefix[HM_PREFIX_MAX];
	uint32_t uid; /* the owner page files must have */
};
/* Secondary, before the arena opens: keep F (its descriptors are CTX's from
 * here on, closed by hmi_grow_release). */
int hmi_grow_follow_prepare(struct hm_ctx *ctx, const struct hmi_grow_follower *f);
/* Secondary, when the arena holds a shared table at AT of SIZE bytes:
 * check it against the published window [WBASE, WBASE+WLEN) and set up the
 * growth area's translation. -EPROTO naming what does not fit. */
int hmi_grow_follow(struct hm_ctx *ctx, const void *at, uint64_t size, uint64_t wbase,
		    uint64_t wlen);
/* Secondary: map what went live since the last call (and make inaccessible
 * what left), translation included. 1 when something changed, 0 when not,
 * -errno with a message when a page cannot be mapped. Any thread. */
int hmi_grow_sync(struct hm_ctx *ctx);
/* The live units of the shared table with their heap regions, up to MAX:
 * the count. REGIONS[i] the region index of OUT[i]. */
size_t hmi_grow_live_units(const struct hm_ctx *ctx, struct hmi_unit_info *out, uint32_t *regions,
			   size_t max);
/* Is CTX a secondary following a growing primary? */
int hmi_grow_following(const struct hm_ctx *ctx);

/* grow/events.c — the memory-event callbacks. Run them for EV over [VA,
 * VA+LEN) with no lock held, in registration order (FREE: reverse order);
 * an ALLOC refused by one undoes it (FREE to the ones before) and returns
 * its -errno with a message naming it. */
int hmi_events_run(struct hm_ctx *ctx, enum hm_mem_event ev, uint64_t va, uint64_t len);
/* The library's own callback NAME ("hugemem:..."), called before every
 * other for ALLOC and after every other for FREE. */
int hmi_events_add_first(struct hm_ctx *ctx, const char *name, hm_mem_event_fn *fn, void *arg);
/* Is this thread inside a callback of CTX? */
int hmi_events_inside(struct hm_ctx *ctx);
/* -EDEADLK with a message naming FN when this thread is inside a callback. */
int hmi_events_refuse_nested(struct hm_ctx *ctx, const char *fn);
void hmi_events_release(struct hm_ctx *ctx);

#endif
