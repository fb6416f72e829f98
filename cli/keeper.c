/* SPDX-License-Identifier: MIT */
/*
 * keeper.c — `hugemem keeper`: the pool keeper in the foreground
 * (docs/keeper.md). It takes --keep of the free pool, puts it in order,
 * faults it, binds its socket, and only then prints one line with the word
 * "ready" on stdout and, under systemd (Type=notify, $NOTIFY_SOCKET), sends
 * READY=1. SIGTERM, SIGINT (and the other signals hugemem catches) stop it
 * cleanly: every chunk it holds goes back to the pool, its socket and
 * directory are removed.
 *
 * Signals: while the pool is filled, main.c's handler cancels the start
 * (hm_ctx_cancel); once the keeper serves, the signals are blocked in every
 * thread and one thread of this file waits for them (sigwait) and stops the
 * keeper (hm_keeper_stop), so the keeper's event loop never races a handler.
 *
 * Scheduling: the keeper runs SCHED_BATCH (no wake-up preemption). Every
 * client it serves waits for its answer, so the keeper gets a CPU the moment
 * that client blocks; woken with SCHED_OTHER's preference instead, it would
 * preempt the client at each connect, send and close, and put its own work
 * (the punch of a chunk given back) on the client's way out. The price: under
 * a CPU-bound load the keeper waits its turn like any batch job.
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *cli_keeper_dir(const struct cli_opts *o, char *buf, size_t len)
{
	const char *base = getenv("HUGEMEM_RUNTIME_DIR");

	if (o->runtime_dir)
		return o->runtime_dir;
	if (!base || !*base)
		return NULL;
	snprintf(buf, len, "%s-keeper", base);
	return buf;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, a path or
 * (leading '@') an abstract name. Nothing when it is not set; a failure is
 * said on stderr and otherwise ignored (systemd then times the start out). */
static void notify(const char *what)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t n = path ? strlen(path) : 0;
	socklen_t len;
	int s;

	if (n == 0)
		return;
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(addr.sun_path)) {
		cli_error("keeper", "NOTIFY_SOCKET '%s' is neither a path nor an abstract name",
			  path);
		return;
	}
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sendto(s, what, strlen(what), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
		cli_error("keeper", "cannot notify %s: %s", path, strerror(errno));
	if (s >= 0)
		close(s);
}

struct waiter {
	struct hm_keeper *k;
	sigset_t set;
};

static void *wait_signal(void *arg)
{
	struct waiter *w = arg;
	int sig = 0;

	sigwait(&w->set, &sig);
	hm_keeper_stop(w->k);
	return NULL;
}

/* Best effort: a keeper started under a real-time policy keeps it. */
static void run_as_batch(void)
{
	struct sched_param none = {0};

	if (sched_getscheduler(0) == SCHED_OTHER)
		(void)sched_setscheduler(0, SCHED_BATCH, &none);
}

static int serve(struct hm_ctx *ctx, struct hm_keeper *k)
{
	struct waiter w = {.k = k};
	sigset_t old;
	pthread_t t;
	int rc;

	cli_signal_set(&w.set);
	pthread_sigmask(SIG_BLOCK, &w.set, &old);
	if (pthread_create(&t, NULL, wait_signal, &w) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		cli_error("keeper", "cannot start the signal thread");
		return EXIT_FAIL;
	}
	if (cli_signal_caught()) /* came before the signals were blocked */
		hm_keeper_stop(k);
	rc = hm_keeper_run(k);
	if (rc < 0)
		cli_error("keeper", "%s", hm_errmsg(ctx));
	pthread_cancel(t); /* stopped otherwise than by a signal: the thread still waits */
	pthread_join(t, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

static int read_opts(struct hm_ctx *ctx, const struct cli_opts *o, struct hm_keeper_opts *ko,
		     char *dir, size_t len)
{
	hm_keeper_opts_init(ko);
	ko->page_size = o->lib.page_size;
	ko->expose_pa = (o->flags & CLI_OPT_EXPOSE_PA) != 0;
	ko->runtime_dir = cli_keeper_dir(o, dir, len);
	if (!o->keep == !o->socket_keep)
		return cli_error("keeper",
				 "give --keep SIZE or --socket-keep A,B,... (one of them): "
				 "how much memory to hold"),
		       -1;
	if ((o->socket_keep &&
	     hm_parse_socket_mem(ctx, o->socket_keep, ko->node_keep, &ko->node_keep_count) < 0) ||
	    (o->keep && hm_parse_size(ctx, o->keep, &ko->keep_bytes) < 0) ||
	    (o->chunk && hm_parse_size(ctx, o->chunk, &ko->chunk_bytes) < 0) ||
	    (o->uid_quota && hm_parse_size(ctx, o->uid_quota, &ko->uid_quota_bytes) < 0))
		return cli_error("keeper", "%s", hm_errmsg(ctx)), -1;
	if (o->group && cli_group_id("keeper", o->group, &ko->group) < 0)
		return -1;
	return 0;
}

int cmd_keeper(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_keeper_opts ko;
	struct hm_keeper *k = NULL;
	char dir[HM_PATH_MAX], keep[32];
	int rc;

	if (read_opts(ctx, o, &ko, dir, sizeof(dir)) < 0)
		return EXIT_USAGE;
	run_as_batch();
	if (hm_keeper_start(ctx, &ko, &k) < 0) {
		cli_error("keeper", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	for (int n = 0; n < ko.node_keep_count; n++) /* --socket-keep: the sum */
		ko.keep_bytes += ko.node_keep[n];
	printf("hugemem keeper: ready: %s held in memfds, socket %s/keeper.sock (pid %d)\n",
	       hm_size_str(ko.keep_bytes, keep, sizeof(keep)),
	       ko.runtime_dir ? ko.runtime_dir : HM_KEEPER_DIR_DEFAULT, (int)getpid());
	fflush(stdout);
	notify("READY=1");
	rc = serve(ctx, k);
	notify("STOPPING=1");
	hm_keeper_free(k);
	return rc;
}
