/* SPDX-License-Identifier: MIT */
/*
 * hugedir.h — internal interface of the hugedir layer: which mount serves
 * each page size, what this process may use (budgets), page files and their
 * liveness, and the per-prefix runtime directory with its liveness lock.
 */
#ifndef HM_HUGEDIR_H
#define HM_HUGEDIR_H

#include "ctx.h"

/* Filled sysinfo in, mount choice and budgets out: for every pool set .mount
 * (HUGE_DIR, when not NULL, must be a hugetlbfs mount — checked with statfs
 * magic and block size — and serves its page size), each mount's room
 * (statfs when it is a real hugetlbfs, else size=) and writable, then
 * budget, budget_cap and node_budget. */
int hmi_hugedir_resolve(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *huge_dir);

/* Give up a prefix taken with hm_prefix_lock (FD) at a primary's exit:
 * unlink the lock file and remove the runtime directory DIR (when empty)
 * while still holding it, then close FD. Nothing stale is left behind. */
void hmi_prefix_release(const char *dir, int fd);

/* Is PREFIX a valid file prefix? 0 or -EINVAL with a message. */
int hmi_prefix_check(struct hm_ctx *ctx, const char *prefix);

/* hm_prefix_owner for a process that holds no lock on the prefix (a
 * secondary), given the prefix's runtime directory DIR: it asks the lock
 * itself (open, F_OFD_GETLK, close: three system calls) instead of scanning
 * /proc/locks, which lists every lock of the system. Closing the file drops
 * the POSIX locks this process holds on it, so the primary must never call
 * it. *PID: the holder, 0 when none, -1 when held by a process the kernel
 * does not name (another pid namespace). */
int hmi_prefix_owner_probe(struct hm_ctx *ctx, const char *dir, pid_t *pid);

#endif
