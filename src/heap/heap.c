/* SPDX-License-Identifier: MIT */
/*
 * heap/heap.c — the shared allocator: boundary-tag blocks with TLSF free lists,
 * one heap per NUMA node, under one robust process-shared lock.
 *
 * Memory. Each segment (contiguous in VA and IOVA, one node) becomes one
 * region; segment 0 first loses the arena (heap/arena.c). A region is a chain of
 * blocks, each a 32-byte header (struct hmi_blk) then its payload, ended by
 * a 32-byte sentinel header that is "in use" with size 0. Blocks start 32
 * bytes before a multiple of 64 and their sizes are multiples of 64, so
 * every payload is 64-byte (cache line) aligned and a block never spans two
 * segments: every allocation is IOVA-contiguous.
 *
 * Free lists (Two-Level Segregated Fit, Masmano et al. 2004). Free blocks of
 * one node sit in lists indexed by (fl, sl): fl the power of two of the size,
 * sl one of 16 equal steps within it (below 1 KiB: one list per 64 bytes).
 * Two bitmaps say which lists are non-empty. malloc rounds the size up to
 * the next list boundary, so that the first block of any list at or above
 * that index fits: two find-first-set instructions, O(1). Larger alignments
 * ask for size + alignment; when no list guarantees that, every free block
 * big enough is tried (rare: alignments above 64 bytes only).
 *
 * Free coalesces at once with free neighbours (found through the header's
 * size and prev_size), so no two free blocks ever touch.
 *
 * Crash consistency. A process may die (SIGKILL) in the middle of any of
 * this, holding the lock. Sizes are written so that following sizes from a
 * region's first block always reaches its end: a split writes the new
 * block's header before shrinking the old one, a merge grows the first block
 * in one store. prev_size, the free lists, bitmaps and counters are derived
 * and may be left stale; the next locker sees EOWNERDEAD, runs the checker
 * and, if it fails, the repair (heap/check.c) rebuilds them from the sizes.
 */
#include "heap/heap.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ TLSF index */

#define SL_MASK ((1u << HMI_SL_COUNT) - 1)
#define FL_MASK ((1ULL << HMI_FL_COUNT) - 1)

static int log2_floor(uint64_t x)
{
	return 63 - __builtin_clzll(x);
}

/* The list (fl, sl) that holds free blocks of SIZE bytes (a checked size:
 * at most a region's, far below 2^51, so fl < HMI_FL_COUNT). */
void hmi_heap_list_of(uint64_t size, int *fl, int *sl)
{
	int f;

	if (size < (1ULL << HMI_FL_SHIFT)) {
		*fl = 0;
		*sl = (int)(size / HMI_BLK_ALIGN);
		return;
	}
	f = log2_floor(size);
	*sl = (int)((size >> (f - HMI_SL_LOG2)) ^ HMI_SL_COUNT);
	*fl = f - HMI_FL_SHIFT + 1;
}

/* The first list whose every block holds SIZE bytes. */
static void list_fitting(uint64_t size, int *fl, int *sl)
{
	if (size >= (1ULL << HMI_FL_SHIFT))
		size += (1ULL << (log2_floor(size) - HMI_SL_LOG2)) - 1;
	hmi_heap_list_of(size, fl, sl);
}

/* ------------------------------------------------------------------ checked reads */

uint64_t hmi_heap_damage(struct hmi_heap_view *v, const char *fmt, ...)
{
	va_list ap;

	if (!__atomic_exchange_n(&v->damage_claimed, 1, __ATOMIC_ACQ_REL)) {
		va_start(ap, fmt);
		vsnprintf(v->damage, sizeof(v->damage), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&v->damaged, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&v->h->broken, 1, __ATOMIC_RELAXED);
	return 0;
}

/* As hmi_blk_check, for B known to lie in region R (at a block boundary):
 * its tag and a size within R. The hot paths know R already. */
static inline uint64_t blk_check_in(const struct hmi_region *r, uint64_t b, uint64_t *word)
{
	uint64_t w, size;

	if (HMI_READ(hmi_blk_at(b)->tag) != hmi_blk_tag(b))
		return 0;
	w = HMI_READ(hmi_blk_at(b)->size);
	size = w & ~HMI_BLK_USED;
	if (size < HMI_BLK_MIN || size % HMI_BLK_ALIGN || size > r->end - b)
		return 0;
	*word = w;
	return size;
}

uint64_t hmi_blk_check(const struct hmi_heap_view *v, uint64_t b, int slot, uint64_t *word)
{
	const struct hmi_region *r;
	uint64_t w, size;

	if ((b + HMI_BLK_HDR) % HMI_BLK_ALIGN || !(r = hmi_region_find(v, b)) ||
	    (slot >= 0 && r->slot != slot) || HMI_READ(hmi_blk_at(b)->tag) != hmi_blk_tag(b))
		return 0;
	w = HMI_READ(hmi_blk_at(b)->size);
	size = w & ~HMI_BLK_USED;
	if (size < HMI_BLK_MIN || size % HMI_BLK_ALIGN || size > r->end - b)
		return 0;
	if (word)
		*word = w;
	return size;
}

/* A free-list link read from shared memory: 0, or a free block of SLOT. */
static int link_ok(const struct hmi_heap_view *v, uint64_t l, int slot)
{
	uint64_t w;

	return !l || (hmi_blk_check(v, l, slot, &w) && !(w & HMI_BLK_USED));
}

/* A free block of SLOT at B, its size (*RP its region); 0 (and the heap
 * damaged) when the shared state says otherwise. WHAT names who pointed to
 * it. */
static uint64_t free_blk(struct hmi_heap_view *v, uint64_t b, int slot, const char *what,
			 const struct hmi_region **rp)
{
	const struct hmi_region *r =
	    (b + HMI_BLK_HDR) % HMI_BLK_ALIGN ? NULL : hmi_region_find(v, b);
	uint64_t w = 0, size = r && r->slot == slot ? blk_check_in(r, b, &w) : 0;

	*rp = r;
	if (size && !(w & HMI_BLK_USED))
		return size;
	return hmi_heap_damage(v, "%s points to 0x%llx, not a free block of node slot %d", what,
			       (unsigned long long)b, slot);
}

/* ------------------------------------------------------------------ free lists */

void hmi_heap_list_insert(struct hmi_heap_view *v, int slot, uint64_t b, uint64_t size)
{
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t head;
	int fl, sl;

	hmi_heap_list_of(size, &fl, &sl);
	head = HMI_READ(hn->heads[fl][sl]);
	if (head == b || !link_ok(v, head, slot)) {
		hmi_heap_damage(v, "free list %d.%d of slot %d starts at 0x%llx, not a free block",
				fl, sl, slot, (unsigned long long)head);
		return;
	}
	hmi_heap_links(b)->next = head;
	hmi_heap_links(b)->prev = 0;
	if (head)
		hmi_heap_links(head)->prev = b;
	hn->heads[fl][sl] = b;
	hn->sl_map[fl] = (HMI_READ(hn->sl_map[fl]) | 1u << sl) & SL_MASK;
	hn->fl_map = (HMI_READ(hn->fl_map) | 1ULL << fl) & FL_MASK;
}

/* Take free block B (SIZE bytes) off its list: its links must point to
 * free blocks of the node that point back to it. 0, or -1 (damaged). */
static int list_remove(struct hmi_heap_view *v, int slot, uint64_t b, uint64_t size)
{
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	struct hmi_links *l = hmi_heap_links(b);
	uint64_t next = HMI_READ(l->next), prev = HMI_READ(l->prev);
	uint32_t sm;
	int fl, sl;

	hmi_heap_list_of(size, &fl, &sl);
	if (!link_ok(v, next, slot) || !link_ok(v, prev, slot) ||
	    (next && HMI_READ(hmi_heap_links(next)->prev) != b) ||
	    (prev ? HMI_READ(hmi_heap_links(prev)->next) : HMI_READ(hn->heads[fl][sl])) != b) {
		hmi_heap_damage(v, "free block 0x%llx: its list links (0x%llx, 0x%llx) are broken",
				(unsigned long long)b, (unsigned long long)next,
				(unsigned long long)prev);
		return -1;
	}
	if (next)
		hmi_heap_links(next)->prev = prev;
	if (prev)
		hmi_heap_links(prev)->next = next;
	else
		hn->heads[fl][sl] = next;
	if (!next && !prev) {
		sm = HMI_READ(hn->sl_map[fl]) & SL_MASK & ~(1u << sl);
		hn->sl_map[fl] = sm;
		if (!sm)
			hn->fl_map = HMI_READ(hn->fl_map) & FL_MASK & ~(1ULL << fl);
	}
	return 0;
}

/* Bitmap words read from shared memory: a bit beyond the lists damages the
 * heap (0), else 1. */
static int maps_ok(struct hmi_heap_view *v, int slot, uint64_t fm, uint32_t sm)
{
	if (!(fm & ~FL_MASK) && !(sm & ~SL_MASK))
		return 1;
	return (int)hmi_heap_damage(v,
				    "slot %d: a free-list bitmap names lists that do not exist "
				    "(0x%llx, 0x%x)",
				    slot, (unsigned long long)fm, sm);
}

/* The head of the first non-empty list at or above (fl, sl); 0 if none.
 * A bitmap bit beyond the lists or for an empty list, or a head that is no
 * free block, damages the heap. *SIZE: the head's size. */
static uint64_t list_search(struct hmi_heap_view *v, int slot, int fl, int sl, uint64_t *size,
			    const struct hmi_region **rp)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint32_t sm;
	uint64_t fm, b;

	if (fl >= HMI_FL_COUNT)
		return 0;
	sm = HMI_READ(hn->sl_map[fl]);
	if (!maps_ok(v, slot, 0, sm))
		return 0;
	sm &= ~0u << sl;
	if (!sm) {
		fm = HMI_READ(hn->fl_map);
		if (!maps_ok(v, slot, fm, 0))
			return 0;
		fm &= ~0ULL << (fl + 1);
		if (!fm)
			return 0;
		fl = __builtin_ctzll(fm);
		sm = HMI_READ(hn->sl_map[fl]);
		if (!sm || !maps_ok(v, slot, 0, sm))
			return hmi_heap_damage(v,
					       "slot %d: bitmap says lists %d.* are not empty, "
					       "they are",
					       slot, fl);
	}
	b = HMI_READ(hn->heads[fl][__builtin_ctz(sm)]);
	*size = free_blk(v, b, slot, "a free list's head", rp);
	return *size ? b : 0;
}

/* ------------------------------------------------------------------ blocks */

static void blk_write(uint64_t b, uint64_t size, uint64_t prev_size, int node)
{
	struct hmi_blk *h = hmi_blk_at(b);

	h->prev_size = prev_size;
	h->tag = hmi_blk_tag(b);
	h->node = (int16_t)node;
	h->cached = 0;
	h->zone = 0;
	h->reserved = 0;
	h->size = size;
}

/* Cut the first SIZE bytes off block B of WHOLE bytes, flags FLAGS; the
 * rest becomes a free block, returned. The new header first: a crash leaves
 * the chain of sizes whole. B + WHOLE is within B's region (checked), so the
 * next header's prev_size can be written. */
static uint64_t blk_split(uint64_t b, uint64_t whole, uint64_t size, uint64_t flags, int node)
{
	uint64_t rest = b + size;

	blk_write(rest, whole - size, size, node);
	hmi_blk_at(b)->size = size | flags;
	hmi_blk_at(b + whole)->prev_size = whole - size;
	return rest;
}

/* Payload offset in a free block of SIZE bytes at B at which a payload
 * aligned to ALIGN can start, leaving a leading free block of at least
 * HMI_BLK_MIN; and whether BSIZE bytes fit from there. */
static int blk_fits(uint64_t b, uint64_t size, uint64_t bsize, uint64_t align, uint64_t *lead)
{
	uint64_t p = b + HMI_BLK_HDR, q = (p + align - 1) & ~(align - 1);

	if (q != p)
		q = (p + HMI_BLK_MIN + align - 1) & ~(align - 1);
	*lead = q - p;
	return size >= *lead + bsize;
}

/* Every free block of SLOT that can hold BSIZE at ALIGN: the first found.
 * The walk is bounded (a cycle in a list ends it, damaged). */
static uint64_t scan_fit(struct hmi_heap_view *v, int slot, uint64_t bsize, uint64_t align,
			 uint64_t *size, const struct hmi_region **rp)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t fm = HMI_READ(hn->fl_map), lead, budget = v->max_blocks;
	int fl0, sl0;

	if (!maps_ok(v, slot, fm, 0))
		return 0;
	hmi_heap_list_of(bsize, &fl0, &sl0);
	for (int fl = fl0; fl < HMI_FL_COUNT; fl++) {
		if (!(fm & (1ULL << fl)))
			continue;
		for (int sl = fl == fl0 ? sl0 : 0; sl < HMI_SL_COUNT; sl++)
			for (uint64_t b = HMI_READ(hn->heads[fl][sl]); b;
			     b = HMI_READ(hmi_heap_links(b)->next)) {
				if (!budget-- || !(*size = free_blk(v, b, slot, "a free list", rp)))
					return hmi_heap_damage(v,
							       "slot %d: free list %d.%d does "
							       "not end",
							       slot, fl, sl);
				if (blk_fits(b, *size, bsize, align, &lead))
					return b;
			}
	}
	return 0;
}

/* A free block of SLOT for BSIZE at ALIGN, its size and region; 0 if none. */
static uint64_t find_free(struct hmi_heap_view *v, int slot, uint64_t bsize, uint64_t align,
			  uint64_t *size, const struct hmi_region **rp)
{
	uint64_t b, lead;
	int fl, sl;

	list_fitting(align > HMI_BLK_ALIGN ? bsize + align : bsize, &fl, &sl);
	b = list_search(v, slot, fl, sl, size, rp);
	if (b && blk_fits(b, *size, bsize, align, &lead))
		return b;
	if (hmi_heap_is_damaged(v))
		return 0;
	return scan_fit(v, slot, bsize, align, size, rp);
}

/* ------------------------------------------------------------------ regions */

const struct hmi_region *hmi_region_search(const struct hmi_heap_view *v, uint64_t addr)
{
	size_t lo = 0, hi = v->n_sorted; /* growth needs the page map: added ones are in it */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->regions[mid].first <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= v->regions[lo - 1].end)
		return NULL;
	return &v->regions[lo - 1];
}

/* Note that [b, end) is handed out; return where its memory is clean from.
 * Above the old mark nothing was ever handed out, so nothing was written
 * there but the header and links of the free block starting at the mark
 * (splits only happen below it: the part above the mark has always been
 * the tail of one free block). A mark outside its region is damage: then
 * nothing counts as clean. */
static uint64_t mark_dirty(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t end)
{
	uint64_t *hw, was;

	hw = &hmi_high_water(v->h, v->n_nodes)[r - v->regions];
	was = HMI_READ(*hw);
	if (was < r->first || was > r->end + HMI_BLK_HDR) {
		hmi_heap_damage(v,
				"the high-water mark of the region at 0x%llx is 0x%llx, "
				"outside it",
				(unsigned long long)r->first, (unsigned long long)was);
		return end;
	}
	if (end > was)
		*hw = end;
	return was + HMI_BLK_HDR + sizeof(struct hmi_links);
}

/* ------------------------------------------------------------------ take, give, resize */

/* With the free block B (SIZE bytes) of region R off its list: cut what
 * BSIZE at ALIGN does not need back into the list; B's part, used. */
static uint64_t carve(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t b,
		      uint64_t size, uint64_t bsize, uint64_t align, uint64_t *used)
{
	int slot = r->slot, node = r->node;
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t lead;

	blk_fits(b, size, bsize, align, &lead);
	if (lead) { /* the part before the aligned payload stays free */
		uint64_t rest = blk_split(b, size, lead, 0, node);

		hmi_heap_list_insert(v, slot, b, lead);
		hn->free_blocks++;
		b = rest;
		size -= lead;
	}
	if (size - bsize >= HMI_BLK_MIN) {
		hmi_heap_list_insert(v, slot, blk_split(b, size, bsize, 0, node), size - bsize);
		hn->free_blocks++;
		size = bsize;
	}
	hmi_blk_at(b)->size = size | HMI_BLK_USED;
	*used = size;
	return b;
}

uint64_t hmi_heap_take(struct hmi_heap_view *v, int slot, uint64_t bsize, uint64_t align,
		       uint64_t *dirty_end)
{
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	const struct hmi_region *r = NULL;
	uint64_t size = 0, b = find_free(v, slot, bsize, align, &size, &r);

	if (!b || list_remove(v, slot, b, size) < 0)
		return 0;
	b = carve(v, r, b, size, bsize, align, &size);
	hn->free_bytes -= size;
	hn->free_blocks--;
	hn->used_bytes += size;
	hn->used_blocks++;
	hn->allocs++;
	size = mark_dirty(v, r, b + size);
	if (dirty_end)
		*dirty_end = size;
	return hmi_heap_is_damaged(v) ? 0 : b;
}

/* Merge block B (SIZE bytes, flags FLAGS) with the free block after it
 * (NEXT_SIZE bytes, removed from its list first by the caller). One store
 * makes the second part of the first. */
static void blk_merge_next(uint64_t b, uint64_t size, uint64_t next_size, uint64_t flags)
{
	hmi_blk_at(b)->size = (size + next_size) | flags;
	hmi_blk_at(b + size)->tag = 0; /* a stale pointer to it no longer looks like a block */
	hmi_blk_at(b + size + next_size)->prev_size = size + next_size;
}

/* The free block before B (of region R), or 0; its size in *PSIZE. A
 * prev_size that leads to no block of the same size damages the heap. */
static uint64_t free_before(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t b,
			    uint64_t *psize)
{
	uint64_t ps = HMI_READ(hmi_blk_at(b)->prev_size), w = 0;

	if (!ps)
		return b == r->first
			   ? 0
			   : hmi_heap_damage(v, "block 0x%llx: prev_size 0", (unsigned long long)b);
	if (ps > b - r->first || ps % HMI_BLK_ALIGN || blk_check_in(r, b - ps, &w) != ps)
		return hmi_heap_damage(v, "block 0x%llx: prev_size %llu leads to no block",
				       (unsigned long long)b, (unsigned long long)ps);
	*psize = ps;
	return w & HMI_BLK_USED ? 0 : b - ps;
}

/* The size of the free block at NEXT (just after a block of R), or 0 when
 * it is in use or R's end. */
static uint64_t free_after(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t next)
{
	uint64_t w = 0, size;

	if (next == r->end)
		return 0;
	size = blk_check_in(r, next, &w);
	if (!size)
		return hmi_heap_damage(v, "the block after 0x%llx is overwritten",
				       (unsigned long long)next);
	return w & HMI_BLK_USED ? 0 : size;
}

/* Free block B (SIZE bytes, region R) joins its free neighbours; the
 * result, not yet listed, its size in *SIZE. 0 when damaged. */
static uint64_t coalesce(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t b,
			 uint64_t *size)
{
	struct hmi_heap_node *hn = &v->h->nodes[r->slot];
	uint64_t psize = 0, p = free_before(v, r, b, &psize), nsize;

	if (p) {
		if (list_remove(v, r->slot, p, psize) < 0)
			return 0;
		blk_merge_next(p, psize, *size, 0);
		hn->free_blocks--;
		b = p;
		*size += psize;
	}
	nsize = hmi_heap_is_damaged(v) ? 0 : free_after(v, r, b + *size);
	if (nsize) {
		if (list_remove(v, r->slot, b + *size, nsize) < 0)
			return 0;
		blk_merge_next(b, *size, nsize, 0);
		hn->free_blocks--;
		*size += nsize;
	}
	return hmi_heap_is_damaged(v) ? 0 : b;
}

/* Is R a region growth added (not the start memory's, not an external heap's)? */
static int region_grown(const struct hmi_heap_view *v, const struct hmi_region *r)
{
	size_t i = (size_t)(r - v->regions);

	return i >= v->n_sorted && i < v->cap_regions;
}

void hmi_heap_give(struct hmi_heap_view *v, uint64_t b)
{
	const struct hmi_region *r =
	    (b + HMI_BLK_HDR) % HMI_BLK_ALIGN ? NULL : hmi_region_find(v, b);
	uint64_t w = 0, size = r ? blk_check_in(r, b, &w) : 0;
	struct hmi_blk *h = hmi_blk_at(b);
	struct hmi_heap_node *hn;

	if (!size || !(w & HMI_BLK_USED)) {
		hmi_heap_damage(v, "a block given back at 0x%llx is no longer a used block",
				(unsigned long long)b);
		return;
	}
	hn = &v->h->nodes[r->slot];
	h->cached = 0;
	h->zone = 0;
	h->size = size;
	hn->used_bytes -= size;
	hn->used_blocks--;
	hn->free_bytes += size;
	hn->free_blocks++;
	hn->frees++;
	hmi_poison(b + HMI_BLK_HDR + sizeof(struct hmi_links),
		   size - HMI_BLK_HDR - sizeof(struct hmi_links));
	b = coalesce(v, r, b, &size);
	if (b)
		hmi_heap_list_insert(v, r->slot, b, size);
	if (b && b == r->first && size == r->end - r->first && region_grown(v, r))
		atomic_store_explicit(&v->unit_free, 1, memory_order_relaxed); /* --auto-trim */
}

void hmi_heap_after_free(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	if (v->on_unit_free && atomic_exchange_explicit(&v->unit_free, 0, memory_order_relaxed))
		v->on_unit_free(ctx);
}

/* Used block B (SIZE bytes, region R) gives its tail beyond BSIZE back (a
 * free block, merged with a free successor). */
static void shrink(struct hmi_heap_view *v, const struct hmi_region *r, uint64_t b, uint64_t size,
		   uint64_t bsize)
{
	struct hmi_heap_node *hn = &v->h->nodes[r->slot];
	uint64_t rest = blk_split(b, size, bsize, HMI_BLK_USED, r->node), rsize = size - bsize;

	hn->used_bytes -= rsize;
	hn->free_bytes += rsize;
	hn->free_blocks++;
	rest = coalesce(v, r, rest, &rsize);
	if (rest)
		hmi_heap_list_insert(v, r->slot, rest, rsize);
}

int hmi_heap_resize(struct hmi_heap_view *v, uint64_t b, uint64_t bsize)
{
	const struct hmi_region *r =
	    (b + HMI_BLK_HDR) % HMI_BLK_ALIGN ? NULL : hmi_region_find(v, b);
	uint64_t w = 0, size = r ? blk_check_in(r, b, &w) : 0, grow;
	struct hmi_heap_node *hn;

	if (!size || !(w & HMI_BLK_USED))
		return (int)hmi_heap_damage(v,
					    "a block resized at 0x%llx is no longer a used "
					    "block",
					    (unsigned long long)b);
	hn = &v->h->nodes[r->slot];
	if (bsize + HMI_BLK_MIN <= size)
		shrink(v, r, b, size, bsize);
	if (bsize <= size)
		return !hmi_heap_is_damaged(v);
	grow = free_after(v, r, b + size);
	if (!grow || size + grow < bsize || list_remove(v, r->slot, b + size, grow) < 0)
		return 0;
	blk_merge_next(b, size, grow, HMI_BLK_USED);
	hn->free_bytes -= grow;
	hn->free_blocks--;
	hn->used_bytes += grow;
	if (size + grow - bsize >= HMI_BLK_MIN)
		shrink(v, r, b, size + grow, bsize);
	mark_dirty(v, r, b + (size + grow - bsize >= HMI_BLK_MIN ? bsize : size + grow));
	return !hmi_heap_is_damaged(v);
}

uint64_t hmi_heap_largest(struct hmi_heap_view *v, int slot)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t best = 0, size, budget = v->max_blocks, fm = HMI_READ(hn->fl_map);
	const struct hmi_region *r;
	uint32_t sm;
	int fl;

	if (!fm || !maps_ok(v, slot, fm, 0))
		return 0;
	fl = log2_floor(fm);
	sm = HMI_READ(hn->sl_map[fl]);
	if (!sm || !maps_ok(v, slot, 0, sm))
		return hmi_heap_damage(v, "slot %d: bitmap says lists %d.* are not empty, they are",
				       slot, fl);
	for (uint64_t b = HMI_READ(hn->heads[fl][log2_floor(sm)]); b;
	     b = HMI_READ(hmi_heap_links(b)->next)) {
		if (!budget-- || !(size = free_blk(v, b, slot, "the largest free list", &r)))
			return hmi_heap_damage(v, "slot %d: the largest free list does not end",
					       slot);
		best = size > best ? size : best;
	}
	return best;
}

int hmi_local_slot(const struct hmi_heap_view *v)
{
	unsigned cpu, node;
	int slot;

	if (v->n_nodes == 1 || getcpu(&cpu, &node) != 0)
		return 0;
	slot = hmi_slot(v, (int)node);
	return slot < 0 ? 0 : slot;
}

/* ------------------------------------------------------------------ regions from segments */

int hmi_region_of(uint64_t start, uint64_t end, uint64_t *first, uint64_t *last)
{
	*first = ((start + HMI_BLK_HDR + HMI_BLK_ALIGN - 1) & ~(HMI_BLK_ALIGN - 1)) - HMI_BLK_HDR;
	*last = ((end - 2 * HMI_BLK_HDR) & ~(HMI_BLK_ALIGN - 1)) + HMI_BLK_HDR;
	return end < start + 4 * HMI_BLK_ALIGN || *last < *first + HMI_BLK_MIN ? -1 : 0;
}

int hmi_regions_from_segs(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n_segs,
			  uint64_t skip, struct hmi_region **out, size_t *n)
{
	struct hmi_region *r = calloc(n_segs + 1, sizeof(*r));
	size_t k = 0;

	if (!r)
		return hmi_err(ctx, ENOMEM, "out of memory building the heap's region table");
	for (size_t i = 0; i < n_segs; i++) {
		uint64_t first, last;

		if (hmi_region_of(segs[i].va + (i == 0 ? skip : 0), segs[i].va + segs[i].len,
				  &first, &last) < 0)
			continue;
		r[k].first = first;
		r[k].end = last;
		r[k].node = segs[i].node;
		r[k].slot = -1;
		k++;
	}
	*out = r;
	*n = k;
	return 0;
}

/* ------------------------------------------------------------------ format, adopt */

size_t hmi_heap_size(size_t n_nodes, size_t n_regions)
{
	return sizeof(struct hmi_heap) + (n_nodes + HMI_EXT_HEAPS) * sizeof(struct hmi_heap_node) +
	       (n_regions + HMI_EXT_HEAPS) * sizeof(uint64_t);
}

static int lock_init(struct hm_ctx *ctx, pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc = pthread_mutexattr_init(&a);

	if (rc == 0)
		rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (rc)
		return hmi_err(ctx, rc, "cannot create the heap's shared lock: %s", strerror(rc));
	return 0;
}

/* Node slots in ascending node id order: the regions' nodes and those that
 * may grow (NODES, a bit per id). */
static void assign_slots(struct hmi_heap *h, struct hmi_region *r, size_t n, uint64_t nodes)
{
	int present[HM_MAX_NODES] = {0};

	for (size_t i = 0; i < n; i++)
		present[r[i].node] = 1;
	for (int node = 0; node < HM_MAX_NODES && node < 64; node++)
		present[node] |= (nodes >> node) & 1;
	h->n_nodes = 0;
	for (int node = 0; node < HM_MAX_NODES; node++)
		h->slot[node] = present[node] ? (int16_t)h->n_nodes++ : -1;
	for (size_t i = 0; i < n; i++)
		r[i].slot = h->slot[r[i].node];
}

static void region_format(struct hmi_heap *h, const struct hmi_region *r)
{
	struct hmi_heap_node *hn = &h->nodes[r->slot];
	uint64_t size = r->end - r->first;
	int fl, sl;

	blk_write(r->first, size, 0, r->node);
	blk_write(r->end, HMI_BLK_USED, size, r->node);
	hmi_heap_list_of(size, &fl, &sl); /* one region per list at most: it starts empty */
	hmi_heap_links(r->first)->next = hn->heads[fl][sl];
	hmi_heap_links(r->first)->prev = 0;
	if (hn->heads[fl][sl])
		hmi_heap_links(hn->heads[fl][sl])->prev = r->first;
	hn->heads[fl][sl] = r->first;
	hn->sl_map[fl] |= 1u << sl;
	hn->fl_map |= 1ULL << fl;
	hn->total += size;
	hn->free_bytes += size;
	hn->free_blocks++;
}

int hmi_heap_format(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *r, size_t n,
		    int zeroed, const struct hmi_heap_room *room)
{
	size_t max = n + (room ? room->max_regions : 0);
	int rc;

	for (size_t i = 0; i < n; i++)
		if (r[i].node < 0 || r[i].node >= HM_MAX_NODES)
			return hmi_err(ctx, EINVAL, "segment at 0x%llx is on node %d: out of range",
				       (unsigned long long)r[i].first, r[i].node);
	memset(h, 0, sizeof(*h));
	assign_slots(h, r, n, room ? room->nodes : 0);
	h->n_regions = (uint32_t)n;
	h->max_regions = (uint32_t)max;
	memset(h->nodes, 0, hmi_heap_size(h->n_nodes, max) - sizeof(*h));
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (h->slot[node] >= 0)
			h->nodes[h->slot[node]].node = node;
	for (int k = 0; k < HMI_EXT_HEAPS; k++)
		h->nodes[h->n_nodes + k].node = HM_EXT_SOCKET_BASE + k;
	rc = lock_init(ctx, &h->lock);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		region_format(h, &r[i]);
		hmi_high_water(h, h->n_nodes)[i] = zeroed ? r[i].first : r[i].end + HMI_BLK_HDR;
	}
	h->magic = HMI_HEAP_MAGIC;
	return 0;
}

int hmi_heap_adopt(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *r, size_t n,
		   size_t grown_max)
{
	uint32_t n_regions = HMI_READ(h->n_regions);

	/* a growing primary may have added regions since: the view follows them */
	if (HMI_READ(h->magic) != HMI_HEAP_MAGIC || n_regions < n || n_regions - n > grown_max)
		return hmi_err(ctx, EPROTO,
			       "the primary's heap does not match this layout (%u regions, this "
			       "process sees %zu): restart the primary",
			       n_regions, n);
	/* the first block's tag is read in the first region only: reading it in
	 * every region would fault in one page per segment of a secondary's lazy
	 * mappings (972 segments: ~35 ms of a 50 ms attach, measured); node slots
	 * are checked by hmi_view_init */
	if (n && HMI_READ(hmi_blk_at(r[0].first)->tag) != hmi_blk_tag(r[0].first))
		return hmi_err(ctx, EPROTO,
			       "the primary's heap has no valid first block at 0x%llx (node "
			       "%d): restart the primary",
			       (unsigned long long)r[0].first, r[0].node);
	return 0;
}

/* ------------------------------------------------------------------ regions growth adds */

/* Point the page map's entries over R at index AT + 1 (0: none). */
static void rmap_set(struct hmi_heap_view *v, const struct hmi_region *r, uint32_t at)
{
	uint64_t lo = (r->first - v->rmap_base) >> v->rmap_shift;
	uint64_t hi = (r->end - v->rmap_base) >> v->rmap_shift;

	for (uint64_t p = lo; p <= hi && p < v->rmap_n; p++)
		__atomic_store_n(&v->rmap[p], at, __ATOMIC_RELEASE);
}

/* A slot for a new region: a given-back one, else the next. */
static size_t free_slot(const struct hmi_heap_view *v)
{
	for (size_t i = v->n_sorted; i < v->n_regions; i++)
		if (v->regions[i].first == 0)
			return i;
	return v->n_regions;
}

int hmi_heap_add_region(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t first, uint64_t end,
			int node)
{
	size_t i = free_slot(v);
	int slot = hmi_slot(v, node);
	struct hmi_region *r;

	if (slot < 0)
		return hmi_err(ctx, ENOENT, "grown memory on node %d, which has no heap", node);
	if (i >= v->cap_regions || i >= HMI_READ(v->h->max_regions) || !v->rmap ||
	    end < first + HMI_BLK_MIN || first < v->rmap_base)
		return hmi_err(ctx, ENOSPC,
			       "the heap has no room for another region (%zu of %zu in use)",
			       v->n_regions, v->cap_regions);
	r = &v->regions[i];
	*r = (struct hmi_region){.first = first, .end = end, .node = node, .slot = slot};
	region_format(v->h, r);
	hmi_high_water(v->h, v->n_nodes)[i] = first; /* as the kernel zeroed it */
	v->max_blocks += (end - first) / HMI_BLK_MIN;
	if (i == v->n_regions) {
		v->n_regions++;
		v->h->n_regions = (uint32_t)v->n_regions;
	}
	rmap_set(v, r, (uint32_t)i + 1); /* last: from now on hm_free knows it */
	return (int)i;
}

/* A secondary's view: region I is [FIRST, END) on NODE (the primary formatted
 * it; nothing shared is written), or, FIRST 0, no region. */
void hmi_view_set_region(struct hmi_heap_view *v, size_t i, uint64_t first, uint64_t end, int node)
{
	struct hmi_region *r = &v->regions[i];

	if (r->first == first && r->end == end)
		return;
	if (r->first) {
		rmap_set(v, r, 0);
		v->max_blocks -= (r->end - r->first) / HMI_BLK_MIN;
	}
	*r = (struct hmi_region){
	    .first = first, .end = end, .node = node, .slot = first ? hmi_slot(v, node) : -1};
	if (!first)
		return;
	v->max_blocks += (end - first) / HMI_BLK_MIN;
	rmap_set(v, r, (uint32_t)i + 1);
}

/* The grown region that starts at FIRST, or NULL. */
static struct hmi_region *grown_region(struct hmi_heap_view *v, uint64_t first)
{
	for (size_t i = v->n_sorted; i < v->n_regions && first; i++)
		if (v->regions[i].first == first)
			return &v->regions[i];
	return NULL;
}

/* Is region R one free block (not parked in a thread's cache)? */
static int region_is_free(const struct hmi_region *r)
{
	return HMI_READ(hmi_blk_at(r->first)->size) == r->end - r->first &&
	       !HMI_READ(hmi_blk_at(r->first)->cached);
}

int hmi_heap_region_free(struct hmi_heap_view *v, uint64_t first)
{
	const struct hmi_region *r = grown_region(v, first);

	return r && region_is_free(r);
}

/* Take region R out of its node heap when it is one free block (1), else
 * leave it (0). The view's entry (and MAX_BLOCKS) is the caller's to clear. */
static int region_take(struct hmi_heap_view *v, const struct hmi_region *r)
{
	struct hmi_heap_node *hn;
	uint64_t size = r->end - r->first;

	if (!region_is_free(r) || list_remove(v, r->slot, r->first, size) < 0)
		return 0; /* in use (or damaged: list_remove said so) */
	hn = &v->h->nodes[r->slot];
	hn->total -= size;
	hn->free_bytes -= size;
	hn->free_blocks--;
	return 1;
}

int hmi_heap_take_region(struct hmi_heap_view *v, uint64_t first)
{
	struct hmi_region *r = grown_region(v, first);

	if (!r || !region_take(v, r))
		return 0;
	v->max_blocks -= (r->end - r->first) / HMI_BLK_MIN;
	rmap_set(v, r, 0); /* first: a lookup racing this finds nothing */
	r->first = r->end = 0;
	return 1;
}

/* ------------------------------------------------------------------ external heaps */

void hmi_heap_ext_format(struct hmi_heap_view *v, int k, uint64_t first, uint64_t end)
{
	int slot = (int)v->n_nodes + k;
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	struct hmi_region r = {
	    .first = first, .end = end, .node = HM_EXT_SOCKET_BASE + k, .slot = slot};

	memset(hn, 0, sizeof(*hn)); /* a heap removed before left its counts */
	hn->node = r.node;
	region_format(v->h, &r);
	/* nothing of it counts as clean: hm_memzone_reserve clears what it hands out */
	hmi_high_water(v->h, v->n_nodes)[v->cap_regions + (size_t)k] = end + HMI_BLK_HDR;
}

int hmi_heap_ext_take(struct hmi_heap_view *v, int k)
{
	const struct hmi_region *r = &v->regions[v->cap_regions + (size_t)k];

	return r->first && region_take(v, r);
}
