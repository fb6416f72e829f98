/* SPDX-License-Identifier: MIT */
/*
 * hugedir/mount.c — which hugetlbfs mount serves each page size, and how many
 * pages of each size this process may really use (its budget).
 *
 * hmi_hugedir_resolve takes the sysinfo layer's raw picture and completes it
 * in three passes:
 *
 *  1. Mounts. For each mount, statfs of its path below the root: when it is a
 *     real hugetlbfs, the room left is f_bavail * f_bsize (f_blocks 0 means no
 *     size= limit, i.e. UINT64_MAX); otherwise (fixture trees, vanished
 *     mounts) the size= option stands in for it. A mount is writable when it
 *     is not "ro" and access(W_OK) says this user may create files there.
 *     Under nr_inodes= the files it still takes are f_ffree when statfs
 *     reports inodes (the kernel does only for a mount with size=), else
 *     nr_inodes less the root and the entries at its top (page files are
 *     never in subdirectories: deeper entries are not counted). A mount is
 *     unsafe when users other than its owner may write it (group or other
 *     write bit, as its directory is now: chmod may have changed it since
 *     the mount= option) and it is not sticky: any of them can then rename
 *     or replace another user's page files (docs/reliability.md, item 1).
 *
 *  2. Choice. A pool is served by the first mount of its page size, a
 *     writable one preferred. --huge-dir must name one of the mounts (trailing
 *     and doubled slashes do not matter) and, on the real root, statfs must
 *     confirm hugetlbfs and its block size; it then serves its own page size,
 *     the other sizes keep their own choice.
 *
 *  3. Budgets. A pool's budget is the smallest of: free minus reserved pages
 *     (reserved pages are promised to mappings not yet faulted), the room of
 *     its mount, and the hugetlb cgroup's headroom (max - usage, and in v2
 *     also rsvd.max - rsvd.current). The term that wins is budget_cap (the
 *     pool on ties). Each headroom is clamped at 0: usage above a limit
 *     happens (limits lowered under a running job). Per node, the budget is
 *     min(node free, budget): an estimate, since per-node sysfs has no
 *     reserved count — reserved pages may sit on any node.
 *
 * hm_pool_verdict turns one resolved pool into a verdict and one line: no
 * pages, all in use, capped by a cgroup or a mount, no mount (none, or only
 * read-only ones), or usable.
 */
#include "hugedir/hugedir.h"
#include "base/platform.h"

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static uint64_t headroom(uint64_t limit, uint64_t used)
{
	return limit > used ? limit - used : 0;
}

static int count_one(const char *name, uint64_t ino, void *arg)
{
	(void)ino;
	*(uint64_t *)arg += strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
	return 0;
}

/* Entries of the directory PATH (not . or ..); 0 when it cannot be opened.
 * hmi_dir_each, not readdir: readdir's buffer on hugetlbfs is 1 MiB. */
static uint64_t count_entries(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t n = 0;

	if (fd < 0)
		return 0;
	hmi_dir_each(fd, count_one, &n); /* a failure keeps the count so far, as readdir */
	close(fd);
	return n;
}

/* The files the mount at PATH still takes under its nr_inodes= limit. */
static uint64_t inodes_free(const struct hm_mount *m, const char *path)
{
	struct statfs st;
	uint64_t used;

	if (m->nr_inodes == 0)
		return UINT64_MAX;
	if (statfs(path, &st) == 0 && st.f_files != 0)
		return (uint64_t)st.f_ffree;
	used = 1 + count_entries(path); /* the root directory takes one */
	return m->nr_inodes > used ? m->nr_inodes - used : 0;
}

static void probe_mount(struct hm_ctx *ctx, struct hm_mount *m)
{
	char path[HM_PATH_MAX];
	uint64_t bsize, blocks, bavail;
	struct stat st;

	m->room = m->size_limit ? m->size_limit : UINT64_MAX;
	m->inodes_free = m->nr_inodes ? m->nr_inodes - 1 : UINT64_MAX;
	m->writable = 0;
	/* an unreachable path leaves the mount as the mount table describes it */
	if (hmi_path(ctx, path, sizeof(path), "%s", m->path) < 0)
		return;
	m->inodes_free = inodes_free(m, path);
	if (hmi_statfs_hugetlbfs(path, &bsize, &blocks, &bavail) == 1)
		m->room = blocks == 0 ? UINT64_MAX : hmi_mul_sat(bavail, bsize);
	m->writable = !m->read_only && access(path, W_OK) == 0;
	m->unsafe = hmi_mode_unsafe(stat(path, &st) == 0 ? st.st_mode : m->mode);
}

int hmi_mode_unsafe(mode_t mode)
{
	return (mode & (S_IWGRP | S_IWOTH)) && !(mode & S_ISVTX);
}

/* "/a//b/" -> "/a/b": how a user may type a mount point. */
static void normalise_path(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 1 < len; in++) {
		if (*in == '/' && n > 0 && out[n - 1] == '/')
			continue;
		out[n++] = *in;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
}

static int find_mount(const struct hm_sysinfo *si, const char *dir)
{
	char want[HM_PATH_MAX], have[HM_PATH_MAX];

	normalise_path(dir, want, sizeof(want));
	for (int i = 0; i < si->n_mounts; i++) {
		normalise_path(si->mounts[i].path, have, sizeof(have));
		if (strcmp(want, have) == 0)
			return i;
	}
	return -1;
}

static int not_a_mount(struct hm_ctx *ctx, const char *dir)
{
	return hmi_err(ctx, EINVAL,
		       "--huge-dir %s is not a hugetlbfs mount: mount one with 'hugemem mount %s'",
		       dir, dir);
}

/* On the real root, the kernel has the last word on what DIR is. */
static int check_huge_dir(struct hm_ctx *ctx, const char *dir, const struct hm_mount *m)
{
	uint64_t bsize, blocks, bavail;
	char got[32], want[32];
	int rc;

	if (strcmp(hm_ctx_root(ctx), "/") != 0)
		return 0;
	rc = hmi_statfs_hugetlbfs(dir, &bsize, &blocks, &bavail);
	if (rc < 0)
		return hmi_err(ctx, -rc, "cannot statfs --huge-dir %s: %s", dir, strerror(-rc));
	if (rc == 0)
		return not_a_mount(ctx, dir);
	if (bsize != m->page_size) {
		hmi_format_size(bsize, got, sizeof(got));
		hmi_format_size(m->page_size, want, sizeof(want));
		return hmi_err(ctx, EINVAL,
			       "--huge-dir %s serves %s pages, not %s as its mount entry says: "
			       "remount it",
			       dir, got, want);
	}
	return 0;
}

static int choose_mount(const struct hm_sysinfo *si, uint64_t page_size)
{
	int first = -1;

	for (int i = 0; i < si->n_mounts; i++) {
		if (si->mounts[i].page_size != page_size)
			continue;
		if (si->mounts[i].writable)
			return i;
		if (first < 0)
			first = i;
	}
	return first;
}

static int apply_huge_dir(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *dir)
{
	int idx = find_mount(si, dir), rc;
	char size[32];

	if (idx < 0)
		return not_a_mount(ctx, dir);
	rc = check_huge_dir(ctx, dir, &si->mounts[idx]);
	if (rc < 0)
		return rc;
	for (int i = 0; i < si->n_pools; i++) {
		if (si->pools[i].page_size == si->mounts[idx].page_size) {
			si->pools[i].mount = idx;
			return 0;
		}
	}
	hmi_format_size(si->mounts[idx].page_size, size, sizeof(size));
	return hmi_err(ctx, EINVAL,
		       "--huge-dir %s serves %s pages, a size this system has no pool of: "
		       "choose another mount",
		       dir, size);
}

static void take_min(uint64_t *budget, enum hm_cap *cap, uint64_t term, enum hm_cap why)
{
	if (term < *budget) {
		*budget = term;
		*cap = why;
	}
}

static void pool_budget(const struct hm_sysinfo *si, struct hm_pool *p)
{
	uint64_t budget = headroom(p->free, p->resv);
	const struct hm_cgroup_limit *cg = &p->cgroup;
	enum hm_cap cap = HM_CAP_POOL;

	if (p->page_size == 0) /* never from sysfs; keeps the divisions below safe */
		budget = 0;
	if (budget && p->mount >= 0 && si->mounts[p->mount].room != UINT64_MAX)
		take_min(&budget, &cap, si->mounts[p->mount].room / p->page_size, HM_CAP_MOUNT);
	if (budget && cg->version != 0 && cg->max != UINT64_MAX)
		take_min(&budget, &cap, headroom(cg->max, cg->usage) / p->page_size, HM_CAP_CGROUP);
	if (budget && cg->version != 0 && cg->rsvd_max != UINT64_MAX)
		take_min(&budget, &cap, headroom(cg->rsvd_max, cg->rsvd_usage) / p->page_size,
			 HM_CAP_CGROUP);
	p->budget = budget;
	p->budget_cap = cap;
	/* an estimate: per-node sysfs has no reserved count, so reserved pages
	 * are charged to the whole pool above, not to the node that holds them */
	for (int i = 0; i < HM_MAX_NODES; i++)
		p->node_budget[i] =
		    i < p->n_nodes ? (p->nodes[i].free < budget ? p->nodes[i].free : budget) : 0;
}

int hmi_hugedir_resolve(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *huge_dir)
{
	int rc;

	for (int i = 0; i < si->n_mounts; i++)
		probe_mount(ctx, &si->mounts[i]);
	for (int i = 0; i < si->n_pools; i++)
		si->pools[i].mount = choose_mount(si, si->pools[i].page_size);
	if (huge_dir) {
		rc = apply_huge_dir(ctx, si, huge_dir);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < si->n_pools; i++)
		pool_budget(si, &si->pools[i]);
	return 0;
}
