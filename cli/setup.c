/* SPDX-License-Identifier: MIT */
/*
 * setup.c — `hugemem setup SIZE`: the pool of one page size made ready in
 * one step (grown to SIZE, a hugetlbfs mount when none serves the size, the
 * free pool in order), as dpdk-hugepages.py --setup does; --dry-run says
 * every action and changes nothing; --persist records it for every boot
 * (/etc/hugemem/setup.conf, applied by systemd/hugemem-setup.service with
 * --from-config) and, for 1 GiB pages, the kernel command line that reserves
 * them at boot. The library plans, applies and writes (src/pool/setup.c,
 * setupconf.c); this file parses, guards, prints.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* One set-up as it went: the plan, what apply did, the error that stopped
 * it ("" when none). */
struct setup_run {
	struct hm_setup_plan plan;
	struct hm_setup_result res;
	int planned, applied;
	char error[1024];
};

/* ------------------------------------------------------------------ text */

static const char *where(const struct hm_setup_plan *p, char *buf, size_t len)
{
	if (p->node >= 0)
		snprintf(buf, len, "on node %d", p->node);
	else
		snprintf(buf, len, "system-wide");
	return buf;
}

static void text_pool(const struct setup_run *r, int dry_run)
{
	const struct hm_setup_plan *p = &r->plan;
	char sz[32], total[32], at[32];

	hm_size_str(p->page_size, sz, sizeof(sz));
	hm_size_str(p->pages_want * p->page_size, total, sizeof(total));
	printf("%s pages, %s: %llu asked (%s), the pool has %llu\n", sz, where(p, at, sizeof(at)),
	       (unsigned long long)p->pages_want, total, (unsigned long long)p->pages_now);
	if (dry_run)
		printf("  %s\n", p->reserve ? "would grow the pool to the size asked"
					    : "the pool is that large already: it stays");
	else if (r->applied || r->res.pages)
		printf("  the pool holds %llu pages (%s)\n", (unsigned long long)r->res.pages,
		       hm_size_str(r->res.pages * p->page_size, total, sizeof(total)));
}

static void text_mount(const struct setup_run *r, int dry_run)
{
	const struct hm_setup_plan *p = &r->plan;
	char dir[CLI_SHOWN_MAX], sz[32];

	cli_shown(p->mount_dir, dir, sizeof(dir));
	if (!p->mount)
		printf("  %s serves %s pages: no mount to make\n", dir,
		       hm_size_str(p->page_size, sz, sizeof(sz)));
	else if (dry_run)
		printf("  would mount hugetlbfs at %s%s with options %s\n", dir,
		       p->mount_create ? " (making the directory)" : "", p->mount_options);
	else if (r->res.mounted)
		printf("  mounted hugetlbfs at %s (%s)\n", dir, p->mount_options);
}

static void text_order(const struct setup_run *r, int dry_run)
{
	if (!r->plan.order)
		printf("  the pool is not the kernel's (a root other than /): not ordered\n");
	else if (dry_run)
		printf("  would put the free pool in order: the longest run handed out first\n");
	else if (r->res.ordered) {
		printf("  ");
		cli_order_text(r->plan.page_size, &r->res.order);
	}
}

static void text_boot(const struct hm_setup_plan *p)
{
	char sz[32];

	if (!p->boot)
		return;
	hm_size_str(p->page_size, sz, sizeof(sz));
	printf("  %s pages are best reserved by the kernel at boot, before memory fragments: "
	       "kernel command line\n    %s\n  (--persist writes it for GRUB; "
	       "default_hugepagesz makes %s the default page size: leave it out to keep "
	       "yours)\n",
	       sz, p->cmdline, sz);
}

static void text_run(const struct setup_run *r, int dry_run)
{
	if (!r->planned)
		return;
	text_pool(r, dry_run);
	text_mount(r, dry_run);
	text_order(r, dry_run);
	text_boot(&r->plan);
}

static void text_files(const struct hm_setup_files *f, int dry_run)
{
	char path[CLI_SHOWN_MAX];

	printf("%s %s: %s\n", dry_run ? "would record in" : "recorded in",
	       cli_shown(f->config, path, sizeof(path)), f->line);
	if (!f->cmdline_file[0])
		return;
	printf("%s %s: %s\n", dry_run ? "would write" : "wrote",
	       cli_shown(f->cmdline_file, path, sizeof(path)), f->cmdline);
	printf("  run update-grub (as root), then reboot, for the kernel to reserve them: "
	       "hugemem never runs it\n");
}

/* ------------------------------------------------------------------ JSON */

static void json_order(struct json *j, const struct setup_run *r)
{
	if (!r->res.ordered) {
		json_null(j, "ordered");
		return;
	}
	json_obj(j, "ordered");
	json_u64(j, "pages", r->res.order.pages);
	json_u64(j, "runs", r->res.order.runs);
	json_u64(j, "longest_pages", r->res.order.longest);
	json_obj_end(j);
}

static void json_run(struct json *j, const struct setup_run *r)
{
	const struct hm_setup_plan *p = &r->plan;

	json_obj(j, NULL);
	json_u64(j, "page_size_bytes", p->page_size);
	json_i64(j, "node", p->node);
	json_u64(j, "asked_pages", p->pages_want);
	json_u64(j, "before_pages", p->pages_now);
	json_u64(j, "pages", r->applied || r->res.pages ? r->res.pages : p->pages_now);
	json_bool(j, "grow", p->reserve);
	json_str(j, "mount", r->planned ? p->mount_dir : NULL);
	json_bool(j, "new_mount", p->mount);
	json_str(j, "mount_options", p->mount ? p->mount_options : NULL);
	json_bool(j, "order", p->order);
	json_order(j, r);
	json_str(j, "boot_cmdline", p->boot ? p->cmdline : NULL);
	json_str(j, "error", r->error[0] ? r->error : NULL);
	json_obj_end(j);
}

static void json_files(struct json *j, const struct hm_setup_files *f)
{
	if (!f) {
		json_null(j, "persisted");
		return;
	}
	json_obj(j, "persisted");
	json_str(j, "config", f->config);
	json_str(j, "line", f->line);
	json_str(j, "cmdline_file", f->cmdline_file[0] ? f->cmdline_file : NULL);
	json_str(j, "cmdline", f->cmdline[0] ? f->cmdline : NULL);
	json_obj_end(j);
}

static void print_json(const struct cli_opts *o, const char *config, const struct setup_run *runs,
		       int n, const struct hm_setup_files *files)
{
	struct json j;

	json_begin(&j, stdout);
	json_bool(&j, "dry_run", !!(o->flags & CLI_OPT_DRY_RUN));
	json_str(&j, "config", config);
	json_arr(&j, "setups");
	for (int i = 0; i < n; i++)
		json_run(&j, &runs[i]);
	json_arr_end(&j);
	json_files(&j, files);
	json_end(&j);
}

/* ------------------------------------------------------------------ run */

/* The failure of CTX's last call, said and kept in R->error. */
static int failed(struct hm_ctx *ctx, struct setup_run *r)
{
	snprintf(r->error, sizeof(r->error), "%s", hm_errmsg(ctx));
	cli_error("setup", "%s", r->error);
	return EXIT_FAIL;
}

/* S planned into a fresh *R, and guarded: growing larger pages under a live
 * prefix is refused as reserve refuses it. */
static int plan_one(struct hm_ctx *ctx, const struct cli_opts *o, const struct hm_sysinfo *si,
		    const struct hm_setup *s, struct setup_run *r)
{
	memset(r, 0, sizeof(*r));
	if (hm_setup_plan(ctx, s, &r->plan) < 0)
		return failed(ctx, r);
	r->planned = 1;
	if (r->plan.reserve && cli_migration_guard(ctx, "setup", si, r->plan.page_size, o) < 0) {
		snprintf(r->error, sizeof(r->error),
			 "refused: a prefix is live (stop it first, or pass --force)");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* R's plan carried out, unless --dry-run. */
static int apply_one(struct hm_ctx *ctx, const struct cli_opts *o, struct setup_run *r)
{
	if (o->flags & CLI_OPT_DRY_RUN)
		return EXIT_OK;
	r->applied = hm_setup_apply(ctx, &r->plan, &r->res) == 0;
	return r->applied ? EXIT_OK : failed(ctx, r);
}

/* The set-up of the command line: SIZE, --page-size, --node, --mount,
 * --user, --group, --mode. */
static int request(struct hm_ctx *ctx, const struct cli_opts *o, struct hm_setup *s)
{
	memset(s, 0, sizeof(*s));
	if (o->n_args == 0) {
		cli_error("setup", "which size? e.g. 'hugemem setup 1G' (the pool to reach), or "
				   "--from-config");
		return -1;
	}
	if (hm_parse_size(ctx, o->args[0], &s->bytes) < 0) {
		cli_error("setup", "%s", hm_errmsg(ctx));
		return -1;
	}
	if (s->bytes == 0) {
		cli_error("setup", "setup only grows the pool, so 0 does nothing: to empty the "
				   "pool, 'hugemem reserve 0'");
		return -1;
	}
	s->page_size = o->lib.page_size;
	s->node = o->lib.node;
	s->mount_dir = o->mount;
	return cli_mount_owner("setup", o, &s->uid, &s->gid, &s->mode);
}

static void report(const struct cli_opts *o, const char *config, const struct setup_run *runs,
		   int n, const struct hm_setup_files *files)
{
	int dry_run = !!(o->flags & CLI_OPT_DRY_RUN);

	if (o->flags & CLI_OPT_JSON) {
		print_json(o, config, runs, n, files);
		return;
	}
	if (dry_run)
		printf("dry run: nothing is changed\n");
	for (int i = 0; i < n; i++)
		text_run(&runs[i], dry_run);
	if (files)
		text_files(files, dry_run);
}

/* setup SIZE ...: plan and guard, record (--persist) before the system is
 * touched, apply, say what was done. */
static int setup_one(struct hm_ctx *ctx, const struct cli_opts *o, const struct hm_sysinfo *si)
{
	int persist = !!(o->flags & CLI_OPT_PERSIST);
	struct hm_setup_files files;
	struct setup_run r;
	struct hm_setup s;
	int rc;

	if (request(ctx, o, &s) < 0)
		return EXIT_USAGE;
	rc = plan_one(ctx, o, si, &s, &r);
	if (rc != EXIT_OK)
		return rc;
	if (persist && hm_setup_persist(ctx, &r.plan, !!(o->flags & CLI_OPT_DRY_RUN), &files) < 0)
		return failed(ctx, &r);
	rc = apply_one(ctx, o, &r);
	report(o, NULL, &r, 1, persist ? &files : NULL);
	return rc;
}

/* setup --from-config: every set-up recorded, in order; one that fails is
 * said and the next still runs (a boot gets all it can). */
static int setup_recorded(struct hm_ctx *ctx, const struct cli_opts *o, const struct hm_sysinfo *si)
{
	struct hm_setup_list *list;
	struct setup_run *runs;
	char path[CLI_SHOWN_MAX];
	int rc = EXIT_OK;

	if (hm_setup_config_read(ctx, &list) < 0) {
		cli_error("setup", "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	runs = calloc((size_t)list->n + 1, sizeof(*runs));
	if (!runs) {
		hm_setup_list_free(list);
		cli_error("setup", "out of memory");
		return EXIT_FAIL;
	}
	for (int i = 0; i < list->n; i++)
		if (plan_one(ctx, o, si, &list->setups[i], &runs[i]) != EXIT_OK ||
		    apply_one(ctx, o, &runs[i]) != EXIT_OK)
			rc = EXIT_FAIL;
	if (list->n == 0 && !(o->flags & CLI_OPT_JSON))
		printf("no set-up recorded in %s: nothing to do\n",
		       cli_shown(list->config, path, sizeof(path)));
	report(o, list->config, runs, list->n, NULL);
	free(runs);
	hm_setup_list_free(list);
	return rc;
}

/* --from-config takes everything from the file: no word of a set-up. */
static int from_config_alone(const struct cli_opts *o)
{
	if (!o->n_args && !o->mount && o->lib.node < 0 && !o->lib.page_size && !o->user &&
	    !o->group && !o->mode && !(o->flags & CLI_OPT_PERSIST))
		return 0;
	cli_error("setup", "--from-config applies the set-ups of the file as they are: give no "
			   "SIZE, --page-size, --node, --mount, --user, --group, --mode or "
			   "--persist with it");
	return -1;
}

int cmd_setup(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_sysinfo *si;
	int rc;

	if ((o->flags & CLI_OPT_FROM_CONFIG) && from_config_alone(o) < 0)
		return EXIT_USAGE;
	rc = cli_read_sysinfo(ctx, "setup", o, &si);
	if (rc != EXIT_OK)
		return rc;
	if (o->flags & CLI_OPT_FROM_CONFIG)
		rc = setup_recorded(ctx, o, si);
	else
		rc = setup_one(ctx, o, si);
	hm_sysinfo_free(si);
	return rc;
}
