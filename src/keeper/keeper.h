/* SPDX-License-Identifier: MIT */
/*
 * keeper/keeper.h — the pool keeper's layer (docs/keeper.md): the messages on
 * its socket (proto.c), its memory (chunks.c), its clients' leases
 * (lease.c), the daemon (server.c) and the client's side (client.c).
 * Internal: names are hmi_*.
 */
#ifndef HM_KEEPER_H
#define HM_KEEPER_H

#include "base/ctx.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ the protocol (proto.c)
 *
 * Unix SOCK_SEQPACKET: one message per datagram, its length what recvmsg
 * returns. Every message starts with a 16-byte header, little-endian:
 *   u32 magic "HMKP", u16 version (1), u16 type, u32 length (the whole
 *   message), u32 flags (per type; unknown bits are refused).
 * A reply then has i32 status (0 or -errno), u32 text_len and text_len bytes
 * of one line of text (no control character) naming the cap or the fix, then
 * its body. Bodies (every count bounded below, every field checked):
 *   HELLO          -                 (+ the client's pidfd, SCM_RIGHTS)
 *   HELLO_REPLY    u32 pa_allowed, u64 page_size, u64 chunk_bytes
 *   LEASE          u64 page_size (0: the keeper's), u32 n, n x {i32 node (-1: any), u64 bytes}
 *   LEASE_REPLY    u64 page_size, u32 n_chunks, u32 n_runs,
 *                  n_chunks x {u64 id, i32 node, u64 length, u32 n_runs},
 *                  n_runs x {u64 pa, u64 pages}  (+ one memfd per chunk, SCM_RIGHTS)
 *                  flags HMI_KP_MORE: another LEASE_REPLY follows
 *   RETURN         u32 n, n x u64 id; flags HMI_KP_ALL (then n is 0)
 *   RETURN_REPLY   u32 returned
 *   STATUS         -
 *   STATUS_REPLY   i32 pid, u64 page_size, u64 chunk_bytes, u64 keep_bytes, u32 n_nodes,
 *                  u32 n_leases, u64 leases_total, n_nodes x {i32 node, u64 free,
 *                  u64 leased, u64 pending}, n_leases x {i32 pid, u32 uid, u64 bytes}
 *   JOIN           u32 n (1..HMI_KP_FDS_MAX)  (+ n memfds of leased chunks, SCM_RIGHTS)
 *   JOIN_REPLY     u32 n, n x u64 id  (the chunk of each memfd, in order; n is 0 in a
 *                  refusal: -ENOENT, a memfd that is no leased chunk; -EUSERS, a chunk
 *                  with HMI_KEEPER_HOLDERS_MAX holders (not -EMFILE: that one means
 *                  out of descriptors and gets its ulimit hint); nothing joined then)
 *   FETCH          i32 pid, u32 n (1..HMI_KP_FDS_MAX), n x u64 id
 *   FETCH_REPLY    u32 n, n x u64 id  (+ the n memfds, SCM_RIGHTS; n is 0 in a refusal:
 *                  -ESRCH, no client of that pid; -EPERM, another uid's; -ENOENT, a
 *                  chunk that pid does not hold; -EUSERS as JOIN's)
 *
 * JOIN: a process that holds memfds of chunks another client leased (a
 * secondary, given them by its primary) becomes a holder of those chunks
 * too, after its own HELLO: a chunk comes back only when its last holder is
 * gone (exit, end of connection, or RETURN by that holder). The keeper
 * proves possession: each memfd received is compared by inode (st_dev,
 * st_ino) with the chunks' memfds, then closed.
 *
 * FETCH: a secondary of a primary the keeper served gets the primary's
 * memfds from the keeper itself and becomes a holder of their chunks, as
 * JOIN makes it: the primary then needs no descriptor server (no thread,
 * no socket of its own; the primary's layout names the keeper and the
 * chunk ids). The keeper gives them only to the primary's uid or root, the
 * same rule the primary's descriptor server applies (the layout that names
 * the ids is readable by that uid alone).
 *
 * Version 2 added FETCH (and its reply): a primary publishes keeper memfds
 * without a descriptor server only to secondaries whose keeper serves them.
 */

#define HMI_KP_MAGIC	  0x504b4d48u /* "HMKP" in little-endian byte order */
#define HMI_KP_VERSION	  3u
#define HMI_KP_HEADER	  16
#define HMI_KP_MSG_MAX	  65536 /* bytes of one message, either way */
#define HMI_KP_TEXT_MAX	  512	/* a reply's line, its NUL included */
#define HMI_KP_ASKS_MAX	  (HM_MAX_NODES + 1)
#define HMI_KP_FDS_MAX	  250	       /* memfds in one reply (the kernel's SCM_MAX_FD is 253) */
#define HMI_KP_IDS_MAX	  4096	       /* chunk ids in one RETURN */
#define HMI_KP_LEASES_MAX 1024	       /* leases listed in one STATUS_REPLY */
#define HMI_KP_BYTES_MAX  (1ULL << 50) /* any byte count: 1 PiB */

enum hmi_kp_type {
	HMI_KP_HELLO = 1,
	HMI_KP_HELLO_REPLY,
	HMI_KP_LEASE,
	HMI_KP_LEASE_REPLY,
	HMI_KP_RETURN,
	HMI_KP_RETURN_REPLY,
	HMI_KP_STATUS,
	HMI_KP_STATUS_REPLY,
	HMI_KP_JOIN,
	HMI_KP_JOIN_REPLY,
	HMI_KP_FETCH,
	HMI_KP_FETCH_REPLY,
	HMI_KP_TYPE_END
};

#define HMI_KP_MORE 0x1u /* LEASE_REPLY: more replies follow */
#define HMI_KP_ALL  0x1u /* RETURN: every chunk of this connection */

struct hmi_kp_ask {
	int node; /* -1: any node */
	uint64_t bytes;
};

/* One chunk of a LEASE_REPLY: its runs are RUNS[first_run .. first_run + n_runs). */
struct hmi_kp_chunk {
	uint64_t id;
	int node;
	uint64_t len;
	uint32_t first_run, n_runs;
};

/* A message, decoded (or to encode). Which fields count depends on TYPE.
 * CHUNKS, RUNS, IDS and ST are allocated by the decoder: hmi_kp_msg_free. */
struct hmi_kp_msg {
	enum hmi_kp_type type;
	uint32_t flags;
	int status;		    /* replies: 0 or -errno */
	char text[HMI_KP_TEXT_MAX]; /* replies: why, "" when nothing to say */
	int pa_allowed;		    /* HELLO_REPLY */
	uint64_t page_size;	    /* HELLO_REPLY, LEASE, LEASE_REPLY */
	uint64_t chunk_bytes;	    /* HELLO_REPLY */
	uint32_t n_asks;	    /* LEASE */
	struct hmi_kp_ask asks[HMI_KP_ASKS_MAX];
	uint32_t n_chunks, n_runs; /* LEASE_REPLY */
	struct hmi_kp_chunk *chunks;
	struct hm_run *runs;
	int32_t pid;	/* FETCH: the primary whose chunks are asked for */
	uint32_t n_ids; /* RETURN, JOIN_REPLY, FETCH, FETCH_REPLY */
	uint64_t *ids;
	uint32_t n_fds;		     /* JOIN: the memfds that come with it */
	uint32_t returned;	     /* RETURN_REPLY */
	struct hm_keeper_status *st; /* STATUS_REPLY */
	/* STATUS_REPLY: when a returned chunk was last free again (CLOCK_MONOTONIC,
	 * ns; 0: none yet), so that a benchmark or test can time a refault
	 * without asking STATUS every few microseconds, which slows it */
	uint64_t refilled_ns;
};

/* Decode the LEN bytes at BUF into *M (zeroed first). 0, or -EBADMSG (cut
 * short, a count or field out of bounds, bytes left over) or -EPROTO (not
 * this protocol: magic, version, type, flags) with a message naming the
 * field; -ENOMEM. *M holds nothing to free on failure. */
int hmi_kp_decode(struct hm_ctx *ctx, const void *buf, size_t len, struct hmi_kp_msg *m);

/* Encode *M into BUF (CAP bytes, at most HMI_KP_MSG_MAX used): *LEN. -EINVAL
 * for a message the decoder would refuse, -EMSGSIZE when it does not fit. */
int hmi_kp_encode(struct hm_ctx *ctx, const struct hmi_kp_msg *m, void *buf, size_t cap,
		  size_t *len);

/* Bytes a LEASE_REPLY with N_CHUNKS chunks and N_RUNS runs and TEXT_LEN
 * bytes of text takes: how the keeper cuts a lease into replies. */
size_t hmi_kp_lease_reply_size(size_t n_chunks, size_t n_runs, size_t text_len);

void hmi_kp_msg_free(struct hmi_kp_msg *m);

/* Send the LEN bytes at BUF as one message on SOCK with the N descriptors
 * FDS (SCM_RIGHTS; N <= HMI_KP_FDS_MAX). 0 or -errno (-EAGAIN on a
 * non-blocking socket that is full). */
int hmi_kp_send(int sock, const void *buf, size_t len, const int *fds, size_t n);

/* Receive one message into BUF (CAP bytes) from SOCK, and up to MAX_FDS
 * descriptors into FDS (*N_FDS; close-on-exec). A message longer than CAP
 * or descriptors cut short (MSG_TRUNC, MSG_CTRUNC) are -EMSGSIZE, with every
 * descriptor that came closed. Returns the length, 0 at end of connection,
 * -errno. */
ssize_t hmi_kp_recv(int sock, void *buf, size_t cap, int *fds, size_t max_fds, size_t *n_fds);

/* ------------------------------------------------------------------ the client's side (client.c)
 */

/* A connection to a keeper, after HELLO. */
struct hmi_keeper_conn {
	int sock;
	int pa_allowed;
	uint64_t page_size, chunk_bytes;
};

/* One chunk a lease gave: its memfd (the caller's: close it), node, length
 * and physical runs (RUNS[first_run ..], PAs 0 when this client may not know
 * them). */
struct hmi_keeper_chunk {
	uint64_t id;
	int node;
	int fd;
	uint64_t len;
	uint32_t first_run, n_runs;
};

struct hmi_keeper_lease {
	uint64_t page_size;
	size_t n_chunks, n_runs;
	struct hmi_keeper_chunk *chunks;
	struct hm_run *runs;
};

/* The socket of the keeper in DIR (NULL: HM_KEEPER_DIR_DEFAULT) into BUF. */
int hmi_keeper_sock_path(struct hm_ctx *ctx, const char *dir, char *buf, size_t len);

/* Connect to the keeper in DIR and say HELLO (this process's pidfd). */
int hmi_keeper_connect(struct hm_ctx *ctx, const char *dir, struct hmi_keeper_conn *c);
void hmi_keeper_disconnect(struct hmi_keeper_conn *c);

/* Lease the N_ASKS asks (bytes per node, node -1: any): *L (hmi_keeper_lease_free:
 * closes the memfds the caller has not taken, fd set to -1). The keeper's
 * refusal comes back as its -errno and its message. */
int hmi_keeper_lease(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const struct hmi_kp_ask *asks,
		     size_t n_asks, struct hmi_keeper_lease *l);
void hmi_keeper_lease_free(struct hmi_keeper_lease *l);
/* hmi_keeper_connect and hmi_keeper_lease in one round trip, in two halves
 * so that the caller works while the keeper does: ask_lease connects and
 * sends HELLO and LEASE (of PAGE_SIZE pages, 0: the keeper's; ASKS rounded
 * up by the keeper's chunks) without waiting; take_lease reads both
 * answers into *L. On failure *C is closed but keeps what HELLO's answer
 * said (page_size 0: it never came). */
int hmi_keeper_ask_lease(struct hm_ctx *ctx, const char *dir, uint64_t page_size,
			 const struct hmi_kp_ask *asks, size_t n_asks, struct hmi_keeper_conn *c);
int hmi_keeper_take_lease(struct hm_ctx *ctx, struct hmi_keeper_conn *c,
			  struct hmi_keeper_lease *l);

/* Give back the N chunks IDS (N 0: every chunk of this connection); *RETURNED
 * (may be NULL) = how many the keeper took back. */
int hmi_keeper_return(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const uint64_t *ids, size_t n,
		      uint32_t *returned);

/* Become a holder of the leased chunks whose memfds are FDS (N of them,
 * this process's, sent in batches of HMI_KP_FDS_MAX, each all or nothing):
 * they then stay leased until this connection lets them go too. The
 * keeper's refusal (-ENOENT: a memfd that is no leased chunk; -EUSERS: a
 * chunk with too many holders) comes back with its message. */
int hmi_keeper_join(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const int *fds, size_t n);
/* Connect to the keeper in DIR and FETCH the memfds of chunks IDS[0..N)
 * that process PID (a primary) holds, into FDS (in that order; the
 * caller's to close); this process becomes a holder of those chunks for as
 * long as *C stays open. HELLO and the FETCHes go in one round trip. On
 * failure nothing is left open, and the keeper's refusal is the error. */
int hmi_keeper_open_fetch(struct hm_ctx *ctx, const char *dir, pid_t pid, const uint64_t *ids,
			  size_t n, struct hmi_keeper_conn *c, int *fds);

/* One request and its reply on C's socket (the reply's descriptors
 * refused): what hm_keeper_status and hmi_keeper_return use. */
int hmi_keeper_call(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const struct hmi_kp_msg *req,
		    enum hmi_kp_type want, struct hmi_kp_msg *reply);

/* ------------------------------------------------------------------ the keeper's memory (chunks.c)
 */

/* Pages in one chunk at most: every run of a chunk fits in one reply. */
#define HMI_KEEPER_CHUNK_PAGES_MAX 2048
/* Connections that may hold one chunk at once: its leaser and those that
 * joined it (a primary and its secondaries). */
#define HMI_KEEPER_HOLDERS_MAX 64
/* The seals of every chunk's memfd (chunks.c); what JOIN looks for first. */
#define HMI_KEEPER_SEALS (0x0001 | 0x0002 | 0x0004) /* F_SEAL_SEAL, _SHRINK, _GROW */

enum hmi_chunk_state {
	HMI_CHUNK_FREE = 0, /* faulted, ready to lease */
	HMI_CHUNK_LEASED,   /* a client holds it */
	HMI_CHUNK_PENDING,  /* came back: punched, being faulted again */
	HMI_CHUNK_MISSING,  /* faulting again failed (the pool was short): retried */
};

/* One slot of the keeper's memory. A slot keeps its node and length for
 * ever; its memfd, id and runs are new each time it is faulted. */
struct hmi_chunk {
	uint64_t id; /* never reused: a stale id returns nothing */
	int node;
	int fd; /* the keeper's descriptor of the memfd, -1 while pending */
	uint64_t len;
	enum hmi_chunk_state state;
	/* LEASED: the connections (client slots) that hold it, in the order
	 * they came; the first is charged for it (status, budgets) */
	uint32_t holders[HMI_KEEPER_HOLDERS_MAX];
	uint32_t n_holders;
	dev_t dev; /* the memfd's inode, what JOIN compares (ino 0: unknown) */
	ino_t ino;
	struct hm_run *runs;
	uint32_t n_runs;
	int ascending; /* the runs ascend in PA: one physical order */
};

/* The memory of a fresh chunk, as the fault made it. */
struct hmi_chunk_fill {
	int fd;
	struct hm_run *runs;
	uint32_t n_runs;
	int ascending;
};

/* What a fault waits for between two steps (NULL: nothing): the worker
 * yields to clients that are starting (server.c). */
struct hmi_pacer {
	void (*wait)(void *arg);
	void *arg;
};

/* Fault LEN bytes of PAGE_SIZE pages on NODE (-1: no binding) into a new
 * sealed memfd (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: no one can
 * resize it or seal it against the punch that takes it back), reading each
 * page's PA (pagemap), then unmapping it: the memfd holds the pages. With a
 * PACER, the pages are faulted HMI_PACE_BYTES at a time, PACER->wait called
 * before each step. Safe to call from a worker thread with a context of its
 * own. */
#define HMI_PACE_BYTES (4ULL << 20)
int hmi_chunk_fault(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t len,
		    const struct hmi_pacer *pacer, struct hmi_chunk_fill *out);

/* Punch every page out of FD (LEN bytes of PAGE_SIZE pages), from the top
 * page down (the kernel's free list then hands them out ascending), which
 * takes them from every mapping of every process; a pinned page stays with
 * its pinner. Does not close FD. 0 or -errno. */
int hmi_chunk_punch(int fd, uint64_t len, uint64_t page_size);

/* Free a slot's memory: punch (when PUNCH) and close its memfd, free its runs. */
void hmi_chunk_drop(struct hmi_chunk *c, uint64_t page_size, int punch);

/* The keeper's memory: KEEP bytes of PAGE_SIZE, in CHUNK-byte chunks, taken
 * from the free pool after putting it in order. */
struct hmi_chunks {
	uint64_t page_size, chunk_bytes, keep_bytes;
	struct hmi_chunk *c;
	size_t n;
	uint64_t next_id;
};

/* Put the fresh memory F into slot C: a new id, free to lease. */
void hmi_chunk_install(struct hmi_chunks *cs, struct hmi_chunk *c, const struct hmi_chunk_fill *f);

/* Fill CS: check the free pool holds KEEP bytes of PAGE_SIZE (0: the
 * default size) in chunks of CHUNK (0: HM_KEEPER_CHUNK_DEFAULT, at least a
 * page) — or, NODE_KEEP not NULL, NODE_KEEP[n] bytes on each node n (KEEP
 * ignored) —, put the pool in order, fault every chunk. Nothing held on
 * failure. */
int hmi_chunks_fill(struct hm_ctx *ctx, struct hmi_chunks *cs, uint64_t keep, uint64_t page_size,
		    uint64_t chunk, const uint64_t *node_keep);
/* Give every chunk back: a free one punched and closed, a leased one only
 * closed (its client keeps its pages until it lets them go). */
void hmi_chunks_release(struct hmi_chunks *cs);

/* ------------------------------------------------------------------ leases (lease.c) */

/* A client: one connection and, once it said HELLO, its process (pidfd),
 * uid and what it may see. Its lease is the chunks it holds (leased or
 * joined); BYTES is what it is charged for: the chunks it is first holder
 * of. */
struct hmi_client {
	int sock; /* -1: the slot is free */
	int pidfd;
	pid_t pid;
	uid_t uid;
	int hello;
	int pa_allowed;
	uint64_t bytes;	       /* charged: the chunks it is first holder of */
	char *cgroup;	       /* its hugetlb cgroup at its last LEASE (budget.c), NULL before */
	double starting_until; /* hmi_now_ms() its start ends (server.c: refaults wait) */
	uint32_t gen;	       /* which connection has the slot (server.c: stale events) */
};

/* The peer of SOCK, whose HELLO brought PIDFD (taken: closed on failure):
 * the pidfd must name SO_PEERCRED's pid; CL gets pid, uid, pidfd, and
 * whether it may see physical addresses (CAP_SYS_ADMIN, or EXPOSE_PA). */
int hmi_client_hello(struct hm_ctx *ctx, struct hmi_client *cl, int pidfd, int expose_pa);

/* Has the process of CL (after HELLO) exited? Its pid may name another. */
int hmi_client_gone(const struct hmi_client *cl);

/* Pick free chunks for ASKS (per node; node -1: the nodes with the most free
 * first) and mark them leased by OWNER: *PICKED (indices into CS->c, N).
 * Nothing is marked when it cannot all be served: -ENOMEM naming the node,
 * what it has and what is pending. */
int hmi_lease_pick(struct hm_ctx *ctx, struct hmi_chunks *cs, size_t owner,
		   const struct hmi_kp_ask *asks, size_t n_asks, size_t **picked, size_t *n);

/* Undo hmi_lease_pick: the N chunks PICKED are free again. */
void hmi_lease_unpick(struct hmi_chunks *cs, const size_t *picked, size_t n);

/* Take back chunk I: punch it (PUNCH) and close the keeper's memfd (never
 * leased again), or hand that memfd back to be punched later (not PUNCH:
 * the return value, -1 when none); mark it pending for the worker. */
int hmi_lease_end_chunk(struct hmi_chunks *cs, size_t i, int punch);

/* Does client slot CLIENT hold chunk C (leased or joined)? */
int hmi_chunk_holds(const struct hmi_chunk *c, size_t client);

/* Client I of CL lets go of chunk C of CS: what it is charged for passes
 * to the next holder. 1 when no holder is left (the chunk is to come back:
 * hmi_lease_end_chunk), else 0. */
int hmi_chunk_let_go(struct hmi_chunks *cs, struct hmi_client *cl, size_t c, size_t i);

/* JOIN by client slot JOINER with the N memfds FDS: IDX[f] = the leased
 * chunk whose memfd has the inode of FDS[f]. -ENOENT naming the descriptor
 * that is none, -EUSERS when a chunk has HMI_KEEPER_HOLDERS_MAX holders
 * already; nothing is changed (hmi_join_apply does). */
int hmi_join_match(struct hm_ctx *ctx, const struct hmi_chunks *cs, size_t joiner, const int *fds,
		   size_t n, size_t *idx);
/* Make JOINER a holder of the N chunks IDX (those it holds already stay). */
void hmi_join_apply(struct hmi_chunks *cs, size_t joiner, const size_t *idx, size_t n);
/* FETCH by client slot FETCHER (of CL, N_CL slots): IDX[f] = the chunk of
 * REQ's id f that a connection of REQ's pid holds. -ESRCH (no such client),
 * -EPERM (another uid's, the fetcher not root), -ENOENT (a chunk the pid
 * does not hold), -EUSERS (a chunk with HMI_KEEPER_HOLDERS_MAX holders),
 * each named; nothing is changed (hmi_join_apply makes FETCHER a holder). */
int hmi_fetch_match(struct hm_ctx *ctx, const struct hmi_chunks *cs, const struct hmi_client *cl,
		    size_t n_cl, size_t fetcher, const struct hmi_kp_msg *req, size_t *idx);

/* ------------------------------------------------------------------ budgets (budget.c) */

/* What a budget is checked against: the keeper's --uid-quota (0: none), its
 * page size, and its mount table's text (NULL: read at each check). */
struct hmi_budget {
	uint64_t uid_quota;
	uint64_t page_size;
	const char *mountinfo;
};

/* May client I of CL (N slots) be charged BYTES more? B's uid quota caps
 * what all the connections of its uid are charged; the hugetlb limits of
 * its cgroup and each ancestor cap what the keeper has leased to clients
 * in that cgroup or below (the pages are charged to the keeper's cgroup:
 * the keeper enforces the client's limits itself). Reads the client's
 * cgroup into CL[I].cgroup. 0, or -EDQUOT naming the cap, its value, what
 * is leased and what is asked; -ESRCH when the client exited. */
int hmi_budget_check(struct hm_ctx *ctx, const struct hmi_budget *b, struct hmi_client *cl,
		     size_t n, size_t i, uint64_t bytes);
/* Read client C's cgroup into C->cgroup (at JOIN: a joiner may be charged
 * later, when the leaser goes), the mounts in MOUNTINFO (NULL: read now).
 * 0, -ESRCH when it exited, -errno. */
int hmi_budget_note(struct hm_ctx *ctx, uint64_t page_size, const char *mountinfo,
		    struct hmi_client *c);

#endif
