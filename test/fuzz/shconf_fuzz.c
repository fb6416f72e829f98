/* SPDX-License-Identifier: MIT */
/*
 * shconf_fuzz.c — the layout file a secondary reads (hmi_shconf_decode: the
 * bytes of <rundir>/<prefix>/layout, never trusted).
 *
 * Each input is decoded twice: as it is, and as a "sealed" copy whose
 * file-size field and FNV-1a checksum are set right, so that the fuzzer gets
 * past the envelope into the counts, records, names and their validation
 * (it would almost never guess a checksum).
 *
 * Properties, for every input:
 *  - a failure is -EBADMSG or -EPROTO (-ENOMEM allowed) with a one-line
 *    message, and leaves *SC all zero (nothing to free, nothing dangling);
 *  - a buffer is never accepted unless its size field equals its length and
 *    its checksum field equals the FNV-1a 64 of the buffer with that field
 *    taken as zero (computed here independently of the library);
 *  - a buffer whose envelope was already right decodes the same whether
 *    sealed or not;
 *  - whatever is accepted is a layout the encoder accepts too, and
 *    encode -> decode gives back the same layout, field for field, whose
 *    encoding is the same bytes again.
 */
#include "fuzz.h"
#include "shconf/shconf.h"

#define HDR_FILE_SIZE 16
#define HDR_CHECKSUM  24
#define FNV_OFFSET    0xcbf29ce484222325ULL
#define FNV_PRIME     0x100000001b3ULL

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* FNV-1a 64 of BUF[0..LEN), the 8 checksum bytes counted as zero. */
static uint64_t checksum(const uint8_t *buf, size_t len)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= i >= HDR_CHECKSUM && i < HDR_CHECKSUM + 8 ? 0 : buf[i];
		h *= FNV_PRIME;
	}
	return h;
}

static int envelope_ok(const uint8_t *buf, size_t len)
{
	return len >= HDR_CHECKSUM + 8 && get_le64(buf + HDR_FILE_SIZE) == len &&
	       get_le64(buf + HDR_CHECKSUM) == checksum(buf, len);
}

static int is_zero(const struct hmi_shconf *sc)
{
	static const struct hmi_shconf zero;

	return memcmp(sc, &zero, sizeof(zero)) == 0;
}

static void same_layout(const struct hmi_shconf *a, const struct hmi_shconf *b)
{
	FUZZ_CHECK(a->pid == b->pid && a->kind == b->kind && a->iova_mode == b->iova_mode &&
		       a->hugepages == b->hugepages && a->page_size == b->page_size &&
		       a->va_base == b->va_base && a->va_len == b->va_len &&
		       a->total_bytes == b->total_bytes,
		   "header fields differ after encode -> decode");
	FUZZ_CHECK(strcmp(a->prefix, b->prefix) == 0 && strcmp(a->dir, b->dir) == 0,
		   "prefix or dir differ: '%s' '%s'", a->prefix, b->prefix);
	FUZZ_CHECK(a->n_backings == b->n_backings && a->n_pages == b->n_pages &&
		       a->n_segs == b->n_segs,
		   "counts differ");
	for (size_t i = 0; i < a->n_backings; i++) {
		const struct hmi_shconf_backing *x = &a->backings[i], *y = &b->backings[i];

		FUZZ_CHECK(x->kind == y->kind && x->node == y->node && x->size == y->size &&
			       strcmp(x->name, y->name) == 0,
			   "backing %zu differs", i);
	}
	for (size_t i = 0; i < a->n_pages; i++) {
		const struct hmi_page *x = &a->pages[i], *y = &b->pages[i];

		FUZZ_CHECK(x->va == y->va && x->iova == y->iova && x->node == y->node &&
			       x->backing == y->backing && x->offset == y->offset,
			   "page %zu differs", i);
	}
	for (size_t i = 0; i < a->n_segs; i++) {
		const struct hmi_seg *x = &a->segs[i], *y = &b->segs[i];

		FUZZ_CHECK(x->va == y->va && x->iova == y->iova && x->len == y->len &&
			       x->page_size == y->page_size && x->node == y->node &&
			       x->first_page == y->first_page && x->n_pages == y->n_pages,
			   "segment %zu differs", i);
	}
}

/* An accepted layout SC: encode, decode, compare, encode again. */
static void check_roundtrip(struct hm_ctx *ctx, const struct hmi_shconf *sc)
{
	struct hmi_shconf back;
	void *buf = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	int rc = hmi_shconf_encode(ctx, sc, &buf, &len);

	FUZZ_CHECK(rc == 0, "an accepted layout does not encode: %s", hm_errmsg(ctx));
	FUZZ_CHECK(envelope_ok(buf, len), "the encoder's own envelope is wrong");
	rc = hmi_shconf_decode(ctx, buf, len, &back);
	FUZZ_CHECK(rc == 0, "an encoded layout does not decode: %s", hm_errmsg(ctx));
	same_layout(sc, &back);
	rc = hmi_shconf_encode(ctx, &back, &again, &len2);
	FUZZ_CHECK(rc == 0 && len2 == len && memcmp(buf, again, len) == 0,
		   "encode -> decode -> encode gives other bytes (%zu, %zu)", len, len2);
	free(buf);
	free(again);
	hmi_shconf_free(&back);
}

/* Decode BUF: the properties of either outcome. Returns the code. */
static int decode(struct hm_ctx *ctx, const uint8_t *buf, size_t len)
{
	struct hmi_shconf sc;
	int rc;

	memset(&sc, 0xa5, sizeof(sc));
	hmi_err_clear(ctx);
	rc = hmi_shconf_decode(ctx, buf, len, &sc);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 3, -EBADMSG, -EPROTO, -ENOMEM), "decode: %d", rc);
	fuzz_failed(ctx, rc, "hmi_shconf_decode");
	if (rc < 0) {
		FUZZ_CHECK(is_zero(&sc), "a failure (%s) leaves *sc set", hm_errmsg(ctx));
		return rc;
	}
	FUZZ_CHECK(envelope_ok(buf, len),
		   "accepted %zu bytes whose size field or checksum is wrong", len);
	check_roundtrip(ctx, &sc);
	hmi_shconf_free(&sc);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	uint8_t *sealed;
	int rc = decode(ctx, data, size), rc_sealed;

	if (size < HDR_CHECKSUM + 8)
		return 0;
	sealed = malloc(size);
	if (!sealed)
		abort();
	memcpy(sealed, data, size);
	put_le64(sealed + HDR_FILE_SIZE, size);
	put_le64(sealed + HDR_CHECKSUM, checksum(sealed, size));
	rc_sealed = decode(ctx, sealed, size);
	if (memcmp(sealed, data, size) == 0)
		FUZZ_CHECK(rc_sealed == rc, "the same bytes decode as %d, then %d", rc, rc_sealed);
	free(sealed);
	return 0;
}
