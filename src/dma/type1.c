/* SPDX-License-Identifier: MIT */
/*
 * dma/type1.c — the VFIO group API: the type1 IOMMU backend, and no-IOMMU.
 *
 * type1: a container (/dev/vfio/vfio) holds the IOMMU domain; each device's
 * group (/dev/vfio/N, N from the device's iommu_group link, as sys/iommu.c
 * read it) must be viable —
 * every device in it bound to vfio-pci or to no driver — and is added to the
 * container; the IOMMU model (TYPE1v2) is set once the first group is in;
 * each device's descriptor comes from its group. The usable ranges, the
 * page sizes and the entries left (dma_entry_limit) come from the
 * container's info capabilities.
 *
 * no-IOMMU (vfio.enable_unsafe_noiommu_mode=1): the same calls on a group
 * node named noiommu-N and the VFIO_NOIOMMU_IOMMU model. Nothing translates:
 * a device reaches physical addresses, nothing is mapped or pinned, and the
 * kernel is tainted. Only when asked (--iommu noiommu), never by `auto`.
 */
#include "dma/dma.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int container_open(struct hm_ctx *ctx, struct hmi_dma *d, unsigned long model)
{
	char path[HM_PATH_MAX];
	int rc = hmi_path(ctx, path, sizeof(path), "/dev/vfio/vfio");

	if (rc < 0)
		return rc;
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s (%s)", path, strerror(errno),
			       errno == ENOENT ? "VFIO is not loaded: modprobe vfio-pci"
					       : "run as root, or give this user the device");
	rc = ioctl(d->fd, VFIO_GET_API_VERSION);
	if (rc < 0)
		return hmi_err(ctx, errno, "VFIO_GET_API_VERSION on %s: %s (not a VFIO container?)",
			       path, strerror(errno));
	if (rc != VFIO_API_VERSION)
		return hmi_err(ctx, EINVAL, "%s speaks VFIO API version %d, not %d", path, rc,
			       VFIO_API_VERSION);
	if (ioctl(d->fd, VFIO_CHECK_EXTENSION, model) <= 0)
		return hmi_err(ctx, ENODEV, "%s: %s", path,
			       model == VFIO_NOIOMMU_IOMMU
				   ? "no-IOMMU mode is off: load vfio with "
				     "enable_unsafe_noiommu_mode=1 (unsafe: devices reach all "
				     "memory)"
				   : "no type1 IOMMU driver: is an IOMMU on (intel_iommu=on)?");
	return 0;
}

static int type1_open(struct hm_ctx *ctx, struct hmi_dma *d)
{
	return container_open(ctx, d, VFIO_TYPE1v2_IOMMU);
}

static int noiommu_open(struct hm_ctx *ctx, struct hmi_dma *d)
{
	return container_open(ctx, d, VFIO_NOIOMMU_IOMMU);
}

static int group_fd(const struct hmi_dma *d, int id)
{
	for (size_t i = 0; i < d->n_groups; i++)
		if (d->groups[i].id == id)
			return d->groups[i].fd;
	return -1;
}

static int group_join(struct hm_ctx *ctx, struct hmi_dma *d, int id, int fd, const char *path)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	void *arr = d->groups;
	int rc;

	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0)
		return hmi_err(ctx, errno, "VFIO_GROUP_GET_STATUS on %s: %s", path,
			       strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return hmi_err(ctx, EBUSY,
			       "IOMMU group %d is not viable: every device in it must be bound to "
			       "vfio-pci or to no driver (ls /sys/kernel/iommu_groups/%d/devices)",
			       id, id);
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &d->fd) < 0)
		return hmi_err(ctx, errno, "VFIO_GROUP_SET_CONTAINER of %s: %s", path,
			       strerror(errno));
	rc = hmi_array_reserve(ctx, &arr, &d->cap_groups, d->n_groups + 1, sizeof(*d->groups), 4,
			       "VFIO groups");
	d->groups = arr;
	if (rc < 0)
		return rc;
	d->groups[d->n_groups++] = (struct hmi_dma_group){id, fd};
	return 0;
}

/* Open group ID (NODE "%d" or "noiommu-%d"), check it, add it to the
 * container and, for the first group, set the IOMMU MODEL. */
static int group_add(struct hm_ctx *ctx, struct hmi_dma *d, int id, const char *node,
		     unsigned long model)
{
	char path[HM_PATH_MAX];
	int rc = hmi_path(ctx, path, sizeof(path), "/dev/vfio/%s", node);
	int fd;

	if (rc < 0)
		return rc;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s (IOMMU group %d): %s%s", path, id,
			       strerror(errno),
			       errno == EBUSY ? ": another process holds the group" : "");
	rc = group_join(ctx, d, id, fd, path);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (d->n_groups == 1 && ioctl(d->fd, VFIO_SET_IOMMU, model) < 0)
		return hmi_err(ctx, errno, "VFIO_SET_IOMMU: %s%s", strerror(errno),
			       errno == EPERM ? ": the IOMMU has no interrupt remapping (or load "
						"vfio_iommu_type1 allow_unsafe_interrupts=1)"
					      : "");
	return 0;
}

/* DEV's group (its number as sys/iommu.c read it for the device check),
 * opened and added to the container once, then the device from it. */
static int group_attach(struct hm_ctx *ctx, struct hmi_dma *d, const struct hm_vfio_device *vd,
			int noiommu)
{
	struct hmi_dma_dev *dev = &d->devs[d->n_devs - 1];
	const char *bdf = vd->dev.name;
	char node[32];
	int rc = 0, gfd;

	if (vd->dev.group < 0)
		return hmi_err(
		    ctx, ENODEV,
		    "%s has no IOMMU group (/sys/bus/pci/devices/%s/iommu_group): is the "
		    "IOMMU on, or for no-IOMMU is the device bound to vfio-pci?",
		    bdf, bdf);
	dev->group = vd->dev.group;
	snprintf(node, sizeof(node), noiommu ? "noiommu-%d" : "%d", dev->group);
	if (group_fd(d, dev->group) < 0)
		rc = group_add(ctx, d, dev->group, node,
			       noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU);
	if (rc < 0)
		return rc;
	gfd = group_fd(d, dev->group);
	dev->fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev->fd < 0)
		return hmi_err(ctx, errno, "VFIO_GROUP_GET_DEVICE_FD of %s: %s%s", bdf,
			       strerror(errno),
			       errno == EBUSY ? ": another process holds the device" : "");
	return 0;
}

static int type1_attach(struct hm_ctx *ctx, struct hmi_dma *d, const struct hm_vfio_device *vd)
{
	return group_attach(ctx, d, vd, 0);
}

static int noiommu_attach(struct hm_ctx *ctx, struct hmi_dma *d, const struct hm_vfio_device *vd)
{
	return group_attach(ctx, d, vd, 1);
}

/* Walk the info's capability chain (offsets inside BUF of LEN bytes, each
 * checked: the kernel wrote them, but a wrong offset must not read outside). */
static void read_caps(struct hmi_dma *d, const unsigned char *buf, size_t len, uint32_t off)
{
	for (int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= len && hops < 64;
	     hops++) {
		const struct vfio_info_cap_header *h = (const void *)(buf + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= len) {
			const struct vfio_iommu_type1_info_cap_iova_range *c = (const void *)h;
			size_t room = (len - off - sizeof(*c)) / sizeof(c->iova_ranges[0]);

			d->n_ranges = c->nr_iovas < room ? c->nr_iovas : room;
			if (d->n_ranges > HMI_DMA_MAX_RANGES)
				d->n_ranges = HMI_DMA_MAX_RANGES;
			for (size_t i = 0; i < d->n_ranges; i++)
				d->ranges[i] = (struct hmi_iova_range){c->iova_ranges[i].start,
								       c->iova_ranges[i].end};
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
			   off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= len) {
			d->dma_avail = ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
		}
		off = h->next;
	}
}

/* VFIO_IOMMU_GET_INFO into a buffer of *LEN bytes; when the kernel asks for
 * more (argsz grows with the capabilities), once more with that much. */
static int get_info(struct hm_ctx *ctx, int fd, unsigned char **buf, size_t *len)
{
	for (int round = 0; round < 2; round++) {
		struct vfio_iommu_type1_info *info;

		free(*buf);
		*buf = calloc(1, *len);
		if (!*buf)
			return hmi_err(ctx, ENOMEM, "out of memory reading the IOMMU's info");
		info = (void *)*buf;
		info->argsz = (uint32_t)*len;
		if (ioctl(fd, VFIO_IOMMU_GET_INFO, info) < 0)
			return hmi_err(ctx, errno, "VFIO_IOMMU_GET_INFO: %s", strerror(errno));
		if (info->argsz <= *len || info->argsz > (1U << 20))
			return 0;
		*len = info->argsz;
	}
	return 0;
}

static int type1_query(struct hm_ctx *ctx, struct hmi_dma *d)
{
	size_t len = 4096;
	unsigned char *buf = NULL;
	const struct vfio_iommu_type1_info *info;
	int rc = get_info(ctx, d->fd, &buf, &len);

	if (rc < 0) {
		free(buf);
		return rc;
	}
	info = (const void *)buf;
	d->pgsize = (info->flags & VFIO_IOMMU_INFO_PGSIZES) ? info->iova_pgsizes : 0;
	d->align = d->pgsize ? d->pgsize & -d->pgsize : 4096;
	d->n_ranges = 1; /* a kernel without the capability: the whole space */
	d->ranges[0] = (struct hmi_iova_range){0, UINT64_MAX};
	if (info->flags & VFIO_IOMMU_INFO_CAPS)
		read_caps(d, buf, len < info->argsz ? len : info->argsz, info->cap_offset);
	free(buf);
	return 0;
}

static int type1_map(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m)
{
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
					       .flags =
						   VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
					       .vaddr = m->va,
					       .iova = m->iova,
					       .size = m->len};

	if (ioctl(d->fd, VFIO_IOMMU_MAP_DMA, &map) == 0)
		return 0;
	return hmi_err(ctx, errno,
		       "VFIO_IOMMU_MAP_DMA of 0x%" PRIx64 " bytes at IOVA 0x%" PRIx64 ": %s%s",
		       m->len, m->iova, strerror(errno),
		       errno == ENOMEM ? " (pinned memory beyond RLIMIT_MEMLOCK, or the "
					 "container's dma_entry_limit reached?)"
				       : "");
}

static int type1_unmap(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m,
		       uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof(u), .iova = m->iova, .size = m->len};

	*unmapped = 0;
	if (ioctl(d->fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return hmi_err(ctx, errno, "VFIO_IOMMU_UNMAP_DMA at IOVA 0x%" PRIx64 ": %s",
			       m->iova, strerror(errno));
	*unmapped = u.size;
	return 0;
}

/* No-IOMMU translates nothing: every address is reachable, nothing maps. */
static int noiommu_query(struct hm_ctx *ctx, struct hmi_dma *d)
{
	(void)ctx;
	d->n_ranges = 1;
	d->ranges[0] = (struct hmi_iova_range){0, UINT64_MAX};
	d->align = 4096;
	return 0;
}

static int noiommu_map(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m)
{
	(void)d;
	(void)m;
	return hmi_err(ctx, ENOTSUP, "no-IOMMU mode maps nothing: devices use physical addresses");
}

static int noiommu_unmap(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m,
			 uint64_t *unmapped)
{
	*unmapped = 0;
	return noiommu_map(ctx, d, m);
}

const struct hmi_dma_ops hmi_dma_type1_ops = {
    .name = "type1",
    .open = type1_open,
    .attach = type1_attach,
    .query = type1_query,
    .map = type1_map,
    .unmap = type1_unmap,
};

const struct hmi_dma_ops hmi_dma_noiommu_ops = {
    .name = "noiommu",
    .open = noiommu_open,
    .attach = noiommu_attach,
    .query = noiommu_query,
    .map = noiommu_map,
    .unmap = noiommu_unmap,
};
