/* SPDX-License-Identifier: MIT */
/*
 * pages_test.c — the pages layer without hugepages (runs anywhere, also
 * under ASan/UBSan): anonymous pages (--no-huge) mapped, bound, faulted in
 * over several threads, looked up, moved into a reserved window with their
 * contents, released in a given order and compacted; page files and single
 * files in a temporary directory of an ordinary file system (mapping them
 * works like hugetlbfs, only the pages are page cache), with their locks,
 * their names, the EEXIST of a name already taken and the complete rollback
 * of a failed call; a memfd asking for more hugepages than the pool holds;
 * the argument and window errors with their messages. Failures this kernel
 * never produces (no MADV_POPULATE_WRITE, a refused fault, hugetlb mremap
 * refused, mbind and move_pages refused, no CAP_SYS_ADMIN) are injected with
 * a seccomp filter or capset in a forked child, which reports through its
 * exit code.
 */
#include "base/ctx.h"
#include "pages/backing.h"
#include "base/platform.h"
#include "real.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG     4096ULL
#define FPS    (2ULL << 20) /* "page" size of the file kinds */
#define WINDOW (HM_DEFAULT_BASE_VA + 0x40000000ULL)

static char tmpdir[64];
static char prefix[HM_PREFIX_MAX];

/* Does any line of /proc/self/maps overlap [LO, HI)? */
static int maps_overlap(uint64_t lo, uint64_t hi)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a < hi && lo < b)
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

static int maps_lines(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n;
}

/* Mappings of memfds (/memfd:NAME in /proc/self/maps). Under ASan the count
 * of all mappings moves with the sanitizer's own mappings around threads, so
 * there only these are compared. */
#ifdef __SANITIZE_ADDRESS__
#define ASAN_BUILD 1
#else
#define ASAN_BUILD 0
#endif
static int memfd_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	if (f)
		fclose(f);
	return n;
}

/* The protection field of the mapping containing VA ("---p"), or "". */
static const char *maps_perm(uint64_t va)
{
	static char perm[8];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	perm[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char p[8];

		if (sscanf(line, "%llx-%llx %7s", &a, &b, p) == 3 && a <= va && va < b)
			snprintf(perm, sizeof(perm), "%s", p);
	}
	if (f)
		fclose(f);
	return perm;
}

/* VmFlags of the smaps entry containing VA include FLAG ("dc" = MADV_DONTFORK). */
static int vmflag(uint64_t va, const char *flag)
{
	char line[1024], want[8];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0, found = 0;

	snprintf(want, sizeof(want), " %s", flag);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a <= va && va < b;
		else if (in && strncmp(line, "VmFlags:", 8) == 0 && strstr(line, want))
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

static int mapped(uint64_t va, uint64_t len)
{
	unsigned char vec[1024];

	if (len / PG > sizeof(vec))
		len = sizeof(vec) * PG;
	return mincore((void *)(uintptr_t)va, len, vec) == 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int files_in_tmp(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static const char *tpath(const char *name)
{
	static char buf[2][256];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s%s", tmpdir, prefix, name);
	return buf[k];
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Someone else's LOCK_EX|LOCK_NB on PATH fails: a shared flock is held. */
static int flock_held(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), held;

	if (fd < 0)
		return 0;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static void stamp(struct hmi_pageset *ps, uint64_t tag)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		uint64_t *p = (uint64_t *)(uintptr_t)ps->pages[i].va;

		p[0] = tag + i;
		p[ps->page_size / 8 - 1] = ~(tag + i);
	}
}

static int stamp_ok(const struct hmi_page *pg, uint64_t page_size, uint64_t want)
{
	const uint64_t *p = (const uint64_t *)(uintptr_t)pg->va;

	return p[0] == want && p[page_size / 8 - 1] == ~want;
}

static uint64_t pagemap_raw(uint64_t va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	if (fd >= 0 && pread(fd, &e, 8, (off_t)(va / PG * 8)) != 8)
		e = 0;
	if (fd >= 0)
		close(fd);
	return e;
}

static int policy_of(uint64_t va, unsigned long *mask)
{
	int mode = -1;

	*mask = 0;
	if (syscall(SYS_get_mempolicy, &mode, mask, 65UL, (void *)(uintptr_t)va, MPOL_F_ADDR) < 0)
		return -errno;
	return mode;
}

static void test_args(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;

	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	is_int(ps.pagemap.fd, -1, "init: no pagemap descriptor yet");
	is_int(ps.n + ps.n_backings + ps.next_file, 0, "init: empty set");
	is_int(hmi_pages_map(ctx, &ps, -1, 0), 0, "map of 0 pages does nothing");
	ok(ps.pages == NULL, "...and allocates nothing");
	ps.page_size = 3000;
	is_int(hmi_pages_map(ctx, &ps, -1, 1), -EINVAL, "page size 3000 refused");
	like(hm_errmsg(ctx), "page size 3000", "...message names it");
	ps.page_size = PG;
	is_int(hmi_pages_map(ctx, &ps, HM_MAX_NODES, 1), -EINVAL, "node 64 refused");
	like(hm_errmsg(ctx), "node 64", "...message names it");
	is_int(hmi_pages_map(ctx, &ps, -2, 1), -EINVAL, "node -2 refused");
	is_int(hmi_pages_map(ctx, &ps, -1, SIZE_MAX / 2), -ENOMEM, "absurd count refused");
	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, NULL, "x");
	is_int(hmi_pages_map(ctx, &ps, -1, 1), -EINVAL, "page files without a directory refused");
	like(hm_errmsg(ctx), "directory", "...message says why");
	is_int(hmi_pageset_release(ctx, &ps), 0, "releasing an empty set is fine");
}

static void test_window(struct hm_ctx *ctx)
{
	uint64_t base = WINDOW + 0x20000000ULL, len = 16 * PG;

	is_int(hmi_window_reserve(ctx, base, len), 0, "window reserved");
	is_str(maps_perm(base), "---p", "...inaccessible");
	is_int(hmi_window_reserve(ctx, base + 4 * PG, len), -EEXIST, "overlapping window: EEXIST");
	like(hm_errmsg(ctx), "0x200060004000-0x200060014000", "...message names the range");
	like(hm_errmsg(ctx), "--base-virtaddr", "...and the fix");
	is_int(hmi_window_reserve(ctx, base + 1, len), -EINVAL, "unaligned window refused");
	is_int(hmi_window_reserve(ctx, base, 0), -EINVAL, "empty window refused");
	is_int(hmi_window_reserve(ctx, UINT64_MAX - PG + 1, 2 * PG), -EINVAL, "wrapping window");
	munmap((void *)(uintptr_t)base, len);
}

/* Map anon pages on no node and on node 0; check binding and DONTFORK. */
static void anon_map(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	unsigned long mask;
	size_t i, contiguous = 1;
	pid_t pid;
	int status = -1;

	is_int(hmi_pages_map(ctx, ps, -1, 64), 0, "anon: 64 pages on no node");
	is_int(hmi_pages_map(ctx, ps, 0, 64), 0, "anon: 64 pages on node 0");
	is_int(ps->n, 128, "anon: 128 pages in the set");
	for (i = 1; i < 64; i++)
		contiguous &= ps->pages[i].va == ps->pages[i - 1].va + PG;
	ok(contiguous, "anon: one call's pages are side by side");
	ok(ps->pages[0].va % PG == 0 && ps->pages[0].backing == UINT32_MAX,
	   "anon: aligned, no backing");
	ok(pagemap_raw(ps->pages[5].va) >> 63, "anon: faulted in (present in pagemap)");
	is_int(policy_of(ps->pages[70].va, &mask), MPOL_BIND, "anon node 0: MPOL_BIND");
	is_int(mask, 1, "...to node 0 alone");
	ok(policy_of(ps->pages[3].va, &mask) != MPOL_BIND, "anon no node: not bound");
	ok(vmflag(ps->pages[0].va, "dc") && vmflag(ps->pages[127].va, "dc"), "MADV_DONTFORK set");
	pid = fork();
	if (pid == 0)
		_exit(mapped(ps->pages[0].va, PG) ? 1 : 0);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child does not have the pages");
}

static void anon_lookup(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	size_t i, same = 0, node_ok = 0;

	is_int(hmi_pages_iova(ctx, ps, 0, 0), 0, "anon: iova lookup");
	for (i = 0; i < ps->n; i++)
		same += ps->pages[i].iova == ps->pages[i].va;
	is_int(same, ps->n, "anon: iova == va for every page");
	is_int(ps->pa_missing, 0, "anon: not a missing-PA case");
	for (i = 0; i < ps->n; i++)
		ps->pages[i].node = -7;
	is_int(hmi_pages_numa(ctx, ps, 0), 0, "anon: numa lookup");
	for (i = 0; i < ps->n; i++) {
		int node = -1;

		if (syscall(SYS_get_mempolicy, &node, NULL, 0UL, (void *)(uintptr_t)ps->pages[i].va,
			    MPOL_F_NODE | MPOL_F_ADDR) < 0)
			node = 0;
		node_ok += ps->pages[i].node == node;
	}
	is_int(node_ok, ps->n, "anon: every page's node agrees with get_mempolicy");
	is_int(ps->pages[100].node, 0, "anon: node 0 page on node 0");
	is_int(hmi_pages_numa(ctx, ps, ps->n + 1), -EINVAL, "numa: from past the end refused");
	is_int(hmi_pages_iova(ctx, ps, ps->n + 1, 0), -EINVAL, "iova: from past the end refused");
}

/* Move every page into a window, last page first; contents must follow. */
static void anon_move(struct hm_ctx *ctx, struct hmi_pageset *ps, uint64_t *old_lo,
		      uint64_t *old_hi)
{
	size_t i, n = ps->n, good = 0, moved = 0;

	*old_lo = ps->pages[0].va;
	*old_hi = ps->pages[63].va + PG;
	stamp(ps, 1000);
	is_int(hmi_window_reserve(ctx, WINDOW, (n + 1) * PG), 0, "anon: window for the move");
	for (i = 0; i < n; i++)
		moved += hmi_page_move(ctx, ps, n - 1 - i, WINDOW + i * PG) == 0;
	is_int(moved, n, "anon: every page moved");
	for (i = 0; i < n; i++)
		good += ps->pages[i].va == WINDOW + (n - 1 - i) * PG &&
			stamp_ok(&ps->pages[i], PG, 1000 + i);
	is_int(good, n, "anon: contents and VAs follow the move");
	ok(!maps_overlap(*old_lo, *old_hi), "anon: first mappings are gone");
	ok(vmflag(WINDOW, "dc"), "anon: DONTFORK travels with the page");
	is_int(hmi_page_move(ctx, ps, n, WINDOW + n * PG), -EINVAL, "move: bad index refused");
	is_int(hmi_page_move(ctx, ps, 0, WINDOW + n * PG + 1), -EINVAL, "move: unaligned refused");
	is_int(hmi_page_move(ctx, ps, 0, ps->pages[0].va), 0, "move: to itself is a no-op");
	is_int(hmi_page_move(ctx, ps, 0, 0), -EINVAL, "move: to 0 refused");
}

static void anon_release(struct hm_ctx *ctx, struct hmi_pageset *ps, uint64_t old_lo,
			 uint64_t old_hi)
{
	size_t bad[] = {3, 200}, dup[] = {3, 3}, order[] = {10, 2, 7, 127, 0};
	uint64_t va10 = ps->pages[10].va, va0 = ps->pages[0].va;
	size_t i, orig, good = 0;

	is_int(hmi_pages_release(ctx, ps, bad, 2), -EINVAL, "release: index past the end refused");
	like(hm_errmsg(ctx), "page 200", "...message names it");
	is_int(hmi_pages_release(ctx, ps, dup, 2), -EINVAL, "release: page named twice refused");
	ok(ps->pages[3].va != 0 && mapped(ps->pages[3].va, PG), "...and nothing was released");
	is_int(hmi_pages_release(ctx, ps, order, 5), 0, "release 5 pages in order");
	ok(ps->pages[10].va == 0 && ps->pages[127].va == 0 && ps->pages[0].va == 0,
	   "released: va 0");
	ok(!mapped(va10, PG) && !mapped(va0, PG), "released pages are unmapped");
	is_int(hmi_pages_release(ctx, ps, order, 1), -EINVAL, "releasing again refused");
	hmi_pageset_compact(ps);
	is_int(ps->n, 123, "compact drops them");
	for (i = 0, orig = 0; i < ps->n; i++, orig++) {
		while (orig == 0 || orig == 2 || orig == 7 || orig == 10 || orig == 127)
			orig++;
		good += stamp_ok(&ps->pages[i], PG, 1000 + orig);
	}
	is_int(good, 123, "compact keeps the order of the rest");
	is_int(hmi_pageset_release(ctx, ps), 0, "pageset release");
	ok(ps->n == 0 && ps->pages == NULL && ps->pagemap.fd == -1, "set emptied");
	ok(!maps_overlap(old_lo, old_hi), "no mapping left in the first range");
	ok(!maps_overlap(WINDOW, WINDOW + 128 * PG), "no page left in the window");
	munmap((void *)(uintptr_t)WINDOW, 129 * PG);
}

static void test_anon(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	uint64_t lo, hi;

	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	anon_map(ctx, &ps);
	anon_lookup(ctx, &ps);
	anon_move(ctx, &ps, &lo, &hi);
	anon_release(ctx, &ps, lo, hi);
}

/* The owner unmapped a range as a whole (the window, one munmap); another
 * thread's mmap then landed in it. Releasing the pages that lay there must
 * not unmap that mapping: their own unmaps are skipped inside the range. */
static void test_unmapped_range(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	size_t order[4] = {3, 1, 0, 2};
	uint64_t lo, hi;
	char *other;

	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	is_int(hmi_pages_map(ctx, &ps, -1, 4), 0, "unmapped range: 4 pages");
	lo = ps.pages[0].va;
	hi = ps.pages[3].va + PG;
	munmap((void *)(uintptr_t)lo, hi - lo);
	ps.unmapped_lo = lo;
	ps.unmapped_hi = hi;
	other = mmap((void *)(uintptr_t)ps.pages[1].va, PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ok(other == (char *)(uintptr_t)ps.pages[1].va, "unmapped range: another mapping there");
	is_int(hmi_pages_release(ctx, &ps, order, 2), 0, "unmapped range: two pages released");
	ok(other != MAP_FAILED && mapped((uint64_t)(uintptr_t)other, PG),
	   "...the other mapping is still there");
	is_int(hmi_pageset_release(ctx, &ps), 0, "unmapped range: the rest released");
	ok(other != MAP_FAILED && mapped((uint64_t)(uintptr_t)other, PG), "...still there");
	ok(ps.unmapped_lo == 0 && ps.unmapped_hi == 0, "...and the range forgotten");
	if (other != MAP_FAILED)
		munmap(other, PG);
}

/* Large anon "pages" fault in over 4 threads; every page is there. */
static void test_threads(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	size_t i, present = 0;

	hmi_pageset_init(&ps, HMI_BACK_ANON, FPS, NULL, NULL);
	ps.threads = 4;
	is_int(hmi_pages_map(ctx, &ps, 0, 64), 0, "threads: 64 pages of 2 MiB over 4 threads");
	for (i = 0; i < ps.n; i++)
		present += (pagemap_raw(ps.pages[i].va + FPS - PG) >> 63) & 1;
	is_int(present, 64, "threads: every chunk faulted in, to its last base page");
	ok(ps.pages[0].va % FPS == 0, "threads: range aligned to the page size");
	is_int(hmi_pageset_release(ctx, &ps), 0, "threads: released");
}

/* Workers are pinned one to a CPU of the caller's affinity, in CPU order,
 * wrapping round; none when the set is empty. */
static void test_worker_cpu(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	is_int(hmi_worker_cpu(&set, 0, 0), -1, "worker cpu: empty affinity: not pinned");
	CPU_SET(1, &set);
	CPU_SET(3, &set);
	CPU_SET(70, &set);
	is_int(hmi_worker_cpu(&set, -1, 0), 1, "worker cpu: worker 0 on the first allowed CPU");
	is_int(hmi_worker_cpu(&set, -1, 1), 3, "worker cpu: worker 1 on the second");
	is_int(hmi_worker_cpu(&set, -1, 2), 70, "worker cpu: worker 2 on the third (past 64)");
	is_int(hmi_worker_cpu(&set, -1, 3), 1, "worker cpu: worker 3 wraps round to the first");
	is_int(hmi_worker_cpu(&set, -1, 64), 3, "worker cpu: worker 64 = 64 mod 3 = the second");
	is_int(hmi_worker_cpu(&set, 1, 0), 3, "worker cpu: caller on 1: worker 0 on the next, 3");
	is_int(hmi_worker_cpu(&set, 1, 2), 1, "worker cpu: ...and the caller's CPU comes last");
	is_int(hmi_worker_cpu(&set, 70, 0), 1,
	       "worker cpu: caller on the last: wraps to the first");
	is_int(hmi_worker_cpu(&set, 2, 0), 3, "worker cpu: caller on a CPU not allowed: the next");
	is_int(hmi_worker_cpu(&set, CPU_SETSIZE - 1, 1), 3,
	       "worker cpu: caller on the set's last CPU: from the start");
}

/* A caller allowed on one CPU: the four workers share it and still fault
 * every page in; the caller's own affinity is left as it was. */
static void test_threads_one_cpu(struct hm_ctx *ctx)
{
	cpu_set_t was, one, after;
	struct hmi_pageset ps;
	size_t i, present = 0;

	sched_getaffinity(0, sizeof(was), &was);
	CPU_ZERO(&one);
	CPU_SET(hmi_worker_cpu(&was, -1, 0), &one);
	is_int(sched_setaffinity(0, sizeof(one), &one), 0, "one cpu: caller pinned to one CPU");
	hmi_pageset_init(&ps, HMI_BACK_ANON, FPS, NULL, NULL);
	ps.threads = 4;
	is_int(hmi_pages_map(ctx, &ps, 0, 64), 0, "one cpu: 64 pages over 4 workers");
	for (i = 0; i < ps.n; i++)
		present += (pagemap_raw(ps.pages[i].va + FPS - PG) >> 63) & 1;
	is_int(present, 64, "one cpu: every chunk faulted in");
	sched_getaffinity(0, sizeof(after), &after);
	ok(CPU_EQUAL(&after, &one), "one cpu: the caller's affinity is untouched");
	is_int(hmi_pageset_release(ctx, &ps), 0, "one cpu: released");
	sched_setaffinity(0, sizeof(was), &was);
}

/* Page files in a plain directory: names, locks, bounded descriptors. */
static void files_map(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	int fds = count_fds();
	struct stat st;

	is_int(hmi_pages_map(ctx, ps, 0, 4), 0, "page files: 4 pages");
	ok(exists(tpath("map_0")) && exists(tpath("map_3")), "page files map_0..map_3 exist");
	ok(!exists(tpath("map_4")), "...and no more");
	is_int(stat(tpath("map_2"), &st), 0, "page file stat");
	is_u64(st.st_size, FPS, "...sized to one page");
	ok(flock_held(tpath("map_0")) && flock_held(tpath("map_3")),
	   "shared flock kept after close");
	is_int(count_fds(), fds + 1, "no descriptor kept open but the mount's directory");
	is_int(ps->n_backings, 4, "one backing per page");
	is_str(ps->backings[1].path, tpath("map_1"), "backing records its path");
	ok(ps->pages[2].backing == 2 && ps->pages[2].offset == 0, "page -> its backing");
	ok(vmflag(ps->pages[1].va, "dc"), "page files: MADV_DONTFORK");
}

/* A name already taken fails the call, and the call leaves nothing. */
static void files_eexist(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	int fd = open(tpath("map_6"), O_CREAT | O_RDWR, 0600), lines = maps_lines();
	int nfiles = files_in_tmp();

	close(fd);
	stamp(ps, 77);
	is_int(hmi_pages_map(ctx, ps, 0, 4), -EEXIST, "taken page file name: EEXIST");
	like(hm_errmsg(ctx), tpath("map_6"), "...message names the file");
	like(hm_errmsg(ctx), "hugemem clear --file-prefix", "...and the fix");
	ok(!exists(tpath("map_4")) && !exists(tpath("map_5")), "the call's files are removed");
	is_int(files_in_tmp(), nfiles, "no file left behind");
	ok(ps->n == 4 && ps->n_backings == 4 && ps->next_file == 4, "the set is as before");
	is_int(maps_lines(), lines, "no mapping left behind");
	ok(stamp_ok(&ps->pages[3], FPS, 80) && flock_held(tpath("map_3")),
	   "earlier pages untouched");
	unlink(tpath("map_6"));
}

static void files_move_release(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	size_t order[] = {2, 0}, i, good = 0;
	uint64_t old1 = ps->pages[1].va;

	is_int(hmi_window_reserve(ctx, WINDOW, 5 * FPS), 0, "page files: window");
	for (i = 0; i < 4; i++)
		hmi_page_move(ctx, ps, i, WINDOW + i * FPS);
	for (i = 0; i < 4; i++)
		good += ps->pages[i].va == WINDOW + i * FPS && stamp_ok(&ps->pages[i], FPS, 77 + i);
	is_int(good, 4, "page files: moved with contents");
	ok(!mapped(old1, PG), "page files: old mapping gone");
	ok(flock_held(tpath("map_1")), "page files: lock survives the move");
	is_int(hmi_pages_release(ctx, ps, order, 2), 0, "page files: release 2 in order");
	ok(!exists(tpath("map_2")) && !exists(tpath("map_0")), "their files are unlinked");
	ok(exists(tpath("map_1")), "the others stay");
	is_int(hmi_pageset_release(ctx, ps), 0, "page files: set released");
	is_int(files_in_tmp(), 0, "page files: no file left");
	ok(!maps_overlap(WINDOW, WINDOW + 4 * FPS), "page files: no page left in the window");
	munmap((void *)(uintptr_t)WINDOW, 5 * FPS);
}

static void test_page_files(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;

	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	files_map(ctx, &ps);
	files_eexist(ctx, &ps);
	files_move_release(ctx, &ps);
}

/* --huge-unlink: the files are gone once mapped; the pages work. */
static void test_unlink_files(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;

	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	ps.unlink_files = 1;
	is_int(hmi_pages_map(ctx, &ps, -1, 3), 0, "unlink mode: 3 pages");
	is_int(files_in_tmp(), 0, "unlink mode: no file in the directory");
	ok(ps.backings[0].path == NULL, "unlink mode: no path kept");
	stamp(&ps, 5);
	ok(stamp_ok(&ps.pages[2], FPS, 7), "unlink mode: pages usable");
	is_int(hmi_backing_remap(ctx, &ps, 0, 1, WINDOW), -ENOTSUP, "unlink mode: cannot reopen");
	like(hm_errmsg(ctx), "--huge-unlink", "...message says why");
	is_int(hmi_pageset_release(ctx, &ps), 0, "unlink mode: released");
}

static void single_grow(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	int fds = count_fds();
	struct stat st;

	is_int(hmi_pages_map(ctx, ps, -1, 3), 0, "single file: 3 pages");
	is_int(hmi_pages_map(ctx, ps, -1, 2), 0, "single file: 2 more");
	is_int(ps->n_backings, 1, "single file: one backing for the node");
	is_int(stat(tpath("map_2M_any"), &st), 0, "single file named <prefix>map_2M_any");
	is_u64(st.st_size, 5 * FPS, "...grown to 5 pages");
	is_int(count_fds(), fds + 2, "single file: one descriptor kept (and the mount's)");
	ok(flock_held(tpath("map_2M_any")), "single file: shared flock");
	ok(ps->pages[3].backing == 0 && ps->pages[3].offset == 3 * FPS, "page 3 at offset 3 pages");
	stamp(ps, 300);
}

static void single_rollback(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	int fd = open(tpath("map_2M_0"), O_CREAT | O_RDWR, 0600), lines = maps_lines();
	struct stat st;

	close(fd);
	is_int(hmi_pages_map(ctx, ps, 0, 2), -EEXIST, "single file of node 0 taken: EEXIST");
	like(hm_errmsg(ctx), "map_2M_0 exists", "...message names it");
	ok(ps->n == 5 && ps->n_backings == 1, "single file: set as before");
	is_int(maps_lines(), lines, "single file: no mapping left behind");
	stat(tpath("map_2M_any"), &st);
	is_u64(st.st_size, 5 * FPS, "single file: untouched by the failure");
	unlink(tpath("map_2M_0"));
}

static void single_move_release(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	size_t order[] = {1};
	struct stat before, after;
	uint64_t old = ps->pages[4].va;

	is_int(hmi_window_reserve(ctx, WINDOW, 2 * FPS), 0, "single file: window");
	is_int(hmi_backing_remap(ctx, ps, 4, 1, WINDOW), 0, "single file: remap from backing");
	ok(stamp_ok(&(struct hmi_page){.va = WINDOW}, FPS, 304), "...shows the same file page");
	is_int(hmi_page_move(ctx, ps, 0, WINDOW + FPS), 0, "single file: move page 0");
	ok(stamp_ok(&ps->pages[0], FPS, 300), "...content follows");
	munmap((void *)(uintptr_t)old, FPS);
	ps->pages[4].va = WINDOW;
	stat(tpath("map_2M_any"), &before);
	is_int(hmi_pages_release(ctx, ps, order, 1), 0, "single file: release page 1");
	stat(tpath("map_2M_any"), &after);
	ok(after.st_blocks < before.st_blocks && after.st_size == before.st_size,
	   "single file: page punched out, length kept");
	is_int(hmi_pageset_release(ctx, ps), 0, "single file: set released");
	is_int(files_in_tmp(), 0, "single file: removed");
	munmap((void *)(uintptr_t)WINDOW, 2 * FPS);
}

static void test_single_file(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;

	hmi_pageset_init(&ps, HMI_BACK_SINGLE_FILE, FPS, tmpdir, prefix);
	single_grow(ctx, &ps);
	single_rollback(ctx, &ps);
	single_move_release(ctx, &ps);
}

/* Physical addresses of page cache pages, and a pagemap below a bad root. */
static void test_iova(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	uint64_t pfn = 0;
	int present;

	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	is_int(hmi_pages_map(ctx, &ps, -1, 2), 0, "iova: 2 file pages");
	is_int(hmi_pages_iova(ctx, &ps, 0, 0), 0, "iova: pagemap lookup");
	present = hm_pagemap_decode(pagemap_raw(ps.pages[1].va), &pfn);
	if (pfn) {
		is_u64(ps.pages[1].iova, pfn * PG, "iova = PFN * 4096 (as pagemap says)");
		is_int(ps.pa_missing, 0, "iova: PFNs visible");
	} else {
		is_u64(ps.pages[1].iova, ps.pages[1].va, "iova = va (PFNs hidden)");
		is_int(ps.pa_missing, present, "iova: pa_missing set");
	}
	ok(ps.pagemap.fd >= 0, "iova: pagemap descriptor kept");
	is_int(hmi_pages_iova(ctx, &ps, 0, 1), 0, "iova as va");
	is_u64(ps.pages[0].iova, ps.pages[0].va, "...gives iova = va");
	is_int(hmi_pageset_release(ctx, &ps), 0, "iova: released");
	hm_ctx_set_root(ctx, "/nonexistent-hm-root");
	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	is_int(hmi_pages_map(ctx, &ps, -1, 1), 0, "bad root: map");
	is_int(hmi_pages_iova(ctx, &ps, 0, 0), -ENOENT, "bad root: pagemap missing");
	like(hm_errmsg(ctx), "/nonexistent-hm-root/proc/self/pagemap", "...message names it");
	is_int(hmi_pageset_release(ctx, &ps), 0, "bad root: released");
	hm_ctx_set_root(ctx, "/");
}

/* A memfd asking for more hugepages than the pool can give: clean ENOMEM. */
static void test_memfd_short(struct hm_ctx *ctx)
{
	uint64_t want = real_counter_or("free_hugepages", 0) +
			real_counter_or("nr_overcommit_hugepages", 0) + 1;
	int lines = maps_lines(), memfds = memfd_maps(), fds = count_fds();
	struct hmi_pageset ps;

	hmi_pageset_init(&ps, HMI_BACK_MEMFD, FPS, NULL, prefix);
	is_int(hmi_pages_map(ctx, &ps, -1, (size_t)want), -ENOMEM,
	       "memfd: more than the pool: ENOMEM");
	like(hm_errmsg(ctx), "got 0 of", "...message says how many were got");
	like(hm_errmsg(ctx), "refused the rest", "...and who refused");
	ok(ps.n == 0 && ps.n_backings == 0, "memfd: set as before");
	ok((ASAN_BUILD || maps_lines() == lines) && memfd_maps() == memfds && count_fds() == fds,
	   "memfd: nothing left open or mapped");
	is_int(hmi_pageset_release(ctx, &ps), 0, "memfd: released");
}

/* ------------------------------------------------------------------ injected failures */

/* Low 32 bits of syscall argument I in struct seccomp_data. */
#define ARG_LO(i)                                                                                  \
	(offsetof(struct seccomp_data, args) + (i)*8 +                                             \
	 (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))

/* From now on, syscall NR fails with ERR when its argument ARG equals VAL. */
static int deny(long nr, int arg, uint32_t val, int err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)ARG_LO(arg)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, val, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (uint32_t)err),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short)HMI_ARRAY_SIZE(f), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -1 : 0;
}

#define SKIPPED 77

/* Run FN in a child; its exit code is the number of the first failed check. */
static int in_child(struct hm_ctx *ctx, int (*fn)(struct hm_ctx *))
{
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn(ctx));
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int check(int cond, int code, struct hm_ctx *ctx)
{
	if (!cond)
		printf("# child check %d failed; last message: %s\n", code, hm_errmsg(ctx));
	return cond ? 0 : code;
}

/* Kernel before 5.14: MADV_POPULATE_WRITE is EINVAL; refuse, never touch. */
static int child_no_populate(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	int lines = maps_lines(), rc, bad;

	if (deny(SYS_madvise, 2, MADV_POPULATE_WRITE, EINVAL) < 0)
		return SKIPPED;
	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	rc = hmi_pages_map(ctx, &ps, -1, 8);
	if ((bad = check(rc == -ENOTSUP, 1, ctx)) ||
	    (bad = check(strstr(hm_errmsg(ctx), "5.14") != NULL, 2, ctx)))
		return bad;
	return check(ps.n == 0 && maps_lines() == lines, 3, ctx);
}

/* A refused fault (EFAULT: short pool or cgroup) on the second call of a
 * single-file set: the file shrinks back, the first pages stay. */
static int child_fault_single(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	struct stat st;
	int lines, rc, bad;

	hmi_pageset_init(&ps, HMI_BACK_SINGLE_FILE, FPS, tmpdir, prefix);
	if (hmi_pages_map(ctx, &ps, -1, 2) < 0)
		return 1;
	stamp(&ps, 40);
	lines = maps_lines();
	if (deny(SYS_madvise, 2, MADV_POPULATE_WRITE, EFAULT) < 0)
		return SKIPPED;
	rc = hmi_pages_map(ctx, &ps, -1, 3);
	if ((bad = check(rc == -ENOMEM, 2, ctx)) ||
	    (bad = check(strstr(hm_errmsg(ctx), "got 0 of 3 pages of 2 MiB on any node") != NULL, 3,
			 ctx)))
		return bad;
	stat(tpath("map_2M_any"), &st);
	if ((bad = check(st.st_size == (off_t)(2 * FPS), 4, ctx)) ||
	    (bad = check(ps.n == 2 && ps.n_backings == 1 && maps_lines() == lines, 5, ctx)) ||
	    (bad = check(stamp_ok(&ps.pages[1], FPS, 41), 6, ctx)))
		return bad;
	hmi_pageset_release(ctx, &ps);
	return check(files_in_tmp() == 0, 7, ctx);
}

static int child_fault_files(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	int bad;

	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	if (hmi_pages_map(ctx, &ps, 0, 2) < 0)
		return 1;
	if (deny(SYS_madvise, 2, MADV_POPULATE_WRITE, EHWPOISON) < 0)
		return SKIPPED;
	if ((bad = check(hmi_pages_map(ctx, &ps, 0, 3) == -ENOMEM, 2, ctx)) ||
	    (bad = check(strstr(hm_errmsg(ctx), "on node 0: the pool or a hugetlb cgroup") != NULL,
			 3, ctx)) ||
	    (bad = check(files_in_tmp() == 2 && ps.next_file == 2 && ps.n_backings == 2, 4, ctx)))
		return bad;
	hmi_pageset_release(ctx, &ps);
	return check(files_in_tmp() == 0, 5, ctx);
}

/* hugetlb mremap refused (before 5.16): the page is mapped again from its
 * backing, with its content, lock and DONTFORK. */
static int move_fallback(struct hm_ctx *ctx, enum hmi_backing_kind kind)
{
	struct hmi_pageset ps;
	uint64_t old;
	int bad;

	hmi_pageset_init(&ps, kind, FPS, tmpdir, prefix);
	if (hmi_pages_map(ctx, &ps, -1, 2) < 0 || hmi_window_reserve(ctx, WINDOW, 2 * FPS) < 0)
		return 1;
	stamp(&ps, 60);
	old = ps.pages[1].va;
	if ((bad = check(hmi_page_move(ctx, &ps, 1, WINDOW) == 0, 2, ctx)) ||
	    (bad = check(ps.pages[1].va == WINDOW && stamp_ok(&ps.pages[1], FPS, 61), 3, ctx)) ||
	    (bad = check(!mapped(old, PG) && vmflag(WINDOW, "dc"), 4, ctx)) ||
	    (bad = check(pagemap_raw(WINDOW) >> 63, 5, ctx)))
		return bad;
	if (kind == HMI_BACK_PAGE_FILES && (bad = check(flock_held(tpath("map_1")), 6, ctx)))
		return bad;
	hmi_pageset_release(ctx, &ps);
	munmap((void *)(uintptr_t)WINDOW, 2 * FPS);
	return check(files_in_tmp() == 0, 7, ctx);
}

static int child_no_mremap(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	int bad;

	if (deny(SYS_mremap, 3, MREMAP_MAYMOVE | MREMAP_FIXED, EINVAL) < 0)
		return SKIPPED;
	if ((bad = move_fallback(ctx, HMI_BACK_PAGE_FILES)) ||
	    (bad = move_fallback(ctx, HMI_BACK_SINGLE_FILE) ? 10 + bad : 0))
		return bad;
	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	if (hmi_pages_map(ctx, &ps, -1, 1) < 0)
		return 20;
	if ((bad = check(hmi_page_move(ctx, &ps, 0, WINDOW) == -ENOTSUP, 21, ctx)) ||
	    (bad = check(strstr(hm_errmsg(ctx), "no backing object") != NULL, 22, ctx)))
		return bad;
	return check(hmi_pageset_release(ctx, &ps) == 0, 23, ctx);
}

static int child_no_mbind(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	int lines = maps_lines(), bad;

	if (deny(SYS_mbind, 2, MPOL_BIND, EPERM) < 0)
		return SKIPPED;
	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	if ((bad = check(hmi_pages_map(ctx, &ps, 0, 4) == -EPERM, 1, ctx)) ||
	    (bad = check(strstr(hm_errmsg(ctx), "seccomp") != NULL, 2, ctx)) ||
	    (bad = check(ps.n == 0 && maps_lines() == lines, 3, ctx)))
		return bad;
	return check(hmi_pages_map(ctx, &ps, -1, 4) == 0 && hmi_pageset_release(ctx, &ps) == 0, 4,
		     ctx);
}

/* move_pages refused: every page's node from get_mempolicy (or 0 when that
 * is missing too). */
static int child_no_move_pages(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	size_t i, zero = 0;
	int bad;

	if (deny(SYS_move_pages, 3, 0, EPERM) < 0)
		return SKIPPED;
	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	if (hmi_pages_map(ctx, &ps, 0, 16) < 0)
		return 1;
	for (i = 0; i < ps.n; i++)
		ps.pages[i].node = -1;
	if ((bad = check(hmi_pages_numa(ctx, &ps, 0) == 0, 2, ctx)))
		return bad;
	for (i = 0; i < ps.n; i++)
		zero += ps.pages[i].node == 0;
	return check(zero == 16 && hmi_pageset_release(ctx, &ps) == 0, 3, ctx);
}

static int child_no_numa(struct hm_ctx *ctx)
{
	struct hmi_pageset ps;
	size_t i, zero = 0;

	if (deny(SYS_move_pages, 3, 0, ENOSYS) < 0 || deny(SYS_mbind, 2, MPOL_BIND, ENOSYS) < 0)
		return SKIPPED;
	hmi_pageset_init(&ps, HMI_BACK_ANON, PG, NULL, NULL);
	if (check(hmi_pages_map(ctx, &ps, 0, 4) == 0, 1, ctx))
		return 1;
	if (check(hmi_pages_map(ctx, &ps, 1, 4) == -ENOSYS, 2, ctx))
		return 2;
	for (i = 0; i < ps.n; i++)
		ps.pages[i].node = -1;
	if (check(hmi_pages_numa(ctx, &ps, 0) == 0, 3, ctx))
		return 3;
	for (i = 0; i < ps.n; i++)
		zero += ps.pages[i].node == 0;
	return check(zero == 4 && hmi_pageset_release(ctx, &ps) == 0, 4, ctx);
}

/* Without CAP_SYS_ADMIN pagemap hides PFNs: IOVA = VA for the whole set.
 * (The kernel checks the capability of whoever opened pagemap.) */
static int child_no_cap(struct hm_ctx *ctx)
{
	struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct caps[2];
	struct hmi_pageset ps;
	int bad;

	if (syscall(SYS_capget, &head, caps) < 0)
		return SKIPPED;
	caps[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	if (syscall(SYS_capset, &head, caps) < 0)
		return SKIPPED;
	hmi_pageset_init(&ps, HMI_BACK_PAGE_FILES, FPS, tmpdir, prefix);
	if (hmi_pages_map(ctx, &ps, -1, 2) < 0)
		return 1;
	if ((bad = check(hmi_pages_iova(ctx, &ps, 0, 0) == 0, 2, ctx)) ||
	    (bad = check(ps.pa_missing == 1, 3, ctx)) ||
	    (bad = check(ps.pages[0].iova == ps.pages[0].va && ps.pages[1].iova == ps.pages[1].va,
			 4, ctx)))
		return bad;
	return check(hmi_pageset_release(ctx, &ps) == 0 && files_in_tmp() == 0, 5, ctx);
}

static void test_injected(struct hm_ctx *ctx)
{
	static const struct {
		int (*fn)(struct hm_ctx *);
		const char *what;
	} cases[] = {
	    {child_no_populate, "no MADV_POPULATE_WRITE: ENOTSUP, nothing mapped"},
	    {child_fault_single, "refused fault, single file: ENOMEM, file shrunk back"},
	    {child_fault_files, "refused fault, page files: ENOMEM, the call's files gone"},
	    {child_no_mremap, "mremap refused: moved from the backing (files), ENOTSUP (anon)"},
	    {child_no_mbind, "mbind refused: EPERM naming seccomp, nothing mapped"},
	    {child_no_move_pages, "move_pages refused: nodes from get_mempolicy"},
	    {child_no_numa, "kernel without NUMA: node 0 works, node 1 refused, nodes 0"},
	    {child_no_cap, "no CAP_SYS_ADMIN: pa_missing, iova = va for every page"},
	};
	size_t i;

	for (i = 0; i < HMI_ARRAY_SIZE(cases); i++) {
		/* valgrind emulates the system calls a seccomp filter would see */
		int code = getenv("HM_VALGRIND") ? SKIPPED : in_child(ctx, cases[i].fn);

		if (code == SKIPPED && getenv("HM_VALGRIND"))
			ok(1, "%s # SKIP seccomp injection under valgrind", cases[i].what);
		else if (code == SKIPPED)
			ok(1, "%s # SKIP seccomp unavailable", cases[i].what);
		else
			is_int(code, 0, "%s", cases[i].what);
	}
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hmpages.XXXXXX");
	snprintf(prefix, sizeof(prefix), "hmt%d", (int)getpid());
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_args(ctx);
	test_window(ctx);
	test_anon(ctx);
	test_unmapped_range(ctx);
	test_threads(ctx);
	test_worker_cpu();
	test_threads_one_cpu(ctx);
	test_page_files(ctx);
	test_unlink_files(ctx);
	test_single_file(ctx);
	test_iova(ctx);
	test_memfd_short(ctx);
	test_injected(ctx);
	rmdir(tmpdir);
	hm_ctx_free(ctx);
	return done();
}
