/* SPDX-License-Identifier: MIT */
/*
 * dma_zone.c — what a user-space driver does with libhugemem, start to end:
 *
 *   1. the primary maps hugepage memory (hm_init), as a driver's main process
 *      would at start-up;
 *   2. reserves a named zone that is contiguous in IO addresses — a
 *      descriptor ring, say — and gets the one address to program into the
 *      device (its IOVA);
 *   3. starts a second process (fork + exec of itself) that attaches to the
 *      same memory (hm_attach), looks the zone up by name and finds it at the
 *      same virtual address with the same IOVA, and the bytes the primary
 *      wrote in it;
 *   4. gives everything back (hm_fini).
 *
 * Build against the installed library:  cc dma_zone.c $(pkg-config --cflags
 * --libs hugemem). Run as root with a hugepage pool and a hugetlbfs mount
 * (sudo hugemem reserve 256M && sudo hugemem mount); without root it still
 * runs, with IOVA = VA.
 *
 *   dma_zone [ZONE_BYTES [PREFIX]]     primary (defaults: 1 MiB, "dma_zone")
 *
 * A zone lies within one segment, so it can be at most as long as the
 * longest physically contiguous run the primary got: one page (2 MiB) on a
 * scattered pool. For larger zones give the primary contiguous memory:
 * o.contig = HM_CONTIG_BEST (the whole pool is searched), or order the pool
 * first (`hugemem reorder`); `hugemem map` shows what the pool allows.
 *   dma_zone --secondary PREFIX NAME VA IOVA   (what the primary execs)
 */
#include <hugemem.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZONE_NAME "rx_ring"
#define PATTERN	  0x5a

/* The IOVA-contiguous zone: hm_memzone_reserve does the work (any zone is
 * within one segment, so contiguous in IO addresses). A library without zones
 * would walk hm_segment_walk for a segment of at least LEN bytes instead. */
static int reserve_zone(struct hm_ctx *ctx, uint64_t len, struct hm_memzone *mz)
{
	return hm_memzone_reserve(ctx, ZONE_NAME, len, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG, 0, mz);
}

/* Run this program again as a secondary of PREFIX: it must find the zone at
 * VA with IOVA. Returns its exit status. */
static int run_secondary(const char *prefix, const struct hm_memzone *mz)
{
	char va[32], iova[32];
	pid_t pid;
	int status;

	snprintf(va, sizeof(va), "%p", mz->va);
	snprintf(iova, sizeof(iova), "0x%" PRIx64, mz->iova);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "dma_zone", "--secondary", prefix, ZONE_NAME, va, iova,
		      (char *)NULL);
		perror("exec");
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int primary(uint64_t len, const char *prefix)
{
	struct hm_memzone mz;
	struct hm_ctx *ctx;
	struct hm_opts o;
	int rc = 1;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	hm_opts_init(&o);
	o.mem = len < (32ULL << 20) ? 64ULL << 20 : 2 * len; /* room for the heap's own use */
	o.file_prefix = prefix;
	if (hm_init(ctx, &o) < 0) {
		fprintf(stderr, "dma_zone: hm_init: %s\n", hm_errmsg(ctx));
		goto out;
	}
	if (reserve_zone(ctx, len, &mz) < 0) {
		fprintf(stderr, "dma_zone: zone: %s\n", hm_errmsg(ctx));
		goto out;
	}
	/* what the device gets: one IO address for LEN contiguous bytes */
	printf("primary:   zone %s va %p iova 0x%" PRIx64 " len %" PRIu64 " (IOVA = %s)\n", mz.name,
	       mz.va, mz.iova, mz.len, hm_layout(ctx)->iova_mode == HM_IOVA_PA ? "PA" : "VA");
	if (hm_iova_contig_len(ctx, mz.va) < mz.len || hm_virt2iova(ctx, mz.va) != mz.iova) {
		fprintf(stderr, "dma_zone: the zone is not IOVA-contiguous\n");
		goto out;
	}
	memset(mz.va, PATTERN, mz.len);
	rc = run_secondary(prefix, &mz);
	printf("primary:   the secondary %s\n", rc == 0 ? "saw the same zone" : "FAILED");
out:
	hm_fini(ctx); /* -EINVAL when hm_init failed: nothing to give back */
	hm_ctx_free(ctx);
	return rc;
}

static int secondary(const char *prefix, const char *name, const char *va, const char *iova)
{
	struct hm_memzone mz;
	struct hm_ctx *ctx;
	struct hm_opts o;
	int rc = 1;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	hm_opts_init(&o);
	o.file_prefix = prefix;
	if (hm_attach(ctx, &o) < 0) {
		fprintf(stderr, "dma_zone: hm_attach: %s\n", hm_errmsg(ctx));
	} else if (hm_memzone_lookup(ctx, name, &mz) < 0) {
		fprintf(stderr, "dma_zone: lookup: %s\n", hm_errmsg(ctx));
	} else {
		printf("secondary: zone %s va %p iova 0x%" PRIx64 " (translated: 0x%" PRIx64 ")\n",
		       mz.name, mz.va, mz.iova, hm_virt2iova(ctx, mz.va));
		rc = mz.va == (void *)strtoull(va, NULL, 16) &&
			     mz.iova == strtoull(iova, NULL, 16) &&
			     hm_virt2iova(ctx, mz.va) == mz.iova &&
			     ((unsigned char *)mz.va)[mz.len - 1] == PATTERN
			 ? 0
			 : 1;
		hm_fini(ctx);
	}
	hm_ctx_free(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "--secondary") == 0)
		return secondary(argv[2], argv[3], argv[4], argv[5]);
	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: dma_zone [ZONE_BYTES [PREFIX]]\n");
		return 2;
	}
	return primary(argc > 1 ? strtoull(argv[1], NULL, 0) : 1ULL << 20,
		       argc > 2 ? argv[2] : "dma_zone");
}
