/* SPDX-License-Identifier: MIT */
/*
 * sys/sysinfo.h — the sys layer: reading what the system offers (pools, nodes,
 * mounts, cgroup limits, locks) below the context's root. The text it reads
 * is handed to the parsing layer (parse/parse.h), which trusts none of it.
 */
#ifndef HM_SYSINFO_H
#define HM_SYSINFO_H

#include "parse/parse.h"

#include <sys/types.h>

/* This process's hugetlb cgroup and, per pool of SI, the limit that leaves
 * the least room over its cgroup and ancestors. MOUNTINFO: the text. */
int hmi_sysinfo_cgroup(struct hm_ctx *ctx, const char *mountinfo, struct hm_sysinfo *si);

/* Read ROOT/proc/locks into a new buffer *TEXT (free()): the one reader of
 * that file, with one size cap (a very busy host's table). */
int hmi_read_proc_locks(struct hm_ctx *ctx, char **text);

/* Fill SI with everything read from the system: sizes and counters, nodes,
 * per-node counters, default size, hugetlbfs mounts, this process's cgroup
 * and its hugetlb limits (lowest over the cgroup and its ancestors) per size.
 * Leaves mount choice and budgets (pool.mount = -1, budget = 0) to hugedir. */
int hmi_sysinfo_parse(struct hm_ctx *ctx, struct hm_sysinfo *si);

/* Free what hmi_sysinfo_parse allocated inside SI (not SI itself). */
void hmi_sysinfo_release(struct hm_sysinfo *si);

#endif
