/* SPDX-License-Identifier: MIT */
/*
 * socket_mem_fuzz.c — hm_parse_socket_mem ("--socket-mem 64,0,128") on any
 * text.
 *
 * Properties, for every input:
 *  - a failure is -EINVAL or -ERANGE with a one-line message, and *COUNT and
 *    the array are left as they were;
 *  - a success gives 1..HM_MAX_NODES entries, one per comma-separated piece,
 *    at least one of them non-zero, each equal to hm_parse_size of its piece,
 *    and zeros past the count;
 *  - the entries written back in whole units and joined with commas parse to
 *    the same entries.
 */
#include "fuzz.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

/* Entry I of a successful parse against hm_parse_size of its piece. */
static void check_pieces(struct hm_ctx *ctx, const char *text, const uint64_t *bytes, int count)
{
	const char *p = text;

	for (int i = 0; i < count; i++) {
		size_t n = strcspn(p, ",");
		char *piece = strndup(p, n);
		uint64_t one = 0;
		int rc = hm_parse_size(ctx, piece, &one);

		FUZZ_CHECK(piece && rc == 0 && one == bytes[i],
			   "entry %d '%s' of '%s': hm_parse_size %d/%" PRIu64
			   ", list gives %" PRIu64,
			   i, piece ? piece : "?", text, rc, one, bytes[i]);
		free(piece);
		p += n + (p[n] == ',');
	}
	FUZZ_CHECK(*p == '\0', "'%s' has more pieces than the %d entries", text, count);
}

static void check_reformat(struct hm_ctx *ctx, const uint64_t *bytes, int count)
{
	char text[HM_MAX_NODES * 24 + 1] = "", one[24];
	uint64_t again[HM_MAX_NODES];
	size_t used = 0;
	int n = 0, rc;

	for (int i = 0; i < count; i++) {
		fuzz_whole_size(bytes[i], one, sizeof(one));
		used +=
		    (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", i ? "," : "", one);
	}
	rc = hm_parse_socket_mem(ctx, text, again, &n);
	FUZZ_CHECK(rc == 0 && n == count, "'%s' written back reads %d entries (rc %d), not %d",
		   text, n, rc, count);
	for (int i = 0; i < count; i++)
		FUZZ_CHECK(again[i] == bytes[i],
			   "'%s': entry %d reads back %" PRIu64 ", not %" PRIu64, text, i, again[i],
			   bytes[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	uint64_t bytes[HM_MAX_NODES], any = 0;
	int count = -7, rc;

	for (int i = 0; i < HM_MAX_NODES; i++)
		bytes[i] = SENTINEL;
	rc = hm_parse_socket_mem(ctx, text, bytes, &count);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "returned %d", rc);
	fuzz_failed(ctx, rc, "hm_parse_socket_mem");
	if (rc < 0) {
		FUZZ_CHECK(count == -7, "failure %d changed the count to %d", rc, count);
		for (int i = 0; i < HM_MAX_NODES; i++)
			FUZZ_CHECK(bytes[i] == SENTINEL, "failure %d wrote entry %d", rc, i);
		free(text);
		return 0;
	}
	FUZZ_CHECK(count >= 1 && count <= HM_MAX_NODES, "'%s' gives %d entries", text, count);
	for (int i = 0; i < HM_MAX_NODES; i++) {
		FUZZ_CHECK(i < count || bytes[i] == 0, "entry %d past the count is %" PRIu64, i,
			   bytes[i]);
		FUZZ_CHECK(bytes[i] % 1024 == 0, "entry %d is %" PRIu64 " bytes", i, bytes[i]);
		any |= bytes[i];
	}
	FUZZ_CHECK(any != 0, "'%s' accepted with every entry 0", text);
	check_pieces(ctx, text, bytes, count);
	check_reformat(ctx, bytes, count);
	free(text);
	return 0;
}
