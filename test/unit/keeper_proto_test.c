/* SPDX-License-Identifier: MIT */
/*
 * keeper_proto_test.c — the keeper's messages (keeper/proto.c): every type
 * survives encode -> decode -> encode byte for byte; every truncation, every
 * single-byte change and each kind of garbage is refused with -EBADMSG or
 * -EPROTO and a one-line message, or decodes to a message that encodes to
 * the very same bytes; the encoder refuses what the decoder would; messages
 * and descriptors cross a SOCK_SEQPACKET pair, and an oversized one is
 * refused with every descriptor closed. Also parse/'s "Key: value" reader
 * that the keeper uses on a pidfd's fdinfo. No hugepages needed.
 */
#include "keeper/keeper.h"
#include "parse/parse.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct hm_ctx *ctx;
static uint8_t buf[HMI_KP_MSG_MAX], copy[HMI_KP_MSG_MAX];

/* ------------------------------------------------------------------ samples */

static struct hmi_kp_chunk sample_chunks[3] = {
    {.id = 7, .node = 0, .len = 32 << 20, .first_run = 0, .n_runs = 1},
    {.id = 8, .node = 1, .len = 8 << 20, .first_run = 1, .n_runs = 2},
    {.id = 99, .node = 63, .len = 2 << 20, .first_run = 3, .n_runs = 1},
};
static struct hm_run sample_runs[4] = {
    {.pa = 0x40000000, .pages = 16},
    {.pa = 0x80000000, .pages = 3},
    {.pa = 0x10000000, .pages = 1},
    {.pa = 0, .pages = 1},
};
static uint64_t sample_ids[3] = {5, 6, 0xffffffffffffULL};
static uint64_t sample_joined[2] = {12, 7};
static struct hm_keeper_lease sample_leases[2] = {{.pid = 42, .uid = 1000, .bytes = 64 << 20},
						  {.pid = 4242, .uid = 0, .bytes = 2 << 20}};
static struct hm_keeper_status sample_status = {
    .pid = 17,
    .page_size = 2 << 20,
    .chunk_bytes = 32 << 20,
    .keep_bytes = 128 << 20,
    .n_nodes = 2,
    .nodes = {{.node = 0, .free_bytes = 64 << 20, .leased_bytes = 32 << 20},
	      {.node = 3, .pending_bytes = 32 << 20}},
    .n_leases = 2,
    .leases_total = 5,
    .leases = sample_leases,
};

/* Message number I of the samples (0 .. N_SAMPLES-1). */
#define N_SAMPLES 17
static struct hmi_kp_msg sample(int i)
{
	struct hmi_kp_msg m = {0};

	switch (i) {
	case 0:
		m.type = HMI_KP_HELLO;
		break;
	case 1:
		m = (struct hmi_kp_msg){.type = HMI_KP_HELLO_REPLY,
					.pa_allowed = 1,
					.page_size = 2 << 20,
					.chunk_bytes = 32 << 20};
		break;
	case 2:
		m = (struct hmi_kp_msg){.type = HMI_KP_HELLO_REPLY, .status = -EPERM};
		snprintf(m.text, sizeof(m.text), "pidfd names pid 3, not 4");
		break;
	case 3:
		m = (struct hmi_kp_msg){.type = HMI_KP_LEASE, .page_size = 2 << 20, .n_asks = 3};
		m.asks[0] = (struct hmi_kp_ask){.node = -1, .bytes = 1 << 30};
		m.asks[1] = (struct hmi_kp_ask){.node = 0, .bytes = 1};
		m.asks[2] = (struct hmi_kp_ask){.node = 63, .bytes = HMI_KP_BYTES_MAX};
		break;
	case 4:
		m = (struct hmi_kp_msg){.type = HMI_KP_LEASE_REPLY,
					.flags = HMI_KP_MORE,
					.page_size = 2 << 20,
					.n_chunks = 3,
					.n_runs = 4,
					.chunks = sample_chunks,
					.runs = sample_runs};
		break;
	case 5:
		m = (struct hmi_kp_msg){.type = HMI_KP_LEASE_REPLY, .status = -ENOMEM};
		snprintf(m.text, sizeof(m.text), "node 0: asked 1 GiB but the keeper has 64 MiB");
		break;
	case 6:
		m = (struct hmi_kp_msg){.type = HMI_KP_RETURN, .n_ids = 3, .ids = sample_ids};
		break;
	case 7:
		m = (struct hmi_kp_msg){.type = HMI_KP_RETURN, .flags = HMI_KP_ALL};
		break;
	case 8:
		m = (struct hmi_kp_msg){.type = HMI_KP_RETURN_REPLY, .returned = 3};
		break;
	case 9:
		m.type = HMI_KP_STATUS;
		break;
	case 11:
		m = (struct hmi_kp_msg){.type = HMI_KP_JOIN, .n_fds = 2};
		break;
	case 12:
		m = (struct hmi_kp_msg){
		    .type = HMI_KP_JOIN_REPLY, .n_ids = 2, .ids = sample_joined};
		break;
	case 13:
		m = (struct hmi_kp_msg){.type = HMI_KP_JOIN_REPLY, .status = -ENOENT};
		snprintf(m.text, sizeof(m.text),
			 "descriptor 1 of the 1 sent with JOIN is no chunk");
		break;
	case 14:
		m = (struct hmi_kp_msg){
		    .type = HMI_KP_FETCH, .pid = 4242, .n_ids = 3, .ids = sample_ids};
		break;
	case 15:
		m = (struct hmi_kp_msg){
		    .type = HMI_KP_FETCH_REPLY, .n_ids = 2, .ids = sample_joined};
		break;
	case 16:
		m = (struct hmi_kp_msg){.type = HMI_KP_FETCH_REPLY, .status = -EPERM};
		snprintf(m.text, sizeof(m.text), "pid 4242's memory belongs to uid 0");
		break;
	default:
		m = (struct hmi_kp_msg){.type = HMI_KP_STATUS_REPLY,
					.st = &sample_status,
					.refilled_ns = 0x0123456789abcdefull};
		break;
	}
	return m;
}

static size_t encode(const struct hmi_kp_msg *m)
{
	size_t len = 0;
	int rc = hmi_kp_encode(ctx, m, buf, sizeof(buf), &len);

	if (rc < 0)
		diag("encode of type %d: %s", (int)m->type, hm_errmsg(ctx));
	return rc < 0 ? 0 : len;
}

static int one_line(void)
{
	const char *msg = hm_errmsg(ctx);

	return msg[0] && !strchr(msg, '\n');
}

static int nothing_held(const struct hmi_kp_msg *m)
{
	return !m->chunks && !m->runs && !m->ids && !m->st;
}

/* ------------------------------------------------------------------ round trips */

static int same(const struct hmi_kp_msg *a, const struct hmi_kp_msg *b)
{
	int eq = a->type == b->type && a->flags == b->flags && a->status == b->status &&
		 strcmp(a->text, b->text) == 0 && a->pa_allowed == b->pa_allowed &&
		 a->page_size == b->page_size && a->chunk_bytes == b->chunk_bytes &&
		 a->n_asks == b->n_asks && a->n_chunks == b->n_chunks && a->n_runs == b->n_runs &&
		 a->n_ids == b->n_ids && a->returned == b->returned && a->n_fds == b->n_fds &&
		 a->pid == b->pid && a->refilled_ns == b->refilled_ns;

	for (uint32_t i = 0; eq && i < a->n_asks; i++)
		eq = a->asks[i].node == b->asks[i].node && a->asks[i].bytes == b->asks[i].bytes;
	for (uint32_t i = 0; eq && i < a->n_chunks; i++)
		eq = memcmp(&a->chunks[i], &b->chunks[i], sizeof(a->chunks[i])) == 0;
	for (uint32_t i = 0; eq && i < a->n_runs; i++)
		eq = a->runs[i].pa == b->runs[i].pa && a->runs[i].pages == b->runs[i].pages;
	for (uint32_t i = 0; eq && i < a->n_ids; i++)
		eq = a->ids[i] == b->ids[i];
	if (eq && a->st && b->st) {
		eq = a->st->pid == b->st->pid && a->st->n_nodes == b->st->n_nodes &&
		     a->st->n_leases == b->st->n_leases &&
		     a->st->leases_total == b->st->leases_total &&
		     memcmp(a->st->nodes, b->st->nodes, sizeof(a->st->nodes[0]) * a->st->n_nodes) ==
			 0;
		for (size_t i = 0; eq && i < a->st->n_leases; i++)
			eq = a->st->leases[i].pid == b->st->leases[i].pid &&
			     a->st->leases[i].uid == b->st->leases[i].uid &&
			     a->st->leases[i].bytes == b->st->leases[i].bytes;
	}
	return eq;
}

/* HM_KEEPER_CORPUS=DIR: write each sample there too, the seeds of the
 * libFuzzer harness test/fuzz/keeper_fuzz.c (test/fuzz/corpus/keeper/). */
static void save_seed(int i, size_t len)
{
	const char *dir = getenv("HM_KEEPER_CORPUS");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/sample-%02d", dir, i);
	f = fopen(path, "wb");
	if (f && fwrite(buf, 1, len, f) != len)
		diag("cannot write %s", path);
	if (f)
		fclose(f);
}

static void test_round_trips(void)
{
	for (int i = 0; i < N_SAMPLES; i++) {
		struct hmi_kp_msg m = sample(i), back;
		size_t len = encode(&m), len2 = 0;
		int rc = hmi_kp_decode(ctx, buf, len, &back);

		save_seed(i, len);
		ok(len > 0 && rc == 0 && same(&m, &back), "sample %d (type %d) round-trips", i,
		   (int)m.type);
		memcpy(copy, buf, len);
		ok(rc == 0 && hmi_kp_encode(ctx, &back, buf, sizeof(buf), &len2) == 0 &&
		       len2 == len && memcmp(buf, copy, len) == 0,
		   "sample %d: encode -> decode -> encode gives the same %zu bytes", i, len);
		if (rc == 0)
			hmi_kp_msg_free(&back);
	}
}

/* ------------------------------------------------------------------ attacks */

/* Every prefix of every sample is refused, holding nothing. */
static void test_truncations(void)
{
	int refused = 1, checked = 0;

	for (int i = 0; i < N_SAMPLES; i++) {
		struct hmi_kp_msg m = sample(i), back;
		size_t len = encode(&m);

		memcpy(copy, buf, len);
		for (size_t cut = 0; cut < len; cut++) {
			int rc = hmi_kp_decode(ctx, copy, cut, &back);

			checked++;
			if (rc != -EBADMSG || !one_line() || !nothing_held(&back)) {
				diag("sample %d cut to %zu: rc %d (%s)", i, cut, rc,
				     hm_errmsg(ctx));
				refused = 0;
				if (rc == 0)
					hmi_kp_msg_free(&back);
			}
		}
	}
	ok(refused && checked > 300, "all %d truncations refused with -EBADMSG and a message",
	   checked);
}

/* Each byte of each sample XORed with a few patterns: refused, or accepted
 * as a message that encodes back to exactly those bytes. */
static void test_flips(void)
{
	static const uint8_t pat[] = {0x01, 0x80, 0xff, 0x10};
	int good = 1, accepted = 0, total = 0;

	for (int i = 0; i < N_SAMPLES; i++) {
		struct hmi_kp_msg m = sample(i);
		size_t len = encode(&m);

		memcpy(copy, buf, len);
		for (size_t b = 0; b < len; b++)
			for (size_t p = 0; p < sizeof(pat); p++) {
				struct hmi_kp_msg back;
				size_t len2 = 0;
				int rc;

				copy[b] ^= pat[p];
				rc = hmi_kp_decode(ctx, copy, len, &back);
				total++;
				if (rc == 0) {
					accepted++;
					if (hmi_kp_encode(ctx, &back, buf, sizeof(buf), &len2) <
						0 ||
					    len2 != len || memcmp(buf, copy, len) != 0)
						good = 0;
					hmi_kp_msg_free(&back);
				} else if ((rc != -EBADMSG && rc != -EPROTO) || !one_line() ||
					   !nothing_held(&back)) {
					good = 0;
				}
				copy[b] ^= pat[p];
			}
	}
	ok(good,
	   "%d changed messages: %d accepted re-encode to the same bytes, the rest "
	   "refused with -EBADMSG/-EPROTO",
	   total, accepted);
}

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

/* Sample I encoded, with the 4 bytes at OFF set to V (8 bytes when WIDE);
 * decoded: its result. */
static int patched(int i, size_t off, uint64_t v, int wide, size_t extra)
{
	struct hmi_kp_msg m = sample(i), back;
	size_t len = encode(&m) + extra;
	int rc;

	if (wide)
		put64(buf + off, v);
	else
		put32(buf + off, (uint32_t)v);
	if (extra) {
		memset(buf + len - extra, 0, extra);
		put32(buf + 8, (uint32_t)len);
	}
	rc = hmi_kp_decode(ctx, buf, len, &back);
	if (rc == 0)
		hmi_kp_msg_free(&back);
	return rc;
}

static void test_garbage(void)
{
	struct hmi_kp_msg back;

	is_int(patched(0, 0, 0x12345678, 0, 0), -EPROTO, "a wrong magic is -EPROTO");
	ok(strstr(hm_errmsg(ctx), "not a hugemem keeper message") != NULL, "  and says so: %s",
	   hm_errmsg(ctx));
	is_int(patched(0, 4, 4 | HMI_KP_HELLO << 16, 0, 0), -EPROTO, "version 4 is -EPROTO");
	is_int(patched(0, 4, 2 | HMI_KP_HELLO << 16, 0, 0), -EPROTO,
	       "version 2 (before the refill stamp) is -EPROTO");
	ok(strstr(hm_errmsg(ctx), "version 2; this side speaks 3") != NULL, "  and says both: %s",
	   hm_errmsg(ctx));
	is_int(patched(0, 4, 3 | 0u << 16, 0, 0), -EPROTO, "type 0 is -EPROTO");
	ok(strstr(hm_errmsg(ctx), "version") == NULL, "  for its type, not its version: %s",
	   hm_errmsg(ctx));
	is_int(patched(0, 4, 3 | 77u << 16, 0, 0), -EPROTO, "type 77 is -EPROTO");
	is_int(patched(0, 12, 1, 0, 0), -EPROTO, "a HELLO with a flag is -EPROTO");
	is_int(patched(4, 12, 2, 0, 0), -EPROTO, "a LEASE_REPLY with an unknown flag is -EPROTO");
	is_int(patched(0, 0, HMI_KP_MAGIC, 0, 1), -EBADMSG, "a byte past the body is -EBADMSG");
	is_int(patched(0, 8, 17, 0, 0), -EBADMSG, "a length field that lies is -EBADMSG");
	is_int(patched(2, 24, '\n', 0, 0), -EBADMSG, "a reply's text with a newline is -EBADMSG");
	is_int(patched(2, 16, 1, 0, 0), -EBADMSG, "a positive status is -EBADMSG");
	is_int(patched(2, 20, 600, 0, 0), -EBADMSG, "a text length past the message is -EBADMSG");
	/* LEASE: page size at 16, n at 24, asks at 28 (node, bytes) */
	is_int(patched(3, 16, 3 << 20, 1, 0), -EBADMSG, "a page size of 3 MiB is -EBADMSG");
	is_int(patched(3, 24, 0, 0, 0), -EBADMSG, "a lease of no asks is -EBADMSG");
	is_int(patched(3, 24, 66, 0, 0), -EBADMSG, "a lease of 66 asks is -EBADMSG");
	is_int(patched(3, 24, 0xffffffff, 0, 0), -EBADMSG, "a lease of 2^32-1 asks is -EBADMSG");
	is_int(patched(3, 28, 64, 0, 0), -EBADMSG, "node 64 is -EBADMSG");
	is_int(patched(3, 28, (uint32_t)-2, 0, 0), -EBADMSG, "node -2 is -EBADMSG");
	is_int(patched(3, 52, 0, 0, 0), -EBADMSG, "a node asked twice is -EBADMSG");
	is_int(patched(3, 40, (uint32_t)-1, 0, 0), -EBADMSG, "\"any\" asked twice is -EBADMSG");
	is_int(patched(3, 32, 0, 1, 0), -EBADMSG, "an ask of 0 bytes is -EBADMSG");
	is_int(patched(3, 32, HMI_KP_BYTES_MAX + 1, 1, 0), -EBADMSG,
	       "an ask past 1 PiB is -EBADMSG");
	/* LEASE_REPLY (text ""): page size at 24, n_chunks at 32, n_runs at 36, chunks at
	 * 40: id, node at 48, len at 52, n_runs at 60 */
	is_int(patched(4, 32, 251, 0, 0), -EBADMSG, "251 chunks in one reply is -EBADMSG");
	is_int(patched(4, 36, 5, 0, 0), -EBADMSG, "a run count that does not add up is -EBADMSG");
	is_int(patched(4, 40, 0, 1, 0), -EBADMSG, "chunk id 0 is -EBADMSG");
	is_int(patched(4, 48, (uint32_t)-1, 0, 0), -EBADMSG, "a chunk on node -1 is -EBADMSG");
	is_int(patched(4, 52, 30 << 20, 1, 0), -EBADMSG,
	       "a chunk whose runs do not make its length is -EBADMSG");
	is_int(patched(4, 52, (32 << 20) + 1, 1, 0), -EBADMSG,
	       "a chunk length that is not whole pages is -EBADMSG");
	/* runs after 3 chunks of 24 bytes: at 112 */
	is_int(patched(4, 112, 0x40000001, 1, 0), -EBADMSG, "a misaligned run is -EBADMSG");
	is_int(patched(4, 120, 0, 1, 0), -EBADMSG, "an empty run is -EBADMSG");
	is_int(patched(4, 112, UINT64_MAX - (2 << 20) + 1, 1, 0), -EBADMSG,
	       "a run past 2^64 is -EBADMSG");
	/* RETURN: n at 16, ids at 20 */
	is_int(patched(7, 12, 0, 0, 0), -EBADMSG, "a RETURN of neither ids nor all is -EBADMSG");
	is_int(patched(6, 12, HMI_KP_ALL, 0, 0), -EBADMSG, "a RETURN of ids and all is -EBADMSG");
	is_int(patched(6, 20, 0, 1, 0), -EBADMSG, "chunk id 0 in a RETURN is -EBADMSG");
	is_int(patched(6, 16, 4097, 0, 0), -EBADMSG, "4097 ids is -EBADMSG");
	/* STATUS_REPLY (text ""): pid 24, page 28, chunk 36, keep 44, n_nodes 52,
	 * n_leases 56, total 60, refilled 68, nodes at 76 (node, free, leased, pending) */
	is_int(patched(10, 24, 0, 0, 0), -EBADMSG, "a status of pid 0 is -EBADMSG");
	is_int(patched(10, 52, 65, 0, 0), -EBADMSG, "65 nodes is -EBADMSG");
	is_int(patched(10, 60, 1, 1, 0), -EBADMSG, "fewer leases in all than listed is -EBADMSG");
	is_int(patched(10, 104, 0, 0, 0), -EBADMSG, "nodes not ascending is -EBADMSG");
	is_int(patched(10, 68, UINT64_MAX, 1, 0), 0, "any refill stamp is taken as it is");
	is_int(patched(10, 56, 1025, 0, 0), -EBADMSG, "1025 leases listed is -EBADMSG");
	/* JOIN: n at 16; JOIN_REPLY (text ""): n at 24, ids at 28 */
	is_int(patched(11, 16, 0, 0, 0), -EBADMSG, "a JOIN of no descriptor is -EBADMSG");
	is_int(patched(11, 16, 251, 0, 0), -EBADMSG, "a JOIN of 251 descriptors is -EBADMSG");
	is_int(patched(11, 12, 1, 0, 0), -EPROTO, "a JOIN with a flag is -EPROTO");
	is_int(patched(12, 28, 0, 1, 0), -EBADMSG, "chunk id 0 in a JOIN_REPLY is -EBADMSG");
	is_int(patched(12, 24, 3, 0, 0), -EBADMSG, "more ids than a JOIN_REPLY holds is -EBADMSG");
	is_int(patched(12, 16, (uint32_t)-ENOENT, 0, 0), -EBADMSG,
	       "a JOIN_REPLY refusal with ids is -EBADMSG");
	is_int(patched(13, 16, 0, 0, 0), -EBADMSG, "a JOIN_REPLY success with no id is -EBADMSG");
	is_int(patched(12, 24, 251, 0, 0), -EBADMSG, "251 ids in a JOIN_REPLY is -EBADMSG");
	/* FETCH: pid at 16, n at 20, ids at 24; FETCH_REPLY as JOIN_REPLY */
	is_int(patched(14, 16, 0, 0, 0), -EBADMSG, "a FETCH of pid 0 is -EBADMSG");
	is_int(patched(14, 16, (uint32_t)-1, 0, 0), -EBADMSG, "a FETCH of pid -1 is -EBADMSG");
	is_int(patched(14, 20, 0, 0, 0), -EBADMSG, "a FETCH of no chunk is -EBADMSG");
	is_int(patched(14, 20, 251, 0, 0), -EBADMSG, "a FETCH of 251 chunks is -EBADMSG");
	is_int(patched(14, 24, 0, 1, 0), -EBADMSG, "chunk id 0 in a FETCH is -EBADMSG");
	is_int(patched(14, 12, 1, 0, 0), -EPROTO, "a FETCH with a flag is -EPROTO");
	is_int(patched(15, 16, (uint32_t)-EPERM, 0, 0), -EBADMSG,
	       "a FETCH_REPLY refusal with ids is -EBADMSG");
	is_int(hmi_kp_decode(ctx, buf, HMI_KP_MSG_MAX + 1, &back), -EBADMSG,
	       "a message past 64 KiB is -EBADMSG");
}

static void test_encoder_refuses(void)
{
	struct hmi_kp_msg m = sample(3);
	static struct hmi_kp_chunk many[HMI_KP_FDS_MAX];
	static struct hm_run runs[HMI_KP_FDS_MAX * 20];
	size_t len = 0;

	m.asks[1].node = 99;
	is_int(hmi_kp_encode(ctx, &m, buf, sizeof(buf), &len), -EINVAL,
	       "the encoder refuses a node the decoder would refuse");
	m = (struct hmi_kp_msg){.type = HMI_KP_LEASE_REPLY,
				.page_size = 2 << 20,
				.n_chunks = HMI_KP_FDS_MAX,
				.n_runs = HMI_KP_FDS_MAX * 20,
				.chunks = many,
				.runs = runs};
	for (uint32_t i = 0; i < HMI_KP_FDS_MAX; i++)
		many[i] = (struct hmi_kp_chunk){
		    .id = i + 1, .len = 40 << 20, .first_run = i * 20, .n_runs = 20};
	for (size_t i = 0; i < HMI_KP_FDS_MAX * 20; i++)
		runs[i] = (struct hm_run){.pa = (uint64_t)i << 30, .pages = 1};
	is_int(hmi_kp_encode(ctx, &m, buf, sizeof(buf), &len), -EMSGSIZE,
	       "a reply past 64 KiB is -EMSGSIZE");
	ok(hmi_kp_lease_reply_size(HMI_KP_FDS_MAX, HMI_KP_FDS_MAX * 20, 0) > HMI_KP_MSG_MAX,
	   "and hmi_kp_lease_reply_size says it would not fit");
	m.n_chunks = 10;
	m.n_runs = 200;
	ok(hmi_kp_encode(ctx, &m, buf, sizeof(buf), &len) == 0 &&
	       len == hmi_kp_lease_reply_size(10, 200, 0),
	   "hmi_kp_lease_reply_size is the encoded size (%zu)", len);
	m = (struct hmi_kp_msg){.type = 0};
	is_int(hmi_kp_encode(ctx, &m, buf, sizeof(buf), &len), -EINVAL, "type 0 is not encoded");
}

/* ------------------------------------------------------------------ the socket */

static int fd_count(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_socket(void)
{
	int sv[2], fds[4], got_fds[4], before;
	size_t n = 0, len;
	struct hmi_kp_msg m = sample(8);
	struct stat a, b;
	ssize_t got;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	len = encode(&m);
	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/", O_RDONLY | O_CLOEXEC);
	is_int(hmi_kp_send(sv[0], buf, len, fds, 2), 0, "a message with 2 descriptors is sent");
	got = hmi_kp_recv(sv[1], copy, sizeof(copy), got_fds, 4, &n);
	ok(got == (ssize_t)len && n == 2 && memcmp(copy, buf, len) == 0,
	   "it arrives whole with its 2 descriptors");
	ok(n == 2 && fstat(got_fds[1], &a) == 0 && fstat(fds[1], &b) == 0 && a.st_ino == b.st_ino &&
	       (fcntl(got_fds[0], F_GETFD) & FD_CLOEXEC),
	   "the same files, close-on-exec");
	for (size_t i = 0; i < n; i++)
		close(got_fds[i]);
	before = fd_count();
	hmi_kp_send(sv[0], buf, len, fds, 2);
	is_int(hmi_kp_recv(sv[1], copy, len - 1, got_fds, 4, &n), -EMSGSIZE,
	       "a message longer than the buffer is -EMSGSIZE");
	ok(n == 0 && fd_count() == before, "and its descriptors are closed");
	hmi_kp_send(sv[0], buf, len, fds, 2);
	is_int(hmi_kp_recv(sv[1], copy, sizeof(copy), got_fds, 1, &n), -EMSGSIZE,
	       "more descriptors than asked for is -EMSGSIZE");
	ok(n == 0 && fd_count() == before, "and every one of them is closed");
	close(sv[0]);
	is_int(hmi_kp_recv(sv[1], copy, sizeof(copy), got_fds, 4, &n), 0,
	       "the end of the connection reads 0");
	close(sv[1]);
	close(fds[0]);
	close(fds[1]);
}

static void test_proc_field(void)
{
	long long v = 5;

	ok(hmi_parse_proc_field("pos:\t0\nflags:\t02000002\nPid:\t4242\nNSpid:\t4242\n",
				"Pid:", &v) == 0 &&
	       v == 4242,
	   "Pid: of a pidfd's fdinfo is read");
	ok(hmi_parse_proc_field("Pid:\t-1\n", "Pid:", &v) == 0 && v == -1,
	   "Pid: -1 (an exited process) is read");
	is_int(hmi_parse_proc_field("NSpid:\t4\n", "Pid:", &v), -ENOENT,
	       "a key inside another line's key is not it");
	is_int(hmi_parse_proc_field("Pid:\t12x\n", "Pid:", &v), -EINVAL, "12x is -EINVAL");
	is_int(hmi_parse_proc_field("Pid:\n", "Pid:", &v), -EINVAL, "no value is -EINVAL");
	is_int(hmi_parse_proc_field("Pid:\t99999999999999999999\n", "Pid:", &v), -EINVAL,
	       "a value past 63 bits is -EINVAL");
	ok(v == -1, "failures leave the value alone");
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	plan(2 * N_SAMPLES + 2 + 59 + 5 + 9 + 7);
	test_round_trips();
	test_truncations();
	test_flips();
	test_garbage();
	test_encoder_refuses();
	test_socket();
	test_proc_field();
	hm_ctx_free(ctx);
	return done();
}
