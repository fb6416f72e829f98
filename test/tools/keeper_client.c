/* SPDX-License-Identifier: MIT */
/*
 * keeper_client — a test client of the pool keeper (test/real_keeper.t),
 * through the library's internal client calls (keeper/keeper.h):
 *
 *   keeper_client DIR use MIB BYTE exit|hold|return|linger
 *       lease MIB MiB from the keeper in DIR, map every memfd, check that
 *       every byte is 0 (else print "DIRTY chunk C offset O value V" and exit
 *       3), fill with BYTE (hex), print "ready <bytes> <chunks> pa=<0|1>",
 *       then: exit at once (the lease ends with the process); hold until a
 *       line or end on stdin; give every chunk back and check that the
 *       mappings now read 0 ("returned N zero"), exit 3 if not; or (linger)
 *       at a first line close the connection and print "closed", at a
 *       second exit (the connection's end and the process's exit apart).
 *   keeper_client DIR pass MIB BYTE
 *       lease, map, fill with BYTE, fork a child that keeps the mappings and
 *       the memfds (and the connection), print "ready", and exit: the lease
 *       ends with this process (its pidfd), not the child's. The child waits
 *       for a line on stdin, then reads its old mappings and maps its memfds
 *       again: prints "child clean" when no byte is anything but 0 or BYTE,
 *       "child SAW <hex>" otherwise.
 *   keeper_client DIR join MIB BYTE
 *       fork a child B first (before any lease), then lease, map and fill
 *       with BYTE, pass every memfd to B over a socket pair, wait until B
 *       has joined, print "ready <pid of B>" and exit. B connects and says
 *       HELLO itself, JOINs the memfds it got, maps them, prints "child
 *       joined N"; at the first line on stdin it checks every byte is still
 *       BYTE ("child kept", else "child LOST ..." and exit 3), at the second
 *       (or end of input) exits.
 *   keeper_client DIR join-bogus
 *       JOIN a sealed memfd of its own, then the memfd of a chunk it leased
 *       and gave back: prints "refused: <message>" for each; exit 0 when both
 *       were refused with -ENOENT, 3 otherwise.
 *   keeper_client DIR join-limit
 *       lease one chunk and JOIN it from 63 more connections of this process;
 *       one more must be refused: "joined 63 then refused: <message>".
 *   keeper_client DIR fetch PID ID
 *       FETCH chunk ID of process PID (a holder of it) and read its memfd:
 *       "fetched <first byte in hex>", or the refusal ("refused: ...", exit 2).
 *   keeper_client DIR fetch-check
 *       lease one chunk, then from a second connection of this process FETCH
 *       it (same inode as the leased memfd: "fetched same"), a chunk id it
 *       does not hold (-ENOENT), a pid that holds nothing (-ESRCH): one line
 *       each; exit 0 when all three came as said, 3 otherwise.
 *   keeper_client DIR refill-check
 *       lease one chunk, give it back, ask STATUS until the keeper has all of
 *       it free again: its refill stamp must be later than the one before
 *       and than the instant before the RETURN, and not in the future
 *       ("refilled after the return", else "STAMP ..." and exit 3).
 *   keeper_client DIR status        the keeper's status, one line per node and lease
 *   keeper_client DIR raw HEX...    connect, send the bytes, print "dropped" when
 *                                   the keeper closes the connection
 *   keeper_client DIR lease-early   LEASE before HELLO: "dropped" expected
 *   keeper_client DIR hello-fake    HELLO with a pidfd of pid 1: "dropped" expected
 * Failures to talk to the keeper: exit 1 with the message on stderr; refusals
 * of the keeper: exit 2 with its message.
 */
#include "keeper/keeper.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

static struct hm_ctx *ctx;

static int fail(int code)
{
	fprintf(stderr, "keeper_client: %s\n", hm_errmsg(ctx));
	return code;
}

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin)) {
		/* end of input: go on */
	}
}

/* A lease this tool holds until it exits (each command's is static: what the
 * process still holds at exit stays reachable, not a leak to LeakSanitizer;
 * giving it back at exit is the keeper's test). */
struct held {
	struct hmi_keeper_conn c;
	struct hmi_keeper_lease l;
	char **maps;
};

static int lease_map(const char *dir, uint64_t mib, struct held *h)
{
	struct hmi_kp_ask ask = {.node = -1, .bytes = mib << 20};
	int rc = hmi_keeper_connect(ctx, dir, &h->c);

	if (rc < 0)
		return fail(1);
	rc = hmi_keeper_lease(ctx, &h->c, &ask, 1, &h->l);
	if (rc < 0)
		return fail(2);
	h->maps = calloc(h->l.n_chunks, sizeof(*h->maps));
	for (size_t i = 0; i < h->l.n_chunks; i++) {
		h->maps[i] = mmap(NULL, h->l.chunks[i].len, PROT_READ | PROT_WRITE, MAP_SHARED,
				  h->l.chunks[i].fd, 0);
		if (h->maps[i] == MAP_FAILED) {
			perror("mmap of a leased memfd");
			return 1;
		}
	}
	return 0;
}

/* Every byte of every chunk is WANT, or (OTHER >= 0) OTHER: 0, or print the
 * first that is not and return 3. */
static int check(const struct held *h, int want, int other, const char *tag)
{
	for (size_t i = 0; i < h->l.n_chunks; i++) {
		const unsigned char *p = (const unsigned char *)h->maps[i];

		for (uint64_t o = 0; o < h->l.chunks[i].len; o++)
			if (p[o] != want && p[o] != other) {
				printf("%s chunk %zu offset %llu value %02x\n", tag, i,
				       (unsigned long long)o, p[o]);
				fflush(stdout);
				return 3;
			}
	}
	return 0;
}

static void fill(const struct held *h, int byte)
{
	for (size_t i = 0; i < h->l.n_chunks; i++)
		memset(h->maps[i], byte, h->l.chunks[i].len);
}

static int use(const char *dir, uint64_t mib, int byte, const char *then)
{
	static struct held h;
	uint32_t returned = 0;
	int rc = lease_map(dir, mib, &h);

	if (rc)
		return rc;
	if (check(&h, 0, -1, "DIRTY"))
		return 3;
	fill(&h, byte);
	if (check(&h, byte, -1, "UNWRITTEN"))
		return 3;
	printf("ready %llu %zu pa=%d first_pa=0x%llx first_id=%llu pid=%d\n",
	       (unsigned long long)mib << 20, h.l.n_chunks, h.c.pa_allowed,
	       (unsigned long long)h.l.runs[0].pa, (unsigned long long)h.l.chunks[0].id,
	       (int)getpid());
	fflush(stdout);
	if (strcmp(then, "hold") == 0)
		wait_line();
	if (strcmp(then, "linger") == 0) {
		wait_line();
		hmi_keeper_disconnect(&h.c);
		printf("closed\n");
		fflush(stdout);
		wait_line();
	}
	if (strcmp(then, "return") == 0) {
		if (hmi_keeper_return(ctx, &h.c, NULL, 0, &returned) < 0)
			return fail(1);
		rc = check(&h, 0, -1, "NOT-PUNCHED");
		printf("returned %u%s\n", returned, rc ? "" : " zero");
	}
	return rc;
}

static int pass(const char *dir, uint64_t mib, int byte)
{
	static struct held h;
	int rc = lease_map(dir, mib, &h);
	pid_t child;

	if (rc)
		return rc;
	fill(&h, byte);
	fflush(stdout);
	child = fork();
	if (child < 0)
		return 1;
	if (child > 0) {
		printf("ready %d\n", (int)child);
		return 0;
	}
	wait_line();
	rc = check(&h, 0, byte, "child SAW");
	for (size_t i = 0; rc == 0 && i < h.l.n_chunks; i++) { /* the memfd, mapped again */
		munmap(h.maps[i], h.l.chunks[i].len);
		h.maps[i] = mmap(NULL, h.l.chunks[i].len, PROT_READ, MAP_SHARED,
				 h.l.chunks[i].fd, 0);
		if (h.maps[i] == MAP_FAILED)
			return 1;
	}
	if (rc == 0)
		rc = check(&h, 0, byte, "child SAW (mapped again)");
	if (rc == 0)
		printf("child clean\n");
	return rc;
}

static int status(const char *dir)
{
	struct hm_keeper_status *st;

	if (hm_keeper_status(ctx, dir, &st) < 0)
		return fail(1);
	printf("keeper pid %d page %llu chunk %llu keep %llu leases %zu\n", (int)st->pid,
	       (unsigned long long)st->page_size, (unsigned long long)st->chunk_bytes,
	       (unsigned long long)st->keep_bytes, st->leases_total);
	for (int i = 0; i < st->n_nodes; i++)
		printf("node %d free %llu leased %llu pending %llu\n", st->nodes[i].node,
		       (unsigned long long)st->nodes[i].free_bytes,
		       (unsigned long long)st->nodes[i].leased_bytes,
		       (unsigned long long)st->nodes[i].pending_bytes);
	for (size_t i = 0; i < st->n_leases; i++)
		printf("lease pid %d uid %u bytes %llu\n", (int)st->leases[i].pid,
		       (unsigned)st->leases[i].uid, (unsigned long long)st->leases[i].bytes);
	hm_keeper_status_free(st);
	return 0;
}

/* ------------------------------------------------------------------ join */

/* B: connect, take the memfds from S, JOIN them, map them; then check
 * BYTE is still there at the first line on stdin. */
static int joiner(const char *dir, int s, int byte)
{
	struct hmi_keeper_conn c;
	static struct held h;
	int fds[HMI_KP_FDS_MAX];
	size_t n = 0;
	char msg[8];
	int rc = hmi_keeper_connect(ctx, dir, &c);

	if (rc == 0 && hmi_kp_recv(s, msg, sizeof(msg), fds, HMI_KP_FDS_MAX, &n) <= 0)
		rc = -EIO;
	if (rc == 0)
		rc = hmi_keeper_join(ctx, &c, fds, n);
	if (rc < 0) {
		printf("child join failed: %s\n", hm_errmsg(ctx));
		return 1;
	}
	h.l.n_chunks = n;
	h.l.chunks = calloc(n, sizeof(*h.l.chunks));
	h.maps = calloc(n, sizeof(*h.maps));
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (fstat(fds[i], &st) < 0)
			return 1;
		h.l.chunks[i].len = (uint64_t)st.st_size;
		h.maps[i] = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fds[i], 0);
		if (h.maps[i] == MAP_FAILED)
			return 1;
	}
	printf("child joined %zu\n", n);
	if (send(s, "j", 1, MSG_NOSIGNAL) != 1)
		return 1;
	wait_line();
	rc = check(&h, byte, -1, "child LOST");
	if (rc == 0)
		printf("child kept %02x\n", byte);
	wait_line();
	return rc;
}

static int join(const char *dir, uint64_t mib, int byte)
{
	static struct held h;
	int sv[2], fds[HMI_KP_FDS_MAX];
	pid_t child;
	char ack = 0;
	int rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(sv[0]);
		exit(joiner(dir, sv[1], byte));
	}
	close(sv[1]);
	rc = lease_map(dir, mib, &h);
	if (rc)
		return rc;
	fill(&h, byte);
	for (size_t i = 0; i < h.l.n_chunks && i < HMI_KP_FDS_MAX; i++)
		fds[i] = h.l.chunks[i].fd;
	if (hmi_kp_send(sv[0], "m", 1, fds, h.l.n_chunks) < 0 || recv(sv[0], &ack, 1, 0) != 1 ||
	    ack != 'j') {
		printf("the child did not join\n");
		return 1;
	}
	printf("ready %d\n", (int)child);
	return 0;
}

static int refused(int rc, const char *what)
{
	printf("refused %s: %s\n", what, rc < 0 ? hm_errmsg(ctx) : "NOT (joined)");
	return rc == -ENOENT ? 0 : 3;
}

static int join_bogus(const char *dir)
{
	static struct held h;
	int own = hmi_memfd_create("not-the-keepers", MFD_CLOEXEC | MFD_ALLOW_SEALING), bad = 0;
	int rc = lease_map(dir, 2, &h);

	if (rc)
		return rc;
	if (own < 0 || ftruncate(own, 4096) < 0 || fcntl(own, F_ADD_SEALS, HMI_KEEPER_SEALS) < 0)
		return 1;
	bad |= refused(hmi_keeper_join(ctx, &h.c, &own, 1), "own memfd");
	if (hmi_keeper_return(ctx, &h.c, NULL, 0, NULL) < 0)
		return fail(1);
	bad |= refused(hmi_keeper_join(ctx, &h.c, &h.l.chunks[0].fd, 1), "returned chunk");
	return bad;
}

static int join_limit(const char *dir)
{
	static struct held h;
	struct hmi_keeper_conn more[HMI_KEEPER_HOLDERS_MAX];
	int joined = 0, rc = lease_map(dir, 2, &h);

	if (rc)
		return rc;
	for (int i = 0; i < HMI_KEEPER_HOLDERS_MAX; i++) {
		if (hmi_keeper_connect(ctx, dir, &more[i]) < 0)
			return fail(1);
		rc = hmi_keeper_join(ctx, &more[i], &h.l.chunks[0].fd, 1);
		if (rc < 0)
			break;
		joined++;
	}
	printf("joined %d then %s: %s\n", joined, rc == -EUSERS ? "refused" : "NOT refused",
	       rc < 0 ? hm_errmsg(ctx) : "");
	return joined == HMI_KEEPER_HOLDERS_MAX - 1 && rc == -EUSERS ? 0 : 3;
}

/* ------------------------------------------------------------------ attacks */

static int raw_connect(const char *dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/keeper.sock", dir);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	return s;
}

/* Does the keeper close S within 5 s (after it got what was sent)? */
static int dropped(int s)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	char byte[HMI_KP_MSG_MAX];

	while (poll(&p, 1, 5000) == 1) {
		ssize_t n = recv(s, byte, sizeof(byte), 0);

		if (n <= 0) {
			printf("dropped\n");
			return 0;
		}
	}
	printf("still connected\n");
	return 3;
}

static int raw(const char *dir, int argc, char **argv)
{
	uint8_t bytes[512];
	size_t n = 0;
	int s = raw_connect(dir);

	for (int i = 0; i < argc && n < sizeof(bytes); i++)
		bytes[n++] = (uint8_t)strtoul(argv[i], NULL, 16);
	if (send(s, bytes, n, MSG_NOSIGNAL) < 0)
		perror("send");
	return dropped(s);
}

static int send_msg(int s, const struct hmi_kp_msg *m, int fd)
{
	uint8_t buf[256];
	size_t len = 0;

	if (hmi_kp_encode(ctx, m, buf, sizeof(buf), &len) < 0)
		return fail(1);
	return hmi_kp_send(s, buf, len, &fd, fd >= 0) < 0 ? 1 : 0;
}

static int lease_early(const char *dir)
{
	struct hmi_kp_msg m = {.type = HMI_KP_LEASE, .n_asks = 1};
	int s = raw_connect(dir);

	m.asks[0] = (struct hmi_kp_ask){.node = -1, .bytes = 2 << 20};
	return send_msg(s, &m, -1) ? 1 : dropped(s);
}

static int hello_fake(const char *dir)
{
	struct hmi_kp_msg m = {.type = HMI_KP_HELLO};
	int s = raw_connect(dir), pidfd = hmi_pidfd_open(1);

	if (pidfd < 0)
		return 1;
	return send_msg(s, &m, pidfd) ? 1 : dropped(s);
}

/* FETCH chunk ID of PID: its memfd, or -1 with the refusal printed. */
static int fetch_one(const char *dir, pid_t pid, uint64_t id)
{
	struct hmi_keeper_conn c;
	int fd = -1;

	if (hmi_keeper_open_fetch(ctx, dir, pid, &id, 1, &c, &fd) < 0) {
		printf("refused: %s\n", hm_errmsg(ctx));
		return -1;
	}
	hmi_keeper_disconnect(&c);
	return fd;
}

static int fetch(const char *dir, pid_t pid, uint64_t id)
{
	int fd = fetch_one(dir, pid, id);
	unsigned char *p;

	if (fd < 0)
		return 2;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	printf("fetched %02x\n", p[0]);
	return 0;
}

static int same_file(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_ino == y.st_ino &&
	       x.st_dev == y.st_dev;
}

static int fetch_check(const char *dir)
{
	static struct held h;
	int rc = lease_map(dir, 2, &h), fd, bad = 0;
	uint64_t id;

	if (rc)
		return rc;
	id = h.l.chunks[0].id;
	fd = fetch_one(dir, getpid(), id);
	printf("%s\n", fd >= 0 && same_file(fd, h.l.chunks[0].fd) ? "fetched same" : "NOT SAME");
	bad |= fd < 0 || !same_file(fd, h.l.chunks[0].fd);
	bad |= fetch_one(dir, getpid(), id + 1000000) >= 0 || !strstr(hm_errmsg(ctx), "not one");
	bad |= fetch_one(dir, getppid(), id) >= 0 || !strstr(hm_errmsg(ctx), "no client of pid");
	return bad ? 3 : 0;
}

/* STATUS on C: *FREE when nothing is leased or pending, *STAMP its refill stamp. */
static int stamp_of(struct hmi_keeper_conn *c, int *all_free, uint64_t *stamp)
{
	struct hmi_kp_msg req = {.type = HMI_KP_STATUS}, reply;
	uint64_t free_b = 0;

	if (hmi_keeper_call(ctx, c, &req, HMI_KP_STATUS_REPLY, &reply) < 0)
		return fail(1);
	for (int i = 0; i < reply.st->n_nodes; i++)
		free_b += reply.st->nodes[i].free_bytes;
	*all_free = free_b == reply.st->keep_bytes;
	*stamp = reply.refilled_ns;
	hmi_kp_msg_free(&reply);
	return 0;
}

static int refill_check(const char *dir)
{
	static struct held h;
	struct hmi_keeper_conn poll_c;
	uint64_t before, after = 0;
	double t0;
	int all_free = 0, rc = lease_map(dir, 2, &h);

	if (rc || hmi_keeper_connect(ctx, dir, &poll_c) < 0)
		return rc ? rc : fail(1);
	if (stamp_of(&poll_c, &all_free, &before))
		return 1;
	t0 = hmi_now_ms() * 1e6; /* the keeper stamps with this clock */
	if (hmi_keeper_return(ctx, &h.c, NULL, 0, NULL) < 0)
		return fail(1);
	for (int i = 0; i < 10000 && !all_free; i++) {
		usleep(1000);
		if (stamp_of(&poll_c, &all_free, &after))
			return 1;
	}
	if (all_free && after > before && (double)after >= t0 && (double)after <= hmi_now_ms() * 1e6) {
		printf("refilled after the return\n");
		return 0;
	}
	printf("STAMP before %llu return at %.0f after %llu (all free: %d)\n",
	       (unsigned long long)before, t0, (unsigned long long)after, all_free);
	return 3;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL, *cmd = argc > 2 ? argv[2] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	if (strcmp(cmd, "use") == 0 && argc == 6)
		return use(dir, strtoull(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 16),
			   argv[5]);
	if (strcmp(cmd, "pass") == 0 && argc == 5)
		return pass(dir, strtoull(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 16));
	if (strcmp(cmd, "join") == 0 && argc == 5)
		return join(dir, strtoull(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 16));
	if (strcmp(cmd, "join-bogus") == 0)
		return join_bogus(dir);
	if (strcmp(cmd, "join-limit") == 0)
		return join_limit(dir);
	if (strcmp(cmd, "fetch") == 0 && argc == 5)
		return fetch(dir, (pid_t)atoi(argv[3]), strtoull(argv[4], NULL, 10));
	if (strcmp(cmd, "fetch-check") == 0)
		return fetch_check(dir);
	if (strcmp(cmd, "refill-check") == 0)
		return refill_check(dir);
	if (strcmp(cmd, "status") == 0)
		return status(dir);
	if (strcmp(cmd, "raw") == 0)
		return raw(dir, argc - 3, argv + 3);
	if (strcmp(cmd, "lease-early") == 0)
		return lease_early(dir);
	if (strcmp(cmd, "hello-fake") == 0)
		return hello_fake(dir);
	fprintf(stderr, "usage: keeper_client DIR use MIB BYTE exit|hold|return | pass MIB BYTE | "
			"join MIB BYTE | join-bogus | join-limit | fetch PID ID | fetch-check | status | "
			"raw HEX... | "
			"lease-early | hello-fake\n");
	return 1;
}
