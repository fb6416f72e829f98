/* SPDX-License-Identifier: MIT */
/*
 * dma_test.c — the device side without a device (runs anywhere, also under
 * ASan/UBSan): IOVA plans (IOVA = VA that fits and that does not, the
 * devices' DMA mask, allocated IOVAs around the MSI hole and at superpage
 * alignment, no room; the growth area's range after the segments, and its
 * refusal naming --max-mem), the mapping ledger (overlap refused, removal,
 * bytes, the growth area's reserved range), opening a domain on a root without /dev/iommu or VFIO
 * (the message names the fix, and `auto` names both backends' causes; nothing is left open), the
 * option words (--iommu, --vfio-device, --dma-mask-bits,
 * --iova-mode alloc) and hm_init's refusals of device options that cannot
 * work together, before anything is mapped. Real devices: test/vfio/.
 */
#include "base/ctx.h"
#include "dma/dma.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MB (1ULL << 20)

/* Linux's ranges behind a 48-bit VT-d: all but the x86 MSI window. */
static const struct hmi_iova_range vtd48[] = {{0, 0xfedfffffULL},
					      {0xfef00000ULL, 0xffffffffffffULL}};
static const struct hmi_iova_range vtd39[] = {{0, 0xfedfffffULL}, {0xfef00000ULL, 0x7fffffffffULL}};

static struct hmi_seg seg(uint64_t va, uint64_t len, uint64_t page_size)
{
	return (struct hmi_seg){.va = va, .iova = 0, .len = len, .page_size = page_size};
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void test_fixed(struct hm_ctx *ctx)
{
	struct hmi_seg s[2] = {seg(0x200000000000ULL, 64 * MB, 2 * MB),
			       seg(0x200040000000ULL, 8 * MB, 2 * MB)};
	uint64_t iova[2] = {s[0].va, s[1].va};

	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 0, "VA", iova, 0, NULL), 0,
	       "VA: a window under 2^47 fits a 48-bit IOMMU");
	ok(iova[0] == s[0].va && iova[1] == s[1].va, "VA: the IOVAs are the VAs");
	is_int(hmi_iova_plan(ctx, s, 2, vtd39, 2, 4096, 0, "VA", iova, 0, NULL), -ERANGE,
	       "VA: the same window on a 39-bit IOMMU is refused");
	like(hm_errmsg(ctx), "segment 0", "...the message names the segment");
	like(hm_errmsg(ctx), "[0xfef00000-0x7fffffffff]", "...and the usable ranges");
	like(hm_errmsg(ctx), "--iova-mode alloc", "...and the fix");
	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 32, "VA", iova, 0, NULL), -ERANGE,
	       "VA: above a 32-bit DMA mask is refused");
	like(hm_errmsg(ctx), "32-bit DMA mask", "...the message names the mask");
	iova[0] = 0x1000;
	is_int(hmi_iova_plan(ctx, s, 1, vtd48, 2, 1ULL << 21, 0, "PA", iova, 0, NULL), -ERANGE,
	       "PA: an IOVA off the domain's alignment is refused");
	like(hm_errmsg(ctx), "IOVA = PA", "...naming the mode");
	iova[0] = 0xfee00000ULL;
	is_int(hmi_iova_plan(ctx, s, 1, vtd48, 2, 4096, 0, "PA", iova, 0, NULL), -ERANGE,
	       "PA: a segment over the MSI window is refused");
	is_int(hmi_iova_plan(ctx, s, 1, vtd48, 2, 3000, 0, "VA", iova, 0, NULL), -EINVAL,
	       "an alignment that is not a power of two is refused");
}

static void test_alloc(struct hm_ctx *ctx)
{
	struct hmi_seg s[3] = {seg(0x200000000000ULL, 4 * MB, 2 * MB),
			       seg(0x200040000000ULL, 6 * MB, 2 * MB),
			       seg(0x200080000000ULL, 1ULL << 30, 1ULL << 30)};
	const struct hmi_iova_range small[] = {{0x1000, 0x3fffff}, {0x1000000, 0xfedfffffULL}};
	uint64_t iova[3];

	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 0, NULL, iova, 0, NULL), 0,
	       "alloc: two segments");
	is_u64(iova[0], 2 * MB, "alloc: the first at its page size, never at 0");
	is_u64(iova[1], 6 * MB, "alloc: the next right above it, page aligned");
	is_int(hmi_iova_plan(ctx, s, 3, vtd48, 2, 4096, 0, NULL, iova, 0, NULL), 0,
	       "alloc: with a 1 GiB segment");
	is_u64(iova[2], 1ULL << 30, "alloc: a 1 GiB segment at 1 GiB alignment");
	is_int(hmi_iova_plan(ctx, s, 1, small, 2, 4096, 0, NULL, iova, 0, NULL), 0,
	       "alloc: a range too small is skipped");
	is_u64(iova[0], 0x1000000, "alloc: ...the segment goes to the next range");
	is_int(hmi_iova_plan(ctx, s, 3, vtd48, 2, 4096, 30, NULL, iova, 0, NULL), -ENOSPC,
	       "alloc: under a 30-bit mask the 1 GiB segment has no room");
	like(hm_errmsg(ctx), "no room for segment 2", "...the message names the segment");
	like(hm_errmsg(ctx), "0x3fffffff", "...and the mask");
}

/* --max-mem with allocated IOVAs: the growth area's one range after the
 * segments, by the same rule; refused before anything is pinned when it
 * does not fit. */
static void test_alloc_growth(struct hm_ctx *ctx)
{
	struct hmi_seg s[2] = {seg(0x200000000000ULL, 4 * MB, 2 * MB),
			       seg(0x200040000000ULL, 6 * MB, 2 * MB)};
	struct hmi_seg big[2] = {seg(0x200000000000ULL, 1ULL << 30, 1ULL << 30),
				 seg(0x200040000000ULL, 6 * MB, 2 * MB)};
	struct hmi_seg msi = seg(0x200000000000ULL, 0xfe000000ULL, 2 * MB);
	const struct hmi_iova_range hole[] = {{0x1000, 0x1fffffff}, {0x40000000, 0xffffffffULL}};
	uint64_t iova[2], grow = 0;

	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 0, NULL, iova, 64 * MB, &grow), 0,
	       "alloc + growth: two segments and a 64 MiB growth area");
	is_u64(iova[1], 6 * MB, "alloc + growth: the segments where they were without growth");
	is_u64(grow, 12 * MB, "alloc + growth: the area right after the last segment");
	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 8 * MB, 0, NULL, iova, 64 * MB, &grow), 0,
	       "alloc + growth: a domain that takes 8 MiB alignment");
	ok(grow == 24 * MB && grow % (8 * MB) == 0 && grow >= iova[1] + s[1].len,
	   "alloc + growth: the area above the segments at the domain's alignment (0x%llx)",
	   (unsigned long long)grow);
	is_int(hmi_iova_plan(ctx, big, 2, vtd48, 2, 4096, 0, NULL, iova, 64 * MB, &grow), 0,
	       "alloc + growth: after a 1 GiB segment");
	ok(grow == 3ULL << 30 && iova[1] == 2ULL << 30 && grow % (1ULL << 30) == 0,
	   "alloc + growth: aligned to the largest page size of the segments (0x%llx)",
	   (unsigned long long)grow);
	is_int(hmi_iova_plan(ctx, &msi, 1, vtd48, 2, 4096, 0, NULL, iova, 64 * MB, &grow), 0,
	       "alloc + growth: segments that end below the MSI window");
	ok(iova[0] + msi.len <= 0xfee00000ULL && grow == 0xff000000ULL,
	   "alloc + growth: the area skips the MSI window (0x%llx)", (unsigned long long)grow);
	is_int(hmi_iova_plan(ctx, s, 2, hole, 2, 4096, 0, NULL, iova, 1ULL << 30, &grow), 0,
	       "alloc + growth: 1 GiB that fits only in the second range");
	is_u64(grow, 0x40000000ULL, "alloc + growth: ...placed at its start");
	grow = 0;
	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 30, NULL, iova, 2ULL << 30, &grow), -ENOSPC,
	       "alloc + growth: 2 GiB of growth under a 30-bit mask is refused");
	ok(grow == 0, "alloc + growth: ...no range given");
	like(hm_errmsg(ctx), "--max-mem: the growth area's 2 GiB", "...naming --max-mem");
	like(hm_errmsg(ctx), "[0xfef00000-0xffffffffffff]", "...the ranges");
	like(hm_errmsg(ctx), "0x3fffffff", "...the mask");
	like(hm_errmsg(ctx), "1012 MiB of growth fits", "...what would fit");
	like(hm_errmsg(ctx), "smaller --max-mem (at most 1022 MiB", "...and the fix");
	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 30, NULL, iova, 0, NULL), 0,
	       "alloc: the same segments without growth fit");
	iova[0] = s[0].va;
	iova[1] = s[1].va;
	grow = 0;
	is_int(hmi_iova_plan(ctx, s, 2, vtd48, 2, 4096, 0, "VA", iova, 64 * MB, &grow), 0,
	       "VA + growth: nothing reserved (grown units sit at their VAs)");
	ok(grow == 0 && iova[0] == s[0].va, "VA + growth: ...the IOVAs are the VAs");
}

static void test_ledger(struct hm_ctx *ctx)
{
	struct hmi_dma d = {.fd = -1};
	struct hmi_dma_map a = {0x200000000000ULL, 0x200000, 4 * MB};
	struct hmi_dma_map b = {0x200000400000ULL, 0x600000, 2 * MB};
	struct hmi_dma_map over = {0x200000600000ULL, 0x500000, 2 * MB};

	is_int(hmi_ledger_add(ctx, &d, &a), 0, "ledger: a mapping");
	is_int(hmi_ledger_add(ctx, &d, &b), 0, "ledger: the next one");
	is_int(hmi_ledger_add(ctx, &d, &over), -EEXIST, "ledger: an overlap is EEXIST");
	like(hm_errmsg(ctx), "already mapped", "...saying so");
	is_u64(d.mapped_bytes, 6 * MB, "ledger: bytes mapped");
	ok(hmi_ledger_find(&d, 0x600000) && hmi_ledger_find(&d, 0x600000)->len == 2 * MB,
	   "ledger: found by IOVA");
	ok(!hmi_ledger_find(&d, 0x400000), "ledger: not inside a mapping");
	hmi_ledger_remove(&d, 0x200000);
	ok(d.n_maps == 1 && d.mapped_bytes == 2 * MB, "ledger: removed");
	struct hmi_dma_map empty = {0, 0x800000, 0};
	is_int(hmi_ledger_add(ctx, &d, &empty), -EINVAL, "ledger: an empty mapping is refused");
	free(d.ledger);
}

/* The growth area's reserved IOVA range takes its own units only, each at
 * its offset there. */
static void test_ledger_reserved(struct hm_ctx *ctx)
{
	struct hmi_dma d = {
	    .fd = -1, .grow_va = 0x200000c00000ULL, .grow_iova = 0xc00000, .grow_len = 64 * MB};
	struct hmi_dma_map unit = {0x200001000000ULL, 0x1000000, 4 * MB};
	struct hmi_dma_map moved = {0x200001400000ULL, 0x1600000, 2 * MB};
	struct hmi_dma_map ext = {0x7f0000000000ULL, 0x3e00000, 4 * MB};
	struct hmi_dma_map past = {0x200004a00000ULL, 0x4a00000, 4 * MB};
	struct hmi_dma_map above = {0x7f0000000000ULL, 0x4c00000, 2 * MB};

	is_int(hmi_ledger_add(ctx, &d, &unit), 0, "ledger: a grown unit at its reserved IOVA");
	is_int(hmi_ledger_add(ctx, &d, &moved), -EEXIST,
	       "ledger: a range in the reserved IOVAs at another offset is refused");
	is_int(hmi_ledger_add(ctx, &d, &ext), -EEXIST,
	       "ledger: external memory given IOVAs in the reserved range is refused");
	like(hm_errmsg(ctx), "reserved for the memory --max-mem grows (0xc00000-0x4bfffff)",
	     "...naming the range and --max-mem");
	is_int(hmi_ledger_add(ctx, &d, &past), -EEXIST,
	       "ledger: a range that runs past the reserved end is refused");
	is_int(hmi_ledger_add(ctx, &d, &above), 0, "ledger: right above the range is free");
	ok(d.n_maps == 2, "ledger: only the two that may be there are");
	free(d.ledger);
}

/* Open a domain for BDF on ROOT: the result, and nothing left open. */
static int open_on(struct hm_ctx *ctx, const char *root, const char *bdf,
		   enum hmi_dma_backend backend)
{
	const char *bdfs[] = {bdf};
	struct hmi_dma_request req = {.backend = backend, .bdfs = bdfs, .n_bdfs = 1, .fixed = "VA"};
	struct hmi_dma *d = NULL;
	int fds = count_fds(), rc;

	hm_ctx_set_root(ctx, root);
	rc = hmi_dma_open(ctx, &req, &d);
	ok(d == NULL && count_fds() == fds, "open %s on %s: nothing returned, nothing left open",
	   bdf, strrchr(root, '/'));
	hm_ctx_set_root(ctx, "/");
	return rc;
}

/* The device checks come before any descriptor (test/fixtures/iommu-vfio:
 * every node there is a plain file, so the kernel calls fail past them). */
static void test_refusals(struct hm_ctx *ctx)
{
	char root[PATH_MAX], empty[] = "/tmp/hmdma.XXXXXX";

	if (!realpath("test/fixtures/iommu-vfio", root) || !mkdtemp(empty)) {
		ok(0, "the fixture tree test/fixtures/iommu-vfio (run from the top)");
		return;
	}
	is_int(open_on(ctx, empty, "0000:00:05.0", HMI_DMA_NONE), -ENODEV, "no such device");
	like(hm_errmsg(ctx), "no such PCI device 0000:00:05.0", "...named");
	is_int(open_on(ctx, root, "0000:00:03.0", HMI_DMA_NONE), -EBUSY,
	       "a device bound to another driver");
	like(hm_errmsg(ctx), "e1000e", "...the message names the driver");
	is_int(open_on(ctx, root, "0000:01:00.0", HMI_DMA_TYPE1), -EBUSY, "a group not viable");
	like(hm_errmsg(ctx), "0000:01:00.1", "...the message names the device in the way");
	is_int(open_on(ctx, root, "0000:00:05.0", HMI_DMA_IOMMUFD), -ENOTTY,
	       "iommufd: a /dev/iommu that is not one (past the checks)");
	like(hm_errmsg(ctx), "IOMMU_IOAS_ALLOC", "...the message names the call");
	is_int(open_on(ctx, root, "0000:00:05.0", HMI_DMA_TYPE1), -ENOTTY,
	       "type1: a container that is not one");
	like(hm_errmsg(ctx), "not a VFIO container", "...saying so");
	is_int(open_on(ctx, root, "0000:00:05.0", HMI_DMA_NONE), -ENOTTY, "auto: neither");
	like(hm_errmsg(ctx), "iommufd: IOMMU_IOAS_ALLOC", "...the message gives iommufd's cause");
	like(hm_errmsg(ctx), "; type1: VFIO_GET_API_VERSION", "...and type1's");
	rmdir(empty);
}

static void test_queries(struct hm_ctx *ctx)
{
	struct hm_dma_info info;
	struct hm_dma_device dev;

	is_int(hm_dma_info(ctx, &info), -ENODEV, "hm_dma_info without a domain: ENODEV");
	like(hm_errmsg(ctx), "--vfio-device", "...the message says how to get one");
	is_int(hm_dma_device_get(ctx, 0, &dev), -ENODEV, "hm_dma_device_get: ENODEV");
	is_int(hm_dma_device_fd(ctx, "0000:00:05.0"), -ENODEV, "hm_dma_device_fd: ENODEV");
	is_str(hmi_dma_backend_name(HMI_DMA_TYPE1), "type1", "backend names");
	is_int(hm_dmabuf_export(ctx, (void *)0x200000000000ULL, 4096), -ENODEV,
	       "hm_dmabuf_export without memory: ENODEV");
}

static int parse(struct hm_ctx *ctx, struct hm_opts *o, char (*devs)[HM_PCI_ADDR_MAX], int argc,
		 const char **argv)
{
	hm_opts_init(o);
	o->vfio_devices = devs;
	o->max_vfio_devices = 2;
	return hm_opts_parse(ctx, o, HM_CMD_INIT, argc, (char *const *)argv);
}

static void test_options(struct hm_ctx *ctx)
{
	char devs[2][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	const char *good[] = {
	    "--iommu",	       "type1", "--vfio-device", "0000:00:05.0", "--vfio-device=03:00.1",
	    "--dma-mask-bits", "48",	"--iova-mode",	 "alloc"};
	const char *bad_bdf[] = {"--vfio-device", "0000:00:5.0"};
	const char *twice[] = {"--vfio-device", "00:05.0", "--vfio-device", "00:05.0"};
	const char *three[] = {"--vfio-device", "00:05.0",	 "--vfio-device",
			       "00:06.0",	"--vfio-device", "00:07.0"};
	const char *mask[] = {"--dma-mask-bits", "16"};
	const char *iommu[] = {"--iommu", "vfio"};

	is_int(parse(ctx, &o, devs, 9, good), 0, "options: --iommu, two devices, a mask, alloc");
	ok(o.iommu == HM_IOMMU_TYPE1 && o.n_vfio_devices == 2 && o.dma_mask_bits == 48 &&
	       o.iova_mode == HM_IOVA_ALLOC,
	   "options: ...all taken");
	is_str(o.vfio_devices[1], "0000:03:00.1", "options: the device in its canonical form");
	is_int(parse(ctx, &o, devs, 2, bad_bdf), -EINVAL, "options: a malformed PCI address");
	like(hm_errmsg(ctx), "0000:00:5.0", "...the message names it");
	is_int(parse(ctx, &o, devs, 4, twice), -EINVAL, "options: a device twice");
	is_int(parse(ctx, &o, devs, 6, three), -EINVAL, "options: more devices than room");
	like(hm_errmsg(ctx), "give at most 2", "...saying how many");
	is_int(parse(ctx, &o, devs, 2, mask), -EINVAL, "options: a 16-bit mask is refused");
	is_int(parse(ctx, &o, devs, 2, iommu), -EINVAL, "options: an unknown backend");
	like(hm_errmsg(ctx), "noiommu", "...the message lists the backends");
}

static void refuse(struct hm_ctx *ctx, struct hm_opts *o, const char *want, const char *name)
{
	is_int(hm_init(ctx, o), -EINVAL, "hm_init refuses %s", name);
	like(hm_errmsg(ctx), want, "...%s: the message says why", name);
	ok(hm_layout(ctx) == NULL, "...%s: nothing held", name);
}

static void test_init_refusals(struct hm_ctx *ctx)
{
	char devs[1][HM_PCI_ADDR_MAX] = {"0000:00:05.0"};
	struct hm_opts o;

	hm_opts_init(&o);
	o.iova_mode = HM_IOVA_ALLOC;
	refuse(ctx, &o, "--iova-mode alloc", "alloc without devices");
	hm_opts_init(&o);
	o.iommu = HM_IOMMU_TYPE1;
	refuse(ctx, &o, "no device", "--iommu without devices");
	hm_opts_init(&o);
	o.iommu = HM_IOMMU_NOIOMMU;
	o.vfio_devices = devs;
	o.n_vfio_devices = 1;
	o.iova_mode = HM_IOVA_VA;
	refuse(ctx, &o, "physical addresses", "noiommu with IOVA = VA");
	hm_opts_init(&o);
	o.n_vfio_devices = 1;
	is_int(hm_init(ctx, &o), -EINVAL, "hm_init refuses n_vfio_devices without the array");
	like(hm_errmsg(ctx), "opts.vfio_devices", "...naming the field");
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	test_fixed(ctx);
	test_alloc(ctx);
	test_alloc_growth(ctx);
	test_ledger(ctx);
	test_ledger_reserved(ctx);
	test_refusals(ctx);
	test_queries(ctx);
	test_options(ctx);
	test_init_refusals(ctx);
	hm_ctx_free(ctx);
	return done();
}
