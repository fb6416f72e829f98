/* SPDX-License-Identifier: MIT */
/*
 * dma/iommufd.c — the iommufd backend (Linux 6.6+ with VFIO_DEVICE_CDEV):
 * /dev/iommu holds one IO address space (IOAS); each device is opened by its
 * VFIO cdev (/dev/vfio/devices/vfioN, as sys/iommu.c read it under the
 * device's vfio-dev/ for the device check), bound to the iommufd and attached to the IOAS, which
 * the kernel backs with a hardware page table of its choosing. Mappings are made with fixed IOVAs
 * (hugemem decides where segments sit: dma/iova.c) and are readable and writable by the device. The
 * usable ranges are read after the devices are attached: an empty IOAS reports the whole 64-bit
 * space, and each device narrows it (libvfn's order, and the kernel documentation's).
 */
#include "dma/dma.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int iommufd_open(struct hm_ctx *ctx, struct hmi_dma *d)
{
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	char path[HM_PATH_MAX];
	int rc = hmi_path(ctx, path, sizeof(path), "/dev/iommu");

	if (rc < 0)
		return rc;
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s (%s)", path, strerror(errno),
			       errno == ENOENT ? "this kernel has no iommufd: use --iommu type1"
					       : "run as root, or give this user the device");
	if (ioctl(d->fd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return hmi_err(ctx, errno, "IOMMU_IOAS_ALLOC on %s: %s", path, strerror(errno));
	d->ioas = alloc.out_ioas_id;
	return 0;
}

static int bind_failed(struct hm_ctx *ctx, const char *bdf, const char *what, int err)
{
	const char *hint = err == EPERM	  ? ": the IOMMU has no interrupt remapping (or boot "
					    "with iommufd.allow_unsafe_interrupts=1)"
			   : err == EBUSY ? ": another process or driver holds the device"
					  : "";

	return hmi_err(ctx, err, "%s of %s: %s%s", what, bdf, strerror(err), hint);
}

static int iommufd_attach(struct hm_ctx *ctx, struct hmi_dma *d, const struct hm_vfio_device *vd)
{
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = d->fd};
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = d->ioas};
	struct hmi_dma_dev *dev = &d->devs[d->n_devs - 1];
	const char *bdf = vd->dev.name;
	char path[HM_PATH_MAX];
	int rc;

	if (!vd->cdev_path[0])
		return hmi_err(
		    ctx, ENODEV,
		    "%s has no VFIO device cdev (/sys/bus/pci/devices/%s/vfio-dev): bind "
		    "it to vfio-pci, on a kernel with CONFIG_VFIO_DEVICE_CDEV, or use "
		    "--iommu type1",
		    bdf, bdf);
	rc = hmi_path(ctx, path, sizeof(path), "%s", vd->cdev_path);
	if (rc < 0)
		return rc;
	dev->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0)
		return hmi_err(ctx, errno, "cannot open %s (the VFIO cdev of %s): %s", path, bdf,
			       strerror(errno));
	if (ioctl(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return bind_failed(ctx, bdf, "VFIO_DEVICE_BIND_IOMMUFD", errno);
	dev->dev_id = bind.out_devid;
	if (ioctl(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0)
		return bind_failed(ctx, bdf, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno);
	return 0;
}

static int iommufd_query(struct hm_ctx *ctx, struct hmi_dma *d)
{
	struct iommu_iova_range r[HMI_DMA_MAX_RANGES];
	struct iommu_ioas_iova_ranges q = {.size = sizeof(q),
					   .ioas_id = d->ioas,
					   .num_iovas = HMI_DMA_MAX_RANGES,
					   .allowed_iovas = (uintptr_t)r};

	if (ioctl(d->fd, IOMMU_IOAS_IOVA_RANGES, &q) < 0 && errno != EMSGSIZE)
		return hmi_err(ctx, errno, "IOMMU_IOAS_IOVA_RANGES: %s", strerror(errno));
	/* EMSGSIZE: more ranges than room; the first ones are filled in */
	d->n_ranges = q.num_iovas < HMI_DMA_MAX_RANGES ? q.num_iovas : HMI_DMA_MAX_RANGES;
	for (size_t i = 0; i < d->n_ranges; i++)
		d->ranges[i] = (struct hmi_iova_range){r[i].start, r[i].last};
	d->align = q.out_iova_alignment ? q.out_iova_alignment : 4096;
	return 0;
}

static int iommufd_map(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m)
{
	struct iommu_ioas_map map = {.size = sizeof(map),
				     .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					      IOMMU_IOAS_MAP_WRITEABLE,
				     .ioas_id = d->ioas,
				     .user_va = m->va,
				     .length = m->len,
				     .iova = m->iova};

	if (ioctl(d->fd, IOMMU_IOAS_MAP, &map) == 0)
		return 0;
	return hmi_err(ctx, errno,
		       "IOMMU_IOAS_MAP of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 ": %s%s", m->len,
		       m->iova, strerror(errno),
		       errno == ENOMEM ? " (pinned memory beyond RLIMIT_MEMLOCK? raise ulimit -l, "
					 "or run with CAP_IPC_LOCK)"
				       : "");
}

static int iommufd_unmap(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m,
			 uint64_t *unmapped)
{
	struct iommu_ioas_unmap u = {
	    .size = sizeof(u), .ioas_id = d->ioas, .iova = m->iova, .length = m->len};

	*unmapped = 0;
	if (ioctl(d->fd, IOMMU_IOAS_UNMAP, &u) < 0)
		return hmi_err(ctx, errno, "IOMMU_IOAS_UNMAP at IOVA 0x%" PRIx64 ": %s", m->iova,
			       strerror(errno));
	*unmapped = u.length;
	return 0;
}

const struct hmi_dma_ops hmi_dma_iommufd_ops = {
    .name = "iommufd",
    .open = iommufd_open,
    .attach = iommufd_attach,
    .query = iommufd_query,
    .map = iommufd_map,
    .unmap = iommufd_unmap,
};
