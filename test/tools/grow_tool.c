/* SPDX-License-Identifier: MIT */
/*
 * grow_tool — drives growth at run time (docs/growth.md) for the shell tests
 * (test/real_cgroup_grow.t): hm_init with the options given, then one step
 * after another, one line of output per step.
 *
 *   grow_tool [init options] -- STEP...
 *
 * Steps:
 *   SIZE   hm_malloc(SIZE) ("1M", "64K", bytes), kept; every byte written,
 *          so memory that was not really there would kill the tool (SIGBUS)
 *          instead of printing the next line;
 *   free   hm_free every block kept;
 *   trim   hm_mem_trim.
 * Lines:
 *   init ok total=BYTES free=PAGES | init fail ERRNO MESSAGE
 *   malloc SIZE ok total=BYTES free=PAGES
 *   malloc SIZE fail ERRNO total=BYTES free=PAGES: MESSAGE
 *   free N total=BYTES free=PAGES
 *   trim UNITS BYTES total=BYTES free=PAGES
 *   done
 * total is hm_layout()->total_bytes, free the pool's free_hugepages of the
 * page size in use (read here, not through the library). Exit 0 after
 * "done", 1 when hm_init fails, 2 on bad usage. HUGEMEM_RUNTIME_DIR moves
 * the runtime directory, as for the CLI.
 */
#include "hugemem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 1024

struct tool {
	struct hm_ctx *ctx;
	uint64_t page_size;
	void *blk[MAX_BLOCKS];
	int n;
};

/* free_hugepages of the page size in use, or -1. */
static long long pool_free(const struct tool *t)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
		 t->page_size >> 10);
	f = fopen(path, "r");
	if (f && fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void state(const struct tool *t)
{
	printf(" total=%" PRIu64 " free=%lld", hm_layout(t->ctx)->total_bytes, pool_free(t));
}

static void step_malloc(struct tool *t, const char *word)
{
	uint64_t size = 0;
	void *p;

	if (hm_parse_size(t->ctx, word, &size) < 0 || !size) {
		printf("malloc %s fail %d: not a size\n", word, EINVAL);
		return;
	}
	p = t->n < MAX_BLOCKS ? hm_malloc(t->ctx, size, 0) : NULL;
	if (p) {
		memset(p, 0x5a, size);
		t->blk[t->n++] = p;
		printf("malloc %s ok", word);
		state(t);
		putchar('\n');
		return;
	}
	printf("malloc %s fail %d", word, errno);
	state(t);
	printf(": %s\n", hm_errmsg(t->ctx));
}

static void step(struct tool *t, const char *word)
{
	uint64_t freed = 0;
	int rc;

	if (strcmp(word, "free") == 0) {
		printf("free %d", t->n);
		while (t->n > 0)
			hm_free(t->ctx, t->blk[--t->n]);
	} else if (strcmp(word, "trim") == 0) {
		rc = hm_mem_trim(t->ctx, &freed);
		printf("trim %d %" PRIu64, rc, freed);
	} else {
		step_malloc(t, word);
		return;
	}
	state(t);
	putchar('\n');
}

/* hm_init with ARGV[0..N): 0, or 1 with the "init fail" line printed. */
static int start(struct tool *t, int n, char **argv)
{
	const char *rundir = getenv("HUGEMEM_RUNTIME_DIR");
	struct hm_opts o;
	int rc = 0;

	if (rundir)
		rc = hm_ctx_set_runtime_dir(t->ctx, rundir);
	hm_opts_init(&o);
	if (rc == 0)
		rc = hm_opts_parse(t->ctx, &o, HM_CMD_INIT, n, argv);
	if (rc == 0)
		rc = hm_init(t->ctx, &o);
	if (rc < 0) {
		printf("init fail %d %s\n", -rc, hm_errmsg(t->ctx));
		return 1;
	}
	t->page_size = hm_layout(t->ctx)->page_size;
	printf("init ok");
	state(t);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct tool t = {0};
	int sep = 1, rc;

	while (sep < argc && strcmp(argv[sep], "--") != 0)
		sep++;
	if (sep == argc) {
		fprintf(stderr, "usage: grow_tool [init options] -- SIZE|free|trim...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (hm_ctx_new(&t.ctx) < 0)
		return 1;
	rc = start(&t, sep - 1, argv + 1);
	for (int i = sep + 1; rc == 0 && i < argc; i++)
		step(&t, argv[i]);
	if (rc == 0) {
		hm_fini(t.ctx);
		printf("done\n");
	}
	hm_ctx_free(t.ctx);
	return rc;
}
