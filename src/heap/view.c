/* SPDX-License-Identifier: MIT */
/*
 * heap/view.c — one context's private side of the shared heap: its region
 * table and the caches of its threads.
 *
 * Each thread that calls the heap through a context gets its own cache
 * (struct hmi_tcache), found through a pthread key that belongs to the
 * context's view: the fast path takes no lock at all, not even a spinlock
 * (an uncontended spinlock round trip costs about 19 ns here, two of them per
 * malloc/free pair were half its cost). The view keeps a registry of the
 * caches under a private mutex, taken only when a thread makes or drops its
 * cache and by statistics. A thread that exits gives its cache back to the
 * shared heap (the key's destructor) and leaves its counters to the view;
 * hm_fini flushes every cache still registered (the threads must be done
 * with the heap by then, as with any hm_fini).
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t class_cap(int cls)
{
	uint64_t bsize = (uint64_t)(cls + 1) * HMI_BLK_ALIGN, cap = HMI_CACHE_BYTES / bsize;

	return (uint32_t)(cap < 4 ? 4 : cap > HMI_CACHE_MAX ? HMI_CACHE_MAX : cap);
}

/* Give every block of C back to the shared heap (its counters follow). A
 * damaged heap is not walked, nor a lock held for seconds waited on: the
 * blocks then stay in use until the prefix ends, as a killed process's do
 * (the process's own memory is released all the same). */
static void tcache_flush(struct hmi_tcache *c)
{
	struct hmi_heap_view *v = c->v;
	struct hm_ctx scratch = {0}; /* a broken heap's message has nowhere to go */

	if (hmi_heap_lock_briefly(&scratch, v) < 0)
		return;
	for (uint32_t s = 0; s < v->n_nodes && !hmi_heap_is_damaged(v); s++) {
		for (int k = 0; k < HMI_CACHE_CLASSES; k++) {
			struct hmi_cache_class *cl = &c->slot[s].cls[k];

			for (uint32_t i = 0; i < cl->n; i++)
				hmi_heap_give(v, cl->blk[i]);
			hmi_cls_set(cl, 0);
		}
	}
	hmi_heap_unlock(v);
}

/* Off the registry (reg_lock held); its counters go to GONE. */
static void tcache_unlink(struct hmi_tcache *c)
{
	struct hmi_heap_view *v = c->v;

	for (uint32_t s = 0; s < v->n_nodes; s++) {
		hmi_count(&v->gone[s].allocs, (int64_t)atomic_load(&c->slot[s].c.allocs));
		hmi_count(&v->gone[s].frees, (int64_t)atomic_load(&c->slot[s].c.frees));
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		v->caches = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* The key's destructor: a thread exits. In a forked child (its one thread
 * holds a copy of the forking thread's cache) the blocks are the parent's
 * and the heap is not mapped: the cache stays on the registry, for
 * hmi_view_forget to free. */
static void tcache_exit(void *arg)
{
	struct hmi_tcache *c = arg;

	if (c->v->fork_gen != hmi_fork_generation)
		return;
	tcache_flush(c);
	pthread_mutex_lock(&c->v->reg_lock);
	tcache_unlink(c);
	pthread_mutex_unlock(&c->v->reg_lock);
	free(c);
}

struct hmi_tcache *hmi_tcache(struct hmi_heap_view *v)
{
	struct hmi_tcache *c = pthread_getspecific(v->key);

	if (c || !v->has_key)
		return c;
	c = calloc(1, sizeof(*c) + v->n_nodes * sizeof(c->slot[0]));
	if (!c)
		return NULL;
	c->v = v;
	for (uint32_t s = 0; s < v->n_nodes; s++)
		for (int k = 0; k < HMI_CACHE_CLASSES; k++)
			c->slot[s].cls[k].cap = class_cap(k);
	if (pthread_setspecific(v->key, c) != 0) {
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&v->reg_lock);
	c->next = v->caches;
	if (c->next)
		c->next->prev = c;
	v->caches = c;
	pthread_mutex_unlock(&v->reg_lock);
	return c;
}

void hmi_view_counters(struct hmi_heap_view *v, int slot, uint64_t *cached, uint64_t *allocs,
		       uint64_t *frees)
{
	pthread_mutex_lock(&v->reg_lock);
	*cached = 0;
	*allocs = atomic_load_explicit(&v->gone[slot].allocs, memory_order_relaxed);
	*frees = atomic_load_explicit(&v->gone[slot].frees, memory_order_relaxed);
	for (struct hmi_tcache *c = v->caches; c; c = c->next) {
		for (int k = 0; k < HMI_CACHE_CLASSES; k++)
			*cached += __atomic_load_n(&c->slot[slot].cls[k].n, __ATOMIC_RELAXED) *
				   (uint64_t)(k + 1) * HMI_BLK_ALIGN;
		*allocs += atomic_load_explicit(&c->slot[slot].c.allocs, memory_order_relaxed);
		*frees += atomic_load_explicit(&c->slot[slot].c.frees, memory_order_relaxed);
	}
	pthread_mutex_unlock(&v->reg_lock);
}

/* The page map: for every page from the first region's to the last's, the
 * region on it (index + 1). Skipped when it would exceed MAX_MAP entries
 * (small pages over a large window): lookups then search. */
#define MAX_MAP (1u << 20)

static void map_regions(struct hmi_heap_view *v)
{
	int shift = 63 - __builtin_clzll(v->max_align);
	uint64_t base, n;

	if (v->n_regions == 0)
		return;
	base = v->regions[0].first >> shift << shift;
	n = ((v->hi - base) >> shift) + 1; /* to the end of the growth area, when there is one */
	if (n > MAX_MAP || !(v->rmap = calloc(n, sizeof(*v->rmap))))
		return;
	for (size_t i = 0; i < v->n_regions; i++)
		for (uint64_t p = (v->regions[i].first - base) >> shift;
		     p <= (v->regions[i].end - base) >> shift; p++)
			v->rmap[p] = (uint32_t)i + 1;
	v->rmap_base = base;
	v->rmap_n = n;
	v->rmap_shift = shift;
}

/* The node slots of REGIONS, as hmi_heap_format assigns them (ascending
 * node ids), made here from this process's own regions and compared with
 * the shared header once: from then on only the view's copy is used. */
static int derive_slots(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_heap *h,
			struct hmi_region *regions, size_t n, uint64_t nodes)
{
	int present[HM_MAX_NODES] = {0};
	uint32_t n_nodes = 0;

	for (int node = 0; node < HM_MAX_NODES && node < 64; node++)
		present[node] = (nodes >> node) & 1;
	for (size_t i = 0; i < n; i++) {
		if (regions[i].node < 0 || regions[i].node >= HM_MAX_NODES)
			return hmi_err(ctx, EPROTO, "a segment is on node %d: out of range",
				       regions[i].node);
		present[regions[i].node] = 1;
		v->max_blocks += (regions[i].end - regions[i].first) / HMI_BLK_MIN;
	}
	for (int node = 0; node < HM_MAX_NODES; node++) {
		v->slot[node] = present[node] ? (int16_t)n_nodes++ : -1;
		if (HMI_READ(h->slot[node]) != v->slot[node])
			return hmi_err(ctx, EPROTO,
				       "the primary's heap has node %d in slot %d, this process's "
				       "layout %d: restart the primary",
				       node, HMI_READ(h->slot[node]), v->slot[node]);
	}
	for (size_t i = 0; i < n; i++)
		regions[i].slot = v->slot[regions[i].node];
	v->n_nodes = n_nodes;
	if (HMI_READ(h->n_nodes) != n_nodes)
		return hmi_err(ctx, EPROTO,
			       "the primary's heap has %u node heaps, this process's layout %u: "
			       "restart the primary",
			       HMI_READ(h->n_nodes), n_nodes);
	return 0;
}

/* A copy of REGIONS (N of them) with room for ROOM's added ones and the
 * external heaps' (heap/extview.c), zeroed: *BIGGER. The caller's REGIONS
 * stay its own until hmi_view_init succeeds. */
static int make_room(struct hm_ctx *ctx, const struct hmi_region *regions, size_t n,
		     const struct hmi_heap_room *room, struct hmi_region **bigger)
{
	size_t cap = n + (room ? room->max_regions : 0) + HMI_EXT_HEAPS;

	*bigger = calloc(cap, sizeof(**bigger));
	if (!*bigger)
		return hmi_err(ctx, ENOMEM, "out of memory for the heap's region table");
	memcpy(*bigger, regions, n * sizeof(*regions));
	return 0;
}

int hmi_view_init(struct hm_ctx *ctx, struct hmi_heap_view *v, struct hmi_heap *h,
		  struct hmi_region *regions, size_t n, uint64_t max_align,
		  const struct hmi_heap_room *room)
{
	struct hmi_region *bigger = NULL;
	size_t extra = room ? room->max_regions : 0;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = derive_slots(ctx, v, h, regions, n, room ? room->nodes : 0);
	if (rc == 0)
		rc = make_room(ctx, regions, n, room, &bigger);
	if (rc < 0)
		return rc;
	v->gone = calloc(v->n_nodes + 1, sizeof(*v->gone));
	rc = v->gone ? pthread_key_create(&v->key, tcache_exit) : ENOMEM;
	if (rc != 0) {
		free(v->gone);
		free(bigger);
		return hmi_err(ctx, rc, "cannot make the heap's caches: %s", strerror(rc));
	}
	v->has_key = 1;
	v->fork_gen = hmi_fork_watch();
	pthread_mutex_init(&v->reg_lock, NULL);
	v->h = h;
	v->regions = bigger;
	free(regions);
	v->cap_regions = n + extra; /* then the external heaps' */
	v->n_regions = v->n_sorted = n;
	v->max_align = max_align;
	v->lo = n ? v->regions[0].first + HMI_BLK_HDR : 1;
	v->hi = n ? v->regions[n - 1].end : 0;
	if (room && room->end > v->hi)
		v->hi = room->end;
	map_regions(v);
	return 0;
}

void hmi_view_release(struct hmi_heap_view *v)
{
	if (v->has_key) {
		pthread_key_delete(v->key); /* no destructor runs after this */
		pthread_mutex_lock(&v->reg_lock);
		while (v->caches) {
			struct hmi_tcache *c = v->caches;

			if (v->h)
				tcache_flush(c);
			tcache_unlink(c);
			free(c);
		}
		pthread_mutex_unlock(&v->reg_lock);
		pthread_mutex_destroy(&v->reg_lock);
	}
	free(v->gone);
	free(v->regions);
	free(v->rmap);
	memset(v, 0, sizeof(*v));
}

void hmi_view_forget(struct hmi_heap_view *v)
{
	/* the registry is walked without its lock: linking and unlinking keep
	 * every cache reachable from CACHES a live allocation at every step */
	while (v->has_key && v->caches) {
		struct hmi_tcache *c = v->caches;

		v->caches = c->next;
		free(c);
	}
	if (v->has_key)
		pthread_key_delete(v->key); /* no destructor runs for it in this process */
	free(v->gone);
	free(v->regions);
	free(v->rmap);
	memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------------ external heaps */

/* The extmap's refresh (hm_extmem_unregister of a range a heap held): the
 * lock brings the view up to date, letting go of heaps removed since. */
static void refresh(void *arg)
{
	struct hmi_heap_view *v = arg;
	struct hm_ctx scratch = {0}; /* the caller's message is its own */

	if (hmi_heap_lock(&scratch, v) == 0)
		hmi_heap_unlock(v);
}

void hmi_heap_ext_open(struct hmi_heap_view *v, struct hmi_extmap *x)
{
	v->extmap = x;
	x->refresh_arg = v;
	x->refresh = refresh;
}

void hmi_heap_ext_release(struct hmi_heap_view *v)
{
	struct hm_ctx scratch = {0}; /* hm_fini's own message stays */

	if (v->extmap)
		v->extmap->refresh = NULL; /* the view goes */
	if (!v->h || !(v->ext_own | v->ext_here) || hmi_heap_lock_briefly(&scratch, v) < 0)
		return;
	hmi_heap_ext_leave(v);
	hmi_heap_unlock(v);
}
