/* SPDX-License-Identifier: MIT */
/*
 * hugedir/hugedir.h — internal interface of the hugedir layer: which mount serves
 * each page size, what this process may use (budgets), page files and their
 * liveness, and the per-prefix runtime directory with its liveness lock.
 */
#ifndef HM_HUGEDIR_H
#define HM_HUGEDIR_H

#include "base/ctx.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Filled sysinfo in, mount choice and budgets out: for every pool set .mount
 * (HUGE_DIR, when not NULL, must be a hugetlbfs mount — checked with statfs
 * magic and block size — and serves its page size), each mount's room
 * (statfs when it is a real hugetlbfs, else size=) and writable, then
 * budget, budget_cap and node_budget. */
int hmi_hugedir_resolve(struct hm_ctx *ctx, struct hm_sysinfo *si, const char *huge_dir);

/* A mount directory of MODE is unsafe for page files: writable by others
 * than its owner and not sticky (they may rename or replace our files). */
int hmi_mode_unsafe(mode_t mode);

/* Give up a prefix taken with hm_prefix_lock or hmi_prefix_take_free (FD)
 * when this process is the last one out: unlink the lock file and remove the
 * runtime directory DIR (when empty) while still holding it, then close FD.
 * FD -1 (no lock file was there): only the rmdir. */
void hmi_prefix_release(const char *dir, int fd);

/* hm_prefix_lock, and *FRESH: the prefix's runtime directory is new, made by
 * this call (no dead process left anything in it: nothing to reclaim). */
int hmi_prefix_lock(struct hm_ctx *ctx, const char *prefix, int *fd, int *fresh);

/* The runtime directory DIR's exit lock: DIR opened and flock(LOCK_EX)ed,
 * waiting for the holder. Every process of the prefix drops its membership
 * (a primary its prefix lock, a secondary its clients lock) and decides
 * whether it was the last only while holding it: so exactly the last one
 * out sees nobody left. A primary that finds the prefix held waits for it
 * once and tries again, so a leaver's brief hold of the prefix lock while it
 * removes the directory is not taken for a live holder.
 * The descriptor (close it to unlock), or -1 when DIR cannot be opened. */
int hmi_rundir_exit_lock(const char *dir);

/* For a secondary that may be the last one out: take the prefix lock of
 * runtime directory DIR if nobody holds it. The descriptor holding it,
 * -ENOENT when there is no lock file, -EBUSY when another process holds it
 * (or it cannot be opened). Never call it while this process may hold the
 * lock itself: closing the descriptor would drop that lock. */
int hmi_prefix_take_free(const char *dir);

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

/* The record of the files a prefix creates (hugedir/record.c): the proof
 * that a page file is hugemem's, by its inode, never by its name. */
#define HMI_RECORD_FILE "files" /* in the prefix's runtime directory */

struct hmi_record_entry {
	uint64_t dev, ino;
};

struct hmi_record_set {
	struct hmi_record_entry *e; /* sorted by (dev, ino) */
	size_t n;
	uid_t owner; /* the record's owner: a proved file has the same */
};

/* Create (truncate) RUNDIR/files for appending: *FD. */
int hmi_record_open(struct hm_ctx *ctx, const char *rundir, int *fd);

/* Append "DEV INO NAME" to the record FD, in one write. */
int hmi_record_add(struct hm_ctx *ctx, int fd, uint64_t dev, uint64_t ino, const char *name);

/* Remove RUNDIR/files (every file it names is gone). */
void hmi_record_remove(const char *rundir);

/* Parse record text (outside input: lines that do not parse are skipped, a
 * last line without its newline is ignored) into SET, sorted; -ENOMEM. */
int hmi_record_parse(const char *text, size_t len, struct hmi_record_set *set);

/* Read RUNDIR/files: -errno when there is none, or it or RUNDIR is not this
 * user's or root's, or is writable by others (then it proves nothing). */
int hmi_record_load(const char *rundir, struct hmi_record_set *set);

/* Does SET prove that the file ST describes is the recorder's? */
int hmi_record_proves(const struct hmi_record_set *set, const struct stat *st);

void hmi_record_free(struct hmi_record_set *set);

#endif
