/* SPDX-License-Identifier: MIT */
/*
 * heap/check.c — the heap's invariants and their repair (hm_heap_check and the
 * statistics that use them: stats.c).
 *
 * The checker walks every region from its first block, following sizes to
 * the sentinel, and checks each header (tag, size within the region,
 * prev_size equal to the size of the block before, node), that no two free
 * blocks touch, then every free list of every node (each entry a free block
 * of that node in the list its size maps to, back links right, no cycle,
 * bitmaps set exactly for non-empty lists), that the lists hold exactly the
 * free blocks the walk found, and that the node's counters agree. It reads,
 * never writes, and stops at the first fault, which it names.
 *
 * The repair runs when a process died holding the lock and the checker
 * failed. Sizes are authoritative (heap/heap.c writes them so that they always
 * chain); everything else is derived, so the repair follows the sizes,
 * rewrites prev_size, merges free neighbours that a dead free left apart,
 * and rebuilds the lists, bitmaps and counters. Only when the sizes
 * themselves do not chain (a wild write by the application) is the heap
 * beyond repair.
 *
 * External heaps (heap/extview.c) are checked and repaired by the processes
 * that map them only: their blocks and lists lie in memory another process
 * may not have.
 *
 * Blocks parked in a process's private cache are "in use" here (flag
 * `cached`): a process killed with blocks in its cache loses them until the
 * prefix ends, like the blocks it had in use; the walk counts them apart.
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fault(char *msg, size_t len, const char *fmt, ...) HMI_PRINTF(3, 4);
static int fault(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

#define X(v) ((unsigned long long)(v))

/* A header that can be read and holds a size within R: 0, or a fault.
 * *WORD: its size word (flags included), read once. */
static int header_sane(const struct hmi_region *r, uint64_t b, uint64_t *word, char *msg,
		       size_t len)
{
	const struct hmi_blk *h = hmi_blk_at(b);
	uint32_t tag = HMI_READ(h->tag);
	uint64_t size;

	if ((b + HMI_BLK_HDR) % HMI_BLK_ALIGN)
		return fault(msg, len, "block at 0x%llx: not at a block boundary", X(b));
	*word = HMI_READ(h->size);
	size = *word & ~HMI_BLK_USED;
	if (tag != hmi_blk_tag(b))
		return fault(msg, len,
			     "block at 0x%llx: header tag 0x%x is not a block's (overwritten?)",
			     X(b), tag);
	if (size < HMI_BLK_MIN || size % HMI_BLK_ALIGN || size > r->end - b)
		return fault(msg, len,
			     "block at 0x%llx: size %llu is not a multiple of %llu within its "
			     "region (which ends at 0x%llx)",
			     X(b), X(size), X(HMI_BLK_ALIGN), X(r->end));
	return 0;
}

static void count(struct hmi_walk *w, const struct hmi_blk *h, uint64_t word)
{
	uint64_t size = word & ~HMI_BLK_USED;

	if (word & HMI_BLK_USED) {
		w->used_bytes += size;
		w->used_blocks++;
		w->cached_bytes += HMI_READ(h->cached) ? size : 0;
		w->zone_bytes += HMI_READ(h->zone) ? size : 0;
		return;
	}
	w->free_bytes += size;
	w->free_blocks++;
	if (size > w->largest_free)
		w->largest_free = size;
}

static int check_sentinel(const struct hmi_region *r, uint64_t prev, char *msg, size_t len)
{
	const struct hmi_blk *s = hmi_blk_at(r->end);
	uint64_t size = HMI_READ(s->size), prev_size = HMI_READ(s->prev_size);

	if (HMI_READ(s->tag) != hmi_blk_tag(r->end) || size != HMI_BLK_USED || prev_size != prev)
		return fault(msg, len,
			     "the end of the region at 0x%llx is overwritten (size %llu, prev_size "
			     "%llu, last block %llu bytes)",
			     X(r->end), X(size), X(prev_size), X(prev));
	return 0;
}

static int walk_region(const struct hmi_region *r, struct hmi_walk *w, char *msg, size_t len)
{
	uint64_t b = r->first, prev = 0;
	int prev_free = 0, rc;

	while (b < r->end) {
		const struct hmi_blk *h = hmi_blk_at(b);
		uint64_t word = 0, prev_size = HMI_READ(h->prev_size);
		int16_t node = HMI_READ(h->node);
		int is_free;

		rc = header_sane(r, b, &word, msg, len);
		if (rc < 0)
			return rc;
		is_free = !(word & HMI_BLK_USED);
		if (prev_size != prev)
			return fault(
			    msg, len,
			    "block at 0x%llx: prev_size %llu, but the block before is %llu "
			    "bytes",
			    X(b), X(prev_size), X(prev));
		if (node != r->node)
			return fault(msg, len, "block at 0x%llx says node %d, its region is on %d",
				     X(b), node, r->node);
		if (is_free && prev_free)
			return fault(msg, len,
				     "free blocks at 0x%llx and 0x%llx touch (not merged)",
				     X(b - prev), X(b));
		count(w, h, word);
		prev = word & ~HMI_BLK_USED;
		prev_free = is_free;
		b += prev;
	}
	return check_sentinel(r, prev, msg, len);
}

/* One free list: entries free blocks of SLOT in list (FL, SL), back links
 * right, at most BUDGET entries (more means a cycle). */
static int check_list(const struct hmi_heap_view *v, int slot, int fl, int sl, uint64_t budget,
		      uint64_t *n, uint64_t *bytes, char *msg, size_t len)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	int node = HMI_READ(hn->node), f, s;
	uint64_t prev = 0, word = 0, size, back;

	for (uint64_t b = HMI_READ(hn->heads[fl][sl]); b;
	     prev = b, b = HMI_READ(hmi_heap_links(b)->next)) {
		const struct hmi_region *r = hmi_region_find(v, b);

		if (++*n > budget)
			return fault(msg, len,
				     "node %d: free list %d.%d has more entries than there "
				     "are free blocks (a cycle?)",
				     node, fl, sl);
		if (!r || r->slot != slot || (b + HMI_BLK_HDR) % HMI_BLK_ALIGN)
			return fault(msg, len,
				     "node %d: free list %d.%d points to 0x%llx, not a block of "
				     "the node",
				     node, fl, sl, X(b));
		if (header_sane(r, b, &word, msg, len) < 0 || (word & HMI_BLK_USED))
			return fault(msg, len,
				     "node %d: free list %d.%d holds 0x%llx, which is not a free "
				     "block",
				     node, fl, sl, X(b));
		size = word & ~HMI_BLK_USED;
		back = HMI_READ(hmi_heap_links(b)->prev);
		hmi_heap_list_of(size, &f, &s);
		if (f != fl || s != sl || back != prev)
			return fault(msg, len,
				     "node %d: block 0x%llx of %llu bytes is in free list %d.%d "
				     "(belongs in %d.%d), back link 0x%llx (want 0x%llx)",
				     node, X(b), X(size), fl, sl, f, s, X(back), X(prev));
		*bytes += size;
	}
	return 0;
}

static int check_bitmaps(const struct hmi_heap_node *hn, int fl, char *msg, size_t len)
{
	uint64_t fm = HMI_READ(hn->fl_map);
	uint32_t sm = HMI_READ(hn->sl_map[fl]);

	if (!(fm & (1ULL << fl)) != !sm || sm >> HMI_SL_COUNT)
		return fault(msg, len, "node %d: bitmap of lists %d.* disagrees with the lists",
			     HMI_READ(hn->node), fl);
	for (int sl = 0; sl < HMI_SL_COUNT; sl++)
		if (!(sm & (1u << sl)) != !HMI_READ(hn->heads[fl][sl]))
			return fault(msg, len,
				     "node %d: bitmap bit of list %d.%d disagrees with it",
				     HMI_READ(hn->node), fl, sl);
	return 0;
}

static int check_lists(const struct hmi_heap_view *v, int slot, const struct hmi_walk *w, char *msg,
		       size_t len)
{
	const struct hmi_heap_node *hn = &v->h->nodes[slot];
	uint64_t n = 0, bytes = 0;
	int rc = 0;

	if (HMI_READ(hn->fl_map) >> HMI_FL_COUNT)
		return fault(msg, len, "node %d: bitmap names lists that do not exist",
			     HMI_READ(hn->node));
	for (int fl = 0; rc == 0 && fl < HMI_FL_COUNT; fl++) {
		rc = check_bitmaps(hn, fl, msg, len);
		for (int sl = 0; rc == 0 && sl < HMI_SL_COUNT; sl++)
			rc = check_list(v, slot, fl, sl, w->free_blocks, &n, &bytes, msg, len);
	}
	if (rc == 0 && (n != w->free_blocks || bytes != w->free_bytes))
		rc = fault(msg, len,
			   "node %d: free lists hold %llu blocks (%llu bytes), the regions %llu "
			   "(%llu bytes)",
			   hn->node, X(n), X(bytes), X(w->free_blocks), X(w->free_bytes));
	return rc;
}

static int check_counters(const struct hmi_heap_node *hn, const struct hmi_walk *w, char *msg,
			  size_t len)
{
	if (hn->free_bytes != w->free_bytes || hn->free_blocks != w->free_blocks ||
	    hn->used_bytes != w->used_bytes || hn->used_blocks != w->used_blocks ||
	    hn->total != w->free_bytes + w->used_bytes)
		return fault(msg, len,
			     "node %d: counters say %llu free bytes in %llu blocks, %llu used in "
			     "%llu, %llu in all; the blocks %llu in %llu, %llu in %llu",
			     hn->node, X(hn->free_bytes), X(hn->free_blocks), X(hn->used_bytes),
			     X(hn->used_blocks), X(hn->total), X(w->free_bytes), X(w->free_blocks),
			     X(w->used_bytes), X(w->used_blocks));
	return 0;
}

/* The regions this process walks: the window's (index < n_regions; a
 * grown unit given back has FIRST 0), then the external heaps it maps. */
static const struct hmi_region *walked_region(const struct hmi_heap_view *v, size_t i)
{
	const struct hmi_region *r;

	if (i < v->n_regions)
		r = &v->regions[i];
	else if (i - v->n_regions < HMI_EXT_HEAPS &&
		 (HMI_READ(v->ext_here) >> (i - v->n_regions) & 1))
		r = &v->regions[v->cap_regions + (i - v->n_regions)];
	else
		return NULL;
	return r->first ? r : NULL;
}

#define ALL_REGIONS(v) ((v)->n_regions + HMI_EXT_HEAPS)
#define ALL_SLOTS(v)   ((v)->n_nodes + HMI_EXT_HEAPS)

int hmi_heap_check_locked(const struct hmi_heap_view *v, struct hmi_walk *walk, char *msg,
			  size_t len)
{
	struct hmi_walk w[HM_MAX_NODES + HMI_EXT_HEAPS];
	uint32_t n_nodes = v->n_nodes;
	const struct hmi_region *r;
	int rc = 0;

	memset(w, 0, sizeof(w));
	if (HMI_READ(v->h->magic) != HMI_HEAP_MAGIC || HMI_READ(v->h->n_nodes) != n_nodes ||
	    HMI_READ(v->h->n_regions) != v->n_regions)
		return fault(msg, len, "the heap's header is overwritten");
	for (size_t i = 0; rc == 0 && i < ALL_REGIONS(v); i++)
		if ((r = walked_region(v, i)))
			rc = walk_region(r, &w[r->slot], msg, len);
	for (uint32_t s = 0; rc == 0 && s < ALL_SLOTS(v); s++)
		if (hmi_slot_mapped(v, (int)s))
			rc = check_lists(v, (int)s, &w[s], msg, len);
	for (uint32_t s = 0; rc == 0 && s < ALL_SLOTS(v); s++)
		if (hmi_slot_mapped(v, (int)s))
			rc = check_counters(&v->h->nodes[s], &w[s], msg, len);
	if (walk)
		memcpy(walk, w, n_nodes * sizeof(*walk));
	return rc;
}

/* ------------------------------------------------------------------ repair */

/* Follow sizes through R: rewrite prev_size and node, merge free
 * neighbours. -EUCLEAN when the sizes do not chain. */
static int relink_region(const struct hmi_region *r, char *msg, size_t len)
{
	uint64_t b = r->first, prev = 0, word = 0;
	int prev_free = 0, rc;

	while (b < r->end) {
		struct hmi_blk *h = hmi_blk_at(b);
		uint64_t size;
		int is_free;

		rc = header_sane(r, b, &word, msg, len);
		if (rc < 0)
			return rc;
		size = word & ~HMI_BLK_USED;
		is_free = !(word & HMI_BLK_USED);
		if (is_free && prev_free) { /* a dead free left them apart */
			hmi_blk_at(b - prev)->size = prev + size;
			h->tag = 0;
			prev += size;
			b += size;
			continue;
		}
		h->prev_size = prev;
		h->node = (int16_t)r->node;
		prev = size;
		prev_free = is_free;
		b += size;
	}
	if (HMI_READ(hmi_blk_at(r->end)->tag) != hmi_blk_tag(r->end) ||
	    HMI_READ(hmi_blk_at(r->end)->size) != HMI_BLK_USED)
		return fault(msg, len, "the end of the region at 0x%llx is overwritten", X(r->end));
	hmi_blk_at(r->end)->prev_size = prev;
	return 0;
}

/* The free lists and counters of R's node from its blocks (checked again:
 * the memory may have changed since relink_region). */
static int relist_region(struct hmi_heap_view *v, const struct hmi_region *r, char *msg, size_t len)
{
	struct hmi_heap_node *hn = &v->h->nodes[r->slot];
	uint64_t word = 0, size;

	for (uint64_t b = r->first; b < r->end; b += size) {
		struct hmi_blk *h = hmi_blk_at(b);

		if (header_sane(r, b, &word, msg, len) < 0)
			return -EUCLEAN;
		size = word & ~HMI_BLK_USED;
		hn->total += size;
		if (word & HMI_BLK_USED) {
			hn->used_bytes += size;
			hn->used_blocks++;
			continue;
		}
		h->cached = 0;
		h->zone = 0;
		hn->free_bytes += size;
		hn->free_blocks++;
		hmi_heap_list_insert(v, r->slot, b, size);
	}
	return 0;
}

int hmi_heap_repair(struct hmi_heap_view *v, char *msg, size_t len)
{
	struct hmi_heap *h = v->h;
	const struct hmi_region *r;
	int rc = 0;

	if (HMI_READ(h->magic) != HMI_HEAP_MAGIC || HMI_READ(h->n_nodes) != v->n_nodes ||
	    HMI_READ(h->n_regions) != v->n_regions)
		return fault(msg, len, "the heap's header is overwritten");
	for (size_t i = 0; rc == 0 && i < ALL_REGIONS(v); i++)
		if ((r = walked_region(v, i)))
			rc = relink_region(r, msg, len);
	if (rc < 0)
		return rc;
	for (uint32_t s = 0; s < ALL_SLOTS(v); s++) {
		struct hmi_heap_node *hn = &h->nodes[s];

		if (!hmi_slot_mapped(v, (int)s))
			continue;
		memset(hn->heads, 0, sizeof(hn->heads));
		memset(hn->sl_map, 0, sizeof(hn->sl_map));
		hn->fl_map = 0;
		hn->total = hn->free_bytes = hn->free_blocks = hn->used_bytes = hn->used_blocks = 0;
	}
	for (size_t i = 0; rc == 0 && i < ALL_REGIONS(v); i++)
		if ((r = walked_region(v, i)))
			rc = relist_region(v, r, msg, len);
	if (rc == 0 && hmi_heap_is_damaged(v))
		rc = fault(msg, len, "%s", v->damage);
	return rc;
}
