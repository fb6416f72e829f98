/* SPDX-License-Identifier: MIT */
/*
 * pool/setup.c — one page size made ready in one step, what `hugemem setup`
 * runs: grow the pool to a size, mount hugetlbfs when no mount serves the
 * size, put the free pool in order. hm_setup_plan reads the system and says
 * what that would do (the dry run prints it, the apply carries it out);
 * hm_setup_apply does it.
 *
 * A set-up only adds: the pool's count is read again under the pool's lock
 * and written only when lower (hmi_reserve_at_least), so a set-up at boot
 * never takes back pages a sysctl or another service reserved, and a second
 * run changes nothing. Emptying the pool is hm_reserve's (hugemem reserve 0).
 *
 * Gigantic pages (1 GiB) are best reserved by the kernel at boot, before
 * memory fragments: the plan carries the kernel command line that does it
 * (default_hugepagesz=1G hugepagesz=1G hugepages=N, or hugepages=<node>:N
 * for one node, Linux 5.16 and later), which hm_setup_persist records.
 */
#include "base/ctx.h"
#include "pool/pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* S asks for something that can be set up: a size, a node id, an absolute
 * mount point that fits. */
static int check_request(struct hm_ctx *ctx, const struct hm_setup *s)
{
	if (s->bytes == 0)
		return hmi_err(ctx, EINVAL,
			       "a set-up of size 0 adds nothing: a set-up only grows the pool "
			       "(to empty it: hugemem reserve 0)");
	if (s->node < -1 || s->node >= HM_MAX_NODES)
		return hmi_err(ctx, EINVAL,
			       "node %d is not a NUMA node id (0 to %d, or -1 for all)", s->node,
			       HM_MAX_NODES - 1);
	if (s->mount_dir && s->mount_dir[0] != '/')
		return hmi_err(ctx, EINVAL,
			       "mount point '%.200s' is not an absolute path: give it from /",
			       s->mount_dir);
	if (s->mount_dir && strlen(s->mount_dir) >= HM_PATH_MAX)
		return hmi_err(ctx, ENAMETOOLONG, "mount point '%.64s...' is too long",
			       s->mount_dir);
	return 0;
}

/* "2 MiB, 1 GiB": the sizes SI offers, for a message. */
static void sizes_offered(const struct hm_sysinfo *si, char *buf, size_t len)
{
	size_t used = 0;
	char one[32];

	snprintf(buf, len, "none");
	for (int i = 0; i < si->n_pools && used < len; i++) {
		hmi_format_size(si->pools[i].page_size, one, sizeof(one));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
	}
}

/* The pool of the size asked, and its count (on the node asked). */
static int plan_pool(struct hm_ctx *ctx, const struct hm_sysinfo *si, const struct hm_setup *s,
		     struct hm_setup_plan *plan, const struct hm_pool **pool)
{
	char want[32], sizes[HM_MAX_PAGE_SIZES * 32];

	*pool = hm_sysinfo_pool(si, s->page_size);
	if (!*pool) {
		sizes_offered(si, sizes, sizeof(sizes));
		hmi_format_size(s->page_size, want, sizeof(want));
		return hmi_err(ctx, EINVAL, "this system offers no %s hugepages: sizes offered: %s",
			       s->page_size ? want : "default-size", sizes);
	}
	plan->page_size = (*pool)->page_size;
	plan->node = s->node;
	plan->pages_want = s->bytes / plan->page_size + (s->bytes % plan->page_size != 0);
	plan->pages_now = (*pool)->nr;
	if (s->node < 0)
		return 0;
	for (int i = 0; i < (*pool)->n_nodes; i++) {
		if ((*pool)->nodes[i].node == s->node) {
			plan->pages_now = (*pool)->nodes[i].nr;
			return 0;
		}
	}
	hmi_format_size(plan->page_size, want, sizeof(want));
	return hmi_err(ctx, EINVAL,
		       "there is no NUMA node %d with a pool of %s pages: see hugemem "
		       "status",
		       s->node, want);
}

/* The mount of SI at DIR, or -1. */
static int mount_at(const struct hm_sysinfo *si, const char *dir)
{
	for (int i = 0; i < si->n_mounts; i++)
		if (si->mounts[i].path && strcmp(si->mounts[i].path, dir) == 0)
			return i;
	return -1;
}

/* The mount a set-up asks for at S->mount_dir (without a trailing '/'): 1
 * when one is to be made, 0 when a mount of the size is there already. */
static int given_dir(struct hm_ctx *ctx, const struct hm_sysinfo *si, const struct hm_setup *s,
		     struct hm_setup_plan *plan)
{
	size_t len;
	char got[32], want[32];
	int idx;

	snprintf(plan->mount_dir, sizeof(plan->mount_dir), "%s", s->mount_dir);
	len = strlen(plan->mount_dir);
	while (len > 1 && plan->mount_dir[len - 1] == '/')
		plan->mount_dir[--len] = '\0';
	plan->mount_dir_given = 1;
	idx = mount_at(si, plan->mount_dir);
	if (idx < 0)
		return 1;
	if (si->mounts[idx].page_size == plan->page_size)
		return 0;
	hmi_format_size(si->mounts[idx].page_size, got, sizeof(got));
	hmi_format_size(plan->page_size, want, sizeof(want));
	return hmi_err(ctx, EBUSY,
		       "%s is a hugetlbfs mount of %s pages, not %s: give another directory "
		       "(--mount)",
		       plan->mount_dir, got, want);
}

/* Whether a mount is to be made, where, with which options: a mount given
 * or the one serving the size is kept; else hm_mount_ext's dry run checks
 * the directory (given, or hugemem's default) and says the options. */
static int plan_mount(struct hm_ctx *ctx, const struct hm_sysinfo *si, const struct hm_setup *s,
		      const struct hm_pool *pool, struct hm_setup_plan *plan)
{
	struct hm_mount_spec spec = {.page_size = plan->page_size,
				     .uid = s->uid,
				     .gid = s->gid,
				     .mode = s->mode,
				     .dry_run = 1};
	struct hm_mount_result res;
	int rc;

	plan->uid = s->uid;
	plan->gid = s->gid;
	plan->mode = s->mode;
	if (s->mount_dir) {
		rc = given_dir(ctx, si, s, plan);
		if (rc <= 0)
			return rc;
	} else if (pool->mount >= 0) {
		snprintf(plan->mount_dir, sizeof(plan->mount_dir), "%s",
			 si->mounts[pool->mount].path);
		return 0;
	}
	spec.dir = s->mount_dir ? plan->mount_dir : NULL;
	rc = hm_mount_ext(ctx, &spec, &res);
	if (rc < 0)
		return rc;
	plan->mount = 1;
	plan->mount_create = res.create;
	snprintf(plan->mount_dir, sizeof(plan->mount_dir), "%s", res.dir);
	snprintf(plan->mount_options, sizeof(plan->mount_options), "%s", res.options);
	return 0;
}

void hmi_setup_cmdline(uint64_t page_size, const int *nodes, const uint64_t *pages, int n,
		       char *buf, size_t len)
{
	char size[32];
	size_t used;

	hmi_format_size_short(page_size, size, sizeof(size));
	used = (size_t)snprintf(buf, len, "hugepagesz=%s hugepages=", size);
	for (int i = 0; i < n && used < len; i++) {
		if (nodes[i] >= 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%d:%" PRIu64,
						 i ? "," : "", nodes[i], pages[i]);
		else
			used += (size_t)snprintf(buf + used, len - used, "%" PRIu64, pages[i]);
	}
}

/* Gigantic pages: the command line that reserves the plan's pages at boot,
 * as the default size (as DPDK's guide has it). */
static void plan_boot(struct hm_setup_plan *plan)
{
	char size[32], pairs[192];

	plan->boot = plan->page_size >= HMI_GIGANTIC_PAGE;
	if (!plan->boot)
		return;
	hmi_format_size_short(plan->page_size, size, sizeof(size));
	hmi_setup_cmdline(plan->page_size, &plan->node, &plan->pages_want, 1, pairs, sizeof(pairs));
	snprintf(plan->cmdline, sizeof(plan->cmdline), "default_hugepagesz=%s %s", size, pairs);
}

int hm_setup_plan(struct hm_ctx *ctx, const struct hm_setup *s, struct hm_setup_plan *plan)
{
	const struct hm_pool *pool = NULL;
	struct hm_sysinfo *si;
	int rc;

	hmi_err_clear(ctx);
	if (!s || !plan)
		return hmi_err(ctx, EINVAL, "hm_setup_plan: no set-up or no plan given (NULL)");
	memset(plan, 0, sizeof(*plan));
	rc = check_request(ctx, s);
	if (rc == 0)
		rc = hm_sysinfo_read(ctx, NULL, &si);
	if (rc < 0)
		return rc;
	rc = plan_pool(ctx, si, s, plan, &pool);
	if (rc == 0)
		rc = plan_mount(ctx, si, s, pool, plan);
	hm_sysinfo_free(si);
	if (rc < 0)
		return rc;
	plan->reserve = plan->pages_now < plan->pages_want;
	plan->order = strcmp(hm_ctx_root(ctx), "/") == 0;
	plan_boot(plan);
	return 0;
}

/* The plan's mount, made. */
static int apply_mount(struct hm_ctx *ctx, const struct hm_setup_plan *plan)
{
	const struct hm_mount_spec spec = {.dir = plan->mount_dir,
					   .page_size = plan->page_size,
					   .uid = plan->uid,
					   .gid = plan->gid,
					   .mode = plan->mode};

	return hm_mount_ext(ctx, &spec, NULL);
}

int hm_setup_apply(struct hm_ctx *ctx, const struct hm_setup_plan *plan,
		   struct hm_setup_result *res)
{
	struct hm_setup_result mine = {0};
	char short_msg[HMI_ERR_MAX] = "";
	int rc;

	hmi_err_clear(ctx);
	if (!plan || plan->page_size == 0)
		return hmi_err(ctx, EINVAL,
			       "hm_setup_apply: no plan given (hm_setup_plan makes it)");
	res = res ? res : &mine;
	memset(res, 0, sizeof(*res));
	rc = hmi_reserve_at_least(ctx, plan->page_size, plan->node, plan->pages_want, &res->pages);
	if (rc == -ENOMEM) { /* short: the memory there is still gets its mount and order */
		snprintf(short_msg, sizeof(short_msg), "%s", hm_errmsg(ctx));
		rc = 0;
	}
	if (rc == 0 && plan->mount) {
		rc = apply_mount(ctx, plan);
		res->mounted = rc == 0;
	}
	if (rc == 0 && plan->order) {
		rc = hm_pool_order(ctx, plan->page_size, plan->node, &res->order);
		res->ordered = rc == 0;
	}
	if (rc == 0 && short_msg[0])
		return hmi_err(ctx, ENOMEM, "%s", short_msg);
	return rc;
}
