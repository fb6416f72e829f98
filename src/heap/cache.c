/* SPDX-License-Identifier: MIT */
/*
 * heap/cache.c — hm_malloc and its family, and the per-thread cache that
 * makes most of them lock-free.
 *
 * Each thread keeps, per context, node and block size up to 4160 bytes
 * (4 KiB of payload; 65 classes, one per 64 bytes), a stack of blocks that
 * were freed or fetched ahead: at most 64 blocks and 32 KiB per class
 * (heap/view.c makes the caches and flushes them). Blocks in it are "in use"
 * for the shared heap (flag `cached` in their header), so only the thread
 * touches its cache: no lock. A malloc that finds its class empty fetches
 * half a class's worth in one hold of the shared lock; a free that finds it
 * full gives the older half back in one hold. Other sizes and alignments
 * above 64 bytes go straight to the shared heap under its lock; a request the
 * shared heap cannot meet first makes this thread give its cache back, and
 * tries again. The common case — a cached size, a one-node heap — is inline
 * in heap_alloc and hm_free: about 22 ns a pair on this VM.
 *
 * hm_free checks its pointer before touching anything: inside a region, 64-
 * byte aligned, a header whose tag matches its address, in use, a size that
 * stays in the region (hmi_blk_of), not parked in a cache already (the
 * `cached` flag: a second free of a block, from any thread or process, sees
 * it set). What fails is counted and ignored.
 */
#include "heap/heap.h"

#include "grow/grow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(v) ((unsigned long long)(v))

/* ------------------------------------------------------------------ arguments */

/* The block size for SIZE bytes at ALIGN, or 0 with a message. */
static uint64_t block_for(struct hm_ctx *ctx, const struct hmi_heap_view *v, const char *fn,
			  size_t size, size_t *align)
{
	uint64_t bsize = hmi_blk_for(size);

	if (*align == 0)
		*align = HMI_BLK_ALIGN;
	if (*align & (*align - 1) || *align > v->max_align) {
		hmi_err(ctx, EINVAL,
			"%s: alignment %zu is not a power of two up to the page size "
			"(%llu)",
			fn, *align, X(v->max_align));
		return 0;
	}
	if (size == 0)
		hmi_err(ctx, EINVAL, "%s: size 0: ask at least one byte", fn);
	else if (bsize == 0)
		hmi_err(ctx, ENOMEM, "%s: %zu bytes is more than any heap holds", fn, size);
	return size ? bsize : 0;
}

/* The node slot to try first: SOCKET's, or (HM_SOCKET_ANY) the calling
 * CPU's when it has a heap, else the first. -1 with a message when SOCKET
 * has no heap. */
static int first_slot(struct hm_ctx *ctx, const struct hmi_heap_view *v, const char *fn, int socket)
{
	int slot;

	if (socket == HM_SOCKET_ANY)
		return hmi_local_slot(v);
	slot = hmi_slot(v, socket);
	if (slot < 0)
		hmi_err(ctx, ENOENT,
			"%s: no memory on node %d in this prefix: ask another node or "
			"HM_SOCKET_ANY",
			fn, socket);
	return slot;
}

/* ------------------------------------------------------------------ the cache */

static int class_of(uint64_t bsize)
{
	return (int)(bsize / HMI_BLK_ALIGN) - 1;
}

static int cacheable(uint64_t bsize, uint64_t align)
{
	return bsize <= HMI_CACHE_CLASSES * HMI_BLK_ALIGN && align <= HMI_BLK_ALIGN;
}

static inline uint64_t cache_pop(struct hmi_tcache *c, int slot, uint64_t bsize)
{
	struct hmi_tslot *s = &c->slot[slot];
	struct hmi_cache_class *cl = &s->cls[class_of(bsize)];
	uint64_t b;

	if (!cl->n)
		return 0;
	b = cl->blk[cl->n - 1];
	hmi_cls_set(cl, cl->n - 1);
	hmi_count(&s->c.allocs, 1);
	__atomic_store_n(&hmi_blk_at(b)->cached, 0, __ATOMIC_RELAXED);
	return b;
}

static void give_back(struct hm_ctx *ctx, struct hmi_heap_view *v, const uint64_t *b, size_t n)
{
	if (n == 0 || hmi_heap_lock(ctx, v) < 0)
		return;
	for (size_t i = 0; i < n && !hmi_heap_is_damaged(v); i++)
		hmi_heap_give(v, b[i]);
	if (hmi_heap_unlock_check(ctx, v) == 0)
		hmi_heap_after_free(ctx, v);
}

/* An empty class: fetch half its capacity of blocks in one hold of the
 * shared lock; the first is returned, the rest parked. 0 when the node is
 * full or the lock is broken. */
static uint64_t cache_fill(struct hm_ctx *ctx, struct hmi_tcache *c, int slot, uint64_t bsize)
{
	struct hmi_tslot *s = &c->slot[slot];
	struct hmi_cache_class *cl = &s->cls[class_of(bsize)];
	uint64_t b[HMI_CACHE_MAX];
	size_t n = 0;

	if (hmi_heap_lock(ctx, c->v) < 0)
		return 0;
	for (; n < cl->cap / 2; n++)
		if (!(b[n] = hmi_heap_take(c->v, slot, bsize, HMI_BLK_ALIGN, NULL)))
			break;
	if (hmi_heap_unlock_check(ctx, c->v) < 0)
		return 0; /* what it took stays taken: the heap is not walked again */
	for (size_t i = 1; i < n; i++) {
		hmi_blk_at(b[i])->cached = 1;
		cl->blk[cl->n] = b[i];
		hmi_cls_set(cl, cl->n + 1);
	}
	if (n)
		hmi_count(&s->c.allocs, 1);
	return n ? b[0] : 0;
}

/* ------------------------------------------------------------------ the shared path */

/* The counters of this context's calls on SLOT: thread C's for a node, the
 * view's for an external heap (its blocks are never cached; atomic adds). */
static void count_call(struct hmi_heap_view *v, struct hmi_tcache *c, int slot, int freed)
{
	struct hmi_counters *n;

	if (hmi_slot_is_ext(v, slot)) {
		n = &v->ext_count[slot - (int)v->n_nodes];
		atomic_fetch_add_explicit(freed ? &n->frees : &n->allocs, 1, memory_order_relaxed);
		return;
	}
	if (c)
		hmi_count(freed ? &c->slot[slot].c.frees : &c->slot[slot].c.allocs, 1);
}

static void no_room(struct hm_ctx *ctx, struct hmi_heap_view *v, const char *fn, size_t size,
		    size_t align, int slot, int any)
{
	int best = slot;

	if (hmi_slot_is_ext(v, slot)) {
		hmi_err(ctx, ENOMEM,
			"%s: no room for %zu bytes (align %zu) in external heap %d: its largest "
			"free block holds %llu of %llu free bytes: free memory, or add another "
			"external range",
			fn, size, align, hmi_slot_node(v, slot),
			X(hmi_heap_largest(v, slot) ? hmi_heap_largest(v, slot) - HMI_BLK_HDR : 0),
			X(HMI_READ(v->h->nodes[slot].free_bytes)));
		return;
	}

	for (uint32_t s = 0; any && s < v->n_nodes; s++)
		if (hmi_heap_largest(v, (int)s) > hmi_heap_largest(v, best))
			best = (int)s;
	hmi_err(ctx, ENOMEM,
		"%s: no room for %zu bytes (align %zu) on %s node %d: its largest free block "
		"holds %llu of %llu free bytes: free memory, or give the primary more (-m)",
		fn, size, align, any ? "any node; best" : "", hmi_slot_node(v, best),
		X(hmi_heap_largest(v, best) ? hmi_heap_largest(v, best) - HMI_BLK_HDR : 0),
		X(HMI_READ(v->h->nodes[best].free_bytes)));
}

static uint64_t take_any(struct hmi_heap_view *v, uint64_t bsize, size_t align, int slot, int any,
			 uint64_t *dirty)
{
	uint64_t b = hmi_heap_take(v, slot, bsize, align, dirty);

	for (uint32_t s = 0; !b && any && s < v->n_nodes && !hmi_heap_is_damaged(v); s++)
		b = hmi_heap_take(v, (int)s, bsize, align, dirty);
	return b;
}

/* With the shared lock: give back every block this thread's cache holds
 * (they may be what splits the free memory). */
static void flush_mine(struct hmi_heap_view *v, struct hmi_tcache *c)
{
	for (uint32_t s = 0; c && s < v->n_nodes; s++) {
		for (int k = 0; k < HMI_CACHE_CLASSES; k++) {
			struct hmi_cache_class *cl = &c->slot[s].cls[k];

			for (uint32_t i = 0; i < cl->n && !hmi_heap_is_damaged(v); i++)
				hmi_heap_give(v, cl->blk[i]);
			hmi_cls_set(cl, 0);
		}
	}
}

/* A block from SLOT, else (ANY) from any other node; with the lock. When
 * none fits, this thread's cache goes back first and the search again. */
static uint64_t shared_take(struct hm_ctx *ctx, struct hmi_heap_view *v, struct hmi_tcache *c,
			    const char *fn, size_t size, size_t align, int slot, int any,
			    uint64_t *dirty)
{
	uint64_t bsize = hmi_blk_for(size), b;

	if (hmi_heap_lock(ctx, v) < 0)
		return 0;
	if (hmi_slot_is_ext(v, slot) && hmi_ext_usable(ctx, v, fn, slot) < 0) {
		hmi_heap_unlock(v);
		return 0;
	}
	b = take_any(v, bsize, align, slot, any, dirty);
	if (!b && !hmi_heap_is_damaged(v)) {
		flush_mine(v, c);
		b = take_any(v, bsize, align, slot, any, dirty);
	}
	if (!b && !hmi_heap_is_damaged(v))
		no_room(ctx, v, fn, size, align, slot, any);
	if (hmi_heap_unlock_check(ctx, v) < 0)
		return 0;
	if (b)
		count_call(v, c, hmi_blk_slot(v, b), 0);
	return b;
}

/* A secondary that may not grow (page files) found no room: say why. */
static void secondary_cannot_grow(struct hm_ctx *ctx)
{
	char why[HMI_ERR_MAX];

	snprintf(why, sizeof(why), "%s", hm_errmsg(ctx));
	hmi_err(ctx, ENOMEM,
		"%s; a secondary grows memory of memfds and single files only: with page files "
		"the primary grows it (docs/growth.md)",
		why);
}

/* Every case but the fast one of heap_alloc. An external heap's blocks
 * never go through the cache, and it never grows. */
static void *alloc_slow(struct hm_ctx *ctx, const char *fn, size_t size, size_t align, int socket,
			uint64_t *dirty)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	uint64_t bsize = v ? block_for(ctx, v, fn, size, &align) : 0, b = 0;
	int slot = bsize ? first_slot(ctx, v, fn, socket) : -1;
	struct hmi_tcache *c = slot < 0 ? NULL : hmi_tcache(v);
	int node_heap = slot >= 0 && !hmi_slot_is_ext(v, slot);

	if (slot < 0)
		return NULL;
	if (hmi_heap_is_damaged(v)) { /* sticky: not even the cache serves a broken heap */
		hmi_heap_broken(ctx, v);
		return NULL;
	}
	if (c && node_heap && cacheable(bsize, align)) {
		b = cache_pop(c, slot, bsize);
		if (!b && !hmi_heap_is_damaged(v))
			b = cache_fill(ctx, c, slot, bsize);
		if (b && dirty)
			*dirty = b + bsize;
	}
	if (!b && !hmi_heap_is_damaged(v))
		b = shared_take(ctx, v, c, fn, size, align, slot, socket == HM_SOCKET_ANY, dirty);
	/* no room: grow the memory (--max-mem) on the node asked, then once more */
	if (!b && node_heap && !hmi_heap_is_damaged(v) && hmi_grow_possible(ctx) &&
	    hmi_heap_grow(ctx, v, fn, hmi_slot_node(v, slot), bsize, align) == 0)
		b = shared_take(ctx, v, c, fn, size, align, slot, socket == HM_SOCKET_ANY, dirty);
	if (!b && node_heap && hmi_grow_following(ctx) && !hmi_grow_possible(ctx) &&
	    !hmi_heap_is_damaged(v))
		secondary_cannot_grow(ctx);
	return b ? (void *)(uintptr_t)(b + HMI_BLK_HDR) : NULL;
}

/* CTX's view, without a message (the slow paths say why there is none). */
static struct hmi_heap_view *view_of(const struct hm_ctx *ctx)
{
	return ctx->heap && ctx->heap->arena ? &ctx->heap->arena->view : NULL;
}

#define CACHE_PAYLOAD (HMI_CACHE_CLASSES * HMI_BLK_ALIGN - HMI_BLK_HDR)

/* The allocation behind every malloc-style call: a small block on a
 * one-node heap from this thread's cache first, inline. *DIRTY (may be
 * NULL): from that address on, the payload is as the kernel cleared it. */
static void *heap_alloc(struct hm_ctx *ctx, const char *fn, size_t size, size_t align, int socket,
			uint64_t *dirty)
{
	struct hmi_heap_view *v = view_of(ctx);
	struct hmi_tcache *c;
	uint64_t b;

	if (hmi_heap_inherited(ctx->heap)) { /* a forked child: the heap is not mapped here */
		hmi_err_inherited(ctx, fn);
		return NULL;
	}
	if (v && size - 1 < CACHE_PAYLOAD && align <= HMI_BLK_ALIGN && v->n_nodes == 1 &&
	    !HMI_READ(v->damaged) && (socket == HM_SOCKET_ANY || hmi_slot(v, socket) == 0) &&
	    (c = pthread_getspecific(v->key)) && (b = cache_pop(c, 0, hmi_blk_for(size)))) {
		if (dirty)
			*dirty = b + hmi_blk_for(size);
		return (void *)(uintptr_t)(b + HMI_BLK_HDR);
	}
	return alloc_slow(ctx, fn, size, align, socket, dirty);
}

/* ------------------------------------------------------------------ malloc family */

void *hm_malloc_socket(struct hm_ctx *ctx, size_t size, size_t align, int socket)
{
	return heap_alloc(ctx, "hm_malloc", size, align, socket, NULL);
}

void *hm_malloc(struct hm_ctx *ctx, size_t size, size_t align)
{
	return heap_alloc(ctx, "hm_malloc", size, align, HM_SOCKET_ANY, NULL);
}

static void *zalloc(struct hm_ctx *ctx, const char *fn, size_t size, size_t align)
{
	uint64_t dirty = UINT64_MAX;
	char *p = heap_alloc(ctx, fn, size, align, HM_SOCKET_ANY, &dirty);
	uint64_t from = (uint64_t)(uintptr_t)p;

	if (p) /* bytes at and above DIRTY are still as the kernel cleared them */
		memset(p, 0, dirty <= from ? 0 : dirty - from < size ? dirty - from : size);
	return p;
}

void *hm_zmalloc(struct hm_ctx *ctx, size_t size, size_t align)
{
	return zalloc(ctx, "hm_zmalloc", size, align);
}

void *hm_calloc(struct hm_ctx *ctx, size_t num, size_t size, size_t align)
{
	if (size && num > SIZE_MAX / size) {
		hmi_err(ctx, ENOMEM, "hm_calloc: %zu elements of %zu bytes overflow", num, size);
		return NULL;
	}
	return zalloc(ctx, "hm_calloc", num * size, align);
}

/* ------------------------------------------------------------------ free */

static void bad_free(struct hm_ctx *ctx, struct hmi_heap_view *v, const void *ptr, const char *why)
{
	atomic_fetch_add(&v->h->bad_frees, 1);
	hmi_err(ctx, EINVAL, "hm_free(%p): %s: ignored", ptr, why);
}

/* Park block B in this thread's cache; a full class gives its older half
 * back. */
static void cache_free(struct hm_ctx *ctx, struct hmi_tcache *c, uint64_t b, uint64_t bsize)
{
	struct hmi_tslot *s = &c->slot[hmi_blk_slot(c->v, b)];
	struct hmi_cache_class *cl = &s->cls[class_of(bsize)];
	uint64_t old[HMI_CACHE_MAX];
	uint32_t half = 0;

	hmi_poison(b + HMI_BLK_HDR, bsize - HMI_BLK_HDR);
	if (cl->n == cl->cap) {
		half = cl->n / 2;
		memcpy(old, cl->blk, half * sizeof(*old));
		memmove(cl->blk, cl->blk + half, (cl->n - half) * sizeof(*old));
		hmi_cls_set(cl, cl->n - half);
	}
	cl->blk[cl->n] = b;
	hmi_cls_set(cl, cl->n + 1);
	hmi_count(&s->c.frees, 1);
	if (half)
		give_back(ctx, c->v, old, half);
}

static void shared_free(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t b, const void *ptr)
{
	struct hmi_tcache *c = hmi_tcache(v);
	struct hmi_blk *h = hmi_blk_at(b);
	int slot;

	if (hmi_heap_lock(ctx, v) < 0)
		return;
	if (!(HMI_READ(h->size) & HMI_BLK_USED) || HMI_READ(h->cached) ||
	    HMI_READ(h->tag) != hmi_blk_tag(b)) {
		hmi_heap_unlock(v);
		bad_free(ctx, v, ptr, "freed already");
		return;
	}
	slot = hmi_blk_slot(v, b);
	hmi_heap_give(v, b);
	if (hmi_heap_unlock_check(ctx, v) < 0)
		return;
	count_call(v, c, slot, 1);
	hmi_heap_after_free(ctx, v);
}

/* The used block whose payload is PTR (hmi_blk_of); when there is none and
 * the view may lag the external heaps (one added by another process, memory
 * registered here since), once more after the lock brought it up to date. */
static uint64_t blk_of_fresh(struct hm_ctx *ctx, struct hmi_heap_view *v, const void *ptr,
			     uint64_t *size)
{
	uint64_t b = hmi_blk_of(v, ptr, size);

	if (b || !hmi_heap_ext_stale(v) || hmi_heap_lock(ctx, v) < 0)
		return b;
	hmi_heap_unlock(v);
	return hmi_blk_of(v, ptr, size);
}

/* Every case but the fast one of hm_free. */
static void free_slow(struct hm_ctx *ctx, void *ptr)
{
	struct hmi_heap_view *v;
	struct hmi_tcache *c;
	uint64_t b, bsize;

	if (!ptr || !(v = hmi_arena_view(ctx)))
		return;
	if (hmi_heap_is_damaged(v)) {
		hmi_heap_broken(ctx, v);
		return;
	}
	b = blk_of_fresh(ctx, v, ptr, &bsize);
	if (!b && hmi_ext_heap_at(v, (uint64_t)(uintptr_t)ptr) >= 0 &&
	    !hmi_ext_region_find(v, (uint64_t)(uintptr_t)ptr))
		return bad_free(ctx, v, ptr,
				"in an external heap whose memory this process has not registered");
	if (!b)
		return bad_free(ctx, v, ptr, "not a block of this prefix's heap, or freed already");
	if (HMI_READ(hmi_blk_at(b)->zone))
		return bad_free(ctx, v, ptr, "a memzone: free it with hm_memzone_free");
	c = cacheable(bsize, HMI_BLK_ALIGN) && !hmi_slot_is_ext(v, hmi_blk_slot(v, b))
		? hmi_tcache(v)
		: NULL;
	if (!c)
		return shared_free(ctx, v, b, ptr);
	/* a plain check, not an atomic exchange (which costs half of the fast
	 * path): a double free is caught once the first free has returned; two
	 * frees of one block racing each other are not, as in any allocator */
	if (__atomic_load_n(&hmi_blk_at(b)->cached, __ATOMIC_RELAXED))
		return bad_free(ctx, v, ptr, "freed already");
	__atomic_store_n(&hmi_blk_at(b)->cached, 1, __ATOMIC_RELAXED);
	cache_free(ctx, c, b, bsize);
}

/* A block of a cached size goes to a class of this thread's cache that has
 * room: inline, no lock; everything else (and every refusal, and an
 * external heap's block: outside the window) to free_slow. */
static inline void free_fast(struct hm_ctx *ctx, void *ptr)
{
	struct hmi_heap_view *v = view_of(ctx);
	uint64_t bsize = 0, b = v ? hmi_blk_of(v, ptr, &bsize) : 0;
	struct hmi_blk *h = hmi_blk_at(b);
	struct hmi_cache_class *cl;
	struct hmi_tcache *c;
	struct hmi_tslot *s;

	if (!b || bsize > HMI_CACHE_CLASSES * HMI_BLK_ALIGN ||
	    hmi_outside_window(v, (uint64_t)(uintptr_t)ptr) || HMI_READ(v->damaged) ||
	    HMI_READ(h->zone) || __atomic_load_n(&h->cached, __ATOMIC_RELAXED) ||
	    !(c = pthread_getspecific(v->key)))
		return free_slow(ctx, ptr);
	s = &c->slot[v->n_nodes == 1 ? 0 : hmi_blk_slot(v, b)];
	cl = &s->cls[class_of(bsize)];
	if (cl->n == cl->cap)
		return free_slow(ctx, ptr);
	__atomic_store_n(&h->cached, 1, __ATOMIC_RELAXED);
	hmi_poison(b + HMI_BLK_HDR, bsize - HMI_BLK_HDR);
	cl->blk[cl->n] = b;
	hmi_cls_set(cl, cl->n + 1);
	hmi_count(&s->c.frees, 1);
}

void hm_free(struct hm_ctx *ctx, void *ptr)
{
	if (hmi_heap_inherited(ctx->heap)) /* a forked child: the heap is not mapped here */
		hmi_err_inherited(ctx, "hm_free");
	else
		free_fast(ctx, ptr);
}

/* ------------------------------------------------------------------ realloc */

static int grow_in_place(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t b, uint64_t bsize)
{
	int done;

	if (hmi_heap_lock(ctx, v) < 0)
		return 0;
	done = hmi_heap_resize(v, b, bsize);
	return hmi_heap_unlock_check(ctx, v) < 0 ? 0 : done;
}

void *hm_realloc(struct hm_ctx *ctx, void *ptr, size_t size, size_t align)
{
	struct hmi_heap_view *v;
	uint64_t old = 0, b, bsize;
	void *moved;

	if (hmi_heap_inherited(ctx->heap)) {
		hmi_err_inherited(ctx, "hm_realloc");
		return NULL;
	}
	v = ptr ? hmi_arena_view(ctx) : NULL;
	b = v ? blk_of_fresh(ctx, v, ptr, &old) : 0;
	if (!ptr)
		return heap_alloc(ctx, "hm_realloc", size, align, HM_SOCKET_ANY, NULL);
	if (v && hmi_heap_is_damaged(v)) {
		hmi_heap_broken(ctx, v);
		return NULL;
	}
	if (!b || HMI_READ(hmi_blk_at(b)->zone) || HMI_READ(hmi_blk_at(b)->cached)) {
		if (v)
			hmi_err(ctx, EINVAL, "hm_realloc(%p): not a block of this heap in use",
				ptr);
		return NULL;
	}
	if (size == 0) {
		hm_free(ctx, ptr);
		return NULL;
	}
	bsize = block_for(ctx, v, "hm_realloc", size, &align);
	if (!bsize)
		return NULL;
	if ((uint64_t)(uintptr_t)ptr % align == 0 && grow_in_place(ctx, v, b, bsize))
		return ptr;
	if (hmi_heap_is_damaged(v)) /* found while trying in place */
		return NULL;
	old -= HMI_BLK_HDR;
	moved = heap_alloc(ctx, "hm_realloc", size, align, hmi_region_find(v, b)->node, NULL);
	if (!moved && !hmi_heap_is_damaged(v))
		moved = heap_alloc(ctx, "hm_realloc", size, align, HM_SOCKET_ANY, NULL);
	if (!moved)
		return NULL;
	memcpy(moved, ptr, old < size ? old : size);
	hm_free(ctx, ptr);
	return moved;
}
