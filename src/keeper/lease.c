/* SPDX-License-Identifier: MIT */
/*
 * keeper/lease.c — who a client is, what it may lease, and how a chunk comes
 * back.
 *
 * Identity. SO_PEERCRED gives the pid and uid of whoever connected, but a pid
 * names a process only while it lives: once it exits the number may name
 * another. So the client sends its own pidfd with HELLO (SCM_RIGHTS), and the
 * keeper checks that the pidfd's "Pid:" (/proc/self/fdinfo/FD) is the peer's
 * pid. From then on the lease is tied to that pidfd, which becomes readable
 * when that very process exits, whatever pid is reused meanwhile; and the
 * check of CAP_SYS_ADMIN (capget of the pid) is followed by a look at the
 * pidfd, so the answer cannot be a later process's.
 *
 * A lease is the chunks the client's slot holds. It ends chunk by chunk
 * (RETURN) or whole: at the end of the connection, or when the pidfd says
 * the process is gone.
 *
 * Holders. A primary's secondaries map the memory the primary leased (they
 * get its memfds from the primary's descriptor server), and one may outlive
 * the primary. So a process that holds a chunk's memfd may JOIN it: it
 * connects, says HELLO (its own pidfd), and sends the memfds; the keeper
 * compares each one's inode with its chunks' memfds (having the descriptor
 * is the proof: the inode stays alive, so its number cannot name a new
 * chunk meanwhile) and adds the joiner as a holder. A chunk comes back only
 * when its last holder lets go. Its first holder is charged for it (the
 * status's leases, the budgets); when that one goes, the charge passes to
 * the next. Before it reads an inode, the keeper asks for the descriptor's
 * seals (F_GET_SEALS): only memfds answer, without a call into another file
 * system, so a descriptor of a FUSE file cannot stall the keeper in fstat.
 *
 * Isolation. A chunk that comes back is never leased again: its client may
 * have kept the descriptor, passed it on (even into a unix socket, where no
 * scan of /proc sees it) or pinned its pages. So its pages are punched out
 * of the memfd (FALLOC_FL_PUNCH_HOLE removes them from every mapping of
 * every process; a pinned page stays with its pinner and goes back to the
 * pool when unpinned), the keeper's descriptor is closed, and the slot is
 * faulted again into a new memfd (server.c's worker): the kernel zeroes the
 * new pages. Whoever still holds the old memfd holds an empty file: touching
 * it faults fresh zeroed pages charged to the toucher, never a page another
 * client got.
 */
#include "keeper/keeper.h"
#include "base/platform.h"
#include "parse/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

/* ------------------------------------------------------------------ who */

/* The pid PIDFD names (its fdinfo's "Pid:"; -1 once the process is gone). */
static int pidfd_pid(struct hm_ctx *ctx, int pidfd, long long *pid)
{
	char path[HM_PATH_MAX], text[1024];
	int rc = hmi_path(ctx, path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);

	if (rc == 0)
		rc = hmi_read_small(ctx, path, text, sizeof(text));
	if (rc == 0 && hmi_parse_proc_field(text, "Pid:", pid) < 0)
		rc = hmi_err(ctx, EPROTO, "the descriptor a client sent with HELLO is not a pidfd");
	return rc;
}

/* Has the process of PIDFD exited? */
static int pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

int hmi_client_gone(const struct hmi_client *cl)
{
	return cl->pidfd < 0 || pidfd_exited(cl->pidfd);
}

static int peer_cred(struct hm_ctx *ctx, int sock, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0 || len != sizeof(*cred))
		return hmi_err(ctx, errno ? errno : EPROTO, "SO_PEERCRED of a client: %s",
			       strerror(errno));
	return 0;
}

int hmi_client_hello(struct hm_ctx *ctx, struct hmi_client *cl, int pidfd, int expose_pa)
{
	struct ucred cred;
	long long pid = 0;
	int rc = peer_cred(ctx, cl->sock, &cred), cap = 0;

	if (rc == 0)
		rc = pidfd_pid(ctx, pidfd, &pid);
	if (rc == 0 && (pid <= 0 || pid != cred.pid))
		rc = hmi_err(ctx, EPERM,
			     "a client's pidfd names pid %lld but pid %d connected: refused", pid,
			     (int)cred.pid);
	if (rc == 0 && !expose_pa)
		cap = hmi_cap_effective_of(cred.pid, CAP_SYS_ADMIN);
	if (rc == 0 && (cap < 0 || pidfd_exited(pidfd)))
		rc = hmi_err(ctx, ESRCH, "client pid %d exited during HELLO", (int)cred.pid);
	if (rc < 0) {
		close(pidfd);
		return rc;
	}
	cl->pidfd = pidfd;
	cl->pid = cred.pid;
	cl->uid = cred.uid;
	cl->pa_allowed = expose_pa || cap == 1;
	cl->hello = 1;
	return 0;
}

/* ------------------------------------------------------------------ what */

static void free_per_node(const struct hmi_chunks *cs, uint64_t *free_of, uint64_t *pending_of)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct hmi_chunk *c = &cs->c[i];

		if (c->state == HMI_CHUNK_FREE)
			free_of[c->node] += c->len;
		else if (c->state == HMI_CHUNK_PENDING || c->state == HMI_CHUNK_MISSING)
			pending_of[c->node] += c->len;
	}
}

/* Take free chunks of NODE for OWNER until WANT bytes are covered: the
 * bytes still missing. */
static uint64_t take_node(struct hmi_chunks *cs, size_t owner, int node, uint64_t want,
			  size_t *picked, size_t *n)
{
	for (size_t i = 0; i < cs->n && want > 0; i++) {
		struct hmi_chunk *c = &cs->c[i];

		if (c->state != HMI_CHUNK_FREE || c->node != node)
			continue;
		c->state = HMI_CHUNK_LEASED;
		c->holders[0] = (uint32_t)owner;
		c->n_holders = 1;
		picked[(*n)++] = i;
		want -= want < c->len ? want : c->len;
	}
	return want;
}

static int refuse(struct hm_ctx *ctx, const struct hmi_kp_ask *a, uint64_t free_b,
		  uint64_t pending_b)
{
	char asked[32], has[32], coming[32], where[32];

	hmi_format_size(a->bytes, asked, sizeof(asked));
	hmi_format_size(free_b, has, sizeof(has));
	hmi_format_size(pending_b, coming, sizeof(coming));
	if (a->node < 0)
		snprintf(where, sizeof(where), "any node");
	else
		snprintf(where, sizeof(where), "node %d", a->node);
	return hmi_err(ctx, ENOMEM,
		       "%s: asked %s but the keeper has %s free (%s coming back): ask less, wait, "
		       "or start the keeper with a larger --keep",
		       where, asked, has, coming);
}

void hmi_lease_unpick(struct hmi_chunks *cs, const size_t *picked, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cs->c[picked[i]].state = HMI_CHUNK_FREE;
		cs->c[picked[i]].n_holders = 0;
	}
}

/* The node with the most free bytes, -1 when none has any. */
static int fullest(const uint64_t *free_of)
{
	int best = -1;

	for (int k = 0; k < HM_MAX_NODES; k++)
		if (free_of[k] && (best < 0 || free_of[k] > free_of[best]))
			best = k;
	return best;
}

/* One ask: its node, or (-1) the nodes with the most free first. */
static int take_ask(struct hm_ctx *ctx, struct hmi_chunks *cs, size_t owner,
		    const struct hmi_kp_ask *a, uint64_t *free_of, const uint64_t *pending_of,
		    size_t *picked, size_t *n)
{
	uint64_t want = a->bytes, all_free = 0, all_pending = 0;

	for (int node = 0; node < HM_MAX_NODES; node++) {
		all_free += free_of[node];
		all_pending += pending_of[node];
	}
	if (a->node >= 0 && free_of[a->node] < want)
		return refuse(ctx, a, free_of[a->node], pending_of[a->node]);
	if (a->node < 0 && all_free < want)
		return refuse(ctx, a, all_free, all_pending);
	while (want > 0) {
		int node = a->node >= 0 ? a->node : fullest(free_of);
		size_t before = *n;

		if (node < 0)
			break;
		want = take_node(cs, owner, node, want, picked, n);
		for (size_t i = before; i < *n; i++)
			free_of[node] -= cs->c[picked[i]].len;
		if (*n == before)
			break;
	}
	return want == 0 ? 0 : refuse(ctx, a, 0, all_pending);
}

/* Asks for one node first, "any" last: "any" must not take what a node was
 * asked for by name. */
static int pass(struct hm_ctx *ctx, struct hmi_chunks *cs, size_t owner,
		const struct hmi_kp_ask *asks, size_t n_asks, int any, uint64_t *free_of,
		const uint64_t *pending_of, size_t *picked, size_t *n)
{
	for (size_t i = 0; i < n_asks; i++) {
		int rc;

		if ((asks[i].node < 0) != any)
			continue;
		rc = take_ask(ctx, cs, owner, &asks[i], free_of, pending_of, picked, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hmi_lease_pick(struct hm_ctx *ctx, struct hmi_chunks *cs, size_t owner,
		   const struct hmi_kp_ask *asks, size_t n_asks, size_t **picked, size_t *n)
{
	uint64_t free_of[HM_MAX_NODES] = {0}, pending_of[HM_MAX_NODES] = {0};
	size_t *list = calloc(cs->n ? cs->n : 1, sizeof(*list));
	int rc;

	*n = 0;
	if (!list)
		return hmi_err(ctx, ENOMEM, "out of memory picking chunks");
	free_per_node(cs, free_of, pending_of);
	rc = pass(ctx, cs, owner, asks, n_asks, 0, free_of, pending_of, list, n);
	if (rc == 0)
		rc = pass(ctx, cs, owner, asks, n_asks, 1, free_of, pending_of, list, n);
	if (rc < 0) {
		hmi_lease_unpick(cs, list, *n);
		*n = 0;
		free(list);
		return rc;
	}
	*picked = list;
	return 0;
}

/* ------------------------------------------------------------------ coming back */

int hmi_lease_end_chunk(struct hmi_chunks *cs, size_t i, int punch)
{
	struct hmi_chunk *c = &cs->c[i];
	int fd = -1;

	if (!punch) { /* the caller's to punch and close */
		fd = c->fd;
		c->fd = -1;
	}
	hmi_chunk_drop(c, cs->page_size, 1);
	c->state = HMI_CHUNK_PENDING;
	c->n_holders = 0;
	return fd;
}

/* ------------------------------------------------------------------ holders */

int hmi_chunk_holds(const struct hmi_chunk *c, size_t client)
{
	if (c->state != HMI_CHUNK_LEASED)
		return 0;
	for (uint32_t h = 0; h < c->n_holders; h++)
		if (c->holders[h] == client)
			return 1;
	return 0;
}

int hmi_chunk_let_go(struct hmi_chunks *cs, struct hmi_client *cl, size_t c, size_t i)
{
	struct hmi_chunk *ch = &cs->c[c];
	uint32_t h = 0;

	while (h < ch->n_holders && ch->holders[h] != i)
		h++;
	if (h == ch->n_holders)
		return 0; /* not a holder */
	memmove(&ch->holders[h], &ch->holders[h + 1],
		(ch->n_holders - h - 1) * sizeof(ch->holders[0]));
	ch->n_holders--;
	if (h == 0) { /* it was charged: the next holder is */
		cl[i].bytes -= cl[i].bytes < ch->len ? cl[i].bytes : ch->len;
		if (ch->n_holders)
			cl[ch->holders[0]].bytes += ch->len;
	}
	return ch->n_holders == 0;
}

static int not_leased(struct hm_ctx *ctx, size_t f, size_t n)
{
	return hmi_err(ctx, ENOENT,
		       "descriptor %zu of the %zu sent with JOIN is no chunk this keeper has "
		       "leased (given back already, its holders gone, or not a keeper memfd): "
		       "nothing joined",
		       f + 1, n);
}

/* The leased chunk whose memfd is FD's inode: its index, or -1. */
static ssize_t chunk_of(const struct hmi_chunks *cs, int fd)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & HMI_KEEPER_SEALS) != HMI_KEEPER_SEALS || fstat(fd, &st) < 0)
		return -1;
	for (size_t i = 0; i < cs->n; i++) {
		const struct hmi_chunk *c = &cs->c[i];

		if (c->state == HMI_CHUNK_LEASED && c->ino != 0 && c->ino == st.st_ino &&
		    c->dev == st.st_dev)
			return (ssize_t)i;
	}
	return -1;
}

int hmi_join_match(struct hm_ctx *ctx, const struct hmi_chunks *cs, size_t joiner, const int *fds,
		   size_t n, size_t *idx)
{
	for (size_t f = 0; f < n; f++) {
		ssize_t i = chunk_of(cs, fds[f]);
		const struct hmi_chunk *c;

		if (i < 0)
			return not_leased(ctx, f, n);
		c = &cs->c[i];
		if (!hmi_chunk_holds(c, joiner) && c->n_holders >= HMI_KEEPER_HOLDERS_MAX)
			return hmi_err(ctx, EUSERS,
				       "chunk %" PRIu64 " (descriptor %zu of the JOIN) has %d "
				       "holders already, the most a chunk may have: nothing joined",
				       c->id, f + 1, HMI_KEEPER_HOLDERS_MAX);
		idx[f] = (size_t)i;
	}
	return 0;
}

/* A live client slot of process PID, or -1. */
static ssize_t slot_of_pid(const struct hmi_client *cl, size_t n_cl, pid_t pid)
{
	for (size_t s = 0; s < n_cl; s++)
		if (cl[s].sock >= 0 && cl[s].hello && cl[s].pid == pid)
			return (ssize_t)s;
	return -1;
}

/* The chunk of id ID that a connection of PID holds: its index, or -1. */
static ssize_t chunk_held_by_pid(const struct hmi_chunks *cs, const struct hmi_client *cl,
				 uint64_t id, pid_t pid)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct hmi_chunk *c = &cs->c[i];

		if (c->id != id || c->state != HMI_CHUNK_LEASED)
			continue;
		for (uint32_t h = 0; h < c->n_holders; h++)
			if (cl[c->holders[h]].pid == pid)
				return (ssize_t)i;
		return -1;
	}
	return -1;
}

int hmi_fetch_match(struct hm_ctx *ctx, const struct hmi_chunks *cs, const struct hmi_client *cl,
		    size_t n_cl, size_t fetcher, const struct hmi_kp_msg *req, size_t *idx)
{
	ssize_t owner = slot_of_pid(cl, n_cl, req->pid);

	if (owner < 0)
		return hmi_err(ctx, ESRCH,
			       "no client of pid %d holds memory of this keeper (has it "
			       "exited?): nothing fetched",
			       (int)req->pid);
	if (cl[fetcher].uid != 0 && cl[fetcher].uid != cl[owner].uid)
		return hmi_err(ctx, EPERM,
			       "pid %d's memory belongs to uid %u: only that uid or root may fetch "
			       "it, not uid %u",
			       (int)req->pid, (unsigned)cl[owner].uid, (unsigned)cl[fetcher].uid);
	for (uint32_t f = 0; f < req->n_ids; f++) {
		ssize_t i = chunk_held_by_pid(cs, cl, req->ids[f], req->pid);

		if (i < 0)
			return hmi_err(ctx, ENOENT,
				       "chunk %" PRIu64 " is not one pid %d holds: nothing fetched",
				       req->ids[f], (int)req->pid);
		if (!hmi_chunk_holds(&cs->c[i], fetcher) &&
		    cs->c[i].n_holders >= HMI_KEEPER_HOLDERS_MAX)
			return hmi_err(ctx, EUSERS,
				       "chunk %" PRIu64 " has %d holders already, the most a "
				       "chunk may have: nothing fetched",
				       req->ids[f], HMI_KEEPER_HOLDERS_MAX);
		idx[f] = (size_t)i;
	}
	return 0;
}

void hmi_join_apply(struct hmi_chunks *cs, size_t joiner, const size_t *idx, size_t n)
{
	for (size_t f = 0; f < n; f++) {
		struct hmi_chunk *c = &cs->c[idx[f]];

		if (!hmi_chunk_holds(c, joiner) && c->n_holders < HMI_KEEPER_HOLDERS_MAX)
			c->holders[c->n_holders++] = (uint32_t)joiner;
	}
}
