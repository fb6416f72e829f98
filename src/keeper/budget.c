/* SPDX-License-Identifier: MIT */
/*
 * keeper/budget.c — what a client may lease besides what the keeper has
 * free: the keeper's --uid-quota, over every connection of one uid, and
 * the client's own hugetlb cgroup limits.
 *
 * Why the keeper enforces the cgroup's limit itself: the kernel charges a
 * hugetlb page to the cgroup of whoever faulted it, and the keeper faulted
 * every page it holds. A client's pages are charged to the keeper's cgroup,
 * never to the client's, so without this a client in a cgroup limited to
 * 8 MiB could hold a GiB through the keeper. So at each LEASE the keeper
 * reads the client's cgroup (/proc/PID/cgroup, through sys/'s one cgroup
 * reader), then checks the client's pidfd: if the process exited meanwhile
 * its pid may name another, and the lease is refused. For the client's
 * cgroup and each ancestor with a limit (hugetlb.<size>.max; v1
 * limit_in_bytes), what the keeper has leased to clients in that cgroup or
 * below it, plus this lease, must stay within the limit. Pages the client
 * faulted itself are the kernel's to count against the same limit; the
 * keeper counts only its own leases (it cannot tell the keeper's share of a
 * cgroup's usage from the client's own when both are below one ancestor).
 *
 * What a client is charged for is the chunks it is first holder of
 * (lease.c): when a leaser leaves and a joiner keeps a chunk, the joiner's
 * uid and cgroup (read at its JOIN) carry it from then on, checked at their
 * next LEASE; a JOIN itself is never refused for a budget (the memory is in
 * use already).
 *
 * The cgroup hierarchies are found in the keeper's mount table, which
 * changes rarely and costs more to read than the rest of a LEASE (~0.1 ms
 * of ~0.2 ms here): the loop keeps its text and reads it again when the
 * kernel says it changed (server.c: /proc/self/mountinfo polls POLLPRI).
 */
#include "keeper/keeper.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is cgroup PATH the cgroup LEVEL or below it? */
static int within(const char *path, const char *level)
{
	size_t n = strlen(level);

	if (strcmp(level, "/") == 0)
		return 1;
	return strncmp(path, level, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int uid_quota(struct hm_ctx *ctx, uint64_t quota, const struct hmi_client *cl, size_t n,
		     size_t i, uint64_t bytes)
{
	uint64_t used = 0;
	char lim[32], has[32], asked[32];

	if (quota == 0)
		return 0;
	for (size_t c = 0; c < n; c++)
		if (cl[c].sock >= 0 && cl[c].hello && cl[c].uid == cl[i].uid)
			used += cl[c].bytes;
	if (used + bytes <= quota)
		return 0;
	hmi_format_size(quota, lim, sizeof(lim));
	hmi_format_size(used, has, sizeof(has));
	hmi_format_size(bytes, asked, sizeof(asked));
	return hmi_err(ctx, EDQUOT,
		       "the keeper's --uid-quota %s of uid %u is reached (%s leased, %s asked): "
		       "give memory back, or ask for less",
		       lim, (unsigned)cl[i].uid, has, asked);
}

/* What the keeper has leased to clients in cgroup LEVEL or below. */
static uint64_t leased_below(const struct hmi_client *cl, size_t n, const char *level)
{
	uint64_t used = 0;

	for (size_t c = 0; c < n; c++)
		if (cl[c].sock >= 0 && cl[c].cgroup && within(cl[c].cgroup, level))
			used += cl[c].bytes;
	return used;
}

static int cgroup_caps(struct hm_ctx *ctx, const struct hmi_cgroup_caps *cg,
		       const struct hmi_client *cl, size_t n, uint64_t bytes)
{
	for (size_t k = 0; k < cg->n; k++) {
		const struct hmi_cgroup_cap *cap = &cg->caps[k];
		uint64_t used = leased_below(cl, n, cap->path);
		char lim[32], has[32], asked[32];

		if (used + bytes <= cap->max)
			continue;
		hmi_format_size(cap->max, lim, sizeof(lim));
		hmi_format_size(used, has, sizeof(has));
		hmi_format_size(bytes, asked, sizeof(asked));
		return hmi_err(ctx, EDQUOT,
			       "the hugetlb cgroup limit %s of %s is reached (%s leased from the "
			       "keeper, %s asked): the keeper enforces it, its pages being "
			       "charged to its own cgroup; raise the limit, or ask for less",
			       lim, cap->path, has, asked);
	}
	return 0;
}

/* Read client I's cgroup into CL[I].cgroup and its caps into *CG, the
 * cgroup mounts found in MOUNTINFO (NULL: read now). */
static int client_cgroup(struct hm_ctx *ctx, uint64_t page_size, const char *mountinfo,
			 struct hmi_client *c, struct hmi_cgroup_caps *cg)
{
	char *path, *read_now = NULL;
	int rc = mountinfo ? 0 : hmi_read_mountinfo(ctx, &read_now);

	if (rc == 0)
		rc = hmi_cgroup_caps_of(ctx, c->pid, page_size, mountinfo ? mountinfo : read_now,
					cg);
	free(read_now);

	if (rc == 0 && hmi_client_gone(c))
		rc = hmi_err(ctx, ESRCH, "client pid %d exited during its LEASE", (int)c->pid);
	if (rc < 0)
		return rc;
	path = strdup(cg->path);
	if (!path) {
		hmi_cgroup_caps_free(cg);
		return hmi_err(ctx, ENOMEM, "out of memory for a client's cgroup");
	}
	free(c->cgroup);
	c->cgroup = path;
	return 0;
}

int hmi_budget_note(struct hm_ctx *ctx, uint64_t page_size, const char *mountinfo,
		    struct hmi_client *c)
{
	struct hmi_cgroup_caps cg;
	int rc = client_cgroup(ctx, page_size, mountinfo, c, &cg);

	if (rc == 0)
		hmi_cgroup_caps_free(&cg);
	return rc;
}

int hmi_budget_check(struct hm_ctx *ctx, const struct hmi_budget *b, struct hmi_client *cl,
		     size_t n, size_t i, uint64_t bytes)
{
	struct hmi_cgroup_caps cg;
	int rc = uid_quota(ctx, b->uid_quota, cl, n, i, bytes);

	if (rc == 0)
		rc = client_cgroup(ctx, b->page_size, b->mountinfo, &cl[i], &cg);
	if (rc < 0)
		return rc;
	rc = cgroup_caps(ctx, &cg, cl, n, bytes);
	hmi_cgroup_caps_free(&cg);
	return rc;
}
