/* SPDX-License-Identifier: MIT */
/*
 * keeper/client.c — the client's side of the keeper's socket: connect, say
 * HELLO with this process's pidfd, lease chunks (their memfds arrive with the
 * replies, SCM_RIGHTS), join chunks another process leased (their memfds
 * go with the request), give them back, and the public status query.
 *
 * Whatever answers on the path is checked as the keeper checks its clients:
 * every reply is decoded by proto.c's decoder, must be of the type asked
 * for, and must bring exactly one descriptor per chunk and none otherwise;
 * on any failure every descriptor received is closed. A receive timeout
 * (RECV_TIMEOUT_S) bounds the wait for a keeper that does not answer.
 */
#include "keeper/keeper.h"
#include "base/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define RECV_TIMEOUT_S 5

int hmi_keeper_sock_path(struct hm_ctx *ctx, const char *dir, char *buf, size_t len)
{
	int n;

	if (!dir)
		dir = HM_KEEPER_DIR_DEFAULT;
	if (dir[0] != '/')
		return hmi_err(ctx, EINVAL, "the keeper's directory '%s' is not absolute", dir);
	n = snprintf(buf, len, "%s/keeper.sock", dir);
	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "the keeper's socket path in %s is too long",
			       dir);
	return 0;
}

static int connect_error(struct hm_ctx *ctx, const char *path, int err)
{
	if (err == ENOENT || err == ECONNREFUSED)
		return hmi_err(ctx, err, "no keeper answers on %s (%s): start one (hugemem keeper)",
			       path, strerror(err));
	if (err == EACCES || err == EPERM)
		return hmi_err(ctx, EACCES,
			       "may not connect to the keeper on %s: it serves root, and the group "
			       "its --group names",
			       path);
	return hmi_err(ctx, err, "cannot connect to the keeper on %s: %s", path, strerror(err));
}

/* A socket connected to the keeper in DIR, with a receive timeout. */
static int open_conn(struct hm_ctx *ctx, const char *dir, struct hmi_keeper_conn *c)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	int rc = hmi_keeper_sock_path(ctx, dir, addr.sun_path, sizeof(addr.sun_path));

	*c = (struct hmi_keeper_conn){.sock = -1};
	if (rc < 0)
		return rc;
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return hmi_err(ctx, errno, "cannot create a unix socket: %s", strerror(errno));
	if (setsockopt(c->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(c->sock, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = connect_error(ctx, addr.sun_path, errno);
		hmi_keeper_disconnect(c);
	}
	return rc;
}

void hmi_keeper_disconnect(struct hmi_keeper_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
}

static int send_req(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const struct hmi_kp_msg *req,
		    const int *fds, size_t n)
{
	uint8_t *buf = malloc(HMI_KP_MSG_MAX);
	size_t len = 0;
	int rc = buf ? hmi_kp_encode(ctx, req, buf, HMI_KP_MSG_MAX, &len) : -ENOMEM;

	if (rc == 0) {
		rc = hmi_kp_send(c->sock, buf, len, fds, n);
		if (rc < 0)
			rc = hmi_err(ctx, -rc, "cannot send to the keeper: %s", strerror(-rc));
	} else if (!buf) {
		rc = hmi_err(ctx, ENOMEM, "out of memory for a keeper message");
	}
	free(buf);
	return rc;
}

static int recv_error(struct hm_ctx *ctx, ssize_t got)
{
	if (got == 0)
		return hmi_err(ctx, ECONNRESET,
			       "the keeper closed the connection without an answer");
	if (got == -EAGAIN || got == -EWOULDBLOCK)
		return hmi_err(ctx, ETIMEDOUT, "the keeper did not answer within %d s",
			       RECV_TIMEOUT_S);
	return hmi_err(ctx, (int)-got, "receiving from the keeper: %s", strerror((int)-got));
}

/* One reply of type WANT into *M with up to MAX_FDS descriptors (FDS, *N). */
static int recv_reply(struct hm_ctx *ctx, struct hmi_keeper_conn *c, enum hmi_kp_type want,
		      struct hmi_kp_msg *m, int *fds, size_t max_fds, size_t *n)
{
	uint8_t *buf = malloc(HMI_KP_MSG_MAX);
	ssize_t got = buf ? hmi_kp_recv(c->sock, buf, HMI_KP_MSG_MAX, fds, max_fds, n) : -ENOMEM;
	int rc = got > 0 ? hmi_kp_decode(ctx, buf, (size_t)got, m) : recv_error(ctx, got);

	free(buf);
	if (rc == 0 && m->type != want) {
		hmi_kp_msg_free(m);
		rc = hmi_err(ctx, EPROTO, "the keeper answered with type %d, not %d", (int)m->type,
			     (int)want);
	}
	if (rc == 0 && m->status < 0) {
		rc = hmi_err(ctx, -m->status, "the keeper refused: %s", m->text);
		hmi_kp_msg_free(m);
	}
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			close(fds[i]);
		*n = 0;
	}
	return rc;
}

int hmi_keeper_call(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const struct hmi_kp_msg *req,
		    enum hmi_kp_type want, struct hmi_kp_msg *reply)
{
	int fds[1];
	size_t n = 0;
	int rc = send_req(ctx, c, req, NULL, 0);

	if (rc == 0)
		rc = recv_reply(ctx, c, want, reply, fds, 0, &n);
	return rc;
}

/* Is the process on the other end root or this user? Nothing of ours (a
 * pidfd, memfds we JOIN with) goes to a socket another user bound. */
static int check_keeper_user(struct hm_ctx *ctx, const char *dir, int sock)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return hmi_err(ctx, errno, "cannot ask who serves the keeper's socket in %s: %s",
			       dir ? dir : HM_KEEPER_DIR_DEFAULT, strerror(errno));
	if (cr.uid != 0 && cr.uid != geteuid())
		return hmi_err(ctx, EPERM,
			       "the keeper's socket in %s is served by uid %u, neither root nor "
			       "you: not trusted",
			       dir ? dir : HM_KEEPER_DIR_DEFAULT, (unsigned)cr.uid);
	return 0;
}

/* Connect and send HELLO with this process's pidfd; its reply is read by
 * hello_reply, after whatever request the caller sends behind it (the
 * keeper answers both in one wake-up: one round trip, not two). All that
 * can be made before the connect is: the keeper wakes at the connect, and
 * finds the messages already there rather than sleeping again until they
 * come (a second wake-up, ~0.1 ms on a VM). */
static int open_and_hello(struct hm_ctx *ctx, const char *dir, struct hmi_keeper_conn *c)
{
	struct hmi_kp_msg hello = {.type = HMI_KP_HELLO};
	int pidfd = hmi_pidfd_open(getpid()), rc;

	*c = (struct hmi_keeper_conn){.sock = -1};
	if (pidfd < 0)
		return hmi_err(ctx, -pidfd, "pidfd_open of this process (Linux 5.3+): %s",
			       strerror(-pidfd));
	rc = open_conn(ctx, dir, c);
	if (rc == 0 && (rc = check_keeper_user(ctx, dir, c->sock)) == 0)
		rc = send_req(ctx, c, &hello, &pidfd, 1);
	close(pidfd);
	if (rc < 0)
		hmi_keeper_disconnect(c);
	return rc;
}

static int hello_reply(struct hm_ctx *ctx, struct hmi_keeper_conn *c)
{
	struct hmi_kp_msg reply;
	int fds[1];
	size_t n = 0;
	int rc = recv_reply(ctx, c, HMI_KP_HELLO_REPLY, &reply, fds, 0, &n);

	if (rc < 0) {
		hmi_keeper_disconnect(c);
		return rc;
	}
	c->pa_allowed = reply.pa_allowed;
	c->page_size = reply.page_size;
	c->chunk_bytes = reply.chunk_bytes;
	hmi_kp_msg_free(&reply);
	return 0;
}

int hmi_keeper_connect(struct hm_ctx *ctx, const char *dir, struct hmi_keeper_conn *c)
{
	int rc = open_and_hello(ctx, dir, c);

	return rc < 0 ? rc : hello_reply(ctx, c);
}

/* ------------------------------------------------------------------ leases */

void hmi_keeper_lease_free(struct hmi_keeper_lease *l)
{
	for (size_t i = 0; i < l->n_chunks; i++)
		if (l->chunks[i].fd >= 0)
			close(l->chunks[i].fd);
	free(l->chunks);
	free(l->runs);
	*l = (struct hmi_keeper_lease){0};
}

/* Append the chunks and runs of reply M (FDS, one per chunk) to L. */
static int add_reply(struct hm_ctx *ctx, struct hmi_keeper_lease *l, const struct hmi_kp_msg *m,
		     const int *fds)
{
	struct hmi_keeper_chunk *chunks =
	    realloc(l->chunks, (l->n_chunks + m->n_chunks + 1) * sizeof(*chunks));
	struct hm_run *runs;

	if (chunks)
		l->chunks = chunks;
	runs = chunks ? realloc(l->runs, (l->n_runs + m->n_runs + 1) * sizeof(*runs)) : NULL;
	if (!runs)
		return hmi_err(ctx, ENOMEM, "out of memory for a lease of %zu chunks",
			       l->n_chunks + m->n_chunks);
	l->runs = runs;
	memcpy(l->runs + l->n_runs, m->runs, m->n_runs * sizeof(*runs));
	for (uint32_t i = 0; i < m->n_chunks; i++)
		l->chunks[l->n_chunks++] = (struct hmi_keeper_chunk){
		    .id = m->chunks[i].id,
		    .node = m->chunks[i].node,
		    .fd = fds[i],
		    .len = m->chunks[i].len,
		    .first_run = (uint32_t)l->n_runs + m->chunks[i].first_run,
		    .n_runs = m->chunks[i].n_runs};
	l->n_runs += m->n_runs;
	return 0;
}

/* One LEASE_REPLY into L: 1 when more follow, 0 at the last, -errno. */
static int lease_reply(struct hm_ctx *ctx, struct hmi_keeper_conn *c, struct hmi_keeper_lease *l)
{
	int fds[HMI_KP_FDS_MAX];
	size_t n = 0;
	struct hmi_kp_msg m;
	int rc = recv_reply(ctx, c, HMI_KP_LEASE_REPLY, &m, fds, HMI_KP_FDS_MAX, &n);

	if (rc < 0)
		return rc;
	if (n != m.n_chunks || (l->page_size && m.page_size != l->page_size))
		rc = hmi_err(ctx, EPROTO,
			     "the keeper sent %zu descriptors for %u chunks (or changed page size)",
			     n, m.n_chunks);
	else
		rc = add_reply(ctx, l, &m, fds);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	} else {
		l->page_size = m.page_size;
		rc = (m.flags & HMI_KP_MORE) != 0;
	}
	hmi_kp_msg_free(&m);
	return rc;
}

static int send_lease(struct hm_ctx *ctx, struct hmi_keeper_conn *c, uint64_t page_size,
		      const struct hmi_kp_ask *asks, size_t n_asks)
{
	struct hmi_kp_msg req = {.type = HMI_KP_LEASE, .page_size = page_size};

	if (n_asks == 0 || n_asks > HMI_KP_ASKS_MAX)
		return hmi_err(ctx, EINVAL, "a lease asks 1 to %d nodes, not %zu", HMI_KP_ASKS_MAX,
			       n_asks);
	req.n_asks = (uint32_t)n_asks;
	memcpy(req.asks, asks, n_asks * sizeof(*asks));
	return send_req(ctx, c, &req, NULL, 0);
}

static int lease_replies(struct hm_ctx *ctx, struct hmi_keeper_conn *c, struct hmi_keeper_lease *l)
{
	int rc;

	while ((rc = lease_reply(ctx, c, l)) == 1)
		;
	if (rc < 0)
		hmi_keeper_lease_free(l);
	return rc;
}

int hmi_keeper_lease(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const struct hmi_kp_ask *asks,
		     size_t n_asks, struct hmi_keeper_lease *l)
{
	int rc = send_lease(ctx, c, c->page_size, asks, n_asks);

	*l = (struct hmi_keeper_lease){0};
	return rc < 0 ? rc : lease_replies(ctx, c, l);
}

int hmi_keeper_ask_lease(struct hm_ctx *ctx, const char *dir, uint64_t page_size,
			 const struct hmi_kp_ask *asks, size_t n_asks, struct hmi_keeper_conn *c)
{
	int rc = open_and_hello(ctx, dir, c);

	if (rc == 0 && (rc = send_lease(ctx, c, page_size, asks, n_asks)) < 0)
		hmi_keeper_disconnect(c);
	return rc;
}

int hmi_keeper_take_lease(struct hm_ctx *ctx, struct hmi_keeper_conn *c, struct hmi_keeper_lease *l)
{
	int rc = hello_reply(ctx, c);

	*l = (struct hmi_keeper_lease){0};
	if (rc == 0)
		rc = lease_replies(ctx, c, l);
	if (rc < 0)
		hmi_keeper_disconnect(c);
	return rc;
}

int hmi_keeper_return(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const uint64_t *ids, size_t n,
		      uint32_t *returned)
{
	struct hmi_kp_msg req = {.type = HMI_KP_RETURN}, reply;
	int rc;

	if (n > HMI_KP_IDS_MAX)
		return hmi_err(ctx, EINVAL, "at most %d chunk ids at once, not %zu", HMI_KP_IDS_MAX,
			       n);
	req.flags = n == 0 ? HMI_KP_ALL : 0;
	req.n_ids = (uint32_t)n;
	req.ids = (uint64_t *)(uintptr_t)ids;
	rc = hmi_keeper_call(ctx, c, &req, HMI_KP_RETURN_REPLY, &reply);
	if (rc == 0 && returned)
		*returned = reply.returned;
	if (rc == 0)
		hmi_kp_msg_free(&reply);
	return rc;
}

/* One JOIN of N (<= HMI_KP_FDS_MAX) memfds: the keeper names a chunk for
 * each, or refuses them all. */
static int join_batch(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const int *fds, size_t n)
{
	struct hmi_kp_msg req = {.type = HMI_KP_JOIN, .n_fds = (uint32_t)n}, reply;
	int none[1];
	size_t got = 0;
	int rc = send_req(ctx, c, &req, fds, n);

	if (rc == 0)
		rc = recv_reply(ctx, c, HMI_KP_JOIN_REPLY, &reply, none, 0, &got);
	if (rc < 0)
		return rc;
	if (reply.n_ids != n)
		rc = hmi_err(ctx, EPROTO, "the keeper joined %u chunks for %zu descriptors",
			     reply.n_ids, n);
	hmi_kp_msg_free(&reply);
	return rc;
}

int hmi_keeper_join(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const int *fds, size_t n)
{
	int rc = 0;

	if (n == 0 || !fds)
		return hmi_err(ctx, EINVAL, "a JOIN needs at least one memfd");
	for (size_t done = 0; rc == 0 && done < n; done += HMI_KP_FDS_MAX)
		rc = join_batch(ctx, c, fds + done,
				n - done < HMI_KP_FDS_MAX ? n - done : HMI_KP_FDS_MAX);
	return rc;
}

/* ------------------------------------------------------------------ fetch */

static size_t batch_of(size_t n, size_t done)
{
	return n - done < HMI_KP_FDS_MAX ? n - done : HMI_KP_FDS_MAX;
}

static int send_fetches(struct hm_ctx *ctx, struct hmi_keeper_conn *c, pid_t pid,
			const uint64_t *ids, size_t n)
{
	int rc = 0;

	for (size_t done = 0; rc == 0 && done < n; done += HMI_KP_FDS_MAX) {
		struct hmi_kp_msg req = {.type = HMI_KP_FETCH,
					 .pid = pid,
					 .n_ids = (uint32_t)batch_of(n, done),
					 .ids = (uint64_t *)(uintptr_t)(ids + done)};

		rc = send_req(ctx, c, &req, NULL, 0);
	}
	return rc;
}

/* One FETCH_REPLY: the memfds of IDS[0..N) into FDS, in that order. */
static int fetch_reply(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const uint64_t *ids, size_t n,
		       int *fds)
{
	struct hmi_kp_msg m;
	size_t got = 0;
	int rc = recv_reply(ctx, c, HMI_KP_FETCH_REPLY, &m, fds, n, &got);

	if (rc < 0)
		return rc;
	if (got != n || m.n_ids != n || memcmp(m.ids, ids, n * sizeof(*ids)) != 0)
		rc = hmi_err(ctx, EPROTO,
			     "the keeper sent %zu descriptors for %u of the %zu chunks fetched",
			     got, m.n_ids, n);
	for (size_t i = 0; rc < 0 && i < got; i++)
		close(fds[i]);
	hmi_kp_msg_free(&m);
	return rc;
}

static int fetch_replies(struct hm_ctx *ctx, struct hmi_keeper_conn *c, const uint64_t *ids,
			 size_t n, int *fds)
{
	size_t done = 0;
	int rc = 0;

	for (; rc == 0 && done < n; done += HMI_KP_FDS_MAX)
		rc = fetch_reply(ctx, c, ids + done, batch_of(n, done), fds + done);
	for (size_t i = 0; rc < 0 && i + HMI_KP_FDS_MAX < done; i++)
		close(fds[i]); /* the batches before the one that failed */
	return rc;
}

int hmi_keeper_open_fetch(struct hm_ctx *ctx, const char *dir, pid_t pid, const uint64_t *ids,
			  size_t n, struct hmi_keeper_conn *c, int *fds)
{
	int rc;

	if (n == 0 || !ids)
		return hmi_err(ctx, EINVAL, "a FETCH needs at least one chunk id");
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	rc = open_and_hello(ctx, dir, c);
	if (rc == 0 && (rc = send_fetches(ctx, c, pid, ids, n)) < 0)
		hmi_keeper_disconnect(c);
	if (rc == 0)
		rc = hello_reply(ctx, c);
	if (rc == 0 && (rc = fetch_replies(ctx, c, ids, n, fds)) < 0)
		hmi_keeper_disconnect(c);
	for (size_t i = 0; rc < 0 && i < n; i++)
		fds[i] = -1; /* closed: none is the caller's */
	return rc;
}

/* ------------------------------------------------------------------ status (public) */

int hm_keeper_status(struct hm_ctx *ctx, const char *runtime_dir, struct hm_keeper_status **out)
{
	struct hmi_kp_msg req = {.type = HMI_KP_STATUS}, reply;
	struct hmi_keeper_conn c;
	int rc;

	hmi_err_clear(ctx);
	if (!out)
		return hmi_err(ctx, EINVAL, "hm_keeper_status needs somewhere to put the status");
	*out = NULL;
	rc = open_conn(ctx, runtime_dir, &c);
	if (rc < 0)
		return rc;
	rc = hmi_keeper_call(ctx, &c, &req, HMI_KP_STATUS_REPLY, &reply);
	hmi_keeper_disconnect(&c);
	if (rc < 0)
		return rc;
	*out = reply.st;
	reply.st = NULL;
	hmi_kp_msg_free(&reply);
	return 0;
}

void hm_keeper_status_free(struct hm_keeper_status *st)
{
	if (!st)
		return;
	free(st->leases);
	free(st);
}
