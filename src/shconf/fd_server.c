/* SPDX-License-Identifier: MIT */
/*
 * shconf/fd_server.c — the descriptor server: how a secondary gets the backing
 * descriptors of a primary whose memory has no path (--in-memory: one memfd
 * per node) or one it should not reopen (--single-file-segments), so that it
 * maps the very same pages.
 *
 * Who serves: a thread the library starts, not an fd the application polls.
 * A library-owned thread needs nothing from the application's event loop
 * (most users of a driver library have none, or one the library cannot
 * reach), so secondaries can attach however busy or idle the primary is. It
 * lives from hmi_fdserver_start to hmi_fdserver_stop, which wakes and joins
 * it. It is created with every signal blocked, so the application's signal
 * handlers keep running on the application's own threads. It never touches
 * the context (contexts are not shared between threads): a connection it
 * cannot serve is closed, and the client reports why.
 *
 * Rendezvous: a unix SOCK_STREAM socket DIR/fds.sock, where DIR is the
 * prefix's runtime directory (0700, created by hugedir/prefix.c). The socket
 * file is chmod'ed to 0600 after bind — umask is process-wide, so a library
 * must not change it while other threads create files; the 0700 directory
 * already shuts everyone else out during that instant. A socket file left
 * there by a dead primary is removed first, but only when it is a socket
 * owned by this user: anything else at that name is refused. The caller holds
 * the prefix's liveness lock, so no live server can own that name.
 *
 * Protocol, per connection (the server closes the connection after it):
 *   1. the server checks the peer (SO_PEERCRED): its uid must be this
 *      process's effective uid, or root; anyone else is closed on, unanswered;
 *   2. a 16-byte header: magic "HMFD", protocol version, descriptor count;
 *   3. the descriptors, in order, in messages of one data byte carrying up to
 *      FD_BATCH descriptors (SCM_RIGHTS; the kernel's SCM_MAX_FD is 253).
 * One byte per message keeps message boundaries exact on a stream socket: the
 * client reads one byte per recvmsg, so it never mixes two batches.
 *
 * Slow peers: the server serves one connection at a time, with a send
 * timeout (SO_SNDTIMEO) and MSG_NOSIGNAL, so a client that stalls or dies
 * costs at most SEND_TIMEOUT_S and never a SIGPIPE. The client has its own
 * receive timeout (RECV_TIMEOUT_S) against a stuck primary.
 *
 * Descriptors: the server keeps its own duplicates (F_DUPFD_CLOEXEC), so the
 * caller may close its own; the client receives with MSG_CMSG_CLOEXEC and, on
 * any failure, closes every descriptor it got, including those of a message
 * cut short (MSG_CTRUNC: this process ran out of descriptors).
 *
 * fork: a child inherits the server structure but not its thread; stop in a
 * process other than the one that started the server only closes the
 * child's copies of the descriptors: it neither wakes the parent's thread
 * (the wake-up eventfd is shared) nor removes the parent's socket.
 */
#include "shconf/shconf.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FD_MAGIC	0x44464d48u /* "HMFD" in little-endian byte order */
#define FD_VERSION	1u
#define FD_BATCH	250 /* descriptors per message (SCM_MAX_FD is 253) */
#define LISTEN_BACKLOG	64
#define SEND_TIMEOUT_S	2
#define RECV_TIMEOUT_S	5
#define ACCEPT_RETRY_MS 100 /* pause after accept fails (e.g. EMFILE) */

struct fd_header {
	uint32_t magic;
	uint32_t version;
	uint64_t count;
};
_Static_assert(sizeof(struct fd_header) == 16, "the header is 16 bytes on the wire");

struct hmi_fdserver {
	pthread_t thread;
	pid_t owner; /* the process whose thread this is */
	int listen_fd;
	int wake_fd;
	dev_t sock_dev; /* the socket file we bound: stop removes only that */
	ino_t sock_ino;
	int *fds;
	size_t n;
	struct sockaddr_un addr;
};

/* Control buffers, aligned for struct cmsghdr. */
static void close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int socket_addr(struct hm_ctx *ctx, const char *dir, struct sockaddr_un *addr)
{
	int len;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (!dir || dir[0] != '/')
		return hmi_err(ctx, EINVAL, "runtime directory '%s' is not an absolute path",
			       dir ? dir : "(null)");
	len = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", dir, HMI_SHCONF_SOCKET);
	if (len < 0 || (size_t)len >= sizeof(addr->sun_path))
		return hmi_err(ctx, ENAMETOOLONG,
			       "%s/%s is longer than the %zu bytes a unix socket path may have: "
			       "choose a shorter runtime directory (hm_ctx_set_runtime_dir)",
			       dir, HMI_SHCONF_SOCKET, sizeof(addr->sun_path) - 1);
	return 0;
}

/* ------------------------------------------------------------------ server */

static int send_header(int conn, size_t n)
{
	struct fd_header h = {.magic = FD_MAGIC, .version = FD_VERSION, .count = n};
	ssize_t sent = send(conn, &h, sizeof(h), MSG_NOSIGNAL);

	return sent == (ssize_t)sizeof(h) ? 0 : -1;
}

static int send_batch(int conn, const int *fds, size_t k)
{
	char byte = 'F';

	return hmi_send_fds(conn, &byte, 1, fds, k) == 1 ? 0 : -1;
}

static int peer_allowed(int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return 0;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void serve_conn(const struct hmi_fdserver *srv, int conn)
{
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	size_t done;

	if (!peer_allowed(conn))
		return;
	if (setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return;
	if (send_header(conn, srv->n) < 0)
		return;
	for (done = 0; done < srv->n; done += FD_BATCH) {
		size_t k = srv->n - done < FD_BATCH ? srv->n - done : FD_BATCH;

		if (send_batch(conn, srv->fds + done, k) < 0)
			return;
	}
}

/* Wait up to MS for the wake-up; 1 when it came (time to stop). */
static int wait_wake(const struct hmi_fdserver *srv, int ms)
{
	struct pollfd p = {.fd = srv->wake_fd, .events = POLLIN};

	return poll(&p, 1, ms) > 0;
}

static void *server_main(void *arg)
{
	struct hmi_fdserver *srv = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = srv->listen_fd, .events = POLLIN},
				      {.fd = srv->wake_fd, .events = POLLIN}};
		int conn;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (p[0].revents & (POLLERR | POLLNVAL))
			return NULL;
		conn = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0) {
			serve_conn(srv, conn);
			close(conn);
		} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			if (wait_wake(srv, ACCEPT_RETRY_MS)) /* EMFILE & co: do not spin */
				return NULL;
		}
	}
}

/* Remove a socket file left by a dead primary; refuse anything else. */
static int clear_stale(struct hm_ctx *ctx, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return hmi_err(ctx, errno, "cannot inspect %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return hmi_err(ctx, EEXIST,
			       "%s exists and is not a socket owned by uid %u: remove it, or "
			       "choose another runtime directory",
			       path, (unsigned)geteuid());
	if (unlink(path) < 0 && errno != ENOENT)
		return hmi_err(ctx, errno, "cannot remove the stale socket %s: %s", path,
			       strerror(errno));
	return 0;
}

static int dup_fds(struct hm_ctx *ctx, struct hmi_fdserver *srv, const int *fds, size_t n)
{
	size_t i;

	srv->fds = calloc(n ? n : 1, sizeof(int));
	if (!srv->fds)
		return hmi_err(ctx, ENOMEM, "no memory for %zu descriptors", n);
	for (i = 0; i < n; i++) {
		srv->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (srv->fds[i] < 0) {
			int err = errno;

			close_all(srv->fds, i);
			return hmi_err(ctx, err,
				       "cannot keep descriptor %d (backing %zu of %zu): %s", fds[i],
				       i, n, strerror(err));
		}
	}
	srv->n = n;
	return 0;
}

static int open_listener(struct hm_ctx *ctx, struct hmi_fdserver *srv)
{
	const char *path = srv->addr.sun_path;
	struct stat st;
	int rc = clear_stale(ctx, path);

	if (rc < 0)
		return rc;
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->listen_fd < 0)
		return hmi_err(ctx, errno, "cannot create a unix socket: %s", strerror(errno));
	if (bind(srv->listen_fd, (const struct sockaddr *)&srv->addr, sizeof(srv->addr)) < 0)
		return hmi_err(ctx, errno, "cannot bind %s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0 || chmod(path, 0600) < 0) {
		rc =
		    hmi_err(ctx, errno, "cannot make %s private (0600): %s", path, strerror(errno));
		unlink(path);
		return rc;
	}
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
	if (listen(srv->listen_fd, LISTEN_BACKLOG) < 0) {
		rc = hmi_err(ctx, errno, "cannot listen on %s: %s", path, strerror(errno));
		unlink(path);
		return rc;
	}
	return 0;
}

/* pthread_create's EAGAIN is nearly always RLIMIT_NPROC: a thread counts as
 * a process of this user (root is exempt). Say which limit and its value. */
static int thread_error(struct hm_ctx *ctx, int err)
{
	struct rlimit rl;

	if (err != EAGAIN || getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return hmi_err(ctx, err, "cannot start the descriptor server thread: %s",
			       strerror(err));
	return hmi_err(ctx, err,
		       "cannot start the descriptor server thread: this user's processes and "
		       "threads reached RLIMIT_NPROC (ulimit -u, now %llu): raise it, end some of "
		       "them, or use --no-shconf (no secondary can attach)",
		       (unsigned long long)rl.rlim_cur);
}

static int start_thread(struct hm_ctx *ctx, struct hmi_fdserver *srv)
{
	sigset_t all, old;
	int err;

	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0)
		return hmi_err(ctx, errno, "cannot create the descriptor server's eventfd: %s",
			       strerror(errno));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits the full mask */
	err = pthread_create(&srv->thread, NULL, server_main, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err ? thread_error(ctx, err) : 0;
}

/* Undo a half-done start (no thread running). */
static void discard(struct hmi_fdserver *srv, int bound)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	if (bound)
		unlink(srv->addr.sun_path);
	if (srv->fds)
		close_all(srv->fds, srv->n);
	free(srv->fds);
	free(srv);
}

int hmi_fdserver_start(struct hm_ctx *ctx, const char *dir, const int *fds, size_t n,
		       struct hmi_fdserver **out)
{
	struct hmi_fdserver *srv = calloc(1, sizeof(*srv));
	int rc;

	*out = NULL;
	if (!srv)
		return hmi_err(ctx, ENOMEM, "no memory for the descriptor server");
	srv->listen_fd = srv->wake_fd = -1;
	srv->owner = getpid();
	rc = socket_addr(ctx, dir, &srv->addr);
	if (rc == 0)
		rc = dup_fds(ctx, srv, fds, n);
	if (rc < 0) {
		discard(srv, 0);
		return rc;
	}
	rc = open_listener(ctx, srv);
	if (rc < 0) {
		discard(srv, 0);
		return rc;
	}
	rc = start_thread(ctx, srv);
	if (rc < 0) {
		discard(srv, 1);
		return rc;
	}
	*out = srv;
	return 0;
}

static void unlink_own_socket(const struct hmi_fdserver *srv)
{
	struct stat st;

	if (lstat(srv->addr.sun_path, &st) == 0 && st.st_dev == srv->sock_dev &&
	    st.st_ino == srv->sock_ino)
		unlink(srv->addr.sun_path);
}

void hmi_fdserver_stop(struct hmi_fdserver *srv)
{
	uint64_t one = 1;

	if (!srv)
		return;
	if (srv->owner == getpid()) {
		while (write(srv->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(srv->thread, NULL);
		unlink_own_socket(srv);
	}
	close(srv->listen_fd);
	close(srv->wake_fd);
	close_all(srv->fds, srv->n);
	free(srv->fds);
	free(srv);
}

/* ------------------------------------------------------------------ client */

static int connect_failed(struct hm_ctx *ctx, const char *path, int err)
{
	if (err == ENOENT || err == ECONNREFUSED)
		return hmi_err(ctx, ECONNREFUSED,
			       "no descriptor server at %s: the primary is gone, or it was not "
			       "started with --in-memory/--single-file-segments",
			       path);
	if (err == EACCES || err == EPERM)
		return hmi_err(ctx, EACCES,
			       "no permission to connect to %s: the primary runs as another user; "
			       "attach as that user or root",
			       path);
	if (err == EAGAIN) /* SO_SNDTIMEO bounds connect() on a full backlog */
		return hmi_err(ctx, ETIMEDOUT,
			       "%s did not accept within %d s: is the primary stuck?", path,
			       RECV_TIMEOUT_S);
	return hmi_err(ctx, err, "cannot connect to %s: %s", path, strerror(err));
}

static int connect_server(struct hm_ctx *ctx, const struct sockaddr_un *addr, int *sock)
{
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err;

	if (s < 0)
		return hmi_err(ctx, errno, "cannot create a unix socket: %s", strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	    connect(s, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		*sock = s;
		return 0;
	}
	err = errno;
	close(s);
	return connect_failed(ctx, addr->sun_path, err);
}

static int recv_failed(struct hm_ctx *ctx, const char *path, size_t got, size_t n)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return hmi_err(ctx, ETIMEDOUT,
			       "no answer from %s within %d s (%zu of %zu descriptors received): "
			       "is the primary stuck?",
			       path, RECV_TIMEOUT_S, got, n);
	return hmi_err(ctx, errno, "cannot receive from %s: %s", path, strerror(errno));
}

static int recv_header(struct hm_ctx *ctx, int s, const char *path, struct fd_header *h)
{
	size_t have = 0;

	while (have < sizeof(*h)) {
		struct iovec iov = {.iov_base = (char *)h + have, .iov_len = sizeof(*h) - have};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t r = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return recv_failed(ctx, path, 0, 0);
		if (r == 0)
			return hmi_err(ctx, ECONNRESET,
				       "%s closed the connection without an answer: it serves only "
				       "its own user (uid %u here) and root, or it is stopping",
				       path, (unsigned)geteuid());
		if (msg.msg_flags & MSG_CTRUNC) /* the kernel dropped what it carried */
			return hmi_err(ctx, EPROTO, "%s sent descriptors with its header", path);
		have += (size_t)r;
	}
	return 0;
}

static int check_header(struct hm_ctx *ctx, const char *path, const struct fd_header *h, size_t n)
{
	if (h->magic != FD_MAGIC)
		return hmi_err(ctx, EPROTO,
			       "%s is not a hugemem descriptor server (magic 0x%08x, want 0x%08x)",
			       path, (unsigned)h->magic, FD_MAGIC);
	if (h->version != FD_VERSION)
		return hmi_err(ctx, EPROTO,
			       "%s speaks descriptor protocol version %u, this library version %u: "
			       "run the primary and the secondary from the same hugemem",
			       path, (unsigned)h->version, FD_VERSION);
	if (h->count != n)
		return hmi_err(ctx, EPROTO,
			       "%s: the primary offers %llu descriptors, the layout names %zu: the "
			       "layout and the primary disagree (a different primary of the same "
			       "prefix?)",
			       path, (unsigned long long)h->count, n);
	return 0;
}

static int recv_batch(struct hm_ctx *ctx, int s, const char *path, int *fds, size_t n, size_t *got)
{
	char byte;
	size_t k = 0, extra = 0;
	int flags = 0;
	long r = hmi_recv_fds(s, &byte, 1, fds + *got, n - *got, &k, &extra, &flags);

	*got += k;
	if (r < 0) {
		errno = (int)-r;
		return recv_failed(ctx, path, *got, n);
	}
	if (r == 0)
		return hmi_err(ctx, EPROTO, "%s closed the connection after %zu of %zu descriptors",
			       path, *got, n);
	if (extra)
		return hmi_err(ctx, EPROTO, "%s sent more descriptors than the %zu it announced",
			       path, n);
	if (flags & MSG_CTRUNC)
		return hmi_err(ctx, EMFILE,
			       "descriptors from %s were cut short (%zu of %zu received): out of "
			       "file descriptors? raise the limit (ulimit -n)",
			       path, *got, n);
	if (k == 0)
		return hmi_err(ctx, EPROTO, "%s sent a message without descriptors", path);
	return 0;
}

int hmi_fdclient_fetch(struct hm_ctx *ctx, const char *dir, int *fds, size_t n)
{
	struct sockaddr_un addr;
	struct fd_header h;
	size_t got = 0;
	int s = -1, rc;

	rc = socket_addr(ctx, dir, &addr);
	if (rc == 0)
		rc = connect_server(ctx, &addr, &s);
	if (rc < 0)
		return rc;
	rc = recv_header(ctx, s, addr.sun_path, &h);
	if (rc == 0)
		rc = check_header(ctx, addr.sun_path, &h, n);
	while (rc == 0 && got < n)
		rc = recv_batch(ctx, s, addr.sun_path, fds, n, &got);
	close(s);
	if (rc < 0)
		close_all(fds, got);
	return rc;
}
