/* SPDX-License-Identifier: MIT */
/*
 * init.c — `hugemem init`: run the primary flow, print the layout (text or
 * docs/json.md's contract) once everything is in place — its arrival is the
 * "ready" signal — then, with --hold, keep the memory until a signal of
 * cli_signal_set or, when standard input is a pipe, socket or terminal,
 * until it ends.
 */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct timing_row {
	const char *name;
	double ms;
};

static int timing_rows(const struct hm_timings *t, struct timing_row *row)
{
	const struct timing_row rows[] = {
	    {"discover", t->discover}, {"map", t->map},	    {"iova", t->iova},
	    {"numa", t->numa},	       {"sort", t->sort},   {"select", t->select},
	    {"release", t->release},   {"remap", t->remap}, {"publish", t->publish},
	    {"total", t->total},
	};

	memcpy(row, rows, sizeof(rows));
	return (int)(sizeof(rows) / sizeof(rows[0]));
}

static int json_segment(const struct hm_segment *s, void *arg)
{
	struct json *j = arg;

	json_obj(j, NULL);
	json_hex(j, "va", (uint64_t)(uintptr_t)s->va);
	json_hex(j, "iova", s->iova);
	json_u64(j, "len", s->len);
	json_u64(j, "page_size_bytes", s->page_size);
	json_i64(j, "node", s->node);
	json_u64(j, "pages", s->n_pages);
	json_obj_end(j);
	return 0;
}

const char *cli_iova_mode_name(enum hm_iova_mode m, int upper)
{
	if (m == HM_IOVA_ALLOC)
		return upper ? "allocated" : "alloc";
	if (m == HM_IOVA_PA)
		return upper ? "PA" : "pa";
	return upper ? "VA" : "va";
}

/* "dma": the devices' domain, when hm_init opened one. */
static void dma_json(struct hm_ctx *ctx, struct json *j)
{
	struct hm_dma_info d;
	struct hm_dma_device dev;

	if (hm_dma_info(ctx, &d) < 0)
		return;
	json_obj(j, "dma");
	json_str(j, "backend", d.backend);
	json_u64(j, "mappings", (uint64_t)d.n_mappings);
	json_u64(j, "mapped_bytes", d.mapped_bytes);
	json_u64(j, "iova_align_bytes", d.iova_align);
	json_arr(j, "devices");
	for (int i = 0; hm_dma_device_get(ctx, i, &dev) == 0; i++)
		json_str(j, NULL, dev.bdf);
	json_arr_end(j);
	json_arr(j, "iova_ranges");
	for (int i = 0; i < d.n_ranges; i++) {
		json_obj(j, NULL);
		json_hex(j, "start", d.ranges[i].start);
		json_hex(j, "last", d.ranges[i].last);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* One line for the devices' domain, when there is one. */
static void dma_text(struct hm_ctx *ctx)
{
	struct hm_dma_info d;
	struct hm_dma_device dev;
	char size[32];

	if (hm_dma_info(ctx, &d) < 0)
		return;
	printf("devices (%s):", d.backend);
	for (int i = 0; hm_dma_device_get(ctx, i, &dev) == 0; i++)
		printf(" %s", dev.bdf);
	printf("; %d mapping%s, %s pinned\n", d.n_mappings, d.n_mappings == 1 ? "" : "s",
	       hm_size_str(d.mapped_bytes, size, sizeof(size)));
}

static void print_json(struct hm_ctx *ctx, const struct hm_layout_info *in)
{
	struct timing_row row[16];
	int n = timing_rows(&in->t, row);
	struct json j;

	json_begin(&j, stdout);
	json_str(&j, "process", in->primary ? "primary" : "secondary");
	json_i64(&j, "pid", in->pid);
	json_str(&j, "file_prefix", in->file_prefix);
	json_str(&j, "iova_mode", cli_iova_mode_name(in->iova_mode, 0));
	json_bool(&j, "hugepages", in->hugepages);
	json_u64(&j, "page_size_bytes", in->page_size);
	json_u64(&j, "total_bytes", in->total_bytes);
	json_u64(&j, "mapped_pages", in->pages_mapped);
	json_u64(&j, "best_pieces", in->best_pieces);
	json_hex(&j, "va_base", in->va_base);
	json_u64(&j, "va_len_bytes", in->va_len);
	json_arr(&j, "segments");
	hm_segment_walk(ctx, json_segment, &j);
	json_arr_end(&j);
	cli_heap_json(ctx, &j);
	dma_json(ctx, &j);
	json_obj(&j, "timings_ms");
	for (int i = 0; i < n; i++)
		json_double(&j, row[i].name, row[i].ms);
	json_obj_end(&j);
	json_end(&j);
}

static int text_segment(const struct hm_segment *s, void *arg)
{
	char len[32];
	int *i = arg;

	printf("  %-4d 0x%-14llx 0x%-14llx %-10s %-5d %u\n", (*i)++,
	       (unsigned long long)(uintptr_t)s->va, (unsigned long long)s->iova,
	       hm_size_str(s->len, len, sizeof(len)), s->node, s->n_pages);
	return 0;
}

static void print_text(struct hm_ctx *ctx, const struct hm_layout_info *in)
{
	char total[32], ps[32];
	int i = 0;

	printf("%s pid %d, prefix '%s', IOVA = %s, %s\n", in->primary ? "primary" : "secondary",
	       (int)in->pid, in->file_prefix, cli_iova_mode_name(in->iova_mode, 1),
	       in->hugepages ? hm_size_str(in->page_size, ps, sizeof(ps)) : "no hugepages");
	printf("%s in %d segment%s; %llu pages %s",
	       hm_size_str(in->total_bytes, total, sizeof(total)), in->n_segments,
	       in->n_segments == 1 ? "" : "s", (unsigned long long)in->pages_mapped,
	       in->primary ? "mapped to choose them" : "mapped at the primary's addresses");
	if (in->best_pieces)
		printf("; the free pool allowed %llu", (unsigned long long)in->best_pieces);
	printf("\n  %-4s %-16s %-16s %-10s %-5s %s\n", "seg", "va", "iova", "length", "node",
	       "pages");
	hm_segment_walk(ctx, text_segment, &i);
	cli_heap_text(ctx);
	dma_text(ctx);
}

static void print_trace(const struct hm_layout_info *in)
{
	struct timing_row row[16];
	int n = timing_rows(&in->t, row);

	fprintf(stderr, "hugemem init: timings (ms):");
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s %.2f", row[i].name, row[i].ms);
	fputc('\n', stderr);
}

/* Standard input ends the hold only when it can end: a pipe, a socket or a
 * terminal. /dev/null (as for `cmd &` in a script) or a file must not. */
static int stdin_can_end(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

/* Read what standard input has; 1 when it has ended. */
static int stdin_ended(void)
{
	char buf[512];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

/* Until a signal of cli_signal_set or, when it can end, standard input
 * ends. The signals stay blocked but inside ppoll, so one that comes between
 * the check and the wait still ends it. */
static void hold(void)
{
	int watch = stdin_can_end();
	struct pollfd p = {.fd = watch ? STDIN_FILENO : -1, .events = POLLIN};
	sigset_t set, old;

	cli_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	while (!cli_signal_caught()) {
		if (ppoll(&p, 1, NULL, &old) < 0 && errno != EINTR)
			break;
		if (watch && p.revents && stdin_ended())
			break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Print the layout once it is ready, hold if asked, release. */
static int show_and_hold(struct hm_ctx *ctx, const struct cli_opts *o, const char *cmd)
{
	const struct hm_layout_info *in = hm_layout(ctx);

	for (int i = 0; i < in->n_notes; i++)
		fprintf(stderr, "hugemem %s: note: %s\n", cmd, in->notes[i]);
	if (o->flags & CLI_OPT_TRACE)
		print_trace(in);
	if ((o->flags & CLI_OPT_TRACE) && in->keeper)
		fprintf(stderr, "hugemem %s: keeper: %s\n", cmd, in->keeper);
	if (o->flags & CLI_OPT_JSON)
		print_json(ctx, in);
	else
		print_text(ctx, in);
	if (o->flags & CLI_OPT_MAP)
		cli_map_layout(ctx, o);
	fflush(stdout);
	if ((o->flags & CLI_OPT_HOLD) && !cli_signal_caught())
		hold();
	if (hm_fini(ctx) < 0) {
		cli_error(cmd, "releasing: %s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_init(struct hm_ctx *ctx, const struct cli_opts *o)
{
	int rc;

	rc = hm_init(ctx, &o->lib); /* --zone too: hm_init reserves the zones */
	if (rc == -ECANCELED && cli_signal_caught()) {
		cli_error("init", "stopped by %s: nothing is left", strsignal(cli_signal_caught()));
		return EXIT_FAIL;
	}
	if (rc < 0) {
		cli_error("init", "%s", hm_errmsg(ctx));
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	return show_and_hold(ctx, o, "init");
}

int cmd_attach(struct hm_ctx *ctx, const struct cli_opts *o)
{
	if (hm_attach(ctx, &o->lib) < 0) {
		cli_error("attach", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	return show_and_hold(ctx, o, "attach");
}

/* ------------------------------------------------------------------ zones and heap (issue 6) */

static int json_zone(const struct hm_memzone *z, void *arg)
{
	struct json *j = arg;

	json_obj(j, NULL);
	json_str(j, "name", z->name);
	json_hex(j, "va", (uint64_t)(uintptr_t)z->va);
	json_hex(j, "iova", z->iova);
	json_u64(j, "len", z->len);
	json_i64(j, "node", z->socket);
	json_bool(j, "contig", (z->flags & HM_MZ_IOVA_CONTIG) != 0);
	json_obj_end(j);
	return 0;
}

/* The nodes that have memory, from the segments: *SEEN[node] = 1. */
static int seg_node(const struct hm_segment *s, void *arg)
{
	int *seen = arg;

	if (s->node >= 0 && s->node < HM_MAX_NODES)
		seen[s->node] = 1;
	return 0;
}

static void json_heap_node(struct json *j, const struct hm_heap_stats *st)
{
	json_obj(j, NULL);
	json_i64(j, "node", st->node);
	json_u64(j, "total_bytes", st->total);
	json_u64(j, "free_bytes", st->free);
	json_u64(j, "used_bytes", st->used);
	json_u64(j, "largest_free_bytes", st->largest_free);
	json_u64(j, "free_blocks", st->free_blocks);
	json_u64(j, "used_blocks", st->used_blocks);
	json_u64(j, "zones", st->zones);
	json_u64(j, "zone_bytes", st->zone_bytes);
	json_u64(j, "heap_allocs", st->heap_allocs);
	json_u64(j, "heap_frees", st->heap_frees);
	json_u64(j, "bad_frees", st->bad_frees);
	json_u64(j, "recoveries", st->recoveries);
	json_u64(j, "repairs", st->repairs);
	json_obj_end(j);
}

/* "zones": [...], "heap": [one object per node]. */
void cli_heap_json(struct hm_ctx *ctx, struct json *j)
{
	struct hm_heap_stats st;
	int seen[HM_MAX_NODES] = {0};

	json_arr(j, "zones");
	hm_memzone_walk(ctx, json_zone, j);
	json_arr_end(j);
	hm_segment_walk(ctx, seg_node, seen);
	json_arr(j, "heap");
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (seen[node] && hm_heap_stats(ctx, node, &st) == 0)
			json_heap_node(j, &st);
	json_arr_end(j);
}

static int text_zone(const struct hm_memzone *z, void *arg)
{
	char len[32];
	int *n = arg;

	if ((*n)++ == 0)
		printf("  %-16s %-16s %-16s %-10s %-5s %s\n", "zone", "va", "iova", "length",
		       "node", "contig");
	printf("  %-16s 0x%-14llx 0x%-14llx %-10s %-5d %s\n", z->name,
	       (unsigned long long)(uintptr_t)z->va, (unsigned long long)z->iova,
	       hm_size_str(z->len, len, sizeof(len)), z->socket,
	       z->flags & HM_MZ_IOVA_CONTIG ? "yes" : "no");
	return 0;
}

/* BYTES rounded to one decimal in the largest binary unit ("47.9 MiB"). */
static const char *approx(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

/* The zones (when there are any) and one line of heap per node. */
void cli_heap_text(struct hm_ctx *ctx)
{
	struct hm_heap_stats st;
	char fr[32], tot[32], big[32];
	int seen[HM_MAX_NODES] = {0}, n = 0;

	hm_memzone_walk(ctx, text_zone, &n);
	hm_segment_walk(ctx, seg_node, seen);
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (seen[node] && hm_heap_stats(ctx, node, &st) == 0)
			printf("  heap on node %d: %s free of %s, largest block %s\n", node,
			       approx(st.free, fr, sizeof(fr)), approx(st.total, tot, sizeof(tot)),
			       approx(st.largest_free, big, sizeof(big)));
}
