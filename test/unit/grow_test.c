/* SPDX-License-Identifier: MIT */
/*
 * grow_test — the parts of growth that need no hugepage (grow_real_test has
 * the rest):
 *
 *   - the memory-event registry: names (empty, too long, "hugemem:" kept for
 *     the library), duplicates, the 32-callback limit, unregister of an
 *     unknown name; the order callbacks run in (ALLOC in registration order,
 *     FREE in reverse, the library's own first for ALLOC and last for FREE); an
 *     ALLOC refused: the ones before get FREE, the message names the refuser
 *     and its cause, a positive refusal is -ECANCELED; a FREE refused: the ones
 *     that had let go get ALLOC again; a growth asked from inside a callback
 *     is -EDEADLK (and from outside it is not);
 *   - the growth area's translation (layout/added.c): unmapped pages, IOVAs
 *     set and cleared, contiguity across pages, IOVA to VA;
 *   - external ranges: overlap, exact match, per-page tables, IOVA = VA, a
 *     removed range's slot reused, the 64-range limit.
 */
#include "tap.h"

#include "grow/grow.h"
#include "layout/layout.h"

#include <errno.h>
#include <stdlib.h>

#define MB (1ULL << 20)

struct trace {
	char log[256];
	int refuse_alloc; /* index of the callback that refuses ALLOC (-1: none) */
	int refuse_free;
	int nested; /* what hmi_events_refuse_nested said inside */
	struct hm_ctx *ctx;
};

struct cb {
	struct trace *t;
	int id;
};

static int record(enum hm_mem_event ev, const void *va, size_t len, void *arg)
{
	struct cb *c = arg;
	size_t n = strlen(c->t->log);

	(void)va;
	(void)len;
	snprintf(c->t->log + n, sizeof(c->t->log) - n, "%c%d ",
		 ev == HM_MEM_EVENT_ALLOC ? 'A' : 'F', c->id);
	c->t->nested = hmi_events_refuse_nested(c->t->ctx, "a test growth");
	if (ev == HM_MEM_EVENT_ALLOC && c->id == c->t->refuse_alloc)
		return c->id == 2 ? 5 : -EPERM; /* 2: a positive refusal */
	if (ev == HM_MEM_EVENT_FREE && c->id == c->t->refuse_free)
		return -EBUSY;
	return 0;
}

static void test_names(struct hm_ctx *ctx)
{
	struct trace t = {.refuse_alloc = -1, .refuse_free = -1, .ctx = ctx};
	struct cb c = {&t, 0};
	char name[40];
	int rc = 0;

	is_int(hm_mem_event_register(ctx, "", record, &c), -EINVAL, "an empty name is refused");
	memset(name, 'x', 32);
	name[32] = '\0';
	is_int(hm_mem_event_register(ctx, name, record, &c), -EINVAL, "a 32-byte name is refused");
	name[31] = '\0';
	is_int(hm_mem_event_register(ctx, name, record, &c), 0, "a 31-byte name is taken");
	is_int(hm_mem_event_register(ctx, name, record, &c), -EEXIST, "twice: -EEXIST");
	like(hm_errmsg(ctx), "registered already", "the message says so");
	is_int(hm_mem_event_register(ctx, "hugemem:dma", record, &c), -EINVAL,
	       "the library's prefix is refused");
	is_int(hm_mem_event_register(ctx, "f", NULL, &c), -EINVAL, "no function: -EINVAL");
	is_int(hm_mem_event_unregister(ctx, "nope"), -ENOENT, "an unknown name: -ENOENT");
	is_int(hm_mem_event_unregister(ctx, "hugemem:dma"), -EINVAL,
	       "the library's own cannot be unregistered");
	is_int(hm_mem_event_unregister(ctx, name), 0, "unregister");
	for (int i = 0; i < HM_EVENT_MAX && rc == 0; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		rc = hm_mem_event_register(ctx, name, record, &c);
	}
	is_int(rc, 0, "%d callbacks are taken", HM_EVENT_MAX);
	is_int(hm_mem_event_register(ctx, "one-more", record, &c), -ENOSPC, "one more: -ENOSPC");
	for (int i = 0; i < HM_EVENT_MAX; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		hm_mem_event_unregister(ctx, name);
	}
}

static void test_order(struct hm_ctx *ctx)
{
	struct trace t = {.refuse_alloc = -1, .refuse_free = -1, .ctx = ctx};
	struct cb c[4] = {{&t, 0}, {&t, 1}, {&t, 2}, {&t, 3}};
	int rc;

	hm_mem_event_register(ctx, "one", record, &c[1]);
	hm_mem_event_register(ctx, "two", record, &c[2]);
	is_int(hmi_events_add_first(ctx, "hugemem:own", record, &c[0]), 0, "the library's own");
	hm_mem_event_register(ctx, "three", record, &c[3]);
	is_int(hmi_events_run(ctx, HM_MEM_EVENT_ALLOC, 0x1000, 4096), 0, "ALLOC runs");
	is_str(t.log, "A0 A1 A2 A3 ", "ALLOC: the library's first, then registration order");
	is_int(t.nested, -EDEADLK, "inside a callback, a growth is refused");
	is_int(hmi_events_refuse_nested(ctx, "x"), 0, "outside, it is not");
	t.log[0] = '\0';
	hmi_events_run(ctx, HM_MEM_EVENT_FREE, 0x1000, 4096);
	is_str(t.log, "F3 F2 F1 F0 ", "FREE: reverse order, the library's last");
	t.log[0] = '\0';
	t.refuse_alloc = 3;
	rc = hmi_events_run(ctx, HM_MEM_EVENT_ALLOC, 0x1000, 4096);
	is_int(rc, -EPERM, "an ALLOC refused: its errno");
	is_str(t.log, "A0 A1 A2 A3 F2 F1 F0 ", "the ones that had accepted it get FREE");
	like(hm_errmsg(ctx), "\"three\" refused the new memory", "the message names the refuser");
	t.log[0] = '\0';
	t.refuse_alloc = 2;
	is_int(hmi_events_run(ctx, HM_MEM_EVENT_ALLOC, 0x1000, 4096), -ECANCELED,
	       "a positive refusal is -ECANCELED");
	t.log[0] = '\0';
	t.refuse_alloc = -1;
	t.refuse_free = 1;
	is_int(hmi_events_run(ctx, HM_MEM_EVENT_FREE, 0x1000, 4096), -EBUSY, "a FREE refused");
	is_str(t.log, "F3 F2 F1 A2 A3 ", "the ones that had let go get ALLOC again");
	hm_mem_event_unregister(ctx, "one");
	hm_mem_event_unregister(ctx, "two");
	hm_mem_event_unregister(ctx, "three");
}

static void test_growmap(struct hm_ctx *ctx)
{
	struct hmi_growmap g;
	uint64_t base = 0x200000000000ULL, iova[3] = {0x40000000, 0x40200000, 0x90000000}, c = 0;

	is_int(hmi_growmap_init(ctx, &g, base, 16, 2 * MB), 0, "a growth area of 16 pages");
	is_u64(hmi_growmap_virt2iova(&g, base + 5, NULL), HMI_NO_IOVA, "nothing grown: no IOVA");
	hmi_growmap_set(&g, base + 4 * MB, iova, 3);
	is_u64(hmi_growmap_virt2iova(&g, base + 4 * MB + 7, &c), 0x40000007, "a grown page");
	is_u64(c, 4 * MB - 7, "contiguous over the two pages that continue each other");
	is_u64(hmi_growmap_virt2iova(&g, base + 8 * MB, &c), 0x90000000, "the third page");
	is_u64(c, 2 * MB, "which continues nothing");
	is_u64(hmi_growmap_iova2virt(&g, 0x40200010), base + 6 * MB + 0x10, "IOVA to VA");
	is_u64(hmi_growmap_virt2iova(&g, base + 32 * MB, NULL), HMI_NO_IOVA, "past the area");
	is_u64(hmi_growmap_virt2iova(&g, base - 1, NULL), HMI_NO_IOVA, "before the area");
	hmi_growmap_set(&g, base + 4 * MB, NULL, 3);
	is_u64(hmi_growmap_virt2iova(&g, base + 4 * MB, NULL), HMI_NO_IOVA, "cleared: no IOVA");
	is_u64(hmi_growmap_iova2virt(&g, 0x40000000), 0, "nor a VA");
	hmi_growmap_release(&g);
}

static void test_extmap(struct hm_ctx *ctx)
{
	struct hmi_extmap x;
	uint64_t *tab = malloc(2 * sizeof(*tab)), c = 0;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	tab[0] = 0x1000000;
	tab[1] = 0x5000000;
	is_int(hmi_extmap_add(ctx, &x, 0x10000, 0x2000, 0x1000, tab), 0, "a range with a table");
	is_int(hmi_extmap_add(ctx, &x, 0x40000, 0x1000, 0x1000, NULL), 0, "one with IOVA = VA");
	is_int(hmi_extmap_overlap(&x, 0x11000, 0x10), 0, "an overlap is found");
	is_int(hmi_extmap_overlap(&x, 0x12000, 0x1000), -1, "the next byte is free");
	ok(hmi_extmap_has(&x, 0x10000, 0x2000) && !hmi_extmap_has(&x, 0x10000, 0x1000),
	   "exact matches only");
	is_u64(hmi_extmap_virt2iova(&x, 0x11008, &c), 0x5000008, "page 1 by the table");
	is_u64(c, 0x1000 - 8, "to the end of its page: the next does not continue it");
	is_u64(hmi_extmap_virt2iova(&x, 0x40010, NULL), 0x40010, "IOVA = VA");
	is_u64(hmi_extmap_iova2virt(&x, 0x5000010), 0x11010, "IOVA to VA by the table");
	is_int(hmi_extmap_remove(ctx, &x, 0x10000, 0x1000), -ENOENT, "a remove must be exact");
	is_int(hmi_extmap_remove(ctx, &x, 0x10000, 0x2000), 0, "removed");
	is_u64(hmi_extmap_virt2iova(&x, 0x10000, NULL), HMI_NO_IOVA, "no longer translated");
	for (uint64_t i = 0; rc == 0 && i < HMI_EXT_MAX - 1; i++)
		rc = hmi_extmap_add(ctx, &x, 0x100000 + i * 0x1000, 0x1000, 0x1000, NULL);
	is_int(rc, 0, "the removed range's slot is reused: %d ranges in all", HMI_EXT_MAX);
	is_int(hmi_extmap_add(ctx, &x, 0x900000, 0x1000, 0x1000, NULL), -ENOSPC,
	       "one more: -ENOSPC");
	hmi_extmap_release(&x);
}

int main(void)
{
	struct hm_ctx *ctx = NULL;

	hm_ctx_new(&ctx);
	test_names(ctx);
	test_order(ctx);
	test_growmap(ctx);
	test_extmap(ctx);
	hm_ctx_free(ctx);
	return done();
}
