/* SPDX-License-Identifier: MIT */
/*
 * mem/release.c — the life of a context's memory: begun by hm_init or hm_attach
 * (hmi_mem_begin), ended on failure by the same release hm_fini and
 * hm_ctx_free run. A primary unpublishes first, then gives its pages back in
 * pool order; a secondary unmaps its window; the last process of the prefix
 * out removes its runtime directory (rundir.c).
 *
 * In a forked child the context is a copy and the memory is the parent's
 * (MADV_DONTFORK): release then only forgets it — frees the child's copy of
 * the tables and closes its copies of descriptors, touching no page, file,
 * lock or shared state.
 */
#include "heap/heap.h"
#include "hugedir/hugedir.h"
#include "mem/mem.h"
#include "grow/grow.h"
#include "base/platform.h"
#include "pool/pool.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is CTX's memory another process's (a forked child holds a copy of the
 * context, not the memory)? The pid too: a raw clone runs no atfork handler. */
static int held_elsewhere(const struct hm_ctx *ctx)
{
	return hmi_tab_inherited(ctx->tab) || ctx->mem->tab.pid != getpid();
}

int hmi_mem_begin(struct hm_ctx *ctx, int secondary, struct hmi_mem **out)
{
	struct hmi_mem *m;

	if (ctx->mem && held_elsewhere(ctx))
		return hmi_err(ctx, EALREADY,
			       "this context holds the memory of pid %d, inherited across fork: "
			       "hm_fini it first (here that only forgets it), or use a new context",
			       (int)ctx->mem->tab.pid);
	if (ctx->mem)
		return hmi_err(ctx, EALREADY,
			       "this context holds memory already: hm_fini it first");
	hmi_err_clear(ctx);
	m = hmi_calloc_populated(1, sizeof(*m)); /* ~10 KiB */
	if (!m)
		return hmi_err(ctx, ENOMEM, "out of memory starting up");
	m->tab.fork_gen = hmi_fork_watch();
	m->heap.fork_gen = m->tab.fork_gen;
	m->tab.pid = getpid();
	m->secondary = secondary;
	m->lock_fd = -1;
	m->record_fd = -1;
	m->keeper.sock = -1;
	hmi_pagemap_init(&m->ps.pagemap);
	m->ps.dir_fd = -1;
	m->ps.record_fd = -1;
	ctx->mem = m;
	ctx->tab = &m->tab;
	ctx->heap = &m->heap;
	*out = m;
	return 0;
}

int hmi_mem_end(struct hm_ctx *ctx, int rc, double t0)
{
	char cause[HMI_ERR_MAX];

	if (rc == 0) /* a cancel that came during the last step */
		rc = hmi_cancel_check(ctx);
	if (rc == 0) {
		ctx->mem->tab.info.t.total = hmi_now_ms() - t0;
		return 0;
	}
	memcpy(cause, ctx->err, sizeof(cause));
	hmi_mem_release(ctx);
	memcpy(ctx->err, cause, sizeof(cause));
	return rc;
}

/* The whole window in one munmap, and one TLB flush: the pieces lie apart in
 * it (one munmap each in hmi_pages_release, one per page on a fragmented
 * pool). The page set is told, and those unmaps skip the range: another
 * thread's mmap may land there once it is free, and they would take it away
 * (a call each, too). Pages outside the window (an init that failed before
 * placing them) are still unmapped by them. No
 * hugepage goes back to the pool here: each stays in its file or memfd until
 * that is dropped, in pool order. */
static void unmap_window(struct hmi_mem *pr)
{
	if (pr->window_len && munmap((void *)(uintptr_t)pr->window_base, pr->window_len) == 0) {
		pr->ps.unmapped_lo = pr->window_base;
		pr->ps.unmapped_hi = pr->window_base + pr->window_len;
	}
	pr->window_len = 0;
}

/* Unpublish first (no new secondary), then give the pages back in pool
 * order — unless secondaries still map them: then only unmap, and the last
 * mapping frees each page. A keeper's chunks are only unmapped too: the
 * keeper punches them when the lease ends (mem/keeper.c). */
static int release_primary_pages(struct hm_ctx *ctx, struct hmi_mem *pr)
{
	size_t *order = malloc((pr->ps.n + 1) * sizeof(*order)), n;
	int rc = 0;

	hmi_unpublish(ctx, pr);
	pr->ps.shared_out = pr->lease.n_chunks || (pr->rundir[0] && hmi_secondaries_alive(ctx, pr));
	unmap_window(pr);
	if (order && !pr->ps.shared_out) { /* pool order: the next primary gets our longest
					       run first (others' pages: only unmapped) */
		n = hmi_release_order(pr->ps.pages, pr->ps.n, pr->ps.page_size, NULL, order);
		rc = hmi_pages_release(ctx, &pr->ps, order, n);
	}
	free(order);
	if (hmi_pageset_release(ctx, &pr->ps) < 0)
		rc = rc == 0 ? -EIO : rc;
	else if (pr->record_fd >= 0) /* every file it names is gone */
		hmi_record_remove(pr->rundir);
	if (pr->record_fd >= 0)
		close(pr->record_fd);
	pr->record_fd = -1;
	return rc;
}

/* A descriptor of a runtime file (the prefix's lock, the clients file)
 * inherited across fork. Its POSIX lock is the parent's, and closing it
 * cannot drop that; but closing any descriptor of a file drops every POSIX
 * lock THIS process holds on it, and the child may have taken one since (it
 * attached to the same prefix: its own read lock on the clients file). So
 * it is closed only when /proc/locks shows this process holds no lock on the
 * file; else (or when that cannot be read) it stays open, until exec. */
static void close_inherited_lock_fd(struct hm_ctx *ctx, int fd)
{
	pid_t pids[64];
	struct stat st;
	unsigned maj, min;
	char *text = NULL;
	int n = -1, mine = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	hmi_dev_split(st.st_dev, &maj, &min);
	if (hmi_read_proc_locks(ctx, &text) == 0)
		n = hmi_parse_proc_locks_all(text, maj, min, (uint64_t)st.st_ino, pids,
					     (int)HMI_ARRAY_SIZE(pids));
	free(text);
	hmi_err_clear(ctx);
	for (int i = 0; i < n; i++)
		mine |= pids[i] == getpid();
	if (n >= 0 && !mine)
		close(fd);
}

/* A forked child's copy of its parent's memory (hmi_mem_release): free the
 * tables, close the copies of the descriptors. Nothing else: the pages are
 * not mapped here (MADV_DONTFORK, the whole window), and the files, the
 * runtime directory, the locks, the descriptor server and the heap are the
 * parent's. The window is not unmapped: this process has nothing there but
 * what it may have mapped itself since. */
static void forget_inherited(struct hm_ctx *ctx, struct hmi_mem *m)
{
	if (m->heap.arena) {
		hmi_view_forget(&m->heap.arena->view);
		free(m->heap.arena);
	}
	hmi_fdserver_stop(m->fds);	  /* its thread is the parent's: it only closes */
	hmi_dma_teardown(ctx, m->dma, 1); /* closes the copies; the parent's domain stays */
	ctx->dma = NULL;
	hmi_pageset_forget(&m->ps);
	hmi_grow_release(ctx);
	hmi_extmap_release(&m->tab.ext);
	hmi_xlate_release(&m->tab.xlate);
	free(m->tab.segs);
	close_inherited_lock_fd(ctx, m->lock_fd);
	free(m);
	ctx->mem = NULL;
	ctx->tab = NULL;
	ctx->heap = NULL;
	ctx->dma = NULL;
}

int hmi_mem_release(struct hm_ctx *ctx)
{
	struct hmi_mem *pr = ctx->mem;
	int rc;

	if (!pr)
		return 0;
	if (held_elsewhere(ctx)) {
		forget_inherited(ctx, pr);
		return 0;
	}
	hmi_arena_close(ctx); /* flush this process's heap cache while the pages are here */
	/* devices first: a mapping pins its pages, which must go back to the
	 * pool with their files */
	/* a domain other processes hold (secondaries got its descriptors)
	 * keeps its mappings: only this process's descriptors close */
	rc = hmi_dma_teardown(ctx, pr->dma,
			      pr->dma && (pr->secondary || hmi_secondaries_alive(ctx, pr)));
	pr->dma = NULL;
	ctx->dma = NULL;
	if (!pr->secondary) {
		int pages = release_primary_pages(ctx, pr);

		rc = rc < 0 ? rc : pages;
	}
	hmi_grow_leave(ctx); /* its slot is in the arena, in the window */
	if (pr->window_len)  /* a secondary's pages go with its window */
		munmap((void *)(uintptr_t)pr->window_base, pr->window_len);
	hmi_grow_release(ctx);
	hmi_extmap_release(&pr->tab.ext);
	hmi_xlate_release(&pr->tab.xlate);
	free(pr->tab.segs);
	hmi_rundir_leave(ctx, pr); /* the last one out leaves no runtime directory */
	/* last: the keeper punches and faults again what comes back, work that
	 * would compete with this process's own way out */
	hmi_mem_keeper_end(pr);
	if (pr->lock_fd >= 0)
		close(pr->lock_fd);
	free(pr);
	ctx->mem = NULL;
	ctx->tab = NULL;
	ctx->heap = NULL;
	ctx->dma = NULL;
	return rc;
}

int hm_fini(struct hm_ctx *ctx)
{
	if (!ctx->mem)
		return hmi_err(ctx, EINVAL, "hm_fini: nothing to release (hm_init did not run)");
	return hmi_mem_release(ctx);
}

void hm_ctx_free(struct hm_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->mem)
		hmi_mem_release(ctx);
	hmi_events_release(ctx);
	free(ctx);
}
