/* SPDX-License-Identifier: MIT */
/*
 * edu.c — qemu's edu DMA device through a VFIO device fd (edu.h says what the
 * device is and which qemu pitfalls the limits here avoid).
 */
#include "edu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define EDU_REG_IDENT	 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_DMA_SRC	 0x80
#define EDU_REG_DMA_DST	 0x88
#define EDU_REG_DMA_CNT	 0x90
#define EDU_REG_DMA_CMD	 0x98
#define EDU_CMD_START	 0x1
#define EDU_CMD_TO_RAM	 0x2
#define EDU_LIVE_PROBE	 0x12345678u

__attribute__((format(printf, 3, 4))) static int edu_fail(struct edu *e, int err, const char *fmt,
							  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	return -err;
}

/* Registers at 0x80 and above take 8-byte accesses, the first two 4-byte. */
static uint64_t edu_read(struct edu *e, unsigned reg, int size)
{
	uint64_t v = 0;

	if (e->bar0)
		return size == 8 ? *(volatile uint64_t *)(e->bar0 + reg)
				 : *(volatile uint32_t *)(e->bar0 + reg);
	if (pread(e->fd, &v, size, (off_t)(e->bar0_off + reg)) != size)
		return UINT64_MAX;
	return v;
}

static void edu_write(struct edu *e, unsigned reg, uint64_t v, int size)
{
	if (!e->bar0) {
		/* a failed write shows as a DMA that never starts (timeout) */
		if (pwrite(e->fd, &v, size, (off_t)(e->bar0_off + reg)) != size)
			return;
	} else if (size == 8) {
		*(volatile uint64_t *)(e->bar0 + reg) = v;
	} else {
		*(volatile uint32_t *)(e->bar0 + reg) = (uint32_t)v;
	}
}

static int region_info(struct edu *e, unsigned index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0)
		return edu_fail(e, errno, "VFIO_DEVICE_GET_REGION_INFO(%u): %s", index,
				strerror(errno));
	return 0;
}

/* The device may only read and write memory once bus mastering is on; VFIO
 * leaves the command register as the device came out of reset. */
static int bus_master_on(struct edu *e)
{
	uint16_t cmd = 0;
	off_t at = (off_t)e->cfg_off + PCI_COMMAND;

	if (pread(e->fd, &cmd, 2, at) != 2)
		return edu_fail(e, EIO, "reading the PCI command register: %s", strerror(errno));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(e->fd, &cmd, 2, at) != 2 || pread(e->fd, &cmd, 2, at) != 2)
		return edu_fail(e, EIO, "writing the PCI command register: %s", strerror(errno));
	e->command = cmd;
	if (!(cmd & PCI_COMMAND_MASTER))
		return edu_fail(e, ENODEV, "bus mastering did not stick (command 0x%04x)", cmd);
	return 0;
}

int edu_open(struct edu *e, int devfd)
{
	struct vfio_region_info cfg, bar;
	uint32_t live;
	void *p;
	int r;

	memset(e, 0, sizeof(*e));
	e->fd = devfd;
	r = region_info(e, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (r == 0)
		r = region_info(e, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (r < 0)
		return r;
	e->cfg_off = cfg.offset;
	e->bar0_off = bar.offset;
	e->bar0_size = bar.size;
	r = bus_master_on(e);
	if (r < 0)
		return r;
	if (bar.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd,
			 (off_t)bar.offset);
		e->bar0 = p == MAP_FAILED ? NULL : p;
	}
	e->ident = (uint32_t)edu_read(e, EDU_REG_IDENT, 4);
	edu_write(e, EDU_REG_LIVENESS, EDU_LIVE_PROBE, 4);
	live = (uint32_t)edu_read(e, EDU_REG_LIVENESS, 4);
	if ((e->ident & 0xff) != 0xed || live != ~EDU_LIVE_PROBE) {
		edu_close(e);
		return edu_fail(e, ENODEV,
				"not an edu: ident 0x%08x, liveness 0x%08x (want ~0x%08x)",
				e->ident, live, EDU_LIVE_PROBE);
	}
	return 0;
}

void edu_close(struct edu *e)
{
	if (e->bar0)
		munmap((void *)e->bar0, e->bar0_size);
	e->bar0 = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int edu_dma(struct edu *e, uint64_t src, uint64_t dst, uint32_t len, unsigned cmd,
		   int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	if (len == 0 || len > EDU_MAX_LEN)
		return edu_fail(e, EINVAL, "DMA of %u bytes: 1 to %d (qemu 7.2 aborts on 4096)",
				len, EDU_MAX_LEN);
	__sync_synchronize(); /* what the CPU wrote is in memory before the device reads */
	edu_write(e, EDU_REG_DMA_SRC, src, 8);
	edu_write(e, EDU_REG_DMA_DST, dst, 8);
	edu_write(e, EDU_REG_DMA_CNT, len, 8);
	edu_write(e, EDU_REG_DMA_CMD, EDU_CMD_START | cmd, 8);
	while (edu_read(e, EDU_REG_DMA_CMD, 8) & EDU_CMD_START) {
		if (now_ms() > deadline)
			return edu_fail(e, ETIMEDOUT, "DMA 0x%llx -> 0x%llx still busy after %d ms",
					(unsigned long long)src, (unsigned long long)dst,
					timeout_ms);
		usleep(1000);
	}
	__sync_synchronize();
	return 0;
}

int edu_dma_to_device(struct edu *e, uint64_t addr, uint32_t len, int timeout_ms)
{
	return edu_dma(e, addr, EDU_BUF, len, 0, timeout_ms);
}

int edu_dma_to_ram(struct edu *e, uint64_t addr, uint32_t len, int timeout_ms)
{
	return edu_dma(e, EDU_BUF, addr, len, EDU_CMD_TO_RAM, timeout_ms);
}

void edu_fill(void *p, size_t n, uint32_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 31 + seed) ^ (i >> 8));
}
