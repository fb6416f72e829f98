/* SPDX-License-Identifier: MIT */
/*
 * heap/memzone.c — named zones: blocks of the shared heap with a name, found by
 * any process of the prefix.
 *
 * The table (256 entries, in the arena) is guarded by the heap's lock. A
 * zone is a heap block whose header says "zone" (hm_free refuses it), so it
 * lies in one segment: every zone is contiguous in IOVA, and a zone larger
 * than a node's largest free block is refused with that block's size and
 * the largest segment's. Reserving takes the entry and the block under the
 * lock, marked pending (invisible to lookups, but its name is taken), clears
 * the memory without the lock (only the part a process may have written:
 * below the region's high-water mark), then marks it ready.
 */
#include "heap/heap.h"

#include "grow/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZONE_PENDING 0x80000000u /* internal flag: reserved, not yet cleared */
#define ZONE_FLAGS   HM_MZ_IOVA_CONTIG

#define X(v) ((unsigned long long)(v))

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static int check_name(struct hm_ctx *ctx, const char *fn, const char *name)
{
	size_t n = 0;

	if (!name)
		return hmi_err(ctx, EINVAL, "%s: no zone name given", fn);
	for (; n < HM_ZONE_NAME_MAX && name[n]; n++)
		if (!name_char(name[n]))
			return hmi_err(
			    ctx, EINVAL,
			    "%s: zone name '%.*s' has '%c': use letters, digits, '_', '.', "
			    "'-'",
			    fn, HM_ZONE_NAME_MAX, name, name[n]);
	if (n == 0 || n >= HM_ZONE_NAME_MAX)
		return hmi_err(ctx, EINVAL, "%s: zone name '%.*s' is %s: give 1 to %d bytes", fn,
			       HM_ZONE_NAME_MAX, name, n ? "too long" : "empty",
			       HM_ZONE_NAME_MAX - 1);
	return 0;
}

/* The entry named NAME (pending ones too), or NULL. */
static struct hmi_zone *find(struct hmi_zone_table *t, const char *name)
{
	for (size_t i = 0; i < HMI_ZONES_MAX; i++)
		if (t->z[i].name[0] && strncmp(t->z[i].name, name, HM_ZONE_NAME_MAX) == 0)
			return &t->z[i];
	return NULL;
}

/* Zone copy C lies in external heap K, which this process does not map
 * (heap/extview.c): its block cannot be read here, only placed: within the
 * heap's range. */
static int zone_elsewhere(const struct hmi_heap_view *v, const struct hmi_zone *c, int *k)
{
	*k = hmi_ext_heap_at(v, c->va);
	return *k >= 0 && !hmi_slot_mapped(v, (int)v->n_nodes + *k) &&
	       c->len <= v->ext_range[*k].va + v->ext_range[*k].len - c->va;
}

/* Entry Z, copied once out of the shared table and checked: a name of
 * name characters, ended within its field; VA the payload of a zone block
 * of the heap that holds LEN bytes (in an external heap this process does
 * not map: within its range; then 1, not 0); known flags. OUT (may be NULL)
 * gets the copy. 0 or 1, or -ENOTRECOVERABLE with the heap marked damaged:
 * an application must never be handed a zone pointer that a stray write
 * made up. */
static int zone_read(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct hmi_zone *z,
		     struct hm_memzone *out)
{
	struct hmi_zone c;
	uint64_t size = 0, b;
	size_t n = 0;
	int k = -1, elsewhere;

	memcpy(&c, z, sizeof(c));
	while (n < HM_ZONE_NAME_MAX && name_char(c.name[n]))
		n++;
	b = hmi_blk_of(v, (void *)(uintptr_t)c.va, &size);
	elsewhere = !b && zone_elsewhere(v, &c, &k);
	if (n == 0 || n == HM_ZONE_NAME_MAX || c.name[n] ||
	    (!elsewhere && (!b || !HMI_READ(hmi_blk_at(b)->zone) || c.len > size - HMI_BLK_HDR)) ||
	    c.len == 0 || (c.flags & ~(ZONE_FLAGS | ZONE_PENDING))) {
		hmi_heap_damage(
		    v, "zone table entry %zu ('%.*s', 0x%llx, %llu bytes) is overwritten",
		    (size_t)(z - hmi_arena_zones(ctx)->z), (int)n, c.name, X(c.va), X(c.len));
		return hmi_heap_broken(ctx, v);
	}
	if (!out)
		return elsewhere;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, c.name, n);
	out->va = (void *)(uintptr_t)c.va;
	out->iova = c.iova;
	out->len = c.len;
	out->socket = elsewhere ? HM_EXT_SOCKET_BASE + k : hmi_region_find(v, b)->node;
	out->flags = c.flags & ZONE_FLAGS;
	return elsewhere;
}

/* ------------------------------------------------------------------ reserve */

struct request {
	const char *name;
	uint64_t len, bsize, align;
	int socket, slot;
	unsigned flags;
};

static int check_request(struct hm_ctx *ctx, const struct hmi_heap_view *v, struct request *q)
{
	int rc = check_name(ctx, "hm_memzone_reserve", q->name);

	if (rc < 0)
		return rc;
	if (q->align == 0)
		q->align = HMI_BLK_ALIGN;
	if (q->flags & ~ZONE_FLAGS)
		return hmi_err(ctx, EINVAL,
			       "zone '%s': unknown flags 0x%x: give 0 or HM_MZ_IOVA_CONTIG",
			       q->name, q->flags);
	if (q->align & (q->align - 1) || q->align > v->max_align)
		return hmi_err(
		    ctx, EINVAL,
		    "zone '%s': alignment %llu is not a power of two up to the page size "
		    "(%llu)",
		    q->name, X(q->align), X(v->max_align));
	q->bsize = hmi_blk_for(q->len);
	if (q->len == 0 || q->bsize == 0)
		return hmi_err(ctx, EINVAL,
			       "zone '%s': length %llu: give 1 byte to the memory held", q->name,
			       X(q->len));
	q->slot = q->socket == HM_SOCKET_ANY ? hmi_local_slot(v) : hmi_slot(v, q->socket);
	if (q->slot < 0)
		return hmi_err(ctx, ENOENT, "zone '%s': no memory on node %d in this prefix",
			       q->name, q->socket);
	return 0;
}

/* The largest segment of NODE (bytes). */
static uint64_t largest_segment(const struct hmi_segtab *m, int node)
{
	uint64_t best = 0;

	for (size_t i = 0; i < m->n_segs; i++)
		if (m->segs[i].node == node && m->segs[i].len > best)
			best = m->segs[i].len;
	return best;
}

static int no_room(struct hm_ctx *ctx, struct hmi_heap_view *v, const struct request *q)
{
	int slot = q->slot, node;
	uint64_t piece;
	char want[32], seg[32];

	if (hmi_slot_is_ext(v, slot))
		return hmi_err(ctx, ENOMEM,
			       "zone '%s': %s is more than the largest free piece of external heap "
			       "%d: %llu bytes: ask less, or free memory there",
			       q->name, hm_size_str(q->len, want, sizeof(want)),
			       hmi_slot_node(v, slot),
			       X(hmi_heap_largest(v, slot) > HMI_BLK_HDR
				     ? hmi_heap_largest(v, slot) - HMI_BLK_HDR
				     : 0));

	for (uint32_t s = 0; q->socket == HM_SOCKET_ANY && s < v->n_nodes; s++)
		if (hmi_heap_largest(v, (int)s) > hmi_heap_largest(v, slot))
			slot = (int)s;
	node = hmi_slot_node(v, slot);
	piece = hmi_heap_largest(v, slot);
	piece = piece > HMI_BLK_HDR ? piece - HMI_BLK_HDR : 0;
	return hmi_err(ctx, ENOMEM,
		       "zone '%s': %s%s is more than the largest contiguous piece on node %d: %llu "
		       "bytes (%.1f MiB) free in one piece, segments up to %s: ask less, or "
		       "restart the primary with more memory or --contig best",
		       q->name, hm_size_str(q->len, want, sizeof(want)),
		       q->flags & HM_MZ_IOVA_CONTIG ? " IOVA-contiguous" : "", node, X(piece),
		       (double)piece / (1 << 20),
		       hm_size_str(largest_segment(ctx->tab, node), seg, sizeof(seg)));
}

/* With the lock: a free entry and a block for Q, marked pending; *VA its
 * payload (a local: the entry is shared memory). */
static int take_zone(struct hm_ctx *ctx, struct hmi_heap_view *v, struct hmi_zone_table *t,
		     const struct request *q, struct hmi_zone **out, uint64_t *va, uint64_t *dirty)
{
	struct hmi_zone *z = find(t, q->name), *e = NULL;
	uint64_t b;

	if (z)
		return hmi_err(ctx, EEXIST,
			       "zone '%s' exists already (%llu bytes at 0x%llx on node %d): choose "
			       "another name, or hm_memzone_lookup it",
			       q->name, X(z->len), X(z->va), z->socket);
	for (size_t i = 0; !e && i < HMI_ZONES_MAX; i++)
		e = t->z[i].name[0] ? NULL : &t->z[i];
	if (!e)
		return hmi_err(ctx, ENOSPC,
			       "zone '%s': the zone table is full (%d zones): free one", q->name,
			       HMI_ZONES_MAX);
	if (hmi_slot_is_ext(v, q->slot) &&
	    hmi_ext_usable(ctx, v, "hm_memzone_reserve", q->slot) < 0)
		return -ENOENT;
	b = hmi_heap_take(v, q->slot, q->bsize, q->align, dirty);
	for (uint32_t s = 0; !b && q->socket == HM_SOCKET_ANY && s < v->n_nodes; s++)
		b = hmi_heap_take(v, (int)s, q->bsize, q->align, dirty);
	if (hmi_heap_is_damaged(v))
		return hmi_heap_broken(ctx, v);
	if (!b)
		return no_room(ctx, v, q);
	hmi_blk_at(b)->zone = 1;
	memcpy(e->name, q->name, strlen(q->name) + 1);
	*va = b + HMI_BLK_HDR;
	e->va = *va;
	e->iova = hm_virt2iova(ctx, (void *)(uintptr_t)*va); /* grown memory too */
	e->len = q->len;
	e->socket = hmi_region_find(v, b)->node;
	e->flags = q->flags | ZONE_PENDING;
	t->n++;
	*out = e;
	return 0;
}

int hm_memzone_reserve(struct hm_ctx *ctx, const char *name, uint64_t len, int socket,
		       unsigned flags, uint64_t align, struct hm_memzone *out)
{
	struct request q = {
	    .name = name, .len = len, .align = align, .socket = socket, .flags = flags};
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hmi_zone_table *t = v ? hmi_arena_zones(ctx) : NULL;
	struct hmi_zone *z = NULL;
	uint64_t dirty = UINT64_MAX, va = 0;
	int rc;

	if (hmi_heap_inherited(ctx->heap)) /* a forked child: the heap is not mapped here */
		return hmi_err_inherited(ctx, "hm_memzone_reserve");
	rc = t ? check_request(ctx, v, &q) : -ENOENT;
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	rc = take_zone(ctx, v, t, &q, &z, &va, &dirty);
	hmi_heap_unlock(v);
	if (rc == -ENOMEM && hmi_grow_possible(ctx) && !hmi_slot_is_ext(v, q.slot)) {
		/* --max-mem: grow, then once more */
		rc = hmi_heap_grow(ctx, v, "hm_memzone_reserve", hmi_slot_node(v, q.slot), q.bsize,
				   q.align);
		if (rc == 0)
			rc = hmi_heap_lock(ctx, v);
		if (rc == 0) {
			rc = take_zone(ctx, v, t, &q, &z, &va, &dirty);
			hmi_heap_unlock(v);
		}
	}
	if (rc < 0)
		return rc;
	if (dirty > va) /* what a process may have written: clear it, without the lock */
		memset((void *)(uintptr_t)va, 0, dirty - va < len ? dirty - va : len);
	rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	z->flags = HMI_READ(z->flags) & ~ZONE_PENDING;
	rc = zone_read(ctx, v, z, out);
	hmi_heap_unlock(v);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ lookup, free, walk */

/* Lock and find the ready zone NAME: 0 with the lock held, or -errno
 * without. */
static int locked_find(struct hm_ctx *ctx, const char *fn, const char *name,
		       struct hmi_heap_view **vp, struct hmi_zone **zp)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hmi_zone_table *t = v ? hmi_arena_zones(ctx) : NULL;
	int rc = t ? check_name(ctx, fn, name) : -ENOENT;

	if (hmi_heap_inherited(ctx->heap)) /* a forked child: the heap is not mapped here */
		return hmi_err_inherited(ctx, fn);
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	if (rc < 0)
		return rc;
	*zp = find(t, name);
	if (!*zp || (HMI_READ((*zp)->flags) & ZONE_PENDING)) {
		hmi_heap_unlock(v);
		return hmi_err(ctx, ENOENT, "%s: no zone named '%s' in prefix '%s'", fn, name,
			       ctx->tab->prefix);
	}
	*vp = v;
	return 0;
}

int hm_memzone_lookup(struct hm_ctx *ctx, const char *name, struct hm_memzone *out)
{
	struct hmi_heap_view *v;
	struct hmi_zone *z;
	int rc = locked_find(ctx, "hm_memzone_lookup", name, &v, &z);

	if (rc < 0)
		return rc;
	rc = zone_read(ctx, v, z, out);
	hmi_heap_unlock(v);
	return rc < 0 ? rc : 0;
}

int hm_memzone_free(struct hm_ctx *ctx, const char *name)
{
	struct hmi_heap_view *v;
	struct hm_memzone copy;
	struct hmi_zone *z;
	int rc = locked_find(ctx, "hm_memzone_free", name, &v, &z);

	if (rc < 0)
		return rc;
	rc = zone_read(ctx, v, z, &copy); /* its block checked: a zone block of the heap */
	if (rc > 0)
		rc = hmi_err(
		    ctx, ENOENT,
		    "hm_memzone_free: zone '%s' lies in external heap %d, whose memory this "
		    "process has not registered: free it where it is, or hm_extmem_register "
		    "it here first",
		    name, copy.socket);
	if (rc == 0) {
		hmi_heap_give(v, (uint64_t)(uintptr_t)copy.va - HMI_BLK_HDR);
		memset(z, 0, sizeof(*z));
		hmi_arena_zones(ctx)->n--;
	}
	hmi_heap_unlock(v);
	if (rc < 0)
		return rc;
	if (hmi_heap_is_damaged(v))
		return hmi_heap_broken(ctx, v);
	hmi_heap_after_free(ctx, v);
	return 0;
}

int hm_memzone_walk(struct hm_ctx *ctx, int (*fn)(const struct hm_memzone *, void *), void *arg)
{
	struct hmi_heap_view *v = hmi_arena_view(ctx);
	struct hmi_zone_table *t = v ? hmi_arena_zones(ctx) : NULL;
	struct hm_memzone *copy = t ? calloc(HMI_ZONES_MAX, sizeof(*copy)) : NULL;
	int rc = t && !copy ? hmi_err(ctx, ENOMEM, "out of memory walking the zones") : 0;
	size_t n = 0;
	int locked;

	if (hmi_heap_inherited(ctx->heap)) {
		free(copy);
		return hmi_err_inherited(ctx, "hm_memzone_walk");
	}
	if (!t)
		return -ENOENT;
	if (rc == 0)
		rc = hmi_heap_lock(ctx, v);
	locked = rc == 0;
	for (size_t i = 0; rc == 0 && i < HMI_ZONES_MAX; i++)
		if (HMI_READ(t->z[i].name[0]) && !(HMI_READ(t->z[i].flags) & ZONE_PENDING) &&
		    (rc = zone_read(ctx, v, &t->z[i], &copy[n])) >= 0) {
			rc = 0;
			n++;
		}
	if (locked)
		hmi_heap_unlock(v);
	for (size_t i = 0; rc == 0 && i < n; i++) /* without the lock: FN may use the heap */
		rc = fn(&copy[i], arg);
	free(copy);
	return rc;
}
