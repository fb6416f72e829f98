/* SPDX-License-Identifier: MIT */
/*
 * real.h — the scaffolding the C unit tests share when they run on REAL 2 MiB
 * hugepages (test code only; every function is static inline).
 *
 * Offers:
 *   - the 2 MiB pool counters of /sys/kernel/mm/hugepages/hugepages-2048kB/
 *     (real_counter, real_counter_or), a snapshot of nr/free/resv/surplus
 *     (struct real_counts, real_snapshot) and its comparison (real_counts_equal,
 *     real_counts_same_now, which prints both snapshots when they differ,
 *     real_ok_counts, one assertion that names the counters);
 *   - real_write_nr, to grow or put back the pool;
 *   - the machine-wide test lock (real_lock, real_unlock): an exclusive flock on
 *     /run/lock/hugemem-test.lock, held until real_unlock or the process ends;
 *   - the first writable hugetlbfs mount of 2 MiB pages (real_find_mount), found
 *     in /proc/self/mounts (octal escapes undone by real_unescape) and checked
 *     with statfs;
 *   - real_init_line, hm_init with the options of one command line (words
 *     split at spaces, as `hugemem init` parses them);
 *   - real_require, for a test that is all real: NULL when it may run, else the
 *     reason to skip, for plan_skip_all(). real_section, for a test whose real
 *     part follows fixture tests: it emits the TAP skip (or failure) itself.
 *
 * Rules enforced, in this order: root first (so a user's run skips without
 * waiting behind a benchmark that holds the lock); then the lock, before the
 * pool is even read, so the counters cannot move under another test; then N
 * pages free and not reserved (free - resv: what a mapping can really get);
 * then the mount. A test snapshots the counters once it is ready and compares
 * them at the end: the pool must be left as it was found.
 *
 * The checks read the system with their own code, not the library's: a bug in
 * the library under test cannot hide itself behind its own scaffolding.
 */
#ifndef HM_REAL_H
#define HM_REAL_H

#include "hugemem.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <unistd.h>

#define REAL_LOCK_PATH "/run/lock/hugemem-test.lock"
#define REAL_SYS2M     "/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define REAL_PAGE      (2ULL << 20)

struct real_counts {
	uint64_t nr, free, resv, surplus;
};

static int real_lock_fd = -1;

/* The 2 MiB pool counter NAME ("free_hugepages", ...); OTHERWISE when the
 * file cannot be read or holds no decimal count. */
static inline uint64_t real_counter_or(const char *name, uint64_t otherwise)
{
	char path[160], buf[32] = "", *end;
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), REAL_SYS2M "%s", name);
	f = fopen(path, "r");
	if (!f)
		return otherwise;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if (buf[0] < '0' || buf[0] > '9')
		return otherwise;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n'))
		return otherwise;
	return v;
}

/* The counter NAME; UINT64_MAX when unreadable. */
static inline uint64_t real_counter(const char *name)
{
	return real_counter_or(name, UINT64_MAX);
}

static inline void real_snapshot(struct real_counts *c)
{
	c->nr = real_counter("nr_hugepages");
	c->free = real_counter("free_hugepages");
	c->resv = real_counter("resv_hugepages");
	c->surplus = real_counter("surplus_hugepages");
}

static inline int real_counts_equal(const struct real_counts *a, const struct real_counts *b)
{
	return a->nr == b->nr && a->free == b->free && a->resv == b->resv &&
	       a->surplus == b->surplus;
}

/* 1 when the pool now is as BEFORE; else 0, after a diag of both. */
static inline int real_counts_same_now(const struct real_counts *before)
{
	struct real_counts now;

	real_snapshot(&now);
	if (real_counts_equal(before, &now))
		return 1;
	diag("pool nr/free/resv/surplus %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " -> %" PRIu64
	     "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
	     before->nr, before->free, before->resv, before->surplus, now.nr, now.free, now.resv,
	     now.surplus);
	return 0;
}

/* One TAP assertion: the pool now is as BEFORE; its message is WHAT and the
 * counters now. */
static inline int real_ok_counts(const struct real_counts *before, const char *what)
{
	struct real_counts now;

	real_snapshot(&now);
	return ok(real_counts_equal(before, &now),
		  "%s (nr %" PRIu64 " free %" PRIu64 " resv %" PRIu64 " surplus %" PRIu64 ")", what,
		  now.nr, now.free, now.resv, now.surplus);
}

/* Set the 2 MiB pool to NR pages; 0, or -1 when the kernel refused the write. */
static inline int real_write_nr(uint64_t nr)
{
	FILE *f = fopen(REAL_SYS2M "nr_hugepages", "w");
	int rc;

	if (!f)
		return -1;
	rc = fprintf(f, "%" PRIu64 "\n", nr) > 0 ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

/* Take the machine-wide lock (waiting for its holder); the descriptor, or -1
 * with errno set. Taking it twice is harmless. */
static inline int real_lock(void)
{
	int fd, err;

	if (real_lock_fd >= 0)
		return real_lock_fd;
	fd = open(REAL_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) /* another user's lock file: a read-only descriptor locks too */
		fd = open(REAL_LOCK_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	real_lock_fd = fd;
	return fd;
}

static inline void real_unlock(void)
{
	if (real_lock_fd >= 0)
		close(real_lock_fd);
	real_lock_fd = -1;
}

/* /proc/self/mounts writes ' ', '\t', '\n' and '\\' as a backslash and three
 * octal digits; undo that in place. */
static inline void real_unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* PATH is hugetlbfs by statfs, of 2 MiB pages, writable by us and (ROOM > 0)
 * unlimited or with ROOM pages left. */
static inline int real_mount_usable(const char *path, uint64_t room)
{
	struct statfs st;

	if (statfs(path, &st) < 0 || (uint32_t)st.f_type != (uint32_t)HUGETLBFS_MAGIC ||
	    (uint64_t)st.f_bsize != REAL_PAGE)
		return 0;
	if (room > 0 && st.f_blocks != 0 && (uint64_t)st.f_bavail < room)
		return 0;
	return access(path, W_OK) == 0;
}

/* The first usable (see real_mount_usable) 2 MiB hugetlbfs mount into MNT;
 * 1 when found, 0 when none (a path longer than LEN does not count). */
static inline int real_find_mount(char *mnt, size_t len, uint64_t room)
{
	char line[8192], dev[256], path[4096], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, path, type) != 3 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		real_unescape(path);
		if (strlen(path) < len && real_mount_usable(path, room)) {
			memcpy(mnt, path, strlen(path) + 1);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* As real_require, and the mount must have room for ROOM pages (0: any). */
static inline const char *real_require_room(uint64_t pages, uint64_t room, char *mnt, size_t len)
{
	static char why[256];
	struct real_counts c;
	uint64_t avail;

	if (geteuid() != 0)
		return "needs root (tests on the real 2 MiB hugepage pool)";
	if (real_lock() < 0) {
		snprintf(why, sizeof(why), "cannot take %s: %s", REAL_LOCK_PATH, strerror(errno));
		return why;
	}
	real_snapshot(&c);
	if (c.nr == UINT64_MAX || c.free == UINT64_MAX || c.resv == UINT64_MAX ||
	    c.surplus == UINT64_MAX)
		return "cannot read the 2 MiB pool counters in " REAL_SYS2M
		       " (no 2 MiB hugepages?)";
	avail = c.free > c.resv ? c.free - c.resv : 0;
	if (avail < pages) {
		snprintf(why, sizeof(why),
			 "fewer than %" PRIu64 " free 2 MiB pages (%" PRIu64 " free, %" PRIu64
			 " reserved): hugemem reserve %" PRIu64 "M",
			 pages, c.free, c.resv, (c.nr + pages - avail) * 2);
		return why;
	}
	if (mnt && !real_find_mount(mnt, len, room)) {
		if (room == 0)
			return "no writable 2 MiB hugetlbfs mount: hugemem mount /dev/hugepages";
		snprintf(why, sizeof(why),
			 "no writable 2 MiB hugetlbfs mount with room for %" PRIu64
			 " pages: hugemem mount /dev/hugepages",
			 room);
		return why;
	}
	return NULL;
}

/* For a test that runs only on the real pool: NULL once the process is root,
 * holds the machine-wide lock (until real_unlock or exit), PAGES 2 MiB pages are
 * free and not reserved and, unless MNT is NULL, MNT names a writable 2 MiB
 * hugetlbfs mount. Otherwise the reason to skip:
 *	const char *why = real_require(64, mnt, sizeof(mnt));
 *	if (why)
 *		return plan_skip_all(why);
 */
static inline const char *real_require(uint64_t pages, char *mnt, size_t len)
{
	return real_require_room(pages, 0, mnt, len);
}

/* For the real part of a test that runs fixture tests first: 1 when it may
 * run (root, a 2 MiB pool, the lock taken). Else 0 after one TAP line: a skip
 * naming WHAT when not root or no pool (a failure under HM_REQUIRE_HUGEPAGES=1),
 * a failure when the lock cannot be taken. */
static inline int real_section(const char *what)
{
	const char *req = getenv("HM_REQUIRE_HUGEPAGES");

	if (geteuid() != 0 || access(REAL_SYS2M, F_OK) != 0) {
		ok(!req || strcmp(req, "1") != 0, "# SKIP %s: needs root and 2 MiB hugepages",
		   what);
		return 0;
	}
	if (real_lock() < 0) {
		ok(0, "take %s: %s", REAL_LOCK_PATH, strerror(errno));
		return 0;
	}
	return 1;
}

/* hm_init with the options of LINE (words split at spaces): its result, or
 * -1000 when the options do not parse. */
static inline int real_init_line(struct hm_ctx *ctx, const char *line)
{
	char buf[256], *argv[16];
	int argc = 0;
	struct hm_opts o;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok(buf, " "); w && argc < 16; w = strtok(NULL, " "))
		argv[argc++] = w;
	hm_opts_init(&o);
	if (hm_opts_parse(ctx, &o, HM_CMD_INIT, argc, argv) < 0)
		return -1000;
	return hm_init(ctx, &o);
}

#endif
