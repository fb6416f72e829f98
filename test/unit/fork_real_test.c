/* SPDX-License-Identifier: MIT */
/*
 * fork_real_test — a child forked from a process that holds hugemem memory
 * never acts on it (issue 14, item 2), for each backing (page files, single
 * files, memfds), on real 2 MiB hugepages:
 *
 *   - the child's hm_ctx_free (from an atexit handler, as a daemon's clean-up
 *     runs) leaves the parent's page files, runtime directory, lock and page
 *     contents alone; a second primary of the prefix is still refused; the
 *     parent then ends cleanly and the pool is whole;
 *   - the same after the parent used the heap (a thread cache, a zone): the
 *     child does not crash; every heap and zone call there fails with
 *     -ECHILD (NULL) naming the call and the parent's pid; the layout calls
 *     answer as without memory; hm_init on the inherited context says
 *     -EALREADY, hm_fini forgets it (0) and the context then serves a new
 *     hm_init of the child's own; a child that ends its thread
 *     (pthread_exit: the cache's destructor) does not crash either;
 *   - a child that hm_attaches a new context of its own to the parent's
 *     prefix works (heap and zones included), and forgetting the inherited
 *     context afterwards keeps its own clients lock;
 *   - a secondary that forks: the same for its child.
 *
 * A child reports through its exit status (one bit per failed check) and
 * "#" lines; the parent makes every TAP assertion. Needs root, 32 free 2 MiB
 * pages and a 2 MiB mount.
 */
#include "real.h"
#include "tap.h"

#include "hugemem.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char mnt[4096];
static char prefix[64];
static struct hm_ctx *at_exit_ctx; /* what a child frees at its end, as an atexit handler */
static struct hm_ctx
    *volatile thread_exit_ctx; /* kept (reachable) by a child that ends its thread */

static const char *const backings[] = {"page files", "single files", "memfds"};
static const char *const backing_opt[] = {"", "--single-file-segments", "--in-memory"};

static int init_with(struct hm_ctx *ctx, const char *pfx, int backing, const char *extra)
{
	char line[256];

	snprintf(line, sizeof(line), "-m 8 --file-prefix %s %s %s", pfx, backing_opt[backing],
		 extra);
	return real_init_line(ctx, line);
}

static int attach_to(struct hm_ctx *ctx, const char *pfx)
{
	struct hm_opts o;

	hm_opts_init(&o);
	o.file_prefix = pfx;
	return hm_attach(ctx, &o);
}

/* Files of the prefix in the mount ("<prefix>map_..."). */
static int prefix_files(void)
{
	char head[96];
	DIR *d = opendir(mnt);
	struct dirent *e;
	int n = 0;

	snprintf(head, sizeof(head), "%smap_", prefix);
	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, head, strlen(head)) == 0;
	if (d)
		closedir(d);
	return n;
}

static int exists_in_rundir(struct hm_ctx *ctx, const char *name)
{
	char dir[HM_PATH_MAX], path[HM_PATH_MAX + 16];
	struct stat st;

	if (hm_prefix_dir(ctx, prefix, dir, sizeof(dir)) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", dir, name[0] ? "/" : "", name);
	return lstat(path, &st) == 0;
}

/* A byte per 4 KiB of [P, P+LEN), from SEED: written, or counted into *BAD
 * where it differs. */
static void pattern(unsigned char *p, uint64_t len, unsigned seed, int write, int *bad)
{
	for (uint64_t off = 64; off < len; off += 4096) {
		volatile unsigned char *at = p + off;
		unsigned char want = (unsigned char)(seed + off / 4096 * 7);

		if (write)
			*at = want;
		else
			*bad += *at != want;
	}
}

static void free_at_exit(void)
{
	hm_ctx_free(at_exit_ctx); /* NULL in the parent once it is done */
}

/* Run FN(ARG) in a forked child, then what its exit would run (the atexit
 * handler that frees the inherited context, as a daemon's clean-up does),
 * then _exit: under ASan a leak check in the child of a process with
 * threads (the memfd descriptor server) reports "thread not suspended".
 * Its exit status (or 128 + signal). */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int code = fn(arg);

		free_at_exit();
		fflush(stdout);
		_exit(code);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* In a child: count a failed check as bit BIT, with a diag line. */
#define CHILD_CHECK(fails, bit, cond, fmt, ...)                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			diag("child %d: " fmt, (int)getpid(), ##__VA_ARGS__);                      \
			(fails) |= 1 << (bit);                                                     \
		}                                                                                  \
	} while (0)

/* ------------------------------------------------------------------ the children */

/* Nothing: the atexit handler frees the inherited context (in_child). */
static int child_exit(void *arg)
{
	(void)arg;
	return 0;
}

/* A fresh context in a child: a second primary of the parent's prefix. */
static int child_second_primary(void *arg)
{
	struct hm_ctx *ctx;
	int rc, backing = *(int *)arg;

	at_exit_ctx = NULL;
	if (hm_ctx_new(&ctx) < 0)
		return 2;
	rc = init_with(ctx, prefix, backing, "");
	if (rc != -EBUSY)
		diag("second primary of %s: %d %s", prefix, rc, hm_errmsg(ctx));
	hm_ctx_free(ctx);
	return rc == -EBUSY ? 0 : 1;
}

/* The heap, zone and layout calls on the inherited context. */
static int child_calls(struct hm_ctx *ctx, void *block)
{
	char ppid[32];
	struct hm_heap_stats st;
	int fails = 0;

	snprintf(ppid, sizeof(ppid), "pid %d", (int)getppid());
	CHILD_CHECK(fails, 0, hm_malloc(ctx, 64, 0) == NULL, "hm_malloc gave memory");
	CHILD_CHECK(fails, 0,
		    strstr(hm_errmsg(ctx), "hm_malloc") && strstr(hm_errmsg(ctx), ppid) &&
			strstr(hm_errmsg(ctx), "hm_attach"),
		    "hm_malloc: '%s'", hm_errmsg(ctx));
	hm_free(ctx, block);
	CHILD_CHECK(fails, 1, strstr(hm_errmsg(ctx), "hm_free"), "hm_free: '%s'", hm_errmsg(ctx));
	CHILD_CHECK(fails, 2, hm_memzone_reserve(ctx, "zc", 4096, -1, 0, 0, NULL) == -ECHILD,
		    "hm_memzone_reserve: '%s'", hm_errmsg(ctx));
	CHILD_CHECK(fails, 2, hm_memzone_lookup(ctx, "z", NULL) == -ECHILD, "hm_memzone_lookup");
	CHILD_CHECK(fails, 2, hm_memzone_free(ctx, "z") == -ECHILD, "hm_memzone_free");
	CHILD_CHECK(fails, 3,
		    hm_zmalloc(ctx, 8, 0) == NULL && hm_calloc(ctx, 1, 8, 0) == NULL &&
			hm_realloc(ctx, block, 128, 0) == NULL &&
			hm_malloc_socket(ctx, 8, 0, 0) == NULL,
		    "a malloc-style call gave memory");
	CHILD_CHECK(fails, 3,
		    hm_heap_stats(ctx, -1, &st) == -ECHILD && hm_heap_check(ctx) == -ECHILD,
		    "hm_heap_stats / hm_heap_check: '%s'", hm_errmsg(ctx));
	CHILD_CHECK(fails, 4,
		    hm_layout(ctx) == NULL && hm_virt2iova(ctx, block) == HM_BAD_IOVA &&
			hm_iova_contig_len(ctx, block) == 0,
		    "the layout calls answer for the parent's memory");
	return fails;
}

struct heap_child {
	struct hm_ctx *ctx;
	void *block;
	int backing;
};

/* After the parent used the heap: every call fails, no crash; hm_init on
 * the context refuses, hm_fini forgets, then the context is the child's. */
static int child_heap(void *arg)
{
	struct heap_child *h = arg;
	char own[96];
	int fails = child_calls(h->ctx, h->block), rc;

	snprintf(own, sizeof(own), "%sc", prefix);
	rc = init_with(h->ctx, own, 2, "");
	CHILD_CHECK(fails, 5, rc == -EALREADY && strstr(hm_errmsg(h->ctx), "hm_fini it first"),
		    "hm_init on the inherited context: %d '%s'", rc, hm_errmsg(h->ctx));
	CHILD_CHECK(fails, 6, hm_fini(h->ctx) == 0, "hm_fini: '%s'", hm_errmsg(h->ctx));
	rc = init_with(h->ctx, own, 2, "");
	CHILD_CHECK(fails, 7, rc == 0, "hm_init of its own after hm_fini: '%s'", hm_errmsg(h->ctx));
	if (rc == 0) {
		void *p = hm_malloc(h->ctx, 100, 0);

		CHILD_CHECK(fails, 7, p != NULL, "hm_malloc on its own: '%s'", hm_errmsg(h->ctx));
		hm_free(h->ctx, p);
		CHILD_CHECK(fails, 7, hm_fini(h->ctx) == 0, "hm_fini of its own");
	}
	return fails;
}

/* Ends its one thread: the thread cache's destructor runs in the child. */
static void exit_quietly(void)
{
	_exit(0); /* registered last, so first: no leak check (see in_child) */
}

static int child_thread_exit(void *arg)
{
	thread_exit_ctx = arg; /* not freed: the destructor alone meets the cache */
	at_exit_ctx = NULL;
	fflush(stdout);
	atexit(exit_quietly);
	pthread_exit(NULL);
}

/* POSIX locks this process holds, from /proc/locks. */
static int my_posix_locks(void)
{
	char line[256], pid[32];
	FILE *f = fopen("/proc/locks", "r");
	int n = 0;

	snprintf(pid, sizeof(pid), " %d ", (int)getpid());
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "POSIX") && strstr(line, pid);
	if (f)
		fclose(f);
	return n;
}

/* A context of its own attached to the parent's prefix works; forgetting
 * the inherited one afterwards keeps this child's own locks. */
static int child_attach(void *arg)
{
	struct hm_ctx *inherited = arg, *own;
	struct hm_memzone z;
	int fails = 0, rc, locks;
	void *p;

	at_exit_ctx = NULL;
	if (hm_ctx_new(&own) < 0)
		return 1;
	rc = attach_to(own, prefix);
	CHILD_CHECK(fails, 0, rc == 0, "hm_attach of its own: '%s'", hm_errmsg(own));
	if (rc < 0) {
		hm_ctx_free(own);
		return fails;
	}
	CHILD_CHECK(fails, 1,
		    hm_memzone_lookup(own, "z", &z) == 0 && ((unsigned char *)z.va)[7] == 0xa7,
		    "the parent's zone, through its own context: '%s'", hm_errmsg(own));
	p = hm_malloc(own, 200, 0);
	CHILD_CHECK(fails, 2, p != NULL && hm_virt2iova(own, p) != HM_BAD_IOVA,
		    "hm_malloc on its own context: '%s'", hm_errmsg(own));
	hm_free(own, p);
	CHILD_CHECK(fails, 2, hm_heap_check(own) == 0, "heap check: '%s'", hm_errmsg(own));
	locks = my_posix_locks();
	hm_ctx_free(inherited);
	CHILD_CHECK(fails, 3, locks > 0 && my_posix_locks() == locks,
		    "its own locks: %d before forgetting the inherited context, %d after", locks,
		    my_posix_locks());
	CHILD_CHECK(fails, 4, hm_fini(own) == 0, "hm_fini of its own: '%s'", hm_errmsg(own));
	hm_ctx_free(own);
	return fails;
}

/* ------------------------------------------------------------------ the parent */

/* What the parent holds before a child runs: its files, and an area of
 * its memory with a pattern in it (every segment when LEN is 0, else a heap
 * block AREA: the heap's arena and blocks are in the segments). */
struct before {
	int files;
	unsigned char *area;
	uint64_t len;
};

static void write_pattern(struct hm_ctx *ctx, struct before *b, void *block, uint64_t len)
{
	struct hm_segment s;

	b->files = prefix_files();
	b->area = block;
	b->len = len;
	for (int i = 0; !len && hm_segment_get(ctx, i, &s) == 0; i++)
		pattern(s.va, s.len, 0x3c + (unsigned)i, 1, NULL);
	if (block)
		pattern(block, len, 0x3c, 1, NULL);
}

static int pattern_bad(struct hm_ctx *ctx, const struct before *b)
{
	struct hm_segment s;
	int bad = 0;

	if (b->len && !b->area)
		return 1; /* the heap gave no block to hold the pattern */
	for (int i = 0; !b->len && hm_segment_get(ctx, i, &s) == 0; i++)
		pattern(s.va, s.len, 0x3c + (unsigned)i, 0, &bad);
	if (b->area)
		pattern(b->area, b->len, 0x3c, 0, &bad);
	return bad;
}

/* What the parent must still have after a child ran. */
static void check_intact(struct hm_ctx *ctx, const char *what, const struct before *b)
{
	pid_t owner = 0;
	int rc = hm_prefix_owner(ctx, prefix, &owner);

	is_int(prefix_files(), b->files, "%s: the prefix's %d files are all there", what, b->files);
	ok(exists_in_rundir(ctx, "lock") && exists_in_rundir(ctx, "layout"),
	   "%s: the runtime directory, its lock and layout are there", what);
	ok(rc == 0 && owner == getpid(), "%s: the prefix is still held by this process (owner %d)",
	   what, (int)owner);
	is_int(pattern_bad(ctx, b), 0, "%s: the memory holds what was written (no page replaced)",
	       what);
}

static void check_end(struct hm_ctx *ctx, const struct real_counts *pool, const char *what)
{
	is_int(hm_fini(ctx), 0, "%s: the parent's hm_fini: %s", what, hm_errmsg(ctx));
	is_int(prefix_files(), 0, "%s: no file of the prefix left", what);
	ok(!exists_in_rundir(ctx, ""), "%s: no runtime directory left", what);
	real_ok_counts(pool, "the pool is whole");
}

static int start(struct hm_ctx *ctx, int backing, const char *what, struct before *b)
{
	int rc = init_with(ctx, prefix, backing, "");

	if (!ok(rc == 0, "%s: hm_init: %s", what, hm_errmsg(ctx)))
		return -1;
	b->files = prefix_files();
	return 0;
}

/* The parent never used the heap: the child's hm_ctx_free (atexit) once
 * deleted the files and the runtime directory. */
static void test_no_heap(int backing, const struct real_counts *pool)
{
	struct hm_ctx *ctx;
	struct before b;
	char what[64];

	snprintf(what, sizeof(what), "%s, no heap use", backings[backing]);
	hm_ctx_new(&ctx);
	if (start(ctx, backing, what, &b) == 0) {
		write_pattern(ctx, &b, NULL, 0);
		at_exit_ctx = ctx;
		is_int(in_child(child_exit, NULL), 0, "%s: the child's exit (hm_ctx_free) is clean",
		       what);
		at_exit_ctx = NULL;
		check_intact(ctx, what, &b);
		is_int(in_child(child_second_primary, &backing), 0,
		       "%s: a second primary of the prefix is refused (EBUSY)", what);
		check_end(ctx, pool, what);
	}
	hm_ctx_free(ctx);
}

/* The parent used the heap: the child once died of SIGSEGV. */
static void test_heap(int backing, const struct real_counts *pool)
{
	struct heap_child h = {.backing = backing};
	struct hm_heap_stats st;
	struct hm_memzone z;
	char what[64];
	struct before b;

	snprintf(what, sizeof(what), "%s, heap used", backings[backing]);
	hm_ctx_new(&h.ctx);
	if (start(h.ctx, backing, what, &b) == 0) {
		h.block = hm_malloc(h.ctx, 100, 0);
		hm_free(h.ctx, hm_malloc(h.ctx, 100, 0)); /* this thread's cache holds a block */
		ok(h.block && hm_memzone_reserve(h.ctx, "z", 4096, -1, 0, 0, &z) == 0,
		   "%s: hm_malloc and a zone: %s", what, hm_errmsg(h.ctx));
		write_pattern(h.ctx, &b, hm_malloc(h.ctx, 1 << 20, 0), 1 << 20);
		at_exit_ctx = h.ctx;
		is_int(in_child(child_heap, &h), 0,
		       "%s: in the child every heap call fails (ECHILD) without a crash; "
		       "hm_fini forgets; a new hm_init works",
		       what);
		is_int(in_child(child_thread_exit, h.ctx), 0,
		       "%s: a child that ends its thread (the cache's destructor) exits cleanly",
		       what);
		is_int(in_child(child_exit, NULL), 0, "%s: the child's exit (hm_ctx_free) is clean",
		       what);
		at_exit_ctx = NULL;
		check_intact(h.ctx, what, &b);
		ok(hm_heap_check(h.ctx) == 0 && hm_heap_stats(h.ctx, -1, &st) == 0 &&
		       st.bad_frees == 0 && hm_memzone_lookup(h.ctx, "z", NULL) == 0,
		   "%s: the heap is sound, the zone there, no free counted: %s", what,
		   hm_errmsg(h.ctx));
		hm_free(h.ctx, h.block);
		is_int(in_child(child_second_primary, &backing), 0,
		       "%s: a second primary of the prefix is refused (EBUSY)", what);
		check_end(h.ctx, pool, what);
	}
	hm_ctx_free(h.ctx);
}

/* Under valgrind (make check-valgrind) a child cannot map the parent's
 * window again: memcheck's own map of the address space ignores
 * MADV_DONTFORK and keeps the range taken in the child. */
static int skip_attach(const char *what)
{
	if (!getenv("HM_VALGRIND"))
		return 0;
	ok(1, "# SKIP %s: under valgrind a child cannot map the parent's window again", what);
	return 1;
}

/* A child attaches a context of its own. */
static void test_child_attach(int backing, const struct real_counts *pool)
{
	struct hm_memzone z;
	struct hm_ctx *ctx;
	struct before b;
	char what[64];

	snprintf(what, sizeof(what), "%s, child attaches", backings[backing]);
	if (skip_attach(what))
		return;
	hm_ctx_new(&ctx);
	if (start(ctx, backing, what, &b) == 0) {
		ok(hm_memzone_reserve(ctx, "z", 4096, -1, 0, 0, &z) == 0, "%s: a zone", what);
		((unsigned char *)z.va)[7] = 0xa7;
		write_pattern(ctx, &b, hm_malloc(ctx, 1 << 20, 0), 1 << 20);
		is_int(in_child(child_attach, ctx), 0,
		       "%s: the child's own hm_attach works (zone, heap), and keeps its lock "
		       "when it frees the inherited context",
		       what);
		check_intact(ctx, what, &b);
		check_end(ctx, pool, what);
	}
	hm_ctx_free(ctx);
}

/* ------------------------------------------------------------------ a secondary forks */

/* The primary, in a child of the test: holds until told to go. */
static int primary_process(void *arg)
{
	int *fds = arg, backing = fds[2], rc;
	struct hm_ctx *ctx;
	char c = 0;

	at_exit_ctx = NULL;
	hm_ctx_new(&ctx);
	rc = init_with(ctx, prefix, backing, "");
	if (rc < 0)
		diag("primary: %s", hm_errmsg(ctx));
	c = rc == 0 ? 'y' : 'n';
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) < 0)
		rc = -1;
	hm_ctx_free(ctx);
	return rc < 0;
}

static void test_secondary_forks(int backing, const struct real_counts *pool)
{
	int up[2], down[2], args[3], st = 0;
	struct hm_ctx *ctx;
	char what[64], c = 0;
	pid_t primary;
	void *p;

	snprintf(what, sizeof(what), "%s, a secondary forks", backings[backing]);
	if (pipe(up) < 0 || pipe(down) < 0)
		return;
	args[0] = down[0];
	args[1] = up[1];
	args[2] = backing;
	fflush(stdout);
	primary = fork();
	if (primary == 0)
		_exit(primary_process(args));
	close(up[1]);
	close(down[0]);
	hm_ctx_new(&ctx);
	if (ok(read(up[0], &c, 1) == 1 && c == 'y', "%s: the primary is up", what) &&
	    ok(attach_to(ctx, prefix) == 0, "%s: hm_attach: %s", what, hm_errmsg(ctx))) {
		struct hm_memzone z;

		ok(hm_memzone_reserve(ctx, "z", 4096, -1, 0, 0, &z) == 0, "%s: a zone", what);
		((unsigned char *)z.va)[7] = 0xa7;
		p = hm_malloc(ctx, 100, 0);
		hm_free(ctx, hm_malloc(ctx, 100, 0));
		at_exit_ctx = ctx;
		is_int(in_child(child_exit, NULL), 0, "%s: its child's exit (hm_ctx_free) is clean",
		       what);
		if (!skip_attach(what))
			is_int(in_child(child_attach, ctx), 0,
			       "%s: its child attaches on its own and keeps its clients lock when "
			       "it frees the inherited context",
			       what);
		at_exit_ctx = NULL;
		ok(hm_heap_check(ctx) == 0 && hm_virt2iova(ctx, p) != HM_BAD_IOVA,
		   "%s: the secondary's heap and translation still work", what);
		hm_free(ctx, p);
		is_int(hm_fini(ctx), 0, "%s: the secondary's hm_fini", what);
	}
	hm_ctx_free(ctx);
	if (write(down[1], "x", 1) != 1)
		kill(primary, SIGTERM);
	waitpid(primary, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the primary ends cleanly", what);
	close(up[0]);
	close(down[1]);
	is_int(prefix_files(), 0, "%s: no file of the prefix left", what);
	real_ok_counts(pool, "the pool is whole");
}

int main(void)
{
	const char *why = real_require(32, mnt, sizeof(mnt));
	struct real_counts pool;

	if (why)
		return plan_skip_all(why);
	snprintf(prefix, sizeof(prefix), "hmfork%d", (int)getpid());
	real_snapshot(&pool);
	for (int backing = 0; backing < 3; backing++) {
		test_no_heap(backing, &pool);
		test_heap(backing, &pool);
		test_child_attach(backing, &pool);
		test_secondary_forks(backing, &pool);
	}
	return done();
}
