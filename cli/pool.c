/* SPDX-License-Identifier: MIT */
/*
 * pool.c — the pool commands, parity with DPDK's dpdk-hugepages.py and
 * libhugetlbfs's hugeadm plus JSON: reserve (with --overcommit, --dry-run),
 * mount (with size=, nr_inodes=, mode=, --dry-run), unmount, clear; and what
 * setup (cli/setup.c) shares with them: the guards for live prefixes, the
 * mount's owner and mode, the report of an ordering.
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

int cli_read_sysinfo(struct hm_ctx *ctx, const char *cmd, const struct cli_opts *o,
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

int cli_live_guard(struct hm_ctx *ctx, const char *cmd, const struct cli_opts *o, const char *what,
		   const char *harm)
{
	char names[MAX_LIVE][HM_PREFIX_MAX], name[CLI_SHOWN_MAX];
	pid_t pids[MAX_LIVE];
	int n = hm_prefixes_live(ctx, names, pids, MAX_LIVE);

	if (n <= 0)
		return 0;
	cli_shown(names[0], name, sizeof(name));
	if (o->flags & CLI_OPT_FORCE) {
		fprintf(stderr, "hugemem %s: warning: %s while live prefix '%s' (pid %d) %s\n", cmd,
			what, name, (int)pids[0], harm);
		return 0;
	}
	cli_error(cmd, "%s while live prefix '%s' (pid %d) %s: stop it first, or pass --force",
		  what, name, (int)pids[0], harm);
	return -1;
}

/* Growing a pool of pages larger than the smallest size can make the kernel
 * migrate in-use smaller hugepages to find room (Linux 5.13+): the IOVAs a
 * live prefix published would silently change. Refused unless --force. */
int cli_migration_guard(struct hm_ctx *ctx, const char *cmd, const struct hm_sysinfo *si,
			uint64_t page_size, const struct cli_opts *o)
{
	char sz[32], what[64];

	if (si->n_pools == 0 || page_size <= si->pools[0].page_size)
		return 0;
	snprintf(what, sizeof(what), "reserving %s pages", hm_size_str(page_size, sz, sizeof(sz)));
	return cli_live_guard(ctx, cmd, o, what,
			      "may see the kernel migrate its hugepages, silently changing their "
			      "IOVAs");
}

/* Emptying a pool under a live prefix: its pages stay as surplus, and it can
 * map no more (growth, a new zone). Refused unless --force. */
static int empty_guard(struct hm_ctx *ctx, uint64_t page_size, const struct cli_opts *o)
{
	char sz[32], what[64];

	snprintf(what, sizeof(what), "emptying the pool of %s pages",
		 hm_size_str(page_size, sz, sizeof(sz)));
	return cli_live_guard(ctx, "reserve", o, what,
			      "would keep its pages as surplus and could map no more");
}

/* Pages the pool (or NODE's part of it) has now. */
static uint64_t pool_pages(const struct hm_pool *pool, int node)
{
	for (int i = 0; node >= 0 && i < pool->n_nodes; i++)
		if (pool->nodes[i].node == node)
			return pool->nodes[i].nr;
	return pool->nr;
}

/* One reserve: what was asked, and what came of it. */
struct reserve {
	uint64_t page_size;
	int size_given;		     /* SIZE was given (else the pool is left alone) */
	uint64_t asked;		     /* pages SIZE asks for */
	uint64_t had, got, now;	     /* before; read back right after the write; at the end */
	int over_given;		     /* --overcommit */
	uint64_t over_asked;	     /* pages it asks for */
	uint64_t over_had, over_now; /* nr_overcommit_hugepages before, and at the end */
};

static void reserve_json(const struct cli_opts *o, const struct reserve *r)
{
	struct json j;

	json_begin(&j, stdout);
	json_u64(&j, "page_size_bytes", r->page_size);
	json_i64(&j, "node", o->lib.node);
	json_u64(&j, "asked_pages", r->asked);
	json_u64(&j, "pages", r->now);
	json_u64(&j, "after_write_pages", r->got);
	json_bool(&j, "changed_meanwhile", r->now != r->got);
	json_bool(&j, "dry_run", !!(o->flags & CLI_OPT_DRY_RUN));
	if (r->over_given) {
		json_u64(&j, "asked_overcommit_pages", r->over_asked);
		json_u64(&j, "overcommit_pages", r->over_now);
	}
	json_end(&j);
}

/* The overcommit, said with what it means. */
static void overcommit_text(const struct cli_opts *o, const struct reserve *r)
{
	char sz[32], total[32];

	hm_size_str(r->page_size, sz, sizeof(sz));
	if (o->flags & CLI_OPT_DRY_RUN)
		printf("would set the overcommit of %s pages from %llu to %llu (%s)", sz,
		       (unsigned long long)r->over_had, (unsigned long long)r->over_asked,
		       hm_size_str(r->over_asked * r->page_size, total, sizeof(total)));
	else
		printf("overcommit of %s pages: %llu (%s)", sz, (unsigned long long)r->over_now,
		       hm_size_str(r->over_now * r->page_size, total, sizeof(total)));
	printf(": surplus pages the kernel may allocate on demand beyond the pool, not "
	       "reserved (a mapping may still find no memory)\n");
}

/* What the pool holds: GOT is what it held right after the write (the
 * read-back), NOW what it holds at the end; they differ when another process
 * changed it meanwhile, and NOW is what is true. */
static void reserve_text(const struct cli_opts *o, const struct reserve *r)
{
	char sz[32], total[32], where[32] = "";

	if (o->lib.node >= 0)
		snprintf(where, sizeof(where), " on node %d", o->lib.node);
	hm_size_str(r->page_size, sz, sizeof(sz));
	if (r->size_given && (o->flags & CLI_OPT_DRY_RUN))
		printf("would set the %s pool%s from %llu to %llu pages (%s)%s\n", sz, where,
		       (unsigned long long)r->had, (unsigned long long)r->asked,
		       hm_size_str(r->asked * r->page_size, total, sizeof(total)),
		       r->asked > r->had ? ", then put it in order" : "");
	else if (r->size_given)
		printf("%s pages%s: %llu (%s)", sz, where, (unsigned long long)r->now,
		       hm_size_str(r->now * r->page_size, total, sizeof(total)));
	if (r->size_given && !(o->flags & CLI_OPT_DRY_RUN)) {
		if (r->now != r->got)
			printf(": another process changed the pool meanwhile (%llu right after "
			       "this write)",
			       (unsigned long long)r->got);
		else if (r->got > r->asked)
			printf(": %llu more than asked are in use and stay until they are freed",
			       (unsigned long long)(r->got - r->asked));
		printf("\n");
	}
	if (r->over_given)
		overcommit_text(o, r);
}

static void reserve_report(const struct cli_opts *o, const struct reserve *r)
{
	if (o->flags & CLI_OPT_JSON)
		reserve_json(o, r);
	else
		reserve_text(o, r);
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

void cli_order_text(uint64_t page_size, const struct hm_order_result *r)
{
	char sz[32], run[32];

	printf("ordered %llu free pages of %s: %llu runs, the longest (%llu pages, %s) is handed "
	       "out first, ascending\n",
	       (unsigned long long)r->pages, hm_size_str(page_size, sz, sizeof(sz)),
	       (unsigned long long)r->runs, (unsigned long long)r->longest,
	       hm_size_str(r->longest * page_size, run, sizeof(run)));
}

static void order_report(const struct cli_opts *o, uint64_t page_size,
			 const struct hm_order_result *r)
{
	struct json j;

	if (!(o->flags & CLI_OPT_JSON)) {
		cli_order_text(page_size, r);
		return;
	}
	json_begin(&j, stdout);
	json_u64(&j, "page_size_bytes", page_size);
	json_i64(&j, "node", o->lib.node);
	json_u64(&j, "pages", r->pages);
	json_u64(&j, "runs", r->runs);
	json_u64(&j, "longest_pages", r->longest);
	json_end(&j);
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
	order_report(o, size_used(ctx, o->lib.page_size), &r);
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
		cli_order_text(page_size, &r);
}

/* SIZE, whole pages: said on stderr when rounded up. */
static uint64_t to_pages(const char *what, uint64_t bytes, uint64_t page_size)
{
	uint64_t pages = bytes / page_size + (bytes % page_size != 0);
	char sz[32];

	if (bytes % page_size)
		fprintf(stderr,
			"hugemem reserve: %s%llu bytes is not a multiple of %s: rounded up to %llu "
			"pages\n",
			what, (unsigned long long)bytes, hm_size_str(page_size, sz, sizeof(sz)),
			(unsigned long long)pages);
	return pages;
}

static int reserve_pages(struct hm_ctx *ctx, const struct cli_opts *o, struct reserve *r)
{
	int rc = hm_reserve(ctx, r->page_size, o->lib.node, r->asked, &r->got);

	if (rc < 0 && rc != -ENOMEM) {
		cli_error("reserve", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	r->now = r->got;
	if (rc == -ENOMEM) {
		reserve_report(o, r);
		cli_error("reserve", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	if (r->got > r->had &&
	    strcmp(hm_ctx_root(ctx), "/") == 0) /* a fixture's pool is not real */
		order_new_pages(ctx, o, r->page_size);
	r->now = pool_now(ctx, o, r->page_size, r->got);
	return EXIT_OK;
}

/* SIZE and --overcommit SIZE: at least one; --overcommit is system-wide. */
static int reserve_args(struct hm_ctx *ctx, const struct cli_opts *o, uint64_t *bytes,
			uint64_t *over)
{
	if (!o->overcommit && one_arg("reserve", o, "size", 1) < 0)
		return -1;
	if (o->n_args && hm_parse_size(ctx, o->args[0], bytes) < 0)
		return cli_error("reserve", "%s", hm_errmsg(ctx)), -1;
	if (o->overcommit && hm_parse_size(ctx, o->overcommit, over) < 0)
		return cli_error("reserve", "--overcommit: %s", hm_errmsg(ctx)), -1;
	if (o->overcommit && o->lib.node >= 0)
		return cli_error("reserve",
				 "--overcommit is system-wide (the kernel keeps no overcommit per "
				 "node): give it without --node"),
		       -1;
	return 0;
}

/* Guard, then reserve and set the overcommit, or with --dry-run say it. */
static int reserve_run(struct hm_ctx *ctx, const struct cli_opts *o, const struct hm_sysinfo *si,
		       struct reserve *r, uint64_t bytes)
{
	int rc = EXIT_OK;

	if (r->size_given && (cli_migration_guard(ctx, "reserve", si, r->page_size, o) < 0 ||
			      (bytes == 0 && empty_guard(ctx, r->page_size, o) < 0)))
		return EXIT_FAIL;
	r->got = r->now = r->had;
	r->over_now = r->over_had;
	if (!(o->flags & CLI_OPT_DRY_RUN) && r->size_given)
		rc = reserve_pages(ctx, o, r);
	if (rc == EXIT_OK && !(o->flags & CLI_OPT_DRY_RUN) && r->over_given &&
	    hm_overcommit(ctx, r->page_size, r->over_asked, &r->over_now) < 0) {
		cli_error("reserve", "%s", hm_errmsg(ctx));
		rc = EXIT_FAIL;
	}
	if (rc == EXIT_OK)
		reserve_report(o, r);
	return rc;
}

int cmd_reserve(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct reserve r = {.size_given = o->n_args > 0, .over_given = o->overcommit != NULL};
	struct hm_sysinfo *si;
	const struct hm_pool *pool;
	uint64_t bytes = 0, over = 0;
	int rc;

	if (reserve_args(ctx, o, &bytes, &over) < 0)
		return EXIT_USAGE;
	rc = cli_read_sysinfo(ctx, "reserve", o, &si);
	if (rc != EXIT_OK)
		return rc;
	pool = hm_sysinfo_pool(si, o->lib.page_size);
	if (!pool) {
		cli_error("reserve", "this kernel offers no hugepage size to reserve");
		rc = EXIT_FAIL;
	} else {
		r.page_size = pool->page_size;
		r.had = pool_pages(pool, o->lib.node);
		r.over_had = pool->overcommit;
		r.asked = r.size_given ? to_pages("", bytes, r.page_size) : r.had;
		r.over_asked = r.over_given ? to_pages("--overcommit ", over, r.page_size) : 0;
		rc = reserve_run(ctx, o, si, &r, bytes);
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

/* --mode: octal digits, at most 07777. */
static int parse_mode(const char *cmd, const char *text, mode_t *mode)
{
	char *end = (char *)text;
	unsigned long v;

	if (text[0] < '0' || text[0] > '7')
		v = 010000;
	else
		v = strtoul(text, &end, 8);
	if (v > 07777 || *end != '\0')
		return cli_error(cmd,
				 "--mode '%s': give the mode in octal, at most 4 digits "
				 "(e.g. 1770)",
				 text),
		       -1;
	*mode = (mode_t)v;
	return 0;
}

int cli_mount_owner(const char *cmd, const struct cli_opts *o, uid_t *uid, gid_t *gid, mode_t *mode)
{
	unsigned id;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	*mode = (mode_t)-1;
	if (o->user && resolve_id(o->user, 0, &id) < 0)
		return cli_error(cmd, "--user '%s': no such user", o->user), -1;
	if (o->user)
		*uid = (uid_t)id;
	if (o->mode && parse_mode(cmd, o->mode, mode) < 0)
		return -1;
	if (o->group)
		return cli_group_id(cmd, o->group, gid);
	return 0;
}

/* A count of --nr-inodes: decimal digits, not 0. */
static int parse_count(const char *text, uint64_t *value)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	*value = strtoull(text, &end, 10);
	return *end != '\0' || errno || *value == 0 ? -1 : 0;
}

/* --size and --nr-inodes into SPEC. */
static int mount_limits(struct hm_ctx *ctx, const struct cli_opts *o, struct hm_mount_spec *spec)
{
	if (o->size && hm_parse_size(ctx, o->size, &spec->size_limit) < 0)
		return cli_error("mount", "--size: %s", hm_errmsg(ctx)), -1;
	if (o->size && spec->size_limit == 0)
		return cli_error("mount", "--size 0 sets no limit: leave --size out"), -1;
	if (o->nr_inodes && parse_count(o->nr_inodes, &spec->nr_inodes) < 0)
		return cli_error("mount",
				 "--nr-inodes '%s': give the most files the mount may hold, a "
				 "number above 0",
				 o->nr_inodes),
		       -1;
	return 0;
}

static void mount_report(const struct cli_opts *o, const struct hm_mount_result *res)
{
	char dir[CLI_SHOWN_MAX];
	struct json j;

	if (o->flags & CLI_OPT_JSON) {
		json_begin(&j, stdout);
		json_str(&j, "mounted", res->dir);
		json_u64(&j, "page_size_bytes", o->lib.page_size);
		json_bool(&j, "dry_run", !!(o->flags & CLI_OPT_DRY_RUN));
		json_str(&j, "options", res->options);
		json_end(&j);
		return;
	}
	cli_shown(res->dir, dir, sizeof(dir));
	if (o->flags & CLI_OPT_DRY_RUN)
		printf("would mount hugetlbfs at %s%s with options %s\n", dir,
		       res->create ? " (making the directory)" : "", res->options);
	else
		printf("mounted hugetlbfs at %s (%s)\n", dir, res->options);
}

int cmd_mount(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_mount_spec spec = {.dir = o->n_args ? o->args[0] : NULL,
				     .page_size = o->lib.page_size,
				     .dry_run = !!(o->flags & CLI_OPT_DRY_RUN)};
	struct hm_mount_result res;

	if (one_arg("mount", o, "directory", 0) < 0 ||
	    cli_mount_owner("mount", o, &spec.uid, &spec.gid, &spec.mode) < 0 ||
	    mount_limits(ctx, o, &spec) < 0)
		return EXIT_USAGE;
	if (hm_mount_ext(ctx, &spec, &res) < 0) {
		cli_error("mount", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	mount_report(o, &res);
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

	rc = cli_read_sysinfo(ctx, "clear", o, &si);
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
