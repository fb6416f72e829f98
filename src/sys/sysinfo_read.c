/* SPDX-License-Identifier: MIT */
/*
 * sys/sysinfo_read.c — fill struct hm_sysinfo from the files below the context's
 * root. Every path is built with hmi_path(), so a test can point the whole
 * read at a fixture tree.
 *
 * The order, each step using what the one before found:
 *  1. pools: every /sys/kernel/mm/hugepages/hugepages-<N>kB directory (other
 *     names skipped), kept sorted by page size, and its five counters. No
 *     such directory at all is a kernel without hugetlb: no pools.
 *  2. nodes: the node list in /sys/devices/system/node/has_memory, else
 *     "online", else the nodeN directories; no node directory at all is a
 *     kernel without NUMA, where node 0 holds the whole pool.
 *  3. per-node counters of each pool (a node without that size's directory
 *     is left out of pool.nodes).
 *  4. /proc/meminfo's Hugepagesize: the default size, which must be one of
 *     the pools when there are pools.
 *  5. /proc/self/mountinfo: hugetlbfs mounts; owner and mode of a mount point
 *     whose options do not give them come from stat() of the mount point.
 *  6. the hugetlb cgroup limits (sys/sysinfo_cgroup.c), from the same mountinfo.
 * Errors in any file name that file (a parser's message gets the path put in
 * front). What only hugedir can know (mount choice, budgets, writability) is
 * left at its "unknown" value.
 */
#include "sys/sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages"
#define NODE_DIR      "/sys/devices/system/node"
#define PROC_FILE_MAX (16u << 20) /* mountinfo of a busy container host stays well below */

/* Put PATH in front of the message a parser recorded. */
static int blame_file(struct hm_ctx *ctx, int rc, const char *path)
{
	char msg[HMI_ERR_MAX];

	snprintf(msg, sizeof(msg), "%s", ctx->err);
	return hmi_err(ctx, -rc, "%s: %s", path, msg);
}

/* ------------------------------------------------------------------ pools */

static int add_pool(struct hm_ctx *ctx, struct hm_sysinfo *si, uint64_t size, const char *dir)
{
	int i = si->n_pools;

	if (si->n_pools >= HM_MAX_PAGE_SIZES)
		return hmi_err(ctx, E2BIG,
			       "%s offers more than %d hugepage sizes: hugemem handles %d", dir,
			       HM_MAX_PAGE_SIZES, HM_MAX_PAGE_SIZES);
	while (i > 0 && si->pools[i - 1].page_size > size) {
		si->pools[i] = si->pools[i - 1];
		i--;
	}
	memset(&si->pools[i], 0, sizeof(si->pools[i]));
	si->pools[i].page_size = size;
	si->pools[i].mount = -1;
	si->pools[i].cgroup.max = UINT64_MAX;
	si->pools[i].cgroup.rsvd_max = UINT64_MAX;
	si->n_pools++;
	return 0;
}

static int list_pools(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	char dir[HM_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = hmi_path(ctx, dir, sizeof(dir), HUGEPAGES_DIR);

	if (rc < 0)
		return rc;
	d = opendir(dir);
	if (!d && errno == ENOENT) /* a kernel without hugetlb */
		return 0;
	if (!d)
		return hmi_err(ctx, errno, "cannot list %s: %s", dir, strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		uint64_t size;

		rc = hmi_parse_hugepages_dirname(e->d_name, &size);
		if (rc == -EINVAL) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			rc = hmi_err(ctx, ERANGE, "%s/%s: page size does not fit in 64 bits", dir,
				     e->d_name);
		else
			rc = add_pool(ctx, si, size, dir);
	}
	closedir(d);
	return rc;
}

struct counter {
	const char *file;
	size_t offset; /* in struct hm_pool or struct hm_node_pool */
};

static const struct counter pool_counters[] = {
    {"nr_hugepages", offsetof(struct hm_pool, nr)},
    {"free_hugepages", offsetof(struct hm_pool, free)},
    {"resv_hugepages", offsetof(struct hm_pool, resv)},
    {"surplus_hugepages", offsetof(struct hm_pool, surplus)},
    {"nr_overcommit_hugepages", offsetof(struct hm_pool, overcommit)},
};

static const struct counter node_counters[] = {
    {"nr_hugepages", offsetof(struct hm_node_pool, nr)},
    {"free_hugepages", offsetof(struct hm_node_pool, free)},
    {"surplus_hugepages", offsetof(struct hm_node_pool, surplus)},
};

/* Read the counters of TABLE from the (rooted) directory DIR into OBJ. */
static int read_counters(struct hm_ctx *ctx, const char *dir, const struct counter *table, size_t n,
			 void *obj)
{
	char path[HM_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "%s/%s", dir, table[i].file);
		int rc;

		if (len < 0 || (size_t)len >= sizeof(path))
			return hmi_err(ctx, ENAMETOOLONG, "%s: path too long", dir);
		rc = hmi_read_u64(ctx, path, (uint64_t *)((char *)obj + table[i].offset));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_pools(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	int rc = list_pools(ctx, si);

	for (int i = 0; rc == 0 && i < si->n_pools; i++) {
		char dir[HM_PATH_MAX];

		rc = hmi_path(ctx, dir, sizeof(dir), HUGEPAGES_DIR "/hugepages-%" PRIu64 "kB",
			      si->pools[i].page_size / 1024);
		if (rc == 0)
			rc = read_counters(ctx, dir, pool_counters, HMI_ARRAY_SIZE(pool_counters),
					   &si->pools[i]);
	}
	return rc;
}

/* ------------------------------------------------------------------ nodes */

/* The node list in NODE_DIR/NAME: 1 when it names nodes, 0 when absent or
 * empty (the caller tries the next source). */
static int read_node_list(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *name)
{
	char path[HM_PATH_MAX], text[4096];
	int rc = hmi_path(ctx, path, sizeof(path), NODE_DIR "/%s", name);

	if (rc == 0)
		rc = hmi_read_small(ctx, path, text, sizeof(text));
	if (rc == -ENOENT) {
		hmi_err_clear(ctx);
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = hmi_parse_nodelist(ctx, text, si->node_ids, HM_MAX_NODES, &si->n_nodes);
	if (rc < 0)
		return blame_file(ctx, rc, path);
	return si->n_nodes > 0;
}

/* "node12" -> 12; -1 for any other name (or an id beyond HM_MAX_NODES). */
static int node_dir_id(const char *name)
{
	const char *digits = name + 4;
	uint64_t id;

	if (strncmp(name, "node", 4) != 0 || strspn(digits, "0123456789") != strlen(digits) ||
	    hmi_parse_u64(digits, &id) < 0)
		return -1;
	return id < HM_MAX_NODES ? (int)id : -1;
}

static int scan_node_dirs(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *dir)
{
	int present[HM_MAX_NODES] = {0};
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return hmi_err(ctx, errno, "cannot list %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		int id = node_dir_id(e->d_name);

		if (id >= 0)
			present[id] = 1;
	}
	closedir(d);
	for (int id = 0; id < HM_MAX_NODES; id++)
		if (present[id])
			si->node_ids[si->n_nodes++] = id;
	return 0;
}

/* Returns 1 for a kernel without NUMA (no node directory, or one that names
 * no node): node 0 alone, holding the whole pool. */
static int read_nodes(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	char dir[HM_PATH_MAX];
	struct stat st;
	int rc = hmi_path(ctx, dir, sizeof(dir), NODE_DIR);

	if (rc < 0)
		return rc;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = read_node_list(ctx, si, "has_memory");
		if (rc == 0)
			rc = read_node_list(ctx, si, "online");
		if (rc == 0)
			rc = scan_node_dirs(ctx, si, dir);
		if (rc < 0 || si->n_nodes > 0)
			return rc < 0 ? rc : 0;
	}
	si->n_nodes = 1;
	si->node_ids[0] = 0;
	return 1;
}

static int read_node_pool(struct hm_ctx *ctx, struct hm_pool *pool, int node)
{
	char dir[HM_PATH_MAX];
	struct hm_node_pool *np = &pool->nodes[pool->n_nodes];
	struct stat st;
	int rc =
	    hmi_path(ctx, dir, sizeof(dir), NODE_DIR "/node%d/hugepages/hugepages-%" PRIu64 "kB",
		     node, pool->page_size / 1024);

	if (rc < 0)
		return rc;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0; /* no pool of this size on that node */
	memset(np, 0, sizeof(*np));
	np->node = node;
	rc = read_counters(ctx, dir, node_counters, HMI_ARRAY_SIZE(node_counters), np);
	if (rc == 0)
		pool->n_nodes++;
	return rc;
}

static int read_node_pools(struct hm_ctx *ctx, struct hm_sysinfo *si, int single_node)
{
	for (int i = 0; i < si->n_pools; i++) {
		struct hm_pool *pool = &si->pools[i];

		if (single_node) {
			pool->nodes[0] =
			    (struct hm_node_pool){0, pool->nr, pool->free, pool->surplus};
			pool->n_nodes = 1;
			continue;
		}
		for (int n = 0; n < si->n_nodes; n++) {
			int rc = read_node_pool(ctx, pool, si->node_ids[n]);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ meminfo, mounts */

static int read_proc_file(struct hm_ctx *ctx, const char *name, char *path, char **text)
{
	int rc = hmi_path(ctx, path, HM_PATH_MAX, "%s", name);

	if (rc == 0)
		rc = hmi_read_alloc(ctx, path, PROC_FILE_MAX, text, NULL);
	return rc;
}

static int read_default_size(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	char path[HM_PATH_MAX], *text = NULL, size[32];
	int rc = read_proc_file(ctx, "/proc/meminfo", path, &text), found = 0;

	if (rc < 0)
		return rc;
	rc = hmi_parse_meminfo(ctx, text, &si->default_page_size);
	free(text);
	if (rc < 0)
		return blame_file(ctx, rc, path);
	for (int i = 0; i < si->n_pools; i++) {
		si->pools[i].is_default = si->pools[i].page_size == si->default_page_size;
		found |= si->pools[i].is_default;
	}
	if (si->n_pools == 0 || found)
		return 0;
	if (si->default_page_size == 0)
		return hmi_err(ctx, EINVAL,
			       "%s has no Hugepagesize line, yet %s" HUGEPAGES_DIR
			       " lists hugepage sizes",
			       path, ctx->root);
	hmi_format_size(si->default_page_size, size, sizeof(size));
	return hmi_err(ctx, EINVAL, "%s: Hugepagesize %s matches no pool under %s" HUGEPAGES_DIR,
		       path, size, ctx->root);
}

/* Owner and mode of a mount point its options leave open: stat() it. */
static void stat_mount_point(struct hm_ctx *ctx, struct hm_mount *m)
{
	char path[HM_PATH_MAX];
	struct stat st;
	int len = snprintf(path, sizeof(path), "%s%s", ctx->root, m->path);

	if (len < 0 || (size_t)len >= sizeof(path) || stat(path, &st) < 0)
		return;
	if (m->uid == (uid_t)-1)
		m->uid = st.st_uid;
	if (m->gid == (gid_t)-1)
		m->gid = st.st_gid;
	if (m->mode == 0)
		m->mode = st.st_mode & 07777;
}

static int read_mounts(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *text,
		       const char *path)
{
	int rc = hmi_parse_mountinfo_pools(ctx, text, si->default_page_size, si->pools, si->n_pools,
					   &si->mounts, &si->n_mounts);

	if (rc < 0)
		return blame_file(ctx, rc, path);
	for (int i = 0; i < si->n_mounts; i++)
		stat_mount_point(ctx, &si->mounts[i]);
	return 0;
}

/* ------------------------------------------------------------------ entry points */

int hmi_sysinfo_parse(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	char path[HM_PATH_MAX], *mountinfo = NULL;
	int rc, single_node = 0;

	memset(si, 0, sizeof(*si));
	rc = read_pools(ctx, si);
	if (rc == 0) {
		single_node = read_nodes(ctx, si);
		rc = single_node < 0 ? single_node : read_node_pools(ctx, si, single_node);
	}
	if (rc == 0)
		rc = read_default_size(ctx, si);
	if (rc == 0)
		rc = read_proc_file(ctx, "/proc/self/mountinfo", path, &mountinfo);
	if (rc == 0)
		rc = read_mounts(ctx, si, mountinfo, path);
	if (rc == 0)
		rc = hmi_sysinfo_cgroup(ctx, mountinfo, si);
	free(mountinfo);
	return rc;
}

void hmi_sysinfo_release(struct hm_sysinfo *si)
{
	hmi_mounts_free(si->mounts, si->n_mounts);
	si->mounts = NULL;
	si->n_mounts = 0;
	free(si->cgroup_path);
	si->cgroup_path = NULL;
	for (int i = 0; i < si->n_pools; i++) {
		free(si->pools[i].cgroup.path);
		si->pools[i].cgroup.path = NULL;
	}
}

int hmi_read_mountinfo(struct hm_ctx *ctx, char **text)
{
	char path[HM_PATH_MAX];

	*text = NULL;
	return read_proc_file(ctx, "/proc/self/mountinfo", path, text);
}

int hmi_read_proc_locks(struct hm_ctx *ctx, char **text)
{
	char path[HM_PATH_MAX];
	int rc = hmi_path(ctx, path, sizeof(path), "/proc/locks");

	*text = NULL;
	return rc < 0 ? rc : hmi_read_alloc(ctx, path, 64u << 20, text, NULL);
}
