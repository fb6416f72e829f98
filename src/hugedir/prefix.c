/* SPDX-License-Identifier: MIT */
/*
 * hugedir/prefix.c — file prefixes and their liveness lock.
 *
 * A prefix names one primary process and everything it leaves in the file
 * system: its page files ("<prefix>map_<n>") and its runtime directory
 * <runtime base>/<prefix>/ (the base is /run/hugemem for root,
 * $XDG_RUNTIME_DIR/hugemem, else /tmp/hugemem-<uid>; hm_ctx_set_runtime_dir
 * overrides it). The runtime directory is not below the context's root: it is
 * where live processes meet, so it is always the real one.
 *
 * Liveness: a primary holds a POSIX write lock (fcntl F_SETLK) over the whole
 * of <runtime base>/<prefix>/lock for as long as it lives. The kernel drops it
 * when the process dies, however it dies, and a forked child does not inherit
 * it; F_GETLK names the holder's pid, which is what the "in use by pid N"
 * message needs.
 *
 * POSIX locks have one trap: a process loses ALL its locks on a file when it
 * closes ANY descriptor of that file. So hm_prefix_owner never opens the lock
 * file first: it looks the inode up in /proc/locks (below the root), which
 * names the holder without touching the file, and only when /proc/locks shows
 * no holder (then this process is not one) or cannot be read does it open the
 * file and ask F_OFD_GETLK. Asking from the holding process therefore reports
 * that process itself. Where /proc/locks is unreadable (a fixture root) and
 * OFD locks are missing (Linux < 3.15), the holder would see F_UNLCK for its
 * own lock and would drop it by asking: do not ask about your own prefix there.
 *
 * Safe creation: the base and the prefix directory are created 0700 and
 * opened with O_NOFOLLOW|O_DIRECTORY, then must be owned by this user and not
 * writable by group or others; the lock file is opened O_NOFOLLOW relative to
 * the directory descriptor. A symbolic link planted at any of the three steps
 * is refused, so a shared /tmp cannot redirect the lock.
 */
#include "hugedir/hugedir.h"
#include "base/platform.h"
#include "sys/sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME "lock"

static int prefix_ok(const char *p)
{
	size_t n;

	if (!p || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
		return 0;
	for (n = 0; p[n]; n++) {
		char c = p[n];
		int good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';

		if (!good || n + 1 >= HM_PREFIX_MAX)
			return 0;
	}
	return n > 0;
}

int hmi_prefix_check(struct hm_ctx *ctx, const char *prefix)
{
	if (prefix_ok(prefix))
		return 0;
	return hmi_err(
	    ctx, EINVAL,
	    "file prefix '%.80s' may only hold letters, digits, '_', '-', '.' (at most %d)",
	    prefix ? prefix : "(none)", HM_PREFIX_MAX - 1);
}

int hm_prefix_dir(struct hm_ctx *ctx, const char *prefix, char *buf, size_t len)
{
	int rc = hmi_prefix_check(ctx, prefix), n;

	if (rc < 0)
		return rc;
	n = snprintf(buf, len, "%s/%s", hm_ctx_runtime_dir(ctx), prefix);
	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG,
			       "runtime directory %s/%s is longer than %zu bytes",
			       hm_ctx_runtime_dir(ctx), prefix, len ? len - 1 : 0);
	return 0;
}

/* Who /proc/locks says holds a lock on ST's inode: 1 and *PID, 0 when
 * nobody, -errno when /proc/locks cannot be read or parsed. */
static int locks_holder(struct hm_ctx *ctx, const struct stat *st, pid_t *pid)
{
	char *text;
	unsigned maj, min;
	pid_t who = 0;
	int rc = hmi_read_proc_locks(ctx, &text);

	if (rc < 0)
		return rc;
	hmi_dev_split(st->st_dev, &maj, &min);
	rc = hmi_parse_proc_locks(text, maj, min, (uint64_t)st->st_ino, &who);
	free(text);
	if (rc < 0)
		return rc;
	*pid = who;
	return who != 0;
}

static int probe_lock_file(struct hm_ctx *ctx, const char *path, pid_t *pid)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	rc = hmi_lock_probe(fd, pid);
	close(fd);
	if (rc < 0)
		return hmi_err(ctx, -rc, "cannot test the lock on %s: %s", path, strerror(-rc));
	if (rc == 0)
		*pid = 0;
	return 0;
}

/* DIR/lock into PATH and *ST: 1 when it is a regular file, 0 when there is
 * none, -errno otherwise (anything else there is refused, never opened: a
 * FIFO would block the open). */
static int find_lock_file(struct hm_ctx *ctx, const char *dir, char *path, size_t len,
			  struct stat *st)
{
	if ((size_t)snprintf(path, len, "%s/" LOCK_NAME, dir) >= len)
		return hmi_err(ctx, ENAMETOOLONG, "%s/" LOCK_NAME " is too long", dir);
	if (lstat(path, st) < 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? 0
			   : hmi_err(ctx, errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return hmi_err(ctx, ELOOP, "%s is not a regular file: remove it", path);
	return 1;
}

int hm_prefix_owner(struct hm_ctx *ctx, const char *prefix, pid_t *pid)
{
	char dir[HM_PATH_MAX], path[HM_PATH_MAX];
	struct stat st;
	int rc;

	*pid = 0;
	hmi_err_clear(ctx);
	rc = hm_prefix_dir(ctx, prefix, dir, sizeof(dir));
	if (rc == 0)
		rc = find_lock_file(ctx, dir, path, sizeof(path), &st);
	if (rc <= 0)
		return rc;
	rc = locks_holder(ctx, &st, pid);
	if (rc == 1)
		return 0;   /* named without opening: a holder asking keeps its lock */
	hmi_err_clear(ctx); /* unreadable /proc/locks: the lock itself answers */
	return probe_lock_file(ctx, path, pid);
}

int hmi_prefix_owner_probe(struct hm_ctx *ctx, const char *dir, pid_t *pid)
{
	char path[HM_PATH_MAX];
	struct stat st;
	int rc;

	*pid = 0;
	rc = find_lock_file(ctx, dir, path, sizeof(path), &st);
	return rc <= 0 ? rc : probe_lock_file(ctx, path, pid);
}

/* mkdir -p of the directories above DIR (0700: nothing else needs them). */
static void make_parents(const char *dir)
{
	char buf[HM_PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return;
	memcpy(buf, dir, n + 1);
	while (n > 0 && buf[n] != '/')
		n--;
	buf[n] = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0700);
		*p = '/';
	}
	if (buf[0])
		mkdir(buf, 0700);
}

/* What fixes a runtime directory others could write or own: one that is the
 * user's own (XDG_RUNTIME_DIR is read only when not root, so not that). */
#define RUNDIR_FIX                                                                                 \
	"it must be yours and writable by you alone: remove it if it is hugemem's (stale or "      \
	"planted), or point HUGEMEM_RUNTIME_DIR (hm_ctx_set_runtime_dir) at a directory of your "  \
	"own, e.g. /run/hugemem for root, $XDG_RUNTIME_DIR/hugemem for others"

static int check_private(struct hm_ctx *ctx, int fd, const char *shown)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hmi_err(ctx, errno, "cannot stat %s: %s", shown, strerror(errno));
	if (st.st_uid != geteuid())
		return hmi_err(ctx, EPERM,
			       "runtime directory %s is owned by uid %u, not %u: " RUNDIR_FIX,
			       shown, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return hmi_err(
		    ctx, EPERM,
		    "runtime directory %s is writable by others (mode %03o): " RUNDIR_FIX, shown,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* mkdirat + open without following a link + owner/mode check. *CREATED
 * (when not NULL) is set when this call made the directory. */
static int open_private_dir(struct hm_ctx *ctx, int at, const char *name, const char *shown,
			    int *created)
{
	int made = mkdirat(at, name, 0700) == 0, fd, rc;

	if (!made && errno != EEXIST)
		return hmi_err(ctx, errno, "cannot create runtime directory %s: %s", shown,
			       strerror(errno));
	if (made && created)
		*created = 1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return hmi_err(
		    ctx, errno,
		    "runtime directory %s is a symbolic link or not a directory: " RUNDIR_FIX,
		    shown);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open runtime directory %s: %s", shown,
			       strerror(errno));
	rc = check_private(ctx, fd, shown);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The lock file, opened or made; *ST its fstat. */
static int open_lock_file(struct hm_ctx *ctx, int dirfd, const char *dir, struct stat *st)
{
	int fd = openat(dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	/* the directory was removed since we opened it (an exiting primary, or
	 * a failed start, removes its empty directory): start again */
	if (fd < 0 && errno == ENOENT)
		return -EAGAIN;
	if (fd < 0 && errno == ELOOP)
		return hmi_err(ctx, ELOOP, "%s/" LOCK_NAME " is a symbolic link: remove it", dir);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s/" LOCK_NAME ": %s", dir,
			       strerror(errno));
	/* EEXIST, not EINVAL: something planted there is no bad command line
	 * (the CLI exits 2 for -EINVAL), and the message names it */
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return hmi_err(ctx, EEXIST, "%s/" LOCK_NAME " is not a regular file: remove it",
			       dir);
	}
	return fd;
}

static int in_use(struct hm_ctx *ctx, const char *prefix, pid_t pid)
{
	if (pid == getpid())
		return hmi_err(ctx, EBUSY,
			       "file prefix '%s' is already held by this process (pid %d)", prefix,
			       (int)pid);
	if (pid > 0)
		return hmi_err(
		    ctx, EBUSY,
		    "file prefix '%s' is in use by pid %d: give another with --file-prefix", prefix,
		    (int)pid);
	return hmi_err(ctx, EBUSY,
		       "file prefix '%s' is in use by a process of another pid namespace: "
		       "give another with --file-prefix",
		       prefix);
}

/* Refuse before opening when this process already holds the lock: opening
 * and closing a second descriptor would silently drop it. */
static int held_here(struct hm_ctx *ctx, int dirfd)
{
	struct stat st;
	pid_t pid = 0;

	if (fstatat(dirfd, LOCK_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return locks_holder(ctx, &st, &pid) == 1 && pid == getpid();
}

/* F_SETLK on FD; when another process holds it, -EBUSY naming it. A holder
 * that exits between our failed F_SETLK and F_GETLK gets us another try. */
static int take_lock(struct hm_ctx *ctx, int fd, const char *prefix)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	pid_t pid = 0;

	for (int tries = 0; tries < 3; tries++) {
		int rc;

		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return hmi_err(ctx, errno, "cannot lock file prefix '%s': %s", prefix,
				       strerror(errno));
		rc = hmi_lock_probe(fd, &pid);
		if (rc == 1)
			return in_use(ctx, prefix, pid);
	}
	return in_use(ctx, prefix, -1);
}

/* Is the file HELD (the lock file's fstat: its inode does not change) still
 * the one named lock in DIRFD? An exiting primary unlinks its lock file (and
 * its directory) while holding it; a process that opened the old file just
 * before then locks an orphan and must start again. */
static int still_linked(int dirfd, const struct stat *held)
{
	struct stat named;

	return fstatat(dirfd, LOCK_NAME, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
	       named.st_dev == held->st_dev && named.st_ino == held->st_ino;
}

/* One attempt: the lock fd, -EAGAIN when the file was unlinked under us.
 * FRESH: DIRFD is a directory this call made, so no lock of this process
 * can be in it (a system call less on every start). */
static int lock_once(struct hm_ctx *ctx, int dirfd, const char *prefix, const char *dir, int fresh)
{
	struct stat st;
	int fd, rc;

	if (!fresh && held_here(ctx, dirfd))
		return in_use(ctx, prefix, getpid());
	fd = open_lock_file(ctx, dirfd, dir, &st);
	if (fd < 0)
		return fd;
	rc = take_lock(ctx, fd, prefix);
	if (rc == 0 && !still_linked(dirfd, &st))
		rc = -EAGAIN;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The exit lock (see hmi_rundir_exit_lock): flock on the directory itself,
 * independent of the POSIX locks on the files in it. */
static void exit_lock(int dirfd)
{
	while (flock(dirfd, LOCK_EX) < 0 && errno == EINTR)
		;
}

int hmi_rundir_exit_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		exit_lock(fd);
	return fd;
}

int hmi_prefix_take_free(const char *dir)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	char path[HM_PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/" LOCK_NAME, dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EBUSY; /* anything else: not ours to judge */
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

/* The prefix is held: when the holder is the last process leaving it, it
 * holds the exit lock while it removes the directory. Wait for that, once,
 * and try again (a live holder is still there then, and named). */
static int wait_for_leaver(struct hm_ctx *ctx, int dirfd, int *waited)
{
	if (*waited)
		return -EBUSY;
	*waited = 1;
	exit_lock(dirfd);
	flock(dirfd, LOCK_UN);
	hmi_err_clear(ctx);
	return -EAGAIN;
}

/* *FRESH: the directory locked is one this call made (nothing of a dead
 * process can be in it). */
static int lock_in(struct hm_ctx *ctx, int basefd, const char *prefix, const char *dir, int *fresh)
{
	int rc = -EAGAIN, created = 0, waited = 0;

	for (int tries = 0; rc == -EAGAIN && tries < 8; tries++) {
		int made = 0, dirfd = open_private_dir(ctx, basefd, prefix, dir, &made);

		if (dirfd < 0) {
			rc = dirfd;
			break;
		}
		created |= made;
		rc = lock_once(ctx, dirfd, prefix, dir, made);
		if (rc == -EBUSY)
			rc = wait_for_leaver(ctx, dirfd, &waited);
		close(dirfd);
		*fresh = made;
	}
	if (rc == -EAGAIN)
		rc =
		    hmi_err(ctx, EBUSY, "file prefix '%s' keeps changing hands: try again", prefix);
	/* a failed start leaves no empty directory it made (e.g. the descriptor
	 * limit met before the lock file); one holding a file is not ours to
	 * remove, and rmdir refuses it */
	if (rc < 0 && created)
		unlinkat(basefd, prefix, AT_REMOVEDIR);
	return rc;
}

void hmi_prefix_release(const char *dir, int fd)
{
	char path[HM_PATH_MAX];

	/* unlinked while still held: a process that opened it meanwhile sees
	 * it is no longer linked and starts again (still_linked) */
	if (snprintf(path, sizeof(path), "%s/" LOCK_NAME, dir) < (int)sizeof(path)) {
		if (fd >= 0)
			unlink(path);
		rmdir(dir); /* fails, harmlessly, when another process's file is there */
	}
	if (fd >= 0)
		close(fd);
}

int hmi_prefix_lock(struct hm_ctx *ctx, const char *prefix, int *fd, int *fresh)
{
	const char *base = hm_ctx_runtime_dir(ctx);
	char dir[HM_PATH_MAX];
	int basefd, rc;

	*fd = -1;
	*fresh = 0;
	hmi_err_clear(ctx);
	rc = hm_prefix_dir(ctx, prefix, dir, sizeof(dir));
	if (rc < 0)
		return rc;
	basefd = open_private_dir(ctx, AT_FDCWD, base, base, NULL);
	if (basefd == -ENOENT) { /* a parent is missing: mkdir -p only then */
		hmi_err_clear(ctx);
		make_parents(base);
		basefd = open_private_dir(ctx, AT_FDCWD, base, base, NULL);
	}
	if (basefd < 0)
		return basefd;
	rc = lock_in(ctx, basefd, prefix, dir, fresh);
	close(basefd);
	if (rc < 0)
		return rc;
	*fd = rc;
	return 0;
}

int hm_prefix_lock(struct hm_ctx *ctx, const char *prefix, int *fd)
{
	int fresh;

	return hmi_prefix_lock(ctx, prefix, fd, &fresh);
}

int hm_prefixes_live(struct hm_ctx *ctx, char (*names)[HM_PREFIX_MAX], pid_t *pids, int max)
{
	const char *base = hm_ctx_runtime_dir(ctx);
	DIR *d = opendir(base);
	struct dirent *e;
	int n = 0;

	if (!d && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (!d)
		return hmi_err(ctx, errno, "cannot read runtime directory %s: %s", base,
			       strerror(errno));
	while (n < max && (e = readdir(d)) != NULL) {
		pid_t pid = 0;

		/* names that are no prefix (and "."/"..") are not ours to judge */
		if (!prefix_ok(e->d_name) || hm_prefix_owner(ctx, e->d_name, &pid) < 0 || pid == 0)
			continue;
		memcpy(names[n], e->d_name, strlen(e->d_name) + 1); /* < HM_PREFIX_MAX */
		pids[n++] = pid;
	}
	closedir(d);
	hmi_err_clear(ctx); /* a prefix we skipped is no failure of this call */
	return n;
}
