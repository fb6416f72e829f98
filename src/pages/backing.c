/* SPDX-License-Identifier: MIT */
/*
 * pages/backing.c — the objects hugepages are mapped from: page files, one
 * single file or memfd per node, and how they are created, grown, rolled
 * back, punched and removed.
 *
 * Page files ("<dir>/<prefix>map_<n>", one per page) follow DPDK: created
 * with O_EXCL (an existing name means another process owns the prefix, or a
 * crashed one left it: the message names 'hugemem clear'), locked with a
 * shared flock, sized to one page and mapped MAP_SHARED; then the descriptor
 * is closed at once. The mapping keeps the open file — and with it the flock
 * — alive, so descriptors stay bounded however many pages are mapped, and
 * cleaners (ours, DPDK's) that probe with flock(LOCK_EX|LOCK_NB) see the file
 * as live. Those cleaners hold their exclusive lock for a moment while
 * probing, so our LOCK_SH is retried a few times before giving up.
 * A cleaner that locks a new, still empty file between its creation and our
 * flock would unlink it; the mapping then works like --huge-unlink. hugedir
 * holds the mount's directory lock while cleaning, which DPDK also takes.
 *
 * Single files ("<dir>/<prefix>map_<size>_<node>", e.g. hmmap_2M_0) and
 * memfds (MFD_HUGETLB with the page size in the flags) are one object per
 * node whose descriptor stays open (bounded: one per node). Each map call
 * grows the object with ftruncate and maps the new part; released pages are
 * punched out (FALLOC_FL_PUNCH_HOLE), which returns them to the pool at once,
 * and offsets are never reused. A page file's page returns to the pool when
 * its last mapping AND its last link are gone: release unmaps, then unlinks.
 *
 * Rollback (hmi_backings_undo) runs after the caller unmapped the call's VA
 * range: new objects are unlinked and closed, a grown object is truncated
 * back (hugetlbfs frees the pages beyond the new end).
 */
#include "pages/backing.h"
#include "hugedir/hugedir.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TRIES    20       /* shared flock attempts while a cleaner probes */
#define LOCK_RETRY_NS 5000000L /* 5 ms between them */
#define NAME_MAX_LEN  (HM_PATH_MAX + 96)

static const char *prefix_of(const struct hmi_pageset *ps)
{
	return ps->prefix ? ps->prefix : "";
}

/* Room for MORE backings, so appending never fails half-way. */
static int backings_room(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t more)
{
	void *arr = ps->backings;
	int rc = hmi_array_reserve(ctx, &arr, &ps->cap_backings, ps->n_backings + more,
				   sizeof(*ps->backings), 16, "backing records");

	ps->backings = arr;
	return rc;
}

/* Append a backing; the caller made room. PATH is copied (NULL: none). */
static int backing_add(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, int fd,
		       const char *path, uint32_t *index)
{
	struct hmi_backing *b = &ps->backings[ps->n_backings];

	*b = (struct hmi_backing){.kind = ps->kind, .node = node, .fd = fd}; /* no stale inode */
	if (path && !(b->path = strdup(path)))
		return hmi_err(ctx, ENOMEM, "out of memory for the path %s", path);
	*index = (uint32_t)ps->n_backings++;
	return 0;
}

/* flock(LOCK_SH), retried while a cleaner's probing LOCK_EX is in the way. */
int hmi_flock_shared(struct hm_ctx *ctx, int fd, const char *path)
{
	const struct timespec pause = {0, LOCK_RETRY_NS};
	int tries;

	for (tries = 0; tries < LOCK_TRIES; tries++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return hmi_err(ctx, errno, "cannot lock %s: %s", path, strerror(errno));
		nanosleep(&pause, NULL);
	}
	return hmi_err(ctx, EBUSY,
		       "%s stays locked exclusively by another process (a cleaner?): try again",
		       path);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The mount's directory, opened once: every file is created, checked and
 * removed relative to it, by one path component. */
static int dir_fd(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	if (ps->dir_fd < 0)
		ps->dir_fd = open(ps->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ps->dir_fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", ps->dir, strerror(errno));
	return ps->dir_fd;
}

static int name_taken(struct hm_ctx *ctx, const struct hmi_pageset *ps, const char *path)
{
	struct stat st;

	/* `clear` removes only page files (regular files): anything else at the
	 * name is someone's, for its owner to remove */
	if (fstatat(ps->dir_fd, base_name(path), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(st.st_mode))
		return hmi_err(ctx, EEXIST,
			       "%s exists and is not a regular file (not a page file: 'hugemem "
			       "clear' leaves it): remove it, or use another --file-prefix",
			       path);
	return hmi_err(ctx, EEXIST,
		       "%s exists: another process uses prefix %s? run 'hugemem clear "
		       "--file-prefix %s'",
		       path, prefix_of(ps), prefix_of(ps));
}

/* FD's inode into *ID, and into the prefix's record under NAME. */
static int prove_new(struct hm_ctx *ctx, const struct hmi_pageset *ps, int fd, const char *name,
		     struct hmi_backing *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hmi_err(ctx, errno, "cannot stat the new %s: %s", name, strerror(errno));
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->uid = (uint32_t)st.st_uid;
	return ps->record_fd < 0 ? 0 : hmi_record_add(ctx, ps->record_fd, id->dev, id->ino, name);
}

/* Where a nameless file cannot be made: create by name, record just after
 * (hugedir/record.c says what a kill between the two leaves). */
static int create_named(struct hm_ctx *ctx, struct hmi_pageset *ps, const char *path,
			struct hmi_backing *id)
{
	const char *name = base_name(path);
	int fd = openat(ps->dir_fd, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0 && errno == EEXIST)
		return name_taken(ctx, ps, path);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot create %s: %s", path, strerror(errno));
	rc = prove_new(ctx, ps, fd, name, id);
	if (rc == 0)
		rc = hmi_flock_shared(ctx, fd, path);
	if (rc < 0) {
		unlinkat(ps->dir_fd, name, 0);
		close(fd);
		return rc;
	}
	return fd;
}

/* A new file at PATH, share-locked, its inode recorded BEFORE it has a
 * name: made nameless (O_TMPFILE), recorded, locked (so no cleaner ever sees
 * it unlocked), then linked. *ID gets its inode. */
static int create_file(struct hm_ctx *ctx, struct hmi_pageset *ps, const char *path,
		       struct hmi_backing *id)
{
	const char *name = base_name(path);
	int dfd = dir_fd(ctx, ps), fd, rc;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		return create_named(ctx, ps, path, id);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot create %s: %s", path, strerror(errno));
	rc = prove_new(ctx, ps, fd, name, id);
	if (rc == 0)
		rc = hmi_flock_shared(ctx, fd, path);
	if (rc == 0 && linkat(fd, "", dfd, name, AT_EMPTY_PATH) < 0) {
		if (errno == ENOENT) { /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before 6.10 */
			close(fd);
			return create_named(ctx, ps, path, id);
		}
		rc = errno == EEXIST
			 ? name_taken(ctx, ps, path)
			 : hmi_err(ctx, errno, "cannot create %s: %s", path, strerror(errno));
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Is NAME in DFD still the file B created (same inode and owner)? */
static int still_ours(int dfd, const char *name, const struct hmi_backing *b)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_dev == b->dev && (uint64_t)st.st_ino == b->ino &&
	       (uint32_t)st.st_uid == b->uid;
}

/* What unlink_renamed looks for in each name of the mount. */
struct renamed {
	int dfd;
	const struct hmi_backing *b;
};

static int unlink_if_ours(const char *name, uint64_t ino, void *arg)
{
	const struct renamed *r = arg;

	return ino == r->b->ino && still_ours(r->dfd, name, r->b) && unlinkat(r->dfd, name, 0) == 0;
}

/* B's file is no longer at its name: remove it under the name it was
 * renamed to in the mount (one pass over the directory, only then, by
 * hmi_dir_each: readdir's buffer on hugetlbfs is 1 MiB). 1 when found and
 * removed. */
static int unlink_renamed(int dfd, const struct hmi_backing *b)
{
	struct renamed r = {dfd, b};

	return hmi_dir_each(dfd, unlink_if_ours, &r) == 1;
}

/* Remove B's file, never another: by its name while that is still its
 * inode, else wherever in the mount it was renamed to. 0 also when it is
 * gone (nothing holds its page then); -ESTALE when another file has its name
 * and it is nowhere to be found; -errno. */
static int remove_ours(int dfd, const struct hmi_backing *b)
{
	const char *name = base_name(b->path);
	struct stat st;

	if (dfd < 0)
		return 0; /* never opened: no file was created */
	if (still_ours(dfd, name, b))
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	if (unlink_renamed(dfd, b))
		return 0;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? 0 : -ESTALE;
}

static int removal_failed(struct hm_ctx *ctx, const struct hmi_pageset *ps,
			  const struct hmi_backing *b, int rc)
{
	if (rc == -ESTALE)
		return hmi_err(ctx, ESTALE,
			       "%s is not the file this process created there (renamed or "
			       "replaced by another user of the mount?): left it; the page it "
			       "held is in no file of %s that hugemem can prove is its own",
			       b->path, ps->dir);
	return hmi_err(ctx, -rc, "cannot remove %s: %s", b->path, strerror(-rc));
}

/* mmap(MAP_SHARED | MAP_FIXED | EXTRA) of LEN bytes of FD at VA. */
static int map_fixed_flags(struct hm_ctx *ctx, int fd, void *va, uint64_t len, uint64_t offset,
			   const char *what, int extra)
{
	void *got = mmap(va, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | extra, fd,
			 (off_t)offset);

	if (got == MAP_FAILED)
		return hmi_err(ctx, errno, "cannot map %" PRIu64 " bytes of %s at %p: %s", len,
			       what, va, strerror(errno));
	return 0;
}

static int map_fixed(struct hm_ctx *ctx, int fd, void *va, uint64_t len, uint64_t offset,
		     const char *what)
{
	return map_fixed_flags(ctx, fd, va, len, offset, what, 0);
}

static int page_file_path(struct hm_ctx *ctx, struct hmi_pageset *ps, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%smap_%" PRIu64, ps->dir, prefix_of(ps), ps->next_file);

	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "page file name in %s is too long", ps->dir);
	ps->next_file++;
	return 0;
}

/* One page file mapped at VA. The backing is recorded as soon as the file
 * exists, so a failure later leaves it for the rollback to remove. */
static int page_file_map(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *va)
{
	char path[NAME_MAX_LEN];
	struct hmi_backing id = {0};
	uint32_t index;
	int fd, rc;

	rc = page_file_path(ctx, ps, path, sizeof(path));
	if (rc < 0)
		return rc;
	fd = create_file(ctx, ps, path, &id);
	if (fd < 0)
		return fd;
	rc = backing_add(ctx, ps, node, -1, path, &index);
	if (rc < 0) {
		remove_ours(ps->dir_fd, &id);
		close(fd);
		return rc;
	}
	ps->backings[index].size = ps->page_size;
	ps->backings[index].dev = id.dev;
	ps->backings[index].ino = id.ino;
	ps->backings[index].uid = id.uid;
	if (ftruncate(fd, (off_t)ps->page_size) < 0)
		rc = hmi_err(ctx, errno, "cannot size %s to one page: %s", path, strerror(errno));
	if (rc == 0)
		rc = map_fixed(ctx, fd, va, ps->page_size, 0, path);
	close(fd); /* the mapping keeps the file and its flock */
	if (rc == 0 && ps->unlink_files && remove_ours(ps->dir_fd, &ps->backings[index]) == 0) {
		free(ps->backings[index].path);
		ps->backings[index].path = NULL;
	}
	return rc;
}

int hmi_backing_page_files(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *base,
			   size_t count, size_t *mapped)
{
	int rc = backings_room(ctx, ps, count);
	size_t i;

	*mapped = 0;
	if (rc < 0)
		return rc;
	for (i = 0; i < count; i++) {
		rc = page_file_map(ctx, ps, node, base + i * ps->page_size);
		if (rc < 0)
			return rc;
		*mapped = i + 1;
	}
	return 0;
}

static int node_object_find(const struct hmi_pageset *ps, int node)
{
	size_t i;

	for (i = 0; i < ps->n_backings; i++)
		if (ps->backings[i].node == node && ps->backings[i].fd >= 0)
			return (int)i;
	return -1;
}

static int open_single_file(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *path,
			    size_t len, struct hmi_backing *id)
{
	char size[32], node_name[16];
	int n;

	hmi_format_size_short(ps->page_size, size, sizeof(size));
	if (node >= 0)
		snprintf(node_name, sizeof(node_name), "%d", node);
	else
		snprintf(node_name, sizeof(node_name), "any");
	n = snprintf(path, len, "%s/%smap_%s_%s", ps->dir, prefix_of(ps), size, node_name);
	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "single file name in %s is too long", ps->dir);
	return create_file(ctx, ps, path, id);
}

static int open_memfd(struct hm_ctx *ctx, const struct hmi_pageset *ps, int node)
{
	unsigned shift = (unsigned)__builtin_ctzll(ps->page_size);
	char name[HM_PREFIX_MAX + 32];
	int fd;

	snprintf(name, sizeof(name), "hugemem:%s:%d", prefix_of(ps), node);
	/* sealable: a memfd becomes a dma-buf (/dev/udmabuf) only once sealed
	 * against shrinking, which hmi_pageset_seal does when the size is final */
	fd = hmi_memfd_create(name, MFD_HUGETLB | MFD_CLOEXEC | MFD_ALLOW_SEALING |
					(shift << MFD_HUGE_SHIFT));
	if (fd == -ENOSYS || fd == -EINVAL)
		return hmi_err(ctx, -fd,
			       "memfd_create(MFD_HUGETLB) of pages of %" PRIu64
			       " bytes failed: %s (needs Linux 4.14+ and that page size)",
			       ps->page_size, strerror(-fd));
	if (fd < 0)
		return hmi_err(ctx, -fd, "memfd_create(%s) failed: %s", name, strerror(-fd));
	return fd;
}

static int node_object_create(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, uint32_t *index)
{
	char path[NAME_MAX_LEN];
	struct hmi_backing id = {0};
	int single = ps->kind == HMI_BACK_SINGLE_FILE, fd, rc;

	rc = backings_room(ctx, ps, 1);
	if (rc < 0)
		return rc;
	fd = single ? open_single_file(ctx, ps, node, path, sizeof(path), &id)
		    : open_memfd(ctx, ps, node);
	if (fd < 0)
		return fd;
	rc = backing_add(ctx, ps, node, fd, single ? path : NULL, index);
	if (rc < 0) {
		if (single)
			remove_ours(ps->dir_fd, &id);
		close(fd);
		return rc;
	}
	ps->backings[*index].dev = id.dev;
	ps->backings[*index].ino = id.ino;
	ps->backings[*index].uid = id.uid;
	return 0;
}

int hmi_backing_node_map(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, char *base,
			 size_t count, uint32_t *index, uint64_t *offset)
{
	uint64_t len = (uint64_t)count * ps->page_size;
	struct hmi_backing *b;
	int found = node_object_find(ps, node), rc = 0;
	char what[64];

	if (found >= 0)
		*index = (uint32_t)found;
	else
		rc = node_object_create(ctx, ps, node, index);
	if (rc < 0)
		return rc;
	b = &ps->backings[*index];
	if (b->size > (uint64_t)INT64_MAX - len)
		return hmi_err(ctx, EFBIG, "backing of node %d would pass the largest file size",
			       node);
	snprintf(what, sizeof(what), "the memfd of node %d", node);
	if (ftruncate(b->fd, (off_t)(b->size + len)) < 0)
		return hmi_err(ctx, errno, "cannot grow %s to %" PRIu64 " bytes: %s",
			       b->path ? b->path : what, b->size + len, strerror(errno));
	*offset = b->size;
	b->size += len;
	return map_fixed(ctx, b->fd, base, len, *offset, b->path ? b->path : what);
}

static void backing_destroy(const struct hmi_pageset *ps, struct hmi_backing *b)
{
	if (b->path)
		remove_ours(ps->dir_fd, b);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	b->path = NULL;
	b->fd = -1;
}

void hmi_backings_undo(struct hmi_pageset *ps, size_t n_backings, uint64_t next_file,
		       uint32_t grown, uint64_t old_size)
{
	while (ps->n_backings > n_backings)
		backing_destroy(ps, &ps->backings[--ps->n_backings]);
	if (grown < ps->n_backings && ps->backings[grown].fd >= 0) {
		struct hmi_backing *b = &ps->backings[grown];

		/* a sealed memfd (F_SEAL_SHRINK) does not shrink: punch the pages a
		 * failed populate left in the new part out instead */
		if (ftruncate(b->fd, (off_t)old_size) == 0)
			b->size = old_size;
		else
			fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)old_size, (off_t)(b->size - old_size));
	}
	ps->next_file = next_file;
}

/* Map LEN bytes of FD, whose pages are in the file already, at VA with their
 * page table entries: MAP_POPULATE in the same call, where a separate
 * MADV_POPULATE_WRITE would be a second system call per run of pages (27 of
 * them for a keeper's 64 MiB). Populating cannot be refused here: nothing is
 * allocated, charged or zeroed, so the error MAP_POPULATE would hide cannot
 * happen; pagemap shows the pages present at once (a shared writable
 * hugetlb mapping maps them writable and dirty even on this read fault). */
static int map_existing(struct hm_ctx *ctx, int fd, uint64_t va, uint64_t len, uint64_t offset,
			const char *what)
{
	return map_fixed_flags(ctx, fd, (void *)(uintptr_t)va, len, offset, what, MAP_POPULATE);
}

/* A page file opened again by path: lock it as the first mapping did, since
 * the first mapping's open file (and its flock) goes when it is unmapped. */
static int page_file_remap(struct hm_ctx *ctx, const struct hmi_pageset *ps,
			   const struct hmi_backing *b, uint64_t new_va)
{
	int fd = openat(ps->dir_fd, base_name(b->path),
			O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC),
	    rc;
	struct stat st;

	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s again to move its page: %s", b->path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != b->dev || (uint64_t)st.st_ino != b->ino) {
		close(fd);
		return hmi_err(ctx, ESTALE,
			       "%s is not the file this process created there (renamed or "
			       "replaced?): its page cannot be mapped again",
			       b->path);
	}
	rc = hmi_flock_shared(ctx, fd, b->path);
	if (rc == 0)
		rc = map_existing(ctx, fd, new_va, ps->page_size, 0, b->path);
	close(fd);
	return rc;
}

int hmi_backing_remap(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i, size_t n,
		      uint64_t new_va)
{
	const struct hmi_page *p = &ps->pages[i];
	const struct hmi_backing *b;

	if (ps->kind == HMI_BACK_ANON || p->backing >= ps->n_backings)
		return hmi_err(ctx, ENOTSUP,
			       "page at 0x%" PRIx64 " has no backing object to map it again from",
			       p->va);
	b = &ps->backings[p->backing];
	if (b->fd >= 0)
		return map_existing(ctx, b->fd, new_va, n * ps->page_size, p->offset,
				    b->path ? b->path : "a memfd");
	if (!b->path)
		return hmi_err(
		    ctx, ENOTSUP,
		    "the page file of the page at 0x%" PRIx64
		    " is unlinked (--huge-unlink): it cannot be mapped again at 0x%" PRIx64,
		    p->va, new_va);
	if (n != 1)
		return hmi_err(ctx, EINVAL, "page files are mapped again one page at a time");
	return page_file_remap(ctx, ps, b, new_va);
}

int hmi_backing_drop_page(struct hm_ctx *ctx, struct hmi_pageset *ps, size_t i)
{
	const struct hmi_page *p = &ps->pages[i];
	struct hmi_backing *b;
	int rc;

	if (ps->kind == HMI_BACK_ANON || p->backing >= ps->n_backings)
		return 0;
	b = &ps->backings[p->backing];
	if (b->fd >= 0) {
		if (ps->shared_out)
			return 0;
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)p->offset,
			      (off_t)ps->page_size) < 0)
			return hmi_err(ctx, errno,
				       "cannot punch the page at offset %" PRIu64 " out of %s: %s",
				       p->offset, b->path ? b->path : "a memfd", strerror(errno));
		return 0;
	}
	if (b->path && (rc = remove_ours(ps->dir_fd, b)) < 0)
		return removal_failed(ctx, ps, b, rc);
	free(b->path);
	b->path = NULL;
	return 0;
}

int hmi_backings_release(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	int first = 0, rc;
	size_t i;

	for (i = 0; i < ps->n_backings; i++) {
		struct hmi_backing *b = &ps->backings[i];

		if (b->path && (rc = remove_ours(ps->dir_fd, b)) < 0 && first == 0)
			first = removal_failed(ctx, ps, b, rc);
		free(b->path);
		b->path = NULL;
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
	}
	free(ps->backings);
	ps->backings = NULL;
	ps->n_backings = ps->cap_backings = 0;
	if (ps->dir_fd >= 0)
		close(ps->dir_fd);
	ps->dir_fd = -1;
	return first;
}

int hmi_pageset_seal(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	for (size_t i = 0; i < ps->n_backings; i++) {
		const struct hmi_backing *b = &ps->backings[i];

		if (b->kind != HMI_BACK_MEMFD || b->fd < 0)
			continue;
		if (fcntl(b->fd, F_GET_SEALS) & F_SEAL_SHRINK) /* a keeper's: sealed already */
			continue;
		if (fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
			return hmi_err(ctx, errno,
				       "cannot seal the memfd of node %d against shrinking "
				       "(F_SEAL_SHRINK): %s",
				       b->node, strerror(errno));
	}
	return 0;
}

int hmi_pageset_adopt(struct hm_ctx *ctx, struct hmi_pageset *ps, int node, int fd)
{
	uint32_t index;
	int rc = backings_room(ctx, ps, 1);

	struct stat st;

	if (rc == 0)
		rc = backing_add(ctx, ps, node, fd, NULL, &index);
	if (rc == 0 && fstat(fd, &st) == 0) /* its pages are there already */
		ps->backings[index].size = (uint64_t)st.st_size;
	return rc;
}

int hmi_pageset_refresh(struct hm_ctx *ctx, struct hmi_pageset *ps)
{
	struct stat st;

	for (size_t i = 0; i < ps->n_backings; i++) {
		struct hmi_backing *b = &ps->backings[i];

		if (b->kind == HMI_BACK_PAGE_FILES || b->fd < 0)
			continue;
		if (fstat(b->fd, &st) < 0)
			return hmi_err(ctx, errno, "cannot read the size of node %d's file: %s",
				       b->node, strerror(errno));
		b->size = (uint64_t)st.st_size;
	}
	return 0;
}
