/* SPDX-License-Identifier: MIT */
/*
 * pages/pages.c — the page set: mapping and faulting pages in on the node they
 * are wanted on, moving them to their final addresses and giving them back
 * to the pool in a chosen order (steps B1, B2, B7 and B10 of docs/design.md).
 *
 * One hmi_pages_map call:
 *  1. reserves one PROT_NONE range of COUNT pages aligned to the page size
 *     (hugetlb mappings must be), so the call's pages sit side by side and
 *     the steps below are one system call each over the whole range;
 *  2. maps the backing over it with MAP_FIXED (pages/backing.c: a page file
 *     per page, or a slice of the node's single file or memfd; anonymous
 *     memory for --no-huge);
 *  3. madvise(MADV_DONTFORK): a child must not keep the pages or their locks
 *     alive, nor copy-on-write the parent's pages away from their physical
 *     addresses;
 *  4. mbind(MPOL_BIND, {node}) before any fault: hugetlb reservations at mmap
 *     time are global, so the node is only decided when the page faults in;
 *  5. faults every page in with MADV_POPULATE_WRITE, split into chunks over up
 *     to ps->threads threads (the kernel zeroing the pages is nearly all the
 *     time; the threads zero in parallel, each pinned to its own CPU of the
 *     caller's affinity: unpinned, two often shared one CPU). Unlike
 *     touching the memory, this reports a short pool, a short node or a
 *     hugetlb cgroup limit as an error (EFAULT / ENOMEM / EHWPOISON) instead
 *     of SIGBUS. A kernel without it (before 5.14) answers EINVAL: we refuse
 *     rather than touch pages.
 * Any failure unmaps the whole range and rolls the backing objects back, so
 * the set (and the pool) is exactly as before the call.
 *
 * Moving pages never reaches the kernel's PMD sharing through mremap. On
 * Linux 5.16 to at least 6.18, mremap of a MAP_SHARED hugetlb mapping whose
 * new place covers a whole 1 GiB-aligned range deadlocks: the move
 * (move_hugetlb_page_tables) holds the file's i_mmap_rwsem for writing and
 * the page-table allocation at the new place (huge_pmd_share) takes it for
 * reading, so the process sleeps in state D forever, holding its pages until
 * the machine reboots. So a single file's or memfd's pages are moved by
 * mapping their file range again at the new address (MAP_FIXED, then
 * MADV_POPULATE_WRITE installs the entries: the pages stay in the file,
 * nothing is zeroed again) and unmapping the old range. A page file's pages
 * move by mremap(MREMAP_FIXED), one page a call: its mapping is one page, and
 * a 2 MiB mapping never covers an aligned 1 GiB range (a 1 GiB page is
 * mapped at the PUD level, where nothing is shared), so the deadlock cannot
 * be reached, and mremap keeps the page table entry with no new fault.
 * Kernels before 5.16 refuse mremap on hugetlb with EINVAL; then the page
 * file is mapped again at the new address and the old mapping dropped.
 * Anonymous memory (--no-huge) moves by mremap, a stretch a call.
 *
 * Release, one page at a time in the caller's order: unmap, then unlink the
 * page file or punch the page out of its file. The kernel's free list is
 * LIFO, so the last page released is the first the next process gets.
 */
#include "pages/backing.h"
#include "base/platform.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_THREADS	 64
#define DEFAULT_THREADS	 8
#define THREAD_MIN_BYTES (32ULL << 20) /* below this per thread, a thread costs more */
#define NO_BACKING	 UINT32_MAX
#define PROGRESS_ROUND	 (256ULL << 20) /* bytes faulted between two progress reports */

void hmi_pageset_init(struct hmi_pageset *ps, enum hmi_backing_kind kind, uint64_t page_size,
		      const char *dir, const char *prefix)
{
	memset(ps, 0, sizeof(*ps));
	ps->kind = kind;
	ps->page_size = page_size;
	ps->dir = dir;
	ps->prefix = prefix;
	hmi_pagemap_init(&ps->pagemap);
	ps->dir_fd = -1;
	ps->record_fd = -1;
}

static int check_map_args(struct hm_ctx *ctx, const struct hmi_pageset *ps, int node, size_t count)
{
	uint64_t ps_size = ps->page_size;
	long base_page = sysconf(_SC_PAGESIZE);

	if (ps_size == 0 || (ps_size & (ps_size - 1)) || ps_size < (uint64_t)base_page)
		return hmi_err(ctx, EINVAL,
			       "page size %" PRIu64 " is not a power of two of at least %ld bytes",
			       ps_size, base_page);
	if (node < -1 || node >= HM_MAX_NODES)
		return hmi_err(ctx, EINVAL, "node %d is outside 0..%d", node, HM_MAX_NODES - 1);
	if (count > (SIZE_MAX >> 1) / ps_size)
		return hmi_err(ctx, ENOMEM,
			       "%zu pages of %" PRIu64 " bytes exceed the address space", count,
			       ps_size);
	if ((ps->kind == HMI_BACK_PAGE_FILES || ps->kind == HMI_BACK_SINGLE_FILE) && !ps->dir)
		return hmi_err(ctx, EINVAL, "page files need a hugetlbfs directory: none given");
	if (ps->kind > HMI_BACK_ANON)
		return hmi_err(ctx, EINVAL, "unknown backing kind %d", (int)ps->kind);
	return 0;
}

static int pages_room(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t more)
{
	void *arr = ps->pages;
	int rc = hmi_array_reserve(ctx, &arr, &ps->cap, ps->n + more, sizeof(*ps->pages), 64,
				   "page records");

	ps->pages = arr;
	return rc;
}

/* After an mmap of LEN bytes failed with ERR: when the address-space limit
 * (RLIMIT_AS, `ulimit -v`) explains it, the clause that names the limit and
 * the fix; else "". ENOMEM alone says nothing about why. */
static const char *as_limit_hint(int err, uint64_t len, char *buf, size_t size)
{
	struct rlimit lim;
	char have[32], want[32];

	buf[0] = '\0';
	if (err != ENOMEM || getrlimit(RLIMIT_AS, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY)
		return buf;
	hmi_format_size((uint64_t)lim.rlim_cur, have, sizeof(have));
	hmi_format_size(len, want, sizeof(want));
	snprintf(buf, size,
		 " (the process's address space is limited to %s by `ulimit -v %llu`, and this "
		 "reservation alone needs %s of it: raise the limit, e.g. `ulimit -v unlimited`)",
		 have, (unsigned long long)(lim.rlim_cur / 1024), want);
	return buf;
}

/* An inaccessible range of LEN bytes aligned to ALIGN: over-reserve by ALIGN
 * and trim both ends. */
static int reserve_aligned(struct hm_ctx *ctx, uint64_t len, uint64_t align, char **base)
{
	char *raw =
	    mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t start;
	size_t head;

	if (raw == MAP_FAILED) {
		int err = errno;
		char hint[256];

		return hmi_err(ctx, err, "cannot reserve %" PRIu64 " bytes of address space: %s%s",
			       len, strerror(err),
			       as_limit_hint(err, len + align, hint, sizeof(hint)));
	}
	start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
	head = start - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	if (align - head)
		munmap((char *)start + len, align - head);
	*base = (char *)start;
	return 0;
}

/* Reserve LEN bytes at ps->hint_va if that range is free (MAP_FIXED_NOREPLACE),
 * moving the hint past it and a guard page; else, and from then on, where the
 * kernel likes. Pages faulted in at the hint may already sit where they go
 * (mem/init.c: placed where they are). */
static int reserve_for_call(struct hm_ctx *ctx, struct hmi_pageset *ps, uint64_t len, char **base)
{
	void *want = (void *)(uintptr_t)ps->hint_va, *got;

	if (ps->hint_va) {
		got =
		    mmap(want, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (got == want) {
			*base = got;
			ps->hint_end = ps->hint_va + len;
			ps->hint_va += len + ps->page_size;
			return 0;
		}
		if (got != MAP_FAILED) /* a kernel before 4.17 took it as a hint */
			munmap(got, len);
		ps->hint_va = 0;
	}
	return reserve_aligned(ctx, len, ps->page_size, base);
}

/* Is the size= limit of the hugetlbfs mount of a file kind too small now for
 * the NEED bytes still to map? Then the mount, not the pool, refused them;
 * *ROOM = the pages it still takes. */
static int mount_short(const struct hmi_pageset *ps, uint64_t need, uint64_t *room)
{
	uint64_t bsize, blocks, bavail;

	if (ps->kind == HMI_BACK_MEMFD || ps->kind == HMI_BACK_ANON || !ps->dir)
		return 0;
	if (hmi_statfs_hugetlbfs(ps->dir, &bsize, &blocks, &bavail) != 1 || blocks == 0)
		return 0;
	*room = bavail * bsize / ps->page_size;
	return bavail * bsize < need;
}

/* "got K of N pages of 2 MiB on node X: ...": the one message of a refusal. */
static int short_error(struct hm_ctx *ctx, const struct hmi_pageset *ps, int node, size_t got,
		       size_t count)
{
	char size[32], where[32];
	uint64_t room = 0;

	hmi_format_size(ps->page_size, size, sizeof(size));
	if (node >= 0)
		snprintf(where, sizeof(where), "node %d", node);
	else
		snprintf(where, sizeof(where), "any node");
	if (ps->kind == HMI_BACK_ANON)
		return hmi_err(ctx, ENOMEM,
			       "got %zu of %zu pages of %s on %s: the system refused the rest "
			       "(memory limit?)",
			       got, count, size, where);
	if (mount_short(ps, (uint64_t)(count - got) * ps->page_size, &room))
		return hmi_err(ctx, ENOMEM,
			       "got %zu of %zu pages of %s on %s: hugetlbfs mount %s has room for "
			       "%" PRIu64 " more (its size= limit; another process may have filled "
			       "it since it was counted): ask less, or use another mount with "
			       "--huge-dir",
			       got, count, size, where, ps->dir, room);
	return hmi_err(ctx, ENOMEM,
		       "got %zu of %zu pages of %s on %s: the pool or a hugetlb cgroup limit "
		       "refused the rest (another process may have taken pages since they were "
		       "counted): try again, reserve more, or ask less",
		       got, count, size, where);
}

/* Map COUNT pages' backing over BASE; fills the new page records. */
static int map_backing(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *base,
		       size_t count, uint32_t *grown)
{
	uint32_t first = (uint32_t)ps->n_backings, index = NO_BACKING;
	uint64_t offset = 0, step = 0;
	size_t mapped = 0, i;
	int rc = 0;

	if (ps->kind == HMI_BACK_PAGE_FILES) {
		rc = hmi_backing_page_files(ctx, ps, node, base, count, &mapped);
	} else if (ps->kind == HMI_BACK_ANON) {
		if (mmap(base, count * ps->page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			rc = hmi_err(ctx, errno, "cannot map %zu anonymous pages: %s", count,
				     strerror(errno));
	} else {
		rc = hmi_backing_node_map(ctx, ps, node, base, count, &index, &offset);
		*grown = index;
		step = ps->page_size;
	}
	if (rc == -ENOMEM)
		return short_error(ctx, ps, node, mapped, count);
	for (i = 0; rc == 0 && i < count; i++) {
		struct hmi_page *p = &ps->pages[ps->n + i];

		p->va = (uint64_t)(uintptr_t)(base + i * ps->page_size);
		p->iova = 0;
		p->node = node;
		p->backing = ps->kind == HMI_BACK_PAGE_FILES ? first + (uint32_t)i : index;
		p->offset = offset + i * step;
	}
	return rc;
}

int hmi_range_bind(struct hm_ctx *ctx, void *base, uint64_t len, int node)
{
	int rc;

	if (madvise(base, len, MADV_DONTFORK) < 0)
		return hmi_err(ctx, errno, "madvise(MADV_DONTFORK) at %p: %s", (void *)base,
			       strerror(errno));
	if (node < 0)
		return 0;
	rc = hmi_mbind_node(base, len, MPOL_BIND, node);
	if (rc == -ENOSYS && node == 0) /* a kernel without NUMA: all memory is node 0 */
		return 0;
	if (rc == -EPERM)
		return hmi_err(ctx, EPERM,
			       "mbind to node %d refused (a seccomp filter without CAP_SYS_NICE?): "
			       "map without a node",
			       node);
	if (rc < 0)
		return hmi_err(ctx, -rc, "cannot bind memory to node %d (mbind): %s", node,
			       strerror(-rc));
	return 0;
}

struct populate_job {
	char *start;
	size_t pages;
	uint64_t page_size;
	size_t done; /* pages faulted in */
	int err;     /* errno of the first failure, 0 = none */
};

/* After a failure, how many pages of the chunk are in: populating a present
 * page costs nothing, the first missing one fails again. */
static size_t count_populated(const struct populate_job *job)
{
	size_t i;

	for (i = 0; i < job->pages; i++)
		if (madvise(job->start + i * job->page_size, job->page_size, MADV_POPULATE_WRITE) <
		    0)
			break;
	return i;
}

static void *populate_worker(void *arg)
{
	struct populate_job *job = arg;

	if (madvise(job->start, job->pages * job->page_size, MADV_POPULATE_WRITE) == 0) {
		job->done = job->pages;
		return NULL;
	}
	job->err = errno;
	job->done = count_populated(job);
	return NULL;
}

/* Threads zero pages in parallel, but they take pages off the pool's free
 * list in turns, so a node object's offsets stop following the order the
 * pool hands pages out in. Secondaries map a single file or memfd with one
 * mmap per stretch of pages that continue each other in VA and in offset:
 * for those kinds one thread faults in offset order (on an ordered pool a
 * physical run is then one stretch: 4096 pages attach with a few mmaps
 * instead of 4096), unless the caller asked for threads. */
static int offsets_follow_faults(const struct hmi_pageset *ps)
{
	return ps->threads <= 0 && (ps->kind == HMI_BACK_MEMFD || ps->kind == HMI_BACK_SINGLE_FILE);
}

/* The CPUs the calling thread may run on (taskset, cpuset cgroup): 0 when
 * they cannot be read (more than CPU_SETSIZE CPUs). */
static int cpus_allowed(cpu_set_t *set)
{
	CPU_ZERO(set);
	if (pthread_getaffinity_np(pthread_self(), sizeof(*set), set) != 0)
		return 0;
	return CPU_COUNT(set);
}

static size_t populate_threads(const struct hmi_pageset *ps, size_t count)
{
	cpu_set_t allowed;
	long cpus = cpus_allowed(&allowed);
	uint64_t want, by_size = (uint64_t)count * ps->page_size / THREAD_MIN_BYTES;

	if (cpus <= 0)
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	want = ps->threads > 0 ? (uint64_t)ps->threads : (uint64_t)(cpus > 0 ? cpus : 1);
	if (offsets_follow_faults(ps))
		return 1;
	if (ps->threads <= 0 && want > DEFAULT_THREADS)
		want = DEFAULT_THREADS;
	if (want > by_size)
		want = by_size;
	if (want > count)
		want = count;
	if (want > MAX_THREADS)
		want = MAX_THREADS;
	return want ? (size_t)want : 1;
}

int hmi_worker_cpu(const cpu_set_t *allowed, int caller_cpu, size_t nth)
{
	int n_allowed = CPU_COUNT(allowed), seen = -1, first;

	if (n_allowed == 0)
		return -1;
	first = caller_cpu >= 0 && caller_cpu < CPU_SETSIZE - 1 ? caller_cpu + 1 : 0;
	for (int i = 0; i < CPU_SETSIZE; i++) {
		int cpu = (first + i) % CPU_SETSIZE;

		if (CPU_ISSET(cpu, allowed) && (size_t)++seen == nth % (size_t)n_allowed)
			return cpu;
	}
	return -1;
}

/* Worker NTH's attributes: pinned to hmi_worker_cpu's CPU. Left to the
 * scheduler, a new worker often starts on the CPU of the thread that made it
 * and the two zero their pages one after the other: on a 2-CPU VM, 64 MiB
 * in two workers took 6.1 ms unpinned against 4.2 ms pinned (medians of 11,
 * docs/benchmarks.md). 0, or -1: no attributes. */
static int worker_attr(pthread_attr_t *attr, const cpu_set_t *allowed, int caller_cpu, size_t nth)
{
	int cpu = hmi_worker_cpu(allowed, caller_cpu, nth);
	cpu_set_t one;

	if (pthread_attr_init(attr) != 0)
		return -1;
	if (cpu < 0)
		return 0;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* refused (a CPU gone offline since): the worker starts unpinned */
	(void)pthread_attr_setaffinity_np(attr, sizeof(one), &one);
	return 0;
}

/* Split COUNT pages at BASE into NT chunks and fault them in. With one
 * chunk the caller faults it; with more, every chunk has its own worker on
 * its own CPU while the caller waits (a chunk whose worker cannot be
 * started runs in the caller). */
static void populate_run(struct populate_job *jobs, size_t nt, char *base, size_t count,
			 uint64_t page_size)
{
	pthread_t tids[MAX_THREADS];
	int started[MAX_THREADS] = {0}, caller_cpu;
	size_t i, first = 0;
	sigset_t all, old;
	cpu_set_t allowed;

	if (nt > 1)
		cpus_allowed(&allowed);
	caller_cpu = sched_getcpu();
	sigfillset(&all); /* the workers inherit it: the application's handler runs in its thread */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nt; i++) {
		size_t pages = count / nt + (i < count % nt);
		pthread_attr_t attr;
		int has_attr;

		jobs[i] = (struct populate_job){base + first * page_size, pages, page_size, 0, 0};
		first += pages;
		if (nt == 1)
			break;
		has_attr = worker_attr(&attr, &allowed, caller_cpu, i) == 0;
		started[i] = pthread_create(&tids[i], has_attr ? &attr : NULL, populate_worker,
					    &jobs[i]) == 0;
		if (has_attr)
			pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < nt; i++) {
		if (started[i])
			pthread_join(tids[i], NULL);
		else
			populate_worker(&jobs[i]);
	}
}

int hmi_populate(char *base, size_t count, uint64_t page_size, size_t threads, size_t *got)
{
	struct populate_job jobs[MAX_THREADS];
	size_t nt = threads == 0 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
	int err = 0;

	if (nt > count && count > 0)
		nt = count;
	populate_run(jobs, nt, base, count, page_size);
	*got = 0;
	for (size_t i = 0; i < nt; i++) {
		*got += jobs[i].done;
		if (!err)
			err = jobs[i].err;
	}
	return -err;
}

/* Fault in COUNT pages at BASE; BEFORE pages of the call's TOTAL are in
 * already (for the message of a short pool). */
static int populate(struct hm_ctx *ctx, const struct hmi_pageset *ps, int node, char *base,
		    size_t count, size_t before, size_t total)
{
	size_t got = 0;
	int err = -hmi_populate(base, count, ps->page_size, populate_threads(ps, count), &got);

	got += before;
	if (!err)
		return 0;
	if (err == EINVAL)
		return hmi_err(
		    ctx, ENOTSUP,
		    "kernel without MADV_POPULATE_WRITE (Linux 5.14+): hugemem does not "
		    "fault pages in by touching them, which dies of SIGBUS when the pool "
		    "is short");
	if (err == EFAULT || err == ENOMEM || err == EHWPOISON)
		return short_error(ctx, ps, node, got, total);
	return hmi_err(ctx, err, "faulting in %zu pages at %p failed: %s", count, (void *)base,
		       strerror(err));
}

/* Fault in COUNT pages at BASE in rounds of PROGRESS_ROUND bytes: after each
 * the progress callback hears of it and a pending hm_ctx_cancel stops the
 * call (threads are started again every round: a few tens of microseconds
 * against ~100 ms of zeroing). */
static int populate_all(struct hm_ctx *ctx, const struct hmi_pageset *ps, int node, char *base,
			size_t count)
{
	size_t per = (size_t)(PROGRESS_ROUND / ps->page_size), done = 0, n;
	int rc = 0;

	if (per == 0)
		per = 1;
	while (rc == 0 && done < count) {
		n = count - done < per ? count - done : per;
		rc = populate(ctx, ps, node, base + done * ps->page_size, n, done, count);
		done += n;
		if (rc == 0 && ctx->progress)
			ctx->progress(ctx->progress_arg, "map", done, count);
		if (rc == 0 && done < count)
			rc = hmi_cancel_check(ctx);
	}
	return rc;
}

/* The length of NODE's single file or memfd before this call (0: none yet),
 * what a failed call truncates it back to. */
static uint64_t node_object_size(const struct hmi_pageset *ps, int node)
{
	size_t i;

	for (i = 0; i < ps->n_backings; i++)
		if (ps->backings[i].node == node && ps->backings[i].fd >= 0)
			return ps->backings[i].size;
	return 0;
}

/* Map COUNT pages at BASE: the range hmi_pages_map reserved (IN_WINDOW 0:
 * unmapped on failure), or the caller's own inaccessible range (1: made
 * inaccessible again on failure, never a hole). */
static int map_at(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count, char *base,
		  int in_window)
{
	size_t old_backings = ps->n_backings;
	uint64_t old_next = ps->next_file, old_size = node_object_size(ps, node);
	uint64_t len = (uint64_t)count * ps->page_size;
	uint32_t grown = NO_BACKING;
	int rc = map_backing(ctx, ps, node, base, count, &grown);

	if (rc == 0)
		rc = hmi_range_bind(ctx, base, len, node);
	if (rc == 0)
		rc = populate_all(ctx, ps, node, base, count);
	if (rc < 0) {
		if (!in_window || mmap(base, len, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
				       0) == MAP_FAILED)
			munmap(base, len);
		hmi_backings_undo(ps, old_backings, old_next, grown, old_size);
		return rc;
	}
	ps->n += count;
	return 0;
}

/* The arguments of a map call, and room for COUNT more records. */
static int map_checks(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count)
{
	int rc = check_map_args(ctx, ps, node, count);

	return rc < 0 ? rc : pages_room(ctx, ps, count);
}

int hmi_pages_map(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count)
{
	char *base = NULL;
	int rc;

	if (count == 0)
		return 0;
	rc = map_checks(ctx, ps, node, count);
	if (rc == 0)
		rc = reserve_for_call(ctx, ps, (uint64_t)count * ps->page_size, &base);
	return rc < 0 ? rc : map_at(ctx, ps, node, count, base, 0);
}

int hmi_pages_map_in_window(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, size_t count,
			    uint64_t va)
{
	int rc;

	if (count == 0)
		return 0;
	if (va % ps->page_size)
		return hmi_err(ctx, EINVAL, "0x%" PRIx64 " is not aligned to the page size", va);
	rc = map_checks(ctx, ps, node, count);
	return rc < 0 ? rc : map_at(ctx, ps, node, count, (char *)(uintptr_t)va, 1);
}

int hmi_pages_add_adopted(struct hm_ctx *ctx, struct hmi_pageset *ps, uint32_t b, size_t count)
{
	int rc;

	if (b >= ps->n_backings || ps->backings[b].fd < 0 || count == 0)
		return hmi_err(ctx, EINVAL, "no adopted object %u to add %zu pages of", b, count);
	rc = pages_room(ctx, ps, count);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < count; i++)
		ps->pages[ps->n + i] = (struct hmi_page){
		    .node = ps->backings[b].node, .backing = b, .offset = i * ps->page_size};
	ps->n += count;
	return 0;
}

int hmi_window_reserve(struct hm_ctx *ctx, uint64_t base, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *want = (void *)(uintptr_t)base, *got;

	if (len == 0 || base % (uint64_t)page || len % (uint64_t)page || base + len < base)
		return hmi_err(ctx, EINVAL,
			       "VA window 0x%" PRIx64 " + %" PRIu64
			       " bytes is empty, not page-aligned or wraps",
			       base, len);
	got = mmap(want, len, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (got == MAP_FAILED && errno != EEXIST) {
		int err = errno;
		char hint[256];

		return hmi_err(
		    ctx, err, "cannot reserve VA window 0x%" PRIx64 "-0x%" PRIx64 ": %s%s", base,
		    base + len, strerror(err), as_limit_hint(err, len, hint, sizeof(hint)));
	}
	if (got != MAP_FAILED && got != want) /* a kernel before 4.17 took it as a hint */
		munmap(got, len);
	if (got != want)
		return hmi_err(ctx, EEXIST,
			       "VA window 0x%" PRIx64 "-0x%" PRIx64
			       " is taken: choose another with --base-virtaddr",
			       base, base + len);
	return 0;
}

/* A single file's or memfd's pages: one shared mapping of one object, which
 * never moves by mremap (see the top of this file). */
static int moves_by_mapping(const struct hmi_pageset *ps, size_t i)
{
	uint32_t b = ps->pages[i].backing;

	return ps->kind != HMI_BACK_ANON && b < ps->n_backings && ps->backings[b].fd >= 0;
}

/* Map pages I .. I+N-1 (one backing, consecutive VAs and offsets) at NEW_VA
 * from their backing object, then drop their old mapping. Page files come
 * here one page at a time, when mremap is refused (hugetlb before 5.16). */
static int move_by_mapping(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n,
			   uint64_t new_va)
{
	uint64_t len = n * ps->page_size;
	void *old = (void *)(uintptr_t)ps->pages[i].va, *now = (void *)(uintptr_t)new_va;
	int rc = hmi_backing_remap(ctx, ps, i, n, new_va);

	if (rc < 0)
		return rc;
	if (madvise(now, len, MADV_DONTFORK) < 0)
		return hmi_err(ctx, errno, "madvise(MADV_DONTFORK) at 0x%" PRIx64 ": %s", new_va,
			       strerror(errno));
	munmap(old, len);
	for (size_t k = 0; k < n; k++)
		ps->pages[i + k].va = new_va + k * ps->page_size;
	return 0;
}

/* Pages I.. that one mapping call can move: the same backing object, at
 * consecutive VAs and offsets. */
static size_t same_mapping(const struct hmi_pageset *ps, size_t i, size_t n)
{
	const struct hmi_page *p = &ps->pages[i];
	size_t k = 1;

	while (k < n && p[k].backing == p[0].backing && p[k].va == p[0].va + k * ps->page_size &&
	       p[k].offset == p[0].offset + k * ps->page_size)
		k++;
	return k;
}

/* Refuse a move to 0, to an unaligned address or onto the pages' own range. */
static int check_move(struct hm_ctx *ctx, const struct hmi_pageset *ps, size_t i, size_t n,
		      uint64_t new_va)
{
	uint64_t va = ps->pages[i].va, len = n * ps->page_size;

	if (new_va == 0 || new_va % ps->page_size || (new_va < va + len && va < new_va + len))
		return hmi_err(ctx, EINVAL,
			       "cannot move the page at 0x%" PRIx64 " to 0x%" PRIx64
			       ": not page-aligned or overlapping",
			       va, new_va);
	return 0;
}

/* Pages I.. (not mapped) that one call maps: one backing, consecutive offsets. */
static size_t same_object_run(const struct hmi_pageset *ps, size_t i, size_t n)
{
	const struct hmi_page *p = &ps->pages[i];
	size_t k = 1;

	while (k < n && p[k].va == 0 && p[k].backing == p[0].backing &&
	       p[k].offset == p[0].offset + k * ps->page_size)
		k++;
	return k;
}

/* Pages I .. I+N-1 added but not mapped yet (hmi_pages_add_adopted): map
 * them at NEW_VA, a call per run of their object, their first mapping. */
static int map_first(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n,
		     uint64_t new_va)
{
	int rc = 0;

	if (new_va == 0 || new_va % ps->page_size)
		return hmi_err(ctx, EINVAL, "cannot map pages at 0x%" PRIx64 ": not page-aligned",
			       new_va);
	for (size_t k = 0, m; rc == 0 && k < n; k += m) {
		m = same_object_run(ps, i + k, n - k);
		rc = hmi_backing_remap(ctx, ps, i + k, m, new_va + k * ps->page_size);
		for (size_t j = 0; rc == 0 && j < m; j++)
			ps->pages[i + k + j].va = new_va + (k + j) * ps->page_size;
	}
	return rc;
}

int hmi_pages_move(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n, uint64_t new_va)
{
	uint64_t len = n * ps->page_size, va = i < ps->n ? ps->pages[i].va : 0;
	int rc = 0;

	if (n > 0 && i + n <= ps->n && va == 0 && moves_by_mapping(ps, i))
		return map_first(ctx, ps, i, n, new_va);

	if (n > 1 && i + n <= ps->n && va && moves_by_mapping(ps, i)) {
		rc = check_move(ctx, ps, i, n, new_va);
		for (size_t k = 0, m; rc == 0 && k < n; k += m) {
			m = same_mapping(ps, i + k, n - k);
			rc = move_by_mapping(ctx, ps, i + k, m, new_va + k * ps->page_size);
		}
		return rc;
	}
	/* anonymous memory (--no-huge) is one mapping: one call for the stretch.
	 * Page files are one mapping a page, so theirs go page by page. */
	if (n > 1 && i + n <= ps->n && va && ps->kind == HMI_BACK_ANON &&
	    new_va % ps->page_size == 0 && (new_va >= va + len || va >= new_va + len) &&
	    mremap((void *)(uintptr_t)va, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (void *)(uintptr_t)new_va) != MAP_FAILED) {
		for (size_t k = 0; k < n; k++)
			ps->pages[i + k].va = new_va + k * ps->page_size;
		return 0;
	}
	for (size_t k = 0; rc == 0 && k < n; k++)
		rc = hmi_page_move(ctx, ps, i + k, new_va + k * ps->page_size);
	return rc;
}

int hmi_page_move(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, uint64_t new_va)
{
	uint64_t va, size = ps->page_size;
	void *got;
	int rc;

	if (i >= ps->n || ps->pages[i].va == 0)
		return hmi_err(ctx, EINVAL, "page %zu is not mapped (the set has %zu pages)", i,
			       ps->n);
	va = ps->pages[i].va;
	if (new_va == va)
		return 0;
	rc = check_move(ctx, ps, i, 1, new_va);
	if (rc < 0 || moves_by_mapping(ps, i))
		return rc < 0 ? rc : move_by_mapping(ctx, ps, i, 1, new_va);
	got = mremap((void *)(uintptr_t)va, size, size, MREMAP_MAYMOVE | MREMAP_FIXED,
		     (void *)(uintptr_t)new_va);
	if (got == MAP_FAILED && errno != EINVAL)
		return hmi_err(ctx, errno,
			       "cannot move the page at 0x%" PRIx64 " to 0x%" PRIx64 ": %s", va,
			       new_va, strerror(errno));
	if (got == MAP_FAILED)
		return move_by_mapping(ctx, ps, i, 1, new_va);
	ps->pages[i].va = new_va;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Is [VA, VA+LEN) inside the range the owner unmapped as a whole? */
static int unmapped_already(const struct hmi_pageset *ps, uint64_t va, uint64_t len)
{
	return va >= ps->unmapped_lo && va + len <= ps->unmapped_hi;
}

/* Unmap [VA, VA+LEN), or with RESERVE replace it by an inaccessible
 * reservation in one call (the range never becomes a hole another thread's
 * mmap could land in: how grown memory leaves its window, grow/); the first
 * failure goes to *FIRST. Nothing to do in the range the owner unmapped as a
 * whole: what lies there now is another mapping (another thread's mmap may
 * have landed since), not these pages. */
static void unmap_range(struct hm_ctx *ctx, const struct hmi_pageset *ps, uint64_t va, uint64_t len,
			int reserve, int *first)
{
	void *p = (void *)(uintptr_t)va;
	int ok;

	if (!reserve && unmapped_already(ps, va, len))
		return;
	ok = reserve
		 ? mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
			-1, 0) != MAP_FAILED
		 : munmap(p, len) == 0;

	if (ok && reserve) /* as the rest of the window: a forked child holds none of it */
		madvise(p, len, MADV_DONTFORK);
	if (ok || *first)
		return;
	*first = hmi_err(ctx, errno, "cannot unmap 0x%" PRIx64 "-0x%" PRIx64 ": %s", va, va + len,
			 strerror(errno));
}

/* Unmap the pages ORDER[0..count) in as few calls as their VAs allow: each
 * munmap flushes the TLB once, which on a VM is most of a page's release
 * (25 us a call here). Without memory for the sort, one call a page. */
static int unmap_pages(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order,
		       size_t count, int reserve)
{
	uint64_t *va = malloc((count + 1) * sizeof(*va)), size = ps->page_size, start;
	int first = 0;
	size_t k, run;

	for (k = 0; k < count; k++) {
		if (va)
			va[k] = ps->pages[order[k]].va;
		else
			unmap_range(ctx, ps, ps->pages[order[k]].va, size, reserve, &first);
		ps->pages[order[k]].va = 0;
	}
	if (!va)
		return first;
	qsort(va, count, sizeof(*va), cmp_u64);
	for (k = 0; k < count; k += run) {
		start = va[k];
		for (run = 1; k + run < count && va[k + run] == start + run * size; run++)
			;
		unmap_range(ctx, ps, start, run * size, reserve, &first);
	}
	free(va);
	return first;
}

/* Every index in range, mapped, and named once — checked before anything is
 * released, so a bad ORDER changes nothing. */
static int check_order(struct hm_ctx *ctx, const struct hmi_pageset *ps, const size_t *order,
		       size_t count)
{
	unsigned char *seen = calloc(ps->n ? ps->n : 1, 1);
	int rc = 0;
	size_t k;

	if (!seen)
		return hmi_err(ctx, ENOMEM, "out of memory checking a release order");
	for (k = 0; k < count && rc == 0; k++) {
		size_t i = order[k];

		if (i >= ps->n || ps->pages[i].va == 0 || seen[i])
			rc = hmi_err(ctx, EINVAL,
				     "release order entry %zu names page %zu: not a mapped page of "
				     "the set's %zu, or named twice",
				     k, i, ps->n);
		else
			seen[i] = 1;
	}
	free(seen);
	return rc;
}

static int release_pages(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order,
			 size_t count, int reserve)
{
	int rc = check_order(ctx, ps, order, count), first = 0;
	size_t k;

	if (rc < 0)
		return rc;
	/* every mapping first, then the objects in ORDER: a page goes back to
	 * the pool when the last of its mapping and its file (or file range) goes,
	 * so the drops alone decide the order the pool gets the pages in */
	first = unmap_pages(ctx, ps, order, count, reserve);
	for (k = 0; k < count; k++) {
		rc = hmi_backing_drop_page(ctx, ps, order[k]);
		if (rc < 0 && first == 0)
			first = rc;
	}
	return first;
}

int hmi_pages_release(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order, size_t count)
{
	return release_pages(ctx, ps, order, count, 0);
}

int hmi_pages_release_in_window(struct hm_ctx *ctx, struct hmi_pageset *ps, const size_t *order,
				size_t count)
{
	return release_pages(ctx, ps, order, count, 1);
}

void hmi_pageset_compact(struct hmi_pageset *ps)
{
	size_t i, kept = 0;

	for (i = 0; i < ps->n; i++)
		if (ps->pages[i].va != 0)
			ps->pages[kept++] = ps->pages[i];
	ps->n = kept;
}

/* Keep the first error's code and message while later steps go on. */
static void keep_first(struct hm_ctx *ctx, int rc, int *first, char *msg)
{
	if (rc < 0 && *first == 0) {
		*first = rc;
		memcpy(msg, hm_errmsg(ctx), HMI_ERR_MAX);
	}
}

int hmi_pageset_release(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	size_t *order = malloc((ps->n + 1) * sizeof(*order)), i, n = 0;
	char msg[HMI_ERR_MAX];
	int first = 0;

	for (i = 0; i < ps->n; i++)
		if (ps->pages[i].va != 0) {
			if (order)
				order[n++] = i;
			else
				keep_first(ctx, hmi_pages_release(ctx, ps, &i, 1), &first, msg);
		}
	if (order)
		keep_first(ctx, hmi_pages_release(ctx, ps, order, n), &first, msg);
	free(order);
	keep_first(ctx, hmi_backings_release(ctx, ps), &first, msg);
	hmi_pagemap_close(&ps->pagemap);
	free(ps->pages);
	ps->pages = NULL;
	ps->n = ps->cap = 0;
	ps->pa_missing = 0;
	ps->unmapped_lo = ps->unmapped_hi = 0;
	if (first < 0)
		hmi_err(ctx, -first, "%s", msg);
	return first;
}

void hmi_pageset_forget(struct hmi_pageset *ps)
{
	for (size_t i = 0; i < ps->n_backings; i++) {
		if (ps->backings[i].fd >= 0)
			close(ps->backings[i].fd);
		free(ps->backings[i].path);
	}
	free(ps->backings);
	hmi_pagemap_close(&ps->pagemap);
	free(ps->pages);
	memset(ps, 0, sizeof(*ps));
	hmi_pagemap_init(&ps->pagemap);
}
