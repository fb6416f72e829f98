/* SPDX-License-Identifier: MIT */
/*
 * pool/admin.c — pool administration: size the hugepage pool, set its
 * overcommit, and mount or unmount hugetlbfs. These calls change the system;
 * they are what `hugemem reserve`, `mount`, `unmount` and `setup` run, as root.
 *
 * Reserve writes the wanted count to nr_hugepages (system-wide under
 * /sys/kernel/mm/hugepages/hugepages-<kB>kB/, or per node under
 * /sys/devices/system/node/node<N>/hugepages/...) and reads the file back:
 * the kernel takes the write whatever it manages to allocate, so only the
 * read-back tells. Fewer than asked is -ENOMEM. Shrinking frees only free
 * pages: pages in use stay as surplus and the read-back count is higher than
 * asked; that is not an error (the caller sees it in *GOT). Sizes offered are
 * the hugepages-<kB>kB directory names; page size 0 is /proc/meminfo's
 * Hugepagesize. Every sysfs/procfs path is below the context's root.
 *
 * Reserve and hm_pool_order hold the pool's lock, an exclusive flock on its
 * system-wide sysfs directory, hugepages-<kB>kB (sysfs takes flock like any
 * file; every process sees the same directory; no lock file to create or
 * leave; not nr_hugepages itself, which a reader must not hold open): two
 * reserves at once, or a reserve that shrinks the pool while an ordering
 * holds its free pages mapped, left surplus pages that vanished later, and
 * each reported a count the pool no longer had. A writer that is not hugemem
 * (echo N > nr_hugepages) does not take it: the CLI reads the pool again at
 * the end and says when it changed meanwhile.
 *
 * The overcommit (nr_overcommit_hugepages, system-wide only: the kernel keeps
 * no per-node count) is written and read back the same way, under the same
 * lock. The kernel refuses it for gigantic pages (1 GiB on x86), which it
 * never allocates on demand.
 *
 * Mount and unmount act on the caller's directory itself (a mount point is
 * not below the root). A directory is a mount point when statx says
 * STATX_ATTR_MOUNT_ROOT, or, on kernels without that attribute, when its
 * device differs from its parent's or it is its parent ("/"). Mount options:
 * pagesize=<bytes> (when a size is given), size=<bytes> and nr_inodes=<n>
 * when limits are given, uid=/gid= when an owner is given, then the mode:
 * the one asked, else 0755 for root only, or 1770 with an owner, so the
 * owner's processes create page files there; sticky, so that none of them
 * can rename or remove another's files (hm_init refuses a shared mount that
 * is not). A dry run checks the same (the size offered, the directory empty
 * and not a mount point) without creating a directory or mounting. Without a
 * directory, the mount goes where hugemem puts it by default: /dev/hugepages
 * for the default page size, /dev/hugepages<SZ> (/dev/hugepages1G) for
 * another, so that two sizes never ask for one directory. Unmount refuses
 * anything but a hugetlbfs mount point before calling umount2, so it never
 * takes down another file system.
 */
#include "base/ctx.h"
#include "parse/parse.h"
#include "pool/pool.h"
#include "sys/sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6
#define SIZES_TEXT_MAX	       (HM_MAX_PAGE_SIZES * 32)

/* "hugepages-2048kB" -> 2048 * 1024; 0 for any other name. */
static uint64_t dirname_size(const char *name)
{
	uint64_t bytes = 0;

	return hmi_parse_hugepages_dirname(name, &bytes) == 0 ? bytes : 0;
}

/* The sizes offered (hugepages-<kB>kB directories) as text, "2 MiB, 1 GiB",
 * and whether PAGE_SIZE is among them. */
static int offered(struct hm_ctx *ctx, uint64_t page_size, char *text, size_t len, int *found)
{
	char path[HM_PATH_MAX], one[32];
	struct dirent *de;
	size_t used = 0;
	DIR *dir;
	int rc = hmi_path(ctx, path, sizeof(path), "/sys/kernel/mm/hugepages");

	if (rc < 0)
		return rc;
	*found = 0;
	snprintf(text, len, "none");
	dir = opendir(path);
	if (!dir)
		return hmi_err(ctx, errno, "cannot list %s: %s (a kernel without hugetlb pages?)",
			       path, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		uint64_t size = dirname_size(de->d_name);

		if (!size)
			continue;
		*found |= size == page_size;
		hmi_format_size(size, one, sizeof(one));
		if (used < len)
			used += (size_t)snprintf(text + used, len - used, "%s%s", used ? ", " : "",
						 one);
	}
	closedir(dir);
	return 0;
}

/* /proc/meminfo's "Hugepagesize:  2048 kB" in bytes. */
static int default_size(struct hm_ctx *ctx, uint64_t *bytes)
{
	char path[HM_PATH_MAX], *text;
	int rc = hmi_path(ctx, path, sizeof(path), "/proc/meminfo");

	if (rc == 0)
		rc = hmi_read_alloc(ctx, path, 1 << 20, &text, NULL);
	if (rc < 0)
		return rc;
	*bytes = 0;
	rc = hmi_parse_meminfo(ctx, text, bytes); /* the one meminfo parser */
	free(text);
	if (rc == 0 && *bytes == 0)
		rc = hmi_err(ctx, EINVAL,
			     "%s has no 'Hugepagesize: N kB' line: give the page size explicitly",
			     path);
	return rc;
}

/* Resolve PAGE_SIZE (0 = default) and check the system offers it. */
static int check_size(struct hm_ctx *ctx, uint64_t *page_size)
{
	char sizes[SIZES_TEXT_MAX], want[32];
	int found, rc = 0;

	if (*page_size == 0)
		rc = default_size(ctx, page_size);
	if (rc == 0)
		rc = offered(ctx, *page_size, sizes, sizeof(sizes), &found);
	if (rc < 0)
		return rc;
	if (found)
		return 0;
	hmi_format_size(*page_size, want, sizeof(want));
	return hmi_err(ctx, EINVAL, "this system offers no %s hugepages: sizes offered: %s", want,
		       sizes);
}

static int nr_path(struct hm_ctx *ctx, char *path, size_t len, uint64_t page_size, int node)
{
	char dir[HM_PATH_MAX];
	struct stat st;
	int rc;

	if (node < 0)
		return hmi_path(ctx, path, len,
				"/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages",
				page_size >> 10);
	rc = hmi_path(ctx, dir, sizeof(dir), "/sys/devices/system/node/node%d", node);
	if (rc < 0)
		return rc;
	if (stat(dir, &st) < 0)
		return hmi_err(ctx, EINVAL, "there is no NUMA node %d (no %s): see hugemem status",
			       node, dir);
	return hmi_path(ctx, path, len,
			"/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64
			"kB/nr_hugepages",
			node, page_size >> 10);
}

#define POOL_LOCK_WAIT_MS 60000 /* ordering a large pool takes seconds, not a minute */

int hmi_pool_lock(struct hm_ctx *ctx, uint64_t page_size)
{
	char path[HM_PATH_MAX];
	int fd, rc = hmi_path(ctx, path, sizeof(path),
			      "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB", page_size >> 10);

	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s to lock the pool: %s", path,
			       strerror(errno));
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= POOL_LOCK_WAIT_MS) {
			int err = errno == EWOULDBLOCK ? EBUSY : errno;

			close(fd);
			return hmi_err(ctx, err,
				       "cannot lock the pool (%s): another hugemem reserve or "
				       "reorder holds it%s",
				       path, err == EBUSY ? " for a minute: try again later" : "");
		}
		usleep(10000);
	}
	return fd;
}

static int write_count(struct hm_ctx *ctx, const char *path, uint64_t pages)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", pages);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t done;

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return hmi_err(ctx, EACCES, "reserving hugepages needs root: cannot write %s",
			       path);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	do
		done = write(fd, text, (size_t)n);
	while (done < 0 && errno == EINTR);
	if (done < 0) {
		int err = errno;

		close(fd);
		if (err == EACCES || err == EPERM)
			return hmi_err(ctx, EACCES,
				       "reserving hugepages needs root: cannot write %s", path);
		return hmi_err(ctx, err, "cannot write %" PRIu64 " to %s: %s", pages, path,
			       strerror(err));
	}
	close(fd);
	return 0;
}

/* Set the counter PATH of the pool of PAGE_SIZE to PAGES and read it back
 * into *NOW, holding the pool's lock. AT_LEAST: read it first and write only
 * when it is lower, so that what another process added is never taken back. */
static int set_count(struct hm_ctx *ctx, const char *path, uint64_t page_size, uint64_t pages,
		     int at_least, uint64_t *now)
{
	int rc = 0, lock = hmi_pool_lock(ctx, page_size);

	if (lock < 0)
		return lock;
	*now = 0;
	if (at_least)
		rc = hmi_read_u64(ctx, path, now);
	if (rc == 0 && (!at_least || *now < pages)) {
		rc = write_count(ctx, path, pages);
		if (rc == 0)
			rc = hmi_read_u64(ctx, path, now);
	}
	close(lock);
	return rc;
}

static int reserve(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages, uint64_t *got,
		   int at_least)
{
	char path[HM_PATH_MAX], size[32], where[32] = "";
	uint64_t now = 0;
	int rc;

	if (node < -1 || node >= HM_MAX_NODES)
		return hmi_err(ctx, EINVAL,
			       "node %d is not a NUMA node id (0 to %d, or -1 for all)", node,
			       HM_MAX_NODES - 1);
	rc = check_size(ctx, &page_size);
	if (rc == 0)
		rc = nr_path(ctx, path, sizeof(path), page_size, node);
	if (rc == 0)
		rc = set_count(ctx, path, page_size, pages, at_least, &now);
	if (rc < 0)
		return rc;
	if (got)
		*got = now;
	if (now >= pages)
		return 0;
	hmi_format_size(page_size, size, sizeof(size));
	if (node >= 0)
		snprintf(where, sizeof(where), " on node %d", node);
	return hmi_err(
	    ctx, ENOMEM,
	    "asked %" PRIu64 " pages of %s%s, the kernel gave %" PRIu64
	    ": memory is fragmented or short (try fewer, or reserve 1 GiB pages at boot: "
	    "hugepagesz=1G hugepages=N)",
	    pages, size, where, now);
}

int hm_reserve(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages, uint64_t *got)
{
	hmi_err_clear(ctx);
	return reserve(ctx, page_size, node, pages, got, 0);
}

int hmi_reserve_at_least(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages,
			 uint64_t *got)
{
	return reserve(ctx, page_size, node, pages, got, 1);
}

int hm_overcommit(struct hm_ctx *ctx, uint64_t page_size, uint64_t pages, uint64_t *got)
{
	char path[HM_PATH_MAX], size[32];
	uint64_t now = 0;
	int rc;

	hmi_err_clear(ctx);
	rc = check_size(ctx, &page_size);
	if (rc == 0)
		rc = hmi_path(ctx, path, sizeof(path),
			      "/sys/kernel/mm/hugepages/hugepages-%" PRIu64
			      "kB/nr_overcommit_hugepages",
			      page_size >> 10);
	if (rc < 0)
		return rc;
	rc = set_count(ctx, path, page_size, pages, 0, &now);
	if (rc == -EINVAL && page_size >= HMI_GIGANTIC_PAGE) {
		hmi_format_size(page_size, size, sizeof(size));
		return hmi_err(ctx, EINVAL,
			       "the kernel allocates no %s pages on demand (they are gigantic): "
			       "no overcommit for them; reserve them instead, at boot best",
			       size);
	}
	if (rc == 0 && got)
		*got = now;
	return rc;
}

/* 1 when the directory open at FD (shown as DIR) is the root of a mount, 0
 * when not, -errno. */
static int is_mount_point_at(struct hm_ctx *ctx, int fd, const char *dir)
{
	struct statx stx;
	struct stat self, parent;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
		return hmi_err(ctx, errno, "cannot stat %s: %s", dir, strerror(errno));
	if (!S_ISDIR(stx.stx_mode))
		return hmi_err(ctx, ENOTDIR, "%s is not a directory", dir);
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	/* kernels before 5.8: compare with the parent */
	if (fstat(fd, &self) < 0 || fstatat(fd, "..", &parent, 0) < 0)
		return hmi_err(ctx, errno, "cannot stat %s/..: %s", dir, strerror(errno));
	return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

/* 1 when DIR is the root of a mount, 0 when not, -errno. */
static int is_mount_point(struct hm_ctx *ctx, const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0 && errno == ENOTDIR)
		return hmi_err(ctx, ENOTDIR, "%s is not a directory", dir);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot stat %s: %s", dir, strerror(errno));
	rc = is_mount_point_at(ctx, fd, dir);
	close(fd);
	return rc;
}

/* NAME in the directory AT is a symbolic link: follow it only when root or
 * this user made it (/var/run -> /run), never the last component (what would
 * be hidden is where it points) nor another user's link (planted in /tmp). */
static int open_link(struct hm_ctx *ctx, int at, const char *name, const struct stat *st,
		     const char *dir, int last)
{
	char target[256] = "?";
	ssize_t n = readlinkat(at, name, target, sizeof(target) - 1);
	int fd;

	if (n >= 0)
		target[n] = '\0';
	if (last || (st->st_uid != 0 && st->st_uid != geteuid()))
		return hmi_err(ctx, ELOOP,
			       "mount point %s: '%s' is a symbolic link (to %s, owned by uid %u): "
			       "not mounting over where it points; give the real directory",
			       dir, name, target, (unsigned)st->st_uid);
	fd = openat(at, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hmi_err(ctx, errno, "mount point %s: cannot open '%s' (a link to %s): %s",
			       dir, name, target, strerror(errno));
	return fd;
}

/* Component NAME of DIR, in the directory AT: created when missing (0755)
 * when CREATE, opened without following a link but as open_link allows. An
 * fd or -errno (-ENOENT when it is missing and not CREATE). */
static int open_component(struct hm_ctx *ctx, int at, const char *name, const char *dir, int last,
			  int create)
{
	struct stat st;
	int fd;

	if (create && mkdirat(at, name, 0755) < 0 && errno != EEXIST)
		return hmi_err(ctx, errno, "cannot create '%s' of %s: %s", name, dir,
			       strerror(errno));
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hmi_err(ctx, errno, "cannot stat '%s' of %s: %s", name, dir,
			       strerror(errno));
	if (S_ISLNK(st.st_mode))
		return open_link(ctx, at, name, &st, dir, last);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP) /* became a link since fstatat */
		return hmi_err(ctx, ELOOP, "mount point %s: '%s' is a symbolic link", dir, name);
	if (fd < 0 && errno == ENOTDIR)
		return hmi_err(ctx, ENOTDIR, "mount point %s: '%s' is not a directory", dir, name);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open '%s' of %s: %s", name, dir,
			       strerror(errno));
	return fd;
}

/* DIR opened one component at a time from / (or the working directory),
 * creating what is missing when CREATE: the descriptor is the directory the
 * mount goes on, whatever is renamed or planted meanwhile. An fd or -errno
 * (-ENOENT: a component is missing and not CREATE). */
static int open_mount_dir(struct hm_ctx *ctx, const char *dir, int create)
{
	char path[HM_PATH_MAX], *save = NULL, *name, *next;
	int at, fd;

	if (strlen(dir) == 0 || strlen(dir) >= sizeof(path))
		return hmi_err(ctx, EINVAL, "mount point '%.64s' is empty or too long", dir);
	snprintf(path, sizeof(path), "%s", dir);
	at = open(dir[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (at < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", dir[0] == '/' ? "/" : ".",
			       strerror(errno));
	for (name = strtok_r(path, "/", &save); name; name = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(name, ".") == 0)
			continue;
		fd = open_component(ctx, at, name, dir, next == NULL, create);
		close(at);
		if (fd < 0)
			return fd;
		at = fd;
	}
	return at;
}

/* The first entry of the directory open at FD (not . or ..) into NAME; 0
 * when it has none. */
static int first_entry(int fd, char *name, size_t len)
{
	int copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = copy < 0 ? NULL : fdopendir(copy);
	struct dirent *de;
	int found = 0;

	if (!d) {
		if (copy >= 0)
			close(copy);
		return 0;
	}
	while (!found && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			found = snprintf(name, len, "%s", de->d_name) >= 0;
	closedir(d);
	return found;
}

/* The directory open at FD may take a mount: not one already, and empty
 * (a mount over files hides them from everyone until it is gone). */
static int check_mount_dir(struct hm_ctx *ctx, int fd, const char *dir)
{
	char entry[64];
	int rc = is_mount_point_at(ctx, fd, dir);

	if (rc < 0)
		return rc;
	if (rc == 1)
		return hmi_err(ctx, EBUSY,
			       "%s is already a mount point: unmount it first or choose another "
			       "directory",
			       dir);
	if (first_entry(fd, entry, sizeof(entry)))
		return hmi_err(ctx, ENOTEMPTY,
			       "%s is not empty (it holds '%s'): a mount would hide its files; "
			       "give an empty or new directory",
			       dir, entry);
	return 0;
}

/* The options of the mount SPEC asks for, "pagesize=2097152,mode=0755". */
static void mount_options(char *buf, size_t len, const struct hm_mount_spec *spec)
{
	int owner = spec->uid != (uid_t)-1 || spec->gid != (gid_t)-1;
	mode_t mode = spec->mode != (mode_t)-1 ? spec->mode : owner ? 01770 : 0755;
	size_t used = 0;

	buf[0] = '\0';
	if (spec->page_size)
		used += (size_t)snprintf(buf, len, "pagesize=%" PRIu64 ",", spec->page_size);
	if (spec->size_limit && used < len)
		used +=
		    (size_t)snprintf(buf + used, len - used, "size=%" PRIu64 ",", spec->size_limit);
	if (spec->nr_inodes && used < len)
		used += (size_t)snprintf(buf + used, len - used, "nr_inodes=%" PRIu64 ",",
					 spec->nr_inodes);
	if (spec->uid != (uid_t)-1 && used < len)
		used += (size_t)snprintf(buf + used, len - used, "uid=%u,", (unsigned)spec->uid);
	if (spec->gid != (gid_t)-1 && used < len)
		used += (size_t)snprintf(buf + used, len - used, "gid=%u,", (unsigned)spec->gid);
	if (used < len)
		snprintf(buf + used, len - used, "mode=%04o", (unsigned)mode);
}

static int mount_error(struct hm_ctx *ctx, int err, const char *dir, uint64_t page_size)
{
	char size[32];

	hmi_format_size(page_size, size, sizeof(size));
	if (err == EPERM || err == EACCES)
		return hmi_err(ctx, EPERM, "mounting hugetlbfs on %s needs root", dir);
	if (err == ENODEV)
		return hmi_err(ctx, ENODEV, "this kernel has no hugetlbfs (CONFIG_HUGETLBFS)");
	if (err == EINVAL && page_size)
		return hmi_err(ctx, EINVAL, "the kernel refused a hugetlbfs of %s on %s", size,
			       dir);
	return hmi_err(ctx, err, "cannot mount hugetlbfs on %s: %s", dir, strerror(err));
}

void hmi_mount_default_dir(struct hm_ctx *ctx, uint64_t page_size, char *dir, size_t len)
{
	uint64_t dflt = 0;
	char size[32];

	if (page_size && default_size(ctx, &dflt) < 0)
		hmi_err_clear(ctx); /* no default size known: the size is not it */
	if (page_size == 0 || page_size == dflt) {
		snprintf(dir, len, "/dev/hugepages");
		return;
	}
	hmi_format_size_short(page_size, size, sizeof(size));
	snprintf(dir, len, "/dev/hugepages%s", size);
}

/* SPEC's values are ones the kernel takes: a mode of permission bits, a
 * size= limit of whole pages (PAGE_SIZE, resolved). */
static int check_spec(struct hm_ctx *ctx, const struct hm_mount_spec *spec, uint64_t page_size)
{
	char size[32];

	if (spec->mode != (mode_t)-1 && spec->mode > 07777)
		return hmi_err(ctx, EINVAL,
			       "mount mode %o is not a file mode: give at most 4 octal digits "
			       "(e.g. 1770)",
			       (unsigned)spec->mode);
	if (spec->size_limit && page_size && spec->size_limit % page_size) {
		hmi_format_size(page_size, size, sizeof(size));
		return hmi_err(ctx, EINVAL,
			       "mount size limit %" PRIu64 " bytes is not a whole number of %s "
			       "pages: give a multiple of %s",
			       spec->size_limit, size, size);
	}
	return 0;
}

/* A dry run's look at DIR: missing (the mount would create it: *CREATE), or
 * a directory that may take a mount. */
static int check_dir_only(struct hm_ctx *ctx, const char *dir, int *create)
{
	int fd = open_mount_dir(ctx, dir, 0), rc;

	*create = fd == -ENOENT;
	if (*create) {
		hmi_err_clear(ctx);
		return 0;
	}
	if (fd < 0)
		return fd;
	rc = check_mount_dir(ctx, fd, dir);
	close(fd);
	return rc;
}

static int mount_at(struct hm_ctx *ctx, const char *dir, const char *options, uint64_t page_size)
{
	char self[64];
	int fd = open_mount_dir(ctx, dir, 1), rc;

	if (fd < 0)
		return fd;
	rc = check_mount_dir(ctx, fd, dir);
	/* the directory checked, not what DIR names by now: /proc/self/fd/N is
	 * this process's own descriptor (no system file: not below the root) */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (rc == 0 && mount("nodev", self, "hugetlbfs", MS_NOSUID | MS_NODEV, options) < 0)
		rc = mount_error(ctx, errno, dir, page_size);
	close(fd);
	return rc;
}

int hm_mount_ext(struct hm_ctx *ctx, const struct hm_mount_spec *spec, struct hm_mount_result *res)
{
	struct hm_mount_result mine = {0};
	uint64_t page_size;
	int rc = 0;

	hmi_err_clear(ctx);
	if (!spec)
		return hmi_err(ctx, EINVAL, "no mount given (spec is NULL)");
	res = res ? res : &mine;
	memset(res, 0, sizeof(*res));
	page_size = spec->page_size;
	if (page_size)
		rc = check_size(ctx, &page_size);
	else if (spec->size_limit)
		rc = default_size(ctx, &page_size);
	if (rc == 0)
		rc = check_spec(ctx, spec, page_size);
	if (rc < 0)
		return rc;
	if (spec->dir)
		snprintf(res->dir, sizeof(res->dir), "%s", spec->dir);
	else
		hmi_mount_default_dir(ctx, spec->page_size, res->dir, sizeof(res->dir));
	mount_options(res->options, sizeof(res->options), spec);
	if (spec->dry_run)
		return check_dir_only(ctx, res->dir, &res->create);
	return mount_at(ctx, res->dir, res->options, spec->page_size);
}

int hm_mount(struct hm_ctx *ctx, const char *dir, uint64_t page_size, uid_t uid, gid_t gid)
{
	const struct hm_mount_spec spec = {
	    .dir = dir, .page_size = page_size, .uid = uid, .gid = gid, .mode = (mode_t)-1};

	if (!dir) {
		hmi_err_clear(ctx);
		return hmi_err(ctx, EINVAL, "no mount point given");
	}
	return hm_mount_ext(ctx, &spec, NULL);
}

/* Up to three names of files in DIR, for the message that says who is busy. */
static void list_files(const char *dir, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d)) != NULL && used < len) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 3) {
			snprintf(buf + used, len - used, ", ...");
			break;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s%.60s", used ? ", " : " (",
					 de->d_name);
	}
	closedir(d);
	if (used && used < len)
		snprintf(buf + used, len - used, ")");
}

static int unmount_busy(struct hm_ctx *ctx, const char *dir)
{
	char files[256];

	list_files(dir, files, sizeof(files));
	return hmi_err(ctx, EBUSY,
		       "%s is busy: a process maps or holds files there%s (see hugemem status)",
		       dir, files);
}

int hm_unmount(struct hm_ctx *ctx, const char *dir)
{
	struct statfs sfs;
	int rc;

	hmi_err_clear(ctx);
	if (!dir)
		return hmi_err(ctx, EINVAL, "no mount point given");
	rc = is_mount_point(ctx, dir);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return hmi_err(ctx, EINVAL, "%s is not a mount point", dir);
	if (statfs(dir, &sfs) < 0)
		return hmi_err(ctx, errno, "cannot statfs %s: %s", dir, strerror(errno));
	if ((uint32_t)sfs.f_type != HUGETLBFS_MAGIC_NUMBER)
		return hmi_err(ctx, EINVAL, "%s is not a hugetlbfs mount: not unmounting it", dir);
	if (umount2(dir, 0) == 0)
		return 0;
	if (errno == EBUSY)
		return unmount_busy(ctx, dir);
	if (errno == EPERM)
		return hmi_err(ctx, EPERM, "unmounting %s needs root", dir);
	return hmi_err(ctx, errno, "cannot unmount %s: %s", dir, strerror(errno));
}
