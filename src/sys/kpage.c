/* SPDX-License-Identifier: MIT */
/*
 * sys/kpage.c — where the hugepages of one size sit in physical memory, read from
 * /proc/kpageflags and /proc/kpagecount without mapping (or zeroing) a page,
 * and which node each memory block belongs to. The pool map (pool/poolmap.c,
 * behind `hugemem status`) and the physical map (pool/physmap.c, behind `hugemem
 * map`) both stand on it; each decides what to do with a head once found.
 *
 * The word files. Both hold one 64-bit word per base page frame (PFN), at
 * offset PFN * 8: kpageflags the page's flags, kpagecount how many page
 * tables map it. Both are root only (mode 0400); a fixture tree may hold
 * sparse files instead, whose holes read as zero words, and a word past the
 * end of a file ends the walk (kpageflags) or reads as 0 (kpagecount).
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
 * twice. About 12k reads for 24 GiB of 2 MiB strides. Whether anyone maps a
 * head is its kpagecount word (0: nobody).
 *
 * Nodes. Memory is onlined in blocks of block_size_bytes (hex, in
 * /sys/devices/system/memory); /sys/devices/system/node/node<N>/memory<K>
 * says block K belongs to node N. The blocks of all nodes, sorted, answer
 * by binary search which node a PFN is on (a hugepage never straddles
 * nodes). Any user may read these; the physical map, which works without
 * root, also takes an unreadable file as an absent one (HMI_KPAGE_ANY_USER).
 */
#include "sys/kpage.h"

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

/* ------------------------------------------------------------------ the word files */

int hmi_kpage_setup(struct hm_ctx *ctx, struct hmi_kpage *kp, const struct hm_sysinfo *si,
		    uint64_t page_size, const char *user)
{
	long base = sysconf(_SC_PAGESIZE);

	kp->user = user;
	kp->base = base > 0 ? (uint64_t)base : 4096;
	if (page_size < kp->base || page_size % kp->base)
		return hmi_err(ctx, EINVAL, "page size %llu is not a multiple of the base page",
			       (unsigned long long)page_size);
	kp->stride = page_size / kp->base;
	kp->smaller = 0;
	for (int i = 0; i < si->n_pools && i < HM_MAX_PAGE_SIZES; i++)
		if (si->pools[i].page_size < page_size &&
		    si->pools[i].page_size / kp->base > kp->smaller)
			kp->smaller = si->pools[i].page_size / kp->base;
	return 0;
}

static int needs_root(struct hm_ctx *ctx, const struct hmi_kpage *kp, const char *path)
{
	return hmi_err(ctx, EACCES, "%s needs root (%s): run as root", kp->user, path);
}

static int open_words(struct hm_ctx *ctx, struct hmi_kpage *kp, const char *name, char *path,
		      int *fd)
{
	int rc = hmi_path(ctx, path, HM_PATH_MAX, "/proc/%s", name);

	if (rc < 0)
		return rc;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	kp->unopened = path;
	kp->open_errno = errno;
	if (errno == EACCES || errno == EPERM)
		return needs_root(ctx, kp, path);
	return hmi_err(ctx, errno,
		       "cannot open %s: %s (a kernel without CONFIG_PROC_PAGE_MONITOR?)", path,
		       strerror(errno));
}

int hmi_kpage_open(struct hm_ctx *ctx, struct hmi_kpage *kp)
{
	int rc = open_words(ctx, kp, "kpageflags", kp->flags_path, &kp->flags_fd);

	return rc < 0 ? rc : open_words(ctx, kp, "kpagecount", kp->count_path, &kp->count_fd);
}

void hmi_kpage_close(struct hmi_kpage *kp)
{
	if (kp->flags_fd >= 0)
		close(kp->flags_fd);
	if (kp->count_fd >= 0)
		close(kp->count_fd);
	kp->flags_fd = kp->count_fd = -1;
}

/* The word of PFN in FD (PATH) into *WORD: 1, or 0 past the end of the file, or -errno. */
static int read_word(struct hm_ctx *ctx, const struct hmi_kpage *kp, int fd, const char *path,
		     uint64_t pfn, uint64_t *word)
{
	ssize_t n;

	if (pfn >= HMI_KPAGE_MAX_PFN)
		return 0;
	do
		n = pread(fd, word, sizeof(*word), (off_t)(pfn * sizeof(*word)));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPERM || errno == EACCES))
		return needs_root(ctx, kp, path);
	if (n < 0)
		return hmi_err(ctx, errno, "cannot read %s at PFN %llu: %s", path,
			       (unsigned long long)pfn, strerror(errno));
	if (n != (ssize_t)sizeof(*word))
		return 0; /* the end (a short word only ends a truncated fixture) */
	return 1;
}

int hmi_kpage_count(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t pfn, uint64_t *count)
{
	int rc = read_word(ctx, kp, kp->count_fd, kp->count_path, pfn, count);

	if (rc == 0)
		*count = 0; /* past the end of a fixture's kpagecount: a hole */
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ the scan */

static int read_flags(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t pfn, uint64_t *word)
{
	int rc;

	if (pfn == kp->kept_pfn) {
		*word = kp->kept_word;
		return 1;
	}
	rc = read_word(ctx, kp, kp->flags_fd, kp->flags_path, pfn, word);
	if (rc == 1) {
		kp->kept_pfn = pfn;
		kp->kept_word = *word;
	}
	return rc;
}

static int is_huge_tail(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t pfn)
{
	uint64_t word;
	int rc = read_flags(ctx, kp, pfn, &word);

	return rc <= 0 ? rc : (word & HUGE_TAIL) == HUGE_TAIL;
}

/* PFN holds a hugetlb head: is it one of exactly the size? 1 yes, 0 no, with
 * *NEXT the PFN where the scan goes on (past a larger page), or -errno. */
static int exact_head(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t pfn, uint64_t *next)
{
	uint64_t off = kp->stride;
	int rc;

	*next = pfn + kp->stride;
	if (kp->smaller) {
		rc = is_huge_tail(ctx, kp, pfn + kp->smaller);
		if (rc <= 0)
			return rc; /* a smaller page (or the end) */
	}
	rc = is_huge_tail(ctx, kp, pfn + off);
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	/* a larger page: its tails end at its size, a power-of-two multiple */
	do {
		off *= 2;
		rc = is_huge_tail(ctx, kp, pfn + off);
	} while (rc == 1 && off < HMI_KPAGE_MAX_PFN);
	*next = pfn + off;
	return rc < 0 ? rc : 0;
}

int hmi_kpage_scan(struct hm_ctx *ctx, struct hmi_kpage *kp, uint64_t *pfn, uint64_t hi,
		   hmi_kpage_head_fn *on_head, void *arg)
{
	uint64_t word, next;
	int rc;

	while (*pfn < hi) {
		rc = read_flags(ctx, kp, *pfn, &word);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
		next = *pfn + kp->stride;
		if ((word & HUGE_HEAD) == HUGE_HEAD) {
			rc = exact_head(ctx, kp, *pfn, &next);
			if (rc == 1)
				rc = on_head(arg, *pfn);
			if (rc < 0)
				return rc;
		}
		*pfn = next;
	}
	return 0;
}

/* ------------------------------------------------------------------ memory blocks */

/* The memory block size in PFNs; 0 when the file is absent (or, with
 * HMI_KPAGE_ANY_USER, unreadable). */
static int read_block_pfns(struct hm_ctx *ctx, uint64_t base, int flags, uint64_t *pfns)
{
	char path[HM_PATH_MAX], text[64];
	uint64_t bytes;
	int rc = hmi_path(ctx, path, sizeof(path), "/sys/devices/system/memory/block_size_bytes");

	*pfns = 0;
	if (rc == 0)
		rc = hmi_read_small(ctx, path, text, sizeof(text));
	if (rc == -ENOENT || (rc == -EACCES && (flags & HMI_KPAGE_ANY_USER))) {
		hmi_err_clear(ctx);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (hmi_parse_u64_base(text, 16, &bytes) < 0 || bytes < base || bytes % base ||
	    bytes / base >= HMI_KPAGE_MAX_PFN)
		return hmi_err(ctx, EINVAL,
			       "%s: expected a hex multiple of the %llu-byte page, found '%.*s'",
			       path, (unsigned long long)base,
			       (int)(strcspn(text, "\n") < 20 ? strcspn(text, "\n") : 20), text);
	*pfns = bytes / base;
	return 0;
}

static int add_block(struct hm_ctx *ctx, struct hmi_kpage_blocks *bl, uint64_t block, int idx)
{
	int rc = hmi_array_reserve(ctx, (void **)&bl->v, &bl->cap, bl->n + 1, sizeof(*bl->v), 64,
				   "memory blocks");

	if (rc < 0)
		return rc;
	bl->v[bl->n++] = (struct hmi_kpage_block){.block = block, .node_index = idx};
	return 0;
}

/* The "memory<K>" entries of node NODE (index IDX); a node without a
 * directory has none. */
static int node_blocks(struct hm_ctx *ctx, int node, int idx, int flags,
		       struct hmi_kpage_blocks *bl)
{
	char path[HM_PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int rc = hmi_path(ctx, path, sizeof(path), "/sys/devices/system/node/node%d", node);

	if (rc < 0)
		return rc;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT || (flags & HMI_KPAGE_ANY_USER)
			   ? 0
			   : hmi_err(ctx, errno, "cannot list %s: %s", path, strerror(errno));
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		uint64_t block;

		if (strncmp(de->d_name, "memory", 6) != 0 || de->d_name[6] < '0' ||
		    de->d_name[6] > '9' || hmi_parse_u64(de->d_name + 6, &block) < 0)
			continue; /* memory_side_cache and the like */
		rc = add_block(ctx, bl, block, idx);
	}
	closedir(dir);
	return rc;
}

static int by_block(const void *a, const void *b)
{
	const struct hmi_kpage_block *x = a, *y = b;

	if (x->block != y->block)
		return x->block > y->block ? 1 : -1;
	return (x->node_index > y->node_index) - (x->node_index < y->node_index);
}

int hmi_kpage_blocks_read(struct hm_ctx *ctx, const struct hmi_kpage *kp,
			  const struct hm_sysinfo *si, int flags, struct hmi_kpage_blocks *bl)
{
	int n_nodes = si->n_nodes < HM_MAX_NODES ? si->n_nodes : HM_MAX_NODES;
	int rc = read_block_pfns(ctx, kp->base, flags, &bl->pfns);

	if (si->n_nodes <= 0 && rc == 0 && bl->pfns)
		rc = node_blocks(ctx, 0, 0, flags, bl);
	for (int i = 0; rc == 0 && bl->pfns && i < n_nodes; i++)
		rc = node_blocks(ctx, si->node_ids[i], i, flags, bl);
	if (rc == 0 && bl->n)
		qsort(bl->v, bl->n, sizeof(*bl->v), by_block);
	return rc;
}

void hmi_kpage_blocks_free(struct hmi_kpage_blocks *bl)
{
	free(bl->v);
	*bl = (struct hmi_kpage_blocks){0};
}

int hmi_kpage_block_node(const struct hmi_kpage_blocks *bl, uint64_t pfn)
{
	uint64_t block;
	size_t lo = 0, hi = bl->n;

	if (bl->n == 0)
		return -1;
	block = pfn / bl->pfns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bl->v[mid].block == block)
			return bl->v[mid].node_index;
		if (bl->v[mid].block < block)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
