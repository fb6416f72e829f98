/* SPDX-License-Identifier: MIT */
/*
 * grow/state.h — between the files of grow/ only: a context's growth state
 * and the table of the growth area that secondaries read (in the arena).
 */
#ifndef HM_GROW_STATE_H
#define HM_GROW_STATE_H

#include "grow/grow.h"

#include <stdatomic.h>

#define MAX_UNITS 4096 /* units alive at once (each is a heap region and a DMA mapping) */

/* ADDING: mapped, not in the heap yet (or on its way out: its FREE
 * callbacks run); RETIRING: out of the heap, still mapped in secondaries
 * that have not looked since: its pages go once every one has. */
enum unit_state { UNIT_ADDING = 1, UNIT_LIVE, UNIT_RETIRING };

struct unit {
	uint64_t va, len;
	int node;
	int state;
	uint64_t retire_gen; /* RETIRING: the generation each secondary must have seen */
};

struct hmi_grow {
	pthread_mutex_t lock;	    /* units, bytes, the page set; a follower's sync */
	struct hmi_grow_config cfg; /* the primary's (cfg.ps NULL in a follower) */
	pid_t pid;
	struct unit *units;
	size_t n_units, cap_units;
	struct hmi_gshared *shared; /* the table in the arena, NULL before the arena */
	/* a secondary's: what it maps grown pages from, and the generation it saw */
	struct hmi_grow_follower follow;
	int following;
	uint64_t seen_gen;
	struct hmi_pageset *own_ps; /* a secondary's page set over the primary's files */
	int slot;		    /* a secondary's follower slot in the shared table, -1 none */
	/* the primary's: units secondaries grew that a trim retires (trim.c) */
	struct foreign {
		uint64_t va, len, retire_gen;
		int node;
	} * foreign;
	size_t n_foreign, cap_foreign;
};

/* One page of the growth area as every process of the prefix sees it, in
 * the arena. Written by the primary; LIVE last (release), when the unit is
 * in the heap. Read by secondaries, every field checked before use. */
enum {
	GPAGE_FREE = 0,
	GPAGE_LIVE = 1,
	GPAGE_BUSY = 2,	    /* being added, or on its way out: its owner decides */
	GPAGE_RETIRING = 3, /* out of the heap: every process unmaps it, then it goes */
};

struct hmi_gpage {
	_Atomic uint32_t live; /* GPAGE_*: secondaries map LIVE pages only */
	int32_t node;
	uint32_t backing;  /* memfds, single files: the published backing's index */
	uint32_t region;   /* the unit's first page: its heap region's index + 1; else 0 */
	uint64_t unit_len; /* the unit's first page: its length; else 0 */
	/* the unit's first page: hm_mem_keep's count, and the dma-buf exports
	 * of it (kept for good: no one can tell when a dma-buf is gone) */
	_Atomic uint32_t keeps, exported;
	uint64_t iova;
	uint64_t offset;   /* in the backing (memfds, single files) */
	uint64_t file_no;  /* page files: the N of <prefix>map_N */
	uint64_t dev, ino; /* page files: the file the primary made */
};

#define HMI_GSHARED_MAGIC  0x48574f524720484dULL /* "HM GROWH" */
#define HMI_GROW_FOLLOWERS 256			 /* secondaries at once that follow growth */

/* A secondary's slot: the generation whose state its mappings match. A
 * trim gives a unit's pages back once every live secondary has seen the
 * generation that retired it (it unmapped the unit then). */
struct hmi_gfollower {
	_Atomic int32_t pid; /* 0: free */
	uint32_t pad;
	_Atomic uint64_t seen;
};

struct hmi_gshared {
	uint64_t magic;
	_Atomic uint64_t gen; /* bumped after every change of LIVE */
	uint64_t base, n_pages, page_size;
	/* growth from any process of the prefix: one at a time (robust, shared),
	 * the caps and what is mapped, per node id and in all, start included */
	pthread_mutex_t lock;
	uint64_t max_bytes, node_max[HM_MAX_NODES];
	uint64_t bytes[HM_MAX_NODES], total;
	uint64_t nodes; /* node ids that may grow, a bit per id */
	int32_t per_node, iova_as_va;
	struct hmi_gfollower follower[HMI_GROW_FOLLOWERS];
	struct hmi_gpage page[];
};

static inline uint64_t hmi_node_bit(int node)
{
	return node >= 0 && node < 64 ? 1ULL << node : 0;
}

/* share.c: take / drop the shared growth lock (a holder that died: its
 * reservations stay reserved, the rest goes on). */
int hmi_gshared_lock(struct hm_ctx *ctx, struct hmi_gshared *t);
void hmi_gshared_unlock(struct hmi_gshared *t);

/* share.c: the primary writes pages [FROM, FROM+N) of its set, now at VA..,
 * into the shared table (not live yet). */
void hmi_grow_record_pages(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t va, size_t from,
			   size_t n);

/* grow.c, under both growth locks: unit U is out (its FREE callbacks ran):
 * unmap it and give its pages back. */
int hmi_grow_remove_unit(struct hm_ctx *ctx, struct hmi_grow *g, struct unit *u);
struct unit *hmi_grow_unit_at(struct hmi_grow *g, uint64_t va);
/* Mark pages [VA, VA+LEN) of the shared table STATE (GPAGE_*), with the
 * shared lock held. */
void hmi_grow_mark(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t va, uint64_t len,
		   uint32_t state);
int hmi_grow_lock_both(struct hm_ctx *ctx, struct hmi_grow *g);
void hmi_grow_unlock_both(struct hmi_grow *g);
/* share.c: a secondary takes a follower slot (with the generation now), or
 * gives it back. */
int hmi_grow_follower_join(struct hm_ctx *ctx, struct hmi_grow *g);
void hmi_grow_follower_leave(struct hmi_grow *g);
/* share.c: has every secondary of PIDS[0..N) seen generation GEN (each
 * has a slot, and its mappings match GEN or later)? */
int hmi_grow_followers_saw(const struct hm_ctx *ctx, const pid_t *pids, int n, uint64_t gen);
/* The shared table's entry of the first page of the unit at VA (NULL: VA
 * starts no unit there). */
struct hmi_gpage *hmi_grow_unit_entry(const struct hm_ctx *ctx, uint64_t va);

#endif
