/* SPDX-License-Identifier: MIT */
/*
 * keeper/server.c — the keeper daemon: its runtime directory and socket, the
 * event loop that serves clients, and the worker that faults returned chunks
 * again off every client's path.
 *
 * Runtime directory (HM_KEEPER_DIR_DEFAULT, or the caller's): created 0700
 * and owned by root; with a group, 0750 and that group, the socket 0660 (the
 * group may connect). An existing directory must be a real directory (not a
 * link) of this user that nobody else may write. The keeper holds a flock on
 * it for its life: a second keeper on the same directory is refused. The
 * socket, keeper.sock: a path that is a symbolic link, or anything but a
 * socket, is refused; a socket where connect() gets ECONNREFUSED (what a dead
 * keeper leaves) is replaced; one where a keeper answers is refused.
 *
 * The loop (hm_keeper_run): one epoll over the listening socket, each
 * connection, each client's pidfd (readable when the process exits), the
 * worker's eventfd and the stop eventfd (hm_keeper_stop writes it: async-
 * signal-safe). A client is served one message at a time; a message that
 * does not decode, a reply it does not take within SEND_WAIT_MS, or a
 * request out of order (LEASE before HELLO) disconnects it: its chunks come
 * back. A refusal (too little memory) is an answer, not a disconnection.
 *
 * The worker: a thread with a context of its own (contexts are not shared
 * between threads) and every signal blocked. The loop queues each returned
 * slot; the worker faults a new memfd for it and hands it back through the
 * eventfd; the loop installs it with a new id. A slot the pool cannot fill
 * again (pages pinned by a former client, or taken by others meanwhile) is
 * retried every RETRY_MS. It runs SCHED_BATCH: its work is for no one who
 * waits, so a chunk it finishes never preempts a client on its CPU (a
 * client's start, measured in bench/KEEPER.md, would otherwise wait for it).
 */
#include "keeper/keeper.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SOCK_NAME    "keeper.sock"
#define SEND_WAIT_MS 1000
#define RETRY_MS     1000
#define YIELD_MS     20 /* the worker pauses this long after a LEASE or FETCH */
#define MAX_EVENTS   64

enum tag { TAG_LISTEN = 1, TAG_STOP, TAG_WORKER, TAG_CONN, TAG_PIDFD, TAG_MOUNTS };
#define TAG_GEN_MASK 0xffffffu

struct refault {
	size_t slot;
	int node;
	uint64_t len;
	int punch_fd; /* the slot's old memfd, to punch and close first (-1: done) */
	int rc;
	struct hmi_chunk_fill fill;
};

struct worker {
	pthread_t thread;
	int started, quit;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct hm_ctx *ctx; /* the worker's own */
	uint64_t page_size;
	struct refault *todo, *done; /* each holds every slot at most once */
	size_t n_todo, n_done;
	int event_fd;
	double resume_at; /* hmi_now_ms(): faults wait until then (a client starts) */
};

struct hm_keeper {
	struct hm_ctx *ctx;
	int expose_pa;
	uint64_t uid_quota; /* bytes; 0: none */
	gid_t group;
	char dir[HM_PATH_MAX];
	struct sockaddr_un addr;
	int dir_fd, made_dir;
	int listen_fd, epoll_fd, stop_fd;
	int mounts_fd;	 /* /proc/self/mountinfo, polled for changes (-1: not pollable) */
	char *mountinfo; /* its text (budget.c), NULL when read at each LEASE */
	dev_t sock_dev;
	ino_t sock_ino;
	struct hmi_chunks cs;
	struct hmi_client *cl;
	size_t n_cl, cap_cl;
	uint32_t accepted;    /* connections so far: each client's generation */
	uint64_t refilled_ns; /* when a chunk the worker faulted was last installed (STATUS) */
	struct worker w;
	uint8_t buf[HMI_KP_MSG_MAX];
};

/* An event's tag: what it is (bits 56-63), for a client's connection or
 * pidfd the client's generation (32-55: a client slot is used again by the
 * next connection, and one epoll_wait can return the old client's pidfd
 * after its end and the new one's accept: that event is not the new
 * client's exit), and the slot or 0 (0-31). */
static uint64_t tag(enum tag t, uint32_t gen, size_t i)
{
	return (uint64_t)t << 56 | (uint64_t)(gen & TAG_GEN_MASK) << 32 | (uint32_t)i;
}

static int watch(struct hm_keeper *k, int fd, enum tag t, size_t i)
{
	uint32_t gen = t == TAG_CONN || t == TAG_PIDFD ? k->cl[i].gen : 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(t, gen, i)};

	if (epoll_ctl(k->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return hmi_err(k->ctx, errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

/* Forget FD in the epoll set, then close it: a descriptor another process
 * shares (a pidfd the client keeps) would stay registered past close. */
static void unwatch_close(struct hm_keeper *k, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(k->epoll_fd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* ------------------------------------------------------------------ the worker */

/* The worker's pacer (hmi_chunk_fault calls it between two steps of a
 * fault): while a client starts, zeroing would take the memory bandwidth its
 * own start needs (bench/KEEPER.md: 2x slower on a small VM, whatever the
 * worker's CPU priority), so the worker waits until YIELD_MS after the last
 * LEASE or FETCH of a client still there: what it does next, map the memory
 * and set up its heap, takes ~5 ms for 1 GiB here. A chunk is late by that
 * much; no client waits for one. (A RETURN or the client's end lets the
 * worker go on at once; STATUS never holds it off.)
 *
 * Each step also yields the CPU: nothing woken on the worker's CPU (the
 * loop, SCHED_BATCH too, or a starting client) got it before the worker's
 * time slice ended — a served `hm_init` after a RETURN took 2.2-2.5x idle
 * when it landed there, 1.0-1.1x with the yield. Yielding only while the
 * loop has events, a short EEVDF slice or SCHED_IDLE did not do as well
 * (bench/KEEPER.md, run E). The price: a chunk is later when others want the
 * CPU; a yield costs a system call per 4 MiB when no one does. */
static void worker_yield(void *arg)
{
	struct worker *w = arg;

	sched_yield();
	pthread_mutex_lock(&w->lock);
	for (double now = hmi_now_ms(); !w->quit && now < w->resume_at; now = hmi_now_ms()) {
		struct timespec nap = {0, (long)((w->resume_at - now) * 1e6)};

		pthread_mutex_unlock(&w->lock);
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
}

/* The worker resumes when the last starting client's start is over (or it
 * left, or gave its memory back: then it is not starting). */
static void worker_resume_at(struct worker *w, const struct hmi_client *cl, size_t n)
{
	double at = 0;

	for (size_t i = 0; i < n; i++)
		if (cl[i].sock >= 0 && cl[i].starting_until > at)
			at = cl[i].starting_until;
	pthread_mutex_lock(&w->lock);
	w->resume_at = at;
	pthread_mutex_unlock(&w->lock);
}

/* Punch the old memfds of every queued slot (a departed client's: the
 * loop hands them over rather than hold up the next client with the
 * punch), the last queued first, before any is faulted again: the free
 * list then gives the pages back in the order the keeper had them (see
 * let_go). Called and returns with W->lock held. */
static void punch_queued(struct worker *w)
{
	for (size_t j = w->n_todo; j-- > 0;) {
		int fd = w->todo[j].punch_fd;

		if (fd < 0)
			continue;
		w->todo[j].punch_fd = -1;
		pthread_mutex_unlock(&w->lock); /* the loop may queue more meanwhile */
		hmi_chunk_punch(fd, w->todo[j].len, w->page_size);
		close(fd);
		pthread_mutex_lock(&w->lock);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;
	struct sched_param none = {0};

	if (sched_getscheduler(0) == SCHED_OTHER) /* best effort; real-time stays */
		(void)sched_setscheduler(0, SCHED_BATCH, &none);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct refault job;

		while (!w->quit && w->n_todo == 0)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->quit)
			break;
		punch_queued(w);
		job = w->todo[0];
		memmove(w->todo, w->todo + 1, --w->n_todo * sizeof(*w->todo));
		pthread_mutex_unlock(&w->lock);
		job.rc =
		    hmi_chunk_fault(w->ctx, w->page_size, job.node, job.len,
				    &(struct hmi_pacer){.wait = worker_yield, .arg = w}, &job.fill);
		pthread_mutex_lock(&w->lock);
		w->done[w->n_done++] = job;
		if (write(w->event_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the loop reads it */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int worker_start(struct hm_keeper *k)
{
	struct worker *w = &k->w;
	sigset_t all, old;
	int err;

	w->page_size = k->cs.page_size;
	w->todo = calloc(k->cs.n, sizeof(*w->todo));
	w->done = calloc(k->cs.n, sizeof(*w->done));
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!w->todo || !w->done || w->event_fd < 0 || hm_ctx_new(&w->ctx) < 0)
		return hmi_err(k->ctx, ENOMEM, "cannot set the keeper's worker up");
	hm_ctx_set_root(w->ctx, hm_ctx_root(k->ctx));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return hmi_err(k->ctx, err, "cannot start the keeper's worker: %s", strerror(err));
	w->started = 1;
	return 0;
}

static void worker_stop(struct worker *w)
{
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->quit = 1;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		punch_queued(w); /* what a departed client held still goes back punched */
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		for (size_t i = 0; i < w->n_done; i++)
			if (w->done[i].rc == 0) {
				close(w->done[i].fill.fd);
				free(w->done[i].fill.runs);
			}
	}
	w->started = 0;
	if (w->event_fd >= 0)
		close(w->event_fd);
	w->event_fd = -1;
	free(w->ctx); /* a bare context: no memory, no callbacks (hm_ctx_free is mem/'s) */
	w->ctx = NULL;
	free(w->todo);
	free(w->done);
	w->todo = w->done = NULL;
}

/* Slots IDX[0..N) came back: the worker faults them again, in that order,
 * after punching FDS[j] >= 0 (old memfds the loop did not punch itself).
 * Queued at once, so that the worker sees them all before it starts. */
static void refault(struct hm_keeper *k, const size_t *idx, const int *fds, size_t n)
{
	struct worker *w = &k->w;

	pthread_mutex_lock(&w->lock);
	for (size_t j = 0; j < n; j++) {
		const struct hmi_chunk *c = &k->cs.c[idx[j]];

		w->todo[w->n_todo++] = (struct refault){.slot = idx[j],
							.node = c->node,
							.len = c->len,
							.punch_fd = fds ? fds[j] : -1,
							.fill.fd = -1};
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* The worker's results: each slot free again with a new memfd and id, or
 * missing (retried). Taken at its eventfd, and before a LEASE or STATUS is
 * answered: a chunk the worker finished a moment ago is free for that
 * client, though its eventfd may still wait behind the request. */
static void take_finished(struct hm_keeper *k)
{
	struct worker *w = &k->w;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n_done; i++) {
		struct hmi_chunk *c = &k->cs.c[w->done[i].slot];

		if (w->done[i].rc == 0) {
			hmi_chunk_install(&k->cs, c, &w->done[i].fill);
			k->refilled_ns = (uint64_t)(hmi_now_ms() * 1e6);
		} else {
			c->state = HMI_CHUNK_MISSING;
		}
	}
	w->n_done = 0;
	pthread_mutex_unlock(&w->lock);
}

static void on_worker(struct hm_keeper *k)
{
	uint64_t count;

	if (read(k->w.event_fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing new */
	}
	take_finished(k);
}

static int any_missing(const struct hm_keeper *k)
{
	for (size_t i = 0; i < k->cs.n; i++)
		if (k->cs.c[i].state == HMI_CHUNK_MISSING)
			return 1;
	return 0;
}

static void retry_missing(struct hm_keeper *k)
{
	for (size_t i = 0; i < k->cs.n; i++)
		if (k->cs.c[i].state == HMI_CHUNK_MISSING) {
			k->cs.c[i].state = HMI_CHUNK_PENDING;
			refault(k, &i, NULL, 1);
		}
}

/* ------------------------------------------------------------------ clients */

/* Does REQ (a RETURN; NULL: the client is gone) name chunk CH? */
static int named(const struct hmi_kp_msg *req, const struct hmi_chunk *ch)
{
	int yes = !req || (req->flags & HMI_KP_ALL);

	for (uint32_t j = 0; !yes && j < req->n_ids; j++)
		yes = req->ids[j] == ch->id;
	return yes;
}

/* Client I lets go of the chunks it holds that REQ names (NULL: all: it is
 * gone). Those it was the last holder of come back, to be faulted again the
 * lowest first after all are punched, the highest first — the kernel's free
 * list is last-freed-first, so the worker gets the pages back in the order
 * the keeper had them; faulting while punching interleaved them
 * (bench/KEEPER.md: 47 runs in 512 pages became 270). A RETURN's chunks are
 * punched here (its answer says they are gone); a departed client's by the
 * worker (punch_queued), so the next client does not wait for that. The
 * count let go. */
static uint32_t let_go(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *req)
{
	size_t *back = malloc((k->cs.n + 1) * sizeof(*back)), n = 0;
	int *fds = malloc((k->cs.n + 1) * sizeof(*fds));
	uint32_t count = 0;

	for (size_t c = k->cs.n; c-- > 0;) {
		int fd;

		if (!hmi_chunk_holds(&k->cs.c[c], i) || !named(req, &k->cs.c[c]))
			continue;
		count++;
		if (!hmi_chunk_let_go(&k->cs, k->cl, c, i))
			continue;
		fd = hmi_lease_end_chunk(&k->cs, c, req != NULL || !back || !fds);
		if (back && fds) {
			back[n] = c;
			fds[n++] = fd;
		} else {
			refault(k, &c, NULL, 1); /* out of memory: punched, one at a time */
		}
	}
	for (size_t a = 0, b = n; a + 1 < b; a++, b--) { /* the lowest first */
		size_t s = back[a];
		int f = fds[a];

		back[a] = back[b - 1], fds[a] = fds[b - 1];
		back[b - 1] = s, fds[b - 1] = f;
	}
	if (n)
		refault(k, back, fds, n);
	free(back);
	free(fds);
	return count;
}

/* Client I is gone (end of connection, process exit, a bad message): it
 * lets go of every chunk it holds. */
static void drop_client(struct hm_keeper *k, size_t i)
{
	let_go(k, i, NULL);
	unwatch_close(k, &k->cl[i].pidfd);
	unwatch_close(k, &k->cl[i].sock);
	free(k->cl[i].cgroup);
	k->cl[i] = (struct hmi_client){.sock = -1, .pidfd = -1};
	worker_resume_at(&k->w, k->cl, k->n_cl); /* it was starting, perhaps */
}

static int client_slot(struct hm_keeper *k, size_t *slot)
{
	for (size_t i = 0; i < k->n_cl; i++)
		if (k->cl[i].sock < 0) {
			*slot = i;
			return 0;
		}
	if (hmi_array_reserve(k->ctx, (void **)&k->cl, &k->cap_cl, k->n_cl + 1, sizeof(*k->cl), 16,
			      "keeper clients") < 0)
		return -ENOMEM;
	*slot = k->n_cl++;
	return 0;
}

static void on_listen(struct hm_keeper *k)
{
	for (;;) {
		int sock = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		size_t i;

		if (sock < 0)
			return; /* EAGAIN, or out of descriptors: the next event tries again */
		if (client_slot(k, &i) < 0) {
			close(sock);
			return;
		}
		k->cl[i] = (struct hmi_client){
		    .sock = sock, .pidfd = -1, .gen = ++k->accepted & TAG_GEN_MASK};
		if (watch(k, sock, TAG_CONN, i) < 0)
			drop_client(k, i);
	}
}

/* Send M to client I with the N descriptors FDS, waiting up to SEND_WAIT_MS
 * for room. */
static int send_msg(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *m, const int *fds,
		    size_t n)
{
	size_t len = 0;
	int rc = hmi_kp_encode(k->ctx, m, k->buf, sizeof(k->buf), &len);

	if (rc == 0)
		rc = hmi_kp_send(k->cl[i].sock, k->buf, len, fds, n);
	if (rc == -EAGAIN) {
		struct pollfd p = {.fd = k->cl[i].sock, .events = POLLOUT};

		if (poll(&p, 1, SEND_WAIT_MS) == 1)
			rc = hmi_kp_send(k->cl[i].sock, k->buf, len, fds, n);
	}
	return rc;
}

/* A refusal: status RC, the context's message. */
static int send_refusal(struct hm_keeper *k, size_t i, enum hmi_kp_type type, int rc)
{
	struct hmi_kp_msg m = {.type = type, .status = rc};

	snprintf(m.text, sizeof(m.text), "%s", hm_errmsg(k->ctx));
	return send_msg(k, i, &m, NULL, 0);
}

static int serve_hello(struct hm_keeper *k, size_t i, const int *fds, size_t n_fds)
{
	struct hmi_kp_msg m = {.type = HMI_KP_HELLO_REPLY};
	int rc;

	if (n_fds != 1)
		return -EPROTO; /* without exactly one pidfd */
	if (k->cl[i].hello) {
		close(fds[0]); /* HELLO twice: the descriptor is this function's to close */
		return -EPROTO;
	}
	rc = hmi_client_hello(k->ctx, &k->cl[i], fds[0], k->expose_pa);
	if (rc < 0)
		return rc; /* not who it says it is: no answer */
	if (watch(k, k->cl[i].pidfd, TAG_PIDFD, i) < 0)
		return -ENOMEM;
	m.pa_allowed = k->cl[i].pa_allowed;
	m.page_size = k->cs.page_size;
	m.chunk_bytes = k->cs.chunk_bytes;
	return send_msg(k, i, &m, NULL, 0);
}

/* Chunk C's runs as client CL may see them into RUNS (from *N on). */
static void client_runs(const struct hm_keeper *k, const struct hmi_client *cl,
			const struct hmi_chunk *c, struct hm_run *runs, uint32_t *n)
{
	if (!cl->pa_allowed) {
		runs[(*n)++] = (struct hm_run){.pa = 0, .pages = c->len / k->cs.page_size};
		return;
	}
	for (uint32_t r = 0; r < c->n_runs; r++)
		runs[(*n)++] = c->runs[r];
}

/* One LEASE_REPLY with the chunks PICKED[from ..]: as many as fit. *NEXT is
 * where the next reply starts. */
static int send_batch(struct hm_keeper *k, size_t i, const size_t *picked, size_t n, size_t from,
		      size_t *next, struct hmi_kp_chunk *chunks, struct hm_run *runs)
{
	struct hmi_kp_msg m = {.type = HMI_KP_LEASE_REPLY, .page_size = k->cs.page_size};
	int fds[HMI_KP_FDS_MAX];
	size_t j = from;

	m.chunks = chunks;
	m.runs = runs;
	for (; j < n && m.n_chunks < HMI_KP_FDS_MAX; j++) {
		const struct hmi_chunk *c = &k->cs.c[picked[j]];
		uint32_t before = m.n_runs;

		if (hmi_kp_lease_reply_size(m.n_chunks + 1, m.n_runs + c->n_runs, 0) >
		    HMI_KP_MSG_MAX)
			break;
		client_runs(k, &k->cl[i], c, runs, &m.n_runs);
		chunks[m.n_chunks] = (struct hmi_kp_chunk){
		    .id = c->id, .node = c->node, .len = c->len, .first_run = before};
		chunks[m.n_chunks].n_runs = m.n_runs - before;
		fds[m.n_chunks++] = c->fd;
	}
	if (m.n_chunks == 0)
		return -EMSGSIZE; /* cannot be: a chunk's runs fit (HMI_KEEPER_CHUNK_PAGES_MAX) */
	*next = j;
	m.flags = j < n ? HMI_KP_MORE : 0;
	return send_msg(k, i, &m, fds, m.n_chunks);
}

static int send_chunks(struct hm_keeper *k, size_t i, const size_t *picked, size_t n)
{
	struct hmi_kp_chunk *chunks = calloc(HMI_KP_FDS_MAX, sizeof(*chunks));
	struct hm_run *runs = calloc(HMI_KP_MSG_MAX / 16, sizeof(*runs));
	size_t from = 0;
	int rc = chunks && runs ? 0 : -ENOMEM;

	while (rc == 0 && from < n)
		rc = send_batch(k, i, picked, n, from, &from, chunks, runs);
	free(chunks);
	free(runs);
	return rc;
}

/* LEASE: free chunks for the asks, within the budgets (budget.c), sent in
 * as many replies as they take. A refusal is an answer; a reply the client
 * does not take drops it (its chunks come back). */
static int serve_lease(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *req)
{
	size_t *picked = NULL, n = 0;
	uint64_t bytes = 0;
	int rc;

	if (!k->cl[i].hello)
		return -EPROTO;
	if (req->page_size && req->page_size != k->cs.page_size)
		return send_refusal(k, i, HMI_KP_LEASE_REPLY,
				    hmi_err(k->ctx, EINVAL,
					    "the keeper holds pages of %" PRIu64
					    " bytes, not %" PRIu64,
					    k->cs.page_size, req->page_size));
	take_finished(k);
	rc = hmi_lease_pick(k->ctx, &k->cs, i, req->asks, req->n_asks, &picked, &n);
	if (rc < 0)
		return send_refusal(k, i, HMI_KP_LEASE_REPLY, rc);
	for (size_t j = 0; j < n; j++)
		bytes += k->cs.c[picked[j]].len;
	rc = hmi_budget_check(k->ctx,
			      &(struct hmi_budget){.uid_quota = k->uid_quota,
						   .page_size = k->cs.page_size,
						   .mountinfo = k->mountinfo},
			      k->cl, k->n_cl, i, bytes);
	if (rc < 0) {
		hmi_lease_unpick(&k->cs, picked, n);
		free(picked);
		return send_refusal(k, i, HMI_KP_LEASE_REPLY, rc);
	}
	k->cl[i].bytes += bytes;
	k->cl[i].starting_until = hmi_now_ms() + YIELD_MS; /* it maps what it got next */
	worker_resume_at(&k->w, k->cl, k->n_cl);
	rc = send_chunks(k, i, picked, n);
	free(picked);
	return rc; /* on failure the client is dropped: the chunks come back */
}

static int serve_return(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *req)
{
	struct hmi_kp_msg m = {.type = HMI_KP_RETURN_REPLY};

	if (!k->cl[i].hello)
		return -EPROTO;
	m.returned = let_go(k, i, req);
	k->cl[i].starting_until = 0; /* giving back: not starting */
	worker_resume_at(&k->w, k->cl, k->n_cl);
	return send_msg(k, i, &m, NULL, 0);
}

/* JOIN: client I holds the memfds FDS (N, as the message said) of chunks
 * others leased; it becomes their holder too. A memfd that is no leased
 * chunk, or a chunk with too many holders: refused, nothing joined. */
static int serve_join(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *req, const int *fds,
		      size_t n_fds)
{
	size_t idx[HMI_KP_FDS_MAX];
	uint64_t ids[HMI_KP_FDS_MAX];
	struct hmi_kp_msg m = {.type = HMI_KP_JOIN_REPLY, .ids = ids};
	int rc;

	if (!k->cl[i].hello || req->n_fds != n_fds || n_fds > HMI_KP_FDS_MAX)
		return -EPROTO;
	rc = hmi_join_match(k->ctx, &k->cs, i, fds, n_fds, idx);
	if (rc == 0)
		rc = hmi_budget_note(k->ctx, k->cs.page_size, k->mountinfo, &k->cl[i]);
	if (rc < 0)
		return send_refusal(k, i, HMI_KP_JOIN_REPLY, rc);
	hmi_join_apply(&k->cs, i, idx, n_fds);
	for (size_t f = 0; f < n_fds; f++)
		ids[m.n_ids++] = k->cs.c[idx[f]].id;
	return send_msg(k, i, &m, NULL, 0);
}

/* FETCH: the memfds of chunks the primary REQ names holds, for its
 * secondary, which becomes a holder of them (as with JOIN). */
static int serve_fetch(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *req)
{
	size_t idx[HMI_KP_FDS_MAX];
	uint64_t ids[HMI_KP_FDS_MAX];
	int fds[HMI_KP_FDS_MAX];
	struct hmi_kp_msg m = {.type = HMI_KP_FETCH_REPLY, .ids = ids};
	int rc;

	if (!k->cl[i].hello || req->n_ids > HMI_KP_FDS_MAX)
		return -EPROTO;
	rc = hmi_fetch_match(k->ctx, &k->cs, k->cl, k->n_cl, i, req, idx);
	if (rc == 0)
		rc = hmi_budget_note(k->ctx, k->cs.page_size, k->mountinfo, &k->cl[i]);
	if (rc < 0)
		return send_refusal(k, i, HMI_KP_FETCH_REPLY, rc);
	hmi_join_apply(&k->cs, i, idx, req->n_ids);
	k->cl[i].starting_until = hmi_now_ms() + YIELD_MS; /* a secondary maps these next */
	worker_resume_at(&k->w, k->cl, k->n_cl);
	for (uint32_t f = 0; f < req->n_ids; f++) {
		ids[m.n_ids++] = k->cs.c[idx[f]].id;
		fds[f] = k->cs.c[idx[f]].fd;
	}
	return send_msg(k, i, &m, fds, m.n_ids);
}

static void status_nodes(const struct hm_keeper *k, struct hm_keeper_status *st)
{
	for (int node = 0; node < HM_MAX_NODES; node++) {
		struct hm_keeper_node n = {.node = node};
		int seen = 0;

		for (size_t i = 0; i < k->cs.n; i++) {
			const struct hmi_chunk *c = &k->cs.c[i];

			if (c->node != node)
				continue;
			seen = 1;
			if (c->state == HMI_CHUNK_FREE)
				n.free_bytes += c->len;
			else if (c->state == HMI_CHUNK_LEASED)
				n.leased_bytes += c->len;
			else
				n.pending_bytes += c->len;
		}
		if (seen)
			st->nodes[st->n_nodes++] = n;
	}
}

static int serve_status(struct hm_keeper *k, size_t i)
{
	struct hm_keeper_status st = {.pid = getpid(),
				      .page_size = k->cs.page_size,
				      .chunk_bytes = k->cs.chunk_bytes,
				      .keep_bytes = k->cs.keep_bytes};
	struct hm_keeper_lease leases[HMI_KP_LEASES_MAX];
	struct hmi_kp_msg m = {.type = HMI_KP_STATUS_REPLY, .st = &st};

	take_finished(k);
	m.refilled_ns = k->refilled_ns;
	status_nodes(k, &st);
	st.leases = leases;
	for (size_t c = 0; c < k->n_cl; c++) {
		const struct hmi_client *cl = &k->cl[c];

		if (cl->sock < 0 || cl->bytes == 0)
			continue;
		if (st.n_leases < HMI_KP_LEASES_MAX) /* 1024 x 16 bytes: fits in a message */
			leases[st.n_leases++] = (struct hm_keeper_lease){
			    .pid = cl->pid, .uid = cl->uid, .bytes = cl->bytes};
		st.leases_total++;
	}
	return send_msg(k, i, &m, NULL, 0);
}

static int dispatch(struct hm_keeper *k, size_t i, const struct hmi_kp_msg *m, const int *fds,
		    size_t n_fds)
{
	if (m->type == HMI_KP_HELLO)
		return serve_hello(k, i, fds, n_fds);
	if (m->type == HMI_KP_JOIN)
		return serve_join(k, i, m, fds, n_fds);
	if (n_fds)
		return -EPROTO; /* descriptors come only with HELLO and JOIN */
	switch (m->type) {
	case HMI_KP_LEASE:
		return serve_lease(k, i, m);
	case HMI_KP_RETURN:
		return serve_return(k, i, m);
	case HMI_KP_STATUS:
		return serve_status(k, i);
	case HMI_KP_FETCH:
		return serve_fetch(k, i, m);
	default:
		return -EPROTO; /* a reply, sent to the keeper */
	}
}

/* One message from client I: 0, or -errno to disconnect it. Descriptors
 * that came with it are closed (JOIN's once compared), but HELLO's pidfd. */
static int serve_one(struct hm_keeper *k, size_t i)
{
	int fds[HMI_KP_FDS_MAX];
	size_t n_fds = 0;
	struct hmi_kp_msg m;
	ssize_t got =
	    hmi_kp_recv(k->cl[i].sock, k->buf, sizeof(k->buf), fds, HMI_KP_FDS_MAX, &n_fds);
	int rc;

	if (got == -EAGAIN)
		return 0;
	if (got <= 0)
		return got == 0 ? -ECONNRESET : (int)got;
	rc = hmi_kp_decode(k->ctx, k->buf, (size_t)got, &m);
	if (rc == 0) {
		rc = dispatch(k, i, &m, fds, n_fds);
		if (m.type == HMI_KP_HELLO && n_fds == 1)
			n_fds = 0; /* the pidfd is the client's now, or closed */
	}
	hmi_kp_msg_free(&m);
	for (size_t f = 0; f < n_fds; f++)
		close(fds[f]);
	return rc;
}

/* The mount table, kept as text while the kernel can say when it changes
 * (POLLPRI on /proc/self/mountinfo); else (a fixture root's plain file, or
 * no memory) NULL, and each LEASE reads it. */
static void read_mounts(struct hm_keeper *k)
{
	free(k->mountinfo);
	k->mountinfo = NULL;
	if (k->mounts_fd >= 0 && hmi_read_mountinfo(k->ctx, &k->mountinfo) < 0) {
		k->mountinfo = NULL;
		hmi_err_clear(k->ctx);
	}
}

static void watch_mounts(struct hm_keeper *k)
{
	char path[HM_PATH_MAX];

	if (hmi_path(k->ctx, path, sizeof(path), "/proc/self/mountinfo") < 0) {
		hmi_err_clear(k->ctx);
		return;
	}
	k->mounts_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (k->mounts_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLPRI, .data.u64 = tag(TAG_MOUNTS, 0, 0)};

		if (epoll_ctl(k->epoll_fd, EPOLL_CTL_ADD, k->mounts_fd, &ev) < 0) {
			close(k->mounts_fd); /* not pollable: read at each LEASE */
			k->mounts_fd = -1;
		}
	}
	read_mounts(k);
}

/* ------------------------------------------------------------------ the loop */

static int on_event(struct hm_keeper *k, const struct epoll_event *ev)
{
	enum tag t = (enum tag)(ev->data.u64 >> 56);
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32) & TAG_GEN_MASK;
	size_t i = (uint32_t)ev->data.u64;
	int live = i < k->n_cl && k->cl[i].sock >= 0 && k->cl[i].gen == gen;
	uint64_t count;

	switch (t) {
	case TAG_STOP:
		if (read(k->stop_fd, &count, sizeof(count)) < 0) {
			/* already read: stop all the same */
		}
		return 1;
	case TAG_LISTEN:
		on_listen(k);
		break;
	case TAG_WORKER:
		on_worker(k);
		break;
	case TAG_MOUNTS: /* a mount came or went: cgroup hierarchies may have moved */
		read_mounts(k);
		break;
	case TAG_PIDFD: /* the process exited (unless an earlier client's: !live) */
		if (live)
			drop_client(k, i);
		break;
	case TAG_CONN:
		if (live && ((ev->events & EPOLLIN) ? serve_one(k, i) < 0 : 1))
			drop_client(k, i);
		break;
	}
	return 0;
}

int hm_keeper_run(struct hm_keeper *k)
{
	struct epoll_event ev[MAX_EVENTS];

	if (!k)
		return -EINVAL;
	for (;;) {
		int n = epoll_wait(k->epoll_fd, ev, MAX_EVENTS, any_missing(k) ? RETRY_MS : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hmi_err(k->ctx, errno, "epoll_wait: %s", strerror(errno));
		if (n == 0)
			retry_missing(k);
		for (int e = 0; e < n; e++)
			if (on_event(k, &ev[e]))
				return 0;
	}
}

int hm_keeper_stop(struct hm_keeper *k)
{
	uint64_t one = 1;

	if (!k || k->stop_fd < 0)
		return -EINVAL;
	return write(k->stop_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/* ------------------------------------------------------------------ the directory and socket */

static int open_dir(struct hm_keeper *k)
{
	struct stat st;

	if (mkdir(k->dir, 0700) == 0)
		k->made_dir = 1;
	else if (errno != EEXIST)
		return hmi_err(k->ctx, errno, "cannot create the keeper's directory %s: %s", k->dir,
			       strerror(errno));
	k->dir_fd = open(k->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (k->dir_fd < 0)
		return hmi_err(k->ctx, ENOTDIR,
			       "%s is not a directory (or is a symbolic link): give a real "
			       "directory, or remove it",
			       k->dir);
	if (fstat(k->dir_fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))
		return hmi_err(k->ctx, EPERM,
			       "%s is not this user's alone (owner or mode): remove it or give "
			       "another --runtime-dir",
			       k->dir);
	if (fchmod(k->dir_fd, k->group != (gid_t)-1 ? 0750 : 0700) < 0 ||
	    (k->group != (gid_t)-1 && fchown(k->dir_fd, (uid_t)-1, k->group) < 0))
		return hmi_err(k->ctx, errno, "cannot set the mode or group of %s: %s", k->dir,
			       strerror(errno));
	if (flock(k->dir_fd, LOCK_EX | LOCK_NB) < 0)
		return hmi_err(k->ctx, EADDRINUSE, "another keeper runs in %s", k->dir);
	return 0;
}

/* Does a keeper answer on the socket at the path? */
static int answers(const struct sockaddr_un *addr)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -errno;
	rc = connect(s, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 1 : -errno;
	close(s);
	return rc;
}

/* The socket's path: free, or a dead keeper's socket (removed). */
static int clear_path(struct hm_keeper *k)
{
	const char *path = k->addr.sun_path;
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT
			   ? 0
			   : hmi_err(k->ctx, errno, "cannot inspect %s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return hmi_err(k->ctx, EEXIST, "%s is a symbolic link: refused; remove it", path);
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return hmi_err(k->ctx, EEXIST,
			       "%s exists and is not a socket of this user: refused; remove it",
			       path);
	rc = answers(&k->addr);
	if (rc == 1)
		return hmi_err(k->ctx, EADDRINUSE, "a keeper already answers on %s", path);
	if (rc != -ECONNREFUSED)
		return hmi_err(k->ctx, EEXIST, "%s exists and cannot be probed (%s): remove it",
			       path, strerror(-rc));
	if (unlink(path) < 0)
		return hmi_err(k->ctx, errno, "cannot remove the dead keeper's socket %s: %s", path,
			       strerror(errno));
	return 0;
}

static int bind_socket(struct hm_keeper *k)
{
	const char *path = k->addr.sun_path;
	int group = k->group != (gid_t)-1, rc;
	struct stat st;

	k->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (k->listen_fd < 0)
		return hmi_err(k->ctx, errno, "cannot create a unix socket: %s", strerror(errno));
	rc = clear_path(k); /* again: checked before the pool was filled, too */
	if (rc < 0)
		return rc;
	if (bind(k->listen_fd, (const struct sockaddr *)&k->addr, sizeof(k->addr)) < 0)
		return hmi_err(k->ctx, errno, "cannot bind %s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0 || chmod(path, group ? 0660 : 0600) < 0 ||
	    (group && chown(path, (uid_t)-1, k->group) < 0))
		return hmi_err(k->ctx, errno, "cannot set the mode of %s: %s", path,
			       strerror(errno));
	k->sock_dev = st.st_dev;
	k->sock_ino = st.st_ino;
	if (listen(k->listen_fd, SOMAXCONN) < 0)
		return hmi_err(k->ctx, errno, "cannot listen on %s: %s", path, strerror(errno));
	return watch(k, k->listen_fd, TAG_LISTEN, 0);
}

static void remove_socket(struct hm_keeper *k)
{
	struct stat st;

	if (k->sock_ino && lstat(k->addr.sun_path, &st) == 0 && st.st_dev == k->sock_dev &&
	    st.st_ino == k->sock_ino)
		unlink(k->addr.sun_path);
	k->sock_ino = 0;
}

/* ------------------------------------------------------------------ start and free */

static int read_opts(struct hm_ctx *ctx, const struct hm_keeper_opts *o, struct hm_keeper_opts *v)
{
	hm_keeper_opts_init(v);
	if (!o || o->size == 0 || o->size > sizeof(*v) * 4)
		return hmi_err(ctx, EINVAL,
			       "keeper options without a size: use hm_keeper_opts_init");
	memcpy(v, o, o->size < sizeof(*v) ? o->size : sizeof(*v));
	if (geteuid() != 0)
		return hmi_err(ctx, EPERM,
			       "the keeper runs as root: it orders the pool and reads physical "
			       "addresses");
	return 0;
}

static int set_paths(struct hm_keeper *k, const char *dir)
{
	int n;

	if (!dir)
		dir = HM_KEEPER_DIR_DEFAULT;
	if (dir[0] != '/')
		return hmi_err(k->ctx, EINVAL, "the keeper's directory '%s' is not absolute", dir);
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	k->addr.sun_family = AF_UNIX;
	n = snprintf(k->addr.sun_path, sizeof(k->addr.sun_path), "%s/" SOCK_NAME, dir);
	if (n < 0 || (size_t)n >= sizeof(k->addr.sun_path))
		return hmi_err(k->ctx, ENAMETOOLONG,
			       "%s/" SOCK_NAME " is longer than a unix socket path may be (%zu "
			       "bytes): give a shorter directory",
			       dir, sizeof(k->addr.sun_path) - 1);
	return 0;
}

static int loop_fds(struct hm_keeper *k)
{
	k->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->epoll_fd < 0 || k->stop_fd < 0)
		return hmi_err(k->ctx, ENOMEM, "cannot make the keeper's epoll and eventfd: %s",
			       strerror(errno));
	if (watch(k, k->stop_fd, TAG_STOP, 0) < 0)
		return -ENOMEM;
	watch_mounts(k);
	return watch(k, k->w.event_fd, TAG_WORKER, 0);
}

static struct hm_keeper *keeper_new(struct hm_ctx *ctx, const struct hm_keeper_opts *v)
{
	struct hm_keeper *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->ctx = ctx;
	k->expose_pa = v->expose_pa != 0;
	k->uid_quota = v->uid_quota_bytes;
	k->group = v->group;
	k->dir_fd = k->listen_fd = k->epoll_fd = k->stop_fd = k->w.event_fd = -1;
	k->mounts_fd = -1;
	return k;
}

int hm_keeper_start(struct hm_ctx *ctx, const struct hm_keeper_opts *o, struct hm_keeper **out)
{
	struct hm_keeper_opts v;
	struct hm_keeper *k;
	int rc;

	hmi_err_clear(ctx);
	if (!out)
		return hmi_err(ctx, EINVAL, "hm_keeper_start needs somewhere to put the keeper");
	*out = NULL;
	rc = read_opts(ctx, o, &v);
	if (rc < 0)
		return rc;
	k = keeper_new(ctx, &v);
	if (!k)
		return hmi_err(ctx, ENOMEM, "out of memory for a keeper");
	rc = set_paths(k, v.runtime_dir);
	if (rc == 0)
		rc = open_dir(k);
	if (rc == 0)
		rc = clear_path(k); /* refused before the pool is touched */
	if (rc == 0)
		rc = hmi_chunks_fill(ctx, &k->cs, v.keep_bytes, v.page_size, v.chunk_bytes,
				     v.node_keep_count > 0 ? v.node_keep : NULL);
	if (rc == 0)
		rc = worker_start(k);
	if (rc == 0)
		rc = loop_fds(k);
	if (rc == 0)
		rc = bind_socket(k);
	if (rc < 0) {
		hm_keeper_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void hm_keeper_free(struct hm_keeper *k)
{
	if (!k)
		return;
	remove_socket(k);
	worker_stop(&k->w);
	for (size_t i = 0; i < k->n_cl; i++) {
		unwatch_close(k, &k->cl[i].pidfd);
		unwatch_close(k, &k->cl[i].sock);
		free(k->cl[i].cgroup);
	}
	free(k->cl);
	hmi_chunks_release(&k->cs);
	if (k->listen_fd >= 0)
		close(k->listen_fd);
	if (k->mounts_fd >= 0)
		close(k->mounts_fd);
	free(k->mountinfo);
	if (k->epoll_fd >= 0)
		close(k->epoll_fd);
	if (k->stop_fd >= 0)
		close(k->stop_fd);
	if (k->made_dir)
		rmdir(k->dir);
	if (k->dir_fd >= 0)
		close(k->dir_fd); /* drops the flock */
	free(k);
}
