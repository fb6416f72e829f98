/* SPDX-License-Identifier: MIT */
/*
 * cancel_real_test — hm_ctx_cancel on real hugepages: an hm_init cancelled
 * from its progress callback, from a signal handler (SIGALRM in the middle of
 * faulting in the whole free pool with --contig best) and before it started
 * returns -ECANCELED and leaves nothing: the pool counts as before, no page
 * file of the prefix in the mount, no runtime directory. The request is taken
 * by the call it stops (the next hm_init succeeds). Needs root, 300 free
 * 2 MiB pages and a 2 MiB mount.
 */
#include "real.h"
#include "tap.h"

#include "hugemem.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char mnt[4096];

/* Page files of PREFIX in the mount. */
static int page_files(const char *prefix)
{
	DIR *d = opendir(mnt);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static int rundir_exists(struct hm_ctx *ctx, const char *prefix)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", hm_ctx_runtime_dir(ctx), prefix);
	return stat(path, &st) == 0;
}

/* -ECANCELED, the message, and nothing left. */
static void check_cancelled(struct hm_ctx *ctx, int rc, const struct real_counts *before,
			    const char *prefix, const char *how)
{
	is_int(rc, -ECANCELED, "%s: hm_init returns -ECANCELED (%s)", how, hm_errmsg(ctx));
	like(hm_errmsg(ctx), "cancelled", "%s: the message says so", how);
	ok(hm_layout(ctx) == NULL, "%s: no layout, no memory held", how);
	is_int(page_files(prefix), 0, "%s: no page file of the prefix left", how);
	ok(!rundir_exists(ctx, prefix), "%s: no runtime directory left", how);
	real_ok_counts(before, how);
}

static void cancel_from_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	(void)step;
	(void)total;
	if (done >= 128) /* after the first round of 256 MiB */
		hm_ctx_cancel(arg);
}

static void test_progress_cancel(void)
{
	struct real_counts before;
	struct hm_ctx *ctx;
	char line[96];

	hm_ctx_new(&ctx);
	real_snapshot(&before);
	hm_ctx_set_progress(ctx, cancel_from_progress, ctx);
	snprintf(line, sizeof(line), "-m 512 --file-prefix hmcan%d", (int)getpid());
	check_cancelled(ctx, real_init_line(ctx, line), &before, line + 21,
			"from the progress callback");
	hm_ctx_free(ctx);
}

static struct hm_ctx *alarm_ctx; /* a signal handler reaches nothing else */

static void on_alarm(int sig)
{
	(void)sig;
	hm_ctx_cancel(alarm_ctx);
}

/* --contig best faults in the whole free pool (~0.5 s for 3072 pages):
 * SIGALRM 10 ms in lands before its end even on a small pool. */
static void test_signal_cancel(void)
{
	struct itimerval at = {.it_value = {.tv_usec = 10000}};
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct real_counts before;
	char line[96], prefix[32];

	hm_ctx_new(&alarm_ctx);
	real_snapshot(&before);
	sigaction(SIGALRM, &sa, NULL);
	snprintf(prefix, sizeof(prefix), "hmcas%d", (int)getpid());
	snprintf(line, sizeof(line), "-m 64 --contig best --file-prefix %s", prefix);
	setitimer(ITIMER_REAL, &at, NULL);
	check_cancelled(alarm_ctx, real_init_line(alarm_ctx, line), &before, prefix,
			"from a SIGALRM handler");
	signal(SIGALRM, SIG_DFL);
	hm_ctx_free(alarm_ctx);
}

static void test_cancel_before(void)
{
	struct real_counts before;
	struct hm_ctx *ctx;
	char line[96];

	is_int(hm_ctx_cancel(NULL), -EINVAL, "hm_ctx_cancel(NULL): -EINVAL");
	hm_ctx_new(&ctx);
	real_snapshot(&before);
	is_int(hm_ctx_cancel(ctx), 0, "hm_ctx_cancel with no call running: 0");
	snprintf(line, sizeof(line), "-m 8 --file-prefix hmcab%d", (int)getpid());
	check_cancelled(ctx, real_init_line(ctx, line), &before, line + 19, "requested before");
	is_int(real_init_line(ctx, line), 0, "the request was taken: the next hm_init runs (%s)",
	       hm_errmsg(ctx));
	is_int(hm_fini(ctx), 0, "hm_fini");
	ok(!rundir_exists(ctx, line + 19), "no runtime directory after hm_fini");
	hm_ctx_free(ctx);
}

int main(void)
{
	const char *why = real_require(300, mnt, sizeof(mnt));

	if (why)
		return plan_skip_all(why);
	test_progress_cancel();
	test_signal_cancel();
	test_cancel_before();
	return done();
}
