/* SPDX-License-Identifier: MIT */
/*
 * dma/iova.c — where each segment sits in the device's address space.
 *
 * The IOMMU translates only inside its usable ranges: the driver reports
 * them once a device is attached (the x86 MSI window 0xfee00000-0xfeefffff
 * is always a hole; the top is the IOMMU's address width, 48 bits on most
 * machines, 39 on some). A device can also address only so many bits (its
 * DMA mask). Two placements:
 *
 *  - fixed: IOVA = VA (or = PA, as DPDK's --iova-mode pa over VFIO): every
 *    segment at its own virtual (physical) address; with VA a pointer is
 *    its IO address and the heap, zones and hm_virt2iova need no table. It
 *    works when the window lies inside a range: user VAs reach 2^47, so a
 *    39-bit IOMMU or a 32-bit device cannot have it. Then the plan fails,
 *    naming the segment, the ranges and the fix, before anything is pinned.
 *  - allocated: the segments in VA order, each at the lowest address of a
 *    range aligned to its page size (so the IOMMU can use superpages)
 *    above the one before, never at 0 (a device writing through a null
 *    IOVA must fault, not hit memory). Ascending in VA and IOVA alike, so
 *    the translation index stays sorted both ways. With --max-mem the
 *    growth area gets one range too, after the segments by the same rule:
 *    reserved now, so that growth cannot run out of IO space later, and a
 *    grown page's IOVA is the range's start plus its offset in the area (as
 *    the area is one VA range, its units are IOVA-contiguous as mapped).
 */
#include "dma/dma.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t mask_last(unsigned bits)
{
	return bits == 0 || bits >= 64 ? UINT64_MAX : (1ULL << bits) - 1;
}

void hmi_iova_ranges_format(const struct hmi_iova_range *r, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s[0x%" PRIx64 "-0x%" PRIx64 "]",
				 i ? " " : "", r[i].start, r[i].last);

		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/* Does [start, start + len) lie inside one range and under LAST? */
static int fits(const struct hmi_iova_range *r, size_t n, uint64_t start, uint64_t len,
		uint64_t last)
{
	uint64_t end = start + len - 1;

	if (len == 0 || end < start || end > last)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (start >= r[i].start && end <= r[i].last)
			return 1;
	return 0;
}

static int fixed_refused(struct hm_ctx *ctx, const struct hmi_seg *s, size_t i, uint64_t iova,
			 const char *fixed, const struct hmi_iova_range *r, size_t n,
			 unsigned mask_bits)
{
	char ranges[512], mask[64] = "";

	hmi_iova_ranges_format(r, n, ranges, sizeof(ranges));
	if (mask_bits && mask_bits < 64)
		snprintf(mask, sizeof(mask), ", or above the devices' %u-bit DMA mask", mask_bits);
	return hmi_err(ctx, ERANGE,
		       "IOVA = %s does not fit: segment %zu (%s at 0x%" PRIx64 "-0x%" PRIx64
		       ") lies outside the IOMMU's usable IOVA ranges %s%s: use --iova-mode alloc "
		       "(IOVAs placed inside the ranges)%s",
		       fixed, i, fixed, iova, iova + s->len - 1, ranges, mask,
		       strcmp(fixed, "VA") == 0 ? ", or a --base-virtaddr inside a range" : "");
}

/* The lowest address of range R >= FROM aligned to ALIGN, never 0; 0 when
 * it would wrap. */
static uint64_t aligned_start(const struct hmi_iova_range *r, uint64_t from, uint64_t align)
{
	uint64_t start = r->start > from ? r->start : from;

	if (start > UINT64_MAX - (align - 1))
		return 0;
	start = (start + align - 1) & ~(align - 1);
	return start ? start : align;
}

/* The lowest address >= FROM aligned to ALIGN where LEN bytes fit in a
 * range under LAST; 0 when none. */
static uint64_t first_fit(const struct hmi_iova_range *r, size_t n, uint64_t from, uint64_t align,
			  uint64_t len, uint64_t last)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t start = aligned_start(&r[i], from, align);

		if (start && fits(&r[i], 1, start, len, last))
			return start;
	}
	return 0;
}

/* The most bytes, a multiple of ALIGN, that fit from an address >= FROM
 * aligned to ALIGN in one range under LAST (what --max-mem could have). */
static uint64_t largest_fit(const struct hmi_iova_range *r, size_t n, uint64_t from, uint64_t align,
			    uint64_t last)
{
	uint64_t best = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t start = aligned_start(&r[i], from, align);
		uint64_t end = r[i].last < last ? r[i].last : last;

		if (start && start <= end && (end - start + 1) / align * align > best)
			best = (end - start + 1) / align * align;
	}
	return best;
}

/* The growth area's range of LEN bytes, from FROM on: *IOVA, aligned to
 * ALIGN; -ENOSPC naming --max-mem and what would fit (START: the bytes the
 * segments hold, which --max-mem counts too). */
static int place_growth(struct hm_ctx *ctx, const struct hmi_iova_range *r, size_t n, uint64_t from,
			uint64_t align, uint64_t last, uint64_t len, uint64_t start, uint64_t *iova)
{
	uint64_t fit = largest_fit(r, n, from, align, last);
	char ranges[512], want[32], room[32], max[32];

	*iova = first_fit(r, n, from, align, len, last);
	if (*iova)
		return 0;
	hmi_iova_ranges_format(r, n, ranges, sizeof(ranges));
	hmi_format_size(len, want, sizeof(want));
	hmi_format_size(fit, room, sizeof(room));
	hmi_format_size(start + fit, max, sizeof(max));
	return hmi_err(ctx, ENOSPC,
		       "--max-mem: the growth area's %s of IO addresses do not fit after the "
		       "segments' (which end at 0x%" PRIx64
		       ") in the IOMMU's usable IOVA ranges %s under "
		       "the DMA mask 0x%" PRIx64 ": %s of growth fits there: give a smaller "
		       "--max-mem (at most %s, start memory included) or --socket-max-mem%s",
		       want, from, ranges, last, room, max,
		       last != UINT64_MAX ? ", or a wider --dma-mask-bits" : "");
}

static int alloc_plan(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n,
		      const struct hmi_iova_range *r, size_t n_ranges, uint64_t align,
		      uint64_t last, uint64_t *iovas, uint64_t grow_len, uint64_t *grow_iova)
{
	uint64_t from = 0, grow_align = align, start = 0;
	char ranges[512], size[32];

	for (size_t i = 0; i < n; i++) {
		uint64_t a = segs[i].page_size > align ? segs[i].page_size : align;

		iovas[i] = first_fit(r, n_ranges, from, a, segs[i].len, last);
		if (iovas[i] == 0) {
			hmi_iova_ranges_format(r, n_ranges, ranges, sizeof(ranges));
			hmi_format_size(segs[i].len, size, sizeof(size));
			return hmi_err(ctx, ENOSPC,
				       "no room for segment %zu (%s) in the IOMMU's usable IOVA "
				       "ranges %s under the DMA mask 0x%" PRIx64
				       ": map less memory, or give a wider --dma-mask-bits",
				       i, size, ranges, last);
		}
		from = iovas[i] + segs[i].len;
		start += segs[i].len;
		grow_align = a > grow_align ? a : grow_align;
	}
	if (!grow_len)
		return 0;
	return place_growth(ctx, r, n_ranges, from, grow_align, last, grow_len, start, grow_iova);
}

int hmi_iova_plan(struct hm_ctx *ctx, const struct hmi_seg *segs, size_t n,
		  const struct hmi_iova_range *ranges, size_t n_ranges, uint64_t align,
		  unsigned mask_bits, const char *fixed, uint64_t *iovas, uint64_t grow_len,
		  uint64_t *grow_iova)
{
	uint64_t last = mask_last(mask_bits);

	if (align == 0 || (align & (align - 1)))
		return hmi_err(ctx, EINVAL, "IOVA alignment %" PRIu64 " is not a power of two",
			       align);
	if (!fixed)
		return alloc_plan(ctx, segs, n, ranges, n_ranges, align, last, iovas, grow_len,
				  grow_iova);
	for (size_t i = 0; i < n; i++)
		if (!fits(ranges, n_ranges, iovas[i], segs[i].len, last) || iovas[i] % align)
			return fixed_refused(ctx, &segs[i], i, iovas[i], fixed, ranges, n_ranges,
					     mask_bits);
	return 0;
}
