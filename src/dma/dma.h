/* SPDX-License-Identifier: MIT */
/*
 * dma/dma.h — memory a device can reach: the IOMMU side of a process's memory.
 *
 * A domain is one of three backends (docs/dma.md says why each exists):
 *   iommufd   /dev/iommu + each device's VFIO cdev (/dev/vfio/devices/vfioN),
 *             one IOAS the devices are attached to;
 *   type1     the VFIO container (/dev/vfio/vfio) and the devices' groups;
 *   noiommu   VFIO's no-IOMMU mode: a container and group without
 *             translation, IOVA = physical address, nothing mapped.
 * The segments are mapped one mapping per segment (a physically contiguous
 * run), never per page and never a part of one: neither type1 nor iommufd
 * unmaps part of a mapping, so the mapping unit is the unit that can later
 * be unmapped. Every mapping is written in a ledger; an EEXIST is an error,
 * and every unmap's returned length is checked against the ledger.
 */
#ifndef HM_DMA_H
#define HM_DMA_H

#include "base/ctx.h"
#include "layout/layout.h"
#include "shconf/shconf.h"

#include <stdint.h>

enum hmi_dma_backend { HMI_DMA_NONE = 0, HMI_DMA_IOMMUFD, HMI_DMA_TYPE1, HMI_DMA_NOIOMMU };

#define HMI_DMA_MAX_RANGES 16
#define HMI_BDF_MAX	   16  /* "0000:00:05.0" and its NUL */
#define HMI_DMA_MAX_GROUPS 256 /* IOMMU groups one domain spans */

/* One usable IOVA range of the domain, both ends inclusive. */
struct hmi_iova_range {
	uint64_t start, last;
};

struct hmi_dma_dev {
	char bdf[HMI_BDF_MAX]; /* canonical PCI address */
	int fd;		       /* the VFIO device descriptor, -1 when closed */
	int group;	       /* IOMMU group number (type1, noiommu), -1 for iommufd */
	uint32_t dev_id;       /* iommufd's id of the bound device */
};

struct hmi_dma_group {
	int id;
	int fd;
};

/* One mapping: [iova, iova + len) of the domain to this process's [va, va + len). */
struct hmi_dma_map {
	uint64_t va, iova, len;
};

struct hmi_dma {
	enum hmi_dma_backend backend;
	int fd;			/* /dev/iommu or the VFIO container; -1 when closed */
	uint32_t ioas;		/* iommufd: the IOAS id */
	uint64_t align;		/* smallest IOVA alignment the domain accepts */
	uint64_t pgsize;	/* type1: the IOMMU page sizes (bit mask), 0 = unknown */
	uint32_t dma_avail;	/* type1: entries the container may still map, 0 = unknown */
	uint64_t memlock_bytes; /* RLIMIT_MEMLOCK when the domain opened (UINT64_MAX: none) */
	int cap_ipc_lock;	/* ...and whether pinning is exempt from it */
	int noiommu_only;	/* no IOMMU, VFIO's no-IOMMU mode on: what auto suggests */
	struct hmi_dma_dev *devs;
	size_t n_devs, cap_devs;
	struct hmi_dma_group *groups;
	size_t n_groups, cap_groups;
	struct hmi_iova_range ranges[HMI_DMA_MAX_RANGES];
	size_t n_ranges;
	struct hmi_dma_map *ledger;
	size_t n_maps, cap_maps;
	uint64_t mapped_bytes;
	unsigned mask_bits; /* the devices' DMA mask width, 0 = 64 (hmi_dma_request's) */
	/* allocated IOVAs with --max-mem: the IOVA range the plan reserved for
	 * the growth area [grow_va, grow_va + grow_len), which a grown page
	 * takes at its offset there (grow_len 0: none reserved) */
	uint64_t grow_va, grow_iova, grow_len;
};

/* The backend's system calls (dma/iommufd.c, dma/type1.c). */
struct hmi_dma_ops {
	const char *name;
	/* Open the domain; attach the device VD (as the device check read it:
	 * its name, group and cdev) to it, in the slot last added to D. */
	int (*open)(struct hm_ctx *ctx, struct hmi_dma *d);
	int (*attach)(struct hm_ctx *ctx, struct hmi_dma *d, const struct hm_vfio_device *vd);
	/* Once every device is attached: d->ranges, d->align (and type1's
	 * page sizes and entries left). */
	int (*query)(struct hm_ctx *ctx, struct hmi_dma *d);
	int (*map)(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m);
	/* Unmap exactly M; *UNMAPPED = what the kernel says it unmapped. */
	int (*unmap)(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m,
		     uint64_t *unmapped);
};

extern const struct hmi_dma_ops hmi_dma_iommufd_ops;
extern const struct hmi_dma_ops hmi_dma_type1_ops;
extern const struct hmi_dma_ops hmi_dma_noiommu_ops;

/* dma/iova.c — where each segment sits in the domain.
 * FIXED ("VA" or "PA"): IOVAS[i] holds segment i's wanted IOVA (its VA or
 * its physical address), which must lie inside one usable range, aligned to
 * ALIGN, under the devices' DMA mask (MASK_BITS, 0 = 64); else -ERANGE with a
 * message naming the segment, the ranges and the fix.
 * FIXED NULL (allocated): the segments in order, each at the lowest address
 * of a range aligned to its page size (and ALIGN) above the previous one,
 * never at 0, under the mask; -ENOSPC when they do not fit. Then, when
 * GROW_LEN (the growth area's bytes, --max-mem) is not 0, one range of that
 * length for the growth area by the same rule, aligned to the largest page
 * size of the segments: *GROW_IOVA; -ENOSPC naming --max-mem, the ranges
 * and how much would fit when it does not. FIXED: GROW_LEN is not used (a
 * grown unit sits at its VA or physical address, checked when it is mapped). */
int hmi_iova_plan(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n,
		  const struct hmi_iova_range *ranges, size_t n_ranges, uint64_t align,
		  unsigned mask_bits, const char *fixed, uint64_t *iovas, uint64_t grow_len,
		  uint64_t *grow_iova);

/* "[0x0-0xfedfffff] [0xfef00000-0xffffffffffff]" into BUF. */
void hmi_iova_ranges_format(const struct hmi_iova_range *r, size_t n, char *buf, size_t len);

/* dma/ledger.c — the mappings of a domain. A mapping that overlaps
 * another, or the range reserved for the growth area (grow_iova) other than
 * at its own place there, is -EEXIST. */
int hmi_ledger_add(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_map *m);
/* The mapping that starts at IOVA, or NULL. */
const struct hmi_dma_map *hmi_ledger_find(const struct hmi_dma *d, uint64_t iova);
void hmi_ledger_remove(struct hmi_dma *d, uint64_t iova);

/* dma/dma.c — the front. */
struct hmi_dma_request {
	enum hmi_dma_backend backend; /* HMI_DMA_NONE: choose (iommufd, then type1) */
	const char *const *bdfs;      /* PCI addresses, canonical */
	size_t n_bdfs;
	const char *fixed;  /* "VA" or "PA": IOVAS given are the wanted ones; NULL:
			       allocated in the ranges */
	unsigned mask_bits; /* the devices' DMA mask width, 0 = 64 */
	/* --max-mem: the growth area after the segments (grow_len 0: none); with
	 * allocated IOVAs its IOVA range is reserved with the segments' */
	uint64_t grow_va, grow_len;
};

/* Open the domain REQ asks for, attach its devices and read its usable
 * ranges: *OUT. On failure nothing stays open or attached. */
int hmi_dma_open(struct hm_ctx *ctx, const struct hmi_dma_request *req, struct hmi_dma **out);

/* Place the N_SEGS segments in D (IOVAS: as hmi_iova_plan) and map each:
 * on success IOVAS are the devices' addresses (the caller makes them the
 * segments' and rebuilds its translation), and with allocated IOVAs REQ's
 * growth area has its IOVA range (d->grow_*). On failure nothing stays
 * mapped or pinned (D stays open). */
int hmi_dma_map_segments(struct hm_ctx *ctx, struct hmi_dma *d, const struct hmi_dma_request *req,
			 const struct hmi_seg *segs, size_t n_segs, uint64_t *iovas);

/* Map one more range (a growth unit, external memory: grow/) at IOVA, as
 * one mapping, checked as the segments are (usable ranges, the DMA mask,
 * type1's entry limit, RLIMIT_MEMLOCK) and written in the ledger. Nothing
 * to map in no-IOMMU mode. */
int hmi_dma_map_range(struct hm_ctx *ctx, struct hmi_dma *d, uint64_t va, uint64_t iova,
		      uint64_t len, uint64_t page_size);
/* Unmap the mapping at IOVA, which must be exactly LEN long (a mapping is
 * never split): -EINVAL naming it otherwise; the unmapped length checked. */
int hmi_dma_unmap_range(struct hm_ctx *ctx, struct hmi_dma *d, uint64_t iova, uint64_t len);

/* Take the primary's domain that the published layout SC describes, over
 * its descriptors FDS (hmi_shconf_fd_count's order, after the memfds: the
 * domain's, each group's, each device's), which become D's (closed on
 * failure too): the devices are usable from this process, the mappings are
 * the primary's (the ledger stays empty: this process unmaps nothing). */
int hmi_dma_adopt(struct hm_ctx *ctx, const struct hmi_shconf *sc, const int *fds,
		  struct hmi_dma **out);

/* Unmap every mapping of D (each unmap's length checked: the first
 * mismatch is the result, -EIO), close the devices and the domain, free D.
 * KEEP_MAPPINGS: other processes still hold the domain (they got its
 * descriptors): only close this process's descriptors. */
int hmi_dma_teardown(struct hm_ctx *ctx, struct hmi_dma *d, int keep_mappings);

/* dma/udmabuf.c — a dma-buf over N pieces of sealed memfds, in order:
 * its descriptor (close-on-exec, the caller's), or -errno. */
struct hmi_udmabuf_item {
	int memfd;
	uint64_t offset, len; /* page aligned */
};
int hmi_udmabuf_create(struct hm_ctx *ctx, const struct hmi_udmabuf_item *items, size_t n);

/* The name of a backend: "iommufd", "type1", "noiommu", "off". */
const char *hmi_dma_backend_name(enum hmi_dma_backend b);

#endif
