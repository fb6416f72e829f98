/* SPDX-License-Identifier: MIT */
/*
 * keeper_bench — the pool keeper's side of bench/keeper.sh (issue 18, item 6):
 * a client of a running keeper (docs/keeper.md) through the library's own
 * client calls (keeper/keeper.h, as test/tools/keeper_client does), timed in
 * process. Every mode prints one line; times in ms.
 *
 *   keeper_bench refault DIR return|exit
 *       One chunk (the keeper's --chunk) comes back and is timed until the
 *       keeper shows it free again. A client leases it, maps it and writes a
 *       byte in every page; then "return": it sends RETURN (the keeper
 *       punches the chunk before it replies, then queues the refault); "exit":
 *       the client is a forked child that exits (the keeper sees its
 *       connection end). From the RETURN's send, or from the child's last
 *       instant before _exit, a second connection asks STATUS every
 *       REFAULT_PAUSE_US until every byte the keeper keeps is free and none
 *       is pending; the last STATUS says when the keeper installed the chunk
 *       it faulted again (its own CLOCK_MONOTONIC stamp). Prints "refault
 *       BYTES BACK_MS POLLED_MS POLLS INTERVAL_US GONE_MS READY_MS": BACK_MS
 *       the RETURN round trip (0 for exit), POLLED_MS return or exit to the
 *       STATUS that showed it free, POLLS the STATUS calls it took,
 *       INTERVAL_US the mean time from one call to the next (the resolution
 *       of POLLED_MS); GONE_MS (exit only, else 0) when the child's exit was
 *       over (its pidfd readable: the kernel's own teardown of the process,
 *       which no keeper can shorten), the polling starting then; READY_MS
 *       return or exit to the keeper's stamp: the figure.
 *   keeper_bench lease DIR MIB
 *       What a client of MIB MiB spends, step by step, in a fresh process:
 *       "lease MIB CHUNKS SYSINFO CONNECT LEASE MAP UNMAP RETURN READY RUNS":
 *       hm_sysinfo_read (what discovery reads, cold), connect and HELLO,
 *       LEASE (the memfds received), one window reserved and every chunk
 *       mapped into it with MAP_POPULATE (page tables only), the window
 *       unmapped, RETURN (every chunk punched by the keeper before it
 *       replies), then until the keeper shows all of it free again (its
 *       worker faulted new memfds for all of it, one chunk after the other);
 *       RUNS: the physical runs of the chunks leased, as the keeper listed
 *       them (one chunk's runs apart from another's), then PIECES: the same
 *       runs sorted and joined where one ends where another starts (the
 *       pieces a window of this memory in physical order would have).
 *   keeper_bench init MIB KEEPER
 *       hm_init (-m MIB, --keeper KEEPER, file prefix hkbprobe; the runtime
 *       directory $HUGEMEM_RUNTIME_DIR when set, as the CLI) then hm_fini,
 *       each timed around the call: "init MIB INIT FINI DISCOVER MAP REMAP
 *       PUBLISH TOTAL SERVED" (the middle ones hm_layout's timings; SERVED 1
 *       when the keeper line says "served").
 *   keeper_bench least DIR MIB
 *       The least a served start must do, as a whole command of its own, and
 *       no more: connect and HELLO, LEASE, the chunks mapped into one window
 *       (map_all), a prefix directory with its lock taken, a layout of
 *       LEAST_LAYOUT_BYTES written and renamed into place, one line printed;
 *       then all of it undone (the layout, the window, the memfds, the lock,
 *       the directory, the connection). Under $HUGEMEM_RUNTIME_DIR (or the
 *       library's default), prefix "hkbleast" (LEAST_PREFIX). The floor of the target's
 *       command for this design on this machine: what hugemem adds above it
 *       is its own. Prints "least MIB CHUNKS".
 *   keeper_bench busy DIR MIB return|exit OUT -- CMD [ARG...]
 *       Refaults running while CMD starts: MIB MiB leased and given back
 *       (return: RETURN, the punch done when it replies; exit: a child leases
 *       and exits, and CMD starts as soon as it said it would exit), then CMD
 *       is run (fork, exec, wait; standard output to OUT) and timed: "busy
 *       WALL_MS PENDING_BEFORE PENDING_AFTER", the bytes of the keeper not
 *       yet free again when CMD started (return only; -1 for exit) and when
 *       it ended.
 *   keeper_bench order DIR MIB one|all CYCLES
 *       Do a keeper's chunks stay in physical order as they come and go? CYCLES
 *       times: lease MIB, print "order CYCLE CHUNKS RUNS PIECES" (as lease's),
 *       give it back — every chunk in one RETURN (all), or one RETURN per
 *       chunk, each faulted again before the next goes back (one) — and wait
 *       until the keeper has faulted all of it again.
 *   keeper_bench wait DIR...
 *       Until every keeper named holds all its memory free (20 s at most):
 *       "waited MS". Exit 1 when one did not.
 *
 * Exit 0, or 1 with a message on stderr (2: bad arguments).
 */
#include "hugemem.h"
#include "base/platform.h"
#include "keeper/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_SLEEP_US 50
/* refault: asked every 50 us, STATUS took the CPU from the refault it timed
 * (bench/KEEPER.md, run F: a 64 MiB chunk 6.5 ms, 5.4 asked every ms); its
 * time comes from the keeper's own stamp, the polling only finds its end */
#define REFAULT_PAUSE_US 1000

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int fail(struct hm_ctx *ctx, const char *what)
{
	fprintf(stderr, "keeper_bench: %s: %s\n", what, hm_errmsg(ctx));
	return 1;
}

/* ---------------------------------------------------------------- the keeper's state */

/* Bytes the keeper on C keeps that are not free (leased or pending): *NOT_FREE;
 * *REFILLED (unless NULL): when a returned chunk was last free again there
 * (CLOCK_MONOTONIC, ms). */
static int not_free(struct hm_ctx *ctx, struct hmi_keeper_conn *c, uint64_t *nf, double *refilled)
{
	struct hmi_kp_msg req = {.type = HMI_KP_STATUS}, reply;
	uint64_t free_b = 0;
	int rc = hmi_keeper_call(ctx, c, &req, HMI_KP_STATUS_REPLY, &reply);

	if (rc < 0)
		return rc;
	for (int i = 0; i < reply.st->n_nodes; i++)
		free_b += reply.st->nodes[i].free_bytes;
	*nf = reply.st->keep_bytes > free_b ? reply.st->keep_bytes - free_b : 0;
	if (refilled)
		*refilled = (double)reply.refilled_ns / 1e6;
	hmi_kp_msg_free(&reply);
	return 0;
}

/* STATUS until nothing is leased or pending, a pause of PAUSE_US between
 * calls: the calls made, or -errno (-ETIMEDOUT after LIMIT_MS); *REFILLED
 * (unless NULL) as the last STATUS said it. */
static long until_free(struct hm_ctx *ctx, struct hmi_keeper_conn *c, double limit_ms,
		       unsigned pause_us, double *refilled)
{
	double end = now_ms() + limit_ms;
	uint64_t nf = 1;
	long polls = 0;

	while (nf) {
		int rc = not_free(ctx, c, &nf, refilled);

		if (rc < 0)
			return rc;
		polls++;
		if (nf && now_ms() > end)
			return -ETIMEDOUT;
		if (nf)
			usleep(pause_us);
	}
	return polls;
}

/* ---------------------------------------------------------------- a client */

struct held {
	struct hmi_keeper_conn c;
	struct hmi_keeper_lease l;
	char *window;
	uint64_t len;
};

static int lease(struct hm_ctx *ctx, const char *dir, uint64_t bytes, struct held *h)
{
	struct hmi_kp_ask ask = {.node = -1, .bytes = bytes};

	memset(h, 0, sizeof(*h));
	if (hmi_keeper_connect(ctx, dir, &h->c) < 0)
		return fail(ctx, "connect");
	if (hmi_keeper_lease(ctx, &h->c, &ask, 1, &h->l) < 0)
		return fail(ctx, "lease");
	return 0;
}

/* Every chunk mapped in one window, as hm_init does (MAP_POPULATE: the
 * pages exist, only the page tables are filled). */
static int map_all(struct held *h)
{
	uint64_t off = 0;

	for (size_t i = 0; i < h->l.n_chunks; i++)
		h->len += h->l.chunks[i].len;
	h->window =
	    mmap(NULL, h->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->window == MAP_FAILED) {
		perror("keeper_bench: window");
		return 1;
	}
	for (size_t i = 0; i < h->l.n_chunks; off += h->l.chunks[i++].len)
		if (mmap(h->window + off, h->l.chunks[i].len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, h->l.chunks[i].fd,
			 0) == MAP_FAILED) {
			perror("keeper_bench: mmap of a leased memfd");
			return 1;
		}
	return 0;
}

static void touch(const struct held *h, uint64_t page)
{
	for (uint64_t o = 0; o < h->len; o += page)
		h->window[o] = 1;
}

/* ---------------------------------------------------------------- refault */

/* A child that leases one chunk, writes it, tells the parent the instant it
 * exits (on PIPE) and exits. */
static void leasing_child(struct hm_ctx *ctx, const char *dir, uint64_t bytes, int pipe_w)
{
	struct held h;
	double t;

	if (lease(ctx, dir, bytes, &h) || map_all(&h))
		_exit(1);
	touch(&h, h.c.page_size);
	t = now_ms();
	if (write(pipe_w, &t, sizeof(t)) != sizeof(t))
		_exit(1);
	_exit(0);
}

/* Fork a leasing child; *T0 the instant it exits. */
static int child_gives_back(struct hm_ctx *ctx, const char *dir, uint64_t bytes, double *t0,
			    pid_t *pid)
{
	int p[2];

	if (pipe(p) < 0)
		return 1;
	*pid = fork();
	if (*pid == 0) {
		close(p[0]);
		leasing_child(ctx, dir, bytes, p[1]);
	}
	close(p[1]);
	if (*pid < 0 || read(p[0], t0, sizeof(*t0)) != sizeof(*t0)) {
		fprintf(stderr, "keeper_bench: the leasing child failed\n");
		close(p[0]);
		return 1;
	}
	close(p[0]);
	return 0;
}

/* Wait until CHILD has exited (not reaped: its pidfd turns readable when
 * the kernel is done with it); *AT that instant. */
static int until_gone(pid_t child, double *at)
{
	int fd = hmi_pidfd_open(child);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (fd < 0 || poll(&p, 1, 20000) != 1) {
		fprintf(stderr, "keeper_bench: cannot wait for the child's exit: %s\n",
			strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	*at = now_ms();
	close(fd);
	return 0;
}

static int refault(struct hm_ctx *ctx, const char *dir, const char *how)
{
	struct hmi_keeper_conn poll_c;
	struct held h;
	double t0, t1, t2, gone = 0, refilled = 0;
	long polls;
	pid_t child = -1;
	int rc = 0;

	if (hmi_keeper_connect(ctx, dir, &poll_c) < 0)
		return fail(ctx, "connect");
	if (strcmp(how, "exit") == 0) {
		if (child_gives_back(ctx, dir, poll_c.chunk_bytes, &t0, &child) ||
		    until_gone(child, &gone))
			return 1;
		gone -= t0;
		t1 = t0;
	} else {
		if (lease(ctx, dir, poll_c.chunk_bytes, &h) || map_all(&h))
			return 1;
		touch(&h, h.c.page_size);
		t0 = now_ms();
		if (hmi_keeper_return(ctx, &h.c, NULL, 0, NULL) < 0)
			return fail(ctx, "return");
		t1 = now_ms();
	}
	polls = until_free(ctx, &poll_c, 20000, REFAULT_PAUSE_US, &refilled);
	t2 = now_ms();
	if (polls < 0)
		return fail(ctx, "status");
	if (child > 0 && (waitpid(child, &rc, 0) != child || rc != 0))
		return 1;
	if (refilled < t0) {
		fprintf(stderr,
			"keeper_bench: the keeper's last refill (%.3f) is older than the "
			"chunk's return (%.3f): was something else pending?\n",
			refilled, t0);
		return 1;
	}
	printf("refault %llu %.3f %.3f %ld %.1f %.3f %.3f\n",
	       (unsigned long long)poll_c.chunk_bytes, t1 - t0, t2 - t0, polls,
	       (t2 - t1) * 1e3 / (double)polls, gone, refilled - t0);
	return 0;
}

/* ---------------------------------------------------------------- lease */

static int by_pa(const void *a, const void *b)
{
	const struct hm_run *x = a, *y = b;

	return (x->pa > y->pa) - (x->pa < y->pa);
}

/* The runs of L sorted and joined: how many physically contiguous pieces. */
static size_t pieces(const struct hmi_keeper_lease *l)
{
	struct hm_run *r = malloc((l->n_runs + 1) * sizeof(*r));
	size_t n = 0;

	if (!r)
		return 0;
	memcpy(r, l->runs, l->n_runs * sizeof(*r));
	qsort(r, l->n_runs, sizeof(*r), by_pa);
	for (size_t i = 0; i < l->n_runs; i++)
		n += i == 0 || r[i].pa != r[i - 1].pa + r[i - 1].pages * l->page_size;
	free(r);
	return n;
}

static int lease_steps(struct hm_ctx *ctx, const char *dir, uint64_t mib)
{
	struct hm_sysinfo *si = NULL;
	struct held h;
	double t[8];
	long polls;
	struct hmi_kp_ask ask = {.node = -1, .bytes = mib << 20};

	memset(&h, 0, sizeof(h));
	t[0] = now_ms();
	if (hm_sysinfo_read(ctx, NULL, &si) < 0)
		return fail(ctx, "hm_sysinfo_read");
	t[1] = now_ms();
	if (hmi_keeper_connect(ctx, dir, &h.c) < 0)
		return fail(ctx, "connect");
	t[2] = now_ms();
	if (hmi_keeper_lease(ctx, &h.c, &ask, 1, &h.l) < 0)
		return fail(ctx, "lease");
	t[3] = now_ms();
	if (map_all(&h))
		return 1;
	t[4] = now_ms();
	munmap(h.window, h.len);
	t[5] = now_ms();
	if (hmi_keeper_return(ctx, &h.c, NULL, 0, NULL) < 0)
		return fail(ctx, "return");
	t[6] = now_ms();
	polls = until_free(ctx, &h.c, 20000, POLL_SLEEP_US, NULL);
	t[7] = now_ms();
	if (polls < 0)
		return fail(ctx, "status");
	printf("lease %llu %zu", (unsigned long long)mib, h.l.n_chunks);
	for (int i = 1; i < 8; i++)
		printf(" %.3f", t[i] - t[i - 1]);
	printf(" %zu %zu\n", h.l.n_runs, pieces(&h.l));
	hmi_keeper_lease_free(&h.l);
	hm_sysinfo_free(si);
	return 0;
}

/* ---------------------------------------------------------------- order */

/* Until nothing of the keeper on C is pending (leased bytes may stay). */
static int until_settled(struct hm_ctx *ctx, struct hmi_keeper_conn *c)
{
	for (int i = 0; i < 20000; i++) {
		struct hmi_kp_msg req = {.type = HMI_KP_STATUS}, reply;
		uint64_t pending = 0;

		if (hmi_keeper_call(ctx, c, &req, HMI_KP_STATUS_REPLY, &reply) < 0)
			return -1;
		for (int n = 0; n < reply.st->n_nodes; n++)
			pending += reply.st->nodes[n].pending_bytes;
		hmi_kp_msg_free(&reply);
		if (pending == 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

static int order(struct hm_ctx *ctx, const char *dir, uint64_t mib, const char *how, int cycles)
{
	struct hmi_kp_ask ask = {.node = -1, .bytes = mib << 20};
	struct hmi_keeper_conn c;
	int one = strcmp(how, "one") == 0;

	if (hmi_keeper_connect(ctx, dir, &c) < 0)
		return fail(ctx, "connect");
	for (int k = 0; k < cycles; k++) {
		struct hmi_keeper_lease l;
		int rc = 0;

		if (hmi_keeper_lease(ctx, &c, &ask, 1, &l) < 0)
			return fail(ctx, "lease");
		printf("order %d %zu %zu %zu\n", k, l.n_chunks, l.n_runs, pieces(&l));
		for (size_t i = 0; rc == 0 && one && i < l.n_chunks; i++) {
			rc = hmi_keeper_return(ctx, &c, &l.chunks[i].id, 1, NULL);
			if (rc == 0)
				rc = until_settled(ctx, &c);
		}
		if (rc == 0 && !one)
			rc = hmi_keeper_return(ctx, &c, NULL, 0, NULL);
		if (rc == 0)
			rc = until_settled(ctx, &c);
		hmi_keeper_lease_free(&l);
		if (rc < 0)
			return fail(ctx, "return");
	}
	return 0;
}

/* ---------------------------------------------------------------- init */

static int init_fini(struct hm_ctx *ctx, uint64_t mib, const char *keeper)
{
	const struct hm_layout_info *in;
	struct hm_opts o;
	struct hm_timings tm;
	double t0, t1, t2;
	int served;

	hm_opts_init(&o);
	o.mem = mib << 20;
	o.keeper = keeper;
	o.file_prefix = "hkbprobe";
	t0 = now_ms();
	if (hm_init(ctx, &o) < 0)
		return fail(ctx, "hm_init");
	t1 = now_ms();
	in = hm_layout(ctx);
	tm = in->t;
	served = in->keeper && strncmp(in->keeper, "served", 6) == 0;
	if (hm_fini(ctx) < 0)
		return fail(ctx, "hm_fini");
	t2 = now_ms();
	printf("init %llu %.3f %.3f %.3f %.3f %.3f %.3f %.3f %d\n", (unsigned long long)mib,
	       t1 - t0, t2 - t1, tm.discover, tm.map, tm.remap, tm.publish, tm.total, served);
	return 0;
}

/* ---------------------------------------------------------------- least */

/* The layout `hugemem init -m 64` publishes is about this large (format 4). */
#define LEAST_LAYOUT_BYTES 11000
#define LEAST_PREFIX	   "hkbleast"

/* DIR/LEAST_PREFIX made, its lock file taken (F_SETLK): the lock's
 * descriptor, or -1 with PATH naming what failed. */
static int least_prefix(const char *dir, char *path, size_t len)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, len, "%s/" LEAST_PREFIX, dir);
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(path, len, "%s/" LEAST_PREFIX "/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 && fcntl(fd, F_SETLK, &fl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* LEAST_LAYOUT_BYTES written to a temporary file (its name in PATH, which
 * names what failed), renamed to DIR/LEAST_PREFIX/layout. */
static int least_publish(const char *dir, char *path, size_t len)
{
	static char layout[LEAST_LAYOUT_BYTES];
	char final[HM_PATH_MAX + 32];
	int fd, ok;

	snprintf(path, len, "%s/" LEAST_PREFIX "/.layout.tmp", dir);
	snprintf(final, sizeof(final), "%s/" LEAST_PREFIX "/layout", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	memset(layout, 'L', sizeof(layout));
	ok = write(fd, layout, sizeof(layout)) == (ssize_t)sizeof(layout);
	close(fd);
	return ok && rename(path, final) == 0 ? 0 : -1;
}

static void least_undo(const char *dir, struct held *h, int lock_fd)
{
	char path[HM_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/" LEAST_PREFIX "/layout", dir);
	unlink(path);
	munmap(h->window, h->len);
	hmi_keeper_lease_free(&h->l);
	snprintf(path, sizeof(path), "%s/" LEAST_PREFIX "/lock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/" LEAST_PREFIX, dir);
	rmdir(path);
	close(lock_fd);
	hmi_keeper_disconnect(&h->c);
}

static int least(struct hm_ctx *ctx, const char *keeper, uint64_t mib)
{
	const char *dir = hm_ctx_runtime_dir(ctx);
	char path[HM_PATH_MAX + 32];
	struct held h;
	int lock_fd;

	snprintf(path, sizeof(path), "%s", dir); /* what failed, when its first mkdir does */
	if (lease(ctx, keeper, mib << 20, &h) || map_all(&h))
		return 1;
	lock_fd = least_prefix(dir, path, sizeof(path));
	if (lock_fd < 0 || least_publish(dir, path, sizeof(path)) < 0) {
		fprintf(stderr, "keeper_bench: least: %s: %s\n", path, strerror(errno));
		least_undo(dir, &h, lock_fd);
		return 1;
	}
	printf("least %llu %zu\n", (unsigned long long)mib, h.l.n_chunks);
	fflush(stdout);
	least_undo(dir, &h, lock_fd);
	return 0;
}

/* ---------------------------------------------------------------- busy */

/* Run ARGV (standard output to OUT), timed fork to reap: *MS. */
static int run_timed(char **argv, const char *out, double *ms)
{
	double t0 = now_ms();
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		if (!freopen(out, "w", stdout))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	*ms = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "keeper_bench: %s failed (status 0x%x)\n", argv[0], st);
		return 1;
	}
	return 0;
}

static int busy(struct hm_ctx *ctx, const char *dir, uint64_t mib, const char *how, const char *out,
		char **argv)
{
	struct hmi_keeper_conn poll_c;
	uint64_t before = (uint64_t)-1, after = 0;
	struct held h;
	double t0, ms = 0;
	pid_t child = -1;
	int st = 0;

	if (hmi_keeper_connect(ctx, dir, &poll_c) < 0)
		return fail(ctx, "connect");
	if (strcmp(how, "exit") == 0) {
		if (child_gives_back(ctx, dir, mib << 20, &t0, &child))
			return 1;
	} else {
		if (lease(ctx, dir, mib << 20, &h) || map_all(&h))
			return 1;
		touch(&h, h.c.page_size);
		if (hmi_keeper_return(ctx, &h.c, NULL, 0, NULL) < 0 ||
		    not_free(ctx, &poll_c, &before, NULL) < 0)
			return fail(ctx, "return");
	}
	if (run_timed(argv, out, &ms))
		return 1;
	if (not_free(ctx, &poll_c, &after, NULL) < 0)
		return fail(ctx, "status");
	if (child > 0 && (waitpid(child, &st, 0) != child || st != 0))
		return 1;
	printf("busy %.3f %lld %llu\n", ms, before == (uint64_t)-1 ? -1LL : (long long)before,
	       (unsigned long long)after);
	return 0;
}

/* ---------------------------------------------------------------- wait */

static int wait_all(struct hm_ctx *ctx, int n, char **dirs)
{
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		struct hmi_keeper_conn c;
		uint64_t nf = 1;
		int rc = hmi_keeper_connect(ctx, dirs[i], &c);

		while (rc == 0 && (rc = not_free(ctx, &c, &nf, NULL)) == 0 && nf) {
			if (now_ms() - t0 > 20000) {
				fprintf(stderr,
					"keeper_bench: %s: %llu bytes still not free after 20 s\n",
					dirs[i], (unsigned long long)nf);
				return 1;
			}
			usleep(500);
		}
		if (rc < 0)
			return fail(ctx, dirs[i]);
		hmi_keeper_disconnect(&c);
	}
	printf("waited %.3f\n", now_ms() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct hm_ctx *ctx;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	/* as the CLI does: the runtime directories (and the auto keeper) there */
	if (getenv("HUGEMEM_RUNTIME_DIR") &&
	    hm_ctx_set_runtime_dir(ctx, getenv("HUGEMEM_RUNTIME_DIR")) < 0)
		return fail(ctx, "HUGEMEM_RUNTIME_DIR");
	if (strcmp(cmd, "refault") == 0 && argc == 4)
		return refault(ctx, argv[2], argv[3]);
	if (strcmp(cmd, "lease") == 0 && argc == 4)
		return lease_steps(ctx, argv[2], strtoull(argv[3], NULL, 10));
	if (strcmp(cmd, "init") == 0 && argc == 4)
		return init_fini(ctx, strtoull(argv[2], NULL, 10), argv[3]);
	if (strcmp(cmd, "least") == 0 && argc == 4)
		return least(ctx, argv[2], strtoull(argv[3], NULL, 10));
	if (strcmp(cmd, "busy") == 0 && argc > 7 && strcmp(argv[6], "--") == 0)
		return busy(ctx, argv[2], strtoull(argv[3], NULL, 10), argv[4], argv[5], argv + 7);
	if (strcmp(cmd, "order") == 0 && argc == 6)
		return order(ctx, argv[2], strtoull(argv[3], NULL, 10), argv[4], atoi(argv[5]));
	if (strcmp(cmd, "wait") == 0 && argc > 2)
		return wait_all(ctx, argc - 2, argv + 2);
	fprintf(stderr, "usage: keeper_bench refault DIR return|exit | lease DIR MIB | init MIB "
			"KEEPER | least DIR MIB | busy DIR MIB return|exit OUT -- CMD... | "
			"order DIR MIB one|all CYCLES | wait DIR...\n");
	return 2;
}
