/* SPDX-License-Identifier: MIT */
/*
 * poolmap.c — the free hugepage pool's physical layout, read from
 * /proc/kpageflags and /proc/kpagecount without mapping (or zeroing) a page.
 *
 * Both files hold one 64-bit word per base page frame (PFN), at offset
 * PFN * 8: kpageflags the page's flags, kpagecount how many page tables map
 * it. Both are root only (mode 0400); a fixture tree may hold sparse files
 * instead, whose holes read as zero words.
 *
 * The scan. A hugepage of PAGE_SIZE spans STRIDE = PAGE_SIZE / base page PFNs
 * and its head sits on a STRIDE boundary, so one flags word per STRIDE PFNs
 * finds every head: a hugetlb head has KPF_HUGE (bit 17) and
 * KPF_COMPOUND_HEAD (bit 15), its tails KPF_HUGE and KPF_COMPOUND_TAIL
 * (bit 16). Compound pages are naturally aligned, which makes two more
 * one-word reads tell a head of exactly PAGE_SIZE from other hugetlb heads
 * that sit on the same boundary:
 *  - larger (a 1 GiB head seen while mapping 2 MiB): the word at PFN + STRIDE
 *    is a hugetlb tail. The large page is skipped whole: probe PFN + 2 STRIDE,
 *    4 STRIDE, ... until a word is not a tail; that offset is its size.
 *  - smaller (a 2 MiB head on a 1 GiB boundary): only possible when the
 *    system offers a smaller size SMALL; then the word at PFN + SMALL / base
 *    page is a tail for a head of PAGE_SIZE and not for a head of SMALL or
 *    less. Not read when PAGE_SIZE is the smallest size offered.
 * The word at PFN + STRIDE is the next step's word too: it is kept, not read
 * twice. A head whose kpagecount word is 0 is mapped by nobody: free. Runs
 * are consecutive free heads (PFN == previous free PFN + STRIDE) on one node.
 * About 12k reads for 24 GiB of 2 MiB strides.
 *
 * Nodes. Memory is onlined in blocks of block_size_bytes (hex, in
 * /sys/devices/system/memory); /sys/devices/system/node/node<N>/memory<K>
 * says block K belongs to node N. A sorted block -> node table answers each
 * head's node (a hugepage never straddles nodes), so a run that crosses a
 * node boundary becomes one run per node. With one node, or no
 * block_size_bytes, every page is on the first node; so is a page in a block
 * no node lists.
 *
 * An upper bound: pages of page files nobody maps and reserved but unfaulted
 * pages also count 0. The map is exact when the free pages seen equal the
 * pool's free_hugepages and no reservation is outstanding.
 */
#include "ctx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_HUGE	  17
#define HUGE_HEAD	  ((1ULL << KPF_HUGE) | (1ULL << KPF_COMPOUND_HEAD))
#define HUGE_TAIL	  ((1ULL << KPF_HUGE) | (1ULL << KPF_COMPOUND_TAIL))
#define NO_PFN		  UINT64_MAX
#define MAX_PFN		  (1ULL << 52) /* PFN * 8 stays a valid file offset */

struct block_node {
	uint64_t block;
	int node_index; /* in hm_poolmap.nodes */
};

/* One word file (kpageflags or kpagecount). */
struct word_file {
	int fd;
	char path[HM_PATH_MAX];
};

struct scan {
	struct hm_ctx *ctx;
	struct hm_poolmap *map;
	struct word_file flags, count;
	uint64_t base;		      /* bytes per PFN */
	uint64_t stride;	      /* PFNs per hugepage */
	uint64_t smaller;	      /* PFNs per next smaller size offered, 0 = none */
	uint64_t kept_pfn, kept_word; /* the last flags word read ahead */
	struct block_node *blocks;
	size_t n_blocks;
	uint64_t block_pfns;
	uint64_t last_free[HM_MAX_NODES];
	uint64_t run_cap[HM_MAX_NODES];
};

static const struct hm_pool *find_pool(const struct hm_sysinfo *si, uint64_t page_size)
{
	if (page_size == 0)
		page_size = si->default_page_size;
	for (int i = 0; i < si->n_pools; i++)
		if (si->pools[i].page_size == page_size)
			return &si->pools[i];
	if (page_size == 0 && si->n_pools > 0) /* no default size known: the smallest */
		return &si->pools[0];
	return NULL;
}

static int no_pool(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size)
{
	char want[32], sizes[HM_MAX_PAGE_SIZES * 32] = "none", one[32];
	size_t used = 0;

	hmi_format_size(page_size, want, sizeof(want));
	for (int i = 0; i < si->n_pools && i < HM_MAX_PAGE_SIZES; i++) {
		hmi_format_size(si->pools[i].page_size, one, sizeof(one));
		/* ", " and at most 22 bytes a size: 8 of them fit */
		used += (size_t)snprintf(sizes + used, sizeof(sizes) - used, "%s%s", i ? ", " : "",
					 one);
		if (used >= sizeof(sizes))
			break;
	}
	if (page_size == 0)
		return hmi_err(ctx, EINVAL, "no default hugepage size to map: sizes offered: %s",
			       sizes);
	return hmi_err(ctx, EINVAL, "no %s hugepage pool to map: sizes offered: %s", want, sizes);
}

static int needs_root(struct hm_ctx *ctx, const char *path)
{
	return hmi_err(ctx, EACCES, "the pool map needs root (%s): run as root", path);
}

static int open_words(struct hm_ctx *ctx, struct word_file *wf, const char *name)
{
	int rc = hmi_path(ctx, wf->path, sizeof(wf->path), "/proc/%s", name);

	if (rc < 0)
		return rc;
	wf->fd = open(wf->path, O_RDONLY | O_CLOEXEC);
	if (wf->fd >= 0)
		return 0;
	if (errno == EACCES || errno == EPERM)
		return needs_root(ctx, wf->path);
	return hmi_err(ctx, errno,
		       "cannot open %s: %s (a kernel without CONFIG_PROC_PAGE_MONITOR?)", wf->path,
		       strerror(errno));
}

/* The word of PFN into *WORD: 1, or 0 past the end of the file, or -errno. */
static int read_word(struct hm_ctx *ctx, const struct word_file *wf, uint64_t pfn, uint64_t *word)
{
	ssize_t n;

	if (pfn >= MAX_PFN)
		return 0;
	do
		n = pread(wf->fd, word, sizeof(*word), (off_t)(pfn * sizeof(*word)));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPERM || errno == EACCES))
		return needs_root(ctx, wf->path);
	if (n < 0)
		return hmi_err(ctx, errno, "cannot read %s at PFN %llu: %s", wf->path,
			       (unsigned long long)pfn, strerror(errno));
	if (n != (ssize_t)sizeof(*word))
		return 0; /* the end (a short word only ends a truncated fixture) */
	return 1;
}

static int read_flags(struct scan *s, uint64_t pfn, uint64_t *word)
{
	int rc;

	if (pfn == s->kept_pfn) {
		*word = s->kept_word;
		return 1;
	}
	rc = read_word(s->ctx, &s->flags, pfn, word);
	if (rc == 1) {
		s->kept_pfn = pfn;
		s->kept_word = *word;
	}
	return rc;
}

static int is_huge_tail(struct scan *s, uint64_t pfn)
{
	uint64_t word;
	int rc = read_flags(s, pfn, &word);

	if (rc <= 0)
		return rc;
	return (word & HUGE_TAIL) == HUGE_TAIL;
}

/* PFN holds a hugetlb head: is it one of exactly PAGE_SIZE? 1 yes, 0 no, with
 * *NEXT the PFN where the scan goes on (past a larger page). */
static int classify_head(struct scan *s, uint64_t pfn, uint64_t *next)
{
	uint64_t off = s->stride;
	int rc;

	*next = pfn + s->stride;
	if (s->smaller) {
		rc = is_huge_tail(s, pfn + s->smaller);
		if (rc <= 0)
			return rc; /* a smaller page (or the end) */
	}
	rc = is_huge_tail(s, pfn + off);
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	/* a larger page: its tails end at its size, a power-of-two multiple */
	do {
		off *= 2;
		rc = is_huge_tail(s, pfn + off);
	} while (rc == 1 && off < MAX_PFN);
	if (rc < 0)
		return rc;
	*next = pfn + off;
	return 0;
}

static int node_index(const struct scan *s, uint64_t pfn)
{
	uint64_t block;
	size_t lo = 0, hi = s->n_blocks;

	if (s->n_blocks == 0)
		return 0;
	block = pfn / s->block_pfns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->blocks[mid].block == block)
			return s->blocks[mid].node_index;
		if (s->blocks[mid].block < block)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0; /* a block no node lists: the first node */
}

static int add_free(struct scan *s, int idx, uint64_t pfn)
{
	struct hm_poolmap_node *n = &s->map->nodes[idx];
	struct hm_run *run;

	n->free_pages++;
	if (s->last_free[idx] != NO_PFN && pfn == s->last_free[idx] + s->stride) {
		run = &n->runs[n->n_runs - 1];
	} else {
		if (n->n_runs == s->run_cap[idx]) {
			uint64_t cap = s->run_cap[idx] ? s->run_cap[idx] * 2 : 16;
			struct hm_run *bigger = realloc(n->runs, cap * sizeof(*bigger));

			if (!bigger)
				return hmi_err(s->ctx, ENOMEM,
					       "out of memory building the pool map");
			n->runs = bigger;
			s->run_cap[idx] = cap;
		}
		run = &n->runs[n->n_runs++];
		run->pa = pfn * s->base;
		run->pages = 0;
	}
	run->pages++;
	if (run->pages > n->largest)
		n->largest = run->pages;
	s->last_free[idx] = pfn;
	return 0;
}

static int count_head(struct scan *s, uint64_t pfn)
{
	uint64_t mapped = 0;
	int idx = node_index(s, pfn);
	int rc = read_word(s->ctx, &s->count, pfn, &mapped);

	if (rc < 0)
		return rc;
	s->map->nodes[idx].heads++;
	if (rc == 0 || mapped == 0) /* past the end of a fixture: a hole, 0 */
		return add_free(s, idx, pfn);
	return 0;
}

static int scan_pool(struct scan *s)
{
	uint64_t pfn = 0, next, word;
	int rc;

	while (pfn < MAX_PFN) {
		rc = read_flags(s, pfn, &word);
		if (rc <= 0)
			return rc;
		next = pfn + s->stride;
		if ((word & HUGE_HEAD) == HUGE_HEAD) {
			rc = classify_head(s, pfn, &next);
			if (rc == 1)
				rc = count_head(s, pfn);
			if (rc < 0)
				return rc;
		}
		pfn = next;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* block_size_bytes: hex digits without 0x ("8000000\n"). */
static int parse_hex(const char *text, uint64_t *value)
{
	uint64_t v = 0;
	const char *p = text;

	if (hex_digit(*p) < 0)
		return -EINVAL;
	for (; hex_digit(*p) >= 0; p++) {
		if (v > UINT64_MAX >> 4)
			return -ERANGE;
		v = v << 4 | (uint64_t)hex_digit(*p);
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*value = v;
	return 0;
}

/* The memory block size in PFNs; 0 when the file is absent. */
static int read_block_pfns(struct scan *s, uint64_t *pfns)
{
	char path[HM_PATH_MAX], text[64];
	uint64_t bytes;
	int rc =
	    hmi_path(s->ctx, path, sizeof(path), "/sys/devices/system/memory/block_size_bytes");

	*pfns = 0;
	if (rc < 0)
		return rc;
	rc = hmi_read_small(s->ctx, path, text, sizeof(text));
	if (rc == -ENOENT) {
		hmi_err_clear(s->ctx);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (parse_hex(text, &bytes) < 0 || bytes == 0 || bytes % s->base)
		return hmi_err(s->ctx, EINVAL,
			       "%s: expected a hex multiple of the %llu-byte page, found '%.20s'",
			       path, (unsigned long long)s->base, text);
	*pfns = bytes / s->base;
	return 0;
}

static int add_block(struct scan *s, size_t *cap, uint64_t block, int idx)
{
	if (s->n_blocks == *cap) {
		size_t bigger_cap = *cap ? *cap * 2 : 64;
		struct block_node *bigger = realloc(s->blocks, bigger_cap * sizeof(*bigger));

		if (!bigger)
			return hmi_err(s->ctx, ENOMEM, "out of memory reading memory blocks");
		s->blocks = bigger;
		*cap = bigger_cap;
	}
	s->blocks[s->n_blocks].block = block;
	s->blocks[s->n_blocks].node_index = idx;
	s->n_blocks++;
	return 0;
}

/* The "memory<K>" entries of node<N>; a node without a directory has none. */
static int read_node_blocks(struct scan *s, int idx, size_t *cap)
{
	char path[HM_PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int rc = hmi_path(s->ctx, path, sizeof(path), "/sys/devices/system/node/node%d",
			  s->map->nodes[idx].node);

	if (rc < 0)
		return rc;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT
			   ? 0
			   : hmi_err(s->ctx, errno, "cannot list %s: %s", path, strerror(errno));
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		uint64_t block;

		if (strncmp(de->d_name, "memory", 6) != 0 || de->d_name[6] < '0' ||
		    de->d_name[6] > '9' || hmi_parse_u64(de->d_name + 6, &block) < 0)
			continue; /* memory_side_cache and the like */
		rc = add_block(s, cap, block, idx);
	}
	closedir(dir);
	return rc;
}

static int cmp_block(const void *a, const void *b)
{
	const struct block_node *x = a, *y = b;

	return (x->block > y->block) - (x->block < y->block);
}

static int load_blocks(struct scan *s)
{
	size_t cap = 0;
	int rc;

	if (s->map->n_nodes < 2)
		return 0;
	rc = read_block_pfns(s, &s->block_pfns);
	for (int i = 0; rc == 0 && s->block_pfns && i < s->map->n_nodes; i++)
		rc = read_node_blocks(s, i, &cap);
	if (rc == 0 && s->n_blocks)
		qsort(s->blocks, s->n_blocks, sizeof(*s->blocks), cmp_block);
	return rc;
}

static void init_map(struct hm_poolmap *map, const struct hm_sysinfo *si, uint64_t page_size)
{
	map->page_size = page_size;
	map->n_nodes = si->n_nodes > 0 ? si->n_nodes : 1;
	if (map->n_nodes > HM_MAX_NODES)
		map->n_nodes = HM_MAX_NODES;
	for (int i = 0; i < map->n_nodes; i++)
		map->nodes[i].node = si->n_nodes > 0 ? si->node_ids[i] : 0;
}

/* PFNs per page of the largest size offered below PAGE_SIZE; 0 = none. */
static uint64_t smaller_pfns(const struct hm_sysinfo *si, uint64_t page_size, uint64_t base)
{
	uint64_t best = 0;

	for (int i = 0; i < si->n_pools && i < HM_MAX_PAGE_SIZES; i++)
		if (si->pools[i].page_size < page_size && si->pools[i].page_size > best)
			best = si->pools[i].page_size;
	return best / base;
}

static int run_scan(struct scan *s, const struct hm_pool *pool)
{
	uint64_t free_seen = 0;
	int rc = open_words(s->ctx, &s->flags, "kpageflags");

	if (rc == 0)
		rc = open_words(s->ctx, &s->count, "kpagecount");
	if (rc == 0)
		rc = load_blocks(s);
	if (rc == 0)
		rc = scan_pool(s);
	if (rc < 0)
		return rc;
	for (int i = 0; i < s->map->n_nodes; i++)
		free_seen += s->map->nodes[i].free_pages;
	s->map->exact = free_seen == pool->free && pool->resv == 0;
	return 0;
}

static void scan_release(struct scan *s)
{
	if (s->flags.fd >= 0)
		close(s->flags.fd);
	if (s->count.fd >= 0)
		close(s->count.fd);
	free(s->blocks);
}

int hm_poolmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    struct hm_poolmap **out)
{
	const struct hm_pool *pool = find_pool(si, page_size);
	struct scan s = {.ctx = ctx, .flags.fd = -1, .count.fd = -1, .kept_pfn = NO_PFN};
	long base = sysconf(_SC_PAGESIZE);
	int rc;

	hmi_err_clear(ctx);
	if (!pool)
		return no_pool(ctx, si, page_size);
	s.base = base > 0 ? (uint64_t)base : 4096;
	if (pool->page_size < s.base || pool->page_size % s.base)
		return hmi_err(ctx, EINVAL, "page size %llu is not a multiple of the base page",
			       (unsigned long long)pool->page_size);
	s.stride = pool->page_size / s.base;
	s.smaller = smaller_pfns(si, pool->page_size, s.base);
	s.map = calloc(1, sizeof(*s.map));
	if (!s.map)
		return hmi_err(ctx, ENOMEM, "out of memory building the pool map");
	init_map(s.map, si, pool->page_size);
	for (int i = 0; i < HM_MAX_NODES; i++)
		s.last_free[i] = NO_PFN;
	rc = run_scan(&s, pool);
	scan_release(&s);
	if (rc < 0) {
		hm_poolmap_free(s.map);
		return rc;
	}
	*out = s.map;
	return 0;
}

void hm_poolmap_free(struct hm_poolmap *map)
{
	if (!map)
		return;
	for (int i = 0; i < map->n_nodes && i < HM_MAX_NODES; i++)
		free(map->nodes[i].runs);
	free(map);
}
