/* SPDX-License-Identifier: MIT */
/*
 * hold_prefix — a test helper that holds a prefix's liveness lock the way a
 * hugemem primary does (hm_prefix_lock), prints "ready", and sleeps until
 * killed. The runtime directory comes from HUGEMEM_RUNTIME_DIR when set.
 *   hold_prefix PREFIX
 */
#include "hugemem.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *rundir = getenv("HUGEMEM_RUNTIME_DIR");
	struct hm_ctx *ctx;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: hold_prefix PREFIX\n");
		return 2;
	}
	if (hm_ctx_new(&ctx) < 0 || (rundir && hm_ctx_set_runtime_dir(ctx, rundir) < 0) ||
	    hm_prefix_lock(ctx, argv[1], &fd) < 0) {
		fprintf(stderr, "hold_prefix: %s\n", ctx ? hm_errmsg(ctx) : "out of memory");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
