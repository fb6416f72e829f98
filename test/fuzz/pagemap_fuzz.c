/* SPDX-License-Identifier: MIT */
/*
 * pagemap_fuzz.c — the page-frame words hugemem decodes: /proc/self/pagemap
 * entries (hm_pagemap_decode), and /proc/kpageflags + /proc/kpagecount with
 * the memory blocks of each node, read by both their readers: the pool map
 * (hm_poolmap_read: free runs per node) and the physical map
 * (hm_physmap_read: every node's span cut into extents). Both find hugetlb
 * heads of one size, skip larger pages, tell smaller ones apart and place
 * heads on nodes from memory blocks (sys/kpage.c).
 *
 * The input:
 *   byte 0   bits 0-3: page size = base page << (n % 10); bit 4: a size half
 *            as large is offered too; bit 5: two nodes (else one)
 *   byte 1   the pool's free_hugepages (for the "exact" flag)
 *   byte 2   L (mod 24), then L bytes: /sys/devices/system/memory/
 *            block_size_bytes (hex text; L = 0: no such file)
 *   then     16-byte records, one per PFN from 0: the kpageflags word and
 *            the kpagecount word, little-endian (at most 4096 records)
 * The files are written into a fake root made once (fuzz_make_root), which
 * lists memory blocks 0-1 on node 0 and 2-3 on node 1.
 *
 * Properties, for every input:
 *  - every flags word decodes as a pagemap entry: present is bit 63, the PFN
 *    bits 0-54 (0 when not present);
 *  - the map fails only with a one-line message;
 *  - on success, per node: free pages <= heads; the runs ascend, do not touch
 *    (touching runs are one run), are page aligned, add up to the free pages,
 *    and the longest is "largest"; every page of a run is a hugetlb head
 *    (KPF_HUGE | KPF_COMPOUND_HEAD) mapped by nobody (count 0), is not the
 *    head of a larger page (no tail one page size on) nor of the smaller size
 *    (a tail one smaller size on), and sits on the node its memory block
 *    names; "exact" is exactly "free pages seen == free_hugepages";
 *  - the physical map of the same files (no live prefix: an empty runtime
 *    directory) is placed, its extents cover each node's span in order
 *    without gaps, page-aligned where they hold hugepages, no two FREE ones
 *    touching, its counts match its extents, every FREE page is free in the
 *    pool map on the same node, and without memory blocks both maps see the
 *    same number of free pages.
 */
#include "fuzz.h"

#define HUGE_HEAD   ((1ULL << 17) | (1ULL << 15))
#define HUGE_TAIL   ((1ULL << 17) | (1ULL << 16))
#define MAX_RECORDS 4096
#define HEADER	    3

struct input {
	uint64_t page_size, smaller, base;
	int two_nodes;
	uint64_t pool_free;
	const char *block_text; /* NUL-terminated copy, "" = no file */
	uint64_t flags[MAX_RECORDS], count[MAX_RECORDS];
	size_t n;
};

static int flags_fd = -1, count_fd = -1;

static void make_root(struct hm_ctx *ctx)
{
	static const char *const blocks[] = {"node0/memory0", "node0/memory1", "node1/memory2",
					     "node1/memory3"};
	char rel[320];

	fuzz_make_root(ctx, "pagemap");
	flags_fd = fuzz_open("proc/kpageflags", O_RDWR | O_CREAT);
	count_fd = fuzz_open("proc/kpagecount", O_RDWR | O_CREAT);
	for (size_t i = 0; i < HMI_ARRAY_SIZE(blocks); i++) {
		snprintf(rel, sizeof(rel), "sys/devices/system/node/%s/.keep", blocks[i]);
		close(fuzz_open(rel, O_WRONLY | O_CREAT));
	}
	close(fuzz_open("sys/devices/system/memory/.keep", O_WRONLY | O_CREAT));
	close(fuzz_open("run/.keep", O_WRONLY | O_CREAT));
	snprintf(rel, sizeof(rel), "%s/run", fuzz_root);
	if (hm_ctx_set_runtime_dir(ctx, rel) < 0) /* no live prefix there */
		abort();
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* DATA into *IN; 0 when too short to say anything. */
static int split_input(const uint8_t *data, size_t size, struct input *in, char *block_text)
{
	size_t len;
	unsigned shift;

	if (size < HEADER)
		return 0;
	shift = (data[0] & 15) % 10;
	in->page_size = in->base << shift;
	in->smaller = (data[0] & 16) && shift ? in->base << (shift - 1) : 0;
	in->two_nodes = (data[0] & 32) != 0;
	in->pool_free = data[1];
	len = data[2] % 24;
	if (len > size - HEADER)
		len = size - HEADER;
	memcpy(block_text, data + HEADER, len);
	block_text[len] = '\0';
	in->block_text = block_text;
	data += HEADER + len;
	size -= HEADER + len;
	for (in->n = 0; in->n < MAX_RECORDS && size >= 16; in->n++, data += 16, size -= 16) {
		in->flags[in->n] = get_le64(data);
		in->count[in->n] = get_le64(data + 8);
	}
	return 1;
}

static void write_root(const struct input *in)
{
	static const char block_file[] = "sys/devices/system/memory/block_size_bytes";
	size_t bytes = in->n * 8;
	char path[512];

	if (ftruncate(flags_fd, 0) < 0 || ftruncate(count_fd, 0) < 0 ||
	    (bytes && pwrite(flags_fd, in->flags, bytes, 0) != (ssize_t)bytes) ||
	    (bytes && pwrite(count_fd, in->count, bytes, 0) != (ssize_t)bytes))
		abort();
	snprintf(path, sizeof(path), "%s/%s", fuzz_root, block_file);
	if (in->block_text[0])
		fuzz_put_file(block_file, in->block_text, strlen(in->block_text));
	else
		unlink(path);
}

static void check_pagemap(const struct input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		uint64_t w = in->flags[i], pfn = 1;
		int present = hm_pagemap_decode(w, &pfn);

		FUZZ_CHECK(present == (int)(w >> 63), "entry 0x%" PRIx64 ": present %d", w,
			   present);
		FUZZ_CHECK(pfn == (present ? w & ((1ULL << 55) - 1) : 0),
			   "entry 0x%" PRIx64 ": pfn 0x%" PRIx64, w, pfn);
		FUZZ_CHECK(hm_pagemap_decode(w, NULL) == present, "entry 0x%" PRIx64 " without pfn",
			   w);
	}
}

static uint64_t word(const uint64_t *words, size_t n, uint64_t pfn)
{
	return pfn < n ? words[pfn] : 0; /* past the end of the file */
}

/* The node index the memory blocks give PFN: blocks 2 and 3 are node 1. */
static int node_of(const struct input *in, uint64_t pfn)
{
	char *end;
	uint64_t bytes, block;

	if (!in->two_nodes)
		return 0;
	errno = 0;
	bytes = strtoull(in->block_text, &end, 16);
	if (!in->block_text[0] || errno || bytes == 0 || bytes % in->base)
		return 0;
	block = pfn / (bytes / in->base);
	return block == 2 || block == 3;
}

static void check_page(const struct input *in, uint64_t pfn, int idx)
{
	uint64_t stride = in->page_size / in->base;

	FUZZ_CHECK((word(in->flags, in->n, pfn) & HUGE_HEAD) == HUGE_HEAD,
		   "free page at PFN %" PRIu64 " is not a hugetlb head", pfn);
	FUZZ_CHECK(word(in->count, in->n, pfn) == 0, "free page at PFN %" PRIu64 " is mapped", pfn);
	FUZZ_CHECK((word(in->flags, in->n, pfn + stride) & HUGE_TAIL) != HUGE_TAIL,
		   "free page at PFN %" PRIu64 " heads a larger page", pfn);
	FUZZ_CHECK(!in->smaller || (word(in->flags, in->n, pfn + in->smaller / in->base) &
				    HUGE_TAIL) == HUGE_TAIL,
		   "free page at PFN %" PRIu64 " heads a smaller page", pfn);
	FUZZ_CHECK(node_of(in, pfn) == idx, "PFN %" PRIu64 " on node index %d, its block says %d",
		   pfn, idx, node_of(in, pfn));
}

static uint64_t check_node(const struct input *in, const struct hm_poolmap_node *nd, int idx)
{
	uint64_t ps = in->page_size, sum = 0, longest = 0;

	FUZZ_CHECK(nd->free_pages <= nd->heads, "node %d: %" PRIu64 " free of %" PRIu64, idx,
		   nd->free_pages, nd->heads);
	for (uint64_t r = 0; r < nd->n_runs; r++) {
		const struct hm_run *run = &nd->runs[r];

		FUZZ_CHECK(run->pages > 0 && run->pa % ps == 0, "node %d run %" PRIu64, idx, r);
		FUZZ_CHECK(r == 0 || nd->runs[r - 1].pa + nd->runs[r - 1].pages * ps < run->pa,
			   "node %d: run %" PRIu64 " at 0x%" PRIx64 " touches or precedes the last",
			   idx, r, run->pa);
		for (uint64_t k = 0; k < run->pages; k++)
			check_page(in, (run->pa + k * ps) / in->base, idx);
		sum += run->pages;
		longest = run->pages > longest ? run->pages : longest;
	}
	FUZZ_CHECK(sum == nd->free_pages && longest == nd->largest,
		   "node %d: runs hold %" PRIu64 " (longest %" PRIu64 "), free %" PRIu64
		   " (largest %" PRIu64 ")",
		   idx, sum, longest, nd->free_pages, nd->largest);
	return sum;
}

static void make_sysinfo(const struct input *in, struct hm_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	si->n_nodes = in->two_nodes ? 2 : 1;
	si->node_ids[1] = 1;
	si->pools[si->n_pools].page_size = in->smaller;
	si->n_pools += in->smaller != 0;
	si->pools[si->n_pools].page_size = in->page_size;
	si->pools[si->n_pools++].free = in->pool_free;
}

/* The pool map of IN, checked; NULL when it failed (with a message). */
static struct hm_poolmap *check_poolmap(struct hm_ctx *ctx, const struct input *in,
					const struct hm_sysinfo *si)
{
	struct hm_poolmap *map = NULL;
	uint64_t seen = 0;
	int rc = hm_poolmap_read(ctx, si, in->page_size, &map);

	fuzz_failed(ctx, rc, "hm_poolmap_read");
	if (rc < 0)
		return NULL;
	FUZZ_CHECK(map->page_size == in->page_size && map->n_nodes == si->n_nodes,
		   "map of %" PRIu64 " on %d nodes", map->page_size, map->n_nodes);
	for (int i = 0; i < map->n_nodes; i++) {
		FUZZ_CHECK(map->nodes[i].node == i, "node %d has id %d", i, map->nodes[i].node);
		seen += check_node(in, &map->nodes[i], i);
	}
	FUZZ_CHECK(map->exact == (seen == in->pool_free),
		   "exact %d: %" PRIu64 " seen, %" PRIu64 " free", map->exact, seen, in->pool_free);
	return map;
}

/* Free pages of node IDX in the pool map that lie in [PA, PA + LEN). */
static uint64_t pool_free_in(const struct hm_poolmap *pm, int idx, uint64_t pa, uint64_t len)
{
	const struct hm_poolmap_node *nd = &pm->nodes[idx];
	uint64_t ps = pm->page_size, pages = 0;

	for (uint64_t r = 0; r < nd->n_runs; r++) {
		uint64_t lo = nd->runs[r].pa, hi = lo + nd->runs[r].pages * ps;

		lo = lo > pa ? lo : pa;
		hi = hi < pa + len ? hi : pa + len;
		pages += hi > lo ? (hi - lo) / ps : 0;
	}
	return pages;
}

/* One node of the physical map: extents that cover its span in order, and
 * counts that match them. Its FREE pages, all free in the pool map too. */
static uint64_t check_phys_node(const struct hm_physmap *m, int idx, const struct hm_poolmap *pm)
{
	const struct hm_phys_node *n = &m->nodes[idx];
	uint64_t ps = m->page_size, at = n->start, free_pages = 0, runs = 0, longest = 0;

	for (uint64_t e = 0; e < n->n_extents; e++) {
		const struct hm_phys_extent *x = &n->extents[e];
		int hp = x->kind >= HM_PHYS_FREE;

		FUZZ_CHECK(x->pa == at && x->len > 0 && x->kind <= HM_PHYS_USED &&
			       (!hp || (x->pa % ps == 0 && x->len % ps == 0)),
			   "node %d extent %" PRIu64 ": 0x%" PRIx64 "+0x%" PRIx64
			   " kind %d, expected at 0x%" PRIx64,
			   idx, e, x->pa, x->len, (int)x->kind, at);
		FUZZ_CHECK(e == 0 || x->kind != HM_PHYS_FREE || n->extents[e - 1].kind != x->kind,
			   "node %d: FREE extents %" PRIu64 " and the one before touch", idx, e);
		if (x->kind == HM_PHYS_FREE) {
			FUZZ_CHECK(!pm || pool_free_in(pm, idx, x->pa, x->len) == x->len / ps,
				   "node %d: free extent 0x%" PRIx64 "+0x%" PRIx64
				   " is not free in the pool map",
				   idx, x->pa, x->len);
			free_pages += x->len / ps;
			runs++;
			longest = x->len / ps > longest ? x->len / ps : longest;
		}
		at += x->len;
	}
	FUZZ_CHECK(n->n_extents == 0 || at == n->end,
		   "node %d extents end at 0x%" PRIx64 ", its span at 0x%" PRIx64, idx, at, n->end);
	FUZZ_CHECK(n->free_pages == free_pages && n->free_runs == runs &&
		       n->largest_run == longest && n->prefix_pages == 0 &&
		       n->hugepages == n->free_pages + n->used_pages,
		   "node %d counts: %" PRIu64 " free in %" PRIu64 " runs, extents say %" PRIu64
		   " in %" PRIu64,
		   idx, n->free_pages, n->free_runs, free_pages, runs);
	return free_pages;
}

/* The physical map (hm_physmap_read) of the same files, against the pool
 * map PM (NULL when that failed): with no memory blocks both see the same
 * free pages; with blocks the physical map skips blocks no node lists. */
static void check_physmap(struct hm_ctx *ctx, const struct input *in, const struct hm_sysinfo *si,
			  const struct hm_poolmap *pm)
{
	struct hm_physmap *m = NULL;
	uint64_t seen = 0, pool_seen = 0;
	int rc = hm_physmap_read(ctx, si, in->page_size, NULL, &m);

	fuzz_failed(ctx, rc, "hm_physmap_read");
	if (rc < 0)
		return;
	FUZZ_CHECK(m->placed && m->n_nodes == si->n_nodes && m->n_prefixes == 0,
		   "physical map: placed %d, %d nodes, %d prefixes (%s)", m->placed, m->n_nodes,
		   m->n_prefixes, m->missing);
	for (int i = 0; i < m->n_nodes; i++) {
		seen += check_phys_node(m, i, pm);
		pool_seen += pm ? pm->nodes[i].free_pages : 0;
	}
	FUZZ_CHECK(m->exact == (seen == in->pool_free), "physical map exact %d", m->exact);
	FUZZ_CHECK(!pm || in->block_text[0] || seen == pool_seen,
		   "no memory blocks: %" PRIu64 " free pages, the pool map %" PRIu64, seen,
		   pool_seen);
	hm_physmap_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in; /* 64 KiB of words: not on the stack */
	struct hm_ctx *ctx = fuzz_ctx();
	struct hm_poolmap *pm;
	struct hm_sysinfo si;
	char block_text[32];

	if (!fuzz_root[0])
		make_root(ctx);
	in.base = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!split_input(data, size, &in, block_text))
		return 0;
	check_pagemap(&in);
	write_root(&in);
	make_sysinfo(&in, &si);
	pm = check_poolmap(ctx, &in, &si);
	check_physmap(ctx, &in, &si, pm);
	hm_poolmap_free(pm);
	return 0;
}
