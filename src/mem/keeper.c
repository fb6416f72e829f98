/* SPDX-License-Identifier: MIT */
/*
 * mem/keeper.c — hm_init served by a running pool keeper (docs/keeper.md).
 *
 * A keeper holds pages already faulted (so zeroed), sorted and sealed in
 * memfds, with every chunk's physical runs known. When one runs and the
 * caller left the backing to hugemem (no --huge-dir, --single-file-segments
 * or --no-huge), hm_init leases what it needs per node instead of faulting
 * it: the memfds come over the socket, each is adopted as a memfd backing
 * and mapped (page tables only: nothing is allocated or zeroed), and the
 * IOVAs are the keeper's physical runs — or the VAs, when this process may
 * not know physical addresses (the keeper says so: CAP_SYS_ADMIN, as
 * pagemap, or its --expose-pa). Faulting, pagemap and sorting are skipped;
 * --verify still reads pagemap for every page. From there hm_init goes on
 * as with --in-memory: the window, segments, heap, descriptors for the
 * secondaries.
 *
 * The connection stays open for the primary's life: the keeper takes the
 * chunks back (punches them: the kernel zeroes them before anyone else gets
 * them) when it ends. --max-mem does not use the keeper: growth needs files
 * hugemem can grow, and a keeper's chunks are sealed at their size.
 *
 * A keeper that cannot serve (none runs, another page size, too little
 * memory, a refusal) is not an error in auto mode: hm_init takes the usual
 * path and hm_layout's keeper line says why (hugemem init --trace prints it).
 * A keeper named by its directory (--keeper DIR) must serve: its refusal is
 * hm_init's error.
 */
#include "mem/mem.h"

#include "keeper/keeper.h"
#include "layout/layout.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Why the keeper is not asked at all, or NULL when it may be. */
static const char *not_asked(const struct hm_opts *o)
{
	if (o->keeper && strcmp(o->keeper, "off") == 0)
		return "--keeper off";
	if (o->flags & HM_OPT_NO_HUGE)
		return "--no-huge";
	if (o->huge_dir)
		return "--huge-dir names the backing";
	if (o->flags & HM_OPT_SINGLE_FILE)
		return "--single-file-segments names the backing";
	if (o->max_mem || o->socket_max_mem_count)
		return "--max-mem: growth needs files hugemem can grow, a keeper's are sealed";
	return NULL;
}

static int explicit_dir(const struct hm_opts *o)
{
	return o->keeper && strcmp(o->keeper, "auto") != 0 && strcmp(o->keeper, "off") != 0;
}

/* The keeper a process of this prefix would use (O's --keeper, else the one
 * next to the runtime directories) into DIR; 0 when none is to be asked. */
static int keeper_dir_of(const struct hm_ctx *ctx, const struct hm_opts *o, char *dir, size_t len)
{
	int n;

	if (o->keeper && strcmp(o->keeper, "off") == 0)
		return 0;
	n = snprintf(dir, len, "%s%s", explicit_dir(o) ? o->keeper : ctx->rundir,
		     explicit_dir(o) ? "" : "-keeper");
	return n > 0 && (size_t)n < len;
}

/* The bytes to ask for, per node (-1: any), as hm_init's plan would map. */
static size_t asks_of(const struct hm_opts *o, uint64_t page, struct hmi_kp_ask *asks)
{
	size_t n = 0;

	for (int node = 0; node < o->socket_mem_count && node < HM_MAX_NODES; node++)
		if (o->socket_mem[node])
			asks[n++] = (struct hmi_kp_ask){
			    .node = node, .bytes = (o->socket_mem[node] + page - 1) / page * page};
	if (!o->socket_mem_count) {
		uint64_t want = o->mem ? o->mem : HM_DEFAULT_MEM;

		asks[n++] =
		    (struct hmi_kp_ask){.node = -1, .bytes = (want + page - 1) / page * page};
	}
	return n;
}

/* Keep the reason the keeper did not serve (the line hm_layout shows). */
static int not_served(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o,
		      const char *why)
{
	char copy[HMI_ERR_MAX]; /* WHY may be the context's own message */

	snprintf(copy, sizeof(copy), "%s", why);
	snprintf(pr->keeper_line, sizeof(pr->keeper_line), "not used: %s", copy);
	pr->tab.info.keeper = pr->keeper_line;
	if (explicit_dir(o))
		return hmi_err(ctx, EAGAIN, "--keeper %s: %s", o->keeper, copy);
	hmi_err_clear(ctx);
	return 0;
}

static int check_page_size(const struct hm_opts *o, const struct hmi_keeper_conn *c, char *why,
			   size_t len)
{
	char a[32], b[32];

	if (!o->page_size || o->page_size == c->page_size)
		return 0;
	snprintf(why, len, "it keeps %s pages, --page-size asks %s",
		 hm_size_str(c->page_size, a, sizeof(a)), hm_size_str(o->page_size, b, sizeof(b)));
	return -1;
}

int hmi_mem_keeper_ask(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	const char *why = not_asked(o);
	struct hmi_kp_ask asks[HMI_KP_ASKS_MAX];
	char dir[HM_PATH_MAX];

	if (why)
		return not_served(ctx, pr, o, why);
	if (!keeper_dir_of(ctx, o, dir, sizeof(dir)))
		return not_served(ctx, pr, o, "the keeper's directory name is too long");
	/* the asks in bytes (the keeper's chunks are whole pages of its size),
	 * its page size checked when its answer is read */
	if (hmi_keeper_ask_lease(ctx, dir, o->page_size, asks, asks_of(o, 1, asks), &pr->keeper) <
	    0)
		return not_served(ctx, pr, o, hm_errmsg(ctx)); /* not_served copies it first */
	snprintf(pr->keeper_dir, sizeof(pr->keeper_dir), "%s", dir); /* fits: same size */
	return 1;
}

int hmi_mem_keeper_take(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	char buf[HMI_ERR_MAX];
	int rc = hmi_keeper_take_lease(ctx, &pr->keeper, &pr->lease);

	if (pr->keeper.page_size && check_page_size(o, &pr->keeper, buf, sizeof(buf)) < 0) {
		hmi_keeper_lease_free(&pr->lease);
		hmi_keeper_disconnect(&pr->keeper);
		rc = -1;
	} else if (rc < 0) {
		snprintf(buf, sizeof(buf), "%s", hm_errmsg(ctx));
	}
	if (rc < 0) {
		pr->keeper_dir[0] = '\0';
		return not_served(ctx, pr, o, buf);
	}
	rc =
	    snprintf(pr->keeper_line, sizeof(pr->keeper_line),
		     "served by the keeper in %s (%zu chunks)", pr->keeper_dir, pr->lease.n_chunks);
	if (rc < 0 || (size_t)rc >= sizeof(pr->keeper_line)) /* the start of it says enough */
		pr->keeper_line[sizeof(pr->keeper_line) - 1] = '\0';
	pr->tab.info.keeper = pr->keeper_line;
	return 1;
}

/* The IOVAs of the N pages from page FROM on: chunk C's physical runs; when
 * this process may not know them, a stand-in that keeps each chunk's pages
 * in order and its chunks apart (IOVA = VA once they are mapped). */
static void chunk_iovas(struct hmi_pageset *ps, const struct hmi_keeper_lease *l,
			const struct hmi_keeper_chunk *c, size_t from, size_t n)
{
	size_t k = 0;

	for (uint32_t r = 0; r < c->n_runs && k < n; r++) {
		const struct hm_run *run = &l->runs[c->first_run + r];

		for (uint64_t p = 0; p < run->pages && k < n; p++, k++)
			ps->pages[from + k].iova = run->pa + p * ps->page_size;
	}
	if (k == n && (n == 0 || ps->pages[from].iova != 0))
		return;
	ps->pa_missing = 1; /* IOVA = VA, set at the final address */
	for (k = 0; k < n; k++)
		ps->pages[from + k].iova =
		    ((uint64_t)from + ps->pages[from + k].backing + 1) * ps->page_size +
		    ps->pages[from + k].offset; /* a page's gap between chunks */
}

/* Map chunk C (the pages still wanted on its node, at most its own). */
static int map_chunk(struct hm_ctx *ctx, struct hmi_mem *pr, struct hmi_keeper_chunk *c,
		     uint64_t *left)
{
	struct hmi_pageset *ps = &pr->ps;
	uint64_t have = c->len / ps->page_size, take = have < *left ? have : *left;
	size_t from = ps->n;
	int rc;

	if (take == 0)
		return 0; /* leased whole, not needed: it goes back with the lease */
	rc = hmi_pageset_adopt(ctx, ps, c->node, c->fd);
	if (rc < 0)
		return rc;
	c->fd = -1;				       /* the page set's now */
	pr->backing_chunk[ps->n_backings - 1] = c->id; /* what the layout names */
	rc = hmi_pages_add_adopted(ctx, ps, (uint32_t)(ps->n_backings - 1), (size_t)take);
	if (rc == 0) {
		chunk_iovas(ps, &pr->lease, c, from, (size_t)take);
		*left -= take;
	}
	return rc;
}

/* Chunks in ascending physical order: the window gets the longest runs. */
static int by_first_pa(const void *a, const void *b, void *arg)
{
	const struct hmi_keeper_lease *l = arg;
	const struct hmi_keeper_chunk *x = a, *y = b;
	uint64_t px = x->n_runs ? l->runs[x->first_run].pa : 0;
	uint64_t py = y->n_runs ? l->runs[y->first_run].pa : 0;

	return x->node != y->node ? (x->node > y->node) - (x->node < y->node)
				  : (px > py) - (px < py);
}

int hmi_mem_keeper_map(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	struct hmi_kp_ask asks[HMI_KP_ASKS_MAX];
	size_t n_asks = asks_of(o, pr->lease.page_size, asks);
	uint64_t left[HM_MAX_NODES + 1] = {0}; /* the last: any node */
	int rc = 0;

	for (size_t i = 0; i < n_asks; i++)
		left[asks[i].node < 0 ? HM_MAX_NODES : asks[i].node] +=
		    asks[i].bytes / pr->lease.page_size;
	pr->backing_chunk = calloc(pr->lease.n_chunks + 1, sizeof(*pr->backing_chunk));
	if (!pr->backing_chunk)
		return hmi_err(ctx, ENOMEM, "out of memory for %zu chunks", pr->lease.n_chunks);
	hmi_pageset_init(&pr->ps, HMI_BACK_MEMFD, pr->lease.page_size, NULL, pr->tab.prefix);
	qsort_r(pr->lease.chunks, pr->lease.n_chunks, sizeof(*pr->lease.chunks), by_first_pa,
		&pr->lease);
	for (size_t i = 0; rc == 0 && i < pr->lease.n_chunks; i++) {
		struct hmi_keeper_chunk *c = &pr->lease.chunks[i];
		int node = c->node >= 0 && c->node < HM_MAX_NODES ? c->node : -1;

		if (node < 0)
			rc = hmi_err(ctx, EPROTO, "the keeper leased a chunk on node %d", c->node);
		else
			rc = map_chunk(ctx, pr, c, left[node] ? &left[node] : &left[HM_MAX_NODES]);
	}
	pr->tab.info.pages_mapped = pr->ps.n;
	hmi_pages_sort(pr->ps.pages, pr->ps.n);
	return rc;
}

void hmi_mem_keeper_end(struct hmi_mem *pr)
{
	free(pr->backing_chunk);
	pr->backing_chunk = NULL;
	hmi_keeper_lease_free(&pr->lease); /* memfds not adopted: closed */
	if (pr->keeper.sock >= 0)	   /* the keeper takes the chunks back, zeroes them */
		hmi_keeper_disconnect(&pr->keeper);
}

/* ------------------------------------------------------------------ a secondary fetches */

/* Is FD the memfd backing B of the layout names (its inode)? */
static int is_backing(int fd, const struct hmi_shconf_backing *b)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == b->dev &&
	       (uint64_t)st.st_ino == b->ino;
}

static int check_inodes(struct hm_ctx *ctx, const struct hmi_shconf *sc, const int *fds)
{
	for (size_t b = 0; b < sc->n_backings; b++)
		if (!is_backing(fds[b], &sc->backings[b]))
			return hmi_err(ctx, EIO,
				       "the memfd of chunk %" PRIu64 " is not the primary's (inode "
				       "%" PRIu64 " expected)",
				       sc->backings[b].chunk, sc->backings[b].ino);
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t b = 0; b < n; b++)
		if (fds[b] >= 0) {
			close(fds[b]);
			fds[b] = -1;
		}
}

/* The keeper gone (killed: its clients keep their memory) or not knowing
 * the primary: the primary's own descriptors, through /proc (this user's
 * or root's process: what ptrace would allow), each proved by its inode. */
static int open_from_primary(struct hm_ctx *ctx, const struct hmi_shconf *sc, int *fds)
{
	char path[64];
	int rc = 0;

	for (size_t b = 0; b < sc->n_backings; b++)
		fds[b] = -1;
	for (size_t b = 0; rc == 0 && b < sc->n_backings; b++) {
		rc = hmi_path(ctx, path, sizeof(path), "/proc/%d/fd/%d", (int)sc->pid,
			      sc->backings[b].fd);
		fds[b] = rc < 0 ? -1 : open(path, O_RDWR | O_CLOEXEC);
		if (rc == 0 && fds[b] < 0)
			rc = hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	}
	if (rc == 0)
		rc = check_inodes(ctx, sc, fds);
	if (rc < 0)
		close_all(fds, sc->n_backings);
	return rc;
}

static int fetch_from_keeper(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc,
			     int *fds)
{
	uint64_t *ids = malloc((sc->n_backings + 1) * sizeof(*ids));
	int rc;

	if (!ids)
		return hmi_err(ctx, ENOMEM, "out of memory attaching");
	for (size_t b = 0; b < sc->n_backings; b++)
		ids[b] = sc->backings[b].chunk;
	rc = hmi_keeper_open_fetch(ctx, sc->keeper_dir, sc->pid, ids, sc->n_backings, &m->keeper,
				   fds);
	free(ids);
	if (rc == 0 && (rc = check_inodes(ctx, sc, fds)) < 0) {
		close_all(fds, sc->n_backings);
		hmi_keeper_disconnect(&m->keeper);
	}
	return rc;
}

static void say_fetched(struct hmi_mem *m, const struct hmi_shconf *sc, const char *how)
{
	int n = snprintf(m->keeper_line, sizeof(m->keeper_line), "%s%s (%zu chunks)", how,
			 sc->keeper_dir, sc->n_backings);

	if (n < 0 || (size_t)n >= sizeof(m->keeper_line))
		m->keeper_line[sizeof(m->keeper_line) - 1] = '\0';
	m->tab.info.keeper = m->keeper_line;
}

int hmi_mem_keeper_fetch(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc,
			 int *fds)
{
	char why[HMI_ERR_MAX], again[HMI_ERR_MAX];

	if (fetch_from_keeper(ctx, m, sc, fds) == 0) {
		say_fetched(m, sc, "fetched the primary's memory from the keeper in ");
		return 0;
	}
	snprintf(why, sizeof(why), "%s", hm_errmsg(ctx));
	if (open_from_primary(ctx, sc, fds) == 0) {
		hmi_err_clear(ctx);
		say_fetched(m, sc,
			    "the keeper did not answer: the primary's memfds from /proc, "
			    "not held by the keeper in ");
		return 0;
	}
	snprintf(again, sizeof(again), "%s", hm_errmsg(ctx));
	return hmi_err(ctx, ENOENT,
		       "the primary's memory comes from the keeper in %s, which did not give it "
		       "(%s), nor did /proc (%s)",
		       sc->keeper_dir, why, again);
}
