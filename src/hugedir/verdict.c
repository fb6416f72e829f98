/* SPDX-License-Identifier: MIT */
/*
 * hugedir/verdict.c — the verdict on one pool, in words: whether hm_init can
 * be served from it and, when not, why and what to do (hm_pool_verdict, what
 * `hugemem status` prints under each pool). It reads the budgets and mount
 * choice hugedir/mount.c worked out; it changes nothing and reads no file.
 * Each case that refuses is one small function naming the cause (no pages,
 * pool exhausted, a cgroup or mount size= cap, no mount, a read-only mount)
 * with its fix, so the wording of a case is found in one place.
 */
#include "hugedir/hugedir.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct line {
	char *buf;
	size_t len, pos;
};

static void HMI_PRINTF(2, 3) put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len == 0 || l->pos >= l->len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->pos, l->len - l->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->pos += (size_t)n < l->len - l->pos ? (size_t)n : l->len - 1 - l->pos;
}

static const char *pages_word(uint64_t n)
{
	return n == 1 ? "page" : "pages";
}

static enum hm_verdict say_no_pages(struct line *l, const struct hm_pool *p)
{
	uint64_t suggest = hmi_mul_sat(p->page_size, 2);
	char amount[32], size[32];

	if (suggest < (1ULL << 30))
		suggest = 1ULL << 30;
	hmi_format_size_short(suggest, amount, sizeof(amount));
	hmi_format_size_short(p->page_size, size, sizeof(size));
	put(l, "no pages reserved: hugemem reserve %s --page-size %s", amount, size);
	return HM_VERDICT_NO_PAGES;
}

static enum hm_verdict say_exhausted(struct line *l, const struct hm_pool *p)
{
	put(l, "all %" PRIu64 " %s in use (%" PRIu64 " free", p->nr, pages_word(p->nr), p->free);
	if (p->free)
		put(l, ", all reserved by mappings not yet touched");
	put(l, ")");
	return HM_VERDICT_EXHAUSTED;
}

/* " (size=64M)" / " size=64M" when the mount has a size= option */
static void say_size_option(struct line *l, const struct hm_mount *m, const char *open,
			    const char *close)
{
	char size[32];

	if (m->size_limit == 0)
		return;
	hmi_format_size_short(m->size_limit, size, sizeof(size));
	put(l, "%ssize=%s%s", open, size, close);
}

static enum hm_verdict say_capped(struct line *l, const struct hm_sysinfo *si,
				  const struct hm_pool *p)
{
	if (p->budget_cap == HM_CAP_MOUNT && p->mount >= 0 && p->mount < si->n_mounts) {
		put(l, "mount %s is full", si->mounts[p->mount].path);
		say_size_option(l, &si->mounts[p->mount], " (", ")");
	} else {
		put(l, "cgroup %s caps this process at 0 pages (%" PRIu64 " free)",
		    p->cgroup.path ? p->cgroup.path : "?", p->free);
	}
	return HM_VERDICT_CAPPED;
}

static enum hm_verdict say_no_mount(struct line *l, const struct hm_pool *p)
{
	char size[32];

	hmi_format_size_short(p->page_size, size, sizeof(size));
	put(l,
	    "%" PRIu64 " %s reserved but no hugetlbfs mount serves %s: "
	    "hugemem mount --page-size %s (or use --in-memory)",
	    p->nr, pages_word(p->nr), p->nr == 1 ? "it" : "them", size);
	return HM_VERDICT_NO_MOUNT;
}

/* The chosen mount is the first writable one, so a read-only choice means
 * that no mount of this size takes page files. (An unwritable one is not
 * judged here: a path missing below a fixture root is unwritable too, and
 * init names the permission when it meets it.) */
static enum hm_verdict say_read_only(struct line *l, const struct hm_pool *p,
				     const struct hm_mount *m)
{
	char size[32];

	hmi_format_size_short(p->page_size, size, sizeof(size));
	put(l,
	    "%" PRIu64 " %s reserved but the only hugetlbfs mount of this size, %s, is "
	    "read-only: remount it rw, or hugemem mount --page-size %s (or use --in-memory)",
	    p->nr, pages_word(p->nr), m->path, size);
	return HM_VERDICT_NO_MOUNT;
}

/* " on node 0" / " on nodes 0 (400), 2 (560)": the nodes with a budget; the
 * counts only when the pool sets the budget (under a cap every node shows
 * the cap, which says nothing). */
static void say_nodes(struct line *l, const struct hm_pool *p)
{
	int with = 0, shown = 0, counts = p->budget_cap == HM_CAP_POOL;

	for (int i = 0; i < p->n_nodes; i++)
		with += p->node_budget[i] > 0;
	if (with == 0)
		return;
	put(l, " on %s ", with == 1 ? "node" : "nodes");
	for (int i = 0; i < p->n_nodes; i++) {
		if (p->node_budget[i] == 0)
			continue;
		put(l, "%s%d", shown++ ? ", " : "", p->nodes[i].node);
		if (counts && with > 1)
			put(l, " (%" PRIu64 ")", p->node_budget[i]);
	}
}

static enum hm_verdict say_usable(struct line *l, const struct hm_sysinfo *si,
				  const struct hm_pool *p)
{
	put(l, "%" PRIu64 " %s usable", p->budget, pages_word(p->budget));
	say_nodes(l, p);
	if (p->budget_cap == HM_CAP_POOL)
		return HM_VERDICT_USABLE;
	put(l, " (");
	if (p->budget_cap == HM_CAP_MOUNT && p->mount >= 0 && p->mount < si->n_mounts) {
		put(l, "mount %s", si->mounts[p->mount].path);
		say_size_option(l, &si->mounts[p->mount], " ", "");
	} else {
		put(l, "cgroup %s", p->cgroup.path ? p->cgroup.path : "?");
	}
	put(l, " caps it; %" PRIu64 " free)", p->free);
	return HM_VERDICT_USABLE;
}

enum hm_verdict hm_pool_verdict(const struct hm_sysinfo *si, const struct hm_pool *pool, char *buf,
				size_t len)
{
	struct line l = {buf, buf ? len : 0, 0};
	char size[32];

	if (l.len)
		buf[0] = '\0';
	hmi_format_size(pool->page_size, size, sizeof(size));
	put(&l, "%s: ", size);
	if (pool->nr == 0 && pool->free == 0)
		return say_no_pages(&l, pool);
	if (pool->budget == 0 && pool->budget_cap == HM_CAP_POOL)
		return say_exhausted(&l, pool);
	if (pool->budget == 0)
		return say_capped(&l, si, pool);
	if (pool->mount < 0 || pool->mount >= si->n_mounts)
		return say_no_mount(&l, pool);
	if (si->mounts[pool->mount].read_only)
		return say_read_only(&l, pool, &si->mounts[pool->mount]);
	return say_usable(&l, si, pool);
}
