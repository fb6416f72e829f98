/* SPDX-License-Identifier: MIT */
/*
 * mem/dmabuf.c — hm_dmabuf_export: a range of the primary's memfd-backed
 * memory (--in-memory) as a dma-buf. The range is cut into the pieces of
 * the memfds it lies in (a piece a page, merged while one page continues the
 * previous in the same memfd), and dma/udmabuf.c asks /dev/udmabuf for the
 * dma-buf. Its own mapping is VM_PFNMAP: iommufd cannot map it and pagemap
 * shows no frames for it, so devices reach the memory through hugemem's own
 * mappings (the dma-buf shares their pages).
 *
 * Grown memory (--max-mem) may be exported too: its pages are in the same
 * memfds. A dma-buf pins them for as long as any holder keeps it, and
 * nothing tells hugemem when the last one lets go, so every growth unit an
 * export touches is kept from trims for good (a punched page would leave
 * the dma-buf on pages the pool hands out again). The mark is made and the
 * dma-buf made under the heap lock, the lock a trim takes a unit out under.
 */
#include "mem/mem.h"

#include "grow/grow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static int export_refused(struct hm_ctx *ctx, const struct hmi_mem *m, uint64_t va, uint64_t len)
{
	if (!m)
		return hmi_err(ctx, ENODEV, "hm_dmabuf_export: no memory (hm_init did not run)");
	if (m->secondary)
		return hmi_err(ctx, ENOTSUP,
			       "hm_dmabuf_export: a secondary keeps no memfd descriptors: export "
			       "from the primary and pass the dma-buf over a unix socket");
	if (m->ps.kind != HMI_BACK_MEMFD)
		return hmi_err(ctx, ENOTSUP,
			       "hm_dmabuf_export: a dma-buf is made of memfd pages: start the "
			       "primary with --in-memory");
	if (len == 0 || va % 4096 || len % 4096 || va + len < va)
		return hmi_err(ctx, EINVAL,
			       "hm_dmabuf_export: 0x%" PRIx64 " + 0x%" PRIx64
			       " is empty or not 4 KiB aligned",
			       va, len);
	return 0;
}

static const struct hmi_seg *seg_of(const struct hmi_segtab *t, uint64_t va)
{
	for (size_t i = 0; i < t->n_segs; i++)
		if (va >= t->segs[i].va && va - t->segs[i].va < t->segs[i].len)
			return &t->segs[i];
	return NULL;
}

/* The page of the set at VA: a segment's (start memory), else a grown one. */
static const struct hmi_page *page_at(const struct hmi_mem *m, uint64_t va)
{
	const struct hmi_seg *s = seg_of(&m->tab, va);

	if (s)
		return &m->ps.pages[s->first_page + (va - s->va) / s->page_size];
	for (size_t i = 0; i < m->ps.n; i++) /* grown pages follow the start's */
		if (m->ps.pages[i].va && va - m->ps.pages[i].va < m->ps.page_size)
			return &m->ps.pages[i];
	return NULL;
}

/* Append the piece at VA (up to END) to ITEMS, merged with the last one
 * when it continues it; the bytes taken, or 0 when VA is not in the memory. */
static uint64_t add_piece(const struct hmi_mem *m, uint64_t va, uint64_t end,
			  struct hmi_udmabuf_item *items, size_t *n)
{
	const struct hmi_page *p = page_at(m, va);
	uint64_t off, take;
	int fd;

	if (!p)
		return 0;
	fd = m->ps.backings[p->backing].fd;
	off = p->offset + (va - p->va);
	take = p->va + m->ps.page_size - va;
	if (take > end - va)
		take = end - va;
	if (*n && items[*n - 1].memfd == fd && items[*n - 1].offset + items[*n - 1].len == off)
		items[*n - 1].len += take;
	else
		items[(*n)++] = (struct hmi_udmabuf_item){fd, off, take};
	return take;
}

/* Under the heap lock: keep the grown units of the range for good, make the
 * dma-buf (its descriptor), or undo the keep when it cannot be made. */
static int export_locked(struct hm_ctx *ctx, uint64_t va, uint64_t len,
			 const struct hmi_udmabuf_item *items, size_t n)
{
	int rc = hmi_grow_keep(ctx, va, len, 1, 1), fd;

	if (rc < 0)
		return rc;
	fd = hmi_udmabuf_create(ctx, items, n);
	if (fd < 0)
		hmi_grow_keep(ctx, va, len, 0, 1);
	return fd;
}

int hm_dmabuf_export(struct hm_ctx *ctx, const void *addr, uint64_t len)
{
	const struct hmi_mem *m = ctx->mem;
	uint64_t va = (uint64_t)(uintptr_t)addr, start = va, end = va + len, take;
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hmi_udmabuf_item *items;
	size_t n = 0;
	int rc = export_refused(ctx, m, va, len);

	if (rc < 0)
		return rc;
	items = calloc(len / m->ps.page_size + 2, sizeof(*items));
	if (!items)
		return hmi_err(ctx, ENOMEM, "hm_dmabuf_export: out of memory");
	for (; va < end; va += take)
		if ((take = add_piece(m, va, end, items, &n)) == 0)
			break;
	if (va < end)
		rc =
		    hmi_err(ctx, EINVAL,
			    "hm_dmabuf_export: 0x%" PRIx64 " is not in hugemem's memory (the range "
			    "must lie inside segments or grown memory: hm_segment_walk)",
			    va);
	else if (!v) /* no heap: nothing grows, nothing is trimmed */
		rc = hmi_udmabuf_create(ctx, items, n);
	else if ((rc = hmi_heap_lock(ctx, v)) == 0) {
		rc = export_locked(ctx, start, len, items, n);
		hmi_heap_unlock(v);
	}
	free(items);
	return rc;
}
