/* SPDX-License-Identifier: MIT */
/*
 * heap_worker — drives the shared heap from several processes for
 * test/real_heap.t (test code: it reaches inside the library, linked with
 * the static archive).
 *
 *   heap_worker primary PREFIX MB
 *       hm_init -m MB on PREFIX, reserve the zone "mailbox" (MAILBOX slots of
 *       8 bytes), print "ready", then run one command per line of standard
 *       input, printing one line per command; at end of input, hm_fini.
 *   heap_worker secondary PREFIX COMMAND [ARGS...]
 *       hm_attach PREFIX, run one command, hm_fini (which flushes the
 *       cache). Exit 0 when the command's line starts with "ok", 3 when it
 *       starts with "fail", 1 when attaching fails.
 *
 * Commands (their output line starts with "ok" or "fail"):
 *   stress SECONDS ID   allocate and free for SECONDS: each block (sizes
 *                       32 B .. 8 KiB, one in 64 up to 256 KiB) carries
 *                       (ID, size, a check byte at its end) and is swapped
 *                       into a random mailbox slot; the block that comes out
 *                       (often another process's) is checked and freed.
 *   drain               free every block left in the mailbox.
 *   check [caches|alone]  hm_heap_check; with an argument, account for every
 *                       byte too (once no block is in the application's
 *                       hands): per node, free + used = total and bytes in
 *                       use = zone blocks + blocks parked in process caches
 *                       (alone: in this process's cache, every other process
 *                       having flushed its own).
 *   lookup NAME         print the zone NAME (va, iova, len, socket).
 *   reserve NAME SIZE [contig]   reserve a zone (SIZE in MiB, or "4k"), aligned
 *                       to 4 KiB.
 *   segs                the number of segments, the largest one's bytes and the
 *                       heap's largest free block.
 *   pagemap NAME        every 4 KiB page of zone NAME: hm_virt2iova against
 *                       /proc/self/pagemap, hm_iova2virt back, contiguity.
 *   malloc SIZE         one hm_malloc + hm_free of SIZE bytes.
 *   hold-lock [torn]    take the heap's lock (torn: first mark a block in use
 *                       as free, as a process killed in the middle of hm_free
 *                       would leave it), print "ok locked", wait forever.
 *   scribble lists|SEED  a stray write into the heap's shared state, as the
 *                       application might make (the memory is its own too),
 *                       with blocks parked in this thread's cache: "lists"
 *                       overwrites node 0's free-list heads and bitmaps,
 *                       SEED writes 64 random runs of 1..8 bytes at random
 *                       offsets of segment 0's first 24 KiB (never the lock's
 *                       own bytes). Then hm_malloc, hm_free, hm_heap_stats,
 *                       hm_heap_check: "ok scribble" with their results, or a
 *                       crash. The process then ends as usual (hm_fini).
 */
#include "heap/heap.h"
#include "mem/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAILBOX	    4096
#define BLOCK_MAGIC 0x68656170626c6b21ULL

static struct hm_ctx *ctx;
static int last_good; /* the last command's verdict: a secondary's exit status */

/* One result line: "ok ..." or "fail ...". */
static void say(int good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int good, const char *fmt, ...)
{
	va_list ap;

	last_good = good;
	fputs(good ? "ok " : "fail ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

struct stamp {
	uint64_t magic;
	uint64_t size;
	uint64_t owner;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Atomic(uint64_t) *mailbox(void)
{
	struct hm_memzone z;

	if (hm_memzone_lookup(ctx, "mailbox", &z) < 0)
		return NULL;
	return (_Atomic(uint64_t) *)z.va;
}

static int stamp_ok(const void *p)
{
	const struct stamp *s = p;

	return s->magic == BLOCK_MAGIC && s->size >= sizeof(*s) && s->size <= (1 << 20) &&
	       ((const unsigned char *)p)[s->size - 1] == (unsigned char)(s->size ^ s->owner);
}

static size_t pick_size(unsigned *seed)
{
	if (rand_r(seed) % 64 == 0)
		return sizeof(struct stamp) + (size_t)rand_r(seed) % (256 << 10);
	return sizeof(struct stamp) + (size_t)rand_r(seed) % 8192;
}

struct tally {
	long pairs, cross, fails, bad;
};

static void one_swap(_Atomic(uint64_t) *box, unsigned *seed, uint64_t id, struct tally *t)
{
	size_t size = pick_size(seed);
	struct stamp *p = hm_malloc(ctx, size, 0);
	uint64_t old;

	if (!p) {
		t->fails++;
		return;
	}
	*p = (struct stamp){BLOCK_MAGIC, size, id};
	((unsigned char *)p)[size - 1] = (unsigned char)(size ^ id);
	old = atomic_exchange(&box[(unsigned)rand_r(seed) % MAILBOX], (uint64_t)(uintptr_t)p);
	if (!old)
		return;
	t->bad += !stamp_ok((void *)(uintptr_t)old);
	t->cross += ((struct stamp *)(uintptr_t)old)->owner != id;
	hm_free(ctx, (void *)(uintptr_t)old);
	t->pairs++;
}

static void cmd_stress(double seconds, uint64_t id)
{
	_Atomic(uint64_t) *box = mailbox();
	unsigned seed = (unsigned)(id * 7919 + (uint64_t)getpid());
	struct tally t = {0};
	double end = now_s() + seconds;

	if (!box) {
		say(0, "stress: no mailbox: %s\n", hm_errmsg(ctx));
		return;
	}
	while (now_s() < end)
		for (int i = 0; i < 256; i++) {
			one_swap(box, &seed, id, &t);
			hm_free(ctx,
				hm_malloc(ctx, 64 + (size_t)(i % 32) * 64, 0)); /* cache path */
		}
	say(!t.bad, "stress id=%" PRIu64 " pairs=%ld cross=%ld fails=%ld bad=%ld\n", id, t.pairs,
	    t.cross, t.fails, t.bad);
}

static void cmd_drain(void)
{
	_Atomic(uint64_t) *box = mailbox();
	long n = 0, bad = 0;

	for (int i = 0; box && i < MAILBOX; i++) {
		uint64_t old = atomic_exchange(&box[i], 0);

		if (old) {
			bad += !stamp_ok((void *)(uintptr_t)old);
			hm_free(ctx, (void *)(uintptr_t)old);
			n++;
		}
	}
	say(box && !bad, "drain freed=%ld bad=%ld\n", n, bad);
}

/* Per node: used = zone blocks + blocks in process caches (ALONE: in this
 * process's cache, no other); free + used = total. ALONE < 0: no check. */
static int accounted(struct hmi_heap_view *v, const struct hmi_walk *w, int alone, uint64_t *used,
		     uint64_t *cached)
{
	uint64_t mine, allocs, frees;
	int good = 1;

	for (uint32_t s = 0; s < v->h->n_nodes; s++) {
		hmi_view_counters(v, (int)s, &mine, &allocs, &frees);
		*used += w[s].used_bytes;
		*cached += w[s].cached_bytes;
		if (alone < 0)
			continue;
		good &= w[s].used_bytes == w[s].zone_bytes + w[s].cached_bytes;
		good &= alone ? w[s].cached_bytes == mine : w[s].cached_bytes >= mine;
		good &= w[s].free_bytes + w[s].used_bytes == v->h->nodes[s].total;
	}
	return good;
}

static void cmd_check(int alone)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hmi_walk w[HM_MAX_NODES];
	struct hm_heap_stats st;
	uint64_t used = 0, cached = 0;
	char msg[512] = "";
	int rc = hm_heap_check(ctx), good;

	if (rc < 0 || hmi_heap_lock(ctx, v) < 0) {
		say(0, "check rc=%d %s\n", rc, hm_errmsg(ctx));
		return;
	}
	rc = hmi_heap_check_locked(v, w, msg, sizeof(msg));
	good = rc == 0 && accounted(v, w, alone, &used, &cached);
	hmi_heap_unlock(v);
	hm_heap_stats(ctx, -1, &st);
	say(good,
	    "check rc=%d accounted=%d used=%" PRIu64 " cached=%" PRIu64 " free=%" PRIu64
	    " total=%" PRIu64 " zones=%" PRIu64 " recoveries=%" PRIu64 " repairs=%" PRIu64
	    " bad_frees=%" PRIu64 " %s\n",
	    rc, good, used, cached, st.free, st.total, st.zones, st.recoveries, st.repairs,
	    st.bad_frees, msg);
}

static void cmd_lookup(const char *name)
{
	struct hm_memzone z;
	int rc = hm_memzone_lookup(ctx, name, &z);

	if (rc < 0)
		say(0, "lookup rc=%d %s\n", rc, hm_errmsg(ctx));
	else
		say(1, "zone %s va=%p iova=0x%" PRIx64 " len=%" PRIu64 " socket=%d\n", z.name, z.va,
		    z.iova, z.len, z.socket);
}

static void cmd_reserve(const char *name, const char *size, const char *contig)
{
	uint64_t len = strcmp(size, "4k") == 0 ? 4096 : strtoull(size, NULL, 10) << 20;
	unsigned flags = contig && strcmp(contig, "contig") == 0 ? HM_MZ_IOVA_CONTIG : 0;
	int rc = hm_memzone_reserve(ctx, name, len, HM_SOCKET_ANY, flags, 4096, NULL);

	if (rc < 0)
		say(0, "reserve rc=%d %s\n", rc, hm_errmsg(ctx));
	else
		say(1, "reserved %s\n", name);
}

/* Every 4 KiB page of the zone: IOVA from the library = PFN from pagemap. */
static long pagemap_bad(const struct hm_memzone *z, long *pages)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t first = (uint64_t)(uintptr_t)z->va & ~4095ULL;
	long bad = 0;

	for (uint64_t va = first; fd >= 0 && va < (uint64_t)(uintptr_t)z->va + z->len; va += 4096) {
		uint64_t e = 0, iova = hm_virt2iova(ctx, (void *)(uintptr_t)va);

		*(volatile char *)(uintptr_t)va; /* mapped in: pagemap tells only then */
		if (pread(fd, &e, 8, (off_t)(va / 4096 * 8)) != 8 || !(e >> 63) ||
		    (e & ((1ULL << 55) - 1)) * 4096 != iova ||
		    hm_iova2virt(ctx, iova + 123) != (void *)(uintptr_t)(va + 123) ||
		    hm_iova_contig_len(ctx, (void *)(uintptr_t)va) <
			(uint64_t)(uintptr_t)z->va + z->len - va)
			bad++;
		(*pages)++;
	}
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : bad;
}

static void cmd_pagemap(const char *name)
{
	struct hm_memzone z;
	long pages = 0, bad;

	if (hm_memzone_lookup(ctx, name, &z) < 0) {
		say(0, "pagemap: %s\n", hm_errmsg(ctx));
		return;
	}
	if (hm_layout(ctx)->iova_mode != HM_IOVA_PA) {
		say(0, "pagemap: IOVA mode is not PA\n");
		return;
	}
	bad = pagemap_bad(&z, &pages);
	say(bad == 0 && pages, "pagemap pages=%ld bad=%ld\n", pages, bad);
}

static int largest_seg(const struct hm_segment *s, void *arg)
{
	uint64_t *best = arg;

	if (s->len > *best)
		*best = s->len;
	return 0;
}

static void cmd_segs(void)
{
	uint64_t best = 0;

	struct hm_heap_stats st = {0};

	hm_segment_walk(ctx, largest_seg, &best);
	hm_heap_stats(ctx, -1, &st);
	say(1, "segs n=%d largest=%" PRIu64 " largest_free=%" PRIu64 "\n",
	    hm_layout(ctx)->n_segments, best, st.largest_free);
}

static void cmd_malloc(const char *size)
{
	void *p = hm_malloc(ctx, strtoull(size, NULL, 10), 0);

	if (!p) {
		say(0, "malloc %s\n", hm_errmsg(ctx));
		return;
	}
	hm_free(ctx, p);
	say(1, "malloc\n");
}

static void cmd_hold_lock(int torn)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	void *p = torn ? hm_malloc(ctx, 100000, 0) : NULL;

	if (!v || hmi_heap_lock(ctx, v) < 0) {
		say(0, "hold-lock %s\n", hm_errmsg(ctx));
		return;
	}
	if (p) /* as hm_free would leave it, killed after its first store */
		hmi_blk_at((uint64_t)(uintptr_t)p - HMI_BLK_HDR)->size &= ~HMI_BLK_USED;
	say(1, "locked\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* N random bytes of memory at AT..AT+N, unless they touch the lock. */
static void scribble_at(unsigned char *at, size_t n, const pthread_mutex_t *lock, unsigned *seed)
{
	const unsigned char *l = (const unsigned char *)lock;

	if (at + n > l && at < l + sizeof(*lock))
		return;
	for (size_t i = 0; i < n; i++)
		at[i] = (unsigned char)rand_r(seed);
}

static void cmd_scribble(const char *how)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	unsigned char *seg0 = (unsigned char *)(uintptr_t)ctx->tab->segs[0].va;
	unsigned seed = (unsigned)strtoul(how, NULL, 10);
	struct hm_heap_stats st;
	void *small[64], *p;
	int rc_stats, rc_check;

	for (int i = 0; i < 64; i++) /* blocks in this thread's cache for hm_fini to flush */
		small[i] = hm_malloc(ctx, 64 + 64 * (i % 16), 0);
	for (int i = 0; i < 64; i++)
		hm_free(ctx, small[i]);
	p = hm_malloc(ctx, 100000, 0);
	if (strcmp(how, "lists") == 0) {
		memset(v->h->nodes[0].heads, 0xa5, sizeof(v->h->nodes[0].heads));
		memset(v->h->nodes[0].sl_map, 0xa5, sizeof(v->h->nodes[0].sl_map));
		v->h->nodes[0].fl_map = ~0ULL;
	} else {
		for (int i = 0; i < 64; i++)
			scribble_at(seg0 + rand_r(&seed) % (24 << 10),
				    1 + (size_t)rand_r(&seed) % 8, &v->h->lock, &seed);
	}
	hm_free(ctx, p);
	p = hm_malloc(ctx, 200000, 0);
	hm_free(ctx, p);
	rc_stats = hm_heap_stats(ctx, -1, &st);
	rc_check = hm_heap_check(ctx);
	say(1, "scribble malloc=%s stats=%d check=%d (%s)\n", p ? "block" : "null", rc_stats,
	    rc_check, hm_errmsg(ctx));
}

static void run(int argc, char **argv)
{
	const char *c = argv[0];

	if (strcmp(c, "stress") == 0 && argc >= 3)
		cmd_stress(strtod(argv[1], NULL), strtoull(argv[2], NULL, 10));
	else if (strcmp(c, "drain") == 0)
		cmd_drain();
	else if (strcmp(c, "check") == 0)
		cmd_check(argc < 2 ? -1 : strcmp(argv[1], "alone") == 0);
	else if (strcmp(c, "lookup") == 0 && argc >= 2)
		cmd_lookup(argv[1]);
	else if (strcmp(c, "reserve") == 0 && argc >= 3)
		cmd_reserve(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
	else if (strcmp(c, "pagemap") == 0 && argc >= 2)
		cmd_pagemap(argv[1]);
	else if (strcmp(c, "segs") == 0)
		cmd_segs();
	else if (strcmp(c, "malloc") == 0 && argc >= 2)
		cmd_malloc(argv[1]);
	else if (strcmp(c, "hold-lock") == 0)
		cmd_hold_lock(argc > 1 && strcmp(argv[1], "torn") == 0);
	else if (strcmp(c, "scribble") == 0 && argc >= 2)
		cmd_scribble(argv[1]);
	else
		say(0, "unknown command %s\n", c);
	fflush(stdout);
}

/* One command per line of standard input. */
static void serve(void)
{
	char line[256], *argv[8];

	while (fgets(line, sizeof(line), stdin)) {
		int argc = 0;

		for (char *w = strtok(line, " \n"); w && argc < 8; w = strtok(NULL, " \n"))
			argv[argc++] = w;
		if (argc)
			run(argc, argv);
	}
}

static int start(const char *role, const char *prefix, const char *mb)
{
	struct hm_opts o;
	int rc;

	hm_opts_init(&o);
	o.file_prefix = prefix;
	if (strcmp(role, "primary") == 0) {
		o.mem = strtoull(mb, NULL, 10) << 20;
		rc = hm_init(ctx, &o);
		if (rc == 0)
			rc = hm_memzone_reserve(ctx, "mailbox", MAILBOX * 8, HM_SOCKET_ANY, 0, 0,
						NULL);
	} else {
		rc = hm_attach(ctx, &o);
	}
	if (rc < 0)
		fprintf(stderr, "heap_worker %s: %s\n", role, hm_errmsg(ctx));
	return rc;
}

int main(int argc, char **argv)
{
	int primary = argc >= 4 && strcmp(argv[1], "primary") == 0;

	if (argc < 4 || hm_ctx_new(&ctx) < 0) {
		fprintf(stderr, "usage: heap_worker primary PREFIX MB | secondary PREFIX CMD...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (start(argv[1], argv[2], argv[3]) < 0)
		return 1;
	if (primary) {
		printf("ready\n");
		serve();
	} else {
		run(argc - 3, argv + 3);
	}
	hm_fini(ctx);
	hm_ctx_free(ctx);
	return primary || last_good ? 0 : 3;
}
