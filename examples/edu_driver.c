/* SPDX-License-Identifier: MIT */
/*
 * edu_driver.c — a complete, minimal user-space driver for qemu's "edu" PCI
 * device (a DMA engine with a 4 KiB buffer), on memory hugemem maps for it.
 *
 *   edu_driver BDF [iommufd|type1|noiommu]     (BDF bound to vfio-pci, as root)
 *
 * 1. open:  hm_init with the device: hugemem opens the IOMMU domain, attaches
 *           the device and maps every segment for it;
 * 2. map:   a zone of 8 KiB: its IOVA is the address the device uses;
 * 3. DMA:   the device copies the zone's first half into its buffer, then its
 *           buffer into the zone's second half (edu's registers in BAR0,
 *           through the VFIO device descriptor hm_dma_device_fd gives);
 * 4. check: the second half equals the first.
 * Exit status 0 when the data came back, 1 otherwise.
 *
 * edu (qemu hw/misc/edu.c): BAR0 0x00 ident, 0x04 liveness (reads back the
 * complement), 0x80 DMA source, 0x88 destination, 0x90 count, 0x98 command
 * (bit 0 start/busy, bit 1 device -> RAM); the device buffer is at 0x40000.
 * qemu 7.2 aborts on a transfer that ends at the buffer's last byte: move at
 * most 4088 bytes. Start it with edu,dma_mask=0xffffffffffffffff (28 bits by
 * default).
 */
#include <hugemem.h>

#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_BUFFER 0x40000
#define EDU_LEN	   4088

struct edu {
	volatile uint8_t *bar0;
	size_t bar0_len;
};

static uint64_t reg_read(const struct edu *e, unsigned off)
{
	return *(volatile uint64_t *)(e->bar0 + off);
}

static void reg_write(const struct edu *e, unsigned off, uint64_t v)
{
	*(volatile uint64_t *)(e->bar0 + off) = v;
}

/* Turn on memory decoding and bus mastering, map BAR0, check the device. */
static int edu_open(struct edu *e, int dev)
{
	struct vfio_region_info cfg = {.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	struct vfio_region_info bar = {.argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX};
	uint16_t cmd = 0;
	void *p;

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0 ||
	    ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0 ||
	    pread(dev, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		return -errno;
	cmd |= 0x6; /* memory space, bus master */
	if (pwrite(dev, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		return -errno;
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)bar.offset);
	if (p == MAP_FAILED)
		return -errno;
	e->bar0 = p;
	e->bar0_len = bar.size;
	*(volatile uint32_t *)(e->bar0 + 4) = 0x12345678;
	if ((*(volatile uint32_t *)e->bar0 & 0xff) != 0xed ||
	    *(volatile uint32_t *)(e->bar0 + 4) != ~0x12345678u)
		return -ENODEV;
	return 0;
}

/* One transfer between bus address IOVA and the device's buffer. */
static int edu_dma(const struct edu *e, uint64_t iova, int to_ram, uint32_t len)
{
	struct timespec tick = {0, 1000000};

	reg_write(e, 0x80, to_ram ? EDU_BUFFER : iova);
	reg_write(e, 0x88, to_ram ? iova : EDU_BUFFER);
	reg_write(e, 0x90, len);
	reg_write(e, 0x98, 1 | (to_ram ? 2 : 0));
	for (int ms = 0; reg_read(e, 0x98) & 1; ms++) {
		if (ms > 10000)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	return 0;
}

static enum hm_iommu backend(const char *name)
{
	if (!name)
		return HM_IOMMU_AUTO;
	return !strcmp(name, "iommufd") ? HM_IOMMU_IOMMUFD
	       : !strcmp(name, "type1")	 ? HM_IOMMU_TYPE1
	       : !strcmp(name, "noiommu") ? HM_IOMMU_NOIOMMU
					  : HM_IOMMU_AUTO;
}

static int run(struct hm_ctx *ctx, const char *bdf)
{
	struct hm_memzone z;
	struct edu e = {0};
	uint8_t *half;
	int dev = hm_dma_device_fd(ctx, bdf), rc;

	if (dev < 0 || hm_memzone_reserve(ctx, "edu", 8192, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 4096, &z) < 0)
		return fprintf(stderr, "edu_driver: %s\n", hm_errmsg(ctx)), 1;
	half = (uint8_t *)z.va + 4096;
	for (int i = 0; i < EDU_LEN; i++)
		((uint8_t *)z.va)[i] = (uint8_t)(i * 7 + 3);
	memset(half, 0, EDU_LEN);
	rc = edu_open(&e, dev);
	if (rc == 0)
		rc = edu_dma(&e, z.iova, 0, EDU_LEN); /* zone -> device */
	if (rc == 0)
		rc = edu_dma(&e, z.iova + 4096, 1, EDU_LEN); /* device -> zone + 4 KiB */
	if (e.bar0)
		munmap((void *)e.bar0, e.bar0_len);
	if (rc < 0)
		return fprintf(stderr, "edu_driver: %s: %s\n", bdf, strerror(-rc)), 1;
	rc = memcmp(z.va, half, EDU_LEN) != 0;
	printf("edu_driver: %s: %d bytes out of and back into IOVA 0x%llx: %s\n", bdf, EDU_LEN,
	       (unsigned long long)z.iova, rc ? "DIFFER" : "match");
	return rc;
}

int main(int argc, char **argv)
{
	char devices[1][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	struct hm_ctx *ctx;
	int rc;

	if (argc < 2)
		return fprintf(stderr, "usage: edu_driver DDDD:BB:DD.F [iommufd|type1|noiommu]\n"), 2;
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	hm_opts_init(&o);
	o.mem = 8 << 20;
	snprintf(devices[0], sizeof(devices[0]), "%s", argv[1]); /* hm_init wants it canonical */
	o.vfio_devices = devices;
	o.n_vfio_devices = 1;
	o.iommu = backend(argc > 2 ? argv[2] : NULL);
	o.file_prefix = "edu";
	if (hm_init(ctx, &o) < 0) {
		fprintf(stderr, "edu_driver: %s\n", hm_errmsg(ctx));
		hm_ctx_free(ctx);
		return 1;
	}
	rc = run(ctx, argv[1]);
	hm_fini(ctx);
	hm_ctx_free(ctx);
	return rc;
}
