/* SPDX-License-Identifier: MIT */
/*
 * dma/dma.c — setting a domain up and tearing it down, whatever the backend.
 *
 * Setup, in the order that leaves nothing behind on any failure:
 *  1. hmi_dma_open, before any page is mapped (a missing driver or a busy
 *     device costs nothing then): open the backend and attach every device
 *     (auto: iommufd first, then type1 — libvfn's order; no-IOMMU only when
 *     asked, since it lets the device reach all memory), read the usable
 *     ranges;
 *  2. hmi_dma_map_segments, once the segments are final: plan every
 *     segment's IOVA (dma/iova.c), and with allocated IOVAs the growth
 *     area's range (--max-mem): a plan that does not fit is refused before
 *     anything is pinned;
 *  3. check the budget the kernel states (type1's entries left);
 *  4. map one segment a call, each written in the ledger first, so a failed
 *     call unmaps exactly what was mapped.
 * Teardown unmaps in the reverse order and checks each unmapped length
 * against the ledger: a short unmap means the domain is not what hugemem
 * mapped (SPDK issue 1142's silent corruption), and is reported.
 */
#include "dma/dma.h"
#include "sys/iommu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *hmi_dma_backend_name(enum hmi_dma_backend b)
{
	static const char *const names[] = {"off", "iommufd", "type1", "noiommu"};

	return (unsigned)b < HMI_ARRAY_SIZE(names) ? names[b] : "?";
}

static const struct hmi_dma_ops *ops_of(enum hmi_dma_backend b)
{
	return b == HMI_DMA_IOMMUFD ? &hmi_dma_iommufd_ops
	       : b == HMI_DMA_TYPE1 ? &hmi_dma_type1_ops
				    : &hmi_dma_noiommu_ops;
}

/* A slot for the device named BDF (canonical: as sys/iommu.c names it, or as
 * the published layout holds it, which is checked for that form). */
static int device_slot(struct hm_ctx *ctx, struct hmi_dma *d, const char *bdf)
{
	void *arr = d->devs;
	int rc = 0;

	if (strlen(bdf) >= HMI_BDF_MAX)
		return hmi_err(ctx, EINVAL,
			       "device %s: PCI domains above ffff are not supported for DMA", bdf);
	for (size_t i = 0; i < d->n_devs; i++)
		if (strcmp(d->devs[i].bdf, bdf) == 0)
			return hmi_err(ctx, EINVAL, "device %s is given twice", bdf);
	rc = hmi_array_reserve(ctx, &arr, &d->cap_devs, d->n_devs + 1, sizeof(*d->devs), 4,
			       "VFIO devices");
	d->devs = arr;
	if (rc < 0)
		return rc;
	d->devs[d->n_devs] = (struct hmi_dma_dev){.fd = -1, .group = -1};
	strcpy(d->devs[d->n_devs].bdf, bdf); /* fits: checked above */
	d->n_devs++;
	return 0;
}

/* Close every descriptor of D and forget its devices and groups (the
 * mappings die with the last descriptor of the domain). */
static void close_all(struct hmi_dma *d)
{
	for (size_t i = 0; i < d->n_devs; i++)
		if (d->devs[i].fd >= 0)
			close(d->devs[i].fd);
	for (size_t i = 0; i < d->n_groups; i++)
		close(d->groups[i].fd);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->n_devs = d->n_groups = 0;
}

/* The devices of REQ, as the device check read them (VDS, in REQ's order). */
static int open_with(struct hm_ctx *ctx, struct hmi_dma *d, enum hmi_dma_backend b,
		     const struct hmi_dma_request *req, const struct hm_vfio_device *vds)
{
	const struct hmi_dma_ops *ops = ops_of(b);
	int rc;

	d->backend = b;
	rc = ops->open(ctx, d);
	for (size_t i = 0; rc == 0 && i < req->n_bdfs; i++) {
		rc = device_slot(ctx, d, vds[i].dev.name);
		if (rc == 0)
			rc = ops->attach(ctx, d, &vds[i]);
	}
	if (rc == 0)
		rc = ops->query(ctx, d);
	if (rc < 0)
		close_all(d);
	return rc;
}

/* auto: iommufd, and type1 when iommufd cannot be had (no /dev/iommu, no
 * cdev, a refusal); a refusal of both names both causes. */
static int open_domain(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req,
		       const struct hm_vfio_device *vds)
{
	char first[HMI_ERR_MAX];
	int rc;

	if (req->backend != HMI_DMA_NONE)
		return open_with(ctx, d, req->backend, req, vds);
	rc = open_with(ctx, d, HMI_DMA_IOMMUFD, req, vds);
	if (rc == 0)
		return 0;
	snprintf(first, sizeof(first), "%s", ctx->err);
	rc = open_with(ctx, d, HMI_DMA_TYPE1, req, vds);
	if (rc < 0) {
		char second[HMI_ERR_MAX];

		snprintf(second, sizeof(second), "%s", ctx->err);
		return hmi_err(ctx, -rc, "no IOMMU backend: iommufd: %.400s; type1: %.400s%s",
			       first, second,
			       d->noiommu_only ? " (this machine has no IOMMU, and VFIO's no-IOMMU "
						 "mode is on: --iommu noiommu, unsafe: the device "
						 "reaches all memory)"
					       : "");
	}
	return 0;
}

/* type1 counts each mapping against dma_entry_limit: the container's own
 * count of what is left (a new container's is the whole limit) through
 * sys/iommu.c's check, which names the parameter and how to raise it. */
static int check_entries(struct hm_ctx *ctx, const struct hmi_dma *d, size_t n_segs)
{
	struct hm_iommu_info info = {.dma_entry_limit = d->dma_avail};

	if (d->backend != HMI_DMA_TYPE1 || d->dma_avail == 0)
		return 0;
	return hmi_iommu_check_entries(ctx, &info, n_segs);
}

/* Mappings pin their pages, charged to RLIMIT_MEMLOCK unless the process
 * has CAP_IPC_LOCK: refuse before the first pin rather than midway. */
static int check_memlock(struct hm_ctx *ctx, const struct hmi_dma *d, const struct hmi_seg *segs,
			 size_t n)
{
	struct hm_iommu_info info = {.memlock_bytes = d->memlock_bytes,
				     .cap_ipc_lock = d->cap_ipc_lock};
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++)
		bytes += segs[i].len;
	return hmi_iommu_check_memlock(ctx, &info, bytes);
}

static int unmap_one(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m)
{
	uint64_t unmapped = 0;
	int rc = ops_of(d->backend)->unmap(ctx, d, m, &unmapped);

	if (rc == 0 && unmapped != m->len)
		rc = hmi_err(
		    ctx, EIO,
		    "unmapping IOVA 0x%" PRIx64 " unmapped %" PRIu64 " bytes, not the %" PRIu64
		    " mapped: the domain is not what hugemem mapped (another holder of its "
		    "descriptor changed it?)",
		    m->iova, unmapped, m->len);
	return rc;
}

/* Unmap every mapping, last first; the first failure is kept, the rest are
 * still tried. */
static int unmap_all(struct hm_ctx *ctx, struct hmi_dma *d)
{
	int rc = 0;

	while (d->n_maps > 0) {
		struct hmi_dma_map m = d->ledger[d->n_maps - 1];
		int one = unmap_one(ctx, d, &m);

		if (rc == 0)
			rc = one;
		hmi_ledger_remove(d, m.iova);
	}
	return rc;
}

static int map_all(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_seg *segs, size_t n,
		   const uint64_t *iovas)
{
	for (size_t i = 0; i < n; i++) {
		struct hmi_dma_map m = {segs[i].va, iovas[i], segs[i].len};
		int rc = hmi_ledger_add(ctx, d, &m);

		if (rc == 0 && (rc = ops_of(d->backend)->map(ctx, d, &m)) < 0)
			hmi_ledger_remove(d, m.iova);
		if (rc < 0)
			return rc;
		if ((rc = hmi_cancel_check(ctx)) < 0)
			return rc;
	}
	return 0;
}

static void dma_free(struct hmi_dma *d)
{
	free(d->devs);
	free(d->groups);
	free(d->ledger);
	free(d);
}

/* Everything after the domain is open: plan, budget, map. */
static int place_and_map(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req,
			 const struct hmi_seg *segs, size_t n, uint64_t *iovas)
{
	int rc;

	if (d->backend == HMI_DMA_NOIOMMU) /* IO addresses are the physical ones */
		return 0;
	rc = hmi_iova_plan(ctx, segs, n, d->ranges, d->n_ranges, d->align, req->mask_bits,
			   req->fixed, iovas, req->grow_len, &d->grow_iova);
	if (rc == 0 && !req->fixed && req->grow_len) { /* reserved: the ledger keeps it */
		d->grow_va = req->grow_va;
		d->grow_len = req->grow_len;
	}
	if (rc == 0)
		rc = check_entries(ctx, d, n);
	if (rc == 0)
		rc = check_memlock(ctx, d, segs, n);
	if (rc == 0)
		rc = map_all(ctx, d, segs, n, iovas);
	return rc;
}

/* Before any descriptor is opened: each device exists, is bound to
 * vfio-pci, its group is viable and its nodes can be opened
 * (sys/iommu.c's verdict, which names the fix). VDS keeps what was read
 * (name, group, cdev) for the attach; *N_READ of them to release. */
static int check_devices(struct hm_ctx *ctx, const struct hmi_dma_request *req,
			 const struct hm_iommu_info *info, struct hm_vfio_device *vds,
			 size_t *n_read)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < req->n_bdfs; i++) {
		rc = hmi_vfio_device_read(ctx, req->bdfs[i], &vds[i]);
		if (rc < 0)
			break;
		*n_read = i + 1;
		rc = hmi_vfio_device_check(ctx, info, &vds[i]);
	}
	return rc;
}

/* Read the system, check the devices, open the domain on them. */
static int open_checked(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req)
{
	struct hm_vfio_device *vds = calloc(req->n_bdfs + 1, sizeof(*vds));
	struct hm_iommu_info info;
	size_t n_read = 0;
	int rc;

	if (!vds)
		return hmi_err(ctx, ENOMEM, "out of memory setting up DMA");
	rc = hmi_iommu_read(ctx, &info);
	if (rc == 0) {
		rc = check_devices(ctx, req, &info, vds, &n_read);
		d->memlock_bytes = info.memlock_bytes;
		d->cap_ipc_lock = info.cap_ipc_lock;
		d->noiommu_only = !info.iommu && info.noiommu;
		hmi_iommu_release(&info);
	}
	if (rc == 0)
		rc = open_domain(ctx, d, req, vds);
	for (size_t i = 0; i < n_read; i++)
		hmi_vfio_device_release(&vds[i]);
	free(vds);
	return rc;
}

int hmi_dma_open(struct hm_ctx *ctx, const struct hmi_dma_request *req, struct hmi_dma **out)
{
	struct hmi_dma *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return hmi_err(ctx, ENOMEM, "out of memory setting up DMA");
	d->fd = -1;
	d->mask_bits = req->mask_bits;
	rc = open_checked(ctx, d, req);
	if (rc < 0) {
		dma_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int hmi_dma_map_range(struct hm_ctx *ctx, struct hmi_dma *d, uint64_t va, uint64_t iova,
		      uint64_t len, uint64_t page_size)
{
	struct hmi_seg seg = {.va = va, .iova = iova, .len = len, .page_size = page_size};
	struct hm_iommu_info info = {.memlock_bytes = d->memlock_bytes,
				     .cap_ipc_lock = d->cap_ipc_lock};
	uint64_t at = iova;
	int rc;

	if (d->backend == HMI_DMA_NOIOMMU)
		return 0;
	rc = hmi_iova_plan(ctx, &seg, 1, d->ranges, d->n_ranges, d->align, d->mask_bits, "VA", &at,
			   0, NULL);
	if (rc == 0)
		rc = check_entries(ctx, d, d->n_maps + 1);
	if (rc == 0)
		rc = hmi_iommu_check_memlock(ctx, &info, d->mapped_bytes + len);
	if (rc == 0)
		rc = map_all(ctx, d, &seg, 1, &at);
	return rc;
}

int hmi_dma_unmap_range(struct hm_ctx *ctx, struct hmi_dma *d, uint64_t iova, uint64_t len)
{
	const struct hmi_dma_map *m = hmi_ledger_find(d, iova);
	struct hmi_dma_map copy;
	int rc;

	if (d->backend == HMI_DMA_NOIOMMU)
		return 0;
	if (!m || m->len != len)
		return hmi_err(ctx, EINVAL,
			       "no mapping of exactly %" PRIu64 " bytes at IOVA 0x%" PRIx64
			       " in the domain: a mapping is only ever unmapped whole",
			       len, iova);
	copy = *m;
	rc = unmap_one(ctx, d, &copy);
	hmi_ledger_remove(d, iova); /* gone or not, the kernel no longer maps it as hugemem did */
	return rc;
}

int hmi_dma_map_segments(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req,
			 const struct hmi_seg *segs, size_t n_segs, uint64_t *iovas)
{
	char cause[HMI_ERR_MAX];
	int rc = place_and_map(ctx, d, req, segs, n_segs, iovas);

	if (rc < 0) {
		snprintf(cause, sizeof(cause), "%s", ctx->err);
		unmap_all(ctx, d);
		d->grow_len = 0;
		return hmi_err(ctx, -rc, "%s", cause);
	}
	return 0;
}

/* D's groups and devices over FDS (after the domain's, in SC's order);
 * the index of the first descriptor not placed. */
static size_t adopt_fds(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_shconf *sc,
			const int *ids, size_t n_groups, const int *fds, int *rc)
{
	size_t k = 1;

	for (size_t i = 0; *rc == 0 && i < n_groups; i++) {
		void *arr = d->groups;

		*rc = hmi_array_reserve(ctx, &arr, &d->cap_groups, i + 1, sizeof(*d->groups), 4,
					"VFIO groups");
		d->groups = arr;
		if (*rc == 0)
			d->groups[d->n_groups++] = (struct hmi_dma_group){ids[i], fds[k++]};
	}
	for (size_t i = 0; *rc == 0 && i < sc->n_dma_devs; i++) {
		*rc = device_slot(ctx, d, sc->dma_devs[i].bdf);
		if (*rc == 0) {
			d->devs[i].fd = fds[k++];
			d->devs[i].group = sc->dma_devs[i].group;
		}
	}
	return k;
}

int hmi_dma_adopt(struct hm_ctx *ctx, const struct hmi_shconf *sc, const int *fds,
		  struct hmi_dma **out)
{
	int ids[HMI_DMA_MAX_GROUPS], rc = 0;
	size_t n_groups = hmi_shconf_dma_groups(sc, ids, HMI_DMA_MAX_GROUPS), k = 0;
	size_t n_fds = 1 + n_groups + sc->n_dma_devs;
	struct hmi_dma *d = calloc(1, sizeof(*d));

	if (!d || n_groups > HMI_DMA_MAX_GROUPS)
		rc = hmi_err(ctx, ENOMEM, "adopting the primary's DMA domain: out of memory");
	if (rc == 0) {
		d->backend = (enum hmi_dma_backend)sc->dma_backend;
		d->ioas = sc->dma_ioas;
		d->fd = fds[0];
		k = adopt_fds(ctx, d, sc, ids, n_groups, fds, &rc);
	}
	if (rc == 0)
		rc = ops_of(d->backend)->query(ctx, d);
	if (rc < 0) {
		/* the descriptors are ours from the start: close what was not placed */
		for (size_t i = k; i < n_fds; i++)
			close(fds[i]);
		if (d) {
			close_all(d);
			dma_free(d);
		}
		return rc;
	}
	*out = d;
	return 0;
}

int hmi_dma_teardown(struct hm_ctx *ctx, struct hmi_dma *d, int keep_mappings)
{
	int rc = 0;

	if (!d)
		return 0;
	if (!keep_mappings && d->backend != HMI_DMA_NOIOMMU)
		rc = unmap_all(ctx, d);
	close_all(d);
	dma_free(d);
	return rc;
}
