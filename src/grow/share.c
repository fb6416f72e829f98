/* SPDX-License-Identifier: MIT */
/*
 * grow/share.c — secondaries see growth without asking anyone.
 *
 * The arena holds a table of the growth area, one entry per page: where
 * the page is (the node's memfd or single file and the offset there, or
 * the page file's number and inode), its IOVA, and LIVE. The primary fills
 * an entry when it maps the page and sets LIVE, with the heap lock held,
 * once the unit is a region of the heap; then it bumps the generation.
 *
 * A secondary compares the generation with the one it last saw when it
 * takes the heap lock (heap/lock.c: before it reads any free list, which
 * may now hold blocks of the new unit) and when a translation misses inside
 * the window (layout/query.c) — no socket, no round trip, no timeout (SPDK
 * issues 1773 and 2645: a 10 ms spdk_dma_malloc behind DPDK's IPC). It then
 * maps each page that went live from the descriptors it kept at attach
 * (memfds, single files) or by name (page files, proved by inode as at
 * attach), never by touching the window: a page not live stays PROT_NONE.
 * Every field read from the table is checked first: the table is shared
 * memory any process of the prefix, or a stray write, may change.
 */
#include "grow/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ the primary's side */

uint64_t hmi_grow_nodes(const struct hm_ctx *ctx)
{
	const struct hmi_grow *g = ctx->grow;
	uint64_t mask = 0;

	if (g && g->following && g->shared)
		return HMI_READ(g->shared->nodes);
	for (int node = 0; g && node < HM_MAX_NODES; node++)
		if (g->cfg.per_node ? g->cfg.node_max[node] != 0 : g->cfg.start_bytes[node] != 0)
			mask |= hmi_node_bit(node);
	return mask;
}

size_t hmi_grow_shared_size(const struct hm_ctx *ctx)
{
	size_t pages = ctx->grow && ctx->tab ? ctx->tab->grow.n_pages : 0;

	return pages ? sizeof(struct hmi_gshared) + pages * sizeof(struct hmi_gpage) : 0;
}

static void robust_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

void hmi_grow_share(struct hm_ctx *ctx, void *at)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	struct hmi_grow *g = ctx->grow;
	struct hmi_gshared *t = at;

	memset(t, 0, hmi_grow_shared_size(ctx));
	t->base = m->base;
	t->n_pages = m->n_pages;
	t->page_size = m->page_size;
	robust_init(&t->lock);
	t->max_bytes = g->cfg.max_bytes;
	t->per_node = g->cfg.per_node;
	t->iova_as_va = g->cfg.iova_as_va;
	t->nodes = hmi_grow_nodes(ctx);
	for (int node = 0; node < HM_MAX_NODES; node++) {
		t->node_max[node] = g->cfg.node_max[node];
		t->bytes[node] = g->cfg.start_bytes[node];
		t->total += g->cfg.start_bytes[node];
	}
	t->magic = HMI_GSHARED_MAGIC;
	g->shared = t;
	g->following = 1; /* secondaries may grow too: the primary follows them */
	ctx->tab->follow = hmi_grow_sync;
	ctx->tab->follow_ctx = ctx;
}

int hmi_gshared_lock(struct hm_ctx *ctx, struct hmi_gshared *t)
{
	int rc = pthread_mutex_lock(&t->lock);

	if (rc == EOWNERDEAD) /* its places stay BUSY: a leak of window, never a double use */
		rc = pthread_mutex_consistent(&t->lock);
	if (rc != 0)
		return hmi_err(ctx, rc, "cannot take the prefix's growth lock: %s", strerror(rc));
	return 0;
}

void hmi_gshared_unlock(struct hmi_gshared *t)
{
	pthread_mutex_unlock(&t->lock);
}

/* The N of a page file's path ".../<prefix>map_N"; 0 when it has none. */
static uint64_t file_number(const char *path)
{
	const char *u = path ? strrchr(path, '_') : NULL;
	uint64_t n = 0;

	return u && hmi_parse_u64(u + 1, &n) == 0 ? n : 0;
}

void hmi_grow_record_pages(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t va, size_t from,
			   size_t n)
{
	const struct hmi_pageset *ps = g->cfg.ps;
	size_t first = (size_t)((va - ctx->tab->grow.base) >> ctx->tab->grow.shift);

	for (size_t k = 0; g->shared && k < n; k++) {
		const struct hmi_page *p = &ps->pages[from + k];
		const struct hmi_backing *b = &ps->backings[p->backing];
		struct hmi_gpage *e = &g->shared->page[first + k];

		e->node = p->node;
		e->backing = p->backing;
		e->iova = p->iova;
		e->offset = p->offset;
		e->file_no = b->kind == HMI_BACK_PAGE_FILES ? file_number(b->path) : 0;
		e->dev = b->dev;
		e->ino = b->ino;
		e->region = 0;
		e->unit_len = k == 0 ? (uint64_t)n * ps->page_size : 0;
	}
}

void hmi_grow_publish(struct hm_ctx *ctx, uint64_t va, uint32_t region, int live)
{
	struct hmi_grow *g = ctx->grow;
	const struct hmi_growmap *m = &ctx->tab->grow;
	size_t first = (size_t)((va - m->base) >> m->shift), n;

	if (!g || !g->shared)
		return;
	n = (size_t)(g->shared->page[first].unit_len >> m->shift);
	g->shared->page[first].region = live ? region + 1 : 0;
	for (size_t k = 0; k < n && first + k < m->n_pages; k++) /* out: BUSY until its pages go */
		atomic_store_explicit(&g->shared->page[first + k].live,
				      live ? GPAGE_LIVE : GPAGE_BUSY, memory_order_release);
	atomic_fetch_add_explicit(&g->shared->gen, 1, memory_order_release);
}

uint64_t hmi_grow_generation(const struct hm_ctx *ctx)
{
	const struct hmi_grow *g = ctx->grow;

	return g && g->shared ? atomic_load_explicit(&g->shared->gen, memory_order_acquire) : 0;
}

/* ------------------------------------------------------------------ a secondary's side */

int hmi_grow_follow_prepare(struct hm_ctx *ctx, const struct hmi_grow_follower *f)
{
	struct hmi_grow *g = calloc(1, sizeof(*g));

	if (!g)
		return hmi_err(ctx, ENOMEM, "out of memory following growth");
	pthread_mutex_init(&g->lock, NULL);
	g->pid = getpid();
	g->slot = -1;
	g->follow = *f;
	ctx->grow = g;
	return 0;
}

int hmi_grow_following(const struct hm_ctx *ctx)
{
	return ctx->grow && ctx->grow->following;
}

/* A secondary's own page set over the primary's node files or memfds (dup'd
 * descriptors), so that it grows them as the primary does; shared_out: its
 * release unmaps, never punches (the pages are the prefix's). Page files:
 * none (a secondary does not grow those). */
static int own_page_set(struct hm_ctx *ctx, struct hmi_grow *g, uint64_t page_size)
{
	struct hmi_pageset *ps;
	int rc = 0;

	if (g->follow.kind == HMI_BACK_PAGE_FILES || g->follow.kind == HMI_BACK_ANON)
		return 0;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return hmi_err(ctx, ENOMEM, "out of memory following growth");
	hmi_pageset_init(ps, g->follow.kind, page_size, g->follow.dir[0] ? g->follow.dir : NULL,
			 g->follow.prefix);
	ps->shared_out = 1;
	g->own_ps = ps;
	for (size_t b = 0; rc == 0 && b < g->follow.n_fds; b++) {
		int fd = g->follow.fds[b] >= 0 ? fcntl(g->follow.fds[b], F_DUPFD_CLOEXEC, 0) : -1;

		rc = fd < 0 ? hmi_err(ctx, errno ? errno : EBADF, "cannot keep file %zu", b)
			    : hmi_pageset_adopt(ctx, ps, g->follow.nodes[b], fd);
		if (rc < 0 && fd >= 0)
			close(fd);
	}
	g->cfg.ps = rc == 0 ? ps : NULL;
	g->cfg.iova_as_va = HMI_READ(g->shared->iova_as_va);
	return rc;
}

int hmi_grow_follow(struct hm_ctx *ctx, const void *at, uint64_t size, uint64_t wbase,
		    uint64_t wlen)
{
	const struct hmi_gshared *t = at;
	struct hmi_grow *g = ctx->grow;
	uint64_t n = HMI_READ(t->n_pages), ps = HMI_READ(t->page_size), base = HMI_READ(t->base);
	int rc;

	if (!g)
		return hmi_err(ctx, EPROTO,
			       "a growing primary, and this process kept nothing to "
			       "follow it with");
	if (HMI_READ(t->magic) != HMI_GSHARED_MAGIC || !ps || (ps & (ps - 1)) ||
	    n > (size - sizeof(*t)) / sizeof(t->page[0]) || base < wbase || base % ps ||
	    hmi_mul_sat(n, ps) > wlen || base - wbase > wlen - n * ps)
		return hmi_err(ctx, EPROTO,
			       "the primary's table of grown memory does not fit its window "
			       "(0x%" PRIx64 ", %" PRIu64 " pages of %" PRIu64
			       "): restart the primary",
			       base, n, ps);
	rc = hmi_growmap_init(ctx, &ctx->tab->grow, base, (size_t)n, ps);
	if (rc < 0)
		return rc;
	g->shared = (struct hmi_gshared *)(uintptr_t)at;
	rc = hmi_grow_follower_join(ctx, g); /* before any grown page is mapped here */
	if (rc < 0)
		return rc;
	g->following = 1;
	ctx->tab->follow = hmi_grow_sync; /* a translation miss in the area asks */
	ctx->tab->follow_ctx = ctx;
	return own_page_set(ctx, g, ps);
}

/* Open page file N in the primary's mount and prove it is the one the table
 * names (inode, owner) before it is mapped. */
static int open_page_file(struct hm_ctx *ctx, const struct hmi_grow *g, const struct hmi_gpage *e,
			  uint64_t file_no, int *fd)
{
	char name[HM_PREFIX_MAX + 32];
	struct stat st;

	snprintf(name, sizeof(name), "%smap_%" PRIu64, g->follow.prefix, file_no);
	*fd = openat(g->follow.dir_fd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return hmi_err(ctx, errno, "cannot open the grown page file %s: %s", name,
			       strerror(errno));
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_dev != HMI_READ(e->dev) || (uint64_t)st.st_ino != HMI_READ(e->ino) ||
	    st.st_uid != g->follow.uid) {
		close(*fd);
		*fd = -1;
		return hmi_err(ctx, EPERM,
			       "%s is not the page file the primary grew (another inode or owner): "
			       "refusing it",
			       name);
	}
	flock(*fd, LOCK_SH | LOCK_NB); /* as a live page file is held (a cleaner skips it) */
	return 0;
}

/* The descriptor of published backing B: the page set's own (a primary's,
 * or a secondary's over the primary's files), else the one kept at attach. */
static int backing_fd(const struct hmi_grow *g, uint32_t b)
{
	const struct hmi_pageset *ps = g->cfg.ps;

	if (ps && b < ps->n_backings && ps->backings[b].fd >= 0)
		return ps->backings[b].fd;
	return b < g->follow.n_fds ? g->follow.fds[b] : -1;
}

/* Map page P of the area (entry E, checked here) at its address. */
static int map_page(struct hm_ctx *ctx, struct hmi_grow *g, size_t p, const struct hmi_gpage *e)
{
	const struct hmi_growmap *m = &ctx->tab->grow;
	uint64_t va = m->base + ((uint64_t)p << m->shift), off = HMI_READ(e->offset);
	uint32_t b = HMI_READ(e->backing);
	int fd = -1, rc = 0, own = 0;
	struct stat st;

	if ((g->cfg.ps ? g->cfg.ps->kind : g->follow.kind) == HMI_BACK_PAGE_FILES) {
		rc = open_page_file(ctx, g, e, HMI_READ(e->file_no), &fd);
		own = 1;
		off = 0;
	} else if ((fd = backing_fd(g, b)) < 0) {
		rc =
		    hmi_err(ctx, EPROTO,
			    "grown memory at 0x%" PRIx64 " is in the primary's file %u, which this "
			    "secondary does not hold (a node without memory at start?)",
			    va, b);
	}
	if (rc == 0 &&
	    (off % m->page_size || fstat(fd, &st) < 0 || off + m->page_size > (uint64_t)st.st_size))
		rc = hmi_err(ctx, EPROTO,
			     "grown page at 0x%" PRIx64 ": offset %" PRIu64
			     " is not a page of its file",
			     va, off);
	if (rc == 0 && mmap((void *)(uintptr_t)va, m->page_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, fd, (off_t)off) == MAP_FAILED)
		rc = hmi_err(ctx, errno, "cannot map grown memory at 0x%" PRIx64 ": %s", va,
			     strerror(errno));
	if (rc == 0)
		madvise((void *)(uintptr_t)va, m->page_size, MADV_DONTFORK);
	if (own && fd >= 0)
		close(fd); /* the mapping keeps the file and its lock */
	return rc;
}

/* Page P left: inaccessible again, in one call (no hole in the window). */
static void unmap_page(const struct hmi_growmap *m, size_t p)
{
	void *va = (void *)(uintptr_t)(m->base + ((uint64_t)p << m->shift));

	/* a failure leaves the old mapping: the page stays readable, nothing more */
	if (mmap(va, m->page_size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED)
		madvise(va, m->page_size, MADV_DONTFORK);
}

static int sync_page(struct hm_ctx *ctx, struct hmi_grow *g, size_t p, int *changed)
{
	struct hmi_growmap *m = &ctx->tab->grow;
	const struct hmi_gpage *e = &g->shared->page[p];
	uint32_t state = atomic_load_explicit(&e->live, memory_order_acquire);
	uint64_t here = atomic_load_explicit(&m->iova[p], memory_order_relaxed), iova;
	int live = state == GPAGE_LIVE, rc;

	/* BUSY: a process adds or gives back the unit there (perhaps this one,
	 * whose pages are mapped already): leave it to that process */
	if (state == GPAGE_BUSY || live == (here != HMI_NO_IOVA))
		return 0;
	*changed = 1;
	if (!live) {
		hmi_growmap_set(m, m->base + ((uint64_t)p << m->shift), NULL, 1);
		unmap_page(m, p);
		return 0;
	}
	iova = HMI_READ(e->iova);
	if (iova == HMI_NO_IOVA || iova % m->page_size)
		return hmi_err(ctx, EPROTO, "grown page %zu has IO address 0x%" PRIx64, p, iova);
	rc = map_page(ctx, g, p, e);
	if (rc == 0)
		hmi_growmap_set(m, m->base + ((uint64_t)p << m->shift), &iova, 1);
	return rc;
}

/* After a sync, a secondary that grew units: forget the ones the primary
 * retires (unmapped by the sync already): its records of them and of their
 * pages would name pages that are gone, and its next growth at that place
 * would undo the wrong ones. */
static void forget_retired(struct hm_ctx *ctx, struct hmi_grow *g)
{
	struct hmi_pageset *ps = g->own_ps;
	const struct hmi_gpage *e;

	for (size_t u = g->n_units; ps && u-- > 0;) {
		struct unit *x = &g->units[u];

		e = hmi_grow_unit_entry(ctx, x->va);
		if (x->state != UNIT_LIVE || !e ||
		    atomic_load_explicit(&e->live, memory_order_acquire) != GPAGE_RETIRING)
			continue;
		for (size_t i = 0; i < ps->n; i++) /* its pages are unmapped here already */
			if (ps->pages[i].va - x->va < x->len)
				ps->pages[i].va = 0;
		hmi_pageset_compact(ps);
		ctx->tab->info.total_bytes -= x->len;
		*x = g->units[--g->n_units];
	}
}

int hmi_grow_sync(struct hm_ctx *ctx)
{
	struct hmi_grow *g = ctx->grow;
	uint64_t gen;
	int rc = 0, changed = 0;

	if (!g || !g->following)
		return 0;
	gen = atomic_load_explicit(&g->shared->gen, memory_order_acquire);
	if (gen == __atomic_load_n(&g->seen_gen, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&g->lock);
	for (size_t p = 0; rc == 0 && p < ctx->tab->grow.n_pages; p++)
		rc = sync_page(ctx, g, p, &changed);
	if (rc == 0 && changed)
		forget_retired(ctx, g);
	if (rc == 0) {
		__atomic_store_n(&g->seen_gen, gen, __ATOMIC_RELEASE);
		if (g->slot >= 0) /* what a trim waits for: this process has unmapped what left */
			atomic_store_explicit(&g->shared->follower[g->slot].seen, gen,
					      memory_order_release);
	}
	pthread_mutex_unlock(&g->lock);
	return rc < 0 ? rc : changed;
}

size_t hmi_grow_live_units(const struct hm_ctx *ctx, struct hmi_unit_info *out, uint32_t *regions,
			   size_t max)
{
	const struct hmi_grow *g = ctx->grow;
	const struct hmi_growmap *m = ctx->tab ? &ctx->tab->grow : NULL;
	size_t n = 0;

	for (size_t p = 0; m && g && g->shared && p < m->n_pages && n < max; p++) {
		const struct hmi_gpage *e = &g->shared->page[p];
		uint64_t len = HMI_READ(e->unit_len);
		uint32_t region = HMI_READ(e->region);

		if (!region || !len || len % m->page_size || (len >> m->shift) > m->n_pages - p ||
		    atomic_load_explicit(&e->live, memory_order_acquire) != GPAGE_LIVE)
			continue;
		out[n] = (struct hmi_unit_info){.va = m->base + ((uint64_t)p << m->shift),
						.len = len,
						.node = HMI_READ(e->node)};
		regions[n++] = region - 1;
	}
	return n;
}

/* ------------------------------------------------------------------ follower slots */

static int take_slot(struct hmi_gshared *t, int32_t was, int32_t me)
{
	for (int i = 0; i < HMI_GROW_FOLLOWERS; i++) {
		int32_t cur = atomic_load_explicit(&t->follower[i].pid, memory_order_relaxed);

		/* WAS 0: a free slot; else any slot whose process is gone */
		if (was == 0 ? cur != 0
			     : cur <= 0 || cur == me || kill(cur, 0) == 0 || errno != ESRCH)
			continue;
		if (atomic_compare_exchange_strong(&t->follower[i].pid, &cur, me))
			return i;
	}
	return -1;
}

int hmi_grow_follower_join(struct hm_ctx *ctx, struct hmi_grow *g)
{
	struct hmi_gshared *t = g->shared;
	int32_t me = (int32_t)getpid();
	int slot = take_slot(t, 0, me);

	if (slot < 0)
		slot = take_slot(t, -1, me);
	if (slot < 0)
		return hmi_err(ctx, EMFILE,
			       "%d secondaries follow this prefix's growth already, the most: "
			       "end one first",
			       HMI_GROW_FOLLOWERS);
	/* nothing grown is mapped here yet: any generation is true of us */
	atomic_store_explicit(&t->follower[slot].seen,
			      atomic_load_explicit(&t->gen, memory_order_acquire),
			      memory_order_release);
	g->slot = slot;
	return 0;
}

void hmi_grow_follower_leave(struct hmi_grow *g)
{
	int32_t me = (int32_t)getpid();

	/* a forked child holds its parent's slot number, not the slot */
	if (g->slot >= 0 && g->shared && g->pid == getpid())
		atomic_compare_exchange_strong(&g->shared->follower[g->slot].pid, &me, 0);
	g->slot = -1;
}

int hmi_grow_followers_saw(const struct hm_ctx *ctx, const pid_t *pids, int n, uint64_t gen)
{
	const struct hmi_grow *g = ctx->grow;

	if (n < 0 || !g || !g->shared)
		return 0;
	for (int k = 0; k < n; k++) {
		int found = 0;

		for (int i = 0; i < HMI_GROW_FOLLOWERS; i++) {
			const struct hmi_gfollower *f = &g->shared->follower[i];

			if (pids[k] <= 0 ||
			    atomic_load_explicit(&f->pid, memory_order_acquire) != (int32_t)pids[k])
				continue;
			found = 1;
			if (atomic_load_explicit(&f->seen, memory_order_acquire) < gen)
				return 0;
		}
		if (!found) /* attaching (no slot yet), or a holder we cannot name */
			return 0;
	}
	return 1;
}

struct hmi_gpage *hmi_grow_unit_entry(const struct hm_ctx *ctx, uint64_t va)
{
	const struct hmi_grow *g = ctx->grow;
	const struct hmi_growmap *m = ctx->tab ? &ctx->tab->grow : NULL;
	size_t p;

	if (!g || !g->shared || !m || !m->n_pages || va < m->base || (va - m->base) % m->page_size)
		return NULL;
	p = (size_t)((va - m->base) >> m->shift);
	if (p >= m->n_pages || !HMI_READ(g->shared->page[p].unit_len))
		return NULL;
	return &g->shared->page[p];
}
