/* SPDX-License-Identifier: MIT */
/*
 * hugedir/record.c — the record a primary keeps of the files it creates, so
 * that it, the next primary of its prefix and `hugemem clear` remove only
 * files hugemem can prove it made (issue 14, items 1 and 7).
 *
 * A name proves nothing: hugetlbfs has no extended attributes, and in a mount
 * others may write anyone can create "<prefix>map_<n>" or rename ours. What
 * proves a file is ours is its inode: <runtime dir>/files holds one line per
 * file the prefix created, "<st_dev> <st_ino> <name>\n", appended with one
 * write (O_APPEND) BEFORE the file gets its name. The file is created
 * nameless (O_TMPFILE), fstat'd, recorded, then linked under its name
 * (linkat AT_EMPTY_PATH). A SIGKILL at any moment therefore leaves either a
 * nameless inode the kernel frees, or a named file whose inode is recorded:
 * the next primary of the prefix or `clear` finds it, and a record naming a
 * file whose inode does not match proves nothing. Where O_TMPFILE or the
 * link is refused (old kernels) the file is created by name and recorded
 * just after; a kill between the two leaves a file no record proves, which
 * `clear` then lists as not hugemem's, with how to remove it by hand.
 *
 * A file is proved by a record when its device and inode are in it and its
 * owner is the record's owner (inode numbers of hugetlbfs come from a
 * counter, so a recorded number is not soon given to another file; the owner
 * check keeps another user's file out even then). The record and its
 * directory must be this user's or root's and writable by no one else: what
 * another user can write proves nothing.
 */
#include "hugedir/hugedir.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (64u << 20) /* beyond this a file is not a record */

int hmi_record_open(struct hm_ctx *ctx, const char *rundir, int *fd)
{
	char path[HM_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/" HMI_RECORD_FILE, rundir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return hmi_err(ctx, ENAMETOOLONG, "runtime path %s is too long", rundir);
	/* truncated: the prefix's previous files are cleared before this */
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return hmi_err(ctx, errno, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

int hmi_record_add(struct hm_ctx *ctx, int fd, uint64_t dev, uint64_t ino, const char *name)
{
	char line[HM_PATH_MAX];
	int n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %s\n", dev, ino, name);

	if (n < 0 || (size_t)n >= sizeof(line))
		return hmi_err(ctx, ENAMETOOLONG, "file name %s is too long to record", name);
	if (write(fd, line, (size_t)n) != n) /* O_APPEND: one line, whole, at the end */
		return hmi_err(ctx, errno ? errno : EIO,
			       "cannot record %s in the runtime directory: %s", name,
			       strerror(errno ? errno : EIO));
	return 0;
}

void hmi_record_remove(const char *rundir)
{
	char path[HM_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/" HMI_RECORD_FILE, rundir);

	if (n > 0 && (size_t)n < sizeof(path))
		unlink(path);
}

/* ------------------------------------------------------------------ reading */

static int entry_cmp(const void *a, const void *b)
{
	const struct hmi_record_entry *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

/* One line "<dev> <ino> <name>" (name: no '/', no space); -EINVAL if not. */
static int parse_line(const char *p, const char *end, struct hmi_record_entry *e)
{
	const char *q;
	uint64_t dev, ino;

	if (p >= end || (size_t)(end - p) >= HM_PATH_MAX)
		return -EINVAL;
	if (hmi_scan_u64(p, end, 10, &dev, &q) < 0 || q >= end || *q++ != ' ')
		return -EINVAL;
	if (hmi_scan_u64(q, end, 10, &ino, &q) < 0 || q >= end || *q++ != ' ')
		return -EINVAL;
	if (q == end || *q == '\0')
		return -EINVAL;
	for (; q < end && *q; q++) /* the name ends at a NUL, if any */
		if (*q == '/' || *q == ' ')
			return -EINVAL;
	e->dev = dev;
	e->ino = ino;
	return 0;
}

int hmi_record_parse(const char *text, size_t len, struct hmi_record_set *set)
{
	const char *p = text, *end = text + len;
	size_t cap = 0;

	set->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct hmi_record_entry e;

		if (!nl)
			break; /* a line cut by a kill: its file was never linked */
		if (parse_line(p, nl, &e) == 0) {
			if (set->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *grown = realloc(set->e, nc * sizeof(*set->e));

				if (!grown)
					return -ENOMEM;
				set->e = grown;
				cap = nc;
			}
			set->e[set->n++] = e;
		}
		p = nl + 1;
	}
	if (set->n)
		qsort(set->e, set->n, sizeof(*set->e), entry_cmp);
	return 0;
}

/* An open descriptor that is this user's or root's and writable by no one
 * else: 0, else -EPERM. */
static int trusted(int fd, int want_dir, uid_t *owner)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		return -EPERM;
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	if (!want_dir && st.st_size > (off_t)RECORD_MAX)
		return -EFBIG;
	*owner = st.st_uid;
	return 0;
}

static int read_fd(int fd, struct hmi_record_set *set)
{
	struct stat st;
	char *text;
	ssize_t got;
	int rc;

	if (fstat(fd, &st) < 0)
		return -errno;
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return -ENOMEM;
	got = pread(fd, text, (size_t)st.st_size, 0);
	rc = got < 0 ? -errno : hmi_record_parse(text, (size_t)got, set);
	free(text);
	return rc;
}

int hmi_record_load(const char *rundir, struct hmi_record_set *set)
{
	int dfd = open(rundir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd = -1, rc;
	uid_t dir_owner = 0;

	memset(set, 0, sizeof(*set));
	if (dfd < 0)
		return -errno;
	rc = trusted(dfd, 1, &dir_owner);
	if (rc == 0) {
		fd = openat(dfd, HMI_RECORD_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		rc = fd < 0 ? -errno : trusted(fd, 0, &set->owner);
	}
	if (rc == 0 && set->owner != dir_owner)
		rc = -EPERM;
	if (rc == 0)
		rc = read_fd(fd, set);
	if (fd >= 0)
		close(fd);
	close(dfd);
	if (rc < 0)
		hmi_record_free(set);
	return rc;
}

int hmi_record_proves(const struct hmi_record_set *set, const struct stat *st)
{
	struct hmi_record_entry key = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};

	return set->n > 0 && S_ISREG(st->st_mode) && st->st_uid == set->owner &&
	       bsearch(&key, set->e, set->n, sizeof(*set->e), entry_cmp) != NULL;
}

void hmi_record_free(struct hmi_record_set *set)
{
	free(set->e);
	memset(set, 0, sizeof(*set));
}
