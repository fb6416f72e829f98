/* SPDX-License-Identifier: MIT */
/*
 * admin_real_test.c — hm_reserve, hm_mount and hm_unmount.
 *
 * Part one runs anywhere, in a fixture root built in a mkdtemp directory:
 * nr_hugepages as plain files (a plain file reads back what was written) for
 * the path logic, and as a FIFO answered by a child for what only a kernel
 * does otherwise: giving fewer pages than asked, or more when shrinking. Plus
 * every refusal that happens before anything is mounted.
 *
 * Part two is REAL (root, the machine-wide lock, pool counters snapshot and
 * compared at the end): reserve and shrink the 2 MiB pool system-wide and on
 * node 0, shrink below pages in use, mount hugetlbfs under /tmp, refuse a
 * second mount, unmount while a child maps a file there, refuse to unmount a
 * tmpfs. Cleanup (unmount, nr_hugepages) runs on every path.
 */
#include "base/ctx.h"
#include "real.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB2	(2ULL << 20)
#define GB1	(1ULL << 30)
#define FX_NR2M "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

static void make_file(const char *root, const char *rel, const char *text)
{
	char path[512], *p;
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

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!fp)
		return -1;
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return 0;
}

static const char *fx_text(const char *root, const char *rel)
{
	static char buf[256];
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	read_text(path, buf, sizeof(buf));
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* A child stands in for the kernel behind a FIFO nr_hugepages: it reads what
 * hm_reserve writes, then answers REPLY to the read-back. */
static pid_t fifo_kernel(const char *fifo, const char *reply)
{
	pid_t pid = fork();
	char buf[64];
	int fd;

	if (pid != 0)
		return pid;
	fd = open(fifo, O_RDONLY);
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	fd = open(fifo, O_WRONLY);
	if (fd < 0 || write(fd, reply, strlen(reply)) < 0)
		_exit(1);
	close(fd);
	_exit(0);
}

static int reserve_via_fifo(struct hm_ctx *ctx, const char *root, const char *reply, int node,
			    uint64_t pages, uint64_t *got)
{
	char fifo[512];
	pid_t pid;
	int rc, status;

	snprintf(fifo, sizeof(fifo), "%s/%s", root,
		 node < 0
		     ? FX_NR2M
		     : "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages");
	unlink(fifo);
	if (mkfifo(fifo, 0644) < 0)
		return -errno;
	pid = fifo_kernel(fifo, reply);
	rc = hm_reserve(ctx, MB2, node, pages, got);
	waitpid(pid, &status, 0);
	unlink(fifo);
	make_file(root, node < 0 ? FX_NR2M : fifo + strlen(root) + 1, "0\n");
	return rc;
}

/* hm_reserve as user nobody (root) or on a read-only file (others): 0 when
 * it fails -EACCES saying it needs root. */
static int reserve_as_nobody(struct hm_ctx *ctx, const char *root)
{
	char path[512];
	uint64_t got;
	int status = -1;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", root, FX_NR2M);
	chmod(path, 0444);
	pid = fork();

	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		if (hm_reserve(ctx, MB2, -1, 4, &got) != -EACCES)
			_exit(1);
		_exit(strstr(hm_errmsg(ctx), "needs root") ? 0 : 2);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	chmod(path, 0644);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void fixture_reserve(struct hm_ctx *ctx, const char *root)
{
	uint64_t got = 0;

	is_int(hm_reserve(ctx, MB2, -1, 8, &got), 0, "reserve 8 pages of 2 MiB");
	is_u64(got, 8, "read back 8");
	is_str(fx_text(root, FX_NR2M), "8\n", "wrote '8\\n' to hugepages-2048kB/nr_hugepages");
	is_int(hm_reserve(ctx, MB2, -1, 3, &got), 0, "shrink to 3");
	is_str(fx_text(root, FX_NR2M), "3\n", "file truncated, not '3\\n' over '8\\n'");
	is_int(hm_reserve(ctx, 0, -1, 5, &got), 0, "page size 0: meminfo's Hugepagesize");
	is_str(fx_text(root, FX_NR2M), "5\n", "default size is 2 MiB");
	is_int(hm_reserve(ctx, GB1, -1, 2, &got), 0, "reserve 2 pages of 1 GiB");
	is_str(fx_text(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"), "2\n",
	       "wrote the 1 GiB pool");
	is_int(hm_reserve(ctx, MB2, 0, 3, &got), 0, "reserve 3 on node 0");
	is_str(
	    fx_text(root, "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"),
	    "3\n", "wrote node0's nr_hugepages");
	is_u64(got, 3, "node 0 read back 3");
	is_int(hm_reserve(ctx, MB2, -1, 0, &got), 0, "reserve 0 frees the pool");
	is_u64(got, 0, "read back 0");
}

static void fixture_reserve_errors(struct hm_ctx *ctx, const char *root)
{
	uint64_t got = 0;

	is_int(hm_reserve(ctx, MB2, 3, 1, &got), -EINVAL, "node 3 does not exist");
	like(hm_errmsg(ctx), "no NUMA node 3", "message names the node");
	is_int(hm_reserve(ctx, MB2, -2, 1, &got), -EINVAL, "node -2 is no node id");
	like(hm_errmsg(ctx), "node -2", "message quotes -2");
	is_int(hm_reserve(ctx, 4ULL << 20, -1, 1, &got), -EINVAL, "4 MiB not offered");
	like(hm_errmsg(ctx), "no 4 MiB hugepages", "message names 4 MiB");
	like(hm_errmsg(ctx), "2 MiB", "message lists 2 MiB");
	like(hm_errmsg(ctx), "1 GiB", "message lists 1 GiB");
	is_int(reserve_as_nobody(ctx, root), 0, "as nobody: -EACCES, 'needs root'");

	is_int(reserve_via_fifo(ctx, root, "600\n", -1, 1024, &got), -ENOMEM,
	       "the kernel gives 600 of 1024: -ENOMEM");
	is_u64(got, 600, "*got says 600");
	like(hm_errmsg(ctx), "asked 1024 pages of 2 MiB, the kernel gave 600", "message counts");
	like(hm_errmsg(ctx), "hugepagesz=1G hugepages=N", "message gives the boot-time fix");
	is_int(reserve_via_fifo(ctx, root, "1\n", 0, 4, &got), -ENOMEM, "node 0 gives 1 of 4");
	like(hm_errmsg(ctx), "2 MiB on node 0, the kernel gave 1", "message names the node");
	is_int(reserve_via_fifo(ctx, root, "7", 0, 2, &got), 0,
	       "shrinking leaves 7 (pages in use) for 2: no error");
	is_u64(got, 7, "*got says 7");
	is_int(reserve_via_fifo(ctx, root, "lots\n", -1, 2, &got), -EINVAL,
	       "a read-back that is no number");
	like(hm_errmsg(ctx), "nr_hugepages: expected a decimal count, found 'lots",
	     "message names the file and the text");

	make_file(root, "proc/meminfo", "MemTotal: 1 kB\nHugepagesize: lots kB\n");
	is_int(hm_reserve(ctx, 0, -1, 1, &got), -EINVAL, "no default size in meminfo");
	like(hm_errmsg(ctx), "Hugepagesize", "message names the meminfo line");
	make_file(root, "proc/meminfo", "MemTotal: 1 kB\nHugepagesize:    2048 kB\n");
}

static void fixture_mount_errors(struct hm_ctx *ctx, const char *root)
{
	char dir[512], file[512];

	snprintf(dir, sizeof(dir), "%s/mnt/a/b", root);
	is_int(hm_mount(ctx, dir, 4ULL << 20, (uid_t)-1, (gid_t)-1), -EINVAL,
	       "mount of a size not offered");
	like(hm_errmsg(ctx), "no 4 MiB hugepages", "message names the size");
	ok(access(dir, F_OK) != 0, "nothing created for a refused size");
	is_int(hm_mount(ctx, NULL, MB2, (uid_t)-1, (gid_t)-1), -EINVAL, "mount on NULL");
	snprintf(file, sizeof(file), "%s/plainfile", root);
	make_file(root, "plainfile", "x");
	is_int(hm_mount(ctx, file, MB2, (uid_t)-1, (gid_t)-1), -ENOTDIR, "mount on a file");
	like(hm_errmsg(ctx), "not a directory", "message says so");

	is_int(hm_unmount(ctx, dir), -ENOENT, "unmount of a missing dir");
	like(hm_errmsg(ctx), dir, "message names the dir");
	snprintf(dir, sizeof(dir), "%s/sys", root);
	is_int(hm_unmount(ctx, dir), -EINVAL, "unmount of a plain dir");
	like(hm_errmsg(ctx), "is not a mount point", "message: not a mount point");
	is_int(hm_unmount(ctx, file), -ENOTDIR, "unmount of a file");
	is_int(hm_unmount(ctx, NULL), -EINVAL, "unmount of NULL");
}

static void test_fixture(struct hm_ctx *ctx)
{
	char root[64] = "/tmp/hmtest-admin-XXXXXX";

	if (!mkdtemp(root)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	chmod(root, 0755); /* nobody may look, not write */
	make_file(root, FX_NR2M, "0\n");
	make_file(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
	make_file(root, "sys/kernel/mm/hugepages/not-a-size/nr_hugepages", "0\n");
	make_file(root, "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
		  "0\n");
	make_file(root, "proc/meminfo", "MemTotal: 1 kB\nHugepagesize:    2048 kB\n");
	hm_ctx_set_root(ctx, root);
	fixture_reserve(ctx, root);
	fixture_reserve_errors(ctx, root);
	fixture_mount_errors(ctx, root);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	is_int(hm_reserve(ctx, MB2, -1, 1, &(uint64_t){0}), -ENOENT, "root without sysfs");
	like(hm_errmsg(ctx), "/sys/kernel/mm/hugepages", "message names the hugepages dir");
	hm_ctx_set_root(ctx, "/");
}

/* ------------------------------------------------------------ the real system */

struct real {
	struct real_counts snap;
	char mnt[80], mnt2[80], tmpfs[80], base[64];
};

static uint64_t node0_nr(void)
{
	char buf[64];
	uint64_t v = 0;

	if (read_text("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", buf,
		      sizeof(buf)) == 0)
		hmi_parse_u64(buf, &v);
	return v;
}

/* The mountinfo line of DIR ("" when not mounted). */
static const char *mountinfo_line(const char *dir)
{
	static char line[1024];
	char needle[128];
	FILE *fp = fopen("/proc/self/mountinfo", "r");

	snprintf(needle, sizeof(needle), " %s ", dir);
	while (fp && fgets(line, sizeof(line), fp))
		if (strstr(line, needle)) {
			fclose(fp);
			return line;
		}
	if (fp)
		fclose(fp);
	line[0] = '\0';
	return line;
}

static void real_reserve(struct hm_ctx *ctx, const struct real *r)
{
	uint64_t nr = r->snap.nr, got = 0, n0 = node0_nr();

	is_int(hm_reserve(ctx, MB2, -1, nr + 8, &got), 0, "real: reserve 8 more 2 MiB pages");
	is_u64(got, nr + 8, "real: the kernel gave them");
	is_u64(real_counter("free_hugepages"), r->snap.free + 8, "real: free_hugepages up by 8");
	is_int(hm_reserve(ctx, MB2, -1, nr, &got), 0, "real: shrink back");
	is_u64(got, nr, "real: back to %" PRIu64, nr);
	is_int(hm_reserve(ctx, MB2, 0, n0 + 4, &got), 0, "real: 4 more on node 0");
	is_u64(got, n0 + 4, "real: node 0 read back");
	is_u64(real_counter("nr_hugepages"), nr + 4, "real: the system-wide count follows");
	is_int(hm_reserve(ctx, MB2, 0, n0, &got), 0, "real: node 0 back");
	is_u64(real_counter("nr_hugepages"), nr, "real: system-wide count back");
}

/* Shrink below a page this process maps: the kernel keeps it as surplus. */
static void real_shrink_in_use(struct hm_ctx *ctx, const struct real *r)
{
	uint64_t nr = r->snap.nr, in_use = r->snap.nr - r->snap.free, got = 0;
	uint64_t want = in_use + 1 > nr ? in_use + 1 : nr;
	char *page;

	is_int(hm_reserve(ctx, MB2, -1, nr + 2, &got), 0, "real: 2 more pages to map one");
	page = mmap(NULL, MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		    -1, 0);
	if (!ok(page != MAP_FAILED, "real: map one hugepage"))
		return;
	page[0] = 1;
	is_int(hm_reserve(ctx, MB2, -1, nr, &got), 0,
	       "real: shrink below the page in use: no error");
	is_u64(got, want, "real: read back keeps the page in use");
	munmap(page, MB2);
	is_u64(real_counter("nr_hugepages"), nr, "real: the surplus page went with the unmap");
}

static void real_mount(struct hm_ctx *ctx, const struct real *r)
{
	struct statfs sfs;
	struct stat st;

	is_int(hm_mount(ctx, r->mnt, MB2, (uid_t)-1, (gid_t)-1), 0, "real: mount 2 MiB hugetlbfs");
	like(mountinfo_line(r->mnt), "hugetlbfs", "real: mountinfo shows hugetlbfs there");
	like(mountinfo_line(r->mnt), "pagesize=2M", "real: with pagesize=2M");
	ok(statfs(r->mnt, &sfs) == 0 && sfs.f_bsize == (long)MB2, "real: statfs block size 2 MiB");
	ok(stat(r->mnt, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 0,
	   "real: root-owned 0755");
	is_int(hm_mount(ctx, r->mnt, MB2, (uid_t)-1, (gid_t)-1), -EBUSY, "real: mount twice");
	like(hm_errmsg(ctx), "already a mount point", "real: message says so");
	is_int(hm_unmount(ctx, r->mnt), 0, "real: unmount");
	is_str(mountinfo_line(r->mnt), "", "real: gone from mountinfo");

	is_int(hm_mount(ctx, r->mnt2, 0, 65534, 65534), 0, "real: mount default size for 65534");
	ok(stat(r->mnt2, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534 &&
	       (st.st_mode & 07777) == 01770,
	   "real: owned 65534:65534, mode 1770 (sticky)");
	like(mountinfo_line(r->mnt2), "uid=65534", "real: uid in the options");
	is_int(hm_unmount(ctx, r->mnt2), 0, "real: unmount it");
	is_int(hm_unmount(ctx, r->mnt2), -EINVAL, "real: unmount again");
	like(hm_errmsg(ctx), "is not a mount point", "real: message: not a mount point");
	is_int(hm_mount(ctx, r->mnt, 4ULL << 20, (uid_t)-1, (gid_t)-1), -EINVAL,
	       "real: 4 MiB not offered");
}

/* A child maps a page file in the mount: unmount is -EBUSY until it ends. */
static void real_busy(struct hm_ctx *ctx, const struct real *r)
{
	int up[2], down[2], status;
	char file[128], c = 0;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/hmtest%d_map_0", r->mnt, (int)getpid());
	if (!ok(hm_mount(ctx, r->mnt, MB2, (uid_t)-1, (gid_t)-1) == 0 && pipe(up) == 0 &&
		    pipe(down) == 0,
		"real: mount for the busy case"))
		return;
	pid = fork();
	if (pid == 0) {
		int fd = open(file, O_RDWR | O_CREAT, 0600);
		char *p = fd < 0 || ftruncate(fd, (off_t)MB2) < 0
			      ? MAP_FAILED
			      : mmap(NULL, MB2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p != MAP_FAILED)
			p[0] = 1;
		close(fd);
		c = p != MAP_FAILED;
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	ok(read(up[0], &c, 1) == 1 && c == 1, "real: child maps %s", file);
	is_int(hm_unmount(ctx, r->mnt), -EBUSY, "real: unmount while mapped");
	like(hm_errmsg(ctx), "is busy", "real: message says busy");
	like(hm_errmsg(ctx), strrchr(file, '/') + 1, "real: message names the page file");
	if (write(down[1], &c, 1) != 1)
		diag("cannot release the child");
	waitpid(pid, &status, 0);
	is_int(hm_unmount(ctx, r->mnt), 0, "real: unmount once the child is gone");
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void real_tmpfs(struct hm_ctx *ctx, const struct real *r)
{
	if (!ok(mkdir(r->tmpfs, 0755) == 0 && mount("tmpfs", r->tmpfs, "tmpfs", 0, "size=1M") == 0,
		"real: a tmpfs to refuse"))
		return;
	is_int(hm_unmount(ctx, r->tmpfs), -EINVAL, "real: unmount of a tmpfs refused");
	like(hm_errmsg(ctx), "is not a hugetlbfs mount", "real: message says why");
	like(mountinfo_line(r->tmpfs), "tmpfs", "real: the tmpfs is still mounted");
	is_int(hm_mount(ctx, r->tmpfs, MB2, (uid_t)-1, (gid_t)-1), -EBUSY,
	       "real: no hugetlbfs over a tmpfs mount point");
}

static void real_cleanup(const struct real *r)
{
	const char *dirs[] = {r->mnt, r->mnt2, r->tmpfs};

	for (size_t i = 0; i < HMI_ARRAY_SIZE(dirs); i++) {
		while (mountinfo_line(dirs[i])[0] && umount2(dirs[i], MNT_DETACH) == 0)
			;
		rmdir(dirs[i]);
	}
	rmdir(r->base);
	if (real_counter("nr_hugepages") != r->snap.nr && real_write_nr(r->snap.nr) < 0)
		diag("cannot set nr_hugepages to %" PRIu64, r->snap.nr);
}

static void test_real(struct hm_ctx *ctx)
{
	struct real r;

	if (!real_section("real pool and mounts"))
		return;
	real_snapshot(&r.snap);
	snprintf(r.base, sizeof(r.base), "/tmp/hmtest-mnt-%d", (int)getpid());
	snprintf(r.mnt, sizeof(r.mnt), "%s/a", r.base);
	snprintf(r.mnt2, sizeof(r.mnt2), "%s/b", r.base);
	snprintf(r.tmpfs, sizeof(r.tmpfs), "%s/t", r.base);
	real_reserve(ctx, &r);
	real_shrink_in_use(ctx, &r);
	real_mount(ctx, &r);
	if (hm_reserve(ctx, MB2, -1, r.snap.nr + 2, &(uint64_t){0}) == 0)
		real_busy(ctx, &r);
	real_tmpfs(ctx, &r);
	real_cleanup(&r);
	real_ok_counts(&r.snap, "real: pool counters as before");
	ok(access(r.base, F_OK) != 0, "real: mount dirs removed");
	real_unlock();
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("out of memory");
	test_fixture(ctx);
	test_real(ctx);
	hm_ctx_free(ctx);
	return done();
}
