/* SPDX-License-Identifier: MIT */
/*
 * hugemem_dpdk.h — DPDK applications on hugemem memory (adapters/dpdk/README.md).
 *
 * A hugemem prefix's memory becomes a named DPDK malloc heap, so that
 * rte_malloc, rte_memzone and rte_mempool (mbufs) of a DPDK 22.11 application
 * allocate from it, each page with the IOVA hugemem read for it.
 *
 * The memory DPDK gets is memory hugemem's own heap no longer hands out:
 * every addition is a hugemem zone named "dpdk.<heap>.<n>" (page-aligned, a
 * whole number of pages, IOVA-contiguous), added with one
 * rte_malloc_heap_memory_add. DPDK writes its element headers there; hugemem
 * writes nothing into a zone. Secondaries find the chunks by those names.
 *
 * With hugemem's --max-mem, a chunk hugemem's heap has no room for makes
 * hugemem grow; hmd_heap_shrink and hm_mem_trim give such memory back.
 *
 * Each addition takes one of DPDK's RTE_MAX_MEMSEG_LISTS (128) memseg lists,
 * DPDK's own included: hmd_heap_grow refuses with -ENOSPC before DPDK does,
 * and hmd_heap_slots_left says how many remain.
 *
 * Conventions as libhugemem's: 0 or -errno, nothing printed; after a failure
 * hmd_errmsg(h) says why. One handle per thread at a time.
 */
#ifndef HUGEMEM_DPDK_H
#define HUGEMEM_DPDK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hm_ctx;
struct hmd_heap;

/* The longest heap name: "dpdk.<name>.<n>" must fit a hugemem zone name. */
#define HMD_NAME_MAX 20
/* The zone names of one heap: "dpdk.<name>." then the chunk's number. */
#define HMD_ZONE_PREFIX "dpdk."

/* A handle over HM (after hm_init or hm_attach), not yet bound to a heap.
 * Errors: -EINVAL (HM or OUT NULL), -ENOMEM. */
int hmd_heap_new(struct hm_ctx *hm, struct hmd_heap **out);

/* DPDK primary: create the DPDK heap NAME (1..HMD_NAME_MAX bytes of
 * [A-Za-z0-9_-]) and add to it the chunks of NAME a previous run left in
 * hugemem (none on a fresh prefix).
 * Errors: -EALREADY, -EEXIST, -EINVAL, -ENOSPC, and what hmd_heap_grow gives. */
int hmd_heap_create(struct hmd_heap *h, const char *name);

/* DPDK secondary: attach every chunk of heap NAME the primary added
 * (hugemem attached by hm_attach, so at the primary's addresses).
 * Errors: -EALREADY, -EINVAL, -ENOENT, -EPROTO. */
int hmd_heap_attach(struct hmd_heap *h, const char *name);

/* Secondary: attach the chunks added since the last attach or sync (after the
 * primary grew the heap, before this process uses the heap's memory). Returns
 * the number attached. Errors: -EINVAL, -ENOENT, -EPROTO. */
int hmd_heap_sync(struct hmd_heap *h);

/* Primary: add BYTES (rounded up to whole pages) to the heap as one chunk: a
 * hugemem zone on hugemem node SOCKET (-1: any), added with its pages' IOVAs.
 * hugemem maps more pages when it runs with --max-mem and its heap has no
 * room. Errors: -EINVAL, -ENOMEM (no room: hugemem's message), -ENOSPC (no
 * memseg list or zone left), -EPERM (a secondary's handle), -EIO. */
int hmd_heap_grow(struct hmd_heap *h, uint64_t bytes, int socket);

/* Primary: add the largest chunk hugemem can give on SOCKET (-1: any), as
 * hmd_heap_grow; *ADDED (may be NULL) gets its length. Errors: as hmd_heap_grow. */
int hmd_heap_grow_max(struct hmd_heap *h, int socket, uint64_t *added);

/* Primary: take every chunk DPDK has no allocation in out of DPDK's heap
 * and give its zone back to hugemem's heap (free the mempools and rings on
 * it first); chunks in use stay. hm_mem_trim can then give grown memory back
 * to the pool. Secondaries must not use a removed chunk (hmd_heap_sync does
 * not detach it): shrink when they are gone or never used it. Returns the
 * number removed, *BYTES (may be NULL) their length.
 * Errors: -EINVAL, -EPERM (a secondary's handle), -EIO. */
int hmd_heap_shrink(struct hmd_heap *h, uint64_t *bytes);

/* The owner registers a hugemem memory-event callback "hmd.<name>" from
 * hmd_heap_create to hmd_heap_destroy (or hmd_heap_free).
 * hmd_heap_grown: bytes hugemem mapped (HM_MEM_EVENT_ALLOC) in the thread
 * inside hmd_heap_grow while it reserved zones — 0 when hugemem's heap had
 * room, or without --max-mem. hmd_heap_refused: HM_MEM_EVENT_FREE events
 * refused because the memory holds a chunk still in DPDK's heap (hugemem
 * never offers a unit a zone holds: only a chunk whose zone was freed behind
 * the adapter's back is ever refused). 0 for a secondary's handle. */
uint64_t hmd_heap_grown(const struct hmd_heap *h);
unsigned long hmd_heap_refused(const struct hmd_heap *h);

/* The DPDK socket id of the heap (for rte_mempool_create, rte_malloc_socket),
 * or -ENOENT before create or attach. */
int hmd_heap_socket(const struct hmd_heap *h);

/* Chunks in the heap, and bytes in them. */
int hmd_heap_chunks(const struct hmd_heap *h, uint64_t *bytes);

/* How many more chunks DPDK can take (free memseg lists), >= 0. */
int hmd_heap_slots_left(void);

/* Primary: take every chunk out of the DPDK heap (they must hold no
 * allocation: free mempools and rings first), destroy the heap and free the
 * zones. Secondary: detach. The handle stays, unbound. Errors: -EBUSY (memory
 * still allocated; the heap is left whole), -EIO. */
int hmd_heap_destroy(struct hmd_heap *h);

/* Free the handle (not the heap: hmd_heap_destroy first). NULL is accepted.
 * It unregisters the owner's event callback if destroy did not; hugemem's
 * unregister does not wait for a call running in another thread, so free
 * the handle when no other thread grows or trims hugemem's memory. */
void hmd_heap_free(struct hmd_heap *h);

/* The message of the last failed call on H ("" when none). */
const char *hmd_errmsg(const struct hmd_heap *h);

#ifdef __cplusplus
}
#endif
#endif /* HUGEMEM_DPDK_H */
