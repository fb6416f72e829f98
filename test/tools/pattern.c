/* SPDX-License-Identifier: MIT */
/*
 * pattern — a test helper that proves primary and secondary share memory at
 * the same addresses:
 *   pattern primary PREFIX [init options...]
 *       hm_init, write A(va) at the start and end of every page, print
 *       "ready", wait for a line (or end) on stdin, then check that every
 *       page holds B(va) (written by a secondary) after its first word;
 *       exit 0 when all do, 3 otherwise.
 *   pattern secondary PREFIX [attach options...]
 *       hm_attach, check A(va) at the same addresses, write B(va); exit 0
 *       when every page matched, 3 otherwise; 4 when hm_malloc does not
 *       refuse, naming the overwritten heap arena. Failures to start: exit 1
 *       with hm_errmsg on stderr.
 *   pattern fresh PREFIX [init options...]
 *       hm_init, check that every page (but the first of segment 0, where
 *       the heap's arena is) holds zeros in its first and last words (memory
 *       no process wrote since the kernel gave it: a pool keeper's, after
 *       another user's A), then write A(va) there as a primary does; exit 0
 *       when all were zero, 3 otherwise.
 *   pattern occupied PREFIX BASE
 *       map one page at BASE (inside the primary's window), then hm_attach:
 *       exit 0 when it fails with -EEXIST and leaves nothing mapped but that
 *       page, 3 otherwise; the message goes to stdout.
 */
#include "hugemem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define A(va) ((uint64_t)(uintptr_t)(va) ^ 0xa5a5a5a5a5a5a5a5ULL)
#define B(va) ((uint64_t)(uintptr_t)(va) ^ 0x5b5b5b5b5b5b5b5bULL)

typedef int (*page_fn)(uint64_t *first, uint64_t *last);

static int put_a(uint64_t *first, uint64_t *last)
{
	*first = A(first);
	*last = A(last);
	return 0;
}

static int check_a_put_b(uint64_t *first, uint64_t *last)
{
	int bad = *first != A(first) || *last != A(last);

	first[1] = B(first);
	return bad;
}

static int check_b(uint64_t *first, uint64_t *last)
{
	(void)last;
	return first[1] != B(first);
}

static int check_zero_put_a(uint64_t *first, uint64_t *last)
{
	int bad = *first != 0 || *last != 0;

	put_a(first, last);
	return bad;
}

struct walk {
	page_fn fn;
	int bad;
	long pages;
	uint64_t arena;
};

static int each_page(const struct hm_segment *s, void *arg)
{
	struct walk *w = arg;

	for (uint64_t off = 0; off < s->len; off += s->page_size) {
		char *page = (char *)s->va + off;

		if (w->fn == check_zero_put_a && (uint64_t)(uintptr_t)page == w->arena)
			continue; /* the heap's arena, at the start of segment 0 */
		w->bad += w->fn((uint64_t *)page, (uint64_t *)(page + s->page_size) - 1);
		w->pages++;
	}
	return 0;
}

static int walk(struct hm_ctx *ctx, page_fn fn)
{
	struct walk w = {fn, 0, 0, hm_layout(ctx)->va_base};

	hm_segment_walk(ctx, each_page, &w);
	if (w.bad)
		fprintf(stderr, "pattern: %d of %ld pages do not hold the expected words\n", w.bad,
			w.pages);
	return w.bad ? 3 : 0;
}

static int start(struct hm_ctx *ctx, int primary, int argc, char **argv)
{
	char prefix[] = "--file-prefix";
	char *args[32] = {prefix, argv[2]};
	struct hm_opts o;
	int n = 2;

	for (int i = 3; i < argc && n < 32; i++)
		args[n++] = argv[i];
	hm_opts_init(&o);
	if (hm_opts_parse(ctx, &o, primary ? HM_CMD_INIT : HM_CMD_ATTACH, n, args) < 0 ||
	    (primary ? hm_init(ctx, &o) : hm_attach(ctx, &o)) < 0) {
		fprintf(stderr, "pattern: %s\n", hm_errmsg(ctx));
		return 1;
	}
	return 0;
}

/* The runtime directory the CLI would use (HUGEMEM_RUNTIME_DIR). */
static int use_rundir(struct hm_ctx *ctx)
{
	const char *dir = getenv("HUGEMEM_RUNTIME_DIR");

	return dir && *dir ? hm_ctx_set_runtime_dir(ctx, dir) : 0;
}

/* Mappings of /proc/self/maps inside [BASE, BASE+LEN), besides BLOCKER. */
static int others_in(uint64_t base, uint64_t len, uint64_t blocker)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long long lo, hi;
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && lo < base + len && hi > base &&
		    lo != blocker)
			n++;
	if (f)
		fclose(f);
	return n;
}

static int occupied(int argc, char **argv)
{
	uint64_t base = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	char prefix[] = "--file-prefix";
	char *args[2] = {prefix, argv[2]};
	struct hm_ctx *ctx;
	struct hm_opts o;
	int rc;

	if (mmap((void *)(uintptr_t)base, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED ||
	    hm_ctx_new(&ctx) < 0 || use_rundir(ctx) < 0)
		return 1;
	hm_opts_init(&o);
	hm_opts_parse(ctx, &o, HM_CMD_ATTACH, 2, args);
	rc = hm_attach(ctx, &o);
	printf("%s\n", hm_errmsg(ctx));
	rc = rc == -EEXIST && others_in(base & ~0xfffffULL, 1ULL << 40, base) == 0 ? 0 : 3;
	hm_ctx_free(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	int fresh = argc > 2 && strcmp(argv[1], "fresh") == 0;
	int primary = fresh || (argc > 2 && strcmp(argv[1], "primary") == 0), rc;
	struct hm_ctx *ctx;
	char line[64];

	if (argc > 2 && strcmp(argv[1], "occupied") == 0)
		return occupied(argc, argv);
	if (argc < 3 || (!primary && strcmp(argv[1], "secondary") != 0)) {
		fprintf(stderr, "usage: pattern primary|secondary|fresh PREFIX [options]\n");
		return 2;
	}
	if (hm_ctx_new(&ctx) < 0 || use_rundir(ctx) < 0 || start(ctx, primary, argc, argv) != 0)
		return 1;
	if (fresh) {
		rc = walk(ctx, check_zero_put_a);
	} else if (primary) {
		walk(ctx, put_a);
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = '\0';
		rc = walk(ctx, check_b);
	} else {
		rc = walk(ctx, check_a_put_b);
		/* the primary wrote over all of segment 0, the heap's arena with it:
		 * the attach worked, heap calls say why there is no heap */
		if (rc == 0 && (hm_malloc(ctx, 64, 0) != NULL ||
				!strstr(hm_errmsg(ctx), "no heap in this secondary"))) {
			fprintf(stderr, "pattern: hm_malloc over a clobbered arena: %s\n",
				hm_errmsg(ctx));
			rc = 4;
		}
	}
	hm_ctx_free(ctx);
	return rc;
}
