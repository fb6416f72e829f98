/* SPDX-License-Identifier: MIT */
/*
 * pool.c — the pool commands, parity with DPDK's dpdk-hugepages.py plus
 * JSON: reserve, mount, unmount, clear.
 */
#include "cli.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIVE 64

/* The parser took at most the one word CMD takes (cli/main.c); say which
 * when it is REQUIRED and missing. */
static int one_arg(const char *cmd, const struct cli_opts *o, const char *what, int required)
{
	if (required && o->n_args == 0) {
		cli_error(cmd, "which %s? e.g. 'hugemem %s %s'", what, cmd,
			  strcmp(cmd, "reserve") == 0 ? "1G" : "/dev/hugepages");
		return -1;
	}
	return 0;
}

static int read_sysinfo(struct hm_ctx *ctx, const char *cmd, const struct cli_opts *o,
			struct hm_sysinfo **si)
{
	if (hm_sysinfo_read(ctx, o->lib.huge_dir, si) < 0) {
		cli_error(cmd, "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (hm_opts_check(ctx, &o->lib, *si) < 0) {
		cli_error(cmd, "%s", hm_errmsg(ctx));
		hm_sysinfo_free(*si);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------ reserve */

/* Growing a pool of pages larger than the smallest size can make the kernel
 * migrate in-use smaller hugepages to find room (Linux 5.13+): the IOVAs a
 * live prefix published would silently change. Refuse unless --force. */
static int migration_guard(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
			   const struct cli_opts *o)
{
	char names[MAX_LIVE][HM_PREFIX_MAX], sz[32];
	pid_t pids[MAX_LIVE];
	int n;

	if (si->n_pools == 0 || page_size <= si->pools[0].page_size)
		return 0;
	n = hm_prefixes_live(ctx, names, pids, MAX_LIVE);
	if (n <= 0)
		return 0;
	hm_size_str(page_size, sz, sizeof(sz));
	if (o->flags & CLI_OPT_FORCE) {
		fprintf(stderr,
			"hugemem reserve: warning: reserving %s pages may migrate the pages of "
			"live prefix '%s' (pid %d): its published IOVAs may go stale\n",
			sz, names[0], (int)pids[0]);
		return 0;
	}
	cli_error(
	    "reserve",
	    "reserving %s pages may make the kernel migrate the hugepages of live prefix '%s' "
	    "(pid %d), silently changing their IOVAs: stop it first, or pass --force",
	    sz, names[0], (int)pids[0]);
	return -1;
}

/* Pages the pool (or NODE's part of it) has now. */
static uint64_t pool_pages(const struct hm_pool *pool, int node)
{
	for (int i = 0; node >= 0 && i < pool->n_nodes; i++)
		if (pool->nodes[i].node == node)
			return pool->nodes[i].nr;
	return pool->nr;
}

/* What the pool holds: GOT is what it held right after the write (the
 * read-back), NOW what it holds at the end; they differ when another process
 * changed it meanwhile, and NOW is what is true. */
static void reserve_report(const struct cli_opts *o, uint64_t page_size, uint64_t asked,
			   uint64_t got, uint64_t now)
{
	char sz[32], total[32];
	struct json j;

	if (o->flags & CLI_OPT_JSON) {
		json_begin(&j, stdout);
		json_u64(&j, "page_size_bytes", page_size);
		json_i64(&j, "node", o->lib.node);
		json_u64(&j, "asked_pages", asked);
		json_u64(&j, "pages", now);
		json_u64(&j, "after_write_pages", got);
		json_bool(&j, "changed_meanwhile", now != got);
		json_end(&j);
		return;
	}
	printf("%s pages", hm_size_str(page_size, sz, sizeof(sz)));
	if (o->lib.node >= 0)
		printf(" on node %d", o->lib.node);
	printf(": %llu (%s)", (unsigned long long)now,
	       hm_size_str(now * page_size, total, sizeof(total)));
	if (now != got)
		printf(": another process changed the pool meanwhile (%llu right after this "
		       "write)",
		       (unsigned long long)got);
	else if (got > asked)
		printf(": %llu more than asked are in use and stay until they are freed",
		       (unsigned long long)(got - asked));
	printf("\n");
}

/* The pool's count now (its node's part with --node), read again; OTHERWISE
 * when it cannot be read. */
static uint64_t pool_now(struct hm_ctx *ctx, const struct cli_opts *o, uint64_t page_size,
			 uint64_t otherwise)
{
	struct hm_sysinfo *si;
	const struct hm_pool *pool;
	uint64_t now = otherwise;

	if (hm_sysinfo_read(ctx, NULL, &si) < 0)
		return otherwise;
	pool = hm_sysinfo_pool(si, page_size);
	if (pool)
		now = pool_pages(pool, o->lib.node);
	hm_sysinfo_free(si);
	return now;
}

/* ------------------------------------------------------------------ reorder */

static void order_report(const struct cli_opts *o, uint64_t page_size,
			 const struct hm_order_result *r, const char *verb)
{
	char sz[32], run[32];
	struct json j;

	if (o->flags & CLI_OPT_JSON) {
		json_begin(&j, stdout);
		json_u64(&j, "page_size_bytes", page_size);
		json_i64(&j, "node", o->lib.node);
		json_u64(&j, "pages", r->pages);
		json_u64(&j, "runs", r->runs);
		json_u64(&j, "longest_pages", r->longest);
		json_end(&j);
		return;
	}
	printf("%s %llu free pages of %s: %llu runs, the longest (%llu pages, %s) is handed out "
	       "first, ascending\n",
	       verb, (unsigned long long)r->pages, hm_size_str(page_size, sz, sizeof(sz)),
	       (unsigned long long)r->runs, (unsigned long long)r->longest,
	       hm_size_str(r->longest * page_size, run, sizeof(run)));
}

/* The page size a call with PAGE_SIZE (0 = the default) works on. */
static uint64_t size_used(struct hm_ctx *ctx, uint64_t page_size)
{
	struct hm_sysinfo *si;

	if (page_size || hm_sysinfo_read(ctx, NULL, &si) < 0)
		return page_size;
	page_size = si->default_page_size;
	hm_sysinfo_free(si);
	return page_size;
}

int cmd_reorder(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_order_result r;

	if (hm_pool_order(ctx, o->lib.page_size, o->lib.node, &r) < 0) {
		cli_error("reorder", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	order_report(o, size_used(ctx, o->lib.page_size), &r, "ordered");
	return EXIT_OK;
}

/* After the pool grew: the new pages are in the kernel's order; put the free
 * pool in ours, so the next primary (hugemem's or DPDK's) gets long runs. */
static void order_new_pages(struct hm_ctx *ctx, const struct cli_opts *o, uint64_t page_size)
{
	struct hm_order_result r;

	if (hm_pool_order(ctx, page_size, o->lib.node, &r) < 0) {
		fprintf(stderr, "hugemem reserve: warning: the pool is not ordered: %s\n",
			hm_errmsg(ctx));
		return;
	}
	if (!(o->flags & CLI_OPT_JSON))
		order_report(o, page_size, &r, "ordered");
}

static int reserve_pages(struct hm_ctx *ctx, const struct cli_opts *o, uint64_t page_size,
			 uint64_t bytes, uint64_t had)
{
	uint64_t pages = bytes / page_size + (bytes % page_size != 0), got = 0;
	char sz[32];
	int rc;

	if (bytes % page_size)
		fprintf(stderr,
			"hugemem reserve: %llu bytes is not a multiple of %s: rounded up to %llu "
			"pages\n",
			(unsigned long long)bytes, hm_size_str(page_size, sz, sizeof(sz)),
			(unsigned long long)pages);
	rc = hm_reserve(ctx, page_size, o->lib.node, pages, &got);
	if (rc < 0 && rc != -ENOMEM) {
		cli_error("reserve", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (rc == -ENOMEM) {
		reserve_report(o, page_size, pages, got, got);
		cli_error("reserve", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (got > had && strcmp(hm_ctx_root(ctx), "/") == 0) /* a fixture's pool is not real */
		order_new_pages(ctx, o, page_size);
	reserve_report(o, page_size, pages, got, pool_now(ctx, o, page_size, got));
	return EXIT_OK;
}

int cmd_reserve(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_sysinfo *si;
	const struct hm_pool *pool;
	uint64_t bytes;
	int rc;

	if (one_arg("reserve", o, "size", 1) < 0)
		return EXIT_USAGE;
	if (hm_parse_size(ctx, o->args[0], &bytes) < 0) {
		cli_error("reserve", "%s", hm_errmsg(ctx));
		return EXIT_USAGE;
	}
	rc = read_sysinfo(ctx, "reserve", o, &si);
	if (rc != EXIT_OK)
		return rc;
	pool = hm_sysinfo_pool(si, o->lib.page_size);
	if (!pool) {
		cli_error("reserve", "this kernel offers no hugepage size to reserve");
		rc = EXIT_FAIL;
	} else if (migration_guard(ctx, si, pool->page_size, o) < 0) {
		rc = EXIT_FAIL;
	} else {
		rc = reserve_pages(ctx, o, pool->page_size, bytes, pool_pages(pool, o->lib.node));
	}
	hm_sysinfo_free(si);
	return rc;
}

/* ------------------------------------------------------------------ mount */

/* NAME as a user (GROUP 0) or group: its id by name, else a decimal id.
 * -1 when it is neither. */
static int resolve_id(const char *name, int group, unsigned *id)
{
	const struct passwd *pw = group ? NULL : getpwnam(name);
	const struct group *gr = group ? getgrnam(name) : NULL;
	char *end;
	unsigned long v = strtoul(name, &end, 10);

	if (pw || gr) {
		*id = pw ? pw->pw_uid : gr->gr_gid;
		return 0;
	}
	if (*end != '\0' || end == name)
		return -1;
	*id = (unsigned)v;
	return 0;
}

int cli_group_id(const char *cmd, const char *name, gid_t *gid)
{
	unsigned id;

	if (resolve_id(name, 1, &id) < 0)
		return cli_error(cmd, "--group '%s': no such group", name), -1;
	*gid = (gid_t)id;
	return 0;
}

static int lookup_owner(const struct cli_opts *o, uid_t *uid, gid_t *gid)
{
	unsigned id;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (o->user && resolve_id(o->user, 0, &id) < 0)
		return cli_error("mount", "--user '%s': no such user", o->user), -1;
	if (o->user)
		*uid = (uid_t)id;
	if (o->group)
		return cli_group_id("mount", o->group, gid);
	return 0;
}

/* DPDK's habit: /dev/hugepages for the default size, /dev/hugepages1G etc. */
static void default_mount_dir(uint64_t page_size, char *dir, size_t len)
{
	char size[32];

	if (page_size == 0 || page_size == (2ULL << 20))
		snprintf(dir, len, "/dev/hugepages");
	else
		snprintf(dir, len, "/dev/hugepages%s", cli_size_arg(page_size, size, sizeof(size)));
}

int cmd_mount(struct hm_ctx *ctx, const struct cli_opts *o)
{
	char dir[64];
	uid_t uid;
	gid_t gid;
	struct json j;

	if (one_arg("mount", o, "directory", 0) < 0 || lookup_owner(o, &uid, &gid) < 0)
		return EXIT_USAGE;
	default_mount_dir(o->lib.page_size, dir, sizeof(dir));
	if (hm_mount(ctx, o->n_args ? o->args[0] : dir, o->lib.page_size, uid, gid) < 0) {
		cli_error("mount", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (o->flags & CLI_OPT_JSON) {
		json_begin(&j, stdout);
		json_str(&j, "mounted", o->n_args ? o->args[0] : dir);
		json_u64(&j, "page_size_bytes", o->lib.page_size);
		json_end(&j);
	} else {
		printf("mounted hugetlbfs at %s\n", o->n_args ? o->args[0] : dir);
	}
	return EXIT_OK;
}

int cmd_unmount(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct json j;

	if (one_arg("unmount", o, "directory", 1) < 0)
		return EXIT_USAGE;
	if (hm_unmount(ctx, o->args[0]) < 0) {
		cli_error("unmount", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (o->flags & CLI_OPT_JSON) {
		json_begin(&j, stdout);
		json_str(&j, "unmounted", o->args[0]);
		json_end(&j);
	} else {
		printf("unmounted %s\n", o->args[0]);
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------ clear */

/* A stale file clear leaves: the command to remove it by hand is printed
 * only when its name can be printed as it is (nothing escaped, no quote);
 * else the user is told why it is not. */
static void print_not_proved(const char *raw)
{
	char path[CLI_SHOWN_MAX];

	cli_shown(raw, path, sizeof(path));
	printf("left %s: not proved a page file of hugemem or DPDK (another program's?); ", path);
	if (strcmp(path, raw) == 0 && !strchr(raw, '\''))
		printf("if it is a leftover, remove it by hand: rm -- '%s'\n", raw);
	else
		printf("if it is a leftover, remove it by hand (its name has bytes shown "
		       "escaped as \\xNN: pick it with rm -i -- and a pattern)\n");
}

static void clear_text(const struct hm_file_list *removed, const struct hm_file_list *kept,
		       int dry_run)
{
	char sz[32], path[CLI_SHOWN_MAX];

	for (int i = 0; removed && i < removed->n; i++)
		printf("%s %s (%s): stale — no lock, not mapped, not open by any process\n",
		       dry_run ? "would remove" : "removed",
		       cli_shown(removed->files[i].path, path, sizeof(path)),
		       hm_size_str(removed->files[i].bytes, sz, sizeof(sz)));
	for (int i = 0; kept && i < kept->n; i++)
		if (kept->files[i].state != HM_FILE_STALE)
			printf("kept %s: live (pid %d)\n",
			       cli_shown(kept->files[i].path, path, sizeof(path)),
			       (int)kept->files[i].pid);
		else if (kept->files[i].owner == HM_OWNER_UNKNOWN)
			print_not_proved(kept->files[i].path);
	if (!removed || removed->n == 0)
		printf("no stale page files\n");
}

static void clear_json(const struct hm_file_list *removed, const struct hm_file_list *kept,
		       int dry_run)
{
	struct json j;

	json_begin(&j, stdout);
	json_bool(&j, "dry_run", dry_run);
	json_arr(&j, "removed");
	for (int i = 0; removed && i < removed->n; i++) {
		json_obj(&j, NULL);
		json_str(&j, "path", removed->files[i].path);
		json_str(&j, "prefix", removed->files[i].prefix);
		json_u64(&j, "bytes", removed->files[i].bytes);
		json_str(&j, "reason", "no lock, not mapped, not open");
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_arr(&j, "kept");
	for (int i = 0; kept && i < kept->n; i++) {
		if (kept->files[i].state == HM_FILE_STALE)
			continue;
		json_obj(&j, NULL);
		json_str(&j, "path", kept->files[i].path);
		json_i64(&j, "pid", kept->files[i].pid);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	/* Stale, but not proved hugemem's or DPDK's: left. Objects, not bare
	 * strings, so a name that is not UTF-8 has its path_base64 beside it. */
	json_arr(&j, "not_proved");
	for (int i = 0; kept && i < kept->n; i++) {
		if (kept->files[i].state != HM_FILE_STALE ||
		    kept->files[i].owner != HM_OWNER_UNKNOWN)
			continue;
		json_obj(&j, NULL);
		json_str(&j, "path", kept->files[i].path);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_end(&j);
}

int cmd_clear(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_file_list *removed = NULL, *kept = NULL;
	struct hm_sysinfo *si;
	int dry_run = !!(o->flags & CLI_OPT_DRY_RUN), rc;

	rc = read_sysinfo(ctx, "clear", o, &si);
	if (rc != EXIT_OK)
		return rc;
	if (hm_clear(ctx, si, o->lib.file_prefix, dry_run, &removed) < 0) {
		cli_error("clear", "%s", hm_errmsg(ctx));
		rc = EXIT_FAIL;
	} else {
		hm_files_scan(ctx, si, o->lib.file_prefix, &kept);
		if (o->flags & CLI_OPT_JSON)
			clear_json(removed, kept, dry_run);
		else
			clear_text(removed, kept, dry_run);
	}
	hm_file_list_free(removed);
	hm_file_list_free(kept);
	hm_sysinfo_free(si);
	return rc;
}
