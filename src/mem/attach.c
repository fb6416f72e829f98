/* SPDX-License-Identifier: MIT */
/*
 * mem/attach.c — the secondary's side of sharing (docs/design.md, C), hm_attach:
 * read the layout, check that the primary that published it still holds the
 * prefix's liveness lock, take a read lock on <rundir>/clients (how a later
 * primary knows secondaries outlive a dead primary, and names them), reserve
 * the primary's whole VA window with MAP_FIXED_NOREPLACE (or say which
 * mapping of /proc/self/maps is in the way), then map every page at its
 * published address from its backing object (page files and single files by
 * path, memfds by descriptor). Every failure unmaps the window and drops the
 * lock: nothing is left. The runtime directory's other uses: rundir.c.
 */
#include "heap/heap.h"
#include "hugedir/hugedir.h"
#include "mem/mem.h"
#include "grow/grow.h"
#include "options/options.h"
#include "base/platform.h"
#include "parse/parse.h"
#include "sys/pagemap.h"
#include "sys/sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The primary's heap and zones (heap/heap.h). The memory is mapped and usable
 * without them (an application may write over the arena, or the primary
 * may not be a hugemem primary of this version): the attach succeeds and
 * every heap or zone call then says why there is none. */
static int open_arena(struct hm_ctx *ctx, struct hmi_mem *m)
{
	int rc = hmi_arena_open(ctx);

	if (rc == 0 || rc == -EOPNOTSUPP) /* a growing primary's: refused outright */
		return rc;
	snprintf(m->heap.err, sizeof(m->heap.err), "%s", hm_errmsg(ctx));
	hmi_err_clear(ctx);
	return 0;
}
/* ------------------------------------------------------------------ secondary: attach */

static int check_primary(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hmi_shconf *sc)
{
	pid_t owner = 0;
	/* asking the lock directly is ~10x cheaper than /proc/locks, but would
	 * drop the lock if this very process were the primary */
	int rc = sc->pid == getpid() ? hm_prefix_owner(ctx, m->tab.prefix, &owner)
				     : hmi_prefix_owner_probe(ctx, m->rundir, &owner);

	if (rc < 0)
		return rc;
	if (owner == 0)
		return hmi_err(ctx, ESRCH,
			       "the primary of prefix '%s' (pid %d) is gone: its layout is stale; "
			       "start a new primary (it cleans up)",
			       m->tab.prefix, (int)sc->pid);
	if (owner > 0 && owner != sc->pid)
		return hmi_err(
		    ctx, ESTALE,
		    "prefix '%s' is held by pid %d but its layout was published by pid %d: "
		    "the primary is restarting; try again",
		    m->tab.prefix, (int)owner, (int)sc->pid);
	return 0;
}

static int hold_clients_lock(struct hm_ctx *ctx, struct hmi_mem *m)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	char path[HM_PATH_MAX];
	int rc = hmi_rundir_file(ctx, m, HMI_CLIENTS_FILE, path, sizeof(path));

	if (rc < 0)
		return rc;
	m->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m->lock_fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	if (fcntl(m->lock_fd, F_SETLK, &fl) < 0)
		return hmi_err(ctx, errno, "cannot lock %s: %s", path, strerror(errno));
	return 0;
}

/* The first line of /proc/self/maps overlapping [BASE, BASE+LEN) into BUF. */
static void maps_in_way(struct hm_ctx *ctx, uint64_t base, uint64_t len, char *buf, size_t n)
{
	char path[HM_PATH_MAX], *text = NULL;
	size_t size = 0;

	snprintf(buf, n, "(unknown)");
	if (hmi_path(ctx, path, sizeof(path), "/proc/self/maps") < 0 ||
	    hmi_read_alloc(ctx, path, 64 << 20, &text, &size) < 0)
		return;
	for (const char *line = text, *end = text + size; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t line_len = (size_t)((nl ? nl : end) - line);
		struct hmi_maps_line m;

		if (hmi_parse_maps_line(line, line_len, &m) == 0 && m.start < base + len &&
		    m.end > base) {
			snprintf(buf, n, "%.*s", (int)line_len, line);
			break;
		}
		line += line_len + 1;
	}
	free(text);
}

static int reserve_published_window(struct hm_ctx *ctx, struct hmi_mem *m,
				    const struct hmi_shconf *sc)
{
	char line[512];
	int rc = hmi_window_reserve(ctx, sc->va_base, sc->va_len);

	if (rc == -EEXIST) {
		maps_in_way(ctx, sc->va_base, sc->va_len, line, sizeof(line));
		return hmi_err(ctx, EEXIST,
			       "the primary's VA window 0x%llx-0x%llx is taken in this process by "
			       "'%s': attach earlier in start-up, or restart the primary with "
			       "another --base-virtaddr",
			       (unsigned long long)sc->va_base,
			       (unsigned long long)sc->va_base + sc->va_len, line);
	}
	if (rc == 0) {
		m->window_base = sc->va_base;
		m->window_len = sc->va_len;
	}
	return rc;
}

/* The primary's mount, opened once: every backing is opened relative to
 * it, by one path component, and must be on this hugetlbfs. */
static int open_mount_dir(struct hm_ctx *ctx, const struct hmi_shconf *sc, int *dfd)
{
	uint64_t bsize = 0;

	*dfd = open(sc->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return hmi_err(ctx, errno, "cannot open %s, the primary's mount (pid %d): %s",
			       sc->dir, (int)sc->pid, strerror(errno));
	if (hmi_fd_hugetlbfs(*dfd, &bsize) != 1 || bsize != sc->page_size)
		return hmi_err(ctx, EINVAL,
			       "%s is not a hugetlbfs mount of %llu-byte pages, as the primary "
			       "(pid %d) published: refusing it",
			       sc->dir, (unsigned long long)sc->page_size, (int)sc->pid);
	return 0;
}

/* Is FD (opened as PATH) the file the primary created as backing B? Proved
 * on the descriptor that is then mapped: its inode, owner and size are what
 * the primary recorded (a name proves nothing in a mount others may write:
 * hugetlbfs has no extended attributes to mark a file with). */
static int prove_backing(struct hm_ctx *ctx, const struct hmi_shconf *sc, size_t b, int fd,
			 const char *path)
{
	const struct hmi_shconf_backing *r = &sc->backings[b];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hmi_err(ctx, errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != r->dev || (uint64_t)st.st_ino != r->ino)
		return hmi_err(ctx, EPERM,
			       "%s is not the page file the primary (pid %d) created (inode %llu, "
			       "owner uid %u; it created inode %llu): renamed or replaced by "
			       "another user of the mount? refusing it",
			       path, (int)sc->pid, (unsigned long long)st.st_ino,
			       (unsigned)st.st_uid, (unsigned long long)r->ino);
	if ((uint32_t)st.st_uid != r->uid || (uint64_t)st.st_size < r->size)
		return hmi_err(ctx, EPERM,
			       "%s is owned by uid %u and %lld bytes, the primary's file by uid "
			       "%u and %llu bytes: refusing it",
			       path, (unsigned)st.st_uid, (long long)st.st_size, (unsigned)r->uid,
			       (unsigned long long)r->size);
	return 0;
}

/* The descriptor of backing B, opened once without following a link or
 * blocking (a FIFO or a lock planted there cannot hang us), proved, then
 * share-locked as a live page file must be (never waiting long: the proof
 * came first, so only the primary's own user could hold it). */
static int open_backing(struct hm_ctx *ctx, const struct hmi_shconf *sc, int dfd, size_t b, int *fd)
{
	char path[HM_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", sc->dir, sc->backings[b].name), rc;

	if (n < 0 || (size_t)n >= sizeof(path))
		return hmi_err(ctx, ENAMETOOLONG, "backing path in %s is too long", sc->dir);
	*fd = openat(dfd, sc->backings[b].name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		return hmi_err(ctx, errno,
			       "cannot open %s, a page file of the primary (pid %d): %s", path,
			       (int)sc->pid, strerror(errno));
	rc = prove_backing(ctx, sc, b, *fd, path);
	if (rc == 0)
		rc = hmi_flock_shared(ctx, *fd, path);
	if (rc < 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* Pages I.. that continue each other in VA and in the same backing's
 * offsets: one mmap maps them all (an ordered pool, faulted in order, gives
 * long such stretches). The count. */
static size_t stretch(const struct hmi_shconf *sc, size_t i)
{
	const struct hmi_page *p = sc->pages;
	size_t n = 1;

	while (i + n < sc->n_pages && p[i + n].backing == p[i].backing &&
	       p[i + n].va == p[i].va + n * sc->page_size &&
	       p[i + n].offset == p[i].offset + n * sc->page_size)
		n++;
	return n;
}

static int map_stretch(struct hm_ctx *ctx, const struct hmi_shconf *sc, size_t i, size_t n, int fd)
{
	const struct hmi_page *p = &sc->pages[i];

	if (mmap((void *)(uintptr_t)p->va, n * sc->page_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, (off_t)p->offset) == MAP_FAILED)
		return hmi_err(ctx, errno, "cannot map page %zu at 0x%llx: %s", i,
			       (unsigned long long)p->va, strerror(errno));
	return 0;
}

/* Map every page at its published address; a page file's descriptor is
 * closed once mapped (the mapping keeps file and lock), a node file's or
 * memfd's once all its pages are. */
static int map_pages(struct hm_ctx *ctx, const struct hmi_shconf *sc, int dfd, int *fds)
{
	int per_page = sc->kind == HMI_BACK_PAGE_FILES, rc = 0;

	for (size_t i = 0, n; rc == 0 && i < sc->n_pages; i += n) {
		uint32_t b = sc->pages[i].backing;

		n = per_page ? 1 : stretch(sc, i);
		if (fds[b] < 0)
			rc = open_backing(ctx, sc, dfd, b, &fds[b]);
		if (rc == 0)
			rc = map_stretch(ctx, sc, i, n, fds[b]);
		if (per_page && fds[b] >= 0) {
			close(fds[b]);
			fds[b] = -1;
		}
	}
	return rc;
}

/* The primary's DMA domain over the descriptors FDS (hmi_shconf_fd_count's
 * order, after the memfds): ours from here on, closed by hm_fini. */
static int adopt_dma(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc, int *fds)
{
	size_t n_fds = hmi_shconf_fd_count(sc) - hmi_shconf_memfd_count(sc);
	int rc = hmi_dma_adopt(ctx, sc, fds, &m->dma);

	ctx->dma = m->dma;
	for (size_t i = 0; i < n_fds; i++)
		fds[i] = -1; /* the domain's now, or closed by the failed adoption */
	return rc;
}

/* The descriptors the primary serves (memfds, the DMA domain's) into FDS:
 * memfds at their backing's index, the domain's after N_BACKINGS. */
static int fetch_fds(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hmi_shconf *sc,
		     int *fds)
{
	size_t n = hmi_shconf_fd_count(sc);
	int *at = hmi_shconf_memfd_count(sc) ? fds : fds + sc->n_backings;

	return n ? hmi_fdclient_fetch(ctx, m->rundir, at, n) : 0;
}

/* What a secondary keeps to follow a primary that grows (grow/share.c):
 * the backings' descriptors (memfds, single files: taken from FDS) or the
 * mount (page files). A primary that does not grow: let go when the arena
 * says so (heap/arena.c). */
static int keep_for_growth(struct hm_ctx *ctx, const struct hmi_mem *m, const struct hmi_shconf *sc,
			   int *fds, int dfd)
{
	struct hmi_grow_follower f = {.dir_fd = -1, .kind = sc->kind};
	int per_page = sc->kind == HMI_BACK_PAGE_FILES;

	f.uid = sc->n_backings ? sc->backings[0].uid : 0;
	snprintf(f.prefix, sizeof(f.prefix), "%s", m->tab.prefix);
	snprintf(f.dir, sizeof(f.dir), "%s", sc->dir);
	if (per_page && (f.dir_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return hmi_err(ctx, errno, "cannot keep the primary's mount open: %s",
			       strerror(errno));
	if (!per_page && (!(f.fds = malloc((sc->n_backings + 1) * sizeof(*f.fds))) ||
			  !(f.nodes = malloc((sc->n_backings + 1) * sizeof(*f.nodes))))) {
		free(f.fds);
		return hmi_err(ctx, ENOMEM, "out of memory attaching");
	}
	for (size_t b = 0; !per_page && b < sc->n_backings; b++) {
		f.nodes[f.n_fds] = sc->backings[b].node;
		f.fds[f.n_fds++] = fds[b];
		fds[b] = -1; /* the follower's now */
	}
	return hmi_grow_follow_prepare(ctx, &f); /* takes them, even when it fails */
}

static int map_all(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc)
{
	size_t n_all = sc->n_backings + hmi_shconf_fd_count(sc) + 1;
	int *fds = malloc(n_all * sizeof(*fds)), rc = 0, dfd = -1;

	if (!fds)
		return hmi_err(ctx, ENOMEM, "out of memory attaching");
	for (size_t b = 0; b < n_all; b++)
		fds[b] = -1;
	rc = fetch_fds(ctx, m, sc, fds);
	if (rc == 0 && sc->keeper_dir[0]) /* a keeper's chunks: from it, held from then on */
		rc = hmi_mem_keeper_fetch(ctx, m, sc, fds);
	if (rc == 0 && sc->kind != HMI_BACK_MEMFD)
		rc = open_mount_dir(ctx, sc, &dfd);
	if (rc == 0)
		rc = map_pages(ctx, sc, dfd, fds);
	if (rc == 0 && sc->dma_backend)
		rc = adopt_dma(ctx, m, sc, fds + sc->n_backings);
	if (rc == 0 && sc->hugepages)
		rc = keep_for_growth(ctx, m, sc, fds, dfd);
	if (dfd >= 0)
		close(dfd);
	/* one call for the whole window: a child must not keep the pages */
	if (rc == 0)
		madvise((void *)(uintptr_t)sc->va_base, sc->va_len, MADV_DONTFORK);
	for (size_t b = 0; b < n_all; b++)
		if (fds[b] >= 0)
			close(fds[b]);
	free(fds);
	return rc;
}

/* --verify: fault the pages in and check each IOVA against pagemap. */
static int verify_pages(struct hm_ctx *ctx, const struct hmi_shconf *sc)
{
	struct hmi_pagemap pm;
	int rc;

	if (sc->iova_mode != HM_IOVA_PA)
		return 0;
	hmi_pagemap_init(&pm);
	rc = hmi_pagemap_open(ctx, &pm, 0);
	for (size_t i = 0; rc == 0 && i < sc->n_pages; i++) {
		const struct hmi_page *p = &sc->pages[i];
		uint64_t pa = 0;

		madvise((void *)(uintptr_t)p->va, sc->page_size, MADV_POPULATE_WRITE);
		if (hmi_pagemap_pa(ctx, &pm, p->va, &pa) <= 0 || pa != p->iova)
			rc = hmi_err(
			    ctx, EIO,
			    "--verify: page at 0x%llx is at physical 0x%llx, the layout says "
			    "0x%llx: the primary's pages moved (a 1 GiB reservation may "
			    "have migrated them)",
			    (unsigned long long)p->va, (unsigned long long)pa,
			    (unsigned long long)p->iova);
	}
	hmi_pagemap_close(&pm);
	return rc;
}

static int take_segments(struct hm_ctx *ctx, struct hmi_mem *m, struct hmi_shconf *sc)
{
	m->tab.segs = sc->segs;
	m->tab.n_segs = sc->n_segs;
	sc->segs = NULL; /* ours now */
	sc->n_segs = 0;
	return hmi_xlate_init(ctx, &m->tab.xlate, m->tab.segs, m->tab.n_segs);
}

static void fill_secondary_info(struct hmi_mem *m, const struct hmi_shconf *sc)
{
	struct hm_layout_info *in = &m->tab.info;

	in->primary = 0;
	in->pid = getpid();
	in->file_prefix = m->tab.prefix;
	in->iova_mode = sc->iova_mode;
	in->hugepages = sc->hugepages;
	in->page_size = sc->page_size;
	in->total_bytes = sc->total_bytes;
	in->n_segments = (int)m->tab.n_segs;
	in->pages_mapped = sc->n_pages;
	in->va_base = sc->va_base;
	in->va_len = sc->va_len;
}

static int attach_flow(struct hm_ctx *ctx, struct hmi_mem *m, const struct hm_opts *o,
		       struct hmi_shconf *sc)
{
	double t = hmi_now_ms();
	int rc = hmi_shconf_read(ctx, m->rundir, sc);

	m->tab.info.t.discover = hmi_now_ms() - t;
	if (rc == 0)
		rc = check_primary(ctx, m, sc);
	if (rc == 0)
		rc = hold_clients_lock(ctx, m);
	if (rc == 0)
		rc = reserve_published_window(ctx, m, sc);
	t = hmi_now_ms();
	if (rc == 0)
		rc = map_all(ctx, m, sc);
	m->tab.info.t.map = hmi_now_ms() - t;
	if (rc == 0 && (o->flags & HM_OPT_VERIFY))
		rc = verify_pages(ctx, sc);
	if (rc == 0)
		rc = take_segments(ctx, m, sc);
	if (rc == 0)
		fill_secondary_info(m,
				    sc); /* before the arena: following growth reads the window */
	if (rc == 0)
		rc = open_arena(ctx, m);
	return rc;
}

int hm_attach(struct hm_ctx *ctx, const struct hm_opts *caller)
{
	double t0 = hmi_now_ms();
	struct hmi_shconf sc = {0};
	struct hm_opts o; /* the caller's version of the structure, in this library's */
	struct hmi_mem *m;
	int rc = hmi_opts_take(ctx, caller, &o, "hm_attach");

	if (rc == 0)
		rc = hmi_mem_begin(ctx, 1, &m);
	if (rc < 0)
		return rc;
	snprintf(m->tab.prefix, sizeof(m->tab.prefix), "%s",
		 o.file_prefix ? o.file_prefix : HM_DEFAULT_PREFIX);
	rc = hm_prefix_dir(ctx, m->tab.prefix, m->rundir, sizeof(m->rundir));
	if (rc == 0)
		rc = attach_flow(ctx, m, &o, &sc);
	hmi_shconf_free(&sc);
	return hmi_mem_end(ctx, rc, t0);
}
