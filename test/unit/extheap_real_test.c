/* SPDX-License-Identifier: MIT */
/*
 * extheap_real_test — external heaps (hm_extmem_heap_add, _remove;
 * docs/growth.md) over a primary on real 2 MiB hugepages (memfds):
 *
 *   - anonymous memory, 2 MiB-aligned, registered with an IOVA table, becomes
 *     a heap with a socket id >= HM_EXT_SOCKET_BASE; refused before it is
 *     registered, twice, over part of a range, with IOVAs that are not
 *     contiguous, past HM_EXT_HEAP_MAX heaps; unregistering it is refused
 *     while it is a heap;
 *   - hm_malloc_socket and hm_memzone_reserve take from it: pointers inside
 *     the range, IOVAs as registered; hm_realloc stays in it; HM_SOCKET_ANY
 *     (malloc, zmalloc, zones) never lands there, even with the node heaps
 *     full; freed blocks coalesce (one free block again), never with the
 *     heap next to it in VA; hm_heap_check 0, statistics per heap;
 *   - hm_extmem_heap_remove: -EBUSY naming the bytes while a block or a zone
 *     lives, then done; the socket id then names no heap;
 *   - forked secondaries (hm_attach): one that has not registered the memory
 *     (and has unmapped it: a touch would kill it) cannot allocate there
 *     (ENOENT, the message says so), while its heap check, statistics, zone
 *     lookup and walk work; one that registered the same MAP_SHARED memory at
 *     the same address allocates there, the primary reads and frees what it
 *     wrote, and it detaches (hm_extmem_heap_remove) before it unregisters;
 *     one that adds a heap itself, used by the primary once it registers the
 *     range, removed by the secondary once the primary's block is freed;
 *   - one that maps it dies holding the heap lock with the heap's counters
 *     torn: one that does not map it recovers the lock without touching the
 *     range and marks the heap suspect; the primary repairs it at its next
 *     lock.
 * The pool must be as found at the end. Needs root and 8 free 2 MiB pages.
 */
#include "heap/heap.h"
#include "real.h"
#include "tap.h"

#include "hugemem.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MB	  (1ULL << 20)
#define EXT_LEN	  (2 * MB)
#define EXT_PAGE  (64 * 1024ULL)
#define EXT_PAGES (EXT_LEN / EXT_PAGE)
#define IOVA_BASE 0x7000000000ULL

static uint64_t iova_tab[EXT_PAGES];

/* LEN bytes of anonymous memory at a 2 MiB boundary (SHARED: MAP_SHARED, so
 * that forked children see the same pages); NULL on failure. */
static char *anon(size_t len, int shared)
{
	char *m = mmap(NULL, len + 2 * MB, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	uintptr_t at;

	if (m == MAP_FAILED)
		return NULL;
	at = ((uintptr_t)m + 2 * MB - 1) & ~(uintptr_t)(2 * MB - 1);
	if (at > (uintptr_t)m)
		munmap(m, at - (uintptr_t)m);
	munmap((char *)at + len, (uintptr_t)m + len + 2 * MB - at - len);
	return (char *)at;
}

static int inside(const void *p, const char *base, uint64_t len)
{
	return p && (const char *)p >= base && (const char *)p < base + len;
}

static int reg(struct hm_ctx *ctx, char *at)
{
	return hm_extmem_register(ctx, at, EXT_LEN, iova_tab, (unsigned)EXT_PAGES, EXT_PAGE);
}

static uint64_t want_iova(const char *base, const void *p)
{
	return IOVA_BASE + (uint64_t)((const char *)p - base);
}

static void check_refusals(struct hm_ctx *ctx, char *ext)
{
	uint64_t bad[EXT_PAGES];

	is_int(hm_extmem_heap_add(ctx, ext, EXT_LEN), -EINVAL, "a range not registered is refused");
	like(hm_errmsg(ctx), "hm_extmem_register it first", "the message says to register it");
	for (size_t i = 0; i < EXT_PAGES; i++)
		bad[i] = IOVA_BASE + i * EXT_PAGE + (i >= 5 ? EXT_PAGE : 0);
	is_int(hm_extmem_register(ctx, ext, EXT_LEN, bad, (unsigned)EXT_PAGES, EXT_PAGE), 0,
	       "register with IOVAs that are not contiguous");
	is_int(hm_extmem_heap_add(ctx, ext, EXT_LEN), -EINVAL,
	       "a heap over IOVAs that are not contiguous is refused");
	like(hm_errmsg(ctx), "contiguous for the first 327680 bytes",
	     "the message says how far they are contiguous");
	is_int(hm_extmem_unregister(ctx, ext, EXT_LEN), 0, "unregister it");
}

/* Fill the node heaps until HM_SOCKET_ANY finds no room: every block stays
 * out of EXT. The count of blocks, kept in *BLK (malloc'ed). */
static size_t fill_nodes(struct hm_ctx *ctx, const char *ext, void ***blk, int *strays)
{
	static const size_t sizes[] = {256 * 1024, 16 * 1024, 1024, 64};
	size_t n = 0, cap = 1024;

	*blk = malloc(cap * sizeof(**blk));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		void *p;

		while ((p = s % 2 ? hm_zmalloc(ctx, sizes[s], 0) : hm_malloc(ctx, sizes[s], 0))) {
			if (n == cap)
				*blk = realloc(*blk, (cap *= 2) * sizeof(**blk));
			(*blk)[n++] = p;
			*strays += inside(p, ext, EXT_LEN);
		}
	}
	return n;
}

static void check_any_never(struct hm_ctx *ctx, const char *ext, int sock)
{
	struct hm_heap_stats before, after;
	struct hm_memzone z;
	void **blk;
	int strays = 0, err;
	size_t n;

	hm_heap_stats(ctx, sock, &before);
	n = fill_nodes(ctx, ext, &blk, &strays);
	err = errno;
	ok(n > 10, "HM_SOCKET_ANY fills the node heaps (%zu blocks)", n);
	is_int(strays, 0, "no block of HM_SOCKET_ANY lies in the external heap");
	is_int(err, ENOMEM, "and then fails with ENOMEM (%s)", hm_errmsg(ctx));
	is_int(hm_memzone_reserve(ctx, "anyz", 4096, HM_SOCKET_ANY, 0, 0, &z), -ENOMEM,
	       "a zone on HM_SOCKET_ANY does not go there either");
	ok(!inside(hm_calloc(ctx, 1, 64, 0), ext, EXT_LEN), "nor hm_calloc");
	hm_heap_stats(ctx, sock, &after);
	is_u64(after.used, before.used, "the external heap's use is unchanged");
	for (size_t i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
	free(blk);
}

/* A block allocated, resized and freed in the heap; the zone EXTZ stays. */
static void check_blocks(struct hm_ctx *ctx, char *ext, int sock)
{
	struct hm_heap_stats st;
	struct hm_memzone z;
	char *p, *q, *r;

	p = hm_malloc_socket(ctx, 1000, 0, sock);
	ok(inside(p, ext, EXT_LEN), "hm_malloc_socket takes from the external heap (%p)", p);
	ok(p && hm_virt2iova(ctx, p) == want_iova(ext, p),
	   "its IOVA is the registered one (0x%llx)", (unsigned long long)hm_virt2iova(ctx, p));
	if (p)
		memset(p, 0x33, 1000);
	q = hm_realloc(ctx, p, 300000, 0);
	ok(inside(q, ext, EXT_LEN) && q[999] == 0x33,
	   "hm_realloc keeps it in the heap, bytes kept");
	r = hm_malloc_socket(ctx, 4096, 4096, sock);
	ok(inside(r, ext, EXT_LEN) && (uintptr_t)r % 4096 == 0, "an aligned block too");
	is_int(hm_memzone_reserve(ctx, "extz", 64 * 1024, sock, HM_MZ_IOVA_CONTIG, 0, &z), 0,
	       "a zone on the external heap (%s)", hm_errmsg(ctx));
	ok(inside(z.va, ext, EXT_LEN) && z.socket == sock && z.iova == want_iova(ext, z.va),
	   "the zone lies in it, with its socket id and IOVA");
	ok(hm_memzone_reserve(ctx, "huge", 4 * MB, sock, 0, 0, NULL) == -ENOMEM &&
	       strstr(hm_errmsg(ctx), "external heap"),
	   "a zone larger than the heap: ENOMEM naming it (%s)", hm_errmsg(ctx));
	hm_free(ctx, q);
	hm_free(ctx, r);
	is_int(hm_heap_stats(ctx, sock, &st), 0, "statistics of the external heap");
	ok(st.total > EXT_LEN - 4096 && st.total <= EXT_LEN, "its total is the range's (%llu)",
	   (unsigned long long)st.total);
	is_u64(st.used_blocks, 1, "the zone is its one block in use");
	ok(st.free_blocks <= 2, "freed blocks merged (%llu free blocks)",
	   (unsigned long long)st.free_blocks);
	ok(st.allocs >= 2 && st.frees >= 2, "this context's calls counted");
	is_int(hm_heap_check(ctx), 0, "hm_heap_check");
}

static void check_remove(struct hm_ctx *ctx, char *ext, int sock)
{
	struct hm_heap_stats st;
	char *p = hm_malloc_socket(ctx, 100, 0, sock);

	is_int(hm_extmem_heap_remove(ctx, ext, EXT_LEN), -EBUSY, "remove while blocks live");
	like(hm_errmsg(ctx), "bytes in 2 blocks in use", "the message names what is in use");
	hm_free(ctx, p);
	hm_memzone_free(ctx, "extz");
	hm_heap_stats(ctx, sock, &st);
	is_u64(st.free_blocks, 1, "all free: one block again (coalesced)");
	is_int(hm_extmem_heap_remove(ctx, ext, EXT_LEN), 0, "remove once all is free");
	ok(!hm_malloc_socket(ctx, 100, 0, sock) && errno == ENOENT,
	   "its socket id names no heap any more (ENOENT)");
	like(hm_errmsg(ctx), "no external heap", "the message says so");
	is_int(hm_extmem_heap_remove(ctx, ext, EXT_LEN), -ENOENT, "remove twice: ENOENT");
	is_int(hm_extmem_unregister(ctx, ext, EXT_LEN), 0, "unregister once it is no heap");
	is_int(hm_heap_check(ctx), 0, "hm_heap_check");
}

/* Two heaps next to each other in VA: blocks never merge across. */
static void check_neighbours(struct hm_ctx *ctx)
{
	char *two = anon(2 * EXT_LEN, 0);
	struct hm_heap_stats a, b;
	int s1, s2;
	void *p1, *p2;

	hm_extmem_register(ctx, two, EXT_LEN, NULL, 1, EXT_LEN);
	hm_extmem_register(ctx, two + EXT_LEN, EXT_LEN, NULL, 1, EXT_LEN);
	s1 = hm_extmem_heap_add(ctx, two, EXT_LEN);
	s2 = hm_extmem_heap_add(ctx, two + EXT_LEN, EXT_LEN);
	ok(s1 >= HM_EXT_SOCKET_BASE && s2 >= HM_EXT_SOCKET_BASE && s1 != s2,
	   "two heaps next to each other (%d, %d)", s1, s2);
	is_int(hm_extmem_heap_add(ctx, two, EXT_LEN), -EEXIST, "the same range twice: EEXIST");
	p1 = hm_malloc_socket(ctx, 1024, 0, s1);
	p2 = hm_malloc_socket(ctx, 1024, 0, s2);
	ok(inside(p1, two, EXT_LEN) && inside(p2, two + EXT_LEN, EXT_LEN),
	   "each takes from its own range");
	hm_free(ctx, p2);
	hm_free(ctx, p1);
	hm_heap_stats(ctx, s1, &a);
	hm_heap_stats(ctx, s2, &b);
	ok(a.free_blocks == 1 && b.free_blocks == 1 && a.largest_free < EXT_LEN &&
	       b.largest_free < EXT_LEN,
	   "each coalesced within its own region only");
	is_int(hm_heap_check(ctx), 0, "hm_heap_check");
	is_int(hm_extmem_heap_remove(ctx, two, EXT_LEN), 0, "remove the first");
	is_int(hm_extmem_heap_remove(ctx, two + EXT_LEN, EXT_LEN), 0, "remove the second");
	hm_extmem_unregister(ctx, two, EXT_LEN);
	hm_extmem_unregister(ctx, two + EXT_LEN, EXT_LEN);
	munmap(two, 2 * EXT_LEN);
}

/* HM_EXT_HEAP_MAX heaps, then ENOSPC. */
static void check_full_table(struct hm_ctx *ctx)
{
	size_t len = 64 * 1024, n = HM_EXT_HEAP_MAX + 1;
	char *m = anon(n * len, 0);
	int added = 0, rc = 0;

	for (size_t i = 0; i < n; i++)
		hm_extmem_register(ctx, m + i * len, len, NULL, 16, 4096);
	for (size_t i = 0; i < n - 1; i++)
		added += hm_extmem_heap_add(ctx, m + i * len, len) >= HM_EXT_SOCKET_BASE;
	is_int(added, HM_EXT_HEAP_MAX, "HM_EXT_HEAP_MAX heaps");
	rc = hm_extmem_heap_add(ctx, m + (n - 1) * len, len);
	is_int(rc, -ENOSPC, "one more: ENOSPC (%s)", hm_errmsg(ctx));
	for (size_t i = 0; i < n; i++) {
		hm_extmem_heap_remove(ctx, m + i * len, len);
		hm_extmem_unregister(ctx, m + i * len, len);
	}
	is_int(hm_extmem_heap_add(ctx, m, len), -EINVAL, "and all gone: none registered any more");
	munmap(m, n * len);
}

/* ------------------------------------------------------------------ secondaries */

struct shared_case {
	const char *pfx;
	char *ext; /* MAP_SHARED, mapped before the fork: the same VA in the child */
	int sock;
	char *theirs; /* a block the primary allocated there */
};

static struct hm_ctx *attach(const char *pfx)
{
	struct hm_ctx *sec = NULL;
	struct hm_opts o;

	hm_ctx_new(&sec);
	hm_opts_init(&o);
	o.file_prefix = pfx;
	if (hm_attach(sec, &o) != 0) {
		fprintf(stderr, "# attach: %s\n", hm_errmsg(sec));
		hm_ctx_free(sec);
		return NULL;
	}
	return sec;
}

/* A secondary that has not registered the memory (and unmapped it: any
 * touch kills it). One exit bit per failure. */
static int unregistered(const struct shared_case *c)
{
	struct hm_ctx *sec = attach(c->pfx);
	struct hm_heap_stats st;
	struct hm_memzone z;
	int bad = 0;

	if (!sec)
		return 1;
	munmap(c->ext, EXT_LEN);
	bad |= (hm_malloc_socket(sec, 100, 0, c->sock) != NULL || errno != ENOENT ||
		!strstr(hm_errmsg(sec), "not registered"))
	       << 1;
	if (bad & 2)
		fprintf(stderr, "# unregistered: malloc: %s\n", hm_errmsg(sec));
	bad |= (hm_heap_check(sec) != 0) << 2;
	bad |= (hm_heap_stats(sec, -1, &st) != 0) << 3;
	bad |= (hm_heap_stats(sec, c->sock, &st) != 0 || st.used == 0 || st.largest_free != 0) << 4;
	bad |= (hm_memzone_lookup(sec, "extz", &z) != 0 || z.socket != c->sock ||
		z.va < (void *)c->ext || z.va >= (void *)(c->ext + EXT_LEN))
	       << 5;
	bad |= (hm_memzone_free(sec, "extz") != -ENOENT) << 6;
	hm_free(sec, c->theirs); /* ignored: the memory is not registered here */
	bad |= !strstr(hm_errmsg(sec), "not registered") << 7;
	if (bad)
		fprintf(stderr, "# unregistered: bits 0x%x: %s\n", bad, hm_errmsg(sec));
	hm_ctx_free(sec);
	return bad;
}

/* A secondary that registered the same memory at the same address: it
 * frees the primary's block (its first heap call), allocates there (its
 * block's address goes to OUT), detaches, unregisters; registered again, it
 * is attached again. */
static int registered(const struct shared_case *c, int out)
{
	struct hm_ctx *sec = attach(c->pfx);
	struct hm_heap_stats st;
	char *q, *r = NULL;
	int bad = 0;

	if (!sec)
		return 1;
	bad |= (reg(sec, c->ext) != 0) << 1;
	hm_free(sec, c->theirs); /* a block the primary allocated, before any other heap call */
	bad |= (hm_heap_stats(sec, c->sock, &st) != 0 || st.used_blocks != 1) << 3; /* the zone */
	q = hm_malloc_socket(sec, 4096, 0, c->sock);
	bad |= !(inside(q, c->ext, EXT_LEN) && hm_virt2iova(sec, q) == want_iova(c->ext, q)) << 2;
	if (q)
		memset(q, 0x5a, 4096);
	bad |= (hm_heap_check(sec) != 0) << 3;
	bad |= (hm_extmem_unregister(sec, c->ext, EXT_LEN) != -EBUSY) << 4;
	bad |= (hm_extmem_heap_remove(sec, c->ext, EXT_LEN) != 0) << 5; /* detaches */
	bad |= (hm_malloc_socket(sec, 100, 0, c->sock) != NULL) << 6;
	bad |= (hm_extmem_unregister(sec, c->ext, EXT_LEN) != 0) << 7;
	/* registered again: attached again */
	bad |= (reg(sec, c->ext) != 0 || !(r = hm_malloc_socket(sec, 100, 0, c->sock))) << 6;
	hm_free(sec, r);
	bad |= (hm_extmem_heap_remove(sec, c->ext, EXT_LEN) != 0 ||
		hm_extmem_unregister(sec, c->ext, EXT_LEN) != 0)
	       << 7;
	if (write(out, &q, sizeof(q)) != sizeof(q))
		bad |= 1;
	if (bad)
		fprintf(stderr, "# registered: bits 0x%x: %s\n", bad, hm_errmsg(sec));
	hm_ctx_free(sec);
	return bad;
}

static int run_child(const struct shared_case *c, int which, char **got)
{
	int fd[2], st = 0;
	pid_t pid;

	*got = NULL;
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		_exit(which ? registered(c, fd[1]) : unregistered(c));
	}
	close(fd[1]);
	if (which && read(fd[0], got, sizeof(*got)) != sizeof(*got))
		*got = NULL;
	close(fd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void check_secondaries(struct hm_ctx *ctx, const char *pfx)
{
	struct shared_case c = {.pfx = pfx, .ext = anon(EXT_LEN, 1)};
	struct hm_heap_stats st;
	char *q;

	is_int(reg(ctx, c.ext), 0, "shared memory registered in the primary");
	c.sock = hm_extmem_heap_add(ctx, c.ext, EXT_LEN);
	ok(c.sock >= HM_EXT_SOCKET_BASE, "and made a heap (%d)", c.sock);
	c.theirs = hm_malloc_socket(ctx, 512, 0, c.sock);
	ok(hm_memzone_reserve(ctx, "extz", 8192, c.sock, 0, 0, NULL) == 0 && c.theirs,
	   "a block and a zone in it");
	is_int(run_child(&c, 0, &q), 0,
	       "a secondary that has not registered it: no allocation there (the message says "
	       "so), heap check, statistics and zones work without touching it (exit bits)");
	is_int(run_child(&c, 1, &q), 0,
	       "a secondary that registered it allocates there, frees the primary's block, "
	       "detaches and unregisters, and is attached again when it registers again (exit "
	       "bits)");
	ok(inside(q, c.ext, EXT_LEN) && q[4095] == 0x5a, "the primary reads what it wrote");
	hm_free(ctx, q);
	hm_memzone_free(ctx, "extz");
	hm_heap_stats(ctx, c.sock, &st);
	is_u64(st.used, 0, "the primary freed the secondary's block: nothing in use");
	is_int(hm_heap_check(ctx), 0, "hm_heap_check in the primary");
	is_int(hm_extmem_heap_remove(ctx, c.ext, EXT_LEN), 0, "the primary removes its heap");
	hm_extmem_unregister(ctx, c.ext, EXT_LEN);
	munmap(c.ext, EXT_LEN);
}

/* A secondary adds a heap of its memory (MAP_SHARED, the same VA here);
 * the primary uses it once it registers the range too. */
static void check_secondary_adds(struct hm_ctx *ctx, const char *pfx)
{
	char *ext = anon(EXT_LEN, 1), *p;
	int c2p[2], p2c[2], st = 0, msg[2] = {0};
	pid_t pid;

	if (pipe(c2p) < 0 || pipe(p2c) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct hm_ctx *sec = attach(pfx);
		char go;

		msg[0] = sec && reg(sec, ext) == 0 ? hm_extmem_heap_add(sec, ext, EXT_LEN) : -1;
		if (write(c2p[1], msg, sizeof(msg)) != sizeof(msg) || !sec ||
		    read(p2c[0], &go, 1) != 1)
			_exit(1);
		msg[0] = hm_extmem_heap_remove(sec, ext, EXT_LEN); /* the primary's block lives */
		msg[1] = 0;
		if (write(c2p[1], msg, sizeof(msg)) != sizeof(msg) || read(p2c[0], &go, 1) != 1)
			_exit(1);
		msg[0] = hm_extmem_heap_remove(sec, ext, EXT_LEN);
		if (write(c2p[1], msg, sizeof(msg)) != sizeof(msg) || read(p2c[0], &go, 1) != 1)
			_exit(1);
		hm_ctx_free(sec);
		_exit(0);
	}
	if (read(c2p[0], msg, sizeof(msg)) != sizeof(msg))
		msg[0] = -1;
	ok(msg[0] >= HM_EXT_SOCKET_BASE, "a secondary adds a heap of its own memory (%d)", msg[0]);
	ok(!hm_malloc_socket(ctx, 64, 0, msg[0]) && strstr(hm_errmsg(ctx), "not registered"),
	   "the primary, not registered, cannot allocate there (%s)", hm_errmsg(ctx));
	is_int(hm_heap_check(ctx), 0, "its heap check leaves the range alone");
	is_int(reg(ctx, ext), 0, "the primary registers the same range");
	p = hm_malloc_socket(ctx, 64, 0, msg[0]);
	ok(inside(p, ext, EXT_LEN), "and allocates there");
	is_int(hm_extmem_unregister(ctx, ext, EXT_LEN), -EBUSY, "unregister refused: in a heap");
	like(hm_errmsg(ctx), "hm_extmem_heap_remove it first", "the message says what to do");
	ok(write(p2c[1], "x", 1) == 1 && read(c2p[0], msg, sizeof(msg)) == sizeof(msg) &&
	       msg[0] == -EBUSY,
	   "the secondary's remove waits for the primary's block (EBUSY)");
	hm_free(ctx, p);
	ok(write(p2c[1], "x", 1) == 1 && read(c2p[0], msg, sizeof(msg)) == sizeof(msg) &&
	       msg[0] == 0,
	   "then removes it");
	is_int(hm_extmem_unregister(ctx, ext, EXT_LEN), 0,
	       "the primary unregisters at once: the heap is gone");
	if (write(p2c[1], "x", 1) != 1)
		diag("cannot release the secondary");
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, "the secondary ended");
	is_int(hm_heap_check(ctx), 0, "hm_heap_check");
	munmap(ext, EXT_LEN);
	for (int i = 0; i < 2; i++) {
		close(c2p[i]);
		close(p2c[i]);
	}
}

/* A process that maps the heap dies holding the lock with the external
 * heap's counters torn; one that does not map it recovers the lock without
 * touching the range and marks the heap suspect; the primary, which maps
 * it, checks and repairs it at its next lock. */
static int die_holding(const char *pfx, char *ext, int k)
{
	struct hm_ctx *sec = attach(pfx);
	struct hmi_heap_view *v = sec ? hmi_arena_view(sec) : NULL;

	if (!v || reg(sec, ext) != 0 || hmi_heap_lock(sec, v) != 0 || !(v->ext_here & 1u << k))
		return 1;
	v->h->nodes[v->n_nodes + (uint32_t)k].free_bytes += 64; /* a free half done */
	raise(SIGKILL);
	return 1;
}

static int recover_elsewhere(const char *pfx, char *ext, int k)
{
	struct hm_ctx *sec = attach(pfx);
	struct hmi_heap_view *v = sec ? hmi_arena_view(sec) : NULL;
	struct hm_heap_stats st;
	int bad = 0;

	if (!v)
		return 1;
	munmap(ext, EXT_LEN); /* a touch of the range would kill this process */
	bad |= (hm_heap_check(sec) != 0) << 1;
	bad |= (hm_heap_stats(sec, -1, &st) != 0 || st.recoveries != 1 || st.repairs != 0) << 2;
	bad |= (v->h->ext[k].suspect != 1) << 3;
	if (bad)
		fprintf(stderr, "# recover elsewhere: bits 0x%x: %s\n", bad, hm_errmsg(sec));
	hm_ctx_free(sec);
	return bad;
}

static int child_status(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void check_dead_holder(struct hm_ctx *ctx, const char *pfx)
{
	char *ext = anon(EXT_LEN, 1);
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hm_heap_stats st;
	int sock, k;
	pid_t pid;

	reg(ctx, ext);
	sock = hm_extmem_heap_add(ctx, ext, EXT_LEN);
	k = sock - HM_EXT_SOCKET_BASE;
	if (!ok(k >= 0 && k < HM_EXT_HEAP_MAX, "dead holder: a heap (%s)", hm_errmsg(ctx)))
		return;
	pid = fork();
	if (pid == 0)
		_exit(die_holding(pfx, ext, k));
	is_int(child_status(pid), 128 + SIGKILL, "a secondary that maps it dies holding the lock");
	pid = fork();
	if (pid == 0)
		_exit(recover_elsewhere(pfx, ext, k));
	is_int(child_status(pid), 0,
	       "one that does not map it recovers the lock, checks the rest, leaves the range "
	       "alone and marks the heap suspect (exit bits)");
	is_int(hm_heap_check(ctx), 0, "the primary, which maps it, checks it (%s)", hm_errmsg(ctx));
	hm_heap_stats(ctx, -1, &st);
	is_u64(st.repairs, 1, "the torn counters were repaired");
	is_int(v->h->ext[k].suspect, 0, "and the heap is not suspect any more");
	is_int(hm_extmem_heap_remove(ctx, ext, EXT_LEN), 0, "remove it");
	hm_extmem_unregister(ctx, ext, EXT_LEN);
	munmap(ext, EXT_LEN);
}

int main(void)
{
	const char *why = real_require(8, NULL, 0);
	struct real_counts before;
	struct hm_ctx *ctx = NULL;
	char line[160], pfx[64], *ext;
	int sock;

	if (why)
		return plan_skip_all(why);
	real_snapshot(&before);
	for (size_t i = 0; i < EXT_PAGES; i++)
		iova_tab[i] = IOVA_BASE + i * EXT_PAGE;
	snprintf(pfx, sizeof(pfx), "hmextheap%d", (int)getpid());
	snprintf(line, sizeof(line), "-m 4 --in-memory --file-prefix %s", pfx);
	hm_ctx_new(&ctx);
	is_int(real_init_line(ctx, line), 0, "hm_init %s (%s)", line, hm_errmsg(ctx));
	ext = anon(EXT_LEN, 0);
	check_refusals(ctx, ext);
	is_int(reg(ctx, ext), 0, "register 2 MiB of anonymous memory with an IOVA table");
	is_int(hm_extmem_heap_add(ctx, ext + 4096, EXT_LEN - 4096), -EINVAL,
	       "part of a registered range is refused");
	sock = hm_extmem_heap_add(ctx, ext, EXT_LEN);
	ok(sock >= HM_EXT_SOCKET_BASE && sock < HM_EXT_SOCKET_BASE + HM_EXT_HEAP_MAX,
	   "hm_extmem_heap_add: socket id %d (%s)", sock, hm_errmsg(ctx));
	is_int(hm_extmem_unregister(ctx, ext, EXT_LEN), -EBUSY, "unregister refused while a heap");
	check_blocks(ctx, ext, sock);
	check_any_never(ctx, ext, sock);
	check_remove(ctx, ext, sock);
	check_neighbours(ctx);
	check_full_table(ctx);
	if (getenv("HM_VALGRIND")) /* a child cannot map the parent's window again */
		ok(1, "# SKIP secondaries: under valgrind a child cannot attach");
	else {
		check_secondaries(ctx, pfx);
		check_secondary_adds(ctx, pfx);
		check_dead_holder(ctx, pfx);
	}
	munmap(ext, EXT_LEN);
	hm_ctx_free(ctx);
	real_ok_counts(&before, "the pool is as found");
	return done();
}
