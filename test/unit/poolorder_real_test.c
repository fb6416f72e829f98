/* SPDX-License-Identifier: MIT */
/*
 * poolorder_real_test.c — hm_pool_order on the real 2 MiB pool (root, the
 * machine-wide lock, at least 64 free pages; pool counters snapshot and
 * compared at the end).
 *
 * 1. Scramble the free list: map every free page, give them back in a seeded
 *    random order, so the next mapper would get scattered pages.
 * 2. Read the pool map (kpageflags) before ordering: the runs it expects.
 * 3. Order the pool: every free page put in order, its runs counted as the
 *    pool map says (equal when the map is exact).
 * 4. Map as many pages as the longest run: they come one ascending run
 *    (PFN[i+1] == PFN[i] + 512) — the order took. Once more on node 0 (the
 *    mbind path).
 * 5. Error paths, each followed by a check that the pool counts are back:
 *    no root (a child as nobody), a pool that claims more free pages than
 *    exist, pagemap that says the pages are not there (after mapping them),
 *    pagemap too short, a hugetlb cgroup cap, an empty pool, bad arguments.
 *    The middle ones use a fake sysfs/procfs tree (ctx root) in front of the
 *    real mmap.
 * Also prints how long hm_pool_order takes for this pool (median of 3).
 */
#include "base/ctx.h"
#include "base/platform.h"
#include "real.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB2	 (2ULL << 20)
#define NEED	 64
#define FX_POOL	 "sys/kernel/mm/hugepages/hugepages-2048kB/"
#define FX_NODE0 "sys/devices/system/node/node0/hugepages/hugepages-2048kB/"

static void counts_back(const struct real_counts *before, const char *after_what)
{
	ok(real_counts_same_now(before), "%s: pool counts as before", after_what);
}

/* COUNT anonymous 2 MiB pages, faulted in without touching them; NULL when
 * the pool refuses. */
static char *map_pages(size_t count)
{
	char *p = mmap(NULL, count * MB2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, count * MB2, MADV_POPULATE_WRITE) < 0) {
		munmap(p, count * MB2);
		return NULL;
	}
	return p;
}

/* The frame numbers of COUNT pages at BASE; 0 on success. */
static int read_pfns(const char *base, size_t count, uint64_t *pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		uint64_t entry = 0;
		off_t at = (off_t)((uintptr_t)(base + i * MB2) / 4096 * 8);

		if (pread(fd, &entry, 8, at) != 8 || !hm_pagemap_decode(entry, &pfn[i]))
			rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Map every free page, give them back in a random order. */
static int scramble(size_t count)
{
	size_t *idx = malloc(count * sizeof(*idx));
	char *base = idx ? map_pages(count) : NULL;

	if (!base) {
		free(idx);
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		idx[i] = i;
	for (size_t i = count; i > 1; i--) {
		size_t j = rng() % i, t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
	for (size_t i = 0; i < count; i++)
		munmap(base + idx[i] * MB2, MB2);
	free(idx);
	return 0;
}

/* Pieces (ascending PFN runs) in the next COUNT pages the kernel hands out. */
static long next_pieces(size_t count, uint64_t *first_pfn)
{
	uint64_t *pfn = calloc(count, sizeof(*pfn));
	char *base = pfn ? map_pages(count) : NULL;
	long pieces = -1;

	if (base && read_pfns(base, count, pfn) == 0) {
		pieces = 1;
		for (size_t i = 1; i < count; i++)
			pieces += pfn[i] != pfn[i - 1] + 512;
		*first_pfn = pfn[0];
	}
	if (base)
		munmap(base, count * MB2);
	free(pfn);
	return pieces;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The pool map before ordering: its largest run and run count over all
 * nodes; -1 when it cannot be read. */
static int map_before(struct hm_ctx *ctx, uint64_t *largest, uint64_t *runs, int *exact)
{
	struct hm_sysinfo *si = NULL;
	struct hm_poolmap *map = NULL;
	int rc = hm_sysinfo_read(ctx, NULL, &si);

	if (rc == 0)
		rc = hm_poolmap_read(ctx, si, MB2, &map);
	*largest = *runs = 0;
	*exact = 0;
	if (rc == 0) {
		for (int i = 0; i < map->n_nodes; i++) {
			if (map->nodes[i].largest > *largest)
				*largest = map->nodes[i].largest;
			*runs += map->nodes[i].n_runs;
		}
		*exact = map->exact;
	}
	hm_poolmap_free(map);
	hm_sysinfo_free(si);
	return rc;
}

static void test_order(struct hm_ctx *ctx, const struct real_counts *before, uint64_t page_size)
{
	uint64_t free_pages = before->free - before->resv, largest, runs, first = 0;
	struct hm_order_result res = {0};
	int exact, rc;
	long pieces;

	ok(scramble(free_pages) == 0, "scrambled the free list (%llu pages, seeded order)",
	   (unsigned long long)free_pages);
	pieces = next_pieces(NEED / 2, &first);
	diag("after scrambling, the next %d pages handed out form %ld pieces", NEED / 2, pieces);
	rc = map_before(ctx, &largest, &runs, &exact);
	if (rc < 0)
		diag("no pool map (%s)", hm_errmsg(ctx));
	is_int(hm_pool_order(ctx, page_size, -1, &res), 0, "hm_pool_order: 0");
	is_u64(res.pages, free_pages, "every free page put in order");
	ok(res.longest >= 1 && res.runs >= 1 && res.runs <= res.pages,
	   "runs %llu, longest %llu: within bounds", (unsigned long long)res.runs,
	   (unsigned long long)res.longest);
	if (rc == 0 && exact) {
		is_u64(res.longest, largest, "longest run as the (exact) pool map saw it");
		is_u64(res.runs, runs, "runs as the (exact) pool map saw them");
	} else {
		ok(rc < 0 || largest >= res.longest, "longest run within the pool map's bound");
		ok(rc < 0 || runs >= 1, "the pool map saw runs (not exact: no equality)");
	}
	pieces = next_pieces(res.longest, &first);
	is_int(pieces, 1, "the next %llu pages handed out: one ascending run",
	       (unsigned long long)res.longest);
}

static void test_node0(struct hm_ctx *ctx, uint64_t page_size, uint64_t free_pages)
{
	struct hm_order_result res = {0};
	uint64_t first = 0, node_free = UINT64_MAX;
	FILE *f =
	    fopen("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (!f || fscanf(f, "%" SCNu64, &node_free) != 1)
		diag("no node 0 counters: expecting every free page");
	if (f)
		fclose(f);
	is_int(hm_pool_order(ctx, page_size, 0, &res), 0, "node 0: 0");
	is_u64(res.pages, node_free < free_pages ? node_free : free_pages,
	       "node 0: every free page of node 0");
	is_int(next_pieces(res.longest, &first), 1,
	       "node 0: the longest run comes first, ascending");
}

static void test_timing(struct hm_ctx *ctx, uint64_t page_size, uint64_t free_pages)
{
	struct hm_order_result res;
	double ms[3], t;
	int bad = 0;

	for (int i = 0; i < 3; i++) {
		t = now_ms();
		bad |= hm_pool_order(ctx, page_size, -1, &res) != 0;
		ms[i] = now_ms() - t;
	}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2 - i; j++)
			if (ms[j] > ms[j + 1]) {
				t = ms[j];
				ms[j] = ms[j + 1];
				ms[j + 1] = t;
			}
	ok(!bad, "three more orderings succeed");
	diag("hm_pool_order of %llu free 2 MiB pages: median %.1f ms (%.1f .. %.1f)",
	     (unsigned long long)free_pages, ms[1], ms[0], ms[2]);
}

/* As user nobody, in a child: 0 when hm_pool_order fails -EPERM saying it
 * needs root. DUMPABLE 1 lets the child open its own pagemap (as a process
 * that never was root can), which then hides the frame numbers; DUMPABLE 0
 * leaves pagemap owned by root, as after any change of credentials. */
static int no_root_child(struct hm_ctx *ctx, int dumpable)
{
	struct hm_order_result res;
	int rc;

	if (setgid(65534) < 0 || setuid(65534) < 0 || prctl(PR_SET_DUMPABLE, dumpable) < 0)
		return 3;
	rc = hm_pool_order(ctx, 0, -1, &res);
	if (rc != -EPERM || !strstr(hm_errmsg(ctx), "needs root") || res.pages != 0 ||
	    !strstr(hm_errmsg(ctx), dumpable ? "/proc/self/pagemap)" : "may not open")) {
		diag("  as nobody: %d, '%s'", rc, hm_errmsg(ctx));
		return 1;
	}
	return 0;
}

static void test_no_root(struct hm_ctx *ctx, const struct real_counts *before)
{
	for (int dumpable = 1; dumpable >= 0; dumpable--) {
		int status = -1;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int rc = no_root_child(ctx, dumpable);

			fflush(stdout);
			_exit(rc);
		}
		if (pid > 0)
			waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "as nobody, pagemap %s: -EPERM, 'needs root' (child status %d)",
		   dumpable ? "hiding frame numbers" : "closed", status);
	}
	counts_back(before, "no root");
}

/* ------------------------------------------------------------ fake tree */

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256], *p;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* A one-node 2 MiB pool that claims FREE free pages. */
static void fake_pool(uint64_t free_pages)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)free_pages);
	put("proc/meminfo", "MemTotal:  16318480 kB\nHugepagesize:       2048 kB\n");
	put("proc/self/cgroup", "0::/\n");
	put("proc/self/mountinfo", "1 0 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n");
	put(FX_POOL "nr_hugepages", "100000\n");
	put(FX_POOL "free_hugepages", num);
	put(FX_POOL "resv_hugepages", "0\n");
	put(FX_POOL "surplus_hugepages", "0\n");
	put(FX_POOL "nr_overcommit_hugepages", "0\n");
	put(FX_NODE0 "nr_hugepages", "100000\n");
	put(FX_NODE0 "free_hugepages", num);
	put(FX_NODE0 "surplus_hugepages", "0\n");
	put("sys/devices/system/node/online", "0\n");
	put("sys/devices/system/node/possible", "0\n");
	put("sys/devices/system/node/has_memory", "0\n");
}

/* FREE free pages, and a cgroup v2 hugetlb limit of 2 pages (4 MiB). */
static void fake_cgroup(uint64_t free_pages)
{
	fake_pool(free_pages);
	put("proc/self/cgroup", "0::/job\n");
	put("proc/self/mountinfo", "1 0 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
				   "30 1 0:27 / /sys/fs/cgroup rw,relatime shared:9 - cgroup2 "
				   "cgroup2 rw\n");
	put("sys/fs/cgroup/cgroup.controllers", "memory hugetlb\n");
	put("sys/fs/cgroup/cgroup.subtree_control", "hugetlb\n");
	put("sys/fs/cgroup/job/hugetlb.2MB.max", "4194304\n");
	put("sys/fs/cgroup/job/hugetlb.2MB.current", "0\n");
	put("sys/fs/cgroup/job/hugetlb.2MB.rsvd.max", "max\n");
	put("sys/fs/cgroup/job/hugetlb.2MB.rsvd.current", "0\n");
}

/* /proc/self/pagemap of the fake tree: LEN bytes of holes (zero entries:
 * "not present"). */
static void fake_pagemap(off_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/proc/self/pagemap", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (ftruncate(fd, len) < 0)
			diag("ftruncate %s: %s", path, strerror(errno));
		close(fd);
	}
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void test_fake(struct hm_ctx *ctx, const struct real_counts *before)
{
	struct hm_order_result res = {7, 7, 7};
	/* more than the pool could give even with surplus pages */
	uint64_t too_many = before->free + real_counter("nr_overcommit_hugepages") + 8;

	hm_ctx_set_root(ctx, root);
	fake_pool(too_many);
	fake_pagemap(1LL << 39);
	is_int(hm_pool_order(ctx, 0, -1, &res), -ENOMEM,
	       "more free pages claimed than exist: -ENOMEM");
	like(hm_errmsg(ctx), "were free", "... the message says how many were free");
	like(hm_errmsg(ctx), "mmap failed", "... and what failed");
	ok(res.pages == 0 && res.runs == 0 && res.longest == 0, "... res zeroed");
	counts_back(before, "pool short");

	fake_pool(4);
	is_int(hm_pool_order(ctx, 0, -1, &res), -EIO, "pagemap says 'not present': -EIO");
	like(hm_errmsg(ctx), "not in memory", "... the message says so");
	counts_back(before, "4 pages mapped, then the pagemap failure");

	fake_pagemap(0);
	is_int(hm_pool_order(ctx, 0, -1, &res), -EIO, "empty pagemap: -EIO");
	like(hm_errmsg(ctx), "ends before", "... the message names the short file");
	counts_back(before, "short pagemap");

	fake_cgroup(4);
	is_int(hm_pool_order(ctx, 0, -1, &res), -ENOMEM, "cgroup cap below the free pool: -ENOMEM");
	like(hm_errmsg(ctx), "hugetlb cgroup /job lets this process fault in only 2 more",
	     "... the message names the cgroup and its room");
	counts_back(before, "cgroup cap");

	fake_pool(0);
	res = (struct hm_order_result){7, 7, 7};
	is_int(hm_pool_order(ctx, 0, -1, &res), 0, "no free page: 0");
	ok(res.pages == 0 && res.runs == 0 && res.longest == 0, "no free page: res zeroed");
	hm_ctx_set_root(ctx, "/");
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_args(struct hm_ctx *ctx, const struct real_counts *before)
{
	struct hm_order_result res;

	is_int(hm_pool_order(ctx, 0, -1, NULL), -EINVAL, "res NULL: -EINVAL");
	is_int(hm_pool_order(ctx, 0, -2, &res), -EINVAL, "node -2: -EINVAL");
	is_int(hm_pool_order(ctx, 0, HM_MAX_NODES, &res), -EINVAL, "node %d: -EINVAL",
	       HM_MAX_NODES);
	like(hm_errmsg(ctx), "out of range", "... out of range");
	is_int(hm_pool_order(ctx, 0, HM_MAX_NODES - 1, &res), -EINVAL, "node %d: -EINVAL",
	       HM_MAX_NODES - 1);
	like(hm_errmsg(ctx), "does not exist", "... the node does not exist");
	is_int(hm_pool_order(ctx, 3 * MB2 / 2, -1, &res), -EINVAL, "3 MiB pages: -EINVAL");
	like(hm_errmsg(ctx), "no 3 MiB hugepage pool", "... no such pool");
	counts_back(before, "bad arguments");
}

/* 2 MiB if that is the default size, else pass it explicitly. */
static uint64_t order_size(struct hm_ctx *ctx)
{
	struct hm_sysinfo *si = NULL;
	uint64_t size = MB2;

	if (hm_sysinfo_read(ctx, NULL, &si) == 0 && si->default_page_size == MB2)
		size = 0;
	hm_sysinfo_free(si);
	return size;
}

static int populate_works(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int works = p != MAP_FAILED && madvise(p, 4096, MADV_POPULATE_WRITE) == 0;

	if (p != MAP_FAILED)
		munmap(p, 4096);
	return works;
}

int main(void)
{
	const char *why = real_require(NEED, NULL, 0);
	struct real_counts before;
	struct hm_ctx *ctx;
	uint64_t size;

	if (why)
		return plan_skip_all(why);
	if (!populate_works())
		return plan_skip_all("no MADV_POPULATE_WRITE (Linux 5.14+)");
	real_snapshot(&before);
	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("out of memory");
	snprintf(root, sizeof(root), "/tmp/hmtest%d_XXXXXX", (int)getpid());
	if (!mkdtemp(root))
		return plan_skip_all("cannot make a directory under /tmp");
	size = order_size(ctx);
	diag("pool nr %llu free %llu resv %llu", (unsigned long long)before.nr,
	     (unsigned long long)before.free, (unsigned long long)before.resv);
	test_order(ctx, &before, size);
	test_node0(ctx, size, before.free - before.resv);
	test_timing(ctx, size, before.free - before.resv);
	counts_back(&before, "ordering");
	test_no_root(ctx, &before);
	test_fake(ctx, &before);
	test_args(ctx, &before);
	hm_ctx_free(ctx);
	real_unlock();
	return done();
}
