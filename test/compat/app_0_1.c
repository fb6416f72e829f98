/* SPDX-License-Identifier: MIT */
/*
 * app_0_1.c — an application written against the hugemem.h of 0.1.0, kept
 * exactly as such a program was written (examples/dma_zone.c style): it sets
 * the fields of struct hm_opts an application sets (mem, socket_mem,
 * page_size, file_prefix, huge_dir, the library's HM_OPT_* flags) after
 * hm_opts_init and calls the functions of that header. test/api_compat.t
 * builds it with -Werror against today's header and runs it: the API stays
 * source compatible. Do not modernise this file; it is the old API on purpose.
 *
 *   app_0_1 RUNDIR PREFIX   hm_init with ordinary pages (no hugepage needed),
 *                           a block, a zone, hm_fini; then the hugepage
 *                           options set by hand equal those parsed from words
 */
#include <hugemem.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MiB (1ULL << 20)

static int fail(struct hm_ctx *ctx, const char *what)
{
	fprintf(stderr, "app_0_1: %s: %s\n", what, hm_errmsg(ctx));
	return 1;
}

/* A primary on ordinary pages: init, allocate, translate, a zone, fini. */
static int run_no_huge(struct hm_ctx *ctx, const char *prefix)
{
	struct hm_memzone mz;
	struct hm_opts o;
	void *p;

	hm_opts_init(&o);
	o.mem = 8 * MiB;
	o.file_prefix = prefix;
	o.huge_dir = NULL;
	o.flags |= HM_OPT_NO_HUGE | HM_OPT_NO_SHCONF;
	if (hm_init(ctx, &o) < 0)
		return fail(ctx, "hm_init");
	p = hm_malloc(ctx, 4096, 0);
	if (!p || hm_virt2iova(ctx, p) == HM_BAD_IOVA)
		return fail(ctx, "hm_malloc");
	if (hm_memzone_reserve(ctx, "rx_ring", 64 * 1024, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 0,
			       &mz) < 0)
		return fail(ctx, "hm_memzone_reserve");
	printf("init: %" PRIu64 " bytes, %d segments, zone %s of %" PRIu64 " bytes\n",
	       hm_layout(ctx)->total_bytes, hm_layout(ctx)->n_segments, mz.name, mz.len);
	hm_free(ctx, p);
	if (hm_fini(ctx) < 0)
		return fail(ctx, "hm_fini");
	return 0;
}

/* The hugepage options, set by hand and parsed from words: the same. */
static int same_as_parsed(struct hm_ctx *ctx, const char *prefix)
{
	char *argv[] = {(char *)"--socket-mem",	 (char *)"64,0,32",
			(char *)"--page-size",	 (char *)"2M",
			(char *)"--file-prefix", (char *)prefix,
			(char *)"--in-memory",	 (char *)"--single-file-segments",
			(char *)"--verify",	 (char *)"--huge-unlink"};
	struct hm_opts set, parsed;

	hm_opts_init(&set);
	set.socket_mem[0] = 64 * MiB;
	set.socket_mem[2] = 32 * MiB;
	set.socket_mem_count = 3;
	set.page_size = 2 * MiB;
	set.file_prefix = prefix;
	set.flags |= HM_OPT_IN_MEMORY | HM_OPT_SINGLE_FILE | HM_OPT_VERIFY | HM_OPT_HUGE_UNLINK;
	hm_opts_init(&parsed);
	if (hm_opts_parse(ctx, &parsed, HM_CMD_INIT, (int)(sizeof(argv) / sizeof(argv[0])), argv) <
	    0)
		return fail(ctx, "hm_opts_parse");
	if (memcmp(set.socket_mem, parsed.socket_mem, sizeof(set.socket_mem)) != 0 ||
	    set.socket_mem_count != parsed.socket_mem_count || set.page_size != parsed.page_size ||
	    set.flags != parsed.flags || strcmp(set.file_prefix, parsed.file_prefix) != 0 ||
	    set.mem != parsed.mem) {
		fprintf(stderr, "app_0_1: options set by hand differ from the parsed ones\n");
		return 1;
	}
	printf("options: set by hand == parsed (flags 0x%x)\n", set.flags);
	return 0;
}

int main(int argc, char **argv)
{
	struct hm_ctx *ctx;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: app_0_1 RUNDIR PREFIX\n");
		return 2;
	}
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	if (hm_ctx_set_runtime_dir(ctx, argv[1]) < 0)
		rc = fail(ctx, "hm_ctx_set_runtime_dir");
	else
		rc = run_no_huge(ctx, argv[2]);
	if (rc == 0)
		rc = same_as_parsed(ctx, argv[2]);
	hm_ctx_free(ctx);
	return rc;
}
