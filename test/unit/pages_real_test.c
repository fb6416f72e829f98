/* SPDX-License-Identifier: MIT */
/*
 * pages_real_test.c — the pages layer on real 2 MiB hugepages (root, a free
 * pool of at least 64 pages and a writable 2 MiB hugetlbfs mount; skipped
 * otherwise, failing under HM_REQUIRE_HUGEPAGES=1). Holds the machine-wide
 * test lock throughout and compares the pool counters with a snapshot.
 *
 * For page files, a single file and a memfd: 32 pages on node 0 take exactly
 * 32 from the pool; their IOVAs match an independent read of pagemap; their
 * node is 0; moved into a window in IOVA order they keep contents and IOVAs;
 * mapped again from the backing (the mremap fallback) they are the same
 * physical page; released half in a chosen order, the pool gets exactly those
 * back and hands the last one released out first; the set's release leaves
 * the pool as it was and no file. Then: --huge-unlink; 256 page files under
 * RLIMIT_NOFILE 64; more pages than are free (-ENOMEM, nothing left); a
 * hugetlb cgroup capped at 8 pages (a child asks for 16: -ENOMEM with a
 * message, no SIGBUS); fault-in time for 256 pages over 1, 2 and 4 threads.
 */
#include "base/ctx.h"
#include "pages/backing.h"
#include "base/platform.h"
#include "real.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PS     (2ULL << 20)
#define WINDOW (HM_DEFAULT_BASE_VA + 0x100000000ULL)
#define N      32

static char mnt[HM_PATH_MAX];
static char prefix[HM_PREFIX_MAX];
static const char *const kind_name[] = {"page files", "single file", "memfd", "anon"};

static int prefix_files(void)
{
	DIR *d = opendir(mnt);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static uint64_t pa_of(uint64_t va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0, pfn = 0;

	if (fd >= 0 && pread(fd, &e, 8, (off_t)(va / 4096 * 8)) == 8)
		hm_pagemap_decode(e, &pfn);
	if (fd >= 0)
		close(fd);
	return pfn * 4096;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void stamp(struct hmi_pageset *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		uint64_t *p = (uint64_t *)(uintptr_t)ps->pages[i].va;

		p[0] = ps->pages[i].iova;
		p[PS / 8 - 1] = ~ps->pages[i].iova;
	}
}

static int stamp_ok(uint64_t va, uint64_t iova)
{
	const uint64_t *p = (const uint64_t *)(uintptr_t)va;

	return p[0] == iova && p[PS / 8 - 1] == ~iova;
}

/* Indices of PS's pages in ascending IOVA order into IDX. */
static void by_iova(const struct hmi_pageset *ps, size_t *idx)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++)
		idx[i] = i;
	for (i = 1; i < ps->n; i++)
		for (j = i; j > 0 && ps->pages[idx[j]].iova < ps->pages[idx[j - 1]].iova; j--) {
			size_t t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
}

static void kind_lookup(struct hm_ctx *ctx, struct hmi_pageset *ps, const char *k)
{
	size_t i, agree = 0, aligned = 0, node0 = 0, distinct = 1;
	size_t idx[N];

	int mode = -1;
	unsigned long mask = 0;

	syscall(SYS_get_mempolicy, &mode, &mask, 65UL, (void *)(uintptr_t)ps->pages[N - 1].va,
		MPOL_F_ADDR);
	ok(mode == MPOL_BIND && mask == 1, "%s: bound to node 0 (mbind)", k);
	is_int(hmi_pages_iova(ctx, ps, 0, 0), 0, "%s: iova lookup", k);
	is_int(ps->pa_missing, 0, "%s: physical addresses visible (root)", k);
	for (i = 0; i < ps->n; i++) {
		agree += ps->pages[i].iova == pa_of(ps->pages[i].va) && ps->pages[i].iova != 0;
		aligned += ps->pages[i].iova % PS == 0;
	}
	is_int(agree, N, "%s: every iova matches an independent pagemap read", k);
	is_int(aligned, N, "%s: every iova is 2 MiB aligned", k);
	by_iova(ps, idx);
	for (i = 1; i < N; i++)
		distinct &= ps->pages[idx[i]].iova != ps->pages[idx[i - 1]].iova;
	ok(distinct, "%s: iovas distinct", k);
	is_int(hmi_pages_numa(ctx, ps, 0), 0, "%s: numa lookup", k);
	for (i = 0; i < ps->n; i++)
		node0 += ps->pages[i].node == 0;
	is_int(node0, N, "%s: every page on node 0", k);
}

/* Move all pages into the window in IOVA order; check them there. */
static void kind_move(struct hm_ctx *ctx, struct hmi_pageset *ps, const char *k)
{
	size_t idx[N], i, moved = 0, kept = 0, ascending = 1;
	uint64_t spare = WINDOW + N * PS;

	stamp(ps);
	by_iova(ps, idx);
	is_int(hmi_window_reserve(ctx, WINDOW, (N + 1) * PS), 0, "%s: window reserved", k);
	for (i = 0; i < N; i++)
		moved += hmi_page_move(ctx, ps, idx[i], WINDOW + i * PS) == 0;
	is_int(moved, N, "%s: every page moved", k);
	for (i = 0; i < N; i++) {
		const struct hmi_page *p = &ps->pages[idx[i]];

		kept +=
		    p->va == WINDOW + i * PS && stamp_ok(p->va, p->iova) && pa_of(p->va) == p->iova;
		ascending &= i == 0 || pa_of(WINDOW + i * PS) > pa_of(WINDOW + (i - 1) * PS);
	}
	is_int(kept, N, "%s: contents and iovas survive the move", k);
	ok(ascending, "%s: window ascends in physical address", k);
	is_int(hmi_backing_remap(ctx, ps, idx[3], 1, spare), 0, "%s: remap from the backing", k);
	is_u64(pa_of(spare), ps->pages[idx[3]].iova, "%s: ...the same physical page", k);
	ok(stamp_ok(spare, ps->pages[idx[3]].iova), "%s: ...with its content", k);
	munmap((void *)(uintptr_t)spare, PS);
}

/* Release every other page (in IOVA order), highest first; the pool hands
 * the last one released out first (LIFO). */
static void kind_release(struct hm_ctx *ctx, struct hmi_pageset *ps, const char *k,
			 const struct real_counts *before)
{
	size_t idx[N], order[N / 2], i;
	struct hmi_pageset one;
	uint64_t last;

	by_iova(ps, idx);
	for (i = 0; i < N / 2; i++)
		order[i] = idx[N - 2 - 2 * i];
	last = ps->pages[order[N / 2 - 1]].iova;
	is_int(hmi_pages_release(ctx, ps, order, N / 2), 0, "%s: release half in order", k);
	is_u64(real_counter("free_hugepages"), before->free - N / 2, "%s: free rose by 16", k);
	hmi_pageset_compact(ps);
	is_int(ps->n, N / 2, "%s: 16 pages left after compact", k);
	hmi_pageset_init(&one, HMI_BACK_MEMFD, PS, NULL, prefix);
	if (hmi_pages_map(ctx, &one, 0, 1) == 0 && hmi_pages_iova(ctx, &one, 0, 0) == 0)
		is_u64(one.pages[0].iova, last, "%s: next page handed out = last released", k);
	else
		ok(0, "%s: one more page: %s", k, hm_errmsg(ctx));
	hmi_pageset_release(ctx, &one);
}

static void run_kind(struct hm_ctx *ctx, enum hmi_backing_kind kind)
{
	const char *k = kind_name[kind];
	struct real_counts before;
	struct hmi_pageset ps;

	real_snapshot(&before);
	hmi_pageset_init(&ps, kind, PS, mnt, prefix);
	is_int(hmi_pages_map(ctx, &ps, 0, N), 0, "%s: %d pages on node 0", k, N);
	if (ps.n != N) {
		diag("%s", hm_errmsg(ctx));
		hmi_pageset_release(ctx, &ps);
		return;
	}
	is_u64(real_counter("free_hugepages"), before.free - N, "%s: pool free dropped by %d", k,
	       N);
	is_u64(real_counter("resv_hugepages"), before.resv, "%s: no reservation left outstanding",
	       k);
	kind_lookup(ctx, &ps, k);
	kind_move(ctx, &ps, k);
	kind_release(ctx, &ps, k, &before);
	is_int(hmi_pageset_release(ctx, &ps), 0, "%s: set released", k);
	ok(real_counts_same_now(&before), "%s: pool counters as before", k);
	is_int(prefix_files(), 0, "%s: no file of the prefix left", k);
	munmap((void *)(uintptr_t)WINDOW, (N + 1) * PS);
}

static void run_unlink(struct hm_ctx *ctx)
{
	struct real_counts before;
	struct hmi_pageset ps;

	real_snapshot(&before);
	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, PS, mnt, prefix);
	ps.unlink_files = 1;
	is_int(hmi_pages_map(ctx, &ps, 0, 4), 0, "huge-unlink: 4 pages");
	is_int(prefix_files(), 0, "huge-unlink: no file in the mount");
	is_u64(real_counter("free_hugepages"), before.free - 4, "huge-unlink: the pages are held");
	is_int(hmi_pageset_release(ctx, &ps), 0, "huge-unlink: released");
	ok(real_counts_same_now(&before), "huge-unlink: pool as before");
}

static void run_nofile(struct hm_ctx *ctx)
{
	struct rlimit old, low;
	struct real_counts before;
	struct hmi_pageset ps;

	real_snapshot(&before);
	if (before.free < 256 + 8) {
		ok(1, "nofile # SKIP only %" PRIu64 " pages free", before.free);
		return;
	}
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &low);
	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, PS, mnt, prefix);
	is_int(hmi_pages_map(ctx, &ps, 0, 256), 0, "256 page files under RLIMIT_NOFILE 64");
	setrlimit(RLIMIT_NOFILE, &old);
	is_int(prefix_files(), 256, "...256 files");
	is_int(hmi_pageset_release(ctx, &ps), 0, "...released");
	ok(real_counts_same_now(&before), "...pool as before");
}

static void run_too_many(struct hm_ctx *ctx, enum hmi_backing_kind kind)
{
	struct real_counts before;
	struct hmi_pageset ps;
	char want[64];

	real_snapshot(&before);
	hmi_pageset_init(&ps, kind, PS, mnt, prefix);
	is_int(hmi_pages_map(ctx, &ps, 0, (size_t)before.free + 1), -ENOMEM,
	       "%s: free + 1 pages: ENOMEM", kind_name[kind]);
	snprintf(want, sizeof(want), "of %" PRIu64 " pages of 2 MiB on node 0", before.free + 1);
	like(hm_errmsg(ctx), want, "%s: ...message says how many", kind_name[kind]);
	like(hm_errmsg(ctx), "refused the rest", "%s: ...and who refused", kind_name[kind]);
	ok(ps.n == 0 && ps.n_backings == 0 && prefix_files() == 0, "%s: nothing left",
	   kind_name[kind]);
	ok(real_counts_same_now(&before), "%s: pool as before", kind_name[kind]);
	hmi_pageset_release(ctx, &ps);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* This process's cgroup v2 directory: mount point + path from /proc/self/cgroup. */
static int cgroup2_dir(char *buf, size_t len)
{
	char line[4096], mp[1024] = "", own[1000] = "";
	FILE *f = fopen("/proc/self/mountinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - cgroup2 ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1)
			break;
		mp[0] = '\0';
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0)
			sscanf(line + 3, "%999s", own);
	if (f)
		fclose(f);
	if (!mp[0] || !own[0])
		return -ENOENT;
	real_unescape(mp);
	snprintf(buf, len, "%s%s", mp, strcmp(own, "/") ? own : "");
	return 0;
}

/* The child: join the capped cgroup, ask for 16 pages of each kind. */
static int capped_child(const char *cg, const char *mount)
{
	static const enum hmi_backing_kind kinds[] = {HMI_BACK_PAGE_FILES, HMI_BACK_SINGLE_FILE,
						      HMI_BACK_MEMFD};
	char path[HM_PATH_MAX + 64];
	struct hm_ctx *ctx;
	size_t i;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if (write_text(path, "0") < 0 || hm_ctx_new(&ctx) < 0)
		return 90;
	for (i = 0; i < HMI_ARRAY_SIZE(kinds); i++) {
		struct hmi_pageset ps;
		int rc;

		hmi_pageset_init(&ps, kinds[i], PS, mount, prefix);
		rc = hmi_pages_map(ctx, &ps, 0, 16);
		printf("# capped %s: %d %s\n", kind_name[kinds[i]], rc, hm_errmsg(ctx));
		fflush(stdout);
		if (rc != -ENOMEM)
			return 10 + (int)i;
		if (!strstr(hm_errmsg(ctx), "got 8 of 16 pages") ||
		    !strstr(hm_errmsg(ctx), "cgroup"))
			return 20 + (int)i;
		if (ps.n != 0 || ps.n_backings != 0 || prefix_files() != 0)
			return 30 + (int)i;
		hmi_pageset_release(ctx, &ps);
	}
	hm_ctx_free(ctx);
	return 0;
}

static int cgroup_setup(char *cg, size_t len, int *enabled)
{
	char base[2048], path[HM_PATH_MAX + 64], text[4096] = "";
	FILE *f;

	if (cgroup2_dir(base, sizeof(base)) < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
	f = fopen(path, "r");
	if (f && !fgets(text, sizeof(text), f))
		text[0] = '\0';
	if (f)
		fclose(f);
	*enabled = 0;
	if (!strstr(text, "hugetlb")) {
		if (write_text(path, "+hugetlb") < 0)
			return -EPERM;
		*enabled = 1;
	}
	snprintf(cg, len, "%s/hmtest%d", base, (int)getpid());
	if (mkdir(cg, 0755) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/hugetlb.2MB.max", cg);
	return write_text(path, "16777216"); /* 8 pages */
}

static void cgroup_teardown(const char *cg, int enabled)
{
	char path[HM_PATH_MAX + 64];

	rmdir(cg);
	if (enabled) {
		snprintf(path, sizeof(path), "%s", cg);
		*strrchr(path, '/') = '\0';
		strcat(path, "/cgroup.subtree_control");
		write_text(path, "-hugetlb");
	}
}

static void run_cgroup(void)
{
	char cg[HM_PATH_MAX];
	struct real_counts before;
	int enabled = 0, status = -1, rc;
	pid_t pid;

	real_snapshot(&before);
	rc = cgroup_setup(cg, sizeof(cg), &enabled);
	if (rc < 0) {
		ok(1, "cgroup cap # SKIP no usable cgroup v2 hugetlb controller (%s)",
		   strerror(-rc));
		if (rc != -ENOENT && rc != -EPERM)
			cgroup_teardown(cg, enabled);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(capped_child(cg, mnt));
	waitpid(pid, &status, 0);
	ok(!WIFSIGNALED(status), "cgroup cap: the child was not killed by a signal (%d)",
	   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "cgroup cap: 16 pages of each kind -> ENOMEM 'got 8 of 16', nothing left");
	ok(real_counts_same_now(&before), "cgroup cap: pool whole afterwards");
	cgroup_teardown(cg, enabled);
	ok(access(cg, F_OK) < 0, "cgroup cap: cgroup removed");
}

static void run_threads(struct hm_ctx *ctx)
{
	static const int counts[] = {1, 2, 4};
	struct real_counts before;
	size_t i;

	real_snapshot(&before);
	if (before.free < 256) {
		ok(1, "threads # SKIP only %" PRIu64 " pages free", before.free);
		return;
	}
	for (i = 0; i < HMI_ARRAY_SIZE(counts); i++) {
		struct hmi_pageset ps;
		double t0, t1;
		int rc;

		hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, PS, mnt, prefix);
		ps.threads = counts[i];
		t0 = now_ms();
		rc = hmi_pages_map(ctx, &ps, 0, 256);
		t1 = now_ms();
		is_int(rc, 0, "256 pages over %d thread(s)", counts[i]);
		diag("fault-in of 256 x 2 MiB page files, %d thread(s): %.1f ms", counts[i],
		     t1 - t0);
		hmi_pageset_release(ctx, &ps);
	}
	ok(real_counts_same_now(&before), "threads: pool as before");
}

int main(void)
{
	const char *why = real_require_room(64, 300, mnt, sizeof(mnt));
	struct hm_ctx *ctx;
	struct real_counts start;

	if (why)
		return plan_skip_all(why);
	real_snapshot(&start);
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	snprintf(prefix, sizeof(prefix), "hmt%d", (int)getpid());
	diag("mount %s, %" PRIu64 " pages free, prefix %s", mnt, start.free, prefix);
	run_kind(ctx, HMI_BACK_PAGE_FILES);
	run_kind(ctx, HMI_BACK_SINGLE_FILE);
	run_kind(ctx, HMI_BACK_MEMFD);
	run_unlink(ctx);
	run_nofile(ctx);
	run_too_many(ctx, HMI_BACK_PAGE_FILES);
	run_too_many(ctx, HMI_BACK_SINGLE_FILE);
	run_too_many(ctx, HMI_BACK_MEMFD);
	run_cgroup();
	run_threads(ctx);
	ok(real_counts_same_now(&start), "pool counters equal the snapshot at the start");
	is_int(prefix_files(), 0, "no file of the prefix left in %s", mnt);
	hm_ctx_free(ctx);
	return done();
}
