/* SPDX-License-Identifier: MIT */
/*
 * hugedir/files.c — page files in hugetlbfs mounts: which exist, which are
 * live, and the removal of the stale ones.
 *
 * A page file is a regular file whose name contains "map_": DPDK's "*map_*"
 * pattern, which also covers hugemem's "<prefix>map_<n>". Its prefix is the
 * name up to the LAST "map_" ("rtemap_0" -> "rte"). Only such names are ever
 * listed or removed. The bytes a file holds of the pool are st_blocks * 512.
 *
 * Liveness, decided in this order (the first that holds wins):
 *  1. PREFIX_LIVE: the prefix's liveness lock is held (hm_prefix_owner);
 *  2. LOCKED: a flock on the file (open read-only, flock(LOCK_EX|LOCK_NB)
 *     fails with EWOULDBLOCK; released at once when it succeeds) — a live
 *     hugemem or DPDK file keeps a LOCK_SH flock for as long as it is mapped,
 *     even after its descriptor is closed — or an fcntl/OFD lock
 *     (F_OFD_GETLK for a write lock over the whole file); the holder's pid
 *     comes from /proc/locks when the lock call does not give it;
 *  3. MAPPED: some /proc/PID/maps line carries the file's dev "maj:min" (hex)
 *     and inode;
 *  4. OPEN: some /proc/PID/fd/N stat()s (following the magic link) to the
 *     file's st_dev and st_ino;
 *  5. else STALE.
 * Steps 3 and 4 are one walk over /proc for all undecided files at once: the
 * files' (maj, min, inode) keys are sorted and each maps line and fd is looked
 * up by binary search, so the cost is one pass over the system's mappings and
 * descriptors, not one per file. Maps are read through a fixed buffer, so a
 * process with a huge maps file costs time, not memory.
 *
 * What cannot be known is not guessed at: processes that vanish mid-walk are
 * skipped (normal), and without root the maps and fds of other users'
 * processes are unreadable (EACCES) and skipped too, so such a process that
 * maps or opens a file WITHOUT locking it is missed — hugemem and DPDK always
 * lock theirs, and a non-root user can rarely remove files in a root-owned
 * mount anyway. A file we may not open (mode 0600 of another user) cannot be
 * lock-tested by us; hm_clear skips it since it must lock it to remove it.
 * Under a fixture root with no proc/ tree, steps 3 and 4 find nothing.
 *
 * hm_clear, per mount: take DPDK's directory lock (flock LOCK_EX on the mount
 * directory; waited for at most 10 s, held only while cleaning, released on
 * every path), list and lock-test the files as above, then in batches of 64
 * (bounded descriptors, however many files): open each candidate, check it is
 * still the same inode, flock(LOCK_EX|LOCK_NB) it (failure: it became live,
 * skip), re-test fcntl locks and the prefix, walk /proc once for the batch
 * (ignoring our own descriptors of the batch), and unlink what is still stale
 * while holding its flock. A process that starts using a file takes a flock
 * first (DPDK and hugemem do), and our exclusive flock makes it fail instead
 * of racing the unlink. Unlink errors do not stop the others: the call returns
 * the first error (with counts) once every mount was tried; vanished files
 * (ENOENT) are no error.
 *
 * Proof (issue 14, item 7): a name proves nothing — "mybitmap_0" is another
 * program's file, and anyone may create "hmmap_0" in a mount others can
 * write. Each file is therefore given an owner (hm_file_owner): HUGEMEM when
 * its inode is in its prefix's record (hugedir/record.c: written before the
 * file had its name), DPDK when its prefix is "rte" (DPDK's default,
 * "rtemap_<n>") or DPDK's runtime directory of its prefix exists
 * (/var/run/dpdk/<prefix> as root, else $XDG_RUNTIME_DIR/dpdk/<prefix> or
 * /tmp/dpdk/<prefix>, owned by this user or root), else UNKNOWN. hm_clear
 * removes only proved files: an UNKNOWN one is listed and left, for its owner
 * to remove by hand.
 *
 * Opening a page file to test it drops any POSIX lock THIS process holds on
 * it (POSIX semantics); page files carry flocks, not POSIX locks, so that is
 * harmless for hugemem's own files.
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
#include <time.h>
#include <unistd.h>

#define PATTERN		"map_"
#define BATCH		64
#define DIRLOCK_WAIT_MS 10000

/* What the walk over /proc learns of one file. */
struct probe {
	unsigned maj, min;
	uint64_t ino;
	pid_t mapped, opened; /* first process seen doing so, 0 = none */
};

/* Files found, with their probes (parallel arrays). */
struct fset {
	struct hm_page_file *f;
	struct probe *p;
	int n, cap;
};

struct key {
	unsigned maj, min;
	uint64_t ino;
	int idx;
};

/* The state of one scan: caches that save re-reading per file. */
struct scanner {
	struct hm_ctx *ctx;
	char *locks; /* /proc/locks text, read on first need */
	int locks_read;
	char owner_prefix[HM_PREFIX_MAX];
	pid_t owner_pid;
	int owner_known;
	char proof_prefix[HM_PREFIX_MAX]; /* the prefix whose proof is cached */
	int proof_known, dpdk_dir;
	struct hmi_record_set record; /* its record (empty when none) */
};

/* ------------------------------------------------------------------ file sets */

static void fset_free(struct fset *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->f[i].path);
		free(s->f[i].prefix);
	}
	free(s->f);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static int fset_grow(struct fset *s)
{
	int cap = s->cap ? s->cap * 2 : 32;
	struct hm_page_file *f;
	struct probe *p;

	if (s->n < s->cap)
		return 0;
	f = realloc(s->f, (size_t)cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	s->f = f;
	p = realloc(s->p, (size_t)cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->p = p;
	s->cap = cap;
	return 0;
}

/* Append a file, taking ownership of PATH and PREFIX (freed on failure). */
static int fset_add(struct fset *s, char *path, char *prefix, const struct hm_mount *m,
		    const struct stat *st, enum hm_file_owner owner)
{
	struct hm_page_file *f;
	struct probe *p;

	if (!path || !prefix || fset_grow(s) < 0) {
		free(path);
		free(prefix);
		return -ENOMEM;
	}
	f = &s->f[s->n];
	p = &s->p[s->n++];
	memset(f, 0, sizeof(*f));
	memset(p, 0, sizeof(*p));
	f->path = path;
	f->prefix = prefix;
	f->page_size = m->page_size;
	f->bytes = (uint64_t)st->st_blocks * 512;
	f->state = HM_FILE_STALE;
	f->owner = owner;
	hmi_dev_split(st->st_dev, &p->maj, &p->min);
	p->ino = (uint64_t)st->st_ino;
	return 0;
}

/* Move entry I of FROM to the end of TO. */
static int fset_move(struct fset *to, struct fset *from, int i)
{
	if (fset_grow(to) < 0)
		return -ENOMEM;
	to->f[to->n] = from->f[i];
	to->p[to->n++] = from->p[i];
	from->f[i].path = NULL;
	from->f[i].prefix = NULL;
	return 0;
}

static int fset_to_list(struct hm_ctx *ctx, struct fset *s, struct hm_file_list **out)
{
	struct hm_file_list *list = calloc(1, sizeof(*list));

	if (!list) {
		fset_free(s);
		return hmi_err(ctx, ENOMEM, "out of memory listing page files");
	}
	list->n = s->n;
	list->files = s->f;
	free(s->p);
	memset(s, 0, sizeof(*s));
	*out = list;
	return list->n;
}

void hm_file_list_free(struct hm_file_list *list)
{
	if (!list)
		return;
	for (int i = 0; i < list->n; i++) {
		free(list->files[i].path);
		free(list->files[i].prefix);
	}
	free(list->files);
	free(list);
}

/* ------------------------------------------------------------------ listing */

/* The start of the last "map_" in NAME, or NULL. */
static const char *last_pattern(const char *name)
{
	const char *hit = NULL;

	for (const char *p = strstr(name, PATTERN); p; p = strstr(p + 1, PATTERN))
		hit = p;
	return hit;
}

static char *join_path(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	char *p = malloc(d + n + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, d);
	if (d == 0 || dir[d - 1] != '/')
		p[d++] = '/';
	memcpy(p + d, name, n + 1);
	return p;
}

/* DPDK's runtime directory of PREFIX exists (and is this user's or root's):
 * a DPDK process of that prefix ran here. */
static int dpdk_dir_exists(const char *prefix)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char path[HM_PATH_MAX];
	struct stat st;

	if (geteuid() == 0)
		snprintf(path, sizeof(path), "/var/run/dpdk/%s", prefix);
	else if (xdg && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/dpdk/%s", xdg, prefix);
	else
		snprintf(path, sizeof(path), "/tmp/dpdk/%s", prefix);
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       (st.st_uid == geteuid() || st.st_uid == 0);
}

/* Load what proves files of PREFIX (cached for the last prefix asked). */
static void proof_load(struct scanner *sc, const char *prefix)
{
	char dir[HM_PATH_MAX];

	if (sc->proof_known && strcmp(sc->proof_prefix, prefix) == 0)
		return;
	hmi_record_free(&sc->record);
	snprintf(sc->proof_prefix, sizeof(sc->proof_prefix), "%s", prefix);
	sc->proof_known = 1;
	sc->dpdk_dir = 0;
	if (strlen(prefix) >= HM_PREFIX_MAX || hmi_prefix_check(sc->ctx, prefix) < 0) {
		hmi_err_clear(sc->ctx);
		return; /* no valid prefix, no runtime directory */
	}
	if (hm_prefix_dir(sc->ctx, prefix, dir, sizeof(dir)) == 0)
		hmi_record_load(dir, &sc->record); /* none: proves nothing */
	hmi_err_clear(sc->ctx);
	sc->dpdk_dir = strcmp(prefix, "rte") == 0 || dpdk_dir_exists(prefix);
}

/* Whose page file the file ST of PREFIX is proved to be. */
static enum hm_file_owner proved_owner(struct scanner *sc, const char *prefix,
				       const struct stat *st)
{
	proof_load(sc, prefix);
	if (hmi_record_proves(&sc->record, st))
		return HM_OWNER_HUGEMEM;
	return sc->dpdk_dir ? HM_OWNER_DPDK : HM_OWNER_UNKNOWN;
}

/* What collect passes for each name of a mount's directory. */
struct listing {
	struct scanner *sc;
	struct fset *s;
	int dirfd;
	const char *dirpath, *prefix;
	const struct hm_mount *m;
};

/* One name of the mount: added to the set when it is a page file (of the
 * listing's prefix, when it names one). 0, or -ENOMEM. */
static int collect_one(const char *name, uint64_t ino, void *arg)
{
	const struct listing *l = arg;
	const char *cut = last_pattern(name);
	size_t plen = cut ? (size_t)(cut - name) : 0;
	struct stat st;
	char *pfx;

	(void)ino;
	if (!cut ||
	    (l->prefix && (strlen(l->prefix) != plen || memcmp(l->prefix, name, plen) != 0)))
		return 0;
	/* vanished since it was listed, or not a regular file: not ours */
	if (fstatat(l->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	pfx = strndup(name, plen);
	return fset_add(l->s, join_path(l->dirpath, name), pfx, l->m, &st,
			pfx ? proved_owner(l->sc, pfx, &st) : HM_OWNER_UNKNOWN);
}

/* Add the page files of the mount open as DIRFD (at DIRPATH) to S. Listed by
 * hmi_dir_each, not readdir: every primary lists its mounts at start-up, and
 * readdir's buffer on hugetlbfs is 1 MiB (platform.h). */
static int collect(struct scanner *sc, struct fset *s, int dirfd, const char *dirpath,
		   const struct hm_mount *m, const char *prefix)
{
	struct listing l = {sc, s, dirfd, dirpath, prefix, m};
	int rc = hmi_dir_each(dirfd, collect_one, &l);

	if (rc == -ENOMEM)
		return hmi_err(sc->ctx, ENOMEM, "out of memory listing %s", dirpath);
	if (rc < 0)
		return hmi_err(sc->ctx, -rc, "cannot read %s: %s", dirpath, strerror(-rc));
	return 0;
}

/* Open mount I of SI; 1 with *DIRFD when it is to be looked at, 0 when it
 * is to be skipped (unreachable, or the same directory as an earlier one,
 * e.g. a bind mount, recorded in SEEN), -errno on error. */
static int open_mount(struct hm_ctx *ctx, const struct hm_mount *m, struct stat *seen, int *n_seen,
		      char *path, size_t len, int *dirfd)
{
	struct stat st;
	int fd, rc = hmi_path(ctx, path, len, "%s", m->path);

	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == ENOTDIR))
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = hmi_err(ctx, errno, "cannot open hugetlbfs mount %s: %s", path,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	for (int i = 0; i < *n_seen; i++) {
		if (seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino) {
			close(fd);
			return 0;
		}
	}
	seen[(*n_seen)++] = st;
	*dirfd = fd;
	return 1;
}

/* ------------------------------------------------------------------ locks */

static pid_t locks_pid(struct scanner *sc, const struct probe *p)
{
	pid_t pid = 0;

	if (!sc->locks_read) {
		sc->locks_read = 1;
		hmi_read_proc_locks(sc->ctx, &sc->locks);
	}
	if (!sc->locks || hmi_parse_proc_locks(sc->locks, p->maj, p->min, p->ino, &pid) < 0)
		return 0;
	return pid > 0 ? pid : 0;
}

/* The live owner of PREFIX (0 = none or not a valid prefix), cached for the
 * last prefix asked. A prefix held by this very process (a new primary
 * cleaning up after a dead one of its prefix) makes no file live: its files
 * are judged by their locks and mappings alone. */
static pid_t prefix_owner(struct scanner *sc, const char *prefix)
{
	pid_t pid = 0;

	if (strlen(prefix) >= HM_PREFIX_MAX)
		return 0;
	if (sc->owner_known && strcmp(sc->owner_prefix, prefix) == 0)
		return sc->owner_pid;
	if (hm_prefix_owner(sc->ctx, prefix, &pid) < 0 || pid == getpid())
		pid = 0;
	snprintf(sc->owner_prefix, sizeof(sc->owner_prefix), "%s", prefix);
	sc->owner_pid = pid;
	sc->owner_known = 1;
	return pid;
}

/* 1 when a flock or fcntl lock is held on FD's file by someone else. */
static int fd_locked(int fd, pid_t *pid)
{
	*pid = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return hmi_lock_probe(fd, pid) == 1;
	}
	return errno == EWOULDBLOCK;
}

/* Steps 1 and 2 for file I: 1 when decided (state set), 0 when the walk over
 * /proc must decide. */
static int probe_locks(struct scanner *sc, struct fset *s, int i)
{
	struct hm_page_file *f = &s->f[i];
	pid_t pid = prefix_owner(sc, f->prefix);
	int fd, locked;

	if (pid != 0) {
		f->state = HM_FILE_PREFIX_LIVE;
		f->pid = pid > 0 ? pid : 0;
		return 1;
	}
	fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0; /* vanished or not ours to open: the walk says what it can */
	locked = fd_locked(fd, &pid);
	close(fd);
	if (!locked)
		return 0;
	f->state = HM_FILE_LOCKED;
	f->pid = pid > 0 ? pid : locks_pid(sc, &s->p[i]);
	return 1;
}

/* ------------------------------------------------------------------ the walk over /proc */

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->maj != y->maj)
		return x->maj < y->maj ? -1 : 1;
	if (x->min != y->min)
		return x->min < y->min ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

struct keys {
	struct key *k;
	int n;
	struct probe *p; /* the probes the keys index */
};

/* Record PID as mapping (MAPPED != 0) or opening every file of key WANT. */
static void mark(const struct keys *ks, const struct key *want, pid_t pid, int mapped)
{
	int lo = 0, hi = ks->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (key_cmp(&ks->k[mid], want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ks->n && key_cmp(&ks->k[lo], want) == 0; lo++) {
		struct probe *p = &ks->p[ks->k[lo].idx];
		pid_t *slot = mapped ? &p->mapped : &p->opened;

		if (*slot == 0)
			*slot = pid;
	}
}

static void maps_take_line(const struct keys *ks, const char *p, const char *end, pid_t pid)
{
	struct hmi_maps_line m;
	struct key k = {0};

	if (hmi_parse_maps_line(p, (size_t)(end - p), &m) < 0 || m.inode == 0)
		return;
	k.maj = m.maj;
	k.min = m.min;
	k.ino = m.inode;
	mark(ks, &k, pid, 1);
}

/* Read FD (a maps file) through a fixed buffer; a line longer than the buffer
 * is judged by its head, which holds every field that matters here (the
 * device and inode come before the path, which is not looked at). */
static void scan_maps(int fd, const struct keys *ks, pid_t pid)
{
	char buf[8192];
	size_t have = 0;
	int skipping = 0;
	ssize_t got;

	while ((got = read(fd, buf + have, sizeof(buf) - have)) > 0 ||
	       (got < 0 && errno == EINTR)) {
		char *start = buf, *end = buf + have + (got > 0 ? got : 0), *nl;

		while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
			if (!skipping)
				maps_take_line(ks, start, nl, pid);
			skipping = 0;
			start = nl + 1;
		}
		if (start == buf && end == buf + sizeof(buf)) {
			if (!skipping)
				maps_take_line(ks, buf, end, pid);
			skipping = 1;
			start = end;
		}
		have = (size_t)(end - start);
		memmove(buf, start, have);
	}
	if (have && !skipping)
		maps_take_line(ks, buf, buf + have, pid);
}

static int ignored(pid_t pid, int fd, const int *ignore, int n_ignore)
{
	if (pid != getpid())
		return 0;
	for (int i = 0; i < n_ignore; i++)
		if (ignore[i] == fd)
			return 1;
	return 0;
}

static int parse_pid(const char *name, int *v)
{
	uint64_t x;

	if (hmi_parse_u64(name, &x) < 0 || x > 0x7fffffff || name[strspn(name, "0123456789")])
		return -EINVAL;
	*v = (int)x;
	return 0;
}

static void scan_fds(int fddir, const struct keys *ks, pid_t pid, const int *ignore, int n_ignore)
{
	DIR *d = fdopendir(fddir);
	struct dirent *e;

	if (!d) {
		close(fddir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		struct key k = {0};
		int fd;

		if (parse_pid(e->d_name, &fd) < 0 || ignored(pid, fd, ignore, n_ignore))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue; /* closed meanwhile, or a link we may not follow */
		hmi_dev_split(st.st_dev, &k.maj, &k.min);
		k.ino = (uint64_t)st.st_ino;
		mark(ks, &k, pid, 0);
	}
	closedir(d);
}

/* One process: its maps, then its descriptors. Vanished processes (ENOENT,
 * ESRCH) and other users' (EACCES) are skipped. */
static void scan_process(int procfd, const char *name, const struct keys *ks, const int *ignore,
			 int n_ignore)
{
	char sub[64];
	int pid, fd;

	if (parse_pid(name, &pid) < 0)
		return;
	snprintf(sub, sizeof(sub), "%d/maps", pid);
	fd = openat(procfd, sub, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		scan_maps(fd, ks, pid);
		close(fd);
	}
	snprintf(sub, sizeof(sub), "%d/fd", pid);
	fd = openat(procfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		scan_fds(fd, ks, pid, ignore, n_ignore);
}

static void walk_proc(struct hm_ctx *ctx, const struct keys *ks, const int *ignore, int n_ignore)
{
	char path[HM_PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (hmi_path(ctx, path, sizeof(path), "/proc") < 0)
		return;
	d = opendir(path);
	if (!d)
		return; /* no proc tree (a fixture root): nothing more to learn */
	while ((e = readdir(d)) != NULL)
		scan_process(dirfd(d), e->d_name, ks, ignore, n_ignore);
	closedir(d);
}

/* Steps 3-5 for the files IDX[0..N) of S: MAPPED, OPEN or STALE. */
static int decide_by_proc(struct hm_ctx *ctx, struct fset *s, const int *idx, int n,
			  const int *ignore, int n_ignore)
{
	struct keys ks = {n ? calloc((size_t)n, sizeof(struct key)) : NULL, n, s->p};

	if (n == 0)
		return 0;
	if (!ks.k)
		return hmi_err(ctx, ENOMEM, "out of memory checking page files");
	for (int i = 0; i < n; i++) {
		struct probe *p = &s->p[idx[i]];

		p->mapped = p->opened = 0;
		ks.k[i] = (struct key){p->maj, p->min, p->ino, idx[i]};
	}
	qsort(ks.k, (size_t)n, sizeof(*ks.k), key_cmp);
	walk_proc(ctx, &ks, ignore, n_ignore);
	free(ks.k);
	for (int i = 0; i < n; i++) {
		struct hm_page_file *f = &s->f[idx[i]];
		const struct probe *p = &s->p[idx[i]];

		f->state = p->mapped ? HM_FILE_MAPPED : p->opened ? HM_FILE_OPEN : HM_FILE_STALE;
		f->pid = p->mapped ? p->mapped : p->opened;
	}
	return 0;
}

/* ------------------------------------------------------------------ scan */

static int collect_all(struct scanner *sc, const struct hm_sysinfo *si, const char *prefix,
		       struct fset *s)
{
	struct hm_ctx *ctx = sc->ctx;
	struct stat *seen = calloc((size_t)si->n_mounts + 1, sizeof(*seen));
	char path[HM_PATH_MAX];
	int n_seen = 0, rc = 0;

	if (!seen)
		return hmi_err(ctx, ENOMEM, "out of memory listing page files");
	for (int i = 0; i < si->n_mounts && rc >= 0; i++) {
		int dirfd = -1;

		rc = open_mount(ctx, &si->mounts[i], seen, &n_seen, path, sizeof(path), &dirfd);
		if (rc == 1) {
			rc = collect(sc, s, dirfd, path, &si->mounts[i], prefix);
			close(dirfd);
		}
	}
	free(seen);
	return rc < 0 ? rc : 0;
}

int hm_files_scan(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix,
		  struct hm_file_list **out)
{
	struct scanner sc = {.ctx = ctx};
	struct fset s = {0};
	int *idx = NULL, n = 0, rc;

	*out = NULL;
	hmi_err_clear(ctx);
	if (prefix && (rc = hmi_prefix_check(ctx, prefix)) < 0)
		return rc;
	rc = collect_all(&sc, si, prefix, &s);
	if (rc == 0 && s.n > 0 && !(idx = malloc((size_t)s.n * sizeof(*idx))))
		rc = hmi_err(ctx, ENOMEM, "out of memory checking page files");
	for (int i = 0; rc == 0 && i < s.n; i++)
		if (!probe_locks(&sc, &s, i))
			idx[n++] = i;
	if (rc == 0)
		rc = decide_by_proc(ctx, &s, idx, n, NULL, 0);
	free(idx);
	free(sc.locks);
	hmi_record_free(&sc.record);
	if (rc < 0) {
		fset_free(&s);
		return rc;
	}
	hmi_err_clear(ctx); /* what the probes could not read is no failure */
	return fset_to_list(ctx, &s, out);
}

/* ------------------------------------------------------------------ clear */

struct clearing {
	struct scanner *sc;
	int dirfd;
	int dry_run;
	struct fset *removed;
	int failed, first_err; /* unlink failures, and the first one's errno */
	char *first_path;
};

static int lock_dir(struct scanner *sc, int dirfd, const char *path)
{
	const struct timespec tick = {0, 10L * 1000 * 1000};
	struct probe p = {0};
	struct stat st;

	for (int waited = 0; flock(dirfd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return hmi_err(sc->ctx, errno, "cannot lock %s: %s", path, strerror(errno));
		if (waited >= DIRLOCK_WAIT_MS) {
			if (fstat(dirfd, &st) == 0) {
				hmi_dev_split(st.st_dev, &p.maj, &p.min);
				p.ino = (uint64_t)st.st_ino;
			}
			return hmi_err(
			    sc->ctx, EBUSY,
			    "hugetlbfs directory %s stayed locked for %d s (pid %d): a DPDK "
			    "or hugemem process is starting or cleaning there; try again",
			    path, DIRLOCK_WAIT_MS / 1000, (int)locks_pid(sc, &p));
		}
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* Open file I for removal and lock it: the descriptor, or -1 when it became
 * live, vanished or was replaced since it was listed. */
static int open_for_removal(struct clearing *c, struct fset *s, int i)
{
	const char *name = strrchr(s->f[i].path, '/') + 1;
	int fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	unsigned maj, min;
	pid_t pid;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto live;
	hmi_dev_split(st.st_dev, &maj, &min);
	if (maj != s->p[i].maj || min != s->p[i].min || (uint64_t)st.st_ino != s->p[i].ino)
		goto live;
	if (hmi_lock_probe(fd, &pid) != 0 || prefix_owner(c->sc, s->f[i].prefix) != 0)
		goto live;
	return fd;
live:
	close(fd);
	return -1;
}

static void remove_one(struct clearing *c, struct fset *s, int i)
{
	const char *name = strrchr(s->f[i].path, '/') + 1;

	if (!c->dry_run && unlinkat(c->dirfd, name, 0) < 0) {
		if (errno == ENOENT)
			return;
		if (c->failed++ == 0) {
			c->first_err = errno;
			c->first_path = strdup(s->f[i].path);
		}
		return;
	}
	if (fset_move(c->removed, s, i) < 0 && c->failed++ == 0)
		c->first_err = ENOMEM;
}

/* Re-check and remove the candidates IDX[0..N) (N <= BATCH) of S. */
static int clear_batch(struct clearing *c, struct fset *s, const int *idx, int n)
{
	int fds[BATCH] = {0}, kept[BATCH] = {0}, k = 0, rc;

	c->sc->owner_known = 0; /* ask each prefix afresh once per batch */
	for (int i = 0; i < n; i++) {
		int fd = open_for_removal(c, s, idx[i]);

		if (fd >= 0) {
			fds[k] = fd;
			kept[k++] = idx[i];
		}
	}
	rc = decide_by_proc(c->sc->ctx, s, kept, k, fds, k);
	for (int i = 0; i < k; i++) {
		if (rc == 0 && s->f[kept[i]].state == HM_FILE_STALE)
			remove_one(c, s, kept[i]); /* still under our exclusive flock */
		close(fds[i]);
	}
	return rc;
}

static int clear_files(struct clearing *c, struct fset *s)
{
	int idx[BATCH], n = 0, rc = 0;

	for (int i = 0; i < s->n && rc == 0; i++) {
		if (s->f[i].owner == HM_OWNER_UNKNOWN || probe_locks(c->sc, s, i))
			continue; /* not proved ours or DPDK's: never removed */
		idx[n++] = i;
		if (n == BATCH) {
			rc = clear_batch(c, s, idx, n);
			n = 0;
		}
	}
	if (rc == 0 && n > 0)
		rc = clear_batch(c, s, idx, n);
	return rc;
}

static int clear_mount(struct clearing *c, const struct hm_mount *m, const char *path,
		       const char *prefix)
{
	struct fset s = {0};
	int rc = lock_dir(c->sc, c->dirfd, path);

	if (rc < 0)
		return rc;
	rc = collect(c->sc, &s, c->dirfd, path, m, prefix);
	if (rc == 0)
		rc = clear_files(c, &s);
	flock(c->dirfd, LOCK_UN);
	fset_free(&s);
	return rc;
}

static int clear_failed(struct hm_ctx *ctx, struct clearing *c)
{
	int err = c->first_err ? c->first_err : EIO;

	return hmi_err(ctx, err, "cannot remove %s: %s%s (%d not removed, %d removed)",
		       c->first_path ? c->first_path : "a page file", strerror(err),
		       err == EACCES || err == EPERM ? ": run as root or as the mount's owner" : "",
		       c->failed, c->removed->n);
}

static int clear_all(struct clearing *c, const struct hm_sysinfo *si, const char *prefix)
{
	struct stat *seen = calloc((size_t)si->n_mounts + 1, sizeof(*seen));
	char path[HM_PATH_MAX];
	int n_seen = 0, rc = 0;

	if (!seen)
		return hmi_err(c->sc->ctx, ENOMEM, "out of memory clearing page files");
	for (int i = 0; i < si->n_mounts && rc >= 0; i++) {
		c->dirfd = -1;
		rc = open_mount(c->sc->ctx, &si->mounts[i], seen, &n_seen, path, sizeof(path),
				&c->dirfd);
		if (rc == 1) {
			rc = clear_mount(c, &si->mounts[i], path, prefix);
			close(c->dirfd);
		}
	}
	free(seen);
	return rc < 0 ? rc : 0;
}

int hm_clear(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix, int dry_run,
	     struct hm_file_list **out)
{
	struct scanner sc = {.ctx = ctx};
	struct fset removed = {0};
	struct clearing c = {.sc = &sc, .dirfd = -1, .dry_run = dry_run, .removed = &removed};
	int rc;

	*out = NULL;
	hmi_err_clear(ctx);
	if (prefix && (rc = hmi_prefix_check(ctx, prefix)) < 0)
		return rc;
	rc = clear_all(&c, si, prefix);
	if (rc == 0 && c.failed)
		rc = clear_failed(ctx, &c);
	free(sc.locks);
	hmi_record_free(&sc.record);
	free(c.first_path);
	if (rc < 0) {
		fset_free(&removed);
		return rc;
	}
	hmi_err_clear(ctx);
	return fset_to_list(ctx, &removed, out);
}
