/* SPDX-License-Identifier: MIT */
/*
 * numa_probe.c — the C half of the two-node guest's tests (test/numa/guest.sh).
 *
 * Linked statically with the library and run as root inside the qemu guest,
 * it checks what hugemem says against what the kernel says, page by page,
 * using the public API only (and three raw syscalls: move_pages, mbind,
 * madvise). Modes:
 *
 *   outside PID VA IOVA LEN PAGE_SIZE NODE
 *        one segment of another process (a held `hugemem init`): each page's
 *        node by move_pages(PID) and its physical address by
 *        /proc/PID/pagemap must be the segment's node and IOVA + offset;
 *   init [init options]
 *        hm_init in this process, then every page of every segment
 *        (hm_segment_walk): node by move_pages(0), physical address by
 *        /proc/self/pagemap, and hm_virt2iova / hm_iova2virt both ways;
 *   attach [attach options]
 *        hm_attach to a live primary, then the same checks on the
 *        secondary's own mappings (read first, so every page is present);
 *   race NODE [init options]
 *        hm_init with a progress callback that, the first time it is called
 *        (after the first node's pages are in, before NODE's are mapped),
 *        takes every free page of NODE for this process. The hugetlb
 *        reservation made at mmap time is global, so NODE's mapping succeeds
 *        and only faulting in finds NODE empty: hm_init must fail with
 *        -ENOMEM naming the node — not die of SIGBUS — and give back every
 *        page it had.
 *   grow [init options with --socket-max-mem or --max-mem, --socket-mem A,B]
 *        growth at run time per node (docs/growth.md), each step checked
 *        against the per-node sysfs counts and move_pages: node 1's heap
 *        filled, hm_malloc_socket(.., 1) and a zone on node 1 grow on node 1
 *        (their pages on node 1, IOVA = physical address, node 0's count
 *        unchanged); with --socket-max-mem node 1 then grows to exactly its
 *        cap and is refused past it, naming the option and node 1; node 0
 *        grows to exactly its own (--max-mem: the total to exactly the cap,
 *        the refusal naming --max-mem), node 1 unchanged; hm_mem_trim after
 *        node 1's blocks are freed gives back node 1's units only, then
 *        node 0's; after hm_fini every node's pool is as before hm_init.
 *
 * Output, read by guest.sh: "ok - ..." / "not ok - ..." lines (it numbers
 * them into its TAP stream), "# ..." diagnostics, and data lines
 * "seg VA IOVA LEN PAGE_SIZE NODE PAGES" and "node N PAGES". Exit status 1
 * when any check failed, 2 on bad usage.
 */
#include "hugemem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define PROBE_MPOL_BIND 2
#define NODE_SYSFS	"/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB/%s"

struct probe {
	pid_t pid;		  /* whose pages: 0 = this process */
	int pagemap_fd;		  /* /proc/PID/pagemap */
	const struct hm_ctx *ctx; /* NULL: no translation checks (outside) */
	int iova_pa;		  /* IOVA must be the physical address */
	int seg;		  /* index of the segment being checked */
	int failed;
	uint64_t node_pages[HM_MAX_NODES];
};

static int failures;

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures += !cond;
}

static int parse_u64(const char *text, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(text, &end, 0);
	return errno || end == text || *end ? -1 : 0;
}

/* Physical address of the page holding VA in PR's process, or UINT64_MAX. */
static uint64_t phys_addr(const struct probe *pr, uint64_t va)
{
	uint64_t base = (uint64_t)sysconf(_SC_PAGESIZE), entry = 0, pfn;

	if (pread(pr->pagemap_fd, &entry, sizeof(entry), (off_t)(va / base * sizeof(entry))) !=
	    (ssize_t)sizeof(entry))
		return UINT64_MAX;
	if (!hm_pagemap_decode(entry, &pfn))
		return UINT64_MAX;
	return pfn * base + va % base;
}

/* Read one byte of every page: a secondary's mappings fault in lazily. */
static void touch_pages(const struct hm_segment *s)
{
	volatile const char *p = s->va;

	for (uint32_t i = 0; i < s->n_pages; i++)
		(void)p[(uint64_t)i * s->page_size];
}

/* Pages of S whose node (move_pages) is not S's; -1 when the call failed. */
static long wrong_nodes(const struct probe *pr, const struct hm_segment *s)
{
	void **pages = calloc(s->n_pages, sizeof(*pages));
	int *status = calloc(s->n_pages, sizeof(*status));
	long bad = 0;

	if (!pages || !status) {
		free(pages);
		free(status);
		return -1;
	}
	for (uint32_t i = 0; i < s->n_pages; i++)
		pages[i] = (char *)s->va + (uint64_t)i * s->page_size;
	if (syscall(SYS_move_pages, pr->pid, s->n_pages, pages, NULL, status, 0) < 0) {
		printf("# move_pages(pid %d, %u pages): %s\n", (int)pr->pid, s->n_pages,
		       strerror(errno));
		bad = -1;
	}
	for (uint32_t i = 0; bad >= 0 && i < s->n_pages; i++) {
		if (status[i] != s->node && bad++ == 0)
			printf("# page %u at %p: move_pages says node %d, segment says %d\n", i,
			       pages[i], status[i], s->node);
	}
	free(pages);
	free(status);
	return bad;
}

/* Pages of S whose physical address is not S's IOVA + offset. */
static long wrong_iovas(const struct probe *pr, const struct hm_segment *s)
{
	long bad = 0;

	for (uint32_t i = 0; i < s->n_pages; i++) {
		uint64_t off = (uint64_t)i * s->page_size;
		uint64_t va = (uint64_t)(uintptr_t)s->va + off;
		uint64_t want = pr->iova_pa ? s->iova + off : va;
		uint64_t pa = pr->iova_pa ? phys_addr(pr, va) : va;

		if (pa != want && bad++ == 0)
			printf("# page %u at 0x%" PRIx64 ": pagemap says 0x%" PRIx64
			       ", segment says 0x%" PRIx64 "\n",
			       i, va, pa, want);
	}
	return bad;
}

/* Pages of S that hm_virt2iova / hm_iova2virt translate wrongly. */
static long wrong_translations(const struct probe *pr, const struct hm_segment *s)
{
	long bad = 0;

	for (uint32_t i = 0; i < s->n_pages; i++) {
		uint64_t off = (uint64_t)i * s->page_size + s->page_size / 2 + 3;
		const char *va = (const char *)s->va + off;
		uint64_t iova = hm_virt2iova(pr->ctx, va);
		void *back = hm_iova2virt(pr->ctx, s->iova + off);

		if ((iova != s->iova + off || back != va) && bad++ == 0)
			printf("# %p: hm_virt2iova 0x%" PRIx64 " (want 0x%" PRIx64
			       "), hm_iova2virt %p\n",
			       (const void *)va, iova, s->iova + off, back);
	}
	if (hm_iova_contig_len(pr->ctx, s->va) != s->len && bad++ == 0)
		printf("# hm_iova_contig_len(%p) = %" PRIu64 ", segment length %" PRIu64 "\n",
		       s->va, hm_iova_contig_len(pr->ctx, s->va), s->len);
	return bad;
}

static int check_segment(const struct hm_segment *s, void *arg)
{
	struct probe *pr = arg;
	int i = pr->seg++;
	long bad;

	printf("seg 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu64 " %" PRIu64 " %d %u\n",
	       (uint64_t)(uintptr_t)s->va, s->iova, s->len, s->page_size, s->node, s->n_pages);
	if (s->node < 0 || s->node >= HM_MAX_NODES || s->n_pages == 0 ||
	    s->len != (uint64_t)s->n_pages * s->page_size) {
		check(0, "segment %d: node %d, %u pages, %" PRIu64 " bytes make sense", i, s->node,
		      s->n_pages, s->len);
		return 0;
	}
	pr->node_pages[s->node] += s->n_pages;
	if (pr->pid == 0)
		touch_pages(s);
	bad = wrong_nodes(pr, s);
	check(bad == 0, "segment %d: its %u pages are on node %d (move_pages)", i, s->n_pages,
	      s->node);
	bad = wrong_iovas(pr, s);
	check(bad == 0, "segment %d: IOVA 0x%" PRIx64 " + offset is each page's %s", i, s->iova,
	      pr->iova_pa ? "physical address (pagemap)" : "VA (IOVA mode va)");
	if (pr->ctx) {
		bad = wrong_translations(pr, s);
		check(bad == 0, "segment %d: hm_virt2iova and hm_iova2virt agree with it", i);
	}
	return 0;
}

static int open_pagemap(struct probe *pr)
{
	char path[64];

	if (pr->pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pr->pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	pr->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pr->pagemap_fd < 0)
		printf("# %s: %s\n", path, strerror(errno));
	return pr->pagemap_fd;
}

static void print_nodes(const struct probe *pr)
{
	for (int n = 0; n < HM_MAX_NODES; n++)
		if (pr->node_pages[n])
			printf("node %d %" PRIu64 "\n", n, pr->node_pages[n]);
}

/* ------------------------------------------------------------------ outside */

static int run_outside(int argc, char **argv)
{
	struct probe pr = {0};
	struct hm_segment s = {0};
	uint64_t pid, va, node;

	if (argc != 6 || parse_u64(argv[0], &pid) || parse_u64(argv[1], &va) ||
	    parse_u64(argv[2], &s.iova) || parse_u64(argv[3], &s.len) ||
	    parse_u64(argv[4], &s.page_size) || parse_u64(argv[5], &node) || !s.page_size ||
	    node >= HM_MAX_NODES) {
		fprintf(stderr, "usage: numa_probe outside PID VA IOVA LEN PAGE_SIZE NODE\n");
		return 2;
	}
	pr.pid = (pid_t)pid;
	pr.iova_pa = 1;
	s.va = (void *)(uintptr_t)va;
	s.node = (int)node;
	s.n_pages = (uint32_t)(s.len / s.page_size);
	if (open_pagemap(&pr) < 0)
		return 1;
	check_segment(&s, &pr);
	close(pr.pagemap_fd);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ init, attach */

static int parse_opts(struct hm_ctx *ctx, struct hm_opts *o, unsigned cmd, int argc, char **argv)
{
	hm_opts_init(o);
	if (hm_opts_parse(ctx, o, cmd, argc, argv) < 0) {
		fprintf(stderr, "numa_probe: %s\n", hm_errmsg(ctx));
		return -1;
	}
	return 0;
}

/* Check every segment of CTX's layout in this process. */
static void check_layout(const struct hm_ctx *ctx)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	struct probe pr = {.ctx = ctx, .iova_pa = in->iova_mode == HM_IOVA_PA};

	check(in->n_segments > 0, "%s: %d segments, %" PRIu64 " bytes",
	      in->primary ? "primary" : "secondary", in->n_segments, in->total_bytes);
	if (open_pagemap(&pr) < 0)
		return;
	hm_segment_walk(ctx, check_segment, &pr);
	close(pr.pagemap_fd);
	print_nodes(&pr);
}

static int run_layout(int argc, char **argv, unsigned cmd)
{
	const char *what = cmd == HM_CMD_INIT ? "hm_init" : "hm_attach";
	struct hm_ctx *ctx;
	struct hm_opts o;
	int rc;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	if (parse_opts(ctx, &o, cmd, argc, argv) < 0) {
		hm_ctx_free(ctx);
		return 2;
	}
	rc = cmd == HM_CMD_INIT ? hm_init(ctx, &o) : hm_attach(ctx, &o);
	check(rc == 0, "%s succeeds%s%s", what, rc ? ": " : "", rc ? hm_errmsg(ctx) : "");
	if (rc == 0) {
		check_layout(ctx);
		rc = hm_fini(ctx);
		check(rc == 0, "hm_fini succeeds%s%s", rc ? ": " : "", rc ? hm_errmsg(ctx) : "");
	}
	hm_ctx_free(ctx);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ race */

struct grab {
	int node;
	uint64_t page_size;
	int calls;
	char *mem;
	uint64_t pages;
	char when[96];
};

static int64_t node_count(int node, uint64_t page_size, const char *what)
{
	char path[256];
	uint64_t v;
	char text[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), NODE_SYSFS, node, page_size >> 10, what);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	return parse_u64(text, &v) ? -1 : (int64_t)v;
}

/* Map COUNT pages bound to NODE and fault them in; NULL when refused. */
static char *take_pages(int node, uint64_t page_size, uint64_t count)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		    (__builtin_ctzll(page_size) << MAP_HUGE_SHIFT);
	unsigned long mask = 1UL << node;
	uint64_t len = count * page_size;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (syscall(SYS_mbind, p, len, PROBE_MPOL_BIND, &mask, 65UL, 0U) < 0 ||
	    madvise(p, len, MADV_POPULATE_WRITE) < 0) {
		printf("# taking %" PRIu64 " pages on node %d: %s\n", count, node, strerror(errno));
		munmap(p, len);
		return NULL;
	}
	return p;
}

static void grab_node(void *arg, const char *step, uint64_t done, uint64_t total)
{
	struct grab *g = arg;
	int64_t free_pages;

	if (g->calls++)
		return;
	snprintf(g->when, sizeof(g->when), "%s %" PRIu64 "/%" PRIu64, step, done, total);
	free_pages = node_count(g->node, g->page_size, "free_hugepages");
	if (free_pages <= 0)
		return;
	g->mem = take_pages(g->node, g->page_size, (uint64_t)free_pages);
	g->pages = g->mem ? (uint64_t)free_pages : 0;
}

static void snapshot(int64_t *free_pages, uint64_t page_size)
{
	for (int n = 0; n < HM_MAX_NODES; n++)
		free_pages[n] = node_count(n, page_size, "free_hugepages");
}

/* After the failed hm_init: every node as before, less what the grab took. */
static int pool_restored(const int64_t *before, const struct grab *g)
{
	int64_t now[HM_MAX_NODES];
	int same = 1;

	snapshot(now, g->page_size);
	for (int n = 0; n < HM_MAX_NODES; n++) {
		int64_t want = before[n] - (n == g->node ? (int64_t)g->pages : 0);

		if (now[n] != want) {
			printf("# node %d: %" PRId64 " free pages, want %" PRId64 "\n", n, now[n],
			       want);
			same = 0;
		}
	}
	return same;
}

static uint64_t default_page_size(struct hm_ctx *ctx)
{
	struct hm_sysinfo *si;
	uint64_t size = 0;

	if (hm_sysinfo_read(ctx, NULL, &si) == 0)
		size = si->default_page_size;
	hm_sysinfo_free(si);
	return size;
}

static void race_checks(struct hm_ctx *ctx, int rc, const struct grab *g, const int64_t *before)
{
	char node_word[32];

	if (g->calls == 0) { /* nothing to race with: say so, without failing the run */
		printf("not ok - hm_init never called the progress callback while mapping (rc %d), "
		       "so node %d could not be emptied mid-way # TODO a library that reports "
		       "progress\n",
		       rc, g->node);
		return;
	}
	snprintf(node_word, sizeof(node_word), "node %d", g->node);
	check(g->pages > 0, "the progress callback (at %s) took node %d's %" PRIu64 " free pages",
	      g->when[0] ? g->when : "never called", g->node, g->pages);
	check(rc == -ENOMEM, "hm_init then fails with -ENOMEM, not SIGBUS (got %d: %s)", rc,
	      hm_errmsg(ctx));
	check(strstr(hm_errmsg(ctx), node_word) != NULL, "the message names %s", node_word);
	check(pool_restored(before, g), "every page hm_init had faulted in went back to the pool");
}

static int run_race(int argc, char **argv)
{
	struct grab g = {0};
	int64_t before[HM_MAX_NODES];
	uint64_t node;
	struct hm_ctx *ctx;
	struct hm_opts o;
	int rc;

	if (argc < 1 || parse_u64(argv[0], &node) || node >= 64) {
		fprintf(stderr, "usage: numa_probe race NODE [init options]\n");
		return 2;
	}
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	if (parse_opts(ctx, &o, HM_CMD_INIT, argc - 1, argv + 1) < 0) {
		hm_ctx_free(ctx);
		return 2;
	}
	g.node = (int)node;
	g.page_size = o.page_size ? o.page_size : default_page_size(ctx);
	snapshot(before, g.page_size);
	hm_ctx_set_progress(ctx, grab_node, &g);
	rc = hm_init(ctx, &o);
	race_checks(ctx, rc, &g, before);
	if (rc == 0)
		hm_fini(ctx);
	if (g.mem)
		munmap(g.mem, g.pages * g.page_size);
	hm_ctx_free(ctx);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ grow */

#define MIB	    (1ULL << 20)
#define GROW_BLOCKS 256 /* blocks kept per node */

struct grower {
	struct hm_ctx *ctx;
	const struct hm_opts *o;
	uint64_t page_size;
	int iova_pa;
	int pagemap_fd;
	int64_t before[2]; /* free pages on nodes 0 and 1 before hm_init */
	int64_t start[2];  /* ... once hm_init holds the start memory */
	void *blk[2][GROW_BLOCKS];
	size_t len[2][GROW_BLOCKS];
	int n[2];
};

static void frees2(const struct grower *g, int64_t *now)
{
	for (int n = 0; n < 2; n++)
		now[n] = node_count(n, g->page_size, "free_hugepages");
}

/* Pages NODE's pool lost since before hm_init: what the prefix holds there. */
static int64_t held(const struct grower *g, int node)
{
	return g->before[node] - node_count(node, g->page_size, "free_hugepages");
}

/* The node move_pages (query mode) says the page holding VA is on, or -errno. */
static int page_node(const void *va)
{
	void *page = (void *)((uintptr_t)va & ~(uintptr_t)4095);
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) < 0)
		return -errno;
	return status;
}

/* 1 when the first and last byte of [P, P+LEN) are on NODE and translate to
 * their physical address (IOVA = PA) or VA. */
static int block_ok(const struct grower *g, const void *p, size_t len, int node)
{
	const char *ends[2] = {p, (const char *)p + len - 1};
	struct probe pr = {.pagemap_fd = g->pagemap_fd};

	for (int e = 0; e < 2; e++) {
		uint64_t va = (uint64_t)(uintptr_t)ends[e];
		uint64_t want = g->iova_pa ? phys_addr(&pr, va) : va;

		if (page_node(ends[e]) != node || hm_virt2iova(g->ctx, ends[e]) != want) {
			printf("# %p: node %d (want %d), IOVA 0x%" PRIx64 " (want 0x%" PRIx64 ")\n",
			       (const void *)ends[e], page_node(ends[e]), node,
			       hm_virt2iova(g->ctx, ends[e]), want);
			return 0;
		}
	}
	return 1;
}

static void *keep(struct grower *g, int node, size_t len)
{
	void *p = g->n[node] < GROW_BLOCKS ? hm_malloc_socket(g->ctx, len, 0, node) : NULL;

	if (p) {
		memset(p, 0x5a, len); /* the memory is there: no fault, no SIGBUS */
		g->blk[node][g->n[node]] = p;
		g->len[node][g->n[node]++] = len;
	}
	return p;
}

/* Take 64 KiB blocks on NODE until its heap has no room for one more. */
static void fill_node(struct grower *g, int node)
{
	struct hm_heap_stats st;

	while (hm_heap_stats(g->ctx, node, &st) == 0 && st.largest_free >= 64 * 1024 + 64 &&
	       keep(g, node, 64 * 1024))
		;
	check(hm_heap_stats(g->ctx, node, &st) == 0 && st.largest_free < 64 * 1024 + 64,
	      "node %d's heap filled with %d blocks of 64 KiB (largest free %" PRIu64 ")", node,
	      g->n[node], st.largest_free);
}

static void grow_block_on(struct grower *g, int node)
{
	int64_t was[2], now[2];
	void *p;

	frees2(g, was);
	p = keep(g, node, MIB);
	frees2(g, now);
	check(p != NULL, "hm_malloc_socket(1 MiB, node %d) on a full heap grows%s%s", node,
	      p ? "" : ": ", p ? "" : hm_errmsg(g->ctx));
	check(now[node] == was[node] - 1,
	      "it took one page from node %d's pool (%" PRId64 " -> %" PRId64 ")", node, was[node],
	      now[node]);
	check(now[!node] == was[!node], "node %d's pool unchanged (%" PRId64 " -> %" PRId64 ")",
	      !node, was[!node], now[!node]);
	check(p && block_ok(g, p, MIB, node),
	      "the grown block is on node %d (move_pages) and translates to its %s", node,
	      g->iova_pa ? "physical address (pagemap)" : "VA");
}

static void grow_zone_on(struct grower *g, int node)
{
	struct hm_memzone z = {0};
	int64_t was[2], now[2];
	int rc;

	frees2(g, was);
	rc = hm_memzone_reserve(g->ctx, "hnumag_zone", 3 * MIB, node, 0, 0, &z);
	frees2(g, now);
	check(rc == 0, "hm_memzone_reserve(3 MiB, node %d) grows%s%s", node, rc ? ": " : "",
	      rc ? hm_errmsg(g->ctx) : "");
	check(rc == 0 && z.socket == node && block_ok(g, z.va, z.len, node),
	      "the zone says node %d, and its pages are there", node);
	check(now[node] == was[node] - 2 && now[!node] == was[!node],
	      "it took 2 pages from node %d's pool, none from node %d's (%" PRId64 " %" PRId64
	      " -> %" PRId64 " %" PRId64 ")",
	      node, !node, was[0], was[1], now[0], now[1]);
}

/* 1 MiB blocks on NODE until refused: each needs a page of its own. */
static void grow_to_cap(struct grower *g, int node)
{
	const char *opt = g->o->socket_max_mem_count ? "--socket-max-mem" : "--max-mem";
	uint64_t cap = g->o->socket_max_mem_count ? g->o->socket_max_mem[node] : g->o->max_mem;
	int64_t other = held(g, !node), pages;
	int from = g->n[node], wrong = 0, err;
	char word[32];

	while (keep(g, node, MIB))
		;
	err = errno;
	for (int i = from; i < g->n[node]; i++)
		wrong += !block_ok(g, g->blk[node][i], MIB, node);
	pages = g->o->socket_max_mem_count ? held(g, node) : held(g, node) + held(g, !node);
	check(g->n[node] > from && wrong == 0, "%d more blocks of 1 MiB on node %d, all on it",
	      g->n[node] - from, node);
	check((uint64_t)pages * g->page_size == cap,
	      "%s then holds %" PRId64 " pages, exactly its %s %" PRIu64 " MiB",
	      g->o->socket_max_mem_count ? "the node" : "the prefix", pages, opt, cap >> 20);
	check(held(g, !node) == other, "node %d's pool unchanged meanwhile", !node);
	check(err == ENOMEM && strstr(hm_errmsg(g->ctx), opt),
	      "the refusal is ENOMEM naming %s: %s", opt, hm_errmsg(g->ctx));
	snprintf(word, sizeof(word), "node %d", node);
	if (g->o->socket_max_mem_count)
		check(strstr(hm_errmsg(g->ctx), word) != NULL, "the refusal names %s", word);
}

/* Free NODE's blocks (and its zone), trim: NODE's pool back to the start,
 * the other node's unchanged. */
static void trim_node(struct grower *g, int node)
{
	int64_t was[2], now[2];
	uint64_t freed = 0;
	int units;

	for (int i = 0; i < g->n[node]; i++)
		hm_free(g->ctx, g->blk[node][i]);
	g->n[node] = 0;
	hm_memzone_free(g->ctx, "hnumag_zone"); /* -ENOENT once freed */
	frees2(g, was);
	units = hm_mem_trim(g->ctx, &freed);
	frees2(g, now);
	check(units > 0,
	      "hm_mem_trim after node %d's blocks are freed gives back %d units (%" PRIu64
	      " bytes)",
	      node, units, freed);
	check(now[node] == g->start[node] &&
		  (uint64_t)(now[node] - was[node]) * g->page_size == freed,
	      "node %d's pool has them back: %" PRId64 " free, as after hm_init", node, now[node]);
	check(now[!node] == was[!node], "node %d's pool unchanged by the trim", !node);
}

static void grow_checks(struct grower *g)
{
	int rc;

	fill_node(g, 1);
	grow_block_on(g, 1);
	grow_zone_on(g, 1);
	if (g->o->socket_max_mem_count)
		grow_to_cap(g, 1);
	grow_to_cap(g, 0);
	rc = hm_heap_check(g->ctx);
	check(rc == 0, "hm_heap_check after the growth%s%s", rc ? ": " : "",
	      rc ? hm_errmsg(g->ctx) : "");
	trim_node(g, 1);
	trim_node(g, 0);
}

static int run_grow(int argc, char **argv)
{
	struct grower g = {0};
	struct hm_opts o;
	int64_t end[2];
	int rc;

	if (hm_ctx_new(&g.ctx) < 0)
		return 1;
	if (parse_opts(g.ctx, &o, HM_CMD_INIT, argc, argv) < 0 ||
	    (!o.max_mem && !o.socket_max_mem_count)) {
		fprintf(stderr,
			"usage: numa_probe grow --socket-mem A,B --socket-max-mem C,D|--max-mem "
			"SIZE [init options]\n");
		hm_ctx_free(g.ctx);
		return 2;
	}
	g.o = &o;
	g.page_size = o.page_size ? o.page_size : default_page_size(g.ctx);
	g.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	frees2(&g, g.before);
	rc = hm_init(g.ctx, &o);
	check(rc == 0, "hm_init succeeds%s%s", rc ? ": " : "", rc ? hm_errmsg(g.ctx) : "");
	if (rc == 0) {
		g.iova_pa = hm_layout(g.ctx)->iova_mode == HM_IOVA_PA;
		frees2(&g, g.start);
		grow_checks(&g);
		rc = hm_fini(g.ctx);
		check(rc == 0, "hm_fini succeeds%s%s", rc ? ": " : "", rc ? hm_errmsg(g.ctx) : "");
	}
	frees2(&g, end);
	check(end[0] == g.before[0] && end[1] == g.before[1],
	      "every node's pool whole at the end (%" PRId64 " %" PRId64 ", before %" PRId64
	      " %" PRId64 ")",
	      end[0], end[1], g.before[0], g.before[1]);
	close(g.pagemap_fd);
	hm_ctx_free(g.ctx);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "outside") == 0)
		return run_outside(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return run_layout(argc - 2, argv + 2, HM_CMD_INIT);
	if (argc >= 2 && strcmp(argv[1], "attach") == 0)
		return run_layout(argc - 2, argv + 2, HM_CMD_ATTACH);
	if (argc >= 2 && strcmp(argv[1], "race") == 0)
		return run_race(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "grow") == 0)
		return run_grow(argc - 2, argv + 2);
	fprintf(stderr, "usage: numa_probe outside|init|attach|race|grow ...\n");
	return 2;
}
