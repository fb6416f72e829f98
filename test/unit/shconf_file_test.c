/* SPDX-License-Identifier: MIT */
/*
 * shconf_file_test.c — the published layout file (src/shconf/layout_file.c): a
 * realistic layout (3 backings of different kinds, 100 pages in 4 segments)
 * survives encode + decode field by field and re-encodes to the same bytes;
 * 16k pages stay small; every truncation, every single-bit flip, a wrong
 * magic, version 3 and trailing bytes are refused with their own message;
 * inconsistent contents under a valid checksum (patched, then re-summed here
 * with an independent FNV-1a) are refused with -EBADMSG naming the fault; the
 * encoder refuses what the decoder would; the atomic write leaves no
 * temporary file and replaces an older layout; reading refuses symlinks,
 * FIFOs, directories, files of another owner or writable by others, files
 * over the size cap, and says "hugemem init" when nothing is published;
 * 20k seeded random or mutated buffers never crash the decoder.
 *
 * HM_SHCONF_CORPUS=DIR also writes a few valid layouts into DIR as seeds for
 * a fuzzer (test/fuzz/corpus/shconf/ holds the ones made so).
 */
#include "base/ctx.h"
#include "shconf/shconf.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define PS	 (2ULL << 20)
#define BASE	 0x200000000000ULL
#define HDR	 8384
#define BREC	 56
#define PREC	 32
#define SREC	 56
#define FULL_LEN (HDR + 3 * BREC + 100 * PREC + 4 * SREC + 12 + 15 + 1)

static struct hm_ctx *ctx;
static char top[64] = "/tmp/hmtest-shconf-XXXXXX";

/* ------------------------------------------------------------ helpers */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The documented checksum, computed independently of the library. */
static void fix_checksum(uint8_t *f, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	put64(f + 24, 0);
	for (size_t i = 0; i < len; i++) {
		h ^= f[i];
		h *= 0x100000001b3ULL;
	}
	put64(f + 24, h);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int is_zeroed(const struct hmi_shconf *sc)
{
	static const struct hmi_shconf zero;

	return memcmp(sc, &zero, sizeof(zero)) == 0;
}

/* A layout of N_SEGS segments of SEG_PAGES[s] pages (one guard page between
 * segments, segment s on node s/2) over N_BACKINGS backings of rotating
 * kinds; page i uses backing i % N_BACKINGS at offset i pages. */
static void build(struct hmi_shconf *sc, const size_t *seg_pages, size_t n_segs, size_t n_backings)
{
	size_t n = 0, i = 0;
	uint64_t va = BASE;

	for (size_t s = 0; s < n_segs; s++)
		n += seg_pages[s];
	memset(sc, 0, sizeof(*sc));
	*sc = (struct hmi_shconf){.pid = 4242,
				  .kind = HMI_BACK_SINGLE_FILE,
				  .iova_mode = HM_IOVA_PA,
				  .hugepages = 1,
				  .page_size = PS,
				  .va_base = BASE,
				  .total_bytes = n * PS,
				  .n_backings = n_backings,
				  .n_pages = n,
				  .n_segs = n_segs};
	snprintf(sc->prefix, sizeof(sc->prefix), "hmtest");
	snprintf(sc->dir, sizeof(sc->dir), "/dev/hugepages");
	sc->backings = calloc(n_backings, sizeof(*sc->backings));
	sc->pages = calloc(n ? n : 1, sizeof(*sc->pages));
	sc->segs = calloc(n_segs ? n_segs : 1, sizeof(*sc->segs));
	for (size_t b = 0; b < n_backings; b++) {
		sc->backings[b] = (struct hmi_shconf_backing){
		    .kind = (enum hmi_backing_kind)(b % 3), .node = (int)(b % 2), .size = n * PS};
		if (sc->backings[b].kind == HMI_BACK_MEMFD)
			continue;
		snprintf(sc->backings[b].name, sizeof(sc->backings[b].name),
			 b % 3 ? "hmtestmap_2M_%zu" : "hmtestmap_%zu", b);
		sc->backings[b].dev = 0x2e + b;
		sc->backings[b].ino = 11000 + b;
		sc->backings[b].uid = 1000;
	}
	for (size_t s = 0; s < n_segs; s++) {
		uint64_t iova = (uint64_t)(s + 1) << 32;

		sc->segs[s] = (struct hmi_seg){.va = va,
					       .iova = iova,
					       .len = seg_pages[s] * PS,
					       .page_size = PS,
					       .node = (int)s / 2,
					       .first_page = i,
					       .n_pages = seg_pages[s]};
		for (size_t k = 0; k < seg_pages[s]; k++, i++)
			sc->pages[i] = (struct hmi_page){.va = va + k * PS,
							 .iova = iova + k * PS,
							 .node = (int)s / 2,
							 .backing = (uint32_t)(i % n_backings),
							 .offset = i * PS};
		va += (seg_pages[s] + 1) * PS;
	}
	sc->va_len = n_segs ? va - PS - BASE : 0;
}

static void build_realistic(struct hmi_shconf *sc)
{
	static const size_t seg_pages[] = {40, 30, 20, 10};

	build(sc, seg_pages, 4, 3);
}

static void build_small(struct hmi_shconf *sc)
{
	static const size_t seg_pages[] = {2};

	build(sc, seg_pages, 1, 1);
}

static uint8_t *encode(const struct hmi_shconf *sc, size_t *len)
{
	void *buf = NULL;

	if (hmi_shconf_encode(ctx, sc, &buf, len) < 0) {
		diag("encode failed: %s", hm_errmsg(ctx));
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------ round trip */

static int same_backings(const struct hmi_shconf *a, const struct hmi_shconf *b)
{
	for (size_t i = 0; i < a->n_backings; i++) {
		const struct hmi_shconf_backing *x = &a->backings[i], *y = &b->backings[i];

		if (x->kind != y->kind || x->node != y->node || x->size != y->size ||
		    strcmp(x->name, y->name) != 0 || x->dev != y->dev || x->ino != y->ino ||
		    x->uid != y->uid)
			return 0;
	}
	return 1;
}

static int same_pages(const struct hmi_shconf *a, const struct hmi_shconf *b)
{
	for (size_t i = 0; i < a->n_pages; i++) {
		const struct hmi_page *x = &a->pages[i], *y = &b->pages[i];

		if (x->va != y->va || x->iova != y->iova || x->node != y->node ||
		    x->backing != y->backing || x->offset != y->offset)
			return 0;
	}
	return 1;
}

static int same_segs(const struct hmi_shconf *a, const struct hmi_shconf *b)
{
	for (size_t i = 0; i < a->n_segs; i++) {
		const struct hmi_seg *x = &a->segs[i], *y = &b->segs[i];

		if (x->va != y->va || x->iova != y->iova || x->len != y->len ||
		    x->page_size != y->page_size || x->node != y->node ||
		    x->first_page != y->first_page || x->n_pages != y->n_pages)
			return 0;
	}
	return 1;
}

static void compare(const struct hmi_shconf *got, const struct hmi_shconf *want, const char *what)
{
	is_int(got->pid, want->pid, "%s: pid", what);
	is_str(got->prefix, want->prefix, "%s: prefix", what);
	is_str(got->dir, want->dir, "%s: dir", what);
	is_int(got->kind, want->kind, "%s: kind", what);
	is_int(got->iova_mode, want->iova_mode, "%s: iova mode", what);
	is_int(got->hugepages, want->hugepages, "%s: hugepages", what);
	is_u64(got->page_size, want->page_size, "%s: page size", what);
	is_u64(got->va_base, want->va_base, "%s: window base", what);
	is_u64(got->va_len, want->va_len, "%s: window length", what);
	is_u64(got->total_bytes, want->total_bytes, "%s: total bytes", what);
	is_u64(got->n_backings, want->n_backings, "%s: backing count", what);
	is_u64(got->n_pages, want->n_pages, "%s: page count", what);
	is_u64(got->n_segs, want->n_segs, "%s: segment count", what);
	if (got->n_backings != want->n_backings || got->n_pages != want->n_pages ||
	    got->n_segs != want->n_segs)
		return;
	ok(same_backings(got, want), "%s: every backing (kind, node, size, name, dev, inode, uid)",
	   what);
	ok(same_pages(got, want), "%s: every page (va, iova, node, backing, offset)", what);
	ok(same_segs(got, want), "%s: every segment (va, iova, len, size, node, pages)", what);
}

static void test_roundtrip(void)
{
	struct hmi_shconf sc, back;
	size_t len = 0, len2 = 0;
	uint8_t *buf, *again;

	build_realistic(&sc);
	buf = encode(&sc, &len);
	if (!ok(buf != NULL, "roundtrip: encode"))
		return;
	is_u64(len, FULL_LEN, "roundtrip: header + 3x56 + 100x32 + 4x56 + names");
	ok(memcmp(buf, "HUGEMEM\0", 8) == 0, "roundtrip: magic at 0");
	is_int(buf[8] | buf[9] << 8, 4, "roundtrip: version 4, little-endian, at 8");
	is_u64(get64(buf + 16), len, "roundtrip: size field at 16");
	is_int(hmi_shconf_decode(ctx, buf, len, &back), 0, "roundtrip: decode");
	compare(&back, &sc, "roundtrip");
	ok(strcmp(back.backings[2].name, "") == 0, "roundtrip: memfd backing has no name");
	again = encode(&back, &len2);
	ok(again && len2 == len && memcmp(again, buf, len) == 0,
	   "roundtrip: decoded layout encodes to the same bytes");
	free(again);
	hmi_shconf_free(&back);
	ok(is_zeroed(&back), "roundtrip: free leaves the struct zeroed");
	hmi_shconf_free(NULL);
	free(buf);
	hmi_shconf_free(&sc);
}

/* 16k pages: page files (a backing per page) and single files. */
static void test_compact(void)
{
	static const size_t seg_pages[] = {8192, 8192};
	struct hmi_shconf sc, back;
	size_t len = 0;
	uint8_t *buf;

	build(&sc, seg_pages, 2, 16384);
	buf = encode(&sc, &len);
	ok(buf && len < (2u << 20), "compact: 16k pages of page files take %zu bytes (< 2 MiB)",
	   len);
	is_int(buf ? hmi_shconf_decode(ctx, buf, len, &back) : -1, 0, "compact: decode 16k");
	ok(back.n_backings == 16384 && same_pages(&back, &sc), "compact: 16k pages come back");
	hmi_shconf_free(&back);
	free(buf);
	sc.n_backings = 3;
	for (size_t i = 0; i < sc.n_pages; i++)
		sc.pages[i].backing %= 3;
	buf = encode(&sc, &len);
	ok(buf && len < (600u << 10), "compact: 16k pages of single files take %zu bytes", len);
	free(buf);
	hmi_shconf_free(&sc);
}

/* ------------------------------------------------------------ envelope */

static void test_truncated(void)
{
	struct hmi_shconf sc, back;
	size_t len = 0, bad = 0, bad_msg = 0, not_zeroed = 0;
	uint8_t *buf, *longer;

	build_realistic(&sc);
	buf = encode(&sc, &len);
	if (!ok(buf != NULL, "truncated: encode"))
		return;
	for (size_t n = 0; n < len; n++) {
		int rc = hmi_shconf_decode(ctx, buf, n, &back);
		const char *want = n < HDR ? "header needs 8384" : "its header says";

		bad += rc != -EBADMSG;
		bad_msg += strstr(hm_errmsg(ctx), "truncated layout") == NULL ||
			   strstr(hm_errmsg(ctx), want) == NULL;
		not_zeroed += !is_zeroed(&back);
	}
	is_int(bad, 0, "truncated: all %zu shorter lengths give -EBADMSG", len);
	is_int(bad_msg, 0, "truncated: each says truncated and by how much");
	is_int(not_zeroed, 0, "truncated: *sc left zeroed every time");
	hmi_shconf_decode(ctx, buf, 100, &back);
	like(hm_errmsg(ctx), "truncated layout (100 bytes, header needs 8384)",
	     "truncated: message gives both lengths");
	like(hm_errmsg(ctx), "start it again", "truncated: message gives the fix");
	hmi_shconf_decode(ctx, buf, len - 1, &back);
	like(hm_errmsg(ctx), "its header says", "truncated: body cut short is named");
	longer = calloc(1, len + 1);
	memcpy(longer, buf, len);
	is_int(hmi_shconf_decode(ctx, longer, len + 1, &back), -EBADMSG, "trailing byte refused");
	like(hm_errmsg(ctx), "trailing bytes", "trailing: message says so");
	free(longer);
	free(buf);
	hmi_shconf_free(&sc);
}

static void test_magic_version(void)
{
	struct hmi_shconf sc, back;
	size_t len = 0;
	uint8_t *buf;

	build_realistic(&sc);
	buf = encode(&sc, &len);
	if (!ok(buf != NULL, "magic: encode"))
		return;
	buf[0] = 'X';
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EBADMSG, "magic: wrong magic refused");
	like(hm_errmsg(ctx), "not a hugemem layout file", "magic: message");
	buf[0] = 'H';
	put32(buf + 8, 5);
	fix_checksum(buf, len);
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EPROTO, "version 5: -EPROTO");
	like(hm_errmsg(ctx), "layout format version 5, this hugemem reads 4",
	     "version 5: both versions named");
	like(hm_errmsg(ctx), "same hugemem for primary and secondaries", "version 5: the fix");
	ok(is_zeroed(&back), "version 5: *sc zeroed");
	put32(buf + 8, 3);
	fix_checksum(buf, len);
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EPROTO, "version 3 (no keeper): -EPROTO");
	put32(buf + 8, 2);
	fix_checksum(buf, len);
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EPROTO,
	       "version 2 (no DMA domain): -EPROTO");
	put32(buf + 8, 1);
	fix_checksum(buf, len);
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EPROTO,
	       "version 1 (no file inodes): -EPROTO");
	put32(buf + 8, 4);
	fix_checksum(buf, len);
	is_int(hmi_shconf_decode(ctx, buf, len, &back), 0, "version 4 again: accepted");
	hmi_shconf_free(&back);
	buf[HDR + 3 * BREC + 7] ^= 0x10;
	is_int(hmi_shconf_decode(ctx, buf, len, &back), -EBADMSG, "checksum: patched page refused");
	like(hm_errmsg(ctx), "checksum mismatch: the layout file is corrupt", "checksum: message");
	free(buf);
	hmi_shconf_free(&sc);
}

/* The error a flip of bit B should give: by the field it lands in. */
static int flip_expected(size_t byte, const char **msg)
{
	if (byte < 8)
		*msg = "not a hugemem layout file";
	else if (byte < 12)
		*msg = "layout format version";
	else if (byte >= 16 && byte < 24)
		*msg = "its header says";
	else
		*msg = "checksum mismatch";
	return byte >= 8 && byte < 12 ? -EPROTO : -EBADMSG;
}

static void test_bitflips(void)
{
	struct hmi_shconf sc, back;
	size_t len = 0, undetected = 0, wrong = 0, accepted_flip = 0;
	uint8_t *buf;

	build_small(&sc);
	buf = encode(&sc, &len);
	if (!ok(buf != NULL, "bitflips: encode"))
		return;
	for (size_t bit = 0; bit < len * 8; bit++) {
		const char *msg;
		int want = flip_expected(bit / 8, &msg), rc;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = hmi_shconf_decode(ctx, buf, len, &back);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (rc == 0) {
			undetected++;
			accepted_flip = bit;
			hmi_shconf_free(&back);
		} else if (rc != want ||
			   (!strstr(hm_errmsg(ctx), msg) && !strstr(hm_errmsg(ctx), "trailing"))) {
			wrong++;
		}
	}
	if (!ok(undetected == 0, "bitflips: all %zu single-bit flips detected", len * 8))
		diag("  %zu undetected, e.g. bit %zu", undetected, accepted_flip);
	is_int(wrong, 0, "bitflips: each by the check of the field it hits");
	is_int(hmi_shconf_decode(ctx, buf, len, &back), 0, "bitflips: the unflipped file decodes");
	hmi_shconf_free(&back);
	free(buf);
	hmi_shconf_free(&sc);
}

/* ------------------------------------------------------------ contents */

/* File offsets in the realistic layout. */
#define OFF_B(i)     (HDR + (i)*BREC)
#define OFF_P(i)     (HDR + 3 * BREC + (i)*PREC)
#define OFF_S(i)     (HDR + 3 * BREC + 100 * PREC + (i)*SREC)
#define OFF_NAMES    (HDR + 3 * BREC + 100 * PREC + 4 * SREC)
#define WINDOW_PAGES (40 + 1 + 30 + 1 + 20 + 1 + 10)

struct patch {
	const char *what;
	size_t off;
	int width; /* 1, 4 or 8 bytes */
	uint64_t value;
	const char *want;
};

static const struct patch patches[] = {
    {"page backing out of range", OFF_P(5) + 24, 4, 7, "page 5 uses backing 7, but there are 3"},
    {"page past the window", OFF_P(5), 8, BASE + WINDOW_PAGES *PS, "page 5 at 0x"},
    {"page before the window", OFF_P(0), 8, BASE - PS, "outside the window"},
    {"page not aligned", OFF_P(5), 8, BASE + 5 * PS + 4096, "page 5 (va 0x"},
    {"page past its backing", OFF_P(5) + 16, 8, 100 * PS, "passes the end of backing 2"},
    {"page on node 64", OFF_P(5) + 28, 4, 64, "page 5 is on node 64"},
    {"segment n_pages too big", OFF_S(3) + 40, 8, 11, "segment 3 names pages 90 + 11 of the 100"},
    {"segment n_pages huge", OFF_S(0) + 40, 8, UINT64_MAX, "segment 0 names pages 0 + "},
    {"segment first page past the end", OFF_S(1) + 32, 8, 101,
     "segment 1 names pages 101 + 30 of the 100 there are"},
    {"segment with no page", OFF_S(1) + 40, 8, 0, "segment 1 names pages 40 + 0"},
    {"segment va off its page", OFF_S(1), 8, BASE + 42 * PS,
     "segment 1 (va 0x200005400000, iova 0x200000000, node 0) does not match its page 40"},
    {"segment iova off its page", OFF_S(2) + 8, 8, 1ULL << 40,
     "segment 2 (va 0x200009000000, iova 0x10000000000, node 1) does not match"},
    {"segment on another node", OFF_S(2) + 48, 4, 0,
     "node 0) does not match its page 70 (va 0x200009000000, iova 0x300000000, node 1)"},
    {"segment length wrong", OFF_S(0) + 16, 8, 41 * PS, "segment 0 has length"},
    {"segment page size wrong", OFF_S(0) + 24, 8, 1ULL << 30, "segment 0 has length"},
    {"segment reserved set", OFF_S(0) + 52, 4, 1, "segment 0 has its reserved field set (0x1)"},
    {"page count overflows", 88, 8, UINT64_MAX / 16 + 1, "do not make its"},
    {"backing count overflows", 80, 8, 1ULL << 62, "do not make its"},
    {"segment count overflows", 96, 8, UINT64_MAX, "do not make its"},
    {"names length overflows", 104, 8, UINT64_MAX - 10, "do not make its"},
    {"one page too many", 88, 8, 101, "101 pages, 4 segments"},
    {"header size", 12, 4, 4000, "header size 4000, format 4 has 8384"},
    {"backing kind", 36, 4, 9, "unknown backing kind 9"},
    {"iova mode 0", 40, 4, 0, "IOVA mode 0 is not PA"},
    {"iova mode 7", 40, 4, 7, "IOVA mode 7 is not PA (1), VA (2) or allocated (3)"},
    {"hugepages flag", 44, 4, 2, "hugepages flag 2"},
    {"page size not a power of two", 48, 8, 3ULL << 20, "page size 3145728 is not"},
    {"page size 0", 48, 8, 0, "page size 0 is not"},
    {"window base unaligned", 56, 8, BASE + 4096, "is not page aligned or wraps"},
    {"window wraps", 64, 8, UINT64_MAX - PS + 1, "is not page aligned or wraps"},
    {"pid 0", 32, 4, 0, "primary pid 0 is not"},
    {"pid negative", 32, 4, 0xfffffffbu, "primary pid -5 is not"},
    {"total bytes", 72, 8, 99 * PS, "total of 207618048 bytes, but 100 pages"},
    {"backing kind 4", OFF_B(1), 4, 4, "backing 1 has unknown kind 4"},
    {"backing node -2", OFF_B(0) + 4, 4, 0xfffffffeu, "backing 0 is on node -2"},
    {"backing name too long", OFF_B(0) + 20, 4, 300, "backing 0 name (300 bytes at 0)"},
    {"backing name past the area", OFF_B(1) + 16, 4, 28, "backing 1 name (14 bytes at 28)"},
    {"backing name offset huge", OFF_B(1) + 16, 4, UINT32_MAX, "backing 1 name"},
    {"backing name without NUL", OFF_NAMES + 11, 1, 'x', "backing 0 name (11 bytes at 0)"},
    {"backing name with a NUL", OFF_NAMES + 3, 1, 0, "backing 0 name"},
    {"backing name with a slash", OFF_NAMES + 2, 1, '/', "is not a plain file name"},
    {"prefix without NUL", 112 + 6, 1, 'x', ""},
    {"descriptor without a chunk", OFF_B(1) + 44, 4, 1, "backing 1 has a descriptor field of 0x1"},
    {"page file without inode", OFF_B(0) + 32, 8, 0, "backing 0 has a name and inode 0"},
    {"memfd with an inode", OFF_B(2) + 32, 8, 77, "backing 2 has no name and inode 77"},
    {"keeper chunk without its inode", OFF_B(2) + 48, 8, 7, "backing 2 has no name and inode 0"},
    {"keeper named for page files", 4288, 1, '/', "keeper directory '/' with backing kind 1"},
};

static void apply(uint8_t *f, const struct patch *p)
{
	if (p->width == 1)
		f[p->off] = (uint8_t)p->value;
	else if (p->width == 4)
		put32(f + p->off, (uint32_t)p->value);
	else
		put64(f + p->off, p->value);
}

static void check_refused(uint8_t *f, size_t len, const char *what, const char *want)
{
	struct hmi_shconf back;

	fix_checksum(f, len);
	is_int(hmi_shconf_decode(ctx, f, len, &back), -EBADMSG, "contents: %s refused", what);
	like(hm_errmsg(ctx), want, "contents: %s message", what);
	ok(is_zeroed(&back), "contents: %s leaves *sc zeroed", what);
	hmi_shconf_free(&back);
}

static void test_contents(void)
{
	struct hmi_shconf sc;
	size_t len = 0;
	uint8_t *buf, *f;

	build_realistic(&sc);
	buf = encode(&sc, &len);
	if (!ok(buf != NULL && len == FULL_LEN, "contents: encode"))
		return;
	f = malloc(len);
	for (size_t i = 0; i < HMI_ARRAY_SIZE(patches); i++) {
		memcpy(f, buf, len);
		apply(f, &patches[i]);
		if (strcmp(patches[i].what, "prefix without NUL") == 0)
			memset(f + 112, 'a', 64);
		check_refused(f, len, patches[i].what,
			      patches[i].want[0] ? patches[i].want : "not NUL-terminated");
	}
	memcpy(f, buf, len);
	memset(f + 176, 'd', 4096);
	check_refused(f, len, "dir without NUL",
		      "file prefix or a directory is not NUL-terminated");
	memcpy(f, buf, len);
	memset(f + 4288, 'k', 4096);
	check_refused(f, len, "keeper dir without NUL",
		      "file prefix or a directory is not NUL-terminated");
	memcpy(f, buf, len);
	put64(f + OFF_S(3) + 16, 9 * PS);
	put64(f + OFF_S(3) + 40, 9);
	check_refused(f, len, "segments miss a page",
		      "segments cover 99 pages, the layout has 100");
	memcpy(f, buf, len); /* swap segments 0 and 1 */
	memcpy(f + OFF_S(0), buf + OFF_S(1), SREC);
	memcpy(f + OFF_S(1), buf + OFF_S(0), SREC);
	check_refused(f, len, "segments out of order", "segment 1 at 0x200000000000 overlaps");
	free(f);
	free(buf);
	hmi_shconf_free(&sc);
}

static void test_encode_refuses(void)
{
	struct hmi_shconf sc;
	void *buf = NULL;
	size_t len = 0;

	build_realistic(&sc);
	sc.pages[7].backing = 3;
	is_int(hmi_shconf_encode(ctx, &sc, &buf, &len), -EINVAL, "encode: bad backing index");
	like(hm_errmsg(ctx), "layout to publish is inconsistent: page 7 uses backing 3",
	     "encode: message names the page");
	ok(buf == NULL, "encode: nothing allocated on failure");
	sc.pages[7].backing = 1;
	memset(sc.backings[0].name, 'x', sizeof(sc.backings[0].name));
	is_int(hmi_shconf_encode(ctx, &sc, &buf, &len), -EINVAL, "encode: name without NUL");
	like(hm_errmsg(ctx), "backing 0 has a name without its NUL", "encode: name message");
	sc.backings[0].name[0] = '\0';
	sc.iova_mode = HM_IOVA_DEFAULT;
	is_int(hmi_shconf_encode(ctx, &sc, &buf, &len), -EINVAL, "encode: unresolved IOVA mode");
	sc.iova_mode = HM_IOVA_VA;
	sc.segs[2].n_pages = 19;
	is_int(hmi_shconf_encode(ctx, &sc, &buf, &len), -EINVAL, "encode: segment off its pages");
	sc.segs[2].n_pages = 20;
	is_int(hmi_shconf_encode(ctx, &sc, &buf, &len), 0, "encode: repaired layout encodes");
	free(buf);
	hmi_shconf_free(&sc);
}

/* ------------------------------------------------------------ the file */

static int temp_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		found |= strncmp(e->d_name, ".layout.", 8) == 0;
	closedir(d);
	return found;
}

static void test_write_read(const char *dir)
{
	struct hmi_shconf sc, back;
	char path[512], tmp[512];
	struct stat st;

	build_realistic(&sc);
	snprintf(path, sizeof(path), "%s/layout", dir);
	snprintf(tmp, sizeof(tmp), "%s/.layout.%d.tmp", dir, (int)getpid());
	is_int(hmi_shconf_write(ctx, dir, &sc), 0, "write: publish");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "write: DIR/layout is 0600");
	is_int(temp_left(dir), 0, "write: no temporary file left");
	is_int(hmi_shconf_read(ctx, dir, &back), 0, "read: the published layout");
	compare(&back, &sc, "read");
	hmi_shconf_free(&back);
	sc.pid = 5151;
	close(open(tmp, O_CREAT | O_WRONLY, 0600)); /* a stale temp of "our" pid */
	is_int(hmi_shconf_write(ctx, dir, &sc), 0, "write: replace, over a stale temp file");
	is_int(temp_left(dir), 0, "write: stale temp file gone, none left");
	is_int(hmi_shconf_read(ctx, dir, &back), 0, "read: the replacement");
	is_int(back.pid, 5151, "read: sees the new layout");
	hmi_shconf_free(&back);
	ok(symlink(path, tmp) == 0, "write: plant a symlink as the temp file");
	sc.pid = 6161;
	is_int(hmi_shconf_write(ctx, dir, &sc), -EEXIST, "write: temp symlink refused");
	like(hm_errmsg(ctx), ".tmp", "write: message names the temp file");
	ok(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode), "write: someone else's temp not removed");
	unlink(tmp);
	is_int(hmi_shconf_read(ctx, dir, &back), 0, "read: still the old layout");
	is_int(back.pid, 5151, "read: old pid");
	hmi_shconf_free(&back);
	sc.pages[0].backing = 9;
	is_int(hmi_shconf_write(ctx, dir, &sc), -EINVAL, "write: inconsistent layout refused");
	is_int(temp_left(dir), 0, "write: no temp file after a refusal");
	is_int(hmi_shconf_write(ctx, "/nonexistent-hm/x", &sc), -EINVAL, "write: checks first");
	sc.pages[0].backing = 0;
	is_int(hmi_shconf_write(ctx, "/nonexistent-hm/x", &sc), -ENOENT, "write: missing dir");
	like(hm_errmsg(ctx), "/nonexistent-hm/x/.layout.", "write: message names the path");
	hmi_shconf_free(&sc);
}

static void expect_read(const char *dir, int want, const char *msg, const char *what)
{
	struct hmi_shconf back;

	is_int(hmi_shconf_read(ctx, dir, &back), want, "read: %s", what);
	like(hm_errmsg(ctx), msg, "read: %s message", what);
	ok(is_zeroed(&back), "read: %s leaves *sc zeroed", what);
	hmi_shconf_free(&back);
}

static void test_read_refuses(const char *dir)
{
	char path[512], other[512];
	int fd;

	snprintf(path, sizeof(path), "%s/layout", dir);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	expect_read("/nonexistent-hm/nothere", -ENOENT,
		    "no layout published for nothere in /nonexistent-hm/nothere", "missing dir");
	like(hm_errmsg(ctx), "is the primary running? (hugemem init --hold --file-prefix nothere)",
	     "read: missing names the command to run");
	rename(path, other);
	expect_read(dir, -ENOENT, "hugemem init", "no layout file");
	ok(symlink(other, path) == 0, "read: plant a symlink");
	expect_read(dir, -ELOOP, "symbolic link: refusing it", "symlink");
	unlink(path);
	ok(mkfifo(path, 0600) == 0, "read: plant a FIFO");
	expect_read(dir, -EINVAL, "not a regular file", "FIFO (without hanging)");
	unlink(path);
	ok(mkdir(path, 0700) == 0, "read: plant a directory");
	expect_read(dir, -EINVAL, "not a regular file", "directory");
	rmdir(path);
	rename(other, path);
	chmod(path, 0620);
	expect_read(dir, -EPERM, "writable by others (mode 0620)", "group-writable file");
	chmod(path, 0600);
	if (geteuid() == 0) {
		ok(chown(path, 65534, 65534) == 0, "read: give the file to uid 65534");
		expect_read(dir, -EPERM, "is owned by uid 65534, not you: refusing it",
			    "another owner");
		ok(chown(path, 0, 0) == 0, "read: give it back");
	} else {
		for (int i = 0; i < 5; i++)
			ok(1, "# SKIP chown needs root");
	}
	ok(truncate(path, 100) == 0, "read: cut the file to 100 bytes");
	expect_read(dir, -EBADMSG, "/layout: truncated layout (100 bytes", "truncated file");
	ok(truncate(path, 0) == 0, "read: empty the file");
	expect_read(dir, -EBADMSG, "truncated layout (0 bytes", "empty file");
	fd = open(path, O_WRONLY);
	ok(fd >= 0 && ftruncate(fd, (257LL << 20)) == 0, "read: a sparse 257 MiB file");
	close(fd);
	expect_read(dir, -EFBIG, "more than a layout's 256 MiB", "oversized file");
	unlink(path);
}

/* ------------------------------------------------------------ fuzz */

/* Decode BUF; anything accepted must be a layout the encoder accepts too. */
static int decode_is_sane(const uint8_t *buf, size_t len, int *accepted)
{
	struct hmi_shconf back;
	void *again = NULL;
	size_t len2 = 0;
	int rc = hmi_shconf_decode(ctx, buf, len, &back), sane;

	if (rc < 0)
		return is_zeroed(&back) && hm_errmsg(ctx)[0] != '\0';
	*accepted += 1;
	sane = hmi_shconf_encode(ctx, &back, &again, &len2) == 0;
	free(again);
	hmi_shconf_free(&back);
	return sane;
}

static void mutate(uint8_t *f, size_t len)
{
	int n = 1 + (int)(rng() % 4);

	for (int i = 0; i < n; i++) {
		size_t at = 32 + rng() % (len - 32);
		uint64_t r = rng();

		if (r & 1)
			f[at] = (uint8_t)(r >> 8);
		else if (at + 8 <= len) /* small numbers reach the range checks */
			put64(f + at, (r >> 8) % 300);
	}
	fix_checksum(f, len);
}

static void test_random(void)
{
	struct hmi_shconf sc;
	size_t len = 0, insane[3] = {0};
	int accepted = 0;
	uint8_t *valid, *f = malloc(16384);

	build_realistic(&sc);
	valid = encode(&sc, &len);
	for (int i = 0; valid && i < 20000; i++) {
		int mode = i % 3;
		size_t n = mode == 2 ? len : rng() % 9000;

		for (size_t k = 0; k < n; k++)
			f[k] = (uint8_t)rng();
		if (mode == 1 && n >= HDR) { /* a valid envelope around random bytes */
			memcpy(f, "HUGEMEM\0\1\0\0\0", 12);
			put64(f + 16, n);
			fix_checksum(f, n);
		} else if (mode == 2) {
			memcpy(f, valid, len);
			mutate(f, len);
		}
		insane[mode] += !decode_is_sane(f, n, &accepted);
	}
	is_int(insane[0], 0, "random: random bytes refused cleanly");
	is_int(insane[1], 0, "random: random contents in a valid envelope refused cleanly");
	is_int(insane[2], 0, "random: mutated layouts refused cleanly or re-encodable");
	ok(accepted > 0 && accepted < 6667, "random: some mutations pass (%d), most do not",
	   accepted);
	free(valid);
	free(f);
	hmi_shconf_free(&sc);
}

/* ------------------------------------------------------------ corpus */

static void save(const char *dir, const char *name, const struct hmi_shconf *sc)
{
	char path[HM_PATH_MAX];
	size_t len = 0;
	uint8_t *buf = encode(sc, &len);
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (out && buf)
		fwrite(buf, 1, len, out);
	if (out)
		fclose(out);
	free(buf);
}

static void write_corpus(const char *dir)
{
	static const size_t one[] = {1};
	struct hmi_shconf sc;

	build_realistic(&sc);
	save(dir, "realistic.bin", &sc);
	hmi_shconf_free(&sc);
	build_small(&sc);
	save(dir, "small.bin", &sc);
	hmi_shconf_free(&sc);
	build(&sc, one, 1, 3);
	sc.kind = HMI_BACK_MEMFD;
	sc.iova_mode = HM_IOVA_VA;
	sc.dir[0] = '\0';
	sc.n_fds = (uint32_t)hmi_shconf_fd_count(&sc);
	save(dir, "memfd_iova_va.bin", &sc);
	sc.n_pages = sc.n_segs = 0;
	sc.total_bytes = 0;
	save(dir, "no_pages.bin", &sc);
	hmi_shconf_free(&sc);
	build(&sc, one, 1, 1); /* format 4: memfds a keeper leased, by chunk id */
	sc.kind = HMI_BACK_MEMFD;
	sc.backings[0] = (struct hmi_shconf_backing){
	    .kind = HMI_BACK_MEMFD, .size = sc.backings[0].size, .chunk = 9, .fd = 7, .ino = 4};
	sc.dir[0] = '\0';
	snprintf(sc.keeper_dir, sizeof(sc.keeper_dir), "/run/hugemem-keeper");
	save(dir, "keeper.bin", &sc);
	hmi_shconf_free(&sc);
}

/* ------------------------------------------------------------ the DMA domain (format 3) */

/* SC with a type1 domain of two devices in group 5 and one in group 9. */
static void add_dma(struct hmi_shconf *sc, struct hmi_shconf_dmadev *devs)
{
	static const struct hmi_shconf_dmadev three[] = {
	    {"0000:00:05.0", 5}, {"0000:00:05.1", 5}, {"0000:03:00.0", 9}};

	memcpy(devs, three, sizeof(three));
	sc->dma_backend = 2; /* type1 */
	sc->dma_devs = devs;
	sc->n_dma_devs = 3;
	sc->n_fds = 1 + 2 + 3; /* the container, two groups, three devices */
}

static void dma_refused(struct hmi_shconf *sc, const char *what, const char *want)
{
	void *buf = NULL;
	size_t len;

	is_int(hmi_shconf_encode(ctx, sc, &buf, &len), -EINVAL, "dma: %s refused", what);
	like(hm_errmsg(ctx), want, "dma: %s message", what);
	free(buf);
}

static void test_dma(void)
{
	struct hmi_shconf sc, back;
	struct hmi_shconf_dmadev devs[3];
	int groups[4];
	size_t len = 0;
	uint8_t *buf;

	build_realistic(&sc);
	add_dma(&sc, devs);
	is_int((int)hmi_shconf_fd_count(&sc), 6, "dma: descriptors: domain, 2 groups, 3 devices");
	is_int((int)hmi_shconf_dma_groups(&sc, groups, 4), 2, "dma: two distinct groups");
	ok(groups[0] == 5 && groups[1] == 9, "dma: in the order the devices name them");
	buf = encode(&sc, &len);
	if (ok(buf != NULL && len == FULL_LEN + 3 * 24, "dma: encode, 24 bytes a device")) {
		ok(hmi_shconf_decode(ctx, buf, len, &back) == 0 && back.dma_backend == 2 &&
		       back.n_dma_devs == 3 && back.n_fds == 6 &&
		       strcmp(back.dma_devs[2].bdf, "0000:03:00.0") == 0 &&
		       back.dma_devs[1].group == 5,
		   "dma: round trip");
		hmi_shconf_free(&back);
	}
	free(buf);
	sc.n_fds = 5;
	dma_refused(&sc, "a descriptor count off by one", "5 descriptors served, the backings");
	sc.n_fds = 6;
	strcpy(devs[1].bdf, "0000:00:05.A");
	dma_refused(&sc, "an upper-case address", "DMA device 1 ('0000:00:05.A'");
	strcpy(devs[1].bdf, "00:05.1");
	dma_refused(&sc, "a short address", "DMA device 1");
	strcpy(devs[1].bdf, "0000:00:05.1");
	devs[0].group = -1;
	dma_refused(&sc, "type1 without a group", "DMA device 0");
	devs[0].group = 5;
	sc.dma_backend = 1;
	dma_refused(&sc, "iommufd with groups", "DMA device 0");
	sc.dma_backend = 7;
	dma_refused(&sc, "an unknown backend", "DMA backend 7 with 3 devices");
	sc.dma_backend = 0;
	dma_refused(&sc, "devices without a backend", "DMA backend 0 with 3 devices");
	sc.dma_devs = NULL; /* on the stack */
	sc.n_dma_devs = 0;
	hmi_shconf_free(&sc);
}

static void keeper_refused(struct hmi_shconf *sc, const char *what, const char *want)
{
	size_t len = 0;
	void *buf = NULL;

	is_int(hmi_shconf_encode(ctx, sc, &buf, &len), -EINVAL, "keeper: %s refused", what);
	like(hm_errmsg(ctx), want, "keeper: %s named", what);
	free(buf);
}

/* Format 4: memfds a keeper leased travel by chunk id, not by descriptor. */
static void test_keeper(void)
{
	static const size_t segs[] = {6, 2};
	struct hmi_shconf sc, back;
	size_t len = 0;
	uint8_t *buf;

	build(&sc, segs, 2, 2);
	sc.kind = HMI_BACK_MEMFD;
	for (size_t b = 0; b < 2; b++)
		sc.backings[b] = (struct hmi_shconf_backing){.kind = HMI_BACK_MEMFD,
							     .node = (int)b,
							     .size = 8 * PS,
							     .chunk = 40 + b,
							     .fd = 5 + (int)b,
							     .dev = 0x14,
							     .ino = 900 + b};
	snprintf(sc.keeper_dir, sizeof(sc.keeper_dir), "/run/hugemem-keeper");
	sc.dir[0] = '\0';
	sc.n_fds = (uint32_t)hmi_shconf_fd_count(&sc);
	is_int((int)sc.n_fds, 0, "keeper: the descriptor server hands out no memfd");
	buf = encode(&sc, &len);
	if (ok(buf != NULL, "keeper: encode")) {
		ok(hmi_shconf_decode(ctx, buf, len, &back) == 0 &&
		       strcmp(back.keeper_dir, "/run/hugemem-keeper") == 0 &&
		       back.backings[0].chunk == 40 && back.backings[1].chunk == 41 &&
		       back.backings[1].fd == 6 && back.backings[1].ino == 901,
		   "keeper: its directory, every chunk id, descriptor and inode round-trip");
		hmi_shconf_free(&back);
	}
	free(buf);
	sc.backings[1].chunk = 0;
	keeper_refused(&sc, "a backing without its chunk", "backing 1 has no name and inode 901");
	sc.backings[1].chunk = 41;
	sc.backings[1].fd = -1;
	keeper_refused(&sc, "a chunk without its descriptor", "descriptor -1 (every backing");
	sc.backings[1].fd = 6;
	snprintf(sc.keeper_dir, sizeof(sc.keeper_dir), "run/keeper");
	keeper_refused(&sc, "a relative keeper directory", "keeper directory 'run/keeper'");
	hmi_shconf_free(&sc);
}

int main(void)
{
	const char *corpus = getenv("HM_SHCONF_CORPUS");
	char dir[128];

	if (hm_ctx_new(&ctx) < 0 || !mkdtemp(top))
		return plan_skip_all("cannot set up a context and a temporary directory");
	snprintf(dir, sizeof(dir), "%s/hmtest", top);
	mkdir(dir, 0700);
	if (corpus)
		write_corpus(corpus);
	test_roundtrip();
	test_compact();
	test_truncated();
	test_magic_version();
	test_bitflips();
	test_contents();
	test_dma();
	test_keeper();
	test_encode_refuses();
	test_write_read(dir);
	test_read_refuses(dir);
	test_random();
	rmdir(dir);
	rmdir(top);
	hm_ctx_free(ctx);
	return done();
}
