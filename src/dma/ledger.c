/* SPDX-License-Identifier: MIT */
/*
 * dma/ledger.c — what a domain maps. The kernel keeps the same list, but
 * answers questions about it only by refusing (EEXIST on a map that
 * overlaps, ENOENT or a short length on an unmap that does not match): the
 * ledger is how hugemem knows before it asks, and how it checks the answer.
 * Entries never overlap; a domain holds one per segment, so a linear search
 * is enough. With allocated IOVAs the growth area's range is reserved too:
 * only its own units are mapped there, each at its offset.
 */
#include "dma/dma.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static int overlaps(const struct hmi_dma_map *a, const struct hmi_dma_map *b)
{
	return a->iova < b->iova + b->len && b->iova < a->iova + a->len;
}

/* Does M take IOVAs of the growth area's reserved range other than as grown
 * memory at its own place there (external memory given IOVAs in it would
 * take a later unit's)? */
static int takes_reserved(const struct hmi_dma *d, const struct hmi_dma_map *m)
{
	const struct hmi_dma_map grow = {d->grow_va, d->grow_iova, d->grow_len};

	if (!d->grow_len || !overlaps(&grow, m))
		return 0;
	return m->va < grow.va || m->va - grow.va != m->iova - grow.iova ||
	       m->iova - grow.iova > grow.len - m->len || m->len > grow.len;
}

int hmi_ledger_add(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m)
{
	void *arr = d->ledger;
	int rc;

	if (m->len == 0 || m->iova + m->len < m->iova)
		return hmi_err(ctx, EINVAL,
			       "DMA mapping at IOVA 0x%" PRIx64 " of %" PRIu64
			       " bytes is empty or wraps",
			       m->iova, m->len);
	for (size_t i = 0; i < d->n_maps; i++)
		if (overlaps(&d->ledger[i], m))
			return hmi_err(ctx, EEXIST,
				       "IOVA 0x%" PRIx64 "-0x%" PRIx64 " is already mapped "
				       "(0x%" PRIx64 "-0x%" PRIx64 ")",
				       m->iova, m->iova + m->len - 1, d->ledger[i].iova,
				       d->ledger[i].iova + d->ledger[i].len - 1);
	if (takes_reserved(d, m))
		return hmi_err(
		    ctx, EEXIST,
		    "IOVA 0x%" PRIx64 "-0x%" PRIx64 " lies in the range reserved for the "
		    "memory --max-mem grows (0x%" PRIx64 "-0x%" PRIx64 "): give external "
		    "memory IO addresses outside it",
		    m->iova, m->iova + m->len - 1, d->grow_iova, d->grow_iova + d->grow_len - 1);
	rc = hmi_array_reserve(ctx, &arr, &d->cap_maps, d->n_maps + 1, sizeof(*m), 16,
			       "DMA mappings");
	d->ledger = arr;
	if (rc < 0)
		return rc;
	d->ledger[d->n_maps++] = *m;
	d->mapped_bytes += m->len;
	return 0;
}

const struct hmi_dma_map *hmi_ledger_find(const struct hmi_dma *d, uint64_t iova)
{
	for (size_t i = 0; i < d->n_maps; i++)
		if (d->ledger[i].iova == iova)
			return &d->ledger[i];
	return NULL;
}

void hmi_ledger_remove(struct hmi_dma *d, uint64_t iova)
{
	for (size_t i = 0; i < d->n_maps; i++) {
		if (d->ledger[i].iova != iova)
			continue;
		d->mapped_bytes -= d->ledger[i].len;
		memmove(&d->ledger[i], &d->ledger[i + 1], (d->n_maps - i - 1) * sizeof(*d->ledger));
		d->n_maps--;
		return;
	}
}
