/* SPDX-License-Identifier: MIT */
/*
 * size_fuzz.c — hm_parse_size (-m, --page-size, zone sizes) on any text.
 *
 * Properties, for every input:
 *  - it agrees with a small reference model of the documented grammar: digits,
 *    then nothing (MiB) or one of K, M, G, T alone or followed by "B" or "iB",
 *    any case; the value shifted by the unit must fit in 64 bits. Accepted
 *    exactly when the model accepts, with the same value;
 *  - a failure is -EINVAL or -ERANGE with a one-line message;
 *  - a size is a whole number of KiB, and written back in its largest whole
 *    unit ("1536M") or as hm_size_str prints it without the space ("1536 MiB"
 *    -> "1536MiB") it parses to the same value;
 *  - the case of the letters does not matter: the text with every letter's
 *    case swapped gives the same result.
 */
#include "fuzz.h"

#include <ctype.h>

/* The reference model: 1 and *BYTES when TEXT is a size, else 0. */
static int model_size(const char *text, uint64_t *bytes)
{
	static const char letters[] = "kmgt";
	const char *p = text, *hit;
	uint64_t v = 0;
	int shift = 20;

	if (!isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		hit = strchr(letters, tolower((unsigned char)*p));
		if (!hit || !*hit)
			return 0;
		shift = 10 * (int)(hit - letters + 1);
		p++;
		if (strcasecmp(p, "") != 0 && strcasecmp(p, "b") != 0 && strcasecmp(p, "ib") != 0)
			return 0;
	}
	if (v > (UINT64_MAX >> shift))
		return 0;
	*bytes = v << shift;
	return 1;
}

static void check_reformat(struct hm_ctx *ctx, uint64_t bytes)
{
	char buf[64], *sp;
	uint64_t again = 0;
	int rc;

	fuzz_whole_size(bytes, buf, sizeof(buf));
	rc = hm_parse_size(ctx, buf, &again);
	FUZZ_CHECK(rc == 0 && again == bytes, "%" PRIu64 " written as '%s' reads back as %" PRIu64,
		   bytes, buf, again);
	hm_size_str(bytes, buf, sizeof(buf));
	sp = strchr(buf, ' ');
	if (!sp || bytes == 0 || strstr(buf, "PiB") || strstr(buf, "EiB"))
		return; /* "0 B", and units beyond T, are not parser units */
	memmove(sp, sp + 1, strlen(sp));
	rc = hm_parse_size(ctx, buf, &again);
	FUZZ_CHECK(rc == 0 && again == bytes,
		   "%" PRIu64 " as hm_size_str '%s' reads back as %" PRIu64, bytes, buf, again);
}

static void check_case(struct hm_ctx *ctx, char *text, int rc, uint64_t bytes)
{
	uint64_t other = 0;
	int rc2;

	for (char *p = text; *p; p++)
		if (isalpha((unsigned char)*p))
			*p = (char)(isupper((unsigned char)*p) ? tolower((unsigned char)*p)
							       : toupper((unsigned char)*p));
	rc2 = hm_parse_size(ctx, text, &other);
	FUZZ_CHECK(rc2 == rc && (rc < 0 || other == bytes),
		   "case-swapped '%s' gives %d/%" PRIu64 ", the original %d/%" PRIu64, text, rc2,
		   other, rc, bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	uint64_t bytes = 0, model = 0;
	int rc = hm_parse_size(ctx, text, &bytes), want = model_size(text, &model);

	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "hm_parse_size returned %d", rc);
	fuzz_failed(ctx, rc, "hm_parse_size");
	FUZZ_CHECK((rc == 0) == want, "'%s': hm_parse_size %d, the model %s", text, rc,
		   want ? "accepts it" : "refuses it");
	if (rc == 0) {
		FUZZ_CHECK(bytes == model, "'%s' is %" PRIu64 ", the model says %" PRIu64, text,
			   bytes, model);
		FUZZ_CHECK(bytes % 1024 == 0, "'%s' is %" PRIu64 " bytes: not whole KiB", text,
			   bytes);
		check_reformat(ctx, bytes);
	}
	check_case(ctx, text, rc, bytes);
	free(text);
	return 0;
}
