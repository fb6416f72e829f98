/* SPDX-License-Identifier: MIT */
/*
 * grow_dma.c — memory that grows while the application runs (--max-mem,
 * docs/growth.md), reached by a real device: the DMA layer's memory-event
 * callback (hugemem:dma) maps each grown unit in the IOMMU domain and
 * unmaps it on trim, and maps external memory (hm_extmem_register).
 *
 *   grow_dma BDF HUGE_DIR MODE      (run by the guest's init, see vfio_guest.h)
 *
 *  iommu    for iommufd and type1, hm_init "-m 4 --max-mem 64M --vfio-device
 *           BDF" (IOVA = VA): the start memory filled, a block the heap cannot
 *           hold grows a unit of two pages, one more mapping in the domain of
 *           the unit's bytes (hm_dma_info); the edu DMAs out of the block
 *           across its two pages and back into it; a callback of the test's
 *           own runs after hugemem:dma on ALLOC (the unit is mapped: the edu
 *           DMAs into it from inside the callback) and before it on FREE (it
 *           still is); hm_free + hm_mem_trim unmaps the unit (hm_dma_info), its
 *           pages go back to the pool, and a DMA at its old IOVA reads none
 *           of its bytes and faults (DMAR); anonymous memory registered with
 *           hm_extmem_register (IOVA = VA) is mapped, the edu DMAs in and out
 *           of it, hm_extmem_unregister unmaps it (a DMA then leaves it alone
 *           and faults); after hm_fini the pool is as it was.
 *  iommu39  the same for iommufd and type1 with --iova-mode alloc (IOVA = VA
 *           does not fit a 39-bit IOMMU): hm_init reserves one IOVA range for
 *           the growth area after the segments' IOVAs (said in a note), the
 *           grown block's IOVA is that range's start plus its offset in the
 *           area, and the edu DMAs into and out of the unit at those IOVAs;
 *           after the trim a DMA at the old allocated IOVA faults; external
 *           memory is registered with IOVAs of its own (its VAs do not fit
 *           either), and IOVAs inside the reserved range are refused; a
 *           --max-mem whose growth cannot fit under a 32-bit DMA mask is
 *           refused naming --max-mem, with the pool as it was.
 *  noiommu  --iommu noiommu: the grown unit is physically contiguous (IOVA
 *           = PA), nothing is mapped, and the edu DMAs across its two pages
 *           at the physical addresses.
 */
#include "hugemem.h"

#include "edu.h"
#include "tap.h"
#include "vfio_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PREFIX	  "grow_dma"
#define PAGE	  (2u << 20)
#define BLOCK	  (3u << 20) /* more than a page: the unit has two */
#define EXT_LEN	  (2u << 20)
#define EXT_IOVA  (1ULL << 32) /* external memory's IOVAs with --iova-mode alloc */
#define ROOM	  (60u << 20)  /* the growth area: --max-mem 64M, less -m 4 */
#define MAX_FILL  64
#define POOL_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static const struct vg_args *args;

/* What the test's own callback saw. */
struct watch {
	struct hm_ctx *ctx;
	struct edu *edu;
	int allocs, frees;
	const void *va; /* the last ALLOC's range */
	size_t len;
	int maps_alloc, maps_free; /* hm_dma_info's n_mappings when called */
	uint64_t bytes_alloc, bytes_free;
	int dma_alloc, dma_free; /* the edu's copy inside the callback: 0, -errno */
};

static long pool_free(void)
{
	char buf[32] = "";
	int fd = open(POOL_FREE, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* The edu reads SEED's pattern at SRC and writes it at DST (both hugemem's or
 * registered memory, at the IOVAs hugemem gives): 0, -errno, -EIO when DST
 * does not hold what SRC did. */
static int edu_copy(struct hm_ctx *ctx, struct edu *e, void *src, void *dst, uint32_t seed)
{
	int rc;

	edu_fill(src, EDU_MAX_LEN, seed);
	memset(dst, 0, EDU_MAX_LEN);
	rc = edu_dma_to_device(e, hm_virt2iova(ctx, src), EDU_MAX_LEN, EDU_TIMEOUT_MS);
	if (rc == 0)
		rc = edu_dma_to_ram(e, hm_virt2iova(ctx, dst), EDU_MAX_LEN, EDU_TIMEOUT_MS);
	if (rc < 0)
		diag("edu: %s", e->err);
	if (rc == 0 && memcmp(src, dst, EDU_MAX_LEN) != 0)
		rc = -EIO;
	return rc;
}

/* Records the event and what the domain held then; the edu copies from the
 * range's start to its last 4 KiB: the range must be mapped for it. */
static int watcher(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct watch *w = arg;
	struct hm_dma_info info;
	char *p = (char *)(uintptr_t)va;
	int rc;

	if (!w->edu)
		return 0;
	memset(&info, 0, sizeof(info));
	hm_dma_info(w->ctx, &info);
	rc = edu_copy(w->ctx, w->edu, p, p + len - 4096, 40 + (uint32_t)w->allocs + w->frees);
	if (ev == HM_MEM_EVENT_ALLOC) {
		w->allocs++;
		w->va = va;
		w->len = len;
		w->maps_alloc = info.n_mappings;
		w->bytes_alloc = info.mapped_bytes;
		w->dma_alloc = rc;
	} else {
		w->frees++;
		w->maps_free = info.n_mappings;
		w->bytes_free = info.mapped_bytes;
		w->dma_free = rc;
	}
	return 0;
}

/* hm_init with the command line "-m 4 --max-mem MAX --vfio-device BDF" and
 * IOMMU, MODE, MASK_BITS (0: none), the guest's hugetlbfs mount and our
 * prefix. */
static int primary_with(struct hm_ctx **ctx, enum hm_iommu iommu, enum hm_iova_mode mode, char *max,
			int mask_bits)
{
	char *argv[] = {"-m", "4", "--max-mem", max, "--vfio-device", (char *)args->bdf};
	char devs[1][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	int rc;

	hm_ctx_new(ctx);
	hm_opts_init(&o);
	o.vfio_devices = devs;
	o.max_vfio_devices = 1;
	rc = hm_opts_parse(*ctx, &o, HM_CMD_INIT, (int)(sizeof(argv) / sizeof(argv[0])), argv);
	o.iommu = iommu;
	o.iova_mode = mode;
	o.dma_mask_bits = mask_bits;
	o.huge_dir = args->huge_dir;
	o.file_prefix = PREFIX;
	if (rc == 0)
		rc = hm_init(*ctx, &o);
	if (rc < 0)
		diag("hm_init: %s", hm_errmsg(*ctx));
	return rc;
}

static int primary(struct hm_ctx **ctx, enum hm_iommu iommu, enum hm_iova_mode mode)
{
	return primary_with(ctx, iommu, mode, "64M", 0);
}

/* --iova-mode alloc: where the plan must have put the growth area's IOVA
 * range, by its rule (the lowest 2 MiB aligned address above the segments'
 * IOVAs; the first usable range of the 39-bit IOMMU holds it). */
static uint64_t expected_grow_iova(struct hm_ctx *ctx)
{
	struct hm_segment seg;
	uint64_t end = 0;

	for (int i = 0; hm_segment_get(ctx, i, &seg) == 0; i++)
		if (seg.iova + seg.len > end)
			end = seg.iova + seg.len;
	return (end + PAGE - 1) / PAGE * PAGE;
}

/* The range hm_init's note says grown memory's IOVAs take: 0 and *FIRST,
 * *LAST, or -1 when no note says it. */
static int noted_grow_range(struct hm_ctx *ctx, unsigned long long *first, unsigned long long *last)
{
	const struct hm_layout_info *in = hm_layout(ctx);

	for (int i = 0; in && i < in->n_notes; i++)
		if (sscanf(in->notes[i], "grown memory's IOVAs: 0x%llx-0x%llx", first, last) == 2)
			return 0;
	return -1;
}

/* Blocks until the largest free one is under a page: the start memory is full. */
static int fill(struct hm_ctx *ctx, void **blocks)
{
	struct hm_heap_stats st;
	int n = 0;

	while (n < MAX_FILL && hm_heap_stats(ctx, -1, &st) == 0 && st.largest_free >= 4096) {
		blocks[n] = hm_malloc(ctx, st.largest_free, 0);
		if (!blocks[n])
			break;
		n++;
	}
	return n;
}

static void dma_info(struct hm_ctx *ctx, struct hm_dma_info *info)
{
	memset(info, 0, sizeof(*info));
	hm_dma_info(ctx, info);
}

/* The block's IOVA under MODE with an IOMMU: its VA, or (allocated) the
 * reserved range's start plus its offset in the growth area, which ends the
 * window. */
static void check_block_iova(const char *be, struct hm_ctx *ctx, const char *blk,
			     enum hm_iova_mode mode)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	uint64_t area = in->va_base + in->va_len - ROOM, iova = hm_virt2iova(ctx, blk);
	unsigned long long first = 0, last = 0;
	int noted;

	if (mode == HM_IOVA_VA) {
		ok(iova == (uint64_t)(uintptr_t)blk, "%s: grow: the block's IOVA is its VA", be);
		return;
	}
	noted = noted_grow_range(ctx, &first, &last); /* before ok(): its arguments name them */
	ok(noted == 0 && first == expected_grow_iova(ctx) && last == first + ROOM - 1,
	   "%s: alloc: hm_init's note gives the growth area's IOVA range right after the "
	   "segments' (0x%llx-0x%llx)",
	   be, first, last);
	ok(iova == first + ((uint64_t)(uintptr_t)blk - area) && iova + BLOCK - 1 <= last &&
	       hm_virt2iova(ctx, blk + BLOCK - 1) == iova + BLOCK - 1,
	   "%s: alloc: the block's IOVA (0x%llx) is the range's start plus its offset in the "
	   "growth area, contiguous across it",
	   be, (unsigned long long)iova);
	ok(hm_iova2virt(ctx, iova + 4096) == blk + 4096,
	   "%s: alloc: hm_iova2virt finds the block at its allocated IOVA", be);
}

/* The unit grown for BLOCK bytes: mapped, reached by the edu, seen by W after
 * the DMA layer. The block, or NULL. */
static char *grow(const char *be, struct hm_ctx *ctx, struct watch *w, enum hm_iova_mode mode)
{
	int iommu = mode != HM_IOVA_PA;
	struct hm_dma_info before, after;
	const char *unit;
	char *blk;

	dma_info(ctx, &before);
	blk = hm_malloc(ctx, BLOCK, 0);
	dma_info(ctx, &after);
	unit = w->va;
	if (!ok(blk && w->allocs == 1 && blk >= unit && blk + BLOCK <= unit + w->len &&
		    w->len == 2 * PAGE,
		"%s: grow: a 3 MiB block the full heap cannot hold grew a unit of 2 pages (%zu "
		"bytes)",
		be, w->len)) {
		diag("hm_malloc: %s", blk ? "" : hm_errmsg(ctx));
		hm_free(ctx, blk);
		return NULL;
	}
	if (iommu) {
		ok(after.n_mappings == before.n_mappings + 1 &&
		       after.mapped_bytes == before.mapped_bytes + w->len,
		   "%s: grow: one more mapping in the domain (%d), of the unit's bytes", be,
		   after.n_mappings);
		check_block_iova(be, ctx, blk, mode);
		ok(w->maps_alloc == after.n_mappings && w->bytes_alloc == after.mapped_bytes,
		   "%s: grow: our ALLOC callback ran after hugemem:dma's (the unit was mapped)",
		   be);
	} else {
		ok(after.n_mappings == 0 && after.mapped_bytes == 0 &&
		       hm_layout(ctx)->iova_mode == HM_IOVA_PA &&
		       hm_virt2iova(ctx, unit + w->len - 1) - hm_virt2iova(ctx, unit) == w->len - 1,
		   "%s: grow: nothing mapped, the unit physically contiguous (IOVA = PA 0x%llx)",
		   be, (unsigned long long)hm_virt2iova(ctx, unit));
	}
	is_int(w->dma_alloc, 0, "%s: edu: DMA into the unit from inside our ALLOC callback", be);
	/* across the unit's two pages, into the block's far end */
	is_int(edu_copy(ctx, w->edu, (char *)unit + PAGE - EDU_MAX_LEN / 2, blk + BLOCK - 4096, 7),
	       0, "%s: edu: DMA out of the grown block across its pages and back into it", be);
	return blk;
}

/* The unit trimmed: unmapped, its pages in the pool, the device cut off.
 * SCRATCH: mapped memory for what the edu reads at the old IOVA. */
static void trim(const char *be, struct hm_ctx *ctx, struct watch *w, char *blk, char *scratch,
		 int iommu)
{
	struct hm_dma_info before, after;
	uint64_t freed = 0, old = hm_virt2iova(ctx, blk + (64u << 10));
	char stale[EDU_MAX_LEN];
	long pool = pool_free();
	int rc, faults;

	dma_info(ctx, &before);
	/* what a stale mapping would read: the pages keep it in the pool */
	edu_fill(stale, EDU_MAX_LEN, 8);
	memcpy(blk + (64u << 10), stale, EDU_MAX_LEN);
	hm_free(ctx, blk);
	rc = hm_mem_trim(ctx, &freed);
	dma_info(ctx, &after);
	ok(rc == 1 && freed == w->len, "%s: trim: hm_free + hm_mem_trim gave the unit back (%d)",
	   be, rc);
	ok(w->frees == 1 && w->maps_free == before.n_mappings &&
	       w->bytes_free == before.mapped_bytes && w->dma_free == 0,
	   "%s: trim: our FREE callback ran before hugemem:dma's unmap (the edu still reached "
	   "the unit)",
	   be);
	is_int((int)(pool_free() - pool), (int)(w->len / PAGE),
	       "%s: trim: its pages are back in the pool (nothing pinned)", be);
	if (!iommu) /* no IOMMU: nothing mapped, nothing would stop the device */
		return;
	ok(after.n_mappings == before.n_mappings - 1 &&
	       after.mapped_bytes == before.mapped_bytes - w->len,
	   "%s: trim: the unit is unmapped from the domain (%d mappings)", be, after.n_mappings);
	vg_dmar_room();
	faults = vg_dmar_faults();
	memset(scratch, 0, EDU_MAX_LEN);
	edu_dma_to_device(w->edu, old, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	edu_dma_to_ram(w->edu, hm_virt2iova(ctx, scratch), EDU_MAX_LEN, EDU_TIMEOUT_MS);
	ok(memcmp(scratch, stale, EDU_MAX_LEN) != 0,
	   "%s: trim: a DMA at the old IOVA reads none of the unit's bytes", be);
	ok(vg_dmar_faults() > faults, "%s: trim: ...and the IOMMU faults it (DMAR)", be);
}

/* --iova-mode alloc: IOVAs in the growth area's reserved range are refused
 * for external memory BUF, before any callback of ours sees it. */
static void extmem_reserved(const char *be, struct hm_ctx *ctx, struct watch *w, char *buf,
			    uint64_t *iovas)
{
	unsigned long long first = 0, last = 0;
	int allocs = w->allocs, frees = w->frees, rc;

	noted_grow_range(ctx, &first, &last);
	for (unsigned k = 0; k < EXT_LEN / 4096; k++)
		iovas[k] = first + ROOM / 2 + k * 4096ULL;
	rc = hm_extmem_register(ctx, buf, EXT_LEN, iovas, EXT_LEN / 4096, 4096);
	ok(rc == -EEXIST && w->allocs == allocs && w->frees == frees,
	   "%s: extmem: IOVAs inside the range reserved for growth are refused (%d)", be, rc);
	like(hm_errmsg(ctx), "reserved for the memory --max-mem grows",
	     "%s: extmem: ...the message says the range is --max-mem's", be);
}

/* Anonymous memory registered with IOVA = VA (with --iova-mode alloc: at
 * EXT_IOVA, as its VA does not fit): mapped by hugemem:dma, reached by the
 * edu, unmapped on unregister. */
static void extmem(const char *be, struct hm_ctx *ctx, struct watch *w, enum hm_iova_mode mode)
{
	struct hm_dma_info before, in, after;
	char *raw =
	    mmap(NULL, 2 * EXT_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *buf = (char *)(((uintptr_t)raw + EXT_LEN - 1) & ~(uintptr_t)(EXT_LEN - 1));
	static uint64_t iovas[EXT_LEN / 4096];
	uint64_t at = mode == HM_IOVA_ALLOC ? EXT_IOVA : (uint64_t)(uintptr_t)buf;
	int allocs, frees, rc, faults;

	if (!ok(raw != MAP_FAILED, "%s: extmem: 2 MiB of anonymous memory", be))
		return;
	memset(buf, 0, EXT_LEN);
	if (mode == HM_IOVA_ALLOC)
		extmem_reserved(be, ctx, w, buf, iovas);
	for (unsigned k = 0; k < EXT_LEN / 4096; k++)
		iovas[k] = at + k * 4096ULL;
	allocs = w->allocs;
	frees = w->frees;
	dma_info(ctx, &before);
	rc = hm_extmem_register(ctx, buf, EXT_LEN, mode == HM_IOVA_ALLOC ? iovas : NULL,
				EXT_LEN / 4096, 4096);
	dma_info(ctx, &in);
	if (!ok(rc == 0 && w->allocs == allocs + 1 && w->va == buf && w->len == EXT_LEN,
		"%s: extmem: registered (IOVA 0x%llx); our ALLOC callback saw it", be,
		(unsigned long long)at))
		diag("hm_extmem_register: %d %s", rc, hm_errmsg(ctx));
	ok(in.n_mappings == before.n_mappings + 1 &&
	       in.mapped_bytes == before.mapped_bytes + EXT_LEN,
	   "%s: extmem: one more mapping in the domain, of its bytes", be);
	ok(hm_virt2iova(ctx, buf + 12345) == at + 12345,
	   "%s: extmem: its IOVA is the one registered", be);
	is_int(w->dma_alloc, 0, "%s: edu: DMA into it from inside our ALLOC callback", be);
	is_int(edu_copy(ctx, w->edu, buf + 4096, buf + EXT_LEN / 2, 9), 0,
	       "%s: edu: DMA out of and into external memory", be);
	rc = hm_extmem_unregister(ctx, buf, EXT_LEN);
	dma_info(ctx, &after);
	ok(rc == 0 && w->frees == frees + 1 && w->dma_free == 0 &&
	       after.n_mappings == before.n_mappings && after.mapped_bytes == before.mapped_bytes,
	   "%s: extmem: unregistered: FREE ran while it was mapped, then it was unmapped", be);
	memset(buf, 0x5a, EDU_MAX_LEN);
	vg_dmar_room();
	faults = vg_dmar_faults();
	edu_dma_to_ram(w->edu, at, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	ok(buf[0] == 0x5a && buf[EDU_MAX_LEN - 1] == 0x5a,
	   "%s: edu: after unregister a DMA to its IOVA leaves the memory alone", be);
	ok(vg_dmar_faults() > faults, "%s: edu: ...and the IOMMU faults it (DMAR)", be);
	munmap(raw, 2 * EXT_LEN);
}

/* One backend: grow, DMA, trim, external memory, and the pool after hm_fini;
 * MODE: HM_IOVA_VA or HM_IOVA_ALLOC behind the IOMMU, HM_IOVA_PA without. */
static void backend_case(enum hm_iommu backend, const char *be, enum hm_iova_mode mode)
{
	int iommu = mode != HM_IOVA_PA;
	struct watch w;
	struct edu e;
	struct hm_ctx *ctx;
	void *blocks[MAX_FILL];
	long pool = pool_free();
	char *blk;
	int n, dev;

	memset(&w, 0, sizeof(w));
	if (!ok(primary(&ctx, backend, mode) == 0,
		"%s: primary of 4 MiB growing to 64 MiB with the edu", be)) {
		hm_ctx_free(ctx);
		return;
	}
	dev = hm_dma_device_fd(ctx, args->bdf);
	if (!ok(dev >= 0 && edu_open(&e, dev) == 0, "%s: edu: the device", be)) {
		hm_fini(ctx);
		hm_ctx_free(ctx);
		return;
	}
	w.ctx = ctx;
	w.edu = &e;
	is_int(hm_mem_event_register(ctx, "grow_dma", watcher, &w), 0,
	       "%s: our memory-event callback", be);
	n = fill(ctx, blocks);
	ok(n > 0 && w.allocs == 0, "%s: the start memory filled (%d blocks), nothing grown", be, n);
	blk = grow(be, ctx, &w, mode);
	if (blk && n > 0)
		trim(be, ctx, &w, blk, blocks[0], iommu);
	if (iommu)
		extmem(be, ctx, &w, mode);
	for (int i = 0; i < n; i++)
		hm_free(ctx, blocks[i]);
	hm_mem_event_unregister(ctx, "grow_dma");
	w.edu = NULL;
	edu_close(&e);
	is_int(hm_fini(ctx), 0, "%s: hm_fini: every unmap removed what was mapped", be);
	hm_ctx_free(ctx);
	is_int((int)pool_free(), (int)pool, "%s: after hm_fini the pool is as before (%ld free)",
	       be, pool);
}

/* A 39-bit IOMMU and a 32-bit DMA mask: 4 GiB of growth cannot have IOVAs
 * after the segments': refused naming --max-mem before anything is pinned. */
static void alloc_no_room(void)
{
	long pool = pool_free();
	struct hm_ctx *ctx;

	is_int(primary_with(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_ALLOC, "4G", 32), -ENOSPC,
	       "iommufd: alloc: --max-mem 4G under a 32-bit DMA mask is refused");
	like(hm_errmsg(ctx), "--max-mem: the growth area's", "iommufd: alloc: ...naming --max-mem");
	like(hm_errmsg(ctx), "give a smaller --max-mem", "iommufd: alloc: ...and the fix");
	ok(hm_layout(ctx) == NULL, "iommufd: alloc: ...nothing held");
	hm_ctx_free(ctx);
	is_int((int)pool_free(), (int)pool, "iommufd: alloc: ...and the pool as it was");
}

int main(int argc, char **argv)
{
	struct vg_args a;

	if (vg_args_parse(argc, argv, &a) < 0)
		return 2;
	args = &a;
	if (strcmp(a.mode, "iommu") == 0) {
		backend_case(HM_IOMMU_IOMMUFD, "iommufd", HM_IOVA_VA);
		backend_case(HM_IOMMU_TYPE1, "type1", HM_IOVA_VA);
	} else if (strcmp(a.mode, "iommu39") == 0) {
		backend_case(HM_IOMMU_IOMMUFD, "iommufd", HM_IOVA_ALLOC);
		backend_case(HM_IOMMU_TYPE1, "type1", HM_IOVA_ALLOC);
		alloc_no_room();
	} else {
		backend_case(HM_IOMMU_NOIOMMU, "noiommu", HM_IOVA_PA);
	}
	return done();
}
