/* SPDX-License-Identifier: MIT */
/*
 * keeper_join_test.c — the keeper's holders (keeper/lease.c): JOIN proves
 * possession of a leased chunk by its memfd's inode, refuses a descriptor
 * that is no leased chunk (another memfd, one without the keeper's seals, a
 * file that is no memfd, a chunk that came back) and a chunk with 64
 * holders, changing nothing; a chunk comes back only when its last holder
 * lets go, and what it costs passes from the first holder to the next. The
 * chunks here are ordinary sealed memfds (no hugepages needed): JOIN looks
 * at seals and inodes, never at pages.
 */
#include "keeper/keeper.h"
#include "base/platform.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

#define N_CHUNKS 3
#define N_CL	 (HMI_KEEPER_HOLDERS_MAX + 2)

static struct hm_ctx *ctx;

/* A memfd like a chunk's (sealed as the keeper seals) or not (SEALS 0). */
static int memfd(int seals)
{
	int fd = hmi_memfd_create("keeper-join-test", MFD_CLOEXEC | 0x0002U /* ALLOW_SEALING */);

	if (fd >= 0 && ftruncate(fd, 4096) < 0)
		diag("ftruncate: %s", strerror(errno));
	if (fd >= 0 && seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
		diag("F_ADD_SEALS: %s", strerror(errno));
	return fd;
}

/* CS with N_CHUNKS chunks, each a sealed memfd in FDS, chunk I leased by
 * client slot 0, charged to it in CL. */
static void setup(struct hmi_chunks *cs, struct hmi_chunk *c, int *fds, struct hmi_client *cl)
{
	*cs = (struct hmi_chunks){.page_size = 4096, .chunk_bytes = 4096, .c = c, .n = N_CHUNKS};
	memset(cl, 0, sizeof(*cl) * N_CL);
	for (int i = 0; i < N_CHUNKS; i++) {
		struct stat st;

		fds[i] = memfd(HMI_KEEPER_SEALS);
		fstat(fds[i], &st);
		c[i] = (struct hmi_chunk){.id = 100 + (uint64_t)i,
					  .fd = -1,
					  .len = 4096,
					  .state = HMI_CHUNK_LEASED,
					  .n_holders = 1,
					  .dev = st.st_dev,
					  .ino = st.st_ino};
		cl[0].bytes += 4096;
	}
}

static void test_match(void)
{
	struct hmi_chunk c[N_CHUNKS];
	struct hmi_client cl[N_CL];
	struct hmi_chunks cs;
	int fds[N_CHUNKS], other, unsealed, devnull, dup_fd, two[2];
	size_t idx[4] = {9, 9, 9, 9};

	setup(&cs, c, fds, cl);
	dup_fd = dup(fds[2]);
	two[0] = fds[2];
	two[1] = fds[0];
	is_int(hmi_join_match(ctx, &cs, 1, two, 2, idx), 0, "JOIN of two chunks' memfds matches");
	ok(idx[0] == 2 && idx[1] == 0, "each descriptor names its chunk (2, 0)");
	ok(c[0].n_holders == 1 && c[2].n_holders == 1, "matching alone changes nothing");
	is_int(hmi_join_match(ctx, &cs, 1, &dup_fd, 1, idx), 0,
	       "a dup of a chunk's memfd is that chunk (same inode)");

	other = memfd(HMI_KEEPER_SEALS);
	unsealed = memfd(0);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	two[1] = other;
	is_int(hmi_join_match(ctx, &cs, 1, two, 2, idx), -ENOENT,
	       "a sealed memfd that is no chunk's is -ENOENT");
	like(hm_errmsg(ctx), "descriptor 2 of the 2", "  naming the descriptor: %s",
	     hm_errmsg(ctx));
	is_int(hmi_join_match(ctx, &cs, 1, &unsealed, 1, idx), -ENOENT,
	       "a memfd without the keeper's seals is -ENOENT");
	is_int(hmi_join_match(ctx, &cs, 1, &devnull, 1, idx), -ENOENT,
	       "a descriptor that is no memfd is -ENOENT");
	c[1].state = HMI_CHUNK_PENDING;
	is_int(hmi_join_match(ctx, &cs, 1, &fds[1], 1, idx), -ENOENT,
	       "the memfd of a chunk that came back is -ENOENT");
	c[1].state = HMI_CHUNK_LEASED;
	c[1].ino = 0;
	is_int(hmi_join_match(ctx, &cs, 1, &fds[1], 1, idx), -ENOENT,
	       "a chunk whose inode is unknown matches nothing");
	close(other);
	close(unsealed);
	close(devnull);
	close(dup_fd);
	for (int i = 0; i < N_CHUNKS; i++)
		close(fds[i]);
}

static void test_holders(void)
{
	struct hmi_chunk c[N_CHUNKS];
	struct hmi_client cl[N_CL];
	struct hmi_chunks cs;
	int fds[N_CHUNKS], full = 1;
	size_t idx[2];

	setup(&cs, c, fds, cl);
	is_int(hmi_join_match(ctx, &cs, 1, &fds[0], 1, idx), 0, "client 1 joins chunk 0");
	hmi_join_apply(&cs, 1, idx, 1);
	hmi_join_apply(&cs, 1, idx, 1);
	ok(c[0].n_holders == 2 && c[0].holders[0] == 0 && c[0].holders[1] == 1,
	   "it is the second holder, once, though joined twice");
	ok(hmi_chunk_holds(&c[0], 1) && !hmi_chunk_holds(&c[1], 1) && hmi_chunk_holds(&c[0], 0),
	   "holds: chunk 0 by both, chunk 1 by the leaser alone");
	is_int(hmi_join_match(ctx, &cs, 0, &fds[0], 1, idx), 0,
	       "the leaser joining its own chunk matches");
	hmi_join_apply(&cs, 0, idx, 1);
	ok(c[0].n_holders == 2, "and changes nothing");

	is_int(hmi_chunk_let_go(&cs, cl, 0, 0), 0, "the leaser lets go: a holder is left");
	ok(cl[0].bytes == 2 * 4096 && cl[1].bytes == 4096 && c[0].holders[0] == 1,
	   "what chunk 0 costs passes to the joiner (leaser %llu, joiner %llu bytes)",
	   (unsigned long long)cl[0].bytes, (unsigned long long)cl[1].bytes);
	is_int(hmi_chunk_let_go(&cs, cl, 0, 0), 0, "letting go twice does nothing");
	is_int(hmi_chunk_let_go(&cs, cl, 0, 1), 1, "the last holder lets go: the chunk comes back");
	ok(cl[1].bytes == 0 && c[0].n_holders == 0, "and no one is charged for it");

	for (size_t h = 2; h < HMI_KEEPER_HOLDERS_MAX + 1; h++) {
		full &= hmi_join_match(ctx, &cs, h, &fds[1], 1, idx) == 0;
		hmi_join_apply(&cs, h, idx, 1);
	}
	ok(full && c[1].n_holders == HMI_KEEPER_HOLDERS_MAX, "chunk 1 takes %d holders",
	   HMI_KEEPER_HOLDERS_MAX);
	idx[0] = idx[1] = 7;
	{
		int two[2] = {fds[2], fds[1]};

		is_int(hmi_join_match(ctx, &cs, N_CL - 1, two, 2, idx), -EUSERS,
		       "a holder more is -EUSERS");
	}
	like(hm_errmsg(ctx), "has 64 holders already", "  saying so: %s", hm_errmsg(ctx));
	ok(c[2].n_holders == 1 && c[1].n_holders == HMI_KEEPER_HOLDERS_MAX,
	   "and nothing joined, not even the chunk before it");
	is_int(hmi_join_match(ctx, &cs, 5, &fds[1], 1, idx), 0,
	       "one of its holders may join it again");
	for (int i = 0; i < N_CHUNKS; i++)
		close(fds[i]);
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	plan(10 + 15);
	test_match();
	test_holders();
	hm_ctx_free(ctx);
	return done();
}
