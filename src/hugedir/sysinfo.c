/* SPDX-License-Identifier: MIT */
/*
 * hugedir/sysinfo.c — phase A of the flow as one call: read what the system offers
 * (sysinfo layer), then decide which mount serves each size and what this
 * process may use (hugedir layer). hm_sysinfo_read is what `hugemem status`
 * shows and what init will build on.
 */
#include "base/ctx.h"
#include "base/platform.h"
#include "hugedir/hugedir.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <stdlib.h>

int hm_sysinfo_read(struct hm_ctx *ctx, const char *huge_dir, struct hm_sysinfo **out)
{
	struct hm_sysinfo *si = hmi_calloc_populated(1, sizeof(*si)); /* ~22 KiB */
	int rc;

	if (!si)
		return hmi_err(ctx, ENOMEM, "out of memory reading the hugepage configuration");
	hmi_err_clear(ctx);
	rc = hmi_sysinfo_parse(ctx, si);
	if (rc == 0)
		rc = hmi_hugedir_resolve(ctx, si, huge_dir);
	if (rc < 0) {
		hm_sysinfo_free(si);
		return rc;
	}
	*out = si;
	return 0;
}

void hm_sysinfo_free(struct hm_sysinfo *si)
{
	if (!si)
		return;
	hmi_sysinfo_release(si);
	free(si);
}

const struct hm_pool *hm_sysinfo_pool(const struct hm_sysinfo *si, uint64_t page_size)
{
	if (page_size == 0)
		page_size = si->default_page_size;
	for (int i = 0; i < si->n_pools; i++)
		if (si->pools[i].page_size == page_size)
			return &si->pools[i];
	/* no default size in meminfo (or no such pool): the smallest one serves */
	if (page_size == si->default_page_size && si->n_pools > 0 && si->default_page_size == 0)
		return &si->pools[0];
	return NULL;
}

int hm_sysinfo_has_node(const struct hm_sysinfo *si, int node)
{
	for (int i = 0; i < si->n_nodes; i++)
		if (si->node_ids[i] == node)
			return 1;
	return 0;
}
