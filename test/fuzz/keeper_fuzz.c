/* SPDX-License-Identifier: MIT */
/*
 * keeper_fuzz.c — the pool keeper's messages (hmi_kp_decode: what a client
 * sends the keeper, and what a client reads from whatever answers on the
 * keeper's path; keeper/proto.c).
 *
 * Properties, for every input:
 *  - a failure is -EBADMSG or -EPROTO (-ENOMEM allowed) with a one-line
 *    message, and leaves nothing allocated in the message;
 *  - nothing past HMI_KP_MSG_MAX bytes is accepted, and a message whose
 *    length field is not its size never is;
 *  - whatever is accepted encodes again to exactly the same bytes (the
 *    format has one spelling of each message), and that decodes again;
 *  - an accepted LEASE_REPLY's chunks each own their runs in order, and the
 *    runs make each chunk's length in whole pages.
 */
#include "fuzz.h"
#include "keeper/keeper.h"

static uint8_t again[HMI_KP_MSG_MAX];

static void check_lease_reply(const struct hmi_kp_msg *m)
{
	uint32_t next = 0;

	for (uint32_t i = 0; i < m->n_chunks; i++) {
		uint64_t pages = 0;

		FUZZ_CHECK(m->chunks[i].first_run == next, "chunk %u's runs are not in order", i);
		for (uint32_t k = 0; k < m->chunks[i].n_runs; k++)
			pages += m->runs[next + k].pages;
		next += m->chunks[i].n_runs;
		FUZZ_CHECK(pages * m->page_size == m->chunks[i].len,
			   "chunk %u: runs of %" PRIu64 " pages for %" PRIu64 " bytes", i, pages,
			   m->chunks[i].len);
	}
	FUZZ_CHECK(next == m->n_runs, "the runs of the chunks are %u, not %u", next, m->n_runs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	struct hmi_kp_msg m, back;
	size_t len = 0;
	int rc = hmi_kp_decode(ctx, data, size, &m);

	if (rc < 0) {
		FUZZ_CHECK(fuzz_rc_in(rc, 3, -EBADMSG, -EPROTO, -ENOMEM), "decode returned %d", rc);
		fuzz_failed(ctx, rc, "hmi_kp_decode");
		FUZZ_CHECK(!m.chunks && !m.runs && !m.ids && !m.st, "a failure left memory held");
		return 0;
	}
	FUZZ_CHECK(size >= HMI_KP_HEADER && size <= HMI_KP_MSG_MAX, "accepted %zu bytes", size);
	FUZZ_CHECK((data[8] | data[9] << 8 | data[10] << 16 | (uint32_t)data[11] << 24) == size,
		   "accepted a length field that is not the size");
	if (m.type == HMI_KP_LEASE_REPLY)
		check_lease_reply(&m);
	rc = hmi_kp_encode(ctx, &m, again, sizeof(again), &len);
	FUZZ_CHECK(rc == 0, "an accepted message does not encode: %s", hm_errmsg(ctx));
	FUZZ_CHECK(len == size && memcmp(again, data, size) == 0,
		   "an accepted message of %zu bytes encodes to %zu other bytes", size, len);
	rc = hmi_kp_decode(ctx, again, len, &back);
	FUZZ_CHECK(rc == 0, "its encoding does not decode: %s", hm_errmsg(ctx));
	hmi_kp_msg_free(&back);
	hmi_kp_msg_free(&m);
	return 0;
}
