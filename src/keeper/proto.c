/* SPDX-License-Identifier: MIT */
/*
 * keeper/proto.c — the one encoder and decoder of the keeper's messages
 * (the wire format is in keeper.h), and their sending and receiving with
 * descriptors.
 *
 * Both sides decode what another user wrote: a client may be anyone the
 * socket's mode lets in, and a client must not trust whatever answers on a
 * path either. So every count is bounded before anything is allocated,
 * every field is checked against what it may mean (node ids, page sizes
 * that are powers of two, lengths that are whole pages, sums that do not
 * overflow), a reply's text must be one printable line, and a message must
 * end exactly where its body does. Integers are written byte by byte in
 * little-endian order: no struct is ever copied to or from the wire.
 */
#include "keeper/keeper.h"
#include "base/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK_REC 24 /* u64 id, i32 node, u64 length, u32 n_runs */
#define RUN_REC	  16 /* u64 pa, u64 pages */
#define ASK_REC	  12 /* i32 node, u64 bytes */
#define NODE_REC  28 /* i32 node, u64 free, u64 leased, u64 pending */
#define LEASE_REC 16 /* i32 pid, u32 uid, u64 bytes */

static const uint32_t type_flags[HMI_KP_TYPE_END] = {
    [HMI_KP_LEASE_REPLY] = HMI_KP_MORE,
    [HMI_KP_RETURN] = HMI_KP_ALL,
};

static int is_reply(enum hmi_kp_type t)
{
	return t == HMI_KP_HELLO_REPLY || t == HMI_KP_LEASE_REPLY || t == HMI_KP_RETURN_REPLY ||
	       t == HMI_KP_STATUS_REPLY || t == HMI_KP_JOIN_REPLY || t == HMI_KP_FETCH_REPLY;
}

/* ------------------------------------------------------------------ reading */

struct rd {
	const uint8_t *p;
	size_t len, off;
	int short_read; /* a read went past the end */
};

static uint64_t rd_le(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (r->short_read || r->len - r->off < n) {
		r->short_read = 1;
		return 0;
	}
	for (size_t i = n; i-- > 0;)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	return rd_le(r, 8);
}

static uint32_t rd_u32(struct rd *r)
{
	return (uint32_t)rd_le(r, 4);
}

static int32_t rd_i32(struct rd *r)
{
	return (int32_t)(uint32_t)rd_le(r, 4);
}

static int bad(struct hm_ctx *ctx, const struct hmi_kp_msg *m, const char *what)
{
	return hmi_err(ctx, EBADMSG, "keeper message (type %d): %s", (int)m->type, what);
}

/* Fewer than N records of SIZE bytes left: refuse before allocating. */
static int room_for(const struct rd *r, uint64_t n, size_t size)
{
	return !r->short_read && n <= (r->len - r->off) / size;
}

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* A page size one side may name: a power of two from 4 KiB to 16 GiB. */
static int page_size_ok(uint64_t v)
{
	return is_pow2(v) && v >= 4096 && v <= (16ULL << 30);
}

static int header(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	uint32_t magic, version, type, length;

	if (r->len < HMI_KP_HEADER)
		return hmi_err(ctx, EBADMSG, "keeper message of %zu bytes: shorter than its header",
			       r->len);
	magic = rd_u32(r);
	version = (uint32_t)rd_le(r, 2);
	type = (uint32_t)rd_le(r, 2);
	length = rd_u32(r);
	m->flags = rd_u32(r);
	if (magic != HMI_KP_MAGIC)
		return hmi_err(ctx, EPROTO, "not a hugemem keeper message (magic 0x%08x)", magic);
	if (version != HMI_KP_VERSION)
		return hmi_err(ctx, EPROTO, "keeper protocol version %u; this side speaks %u",
			       version, HMI_KP_VERSION);
	if (type == 0 || type >= HMI_KP_TYPE_END)
		return hmi_err(ctx, EPROTO, "unknown keeper message type %u", type);
	m->type = (enum hmi_kp_type)type;
	if (length != r->len)
		return bad(ctx, m, "its length field is not its size");
	if (m->flags & ~type_flags[type])
		return hmi_err(ctx, EPROTO, "keeper message type %u with unknown flags 0x%x", type,
			       m->flags);
	return 0;
}

/* One printable line: no control byte, no NUL. */
static int text_ok(const uint8_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] == 0x7f)
			return 0;
	return 1;
}

static int reply_head(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	int32_t status = rd_i32(r);
	uint32_t n = rd_u32(r);

	if (r->short_read || status > 0 || status < -4095)
		return bad(ctx, m, "status out of range");
	if (n >= HMI_KP_TEXT_MAX || !room_for(r, n, 1) || !text_ok(r->p + r->off, n))
		return bad(ctx, m, "its text is not one line of at most 511 bytes");
	memcpy(m->text, r->p + r->off, n);
	m->text[n] = '\0';
	r->off += n;
	m->status = status;
	return 0;
}

static int dec_hello_reply(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	uint32_t pa = rd_u32(r);

	m->page_size = rd_u64(r);
	m->chunk_bytes = rd_u64(r);
	if (m->status < 0 && pa == 0 && m->page_size == 0 && m->chunk_bytes == 0)
		return 0;
	if (pa > 1 || !page_size_ok(m->page_size) || m->chunk_bytes == 0 ||
	    m->chunk_bytes % m->page_size || m->chunk_bytes > HMI_KP_BYTES_MAX)
		return bad(ctx, m, "page size or chunk size out of range");
	m->pa_allowed = (int)pa;
	return 0;
}

static int dec_lease(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	uint64_t seen = 0; /* node ids asked */
	int any = 0;	   /* "any" asked */

	m->page_size = rd_u64(r);
	m->n_asks = rd_u32(r);
	if (m->page_size && !page_size_ok(m->page_size))
		return bad(ctx, m, "page size not a power of two from 4 KiB to 16 GiB");
	if (m->n_asks == 0 || m->n_asks > HMI_KP_ASKS_MAX || !room_for(r, m->n_asks, ASK_REC))
		return bad(ctx, m, "count of asks out of range");
	for (uint32_t i = 0; i < m->n_asks; i++) {
		int32_t node = rd_i32(r);
		uint64_t bytes = rd_u64(r), bit;

		if (node < -1 || node >= HM_MAX_NODES)
			return bad(ctx, m, "node id out of range");
		bit = node < 0 ? 0 : 1ULL << node;
		if (bytes == 0 || bytes > HMI_KP_BYTES_MAX || (seen & bit) || (node < 0 && any))
			return bad(ctx, m, "an ask of 0 bytes, too many, or a node asked twice");
		seen |= bit;
		any |= node < 0;
		m->asks[i] = (struct hmi_kp_ask){.node = node, .bytes = bytes};
	}
	return 0;
}

/* A run of PAGES pages of PAGE_SIZE at PA (0: hidden) that stays in 64 bits. */
static int run_ok(uint64_t pa, uint64_t pages, uint64_t page_size)
{
	return pages != 0 && pages <= HMI_KP_BYTES_MAX / page_size && pa % page_size == 0 &&
	       pa <= UINT64_MAX - pages * page_size;
}

static int dec_chunks(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	uint64_t runs_seen = 0;

	for (uint32_t i = 0; i < m->n_chunks; i++) {
		struct hmi_kp_chunk *c = &m->chunks[i];

		c->id = rd_u64(r);
		c->node = rd_i32(r);
		c->len = rd_u64(r);
		c->n_runs = rd_u32(r);
		c->first_run = (uint32_t)runs_seen;
		runs_seen += c->n_runs;
		if (c->id == 0 || c->node < 0 || c->node >= HM_MAX_NODES || c->n_runs == 0 ||
		    runs_seen > m->n_runs || c->len == 0 || c->len > HMI_KP_BYTES_MAX ||
		    c->len % m->page_size)
			return bad(ctx, m,
				   "a chunk's id, node, length or run count is out of range");
	}
	if (runs_seen != m->n_runs)
		return bad(ctx, m, "the chunks' runs do not add up to the run count");
	return 0;
}

static int dec_runs(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		const struct hmi_kp_chunk *c = &m->chunks[i];
		uint64_t pages = 0;

		for (uint32_t k = c->first_run; k < c->first_run + c->n_runs; k++) {
			struct hm_run *run = &m->runs[k];

			run->pa = rd_u64(r);
			run->pages = rd_u64(r);
			if (!run_ok(run->pa, run->pages, m->page_size))
				return bad(ctx, m, "a run is empty, misaligned or too long");
			pages += run->pages;
		}
		if (pages > HMI_KP_BYTES_MAX / m->page_size || pages * m->page_size != c->len)
			return bad(ctx, m, "a chunk's runs do not make its length");
	}
	return 0;
}

static int dec_lease_reply(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->page_size = rd_u64(r);
	m->n_chunks = rd_u32(r);
	m->n_runs = rd_u32(r);
	if (r->short_read)
		return bad(ctx, m, "cut short");
	if (m->status < 0 && m->page_size == 0 && m->n_chunks == 0 && m->n_runs == 0)
		return 0;
	if (!page_size_ok(m->page_size) || m->n_chunks > HMI_KP_FDS_MAX ||
	    (m->status < 0 && m->n_chunks) || !room_for(r, m->n_chunks, CHUNK_REC) ||
	    m->n_runs < m->n_chunks || m->n_runs > (r->len - r->off) / RUN_REC)
		return bad(ctx, m, "page size, chunk count or run count out of range");
	m->chunks = calloc(m->n_chunks ? m->n_chunks : 1, sizeof(*m->chunks));
	m->runs = calloc(m->n_runs ? m->n_runs : 1, sizeof(*m->runs));
	if (!m->chunks || !m->runs)
		return hmi_err(ctx, ENOMEM, "out of memory for %u chunks", m->n_chunks);
	if (dec_chunks(ctx, r, m) < 0 || dec_runs(ctx, r, m) < 0)
		return -EBADMSG;
	return 0;
}

/* N chunk ids (none 0) into M->ids. */
static int dec_ids(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->ids = calloc(m->n_ids ? m->n_ids : 1, sizeof(*m->ids));
	if (!m->ids)
		return hmi_err(ctx, ENOMEM, "out of memory for %u ids", m->n_ids);
	for (uint32_t i = 0; i < m->n_ids; i++)
		if ((m->ids[i] = rd_u64(r)) == 0)
			return bad(ctx, m, "chunk id 0");
	return 0;
}

static int dec_return(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->n_ids = rd_u32(r);
	if (r->short_read || m->n_ids > HMI_KP_IDS_MAX || !room_for(r, m->n_ids, 8) ||
	    ((m->flags & HMI_KP_ALL) != 0) == (m->n_ids != 0))
		return bad(ctx, m, "give chunk ids, or all, not both nor neither");
	return dec_ids(ctx, r, m);
}

static int dec_join(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->n_fds = rd_u32(r);
	if (r->short_read || m->n_fds == 0 || m->n_fds > HMI_KP_FDS_MAX)
		return bad(ctx, m, "a JOIN of 0 or more than 250 descriptors");
	return 0;
}

static int dec_fetch(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->pid = rd_i32(r);
	m->n_ids = rd_u32(r);
	if (r->short_read || m->pid <= 0 || m->n_ids == 0 || m->n_ids > HMI_KP_FDS_MAX ||
	    !room_for(r, m->n_ids, 8))
		return bad(ctx, m, "a FETCH of no pid, or of 0 or more than 250 chunks");
	return dec_ids(ctx, r, m);
}

/* An id per descriptor joined (or fetched); none in a refusal. */
static int dec_join_reply(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	m->n_ids = rd_u32(r);
	if (r->short_read || m->n_ids > HMI_KP_FDS_MAX || !room_for(r, m->n_ids, 8) ||
	    (m->status < 0) != (m->n_ids == 0))
		return bad(ctx, m, "an id count out of range, or ids in a refusal");
	return dec_ids(ctx, r, m);
}

static int dec_status_nodes(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m,
			    struct hm_keeper_status *st)
{
	for (int i = 0; i < st->n_nodes; i++) {
		struct hm_keeper_node *n = &st->nodes[i];

		n->node = rd_i32(r);
		n->free_bytes = rd_u64(r);
		n->leased_bytes = rd_u64(r);
		n->pending_bytes = rd_u64(r);
		if (n->node < 0 || n->node >= HM_MAX_NODES || (i > 0 && n->node <= n[-1].node) ||
		    n->free_bytes > HMI_KP_BYTES_MAX || n->leased_bytes > HMI_KP_BYTES_MAX ||
		    n->pending_bytes > HMI_KP_BYTES_MAX)
			return bad(ctx, m, "a node id (ascending) or byte count out of range");
	}
	for (size_t i = 0; i < st->n_leases; i++) {
		struct hm_keeper_lease *l = &st->leases[i];

		l->pid = rd_i32(r);
		l->uid = rd_u32(r);
		l->bytes = rd_u64(r);
		if (l->pid <= 0 || l->bytes > HMI_KP_BYTES_MAX)
			return bad(ctx, m, "a lease's pid or bytes out of range");
	}
	return 0;
}

static int dec_status_reply(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	struct hm_keeper_status *st = calloc(1, sizeof(*st));
	uint32_t n_nodes, n_leases;

	if (!st)
		return hmi_err(ctx, ENOMEM, "out of memory for a keeper's status");
	m->st = st;
	st->pid = rd_i32(r);
	st->page_size = rd_u64(r);
	st->chunk_bytes = rd_u64(r);
	st->keep_bytes = rd_u64(r);
	n_nodes = rd_u32(r);
	n_leases = rd_u32(r);
	st->leases_total = rd_u64(r);
	m->refilled_ns = rd_u64(r);
	if (m->status < 0 && !r->short_read && st->pid == 0 && n_nodes == 0 && n_leases == 0)
		return 0;
	if (r->short_read || st->pid <= 0 || !page_size_ok(st->page_size) || st->chunk_bytes == 0 ||
	    st->chunk_bytes % st->page_size || st->keep_bytes > HMI_KP_BYTES_MAX ||
	    n_nodes > HM_MAX_NODES || n_leases > HMI_KP_LEASES_MAX || st->leases_total < n_leases ||
	    !room_for(r, n_nodes, NODE_REC) ||
	    n_leases > (r->len - r->off - (size_t)n_nodes * NODE_REC) / LEASE_REC)
		return bad(ctx, m, "a size or count of the status is out of range");
	st->n_nodes = (int)n_nodes;
	st->n_leases = n_leases;
	st->leases = calloc(n_leases ? n_leases : 1, sizeof(*st->leases));
	if (!st->leases)
		return hmi_err(ctx, ENOMEM, "out of memory for %u leases", n_leases);
	return dec_status_nodes(ctx, r, m, st);
}

static int dec_body(struct hm_ctx *ctx, struct rd *r, struct hmi_kp_msg *m)
{
	switch (m->type) {
	case HMI_KP_HELLO_REPLY:
		return dec_hello_reply(ctx, r, m);
	case HMI_KP_LEASE:
		return dec_lease(ctx, r, m);
	case HMI_KP_LEASE_REPLY:
		return dec_lease_reply(ctx, r, m);
	case HMI_KP_RETURN:
		return dec_return(ctx, r, m);
	case HMI_KP_RETURN_REPLY:
		m->returned = rd_u32(r);
		return 0;
	case HMI_KP_STATUS_REPLY:
		return dec_status_reply(ctx, r, m);
	case HMI_KP_JOIN:
		return dec_join(ctx, r, m);
	case HMI_KP_JOIN_REPLY:
	case HMI_KP_FETCH_REPLY:
		return dec_join_reply(ctx, r, m);
	case HMI_KP_FETCH:
		return dec_fetch(ctx, r, m);
	default: /* HELLO, STATUS: no body */
		return 0;
	}
}

int hmi_kp_decode(struct hm_ctx *ctx, const void *buf, size_t len, struct hmi_kp_msg *m)
{
	struct rd r = {.p = buf, .len = len};
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > HMI_KP_MSG_MAX)
		return hmi_err(ctx, EBADMSG, "keeper message of %zu bytes: more than %d", len,
			       HMI_KP_MSG_MAX);
	rc = header(ctx, &r, m);
	if (rc == 0 && is_reply(m->type))
		rc = reply_head(ctx, &r, m);
	if (rc == 0)
		rc = dec_body(ctx, &r, m);
	if (rc == 0 && r.short_read)
		rc = bad(ctx, m, "cut short");
	if (rc == 0 && r.off != r.len)
		rc = bad(ctx, m, "bytes left over after its body");
	if (rc < 0)
		hmi_kp_msg_free(m);
	return rc;
}

void hmi_kp_msg_free(struct hmi_kp_msg *m)
{
	free(m->chunks);
	free(m->runs);
	free(m->ids);
	if (m->st)
		free(m->st->leases);
	free(m->st);
	m->chunks = NULL;
	m->runs = NULL;
	m->ids = NULL;
	m->st = NULL;
}

/* ------------------------------------------------------------------ writing */

struct wr {
	uint8_t *p;
	size_t cap, off;
	int full;
};

static void wr_le(struct wr *w, uint64_t v, size_t n)
{
	if (w->full || w->cap - w->off < n) {
		w->full = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w->p[w->off++] = (uint8_t)(v >> (8 * i));
}

static void wr_u64(struct wr *w, uint64_t v)
{
	wr_le(w, v, 8);
}

static void wr_u32(struct wr *w, uint32_t v)
{
	wr_le(w, v, 4);
}

static void wr_i32(struct wr *w, int32_t v)
{
	wr_le(w, (uint32_t)v, 4);
}

static void wr_ids(struct wr *w, const struct hmi_kp_msg *m)
{
	wr_u32(w, m->n_ids);
	for (uint32_t i = 0; i < m->n_ids; i++)
		wr_u64(w, m->ids[i]);
}

size_t hmi_kp_lease_reply_size(size_t n_chunks, size_t n_runs, size_t text_len)
{
	return HMI_KP_HEADER + 8 + text_len + 16 + n_chunks * CHUNK_REC + n_runs * RUN_REC;
}

static void enc_lease_reply(struct wr *w, const struct hmi_kp_msg *m)
{
	wr_u64(w, m->page_size);
	wr_u32(w, m->n_chunks);
	wr_u32(w, m->n_runs);
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		wr_u64(w, m->chunks[i].id);
		wr_i32(w, m->chunks[i].node);
		wr_u64(w, m->chunks[i].len);
		wr_u32(w, m->chunks[i].n_runs);
	}
	for (uint32_t i = 0; i < m->n_chunks; i++)
		for (uint32_t k = 0; k < m->chunks[i].n_runs; k++) {
			const struct hm_run *run = &m->runs[m->chunks[i].first_run + k];

			wr_u64(w, run->pa);
			wr_u64(w, run->pages);
		}
}

static void enc_status_reply(struct wr *w, const struct hm_keeper_status *st, uint64_t refilled_ns)
{
	static const struct hm_keeper_status none;

	if (!st)
		st = &none;
	wr_i32(w, st->pid);
	wr_u64(w, st->page_size);
	wr_u64(w, st->chunk_bytes);
	wr_u64(w, st->keep_bytes);
	wr_u32(w, (uint32_t)st->n_nodes);
	wr_u32(w, (uint32_t)st->n_leases);
	wr_u64(w, st->leases_total);
	wr_u64(w, refilled_ns);
	for (int i = 0; i < st->n_nodes; i++) {
		wr_i32(w, st->nodes[i].node);
		wr_u64(w, st->nodes[i].free_bytes);
		wr_u64(w, st->nodes[i].leased_bytes);
		wr_u64(w, st->nodes[i].pending_bytes);
	}
	for (size_t i = 0; i < st->n_leases; i++) {
		wr_i32(w, st->leases[i].pid);
		wr_u32(w, (uint32_t)st->leases[i].uid);
		wr_u64(w, st->leases[i].bytes);
	}
}

static void enc_body(struct wr *w, const struct hmi_kp_msg *m)
{
	switch (m->type) {
	case HMI_KP_HELLO_REPLY:
		wr_u32(w, (uint32_t)m->pa_allowed);
		wr_u64(w, m->page_size);
		wr_u64(w, m->chunk_bytes);
		break;
	case HMI_KP_LEASE:
		wr_u64(w, m->page_size);
		wr_u32(w, m->n_asks);
		for (uint32_t i = 0; i < m->n_asks && i < HMI_KP_ASKS_MAX; i++) {
			wr_i32(w, m->asks[i].node);
			wr_u64(w, m->asks[i].bytes);
		}
		break;
	case HMI_KP_LEASE_REPLY:
		enc_lease_reply(w, m);
		break;
	case HMI_KP_FETCH:
		wr_i32(w, m->pid);
		wr_ids(w, m);
		break;
	case HMI_KP_RETURN:
	case HMI_KP_JOIN_REPLY:
	case HMI_KP_FETCH_REPLY:
		wr_ids(w, m);
		break;
	case HMI_KP_JOIN:
		wr_u32(w, m->n_fds);
		break;
	case HMI_KP_RETURN_REPLY:
		wr_u32(w, m->returned);
		break;
	case HMI_KP_STATUS_REPLY:
		enc_status_reply(w, m->st, m->refilled_ns);
		break;
	default:
		break;
	}
}

/* What the decoder takes is all the encoder writes: encode, then decode the
 * result (a few microseconds, against a system call per message anyway), so
 * that the two can never disagree and neither side ever sends what the other
 * would refuse. */
static int check_encoded(struct hm_ctx *ctx, const void *buf, size_t len)
{
	struct hmi_kp_msg back;
	char why[HMI_ERR_MAX];
	int rc = hmi_kp_decode(ctx, buf, len, &back);

	hmi_kp_msg_free(&back);
	if (rc == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", hm_errmsg(ctx));
	return hmi_err(ctx, EINVAL, "refusing to send a bad message: %s", why);
}

int hmi_kp_encode(struct hm_ctx *ctx, const struct hmi_kp_msg *m, void *buf, size_t cap,
		  size_t *len)
{
	struct wr w = {.p = buf, .cap = cap < HMI_KP_MSG_MAX ? cap : HMI_KP_MSG_MAX};
	size_t text_len = strnlen(m->text, HMI_KP_TEXT_MAX - 1);

	if (m->type == 0 || m->type >= HMI_KP_TYPE_END)
		return hmi_err(ctx, EINVAL, "no keeper message of type %d", (int)m->type);
	wr_u32(&w, HMI_KP_MAGIC);
	wr_le(&w, HMI_KP_VERSION, 2);
	wr_le(&w, (uint64_t)m->type, 2);
	wr_u32(&w, 0); /* the length, below */
	wr_u32(&w, m->flags);
	if (is_reply(m->type)) {
		wr_i32(&w, m->status);
		wr_u32(&w, (uint32_t)text_len);
		for (size_t i = 0; i < text_len; i++)
			wr_le(&w, (uint8_t)m->text[i], 1);
	}
	enc_body(&w, m);
	if (w.full)
		return hmi_err(ctx, EMSGSIZE,
			       "a keeper message of type %d does not fit in %zu bytes",
			       (int)m->type, w.cap);
	for (size_t i = 0; i < 4; i++)
		w.p[8 + i] = (uint8_t)(w.off >> (8 * i));
	*len = w.off;
	return check_encoded(ctx, buf, w.off);
}

/* ------------------------------------------------------------------ the socket */

int hmi_kp_send(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
	long sent = n > HMI_KP_FDS_MAX ? -EINVAL : hmi_send_fds(sock, buf, len, fds, n);

	if (sent < 0)
		return (int)sent;
	return (size_t)sent == len ? 0 : -EMSGSIZE;
}

ssize_t hmi_kp_recv(int sock, void *buf, size_t cap, int *fds, size_t max_fds, size_t *n_fds)
{
	size_t extra = 0;
	int flags = 0;
	long got = hmi_recv_fds(sock, buf, cap, fds, max_fds, n_fds, &extra, &flags);

	if (got < 0)
		return got;
	if (extra || (flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < *n_fds; i++)
			close(fds[i]);
		*n_fds = 0;
		return -EMSGSIZE;
	}
	return got;
}
