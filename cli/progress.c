/* SPDX-License-Identifier: MIT */
/*
 * progress.c — the progress line of long work: while hm_init faults in
 * gigabytes of pages, the library reports (step, pages done, pages total) at
 * most every ~100 ms through hm_ctx_set_progress; this draws
 *   map: 1234/4096 pages, 2.1 GiB/s
 * on stderr, rewritten in place with \r, and clears it when the step ends.
 * Only when stderr is a terminal and --json is not given, and only once the
 * command has run for half a second: a quick init shows nothing, a pipe or a
 * log file never gets a byte. The rate is every byte reported since the
 * command started over the time since then (one init may fault in several
 * batches, each counted from 0 again).
 */
#include "cli.h"
#include "map.h"

#include <time.h>
#include <unistd.h>

#define SHOW_AFTER 0.5 /* seconds */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void clear_line(struct cli_progress *p)
{
	if (!p->shown)
		return;
	fprintf(stderr, "\r%*s\r", p->shown, "");
	fflush(stderr);
	p->shown = 0;
}

static void draw(struct cli_progress *p, const char *step, uint64_t done, uint64_t total,
		 double elapsed)
{
	char line[128], rate[32] = "";
	int n;

	if (p->page_size && elapsed > 0)
		map_approx((uint64_t)((double)p->bytes / elapsed), rate, sizeof(rate));
	n = snprintf(line, sizeof(line), "%s: %llu/%llu pages%s%s%s", step ? step : "work",
		     (unsigned long long)done, (unsigned long long)total, rate[0] ? ", " : "", rate,
		     rate[0] ? "/s" : "");
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	fprintf(stderr, "\r%s%*s", line, p->shown > n ? p->shown - n : 0, "");
	fflush(stderr);
	if (n > p->shown)
		p->shown = n;
}

static void on_progress(void *arg, const char *step, uint64_t done, uint64_t total)
{
	struct cli_progress *p = arg;
	double elapsed = now_s() - p->start;

	if (done < p->last_done)
		p->last_done = 0; /* a new batch counts from 0 */
	p->bytes += (done - p->last_done) * p->page_size;
	p->last_done = done;
	if (done >= total) {
		p->last_done = 0;
		clear_line(p);
		return;
	}
	if (elapsed >= SHOW_AFTER)
		draw(p, step, done, total, elapsed);
}

/* The page size init will use, for the rate: asked, else the default. */
static uint64_t expected_page_size(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_sysinfo *si;
	uint64_t size = 0;

	if (o->lib.flags & HM_OPT_NO_HUGE)
		return 4096;
	if (o->lib.page_size)
		return o->lib.page_size;
	if (hm_sysinfo_read(ctx, o->lib.huge_dir, &si) == 0) {
		size = si->default_page_size;
		hm_sysinfo_free(si);
	}
	return size;
}

void cli_progress_start(struct cli_progress *p, struct hm_ctx *ctx, unsigned command,
			const struct cli_opts *o)
{
	*p = (struct cli_progress){0};
	if (!(command & (HM_CMD_INIT | HM_CMD_ATTACH)) ||
	    (o->flags & (CLI_OPT_JSON | CLI_OPT_HELP)) || !isatty(STDERR_FILENO))
		return;
	p->page_size = expected_page_size(ctx, o);
	p->start = now_s();
	hm_ctx_set_progress(ctx, on_progress, p);
}

void cli_progress_stop(struct cli_progress *p, struct hm_ctx *ctx)
{
	hm_ctx_set_progress(ctx, NULL, NULL);
	clear_line(p);
}
