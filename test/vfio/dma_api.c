/* SPDX-License-Identifier: MIT */
/*
 * dma_api.c — hugemem's own DMA layer with a real device: hm_init given the
 * edu (hm_opts.vfio_devices) opens the IOMMU domain and maps the memory; the
 * edu, driven through the descriptor hm_dma_device_fd gives, DMAs out of a
 * zone and back into it at the IOVA hugemem reports.
 *
 *   dma_api BDF HUGE_DIR MODE      (run by the guest's init, see vfio_guest.h)
 *
 *  iommu    for iommufd and type1, IOVA = VA and allocated IOVAs: the domain
 *           (hm_dma_info: backend, one mapping per segment, bytes), the DMA
 *           both ways, from the primary and from a secondary (a forked child
 *           that hm_attaches and drives the device through the descriptor it
 *           adopted); after hm_fini a DMA to the old IOVA is refused by the
 *           IOMMU (the guest logs a DMAR fault; the bytes at that address in
 *           this process stay as they were); a 1 GiB page; the dma-buf of an
 *           --in-memory primary reads what the edu wrote; auto picks iommufd.
 *  iommu39  IOVA = VA is refused before anything is pinned, naming the ranges
 *           and --iova-mode alloc; allocated IOVAs work.
 *  noiommu  --iommu noiommu: IOVA = PA, the DMA at the zone's IOVA; auto
 *           refuses (it never picks no-IOMMU).
 */
#include "hugemem.h"

#include "edu.h"
#include "tap.h"
#include "vfio_guest.h"

#include <errno.h>
#include <pthread.h>
#include <linux/dma-buf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PREFIX "dma_api"
#define MEM    (8ULL << 20)
#define ZLEN   (8u << 10)
#define HALF   (4u << 10)

static const struct vg_args *args;
static uint64_t max_mem;       /* --max-mem of the next primary (0: none) */
static const char *keeper_dir; /* --keeper of the next primary (NULL: off) */

/* A primary of MEM bytes (PAGE_SIZE pages from DIR) for the edu. */
static int primary(struct hm_ctx **ctx, enum hm_iommu iommu, enum hm_iova_mode mode,
		   uint64_t page_size, const char *dir, unsigned flags)
{
	char devs[1][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	int rc;

	snprintf(devs[0], sizeof(devs[0]), "%s", args->bdf);
	hm_ctx_new(ctx);
	hm_opts_init(&o);
	o.mem = page_size > MEM ? page_size : MEM;
	o.page_size = page_size;
	o.huge_dir = flags & HM_OPT_IN_MEMORY ? NULL : dir;
	o.file_prefix = PREFIX;
	o.flags = flags;
	o.iommu = iommu;
	o.iova_mode = mode;
	o.vfio_devices = devs;
	o.n_vfio_devices = 1;
	o.max_mem = max_mem;
	o.keeper = keeper_dir ? keeper_dir : "off";
	rc = hm_init(*ctx, &o);
	if (rc < 0)
		diag("hm_init: %s", hm_errmsg(*ctx));
	return rc;
}

/* The edu copies the zone's first half out and back into its second half. */
static int round_trip(struct hm_ctx *ctx, const struct hm_memzone *z, uint32_t seed)
{
	struct edu e;
	int dev = hm_dma_device_fd(ctx, args->bdf), rc;

	if (dev < 0)
		return dev;
	edu_fill(z->va, EDU_MAX_LEN, seed);
	memset((char *)z->va + HALF, 0, EDU_MAX_LEN);
	rc = edu_open(&e, dev);
	if (rc == 0)
		rc = edu_dma_to_device(&e, z->iova, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	if (rc == 0)
		rc = edu_dma_to_ram(&e, z->iova + HALF, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	if (rc < 0)
		diag("edu: %s", e.err);
	edu_close(&e);
	if (rc == 0 && memcmp(z->va, (char *)z->va + HALF, EDU_MAX_LEN) != 0)
		rc = -EIO;
	return rc;
}

/* A forked child attaches, finds the zone and has the edu write SEED's
 * pattern into its second half through the descriptor it adopted. */
static int secondary_writes(const struct hm_memzone *z, uint32_t seed)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		struct hm_opts o;
		struct hm_ctx *c;
		struct hm_memzone mz;
		struct edu e;
		void *blk;
		int dev, rc;

		hm_ctx_new(&c);
		hm_opts_init(&o);
		o.file_prefix = PREFIX;
		if (hm_attach(c, &o) < 0 || hm_memzone_lookup(c, "edu", &mz) < 0 ||
		    (dev = hm_dma_device_fd(c, args->bdf)) < 0)
			_exit(10);
		edu_fill(mz.va, EDU_MAX_LEN, seed);
		rc = edu_open(&e, dev);
		if (rc == 0)
			rc = edu_dma_to_device(&e, mz.iova, EDU_MAX_LEN, EDU_TIMEOUT_MS);
		if (rc == 0)
			rc = edu_dma_to_ram(&e, mz.iova + HALF, EDU_MAX_LEN, EDU_TIMEOUT_MS);
		/* a heap block this secondary allocates is reachable too */
		blk = hm_zmalloc(c, 4096, 4096);
		if (rc == 0 && blk)
			rc = edu_dma_to_ram(&e, hm_virt2iova(c, blk), EDU_MAX_LEN, EDU_TIMEOUT_MS);
		if (rc == 0 && (!blk || memcmp(blk, mz.va, EDU_MAX_LEN) != 0))
			rc = -EIO;
		edu_close(&e);
		hm_free(c, blk);
		hm_fini(c);
		_exit(rc == 0 ? 0 : rc == -EIO ? 12 : 11);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -ECHILD;
	(void)z;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

static int zone(struct hm_ctx *ctx, struct hm_memzone *z)
{
	return hm_memzone_reserve(ctx, "edu", ZLEN, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 4096, z);
}

/* After hm_fini the device cannot reach the old IOVA: anonymous memory put at
 * the old address keeps its bytes, and the IOMMU logs a fault. */
static void after_fini(const char *be, uint64_t iova, void *va, int dev)
{
	void *p = mmap(va, ZLEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	struct edu e;
	int before;

	if (!ok(p == va, "%s: edu: after hm_fini: memory at the old address", be))
		return;
	memset(p, 0x5a, ZLEN);
	vg_dmar_room();
	before = vg_dmar_faults();
	if (ok(edu_open(&e, dev) == 0, "%s: edu: the device still answers after hm_fini", be)) {
		edu_dma_to_ram(&e, iova, EDU_MAX_LEN, EDU_TIMEOUT_MS);
		edu_close(&e);
	}
	ok(((unsigned char *)p)[0] == 0x5a && ((unsigned char *)p)[EDU_MAX_LEN - 1] == 0x5a,
	   "%s: edu: a DMA to the unmapped IOVA leaves memory alone", be);
	ok(vg_dmar_faults() > before, "%s: edu: ...and the IOMMU faults it (DMAR)", be);
	munmap(p, ZLEN);
}

static void backend_case(enum hm_iommu iommu, const char *be, enum hm_iova_mode mode)
{
	const char *how = mode == HM_IOVA_ALLOC ? "allocated IOVAs" : "IOVA = VA";
	struct hm_dma_info info;
	struct hm_memzone z;
	struct hm_ctx *ctx;
	int dev = -1;

	if (!ok(primary(&ctx, iommu, mode, 0, args->huge_dir, 0) == 0,
		"%s: primary with the edu, %s", be, how)) {
		hm_ctx_free(ctx);
		return;
	}
	memset(&info, 0, sizeof(info));
	hm_dma_info(ctx, &info);
	ok(info.backend && strcmp(info.backend, be) == 0 &&
	       info.n_mappings == hm_layout(ctx)->n_segments &&
	       info.mapped_bytes == hm_layout(ctx)->total_bytes,
	   "%s: one mapping per segment (%d), every byte mapped", be, info.n_mappings);
	ok(zone(ctx, &z) == 0, "%s: a zone", be);
	if (mode == HM_IOVA_ALLOC)
		ok(z.iova != (uint64_t)(uintptr_t)z.va && z.iova < (1ULL << 39),
		   "%s: the zone's IOVA 0x%llx is allocated, not its VA", be,
		   (unsigned long long)z.iova);
	else
		ok(z.iova == (uint64_t)(uintptr_t)z.va, "%s: the zone's IOVA is its VA", be);
	is_int(round_trip(ctx, &z, 1), 0, "%s: edu: primary: DMA out of and into the zone (%s)", be,
	       how);
	if (mode == HM_IOVA_VA) {
		is_int(secondary_writes(&z, 2), 0,
		       "%s: edu: secondary: DMA through the adopted "
		       "descriptor",
		       be);
		ok(memcmp(z.va, (char *)z.va + HALF, EDU_MAX_LEN) == 0,
		   "%s: edu: secondary: the primary sees what the secondary's DMA wrote", be);
		dev = dup(hm_dma_device_fd(ctx, args->bdf));
	}
	is_int(hm_fini(ctx), 0, "%s: hm_fini: every unmap removed what was mapped", be);
	hm_ctx_free(ctx);
	if (dev >= 0) {
		after_fini(be, z.iova, z.va, dev);
		close(dev);
	}
}

/* The domain lives until the last process holding it exits: a secondary
 * whose primary ran hm_fini first still has the edu DMA into the zone. */
static void primary_leaves_first(void)
{
	int ready[2], go[2], status = -1;
	struct hm_memzone z;
	struct hm_ctx *ctx;
	char c = 0;
	pid_t pid;

	if (!ok(primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 0, args->huge_dir, 0) == 0 &&
		    zone(ctx, &z) == 0 && pipe(ready) == 0 && pipe(go) == 0,
		"iommufd: a primary, a zone, for a secondary that outlives it")) {
		hm_ctx_free(ctx);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct hm_opts o;
		struct hm_ctx *sec;
		struct hm_memzone mz;
		struct edu e;
		int dev, rc;

		hm_ctx_new(&sec);
		hm_opts_init(&o);
		o.file_prefix = PREFIX;
		rc = hm_attach(sec, &o) == 0 && hm_memzone_lookup(sec, "edu", &mz) == 0 &&
			     (dev = hm_dma_device_fd(sec, args->bdf)) >= 0
			 ? 0
			 : 30;
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1 || rc)
			_exit(rc ? rc : 31);
		edu_fill(mz.va, EDU_MAX_LEN, 9);
		memset((char *)mz.va + HALF, 0, EDU_MAX_LEN);
		rc = edu_open(&e, dev);
		if (rc == 0)
			rc = edu_dma_to_device(&e, mz.iova, EDU_MAX_LEN, EDU_TIMEOUT_MS);
		if (rc == 0)
			rc = edu_dma_to_ram(&e, mz.iova + HALF, EDU_MAX_LEN, EDU_TIMEOUT_MS);
		edu_close(&e);
		rc = rc ? 32 : memcmp(mz.va, (char *)mz.va + HALF, EDU_MAX_LEN) ? 33 : 0;
		hm_fini(sec);
		_exit(rc);
	}
	if (pid > 0 && read(ready[0], &c, 1) == 1) {
		is_int(hm_fini(ctx), 0, "iommufd: the primary's hm_fini while its secondary lives");
		if (write(go[1], "g", 1) != 1)
			kill(pid, SIGKILL);
	}
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "iommufd: edu: secondary: the domain outlives the primary: DMA still lands");
	hm_ctx_free(ctx);
}

static void huge_1g(void)
{
	struct hm_memzone z;
	struct hm_ctx *ctx;

	if (!ok(primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 1ULL << 30, VG_HUGE_DIR_1G, 0) == 0,
		"iommufd: primary of one 1 GiB page with the edu")) {
		hm_ctx_free(ctx);
		return;
	}
	ok(zone(ctx, &z) == 0, "iommufd: a zone in the 1 GiB page");
	is_int(round_trip(ctx, &z, 3), 0, "iommufd: edu: primary: DMA in a 1 GiB page");
	hm_fini(ctx);
	hm_ctx_free(ctx);
}

static void dmabuf(void)
{
	struct dma_buf_sync sync = {DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
	struct hm_memzone z;
	struct hm_ctx *ctx;
	unsigned char *view = MAP_FAILED;
	int fd = -1;

	if (!ok(primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 0, NULL, HM_OPT_IN_MEMORY) == 0,
		"iommufd: dma-buf: an --in-memory primary with the edu")) {
		hm_ctx_free(ctx);
		return;
	}
	if (zone(ctx, &z) == 0)
		fd = hm_dmabuf_export(ctx, z.va, ZLEN);
	ok(fd >= 0, "iommufd: dma-buf: exported over the zone (%s)", fd < 0 ? hm_errmsg(ctx) : "");
	is_int(round_trip(ctx, &z, 4), 0, "iommufd: edu: dma-buf: the edu writes into the zone");
	if (fd >= 0)
		view = mmap(NULL, ZLEN, PROT_READ, MAP_SHARED, fd, 0);
	if (view != MAP_FAILED)
		ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	ok(view != MAP_FAILED && memcmp(view + HALF, z.va, EDU_MAX_LEN) == 0,
	   "iommufd: edu: dma-buf: its own mapping reads what the edu wrote");
	if (view != MAP_FAILED)
		munmap(view, ZLEN);
	if (fd >= 0)
		close(fd);
	hm_fini(ctx);
	hm_ctx_free(ctx);
}

/* Grown memory exported as a dma-buf: the edu writes into it, the dma-buf
 * reads it, and no trim takes the unit while a dma-buf may pin it. */
static void dmabuf_grown(void)
{
	struct hm_memzone z;
	struct hm_ctx *ctx;
	uint64_t freed = 1;
	int fd = -1, rc;

	max_mem = 64ULL << 20;
	rc = primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 0, NULL, HM_OPT_IN_MEMORY);
	max_mem = 0;
	if (!ok(rc == 0, "iommufd: dma-buf: an --in-memory primary that grows")) {
		hm_ctx_free(ctx);
		return;
	}
	rc = hm_memzone_reserve(ctx, "grown", MEM + (2u << 20), HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG,
				4096, &z);
	ok(rc == 0 && (uint64_t)(uintptr_t)z.va >= hm_layout(ctx)->va_base + MEM,
	   "iommufd: dma-buf: a zone larger than the start memory grows it (%s)",
	   rc ? hm_errmsg(ctx) : "");
	if (rc == 0)
		fd = hm_dmabuf_export(ctx, z.va, ZLEN);
	ok(fd >= 0, "iommufd: dma-buf: grown memory exported (%s)", fd < 0 ? hm_errmsg(ctx) : "");
	is_int(rc == 0 ? round_trip(ctx, &z, 5) : -1, 0,
	       "iommufd: edu: dma-buf: the edu writes into grown memory");
	hm_memzone_free(ctx, "grown");
	is_int(hm_mem_trim(ctx, &freed), 0, "iommufd: dma-buf: a trim leaves the exported unit");
	ok(freed == 0 && rc == 0 && hm_virt2iova(ctx, z.va) != HM_BAD_IOVA,
	   "iommufd: dma-buf: its memory still translates");
	if (fd >= 0)
		close(fd);
	hm_fini(ctx);
	hm_ctx_free(ctx);
}

static void *keeper_serves(void *k)
{
	hm_keeper_run(k);
	return NULL;
}

/* A primary served by a pool keeper (its memfds, faulted ahead) maps them for
 * the device like any memory: the edu copies through the IOMMU. */
static void keeper_memory(void)
{
	struct hm_keeper_opts ko;
	struct hm_keeper *k = NULL;
	struct hm_ctx *kctx = NULL, *ctx = NULL;
	struct hm_memzone z;
	pthread_t t;
	int rc;

	hm_ctx_new(&kctx);
	hm_keeper_opts_init(&ko);
	ko.keep_bytes = 2 * MEM;
	ko.chunk_bytes = MEM;
	ko.runtime_dir = "/run/dma-api-keeper";
	rc = hm_keeper_start(kctx, &ko, &k);
	if (!ok(rc == 0 && pthread_create(&t, NULL, keeper_serves, k) == 0,
		"iommufd: keeper: a keeper holds %llu MiB (%s)",
		(unsigned long long)(2 * MEM >> 20), rc ? hm_errmsg(kctx) : "")) {
		hm_keeper_free(k);
		hm_ctx_free(kctx);
		return;
	}
	keeper_dir = ko.runtime_dir;
	rc = primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 0, NULL, 0);
	keeper_dir = NULL;
	ok(rc == 0 && hm_layout(ctx)->keeper && strstr(hm_layout(ctx)->keeper, "served"),
	   "iommufd: keeper: hm_init is served by it (%s)",
	   rc == 0 && hm_layout(ctx)->keeper ? hm_layout(ctx)->keeper : hm_errmsg(ctx));
	is_int(rc == 0 && zone(ctx, &z) == 0 ? round_trip(ctx, &z, 6) : -1, 0,
	       "iommufd: edu: the device reaches the keeper's memory");
	hm_fini(ctx);
	hm_ctx_free(ctx);
	hm_keeper_stop(k);
	pthread_join(t, NULL);
	hm_keeper_free(k);
	hm_ctx_free(kctx);
}

static void auto_picks(const char *want)
{
	struct hm_dma_info info;
	struct hm_ctx *ctx;
	int rc = primary(&ctx, HM_IOMMU_DEFAULT, HM_IOVA_DEFAULT, 0, args->huge_dir, 0);

	if (want)
		ok(rc == 0 && hm_dma_info(ctx, &info) == 0 && strcmp(info.backend, want) == 0,
		   "%s: auto (devices given, no --iommu) picks %s", want, want);
	else
		ok(rc < 0 && strstr(hm_errmsg(ctx), "no IOMMU backend") &&
		       strstr(hm_errmsg(ctx), "--iommu noiommu, unsafe"),
		   "noiommu: auto never picks no-IOMMU, and says how to ask for it");
	if (rc == 0)
		hm_fini(ctx);
	hm_ctx_free(ctx);
}

static void iommu39(void)
{
	struct hm_ctx *ctx;
	int rc = primary(&ctx, HM_IOMMU_IOMMUFD, HM_IOVA_VA, 0, args->huge_dir, 0);

	is_int(rc, -ERANGE, "iommufd: IOVA = VA beyond a 39-bit IOMMU is refused");
	ok(strstr(hm_errmsg(ctx), "0x7fffffffff") && strstr(hm_errmsg(ctx), "--iova-mode alloc"),
	   "iommufd: ...naming the ranges and the fix");
	hm_ctx_free(ctx);
	backend_case(HM_IOMMU_IOMMUFD, "iommufd", HM_IOVA_ALLOC);
	backend_case(HM_IOMMU_TYPE1, "type1", HM_IOVA_ALLOC);
}

static void noiommu(void)
{
	struct hm_memzone z;
	struct hm_ctx *ctx;

	auto_picks(NULL);
	if (!ok(primary(&ctx, HM_IOMMU_NOIOMMU, HM_IOVA_DEFAULT, 0, args->huge_dir, 0) == 0,
		"noiommu: primary with the edu")) {
		hm_ctx_free(ctx);
		return;
	}
	ok(hm_layout(ctx)->iova_mode == HM_IOVA_PA, "noiommu: IOVA = PA");
	ok(zone(ctx, &z) == 0, "noiommu: a zone");
	is_int(round_trip(ctx, &z, 5), 0, "noiommu: edu: primary: DMA at physical addresses");
	hm_fini(ctx);
	hm_ctx_free(ctx);
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
		backend_case(HM_IOMMU_IOMMUFD, "iommufd", HM_IOVA_ALLOC);
		backend_case(HM_IOMMU_TYPE1, "type1", HM_IOVA_ALLOC);
		auto_picks("iommufd");
		primary_leaves_first();
		huge_1g();
		dmabuf();
		dmabuf_grown();
		keeper_memory();
	} else if (strcmp(a.mode, "iommu39") == 0) {
		iommu39();
	} else {
		noiommu();
	}
	return done();
}
