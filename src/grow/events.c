/* SPDX-License-Identifier: MIT */
/*
 * grow/events.c — the memory-event callbacks (hm_mem_event_register).
 *
 * DPDK runs its memory callbacks with the memory hotplug lock held, so a
 * callback that walks the memsegs deadlocks. Here no hugemem lock is held
 * while a callback runs: the list is copied under its own lock and the copy
 * is called, so a callback may translate, walk, allocate what needs no
 * growth, even register or unregister (from the next event on). What a
 * callback may not do is grow or trim the memory itself (that would run the
 * callbacks again from inside one): the threads inside a callback are
 * listed, and growth and trim refuse them with -EDEADLK.
 */
#include "grow/grow.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLING 64 /* threads inside a callback at once, counted to refuse nesting */

struct hmi_handler {
	char name[HM_EVENT_NAME_MAX];
	hm_mem_event_fn *fn;
	void *arg;
};

struct hmi_events {
	pthread_mutex_t lock;
	struct hmi_handler h[HM_EVENT_MAX];
	int n;
	pthread_t calling[MAX_CALLING]; /* threads inside a callback */
	int n_calling;
	pthread_cond_t idle; /* signalled each time a thread leaves the callbacks */
};

static struct hmi_events *events_of(struct hm_ctx *ctx)
{
	struct hmi_events *e = ctx->events;

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->idle, NULL);
	ctx->events = e;
	return e;
}

#define OWN_PREFIX "hugemem:" /* the library's own callbacks (the DMA layer's) */

static int check_name(struct hm_ctx *ctx, const char *fn, const char *name)
{
	size_t len = name ? strnlen(name, HM_EVENT_NAME_MAX) : 0;

	if (len == 0 || len == HM_EVENT_NAME_MAX)
		return hmi_err(ctx, EINVAL, "%s: the callback's name must be 1 to %d bytes", fn,
			       HM_EVENT_NAME_MAX - 1);
	if (strncmp(name, OWN_PREFIX, strlen(OWN_PREFIX)) == 0)
		return hmi_err(ctx, EINVAL,
			       "%s(\"%s\"): names starting with \"" OWN_PREFIX
			       "\" are hugemem's own: choose another",
			       fn, name);
	return 0;
}

static int find(const struct hmi_events *e, const char *name)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->h[i].name, name) == 0)
			return i;
	return -1;
}

/* Add (NAME, FN, ARG) at index AT (0: first, -1: last). */
static int add(struct hm_ctx *ctx, const char *name, hm_mem_event_fn *fn, void *arg, int first)
{
	struct hmi_events *e = events_of(ctx);
	int rc = 0;

	if (!e)
		return hmi_err(ctx, ENOMEM, "hm_mem_event_register: out of memory");
	pthread_mutex_lock(&e->lock);
	if (find(e, name) >= 0)
		rc = hmi_err(ctx, EEXIST,
			     "hm_mem_event_register: a callback named \"%s\" is registered "
			     "already: unregister it first, or choose another name",
			     name);
	else if (e->n == HM_EVENT_MAX)
		rc = hmi_err(ctx, ENOSPC,
			     "hm_mem_event_register(\"%s\"): %d callbacks are registered, the most "
			     "a context holds",
			     name, HM_EVENT_MAX);
	if (rc == 0) {
		int at = first ? 0 : e->n;

		memmove(&e->h[at + 1], &e->h[at], (size_t)(e->n - at) * sizeof(e->h[0]));
		snprintf(e->h[at].name, sizeof(e->h[at].name), "%s", name);
		e->h[at].fn = fn;
		e->h[at].arg = arg;
		e->n++;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int hm_mem_event_register(struct hm_ctx *ctx, const char *name, hm_mem_event_fn *fn, void *arg)
{
	int rc;

	hmi_err_clear(ctx);
	rc = check_name(ctx, "hm_mem_event_register", name);
	if (rc == 0 && !fn)
		rc = hmi_err(ctx, EINVAL, "hm_mem_event_register(\"%s\"): no function", name);
	return rc < 0 ? rc : add(ctx, name, fn, arg, 0);
}

int hmi_events_add_first(struct hm_ctx *ctx, const char *name, hm_mem_event_fn *fn, void *arg)
{
	return add(ctx, name, fn, arg, 1);
}

/* Is this thread inside a callback; is another? With the lock. */
static int calling(const struct hmi_events *e, int self)
{
	for (int i = 0; i < e->n_calling; i++)
		if (pthread_equal(e->calling[i], pthread_self()) == self)
			return 1;
	return 0;
}

int hm_mem_event_unregister(struct hm_ctx *ctx, const char *name)
{
	struct hmi_events *e = ctx->events;
	int rc, i = -1;

	hmi_err_clear(ctx);
	rc = check_name(ctx, "hm_mem_event_unregister", name);
	if (rc < 0)
		return rc;
	if (e) {
		pthread_mutex_lock(&e->lock);
		i = find(e, name);
		if (i >= 0)
			memmove(&e->h[i], &e->h[i + 1], (size_t)(e->n - i - 1) * sizeof(e->h[0]));
		e->n -= i >= 0;
		/* a callback another thread runs now may still be this one: wait for it to
		 * end, so that the caller may free what ARG points to on return (not from
		 * inside a callback: two such threads would wait for each other) */
		while (i >= 0 && !calling(e, 1) && calling(e, 0))
			pthread_cond_wait(&e->idle, &e->lock);
		pthread_mutex_unlock(&e->lock);
	}
	if (i < 0)
		return hmi_err(ctx, ENOENT, "hm_mem_event_unregister: no callback named \"%s\"",
			       name);
	return 0;
}

/* Copy the list and count this thread in (or out, ENTER 0). */
static int enter(struct hmi_events *e, struct hmi_handler *copy, int enter_)
{
	int n = 0;

	pthread_mutex_lock(&e->lock);
	if (enter_) {
		n = e->n;
		memcpy(copy, e->h, (size_t)n * sizeof(*copy));
		if (e->n_calling < MAX_CALLING)
			e->calling[e->n_calling++] = pthread_self();
	} else {
		for (int i = e->n_calling - 1; i >= 0; i--)
			if (pthread_equal(e->calling[i], pthread_self())) {
				e->calling[i] = e->calling[--e->n_calling];
				break;
			}
		pthread_cond_broadcast(&e->idle);
	}
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* Undo a refused event: FREE to the handlers [0, UPTO) that accepted an
 * ALLOC (latest first), ALLOC again to the handlers [FROM, N) that accepted
 * a FREE (the memory stays). */
static void run_free(struct hmi_handler *h, int upto, uint64_t va, uint64_t len)
{
	for (int i = upto - 1; i >= 0; i--)
		h[i].fn(HM_MEM_EVENT_FREE, (const void *)(uintptr_t)va, (size_t)len, h[i].arg);
}

static void run_alloc(struct hmi_handler *h, int from, int n, uint64_t va, uint64_t len)
{
	for (int i = from; i < n; i++)
		h[i].fn(HM_MEM_EVENT_ALLOC, (const void *)(uintptr_t)va, (size_t)len, h[i].arg);
}

static int refused(struct hm_ctx *ctx, const char *name, enum hm_mem_event ev, uint64_t va,
		   uint64_t len, int rc)
{
	char cause[HMI_ERR_MAX];

	snprintf(cause, sizeof(cause), "%s", hm_errmsg(ctx));
	rc = rc < 0 ? rc : -ECANCELED;
	return hmi_err(
	    ctx, -rc, "the memory-event callback \"%s\" refused %s 0x%llx + %llu bytes (%d)%s%s",
	    name, ev == HM_MEM_EVENT_ALLOC ? "the new memory at" : "to give back",
	    (unsigned long long)va, (unsigned long long)len, rc, cause[0] ? ": " : "", cause);
}

int hmi_events_run(struct hm_ctx *ctx, enum hm_mem_event ev, uint64_t va, uint64_t len)
{
	struct hmi_handler h[HM_EVENT_MAX];
	struct hmi_events *e = ctx->events;
	int n, i, rc = 0;

	if (!e)
		return 0;
	n = enter(e, h, 1);
	hmi_err_clear(ctx); /* a callback of the library's own leaves its cause here */
	if (ev == HM_MEM_EVENT_ALLOC) {
		for (i = 0; i < n && rc == 0; i++)
			rc = h[i].fn(ev, (const void *)(uintptr_t)va, (size_t)len, h[i].arg);
		if (rc != 0) /* h[i - 1] refused */
			run_free(h, i - 1, va, len);
	} else {
		for (i = n - 1; i >= 0 && rc == 0; i--)
			rc = h[i].fn(ev, (const void *)(uintptr_t)va, (size_t)len, h[i].arg);
		if (rc != 0) /* h[i + 1] refused */
			run_alloc(h, i + 2, n, va, len);
	}
	enter(e, NULL, 0);
	if (rc == 0)
		return 0;
	return refused(ctx, h[ev == HM_MEM_EVENT_ALLOC ? i - 1 : i + 1].name, ev, va, len, rc);
}

int hmi_events_inside(struct hm_ctx *ctx)
{
	struct hmi_events *e = ctx->events;
	int inside = 0;

	if (!e)
		return 0;
	pthread_mutex_lock(&e->lock);
	for (int i = 0; i < e->n_calling; i++)
		inside |= pthread_equal(e->calling[i], pthread_self());
	pthread_mutex_unlock(&e->lock);
	return inside;
}

int hmi_events_refuse_nested(struct hm_ctx *ctx, const char *fn)
{
	if (!hmi_events_inside(ctx))
		return 0;
	return hmi_err(ctx, EDEADLK,
		       "%s: called from inside a memory-event callback, where the memory may "
		       "not grow or shrink (the callbacks would run again): allocate before, "
		       "or from another thread",
		       fn);
}

void hmi_events_release(struct hm_ctx *ctx)
{
	if (!ctx->events)
		return;
	pthread_mutex_destroy(&ctx->events->lock);
	pthread_cond_destroy(&ctx->events->idle);
	free(ctx->events);
	ctx->events = NULL;
}
