/* SPDX-License-Identifier: MIT */
/*
 * grow/extmem.c — external memory (hm_extmem_register): a range hugemem did
 * not map joins translation and the memory-event callbacks, so that the DMA
 * layer maps it for the devices as it maps grown memory (iommufd pins the
 * pages: a device BAR, VM_PFNMAP memory, can only be mapped through type1,
 * whose refusal then names the backend).
 *
 * The range must be mapped now (msync answers ENOMEM for a hole without
 * touching a page) and overlap neither hugemem's window nor another range.
 * It is per process, as the mapping that backs it is. A range may become an
 * external heap (heap/extheap.c), which holds it: it cannot be unregistered
 * until the heap lets it go.
 */
#include "grow/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int check_shape(struct hm_ctx *ctx, uint64_t va, uint64_t len, unsigned n_pages,
		       uint64_t page_size)
{
	if (page_size < 4096 || (page_size & (page_size - 1)))
		return hmi_err(ctx, EINVAL,
			       "hm_extmem_register: page size %llu is not a power of two of at "
			       "least 4096",
			       (unsigned long long)page_size);
	if (!va || va % page_size || len == 0 || len % page_size || len / page_size != n_pages ||
	    va + len < va)
		return hmi_err(
		    ctx, EINVAL,
		    "hm_extmem_register(0x%llx, %llu bytes): give a range aligned to its "
		    "page size (%llu) of exactly n_pages (%u) pages",
		    (unsigned long long)va, (unsigned long long)len, (unsigned long long)page_size,
		    n_pages);
	return 0;
}

static int check_place(struct hm_ctx *ctx, uint64_t va, uint64_t len)
{
	const struct hm_layout_info *in = ctx->tab ? &ctx->tab->info : NULL;
	uint64_t end = in ? in->va_base + in->va_len : 0;
	int other;

	if (in && in->va_len && va < end && in->va_base < va + len)
		return hmi_err(ctx, EEXIST,
			       "hm_extmem_register(0x%llx, %llu bytes): overlaps hugemem's own "
			       "window 0x%llx-0x%llx",
			       (unsigned long long)va, (unsigned long long)len,
			       (unsigned long long)in->va_base, (unsigned long long)end);
	other = hmi_extmap_overlap(&ctx->tab->ext, va, len);
	if (other >= 0)
		return hmi_err(ctx, EEXIST,
			       "hm_extmem_register(0x%llx, %llu bytes): overlaps the range at "
			       "0x%llx registered already",
			       (unsigned long long)va, (unsigned long long)len,
			       (unsigned long long)ctx->tab->ext.e[other].va);
	if (msync((void *)(uintptr_t)va, len, MS_ASYNC) < 0)
		return hmi_err(ctx, EFAULT,
			       "hm_extmem_register(0x%llx, %llu bytes): not all of it is mapped "
			       "(%s): map the memory first",
			       (unsigned long long)va, (unsigned long long)len, strerror(errno));
	return 0;
}

int hm_extmem_register(struct hm_ctx *ctx, void *va, size_t len, const uint64_t *iova,
		       unsigned int n_pages, size_t page_size)
{
	uint64_t at = (uint64_t)(uintptr_t)va, *copy = NULL;
	int rc;

	hmi_err_clear(ctx);
	if (!ctx->tab)
		return hmi_err(ctx, ENOENT, "hm_extmem_register: call hm_init or hm_attach first");
	if (hmi_tab_inherited(ctx->tab))
		return hmi_err_inherited(ctx, "hm_extmem_register");
	rc = check_shape(ctx, at, len, n_pages, page_size);
	if (rc < 0)
		return rc;
	if (iova) {
		copy = malloc((size_t)n_pages * sizeof(*copy));
		if (!copy)
			return hmi_err(ctx, ENOMEM, "hm_extmem_register: out of memory");
		memcpy(copy, iova, (size_t)n_pages * sizeof(*copy));
	}
	hmi_extmap_lock(&ctx->tab->ext);
	rc = check_place(ctx, at, len); /* again, now that no other writer can add */
	if (rc == 0)
		rc = hmi_extmap_add(ctx, &ctx->tab->ext, at, len, page_size, copy);
	hmi_extmap_unlock(&ctx->tab->ext);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	rc = hmi_events_run(ctx, HM_MEM_EVENT_ALLOC, at, len);
	hmi_extmap_lock(&ctx->tab->ext);
	if (rc < 0) /* refused: out of translation again (its table stays until release) */
		hmi_extmap_remove(ctx, &ctx->tab->ext, at, len);
	else /* from now on a heap may use it (hm_extmem_heap_add) */
		hmi_extmap_use(&ctx->tab->ext, at, len, HMI_EXT_JOINING, HMI_EXT_READY, NULL);
	hmi_extmap_unlock(&ctx->tab->ext);
	return rc;
}

/* Mark [AT, AT+LEN) leaving, so that no heap takes it from now on: 0, or
 * -ENOENT / -EBUSY with the message. */
static int start_leaving(struct hm_ctx *ctx, uint64_t at, uint64_t len)
{
	struct hmi_extmap *x = &ctx->tab->ext;
	enum hmi_ext_use now = HMI_EXT_READY;
	int rc;

	for (int again = 1;; again = 0) {
		hmi_extmap_lock(x);
		rc = hmi_extmap_use(x, at, len, HMI_EXT_READY, HMI_EXT_LEAVING, &now);
		if (rc == -EBUSY && now == HMI_EXT_DETACHED) /* hm_extmem_heap_remove detached it */
			rc = hmi_extmap_use(x, at, len, HMI_EXT_DETACHED, HMI_EXT_LEAVING, &now);
		hmi_extmap_unlock(x);
		if (!(rc == -EBUSY && now == HMI_EXT_HEAP && again && x->refresh))
			break;
		x->refresh(x->refresh_arg); /* the heap may be gone since the view looked */
	}
	if (rc == -EBUSY && now == HMI_EXT_HEAP)
		return hmi_err(ctx, EBUSY,
			       "hm_extmem_unregister(0x%llx, %llu bytes): the range is an external "
			       "heap's (hm_extmem_heap_add): hm_extmem_heap_remove it first",
			       (unsigned long long)at, (unsigned long long)len);
	if (rc < 0)
		return hmi_err(ctx, ENOENT,
			       "hm_extmem_unregister(0x%llx, %llu bytes): no range registered "
			       "exactly so%s: give it as hm_extmem_register had it",
			       (unsigned long long)at, (unsigned long long)len,
			       rc == -EBUSY ? " (another thread registers or removes it now)" : "");
	return 0;
}

int hm_extmem_unregister(struct hm_ctx *ctx, void *va, size_t len)
{
	uint64_t at = (uint64_t)(uintptr_t)va;
	int rc;

	hmi_err_clear(ctx);
	if (!ctx->tab)
		return hmi_err(ctx, ENOENT,
			       "hm_extmem_unregister: call hm_init or hm_attach first");
	if (hmi_tab_inherited(ctx->tab))
		return hmi_err_inherited(ctx, "hm_extmem_unregister");
	if (!va || !len)
		return hmi_err(ctx, EINVAL, "hm_extmem_unregister: no range given");
	rc = start_leaving(ctx, at, len);
	if (rc < 0)
		return rc;
	hmi_events_run(ctx, HM_MEM_EVENT_FREE, at, len); /* a refusal cannot keep it */
	hmi_err_clear(ctx);
	hmi_extmap_lock(&ctx->tab->ext);
	rc = hmi_extmap_remove(ctx, &ctx->tab->ext, at, len);
	hmi_extmap_unlock(&ctx->tab->ext);
	return rc == -ENOENT ? hmi_err(ctx, ENOENT, "hm_extmem_unregister: removed meanwhile") : rc;
}
