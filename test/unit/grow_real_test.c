/* SPDX-License-Identifier: MIT */
/*
 * grow_real_test — growth at run time (issue 17, docs/growth.md) on real 2 MiB
 * hugepages, for each backing (page files, single files, memfds):
 *
 *   - hm_init -m 4 --max-mem 32M maps 4 MiB; a heap that is full grows: the
 *     pool loses exactly the unit's pages, total_bytes follows, the new
 *     block translates, its IOVA is its physical address (pagemap, read
 *     here with our own code), a 4 MiB block is IOVA-contiguous;
 *   - the ALLOC callback runs before hm_malloc returns the memory, with the
 *     unit's range, and may translate and walk (no lock held); a callback
 *     that refuses fails the allocation (NULL, its name in the message) and
 *     the pool gets the pages back; a callback that allocates (needing
 *     growth) or trims from inside gets -EDEADLK, without deadlock;
 *   - past --max-mem: NULL naming --max-mem, the pool whole;
 *   - a touch of the growth area where nothing grew, or where a unit was
 *     trimmed, faults in a child (SIGSEGV) and allocates no page;
 *   - hm_mem_trim gives back every unit that is wholly free (FREE callbacks
 *     first), never one a zone holds; translation forgets trimmed memory;
 *   - a secondary of a growing primary is refused (EOPNOTSUPP: not yet);
 *   - hm_extmem_register / unregister: translation, callbacks, refusals
 *     (unaligned, unmapped, overlapping, the window, twice), IOVA tables.
 * The pool must be as found at the end. Needs root, 40 free 2 MiB pages
 * and a 2 MiB mount.
 */
#include "real.h"
#include "tap.h"

#include "hugemem.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MB (1ULL << 20)

static char mnt[4096];

static const char *const backings[] = {"page files", "single files", "memfds"};
static const char *const backing_opt[] = {"", "--single-file-segments", "--in-memory"};

struct seen {
	int allocs, frees;
	uint64_t va, len; /* the last event's */
	int translated;	  /* hm_virt2iova answered inside the ALLOC callback */
	int walked;	  /* hm_segment_walk ran inside it */
	int refuse;	  /* return this from ALLOC */
	int nested_rc;	  /* what a nested growth / trim got */
	int nested;	  /* 1: allocate 8 MiB inside, 2: trim inside */
	struct hm_ctx *ctx;
};

static int count_seg(const struct hm_segment *s, void *arg)
{
	(void)s;
	++*(int *)arg;
	return 0;
}

static int on_event(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct seen *s = arg;
	int n = 0;

	s->va = (uint64_t)(uintptr_t)va;
	s->len = len;
	if (ev == HM_MEM_EVENT_FREE) {
		s->frees++;
		return 0;
	}
	s->allocs++;
	s->translated = hm_virt2iova(s->ctx, va) != HM_BAD_IOVA;
	s->walked = hm_segment_walk(s->ctx, count_seg, &n) == 0 && n > 0;
	if (s->nested == 1) {
		void *p = hm_malloc(s->ctx, 8 * MB, 0);

		s->nested_rc = p ? 0 : -EDEADLK;
		if (p || !strstr(hm_errmsg(s->ctx), "callback"))
			s->nested_rc = -1;
		hm_free(s->ctx, p);
	}
	if (s->nested == 2)
		s->nested_rc = hm_mem_trim(s->ctx, NULL);
	return s->refuse;
}

static uint64_t phys(const void *va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry = 0, pfn = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, 8, (off_t)((uintptr_t)va / 4096 * 8)) != 8 ||
	    hm_pagemap_decode(entry, &pfn) < 0)
		pfn = 0;
	close(fd);
	return pfn * 4096 + (uintptr_t)va % 4096;
}

/* Fill the heap with 64 KiB blocks until the next would need growth: the
 * count taken (each kept in BLK, at most MAX). */
static int fill(struct hm_ctx *ctx, void **blk, int max)
{
	struct hm_heap_stats st;
	int n = 0;

	while (n < max && hm_heap_stats(ctx, HM_SOCKET_ANY, &st) == 0 &&
	       st.largest_free >= 64 * 1024 + 64)
		blk[n++] = hm_malloc(ctx, 64 * 1024, 0);
	return n;
}

/* Touch ADDR in a child: 1 when the child died of SIGSEGV or SIGBUS. */
static int touch_faults(void *addr)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		/* the kernel's own verdict: no sanitizer's handler turning it into an exit */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		*(volatile char *)addr = 1;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}

static void check_growth(struct hm_ctx *ctx, const char *b, struct seen *s)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	uint64_t start = in->total_bytes, free0, iova;
	void *blk[256], *p, *big;
	int n = fill(ctx, blk, 256);

	free0 = real_counter("free_hugepages");
	p = hm_malloc(ctx, 64 * 1024, 0);
	ok(p != NULL, "%s: a full heap grows for a 64 KiB block (%s)", b, p ? "" : hm_errmsg(ctx));
	is_u64(real_counter("free_hugepages"), free0 - 1, "%s: it took one page from the pool", b);
	is_u64(in->total_bytes, start + 2 * MB, "%s: total_bytes follows", b);
	is_int(s->allocs, 1, "%s: the ALLOC callback ran once", b);
	ok(p && (uint64_t)(uintptr_t)p >= s->va && (uint64_t)(uintptr_t)p < s->va + s->len,
	   "%s: the block lies in the range the callback was given", b);
	ok(s->translated && s->walked, "%s: the callback translated and walked (no lock held)", b);
	iova = hm_virt2iova(ctx, p);
	ok(iova != HM_BAD_IOVA && iova == phys(p),
	   "%s: the grown block's IOVA is its physical "
	   "address (0x%llx)",
	   b, (unsigned long long)iova);
	big = hm_malloc(ctx, 4 * MB, 0);
	ok(big && hm_iova_contig_len(ctx, big) >= 4 * MB,
	   "%s: a 4 MiB block grows a unit and is IOVA-contiguous (%s)", b,
	   big ? "" : hm_errmsg(ctx));
	ok(big && phys((char *)big + 4 * MB - 1) == hm_virt2iova(ctx, (char *)big + 4 * MB - 1),
	   "%s: its last byte translates to its physical address", b);
	hm_free(ctx, big);
	hm_free(ctx, p);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
}

static void check_limits(struct hm_ctx *ctx, const char *b)
{
	uint64_t free0 = real_counter("free_hugepages");
	void *p = hm_malloc(ctx, 40 * MB, 0);

	ok(!p, "%s: a block past --max-mem is refused", b);
	like(hm_errmsg(ctx), "--max-mem", "%s: the message names --max-mem", b);
	is_u64(real_counter("free_hugepages"), free0, "%s: and the pool is untouched", b);
}

static void check_refusals(struct hm_ctx *ctx, const char *b, struct seen *s)
{
	void *blk[256], *p;
	int n = fill(ctx, blk, 256);
	uint64_t free0 = real_counter("free_hugepages");

	s->refuse = -EPERM;
	p = hm_malloc(ctx, MB, 0);
	ok(!p, "%s: a refusing callback fails the growth", b);
	like(hm_errmsg(ctx), "\"t\" refused", "%s: the message names the callback", b);
	is_u64(real_counter("free_hugepages"), free0, "%s: the pool got the pages back", b);
	s->refuse = 0;
	s->nested = 1;
	p = hm_malloc(ctx, MB, 0);
	ok(p != NULL, "%s: the growth goes on after the nested one failed (%s)", b,
	   p ? "" : hm_errmsg(ctx));
	is_int(s->nested_rc, -EDEADLK, "%s: growth from inside a callback is refused", b);
	s->nested = 2;
	hm_free(ctx, p);
	hm_mem_trim(ctx, NULL); /* the next growth calls the callback again */
	p = hm_malloc(ctx, MB, 0);
	is_int(s->nested_rc, -EDEADLK, "%s: a trim from inside a callback is refused", b);
	s->nested = 0;
	hm_free(ctx, p);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
}

static void check_trim(struct hm_ctx *ctx, const char *b, struct seen *s, uint64_t pool0)
{
	struct hm_memzone z;
	uint64_t freed = 0, free0;
	void *blk[256];
	int n = fill(ctx, blk, 256), frees = s->frees, units;
	void *va_zone;

	ok(hm_memzone_reserve(ctx, "grown", 3 * MB, HM_SOCKET_ANY, 0, 0, &z) == 0,
	   "%s: a zone grows the memory (%s)", b, hm_errmsg(ctx));
	va_zone = z.va;
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
	free0 = real_counter("free_hugepages");
	units = hm_mem_trim(ctx, &freed);
	ok(units >= 1 && freed >= 2 * MB, "%s: hm_mem_trim gave back %d units, %llu bytes", b,
	   units, (unsigned long long)freed);
	is_u64(real_counter("free_hugepages"), free0 + freed / (2 * MB),
	       "%s: the pool has them back", b);
	is_int(s->frees - frees, units, "%s: one FREE callback per unit", b);
	ok(hm_virt2iova(ctx, va_zone) != HM_BAD_IOVA, "%s: the zone's unit stayed", b);
	ok(hm_virt2iova(ctx, (void *)(uintptr_t)s->va) == HM_BAD_IOVA ||
	       (uint64_t)(uintptr_t)va_zone - s->va < s->len,
	   "%s: trimmed memory no longer translates", b);
	free0 = real_counter("free_hugepages");
	ok(touch_faults(
	       (void *)(uintptr_t)(hm_layout(ctx)->va_base + hm_layout(ctx)->va_len - 2 * MB)),
	   "%s: a touch of the growth area where nothing grew faults", b);
	is_u64(real_counter("free_hugepages"), free0, "%s: and allocates no page", b);
	hm_memzone_free(ctx, "grown");
	hm_mem_trim(ctx, NULL);
	is_u64(real_counter("free_hugepages") + real_counter("resv_hugepages") * 0, pool0 - 2,
	       "%s: with the zone gone, a trim leaves the start memory only", b);
}

/* The secondary's side of check_secondary, in a child: attach, then for
 * each (address, IOVA, byte) the parent sends: translate it (the unit grew
 * after the attach: the miss maps it), read the byte, then use the heap
 * (its lock maps the regions) and check it. One exit bit per failure. */
static int secondary(const char *pfx, int in, int out)
{
	struct hm_ctx *sec = NULL;
	struct hm_opts o;
	uint64_t msg[3];
	int bad = 0;
	void *p;

	hm_ctx_new(&sec);
	hm_opts_init(&o);
	o.file_prefix = pfx;
	bad |= hm_attach(sec, &o) != 0;
	if (bad)
		fprintf(stderr, "# secondary: %s\n", hm_errmsg(sec));
	if (write(out, "r", 1) != 1) /* attached (or not): the parent grows now */
		bad |= 2;
	while (!bad && read(in, msg, sizeof(msg)) == sizeof(msg) && msg[0]) {
		char *at = (char *)(uintptr_t)msg[0];

		bad |= (hm_virt2iova(sec, at) != msg[1]) << 2;
		if (bad & 4)
			fprintf(
			    stderr, "# secondary: 0x%llx translates to 0x%llx, not 0x%llx: %s\n",
			    (unsigned long long)msg[0], (unsigned long long)hm_virt2iova(sec, at),
			    (unsigned long long)msg[1], hm_errmsg(sec));
		bad |= (!(bad & 4) && *(volatile char *)at != (char)msg[2]) << 3;
	}
	p = hm_malloc(sec, 64 * 1024, 0);
	bad |= (hm_heap_check(sec) != 0) << 4;
	bad |= (hm_mem_trim(sec, NULL) != -EBUSY) << 6; /* the primary trims */
	if (bad & 16)
		fprintf(stderr, "# secondary: heap check: %s\n", hm_errmsg(sec));
	hm_free(sec, p);
	if (hm_layout(sec))
		bad |= (touch_faults((void *)(uintptr_t)(hm_layout(sec)->va_base +
							 hm_layout(sec)->va_len - 2 * MB)) == 0)
		       << 5;
	hm_ctx_free(sec);
	return bad;
}

/* Under valgrind (make check-valgrind) a forked child cannot map the
 * parent's window again (memcheck keeps the range taken in the child, as
 * fork_real_test says): the checks with a child secondary skip. */
static int skip_child(const char *what)
{
	if (!getenv("HM_VALGRIND"))
		return 0;
	ok(1, "# SKIP %s: under valgrind a child cannot map the parent's window again", what);
	return 1;
}

/* A secondary that attaches once the unit at P is live: 1 when it
 * translated and read it (MSG as the first one got it). */
static int late_secondary(const char *pfx, uint64_t *msg, void *p)
{
	int to[2], from[2], st = 0;
	uint64_t end[3] = {0};
	pid_t pid;

	msg[0] = (uint64_t)(uintptr_t)p + 100;
	if (pipe(to) < 0 || pipe(from) < 0)
		return 0;
	if (write(to[1], msg, 3 * sizeof(*msg)) != 3 * sizeof(*msg) ||
	    write(to[1], end, sizeof(end)) != sizeof(end))
		return 0;
	pid = fork();
	if (pid == 0)
		_exit(secondary(pfx, to[0], from[1]));
	close(to[0]);
	close(from[1]);
	waitpid(pid, &st, 0);
	close(to[1]);
	close(from[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		diag("late secondary: exit bits %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A secondary attached before the primary grows sees the growth without
 * asking: translation, the bytes, the heap; a trim waits until it is gone. */
static void check_secondary(struct hm_ctx *ctx, const char *b, const char *pfx)
{
	int to[2], from[2], st = 0, n;
	void *blk[256], *p;
	uint64_t msg[3] = {0};
	char c;
	pid_t pid;

	if (skip_child(b) || pipe(to) < 0 || pipe(from) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		_exit(secondary(pfx, to[0], from[1]));
	}
	close(to[0]);
	close(from[1]);
	ok(read(from[0], &c, 1) == 1, "%s: a secondary attached to a growing primary", b);
	n = fill(ctx, blk, 256);
	p = hm_malloc(ctx, 64 * 1024, 0);
	ok(p != NULL, "%s: the primary grows with a secondary attached", b);
	if (p) {
		memset(p, 0x5a, 64 * 1024);
		msg[0] = (uint64_t)(uintptr_t)p + 100;
		msg[1] = hm_virt2iova(ctx, (char *)p + 100);
		msg[2] = 0x5a;
		ok(write(to[1], msg, sizeof(msg)) == sizeof(msg), "%s: sent", b);
	}
	ok(hm_mem_trim(ctx, NULL) >= 0 && p && hm_virt2iova(ctx, p) != HM_BAD_IOVA,
	   "%s: a trim with a secondary attached runs, and leaves the unit a block holds", b);
	msg[0] = 0;
	if (write(to[1], msg, sizeof(msg)) != sizeof(msg))
		diag("cannot tell the secondary to end");
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0,
	       "%s: the secondary translated and read grown memory, its heap followed, a touch "
	       "where nothing grew faulted (exit bits)",
	       b);
	close(to[1]);
	close(from[0]);
	ok(p && late_secondary(pfx, msg, p), "%s: a secondary attached after the growth sees it",
	   b);
	hm_free(ctx, p);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
}

/* Is ADDR's page inaccessible in this process (/proc/self/maps says ---)? */
static int prot_none_here(const void *addr)
{
	uint64_t a = (uint64_t)(uintptr_t)addr, lo, hi;
	char line[512], perm[8];
	FILE *f = fopen("/proc/self/maps", "r");
	int none = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perm) == 3 && a >= lo &&
		    a < hi)
			none = strncmp(perm, "---", 3) == 0;
	if (f)
		fclose(f);
	return none;
}

/* The follower's side of check_trim_followed, in a child: attach, then per
 * command byte from IN: 'm' translate and read P, 'k' keep Q's unit, 'l'
 * look (a heap call) and report whether P is unmapped and untranslated
 * here, 'e' end. Answers one byte each ('y' / 'n') on OUT. */
static int follower(const char *pfx, int in, int out, char *p, char *q)
{
	struct hm_ctx *sec = NULL;
	struct hm_opts o;
	char cmd, yes;

	hm_ctx_new(&sec);
	hm_opts_init(&o);
	o.file_prefix = pfx;
	if (hm_attach(sec, &o) != 0) {
		fprintf(stderr, "# follower: %s\n", hm_errmsg(sec));
		return 1;
	}
	while (read(in, &cmd, 1) == 1 && cmd != 'e') {
		if (cmd == 'm')
			yes = hm_virt2iova(sec, p) != HM_BAD_IOVA && *(volatile char *)p == 0x6b;
		else if (cmd == 'k')
			yes = hm_mem_keep(sec, q, 4096, 1) == 0;
		else
			yes = hm_heap_check(sec) == 0 && prot_none_here(p) &&
			      hm_virt2iova(sec, p) == HM_BAD_IOVA;
		if (!yes)
			fprintf(stderr, "# follower '%c': %s\n", cmd, hm_errmsg(sec));
		if (write(out, yes ? "y" : "n", 1) != 1)
			return 2;
	}
	hm_ctx_free(sec);
	return 0;
}

static int ask(int to, int from, char cmd)
{
	char c = 0;

	return write(to, &cmd, 1) == 1 && read(from, &c, 1) == 1 && c == 'y';
}

/* A trim with a secondary attached: the freed unit retires (out of the heap,
 * untranslated, its pages kept) until the secondary has looked (unmapped
 * it), then a later trim gives it back; a unit the secondary keeps stays
 * until the keep is let go. */
static void check_trim_followed(struct hm_ctx *ctx, const char *b, const char *pfx)
{
	int to[2], from[2], st = 0, n, units;
	void *blk[256];
	char *p, *q;
	uint64_t freed = 0, free0;
	pid_t pid;

	if (skip_child(b) || pipe(to) < 0 || pipe(from) < 0)
		return;
	n = fill(ctx, blk, 256);
	p = hm_malloc(ctx, 64 * 1024, 0);
	q = hm_malloc(ctx, 3 * MB, 0); /* a unit of its own */
	if (!p || !q) {
		ok(0, "%s: two units grow (%s)", b, hm_errmsg(ctx));
		return;
	}
	memset(p, 0x6b, 64 * 1024);
	pid = fork();
	if (pid == 0)
		_exit(follower(pfx, to[0], from[1], p, q));
	ok(ask(to[1], from[0], 'm'), "%s: the secondary maps and reads the grown unit", b);
	ok(ask(to[1], from[0], 'k'), "%s: the secondary keeps the other unit", b);
	hm_free(ctx, p);
	hm_free(ctx, q);
	free0 = real_counter("free_hugepages");
	is_int(hm_mem_trim(ctx, &freed), 0, "%s: a trim while the secondary maps it gives nothing",
	       b);
	is_u64(real_counter("free_hugepages"), free0, "%s: the pool is unchanged", b);
	ok(hm_virt2iova(ctx, p) == HM_BAD_IOVA, "%s: the retiring unit no longer translates", b);
	ok(hm_virt2iova(ctx, q) != HM_BAD_IOVA, "%s: the unit the secondary keeps stays", b);
	is_int(hm_mem_trim(ctx, NULL), 0, "%s: until the secondary looks, still nothing", b);
	ok(ask(to[1], from[0], 'l'), "%s: the secondary, at its next heap call, unmapped it", b);
	units = hm_mem_trim(ctx, &freed);
	ok(units >= 1 && freed >= 2 * MB, "%s: then a trim gives it back (%d units, %llu bytes)", b,
	   units, (unsigned long long)freed);
	is_u64(real_counter("free_hugepages"), free0 + freed / (2 * MB), "%s: the pool has it", b);
	ok(hm_virt2iova(ctx, q) != HM_BAD_IOVA, "%s: the kept unit is still there", b);
	is_int(hm_mem_keep(ctx, q, 4096, 0), 0, "%s: the primary lets go of the keep", b);
	ok(hm_mem_trim(ctx, NULL) >= 0, "%s: trim", b);
	ok(hm_virt2iova(ctx, q) == HM_BAD_IOVA, "%s: the unit left once no keep held it", b);
	if (write(to[1], "e", 1) != 1)
		diag("cannot tell the secondary to end");
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, "%s: the secondary ended well", b);
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	hm_mem_trim(ctx, NULL);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
}

/* hm_mem_keep without secondaries: a kept unit survives trims, the start
 * memory needs none, bad ranges are refused. */
static void check_keep(struct hm_ctx *ctx, const char *b)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	char *start = (char *)(uintptr_t)in->va_base;
	void *blk[256];
	int n = fill(ctx, blk, 256);
	char *p = hm_malloc(ctx, 64 * 1024, 0);

	ok(p != NULL, "%s: keep: a unit grows", b);
	is_int(hm_mem_keep(ctx, p, 64 * 1024, 0), -EINVAL, "%s: letting go of no keep: EINVAL", b);
	is_int(hm_mem_keep(ctx, p, 64 * 1024, 1), 0, "%s: keep it", b);
	hm_free(ctx, p);
	hm_mem_trim(ctx, NULL);
	ok(hm_virt2iova(ctx, p) != HM_BAD_IOVA, "%s: a trim leaves the kept unit", b);
	is_int(hm_mem_keep(ctx, start, 4096, 1), 0, "%s: the start memory: nothing to keep", b);
	is_int(hm_mem_keep(ctx, start, 0, 1), -EINVAL, "%s: an empty range: EINVAL", b);
	is_int(hm_mem_keep(ctx, &n, 8, 1), -EINVAL, "%s: memory not hugemem's: EINVAL", b);
	is_int(hm_mem_keep(ctx, start + in->va_len - 2 * MB, 4096, 1), -ENOENT,
	       "%s: the growth area where nothing grew: ENOENT", b);
	is_int(hm_mem_keep(ctx, p, 64 * 1024, 0), 0, "%s: let go", b);
	hm_mem_trim(ctx, NULL);
	ok(hm_virt2iova(ctx, p) == HM_BAD_IOVA, "%s: then it is trimmed", b);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
}

static void one_backing(int k, uint64_t pool0)
{
	struct hm_ctx *ctx = NULL;
	struct hm_order_result order;
	struct seen s = {0};
	char line[256], pfx[64];
	int rc;

	snprintf(pfx, sizeof(pfx), "hmgrow%d_%d", (int)getpid(), k);
	if (k == 2) /* memfds: no mount */
		snprintf(line, sizeof(line), "-m 4 --max-mem 32M --file-prefix %s %s", pfx,
			 backing_opt[k]);
	else
		snprintf(line, sizeof(line),
			 "-m 4 --max-mem 32M --file-prefix %s --huge-dir %.120s %s", pfx, mnt,
			 backing_opt[k]);
	hm_ctx_new(&ctx);
	s.ctx = ctx;
	/* in order, so that growth finds physically contiguous runs (a pool
	 * other tests left scattered may have none of 3 pages) */
	is_int(hm_pool_order(ctx, 2 * MB, -1, &order), 0, "%s: the pool is put in order (%s)",
	       backings[k], hm_errmsg(ctx));
	is_int(hm_mem_event_register(ctx, "t", on_event, &s), 0, "%s: register before init",
	       backings[k]);
	rc = real_init_line(ctx, line);
	is_int(rc, 0, "%s: hm_init %s (%s)", backings[k], line, hm_errmsg(ctx));
	if (rc == 0) {
		check_growth(ctx, backings[k], &s);
		check_limits(ctx, backings[k]);
		check_refusals(ctx, backings[k], &s);
		check_secondary(ctx, backings[k], pfx);
		check_keep(ctx, backings[k]);
		check_trim_followed(ctx, backings[k], pfx);
		check_trim(ctx, backings[k], &s, pool0);
	}
	hm_ctx_free(ctx);
	is_u64(real_counter("free_hugepages"), pool0, "%s: the pool is whole after hm_ctx_free",
	       backings[k]);
}

static void check_extmem(void)
{
	struct hm_ctx *ctx = NULL;
	struct seen s = {0};
	uint64_t iova[4] = {0x100000000ULL, 0x100001000ULL, 0x200000000ULL, 0x200001000ULL};
	char *anon =
	    mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)anon + 4095) & ~4095UL), line[160];
	const struct hm_layout_info *in;

	hm_ctx_new(&ctx);
	s.ctx = ctx;
	snprintf(line, sizeof(line), "-m 2 --in-memory --file-prefix hmgrowx%d", (int)getpid());
	is_int(real_init_line(ctx, line), 0, "extmem: hm_init");
	in = hm_layout(ctx);
	hm_mem_event_register(ctx, "t", on_event, &s);
	is_int(hm_extmem_register(ctx, a, 4 * 4096, NULL, 4, 4096), 0,
	       "extmem: register, IOVA = VA");
	is_int(s.allocs, 1, "extmem: the ALLOC callback ran");
	ok(hm_virt2iova(ctx, a + 5) == (uint64_t)(uintptr_t)(a + 5),
	   "extmem: it translates to its VA");
	is_int(hm_extmem_register(ctx, a + 4096, 4096, NULL, 1, 4096), -EEXIST,
	       "extmem: an overlapping range is refused");
	is_int(hm_extmem_register(ctx, a + 1, 4096, NULL, 1, 4096), -EINVAL,
	       "extmem: an unaligned range is refused");
	is_int(hm_extmem_register(ctx, a, 4096, NULL, 2, 4096), -EINVAL,
	       "extmem: a page count that is not the length's is refused");
	is_int(hm_extmem_register(ctx, (void *)(uintptr_t)in->va_base, 4096, NULL, 1, 4096),
	       -EEXIST, "extmem: hugemem's own window is refused");
	is_int(hm_extmem_unregister(ctx, a, 4 * 4096), 0, "extmem: unregister");
	is_int(s.frees, 1, "extmem: the FREE callback ran");
	ok(hm_virt2iova(ctx, a) == HM_BAD_IOVA, "extmem: it no longer translates");
	is_int(hm_extmem_unregister(ctx, a, 4 * 4096), -ENOENT,
	       "extmem: unregister twice: -ENOENT");
	is_int(hm_extmem_register(ctx, a, 4 * 4096, iova, 4, 4096), 0,
	       "extmem: with an IOVA table");
	ok(hm_virt2iova(ctx, a + 4096 + 7) == 0x100001007ULL,
	   "extmem: page 1 translates by the table");
	is_u64(hm_iova_contig_len(ctx, a), 2 * 4096, "extmem: contiguous as the table says");
	ok(hm_iova2virt(ctx, 0x200000010ULL) == a + 2 * 4096 + 0x10, "extmem: IOVA to VA");
	munmap(anon, 8 * 4096);
	if (getenv("HM_VALGRIND")) /* memcheck reports the probe (msync) of unmapped memory */
		ok(1, "# SKIP extmem: memory that is not mapped: the probe is memcheck's error");
	else
		is_int(hm_extmem_register(ctx, a + 4 * 4096, 4096, NULL, 1, 4096), -EFAULT,
		       "extmem: memory that is not mapped is refused");
	is_int(hm_extmem_unregister(ctx, a, 4 * 4096), 0,
	       "extmem: unregister after the memory was unmapped");
	hm_ctx_free(ctx);
}

/* A primary SIGKILLed while it grows: a new primary of the prefix cleans
 * what it left (page files of grown units included) and the pool is whole. */
static void check_killed(int k, uint64_t pool0)
{
	char line[256], pfx[64];
	struct hm_ctx *ctx = NULL;
	pid_t pid;
	int st = 0, rc;

	snprintf(pfx, sizeof(pfx), "hmgrowk%d_%d", (int)getpid(), k);
	snprintf(line, sizeof(line), "-m 4 --max-mem 256M --file-prefix %s %s", pfx,
		 backing_opt[k]);
	pid = fork();
	if (pid == 0) {
		hm_ctx_new(&ctx);
		if (real_init_line(ctx, line) != 0)
			_exit(1);
		for (;;) /* grow until killed (a trim now and then: units come and go) */
			if (!hm_malloc(ctx, MB, 0))
				hm_mem_trim(ctx, NULL);
	}
	usleep(30000 + (useconds_t)(getpid() % 7) * 20000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st), "%s: a primary killed while growing", backings[k]);
	hm_ctx_new(&ctx);
	rc = real_init_line(ctx, line);
	is_int(rc, 0, "%s: a new primary of its prefix starts (%s)", backings[k], hm_errmsg(ctx));
	hm_ctx_free(ctx);
	is_u64(real_counter("free_hugepages"), pool0, "%s: and the pool is whole after it",
	       backings[k]);
}

/* --max-mem refused below the start, more than the pool with a note, and a
 * growth past the pool a clear refusal with the pool whole. */
static void check_pool_cap(uint64_t pool0)
{
	struct hm_ctx *ctx = NULL;
	const struct hm_layout_info *in;
	char line[160];
	int noted = 0;
	void *p;

	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m 8 --max-mem 8M --in-memory --file-prefix hmgrowp%d",
		 (int)getpid());
	is_int(real_init_line(ctx, line), -EINVAL, "--max-mem not above -m is refused");
	like(hm_errmsg(ctx), "--max-mem", "the message names --max-mem");
	snprintf(line, sizeof(line), "-m 4 --max-mem 16G --in-memory --file-prefix hmgrowp%d",
		 (int)getpid());
	is_int(real_init_line(ctx, line), 0, "--max-mem larger than the pool starts (%s)",
	       hm_errmsg(ctx));
	in = hm_layout(ctx);
	for (int i = 0; in && i < in->n_notes; i++)
		noted |= strstr(in->notes[i], "--max-mem") != NULL;
	ok(noted, "with a note that growth past the pool will fail");
	p = hm_malloc(ctx, (size_t)(pool0 + 8) * 2 * MB, 0);
	ok(!p, "a growth past the pool is refused");
	like(hm_errmsg(ctx), "the pool has", "the message names the pool");
	hm_ctx_free(ctx);
	is_u64(real_counter("free_hugepages"), pool0, "the pool is whole");
}

/* A secondary (a child) that needs memory grows it: memfds and single files
 * (the primary's files, grown in the secondary); page files: refused with a
 * message. The primary sees the growth (translation, bytes, heap). */
/* The primary trims a unit a secondary grew (check_secondary_grows): once
 * the secondary freed it, a trim retires it (nothing given back while the
 * secondary maps it, the primary no longer translates it); the secondary's
 * next heap call unmaps it; then a trim gives its page back. */
static void trim_grown_by_secondary(struct hm_ctx *ctx, const char *b, int to, int from, uint64_t q)
{
	uint64_t freed = 0, free0;
	char c = 0;
	int units;

	ok(write(to, "f", 1) == 1 && read(from, &c, 1) == 1 && c == 'y',
	   "%s: the secondary frees what it grew", b);
	free0 = real_counter("free_hugepages");
	is_int(hm_mem_trim(ctx, &freed), 0, "%s: a trim while it maps that unit gives nothing", b);
	is_u64(real_counter("free_hugepages"), free0, "%s: the pool is unchanged", b);
	ok(hm_virt2iova(ctx, (void *)(uintptr_t)q) == HM_BAD_IOVA,
	   "%s: the primary no longer translates the unit the secondary grew", b);
	ok(write(to, "l", 1) == 1 && read(from, &c, 1) == 1 && c == 'y',
	   "%s: the secondary's next heap call unmapped it", b);
	units = hm_mem_trim(ctx, &freed);
	ok(units >= 1 && freed >= 2 * MB,
	   "%s: then the primary's trim gives it back (%d units, %llu bytes)", b, units,
	   (unsigned long long)freed);
	is_u64(real_counter("free_hugepages"), free0 + freed / (2 * MB), "%s: the pool has it", b);
	ok(write(to, "g", 1) == 1 && read(from, &c, 1) == 1 && c == 'y',
	   "%s: the secondary grows again, its heap whole (it forgot the unit that left)", b);
	hm_mem_trim(ctx, NULL); /* what it grew again: retiring, given back at the end */
}

static void check_secondary_grows(int k, uint64_t pool0)
{
	char line[256], pfx[64];
	struct hm_ctx *ctx = NULL;
	uint64_t msg[3] = {0};
	int p2c[2], c2p[2], st = 0;
	pid_t pid;

	if (skip_child(backings[k]))
		return;
	snprintf(pfx, sizeof(pfx), "hmgrows%d_%d", (int)getpid(), k);
	snprintf(line, sizeof(line), "-m 4 --max-mem 32M --file-prefix %s %s", pfx, backing_opt[k]);
	hm_ctx_new(&ctx);
	if (real_init_line(ctx, line) != 0 || pipe(p2c) < 0 || pipe(c2p) < 0) {
		ok(0, "%s: secondary growth: set up (%s)", backings[k], hm_errmsg(ctx));
		hm_ctx_free(ctx);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct hm_ctx *sec = NULL;
		struct hm_opts o;
		void *blk[256] = {0}, *q = NULL;
		char c;

		hm_ctx_new(&sec);
		hm_opts_init(&o);
		o.file_prefix = pfx;
		if (hm_attach(sec, &o) == 0) {
			fill(sec, blk, 256);
			q = hm_malloc(sec, 64 * 1024, 0);
		}
		if (q) {
			memset(q, 0xa5, 64 * 1024);
			msg[0] = (uint64_t)(uintptr_t)q;
			msg[1] = hm_virt2iova(sec, q);
		} else {
			fprintf(stderr, "# secondary growth: %s\n", hm_errmsg(sec));
			msg[2] = strstr(hm_errmsg(sec), "secondary") != NULL;
		}
		if (write(c2p[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		while (read(p2c[0], &c, 1) == 1 && c != 'x') {
			int yes = 1;

			if (c == 'f') { /* free all it took: the unit it grew is wholly free */
				hm_free(sec, q);
				for (int i = 0; i < 256 && blk[i]; i++)
					hm_free(sec, blk[i]);
			} else if (c == 'g') { /* grow again where the retired unit was */
				void *more[256] = {0}, *q2;
				int m = fill(sec, more, 256);

				q2 = hm_malloc(sec, 64 * 1024, 0);
				yes = q2 && hm_heap_check(sec) == 0;
				hm_free(sec, q2);
				for (int i = 0; i < m; i++)
					hm_free(sec, more[i]);
			} else { /* look (a heap call): the unit the primary retired unmapped */
				yes = hm_heap_check(sec) == 0 && (!q || prot_none_here(q));
			}
			if (write(c2p[1], yes ? "y" : "n", 1) != 1)
				_exit(1);
		}
		hm_ctx_free(sec); /* after the primary looked: the pages stay the prefix's */
		_exit(0);
	}
	ok(read(c2p[0], msg, sizeof(msg)) == sizeof(msg), "%s: the secondary answered",
	   backings[k]);
	if (k == 0) {
		ok(!msg[0] && msg[2], "page files: a secondary does not grow them, and says so");
	} else {
		ok(msg[0] != 0, "%s: a secondary that needs memory grows it", backings[k]);
		ok(msg[0] && hm_virt2iova(ctx, (void *)(uintptr_t)msg[0]) == msg[1],
		   "%s: the primary translates what the secondary grew", backings[k]);
		ok(msg[0] && *(volatile unsigned char *)(uintptr_t)msg[0] == 0xa5,
		   "%s: and reads its bytes", backings[k]);
		is_int(hm_heap_check(ctx), 0, "%s: the primary's heap follows it", backings[k]);
		trim_grown_by_secondary(ctx, backings[k], p2c[1], c2p[0], msg[0]);
	}
	if (write(p2c[1], "x", 1) != 1)
		diag("cannot release the secondary");
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, "%s: the secondary ended", backings[k]);
	hm_ctx_free(ctx);
	is_u64(real_counter("free_hugepages"), pool0, "%s: the pool is whole at the end",
	       backings[k]);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

struct slow {
	_Atomic int entered, done;
};

static int slow_event(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct slow *w = arg;

	(void)va;
	(void)len;
	if (ev == HM_MEM_EVENT_ALLOC) {
		w->entered = 1;
		usleep(200000);
		w->done = 1;
	}
	return 0;
}

static void *grow_thread(void *arg)
{
	void *blk[256];
	int n = fill(arg, blk, 256);

	(void)n;
	return hm_malloc(arg, MB, 0); /* grows: the slow callback runs here */
}

/* hm_mem_event_unregister from another thread waits for a callback that is
 * running, so ARG may be freed once it returns. */
static void check_unregister_waits(void)
{
	struct hm_ctx *ctx = NULL;
	struct slow w = {0};
	pthread_t t;
	char line[128];
	void *p = NULL;

	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m 4 --max-mem 16M --in-memory --file-prefix hmgrowu%d",
		 (int)getpid());
	is_int(real_init_line(ctx, line), 0, "unregister: hm_init");
	hm_mem_event_register(ctx, "slow", slow_event, &w);
	pthread_create(&t, NULL, grow_thread, ctx);
	while (!w.entered)
		usleep(1000);
	is_int(hm_mem_event_unregister(ctx, "slow"), 0, "unregister while the callback runs");
	ok(w.done, "it returned only once the running callback had ended");
	pthread_join(t, &p);
	ok(p != NULL, "the growth the callback served went on");
	hm_ctx_free(ctx);
}

/* --auto-trim: a free that leaves a grown unit wholly free gives units back
 * at once, but for the SIZE it keeps. */
static void check_auto_trim(uint64_t pool0)
{
	struct hm_ctx *ctx = NULL;
	char line[160];
	void *blk[256], *p, *q;
	uint64_t free0;
	int n, rc;

	snprintf(line, sizeof(line),
		 "-m 4 --max-mem 32M --auto-trim 2M --in-memory --file-prefix "
		 "hmgrowauto%d",
		 (int)getpid());
	hm_ctx_new(&ctx);
	rc = real_init_line(ctx, line);
	is_int(rc, 0, "auto-trim: hm_init %s (%s)", line, hm_errmsg(ctx));
	n = rc == 0 ? fill(ctx, blk, 256) : 0;
	p = rc == 0 ? hm_malloc(ctx, 64 * 1024, 0) : NULL;
	free0 = real_counter("free_hugepages");
	hm_free(ctx, p);
	ok(p && hm_virt2iova(ctx, p) != HM_BAD_IOVA && real_counter("free_hugepages") == free0,
	   "auto-trim: a free unit within the 2M it keeps stays");
	q = rc == 0 ? hm_malloc(ctx, 3 * MB, 0) : NULL;
	free0 = real_counter("free_hugepages");
	hm_free(ctx, q);
	ok(q && hm_virt2iova(ctx, q) == HM_BAD_IOVA, "auto-trim: past it, the free gives back");
	is_u64(real_counter("free_hugepages"), free0 + 2, "auto-trim: the pool has its 2 pages");
	ok(hm_virt2iova(ctx, p) != HM_BAD_IOVA, "auto-trim: the 2M kept free stays");
	for (int i = 0; i < n; i++)
		hm_free(ctx, blk[i]);
	hm_ctx_free(ctx);
	is_u64(real_counter("free_hugepages"), pool0, "auto-trim: the pool is whole after");
	hm_ctx_new(&ctx);
	is_int(real_init_line(ctx, "-m 4 --auto-trim 0 --in-memory --file-prefix hmgrowauto"),
	       -EINVAL, "auto-trim without --max-mem: EINVAL");
	ok(strstr(hm_errmsg(ctx), "--max-mem") != NULL, "naming --max-mem: %s", hm_errmsg(ctx));
	hm_ctx_free(ctx);
}

int main(void)
{
	const char *why = real_require(40, mnt, sizeof(mnt));
	struct real_counts before;
	uint64_t pool0;

	if (why)
		return plan_skip_all(why);
	real_snapshot(&before);
	pool0 = real_counter("free_hugepages");
	for (int k = 0; k < 3; k++)
		one_backing(k, pool0);
	for (int k = 0; k < 3; k++)
		check_killed(k, pool0);
	for (int k = 0; k < 3; k++)
		check_secondary_grows(k, pool0);
	check_pool_cap(pool0);
	check_auto_trim(pool0);
	check_unregister_waits();
	check_extmem();
	real_ok_counts(&before, "the pool is as found");
	return done();
}
