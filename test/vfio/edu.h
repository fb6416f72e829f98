/* SPDX-License-Identifier: MIT */
/*
 * edu.h — drive qemu's "edu" PCI device (1234:11e8, hw/misc/edu.c), a real DMA
 * engine, through a VFIO device fd the caller already has: from the iommufd
 * cdev, a legacy or no-IOMMU group, or hugemem's DMA layer. Test code for the
 * VFIO guest (test/vfio/run.sh); the caller keeps and closes the fd.
 *
 * The device: BAR0 (1 MiB) holds the registers: 0x00 ident (0x010000ed), 0x04
 * liveness (reads back the complement of what was written), 0x80 DMA source,
 * 0x88 destination, 0x90 count, 0x98 command (bit 0 start/busy, bit 1
 * direction: 1 = device to RAM). Its 4 KiB buffer sits at device address
 * 0x40000. The DMA addresses are bus addresses: IOVAs behind an IOMMU,
 * physical addresses without one. Each transfer completes after a 100 ms
 * timer of qemu's virtual clock.
 *
 * qemu 7.2's pitfalls: a transfer ending exactly at the end of the buffer
 * aborts qemu ("EDU: DMA range 0x40000-0x40fff out of bounds", an off-by-one),
 * so a transfer is at most EDU_MAX_LEN (4088) bytes; and the device's default
 * dma_mask is 28 bits (higher address bits silently dropped), so run.sh
 * starts it with dma_mask=0xffffffffffffffff.
 *
 * Derived from the iofd kit's edu.h (iommufd-vm), rewritten: errors are
 * -errno with a message in edu.err, nothing is printed.
 */
#ifndef HM_TEST_EDU_H
#define HM_TEST_EDU_H

#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR     0x1234
#define EDU_DEVICE     0x11e8
#define EDU_BUF	       0x40000ULL /* device address of the edu's buffer */
#define EDU_MAX_LEN    4088	  /* not 4096: qemu 7.2's off-by-one (see above) */
#define EDU_TIMEOUT_MS 10000	  /* 100 times what a transfer takes */

struct edu {
	int fd;			/* the VFIO device fd (the caller's) */
	volatile uint8_t *bar0; /* BAR0 mapped, or NULL: pread/pwrite at bar0_off */
	uint64_t bar0_off, bar0_size;
	uint64_t cfg_off; /* the PCI config space region in the device fd */
	uint32_t ident;	  /* what the ident register said */
	uint16_t command; /* PCI command register after edu_open */
	char err[160];	  /* why the last call failed */
};

/* Take the device behind DEVFD: region info of config space and BAR0, memory
 * space and bus mastering on through the config region, BAR0 mapped (or
 * reached by pread/pwrite when VFIO does not offer mmap), then the ident and
 * liveness registers must answer as an edu does. 0, or -errno (-ENODEV: not
 * an edu, or bus mastering did not stick). */
int edu_open(struct edu *e, int devfd);

/* Unmap BAR0 (the fd stays the caller's). */
void edu_close(struct edu *e);

/* One transfer of LEN (1..EDU_MAX_LEN) bytes between bus address ADDR and
 * the start of the device's buffer, polled until done: RAM to device, or
 * device to RAM. 0, -EINVAL (length), -ETIMEDOUT (still busy after
 * TIMEOUT_MS). A DMA the IOMMU blocks still completes for the device: the
 * caller sees it only in memory that did not change. */
int edu_dma_to_device(struct edu *e, uint64_t addr, uint32_t len, int timeout_ms);
int edu_dma_to_ram(struct edu *e, uint64_t addr, uint32_t len, int timeout_ms);

/* A pattern that differs with SEED and along the buffer (never all one byte). */
void edu_fill(void *p, size_t n, uint32_t seed);

#endif
