/* SPDX-License-Identifier: MIT */
/*
 * dma/query.c — what the application asks of the devices' domain: its
 * backend, ranges and mappings (hm_dma_info), and the device descriptors it
 * drives the devices with (hm_dma_device_get, hm_dma_device_fd).
 */
#include "dma/dma.h"
#include "parse/parse.h"

#include <errno.h>
#include <string.h>

static int no_domain(struct hm_ctx *ctx, const char *fn)
{
	return hmi_err(ctx, ENODEV,
		       "%s: no device domain: hm_init maps the memory for devices only with "
		       "--vfio-device (hm_opts.vfio_devices) or --iommu",
		       fn);
}

int hm_dma_info(struct hm_ctx *ctx, struct hm_dma_info *info)
{
	const struct hmi_dma *d = ctx->dma;

	if (!d)
		return no_domain(ctx, "hm_dma_info");
	memset(info, 0, sizeof(*info));
	info->backend = hmi_dma_backend_name(d->backend);
	info->n_devices = (int)d->n_devs;
	info->n_mappings = (int)d->n_maps;
	info->mapped_bytes = d->mapped_bytes;
	info->iova_align = d->align;
	info->n_ranges = (int)d->n_ranges;
	for (size_t i = 0; i < d->n_ranges && i < HM_DMA_MAX_RANGES; i++) {
		info->ranges[i].start = d->ranges[i].start;
		info->ranges[i].last = d->ranges[i].last;
	}
	return 0;
}

int hm_dma_device_get(struct hm_ctx *ctx, int i, struct hm_dma_device *dev)
{
	const struct hmi_dma *d = ctx->dma;

	if (!d)
		return no_domain(ctx, "hm_dma_device_get");
	if (i < 0 || (size_t)i >= d->n_devs)
		return hmi_err(ctx, ERANGE, "hm_dma_device_get: device %d of %zu", i, d->n_devs);
	memset(dev, 0, sizeof(*dev));
	strcpy(dev->bdf, d->devs[i].bdf);
	dev->fd = d->devs[i].fd;
	dev->group = d->devs[i].group;
	return 0;
}

int hm_dma_device_fd(struct hm_ctx *ctx, const char *bdf)
{
	const struct hmi_dma *d = ctx->dma;
	char name[HM_PCI_ADDR_MAX];

	if (!d)
		return no_domain(ctx, "hm_dma_device_fd");
	/* "00:05.0" names the device "0000:00:05.0", in either case */
	if (bdf && hmi_pci_addr_canonical(NULL, bdf, name, sizeof(name)) == 0)
		for (size_t i = 0; i < d->n_devs; i++)
			if (strcmp(d->devs[i].bdf, name) == 0)
				return d->devs[i].fd;
	return hmi_err(ctx, ENOENT, "hm_dma_device_fd: %s is not a device of the domain",
		       bdf ? bdf : "(null)");
}
