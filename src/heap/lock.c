/* SPDX-License-Identifier: MIT */
/*
 * heap/lock.c — the heap's one lock: a robust, process-shared mutex in the arena.
 *
 * Any process of the prefix may die holding it. A robust mutex hands the
 * next locker EOWNERDEAD instead of blocking forever; the heap may then be
 * half-changed, so the new holder checks it (check.c) and, when the blocks
 * still chain, repairs the lists and counters from them before going on.
 * When they do not, the heap is marked broken for good (ENOTRECOVERABLE)
 * and every later call says so: the memory itself stays mapped and usable.
 * Giving caches back (a thread's exit, hm_fini) waits a bounded time
 * (hmi_heap_lock_briefly): it must end even when a stray write left the lock
 * word looking held forever.
 */
#include "heap/heap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ the lock */

/* Check what this process maps of the heap (external heaps it has not
 * registered are left to the processes that did: hmi_heap_ext_checked) and
 * repair it when the check fails. 0, or -1 with MSG saying why not. */
static int check_or_repair(struct hmi_heap_view *v, int dead_holder, char *msg, size_t len)
{
	if (hmi_heap_check_locked(v, NULL, msg, len) != 0) {
		v->h->repairs++;
		if (hmi_heap_repair(v, msg, len) != 0)
			return -1;
	}
	hmi_heap_ext_checked(v, dead_holder);
	return 0;
}

static int recover(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	struct hmi_heap *h = v->h;
	char msg[256] = "";

	h->recoveries++;
	if (check_or_repair(v, 1, msg, sizeof(msg)) == 0) {
		pthread_mutex_consistent(&h->lock);
		return 0;
	}
	hmi_heap_damage(v, "a process died holding the heap's lock and left it beyond repair: %s",
			msg);
	pthread_mutex_unlock(&h->lock); /* not made consistent: unusable from now on */
	return hmi_heap_broken(ctx, v);
}

/* With the lock: the external heaps as the shared table and this process's
 * registrations have them now; one a dead holder left unchecked (suspect)
 * is checked before any use. On failure the lock is let go. */
static int follow_external(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	char msg[256] = "";
	int rc = hmi_heap_ext_sync(v);

	if (rc > 0 && check_or_repair(v, 0, msg, sizeof(msg)) < 0)
		hmi_heap_damage(v, "an external heap a dead lock holder left is beyond repair: %s",
				msg);
	if (!hmi_heap_is_damaged(v))
		return 0;
	pthread_mutex_unlock(&v->h->lock);
	return hmi_heap_broken(ctx, v);
}

int hmi_heap_broken(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	if (hmi_heap_is_damaged(v) && v->damage[0])
		return hmi_err(ctx, ENOTRECOVERABLE,
			       "the heap is broken: %s: restart the primary (and find what wrote "
			       "into its memory)",
			       v->damage);
	return hmi_err(ctx, ENOTRECOVERABLE,
		       "the heap is broken: a process died holding its lock and left it "
		       "inconsistent, or a stray write damaged it: restart the primary");
}

/* Lock; DEADLINE (CLOCK_REALTIME, NULL = none): give up then. */
static int lock_until(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct timespec *deadline)
{
	int rc;

	if (hmi_heap_is_damaged(v))
		return hmi_heap_broken(ctx, v);
	rc = deadline ? pthread_mutex_timedlock(&v->h->lock, deadline)
		      : pthread_mutex_lock(&v->h->lock);
	/* a dead holder: know every region grown or external since before the
	 * check walks them */
	if (rc == EOWNERDEAD && v->follow)
		hmi_heap_follow(v->follow, v);
	if (rc == EOWNERDEAD)
		hmi_heap_ext_sync(v);
	if (rc == EOWNERDEAD && (rc = recover(ctx, v)) < 0)
		return rc;
	if (rc == ENOTRECOVERABLE) {
		hmi_heap_damage(v, "a process died holding its lock and left it inconsistent");
		return hmi_heap_broken(ctx, v);
	}
	if (rc > 0)
		return hmi_err(ctx, rc, "cannot lock the heap: %s", strerror(rc));
	if (HMI_READ(v->h->broken)) { /* set by another process, or by a stray write */
		pthread_mutex_unlock(&v->h->lock);
		hmi_heap_damage(v, "it is marked broken (another process found it damaged)");
		return hmi_heap_broken(ctx, v);
	}
	/* memory that grows: the free lists may hold blocks of units another
	 * process grew since; map them and know their regions before any is read.
	 * The view's own context: CTX may be a caller's scratch one (a thread's
	 * cache given back at its exit) */
	if (v->follow && (rc = hmi_heap_follow(v->follow, v)) < 0) {
		pthread_mutex_unlock(&v->h->lock);
		return ctx != v->follow ? hmi_err(ctx, -rc, "%s", hm_errmsg(v->follow)) : rc;
	}
	return follow_external(ctx, v);
}

int hmi_heap_lock(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	return lock_until(ctx, v, NULL);
}

int hmi_heap_lock_briefly(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += HMI_HEAP_RELEASE_WAIT_S;
	return lock_until(ctx, v, &t);
}

void hmi_heap_unlock(struct hmi_heap_view *v)
{
	pthread_mutex_unlock(&v->h->lock);
}

int hmi_heap_unlock_check(struct hm_ctx *ctx, struct hmi_heap_view *v)
{
	pthread_mutex_unlock(&v->h->lock);
	return hmi_heap_is_damaged(v) ? hmi_heap_broken(ctx, v) : 0;
}
