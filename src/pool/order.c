/* SPDX-License-Identifier: MIT */
/*
 * pool/order.c — put the kernel's free list of hugepages in order, so that
 * whoever maps pages next gets the longest physically contiguous run first,
 * lowest page first, then the next longest run, and so on.
 *
 * Why it works. The kernel keeps the free hugepages of each size on one list
 * per NUMA node and hands them out last-freed-first (LIFO): whatever order a
 * process frees its pages in, the next mapper gets them in reverse. A fresh
 * pool hands pages out in descending physical order; a pool that many
 * processes have used hands out scattered pages. Freeing the runs shortest
 * first, each from its highest page down, leaves the list reading, from its
 * head: the longest run in ascending order, then the next longest, ... down
 * to the single pages. A later mapper that takes K pages gets whole runs,
 * longest first: the fewest pieces the pool (of its node) allows for K, each
 * ascending.
 *
 * The order (hmi_release_order, pure). The pages come sorted by (node, iova).
 * One pass finds the maximal runs among the pages to give back: a run ends at
 * a gap in IOVA, a change of node, or a page that is kept (kept pages stay
 * mapped, so the pages on either side of one are not contiguous in the free
 * list). A second pass records each run as (length, IOVA of its top page,
 * index of its top page); these R records are sorted by length ascending,
 * then top IOVA descending, then index descending (so equal keys still give
 * one answer), and each run's page indices are written from its top down.
 * Nodes are not kept apart: each node has its own free list, so how the runs
 * of two nodes interleave changes nothing, and one global order is simplest.
 * Cost O(n + R log R), one allocation of R records; when that allocation
 * fails nothing is written and 0 is returned — a caller with pages to give
 * back sees a count short of what it asked and reports -ENOMEM.
 *
 * The pool (hm_pool_order). The free count is free_hugepages -
 * resv_hugepages of the size (on one node: that node's free count, capped by
 * the same system-wide figure, since per-node sysfs has no reserved count).
 * All of them are mapped at once in one anonymous MAP_HUGETLB mapping of
 * that size, bound to the node with mbind when one is asked for, marked
 * MADV_DONTFORK (a child forked meanwhile must not hold pages back) and
 * faulted in with MADV_POPULATE_WRITE, which reports a short pool or a
 * hugetlb cgroup cap as an error instead of killing the process with SIGBUS;
 * the pages themselves are never touched. Each page's frame number comes from
 * /proc/self/pagemap (one 8-byte read per hugepage). The pages are sorted,
 * ordered as above and unmapped one by one in that order.
 *
 * Cost: one zeroing of the free pool — the kernel clears every page as it
 * faults it in, which is most of the time spent (as when mapping that much
 * memory for use); one pagemap read and one munmap per page, and the sort,
 * come on top. Measured on a 2-core VM: 1024 free 2 MiB pages ordered in
 * about 126 ms, where faulting them in alone takes about 102 ms. So that
 * nobody pays it for nothing, two refusals come before the mapping: a
 * hugetlb cgroup that would not let the whole free pool in (-ENOMEM), and a
 * caller without CAP_SYS_ADMIN, whose pagemap shows PFN 0 for a page of its
 * own stack (-EPERM: physical addresses are root only). Every later failure
 * unmaps everything mapped so far, so the pool counts are as before (only
 * the order of the free list may have changed).
 *
 * With NODE -1 the pages' nodes are not looked up: all pages count as one
 * node, so a run that crosses from one node's memory into the next counts as
 * one run. Each part still ends up ascending on its own node's list.
 */
#include "base/ctx.h"
#include "layout/layout.h"
#include "base/platform.h"
#include "pages/pages.h"
#include "pool/pool.h"
#include "sys/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------ the order */

/* One maximal run among the pages to give back. */
struct run_key {
	size_t len;
	uint64_t top_iova; /* IOVA of its highest page */
	size_t top;	   /* index of its highest page */
};

static int is_released(const unsigned char *keep, size_t i)
{
	return !keep || !keep[i];
}

/* Is page I (given back) the continuation of a run that page I-1 is in? */
static int joins_previous(const struct hmi_page *pages, const unsigned char *keep, size_t i,
			  uint64_t page_size)
{
	const struct hmi_page *prev;

	if (i == 0 || page_size == 0 || !is_released(keep, i - 1))
		return 0;
	prev = &pages[i - 1];
	return pages[i].node == prev->node && prev->iova <= UINT64_MAX - page_size &&
	       pages[i].iova == prev->iova + page_size;
}

static size_t count_runs(const struct hmi_page *pages, size_t n, uint64_t page_size,
			 const unsigned char *keep)
{
	size_t i, runs = 0;

	for (i = 0; i < n; i++)
		if (is_released(keep, i) && !joins_previous(pages, keep, i, page_size))
			runs++;
	return runs;
}

static void fill_runs(const struct hmi_page *pages, size_t n, uint64_t page_size,
		      const unsigned char *keep, struct run_key *runs)
{
	size_t i, r = 0;

	for (i = 0; i < n; i++) {
		if (!is_released(keep, i))
			continue;
		if (!joins_previous(pages, keep, i, page_size))
			runs[r++] = (struct run_key){.len = 0};
		runs[r - 1].len++;
		runs[r - 1].top = i;
		runs[r - 1].top_iova = pages[i].iova;
	}
}

static int run_cmp(const void *a, const void *b)
{
	const struct run_key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->top_iova != y->top_iova)
		return x->top_iova > y->top_iova ? -1 : 1;
	if (x->top != y->top)
		return x->top > y->top ? -1 : 1;
	return 0;
}

size_t hmi_release_order(const struct hmi_page *pages, size_t n, uint64_t page_size,
			 const unsigned char *keep, size_t *order)
{
	size_t n_runs = count_runs(pages, n, page_size, keep), k, j, written = 0;
	struct run_key *runs;

	if (n_runs == 0)
		return 0;
	runs = malloc(n_runs * sizeof(*runs));
	if (!runs)
		return 0;
	fill_runs(pages, n, page_size, keep, runs);
	qsort(runs, n_runs, sizeof(*runs), run_cmp);
	for (k = 0; k < n_runs; k++)
		for (j = 0; j < runs[k].len; j++)
			order[written++] = runs[k].top - j;
	free(runs);
	return written;
}

/* ------------------------------------------------------------ the pool */

/* What one hm_pool_order call holds. */
struct pool_job {
	uint64_t page_size;
	int node;		/* -1: any */
	size_t count;		/* free pages to map */
	char *base;		/* the one mapping; NULL when nothing is mapped */
	struct hmi_page *pages; /* count entries once mapped */
	struct hmi_pagemap pagemap;
};

static int pool_missing(struct hm_ctx *ctx, uint64_t page_size)
{
	char size[32];

	if (page_size == 0)
		return hmi_err(ctx, EINVAL,
			       "no default hugepage size (Hugepagesize in /proc/meminfo) and no "
			       "pool: reserve pages first (hugemem reserve)");
	hmi_format_size(page_size, size, sizeof(size));
	return hmi_err(ctx, EINVAL,
		       "no %s hugepage pool to put in order: give a size listed under "
		       "/sys/kernel/mm/hugepages",
		       size);
}

/* Free pages of POOL on NODE (-1: every node) that nobody has reserved. */
static int pool_free_count(struct hm_ctx *ctx, const struct hm_sysinfo *si,
			   const struct hm_pool *pool, int node, uint64_t *count)
{
	uint64_t unreserved = pool->free > pool->resv ? pool->free - pool->resv : 0;

	*count = unreserved;
	if (node < 0)
		return 0;
	for (int i = 0; i < pool->n_nodes && i < HM_MAX_NODES; i++) {
		if (pool->nodes[i].node != node)
			continue;
		if (pool->nodes[i].free < unreserved)
			*count = pool->nodes[i].free;
		return 0;
	}
	if (!hm_sysinfo_has_node(si, node))
		return hmi_err(ctx, EINVAL,
			       "NUMA node %d does not exist: give a node listed in "
			       "/sys/devices/system/node/online",
			       node);
	return hmi_err(ctx, EINVAL,
		       "node %d has no hugepage counters for this size under "
		       "/sys/devices/system/node/node%d/hugepages",
		       node, node);
}

/* Pages left under a cgroup limit of MAX bytes with USED bytes charged. */
static uint64_t pages_left(uint64_t max, uint64_t used, uint64_t page_size)
{
	if (max == UINT64_MAX)
		return UINT64_MAX;
	return max > used ? (max - used) / page_size : 0;
}

/* Pages the hugetlb cgroup of this process still lets it fault in. */
static uint64_t cgroup_room(const struct hm_pool *pool)
{
	const struct hm_cgroup_limit *cg = &pool->cgroup;
	uint64_t faults, reserves;

	if (cg->version == 0)
		return UINT64_MAX;
	faults = pages_left(cg->max, cg->usage, pool->page_size);
	reserves = pages_left(cg->rsvd_max, cg->rsvd_usage, pool->page_size);
	return faults < reserves ? faults : reserves;
}

/* Can this process map COUNT pages of POOL at once? */
static int pool_check(struct hm_ctx *ctx, const struct hm_pool *pool, uint64_t count)
{
	uint64_t size = pool->page_size, room;

	if (size == 0 || (size & (size - 1)) || count > SIZE_MAX / size)
		return hmi_err(ctx, EINVAL, "%llu pages of %llu bytes cannot be mapped at once",
			       (unsigned long long)count, (unsigned long long)size);
	room = cgroup_room(pool);
	if (room < count)
		return hmi_err(ctx, ENOMEM,
			       "%llu hugepages are free but the hugetlb cgroup %s lets this "
			       "process fault in only %llu more: ordering needs the whole free "
			       "pool, run it outside that cgroup",
			       (unsigned long long)count,
			       pool->cgroup.path ? pool->cgroup.path : "?",
			       (unsigned long long)room);
	return 0;
}

/* Find the pool and how many of its pages are free; JOB gets both. */
static int job_plan(struct hm_ctx *ctx, struct pool_job *job, uint64_t page_size)
{
	struct hm_sysinfo *si = NULL;
	const struct hm_pool *pool;
	uint64_t count = 0;
	int rc = hm_sysinfo_read(ctx, NULL, &si);

	if (rc < 0)
		return rc;
	pool = hm_sysinfo_pool(si, page_size);
	if (!pool)
		rc = pool_missing(ctx, page_size);
	else
		rc = pool_free_count(ctx, si, pool, job->node, &count);
	if (rc == 0 && count > 0)
		rc = pool_check(ctx, pool, count);
	if (rc == 0) {
		job->page_size = pool->page_size;
		job->count = count;
	}
	hm_sysinfo_free(si);
	return rc;
}

static int map_failed(struct hm_ctx *ctx, const struct pool_job *job, const char *step, int err)
{
	char size[32];

	hmi_format_size(job->page_size, size, sizeof(size));
	return hmi_err(ctx, ENOMEM,
		       "%zu %s hugepages were free%s, but %s failed (%s): another process took "
		       "pages meanwhile, or a hugetlb cgroup limit refused them; nothing stays "
		       "mapped",
		       job->count, size, job->node >= 0 ? " on the node" : "", step, strerror(err));
}

static int populate_failed(struct hm_ctx *ctx, const struct pool_job *job, int err)
{
	if (err == EINVAL)
		return hmi_err(ctx, EOPNOTSUPP,
			       "this kernel lacks MADV_POPULATE_WRITE (Linux 5.14+), which "
			       "ordering needs to fault the pool in without risking SIGBUS");
	return map_failed(ctx, job, "faulting them in (MADV_POPULATE_WRITE)", err);
}

static void job_unmap(struct pool_job *job)
{
	if (job->base)
		munmap(job->base, job->count * job->page_size);
	job->base = NULL;
}

/* Keep from children, bind and fault in the mapping at JOB->base (pages/'s
 * own steps, as hmi_pages_map takes them). */
static int job_prepare(struct hm_ctx *ctx, struct pool_job *job, size_t len)
{
	size_t got = 0;
	int rc = hmi_range_bind(ctx, job->base, len, job->node);

	if (rc < 0)
		return rc;
	rc = hmi_populate(job->base, job->count, job->page_size, 1, &got);
	return rc < 0 ? populate_failed(ctx, job, -rc) : 0;
}

/* Map and fault in every free page; on failure nothing stays mapped. */
static int job_map(struct hm_ctx *ctx, struct pool_job *job)
{
	unsigned log2_size = (unsigned)__builtin_ctzll(job->page_size);
	int huge = (int)(log2_size << MAP_HUGE_SHIFT), rc;
	size_t len = job->count * job->page_size;
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | huge, -1, 0);
	if (p == MAP_FAILED)
		return map_failed(ctx, job, "mmap", errno);
	job->base = p;
	rc = job_prepare(ctx, job, len);
	if (rc < 0)
		job_unmap(job);
	return rc;
}

static int needs_root(struct hm_ctx *ctx)
{
	return hmi_err(ctx, EPERM,
		       "ordering the pool needs root (physical addresses from /proc/self/pagemap)");
}

/* Open pagemap and look at one page this process surely has in memory (its
 * stack), so that a caller without CAP_SYS_ADMIN hears -EPERM before the
 * whole pool is zeroed for nothing. */
static int job_open_pagemap(struct hm_ctx *ctx, struct pool_job *job)
{
	volatile char probe = 1;
	uint64_t pa = 0;
	int rc = hmi_pagemap_open(ctx, &job->pagemap, 0);

	if (rc == -EACCES || rc == -EPERM)
		return hmi_err(ctx, EPERM,
			       "ordering the pool needs root (physical addresses from %s, which "
			       "this process may not open)",
			       job->pagemap.path);
	if (rc == 0)
		rc = hmi_pagemap_pa(ctx, &job->pagemap, (uint64_t)(uintptr_t)&probe, &pa);
	if (rc == 1 && pa == 0)
		return needs_root(ctx);
	return rc < 0 ? rc : 0;
}

/* The physical address of the mapped page at VA. */
static int read_iova(struct hm_ctx *ctx, const struct pool_job *job, uint64_t va, uint64_t *iova)
{
	int rc = hmi_pagemap_pa(ctx, &job->pagemap, va, iova);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return hmi_err(ctx, EIO,
			       "%s says the hugepage at 0x%llx is not in memory although it was "
			       "just faulted in",
			       job->pagemap.path, (unsigned long long)va);
	return *iova == 0 ? needs_root(ctx) : 0;
}

/* JOB->pages from the mapping: VA, physical address and node of each page. */
static int job_read_pages(struct hm_ctx *ctx, struct pool_job *job)
{
	int rc = 0;

	job->pages = calloc(job->count, sizeof(*job->pages));
	if (!job->pages)
		return hmi_err(ctx, ENOMEM, "out of memory for %zu page records", job->count);
	for (size_t i = 0; i < job->count && rc == 0; i++) {
		struct hmi_page *p = &job->pages[i];

		p->va = (uint64_t)(uintptr_t)job->base + i * job->page_size;
		p->node = job->node;
		rc = read_iova(ctx, job, p->va, &p->iova);
	}
	return rc;
}

/* Count the runs of the sorted pages into RES. */
static int job_count_runs(struct hm_ctx *ctx, const struct pool_job *job,
			  struct hm_order_result *res)
{
	struct hmi_run *runs = NULL;
	size_t n_runs = 0;
	int rc = hmi_runs_find(ctx, job->pages, job->count, job->page_size, &runs, &n_runs);

	if (rc < 0)
		return rc;
	res->pages = job->count;
	res->runs = n_runs;
	for (size_t k = 0; k < n_runs; k++)
		if (runs[k].len > res->longest)
			res->longest = runs[k].len;
	free(runs);
	return 0;
}

/* Unmap the pages one by one in release order. The whole mapping is gone
 * afterwards, whatever happens. */
static int job_release(struct hm_ctx *ctx, struct pool_job *job)
{
	size_t *order = malloc(job->count * sizeof(*order));
	size_t n, i;
	int rc = 0;

	n = order ? hmi_release_order(job->pages, job->count, job->page_size, NULL, order) : 0;
	if (n != job->count) {
		free(order);
		job_unmap(job);
		return hmi_err(ctx, ENOMEM, "out of memory ordering %zu hugepages", job->count);
	}
	for (i = 0; i < n; i++) {
		void *va = (void *)(uintptr_t)job->pages[order[i]].va;

		if (munmap(va, job->page_size) < 0 && rc == 0)
			rc = hmi_err(ctx, errno, "unmapping the hugepage at %p: %s", va,
				     strerror(errno));
	}
	job->base = NULL;
	free(order);
	return rc;
}

/* Map, read, sort and give back the free pool JOB planned. */
static int job_run(struct hm_ctx *ctx, struct pool_job *job, struct hm_order_result *res)
{
	int rc = job_open_pagemap(ctx, job);

	if (rc == 0)
		rc = job_map(ctx, job);
	if (rc == 0)
		rc = job_read_pages(ctx, job);
	if (rc == 0) {
		hmi_pages_sort(job->pages, job->count);
		rc = job_count_runs(ctx, job, res);
	}
	if (rc == 0)
		rc = job_release(ctx, job);
	job_unmap(job);
	return rc;
}

int hm_pool_order(struct hm_ctx *ctx, uint64_t page_size, int node, struct hm_order_result *res)
{
	struct pool_job job = {.node = node};
	int rc, lock;

	hmi_err_clear(ctx);
	if (!res)
		return hmi_err(ctx, EINVAL, "hm_pool_order needs a result to fill (res is NULL)");
	memset(res, 0, sizeof(*res));
	if (node < -1 || node >= HM_MAX_NODES)
		return hmi_err(ctx, EINVAL,
			       "node %d is out of range: give -1 (every node) or 0..%d", node,
			       HM_MAX_NODES - 1);
	hmi_pagemap_init(&job.pagemap);
	rc = job_plan(ctx, &job, page_size);
	if (rc < 0 || job.count == 0)
		return rc;
	/* the count again under the pool's lock: a reserve may have run between */
	lock = hmi_pool_lock(ctx, job.page_size);
	if (lock < 0)
		return lock;
	rc = job_plan(ctx, &job, job.page_size);
	if (rc == 0 && job.count > 0)
		rc = job_run(ctx, &job, res);
	close(lock);
	hmi_pagemap_close(&job.pagemap);
	free(job.pages);
	if (rc < 0)
		memset(res, 0, sizeof(*res));
	return rc;
}
