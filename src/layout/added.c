/* SPDX-License-Identifier: MIT */
/*
 * layout/added.c — translation of memory that joins after hm_init.
 *
 * Grown memory (docs/growth.md) lives in the growth area at the end of the
 * window, whose size --max-mem fixed: a flat table of one IOVA per page of
 * the area translates it in O(1), as SPDK's spdk_mem_map does with its
 * levels, and needs no rebuild when a unit is added or given back — the
 * table is written in place, one atomic word per page, so a thread
 * translating while another grows reads either the old or the new IOVA of
 * a page, never a torn one. A page's IOVA is written before the unit is
 * announced (callbacks, heap) and cleared before it is unmapped.
 *
 * External memory (hm_extmem_register) is a short table of ranges, each
 * with its own sequence count: a reader copies an entry and retries when
 * the count was odd or changed. A removed range's IOVA table is kept until
 * release, since a reader may still be reading it.
 */
#include "layout/layout.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ grown pages */

int hmi_growmap_init(struct hm_ctx *ctx, struct hmi_growmap *g, uint64_t base, size_t n_pages,
		     uint64_t page_size)
{
	memset(g, 0, sizeof(*g));
	if (n_pages == 0 || page_size == 0 || (page_size & (page_size - 1)))
		return hmi_err(ctx, EINVAL, "growth area of %zu pages of %llu bytes", n_pages,
			       (unsigned long long)page_size);
	g->iova = malloc(n_pages * sizeof(*g->iova));
	if (!g->iova)
		return hmi_err(ctx, ENOMEM, "out of memory for the growth area's table");
	for (size_t i = 0; i < n_pages; i++)
		atomic_init(&g->iova[i], HMI_NO_IOVA);
	g->base = base;
	g->page_size = page_size;
	g->shift = 63 - __builtin_clzll(page_size);
	g->n_pages = n_pages;
	return 0;
}

void hmi_growmap_release(struct hmi_growmap *g)
{
	free(g->iova);
	memset(g, 0, sizeof(*g));
}

void hmi_growmap_set(struct hmi_growmap *g, uint64_t va, const uint64_t *iova, size_t n)
{
	size_t first = (size_t)((va - g->base) >> g->shift);

	for (size_t k = 0; k < n && first + k < g->n_pages; k++)
		atomic_store_explicit(&g->iova[first + k], iova ? iova[k] : HMI_NO_IOVA,
				      memory_order_release);
}

static uint64_t page_iova(const struct hmi_growmap *g, size_t page)
{
	return atomic_load_explicit(&g->iova[page], memory_order_acquire);
}

uint64_t hmi_growmap_virt2iova(const struct hmi_growmap *g, uint64_t va, uint64_t *contig)
{
	uint64_t off = va - g->base, iova, mask = g->page_size - 1;
	size_t page, next;

	if (!g->n_pages || va < g->base || (off >> g->shift) >= g->n_pages)
		return HMI_NO_IOVA;
	page = (size_t)(off >> g->shift);
	iova = page_iova(g, page);
	if (iova == HMI_NO_IOVA)
		return HMI_NO_IOVA;
	for (next = page + 1; contig && next < g->n_pages; next++)
		if (page_iova(g, next) != iova + ((uint64_t)(next - page) << g->shift))
			break;
	if (contig)
		*contig = ((uint64_t)(next - page) << g->shift) - (off & mask);
	return iova + (off & mask);
}

uint64_t hmi_growmap_iova2virt(const struct hmi_growmap *g, uint64_t iova)
{
	uint64_t mask = g->page_size - 1;

	for (size_t i = 0; i < g->n_pages; i++)
		if (page_iova(g, i) == (iova & ~mask))
			return g->base + ((uint64_t)i << g->shift) + (iova & mask);
	return 0;
}

/* ------------------------------------------------------------------ external ranges */

/* A consistent copy of entry I; 0 when it is free or removed. */
static int ext_read(const struct hmi_extmap *x, size_t i, struct hmi_extent *out)
{
	struct hmi_extent *e = (struct hmi_extent *)&x->e[i];

	for (;;) {
		uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire), s2;

		if (s1 & 1)
			continue;
		out->va = __atomic_load_n(&e->va, __ATOMIC_RELAXED);
		out->len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
		out->page_size = __atomic_load_n(&e->page_size, __ATOMIC_RELAXED);
		out->iova = __atomic_load_n(&e->iova, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if (s1 == s2)
			return out->len != 0;
	}
}

/* Write entry E under its sequence count (the caller serialises writers). */
static void ext_write(struct hmi_extent *e, uint64_t va, uint64_t len, uint64_t page_size,
		      uint64_t *iova)
{
	uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);

	atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&e->va, va, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&e->page_size, page_size, __ATOMIC_RELAXED);
	__atomic_store_n(&e->iova, iova, __ATOMIC_RELAXED);
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

int hmi_extmap_add(struct hm_ctx *ctx, struct hmi_extmap *x, uint64_t va, uint64_t len,
		   uint64_t page_size, uint64_t *iova)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_relaxed);
	struct hmi_extent copy;

	for (uint32_t i = 0; i < n; i++)
		if (!ext_read(x, i, &copy)) { /* a removed range's slot */
			atomic_store(&x->e[i].use, HMI_EXT_JOINING);
			ext_write(&x->e[i], va, len, page_size, iova);
			atomic_fetch_add(&x->gen, 1);
			return 0;
		}
	if (n == HMI_EXT_MAX)
		return hmi_err(ctx, ENOSPC,
			       "%d external ranges are registered already, the most a context "
			       "holds: unregister one, or register fewer, larger ranges",
			       HMI_EXT_MAX);
	atomic_store(&x->e[n].use, HMI_EXT_JOINING);
	ext_write(&x->e[n], va, len, page_size, iova);
	atomic_store_explicit(&x->n, n + 1, memory_order_release);
	atomic_fetch_add(&x->gen, 1);
	return 0;
}

int hmi_extmap_remove(struct hm_ctx *ctx, struct hmi_extmap *x, uint64_t va, uint64_t len)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent copy;
	int rc;

	for (uint32_t i = 0; i < n; i++) {
		if (!ext_read(x, i, &copy) || copy.va != va || copy.len != len)
			continue;
		rc = hmi_array_reserve(ctx, (void **)&x->retired, &x->cap_retired, x->n_retired + 1,
				       sizeof(*x->retired), 8,
				       "the table of removed external ranges");
		if (rc < 0)
			return rc;
		x->retired[x->n_retired++] = copy.iova;
		ext_write(&x->e[i], 0, 0, 0, NULL);
		atomic_fetch_add(&x->gen, 1);
		return 0;
	}
	return -ENOENT;
}

void hmi_extmap_lock(struct hmi_extmap *x)
{
	while (atomic_flag_test_and_set_explicit(&x->writing, memory_order_acquire))
		sched_yield();
}

void hmi_extmap_unlock(struct hmi_extmap *x)
{
	atomic_flag_clear_explicit(&x->writing, memory_order_release);
}

int hmi_extmap_has(const struct hmi_extmap *x, uint64_t va, uint64_t len)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++)
		if (ext_read(x, i, &c) && c.va == va && c.len == len)
			return 1;
	return 0;
}

int hmi_extmap_use(struct hmi_extmap *x, uint64_t va, uint64_t len, enum hmi_ext_use from,
		   enum hmi_ext_use to, enum hmi_ext_use *now)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++) {
		enum hmi_ext_use was;

		if (!ext_read(x, i, &c) || c.va != va || c.len != len)
			continue;
		was = (enum hmi_ext_use)atomic_load(&x->e[i].use);
		if (now)
			*now = was;
		if (was != from)
			return -EBUSY;
		atomic_store(&x->e[i].use, to);
		atomic_fetch_add(&x->gen, 1);
		return 0;
	}
	return -ENOENT;
}

int hmi_extmap_overlap(const struct hmi_extmap *x, uint64_t va, uint64_t len)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++)
		if (ext_read(x, i, &c) && va < c.va + c.len && c.va < va + len)
			return (int)i;
	return -1;
}

uint64_t hmi_extmap_virt2iova(const struct hmi_extmap *x, uint64_t va, uint64_t *contig)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t off, page, iova, end;

		if (!ext_read(x, i, &c) || va < c.va || va - c.va >= c.len)
			continue;
		off = va - c.va;
		if (!c.iova) {
			if (contig)
				*contig = c.len - off;
			return va;
		}
		page = off / c.page_size;
		iova = c.iova[page];
		for (end = page + 1; contig && end < c.len / c.page_size; end++)
			if (c.iova[end] != iova + (end - page) * c.page_size)
				break;
		if (contig)
			*contig = (end - page) * c.page_size - off % c.page_size;
		return iova + off % c.page_size;
	}
	return HMI_NO_IOVA;
}

uint64_t hmi_extmap_iova2virt(const struct hmi_extmap *x, uint64_t iova)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_acquire);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++) {
		if (!ext_read(x, i, &c))
			continue;
		if (!c.iova && iova >= c.va && iova - c.va < c.len)
			return iova;
		for (uint64_t p = 0; c.iova && p < c.len / c.page_size; p++)
			if (iova - c.iova[p] < c.page_size)
				return c.va + p * c.page_size + (iova - c.iova[p]);
	}
	return 0;
}

void hmi_extmap_release(struct hmi_extmap *x)
{
	uint32_t n = atomic_load_explicit(&x->n, memory_order_relaxed);
	struct hmi_extent c;

	for (uint32_t i = 0; i < n; i++)
		if (ext_read(x, i, &c))
			free(c.iova);
	for (size_t i = 0; i < x->n_retired; i++)
		free(x->retired[i]);
	free(x->retired);
	memset(x, 0, sizeof(*x));
}
