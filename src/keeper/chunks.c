/* SPDX-License-Identifier: MIT */
/*
 * keeper/chunks.c — the keeper's memory: chunks of hugepages, each a sealed
 * memfd whose pages are faulted in (the kernel zeroed them then), whose
 * physical runs are known, and which nobody maps: the memfd alone holds the
 * pages.
 *
 * Where the pages come from. The administrator reserves the pool (hugemem
 * reserve); the keeper takes --keep of its free pages. First it puts the
 * free list in physical order (hm_pool_order: whoever faults next gets the
 * longest run first, ascending), then faults chunk after chunk, each on one
 * thread in offset order, so that a chunk's offsets ascend in physical
 * address wherever the pool allows (a chunk that spans the end of one run
 * and the start of the next has two runs; `ascending` says whether they
 * still ascend). Each chunk is bound to its node before a page is faulted
 * (pages/'s hmi_range_bind), faulted with MADV_POPULATE_WRITE (hmi_populate:
 * a short pool is an error, never SIGBUS), its PAs read through sys/'s
 * pagemap reader, and unmapped.
 *
 * Seals: F_SEAL_SHRINK and F_SEAL_GROW (a client cannot resize what it was
 * given), F_SEAL_SEAL (nor add F_SEAL_WRITE, which would make the keeper's
 * punch fail and let a client keep pages after its lease ends).
 *
 * Which node: with --keep alone, each chunk goes to the node with the most
 * free pages left, so the memory spreads as the pool does; a node that
 * cannot give a chunk is an error naming it.
 */
#include "keeper/keeper.h"
#include "base/platform.h"
#include "pages/pages.h"
#include "sys/pagemap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif

/* ------------------------------------------------------------------ one chunk */

static int new_memfd(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t len)
{
	unsigned shift = (unsigned)__builtin_ctzll(page_size);
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "hugemem-keeper:%d", node);
	fd = hmi_memfd_create(name, MFD_HUGETLB | MFD_CLOEXEC | MFD_ALLOW_SEALING |
					(shift << MFD_HUGE_SHIFT));
	if (fd < 0)
		return hmi_err(ctx, -fd, "memfd_create(MFD_HUGETLB) of %" PRIu64 "-byte pages: %s",
			       page_size, strerror(-fd));
	if (ftruncate(fd, (off_t)len) < 0) {
		int err = errno;

		close(fd);
		return hmi_err(ctx, err, "sizing a keeper memfd to %" PRIu64 " bytes: %s", len,
			       strerror(err));
	}
	return fd;
}

/* Append the page at PA to the runs of F (room for one more run). */
static void add_page(struct hmi_chunk_fill *f, uint64_t pa, uint64_t page_size)
{
	struct hm_run *last = f->n_runs ? &f->runs[f->n_runs - 1] : NULL;

	if (last && pa == last->pa + last->pages * page_size) {
		last->pages++;
		return;
	}
	if (last && pa < last->pa + last->pages * page_size)
		f->ascending = 0;
	f->runs[f->n_runs++] = (struct hm_run){.pa = pa, .pages = 1};
}

/* The physical runs of the COUNT pages mapped at BASE. */
static int read_runs(struct hm_ctx *ctx, const char *base, size_t count, uint64_t page_size,
		     struct hmi_chunk_fill *f)
{
	struct hmi_pagemap pm;
	int rc;

	hmi_pagemap_init(&pm);
	f->runs = calloc(count, sizeof(*f->runs));
	if (!f->runs)
		return hmi_err(ctx, ENOMEM, "out of memory for %zu runs", count);
	f->ascending = 1;
	rc = hmi_pagemap_open(ctx, &pm, 0);
	for (size_t i = 0; rc >= 0 && i < count; i++) {
		uint64_t pa = 0;

		rc = hmi_pagemap_pa(ctx, &pm, (uint64_t)(uintptr_t)(base + i * page_size), &pa);
		if (rc == 0 || (rc == 1 && pa == 0))
			rc = hmi_err(ctx, EPERM,
				     "no physical address for a faulted keeper page: the keeper "
				     "runs as root (CAP_SYS_ADMIN)");
		else if (rc == 1)
			add_page(f, pa, page_size);
	}
	hmi_pagemap_close(&pm);
	return rc < 0 ? rc : 0;
}

static int populate_failed(struct hm_ctx *ctx, int err, size_t got, size_t count, int node)
{
	if (err == EINVAL)
		return hmi_err(ctx, EOPNOTSUPP,
			       "this kernel lacks MADV_POPULATE_WRITE (Linux 5.14+), which the "
			       "keeper needs to fault its memory in without risking SIGBUS");
	return hmi_err(ctx, ENOMEM,
		       "node %d gave %zu of the %zu pages of a keeper chunk (%s): the free "
		       "pool is short, or a hugetlb cgroup of the keeper caps it",
		       node, got, count, strerror(err));
}

/* Fault COUNT pages at BASE, in steps of HMI_PACE_BYTES when PACER asks to
 * wait between them (a step is ~0.2 ms of zeroing here: the longest a
 * starting client waits for the worker to stop). */
static int populate_paced(char *base, size_t count, uint64_t page_size,
			  const struct hmi_pacer *pacer, size_t *got)
{
	size_t step = pacer ? (size_t)(HMI_PACE_BYTES / page_size) : count, done = 0;
	int rc = 0;

	if (step == 0)
		step = 1; /* pages larger than a step: one at a time */
	while (rc == 0 && done < count) {
		size_t n = count - done < step ? count - done : step, g = 0;

		if (pacer)
			pacer->wait(pacer->arg);
		rc = hmi_populate(base + done * page_size, n, page_size, 1, &g);
		done += g;
		if (g < n && rc == 0)
			rc = -ENOMEM; /* cannot be: a short fault is an error */
	}
	*got = done;
	return rc;
}

/* Map FD, bind, fault, read the runs, unmap. */
static int fault_pages(struct hm_ctx *ctx, int fd, uint64_t page_size, int node, uint64_t len,
		       const struct hmi_pacer *pacer, struct hmi_chunk_fill *f)
{
	size_t count = (size_t)(len / page_size), got = 0;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int rc;

	if (base == MAP_FAILED)
		return hmi_err(ctx, ENOMEM, "mapping a keeper chunk of %" PRIu64 " bytes: %s", len,
			       strerror(errno));
	rc = hmi_range_bind(ctx, base, len, node);
	if (rc == 0) {
		rc = populate_paced(base, count, page_size, pacer, &got);
		if (rc < 0)
			rc = populate_failed(ctx, -rc, got, count, node);
	}
	if (rc == 0)
		rc = read_runs(ctx, base, count, page_size, f);
	munmap(base, len);
	return rc;
}

int hmi_chunk_fault(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t len,
		    const struct hmi_pacer *pacer, struct hmi_chunk_fill *out)
{
	struct hmi_chunk_fill f = {.fd = -1};
	int rc;

	if (page_size == 0 || len == 0 || len % page_size)
		return hmi_err(ctx, EINVAL,
			       "a keeper chunk of %" PRIu64 " bytes is not whole pages", len);
	f.fd = new_memfd(ctx, page_size, node, len);
	if (f.fd < 0)
		return f.fd;
	rc = fault_pages(ctx, f.fd, page_size, node, len, pacer, &f);
	if (rc == 0 && fcntl(f.fd, F_ADD_SEALS, HMI_KEEPER_SEALS) < 0)
		rc = hmi_err(ctx, errno, "sealing a keeper memfd: %s", strerror(errno));
	if (rc < 0) {
		close(f.fd); /* nothing maps it: its pages go back with it */
		free(f.runs);
		return rc;
	}
	*out = f;
	return 0;
}

int hmi_chunk_punch(int fd, uint64_t len, uint64_t page_size)
{
	int rc = 0;

	for (uint64_t off = len; off >= page_size; off -= page_size)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(off - page_size), (off_t)page_size) < 0 &&
		    rc == 0)
			rc = -errno;
	return rc;
}

void hmi_chunk_drop(struct hmi_chunk *c, uint64_t page_size, int punch)
{
	if (c->fd >= 0) {
		if (punch)
			hmi_chunk_punch(c->fd, c->len, page_size);
		close(c->fd);
	}
	c->fd = -1;
	free(c->runs);
	c->runs = NULL;
	c->n_runs = 0;
	c->id = 0;
}

/* ------------------------------------------------------------------ the whole memory */

/* The free pages of *PAGE_SIZE (0: the default size, set) per node
 * (FREE[node]) and in all (*TOTAL). */
static int free_pages(struct hm_ctx *ctx, uint64_t *page_size, uint64_t *free_of, uint64_t *total)
{
	struct hm_sysinfo *si = NULL;
	const struct hm_pool *pool;
	int rc = hm_sysinfo_read(ctx, NULL, &si);

	if (rc < 0)
		return rc;
	pool = hm_sysinfo_pool(si, *page_size);
	if (!pool) {
		hm_sysinfo_free(si);
		return hmi_err(ctx, EINVAL,
			       "no pool of %" PRIu64 "-byte hugepages: give a size listed "
			       "under /sys/kernel/mm/hugepages",
			       *page_size);
	}
	*page_size = pool->page_size;
	*total = pool->free > pool->resv ? pool->free - pool->resv : 0;
	for (int i = 0; i < pool->n_nodes && i < HM_MAX_NODES; i++)
		if (pool->nodes[i].node >= 0 && pool->nodes[i].node < HM_MAX_NODES)
			free_of[pool->nodes[i].node] = pool->nodes[i].free;
	hm_sysinfo_free(si);
	return 0;
}

/* The node with the most free pages left. */
static int roomiest(const uint64_t *free_of)
{
	int best = 0;

	for (int n = 1; n < HM_MAX_NODES; n++)
		if (free_of[n] > free_of[best])
			best = n;
	return best;
}

/* The page size and chunk size in use, and whether --keep (each node's
 * --socket-keep) is whole pages. */
static int sizes(struct hm_ctx *ctx, struct hmi_chunks *cs, const uint64_t *node_keep)
{
	char size[32];

	hmi_format_size(cs->page_size, size, sizeof(size));
	if (cs->chunk_bytes == 0)
		cs->chunk_bytes = HM_KEEPER_CHUNK_DEFAULT < cs->page_size ? cs->page_size
									  : HM_KEEPER_CHUNK_DEFAULT;
	if (cs->chunk_bytes % cs->page_size ||
	    cs->chunk_bytes / cs->page_size > HMI_KEEPER_CHUNK_PAGES_MAX)
		return hmi_err(ctx, EINVAL,
			       "a keeper chunk of %" PRIu64 " bytes is not 1 to %d pages of %s: "
			       "give --chunk as a multiple of the page size",
			       cs->chunk_bytes, HMI_KEEPER_CHUNK_PAGES_MAX, size);
	for (int n = 0; node_keep && n < HM_MAX_NODES; n++)
		if (node_keep[n] % cs->page_size)
			return hmi_err(ctx, EINVAL,
				       "--socket-keep gives node %d %" PRIu64 " bytes: not a whole "
				       "number of %s pages",
				       n, node_keep[n], size);
	if (cs->keep_bytes == 0 || cs->keep_bytes % cs->page_size ||
	    cs->keep_bytes > HMI_KP_BYTES_MAX)
		return hmi_err(ctx, EINVAL,
			       "--keep %" PRIu64 " bytes is not a whole number of %s pages "
			       "(at least one)",
			       cs->keep_bytes, size);
	return 0;
}

/* Check the free pool holds WANT pages (per node with PER_NODE: WANT[n]). */
static int check_free(struct hm_ctx *ctx, const struct hmi_chunks *cs, const uint64_t *free_of,
		      uint64_t total, const uint64_t *want, int per_node)
{
	char size[32];

	hmi_format_size(cs->page_size, size, sizeof(size));
	for (int n = 0; per_node && n < HM_MAX_NODES; n++)
		if (want[n] > free_of[n])
			return hmi_err(ctx, ENOMEM,
				       "--socket-keep asks %" PRIu64
				       " pages of %s on node %d but it "
				       "has %" PRIu64 " free: reserve more there first (hugemem "
				       "reserve --node %d), the keeper reserves nothing itself",
				       want[n], size, n, free_of[n], n);
	if (!per_node && total < want[0])
		return hmi_err(ctx, ENOMEM,
			       "--keep asks %" PRIu64 " pages of %s but the pool has %" PRIu64
			       " free: reserve more first (hugemem reserve), the keeper reserves "
			       "nothing itself",
			       want[0], size, total);
	return 0;
}

/* Cut BYTES on NODE (-1: the nodes with the most free pages left) into
 * chunks from slot *AT on. */
static void cut(struct hmi_chunks *cs, uint64_t bytes, int node, uint64_t *free_of, size_t *at)
{
	for (uint64_t off = 0; off < bytes; off += cs->chunk_bytes) {
		struct hmi_chunk *c = &cs->c[(*at)++];
		uint64_t left = bytes - off;
		int n = node >= 0 ? node : roomiest(free_of);

		*c = (struct hmi_chunk){.fd = -1, .node = n, .state = HMI_CHUNK_PENDING};
		c->len = left < cs->chunk_bytes ? left : cs->chunk_bytes;
		free_of[n] -=
		    free_of[n] < c->len / cs->page_size ? free_of[n] : c->len / cs->page_size;
	}
}

static int plan(struct hm_ctx *ctx, struct hmi_chunks *cs, uint64_t *free_of,
		const uint64_t *node_keep)
{
	uint64_t total = 0, want[HM_MAX_NODES] = {0};
	size_t at = 0;
	int rc = free_pages(ctx, &cs->page_size, free_of, &total);

	for (int n = 0; node_keep && n < HM_MAX_NODES; n++)
		cs->keep_bytes += node_keep[n];
	if (rc == 0)
		rc = sizes(ctx, cs, node_keep);
	for (int n = 0; rc == 0 && n < HM_MAX_NODES; n++)
		want[n] = node_keep ? node_keep[n] / cs->page_size : 0;
	want[0] = node_keep ? want[0] : cs->keep_bytes / cs->page_size;
	if (rc == 0)
		rc = check_free(ctx, cs, free_of, total, want, node_keep != NULL);
	if (rc < 0)
		return rc;
	cs->n = 0;
	for (int n = 0; n < (node_keep ? HM_MAX_NODES : 1); n++)
		cs->n +=
		    (size_t)(((node_keep ? node_keep[n] : cs->keep_bytes) + cs->chunk_bytes - 1) /
			     cs->chunk_bytes);
	cs->c = calloc(cs->n, sizeof(*cs->c));
	if (!cs->c)
		return hmi_err(ctx, ENOMEM, "out of memory for %zu chunks", cs->n);
	for (int n = 0; node_keep && n < HM_MAX_NODES; n++)
		cut(cs, node_keep[n], n, free_of, &at);
	if (!node_keep)
		cut(cs, cs->keep_bytes, -1, free_of, &at);
	return 0;
}

/* Put the fill F into chunk C: a new id, free, its inode noted (what JOIN
 * compares). */
void hmi_chunk_install(struct hmi_chunks *cs, struct hmi_chunk *c, const struct hmi_chunk_fill *f)
{
	struct stat st;

	c->ino = fstat(f->fd, &st) == 0 ? st.st_ino : 0;
	c->dev = c->ino ? st.st_dev : 0;
	c->n_holders = 0;
	c->fd = f->fd;
	c->runs = f->runs;
	c->n_runs = f->n_runs;
	c->ascending = f->ascending;
	c->id = cs->next_id++;
	c->state = HMI_CHUNK_FREE;
}

int hmi_chunks_fill(struct hm_ctx *ctx, struct hmi_chunks *cs, uint64_t keep, uint64_t page_size,
		    uint64_t chunk, const uint64_t *node_keep)
{
	uint64_t free_of[HM_MAX_NODES] = {0};
	struct hm_order_result order;
	int rc;

	*cs = (struct hmi_chunks){.page_size = page_size,
				  .chunk_bytes = chunk,
				  .keep_bytes = node_keep ? 0 : keep,
				  .next_id = 1};
	rc = plan(ctx, cs, free_of, node_keep);
	if (rc == 0)
		rc = hm_pool_order(ctx, cs->page_size, -1, &order);
	for (size_t i = 0; rc == 0 && i < cs->n; i++) {
		struct hmi_chunk_fill f;

		rc = hmi_chunk_fault(ctx, cs->page_size, cs->c[i].node, cs->c[i].len, NULL, &f);
		if (rc == 0)
			hmi_chunk_install(cs, &cs->c[i], &f);
		if (rc == 0)
			rc = hmi_cancel_check(ctx);
	}
	if (rc < 0)
		hmi_chunks_release(cs);
	return rc;
}

void hmi_chunks_release(struct hmi_chunks *cs)
{
	/* from the last chunk down, each from its top page down: the free list
	 * then hands the pool out in the order the keeper got it */
	for (size_t i = cs->n; i-- > 0;)
		hmi_chunk_drop(&cs->c[i], cs->page_size, cs->c[i].state == HMI_CHUNK_FREE);
	free(cs->c);
	cs->c = NULL;
	cs->n = 0;
}
