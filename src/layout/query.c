/* SPDX-License-Identifier: MIT */
/*
 * layout/query.c — reading the finished layout: the summary, the segments, and
 * translation between virtual and IO addresses (O(log segments), through the
 * layout layer's index).
 */
#include "layout/layout.h"

#include <errno.h>
#include <unistd.h>

/* CTX's memory when this process maps it. A forked child maps none of its
 * parent's (MADV_DONTFORK): for it these calls answer as for a context
 * without memory, so that no address of the parent's is handed out there. */
static const struct hmi_segtab *mapped_here(const struct hm_ctx *ctx)
{
	return hmi_tab_inherited(ctx->tab) ? NULL : ctx->tab;
}

const struct hm_layout_info *hm_layout(const struct hm_ctx *ctx)
{
	return mapped_here(ctx) ? &ctx->tab->info : NULL;
}

static void to_public(const struct hmi_seg *s, struct hm_segment *out)
{
	out->va = (void *)(uintptr_t)s->va;
	out->iova = s->iova;
	out->len = s->len;
	out->page_size = s->page_size;
	out->node = s->node;
	out->n_pages = (uint32_t)s->n_pages;
}

int hm_segment_get(const struct hm_ctx *ctx, int i, struct hm_segment *seg)
{
	const struct hmi_segtab *pr = mapped_here(ctx);

	if (!pr || i < 0 || (size_t)i >= pr->n_segs)
		return -ENOENT;
	to_public(&pr->segs[i], seg);
	return 0;
}

int hm_segment_walk(const struct hm_ctx *ctx, int (*fn)(const struct hm_segment *, void *),
		    void *arg)
{
	const struct hmi_segtab *pr = mapped_here(ctx);
	struct hm_segment seg;
	int rc = 0;

	for (size_t i = 0; pr && rc == 0 && i < pr->n_segs; i++) {
		to_public(&pr->segs[i], &seg);
		rc = fn(&seg, arg);
	}
	return rc;
}

/* The segments first (what hm_init mapped), then grown memory, then the
 * application's external ranges: each answers HMI_NO_IOVA for what is not
 * its own (HM_BAD_IOVA is the same value). */
static uint64_t translate(const struct hmi_segtab *t, uint64_t va, uint64_t *contig)
{
	uint64_t iova = hmi_virt2iova(&t->xlate, va, contig);

	if (iova == HMI_NO_IOVA && t->grow.n_pages)
		iova = hmi_growmap_virt2iova(&t->grow, va, contig);
	/* a secondary: the primary may have grown since; learn it (no IPC) */
	if (iova == HMI_NO_IOVA && t->follow &&
	    va - t->grow.base < (t->grow.n_pages << t->grow.shift) && t->follow(t->follow_ctx) > 0)
		iova = hmi_growmap_virt2iova(&t->grow, va, contig);
	if (iova == HMI_NO_IOVA)
		iova = hmi_extmap_virt2iova(&t->ext, va, contig);
	return iova;
}

uint64_t hm_virt2iova(const struct hm_ctx *ctx, const void *va)
{
	if (!mapped_here(ctx))
		return HM_BAD_IOVA;
	return translate(ctx->tab, (uint64_t)(uintptr_t)va, NULL);
}

void *hm_iova2virt(const struct hm_ctx *ctx, uint64_t iova)
{
	const struct hmi_segtab *t = mapped_here(ctx);
	uint64_t va = t ? hmi_iova2virt(&t->xlate, iova) : 0;

	if (!va && t && t->grow.n_pages)
		va = hmi_growmap_iova2virt(&t->grow, iova);
	if (!va && t)
		va = hmi_extmap_iova2virt(&t->ext, iova);
	return (void *)(uintptr_t)va;
}

uint64_t hm_iova_contig_len(const struct hm_ctx *ctx, const void *va)
{
	uint64_t len = 0;

	if (!mapped_here(ctx) || translate(ctx->tab, (uint64_t)(uintptr_t)va, &len) == HM_BAD_IOVA)
		return 0;
	return len;
}

int hmi_err_inherited(struct hm_ctx *ctx, const char *fn)
{
	return hmi_err(ctx, ECHILD,
		       "%s: this context's memory belongs to pid %d, and this process (pid %d) "
		       "was forked from it and maps none of it: a child must hm_init or "
		       "hm_attach its own context (after exec, or attach as a secondary), and "
		       "may only hm_fini or hm_ctx_free this one",
		       fn, (int)ctx->tab->pid, (int)getpid());
}
