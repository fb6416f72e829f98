/* SPDX-License-Identifier: MIT */
/*
 * sys/iommu.h — reading what the system offers for DMA through the IOMMU:
 * the IOMMU and its groups, VFIO's modules and device nodes, type1's entry
 * limit, this process's memlock limit and capabilities, and one PCI device
 * as VFIO would take it. Every sysfs and /dev path is read below the
 * context's root (fixture trees in tests). `hugemem status` shows it (through
 * hm_iommu_read, hm_vfio_device_read, hm_vfio_verdict); the DMA layer calls
 * the hmi_* functions here for its refusals instead of reading sysfs again.
 */
#ifndef HM_SYS_IOMMU_H
#define HM_SYS_IOMMU_H

#include "parse/parse.h"

/* vfio_iommu_type1's dma_entry_limit when the module does not say (its
 * default since Linux 5.1, drivers/vfio/vfio_iommu_type1.c). */
#define HMI_TYPE1_DEFAULT_ENTRIES 65535

/* Fill INFO (hm_iommu_info's fields; release with hmi_iommu_release). A
 * machine without IOMMU or VFIO is an answer: every field says "none".
 * -EINVAL when a file holds what the kernel never writes there (the message
 * names it), -EACCES (sysfs unreadable), -ENAMETOOLONG, -ENOMEM, -EFBIG. */
int hmi_iommu_read(struct hm_ctx *ctx, struct hm_iommu_info *info);
void hmi_iommu_release(struct hm_iommu_info *info);

/* Fill DEV for the PCI device at ADDR (either form of hmi_parse_pci_addr;
 * dev.name gets the canonical one): DEV->exists 0 when there is none. Its
 * group's other devices are read too (DEV->peers, release with
 * hmi_vfio_device_release, which a failure has done already). -EINVAL for
 * an address that is not one or a file the kernel never writes so,
 * -EACCES, -ENAMETOOLONG, -ENOMEM, -EFBIG. */
int hmi_vfio_device_read(struct hm_ctx *ctx, const char *addr, struct hm_vfio_device *dev);
void hmi_vfio_device_release(struct hm_vfio_device *dev);

/* The ways DEV can be opened, given INFO: iommufd (/dev/iommu and the VFIO
 * cdev, both openable), type1 (/dev/vfio/vfio and the group node, in an
 * IOMMU group), no-IOMMU (the same nodes, its group a no-IOMMU one, and
 * CAP_SYS_RAWIO). Bits; 0 when none. Nothing about the driver or the group's
 * viability: hmi_vfio_device_check says those. */
enum hmi_vfio_path {
	HMI_VFIO_IOMMUFD = 1u << 0,
	HMI_VFIO_TYPE1 = 1u << 1,
	HMI_VFIO_NOIOMMU = 1u << 2
};
unsigned hmi_vfio_paths(const struct hm_iommu_info *info, const struct hm_vfio_device *dev);

/* 0 when DEV is usable (hm_vfio_verdict says HM_VFIO_USABLE); otherwise the
 * verdict's message in CTX and -ENODEV (no device), -ENXIO (no IOMMU),
 * -EBUSY (another driver, or a group that is not viable), -ENOENT (no
 * device node), -EACCES (no access). */
int hmi_vfio_device_check(struct hm_ctx *ctx, const struct hm_iommu_info *info,
			  const struct hm_vfio_device *dev);

/* 0 when BYTES may be pinned under INFO's memlock limit (always with
 * CAP_IPC_LOCK); else -ENOMEM with a message naming the limit and the fixes
 * (ulimit -l, LimitMEMLOCK=, limits.conf, CAP_IPC_LOCK). Memory this
 * process has locked already counts against the same limit in the kernel. */
int hmi_iommu_check_memlock(struct hm_ctx *ctx, const struct hm_iommu_info *info, uint64_t bytes);

/* 0 when ENTRIES mappings fit type1's dma_entry_limit; else -ENOSPC naming
 * the module parameter and how to raise it. */
int hmi_iommu_check_entries(struct hm_ctx *ctx, const struct hm_iommu_info *info, uint64_t entries);

#endif
