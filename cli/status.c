/* SPDX-License-Identifier: MIT */
/*
 * status.c — `hugemem status`: one look that says why this process can or
 * cannot get hugepage memory. Gathers sysinfo (pools, nodes, mounts, cgroup,
 * budgets), page files with their owners, live prefixes, as root the free
 * pool's physical runs, the IOMMU side with a verdict per --vfio-device
 * (cli/status_iommu.c), and the pool keeper while one answers
 * (cli/status_keeper.c); prints them as text or JSON; exits with the verdict
 * of the default page size, or 7 when that is usable and a device is not
 * (docs/usage.md: "Exit status").
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIVE 64

struct status {
	struct hm_sysinfo *si;
	uint64_t only_size; /* --page-size: show that pool alone */
	struct hm_file_list *files;
	char files_err[256];
	struct hm_poolmap *maps[HM_MAX_PAGE_SIZES];
	char map_err[HM_MAX_PAGE_SIZES][256];
	char live[MAX_LIVE][HM_PREFIX_MAX];
	pid_t live_pid[MAX_LIVE];
	int n_live;
	struct cli_iommu iommu;
	struct cli_keeper keeper;
};

/* One group of page files: same directory, same prefix. */
struct file_group {
	const struct hm_page_file *first;
	int files, live;
	uint64_t bytes;
	pid_t pid;
	enum hm_file_state why;
};

static const char *const state_names[] = {
    [HM_FILE_STALE] = "stale", [HM_FILE_LOCKED] = "locked",	      [HM_FILE_MAPPED] = "mapped",
    [HM_FILE_OPEN] = "open",   [HM_FILE_PREFIX_LIVE] = "prefix-live",
};

static const char *const owner_names[] = {
    [HM_OWNER_UNKNOWN] = "unknown", [HM_OWNER_HUGEMEM] = "hugemem", [HM_OWNER_DPDK] = "dpdk"};

static const char *const cap_names[] = {
    [HM_CAP_POOL] = "pool", [HM_CAP_MOUNT] = "mount", [HM_CAP_CGROUP] = "cgroup"};

static const char *const verdict_names[] = {
    [HM_VERDICT_USABLE] = "usable",	[HM_VERDICT_NO_MOUNT] = "no-mount",
    [HM_VERDICT_NO_PAGES] = "no-pages", [HM_VERDICT_EXHAUSTED] = "exhausted",
    [HM_VERDICT_CAPPED] = "capped",
};

static int shown(const struct status *st, const struct hm_pool *p)
{
	return !st->only_size || p->page_size == st->only_size;
}

static void gather_maps(struct hm_ctx *ctx, struct status *st)
{
	for (int i = 0; i < st->si->n_pools; i++) {
		const struct hm_pool *p = &st->si->pools[i];

		if (!shown(st, p))
			continue;
		if (hm_poolmap_read(ctx, st->si, p->page_size, &st->maps[i]) < 0)
			snprintf(st->map_err[i], sizeof(st->map_err[i]), "%s", hm_errmsg(ctx));
	}
}

static void gather(struct hm_ctx *ctx, const struct cli_opts *o, struct status *st)
{
	if (hm_files_scan(ctx, st->si, NULL, &st->files) < 0)
		snprintf(st->files_err, sizeof(st->files_err), "%s", hm_errmsg(ctx));
	st->n_live = hm_prefixes_live(ctx, st->live, st->live_pid, MAX_LIVE);
	if (st->n_live < 0)
		st->n_live = 0;
	gather_maps(ctx, st);
	cli_iommu_gather(ctx, o, &st->iommu);
	cli_keeper_gather(ctx, o, &st->keeper);
}

static void release(struct status *st)
{
	for (int i = 0; i < HM_MAX_PAGE_SIZES; i++)
		hm_poolmap_free(st->maps[i]);
	hm_file_list_free(st->files);
	hm_sysinfo_free(st->si);
	cli_iommu_release(&st->iommu);
	cli_keeper_release(&st->keeper);
}

static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

static int by_dir_prefix(const void *a, const void *b)
{
	const struct hm_page_file *x = a, *y = b;
	size_t lx = dir_len(x->path), ly = dir_len(y->path);
	int c = strncmp(x->path, y->path, lx < ly ? lx : ly);

	if (c == 0 && lx != ly)
		c = lx < ly ? -1 : 1;
	if (c == 0 && (x->owner == HM_OWNER_UNKNOWN) != (y->owner == HM_OWNER_UNKNOWN))
		return x->owner == HM_OWNER_UNKNOWN ? 1 : -1; /* not proved: one group, last */
	if (c == 0 && x->owner == HM_OWNER_UNKNOWN)
		return 0;
	return c ? c : strcmp(x->prefix, y->prefix);
}

/* Files sorted by directory and prefix; fill *G with the group starting at
 * index I and return the index after it. */
static int next_group(const struct hm_file_list *fl, int i, struct file_group *g)
{
	memset(g, 0, sizeof(*g));
	g->first = &fl->files[i];
	for (; i < fl->n && by_dir_prefix(g->first, &fl->files[i]) == 0; i++) {
		const struct hm_page_file *f = &fl->files[i];

		g->files++;
		g->bytes += f->bytes;
		if (f->state != HM_FILE_STALE) {
			g->live++;
			if (!g->pid || (f->pid > 0 && g->pid < 0)) {
				g->pid = f->pid;
				g->why = f->state;
			}
		}
	}
	return i;
}

/* ------------------------------------------------------------------ text */

/* PAGES of PAGE_SIZE as "2304 (4.5 GiB)", or "0". */
static const char *pages_text(uint64_t pages, uint64_t page_size, char *buf, size_t len)
{
	char size[32];

	if (pages == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%llu (%s)", (unsigned long long)pages,
			 cli_size_approx(pages * page_size, size, sizeof(size)));
	return buf;
}

static void text_nodes(const struct hm_pool *p)
{
	char total[48], free_[48];

	for (int n = 0; n < p->n_nodes; n++)
		printf("  node %-5d total %s  free %s  surplus %llu  budget ~%llu\n",
		       p->nodes[n].node, pages_text(p->nodes[n].nr, p->page_size, total, 48),
		       pages_text(p->nodes[n].free, p->page_size, free_, 48),
		       (unsigned long long)p->nodes[n].surplus,
		       (unsigned long long)p->node_budget[n]);
}

static void text_mount(const struct hm_sysinfo *si, const struct hm_pool *p)
{
	const struct hm_mount *m;
	char a[32], b[32];

	if (p->mount < 0) {
		printf("  mount      none serves this size (memfd backing, --in-memory, still "
		       "works)\n");
		return;
	}
	m = &si->mounts[p->mount];
	printf("  mount      %s  size=%s room=%s  uid %d gid %d mode %04o  %s\n", m->path,
	       m->size_limit ? hm_size_str(m->size_limit, a, sizeof(a)) : "none",
	       m->room == UINT64_MAX ? "unlimited" : hm_size_str(m->room, b, sizeof(b)),
	       (int)m->uid, (int)m->gid, (unsigned)m->mode & 07777,
	       m->read_only  ? "read-only"
	       : m->writable ? "writable by you"
			     : "NOT writable by you");
}

/* Every mount others may write that is not sticky, chosen or not. */
static void text_unsafe(const struct hm_sysinfo *si)
{
	for (int i = 0; i < si->n_mounts; i++)
		if (si->mounts[i].unsafe)
			printf("unsafe mount %s: users other than its owner may write it and it is "
			       "not sticky, so they could rename or replace page files there "
			       "(init refuses it without --allow-unsafe-mount): 'chmod +t %s', or "
			       "mount one with 'hugemem mount --user/--group'\n",
			       si->mounts[i].path, si->mounts[i].path);
}

static void text_cgroup(const struct hm_pool *p)
{
	const struct hm_cgroup_limit *c = &p->cgroup;
	char a[32], b[32];

	if (c->version == 0 || (c->max == UINT64_MAX && c->rsvd_max == UINT64_MAX)) {
		printf("  cgroup     no hugetlb limit\n");
		return;
	}
	printf("  cgroup     v%d %s: limit %s, charged %s\n", c->version, c->path ? c->path : "?",
	       c->max == UINT64_MAX ? "none" : hm_size_str(c->max, a, sizeof(a)),
	       hm_size_str(c->usage, b, sizeof(b)));
}

static void text_map(const struct status *st, int i)
{
	const struct hm_poolmap *m = st->maps[i];

	if (!m) {
		printf("  free runs  unknown: %s\n", st->map_err[i]);
		return;
	}
	for (int n = 0; n < m->n_nodes; n++)
		printf(
		    "  free runs  node %d: %llu free pages in %llu runs, largest %llu pages%s\n",
		    m->nodes[n].node, (unsigned long long)m->nodes[n].free_pages,
		    (unsigned long long)m->nodes[n].n_runs, (unsigned long long)m->nodes[n].largest,
		    m->exact ? "" : " (upper bound: reservations or unmapped files count as free)");
}

static void text_pool(const struct status *st, int i)
{
	const struct hm_pool *p = &st->si->pools[i];
	char sz[32], n[5][48];

	printf("%s pages%s\n", hm_size_str(p->page_size, sz, sizeof(sz)),
	       p->is_default ? " (default size)" : "");
	printf("  pool       total %s  free %s  reserved %s  surplus %s  overcommit %s\n",
	       pages_text(p->nr, p->page_size, n[0], 48),
	       pages_text(p->free, p->page_size, n[1], 48),
	       pages_text(p->resv, p->page_size, n[2], 48),
	       pages_text(p->surplus, p->page_size, n[3], 48),
	       pages_text(p->overcommit, p->page_size, n[4], 48));
	text_nodes(p);
	text_mount(st->si, p);
	text_cgroup(p);
	printf("  budget     %llu page%s, set by the %s\n", (unsigned long long)p->budget,
	       p->budget == 1 ? "" : "s", p->budget_cap ? cap_names[p->budget_cap] : "pool");
	text_map(st, i);
}

static void text_files(const struct status *st)
{
	char sz[32], path[CLI_SHOWN_MAX], prefix[CLI_SHOWN_MAX];
	struct file_group g;

	printf("page files\n");
	if (st->files_err[0])
		printf("  unknown: %s\n", cli_shown(st->files_err, path, sizeof(path)));
	else if (!st->files || st->files->n == 0)
		printf("  none\n");
	for (int i = 0; st->files && i < st->files->n;) {
		i = next_group(st->files, i, &g);
		/* names are chosen by whoever can write the mount: shown safely */
		cli_shown(g.first->path, path, sizeof(path));
		cli_shown(g.first->prefix, prefix, sizeof(prefix));
		if (g.first->owner == HM_OWNER_UNKNOWN) {
			printf("  %.*s  %d files named *map_* not proved hugemem's or DPDK's "
			       "(e.g. %s), %s, %d live: another program's? clear leaves them; "
			       "remove leftovers by hand\n",
			       (int)dir_len(path), path, g.files, path + dir_len(path) + 1,
			       hm_size_str(g.bytes, sz, sizeof(sz)), g.live);
			continue;
		}
		printf("  %.*s  prefix '%s': %d files, %s, ", (int)dir_len(path), path, prefix,
		       g.files, hm_size_str(g.bytes, sz, sizeof(sz)));
		if (g.live)
			printf("live (%s, pid %d)\n", state_names[g.why], (int)g.pid);
		else
			printf("stale: hugemem clear --file-prefix %s\n", prefix);
	}
	for (int i = 0; i < st->n_live; i++)
		printf("  prefix '%s' is live: primary pid %d\n",
		       cli_shown(st->live[i], prefix, sizeof(prefix)), (int)st->live_pid[i]);
}

static void print_text(const struct status *st)
{
	char line[256];

	if (st->si->n_pools == 0)
		printf("no hugepage sizes: this kernel has no hugetlb support\n");
	for (int i = 0; i < st->si->n_pools; i++)
		if (shown(st, &st->si->pools[i]))
			text_pool(st, i);
	text_unsafe(st->si);
	cli_keeper_text(&st->keeper);
	text_files(st);
	cli_iommu_text(&st->iommu);
	printf("verdict\n");
	for (int i = 0; i < st->si->n_pools; i++) {
		if (!shown(st, &st->si->pools[i]))
			continue;
		hm_pool_verdict(st->si, &st->si->pools[i], line, sizeof(line));
		printf("  %s\n", line);
	}
	cli_iommu_verdicts_text(&st->iommu);
}

/* ------------------------------------------------------------------ JSON */

static void json_mounts(struct json *j, const struct hm_sysinfo *si)
{
	char mode[8];

	json_arr(j, "mounts");
	for (int i = 0; i < si->n_mounts; i++) {
		const struct hm_mount *m = &si->mounts[i];

		snprintf(mode, sizeof(mode), "%04o", (unsigned)m->mode & 07777);
		json_obj(j, NULL);
		json_str(j, "path", m->path);
		json_u64(j, "page_size_bytes", m->page_size);
		json_limit(j, "size_limit_bytes", m->size_limit ? m->size_limit : UINT64_MAX);
		json_limit(j, "room_bytes", m->room);
		json_limit(j, "free_inodes", m->inodes_free);
		json_i64(j, "uid", (int64_t)(int)m->uid);
		json_i64(j, "gid", (int64_t)(int)m->gid);
		json_str(j, "mode", mode);
		json_bool(j, "read_only", m->read_only);
		json_bool(j, "writable", m->writable);
		json_bool(j, "unsafe", m->unsafe);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_cgroup(struct json *j, const struct hm_cgroup_limit *c)
{
	if (c->version == 0) {
		json_null(j, "cgroup_limit");
		return;
	}
	json_obj(j, "cgroup_limit");
	json_i64(j, "version", c->version);
	json_str(j, "path", c->path);
	json_limit(j, "max_bytes", c->max);
	json_limit(j, "rsvd_max_bytes", c->rsvd_max);
	json_u64(j, "usage_bytes", c->usage);
	json_u64(j, "rsvd_usage_bytes", c->rsvd_usage);
	json_obj_end(j);
}

static void json_map(struct json *j, const struct status *st, int i)
{
	const struct hm_poolmap *m = st->maps[i];

	if (!m) {
		json_null(j, "pool_map");
		json_str(j, "pool_map_error", st->map_err[i]);
		return;
	}
	json_obj(j, "pool_map");
	json_bool(j, "exact", m->exact);
	json_arr(j, "nodes");
	for (int n = 0; n < m->n_nodes; n++) {
		json_obj(j, NULL);
		json_i64(j, "node", m->nodes[n].node);
		json_u64(j, "total_pages", m->nodes[n].heads);
		json_u64(j, "free_pages", m->nodes[n].free_pages);
		json_u64(j, "free_runs", m->nodes[n].n_runs);
		json_u64(j, "largest_run_pages", m->nodes[n].largest);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void json_pool_nodes(struct json *j, const struct hm_pool *p)
{
	json_arr(j, "nodes");
	for (int n = 0; n < p->n_nodes; n++) {
		json_obj(j, NULL);
		json_i64(j, "node", p->nodes[n].node);
		json_u64(j, "total_pages", p->nodes[n].nr);
		json_u64(j, "free_pages", p->nodes[n].free);
		json_u64(j, "surplus_pages", p->nodes[n].surplus);
		json_u64(j, "budget_pages", p->node_budget[n]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_pool(struct json *j, const struct status *st, int i)
{
	const struct hm_pool *p = &st->si->pools[i];
	char line[256];
	enum hm_verdict v = hm_pool_verdict(st->si, p, line, sizeof(line));

	json_obj(j, NULL);
	json_u64(j, "page_size_bytes", p->page_size);
	json_bool(j, "default", p->is_default);
	json_u64(j, "total_pages", p->nr);
	json_u64(j, "free_pages", p->free);
	json_u64(j, "reserved_pages", p->resv);
	json_u64(j, "surplus_pages", p->surplus);
	json_u64(j, "overcommit_pages", p->overcommit);
	json_pool_nodes(j, p);
	json_str(j, "mount", p->mount >= 0 ? st->si->mounts[p->mount].path : NULL);
	json_cgroup(j, &p->cgroup);
	json_u64(j, "budget_pages", p->budget);
	json_str(j, "budget_cap", p->budget_cap ? cap_names[p->budget_cap] : "pool");
	json_bool(j, "node_budget_estimated", 1);
	json_map(j, st, i);
	json_str(j, "verdict", verdict_names[v]);
	json_i64(j, "verdict_code", v);
	json_str(j, "message", line);
	json_obj_end(j);
}

static void json_files(struct json *j, const struct status *st)
{
	struct file_group g;
	char dir[HM_PATH_MAX];

	json_arr(j, "page_files");
	for (int i = 0; st->files && i < st->files->n;) {
		i = next_group(st->files, i, &g);
		snprintf(dir, sizeof(dir), "%.*s", (int)dir_len(g.first->path), g.first->path);
		json_obj(j, NULL);
		json_str(j, "dir", dir);
		json_str(j, "prefix", g.first->owner == HM_OWNER_UNKNOWN ? NULL : g.first->prefix);
		json_str(j, "owner", owner_names[g.first->owner]);
		json_i64(j, "files", g.files);
		json_i64(j, "live_files", g.live);
		json_u64(j, "bytes", g.bytes);
		json_str(j, "state", g.live ? "live" : "stale");
		json_str(j, "held_by", g.live ? state_names[g.why] : NULL);
		json_i64(j, "pid", g.pid);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (st->files_err[0])
		json_str(j, "page_files_error", st->files_err);
}

static void json_live(struct json *j, const struct status *st)
{
	json_arr(j, "live_prefixes");
	for (int i = 0; i < st->n_live; i++) {
		json_obj(j, NULL);
		json_str(j, "prefix", st->live[i]);
		json_i64(j, "pid", st->live_pid[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void print_json(const struct status *st, const struct hm_ctx *ctx, int exit_code)
{
	struct json j;

	json_begin(&j, stdout);
	json_str(&j, "root", hm_ctx_root(ctx));
	json_u64(&j, "default_page_size_bytes", st->si->default_page_size);
	json_arr(&j, "nodes");
	for (int n = 0; n < st->si->n_nodes; n++)
		json_i64(&j, NULL, st->si->node_ids[n]);
	json_arr_end(&j);
	json_obj(&j, "cgroup");
	json_str(&j, "path", st->si->cgroup_path);
	json_i64(&j, "version", st->si->cgroup_version);
	json_obj_end(&j);
	json_arr(&j, "pools");
	for (int i = 0; i < st->si->n_pools; i++)
		if (shown(st, &st->si->pools[i]))
			json_pool(&j, st, i);
	json_arr_end(&j);
	json_mounts(&j, st->si);
	json_files(&j, st);
	json_live(&j, st);
	cli_iommu_json(&j, &st->iommu);
	cli_keeper_json(&j, &st->keeper);
	json_i64(&j, "exit_status", exit_code);
	json_end(&j);
}

/* The exit status: the verdict of the size init would use; when that is
 * usable, EXIT_DEVICE when a --vfio-device is not. */
static int status_exit(const struct status *st)
{
	const struct hm_pool *p = hm_sysinfo_pool(st->si, st->only_size);
	char line[256];
	int code;

	if (!p)
		return HM_VERDICT_NO_PAGES;
	code = (int)hm_pool_verdict(st->si, p, line, sizeof(line));
	return code == HM_VERDICT_USABLE && st->iommu.unusable ? EXIT_DEVICE : code;
}

int cmd_status(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct status st;
	int code;

	memset(&st, 0, sizeof(st));
	st.only_size = o->lib.page_size;
	if (hm_sysinfo_read(ctx, o->lib.huge_dir, &st.si) < 0) {
		cli_error("status", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (hm_opts_check(ctx, &o->lib, st.si) < 0) {
		cli_error("status", "%s", hm_errmsg(ctx));
		release(&st);
		return EXIT_USAGE;
	}
	gather(ctx, o, &st);
	if (st.files && st.files->n > 0) /* qsort(NULL, 0) is undefined */
		qsort(st.files->files, (size_t)st.files->n, sizeof(st.files->files[0]),
		      by_dir_prefix);
	code = status_exit(&st);
	if (o->flags & CLI_OPT_JSON)
		print_json(&st, ctx, code);
	else
		print_text(&st);
	release(&st);
	return code;
}
