/* SPDX-License-Identifier: MIT */
/*
 * memzone_test.c — named zones over an hm_init --no-huge context (one
 * 16 MiB segment, IOVA = VA): reserve, lookup, walk, free; every refusal
 * with its errno and message (names, flags, alignment, length, node,
 * duplicates, a zone larger than any segment, a full table); zones are
 * cleared, aligned, contiguous, never freed by hm_free; statistics count
 * them; the heap checks after each part.
 */
#include "hugemem.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ULL << 20)

static struct hm_ctx *ctx;

static int all_zero(const void *p, uint64_t len)
{
	const unsigned char *c = p;

	for (uint64_t i = 0; i < len; i++)
		if (c[i])
			return 0;
	return 1;
}

static void reserve_lookup(void)
{
	struct hm_memzone z, l;

	is_int(hm_memzone_reserve(ctx, "rx", 1 * MiB, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 0, &z), 0,
	       "reserve rx, 1 MiB, contiguous");
	is_str(z.name, "rx", "its name");
	ok(z.va && (uintptr_t)z.va % 64 == 0, "64-byte aligned");
	is_u64(z.len, 1 * MiB, "its length as asked");
	is_int(z.socket, 0, "on node 0");
	is_u64(z.iova, hm_virt2iova(ctx, z.va), "its IOVA is the translation of its VA");
	ok(hm_iova_contig_len(ctx, z.va) >= z.len, "contiguous in IOVA over its length");
	ok(z.flags == HM_MZ_IOVA_CONTIG, "flags kept");
	ok(all_zero(z.va, z.len), "its memory is zero");
	memset(z.va, 0xff, z.len);
	is_int(hm_memzone_lookup(ctx, "rx", &l), 0, "lookup rx");
	ok(l.va == z.va && l.len == z.len && l.iova == z.iova, "the same zone");
	is_int(hm_memzone_reserve(ctx, "rx", 64, HM_SOCKET_ANY, 0, 0, NULL), -EEXIST,
	       "the same name again: -EEXIST");
	like(hm_errmsg(ctx), "exists already", "message says it exists");
	is_int(hm_memzone_lookup(ctx, "tx", &l), -ENOENT, "lookup of an unknown name: -ENOENT");
	like(hm_errmsg(ctx), "no zone named 'tx'", "message names it");
}

static void refusals(void)
{
	char longname[40];

	memset(longname, 'a', 32);
	longname[32] = '\0';
	is_int(hm_memzone_reserve(ctx, "", 64, -1, 0, 0, NULL), -EINVAL, "empty name: -EINVAL");
	like(hm_errmsg(ctx), "empty", "message says empty");
	is_int(hm_memzone_reserve(ctx, longname, 64, -1, 0, 0, NULL), -EINVAL,
	       "32-byte name: -EINVAL");
	like(hm_errmsg(ctx), "too long", "message says too long");
	longname[31] = '\0';
	is_int(hm_memzone_reserve(ctx, longname, 64, -1, 0, 0, NULL), 0, "31-byte name: fine");
	is_int(hm_memzone_free(ctx, longname), 0, "and freed");
	is_int(hm_memzone_reserve(ctx, "a/b", 64, -1, 0, 0, NULL), -EINVAL, "'/' in a name");
	like(hm_errmsg(ctx), "'/'", "message names the character");
	is_int(hm_memzone_reserve(ctx, NULL, 64, -1, 0, 0, NULL), -EINVAL, "NULL name");
	is_int(hm_memzone_reserve(ctx, "z", 0, -1, 0, 0, NULL), -EINVAL, "length 0");
	is_int(hm_memzone_reserve(ctx, "z", 64, -1, 0x10, 0, NULL), -EINVAL, "unknown flag");
	like(hm_errmsg(ctx), "unknown flags", "message names the flags");
	is_int(hm_memzone_reserve(ctx, "z", 64, -1, 0, 96, NULL), -EINVAL, "alignment 96");
	is_int(hm_memzone_reserve(ctx, "z", 64, -1, 0, 8192, NULL), -EINVAL,
	       "alignment above the page size");
	is_int(hm_memzone_reserve(ctx, "z", 64, 2, 0, 0, NULL), -ENOENT, "node 2: no memory");
	like(hm_errmsg(ctx), "no memory on node 2", "message names the node");
	is_int(hm_memzone_reserve(ctx, "big", 32 * MiB, -1, HM_MZ_IOVA_CONTIG, 0, NULL), -ENOMEM,
	       "larger than the only segment: -ENOMEM");
	like(hm_errmsg(ctx), "largest contiguous piece on node 0", "message names the piece");
	like(hm_errmsg(ctx), "segments up to 16 MiB", "and the largest segment");
	is_int(hm_memzone_lookup(ctx, "big", NULL), -ENOENT, "nothing left of the refused zone");
}

static void aligned_and_cleared(void)
{
	struct hm_memzone z;

	is_int(hm_memzone_reserve(ctx, "al", 10000, -1, 0, 4096, &z), 0, "a 4096-aligned zone");
	ok((uintptr_t)z.va % 4096 == 0, "aligned to 4096");
	memset(z.va, 0x5a, z.len);
	is_int(hm_memzone_free(ctx, "al"), 0, "freed");
	is_int(hm_memzone_reserve(ctx, "al2", 10000, -1, 0, 4096, &z), 0, "again, same size");
	ok(all_zero(z.va, z.len), "a zone over reused memory is cleared");
	hm_free(ctx, z.va);
	like(hm_errmsg(ctx), "memzone", "hm_free of a zone: ignored, said");
	is_int(hm_memzone_lookup(ctx, "al2", &z), 0, "the zone is still there");
	is_int(hm_heap_check(ctx), 0, "heap checks");
}

static int count_zone(const struct hm_memzone *z, void *arg)
{
	int *n = arg;

	(*n)++;
	return strcmp(z->name, "stop") == 0 ? 42 : 0;
}

static void walk_and_stats(void)
{
	struct hm_heap_stats st;
	int n = 0;

	is_int(hm_memzone_walk(ctx, count_zone, &n), 0, "walk");
	is_int(n, 2, "two zones: rx and al2");
	is_int(hm_heap_stats(ctx, 0, &st), 0, "stats");
	is_int(st.zones, 2, "stats count two zones");
	is_u64(st.zone_bytes, 1 * MiB + 10000, "and their bytes");
	is_int(hm_memzone_reserve(ctx, "stop", 64, -1, 0, 0, NULL), 0, "a third");
	n = 0;
	is_int(hm_memzone_walk(ctx, count_zone, &n), 42, "walk stops at a non-zero return");
	is_int(hm_memzone_free(ctx, "stop"), 0, "free it");
	is_int(hm_memzone_free(ctx, "stop"), -ENOENT, "free twice: -ENOENT");
}

static void table_full(void)
{
	char name[32];
	int okays = 0, rc = 0;

	for (int i = 0; i < 254; i++) {
		snprintf(name, sizeof(name), "z%d", i);
		okays += hm_memzone_reserve(ctx, name, 128, -1, 0, 0, NULL) == 0;
	}
	is_int(okays, 254, "254 more zones: 256 in all");
	rc = hm_memzone_reserve(ctx, "onemore", 128, -1, 0, 0, NULL);
	is_int(rc, -ENOSPC, "the 257th: -ENOSPC");
	like(hm_errmsg(ctx), "table is full", "message says the table is full");
	okays = 0;
	for (int i = 0; i < 254; i++) {
		snprintf(name, sizeof(name), "z%d", i);
		okays += hm_memzone_free(ctx, name) == 0;
	}
	is_int(okays, 254, "all freed");
	is_int(hm_memzone_free(ctx, "rx"), 0, "rx freed");
	is_int(hm_memzone_free(ctx, "al2"), 0, "al2 freed");
	is_int(hm_heap_check(ctx), 0, "heap checks");
}

static void before_init(void)
{
	struct hm_memzone z;

	is_int(hm_memzone_reserve(ctx, "x", 64, -1, 0, 0, &z), -ENOENT, "no heap yet: -ENOENT");
	like(hm_errmsg(ctx), "hm_init", "message says to init first");
	is_int(hm_memzone_lookup(ctx, "x", &z), -ENOENT, "lookup: -ENOENT");
}

/* hm_init reserves the zones of hm_opts.zones; one that does not fit fails
 * hm_init, which then leaves nothing. */
static void zones_at_init(void)
{
	struct hm_zone_spec zones[2] = {{"rx_at_init", 1 * MiB, 1}, {"tx_at_init", 64 * 1024, 0}};
	struct hm_memzone z;
	struct hm_opts o;

	hm_opts_init(&o);
	o.flags |= HM_OPT_NO_HUGE | HM_OPT_NO_SHCONF;
	o.mem = 16 * MiB;
	o.file_prefix = "hmzonetest";
	o.zones = zones;
	o.n_zones = 2;
	is_int(hm_init(ctx, &o), 0, "hm_init with two zones");
	ok(hm_memzone_lookup(ctx, "rx_at_init", &z) == 0 && z.len == MiB &&
	       hm_memzone_lookup(ctx, "tx_at_init", NULL) == 0,
	   "both reserved by hm_init");
	is_int(hm_fini(ctx), 0, "hm_fini");
	zones[1].len = 64 * MiB;
	is_int(hm_init(ctx, &o), -ENOMEM, "a zone larger than the memory fails hm_init");
	like(hm_errmsg(ctx), "--zone tx_at_init: ", "the message names the zone");
	ok(hm_layout(ctx) == NULL, "and nothing is left");
	o.n_zones = 1;
	is_int(hm_init(ctx, &o), 0, "the context starts again without it");
	is_int(hm_fini(ctx), 0, "hm_fini");
}

int main(void)
{
	char rundir[64];
	struct hm_opts o;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("no memory for a context");
	snprintf(rundir, sizeof(rundir), "/tmp/hmzonetest.%d", (int)getpid());
	mkdir(rundir, 0700);
	hm_ctx_set_runtime_dir(ctx, rundir);
	before_init();
	hm_opts_init(&o);
	o.flags |= HM_OPT_NO_HUGE | HM_OPT_NO_SHCONF;
	o.mem = 16 * MiB;
	o.file_prefix = "hmzonetest";
	is_int(hm_init(ctx, &o), 0, "hm_init --no-huge -m 16");
	reserve_lookup();
	refusals();
	aligned_and_cleared();
	walk_and_stats();
	table_full();
	is_int(hm_fini(ctx), 0, "hm_fini");
	zones_at_init();
	hm_ctx_free(ctx);
	rmdir(rundir);
	return done();
}
