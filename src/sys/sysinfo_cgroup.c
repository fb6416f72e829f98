/* SPDX-License-Identifier: MIT */
/*
 * sys/sysinfo_cgroup.c — the hugetlb cgroup limits that apply to this process,
 * one per page size; and, for the pool keeper, every limit over another
 * process's cgroup (hmi_cgroup_caps_of: the keeper's clients).
 *
 * hugetlb pages are charged to a cgroup when they are faulted in, and a charge
 * must fit under the limit of the cgroup and of every ancestor. So the room a
 * process really has is the lowest over its own cgroup and each ancestor up to
 * the top of the mounted hierarchy, of (limit - usage); cgroup v2 also has a
 * limit on reservations (rsvd.max - rsvd.current, charged at mmap time), and
 * the lower of the two counts.
 *
 * Steps:
 *  1. /proc/self/cgroup: the v1 line whose controllers include hugetlb, else
 *     the v2 line "0::/path". No file, or neither line: no controller.
 *  2. mountinfo: the controller's mount that shows that path (a v1 "cgroup"
 *     mount with hugetlb in its options, or the "cgroup2" mount). Its root
 *     field is the cgroup the mount shows (not "/" in a container without a
 *     cgroup namespace), which is cut from the path.
 *  3. for each pool and each level from the process's cgroup up to the mount's
 *     root: read the size's files (v2 hugetlb.2MB.max, .rsvd.max, .current,
 *     .rsvd.current; v1 hugetlb.2MB.limit_in_bytes, usage_in_bytes and the rsvd.
 *     pair). A level without the limit file (controller not enabled there, or
 *     the v2 root) has no limit; a missing usage or rsvd file reads as none
 *     (kernels before 5.7 have no rsvd files). Keep the level with the least
 *     room; on a tie, the deepest one.
 * The kept level's path is the cgroup path as /proc/self/cgroup writes it.
 *
 * hmi_cgroup_caps_of does steps 1 to 3 for /proc/PID/cgroup (the paths there
 * are as the reader's cgroup namespace sees them, so this process's mountinfo
 * serves), and keeps every level with a limit, not the least room: the keeper
 * charges its own leases against each of them.
 */
#include "sys/sysinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the limit files of one cgroup hierarchy are. */
struct hierarchy {
	int version;
	const char *root;	 /* cgroup the mount shows, e.g. "/" */
	const char *mount_point; /* where it is mounted, e.g. "/sys/fs/cgroup" */
};

/* What one cgroup level says for one page size. */
struct level {
	bool limited; /* the limit file exists */
	struct hm_cgroup_limit lim;
};

/* One value file of the cgroup at REL (below the mount) into *VALUE; DEFAULT
 * when the file does not exist. 1 when it exists. */
static int read_value(struct hm_ctx *ctx, const struct hierarchy *h, const char *rel,
		      const char *file, uint64_t fallback, uint64_t *value)
{
	char path[HM_PATH_MAX], text[64];
	int rc = hmi_path(ctx, path, sizeof(path), "%s%s/%s", h->mount_point, rel, file);

	if (rc == 0)
		rc = hmi_read_small(ctx, path, text, sizeof(text));
	if (rc == -ENOENT || rc == -ENOTDIR) {
		hmi_err_clear(ctx);
		*value = fallback;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = hmi_parse_cgroup_value(text, value);
	if (rc < 0) {
		text[strcspn(text, "\n")] = '\0';
		return hmi_err(ctx, -rc, "%s: expected 'max' or a byte count, found '%.20s'", path,
			       text[0] ? text : "(empty)");
	}
	return 1;
}

static int read_level(struct hm_ctx *ctx, const struct hierarchy *h, const char *rel,
		      const char *size, struct level *lv)
{
	static const char *const v1[] = {"limit_in_bytes", "rsvd.limit_in_bytes", "usage_in_bytes",
					 "rsvd.usage_in_bytes"};
	static const char *const v2[] = {"max", "rsvd.max", "current", "rsvd.current"};
	const char *const *names = h->version == 1 ? v1 : v2;
	uint64_t *dst[4] = {&lv->lim.max, &lv->lim.rsvd_max, &lv->lim.usage, &lv->lim.rsvd_usage};
	int rc = 0;

	for (int i = 0; i < 4 && rc >= 0; i++) {
		char file[64];

		snprintf(file, sizeof(file), "hugetlb.%s.%s", size, names[i]);
		rc = read_value(ctx, h, rel, file, i < 2 ? UINT64_MAX : 0, dst[i]);
		if (i == 0)
			lv->limited = rc == 1;
	}
	return rc < 0 ? rc : 0;
}

static uint64_t room_under(uint64_t limit, uint64_t usage)
{
	if (limit == UINT64_MAX)
		return UINT64_MAX;
	return limit > usage ? limit - usage : 0;
}

static uint64_t level_room(const struct hm_cgroup_limit *lim)
{
	uint64_t a = room_under(lim->max, lim->usage);
	uint64_t b = room_under(lim->rsvd_max, lim->rsvd_usage);

	return a < b ? a : b;
}

/* The cgroup path of REL below the hierarchy's root: "/" + "/a" -> "/a". */
static char *level_path(const struct hierarchy *h, const char *rel)
{
	char *path;
	bool top = strcmp(h->root, "/") == 0;

	if (asprintf(&path, "%s%s", top && rel[0] ? "" : h->root, rel) < 0)
		return NULL;
	return path;
}

/* What to do with one level of a walk (REL below the mount): 0 to go on. */
typedef int (*level_fn)(struct hm_ctx *ctx, const struct hierarchy *h, const char *rel,
			struct level *lv, void *arg);

/* Walk REL (a writable copy, "" = the mount's root) up to the top, reading
 * the files of page size SIZE ("2MB") at each level. */
static int walk_levels(struct hm_ctx *ctx, const struct hierarchy *h, char *rel, const char *size,
		       level_fn fn, void *arg)
{
	for (;;) {
		struct level lv = {false, {0}};
		int rc = read_level(ctx, h, rel, size, &lv);

		if (rc == 0)
			rc = fn(ctx, h, rel, &lv, arg);
		if (rc < 0)
			return rc;
		if (!rel[0])
			return 0;
		*strrchr(rel, '/') = '\0';
	}
}

/* The level with the least room so far. */
struct least {
	struct level best;
	uint64_t room;
};

static int keep_least(struct hm_ctx *ctx, const struct hierarchy *h, const char *rel,
		      struct level *lv, void *arg)
{
	struct least *l = arg;

	if (!lv->limited || (l->best.limited && level_room(&lv->lim) >= l->room))
		return 0;
	free(l->best.lim.path);
	l->best = *lv;
	l->room = level_room(&lv->lim);
	l->best.lim.path = level_path(h, rel);
	return l->best.lim.path ? 0 : hmi_err(ctx, ENOMEM, "out of memory reading cgroup limits");
}

static int pool_limit(struct hm_ctx *ctx, const struct hierarchy *h, char *rel,
		      struct hm_pool *pool)
{
	struct least l = {{false, {0}}, 0};
	char size[32];
	int rc;

	hmi_cgroup_size_name(pool->page_size, size, sizeof(size));
	rc = walk_levels(ctx, h, rel, size, keep_least, &l);
	if (rc < 0) {
		free(l.best.lim.path);
		return rc;
	}
	if (l.best.limited) {
		l.best.lim.version = h->version;
		pool->cgroup = l.best.lim;
	}
	return 0;
}

/* The part of PATH below the hierarchy's root ("" for the root itself), or
 * NULL when PATH is not below it or climbs with "..". */
static const char *below_root(const char *root, const char *path)
{
	size_t len = strcmp(root, "/") == 0 ? 0 : strlen(root);
	const char *rel = path + len;

	if (strncmp(path, root, len) != 0 || (*rel && *rel != '/'))
		return NULL;
	if (strstr(rel, "/../") || (strlen(rel) >= 3 && strcmp(rel + strlen(rel) - 3, "/..") == 0))
		return NULL;
	return strcmp(rel, "/") == 0 ? "" : rel;
}

/* REL into WALK (room for it), without a trailing '/': "/a/" is "/a". */
static void walk_start(char *walk, const char *rel)
{
	size_t len = strlen(rel);

	memcpy(walk, rel, len + 1);
	while (len > 0 && walk[len - 1] == '/')
		walk[--len] = '\0';
}

static int read_limits(struct hm_ctx *ctx, const struct hierarchy *h, const char *path,
		       struct hm_sysinfo *si)
{
	const char *rel = below_root(h->root, path);
	char *walk;
	int rc = 0;

	if (!rel)
		return 0; /* a cgroup this mount does not show: nothing to read */
	walk = malloc(strlen(rel) + 1);
	if (!walk)
		return hmi_err(ctx, ENOMEM, "out of memory reading cgroup limits");
	for (int i = 0; i < si->n_pools && rc == 0; i++) {
		walk_start(walk, rel);
		rc = pool_limit(ctx, h, walk, &si->pools[i]);
	}
	free(walk);
	return rc;
}

/* /proc/WHO/cgroup (WHO "self" or a pid) into *CGROUP_PATH and *VERSION (0:
 * no controller; no file at all is a kernel without cgroups, path "/"). */
static int read_proc_cgroup(struct hm_ctx *ctx, const char *who, int *version, char **cgroup_path)
{
	char path[HM_PATH_MAX], *text = NULL;
	int rc = hmi_path(ctx, path, sizeof(path), "/proc/%s/cgroup", who);

	if (rc == 0)
		rc = hmi_read_alloc(ctx, path, 1u << 20, &text, NULL);
	if (rc == -ENOENT) {
		hmi_err_clear(ctx);
		*version = 0;
		*cgroup_path = strdup("/");
		return *cgroup_path ? 0 : hmi_err(ctx, ENOMEM, "out of memory reading %s", path);
	}
	if (rc < 0)
		return rc;
	rc = hmi_parse_proc_cgroup(ctx, text, version, cgroup_path);
	free(text);
	if (rc < 0) {
		char msg[HMI_ERR_MAX];

		snprintf(msg, sizeof(msg), "%s", hm_errmsg(ctx));
		return hmi_err(ctx, -rc, "%s: %s", path, msg);
	}
	return 0;
}

/* Fill si->cgroup_path, si->cgroup_version and every pool's cgroup limit,
 * given the text of /proc/self/mountinfo. */
int hmi_sysinfo_cgroup(struct hm_ctx *ctx, const char *mountinfo, struct hm_sysinfo *si)
{
	char *root = NULL, *mnt = NULL;
	int version = 0, rc = read_proc_cgroup(ctx, "self", &version, &si->cgroup_path);

	if (rc < 0 || version == 0)
		return rc;
	rc = hmi_parse_cgroup_mount(ctx, mountinfo, version, si->cgroup_path, &root, &mnt);
	if (rc == 1) {
		struct hierarchy h = {version, root, mnt};

		si->cgroup_version = version;
		rc = read_limits(ctx, &h, si->cgroup_path, si);
	}
	free(root);
	free(mnt);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ another process's caps */

static int keep_limited(struct hm_ctx *ctx, const struct hierarchy *h, const char *rel,
			struct level *lv, void *arg)
{
	struct hmi_cgroup_caps *cg = arg;
	struct hmi_cgroup_cap *caps;

	if (!lv->limited || lv->lim.max == UINT64_MAX)
		return 0;
	caps = realloc(cg->caps, (cg->n + 1) * sizeof(*caps));
	if (!caps)
		return hmi_err(ctx, ENOMEM, "out of memory reading cgroup limits");
	cg->caps = caps;
	caps[cg->n].max = lv->lim.max;
	caps[cg->n].path = level_path(h, rel);
	if (!caps[cg->n].path)
		return hmi_err(ctx, ENOMEM, "out of memory reading cgroup limits");
	cg->n++;
	return 0;
}

static int caps_walk(struct hm_ctx *ctx, const struct hierarchy *h, uint64_t page_size,
		     struct hmi_cgroup_caps *cg)
{
	const char *rel = below_root(h->root, cg->path);
	char size[32], *walk;
	int rc;

	if (!rel)
		return 0; /* a cgroup this mount does not show: nothing to read */
	walk = malloc(strlen(rel) + 1);
	if (!walk)
		return hmi_err(ctx, ENOMEM, "out of memory reading cgroup limits");
	walk_start(walk, rel);
	hmi_cgroup_size_name(page_size, size, sizeof(size));
	rc = walk_levels(ctx, h, walk, size, keep_limited, cg);
	free(walk);
	return rc;
}

int hmi_cgroup_caps_of(struct hm_ctx *ctx, pid_t pid, uint64_t page_size, const char *mountinfo,
		       struct hmi_cgroup_caps *cg)
{
	char who[24], *root = NULL, *mnt = NULL;
	int rc;

	memset(cg, 0, sizeof(*cg));
	snprintf(who, sizeof(who), "%d", (int)pid);
	rc = read_proc_cgroup(ctx, who, &cg->version, &cg->path);
	if (rc == 0 && cg->version)
		rc = hmi_parse_cgroup_mount(ctx, mountinfo, cg->version, cg->path, &root, &mnt);
	if (rc == 1) {
		struct hierarchy h = {cg->version, root, mnt};

		rc = caps_walk(ctx, &h, page_size, cg);
	}
	free(root);
	free(mnt);
	if (rc < 0)
		hmi_cgroup_caps_free(cg);
	return rc < 0 ? rc : 0;
}

void hmi_cgroup_caps_free(struct hmi_cgroup_caps *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		free(cg->caps[i].path);
	free(cg->caps);
	free(cg->path);
	memset(cg, 0, sizeof(*cg));
}
