/* SPDX-License-Identifier: MIT */
/*
 * hugemem_dpdk.c — a hugemem prefix's memory as a named DPDK malloc heap
 * (adapters/dpdk/README.md says why each chunk is a hugemem zone). Uses only
 * the public API of include/hugemem.h and DPDK 22.11's external-heap calls.
 */
#include "hugemem_dpdk.h"

#include <hugemem.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_config.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

/* Every chunk takes a memseg list, so a heap never has more chunks than that. */
#define HMD_MAX_CHUNKS RTE_MAX_MEMSEG_LISTS

enum hmd_role { HMD_NONE = 0, HMD_OWNER, HMD_ATTACHED };

struct hmd_chunk {
	void *va;
	uint64_t len;
	unsigned n; /* the number in its zone name */
};

struct hmd_heap {
	struct hm_ctx *hm;
	enum hmd_role role;
	char name[HMD_NAME_MAX + 1];
	int n_chunks;
	unsigned next_n; /* the number the next chunk's zone gets */
	struct hmd_chunk chunks[HMD_MAX_CHUNKS];
	/* The owner's thread changes the table; hugemem's event callback reads
	 * it in whichever thread trims, so changes and that read take the lock. */
	pthread_mutex_t lock;
	char ev_name[HMD_NAME_MAX + 8]; /* the hugemem event callback's, "" = none */
	uint64_t grown;			/* bytes hugemem mapped (ALLOC events) under grow */
	int growing;			/* 1 while hmd_heap_grow reserves (atomic) */
	pthread_t grow_thread;		/* the thread that does, set before growing */
	unsigned long refused;		/* FREE events refused (atomic) */
	char msg[512];
};

/* Record the message and return RC (a negative errno). */
__attribute__((format(printf, 3, 4))) static int hmd_err(struct hmd_heap *h, int rc,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->msg, sizeof(h->msg), fmt, ap);
	va_end(ap);
	return rc;
}

int hmd_heap_new(struct hm_ctx *hm, struct hmd_heap **out)
{
	struct hmd_heap *h;

	if (!hm || !out)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->hm = hm;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

static void events_off(struct hmd_heap *h);

void hmd_heap_free(struct hmd_heap *h)
{
	if (!h)
		return;
	/* Freed without hmd_heap_destroy: hugemem must not call into freed memory. */
	events_off(h);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const char *hmd_errmsg(const struct hmd_heap *h)
{
	return h ? h->msg : "no handle";
}

/* ---------------------------------------------------------------- names */

static int name_ok(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > HMD_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int bind_name(struct hmd_heap *h, const char *name)
{
	h->msg[0] = '\0';
	if (h->role != HMD_NONE)
		return hmd_err(h, -EALREADY, "the handle is bound to heap \"%s\" already", h->name);
	if (!name_ok(name))
		return hmd_err(h, -EINVAL,
			       "heap name \"%s\": want 1 to %d bytes of [A-Za-z0-9_-] (it is part "
			       "of hugemem zone names \"" HMD_ZONE_PREFIX "<name>.<n>\")",
			       name ? name : "(null)", HMD_NAME_MAX);
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->n_chunks = 0;
	h->next_n = 0;
	return 0;
}

static void zone_name(const struct hmd_heap *h, unsigned n, char *buf, size_t len)
{
	snprintf(buf, len, HMD_ZONE_PREFIX "%s.%u", h->name, n);
}

/* The chunk number of zone NAME when it is one of H's, else -1. */
static long chunk_number(const struct hmd_heap *h, const char *name)
{
	size_t pl = strlen(HMD_ZONE_PREFIX), nl = strlen(h->name);
	char *end;
	long n;

	if (strncmp(name, HMD_ZONE_PREFIX, pl) != 0 || strncmp(name + pl, h->name, nl) != 0 ||
	    name[pl + nl] != '.')
		return -1;
	errno = 0;
	n = strtol(name + pl + nl + 1, &end, 10);
	if (errno || *end || end == name + pl + nl + 1 || n < 0)
		return -1;
	return n;
}

/* ---------------------------------------------------------------- DPDK's memseg lists */

static int count_list(const struct rte_memseg_list *msl, void *arg)
{
	(void)msl;
	(*(int *)arg)++;
	return 0;
}

int hmd_heap_slots_left(void)
{
	int used = 0;

	rte_memseg_list_walk(count_list, &used);
	return used >= RTE_MAX_MEMSEG_LISTS ? 0 : RTE_MAX_MEMSEG_LISTS - used;
}

/* ---------------------------------------------------------------- chunks */

static int chunk_known(const struct hmd_heap *h, unsigned n)
{
	int i;

	for (i = 0; i < h->n_chunks; i++)
		if (h->chunks[i].n == n)
			return 1;
	return 0;
}

struct zone_scan {
	struct hmd_heap *h;
	int n_new;
	struct hmd_chunk found[HMD_MAX_CHUNKS];
	int overflow;
};

/* hm_memzone_walk callback: collect H's zones not yet in its table. */
static int scan_zone(const struct hm_memzone *mz, void *arg)
{
	struct zone_scan *s = arg;
	long n = chunk_number(s->h, mz->name);

	if (n < 0 || chunk_known(s->h, (unsigned)n))
		return 0;
	if (s->n_new + s->h->n_chunks >= HMD_MAX_CHUNKS) {
		s->overflow = 1;
		return 1;
	}
	s->found[s->n_new].va = mz->va;
	s->found[s->n_new].len = mz->len;
	s->found[s->n_new].n = (unsigned)n;
	s->n_new++;
	return 0;
}

/* The zones of H's heap not in its table yet into *S. */
static int scan_new_zones(struct hmd_heap *h, struct zone_scan *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->h = h;
	rc = hm_memzone_walk(h->hm, scan_zone, s);
	if (rc < 0)
		return hmd_err(h, rc, "listing hugemem's zones: %s", hm_errmsg(h->hm));
	if (s->overflow)
		return hmd_err(h, -EPROTO, "heap \"%s\" has more than %d chunks in hugemem's zones",
			       h->name, HMD_MAX_CHUNKS);
	return 0;
}

static void chunk_add(struct hmd_heap *h, const struct hmd_chunk *c)
{
	pthread_mutex_lock(&h->lock);
	h->chunks[h->n_chunks++] = *c;
	pthread_mutex_unlock(&h->lock);
	if (c->n >= h->next_n)
		h->next_n = c->n + 1;
}

/* Chunk I out of the table (the others keep their order). */
static void chunk_drop(struct hmd_heap *h, int i)
{
	pthread_mutex_lock(&h->lock);
	memmove(&h->chunks[i], &h->chunks[i + 1],
		(size_t)(h->n_chunks - i - 1) * sizeof(h->chunks[0]));
	h->n_chunks--;
	pthread_mutex_unlock(&h->lock);
}

static uint64_t page_size(const struct hmd_heap *h)
{
	const struct hm_layout_info *l = hm_layout(h->hm);

	return l ? l->page_size : 0;
}

/* The IOVA of each page of C, as hugemem reads them, into a new array *OUT. */
static int chunk_iovas(struct hmd_heap *h, const struct hmd_chunk *c, uint64_t pg, rte_iova_t **out)
{
	unsigned i, n = (unsigned)(c->len / pg);
	rte_iova_t *iova = calloc(n, sizeof(*iova));

	if (!iova)
		return hmd_err(h, -ENOMEM, "no memory for %u IOVAs", n);
	for (i = 0; i < n; i++) {
		uint64_t a = hm_virt2iova(h->hm, (const char *)c->va + (uint64_t)i * pg);
		if (a == HM_BAD_IOVA) {
			free(iova);
			return hmd_err(h, -EIO, "page %u of chunk %u (%p) has no IOVA in hugemem",
				       i, c->n, c->va);
		}
		iova[i] = a;
	}
	*out = iova;
	return 0;
}

/* -ENOSPC, saying so, when DPDK could not take one more chunk: every chunk
 * takes one of its memseg lists, which its own memory shares. */
static int slot_check(struct hmd_heap *h)
{
	int left = hmd_heap_slots_left();

	if (left > 0 && h->n_chunks < HMD_MAX_CHUNKS)
		return 0;
	return hmd_err(h, -ENOSPC,
		       "DPDK has no memseg list left for another chunk of heap \"%s\": all %d "
		       "(RTE_MAX_MEMSEG_LISTS) are taken, %d by this heap's chunks, %d by DPDK's "
		       "own memory and other heaps: grow by fewer, larger chunks",
		       h->name, RTE_MAX_MEMSEG_LISTS, h->n_chunks,
		       RTE_MAX_MEMSEG_LISTS - left - h->n_chunks);
}

/* Hand chunk C to DPDK's heap (one memseg list), pages with hugemem's IOVAs. */
static int dpdk_add(struct hmd_heap *h, const struct hmd_chunk *c)
{
	uint64_t pg = page_size(h);
	rte_iova_t *iova = NULL;
	int rc;

	if (pg == 0 || c->len % pg || (uintptr_t)c->va % pg)
		return hmd_err(h, -EPROTO, "chunk %u (%p, %llu bytes) is not whole pages of %llu",
			       c->n, c->va, (unsigned long long)c->len, (unsigned long long)pg);
	rc = slot_check(h);
	if (rc < 0)
		return rc;
	rc = chunk_iovas(h, c, pg, &iova);
	if (rc < 0)
		return rc;
	rc = rte_malloc_heap_memory_add(h->name, c->va, c->len, iova, (unsigned)(c->len / pg), pg);
	free(iova);
	if (rc < 0)
		return hmd_err(h, -rte_errno, "rte_malloc_heap_memory_add(\"%s\", %p, %llu): %s",
			       h->name, c->va, (unsigned long long)c->len, rte_strerror(rte_errno));
	return 0;
}

static int dpdk_attach(struct hmd_heap *h, const struct hmd_chunk *c)
{
	if (rte_malloc_heap_memory_attach(h->name, c->va, c->len) < 0)
		return hmd_err(h, -rte_errno, "rte_malloc_heap_memory_attach(\"%s\", %p, %llu): %s",
			       h->name, c->va, (unsigned long long)c->len, rte_strerror(rte_errno));
	return 0;
}

/* Add (owner) or attach (secondary) every chunk hugemem holds for H and its
 * table does not. Returns the number. */
static int take_new_chunks(struct hmd_heap *h)
{
	struct zone_scan *s = malloc(sizeof(*s));
	int i, rc;

	if (!s)
		return hmd_err(h, -ENOMEM, "no memory to list zones");
	rc = scan_new_zones(h, s);
	for (i = 0; rc == 0 && i < s->n_new; i++) {
		rc =
		    h->role == HMD_OWNER ? dpdk_add(h, &s->found[i]) : dpdk_attach(h, &s->found[i]);
		if (rc == 0)
			chunk_add(h, &s->found[i]);
	}
	free(s);
	return rc < 0 ? rc : i;
}

/* ---------------------------------------------------------------- hugemem's memory events */

static int overlaps_chunk(struct hmd_heap *h, const char *va, size_t len)
{
	int i, hit = 0;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n_chunks && !hit; i++) {
		const char *c = h->chunks[i].va;
		hit = va < c + h->chunks[i].len && c < va + len;
	}
	pthread_mutex_unlock(&h->lock);
	return hit;
}

/* Called by hugemem with no lock of its held, in the thread that changes the
 * memory. ALLOC in the thread inside hmd_heap_grow's zone reservation: pages
 * hugemem mapped for that zone (counted; another thread's growth at the same
 * time is not). FREE of a chunk's pages: refused, so hugemem keeps them
 * mapped — DPDK's heap holds them. hugemem never offers a unit a zone holds,
 * so this refusal only acts when a chunk's zone was freed behind the
 * adapter's back (hm_memzone_free of "dpdk.<heap>.<n>"): belt and braces. */
static int on_mem_event(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct hmd_heap *h = arg;

	if (ev == HM_MEM_EVENT_ALLOC && __atomic_load_n(&h->growing, __ATOMIC_ACQUIRE) &&
	    pthread_equal(h->grow_thread, pthread_self()))
		h->grown += len;
	if (ev == HM_MEM_EVENT_FREE && overlaps_chunk(h, va, len)) {
		__atomic_fetch_add(&h->refused, 1, __ATOMIC_RELAXED);
		return -EBUSY;
	}
	return 0;
}

static int events_on(struct hmd_heap *h)
{
	int rc;

	snprintf(h->ev_name, sizeof(h->ev_name), "hmd.%s", h->name);
	rc = hm_mem_event_register(h->hm, h->ev_name, on_mem_event, h);
	if (rc < 0) {
		h->ev_name[0] = '\0';
		return hmd_err(h, rc, "hm_mem_event_register(\"hmd.%s\"): %s", h->name,
			       hm_errmsg(h->hm));
	}
	return 0;
}

static void events_off(struct hmd_heap *h)
{
	if (h->ev_name[0])
		hm_mem_event_unregister(h->hm, h->ev_name);
	h->ev_name[0] = '\0';
}

uint64_t hmd_heap_grown(const struct hmd_heap *h)
{
	return h ? h->grown : 0;
}

unsigned long hmd_heap_refused(const struct hmd_heap *h)
{
	return h ? __atomic_load_n(&h->refused, __ATOMIC_RELAXED) : 0;
}

/* ---------------------------------------------------------------- create, attach */

int hmd_heap_create(struct hmd_heap *h, const char *name)
{
	int rc = bind_name(h, name);

	if (rc < 0)
		return rc;
	if (rte_malloc_heap_create(name) < 0)
		return hmd_err(h, -rte_errno, "rte_malloc_heap_create(\"%s\"): %s", name,
			       rte_strerror(rte_errno));
	h->role = HMD_OWNER;
	rc = events_on(h);
	if (rc == 0)
		rc = take_new_chunks(h);
	if (rc < 0) {
		hmd_heap_destroy(h);
		return rc;
	}
	return 0;
}

int hmd_heap_attach(struct hmd_heap *h, const char *name)
{
	int rc = bind_name(h, name);

	if (rc < 0)
		return rc;
	if (rte_malloc_heap_get_socket(name) < 0)
		return hmd_err(h, -ENOENT, "no DPDK heap \"%s\": the primary creates it", name);
	h->role = HMD_ATTACHED;
	rc = take_new_chunks(h);
	if (rc < 0) {
		hmd_heap_destroy(h);
		return rc;
	}
	return 0;
}

int hmd_heap_sync(struct hmd_heap *h)
{
	h->msg[0] = '\0';
	if (h->role != HMD_ATTACHED)
		return hmd_err(h, -EINVAL, "hmd_heap_sync is for a handle of hmd_heap_attach");
	return take_new_chunks(h);
}

/* ---------------------------------------------------------------- growth */

/* A new chunk of LEN bytes (whole pages): a hugemem zone, then DPDK's heap. */
static int grow_chunk(struct hmd_heap *h, uint64_t len, int socket)
{
	struct hmd_chunk c = {.n = h->next_n, .len = len};
	char zn[HM_ZONE_NAME_MAX];
	struct hm_memzone mz;
	int rc;

	rc = slot_check(h); /* before any zone is taken */
	if (rc < 0)
		return rc;
	zone_name(h, c.n, zn, sizeof(zn));
	h->grow_thread = pthread_self();
	__atomic_store_n(&h->growing, 1, __ATOMIC_RELEASE);
	rc = hm_memzone_reserve(h->hm, zn, len, socket, HM_MZ_IOVA_CONTIG, page_size(h), &mz);
	__atomic_store_n(&h->growing, 0, __ATOMIC_RELEASE);
	if (rc < 0)
		return hmd_err(h, rc, "hugemem zone %s of %llu bytes: %s", zn,
			       (unsigned long long)len, hm_errmsg(h->hm));
	c.va = mz.va;
	rc = dpdk_add(h, &c);
	if (rc < 0) {
		hm_memzone_free(h->hm, zn);
		return rc;
	}
	chunk_add(h, &c);
	return 0;
}

static int owner_check(struct hmd_heap *h)
{
	h->msg[0] = '\0';
	if (h->role != HMD_OWNER)
		return hmd_err(h, -EPERM, "only the handle that created heap \"%s\" adds memory",
			       h->role == HMD_NONE ? "(none)" : h->name);
	if (page_size(h) == 0)
		return hmd_err(h, -EINVAL, "hugemem has no memory (hm_init or hm_attach first)");
	return 0;
}

int hmd_heap_grow(struct hmd_heap *h, uint64_t bytes, int socket)
{
	uint64_t pg;
	int rc = owner_check(h);

	if (rc < 0)
		return rc;
	pg = page_size(h);
	if (bytes == 0 || bytes > UINT64_MAX - pg)
		return hmd_err(h, -EINVAL, "grow by %llu bytes: want 1 or more",
			       (unsigned long long)bytes);
	return grow_chunk(h, (bytes + pg - 1) / pg * pg, socket);
}

/* The largest chunk hugemem's heap may give on SOCKET, in whole pages: its
 * largest free block, less a page for the alignment. */
static uint64_t largest_chunk(struct hmd_heap *h, int socket, uint64_t pg)
{
	struct hm_heap_stats st;

	if (hm_heap_stats(h->hm, socket, &st) < 0)
		return 0;
	return st.largest_free / pg * pg;
}

int hmd_heap_grow_max(struct hmd_heap *h, int socket, uint64_t *added)
{
	uint64_t pg, len;
	int rc = owner_check(h), tries;

	if (rc < 0)
		return rc;
	pg = page_size(h);
	len = largest_chunk(h, socket, pg);
	rc = hmd_err(h, -ENOMEM, "hugemem has no free page-aligned page on node %d", socket);
	/* The block may need up to a page of alignment: one page less at most. */
	for (tries = 0; len >= pg && tries < 2; tries++, len -= pg) {
		rc = grow_chunk(h, len, socket);
		if (rc != -ENOMEM)
			break;
	}
	if (rc == 0 && added)
		*added = len;
	return rc;
}

/* ---------------------------------------------------------------- queries */

int hmd_heap_socket(const struct hmd_heap *h)
{
	int s;

	if (!h || h->role == HMD_NONE)
		return -ENOENT;
	s = rte_malloc_heap_get_socket(h->name);
	return s < 0 ? -ENOENT : s;
}

int hmd_heap_chunks(const struct hmd_heap *h, uint64_t *bytes)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < h->n_chunks; i++)
		sum += h->chunks[i].len;
	if (bytes)
		*bytes = sum;
	return h->n_chunks;
}

/* ---------------------------------------------------------------- destroy */

static int heap_in_use(struct hmd_heap *h)
{
	struct rte_malloc_socket_stats st;
	int s = hmd_heap_socket(h);

	if (s < 0 || rte_malloc_get_socket_stats(s, &st) < 0)
		return 0;
	return st.alloc_count > 0 ? (int)st.alloc_count : 0;
}

/* Owner: chunk I out of DPDK's heap and the table, then its zone back to
 * hugemem's heap. 1: DPDK has an allocation in it, nothing done. A chunk
 * DPDK does not know (ENOENT) is dropped all the same. */
static int chunk_remove(struct hmd_heap *h, int i)
{
	struct hmd_chunk c = h->chunks[i];
	char zn[HM_ZONE_NAME_MAX];

	if (rte_malloc_heap_memory_remove(h->name, c.va, c.len) < 0) {
		if (rte_errno == EBUSY)
			return 1;
		if (rte_errno != ENOENT)
			return hmd_err(h, -rte_errno,
				       "rte_malloc_heap_memory_remove(\"%s\", %p): %s", h->name,
				       c.va, rte_strerror(rte_errno));
	}
	/* Out of the table before the zone is freed: from then on the event
	 * callback lets a trim take the unit. */
	chunk_drop(h, i);
	zone_name(h, c.n, zn, sizeof(zn));
	hm_memzone_free(h->hm, zn);
	return 0;
}

static int chunk_detach(struct hmd_heap *h, int i)
{
	const struct hmd_chunk *c = &h->chunks[i];

	if (rte_malloc_heap_memory_detach(h->name, c->va, c->len) < 0 && rte_errno != ENOENT)
		return hmd_err(h, -rte_errno, "rte_malloc_heap_memory_detach(\"%s\", %p): %s",
			       h->name, c->va, rte_strerror(rte_errno));
	chunk_drop(h, i);
	return 0;
}

int hmd_heap_shrink(struct hmd_heap *h, uint64_t *bytes)
{
	uint64_t sum = 0, len;
	int i, n = 0, rc = owner_check(h);

	for (i = h->n_chunks - 1; rc >= 0 && i >= 0; i--) {
		len = h->chunks[i].len;
		rc = chunk_remove(h, i);
		if (rc == 0) {
			sum += len;
			n++;
		}
	}
	if (bytes)
		*bytes = sum;
	return rc < 0 ? rc : n;
}

int hmd_heap_destroy(struct hmd_heap *h)
{
	int busy, rc = 0;

	h->msg[0] = '\0';
	if (h->role == HMD_OWNER && (busy = heap_in_use(h)) > 0)
		return hmd_err(h, -EBUSY,
			       "heap \"%s\" still holds %d allocations: free its mempools, rings "
			       "and buffers first",
			       h->name, busy);
	while (rc == 0 && h->n_chunks > 0) {
		int i = h->n_chunks - 1;
		rc = h->role == HMD_OWNER ? chunk_remove(h, i) : chunk_detach(h, i);
	}
	if (rc == 1) /* an allocation DPDK's statistics did not count */
		return hmd_err(h, -EBUSY, "a chunk of heap \"%s\" still holds DPDK allocations",
			       h->name);
	if (rc < 0)
		return rc;
	if (h->role == HMD_OWNER && rte_malloc_heap_destroy(h->name) < 0)
		return hmd_err(h, -rte_errno, "rte_malloc_heap_destroy(\"%s\"): %s", h->name,
			       rte_strerror(rte_errno));
	events_off(h);
	h->role = HMD_NONE;
	return 0;
}
