/* SPDX-License-Identifier: MIT */
/*
 * vfio_guest.h — what every test program of the VFIO guest shares
 * (test/vfio/run.sh boots the guest, test/vfio/README.md says how to add a
 * program): its command line, where the edu's VFIO nodes are, and a hugemem
 * primary to DMA into. Test code; nothing here prints (the programs print TAP
 * with test/tap.h, which must stay in one file per program: its counters are
 * static).
 */
#ifndef HM_TEST_VFIO_GUEST_H
#define HM_TEST_VFIO_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "hugemem.h"

/* The guest's init mounts hugetlbfs for the one 1 GiB page the kernel
 * command line reserved here (HUGE_DIR is the 2 MiB mount). */
#define VG_HUGE_DIR_1G "/mnt/huge1g"

/* The guest runs each program as: PROGRAM BDF HUGE_DIR MODE */
struct vg_args {
	const char *bdf;      /* the edu, bound to vfio-pci: "0000:00:05.0" */
	const char *huge_dir; /* a 2 MiB hugetlbfs mount */
	const char *mode;     /* the boot: "iommu", "iommu39" or "noiommu" */
};

/* Fill A from ARGV; -EINVAL (with usage on stderr) when the count is wrong. */
int vg_args_parse(int argc, char **argv, struct vg_args *a);

/* The device's iommufd cdev, /dev/vfio/devices/vfioN (the kernel lists it
 * under /sys/bus/pci/devices/BDF/vfio-dev/). 0 or -ENOENT (no cdev: not bound
 * to vfio-pci, no CONFIG_VFIO_DEVICE_CDEV, or a no-IOMMU device). */
int vg_cdev_path(const char *bdf, char *buf, size_t len);

/* The device's legacy group node: /dev/vfio/N, or /dev/vfio/noiommu-N when
 * NOIOMMU. 0 or -errno (no iommu_group link). */
int vg_group_path(const char *bdf, int noiommu, char *buf, size_t len);

/* A hugemem primary of MEM bytes of 2 MiB pages from HUGE_DIR under PREFIX
 * (hm_ctx_new, hm_opts_init, hm_init): 0 and *CTX, or -errno with the
 * library's message in MSG (*CTX is then NULL). */
int vg_primary(struct hm_ctx **ctx, const char *huge_dir, const char *prefix, uint64_t mem,
	       char *msg, size_t len);

/* hm_fini + hm_ctx_free; 0 or hm_fini's -errno. */
int vg_primary_end(struct hm_ctx *ctx);

/* Lines of the kernel log (/dev/kmsg) that name a DMAR fault, counted: a DMA
 * the IOMMU blocked shows as one more. */
int vg_dmar_faults(void);

/* Wait (up to 10 s) until the next DMAR fault will be logged. The kernel logs
 * them through one rate limit (10 lines in 5 s, two lines a fault, every
 * program of the boot together): a fault past it leaves no line. */
void vg_dmar_room(void);

#endif
