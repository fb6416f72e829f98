/* SPDX-License-Identifier: MIT */
/*
 * heap.c — the shared allocator: boundary-tag blocks with TLSF free lists,
 * one heap per NUMA node, under one robust process-shared lock.
 *
 * Memory. Each segment (contiguous in VA and IOVA, one node) becomes one
 * region; segment 0 first loses the arena (arena.c). A region is a chain of
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
 * and, if it fails, the repair (heap_check.c) rebuilds them from the sizes.
 */
#include "heap.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ TLSF index */

static int log2_floor(uint64_t x)
{
	return 63 - __builtin_clzll(x);
}

/* The list (fl, sl) that holds free blocks of SIZE bytes. */
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

void hmi_heap_list_insert(struct hmi_heap_node *hn, uint64_t b)
{
	int fl, sl;
	uint64_t head;

	hmi_heap_list_of(hmi_blk_size(hmi_blk_at(b)), &fl, &sl);
	head = hn->heads[fl][sl];
	hmi_heap_links(b)->next = head;
	hmi_heap_links(b)->prev = 0;
	if (head)
		hmi_heap_links(head)->prev = b;
	hn->heads[fl][sl] = b;
	hn->sl_map[fl] |= 1u << sl;
	hn->fl_map |= 1ULL << fl;
}

static void list_remove(struct hmi_heap_node *hn, uint64_t b)
{
	struct hmi_links *l = hmi_heap_links(b);
	int fl, sl;

	hmi_heap_list_of(hmi_blk_size(hmi_blk_at(b)), &fl, &sl);
	if (l->next)
		hmi_heap_links(l->next)->prev = l->prev;
	if (l->prev)
		hmi_heap_links(l->prev)->next = l->next;
	else
		hn->heads[fl][sl] = l->next;
	if (!hn->heads[fl][sl]) {
		hn->sl_map[fl] &= ~(1u << sl);
		if (!hn->sl_map[fl])
			hn->fl_map &= ~(1ULL << fl);
	}
}

/* The head of the first non-empty list at or above (fl, sl); 0 if none. */
static uint64_t list_search(const struct hmi_heap_node *hn, int fl, int sl)
{
	uint32_t sm;
	uint64_t fm;

	if (fl >= HMI_FL_COUNT)
		return 0;
	sm = hn->sl_map[fl] & (~0u << sl);
	if (!sm) {
		fm = fl + 1 < HMI_FL_COUNT ? hn->fl_map & (~0ULL << (fl + 1)) : 0;
		if (!fm)
			return 0;
		fl = __builtin_ctzll(fm);
		sm = hn->sl_map[fl];
	}
	return hn->heads[fl][__builtin_ctz(sm)];
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

static void next_prev_size(uint64_t b)
{
	hmi_blk_at(b + hmi_blk_size(hmi_blk_at(b)))->prev_size = hmi_blk_size(hmi_blk_at(b));
}

/* Cut the first SIZE bytes off block B (keeping B's flags); the rest
 * becomes a free block, returned. The new header first: a crash leaves the
 * chain of sizes whole. */
static uint64_t blk_split(uint64_t b, uint64_t size)
{
	struct hmi_blk *h = hmi_blk_at(b);
	uint64_t rest = b + size, whole = hmi_blk_size(h);

	blk_write(rest, whole - size, size, h->node);
	h->size = size | (h->size & HMI_BLK_USED);
	next_prev_size(rest);
	return rest;
}

/* Payload offset in free block B at which a payload aligned to ALIGN can
 * start, leaving a leading free block of at least HMI_BLK_MIN; and whether
 * BSIZE bytes fit from there. */
static int blk_fits(uint64_t b, uint64_t bsize, uint64_t align, uint64_t *lead)
{
	uint64_t p = b + HMI_BLK_HDR, q = (p + align - 1) & ~(align - 1);

	if (q != p)
		q = (p + HMI_BLK_MIN + align - 1) & ~(align - 1);
	*lead = q - p;
	return hmi_blk_size(hmi_blk_at(b)) >= *lead + bsize;
}

/* Every free block of HN that can hold BSIZE at ALIGN: the first found. */
static uint64_t scan_fit(const struct hmi_heap_node *hn, uint64_t bsize, uint64_t align)
{
	int fl0, sl0;
	uint64_t lead;

	hmi_heap_list_of(bsize, &fl0, &sl0);
	for (int fl = fl0; fl < HMI_FL_COUNT; fl++) {
		if (!(hn->fl_map & (1ULL << fl)))
			continue;
		for (int sl = fl == fl0 ? sl0 : 0; sl < HMI_SL_COUNT; sl++)
			for (uint64_t b = hn->heads[fl][sl]; b; b = hmi_heap_links(b)->next)
				if (blk_fits(b, bsize, align, &lead))
					return b;
	}
	return 0;
}

static uint64_t find_free(const struct hmi_heap_node *hn, uint64_t bsize, uint64_t align)
{
	uint64_t b, lead;
	int fl, sl;

	list_fitting(align > HMI_BLK_ALIGN ? bsize + align : bsize, &fl, &sl);
	b = list_search(hn, fl, sl);
	if (b && blk_fits(b, bsize, align, &lead))
		return b;
	return scan_fit(hn, bsize, align);
}

/* ------------------------------------------------------------------ regions */

const struct hmi_region *hmi_region_search(const struct hmi_heap_view *v, uint64_t addr)
{
	size_t lo = 0, hi = v->n_regions;

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
 * the tail of one free block). */
static uint64_t mark_dirty(struct hmi_heap_view *v, uint64_t b, uint64_t end)
{
	const struct hmi_region *r = hmi_region_find(v, b);
	uint64_t *hw, was;

	if (!r)
		return end;
	hw = &hmi_high_water(v->h)[r - v->regions];
	was = *hw;
	if (end > *hw)
		*hw = end;
	return was + HMI_BLK_HDR + sizeof(struct hmi_links);
}

/* ------------------------------------------------------------------ take, give, resize */

uint64_t hmi_heap_take(struct hmi_heap_view *v, int slot, uint64_t bsize, uint64_t align,
		       uint64_t *dirty_end)
{
	struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t b = find_free(hn, bsize, align), lead, size;

	if (!b)
		return 0;
	list_remove(hn, b);
	blk_fits(b, bsize, align, &lead);
	if (lead) { /* the part before the aligned payload stays free */
		uint64_t rest = blk_split(b, lead);

		hmi_heap_list_insert(hn, b);
		hn->free_blocks++;
		b = rest;
	}
	if (hmi_blk_size(hmi_blk_at(b)) - bsize >= HMI_BLK_MIN) {
		hmi_heap_list_insert(hn, blk_split(b, bsize));
		hn->free_blocks++;
	}
	size = hmi_blk_size(hmi_blk_at(b));
	hmi_blk_at(b)->size = size | HMI_BLK_USED;
	hn->free_bytes -= size;
	hn->free_blocks--;
	hn->used_bytes += size;
	hn->used_blocks++;
	hn->allocs++;
	size = mark_dirty(v, b, b + size);
	if (dirty_end)
		*dirty_end = size;
	return b;
}

/* Merge free block B with the free block after it (removed from its list
 * first by the caller). One store makes the second part of the first. */
static void blk_merge_next(uint64_t b)
{
	struct hmi_blk *h = hmi_blk_at(b);
	uint64_t next = b + hmi_blk_size(h);
	struct hmi_blk *n = hmi_blk_at(next);

	h->size = (hmi_blk_size(h) + hmi_blk_size(n)) | (h->size & HMI_BLK_USED);
	n->tag = 0; /* a stale pointer to it no longer looks like a block */
	next_prev_size(b);
}

/* Free block B joins its free neighbours; the result, not yet listed. */
static uint64_t coalesce(struct hmi_heap_node *hn, uint64_t b)
{
	struct hmi_blk *h = hmi_blk_at(b);
	uint64_t next = b + hmi_blk_size(h);

	if (h->prev_size && !(hmi_blk_at(b - h->prev_size)->size & HMI_BLK_USED)) {
		b -= h->prev_size;
		list_remove(hn, b);
		blk_merge_next(b);
		hn->free_blocks--;
	}
	if (!(hmi_blk_at(next)->size & HMI_BLK_USED)) {
		list_remove(hn, next);
		blk_merge_next(b);
		hn->free_blocks--;
	}
	return b;
}

void hmi_heap_give(struct hmi_heap_view *v, uint64_t b)
{
	struct hmi_blk *h = hmi_blk_at(b);
	struct hmi_heap_node *hn = &v->h->nodes[hmi_slot(v->h, h->node)];
	uint64_t size = hmi_blk_size(h);

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
	hmi_heap_list_insert(hn, coalesce(hn, b));
}

/* Used block B gives its tail beyond BSIZE back (a free block, merged with
 * a free successor). */
static void shrink(struct hmi_heap_node *hn, uint64_t b, uint64_t bsize)
{
	uint64_t rest = blk_split(b, bsize), size = hmi_blk_size(hmi_blk_at(rest));

	hn->used_bytes -= size;
	hn->free_bytes += size;
	hn->free_blocks++;
	hmi_heap_list_insert(hn, coalesce(hn, rest));
}

int hmi_heap_resize(struct hmi_heap_view *v, uint64_t b, uint64_t bsize)
{
	struct hmi_blk *h = hmi_blk_at(b);
	struct hmi_heap_node *hn = &v->h->nodes[hmi_slot(v->h, h->node)];
	uint64_t size = hmi_blk_size(h), next = b + size, grow;

	if (bsize + HMI_BLK_MIN <= size)
		shrink(hn, b, bsize);
	if (bsize <= size)
		return 1;
	if ((hmi_blk_at(next)->size & HMI_BLK_USED) ||
	    size + hmi_blk_size(hmi_blk_at(next)) < bsize)
		return 0;
	grow = hmi_blk_size(hmi_blk_at(next));
	list_remove(hn, next);
	blk_merge_next(b);
	hn->free_bytes -= grow;
	hn->free_blocks--;
	hn->used_bytes += grow;
	if (size + grow - bsize >= HMI_BLK_MIN)
		shrink(hn, b, bsize);
	mark_dirty(v, b, b + hmi_blk_size(h));
	return 1;
}

uint64_t hmi_heap_largest(const struct hmi_heap_view *v, int slot)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t best = 0;
	int fl, sl;

	if (!hn->fl_map)
		return 0;
	fl = log2_floor(hn->fl_map);
	sl = log2_floor(hn->sl_map[fl]);
	for (uint64_t b = hn->heads[fl][sl]; b; b = hmi_heap_links(b)->next)
		if (hmi_blk_size(hmi_blk_at(b)) > best)
			best = hmi_blk_size(hmi_blk_at(b));
	return best;
}

int hmi_local_slot(const struct hmi_heap *h)
{
	unsigned cpu, node;
	int slot;

	if (h->n_nodes == 1 || getcpu(&cpu, &node) != 0)
		return 0;
	slot = hmi_slot(h, (int)node);
	return slot < 0 ? 0 : slot;
}

/* ------------------------------------------------------------------ regions from segments */

int hmi_regions_from_segs(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n_segs,
			  uint64_t skip, struct hmi_region **out, size_t *n)
{
	struct hmi_region *r = calloc(n_segs + 1, sizeof(*r));
	size_t k = 0;

	if (!r)
		return hmi_err(ctx, ENOMEM, "out of memory building the heap's region table");
	for (size_t i = 0; i < n_segs; i++) {
		uint64_t start = segs[i].va + (i == 0 ? skip : 0), end = segs[i].va + segs[i].len;
		uint64_t first =
		    ((start + HMI_BLK_HDR + HMI_BLK_ALIGN - 1) & ~(HMI_BLK_ALIGN - 1)) -
		    HMI_BLK_HDR;
		uint64_t last = ((end - 2 * HMI_BLK_HDR) & ~(HMI_BLK_ALIGN - 1)) + HMI_BLK_HDR;

		if (end < start + 4 * HMI_BLK_ALIGN || last < first + HMI_BLK_MIN)
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
	return sizeof(struct hmi_heap) + n_nodes * sizeof(struct hmi_heap_node) +
	       n_regions * sizeof(uint64_t);
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

/* Node slots in ascending node id order. */
static void assign_slots(struct hmi_heap *h, struct hmi_region *r, size_t n)
{
	int present[HM_MAX_NODES] = {0};

	for (size_t i = 0; i < n; i++)
		present[r[i].node] = 1;
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

	blk_write(r->first, size, 0, r->node);
	blk_write(r->end, HMI_BLK_USED, size, r->node);
	hmi_heap_list_insert(hn, r->first);
	hn->total += size;
	hn->free_bytes += size;
	hn->free_blocks++;
}

int hmi_heap_format(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *r, size_t n,
		    int zeroed)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if (r[i].node < 0 || r[i].node >= HM_MAX_NODES)
			return hmi_err(ctx, EINVAL, "segment at 0x%llx is on node %d: out of range",
				       (unsigned long long)r[i].first, r[i].node);
	memset(h, 0, sizeof(*h));
	assign_slots(h, r, n);
	h->n_regions = (uint32_t)n;
	memset(h->nodes, 0, hmi_heap_size(h->n_nodes, n) - sizeof(*h));
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (h->slot[node] >= 0)
			h->nodes[h->slot[node]].node = node;
	rc = lock_init(ctx, &h->lock);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		region_format(h, &r[i]);
		hmi_high_water(h)[i] = zeroed ? r[i].first : r[i].end + HMI_BLK_HDR;
	}
	h->magic = HMI_HEAP_MAGIC;
	return 0;
}

int hmi_heap_adopt(struct hm_ctx *ctx, struct hmi_heap *h, struct hmi_region *r, size_t n)
{
	if (h->magic != HMI_HEAP_MAGIC || h->n_regions != n || h->n_nodes > HM_MAX_NODES)
		return hmi_err(ctx, EPROTO,
			       "the primary's heap does not match this layout (%u regions, this "
			       "process sees %zu): restart the primary",
			       h->n_regions, n);
	/* the first block's tag is read in the first region only: reading it in
	 * every region would fault in one page per segment of a secondary's lazy
	 * mappings (972 segments: ~35 ms of a 50 ms attach, measured) */
	for (size_t i = 0; i < n; i++) {
		r[i].slot = hmi_slot(h, r[i].node);
		if (r[i].slot < 0 ||
		    (i == 0 && hmi_blk_at(r[i].first)->tag != hmi_blk_tag(r[i].first)))
			return hmi_err(
			    ctx, EPROTO,
			    "the primary's heap has no valid first block at 0x%llx (node "
			    "%d): restart the primary",
			    (unsigned long long)r[i].first, r[i].node);
	}
	return 0;
}

/* ------------------------------------------------------------------ the lock */

static int recover(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	struct hmi_heap *h = v->h;
	char msg[256] = "";

	h->recoveries++;
	if (hmi_heap_check_locked(v, NULL, msg, sizeof(msg)) == 0) {
		pthread_mutex_consistent(&h->lock);
		return 0;
	}
	h->repairs++;
	if (hmi_heap_repair(v, msg, sizeof(msg)) == 0) {
		pthread_mutex_consistent(&h->lock);
		return 0;
	}
	h->broken = 1;
	pthread_mutex_unlock(&h->lock); /* not made consistent: unusable from now on */
	return hmi_err(ctx, ENOTRECOVERABLE,
		       "a process died holding the heap's lock and left it beyond repair (%s): "
		       "restart the primary",
		       msg);
}

int hmi_heap_lock(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	int rc = pthread_mutex_lock(&v->h->lock);

	if (rc == 0)
		return 0;
	if (rc == EOWNERDEAD)
		return recover(ctx, v);
	if (rc == ENOTRECOVERABLE)
		return hmi_err(ctx, ENOTRECOVERABLE,
			       "the heap is broken: a process died holding its lock and left it "
			       "inconsistent: restart the primary");
	return hmi_err(ctx, rc, "cannot lock the heap: %s", strerror(rc));
}

void hmi_heap_unlock(struct hmi_heap_view *v)
{
	pthread_mutex_unlock(&v->h->lock);
}
