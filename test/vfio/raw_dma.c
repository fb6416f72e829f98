/* SPDX-License-Identifier: MIT */
/*
 * raw_dma.c — the VFIO guest's first test and the baseline for the DMA
 * layer's: a device really reads and writes hugemem's memory, through every
 * VFIO backend, driven with raw ioctls (no hugemem DMA code involved).
 *
 *   raw_dma BDF HUGE_DIR MODE      (run by the guest's init, see vfio_guest.h)
 *
 * The memory is a hugemem primary (hm_init -m 8M on HUGE_DIR, prefix
 * "raw_dma") with a 64 KiB zone (hm_memzone_reserve). Then, by boot mode:
 *
 *  iommu     (a) iommufd: /dev/iommu IOAS_ALLOC, the edu's cdev
 *                /dev/vfio/devices/vfioN, BIND_IOMMUFD, ATTACH_IOMMUFD_PT,
 *                IOVA_RANGES (every segment must fit at IOVA = VA), IOAS_MAP
 *                of each segment at IOVA = VA;
 *            (b) type1, after (a) closed everything: /dev/vfio/vfio + the
 *                group, SET_IOMMU(TYPE1v2), GET_DEVICE_FD, MAP_DMA of each
 *                segment at IOVA = VA;
 *            each: edu DMA of a pattern from the zone to the device and back
 *            into another part of the zone (compared), the end of every
 *            segment read by the device, unmap, and a DMA to the unmapped
 *            IOVA must leave memory unchanged (the guest logs a DMAR fault).
 *  iommu39   the IOMMU translates 39 bits, the primary's VAs start at 2^45:
 *            IOVA_RANGES must not hold them, IOAS_MAP and MAP_DMA at IOVA = VA
 *            must be refused (no DMA).
 *  noiommu   (c) no-IOMMU group + container (VFIO_NOIOMMU_IOMMU): the same DMA
 *                at the physical addresses hugemem reports (IOVA = PA mode,
 *                the default as root): the zone's IOVA, hm_virt2iova.
 *
 * TAP (test/tap.h) on stdout; each description names the backend. The
 * guest's init prefixes them with the mode and this program's name.
 */
#include "hugemem.h"

#include "edu.h"
#include "tap.h"
#include "vfio_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define PREFIX	 "raw_dma"
#define MEM	 (8ULL << 20)
#define ZONE_LEN (64u << 10)
#define DST_OFF	 (32u << 10) /* where the device writes back, in the zone */
#define MAX_SEGS 16
#define POISON	 0xee

/* The memory every backend DMAs into: the primary's zone and segments. */
struct mem {
	struct hm_ctx *ctx;
	struct hm_memzone zone;
	int n_segs;
	struct hm_segment segs[MAX_SEGS];
};

/* A check on a call's result R (0 or -errno): the errno goes to a diagnostic. */
#define ok_rc(r, ...) (ok((r) == 0, __VA_ARGS__) || (diag("  %s", strerror(-(r))), 0))

/* A failed step of opening a backend: "not ok" with what failed and errno
 * (read first: printing may change it). Returns -1, which ends the backend. */
__attribute__((format(printf, 1, 2))) static int step_failed(const char *fmt, ...)
{
	char what[256];
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ok(0, "%s (%s)", what, strerror(err));
	return -1;
}

/* ------------------------------------------------------------------ DMA checks (any backend) */

/* A bus address for VA: IOVA = VA behind an IOMMU, hugemem's IOVA without. */
static uint64_t bus_addr(const struct mem *m, const void *va, int iova_is_va)
{
	return iova_is_va ? (uint64_t)(uintptr_t)va : hm_virt2iova(m->ctx, va);
}

/* Zone -> device -> another part of the zone; the two must match. */
static void round_trip(struct edu *e, const char *backend, const struct mem *m, int iova_is_va)
{
	uint8_t *z = m->zone.va;
	uint64_t bus = bus_addr(m, z, iova_is_va);
	int r1, r2;

	memset(z, 0, ZONE_LEN);
	edu_fill(z, EDU_MAX_LEN, 0x5a);
	r1 = edu_dma_to_device(e, bus, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	r2 = r1 ? r1 : edu_dma_to_ram(e, bus + DST_OFF, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	if (!ok(r2 == 0 && memcmp(z, z + DST_OFF, EDU_MAX_LEN) == 0,
		"%s: edu DMA of %d bytes from the primary's zone to the device and back into the "
		"zone (bus address 0x%llx)",
		backend, EDU_MAX_LEN, (unsigned long long)bus))
		diag("  %s", r2 ? e->err : "the bytes written back differ");
}

/* The device reads the last bytes of every segment (reads only: the heap
 * owns that memory), written back into the zone: every segment is mapped. */
static void segments_readable(struct edu *e, const char *backend, const struct mem *m,
			      int iova_is_va)
{
	uint8_t *dst = (uint8_t *)m->zone.va + DST_OFF;
	int good = 0, r = 0;

	for (int i = 0; i < m->n_segs && r == 0; i++) {
		const uint8_t *end = (const uint8_t *)m->segs[i].va + m->segs[i].len - EDU_MAX_LEN;

		for (int b = 0; b < EDU_MAX_LEN; b++) /* differs from the source in every byte */
			dst[b] = (uint8_t)~end[b];
		r = edu_dma_to_device(e, bus_addr(m, end, iova_is_va), EDU_MAX_LEN, EDU_TIMEOUT_MS);
		if (r == 0)
			r = edu_dma_to_ram(e, bus_addr(m, dst, iova_is_va), EDU_MAX_LEN,
					   EDU_TIMEOUT_MS);
		good += r == 0 && memcmp(end, dst, EDU_MAX_LEN) == 0;
	}
	if (!ok(good == m->n_segs, "%s: edu reads the end of each of the primary's %d segment(s)",
		backend, m->n_segs))
		diag("  %d of %d read back right%s%s", good, m->n_segs, r ? ": " : "",
		     r ? e->err : "");
}

/* After the unmap: a device write to the zone's old IOVA must not land. */
static void write_blocked(struct edu *e, const char *backend, const struct mem *m)
{
	uint8_t *z = (uint8_t *)m->zone.va + DST_OFF;
	int r, untouched = 1;

	memset(z, POISON, EDU_MAX_LEN);
	r = edu_dma_to_ram(e, (uint64_t)(uintptr_t)z, EDU_MAX_LEN, EDU_TIMEOUT_MS);
	for (int i = 0; i < EDU_MAX_LEN; i++)
		untouched &= z[i] == POISON;
	if (!ok(untouched, "%s: edu DMA to the unmapped IOVA leaves the primary's memory unchanged",
		backend))
		diag("  the IOMMU let the write through (DMA: %s)", r ? e->err : "completed");
}

/* edu_open + the checks while mapped. */
static int drive_edu(struct edu *e, int devfd, const char *backend, const struct mem *m,
		     int iova_is_va)
{
	int r = edu_open(e, devfd);

	if (!ok(r == 0, "%s: edu answers (ident, liveness, bus mastering)", backend)) {
		diag("  %s", e->err);
		return r;
	}
	diag("edu ident 0x%08x, PCI command 0x%04x, BAR0 %s", e->ident, e->command,
	     e->bar0 ? "mapped" : "by pread/pwrite");
	round_trip(e, backend, m, iova_is_va);
	segments_readable(e, backend, m, iova_is_va);
	return 0;
}

/* ------------------------------------------------------------------ (a) iommufd */

struct iofd {
	int fd, dev;
	uint32_t ioas;
};

static int ioas_ranges_hold(const struct iofd *io, const struct mem *m)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges q = {.size = sizeof(q), .ioas_id = io->ioas};
	int held = 0;

	q.num_iovas = 16;
	q.allowed_iovas = (uintptr_t)ranges;
	if (ioctl(io->fd, IOMMU_IOAS_IOVA_RANGES, &q) < 0)
		return -errno;
	for (uint32_t i = 0; i < q.num_iovas && i < 16; i++) {
		diag("IOVA range [0x%llx, 0x%llx]", (unsigned long long)ranges[i].start,
		     (unsigned long long)ranges[i].last);
		for (int s = 0; s < m->n_segs; s++) {
			uint64_t va = (uintptr_t)m->segs[s].va;

			held += va >= ranges[i].start && va + m->segs[s].len - 1 <= ranges[i].last;
		}
	}
	return held == m->n_segs ? 0 : -ERANGE;
}

static int ioas_map_all(const struct iofd *io, const struct mem *m)
{
	for (int s = 0; s < m->n_segs; s++) {
		struct iommu_ioas_map map = {
		    .size = sizeof(map),
		    .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			     IOMMU_IOAS_MAP_WRITEABLE,
		    .ioas_id = io->ioas,
		    .user_va = (uintptr_t)m->segs[s].va,
		    .length = m->segs[s].len,
		    .iova = (uintptr_t)m->segs[s].va,
		};

		if (ioctl(io->fd, IOMMU_IOAS_MAP, &map) < 0)
			return -errno;
	}
	return 0;
}

/* Unmap each segment; the kernel must report each whole length. */
static int ioas_unmap_all(const struct iofd *io, const struct mem *m)
{
	for (int s = 0; s < m->n_segs; s++) {
		struct iommu_ioas_unmap u = {.size = sizeof(u),
					     .ioas_id = io->ioas,
					     .iova = (uintptr_t)m->segs[s].va,
					     .length = m->segs[s].len};

		if (ioctl(io->fd, IOMMU_IOAS_UNMAP, &u) < 0)
			return -errno;
		if (u.length != m->segs[s].len)
			return -EIO;
	}
	return 0;
}

/* /dev/iommu + IOAS, the cdev bound and attached to it. */
static int iofd_open(struct iofd *io, const char *bdf)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind)};
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at)};
	char cdev[PATH_MAX];

	io->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (io->fd < 0 || ioctl(io->fd, IOMMU_IOAS_ALLOC, &a) < 0)
		return step_failed("iommufd: /dev/iommu, IOMMU_IOAS_ALLOC");
	io->ioas = a.out_ioas_id;
	errno = ENOENT;
	if (vg_cdev_path(bdf, cdev, sizeof(cdev)) < 0)
		return step_failed("iommufd: %s has a VFIO cdev", bdf);
	io->dev = open(cdev, O_RDWR | O_CLOEXEC);
	bind.iommufd = io->fd;
	if (io->dev < 0 || ioctl(io->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return step_failed("iommufd: open %s, VFIO_DEVICE_BIND_IOMMUFD", cdev);
	at.pt_id = io->ioas;
	if (ioctl(io->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0)
		return step_failed("iommufd: VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u", io->ioas);
	ok(1, "iommufd: %s bound (dev_id %u) and attached to IOAS %u", cdev, bind.out_devid,
	   io->ioas);
	return 0;
}

static void iofd_close(struct iofd *io)
{
	struct vfio_device_detach_iommufd_pt dt = {.argsz = sizeof(dt)};
	struct iommu_destroy d = {.size = sizeof(d), .id = io->ioas};

	if (io->dev >= 0) {
		ioctl(io->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);
		close(io->dev);
	}
	if (io->fd >= 0) {
		ioctl(io->fd, IOMMU_DESTROY, &d);
		close(io->fd);
	}
}

static void test_iommufd(const struct vg_args *a, const struct mem *m)
{
	struct iofd io = {.fd = -1, .dev = -1};
	struct edu e;
	int r;

	if (iofd_open(&io, a->bdf) == 0) {
		r = ioas_ranges_hold(&io, m);
		ok_rc(r, "iommufd: IOMMU_IOAS_IOVA_RANGES hold every segment at IOVA = VA");
		r = ioas_map_all(&io, m);
		if (ok_rc(r, "iommufd: IOMMU_IOAS_MAP of the primary's %d segment(s) at IOVA = VA",
			  m->n_segs) &&
		    drive_edu(&e, io.dev, "iommufd", m, 1) == 0) {
			r = ioas_unmap_all(&io, m);
			ok_rc(r, "iommufd: IOMMU_IOAS_UNMAP of each segment gives back its length");
			write_blocked(&e, "iommufd", m);
			edu_close(&e);
		}
	}
	iofd_close(&io);
}

/* ------------------------------------------------------------------ (b) type1 and (c) noiommu */

struct legacy {
	int container, group, dev;
};

/* Container + group + IOMMU driver TYPE (type1v2 or no-IOMMU) + device fd. */
static int legacy_open(struct legacy *l, const char *bdf, unsigned long type, const char *backend)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	char group[PATH_MAX];
	int r;

	l->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	errno = ENOTSUP;
	if (l->container < 0 || ioctl(l->container, VFIO_CHECK_EXTENSION, type) != 1)
		return step_failed("%s: /dev/vfio/vfio offers the IOMMU driver", backend);
	r = vg_group_path(bdf, type == VFIO_NOIOMMU_IOMMU, group, sizeof(group));
	if (r < 0) {
		errno = -r;
		return step_failed("%s: %s is in an IOMMU group", backend, bdf);
	}
	l->group = open(group, O_RDWR | O_CLOEXEC);
	if (l->group < 0 || ioctl(l->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return step_failed("%s: open %s, VFIO_GROUP_GET_STATUS", backend, group);
	errno = EBUSY;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return step_failed("%s: group %s is viable", backend, group);
	if (ioctl(l->group, VFIO_GROUP_SET_CONTAINER, &l->container) < 0 ||
	    ioctl(l->container, VFIO_SET_IOMMU, type) < 0)
		return step_failed("%s: VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU", backend);
	l->dev = ioctl(l->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (l->dev < 0)
		return step_failed("%s: VFIO_GROUP_GET_DEVICE_FD(%s)", backend, bdf);
	ok(1, "%s: %s in a container, device fd from VFIO_GROUP_GET_DEVICE_FD", backend, group);
	return 0;
}

static void legacy_close(struct legacy *l)
{
	if (l->dev >= 0)
		close(l->dev);
	if (l->group >= 0) {
		ioctl(l->group, VFIO_GROUP_UNSET_CONTAINER);
		close(l->group);
	}
	if (l->container >= 0)
		close(l->container);
}

static int type1_map_all(const struct legacy *l, const struct mem *m)
{
	for (int s = 0; s < m->n_segs; s++) {
		struct vfio_iommu_type1_dma_map map = {
		    .argsz = sizeof(map),
		    .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		    .vaddr = (uintptr_t)m->segs[s].va,
		    .iova = (uintptr_t)m->segs[s].va,
		    .size = m->segs[s].len,
		};

		if (ioctl(l->container, VFIO_IOMMU_MAP_DMA, &map) < 0)
			return -errno;
	}
	return 0;
}

static int type1_unmap_all(const struct legacy *l, const struct mem *m)
{
	for (int s = 0; s < m->n_segs; s++) {
		struct vfio_iommu_type1_dma_unmap u = {
		    .argsz = sizeof(u), .iova = (uintptr_t)m->segs[s].va, .size = m->segs[s].len};

		if (ioctl(l->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
			return -errno;
		if (u.size != m->segs[s].len)
			return -EIO;
	}
	return 0;
}

static void test_type1(const struct vg_args *a, const struct mem *m)
{
	struct legacy l = {.container = -1, .group = -1, .dev = -1};
	struct edu e;
	int r;

	if (legacy_open(&l, a->bdf, VFIO_TYPE1v2_IOMMU, "type1") == 0) {
		r = type1_map_all(&l, m);
		if (ok_rc(r,
			  "type1: VFIO_IOMMU_MAP_DMA of the primary's %d segment(s) at "
			  "IOVA = VA",
			  m->n_segs) &&
		    drive_edu(&e, l.dev, "type1", m, 1) == 0) {
			r = type1_unmap_all(&l, m);
			ok_rc(r,
			      "type1: VFIO_IOMMU_UNMAP_DMA of each segment gives back its length");
			write_blocked(&e, "type1", m);
			edu_close(&e);
		}
	}
	legacy_close(&l);
}

/* aw-bits=39: the primary's VAs (2^45 up) are past what the IOMMU translates,
 * so IOVA = VA must be refused by both backends, before any DMA. */
static void test_narrow(const struct vg_args *a, const struct mem *m)
{
	struct iofd io = {.fd = -1, .dev = -1};
	struct legacy l = {.container = -1, .group = -1, .dev = -1};
	int r;

	if (iofd_open(&io, a->bdf) == 0) {
		ok(ioas_ranges_hold(&io, m) == -ERANGE,
		   "iommufd: IOMMU_IOAS_IOVA_RANGES do not hold the primary's VAs (39-bit IOMMU)");
		r = ioas_map_all(&io, m);
		ok(r < 0, "iommufd: IOMMU_IOAS_MAP at IOVA = VA is refused (%s)",
		   r ? strerror(-r) : "it was accepted");
		ioas_unmap_all(&io, m);
	}
	iofd_close(&io);
	if (legacy_open(&l, a->bdf, VFIO_TYPE1v2_IOMMU, "type1") == 0) {
		r = type1_map_all(&l, m);
		ok(r < 0, "type1: VFIO_IOMMU_MAP_DMA at IOVA = VA is refused (%s)",
		   r ? strerror(-r) : "it was accepted");
		type1_unmap_all(&l, m);
	}
	legacy_close(&l);
}

static void test_noiommu(const struct vg_args *a, const struct mem *m)
{
	struct legacy l = {.container = -1, .group = -1, .dev = -1};
	const struct hm_layout_info *lay = hm_layout(m->ctx);
	struct edu e;

	ok(lay->iova_mode == HM_IOVA_PA,
	   "noiommu: the primary runs in IOVA = PA mode (root's default)");
	is_u64(hm_virt2iova(m->ctx, m->zone.va), m->zone.iova,
	       "noiommu: hm_virt2iova of the zone is the zone's IOVA");
	if (legacy_open(&l, a->bdf, VFIO_NOIOMMU_IOMMU, "noiommu") == 0 &&
	    drive_edu(&e, l.dev, "noiommu", m, 0) == 0)
		edu_close(&e);
	legacy_close(&l);
}

/* ------------------------------------------------------------------ main */

static int mem_open(struct mem *m, const char *huge_dir)
{
	char msg[512];
	int r = vg_primary(&m->ctx, huge_dir, PREFIX, MEM, msg, sizeof(msg));

	if (!ok(r == 0, "hugemem: a primary of %llu MiB on %s", MEM >> 20, huge_dir)) {
		diag("  %s", msg);
		return r;
	}
	m->n_segs = hm_layout(m->ctx)->n_segments;
	for (int i = 0; i < m->n_segs && i < MAX_SEGS; i++) {
		hm_segment_get(m->ctx, i, &m->segs[i]);
		diag("segment %d: va %p iova 0x%llx len %llu MiB", i, m->segs[i].va,
		     (unsigned long long)m->segs[i].iova,
		     (unsigned long long)(m->segs[i].len >> 20));
	}
	if (m->n_segs > MAX_SEGS)
		m->n_segs = MAX_SEGS;
	r = hm_memzone_reserve(m->ctx, PREFIX, ZONE_LEN, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 4096,
			       &m->zone);
	if (!ok(r == 0, "hugemem: hm_memzone_reserve of a %u KiB zone", ZONE_LEN >> 10))
		diag("  %s", hm_errmsg(m->ctx));
	return r;
}

int main(int argc, char **argv)
{
	struct vg_args a;
	struct mem m = {0};

	if (vg_args_parse(argc, argv, &a) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mem_open(&m, a.huge_dir) == 0) {
		if (strcmp(a.mode, "noiommu") == 0) {
			test_noiommu(&a, &m);
		} else if (strcmp(a.mode, "iommu39") == 0) {
			test_narrow(&a, &m);
		} else {
			test_iommufd(&a, &m);
			test_type1(&a, &m);
		}
	}
	if (m.ctx)
		is_int(vg_primary_end(m.ctx), 0, "hugemem: hm_fini gives everything back");
	return done();
}
