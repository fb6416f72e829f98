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

/* One level of a process's hugetlb cgroup with a limit for one page size. */
struct hmi_cgroup_cap {
	char *path;   /* the cgroup, as /proc/PID/cgroup names it: "/a/b" */
	uint64_t max; /* its limit, bytes (v2 hugetlb.<size>.max, v1 limit_in_bytes) */
};

/* A process's hugetlb cgroup and the limits over it (hmi_cgroup_caps_of). */
struct hmi_cgroup_caps {
	char *path;  /* its cgroup ("/" when none) */
	int version; /* of the hugetlb controller: 1, 2, 0 = none */
	size_t n;    /* levels in CAPS */
	struct hmi_cgroup_cap *caps;
};

/* The hugetlb cgroup of process PID (ROOT/proc/PID/cgroup: its path as this
 * process's cgroup namespace sees it, so this process's MOUNTINFO text,
 * hmi_read_mountinfo, finds the hierarchy) and every level from it up to
 * the top of the hierarchy that has a PAGE_SIZE limit other than "max",
 * deepest first: *CG (hmi_cgroup_caps_free). No controller, or no file:
 * path "/", no caps. The caller makes sure PID is still the process it
 * means (a pidfd). */
int hmi_cgroup_caps_of(struct hm_ctx *ctx, pid_t pid, uint64_t page_size, const char *mountinfo,
		       struct hmi_cgroup_caps *cg);
void hmi_cgroup_caps_free(struct hmi_cgroup_caps *cg);

/* Read ROOT/proc/self/mountinfo into a new buffer *TEXT (free()). */
int hmi_read_mountinfo(struct hm_ctx *ctx, char **text);

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
