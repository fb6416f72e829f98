/* SPDX-License-Identifier: MIT */
/*
 * mem/rundir.c — a prefix's runtime directory as the primary and its secondaries
 * share it (docs/design.md, B11): publishing the layout (shconf layer:
 * versioned, checksummed, written atomically) and, for memfd backing,
 * serving the descriptors over <rundir>/fds.sock; knowing which secondaries
 * still map the pages (their read locks on <rundir>/clients); and leaving:
 * the last process of the prefix out removes what the prefix left there.
 *
 * At a primary's exit it unpublishes first (no new secondary can start),
 * then gives the pages back — without punching pages out of a memfd or
 * single file while secondaries map them, so their memory stays valid until
 * they exit (mem/release.c).
 */
#include "heap/heap.h"
#include "hugedir/hugedir.h"
#include "mem/mem.h"
#include "base/platform.h"
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

#define MAX_NAMED 8 /* secondaries named in an error */

int hmi_rundir_file(struct hm_ctx *ctx, const struct hmi_mem *m, const char *name, char *buf,
		    size_t len)
{
	int n = snprintf(buf, len, "%s/%s", m->rundir, name);

	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "runtime path %s/%s is too long", m->rundir,
			       name);
	return 0;
}

/* ------------------------------------------------------------------ secondaries seen from outside
 */

/* The holders of a lock on <rundir>/clients, up to MAX; *WHOLE 0 when
 * /proc/locks could not be read (only the one F_GETLK names is known). */
static int clients_holders(struct hm_ctx *ctx, const struct hmi_mem *m, pid_t *pids, int max,
			   int *whole)
{
	char path[HM_PATH_MAX], *text = NULL;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct stat st;
	unsigned maj, min;
	int fd, n = 0;

	*whole = 1;
	if (hmi_rundir_file(ctx, m, HMI_CLIENTS_FILE, path, sizeof(path)) < 0)
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fstat(fd, &st) == 0) {
		pids[0] = fl.l_pid;
		n = 1;
		*whole = 0;
		hmi_dev_split(st.st_dev, &maj, &min);
		if (hmi_read_proc_locks(ctx, &text) == 0) {
			int all = hmi_parse_proc_locks_all(text, maj, min, st.st_ino, pids, max);

			*whole = all > 0;
			n = all > 0 ? all : n;
		}
		free(text);
		hmi_err_clear(ctx);
	}
	close(fd); /* this process holds no lock on it: closing drops nothing */
	return n;
}

int hmi_clients_holders(struct hm_ctx *ctx, const struct hmi_mem *m, pid_t *pids, int max)
{
	int whole;

	return clients_holders(ctx, m, pids, max, &whole);
}

int hmi_clients_list(struct hm_ctx *ctx, const struct hmi_mem *m, pid_t *pids, int max)
{
	int whole, n = clients_holders(ctx, m, pids, max, &whole);

	return whole ? n : -1;
}

static void name_pids(const pid_t *pids, int n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%d", i ? ", " : "", (int)pids[i]);
}

/* A primary killed while publishing leaves its temporary layout
 * (".layout.<pid>.tmp", named in shconf_file.c) behind. Under the prefix's
 * lock every such file is a dead primary's; left there, it would keep the
 * runtime directory from being removed at exit (test/real_torture.t kills
 * a primary exactly there). */
static void remove_dead_tmp(const struct hmi_mem *m)
{
	int fd = open(m->rundir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	const char head[] = "." HMI_SHCONF_FILE ".", tail[] = ".tmp";
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > sizeof(head) + sizeof(tail) - 2 &&
		    strncmp(e->d_name, head, sizeof(head) - 1) == 0 &&
		    strcmp(e->d_name + n - (sizeof(tail) - 1), tail) == 0)
			unlinkat(fd, e->d_name, 0); /* a link planted there goes, not its target */
	}
	closedir(d);
}

/* A live primary leaving last: its layout, socket and temporary files went
 * (hmi_unpublish, hmi_shconf_write), and a dead one's went when it started
 * (hmi_runtime_reclaim); only the file its secondaries made may be left. */
static void remove_secondaries_file(struct hm_ctx *ctx, const struct hmi_mem *m)
{
	char path[HM_PATH_MAX];

	if (hmi_rundir_file(ctx, m, HMI_CLIENTS_FILE, path, sizeof(path)) == 0)
		unlink(path);
}

/* Under the prefix lock with no secondary left: every file a process of the
 * prefix makes in its runtime directory, but the lock. */
static void remove_leftovers(struct hm_ctx *ctx, const struct hmi_mem *m)
{
	const char *const leftovers[] = {HMI_SHCONF_FILE, HMI_SHCONF_SOCKET};
	char path[HM_PATH_MAX];

	for (size_t i = 0; i < HMI_ARRAY_SIZE(leftovers); i++)
		if (hmi_rundir_file(ctx, m, leftovers[i], path, sizeof(path)) == 0)
			unlink(path); /* nobody uses them now */
	remove_secondaries_file(ctx, m);
	remove_dead_tmp(m);
}

int hmi_runtime_reclaim(struct hm_ctx *ctx, struct hmi_mem *m)
{
	pid_t pids[MAX_NAMED];
	char names[128];
	int n = hmi_clients_holders(ctx, m, pids, MAX_NAMED);

	if (n > 0) {
		name_pids(pids, n, names, sizeof(names));
		return hmi_err(ctx, EBUSY,
			       "secondaries of a dead primary of prefix '%s' still run (pid %s): "
			       "stop them first, or give this primary another --file-prefix",
			       m->tab.prefix, names);
	}
	remove_leftovers(ctx, m); /* a dead primary's */
	return 0;
}

/* ------------------------------------------------------------------ primary: publish */

/* A keeper's memfd: its inode and our descriptor, what a secondary checks
 * the keeper's answer against (or, the keeper gone, opens in /proc). */
static void keeper_memfd_identity(const struct hmi_backing *b, struct hmi_shconf_backing *out)
{
	struct stat st;

	out->fd = b->fd;
	if (fstat(b->fd, &st) == 0) { /* else no inode: the layout is refused, named */
		out->dev = (uint64_t)st.st_dev;
		out->ino = (uint64_t)st.st_ino;
	}
}

static void fill_backings(const struct hmi_mem *m, struct hmi_shconf_backing *out)
{
	for (size_t i = 0; i < m->ps.n_backings; i++) {
		const struct hmi_backing *b = &m->ps.backings[i];
		const char *base = b->path ? strrchr(b->path, '/') : NULL;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].kind = b->kind;
		out[i].node = b->node;
		out[i].size = b->size;
		out[i].dev = b->dev;
		out[i].ino = b->ino;
		out[i].uid = b->uid;
		out[i].chunk = m->backing_chunk ? m->backing_chunk[i] : 0;
		if (out[i].chunk)
			keeper_memfd_identity(b, &out[i]);
		snprintf(out[i].name, sizeof(out[i].name), "%s", base ? base + 1 : "");
	}
}

/* The DMA domain's part of the layout: its devices into DEVS (n_devs of them). */
static void fill_dma(const struct hmi_mem *m, struct hmi_shconf *sc, struct hmi_shconf_dmadev *devs)
{
	const struct hmi_dma *d = m->dma;

	if (!d)
		return;
	sc->dma_backend = (uint32_t)d->backend;
	sc->dma_ioas = d->ioas;
	for (size_t i = 0; i < d->n_devs; i++) {
		memcpy(devs[i].bdf, d->devs[i].bdf, sizeof(devs[i].bdf));
		devs[i].group = d->devs[i].group;
	}
	sc->dma_devs = devs;
	sc->n_dma_devs = d->n_devs;
}

static void fill_shconf(const struct hmi_mem *m, struct hmi_shconf *sc,
			struct hmi_shconf_backing *backings)
{
	memset(sc, 0, sizeof(*sc));
	sc->pid = getpid();
	snprintf(sc->prefix, sizeof(sc->prefix), "%s", m->tab.prefix);
	snprintf(sc->dir, sizeof(sc->dir), "%s", m->dir);
	if (m->backing_chunk) /* served by a keeper: secondaries FETCH the memfds from it */
		snprintf(sc->keeper_dir, sizeof(sc->keeper_dir), "%s", m->keeper_dir);
	sc->kind = m->ps.kind;
	sc->iova_mode = m->tab.info.iova_mode;
	sc->hugepages = 1;
	sc->page_size = m->ps.page_size;
	sc->va_base = m->window_base;
	sc->va_len = m->window_len;
	sc->total_bytes = m->ps.n * m->ps.page_size;
	fill_backings(m, backings);
	sc->backings = backings;
	sc->n_backings = m->ps.n_backings;
	sc->pages = m->ps.pages;
	sc->n_pages = m->ps.n;
	sc->segs = m->tab.segs;
	sc->n_segs = m->tab.n_segs;
}

/* What has no path a secondary could open — the memfds, the DMA domain and
 * its groups and devices — a thread of ours hands to secondaries, in the
 * order hmi_shconf_fd_count gives. */
static int serve_fds(struct hm_ctx *ctx, struct hmi_mem *m, const struct hmi_shconf *sc)
{
	size_t n = hmi_shconf_fd_count(sc), k = 0;
	const struct hmi_dma *d = m->dma;
	int *fds, rc;

	if (n == 0)
		return 0;
	fds = malloc(n * sizeof(*fds));
	if (!fds)
		return hmi_err(ctx, ENOMEM, "out of memory publishing the layout");
	for (size_t i = 0; i < hmi_shconf_memfd_count(sc); i++)
		fds[k++] = m->ps.backings[i].fd;
	if (d)
		fds[k++] = d->fd;
	for (size_t i = 0; d && i < d->n_groups; i++)
		fds[k++] = d->groups[i].fd;
	for (size_t i = 0; d && i < d->n_devs; i++)
		fds[k++] = d->devs[i].fd;
	rc = k == n ? hmi_fdserver_start(ctx, m->rundir, fds, n, &m->fds)
		    : hmi_err(ctx, EINVAL, "%zu descriptors to serve, the layout says %zu", k, n);
	free(fds);
	return rc;
}

int hmi_publish(struct hm_ctx *ctx, struct hmi_mem *m)
{
	struct hmi_shconf_backing *backings = calloc(m->ps.n_backings + 1, sizeof(*backings));
	size_t n_devs = m->dma ? m->dma->n_devs : 0;
	struct hmi_shconf_dmadev *devs = calloc(n_devs + 1, sizeof(*devs));
	struct hmi_shconf sc;
	int rc;

	if (!backings || !devs) {
		free(backings);
		free(devs);
		return hmi_err(ctx, ENOMEM, "out of memory publishing the layout");
	}
	fill_shconf(m, &sc, backings);
	fill_dma(m, &sc, devs);
	sc.n_fds = (uint32_t)hmi_shconf_fd_count(&sc);
	rc = serve_fds(ctx, m, &sc);
	if (rc == 0)
		rc = hmi_shconf_write(ctx, m->rundir, &sc);
	m->published = rc == 0;
	free(backings);
	free(devs);
	return rc;
}

void hmi_unpublish(struct hm_ctx *ctx, struct hmi_mem *m)
{
	char path[HM_PATH_MAX];

	hmi_fdserver_stop(m->fds);
	m->fds = NULL;
	if (m->published && hmi_rundir_file(ctx, m, HMI_SHCONF_FILE, path, sizeof(path)) == 0)
		unlink(path);
	m->published = 0;
}

/* At the primary's exit: do secondaries still map our pages? */
int hmi_secondaries_alive(struct hm_ctx *ctx, const struct hmi_mem *m)
{
	pid_t pid;

	return hmi_clients_holders(ctx, m, &pid, 1) > 0;
}

/* ------------------------------------------------------------------ leaving: the last one out */

/* A secondary, under the exit lock: is it the last process of the prefix?
 * Then 1 and *PREFIX_FD holds the prefix lock (-1: no lock file left). */
static int secondary_last(struct hm_ctx *ctx, const struct hmi_mem *m, int *prefix_fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	pid_t owner = 0;

	/* the write lock is granted only when no other process holds a lock */
	if (fcntl(m->lock_fd, F_SETLK, &fl) < 0)
		return 0;
	/* a primary in this very process: opening its lock file would drop
	 * its lock (hm_prefix_owner names it without opening the file) */
	if (hm_prefix_owner(ctx, m->tab.prefix, &owner) < 0 || owner != 0) {
		hmi_err_clear(ctx);
		return 0;
	}
	*prefix_fd = hmi_prefix_take_free(m->rundir);
	return *prefix_fd >= 0 || *prefix_fd == -ENOENT;
}

void hmi_rundir_leave(struct hm_ctx *ctx, struct hmi_mem *m)
{
	int exit_fd, prefix_fd = m->secondary ? -1 : m->lock_fd, last;

	if (!m->rundir[0] || m->lock_fd < 0)
		return;
	exit_fd = hmi_rundir_exit_lock(m->rundir);
	if (m->secondary)
		last = exit_fd >= 0 && secondary_last(ctx, m, &prefix_fd);
	else
		last = !hmi_secondaries_alive(ctx, m);
	if (last) {
		if (m->secondary)
			remove_leftovers(ctx, m);
		else
			remove_secondaries_file(ctx, m);
		hmi_prefix_release(m->rundir, prefix_fd); /* the lock file, the directory */
	} else if (prefix_fd >= 0) {
		close(prefix_fd);
	}
	if (m->secondary)
		close(m->lock_fd); /* our clients lock goes before the exit lock does */
	m->lock_fd = -1;
	if (exit_fd >= 0)
		close(exit_fd);
}
