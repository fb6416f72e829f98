/* SPDX-License-Identifier: MIT */
/*
 * heap/extview.c — external heaps (heap/extheap.c: hm_extmem_heap_add and
 * _remove) in the shared table and in each process's view, everything here
 * with the heap lock held (lock.c syncs the view when it takes it).
 *
 * The shared heap holds a table of HMI_EXT_HEAPS entries (struct
 * hmi_ext_heap: the range, live or not) and as many node heaps after the
 * NUMA nodes' (heap K is slot n_nodes + K, socket id HM_EXT_SOCKET_BASE + K).
 * Its one region is the range, as hmi_region_of cuts it; its IOVAs are the
 * registration's, which must be contiguous (every block of the heap is).
 * HM_SOCKET_ANY and node ids never reach it: its slot is above every node's,
 * and their loops stop at n_nodes. Its blocks never enter a thread's cache
 * (a cache has room for the node slots only): every call on it takes the
 * lock, as every call of DPDK's malloc does.
 *
 * The memory is per process: another process of the prefix reads it only
 * once it has mapped the same memory at the same address and registered it
 * there too (DPDK's attach). Each view therefore knows every live heap's
 * range (EXT_KNOWN) but maps, walks and allocates from only those its own
 * process registered (EXT_HERE), and holds those ranges (hmi_extmap_use:
 * hm_extmem_unregister refuses them) while it does. The view follows the
 * shared table and this process's registrations each time it takes the lock
 * (hmi_heap_ext_sync), comparing two generation counts first. Every check,
 * repair, statistic and lookup skips the heaps not mapped here; a dead lock
 * holder's repair that could not check such a heap marks it suspect, and the
 * next process that maps it checks it before any use.
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define X(v) ((unsigned long long)(v))

static uint32_t bit(int k)
{
	return 1u << k;
}

static int here(const struct hmi_heap_view *v, int k)
{
	return (__atomic_load_n(&v->ext_here, __ATOMIC_ACQUIRE) & bit(k)) != 0;
}

int hmi_ext_heap_at(const struct hmi_heap_view *v, uint64_t addr)
{
	for (int k = 0; k < HMI_EXT_HEAPS; k++)
		if ((v->ext_known & bit(k)) && addr - v->ext_range[k].va < v->ext_range[k].len)
			return k;
	return -1;
}

/* Move this process's registration of [VA, VA+LEN) from use FROM to TO. */
static int set_use(struct hmi_heap_view *v, uint64_t va, uint64_t len, enum hmi_ext_use from,
		   enum hmi_ext_use to)
{
	int rc;

	if (!v->extmap)
		return -ENOENT;
	hmi_extmap_lock(v->extmap);
	rc = hmi_extmap_use(v->extmap, va, len, from, to, NULL);
	hmi_extmap_unlock(v->extmap);
	return rc;
}

/* Heap K is mapped here from now on: its region, then (last) its bit. */
static void track(struct hmi_heap_view *v, int k, uint64_t first, uint64_t end)
{
	v->regions[v->cap_regions + (size_t)k] = (struct hmi_region){.first = first,
								     .end = end,
								     .node = HM_EXT_SOCKET_BASE + k,
								     .slot = (int)v->n_nodes + k};
	v->max_blocks += (end - first) / HMI_BLK_MIN;
	__atomic_or_fetch(&v->ext_here, bit(k), __ATOMIC_RELEASE);
}

/* Heap K is not mapped here any more: its bit first (a lookup racing this
 * finds nothing), then its region; its range is let go, READY for a heap
 * again, or DETACHED (this process stopped using a heap that lives on). */
static void untrack(struct hmi_heap_view *v, int k, enum hmi_ext_use to)
{
	struct hmi_region *r = &v->regions[v->cap_regions + (size_t)k];

	if (!here(v, k))
		return;
	__atomic_and_fetch(&v->ext_here, ~bit(k), __ATOMIC_RELEASE);
	v->max_blocks -= (r->end - r->first) / HMI_BLK_MIN;
	memset(r, 0, sizeof(*r));
	set_use(v, v->ext_range[k].va, v->ext_range[k].len, HMI_EXT_HEAP, to);
}

/* Heap K is gone (or another now): nothing of it stays in the view, and a
 * range this process had detached from it may serve a heap again. */
static void forget(struct hmi_heap_view *v, int k)
{
	untrack(v, k, HMI_EXT_READY);
	set_use(v, v->ext_range[k].va, v->ext_range[k].len, HMI_EXT_DETACHED, HMI_EXT_READY);
	v->ext_known &= ~bit(k);
	v->ext_own &= ~bit(k);
	atomic_store(&v->ext_count[k].allocs, 0); /* a heap made in its entry later counts anew */
	atomic_store(&v->ext_count[k].frees, 0);
}

/* A copy of shared entry K, checked: 1 live (*FIRST, *END its region), 0
 * free, -1 damaged (the heap marked so). Its range must hold a block and lie
 * outside the window's regions (external memory never overlaps the window). */
static int read_entry(struct hmi_heap_view *v, int k, struct hmi_ext_heap *d, uint64_t *first,
		      uint64_t *end)
{
	memcpy(d, &v->h->ext[k], sizeof(*d));
	if (d->live == 0)
		return 0;
	if (d->live == 1 && d->va && d->va + d->len > d->va &&
	    hmi_region_of(d->va, d->va + d->len, first, end) == 0 &&
	    (d->va >= v->hi || d->va + d->len <= v->lo))
		return 1;
	hmi_heap_damage(v, "external heap %d's entry (live %u, 0x%llx, %llu bytes) is overwritten",
			HM_EXT_SOCKET_BASE + k, d->live, X(d->va), X(d->len));
	return -1;
}

/* Shared entry K, live (D) or not (LIVE 0), into the view. */
static void sync_one(struct hmi_heap_view *v, int k, int live, const struct hmi_ext_heap *d,
		     uint64_t first, uint64_t end)
{
	if ((v->ext_known & bit(k)) &&
	    (!live || v->ext_range[k].va != d->va || v->ext_range[k].len != d->len))
		forget(v, k);
	if (!live)
		return;
	v->ext_known |= bit(k);
	v->ext_range[k].va = d->va;
	v->ext_range[k].len = d->len;
	/* registered here (and not detached: DETACHED is not READY) */
	if (!here(v, k) && set_use(v, d->va, d->len, HMI_EXT_READY, HMI_EXT_HEAP) == 0)
		track(v, k, first, end);
}

int hmi_heap_ext_sync(struct hmi_heap_view *v)
{
	uint64_t gen = HMI_READ(v->h->ext_gen);
	uint32_t local = v->extmap ? hmi_extmap_generation(v->extmap) : 0;
	int suspect = 0;

	if (gen == v->ext_gen && local == v->ext_local)
		return 0;
	for (int k = 0; k < HMI_EXT_HEAPS; k++) {
		struct hmi_ext_heap d;
		uint64_t first = 0, end = 0;
		int live = read_entry(v, k, &d, &first, &end);

		if (live < 0)
			return -1;
		sync_one(v, k, live, &d, first, end);
		suspect |= live && here(v, k) && d.suspect;
	}
	v->ext_gen = gen;
	v->ext_local = local;
	return suspect;
}

void hmi_heap_ext_checked(struct hmi_heap_view *v, int dead_holder)
{
	int marked = 0;

	for (int k = 0; k < HMI_EXT_HEAPS; k++) {
		if (!(v->ext_known & bit(k)))
			continue;
		if (here(v, k))
			v->h->ext[k].suspect = 0;
		else if (dead_holder && !HMI_READ(v->h->ext[k].suspect))
			v->h->ext[k].suspect = marked = 1;
	}
	if (marked) /* the processes that map them look again */
		v->h->ext_gen = HMI_READ(v->h->ext_gen) + 1;
}

int hmi_ext_usable(struct hm_ctx *ctx, const struct hmi_heap_view *v, const char *fn, int slot)
{
	int k = slot - (int)v->n_nodes;

	if (k >= 0 && k < HMI_EXT_HEAPS && here(v, k))
		return 0;
	if (k < 0 || k >= HMI_EXT_HEAPS || !(v->ext_known & bit(k)))
		return hmi_err(ctx, ENOENT,
			       "%s: no external heap %d in this prefix (hm_extmem_heap_add makes "
			       "one)",
			       fn, HM_EXT_SOCKET_BASE + k);
	return hmi_err(ctx, ENOENT,
		       "%s: external heap %d (added by pid %d) is memory this process has not "
		       "registered, or has detached from (0x%llx, %llu bytes): map the same memory "
		       "at the same address and hm_extmem_register it here first",
		       fn, HM_EXT_SOCKET_BASE + k, HMI_READ(v->h->ext[k].owner),
		       X(v->ext_range[k].va), X(v->ext_range[k].len));
}

/* ------------------------------------------------------------------ add, remove */

/* With the lock: a free entry for [AT, AT+LEN), which no heap may overlap. */
static int free_entry(struct hm_ctx *ctx, const struct hmi_heap_view *v, uint64_t at, uint64_t len)
{
	int k = -1;

	for (int i = 0; i < HMI_EXT_HEAPS; i++) {
		uint64_t va = v->ext_range[i].va, n = v->ext_range[i].len;

		if (!(v->ext_known & bit(i))) {
			k = k < 0 ? i : k;
			continue;
		}
		if (at < va + n && va < at + len)
			return hmi_err(
			    ctx, EEXIST,
			    "hm_extmem_heap_add(0x%llx, %llu bytes): %s external heap %d "
			    "(0x%llx, %llu bytes)",
			    X(at), X(len), va == at && n == len ? "it is" : "it overlaps",
			    HM_EXT_SOCKET_BASE + i, X(va), X(n));
	}
	if (k < 0)
		return hmi_err(
		    ctx, ENOSPC,
		    "hm_extmem_heap_add: the prefix holds %d external heaps already, the "
		    "most it can: remove one first",
		    HMI_EXT_HEAPS);
	return k;
}

int hmi_heap_ext_add_locked(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t at, uint64_t len,
			    uint64_t first, uint64_t end)
{
	struct hmi_ext_heap *d;
	int k = free_entry(ctx, v, at, len);

	if (k < 0)
		return k;
	if (set_use(v, at, len, HMI_EXT_READY, HMI_EXT_HEAP) < 0) /* unregistered meanwhile */
		return hmi_err(ctx, EINVAL,
			       "hm_extmem_heap_add(0x%llx, %llu bytes): the range is being "
			       "registered or unregistered by another thread",
			       X(at), X(len));
	hmi_heap_ext_format(v, k, first, end);
	d = &v->h->ext[k];
	d->va = at;
	d->len = len;
	d->owner = (int32_t)getpid();
	d->suspect = 0;
	d->reserved = 0;
	__atomic_store_n(&d->live, 1, __ATOMIC_RELEASE);
	v->h->ext_gen = HMI_READ(v->h->ext_gen) + 1;
	v->ext_known |= bit(k);
	v->ext_own |= bit(k);
	v->ext_range[k].va = at;
	v->ext_range[k].len = len;
	track(v, k, first, end);
	return HM_EXT_SOCKET_BASE + k;
}

/* With the lock: heap K, which this context added, out of the prefix when
 * every block of it is free. */
static int remove_own(struct hm_ctx *ctx, struct hmi_heap_view *v, int k)
{
	const struct hmi_heap_node *hn = &v->h->nodes[v->n_nodes + (uint32_t)k];

	if (!hmi_heap_ext_take(v, k))
		return hmi_heap_is_damaged(v)
			   ? -ENOTRECOVERABLE
			   : hmi_err(ctx, EBUSY,
				     "hm_extmem_heap_remove: external heap %d still has %llu bytes "
				     "in %llu blocks in use (zones included): free them first",
				     HM_EXT_SOCKET_BASE + k, X(HMI_READ(hn->used_bytes)),
				     X(HMI_READ(hn->used_blocks)));
	__atomic_store_n(&v->h->ext[k].live, 0, __ATOMIC_RELEASE);
	v->h->ext_gen = HMI_READ(v->h->ext_gen) + 1;
	forget(v, k);
	return 0;
}

int hmi_heap_ext_remove_locked(struct hm_ctx *ctx, struct hmi_heap_view *v, uint64_t at,
			       uint64_t len)
{
	int k = hmi_ext_heap_at(v, at);

	if (k < 0 || v->ext_range[k].va != at || v->ext_range[k].len != len)
		return hmi_err(ctx, ENOENT,
			       "hm_extmem_heap_remove(0x%llx, %llu bytes): no external heap over "
			       "exactly that range",
			       X(at), X(len));
	if (v->ext_own & bit(k))
		return remove_own(ctx, v, k);
	if (!here(v, k))
		return hmi_err(
		    ctx, ENOENT,
		    "hm_extmem_heap_remove(0x%llx, %llu bytes): this process does not use "
		    "external heap %d: nothing to detach",
		    X(at), X(len), HM_EXT_SOCKET_BASE + k);
	untrack(v, k, HMI_EXT_DETACHED); /* another process's heap: only stop using it */
	return 0;
}

void hmi_heap_ext_leave(struct hmi_heap_view *v)
{
	struct hm_ctx scratch = {0}; /* no one reads a message here */

	for (int k = 0; k < HMI_EXT_HEAPS; k++) {
		if ((v->ext_own & bit(k)) && !hmi_heap_is_damaged(v))
			remove_own(&scratch, v, k); /* one still in use stays for the others */
		forget(v, k);
	}
}
