/* SPDX-License-Identifier: MIT */
/*
 * clear_real_test.c — hm_files_scan and hm_clear on a real 2 MiB hugetlbfs
 * mount with real hugepages (root only; skipped otherwise, and failing under
 * HM_REQUIRE_HUGEPAGES=1).
 *
 * Under the machine-wide test lock: page files "hmtest<pid>map_0..3" (and
 * "hmtest<pid>bmap_0" of another prefix) are created and faulted in; a child
 * holds map_0 and map_1 the way hugemem and DPDK do (flock LOCK_SH, mmap,
 * close the descriptor). hm_clear of the prefix must keep those two and free
 * the other two pages; after SIGKILL of the child it removes the rest, and the
 * other prefix only when asked. The pool counters must end where they began
 * and no file may be left.
 *
 * Only proved files are removed (issue 14, item 7): the first prefix's files
 * are proved the way a primary proves its own (their inodes in the prefix's
 * record, hugedir/record.c), the second prefix's as DPDK's (its DPDK runtime
 * directory /var/run/dpdk/<prefix> exists); "hmtest<pid>cmap_0", a file of
 * another program with a page-file-like name, and "hmtest<pid>dmap_0", named
 * in a record by a line whose inode is another file's, are left.
 */
#include "base/ctx.h"
#include "hugedir/hugedir.h"
#include "base/platform.h"
#include "real.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS (2ULL << 20)
#define N  4

static char mnt[HM_PATH_MAX];
static char prefix[HM_PREFIX_MAX], prefix_b[HM_PREFIX_MAX], prefix_c[HM_PREFIX_MAX];
static char prefix_d[HM_PREFIX_MAX], rundir[64], dpdk_dir[HM_PATH_MAX];
static pid_t holder;

static char *fpath(const char *pfx, int i)
{
	static char buf[2][HM_PATH_MAX + 2 * HM_PREFIX_MAX];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%smap_%d", mnt, pfx, i);
	return buf[k];
}

static int make_page_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	char *p;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)PS) < 0) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	p[0] = 1; /* fault the page in: the file now holds it */
	munmap(p, PS);
	return 0;
}

/* A child that holds files 0 and 1 as hugemem does, then waits. */
static pid_t spawn_holder(void)
{
	int pp[2];
	char c = 'E';
	pid_t pid;

	if (pipe(pp) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		close(pp[0]);
		for (int i = 0; i < 2; i++) {
			int fd = open(fpath(prefix, i), O_RDWR | O_CLOEXEC);
			void *m;

			if (fd < 0 || flock(fd, LOCK_SH) < 0) {
				bad = 1;
				continue;
			}
			m = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			bad |= m == MAP_FAILED;
			close(fd); /* the mapping keeps the file, and so the flock */
		}
		c = bad ? 'E' : 'R';
		if (write(pp[1], &c, 1) != 1 || bad)
			_exit(1);
		for (;;)
			pause();
	}
	close(pp[1]);
	if (pid < 0 || read(pp[0], &c, 1) != 1 || c != 'R') {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	close(pp[0]);
	return pid;
}

static void stop_holder(void)
{
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		holder = 0;
	}
}

/* The record PFX's primary would have written: the inodes of its files
 * (WRONG: a line naming file 0 with another file's inode). */
static int write_record(struct hm_ctx *ctx, const char *pfx, int n, int wrong)
{
	char dir[HM_PATH_MAX];
	struct stat st;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", rundir, pfx);
	mkdir(rundir, 0700);
	mkdir(dir, 0700);
	if (hmi_record_open(ctx, dir, &fd) < 0)
		return -1;
	for (int i = 0; i < n && rc == 0; i++) {
		rc = stat(fpath(wrong ? prefix : pfx, i + wrong), &st);
		if (rc == 0)
			rc = hmi_record_add(ctx, fd, (uint64_t)st.st_dev,
					    (uint64_t)st.st_ino + wrong,
					    strrchr(fpath(pfx, i), '/') + 1);
	}
	close(fd);
	return rc;
}

static void remove_record(const char *pfx)
{
	char dir[HM_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", rundir, pfx);
	hmi_record_remove(dir);
	rmdir(dir);
}

static const struct hm_page_file *find(const struct hm_file_list *l, const char *path)
{
	for (int i = 0; l && i < l->n; i++)
		if (strcmp(l->files[i].path, path) == 0)
			return &l->files[i];
	return NULL;
}

static void test_scan(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	struct hm_file_list *l = NULL;
	const struct hm_page_file *f;
	int n = hm_files_scan(ctx, si, prefix, &l);

	is_int(n, N, "scan: the %d files of %s", N, prefix);
	for (int i = 0; i < N; i++) {
		f = find(l, fpath(prefix, i));
		ok(f != NULL, "scan: %s listed", fpath(prefix, i));
		if (!f)
			continue;
		is_int(f->state, i < 2 ? HM_FILE_LOCKED : HM_FILE_STALE, "scan: map_%d state", i);
		is_int(f->pid, i < 2 ? holder : 0, "scan: map_%d holder", i);
		is_u64(f->bytes, PS, "scan: map_%d holds one 2 MiB page", i);
		is_int(f->owner, HM_OWNER_HUGEMEM, "scan: map_%d proved hugemem's by the record",
		       i);
	}
	hm_file_list_free(l);
	hm_files_scan(ctx, si, NULL, &l);
	f = find(l, fpath(prefix_b, 0));
	ok(f && f->owner == HM_OWNER_DPDK, "scan: %s proved DPDK's by %s", fpath(prefix_b, 0),
	   dpdk_dir);
	f = find(l, fpath(prefix_c, 0));
	ok(f && f->owner == HM_OWNER_UNKNOWN, "scan: %s not proved (no record, no DPDK)",
	   fpath(prefix_c, 0));
	f = find(l, fpath(prefix_d, 0));
	ok(f && f->owner == HM_OWNER_UNKNOWN,
	   "scan: %s not proved (its record names another inode)", fpath(prefix_d, 0));
	hm_file_list_free(l);
}

/* Files no record or DPDK directory proves are never removed. */
static void test_unproved(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	struct hm_file_list *l = NULL;

	is_int(hm_clear(ctx, si, prefix_c, 0, &l), 0,
	       "clear: another program's file: none removed");
	hm_file_list_free(l);
	is_int(hm_clear(ctx, si, prefix_d, 0, &l), 0, "clear: a record of another inode: none");
	hm_file_list_free(l);
}

static void test_clear_all_leaves(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	struct hm_file_list *l = NULL;

	is_int(hm_clear(ctx, si, NULL, 0, &l) >= 0, 1, "clear of every prefix runs");
	hm_file_list_free(l);
	ok(access(fpath(prefix_c, 0), F_OK) == 0, "clear: %s left", fpath(prefix_c, 0));
	ok(access(fpath(prefix_d, 0), F_OK) == 0, "clear: %s left", fpath(prefix_d, 0));
}

static void test_resolve(struct hm_ctx *ctx, struct hm_sysinfo *si, const struct real_counts *c)
{
	uint64_t bsize = 0, blocks = 0, bavail = 0;

	hmi_statfs_hugetlbfs(mnt, &bsize, &blocks, &bavail);
	si->n_pools = 1;
	si->pools[0].page_size = PS;
	si->pools[0].nr = c->nr;
	si->pools[0].free = real_counter("free_hugepages");
	si->pools[0].cgroup.max = si->pools[0].cgroup.rsvd_max = UINT64_MAX;
	is_int(hmi_hugedir_resolve(ctx, si, mnt), 0, "resolve: --huge-dir %s passes statfs", mnt);
	is_int(si->pools[0].mount, 0, "resolve: it serves 2 MiB");
	is_int(si->mounts[0].writable, 1, "resolve: writable as root");
	is_u64(si->mounts[0].room, blocks ? bavail * bsize : UINT64_MAX,
	       "resolve: room from statfs");
}

static void run(struct hm_ctx *ctx, const struct real_counts *before)
{
	struct hm_mount m = {.path = mnt, .page_size = PS, .room = UINT64_MAX};
	struct hm_sysinfo si = {.n_mounts = 1, .mounts = &m};
	struct hm_file_list *l = NULL;
	int n, made = 0;

	for (int i = 0; i < N; i++)
		made += make_page_file(fpath(prefix, i)) == 0;
	made += make_page_file(fpath(prefix_b, 0)) == 0;
	made += make_page_file(fpath(prefix_c, 0)) == 0;
	made += make_page_file(fpath(prefix_d, 0)) == 0;
	is_int(made, N + 3, "created and faulted %d page files", N + 3);
	is_u64(real_counter("free_hugepages"), before->free - (N + 3), "they hold %d pages", N + 3);
	ok(write_record(ctx, prefix, N, 0) == 0 && write_record(ctx, prefix_d, 1, 1) == 0,
	   "records of %s (its inodes) and %s (another inode)", prefix, prefix_d);
	ok(mkdir("/var/run/dpdk", 0700) == 0 || errno == EEXIST, "/var/run/dpdk exists");
	ok(mkdir(dpdk_dir, 0700) == 0, "DPDK's runtime directory %s", dpdk_dir);
	holder = spawn_holder();
	ok(holder > 0, "a child holds map_0 and map_1 (flock + mmap, fd closed)");
	test_scan(ctx, &si);
	test_resolve(ctx, &si, before);

	n = hm_clear(ctx, &si, prefix, 0, &l);
	is_int(n, 2, "clear: the two stale files");
	ok(access(fpath(prefix, 0), F_OK) == 0 && access(fpath(prefix, 1), F_OK) == 0,
	   "clear: held files kept");
	ok(access(fpath(prefix, 2), F_OK) < 0 && access(fpath(prefix, 3), F_OK) < 0,
	   "clear: stale files removed");
	ok(access(fpath(prefix_b, 0), F_OK) == 0, "clear: other prefix untouched");
	is_u64(real_counter("free_hugepages"), before->free - 5,
	       "clear: two pages back in the pool");
	test_unproved(ctx, &si);
	hm_file_list_free(l);

	stop_holder();
	n = hm_clear(ctx, &si, prefix, 0, &l);
	is_int(n, 2, "clear after SIGKILL: the two files the child held");
	ok(access(fpath(prefix, 0), F_OK) < 0 && access(fpath(prefix, 1), F_OK) < 0,
	   "clear after SIGKILL: removed");
	hm_file_list_free(l);
	n = hm_clear(ctx, &si, prefix_b, 1, &l);
	is_int(n, 1, "dry run of the other prefix: one file");
	ok(access(fpath(prefix_b, 0), F_OK) == 0, "dry run: kept");
	hm_file_list_free(l);
	n = hm_clear(ctx, &si, prefix_b, 0, &l);
	is_int(n, 1, "clear of the other prefix: removed");
	hm_file_list_free(l);
	test_clear_all_leaves(ctx, &si);
}

static void cleanup(void)
{
	stop_holder();
	for (int i = 0; i < N; i++)
		unlink(fpath(prefix, i));
	unlink(fpath(prefix_b, 0));
	unlink(fpath(prefix_c, 0));
	unlink(fpath(prefix_d, 0));
	remove_record(prefix);
	remove_record(prefix_d);
	rmdir(rundir);
	rmdir(dpdk_dir);
}

int main(void)
{
	const char *why = real_require(N + 1, mnt, sizeof(mnt));
	struct real_counts before, after;
	struct hm_ctx *ctx;
	int left = 0;

	if (why)
		return plan_skip_all(why);
	real_snapshot(&before);
	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("out of memory");
	snprintf(prefix, sizeof(prefix), "hmtest%d", (int)getpid());
	snprintf(prefix_b, sizeof(prefix_b), "hmtest%db", (int)getpid());
	snprintf(prefix_c, sizeof(prefix_c), "hmtest%dc", (int)getpid());
	snprintf(prefix_d, sizeof(prefix_d), "hmtest%dd", (int)getpid());
	snprintf(dpdk_dir, sizeof(dpdk_dir), "/var/run/dpdk/%s", prefix_b);
	snprintf(rundir, sizeof(rundir), "/tmp/hmtest%d-run", (int)getpid());
	hm_ctx_set_runtime_dir(ctx, rundir); /* no live prefix: records only */
	diag("mount %s, pool nr %llu free %llu", mnt, (unsigned long long)before.nr,
	     (unsigned long long)before.free);
	run(ctx, &before);
	cleanup();
	for (int i = 0; i < N; i++)
		left += access(fpath(prefix, i), F_OK) == 0;
	left += access(fpath(prefix_b, 0), F_OK) == 0;
	left += access(fpath(prefix_c, 0), F_OK) == 0 || access(fpath(prefix_d, 0), F_OK) == 0;
	is_int(left, 0, "no page file left");
	real_snapshot(&after);
	is_u64(after.nr, before.nr, "pool: nr_hugepages as before");
	is_u64(after.free, before.free, "pool: free_hugepages as before");
	is_u64(after.resv, before.resv, "pool: resv_hugepages as before");
	is_u64(after.surplus, before.surplus, "pool: surplus_hugepages as before");
	hm_ctx_free(ctx);
	real_unlock();
	return done();
}
