/* SPDX-License-Identifier: MIT */
/*
 * keeper_client — a test client of the pool keeper (test/real_keeper.t),
 * through the library's internal client calls (keeper/keeper.h):
 *
 *   keeper_client DIR use MIB BYTE exit|hold|return
 *       lease MIB MiB from the keeper in DIR, map every memfd, check that
 *       every byte is 0 (else print "DIRTY chunk C offset O value V" and exit
 *       3), fill with BYTE (hex), print "ready <bytes> <chunks> pa=<0|1>",
 *       then: exit at once (the lease ends with the process); hold until a
 *       line or end on stdin; or give every chunk back and check that the
 *       mappings now read 0 ("returned N zero"), exit 3 if not.
 *   keeper_client DIR pass MIB BYTE
 *       lease, map, fill with BYTE, fork a child that keeps the mappings and
 *       the memfds (and the connection), print "ready", and exit: the lease
 *       ends with this process (its pidfd), not the child's. The child waits
 *       for a line on stdin, then reads its old mappings and maps its memfds
 *       again: prints "child clean" when no byte is anything but 0 or BYTE,
 *       "child SAW <hex>" otherwise.
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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

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
	struct held h = {0};
	uint32_t returned = 0;
	int rc = lease_map(dir, mib, &h);

	if (rc)
		return rc;
	if (check(&h, 0, -1, "DIRTY"))
		return 3;
	fill(&h, byte);
	if (check(&h, byte, -1, "UNWRITTEN"))
		return 3;
	printf("ready %llu %zu pa=%d first_pa=0x%llx\n", (unsigned long long)mib << 20,
	       h.l.n_chunks, h.c.pa_allowed, (unsigned long long)h.l.runs[0].pa);
	fflush(stdout);
	if (strcmp(then, "hold") == 0)
		wait_line();
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
	struct held h = {0};
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
	if (strcmp(cmd, "status") == 0)
		return status(dir);
	if (strcmp(cmd, "raw") == 0)
		return raw(dir, argc - 3, argv + 3);
	if (strcmp(cmd, "lease-early") == 0)
		return lease_early(dir);
	if (strcmp(cmd, "hello-fake") == 0)
		return hello_fake(dir);
	fprintf(stderr, "usage: keeper_client DIR use MIB BYTE exit|hold|return | pass MIB BYTE | "
			"status | raw HEX... | lease-early | hello-fake\n");
	return 1;
}
