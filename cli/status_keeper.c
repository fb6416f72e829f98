/* SPDX-License-Identifier: MIT */
/*
 * status_keeper.c — the pool keeper's section of `hugemem status`, shown
 * only while a keeper answers on its socket (the default directory, or
 * $HUGEMEM_RUNTIME_DIR with "-keeper" appended, as `hugemem keeper` maps
 * it): what it holds per node (free, leased, coming back) and its leases
 * (pid, uid, bytes), through the public hm_keeper_status. No keeper there
 * (no socket, or one no keeper answers on) is no section; a keeper this
 * user may not ask (another user's, root's alone) or one that does not
 * answer is said in one line, and the rest of status goes on. On a tree
 * other than the system's own (HUGEMEM_ROOT) the section is left out: the
 * keeper on this machine is not that tree's.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>

void cli_keeper_gather(struct hm_ctx *ctx, const struct cli_opts *o, struct cli_keeper *kp)
{
	char buf[HM_PATH_MAX];
	const char *dir = cli_keeper_dir(o, buf, sizeof(buf));
	int rc;

	memset(kp, 0, sizeof(*kp));
	if (strcmp(hm_ctx_root(ctx), "/") != 0)
		return;
	snprintf(kp->sock, sizeof(kp->sock), "%s/keeper.sock", dir ? dir : HM_KEEPER_DIR_DEFAULT);
	rc = hm_keeper_status(ctx, dir, &kp->st);
	if (rc < 0 && rc != -ENOENT && rc != -ECONNREFUSED)
		snprintf(kp->err, sizeof(kp->err), "%s", hm_errmsg(ctx));
}

void cli_keeper_release(struct cli_keeper *kp)
{
	hm_keeper_status_free(kp->st);
	kp->st = NULL;
}

void cli_keeper_text(const struct cli_keeper *kp)
{
	const struct hm_keeper_status *st = kp->st;
	char a[32], b[32], c[32], shown[CLI_SHOWN_MAX];

	if (kp->err[0])
		printf("keeper\n  unknown: %s\n", cli_shown(kp->err, shown, sizeof(shown)));
	if (!st)
		return;
	printf("keeper     pid %d on %s: %s of %s pages in chunks of %s\n", (int)st->pid,
	       cli_shown(kp->sock, shown, sizeof(shown)), hm_size_str(st->keep_bytes, a, sizeof(a)),
	       hm_size_str(st->page_size, b, sizeof(b)),
	       hm_size_str(st->chunk_bytes, c, sizeof(c)));
	for (int n = 0; n < st->n_nodes; n++) {
		const struct hm_keeper_node *kn = &st->nodes[n];

		printf("  node %-5d free %-10s leased %-10s", kn->node,
		       hm_size_str(kn->free_bytes, a, sizeof(a)),
		       hm_size_str(kn->leased_bytes, b, sizeof(b)));
		printf(" pending %s\n", hm_size_str(kn->pending_bytes, c, sizeof(c)));
	}
	if (st->leases_total == 0)
		printf("  leases     none\n");
	for (size_t i = 0; i < st->n_leases; i++)
		printf("  lease      pid %d uid %u: %s\n", (int)st->leases[i].pid,
		       (unsigned)st->leases[i].uid, hm_size_str(st->leases[i].bytes, a, sizeof(a)));
	if (st->leases_total > st->n_leases)
		printf("  lease      %zu more not listed\n", st->leases_total - st->n_leases);
}

static void json_keeper_nodes(struct json *j, const struct hm_keeper_status *st)
{
	uint64_t page = st->page_size ? st->page_size : 1;

	json_arr(j, "nodes");
	for (int n = 0; n < st->n_nodes; n++) {
		const struct hm_keeper_node *kn = &st->nodes[n];

		json_obj(j, NULL);
		json_i64(j, "node", kn->node);
		json_u64(j, "free_bytes", kn->free_bytes);
		json_u64(j, "free_pages", kn->free_bytes / page);
		json_u64(j, "leased_bytes", kn->leased_bytes);
		json_u64(j, "leased_pages", kn->leased_bytes / page);
		json_u64(j, "pending_bytes", kn->pending_bytes);
		json_u64(j, "pending_pages", kn->pending_bytes / page);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void cli_keeper_json(struct json *j, const struct cli_keeper *kp)
{
	const struct hm_keeper_status *st = kp->st;

	if (kp->err[0])
		json_str(j, "keeper_error", kp->err);
	if (!st)
		return;
	json_obj(j, "keeper");
	json_str(j, "socket", kp->sock);
	json_i64(j, "pid", st->pid);
	json_u64(j, "page_size_bytes", st->page_size);
	json_u64(j, "chunk_bytes", st->chunk_bytes);
	json_u64(j, "keep_bytes", st->keep_bytes);
	json_keeper_nodes(j, st);
	json_arr(j, "leases");
	for (size_t i = 0; i < st->n_leases; i++) {
		json_obj(j, NULL);
		json_i64(j, "pid", st->leases[i].pid);
		json_u64(j, "uid", st->leases[i].uid);
		json_u64(j, "bytes", st->leases[i].bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_u64(j, "total_leases", st->leases_total);
	json_obj_end(j);
}
