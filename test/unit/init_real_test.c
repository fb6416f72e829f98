/* SPDX-License-Identifier: MIT */
/*
 * init_real_test — hm_init through the library on real hugepages: every
 * page's IOVA and the translation calls checked against /proc/self/pagemap,
 * segments maximal, the VA window and its fallback, error paths, and the pool
 * whole after hm_fini. Needs root, 64 free 2 MiB pages and a 2 MiB mount.
 */
#include "real.h"
#include "tap.h"

#include "hugemem.h"
#include "mem/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ULL << 20)

static uint64_t phys(int pagemap, const void *va)
{
	uint64_t entry = 0, pfn = 0;

	if (pread(pagemap, &entry, 8, (off_t)((uintptr_t)va / 4096 * 8)) != 8 ||
	    !hm_pagemap_decode(entry, &pfn))
		return HM_BAD_IOVA;
	return pfn * 4096 + (uintptr_t)va % 4096;
}

/* Every page: first byte, last byte and a middle byte translate both ways
 * and agree with pagemap. */
static void check_translation(struct hm_ctx *ctx, int pagemap)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	int bad_pm = 0, bad_back = 0, bad_len = 0, pages = 0;
	struct hm_segment s;

	for (int i = 0; hm_segment_get(ctx, i, &s) == 0; i++) {
		for (uint64_t off = 0; off < s.len; off += s.page_size) {
			const uint64_t probe[] = {off, off + 4096 + 17, off + s.page_size - 1};

			pages++;
			for (int k = 0; k < 3; k++) {
				const char *va = (const char *)s.va + probe[k];
				uint64_t iova = hm_virt2iova(ctx, va);

				bad_pm += iova != phys(pagemap, va) || iova != s.iova + probe[k];
				bad_back += hm_iova2virt(ctx, iova) != va;
				bad_len += hm_iova_contig_len(ctx, va) != s.len - probe[k];
			}
		}
	}
	is_int(pages * in->page_size, in->total_bytes, "pages of all segments add up to the total");
	is_int(bad_pm, 0, "hm_virt2iova agrees with pagemap for first, middle, last bytes");
	is_int(bad_back, 0, "hm_iova2virt inverts it");
	is_int(bad_len, 0, "hm_iova_contig_len runs to the segment's end");
}

static void check_segments(struct hm_ctx *ctx)
{
	struct hm_segment a, b;
	int mergeable = 0, n = 0;

	for (int i = 0; hm_segment_get(ctx, i + 1, &b) == 0; i++) {
		hm_segment_get(ctx, i, &a);
		mergeable += (char *)a.va + a.len == (char *)b.va && a.iova + a.len == b.iova &&
			     a.node == b.node;
	}
	while (hm_segment_get(ctx, n, &a) == 0)
		n++;
	is_int(n, hm_layout(ctx)->n_segments, "hm_segment_get walks n_segments segments");
	is_int(mergeable, 0, "no two segments could merge (the table is maximal)");
	ok(hm_virt2iova(ctx, (void *)(uintptr_t)(hm_layout(ctx)->va_base - 1)) == HM_BAD_IOVA,
	   "a byte below the window is not hugemem memory");
	ok(hm_iova2virt(ctx, 1) == NULL, "an IOVA that is ours nowhere gives NULL");
}

static void test_flow(int pagemap)
{
	uint64_t free0 = real_counter("free_hugepages");
	struct hm_ctx *ctx;
	char line[64];

	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m 64 --file-prefix hmt%d --verify", (int)getpid());
	is_int(real_init_line(ctx, line), 0, "hm_init -m 64: %s", hm_errmsg(ctx));
	if (!hm_layout(ctx))
		return;
	is_u64(hm_layout(ctx)->total_bytes, 64 * MiB, "64 MiB mapped");
	is_u64(real_counter("free_hugepages"), free0 - 32, "32 pages taken");
	check_translation(ctx, pagemap);
	check_segments(ctx);
	is_int(real_init_line(ctx, "-m 2"), -EALREADY,
	       "a second hm_init on the context: -EALREADY");
	is_int(hm_fini(ctx), 0, "hm_fini");
	is_u64(real_counter("free_hugepages"), free0, "every page back after hm_fini");
	is_int(hm_fini(ctx), -EINVAL, "hm_fini twice: -EINVAL");
	ok(hm_layout(ctx) == NULL, "no layout after hm_fini");
	hm_ctx_free(ctx);
}

static void test_window(void)
{
	void *in_way = mmap((void *)(uintptr_t)HM_DEFAULT_BASE_VA, 4096, PROT_READ,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	uint64_t free0 = real_counter("free_hugepages");
	struct hm_ctx *ctx;
	struct hm_segment seg;
	char line[96];

	ok(in_way != MAP_FAILED, "something mapped at the default base");
	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m 8 --in-memory --file-prefix hmt%d", (int)getpid());
	is_int(real_init_line(ctx, line), 0, "default base taken: hm_init places the window above");
	ok(hm_layout(ctx) && hm_layout(ctx)->va_base > HM_DEFAULT_BASE_VA, "at a higher base");
	ok(hm_segment_get(ctx, 0, &seg) == 0 &&
	       (uint64_t)(uintptr_t)seg.va >= hm_layout(ctx)->va_base &&
	       (uint64_t)(uintptr_t)seg.va + seg.len <=
		   hm_layout(ctx)->va_base + hm_layout(ctx)->va_len,
	   "its segments moved with it, inside the window");
	hm_fini(ctx);
	snprintf(line, sizeof(line), "-m 8 --in-memory --base-virtaddr 0x%llx --file-prefix hmt%d",
		 (unsigned long long)HM_DEFAULT_BASE_VA, (int)getpid());
	is_int(real_init_line(ctx, line), -EEXIST, "an explicit base that is taken: -EEXIST");
	like(hm_errmsg(ctx), "--base-virtaddr", "the error says how to choose another");
	is_u64(real_counter("free_hugepages"), free0, "nothing left after the failed start");
	hm_ctx_free(ctx);
	munmap(in_way, 4096);
}

static void test_refusals(void)
{
	uint64_t free0 = real_counter("free_hugepages");
	struct hm_ctx *ctx;
	char line[96];

	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m %lluM --in-memory", (unsigned long long)(free0 * 2 + 2));
	is_int(real_init_line(ctx, line), -ENOMEM, "more than the pool: -ENOMEM");
	like(hm_errmsg(ctx), "free", "naming what is free");
	is_u64(real_counter("free_hugepages"), free0, "nothing taken");
	hm_ctx_free(ctx);
}

struct progress_seen {
	int calls, ascending, last_is_total;
	uint64_t last, total;
};

static void on_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	struct progress_seen *p = arg;

	p->ascending &= done > p->last && strcmp(step, "map") == 0;
	p->last = done;
	p->total = total;
	p->last_is_total = done == total;
	p->calls++;
}

/* 300 pages (600 MiB, three rounds of 256 MiB): the callback hears each
 * round, ascending, the last one at the total; without it, nothing. */
static void test_progress(void)
{
	struct progress_seen seen = {.ascending = 1};
	struct hm_ctx *ctx;

	if (real_counter("free_hugepages") < 300) {
		ok(1, "# SKIP progress: fewer than 300 free pages");
		return;
	}
	hm_ctx_new(&ctx);
	hm_ctx_set_progress(ctx, on_progress, &seen);
	is_int(real_init_line(ctx, "-m 600M --in-memory --file-prefix hmtestprog"), 0, "init 600M");
	ok(seen.calls >= 3 && seen.ascending && seen.last_is_total && seen.total == 300,
	   "progress: %d calls, ascending, ending at 300 of 300 (last %llu of %llu)", seen.calls,
	   (unsigned long long)seen.last, (unsigned long long)seen.total);
	hm_fini(ctx);
	seen.calls = 0;
	hm_ctx_set_progress(ctx, NULL, NULL);
	is_int(real_init_line(ctx, "-m 64M --in-memory --file-prefix hmtestprog"), 0, "init 64M");
	is_int(seen.calls, 0, "no callback once it is turned off");
	hm_ctx_free(ctx);
}

/* udmabuf's limits are read before /dev/udmabuf is opened: a root whose
 * module parameters say 1 MiB and 1 piece refuses 2 MiB, naming them. */
static void dmabuf_limits(struct hm_ctx *ctx, const struct hm_segment *seg)
{
	char root[] = "/tmp/hmudma.XXXXXX", path[256];
	FILE *f;

	if (!mkdtemp(root))
		return;
	snprintf(path, sizeof(path), "%s/sys/module/udmabuf/parameters", root);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
	strcat(path, "/size_limit_mb");
	f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	hm_ctx_set_root(ctx, root);
	is_int(hm_dmabuf_export(ctx, seg->va, 2 << 20), -E2BIG,
	       "dma-buf: 2 MiB past a size_limit_mb of 1 is refused");
	like(hm_errmsg(ctx), "size_limit_mb of 1", "...naming the limit");
	like(hm_errmsg(ctx), "udmabuf.size_limit_mb=N", "...and how to raise it");
	hm_ctx_set_root(ctx, "/");
	unlink(path);
	for (int i = 0; i < 4; i++) {
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
	rmdir(root);
}

/* hm_dmabuf_export's refusals before the kernel is asked (this host has no
 * /dev/udmabuf: the export itself runs in test/vfio/'s guest). */
static void test_dmabuf_refusals(struct hm_ctx *ctx)
{
	struct hm_segment seg;

	if (!ok(hm_segment_get(ctx, 0, &seg) == 0, "dma-buf: a segment"))
		return;
	is_int(hm_dmabuf_export(ctx, (char *)seg.va + 100, 4096), -EINVAL,
	       "dma-buf: an unaligned start is refused");
	is_int(hm_dmabuf_export(ctx, seg.va, 0), -EINVAL, "dma-buf: an empty range is refused");
	is_int(hm_dmabuf_export(ctx, (char *)seg.va + seg.len, 4096), -EINVAL,
	       "dma-buf: a range past the memory is refused");
	like(hm_errmsg(ctx), "not in hugemem's memory", "...saying so");
	dmabuf_limits(ctx, &seg);
	if (access("/dev/udmabuf", F_OK) != 0) {
		is_int(hm_dmabuf_export(ctx, seg.va, 4096), -ENOENT,
		       "dma-buf: no /dev/udmabuf on this kernel");
		like(hm_errmsg(ctx), "CONFIG_UDMABUF", "...the message says what is missing");
	}
}

/* --in-memory: each memfd is sealed against shrinking once its size is
 * final, as /dev/udmabuf requires of a memfd it turns into a dma-buf; it
 * still grows. */
static void test_memfd_sealed(void)
{
	struct hm_ctx *ctx;
	char line[96];
	int sealed = 0, n = 0;

	hm_ctx_new(&ctx);
	snprintf(line, sizeof(line), "-m 8 --in-memory --file-prefix hmt%d", (int)getpid());
	if (!ok(real_init_line(ctx, line) == 0, "sealed: an --in-memory primary (%s)",
		hm_errmsg(ctx))) {
		hm_ctx_free(ctx);
		return;
	}
	for (size_t i = 0; i < ctx->mem->ps.n_backings; i++) {
		const struct hmi_backing *b = &ctx->mem->ps.backings[i];

		if (b->kind != HMI_BACK_MEMFD || b->fd < 0)
			continue;
		n++;
		sealed += (fcntl(b->fd, F_GET_SEALS) & F_SEAL_SHRINK) != 0;
		ok(ftruncate(b->fd, (off_t)(b->size - ctx->mem->ps.page_size)) < 0 &&
		       errno == EPERM,
		   "sealed: memfd %zu cannot shrink", i);
	}
	ok(n > 0 && sealed == n, "sealed: %d of %d memfds carry F_SEAL_SHRINK", sealed, n);
	test_dmabuf_refusals(ctx);
	hm_fini(ctx);
	hm_ctx_free(ctx);
}

int main(void)
{
	char mnt[4096];
	const char *why = real_require(64, mnt, sizeof(mnt)); /* page files need a mount */
	int pagemap;

	if (why)
		return plan_skip_all(why);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	test_flow(pagemap);
	test_window();
	test_refusals();
	test_progress();
	test_memfd_sealed();
	close(pagemap);
	return done();
}
