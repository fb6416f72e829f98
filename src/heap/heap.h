/* SPDX-License-Identifier: MIT */
/*
 * heap/heap.h — internal interface of the heap and zone layer (docs/design.md D).
 *
 * Three parts, one file each:
 *   heap/heap.c        the shared allocator: boundary-tag blocks carved from
 *                 regions (one per segment), TLSF free lists per NUMA node,
 *                 the robust process-shared lock and its recovery;
 *   heap/check.c  the invariant checker, the repair that rebuilds free lists
 *                 from the blocks, statistics;
 *   heap/cache.c  the process-private cache of small blocks and the public
 *                 hm_malloc family;
 * and, on top, heap/arena.c (where the shared state lives: the start of segment 0,
 * found by secondaries at the same address), heap/memzone.c (named zones)
 * and heap/extview.c, heap/extheap.c (external heaps).
 *
 * Shared state (struct hmi_heap, blocks, zone table) holds absolute virtual
 * addresses: every process of a prefix maps the memory at the same ones.
 * Private state (struct hmi_heap_view: the region table, the cache) is built
 * by each process from its own copy of the segment table, identical in all.
 */
#ifndef HM_HEAP_H
#define HM_HEAP_H

#include "base/ctx.h"
#include "layout/layout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct hmi_arena_hdr;
struct hmi_zone_table;

/* ------------------------------------------------------------------ blocks */

#define HMI_BLK_HDR   32ULL /* header bytes before every payload */
#define HMI_BLK_ALIGN 64ULL /* block sizes are multiples; payloads are aligned to it */
#define HMI_BLK_MIN   64ULL /* smallest block: header + two free-list links */
#define HMI_BLK_USED  1ULL  /* bit 0 of hmi_blk.size */

/* A block header. Blocks start 32 bytes before a multiple of 64, so that
 * every payload is 64-byte aligned. SIZE (flags in bit 0) is authoritative:
 * a region's blocks are found by following sizes from its first block;
 * PREV_SIZE is derived from them (and rebuilt by the repair). */
struct hmi_blk {
	uint64_t size;	    /* whole block, header included | HMI_BLK_USED */
	uint64_t prev_size; /* size of the block just before; 0 for a region's first */
	uint32_t tag;	    /* hmi_blk_tag(address): tells a header from other bytes */
	int16_t node;	    /* NUMA node of the region */
	uint8_t cached;	    /* 1 while parked in a process's private cache */
	uint8_t zone;	    /* 1 when a memzone owns it (hm_free ignores it) */
	uint64_t reserved;
};

/* A free block's links to its free-list neighbours (absolute VAs, 0 = none),
 * in its payload. */
struct hmi_links {
	uint64_t next, prev;
};

static inline struct hmi_links *hmi_heap_links(uint64_t b)
{
	return (struct hmi_links *)(uintptr_t)(b + HMI_BLK_HDR);
}

static inline uint32_t hmi_blk_tag(uint64_t addr)
{
	return (uint32_t)(addr >> 5) * 2654435761u ^ 0x484d424cu;
}

static inline struct hmi_blk *hmi_blk_at(uint64_t addr)
{
	return (struct hmi_blk *)(uintptr_t)addr;
}

static inline uint64_t hmi_blk_size(const struct hmi_blk *b)
{
	return b->size & ~HMI_BLK_USED;
}

/* Block size that holds SIZE payload bytes; 0 when SIZE is absurd. */
static inline uint64_t hmi_blk_for(uint64_t size)
{
	if (size > (1ULL << 50))
		return 0;
	return (size + HMI_BLK_HDR + HMI_BLK_ALIGN - 1) & ~(HMI_BLK_ALIGN - 1);
}

/* ------------------------------------------------------------------ shared heap */

#define HMI_SL_LOG2  4 /* 16 lists per power of two */
#define HMI_SL_COUNT (1 << HMI_SL_LOG2)
#define HMI_FL_SHIFT 10 /* log2(SL_COUNT * BLK_ALIGN): below 1 KiB, one list per 64 bytes */
#define HMI_FL_COUNT 42 /* blocks up to 2^51 bytes */

/* One NUMA node's heap: TLSF lists over the free blocks of its regions. */
struct hmi_heap_node {
	int32_t node;
	uint32_t sl_map[HMI_FL_COUNT];
	uint64_t fl_map;
	uint64_t heads[HMI_FL_COUNT][HMI_SL_COUNT]; /* first free block's VA, 0 = empty */
	uint64_t total;				    /* bytes of its regions' blocks */
	uint64_t free_bytes, free_blocks;
	uint64_t used_bytes, used_blocks;
	uint64_t allocs, frees; /* blocks given out by / returned to this node's lists */
};

#define HMI_HEAP_MAGIC 0x50414548494d48ULL /* "HMIHEAP" */

/* External heaps (heap/extview.c): heap K is node slot n_nodes + K, its one
 * region the view's cap_regions + K, its socket id HM_EXT_SOCKET_BASE + K. */
#define HMI_EXT_HEAPS HM_EXT_HEAP_MAX
_Static_assert(HMI_EXT_HEAPS <= 32, "a view keeps the external heaps in 32-bit masks");

/* An external heap as every process of the prefix sees it, under the heap
 * lock; read by a copy, every field checked before use. */
struct hmi_ext_heap {
	uint32_t live;	  /* 1: a heap over [va, va + len); 0: a free entry */
	uint32_t suspect; /* a dead holder's repair could not check it (the repairing
			     process did not map it): the next process that does checks it */
	int32_t owner;	  /* the pid that added it (for messages) */
	uint32_t reserved;
	uint64_t va, len; /* the range registered with hm_extmem_register */
};

/* The shared part: lock, node heaps, and per region the high-water mark
 * below which memory may hold old data (above it: still as the kernel
 * zeroed it, so hm_zmalloc and zones need not clear it). NODES holds the
 * n_nodes node heaps, then HMI_EXT_HEAPS external heaps, then max_regions +
 * HMI_EXT_HEAPS high-water marks (the external regions' last). */
struct hmi_heap {
	uint64_t magic;
	pthread_mutex_t lock; /* process-shared, robust */
	uint32_t broken;      /* 1: a dead holder left it beyond repair */
	uint32_t n_nodes, n_regions;
	uint32_t max_regions;	    /* high-water marks there is room for (growth adds regions) */
	int16_t slot[HM_MAX_NODES]; /* node id -> nodes[] index, -1 = none */
	_Atomic uint64_t bad_frees; /* hm_free calls ignored, every process */
	uint64_t recoveries;	    /* times a caller found the holder dead */
	uint64_t repairs;	    /* of them, the free lists needed rebuilding */
	uint64_t ext_gen;	    /* bumped by every change of EXT */
	struct hmi_ext_heap ext[HMI_EXT_HEAPS];
	struct hmi_heap_node nodes[]; /* see above */
};

/* N_NODES: the caller's own count (never the shared one, which a stray
 * write may change). */
static inline uint64_t *hmi_high_water(struct hmi_heap *h, uint32_t n_nodes)
{
	return (uint64_t *)(void *)&h->nodes[n_nodes + HMI_EXT_HEAPS];
}

/* A region: one segment's (or one growth unit's) blocks, [first, end); END
 * holds a 32-byte sentinel header (size 0, in use). Private: the regions of
 * hm_init's segments sorted by address, then those growth added, in the
 * order they came (a given-back one has FIRST == END == 0 until its slot is
 * reused). A region's index is also its high-water mark's. */
struct hmi_region {
	uint64_t first, end;
	int node;
	int slot;
};

/* ------------------------------------------------------------------ the private view */

#define HMI_CACHE_CLASSES 65	/* block sizes 64 .. 4160 bytes (4 KiB payload) */
#define HMI_CACHE_BYTES	  32768 /* per class and node */
#define HMI_CACHE_MAX	  64	/* blocks per class and node */

/* N is written by the owning thread only and read by statistics from
 * others: relaxed atomic accesses (plain moves), through hmi_cls_set. */
struct hmi_cache_class {
	uint32_t n, cap;
	uint64_t blk[HMI_CACHE_MAX]; /* block VAs, LIFO */
};

static inline void hmi_cls_set(struct hmi_cache_class *cl, uint32_t n)
{
	__atomic_store_n(&cl->n, n, __ATOMIC_RELAXED);
}

/* Counters of one thread's use of one node (read by hm_heap_stats from
 * another thread: relaxed atomics, written by their owner only). The bytes
 * it caches are counted from the classes. */
struct hmi_counters {
	_Atomic uint64_t allocs, frees;
};

/* One thread's cache: per node slot, the classes and the counters. Only its
 * thread touches CLS (and hm_fini, once threads are done). */
struct hmi_tcache {
	struct hmi_heap_view *v;
	struct hmi_tcache *next, *prev; /* the view's registry */
	struct hmi_tslot {
		struct hmi_cache_class cls[HMI_CACHE_CLASSES];
		struct hmi_counters c;
	} slot[]; /* h->n_nodes */
};

/* How one context sees a shared heap. Each thread that calls the heap gets
 * its own cache (a pthread key of the view); the registry lists them so
 * that statistics can sum them and release can flush them. */
struct hmi_heap_view {
	struct hmi_heap *h;
	struct hmi_region *regions;
	size_t n_regions; /* slots in use (given-back ones included) */
	size_t n_sorted;  /* the first ones, hm_init's, sorted: binary search */
	size_t cap_regions;
	/* Private copies, derived from the regions and checked against the shared
	 * header once: what indexes anything is never read from shared memory. */
	uint32_t n_nodes;
	int16_t slot[HM_MAX_NODES]; /* node id -> slot, -1 = none */
	uint64_t max_blocks;	    /* bound of any walk: region bytes / HMI_BLK_MIN */
	/* Process-local and sticky: once this process has seen the shared state
	 * damaged, every call fails, whatever the shared state says later. */
	int damaged;
	int damage_claimed;
	char damage[200]; /* what was found (written once, before DAMAGED) */
	uint64_t lo, hi;  /* bounds of all regions: a quick "not ours" */
	uint64_t max_align;
	uint32_t *rmap;	    /* per page from RMAP_BASE: region index + 1, 0 = none */
	uint64_t rmap_base; /* NULL RMAP (too many pages): binary search */
	size_t rmap_n;
	int rmap_shift;	   /* log2 of the page size */
	pthread_key_t key; /* this thread's struct hmi_tcache */
	int has_key;
	pthread_mutex_t reg_lock; /* guards CACHES and GONE */
	struct hmi_tcache *caches;
	struct hmi_counters *gone; /* per slot: what exited threads counted */
	unsigned long fork_gen;	   /* hmi_fork_generation when made: a forked
				      child's thread exit leaves the heap alone */
	struct hm_ctx *follow;	   /* a secondary of a growing primary: its context, whose
				      grown units the view follows (heap/growth.c); NULL: none */
	uint64_t grow_gen;	   /* the growth generation the regions match */
	/* automatic trim (mem/growth.c, --auto-trim): called after a free left a
	 * grown region wholly free (UNIT_FREE set under the lock), with no lock */
	void (*on_unit_free)(struct hm_ctx *ctx);
	atomic_int unit_free;
	/* External heaps (heap/extview.c), bit K for heap K. Written with the
	 * heap lock held; EXT_HERE is read without it (hmi_region_find). */
	uint32_t ext_here;	   /* this process maps it: region cap_regions + K is its */
	uint32_t ext_known;	   /* it is live (EXT_RANGE[K]), mapped here or not */
	uint32_t ext_own;	   /* this context added it */
	uint64_t ext_gen;	   /* the shared ext_gen the bits match */
	uint32_t ext_local;	   /* and EXTMAP's generation */
	struct hmi_extmap *extmap; /* this process's registered ranges (NULL: none) */
	struct {
		uint64_t va, len;
	} ext_range[HMI_EXT_HEAPS];
	struct hmi_counters ext_count[HMI_EXT_HEAPS]; /* this context's calls (no cache) */
};

/* After a free, with no lock held: run V's automatic trim when a grown
 * region went wholly free (heap/heap.c marks it). */
void hmi_heap_after_free(struct hm_ctx *ctx, struct hmi_heap_view *v);

/* This thread's cache of V (made on first use); NULL when out of memory:
 * the caller goes to the shared heap. */
struct hmi_tcache *hmi_tcache(struct hmi_heap_view *v);

/* Sum of every thread's counters for node SLOT. */
void hmi_view_counters(struct hmi_heap_view *v, int slot, uint64_t *cached, uint64_t *allocs,
		       uint64_t *frees);

static inline void hmi_count(_Atomic uint64_t *c, int64_t delta)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint64_t)delta,
			      memory_order_relaxed);
}

/* Bytes of shared state for N_NODES node heaps and N_REGIONS regions. */
size_t hmi_heap_size(size_t n_nodes, size_t n_regions);

/* Room for regions growth adds while the application runs (grow/); NULL or
 * zeroed: none. */
struct hmi_heap_room {
	size_t max_regions; /* regions that may be added */
	uint64_t nodes;	    /* node ids (bit per id) that may grow, with memory now or not */
	uint64_t end;	    /* the end of the highest address an added region may reach */
};

/* Regions from SEGS: segment I's range, minus the first SKIP bytes of
 * segment 0 (the arena), trimmed to block alignment; segments too small for
 * a block are left out. *OUT malloc'd, *N set. */
int hmi_regions_from_segs(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n_segs,
			  uint64_t skip, struct hmi_region **out, size_t *n);
/* The region [START, END) holds: its first block's and its sentinel's
 * addresses (a growth unit's region, as every process computes it); -1 when
 * it is too small for a block. */
int hmi_region_of(uint64_t start, uint64_t end, uint64_t *first, uint64_t *last);

/* Format a new heap at H (hmi_heap_size bytes) over REGIONS (node slots
 * assigned here): one free block per region, lock initialised. ZEROED: the
 * regions' memory is known to be zero. */
int hmi_heap_format(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *regions, size_t n,
		    int zeroed, const struct hmi_heap_room *room);

/* Check H's header against REGIONS (secondary side), allowing up to
 * GROWN_MAX regions growth added. */
int hmi_heap_adopt(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *regions, size_t n,
		   size_t grown_max);

/* Set up V over H and REGIONS (V keeps REGIONS: it frees them in release);
 * MAX_ALIGN: largest alignment accepted (the page size). */
int hmi_view_init(struct hm_ctx *ctx, struct hmi_heap_view *v, struct hmi_heap *h,
		  struct hmi_region *regions, size_t n, uint64_t max_align,
		  const struct hmi_heap_room *room);

/* With the lock held: add [FIRST, END) on NODE (a growth unit, block-aligned
 * as hmi_regions_from_segs makes them) as a region of one free block, clean:
 * its index, or -ENOSPC / -ENOENT (no room in the table, no heap for NODE)
 * with a message. */
int hmi_heap_add_region(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t first, uint64_t end,
			int node);
/* A secondary's view: region I is [FIRST, END) on NODE, or (FIRST 0) none;
 * nothing shared is written (the primary formatted the region). */
void hmi_view_set_region(struct hmi_heap_view *v, size_t i, uint64_t first, uint64_t end, int node);
/* A secondary, with the lock held: make the view's grown regions those of
 * the shared table (grow/share.c) when its generation moved: pages mapped
 * first, then regions tracked or dropped. 0 or -errno with a message. */
int hmi_heap_follow(struct hm_ctx *ctx, struct hmi_heap_view *v);
/* heap/growth.c, without the lock: the heap has no room for BYTES (a block
 * size) at ALIGN on NODE: grow the memory by a unit that holds them and add
 * it as a region; the caller tries again. -errno with a message that says
 * FN found no room and why growing failed (the cap). */
int hmi_heap_grow(struct hm_ctx *ctx, struct hmi_heap_view *v, const char *fn, int node,
		  uint64_t bytes, uint64_t align);

/* With the lock held: take the region that starts at FIRST out of the heap
 * when it is one free block (1), else leave it (0). */
int hmi_heap_take_region(struct hmi_heap_view *v, uint64_t first);
/* With the lock held: is the grown region at FIRST one free block? */
int hmi_heap_region_free(struct hmi_heap_view *v, uint64_t first);

/* ------------------------------------------------------------------ external heaps */

/* heap/heap.c, with the lock held: format external heap K over [FIRST, END)
 * (hmi_region_of of its range): an empty node heap, one free block, every
 * byte counted as written (the application's memory). The view's region is
 * the caller's to set. */
void hmi_heap_ext_format(struct hmi_heap_view *v, int k, uint64_t first, uint64_t end);
/* heap/heap.c, with the lock held: take external heap K's region out of it
 * when it is one free block (1), else leave it (0). */
int hmi_heap_ext_take(struct hmi_heap_view *v, int k);

/* heap/extview.c, with the lock held: make the view's external heaps those
 * of the shared table, mapped here when this process registered their
 * ranges (held from then on). 0; 1 when a heap now mapped here was left
 * unchecked by a dead holder's repair (the caller checks the heap); -1 when
 * the shared table is damaged (the heap is marked so). */
int hmi_heap_ext_sync(struct hmi_heap_view *v);
/* With the lock held, after this process checked (or repaired) the heap:
 * the live heaps it maps are not suspect any more; after a dead holder's
 * (DEAD_HOLDER 1), those it could not check (not mapped here) are. */
void hmi_heap_ext_checked(struct hmi_heap_view *v, int dead_holder);
/* May the view lag the external heaps (the shared table or this process's
 * registrations changed since it looked)? Without the lock: a hint. */
static inline int hmi_heap_ext_stale(const struct hmi_heap_view *v)
{
	return HMI_READ(v->h->ext_gen) != HMI_READ(v->ext_gen) ||
	       (v->extmap && hmi_extmap_generation(v->extmap) != HMI_READ(v->ext_local));
}
/* With the lock held: may this process allocate from external slot SLOT?
 * 0, or -ENOENT with a message naming FN (no such heap; its memory not
 * registered here). */
int hmi_ext_usable(struct hm_ctx *ctx, const struct hmi_heap_view *v, const char *fn, int slot);
/* The external heap whose range holds ADDR, mapped here or not: its index,
 * or -1. */
int hmi_ext_heap_at(const struct hmi_heap_view *v, uint64_t addr);
/* With the lock held: [AT, AT+LEN), registered here, of region [FIRST,
 * END), becomes an external heap of this context: its socket id, or
 * -EEXIST / -ENOSPC / -EINVAL with a message. */
int hmi_heap_ext_add_locked(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t at, uint64_t len,
			    uint64_t first, uint64_t end);
/* With the lock held: the heap over exactly [AT, AT+LEN) out of the prefix
 * (this context added it, and it is wholly free), or out of this process's
 * use (another's). 0, or -ENOENT / -EBUSY with a message. */
int hmi_heap_ext_remove_locked(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t at,
			       uint64_t len);
/* With the lock held, at hm_fini: remove the heaps this context added that
 * are wholly free, and let go of every range held. */
void hmi_heap_ext_leave(struct hmi_heap_view *v);
/* heap/view.c: the view follows X, this process's registered ranges (and
 * unregistering one a heap held makes it look again first). */
void hmi_heap_ext_open(struct hmi_heap_view *v, struct hmi_extmap *x);
/* heap/view.c, hm_fini: hmi_heap_ext_leave under the lock (waited for a
 * bounded time); the view lets go of X. */
void hmi_heap_ext_release(struct hmi_heap_view *v);
/* Flush the cache to the shared heap and free the private parts. */
void hmi_view_release(struct hmi_heap_view *v);
/* A forked child's copy of V: free the private parts, touching neither the
 * shared heap (not mapped here) nor the registry's lock (another thread of
 * the parent may have held it at the fork). */
void hmi_view_forget(struct hmi_heap_view *v);

/* Lock the shared heap. A dead holder: check, repair if needed, go on;
 * beyond repair: -ENOTRECOVERABLE. A heap this process saw damaged, or that
 * is marked broken: -ENOTRECOVERABLE without locking. Messages go to CTX. */
int hmi_heap_lock(struct hm_ctx *ctx, struct hmi_heap_view *v);
void hmi_heap_unlock(struct hmi_heap_view *v);
/* As hmi_heap_lock, but -ETIMEDOUT after HMI_HEAP_RELEASE_WAIT_S seconds:
 * for giving caches back (a thread's exit, hm_fini), which must end even
 * when a stray write left the lock word looking held forever. */
#define HMI_HEAP_RELEASE_WAIT_S 2
int hmi_heap_lock_briefly(struct hm_ctx *ctx, struct hmi_heap_view *v);
/* Unlock; -ENOTRECOVERABLE (with a message) when the calls made under the
 * lock found the heap damaged, else 0. */
int hmi_heap_unlock_check(struct hm_ctx *ctx, struct hmi_heap_view *v);

/* A value read from the shared heap failed its check (WHAT says which, in
 * printf style): mark the heap damaged for this process for good and broken
 * for every process. Returns 0, for the callers that return "no block". */
uint64_t hmi_heap_damage(struct hmi_heap_view *v, const char *fmt, ...) HMI_PRINTF(2, 3);
/* -ENOTRECOVERABLE with the message of a damaged or broken heap. */
int hmi_heap_broken(struct hm_ctx *ctx, struct hmi_heap_view *v);

static inline int hmi_heap_is_damaged(const struct hmi_heap_view *v)
{
	return __atomic_load_n(&v->damaged, __ATOMIC_ACQUIRE);
}

/* With the lock held. A block of BSIZE bytes (hmi_blk_for) whose payload
 * is aligned to ALIGN, from node slot SLOT: its VA, 0 when none fits.
 * *DIRTY_END (may be NULL): the block's bytes from there on are still as the
 * kernel zeroed them. */
uint64_t hmi_heap_take(struct hmi_heap_view *v, int slot, uint64_t bsize, uint64_t align,
		       uint64_t *dirty_end);
/* With the lock held: give block B back (coalescing). */
void hmi_heap_give(struct hmi_heap_view *v, uint64_t b);
/* With the lock held: grow used block B in place to BSIZE bytes when the
 * next block is free and big enough (1), else 0; shrink when BSIZE is
 * smaller (1). */
int hmi_heap_resize(struct hmi_heap_view *v, uint64_t b, uint64_t bsize);
/* With the lock held: the largest free block of SLOT (bytes, 0 = none). */
uint64_t hmi_heap_largest(struct hmi_heap_view *v, int slot);
#ifndef HM_DEBUG
#define HM_DEBUG 0
#endif
/* make DEBUG=1: freed memory is filled with 0x6b */
static const int hmi_heap_debug = HM_DEBUG;

/* Debug builds: fill [ADDR, ADDR+LEN) with 0x6b. */
static inline void hmi_poison(uint64_t addr, uint64_t len)
{
	if (hmi_heap_debug && len)
		memset((void *)(uintptr_t)addr, 0x6b, len);
}

/* The region holding ADDR by binary search, or NULL. O(log regions). */
const struct hmi_region *hmi_region_search(const struct hmi_heap_view *v, uint64_t addr);

/* The external region holding ADDR among those this process maps, or NULL
 * (heap/extview.c): a look at each. */
static inline const struct hmi_region *hmi_ext_region_find(const struct hmi_heap_view *v,
							   uint64_t addr)
{
	for (uint32_t m = __atomic_load_n(&v->ext_here, __ATOMIC_ACQUIRE); m; m &= m - 1) {
		const struct hmi_region *r = &v->regions[v->cap_regions + (size_t)__builtin_ctz(m)];

		if (addr >= r->first && addr < r->end)
			return r;
	}
	return NULL;
}

/* The region of the window holding ADDR, or NULL: O(1) through the page map
 * (a region never shares a page with another), else by binary search. */
static inline const struct hmi_region *hmi_window_region_find(const struct hmi_heap_view *v,
							      uint64_t addr)
{
	const struct hmi_region *r;
	uint64_t page;
	uint32_t at;

	if (!v->rmap)
		return hmi_region_search(v, addr);
	page = (addr - v->rmap_base) >> v->rmap_shift;
	if (addr < v->rmap_base || page >= v->rmap_n)
		return NULL;
	at = __atomic_load_n(&v->rmap[page], __ATOMIC_ACQUIRE); /* growth writes it */
	if (!at)
		return NULL;
	r = &v->regions[at - 1];
	return addr >= r->first && addr < r->end ? r : NULL;
}

/* Does this process map an external heap? One load. */
static inline int hmi_ext_any(const struct hmi_heap_view *v)
{
	return __atomic_load_n(&v->ext_here, __ATOMIC_ACQUIRE) != 0;
}

/* The region holding ADDR, or NULL: the window's, else an external heap's
 * this process maps. */
static inline const struct hmi_region *hmi_region_find(const struct hmi_heap_view *v, uint64_t addr)
{
	const struct hmi_region *r = hmi_window_region_find(v, addr);

	return r || !hmi_ext_any(v) ? r : hmi_ext_region_find(v, addr);
}

/* Is ADDR outside the window's regions (and so, if a block at all, an
 * external heap's)? External ranges never overlap the window. */
static inline int hmi_outside_window(const struct hmi_heap_view *v, uint64_t addr)
{
	return addr < v->lo || addr >= v->hi;
}

/* The used block whose payload is PTR, checked without the lock (range,
 * alignment, tag, in-use bit, size within its region); 0 when PTR is not
 * one. *SIZEP (may be NULL): its size as checked (use it, not a second
 * read of the header). */
static inline uint64_t hmi_blk_of(const struct hmi_heap_view *v, const void *ptr, uint64_t *sizep)
{
	uint64_t a = (uint64_t)(uintptr_t)ptr, b = a - HMI_BLK_HDR, size;
	const struct hmi_region *r;
	struct hmi_blk *h;

	if ((a & (HMI_BLK_ALIGN - 1)) || (hmi_outside_window(v, a) && !hmi_ext_any(v)))
		return 0;
	r = hmi_region_find(v, b);
	if (!r)
		return 0;
	h = hmi_blk_at(b);
	if (__atomic_load_n(&h->tag, __ATOMIC_RELAXED) != hmi_blk_tag(b))
		return 0;
	size = __atomic_load_n(&h->size, __ATOMIC_RELAXED);
	if (!(size & HMI_BLK_USED) || (size &= ~HMI_BLK_USED) < HMI_BLK_MIN ||
	    size % HMI_BLK_ALIGN || size > r->end - b)
		return 0;
	if (sizep)
		*sizep = size;
	return b;
}

/* Slot of the calling CPU's node when it has a heap, else 0. */
int hmi_local_slot(const struct hmi_heap_view *v);

/* Slot of node NODE, -1 when it has no heap (the view's own table). An
 * external heap's socket id has its slot whether the heap is live or not
 * (hmi_ext_usable says, under the lock). */
static inline int hmi_slot(const struct hmi_heap_view *v, int node)
{
	if (node >= HM_EXT_SOCKET_BASE && node < HM_EXT_SOCKET_BASE + HMI_EXT_HEAPS)
		return (int)v->n_nodes + node - HM_EXT_SOCKET_BASE;
	return node >= 0 && node < HM_MAX_NODES ? v->slot[node] : -1;
}

/* Is SLOT an external heap's (no thread cache, no growth, not HM_SOCKET_ANY's)? */
static inline int hmi_slot_is_ext(const struct hmi_heap_view *v, int slot)
{
	return slot >= (int)v->n_nodes;
}

/* Does this process map SLOT's memory: every node's, an external heap's
 * when its range is registered here (heap/extview.c)? */
static inline int hmi_slot_mapped(const struct hmi_heap_view *v, int slot)
{
	return !hmi_slot_is_ext(v, slot) ||
	       (__atomic_load_n(&v->ext_here, __ATOMIC_ACQUIRE) >> (slot - (int)v->n_nodes) & 1);
}

/* Node id of slot SLOT (the view's own table); an external heap's socket id. */
static inline int hmi_slot_node(const struct hmi_heap_view *v, int slot)
{
	if (hmi_slot_is_ext(v, slot))
		return HM_EXT_SOCKET_BASE + slot - (int)v->n_nodes;
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (v->slot[node] == slot)
			return node;
	return -1;
}

/* Slot of block B, which hmi_blk_of or the heap found: its region's. */
static inline int hmi_blk_slot(const struct hmi_heap_view *v, uint64_t b)
{
	const struct hmi_region *r = hmi_region_find(v, b);

	return r ? r->slot : 0;
}

/* ------------------------------------------------------------------ checker, repair, stats */

/* What a walk of every block found, per node slot (with the lock held). */
struct hmi_walk {
	uint64_t free_bytes, free_blocks, used_bytes, used_blocks;
	uint64_t cached_bytes, zone_bytes; /* parts of used */
	uint64_t largest_free;
};

/* Check every invariant (lock held): blocks chain to each region's end,
 * prev_size agrees, no two free neighbours, free lists and bitmaps match the
 * blocks, counters match. 0, or -EUCLEAN with the first fault in MSG. WALK
 * (n_nodes entries, may be NULL) gets what was found. */
int hmi_heap_check_locked(const struct hmi_heap_view *v, struct hmi_walk *walk, char *msg,
			  size_t len);

/* Rebuild prev_size, merge free neighbours, rebuild the free lists, bitmaps
 * and counters from the blocks (lock held, after a holder died). 0, or
 * -EUCLEAN when the blocks themselves do not chain (MSG says where). */
int hmi_heap_repair(struct hmi_heap_view *v, char *msg, size_t len);

/* ------------------------------------------------------------------ the arena */

/* Where a context keeps its arena: mem/ owns it (in struct hmi_mem) and
 * points ctx->heap at it; the arena calls below work on ctx->tab's segments
 * and ctx->heap. */
struct hmi_heapslot {
	struct hmi_arena *arena; /* NULL before hmi_arena_create/open */
	unsigned long fork_gen;	 /* = ctx->tab->fork_gen, beside ARENA: hm_malloc and hm_free
				    read both, one pointer and one cache line on the fast path */
	char err[256];		 /* secondary: why the heap is unusable ("" when it is fine) */
};

/* hmi_tab_inherited for the heap's fast paths: is this a forked child's
 * copy of the context (its heap is not mapped here)? */
static inline int hmi_heap_inherited(const struct hmi_heapslot *hs)
{
	return hs && __builtin_expect(hs->fork_gen != hmi_fork_generation, 0);
}

/* Primary (end of hm_init, before publishing): carve the arena at the start
 * of segment 0 and format the heap and zone table. */
int hmi_arena_create(struct hm_ctx *ctx);
/* Secondary (hm_attach, after mapping): find the arena at segment 0, check
 * it, set up this process's view. */
int hmi_arena_open(struct hm_ctx *ctx);
/* Flush this process's cache and drop its view (hm_fini). */
void hmi_arena_close(struct hm_ctx *ctx);

/* The private side of an arena: where the shared parts are, and this
 * process's view. */
struct hmi_arena {
	struct hmi_arena_hdr *hdr;
	struct hmi_zone_table *zones;
	struct hmi_heap_view view;
};

/* The view of CTX's heap, or NULL with a message. */
struct hmi_heap_view *hmi_arena_view(struct hm_ctx *ctx);

/* ------------------------------------------------------------------ zones */

#define HMI_ZONES_MAX 256

/* One named zone, in the shared table (fixed-width fields). */
struct hmi_zone {
	char name[HM_ZONE_NAME_MAX]; /* "" = free entry */
	uint64_t va, iova, len;
	int32_t socket;
	uint32_t flags;
};

struct hmi_zone_table {
	uint32_t n; /* entries in use */
	uint32_t pad;
	struct hmi_zone z[HMI_ZONES_MAX];
};

/* The zone table of CTX's arena, or NULL with a message. */
struct hmi_zone_table *hmi_arena_zones(struct hm_ctx *ctx);

/* The free list (fl, sl) of a block of SIZE bytes, and putting block B at
 * the head of its list (heap/heap.c; the repair in heap/check.c rebuilds lists
 * with the same two). */
void hmi_heap_list_of(uint64_t size, int *fl, int *sl);
void hmi_heap_list_insert(struct hmi_heap_view *v, int slot, uint64_t b, uint64_t size);

/* The size of the block at B when it is one of V's blocks on node slot SLOT
 * (-1: any): header 32 bytes before a 64-byte boundary, in a region, its
 * tag, a size within the region, each read once; else 0. *WORD (may be
 * NULL): the size word as read (flags included). */
uint64_t hmi_blk_check(const struct hmi_heap_view *v, uint64_t b, int slot, uint64_t *word);

#endif
