/* SPDX-License-Identifier: MIT */
/*
 * shconf/layout_file.c — the layout a primary publishes for its secondaries (step
 * B11 of docs/design.md): encoding, decoding and the atomic file <dir>/layout.
 *
 * The file is a fixed-width, little-endian binary format written field by
 * field with byte helpers (never a memcpy of a host struct, so padding,
 * endianness and enum widths of the compiler never leak into it). Format
 * version 4:
 *
 *   header (HDR_SIZE = 8384 bytes)
 *   offset size  field
 *        0    8  magic "HUGEMEM\0"
 *        8    4  format version (4)
 *       12    4  header size (8384)
 *       16    8  total file size in bytes
 *       24    8  checksum: FNV-1a 64 of the whole file, these 8 bytes taken as 0
 *       32    4  primary pid (int32)
 *       36    4  backing kind (enum hmi_backing_kind: 0 page files, 1 single
 *                file, 2 memfd, 3 anonymous)
 *       40    4  IOVA mode (enum hm_iova_mode: 1 PA, 2 VA, 3 allocated; resolved)
 *       44    4  hugepages (0 or 1)
 *       48    8  page size (a power of two, >= 4096)
 *       56    8  VA window base (page aligned)
 *       64    8  VA window length (a multiple of the page size)
 *       72    8  total bytes (= pages * page size)
 *       80    8  number of backing records (B)
 *       88    8  number of page records (P)
 *       96    8  number of segment records (S)
 *      104    8  length of the names area (N bytes)
 *      112   64  file prefix, NUL-padded
 *      176 4096  hugetlbfs directory of the files, NUL-padded ("" for memfd)
 *     4272    4  DMA backend (enum hmi_dma_backend: 0 none, 1 iommufd, 2 type1,
 *                3 no-IOMMU)
 *     4276    4  iommufd IOAS id (0 otherwise)
 *     4280    4  number of DMA device records (D)
 *     4284    4  descriptors the descriptor server hands out (memfds, then the
 *                DMA domain's: hmi_shconf_fd_count)
 *     4288 4096  the directory of the keeper that leased the memfds, NUL-padded
 *                ("" when none did)
 *
 *   backing records, B x 56 bytes, from offset 8384
 *        0    4  kind            4    4  node (int32, -1 = none)
 *        8    8  size in bytes  16    4  name offset in the names area
 *       20    4  name length (< 256, without its NUL)
 *       24    8  st_dev of the file or keeper's memfd (0 for other memfds, anonymous)
 *       32    8  st_ino of the file or keeper's memfd (0 for other memfds, anonymous)
 *       40    4  st_uid of the file
 *       44    4  a keeper's memfd: the primary's descriptor of it plus one (0 otherwise)
 *       48    8  a keeper's memfd: its chunk id (0 otherwise)
 *
 *   page records, P x 32 bytes, after the backings
 *        0    8  va              8    8  iova
 *       16    8  offset in its backing object
 *       24    4  backing index  28    4  node (int32)
 *
 *   segment records, S x 56 bytes, after the pages
 *        0    8  va              8    8  iova
 *       16    8  length (bytes) 24    8  page size
 *       32    8  first page     40    8  number of pages
 *       48    4  node (int32)   52    4  reserved, 0
 *
 *   DMA device records, D x 24 bytes, after the segments
 *        0   16  PCI address, NUL-padded ("0000:00:05.0")
 *       16    4  IOMMU group (int32, -1 with iommufd)
 *       20    4  reserved, 0
 *
 *   names area, N bytes, last: each backing's file name followed by a NUL.
 *
 * Backing names live in a names area rather than in fixed 256-byte fields
 * because page-file backing has one backing per page: 16k pages of page files
 * take 16k x (32 + 24 + ~16) bytes, about 1.1 MiB, instead of 4.8 MiB.
 *
 * Format version 2 (issue 14) added the inode of each file backing (dev,
 * inode, owner): a secondary opens a backing by name, then proves on the
 * descriptor that it is the file the primary created before it maps it, so a
 * file renamed or planted in a mount others may write is refused.
 *
 * Format version 3 (issue 16) added the DMA domain: secondaries fetch its
 * descriptors from the descriptor server and share the primary's mappings.
 *
 * Format version 4 (issue 18) added the keeper: a primary whose memfds a
 * keeper leased names it and each chunk, and its secondaries FETCH the
 * memfds from the keeper (keeper/keeper.h); the primary runs no descriptor
 * server for them (none at all without a DMA domain). Each such memfd also
 * has its inode and the primary's descriptor: a secondary checks what the
 * keeper gave against the inode, and when the keeper is gone (killed: its
 * clients keep their memory) opens /proc/<primary>/fd/<fd> instead, the
 * inode again proving it is the primary's memfd.
 *
 * Checksum: FNV-1a 64. It needs no table (no global, no per-call set-up) and
 * every step (xor a byte, multiply by an odd prime modulo 2^64) is a bijection
 * of the state, so two files that differ in one byte ALWAYS hash differently:
 * every single-bit flip is caught, not just most. Other corruptions slip
 * through with odds of 2^-64. It guards against torn or damaged files, not
 * against an attacker: the file is trusted only when its owner is this user
 * or root (hmi_shconf_read). At about 1 byte per cycle it costs ~0.3 ms for
 * the ~300 KB layout of 4096 pages.
 *
 * Decoding treats the bytes as hostile and checks, in this order: the length
 * holds a header, the magic, the version (-EPROTO), the size field against
 * the length, the checksum, then the header size and that the counts need
 * exactly the file's size (multiplications checked for overflow) — before
 * anything is allocated — and last the contents: the same validation the
 * encoder runs on what it is given (valid kinds and modes, NUL-terminated
 * names, backing indices in range, pages aligned inside the window and inside
 * their backing objects, segments sorted, disjoint, covering every page, and
 * matching their pages in VA, IOVA and node). A primary therefore never
 * publishes a layout its secondaries would refuse.
 *
 * Writing is atomic: DIR/.layout.<pid>.tmp (O_EXCL, O_NOFOLLOW, 0600) is
 * written whole and renamed over DIR/layout; a reader sees the old file or
 * the new one, never half of one. Nothing is fsync'd: the layout describes a
 * running process, so it has no use after a crash of the machine (the
 * process is gone with it), and the two syncs cost ~2 ms of every start. Reading opens
 * DIR/layout with O_NOFOLLOW|O_NONBLOCK (a FIFO planted there cannot hang
 * it), and refuses anything but a regular file owned by this user or root and
 * not writable by group or others.
 */
#include "shconf/shconf.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SC_MAGIC	"HUGEMEM" /* 7 characters and the NUL: 8 bytes */
#define SC_MAGIC_LEN	8
#define SC_VERSION	4u
#define SC_DMA_DEVS_MAX 4096u	     /* more device records is not a layout */
#define SC_READ_MAX	(256u << 20) /* a file beyond this is not a layout */
#define SC_NAME_MAX	256	     /* struct hmi_shconf_backing.name */
#define SC_FNV_OFFSET	0xcbf29ce484222325ULL
#define SC_FNV_PRIME	0x100000001b3ULL
#define SC_TMP_NAME_MAX 64

/* Header fields: offsets in the file. */
enum {
	HDR_MAGIC = 0,
	HDR_VERSION = 8,
	HDR_HDR_SIZE = 12,
	HDR_FILE_SIZE = 16,
	HDR_CHECKSUM = 24,
	HDR_PID = 32,
	HDR_KIND = 36,
	HDR_IOVA_MODE = 40,
	HDR_HUGEPAGES = 44,
	HDR_PAGE_SIZE = 48,
	HDR_VA_BASE = 56,
	HDR_VA_LEN = 64,
	HDR_TOTAL = 72,
	HDR_N_BACKINGS = 80,
	HDR_N_PAGES = 88,
	HDR_N_SEGS = 96,
	HDR_NAMES_LEN = 104,
	HDR_PREFIX = 112,
	HDR_DIR = 176,
	HDR_DMA_BACKEND = 4272,
	HDR_DMA_IOAS = 4276,
	HDR_N_DMA_DEVS = 4280,
	HDR_N_FDS = 4284,
	HDR_KEEPER_DIR = 4288,
	HDR_SIZE = 8384,
};

/* Record fields: offsets in a record. */
enum {
	BREC_KIND = 0,
	BREC_NODE = 4,
	BREC_SIZE = 8,
	BREC_NAME_OFF = 16,
	BREC_NAME_LEN = 20,
	BREC_DEV = 24,
	BREC_INO = 32,
	BREC_UID = 40,
	BREC_FD = 44,
	BREC_CHUNK = 48,
	BREC_BYTES = 56,

	PREC_VA = 0,
	PREC_IOVA = 8,
	PREC_OFFSET = 16,
	PREC_BACKING = 24,
	PREC_NODE = 28,
	PREC_BYTES = 32,

	SREC_VA = 0,
	SREC_IOVA = 8,
	SREC_LEN = 16,
	SREC_PAGE_SIZE = 24,
	SREC_FIRST = 32,
	SREC_N_PAGES = 40,
	SREC_NODE = 48,
	SREC_RESERVED = 52,
	SREC_BYTES = 56,

	DREC_BDF = 0,
	DREC_GROUP = 16,
	DREC_RESERVED = 20,
	DREC_BYTES = 24,
};

#define SC_FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* Each field starts where the one before it ends: no hole, no overlap. */
_Static_assert(sizeof(SC_MAGIC) == SC_MAGIC_LEN, "magic is 8 bytes with its NUL");
_Static_assert(HDR_VERSION == HDR_MAGIC + SC_MAGIC_LEN, "version after magic");
_Static_assert(HDR_HDR_SIZE == HDR_VERSION + 4, "header size after version");
_Static_assert(HDR_FILE_SIZE == HDR_HDR_SIZE + 4, "file size after header size");
_Static_assert(HDR_CHECKSUM == HDR_FILE_SIZE + 8, "checksum after file size");
_Static_assert(HDR_PID == HDR_CHECKSUM + 8, "pid after checksum");
_Static_assert(HDR_KIND == HDR_PID + 4 && HDR_IOVA_MODE == HDR_KIND + 4, "kind, iova mode");
_Static_assert(HDR_HUGEPAGES == HDR_IOVA_MODE + 4, "hugepages after iova mode");
_Static_assert(HDR_PAGE_SIZE == HDR_HUGEPAGES + 4 && HDR_PAGE_SIZE % 8 == 0, "page size");
_Static_assert(HDR_VA_BASE == HDR_PAGE_SIZE + 8 && HDR_VA_LEN == HDR_VA_BASE + 8, "window");
_Static_assert(HDR_TOTAL == HDR_VA_LEN + 8 && HDR_N_BACKINGS == HDR_TOTAL + 8, "totals");
_Static_assert(HDR_N_PAGES == HDR_N_BACKINGS + 8 && HDR_N_SEGS == HDR_N_PAGES + 8, "counts");
_Static_assert(HDR_NAMES_LEN == HDR_N_SEGS + 8 && HDR_PREFIX == HDR_NAMES_LEN + 8, "names");
_Static_assert(HDR_DIR == HDR_PREFIX + SC_FIELD_SIZE(struct hmi_shconf, prefix), "prefix");
_Static_assert(HDR_DMA_BACKEND == HDR_DIR + SC_FIELD_SIZE(struct hmi_shconf, dir), "dma after dir");
_Static_assert(HDR_DMA_IOAS == HDR_DMA_BACKEND + 4 && HDR_N_DMA_DEVS == HDR_DMA_IOAS + 4, "dma");
_Static_assert(HDR_N_FDS == HDR_N_DMA_DEVS + 4 && HDR_KEEPER_DIR == HDR_N_FDS + 4, "fds");
_Static_assert(HDR_SIZE == HDR_KEEPER_DIR + SC_FIELD_SIZE(struct hmi_shconf, keeper_dir), "end");
_Static_assert(DREC_GROUP == DREC_BDF + SC_FIELD_SIZE(struct hmi_shconf_dmadev, bdf), "bdf");
_Static_assert(DREC_RESERVED == DREC_GROUP + 4 && DREC_BYTES == DREC_RESERVED + 4, "24 bytes");
_Static_assert(HDR_SIZE % 8 == 0, "records start 8-byte aligned");
/* The header embeds these sizes: changing them is a new format version. */
_Static_assert(HM_PREFIX_MAX == 64 && HM_PATH_MAX == 4096, "prefix and dir fields");
_Static_assert(SC_FIELD_SIZE(struct hmi_shconf_backing, name) == SC_NAME_MAX, "backing name");
_Static_assert(BREC_NODE == BREC_KIND + 4 && BREC_SIZE == BREC_NODE + 4, "backing fields");
_Static_assert(BREC_NAME_OFF == BREC_SIZE + 8 && BREC_NAME_LEN == BREC_NAME_OFF + 4, "name");
_Static_assert(BREC_DEV == BREC_NAME_LEN + 4 && BREC_INO == BREC_DEV + 8, "file identity");
_Static_assert(BREC_UID == BREC_INO + 8 && BREC_FD == BREC_UID + 4, "owner");
_Static_assert(BREC_CHUNK == BREC_FD + 4 && BREC_BYTES == BREC_CHUNK + 8, "56 bytes");
_Static_assert(PREC_IOVA == PREC_VA + 8 && PREC_OFFSET == PREC_IOVA + 8, "page fields");
_Static_assert(PREC_BACKING == PREC_OFFSET + 8 && PREC_NODE == PREC_BACKING + 4, "page ids");
_Static_assert(PREC_BYTES == PREC_NODE + 4, "page record is 32 bytes");
_Static_assert(SREC_IOVA == SREC_VA + 8 && SREC_LEN == SREC_IOVA + 8, "segment addresses");
_Static_assert(SREC_PAGE_SIZE == SREC_LEN + 8 && SREC_FIRST == SREC_PAGE_SIZE + 8, "segment");
_Static_assert(SREC_N_PAGES == SREC_FIRST + 8 && SREC_NODE == SREC_N_PAGES + 8, "page range");
_Static_assert(SREC_RESERVED == SREC_NODE + 4 && SREC_BYTES == SREC_RESERVED + 4, "56 bytes");
/* The file stores these enum values: renumbering them changes the format. */
_Static_assert(HMI_BACK_PAGE_FILES == 0 && HMI_BACK_SINGLE_FILE == 1, "backing kind numbers");
_Static_assert(HMI_BACK_MEMFD == 2 && HMI_BACK_ANON == 3, "backing kind numbers");
_Static_assert(HM_IOVA_PA == 1 && HM_IOVA_VA == 2 && HM_IOVA_ALLOC == 3, "iova mode numbers");
_Static_assert(sizeof(pid_t) == 4 && sizeof(int) == 4, "pid and node are stored as int32");

/* ------------------------------------------------------------ byte helpers */

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* int32 fields travel as their two's complement bit pattern. */
static int get_i32(const uint8_t *p)
{
	uint32_t v = get_u32(p);

	return v <= INT32_MAX ? (int)v : (int)(v - 0x80000000u) - INT32_MAX - 1;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= SC_FNV_PRIME;
	}
	return h;
}

/* The checksum of FILE[0..LEN): its checksum field counts as zero bytes. */
static uint64_t file_checksum(const uint8_t *file, size_t len)
{
	static const uint8_t zero[8];
	uint64_t h = fnv1a(SC_FNV_OFFSET, file, HDR_CHECKSUM);

	h = fnv1a(h, zero, sizeof(zero));
	return fnv1a(h, file + HDR_CHECKSUM + 8, len - HDR_CHECKSUM - 8);
}

/* ------------------------------------------------------------ validation */

static int node_ok(int node)
{
	return node >= -1 && node < HM_MAX_NODES;
}

static int header_ok(struct hm_ctx *ctx, const struct hmi_shconf *sc, int err, const char *what)
{
	uint64_t ps = sc->page_size;

	if (sc->pid <= 0)
		return hmi_err(ctx, err, "%s: primary pid %d is not a process id", what, sc->pid);
	if ((unsigned)sc->kind > HMI_BACK_ANON)
		return hmi_err(ctx, err, "%s: unknown backing kind %u", what, (unsigned)sc->kind);
	if (sc->iova_mode != HM_IOVA_PA && sc->iova_mode != HM_IOVA_VA &&
	    sc->iova_mode != HM_IOVA_ALLOC)
		return hmi_err(ctx, err, "%s: IOVA mode %u is not PA (1), VA (2) or allocated (3)",
			       what, (unsigned)sc->iova_mode);
	if (sc->hugepages != 0 && sc->hugepages != 1)
		return hmi_err(ctx, err, "%s: hugepages flag %d is not 0 or 1", what,
			       sc->hugepages);
	if (ps < 4096 || (ps & (ps - 1)) != 0)
		return hmi_err(ctx, err, "%s: page size %" PRIu64 " is not a power of two >= 4096",
			       what, ps);
	if (sc->va_base % ps || sc->va_len % ps || sc->va_base > UINT64_MAX - sc->va_len)
		return hmi_err(ctx, err,
			       "%s: VA window 0x%" PRIx64 " + 0x%" PRIx64
			       " is not page aligned or wraps",
			       what, sc->va_base, sc->va_len);
	if (strnlen(sc->prefix, sizeof(sc->prefix)) == sizeof(sc->prefix) ||
	    strnlen(sc->dir, sizeof(sc->dir)) == sizeof(sc->dir) ||
	    strnlen(sc->keeper_dir, sizeof(sc->keeper_dir)) == sizeof(sc->keeper_dir))
		return hmi_err(ctx, err, "%s: file prefix or a directory is not NUL-terminated",
			       what);
	if (sc->keeper_dir[0] && (sc->keeper_dir[0] != '/' || sc->kind != HMI_BACK_MEMFD))
		return hmi_err(ctx, err,
			       "%s: keeper directory '%.64s' with backing kind %u (an absolute "
			       "directory, and memfds, are needed)",
			       what, sc->keeper_dir, (unsigned)sc->kind);
	return 0;
}

static int backings_ok(struct hm_ctx *ctx, const struct hmi_shconf *sc, int err, const char *what)
{
	for (size_t i = 0; i < sc->n_backings; i++) {
		const struct hmi_shconf_backing *b = &sc->backings[i];
		size_t n = strnlen(b->name, sizeof(b->name));

		if ((unsigned)b->kind > HMI_BACK_ANON)
			return hmi_err(ctx, err, "%s: backing %zu has unknown kind %u", what, i,
				       (unsigned)b->kind);
		if (!node_ok(b->node))
			return hmi_err(ctx, err, "%s: backing %zu is on node %d (valid: -1 to %d)",
				       what, i, b->node, HM_MAX_NODES - 1);
		if (n == sizeof(b->name))
			return hmi_err(ctx, err, "%s: backing %zu has a name without its NUL", what,
				       i);
		if (memchr(b->name, '/', n))
			return hmi_err(ctx, err,
				       "%s: backing %zu name '%.40s' is not a plain file name",
				       what, i, b->name);
		/* a file's name comes with its inode (a page file given back
		 * early keeps its record with no name); a memfd has neither,
		 * but a keeper's, which has its inode */
		if ((b->kind == HMI_BACK_PAGE_FILES || b->kind == HMI_BACK_SINGLE_FILE)
			? (n > 0 && b->ino == 0)
			: (n > 0 || (b->ino != 0) != (b->chunk != 0)))
			return hmi_err(ctx, err,
				       "%s: backing %zu has %s name and inode %" PRIu64
				       " (a named file needs an inode, a memfd neither but a "
				       "keeper's)",
				       what, i, n ? "a" : "no", b->ino);
		if ((b->chunk != 0) != (sc->keeper_dir[0] != '\0') || (b->chunk && b->fd < 0))
			return hmi_err(ctx, err,
				       "%s: backing %zu has keeper chunk %" PRIu64
				       " and descriptor %d (every backing has both when a keeper "
				       "is named, neither else)",
				       what, i, b->chunk, b->fd);
	}
	return 0;
}

static int page_ok(struct hm_ctx *ctx, const struct hmi_shconf *sc, size_t i, int err,
		   const char *what)
{
	const struct hmi_page *p = &sc->pages[i];
	uint64_t ps = sc->page_size, size;

	if (p->backing >= sc->n_backings)
		return hmi_err(ctx, err, "%s: page %zu uses backing %" PRIu32 ", but there are %zu",
			       what, i, p->backing, sc->n_backings);
	if (p->va % ps || p->iova % ps || p->offset % ps)
		return hmi_err(ctx, err,
			       "%s: page %zu (va 0x%" PRIx64 ", iova 0x%" PRIx64
			       ", offset 0x%" PRIx64 ") is not aligned to its size",
			       what, i, p->va, p->iova, p->offset);
	if (p->va < sc->va_base || sc->va_len < ps || p->va - sc->va_base > sc->va_len - ps)
		return hmi_err(ctx, err,
			       "%s: page %zu at 0x%" PRIx64 " is outside the window 0x%" PRIx64
			       "+0x%" PRIx64,
			       what, i, p->va, sc->va_base, sc->va_len);
	size = sc->backings[p->backing].size;
	if (size < ps || p->offset > size - ps)
		return hmi_err(ctx, err,
			       "%s: page %zu at offset 0x%" PRIx64
			       " passes the end of backing %" PRIu32 " (%" PRIu64 " bytes)",
			       what, i, p->offset, p->backing, size);
	if (!node_ok(p->node))
		return hmi_err(ctx, err, "%s: page %zu is on node %d", what, i, p->node);
	return 0;
}

/* Segment S against its pages: same page size, node, and consecutive VA and
 * IOVA page after page. */
static int seg_matches_pages(struct hm_ctx *ctx, const struct hmi_shconf *sc, size_t s, int err,
			     const char *what)
{
	const struct hmi_seg *g = &sc->segs[s];
	uint64_t ps = sc->page_size;

	if (g->page_size != ps || g->len / ps != g->n_pages || g->len % ps ||
	    g->va > UINT64_MAX - g->len || g->iova > UINT64_MAX - g->len)
		return hmi_err(ctx, err,
			       "%s: segment %zu has length %" PRIu64 " and page size %" PRIu64
			       " for %zu pages of %" PRIu64,
			       what, s, g->len, g->page_size, g->n_pages, ps);
	for (size_t k = 0; k < g->n_pages; k++) {
		const struct hmi_page *p = &sc->pages[g->first_page + k];

		if (p->va != g->va + k * ps || p->iova != g->iova + k * ps || p->node != g->node)
			return hmi_err(ctx, err,
				       "%s: segment %zu (va 0x%" PRIx64 ", iova 0x%" PRIx64
				       ", node %d) does not match its page %zu (va 0x%" PRIx64
				       ", iova 0x%" PRIx64 ", node %d)",
				       what, s, g->va, g->iova, g->node, g->first_page + k, p->va,
				       p->iova, p->node);
	}
	return 0;
}

/* Segments sorted by VA, disjoint, each over its own pages, together over all
 * pages: disjoint VA ranges whose pages match them cannot share a page, so
 * counting the pages is enough to know every page is covered once. */
static int segs_ok(struct hm_ctx *ctx, const struct hmi_shconf *sc, int err, const char *what)
{
	size_t covered = 0;
	int rc;

	for (size_t s = 0; s < sc->n_segs; s++) {
		const struct hmi_seg *g = &sc->segs[s];

		if (g->n_pages == 0 || g->first_page > sc->n_pages ||
		    g->n_pages > sc->n_pages - g->first_page)
			return hmi_err(ctx, err,
				       "%s: segment %zu names pages %zu + %zu of the %zu there are",
				       what, s, g->first_page, g->n_pages, sc->n_pages);
		rc = seg_matches_pages(ctx, sc, s, err, what);
		if (rc < 0)
			return rc;
		if (s > 0 && g->va < sc->segs[s - 1].va + sc->segs[s - 1].len)
			return hmi_err(ctx, err,
				       "%s: segment %zu at 0x%" PRIx64
				       " overlaps or precedes segment %zu",
				       what, s, g->va, s - 1);
		covered += g->n_pages;
	}
	if (covered != sc->n_pages)
		return hmi_err(ctx, err, "%s: segments cover %zu pages, the layout has %zu", what,
			       covered, sc->n_pages);
	return 0;
}

size_t hmi_shconf_memfd_count(const struct hmi_shconf *sc)
{
	return sc->kind == HMI_BACK_MEMFD && !sc->keeper_dir[0] ? sc->n_backings : 0;
}

size_t hmi_shconf_dma_groups(const struct hmi_shconf *sc, int *ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->n_dma_devs; i++) {
		int g = sc->dma_devs[i].group, seen = 0;

		for (size_t k = 0; k < i && !seen; k++)
			seen = sc->dma_devs[k].group == g;
		if (g < 0 || seen)
			continue;
		if (ids && n < max)
			ids[n] = g;
		n++;
	}
	return n;
}

size_t hmi_shconf_fd_count(const struct hmi_shconf *sc)
{
	size_t n = hmi_shconf_memfd_count(sc);

	if (sc->dma_backend)
		n += 1 + hmi_shconf_dma_groups(sc, NULL, 0) + sc->n_dma_devs;
	return n;
}

/* A PCI address as the kernel spells it: "0000:00:05.0", lower-case hex. */
static int bdf_ok(const char *b, size_t size)
{
	static const char form[] = "hhhh:hh:hh.h";

	if (strnlen(b, size) != sizeof(form) - 1)
		return 0;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == 'h' ? !strchr("0123456789abcdef", b[i]) || !b[i] : b[i] != form[i])
			return 0;
	return 1;
}

static int dma_ok(struct hm_ctx *ctx, const struct hmi_shconf *sc, int err, const char *what)
{
	if (sc->dma_backend > 3 || (sc->dma_backend == 0) != (sc->n_dma_devs == 0))
		return hmi_err(ctx, err, "%s: DMA backend %" PRIu32 " with %zu devices", what,
			       sc->dma_backend, sc->n_dma_devs);
	for (size_t i = 0; i < sc->n_dma_devs; i++) {
		const struct hmi_shconf_dmadev *d = &sc->dma_devs[i];

		if (!bdf_ok(d->bdf, sizeof(d->bdf)) ||
		    (sc->dma_backend == 1 ? d->group != -1 : d->group < 0))
			return hmi_err(ctx, err,
				       "%s: DMA device %zu ('%.16s', group %d) is not valid", what,
				       i, d->bdf, d->group);
	}
	if (sc->n_fds != hmi_shconf_fd_count(sc))
		return hmi_err(ctx, err,
			       "%s: %" PRIu32
			       " descriptors served, the backings and devices make %zu",
			       what, sc->n_fds, hmi_shconf_fd_count(sc));
	return 0;
}

/* Everything a secondary relies on. ERR/WHAT: -EBADMSG "corrupt layout" for
 * a file, -EINVAL for a layout about to be published. */
static int shconf_valid(struct hm_ctx *ctx, const struct hmi_shconf *sc, int err, const char *what)
{
	uint64_t total;
	int rc = header_ok(ctx, sc, err, what);

	if (rc == 0)
		rc = backings_ok(ctx, sc, err, what);
	if (rc == 0)
		rc = dma_ok(ctx, sc, err, what);
	for (size_t i = 0; rc == 0 && i < sc->n_pages; i++)
		rc = page_ok(ctx, sc, i, err, what);
	if (rc == 0)
		rc = segs_ok(ctx, sc, err, what);
	if (rc < 0)
		return rc;
	if (__builtin_mul_overflow((uint64_t)sc->n_pages, sc->page_size, &total) ||
	    total != sc->total_bytes)
		return hmi_err(ctx, err,
			       "%s: total of %" PRIu64 " bytes, but %zu pages of %" PRIu64 " bytes",
			       what, sc->total_bytes, sc->n_pages, sc->page_size);
	return 0;
}

/* ------------------------------------------------------------ encoding */

/* Bytes of the names area: every name and its NUL. */
static int names_length(struct hm_ctx *ctx, const struct hmi_shconf *sc, uint64_t *len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sc->n_backings; i++)
		n += strlen(sc->backings[i].name) + 1; /* at most 256 each: validated */
	if (n > UINT32_MAX)
		return hmi_err(ctx, EINVAL, "layout to publish: %zu backing names exceed 4 GiB",
			       sc->n_backings);
	*len = n;
	return 0;
}

/* The file size for these counts; 0 when it overflows. */
static uint64_t file_size(uint64_t nb, uint64_t np, uint64_t ns, uint64_t nd, uint64_t names)
{
	uint64_t b, p, s, total;

	if (nd > SC_DMA_DEVS_MAX)
		return 0;
	names += nd * DREC_BYTES; /* the device records (bounded just above) */
	if (__builtin_mul_overflow(nb, (uint64_t)BREC_BYTES, &b) ||
	    __builtin_mul_overflow(np, (uint64_t)PREC_BYTES, &p) ||
	    __builtin_mul_overflow(ns, (uint64_t)SREC_BYTES, &s) ||
	    __builtin_add_overflow(b, p, &total) || __builtin_add_overflow(total, s, &total) ||
	    __builtin_add_overflow(total, names, &total) ||
	    __builtin_add_overflow(total, (uint64_t)HDR_SIZE, &total))
		return 0;
	return total;
}

static void encode_header(uint8_t *f, const struct hmi_shconf *sc, uint64_t size,
			  uint64_t names_len)
{
	memcpy(f + HDR_MAGIC, SC_MAGIC, SC_MAGIC_LEN);
	put_u32(f + HDR_VERSION, SC_VERSION);
	put_u32(f + HDR_HDR_SIZE, HDR_SIZE);
	put_u64(f + HDR_FILE_SIZE, size);
	put_u32(f + HDR_PID, (uint32_t)sc->pid);
	put_u32(f + HDR_KIND, (uint32_t)sc->kind);
	put_u32(f + HDR_IOVA_MODE, (uint32_t)sc->iova_mode);
	put_u32(f + HDR_HUGEPAGES, (uint32_t)sc->hugepages);
	put_u64(f + HDR_PAGE_SIZE, sc->page_size);
	put_u64(f + HDR_VA_BASE, sc->va_base);
	put_u64(f + HDR_VA_LEN, sc->va_len);
	put_u64(f + HDR_TOTAL, sc->total_bytes);
	put_u64(f + HDR_N_BACKINGS, sc->n_backings);
	put_u64(f + HDR_N_PAGES, sc->n_pages);
	put_u64(f + HDR_N_SEGS, sc->n_segs);
	put_u64(f + HDR_NAMES_LEN, names_len);
	memcpy(f + HDR_PREFIX, sc->prefix, strlen(sc->prefix)); /* the rest stays 0 */
	memcpy(f + HDR_DIR, sc->dir, strlen(sc->dir));
	memcpy(f + HDR_KEEPER_DIR, sc->keeper_dir, strlen(sc->keeper_dir));
	put_u32(f + HDR_DMA_BACKEND, sc->dma_backend);
	put_u32(f + HDR_DMA_IOAS, sc->dma_ioas);
	put_u32(f + HDR_N_DMA_DEVS, (uint32_t)sc->n_dma_devs);
	put_u32(f + HDR_N_FDS, sc->n_fds);
}

/* Backing records at R, their names into NAMES. */
static void encode_backings(uint8_t *r, uint8_t *names, const struct hmi_shconf *sc)
{
	uint32_t off = 0;

	for (size_t i = 0; i < sc->n_backings; i++, r += BREC_BYTES) {
		const struct hmi_shconf_backing *b = &sc->backings[i];
		uint32_t n = (uint32_t)strlen(b->name);

		put_u32(r + BREC_KIND, (uint32_t)b->kind);
		put_u32(r + BREC_NODE, (uint32_t)b->node);
		put_u64(r + BREC_SIZE, b->size);
		put_u32(r + BREC_NAME_OFF, off);
		put_u32(r + BREC_NAME_LEN, n);
		put_u64(r + BREC_DEV, b->dev);
		put_u64(r + BREC_INO, b->ino);
		put_u32(r + BREC_UID, b->uid);
		put_u32(r + BREC_FD, b->chunk ? (uint32_t)b->fd + 1 : 0);
		put_u64(r + BREC_CHUNK, b->chunk);
		memcpy(names + off, b->name, n + 1);
		off += n + 1;
	}
}

static void encode_pages(uint8_t *r, const struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_pages; i++, r += PREC_BYTES) {
		const struct hmi_page *p = &sc->pages[i];

		put_u64(r + PREC_VA, p->va);
		put_u64(r + PREC_IOVA, p->iova);
		put_u64(r + PREC_OFFSET, p->offset);
		put_u32(r + PREC_BACKING, p->backing);
		put_u32(r + PREC_NODE, (uint32_t)p->node);
	}
}

static void encode_segs(uint8_t *r, const struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_segs; i++, r += SREC_BYTES) {
		const struct hmi_seg *g = &sc->segs[i];

		put_u64(r + SREC_VA, g->va);
		put_u64(r + SREC_IOVA, g->iova);
		put_u64(r + SREC_LEN, g->len);
		put_u64(r + SREC_PAGE_SIZE, g->page_size);
		put_u64(r + SREC_FIRST, g->first_page);
		put_u64(r + SREC_N_PAGES, g->n_pages);
		put_u32(r + SREC_NODE, (uint32_t)g->node);
		put_u32(r + SREC_RESERVED, 0);
	}
}

static void encode_dmadevs(uint8_t *r, const struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_dma_devs; i++, r += DREC_BYTES) {
		memcpy(r + DREC_BDF, sc->dma_devs[i].bdf, strlen(sc->dma_devs[i].bdf));
		put_u32(r + DREC_GROUP, (uint32_t)sc->dma_devs[i].group);
		put_u32(r + DREC_RESERVED, 0);
	}
}

int hmi_shconf_encode(struct hm_ctx *ctx, const struct hmi_shconf *sc, void **bufp, size_t *lenp)
{
	uint64_t names_len = 0, size;
	uint8_t *f, *pages;
	int rc = shconf_valid(ctx, sc, EINVAL, "layout to publish is inconsistent");

	if (rc == 0)
		rc = names_length(ctx, sc, &names_len);
	if (rc < 0)
		return rc;
	size = file_size(sc->n_backings, sc->n_pages, sc->n_segs, sc->n_dma_devs, names_len);
	if (size == 0 || size > SC_READ_MAX)
		return hmi_err(ctx, EFBIG,
			       "layout of %zu pages and %zu backings is larger than %u MiB",
			       sc->n_pages, sc->n_backings, SC_READ_MAX >> 20);
	f = calloc(1, (size_t)size);
	if (!f)
		return hmi_err(ctx, ENOMEM, "out of memory for a %" PRIu64 "-byte layout", size);
	pages = f + HDR_SIZE + sc->n_backings * BREC_BYTES;
	encode_header(f, sc, size, names_len);
	encode_backings(f + HDR_SIZE, f + size - names_len, sc);
	encode_pages(pages, sc);
	encode_segs(pages + sc->n_pages * PREC_BYTES, sc);
	encode_dmadevs(pages + sc->n_pages * PREC_BYTES + sc->n_segs * SREC_BYTES, sc);
	put_u64(f + HDR_CHECKSUM, file_checksum(f, (size_t)size));
	*bufp = f;
	*lenp = (size_t)size;
	return 0;
}

/* ------------------------------------------------------------ decoding */

/* What wraps the contents: length, magic, version, size field, checksum. */
static int check_envelope(struct hm_ctx *ctx, const uint8_t *f, size_t len)
{
	uint32_t version;
	uint64_t size;

	if (len < HDR_SIZE)
		return hmi_err(
		    ctx, EBADMSG,
		    "truncated layout (%zu bytes, header needs %d): the primary may have "
		    "died while publishing; start it again",
		    len, HDR_SIZE);
	if (memcmp(f + HDR_MAGIC, SC_MAGIC, SC_MAGIC_LEN) != 0)
		return hmi_err(ctx, EBADMSG, "not a hugemem layout file (bad magic)");
	version = get_u32(f + HDR_VERSION);
	if (version != SC_VERSION)
		return hmi_err(ctx, EPROTO,
			       "layout format version %" PRIu32 ", this hugemem reads %u: use the "
			       "same hugemem for primary and secondaries",
			       version, SC_VERSION);
	size = get_u64(f + HDR_FILE_SIZE);
	if (size > len)
		return hmi_err(ctx, EBADMSG,
			       "truncated layout (%zu bytes, its header says %" PRIu64
			       "): the primary may have died while publishing; start it again",
			       len, size);
	if (size < len)
		return hmi_err(ctx, EBADMSG,
			       "layout has trailing bytes (%zu bytes, its header says %" PRIu64
			       "): the file is corrupt",
			       len, size);
	if (get_u64(f + HDR_CHECKSUM) != file_checksum(f, len))
		return hmi_err(ctx, EBADMSG, "checksum mismatch: the layout file is corrupt");
	return 0;
}

/* Header size, and counts that need exactly LEN bytes. */
static int check_counts(struct hm_ctx *ctx, const uint8_t *f, size_t len)
{
	uint32_t hdr = get_u32(f + HDR_HDR_SIZE);
	uint64_t nb = get_u64(f + HDR_N_BACKINGS), np = get_u64(f + HDR_N_PAGES);
	uint64_t ns = get_u64(f + HDR_N_SEGS), names = get_u64(f + HDR_NAMES_LEN);
	uint64_t nd = get_u32(f + HDR_N_DMA_DEVS);

	if (hdr != HDR_SIZE)
		return hmi_err(ctx, EBADMSG,
			       "corrupt layout: header size %" PRIu32 ", format %u has %d", hdr,
			       SC_VERSION, HDR_SIZE);
	if (file_size(nb, np, ns, nd, names) != len)
		return hmi_err(ctx, EBADMSG,
			       "corrupt layout: %" PRIu64 " backings, %" PRIu64 " pages, %" PRIu64
			       " segments, %" PRIu64 " devices and %" PRIu64
			       " name bytes do not make its %zu bytes",
			       nb, np, ns, nd, names, len);
	return 0;
}

static int decode_header(const uint8_t *f, struct hmi_shconf *sc)
{
	sc->pid = (pid_t)get_i32(f + HDR_PID);
	sc->kind = (enum hmi_backing_kind)get_u32(f + HDR_KIND);
	sc->iova_mode = (enum hm_iova_mode)get_u32(f + HDR_IOVA_MODE);
	sc->hugepages = get_i32(f + HDR_HUGEPAGES);
	sc->page_size = get_u64(f + HDR_PAGE_SIZE);
	sc->va_base = get_u64(f + HDR_VA_BASE);
	sc->va_len = get_u64(f + HDR_VA_LEN);
	sc->total_bytes = get_u64(f + HDR_TOTAL);
	sc->n_backings = (size_t)get_u64(f + HDR_N_BACKINGS); /* fit: check_counts */
	sc->n_pages = (size_t)get_u64(f + HDR_N_PAGES);
	sc->n_segs = (size_t)get_u64(f + HDR_N_SEGS);
	sc->dma_backend = get_u32(f + HDR_DMA_BACKEND);
	sc->dma_ioas = get_u32(f + HDR_DMA_IOAS);
	sc->n_dma_devs = get_u32(f + HDR_N_DMA_DEVS); /* bounded: check_counts */
	sc->n_fds = get_u32(f + HDR_N_FDS);
	if (!memchr(f + HDR_PREFIX, 0, sizeof(sc->prefix)) ||
	    !memchr(f + HDR_DIR, 0, sizeof(sc->dir)) ||
	    !memchr(f + HDR_KEEPER_DIR, 0, sizeof(sc->keeper_dir)))
		return -1;
	memcpy(sc->prefix, f + HDR_PREFIX, sizeof(sc->prefix));
	memcpy(sc->dir, f + HDR_DIR, sizeof(sc->dir));
	memcpy(sc->keeper_dir, f + HDR_KEEPER_DIR, sizeof(sc->keeper_dir));
	return 0;
}

static int alloc_arrays(struct hm_ctx *ctx, struct hmi_shconf *sc)
{
	sc->backings = calloc(sc->n_backings ? sc->n_backings : 1, sizeof(*sc->backings));
	sc->pages = hmi_calloc_populated(sc->n_pages ? sc->n_pages : 1, sizeof(*sc->pages));
	sc->segs = hmi_calloc_populated(sc->n_segs ? sc->n_segs : 1, sizeof(*sc->segs));
	sc->dma_devs = calloc(sc->n_dma_devs ? sc->n_dma_devs : 1, sizeof(*sc->dma_devs));
	if (!sc->backings || !sc->pages || !sc->segs || !sc->dma_devs)
		return hmi_err(
		    ctx, ENOMEM,
		    "out of memory for a layout of %zu backings, %zu pages, %zu segments",
		    sc->n_backings, sc->n_pages, sc->n_segs);
	return 0;
}

/* Backing records at R; names in NAMES[0..NAMES_LEN). */
static int decode_backings(struct hm_ctx *ctx, const uint8_t *r, const uint8_t *names,
			   uint64_t names_len, struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_backings; i++, r += BREC_BYTES) {
		struct hmi_shconf_backing *b = &sc->backings[i];
		uint32_t off = get_u32(r + BREC_NAME_OFF), n = get_u32(r + BREC_NAME_LEN);

		if (n >= SC_NAME_MAX || off >= names_len || n >= names_len - off ||
		    names[off + n] != '\0' || memchr(names + off, 0, n))
			return hmi_err(
			    ctx, EBADMSG,
			    "corrupt layout: backing %zu name (%" PRIu32 " bytes at %" PRIu32
			    ") is not a NUL-terminated name in the %" PRIu64 "-byte names area",
			    i, n, off, names_len);
		if (get_u32(r + BREC_FD) > INT32_MAX ||
		    (get_u32(r + BREC_FD) != 0 && get_u64(r + BREC_CHUNK) == 0))
			return hmi_err(ctx, EBADMSG,
				       "corrupt layout: backing %zu has a descriptor field of "
				       "0x%" PRIx32 " (only a keeper's memfd has one)",
				       i, get_u32(r + BREC_FD));
		b->fd = (int)get_u32(r + BREC_FD) - 1;
		b->dev = get_u64(r + BREC_DEV);
		b->ino = get_u64(r + BREC_INO);
		b->uid = get_u32(r + BREC_UID);
		b->chunk = get_u64(r + BREC_CHUNK);
		b->kind = (enum hmi_backing_kind)get_u32(r + BREC_KIND);
		b->node = get_i32(r + BREC_NODE);
		b->size = get_u64(r + BREC_SIZE);
		memcpy(b->name, names + off, n + 1);
	}
	return 0;
}

static void decode_pages(const uint8_t *r, struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_pages; i++, r += PREC_BYTES) {
		struct hmi_page *p = &sc->pages[i];

		p->va = get_u64(r + PREC_VA);
		p->iova = get_u64(r + PREC_IOVA);
		p->offset = get_u64(r + PREC_OFFSET);
		p->backing = get_u32(r + PREC_BACKING);
		p->node = get_i32(r + PREC_NODE);
	}
}

static int decode_segs(struct hm_ctx *ctx, const uint8_t *r, struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_segs; i++, r += SREC_BYTES) {
		struct hmi_seg *g = &sc->segs[i];
		uint64_t first = get_u64(r + SREC_FIRST), n = get_u64(r + SREC_N_PAGES);

		if (get_u32(r + SREC_RESERVED) != 0)
			return hmi_err(
			    ctx, EBADMSG,
			    "corrupt layout: segment %zu has its reserved field set (0x%" PRIx32
			    ")",
			    i, get_u32(r + SREC_RESERVED));
		if (first > sc->n_pages || n > sc->n_pages) /* so both fit in a size_t */
			return hmi_err(ctx, EBADMSG,
				       "corrupt layout: segment %zu names pages %" PRIu64
				       " + %" PRIu64 " of the %zu there are",
				       i, first, n, sc->n_pages);
		g->va = get_u64(r + SREC_VA);
		g->iova = get_u64(r + SREC_IOVA);
		g->len = get_u64(r + SREC_LEN);
		g->page_size = get_u64(r + SREC_PAGE_SIZE);
		g->first_page = (size_t)first;
		g->n_pages = (size_t)n;
		g->node = get_i32(r + SREC_NODE);
	}
	return 0;
}

static int decode_dmadevs(struct hm_ctx *ctx, const uint8_t *r, struct hmi_shconf *sc)
{
	for (size_t i = 0; i < sc->n_dma_devs; i++, r += DREC_BYTES) {
		struct hmi_shconf_dmadev *d = &sc->dma_devs[i];

		if (!memchr(r + DREC_BDF, 0, sizeof(d->bdf)) || get_u32(r + DREC_RESERVED) != 0)
			return hmi_err(
			    ctx, EBADMSG,
			    "corrupt layout: DMA device %zu has no NUL in its address or "
			    "its reserved field set",
			    i);
		memcpy(d->bdf, r + DREC_BDF, sizeof(d->bdf));
		d->group = get_i32(r + DREC_GROUP);
	}
	return 0;
}

static int decode_body(struct hm_ctx *ctx, const uint8_t *f, size_t len, struct hmi_shconf *sc)
{
	uint64_t names_len = get_u64(f + HDR_NAMES_LEN);
	const uint8_t *pages;
	int rc;

	if (decode_header(f, sc) < 0)
		return hmi_err(ctx, EBADMSG,
			       "corrupt layout: file prefix or a directory is not NUL-terminated");
	rc = alloc_arrays(ctx, sc);
	if (rc == 0)
		rc = decode_backings(ctx, f + HDR_SIZE, f + len - names_len, names_len, sc);
	if (rc < 0)
		return rc;
	pages = f + HDR_SIZE + sc->n_backings * BREC_BYTES;
	decode_pages(pages, sc);
	rc = decode_segs(ctx, pages + sc->n_pages * PREC_BYTES, sc);
	if (rc == 0)
		rc = decode_dmadevs(ctx, pages + sc->n_pages * PREC_BYTES + sc->n_segs * SREC_BYTES,
				    sc);
	if (rc < 0)
		return rc;
	return shconf_valid(ctx, sc, EBADMSG, "corrupt layout");
}

int hmi_shconf_decode(struct hm_ctx *ctx, const void *buf, size_t len, struct hmi_shconf *sc)
{
	const uint8_t *f = buf;
	int rc;

	memset(sc, 0, sizeof(*sc));
	rc = check_envelope(ctx, f, len);
	if (rc == 0)
		rc = check_counts(ctx, f, len);
	if (rc == 0)
		rc = decode_body(ctx, f, len, sc);
	if (rc < 0)
		hmi_shconf_free(sc);
	return rc;
}

void hmi_shconf_free(struct hmi_shconf *sc)
{
	if (!sc)
		return;
	free(sc->backings);
	free(sc->pages);
	free(sc->segs);
	free(sc->dma_devs);
	memset(sc, 0, sizeof(*sc));
}

/* ------------------------------------------------------------ the file */

static int join(struct hm_ctx *ctx, char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "'%.200s/%s' is longer than %zu bytes", dir, name,
			       len - 1);
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A temporary file of an earlier process with our pid that died while
 * publishing: remove it, but only a regular file of ours (anything else makes
 * the O_EXCL create fail with a message naming it). */
static void remove_stale_tmp(const char *tmp)
{
	struct stat st;

	if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		unlink(tmp);
}

/* TMP created anew; only when it exists already is it looked at (a system
 * call less on every start: bench/KEEPER.md counts them). */
static int create_tmp(const char *tmp)
{
	int flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0600);

	if (fd < 0 && errno == EEXIST) {
		remove_stale_tmp(tmp);
		fd = open(tmp, flags, 0600);
	}
	return fd;
}

/* Write BUF into the new file TMP. The caller removes TMP on failure. */
static int write_tmp(struct hm_ctx *ctx, const char *tmp, const void *buf, size_t len)
{
	int fd = create_tmp(tmp), rc;

	if (fd < 0)
		return hmi_err(ctx, errno, "cannot create %s: %s", tmp, strerror(errno));
	rc = write_all(fd, buf, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		return hmi_err(ctx, -rc, "cannot write %s: %s", tmp, strerror(-rc));
	return 0;
}

int hmi_shconf_write(struct hm_ctx *ctx, const char *dir, const struct hmi_shconf *sc)
{
	char path[HM_PATH_MAX], tmp[HM_PATH_MAX], name[SC_TMP_NAME_MAX];
	void *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(name, sizeof(name), ".%s.%d.tmp", HMI_SHCONF_FILE, (int)getpid());
	rc = join(ctx, path, sizeof(path), dir, HMI_SHCONF_FILE);
	if (rc == 0)
		rc = join(ctx, tmp, sizeof(tmp), dir, name);
	if (rc == 0)
		rc = hmi_shconf_encode(ctx, sc, &buf, &len);
	if (rc < 0)
		return rc;
	rc = write_tmp(ctx, tmp, buf, len);
	free(buf);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = hmi_err(ctx, errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (rc < 0) {
		if (rc != -EEXIST) /* EEXIST: TMP is not ours to remove */
			unlink(tmp);
		return rc;
	}
	return 0;
}

/* The last component of DIR: the prefix of a runtime directory. */
static const char *dir_prefix(const char *dir)
{
	const char *slash = strrchr(dir, '/');

	return slash && slash[1] ? slash + 1 : dir;
}

static int open_layout(struct hm_ctx *ctx, const char *dir, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	const char *prefix = dir_prefix(dir);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR)
		return hmi_err(ctx, ENOENT,
			       "no layout published for %s in %s: is the primary running? (hugemem "
			       "init --hold --file-prefix %s)",
			       prefix, dir, prefix);
	if (errno == ELOOP)
		return hmi_err(ctx, ELOOP, "%s is a symbolic link: refusing it", path);
	return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
}

static int check_file(struct hm_ctx *ctx, int fd, const char *path, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hmi_err(ctx, errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return hmi_err(ctx, EINVAL, "%s is not a regular file: refusing it", path);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return hmi_err(ctx, EPERM, "%s is owned by uid %u, not you: refusing it", path,
			       (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return hmi_err(ctx, EPERM, "%s is writable by others (mode %04o): refusing it",
			       path, (unsigned)(st.st_mode & 07777));
	if (st.st_size > (off_t)SC_READ_MAX)
		return hmi_err(ctx, EFBIG, "%s is %lld bytes, more than a layout's %u MiB", path,
			       (long long)st.st_size, SC_READ_MAX >> 20);
	*len = (size_t)st.st_size;
	return 0;
}

/* Read up to CAP bytes; *GOT is less when the file is shorter than its stat
 * said, which decoding reports as truncated. */
static int read_upto(int fd, uint8_t *buf, size_t cap, size_t *got)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* Decode, naming PATH in the message of a failure. */
static int decode_file(struct hm_ctx *ctx, const char *path, const uint8_t *buf, size_t len,
		       struct hmi_shconf *sc)
{
	char msg[HMI_ERR_MAX];
	int rc = hmi_shconf_decode(ctx, buf, len, sc);

	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", hm_errmsg(ctx));
		hmi_err(ctx, -rc, "%s: %s", path, msg);
	}
	return rc;
}

int hmi_shconf_read(struct hm_ctx *ctx, const char *dir, struct hmi_shconf *sc)
{
	char path[HM_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0, got = 0;
	int fd, rc;

	memset(sc, 0, sizeof(*sc));
	rc = join(ctx, path, sizeof(path), dir, HMI_SHCONF_FILE);
	if (rc < 0)
		return rc;
	fd = open_layout(ctx, dir, path);
	if (fd < 0)
		return fd;
	rc = check_file(ctx, fd, path, &len);
	if (rc == 0 && !(buf = hmi_calloc_populated(len ? len : 1, 1)))
		rc = hmi_err(ctx, ENOMEM, "out of memory for %zu bytes of %s", len, path);
	if (rc == 0 && (rc = read_upto(fd, buf, len, &got)) < 0)
		rc = hmi_err(ctx, -rc, "cannot read %s: %s", path, strerror(-rc));
	close(fd);
	if (rc == 0)
		rc = decode_file(ctx, path, buf, got, sc);
	free(buf);
	return rc;
}
