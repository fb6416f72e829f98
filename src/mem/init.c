/* SPDX-License-Identifier: MIT */
/*
 * mem/init.c — the primary flow (docs/design.md, B1-B12) as one call, hm_init.
 *
 *   prefix   take the prefix's liveness lock, clean its stale files (and
 *            discover again when that freed pages: they count for the plan);
 *   plan     what to map: the page size, the backing, pages wanted per node
 *            (-m split over the nodes in proportion to their free pages,
 *            --socket-mem as given, HM_DEFAULT_MEM when neither), checked
 *            against the budgets discovery worked out, so that a short pool
 *            or a cgroup cap is refused before a page is touched;
 *   choose   map the pages on their nodes, read IOVAs and nodes, sort, keep
 *            the pages that make the fewest pieces (layout layer); with
 *            --contig fast map more in steps while the pieces are above what
 *            the pool allows, within a budget of pages (FAST_EXTRA_FACTOR);
 *            with --contig best map every usable page first and read the
 *            pool map for the fewest pieces possible; give the pages
 *            not kept back in pool order;
 *   place    reserve one VA window, move each run to one contiguous range in
 *            it (the physical pages stay: pages/pages.c), build the segment table.
 *
 * Every step undoes itself on failure: hm_init either succeeds or leaves
 * nothing mapped, no file and no lock behind.
 */
#include "heap/heap.h"
#include "hugedir/hugedir.h"
#include "mem/mem.h"
#include "options/options.h"
#include "base/platform.h"
#include "pool/pool.h"
#include "sys/sysinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* --contig fast maps at most (1 + FAST_EXTRA_FACTOR) times the pages asked,
 * one step of the size asked at a time, and stops at the first step that
 * does not lower the piece count (bench/RESULTS.md measures the trade; the
 * benchmark builds with other values). */
#ifndef FAST_EXTRA_FACTOR
#define FAST_EXTRA_FACTOR                                                                          \
	0 /* bench/RESULTS.md: each extra step costs about one                                     \
	     kernel floor and barely lowers the pieces on an                                       \
	     unordered pool; an ordered pool needs none */
#endif
/* Other bases tried when the default VA window is taken (1 GiB apart). */
#define WINDOW_TRIES 8

struct plan {
	int keeper; /* the memory is leased from a pool keeper (mem/keeper.c) */
	uint64_t page_size;
	enum hmi_backing_kind kind;
	const char *dir;
	uint64_t want[HM_MAX_NODES]; /* pages asked per node id */
	uint64_t room[HM_MAX_NODES]; /* pages this process may map per node id */
	uint64_t best[HM_MAX_NODES]; /* fewest pieces the free pool allows; 0 = unknown */
	uint64_t total;
	enum hm_contig contig;
	int iova_as_va;
	int no_huge;
	uint64_t temp_base; /* fault pages in here first, if free (0: anywhere) */
};

/* ------------------------------------------------------------------ plan */

static uint64_t pages_for(uint64_t bytes, uint64_t page_size)
{
	return bytes / page_size + (bytes % page_size != 0);
}

/* -m split over the nodes in proportion to their usable pages (largest
 * remainder), so a one-node machine gets it all and no node is asked more
 * than its share of what is free. */
/* Among the nodes that have room and no leftover page yet, the one with
 * the largest remainder of PAGES * room / SUM (the lower id on ties); -1
 * when none. */
static int largest_remainder(const struct plan *pl, const struct hm_sysinfo *si, uint64_t pages,
			     uint64_t sum, const unsigned char *topped)
{
	uint64_t best = 0;
	int pick = -1;

	for (int i = 0; i < si->n_nodes; i++) {
		int node = si->node_ids[i];
		uint64_t rest = pages * pl->room[node] % sum;

		if (!topped[i] && pl->want[node] < pl->room[node] && (pick < 0 || rest > best)) {
			pick = i;
			best = rest;
		}
	}
	return pick;
}

/* -m alone: each node's share in proportion to its room, rounded down; the
 * pages left (fewer than the nodes) go one each by largest remainder. When
 * that cannot place them all, the budget check refuses the plan. */
static void split_mem(struct plan *pl, const struct hm_sysinfo *si, uint64_t pages)
{
	unsigned char topped[HM_MAX_NODES] = {0};
	uint64_t sum = 0, given = 0;
	int i;

	for (i = 0; i < si->n_nodes; i++)
		sum += pl->room[si->node_ids[i]];
	if (sum == 0) { /* no room anywhere: ask node ids in turn, to be refused */
		for (i = 0; given < pages && si->n_nodes; i = (i + 1) % si->n_nodes, given++)
			pl->want[si->node_ids[i]]++;
		return;
	}
	for (i = 0; i < si->n_nodes; i++) {
		pl->want[si->node_ids[i]] = pages * pl->room[si->node_ids[i]] / sum;
		given += pl->want[si->node_ids[i]];
	}
	while (given < pages && (i = largest_remainder(pl, si, pages, sum, topped)) >= 0) {
		topped[i] = 1;
		pl->want[si->node_ids[i]]++;
		given++;
	}
	for (i = 0; given < pages && si->n_nodes; i = (i + 1) % si->n_nodes, given++)
		pl->want[si->node_ids[i]]++; /* more than the room: refused next */
}

static void plan_want(struct hmi_mem *pr, struct plan *pl, const struct hm_opts *o,
		      const struct hm_sysinfo *si)
{
	uint64_t mem = o->mem ? o->mem : HM_DEFAULT_MEM;
	char a[32], b[32];

	if (o->socket_mem_count) {
		for (int node = 0; node < o->socket_mem_count; node++)
			pl->want[node] = pages_for(o->socket_mem[node], pl->page_size);
	} else {
		split_mem(pl, si, pages_for(mem, pl->page_size));
	}
	for (int node = 0; node < HM_MAX_NODES; node++)
		pl->total += pl->want[node];
	if (!o->socket_mem_count && mem % pl->page_size)
		hmi_mem_note(pr, "%s is not a multiple of %s pages: rounded up to %llu pages",
			     hm_size_str(mem, a, sizeof(a)),
			     hm_size_str(pl->page_size, b, sizeof(b)),
			     (unsigned long long)pl->total);
}

static int refuse_total(struct hm_ctx *ctx, const struct plan *pl, const struct hm_pool *p,
			const struct hm_sysinfo *si)
{
	char sz[32], lim[32], used[32];
	unsigned long long want = pl->total, got = p->budget;

	hm_size_str(p->page_size, sz, sizeof(sz));
	if (p->budget_cap == HM_CAP_CGROUP)
		return hmi_err(ctx, ENOMEM,
			       "asked %llu pages of %s but this process may use %llu: hugetlb "
			       "cgroup %s caps it at %s (%s charged): raise its limit or ask less",
			       want, sz, got, p->cgroup.path ? p->cgroup.path : "?",
			       hm_size_str(p->cgroup.max, lim, sizeof(lim)),
			       hm_size_str(p->cgroup.usage, used, sizeof(used)));
	if (p->budget_cap == HM_CAP_MOUNT)
		return hmi_err(
		    ctx, ENOMEM,
		    "asked %llu pages of %s but the mount %s has room for %llu (its size= "
		    "limit): ask less, or use another mount with --huge-dir",
		    want, sz, si->mounts[p->mount].path, got);
	return hmi_err(ctx, ENOMEM,
		       "asked %llu pages of %s but only %llu are free (%llu free, %llu reserved by "
		       "others): reserve more with 'hugemem reserve', or ask less",
		       want, sz, got, (unsigned long long)p->free, (unsigned long long)p->resv);
}

static int check_budget(struct hm_ctx *ctx, const struct plan *pl, const struct hm_pool *p,
			const struct hm_sysinfo *si)
{
	char sz[32];

	if (pl->total > p->budget)
		return refuse_total(ctx, pl, p, si);
	for (int i = 0; i < p->n_nodes; i++) {
		int node = p->nodes[i].node;

		if (pl->want[node] > pl->room[node])
			return hmi_err(ctx, ENOMEM,
				       "node %d: asked %llu pages of %s but it has %llu free: ask "
				       "less there (--socket-mem) or reserve more on it",
				       node, (unsigned long long)pl->want[node],
				       hm_size_str(p->page_size, sz, sizeof(sz)),
				       (unsigned long long)pl->room[node]);
	}
	for (int node = 0; node < HM_MAX_NODES; node++)
		if (pl->want[node] && !hm_sysinfo_has_node(si, node))
			return hmi_err(ctx, EINVAL,
				       "node %d does not exist: give one "
				       "--socket-mem entry per node id",
				       node);
	return 0;
}

/* A mount's nr_inodes= caps its files as size= caps its bytes: refused now,
 * not half-way with ENOSPC. Page files take one inode a page, single files
 * one a node. */
static int check_inodes(struct hm_ctx *ctx, const struct plan *pl, const struct hm_mount *m)
{
	unsigned long long need = 0;

	if (pl->kind != HMI_BACK_PAGE_FILES && pl->kind != HMI_BACK_SINGLE_FILE)
		return 0;
	for (int node = 0; node < HM_MAX_NODES; node++)
		need += pl->kind == HMI_BACK_PAGE_FILES ? pl->want[node] : pl->want[node] != 0;
	if (m->inodes_free == UINT64_MAX || need <= m->inodes_free)
		return 0;
	return hmi_err(ctx, ENOSPC,
		       "%llu pages need %llu files (%s) in %s but its nr_inodes=%llu leaves room "
		       "for %llu: remount it with a larger nr_inodes= (or none), use "
		       "--single-file-segments (one file a node), --in-memory, or another mount "
		       "with --huge-dir",
		       (unsigned long long)pl->total, need,
		       pl->kind == HMI_BACK_PAGE_FILES ? "one a page" : "one a node", m->path,
		       (unsigned long long)m->nr_inodes, (unsigned long long)m->inodes_free);
}

static int plan_backing(struct hm_ctx *ctx, struct plan *pl, const struct hm_opts *o,
			const struct hm_sysinfo *si, const struct hm_pool *p)
{
	char sz[32], opt[32];

	if (o->flags & HM_OPT_IN_MEMORY) {
		pl->kind = HMI_BACK_MEMFD;
		return 0;
	}
	/* the fix is a command line: "2M", not "2 MiB" (two words) */
	snprintf(opt, sizeof(opt), "%" PRIu64 "%s",
		 p->page_size >= (1ULL << 30) ? p->page_size >> 30 : p->page_size >> 20,
		 p->page_size >= (1ULL << 30) ? "G" : "M");
	if (p->mount < 0)
		return hmi_err(ctx, ENOENT,
			       "no hugetlbfs mount serves %s pages: mount one with 'hugemem mount "
			       "--page-size %s', or use --in-memory",
			       hm_size_str(p->page_size, sz, sizeof(sz)), opt);
	if (!si->mounts[p->mount].writable) /* refuse now, not at the first page file */
		return hmi_err(ctx, EROFS,
			       "hugetlbfs mount %s is read-only or not writable by you: remount it "
			       "rw, mount another with 'hugemem mount --page-size %s', or use "
			       "--in-memory",
			       si->mounts[p->mount].path, opt);
	if (si->mounts[p->mount].unsafe && !(o->flags & HM_OPT_ALLOW_UNSAFE_MOUNT))
		return hmi_err(ctx, EPERM,
			       "hugetlbfs mount %s may be written by users other than its owner "
			       "and is not sticky: any of them could rename or replace page "
			       "files there; make it sticky ('chmod +t %s'; 'hugemem mount "
			       "--user/--group' mounts are), use --in-memory, or accept it with "
			       "--allow-unsafe-mount",
			       si->mounts[p->mount].path, si->mounts[p->mount].path);
	pl->dir = si->mounts[p->mount].path;
	pl->kind = (o->flags & HM_OPT_SINGLE_FILE) ? HMI_BACK_SINGLE_FILE : HMI_BACK_PAGE_FILES;
	return 0;
}

/* The fewest pieces the free pool allows per node (root only: the pool map).
 * A hint to stop mapping more, never a promise (the map is an upper bound). */
static void plan_best(struct hm_ctx *ctx, struct plan *pl, const struct hm_sysinfo *si)
{
	struct hm_poolmap *map;

	if (hm_poolmap_read(ctx, si, pl->page_size, &map) < 0) {
		hmi_err_clear(ctx);
		return;
	}
	for (int i = 0; i < map->n_nodes; i++) {
		const struct hm_poolmap_node *mn = &map->nodes[i];
		uint64_t *len = malloc((mn->n_runs + 1) * sizeof(*len));

		if (!len || mn->node < 0 || mn->node >= HM_MAX_NODES) {
			free(len);
			continue;
		}
		for (uint64_t r = 0; r < mn->n_runs; r++)
			len[r] = mn->runs[r].pages;
		pl->best[mn->node] = hmi_best_pieces(len, mn->n_runs, pl->want[mn->node]);
		if (pl->best[mn->node] == SIZE_MAX)
			pl->best[mn->node] = 0;
		free(len);
	}
	hm_poolmap_free(map);
}

/* ------------------------------------------------------------------ devices (dma/) */

/* Are devices to reach the memory (--iommu, --vfio-device)? */
static int dma_wanted(const struct hm_opts *o)
{
	return o->iommu == HM_IOMMU_DEFAULT ? o->n_vfio_devices > 0 : o->iommu != HM_IOMMU_OFF;
}

static enum hmi_dma_backend dma_backend(const struct hm_opts *o)
{
	switch (o->iommu) {
	case HM_IOMMU_IOMMUFD:
		return HMI_DMA_IOMMUFD;
	case HM_IOMMU_TYPE1:
		return HMI_DMA_TYPE1;
	case HM_IOMMU_NOIOMMU:
		return HMI_DMA_NOIOMMU;
	default:
		return HMI_DMA_NONE; /* auto: chosen when the domain opens */
	}
}

/* The options of the device side that cannot work together, before anything
 * is mapped. */
static int check_dma_opts(struct hm_ctx *ctx, const struct hm_opts *o)
{
	if (!dma_wanted(o))
		return o->iova_mode == HM_IOVA_ALLOC
			   ? hmi_err(ctx, EINVAL,
				     "--iova-mode alloc places IO addresses in an IOMMU's ranges: "
				     "give the devices (--vfio-device BDF) or --iommu")
			   : 0;
	if (o->n_vfio_devices == 0)
		return hmi_err(ctx, EINVAL,
			       "--iommu %s: no device to map the memory for: give --vfio-device "
			       "BDF (a device bound to vfio-pci)",
			       hmi_dma_backend_name(dma_backend(o)));
	if (dma_backend(o) == HMI_DMA_NOIOMMU && o->iova_mode != HM_IOVA_DEFAULT &&
	    o->iova_mode != HM_IOVA_PA)
		return hmi_err(ctx, EINVAL,
			       "--iommu noiommu: without an IOMMU devices use physical addresses: "
			       "drop --iova-mode or give --iova-mode pa");
	if (o->flags & HM_OPT_NO_HUGE)
		return hmi_err(
		    ctx, EINVAL,
		    "--no-huge with devices: ordinary pages are not mapped for DMA here; "
		    "drop --no-huge");
	return 0;
}

/* The request for the devices of O; BDFS (room for every device, or NULL
 * when the devices are not needed) gets pointers into O's array of
 * canonical addresses. */
static struct hmi_dma_request dma_request(const struct hm_opts *o, const char **bdfs)
{
	struct hmi_dma_request req = {.backend = dma_backend(o),
				      .bdfs = bdfs,
				      .n_bdfs = bdfs ? (size_t)o->n_vfio_devices : 0,
				      .mask_bits = o->dma_mask_bits};

	for (int i = 0; bdfs && i < o->n_vfio_devices; i++)
		bdfs[i] = o->vfio_devices[i];
	req.fixed = o->iova_mode == HM_IOVA_ALLOC ? NULL : o->iova_mode == HM_IOVA_PA ? "PA" : "VA";
	return req;
}

/* Open the devices' domain before any page is mapped: a missing driver, a
 * busy device or a non-viable group then costs nothing. */
static int dma_open(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	const char **bdfs;
	struct hmi_dma_request req;
	int rc;

	if (!dma_wanted(o))
		return 0;
	bdfs = calloc((size_t)o->n_vfio_devices + 1, sizeof(*bdfs));
	if (!bdfs)
		return hmi_err(ctx, ENOMEM, "out of memory opening the devices' domain");
	req = dma_request(o, bdfs);
	rc = hmi_dma_open(ctx, &req, &pr->dma);
	free(bdfs);
	ctx->dma = pr->dma;
	return rc;
}

/* Segment S and its pages at IOVA: the published layout says both. */
static void set_seg_iova(struct hmi_mem *pr, struct hmi_seg *s, uint64_t iova)
{
	s->iova = iova;
	for (size_t k = 0; k < s->n_pages; k++)
		pr->ps.pages[s->first_page + k].iova = iova + k * s->page_size;
}

/* Map every segment for the devices; their IOVAs become the devices'. The
 * growth area (--max-mem), which will follow the window, is planned with
 * them: allocated IOVAs reserve its range now (hmi_mem_growth_setup). */
static int dma_map(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	struct hmi_segtab *t = &pr->tab;
	struct hmi_dma_request req = dma_request(o, NULL);
	uint64_t *iovas;
	int rc;

	if (!pr->dma)
		return 0;
	if (pr->dma->backend == HMI_DMA_NOIOMMU && pr->ps.pa_missing)
		return hmi_err(ctx, EPERM,
			       "--iommu noiommu: devices use physical addresses, which "
			       "/proc/self/pagemap gives only with CAP_SYS_ADMIN: run as root");
	req.grow_va = pr->window_base + pr->window_len;
	rc = hmi_mem_growth_room(ctx, pr, o, &req.grow_len);
	if (rc < 0)
		return rc;
	iovas = malloc((t->n_segs + 1) * sizeof(*iovas));
	if (!iovas)
		return hmi_err(ctx, ENOMEM, "out of memory planning IO addresses");
	for (size_t i = 0; i < t->n_segs; i++)
		iovas[i] = o->iova_mode == HM_IOVA_PA ? t->segs[i].iova : t->segs[i].va;
	rc = hmi_dma_map_segments(ctx, pr->dma, &req, t->segs, t->n_segs, iovas);
	for (size_t i = 0; rc == 0 && pr->dma->backend != HMI_DMA_NOIOMMU && i < t->n_segs; i++)
		set_seg_iova(pr, &t->segs[i], iovas[i]);
	free(iovas);
	if (rc == 0) {
		hmi_xlate_release(&t->xlate);
		rc = hmi_xlate_init(ctx, &t->xlate, t->segs, t->n_segs);
	}
	return rc;
}

/* IOVA = VA: asked for, or devices behind an IOMMU (where VA is the default). */
static int plan_iova_as_va(const struct hm_opts *o)
{
	return o->iova_mode == HM_IOVA_VA || o->iova_mode == HM_IOVA_ALLOC ||
	       (o->iova_mode == HM_IOVA_DEFAULT && dma_backend(o) != HMI_DMA_NOIOMMU &&
		dma_wanted(o));
}

static int make_plan(struct hm_ctx *ctx, struct hmi_mem *pr, struct plan *pl,
		     const struct hm_opts *o, const struct hm_sysinfo *si)
{
	const struct hm_pool *p;
	char sz[32];
	int rc;

	memset(pl, 0, sizeof(*pl));
	pl->contig = o->contig;
	pl->iova_as_va = plan_iova_as_va(o);
	/* fast mode on the default base: fault in where the window will be, so
	 * that pages an ordered pool hands out in order need no move (best mode
	 * maps the whole pool and keeps a part of it: they would move anyway) */
	if (o->contig == HM_CONTIG_FAST && !o->base_virtaddr)
		pl->temp_base = HM_DEFAULT_BASE_VA;
	pl->page_size = o->page_size ? o->page_size : si->default_page_size;
	p = hm_sysinfo_pool(si, pl->page_size);
	if (!p || p->nr == 0)
		return hmi_err(ctx, ENOMEM,
			       "no %s hugepages are reserved: reserve some with 'hugemem reserve "
			       "128M' (as root), or run with --no-huge",
			       hm_size_str(pl->page_size, sz, sizeof(sz)));
	pl->page_size = p->page_size;
	for (int i = 0; i < p->n_nodes; i++)
		pl->room[p->nodes[i].node] = p->node_budget[i];
	rc = plan_backing(ctx, pl, o, si, p);
	if (rc == 0) {
		plan_want(pr, pl, o, si);
		rc = check_budget(ctx, pl, p, si);
	}
	if (rc == 0 && pl->dir)
		rc = check_inodes(ctx, pl, &si->mounts[p->mount]);
	/* the pool map costs a kpageflags scan (~20 ms on 24 GiB): best mode
	 * only, where it is small against zeroing the whole pool */
	if (rc == 0 && pl->contig == HM_CONTIG_BEST)
		plan_best(ctx, pl, si);
	return rc;
}

/* An explicit base is used as given or refused, never moved: aligned to the
 * page size in use, and the window (its pages; guard gaps come on top) below
 * the end of the user address space, which mmap would refuse as ENOMEM. */
static int check_base(struct hm_ctx *ctx, const struct plan *pl, const struct hm_opts *o)
{
	unsigned long long base = o->base_virtaddr, align = pl->no_huge ? 4096 : pl->page_size;
	unsigned long long len = pl->total * pl->page_size, end;
	char sz[32], win[32];

	if (!base)
		return 0;
	end = hmi_user_va_end(); /* five system calls: only for a base given */
	hm_size_str(align, sz, sizeof(sz));
	if (base % align)
		return hmi_err(ctx, EINVAL,
			       "--base-virtaddr 0x%llx is not aligned to the %s pages in use: give "
			       "a multiple of 0x%llx, e.g. 0x%llx",
			       base, sz, align, (base + align - 1) / align * align);
	if (end && (base >= end || len > end - base))
		return hmi_err(ctx, EINVAL,
			       "--base-virtaddr 0x%llx: a window of %s there ends above the user "
			       "address space, which ends at 0x%llx: give a lower address, e.g. "
			       "0x%llx (the default)",
			       base, hm_size_str(len, win, sizeof(win)), end,
			       (unsigned long long)HM_DEFAULT_BASE_VA);
	return 0;
}

/* --no-huge: one anonymous mapping of the size asked, IOVA = VA. */
static void plan_no_huge(struct plan *pl, const struct hm_opts *o)
{
	uint64_t mem = o->mem ? o->mem : HM_DEFAULT_MEM;

	memset(pl, 0, sizeof(*pl));
	pl->no_huge = 1;
	pl->kind = HMI_BACK_ANON;
	pl->page_size = (mem + 4095) & ~4095ULL;
	pl->want[0] = 1;
	pl->total = 1;
	pl->iova_as_va = 1;
}

/* ------------------------------------------------------------------ prefix */

/* Lock the prefix and clean what a dead primary of it left: its runtime
 * files, and (unless the backing needs no mount) its page files, which hold
 * pool pages; *CLEARED says whether any page file went. */
static int take_prefix(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	int rc;

	snprintf(pr->tab.prefix, sizeof(pr->tab.prefix), "%s",
		 o->file_prefix ? o->file_prefix : HM_DEFAULT_PREFIX);
	rc = hmi_prefix_lock(ctx, pr->tab.prefix, &pr->lock_fd, &pr->fresh_rundir);
	if (rc == 0)
		rc = hm_prefix_dir(ctx, pr->tab.prefix, pr->rundir, sizeof(pr->rundir));
	if (rc == 0 && !pr->fresh_rundir) /* a dead primary of it may have left its layout */
		rc = hmi_runtime_reclaim(ctx, pr);
	return rc;
}

/* Did a dead primary of this prefix leave page files (its record of them)? */
static int dead_files_left(const struct hmi_mem *pr)
{
	char path[HM_PATH_MAX + 16];

	if (pr->fresh_rundir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", pr->rundir, HMI_RECORD_FILE);
	return access(path, F_OK) == 0;
}

/* Remove the files a dead primary of this prefix left (*CLEARED when there
 * were), then keep a record of ours (a primary with files only). */
static int clear_dead(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o,
		      const struct hm_sysinfo *si, int *cleared)
{
	struct hm_file_list *gone = NULL;
	int rc;

	*cleared = 0;
	if (!si || (o->flags & HM_OPT_IN_MEMORY))
		return 0;
	rc = hm_clear(ctx, si, pr->tab.prefix, 0, &gone);
	*cleared = gone && gone->n > 0;
	hm_file_list_free(gone);
	/* the dead one's files are gone: record ours from here on (kept only
	 * by a primary with files, so a memfd one leaves a dead one's record) */
	if (rc >= 0 && !pr->lease.n_chunks) /* hm_clear returns how many it removed */
		rc = hmi_record_open(ctx, pr->rundir, &pr->record_fd);
	return rc < 0 ? rc : 0;
}

static int lookup_new(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl, size_t from)
{
	double t = hmi_now_ms();
	int rc = hmi_pages_iova(ctx, &pr->ps, from, pl->iova_as_va);

	pr->tab.info.t.iova += hmi_now_ms() - t;
	t = hmi_now_ms();
	if (rc == 0)
		rc = hmi_pages_numa(ctx, &pr->ps, from);
	pr->tab.info.t.numa += hmi_now_ms() - t;
	return rc;
}

/* Map COUNT[node] more pages on each node, then look them up and sort. */
static int map_more(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl,
		    const uint64_t *count)
{
	size_t from = pr->ps.n;
	double t = hmi_now_ms();
	int rc = 0;

	for (int node = 0; rc == 0 && node < HM_MAX_NODES; node++)
		if (count[node])
			rc = hmi_pages_map(ctx, &pr->ps, pl->no_huge ? -1 : node, count[node]);
	pr->tab.info.t.map += hmi_now_ms() - t;
	if (rc == 0)
		rc = lookup_new(ctx, pr, pl, from);
	t = hmi_now_ms();
	hmi_pages_sort(pr->ps.pages, pr->ps.n);
	pr->tab.info.t.sort += hmi_now_ms() - t;
	return rc;
}

static int select_pages(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl,
			unsigned char *keep, size_t *pieces)
{
	double t = hmi_now_ms();
	int rc;

	if (pl->no_huge) {
		memset(keep, 1, pr->ps.n);
		*pieces = pr->ps.n;
		return 0;
	}
	rc = hmi_select(ctx, pr->ps.pages, pr->ps.n, pl->page_size, pl->want, keep, pieces);
	pr->tab.info.t.select += hmi_now_ms() - t;
	return rc;
}

/* --contig fast: one more step, of the size asked, on every node that has
 * room left within (1 + FAST_EXTRA_FACTOR) times its request. 0 when there
 * is nothing more to map. */
static int next_step(const struct hmi_mem *pr, const struct plan *pl, uint64_t *count)
{
	uint64_t mapped[HM_MAX_NODES] = {0};
	int any = 0;

	for (size_t i = 0; i < pr->ps.n; i++)
		mapped[pr->ps.pages[i].node]++;
	for (int node = 0; node < HM_MAX_NODES; node++) {
		uint64_t cap = pl->want[node] * (1 + FAST_EXTRA_FACTOR), left;

		if (cap > pl->room[node])
			cap = pl->room[node];
		left = mapped[node] < cap ? cap - mapped[node] : 0;
		count[node] = left < pl->want[node] ? left : pl->want[node];
		any |= count[node] != 0;
	}
	return any;
}

static uint64_t best_total(const struct plan *pl)
{
	uint64_t sum = 0;

	for (int node = 0; node < HM_MAX_NODES; node++) {
		if (pl->want[node] && !pl->best[node])
			return 0;
		sum += pl->best[node];
	}
	return sum;
}

/* Map more while it lowers the pieces and the budget allows. */
static int extend_fast(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl,
		       unsigned char **keep, size_t *pieces)
{
	uint64_t count[HM_MAX_NODES], target = best_total(pl);
	size_t before;
	int rc = 0;

	while (*pieces > (target ? target : 1) && next_step(pr, pl, count)) {
		unsigned char *bigger;

		before = *pieces;
		rc = map_more(ctx, pr, pl, count);
		bigger = rc == 0 ? realloc(*keep, pr->ps.n) : NULL;
		if (rc == 0 && !bigger)
			rc = hmi_err(ctx, ENOMEM, "out of memory choosing pages");
		if (rc < 0)
			return rc;
		*keep = bigger;
		rc = select_pages(ctx, pr, pl, *keep, pieces);
		if (rc == 0)
			rc = hmi_cancel_check(ctx);
		if (rc < 0 || *pieces >= before)
			break;
	}
	return rc;
}

static int release_unkept(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl,
			  const unsigned char *keep)
{
	size_t *order = malloc((pr->ps.n + 1) * sizeof(*order)), n, unkept = 0;
	double t = hmi_now_ms();
	int rc;

	if (!order)
		return hmi_err(ctx, ENOMEM, "out of memory releasing pages");
	n = hmi_release_order(pr->ps.pages, pr->ps.n, pl->page_size, keep, order);
	for (size_t i = 0; i < pr->ps.n; i++)
		unkept += !keep[i];
	rc = n == unkept ? hmi_pages_release(ctx, &pr->ps, order, n)
			 : hmi_err(ctx, ENOMEM, "out of memory ordering the pages to release");
	free(order);
	hmi_pageset_compact(&pr->ps);
	pr->tab.info.t.release = hmi_now_ms() - t;
	return rc;
}

static int choose_pages(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl)
{
	const uint64_t *first = pl->contig == HM_CONTIG_BEST ? pl->room : pl->want;
	unsigned char *keep;
	size_t pieces = 0;
	int rc;

	/* the mount's path must outlive discovery: the page set and the
	 * published layout use it until hm_fini */
	snprintf(pr->dir, sizeof(pr->dir), "%s", pl->dir ? pl->dir : "");
	hmi_pageset_init(&pr->ps, pl->kind, pl->page_size, pl->dir ? pr->dir : NULL,
			 pr->tab.prefix);
	pr->ps.record_fd = pr->record_fd;
	pr->ps.hint_va = pl->temp_base;
	rc = map_more(ctx, pr, pl, first);
	pr->tab.info.pages_mapped = pr->ps.n;
	keep = rc == 0 ? malloc(pr->ps.n + 1) : NULL;
	if (rc == 0 && !keep)
		rc = hmi_err(ctx, ENOMEM, "out of memory choosing pages");
	if (rc == 0)
		rc = select_pages(ctx, pr, pl, keep, &pieces);
	if (rc == 0 && pl->contig == HM_CONTIG_FAST && !pl->no_huge)
		rc = extend_fast(ctx, pr, pl, &keep, &pieces);
	pr->tab.info.pages_mapped = pr->ps.n;
	if (rc == 0)
		rc = release_unkept(ctx, pr, pl, keep);
	free(keep);
	return rc;
}

/* The plan of memory a keeper leased (mem/keeper.c): memfds, its page size. */
static int keeper_plan(struct hmi_mem *pr, struct plan *pl, const struct hm_opts *o)
{
	memset(pl, 0, sizeof(*pl));
	pl->keeper = 1;
	pl->page_size = pr->lease.page_size;
	pl->kind = HMI_BACK_MEMFD;
	pl->contig = o->contig;
	pl->iova_as_va = plan_iova_as_va(o);
	return 0;
}

static int keeper_pages(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	double t = hmi_now_ms();
	int rc = hmi_mem_keeper_map(ctx, pr, o);

	pr->tab.info.t.map = hmi_now_ms() - t;
	return rc;
}

/* ------------------------------------------------------------------ place */

/* Reserve the window: at BASE, or (default base only) a few places above. */
static int reserve_window(struct hm_ctx *ctx, struct hmi_mem *pr, uint64_t base, int fixed,
			  uint64_t len)
{
	uint64_t step = (len + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	int rc = -EEXIST;

	for (int i = 0; rc == -EEXIST && i < (fixed ? 1 : WINDOW_TRIES); i++) {
		pr->window_base = base + (uint64_t)i * step;
		rc = hmi_window_reserve(ctx, pr->window_base, len);
	}
	pr->window_len = rc == 0 ? len : 0;
	return rc;
}

/* Pages I.. that follow each other both where they are (FROM; not mapped
 * yet, 0: in their object) and where they go (pages[].va), in one backing:
 * one call may move (or first map) them (pages/pages.c). */
static size_t stretch(const struct hmi_pageset *ps, const uint64_t *from, size_t i)
{
	const struct hmi_page *p = ps->pages;
	uint64_t size = ps->page_size;
	size_t n = 1;

	while (i + n < ps->n && p[i + n].backing == p[i].backing &&
	       (from[i] ? from[i + n] == from[i] + n * size
			: from[i + n] == 0 && p[i + n].offset == p[i].offset + n * size) &&
	       p[i + n].va == p[i].va + n * size)
		n++;
	return n;
}

/* Move every page from FROM[i] to its assigned pages[i].va, a stretch at a
 * time. Each page's current VA is put back before its move, and for every
 * page when RC says an earlier step failed, so release always finds them. */
static int move_pages_to(struct hm_ctx *ctx, struct hmi_mem *pr, const uint64_t *from, int rc)
{
	struct hmi_pageset *ps = &pr->ps;

	for (size_t i = 0, n; i < ps->n; i += n) {
		uint64_t to = ps->pages[i].va;

		n = stretch(ps, from, i);
		for (size_t k = 0; k < n; k++)
			ps->pages[i + k].va = from[i + k];
		if (rc == 0)
			rc = hmi_pages_move(ctx, ps, i, n, to);
	}
	return rc;
}

/* Final VAs are assigned once, at BASE; when the window lands elsewhere (the
 * default base taken), every VA moves with it. */
static int assign_and_reserve(struct hm_ctx *ctx, struct hmi_mem *pr, uint64_t base, int fixed)
{
	struct hmi_pageset *ps = &pr->ps;
	uint64_t len;
	int rc = hmi_assign_va(ctx, ps->pages, ps->n, ps->page_size, base, &len);

	if (rc == 0)
		rc = reserve_window(ctx, pr, base, fixed, len);
	for (size_t i = 0; rc == 0 && i < ps->n; i++)
		ps->pages[i].va += pr->window_base - base;
	return rc;
}

/* Reserve [VA, VA+LEN) (a guard gap, a released page) inside a window of
 * pages that stay where they are. 0, or -1 when something else is there. */
static int reserve_slot(uint64_t va, uint64_t len)
{
	void *want = (void *)(uintptr_t)va;
	void *got = mmap(want, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (got == want)
		return 0;
	if (got != MAP_FAILED)
		munmap(got, len);
	return -1;
}

/* Fill every slot of the window [FROM[0], +LEN) that no page holds; on
 * failure give back what was reserved here. */
static int reserve_between(const struct hmi_pageset *ps, const uint64_t *from, uint64_t len)
{
	uint64_t size = ps->page_size, end = from[0] + len;
	size_t i, k;

	for (i = 0; i < ps->n; i++) {
		uint64_t next = i + 1 < ps->n ? from[i + 1] : end;

		if (next > from[i] + size &&
		    reserve_slot(from[i] + size, next - from[i] - size) < 0)
			break;
	}
	if (i == ps->n)
		return 0;
	for (k = 0; k < i; k++)
		if (from[k + 1] > from[k] + size)
			munmap((void *)(uintptr_t)(from[k] + size), from[k + 1] - from[k] - size);
	return -1;
}

/* Pages faulted in at the window's base in the order an ordered pool hands
 * them out may already sit where they go: the same VAs as a layout starting
 * at the first of them. Then nothing moves (each move is an mremap and a TLB
 * flush: about 30 us a page here): the guard gaps and the holes of released
 * pages are reserved and the window is where the pages are. 1 when placed. */
static int placed_where_they_are(struct hm_ctx *ctx, struct hmi_mem *pr, const uint64_t *from)
{
	struct hmi_pageset *ps = &pr->ps;
	uint64_t len = 0;
	size_t i;

	if (ps->n == 0 || ps->hint_end == 0 ||
	    hmi_assign_va(ctx, ps->pages, ps->n, ps->page_size, from[0], &len) < 0)
		return 0;
	for (i = 0; i < ps->n && ps->pages[i].va == from[i]; i++)
		;
	if (i < ps->n || reserve_between(ps, from, len) < 0) {
		for (i = 0; i < ps->n; i++)
			ps->pages[i].va = from[i];
		hmi_err_clear(ctx);
		return 0;
	}
	pr->window_base = from[0];
	pr->window_len = len;
	return 1;
}

static int place_runs(struct hm_ctx *ctx, struct hmi_mem *pr, uint64_t base, int fixed)
{
	uint64_t *from = malloc((pr->ps.n + 1) * sizeof(*from)), above;
	int rc = 0;

	if (!from)
		return hmi_err(ctx, ENOMEM, "out of memory placing pages");
	for (size_t i = 0; i < pr->ps.n; i++)
		from[i] = pr->ps.pages[i].va;
	if (!placed_where_they_are(ctx, pr, from)) {
		/* the pages faulted in at the base are in the way: go above them */
		above = (pr->ps.hint_end + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
		if (!fixed && above > base)
			base = above;
		rc = move_pages_to(ctx, pr, from, assign_and_reserve(ctx, pr, base, fixed));
	}
	free(from);
	return rc;
}

/* IOVA as VA: once the pages sit at their final addresses, those are their
 * IO addresses (before, the first mapping's VAs only grouped them in runs). */
static void iova_is_va(struct hmi_mem *pr, const struct plan *pl)
{
	if (!pl->iova_as_va && !pr->ps.pa_missing)
		return;
	for (size_t i = 0; i < pr->ps.n; i++)
		pr->ps.pages[i].iova = pr->ps.pages[i].va;
}

/* --no-huge maps one anonymous range as one "page": say it in 4 KiB pages. */
static void no_huge_pages(struct hmi_mem *pr, const struct plan *pl)
{
	if (!pl->no_huge)
		return;
	for (size_t i = 0; i < pr->tab.n_segs; i++) {
		pr->tab.segs[i].page_size = 4096;
		pr->tab.segs[i].n_pages = pr->tab.segs[i].len / 4096;
	}
}

static int place_pages(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl,
		       const struct hm_opts *o)
{
	uint64_t base = o->base_virtaddr ? o->base_virtaddr : HM_DEFAULT_BASE_VA;
	uint64_t align = pr->ps.page_size;
	double t = hmi_now_ms();
	int rc;

	if (!o->base_virtaddr) /* an explicit base was checked aligned (check_base) */
		base = (base + align - 1) & ~(align - 1);
	rc = place_runs(ctx, pr, base, o->base_virtaddr != 0);
	/* the pages are MADV_DONTFORK already; the guard gaps and holes too, so
	 * that a forked child holds nothing of the window and may attach at
	 * the same addresses (as a secondary's map_all does for its window) */
	if (rc == 0)
		madvise((void *)(uintptr_t)pr->window_base, pr->window_len, MADV_DONTFORK);
	if (rc == 0) {
		iova_is_va(pr, pl);
		rc = hmi_segments_build(ctx, pr->ps.pages, pr->ps.n, pr->ps.page_size,
					&pr->tab.segs, &pr->tab.n_segs);
	}
	if (rc == 0)
		no_huge_pages(pr, pl);
	if (rc == 0)
		rc = hmi_xlate_init(ctx, &pr->tab.xlate, pr->tab.segs, pr->tab.n_segs);
	pr->tab.info.t.remap = hmi_now_ms() - t;
	return rc;
}

/* --verify: the IOVAs read again at the final addresses must not change. */
static int verify_iova(struct hm_ctx *ctx, struct hmi_mem *pr, const struct plan *pl)
{
	size_t n = pr->ps.n;
	uint64_t *was = malloc((n + 1) * sizeof(*was));
	int rc;

	if (!was)
		return hmi_err(ctx, ENOMEM, "out of memory verifying IOVAs");
	for (size_t i = 0; i < n; i++)
		was[i] = pr->ps.pages[i].iova;
	rc = pl->iova_as_va || pr->ps.pa_missing ? 0 : hmi_pages_iova(ctx, &pr->ps, 0, 0);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (was[i] != pr->ps.pages[i].iova)
			rc = hmi_err(
			    ctx, EIO, "--verify: page at 0x%llx moved from IOVA 0x%llx to 0x%llx",
			    (unsigned long long)pr->ps.pages[i].va, (unsigned long long)was[i],
			    (unsigned long long)pr->ps.pages[i].iova);
	free(was);
	return rc;
}

/* ------------------------------------------------------------------ the call */

static void fill_info(struct hmi_mem *pr, const struct plan *pl, const struct hm_opts *o)
{
	struct hm_layout_info *in = &pr->tab.info;

	in->primary = 1;
	in->pid = getpid();
	in->file_prefix = pr->tab.prefix;
	in->iova_mode = pl->iova_as_va || pr->ps.pa_missing ? HM_IOVA_VA : HM_IOVA_PA;
	if (pr->dma && o->iova_mode == HM_IOVA_ALLOC)
		in->iova_mode = HM_IOVA_ALLOC;
	in->hugepages = !pl->no_huge;
	in->page_size = pl->no_huge ? 4096 : pl->page_size;
	in->total_bytes = pr->ps.n * pl->page_size;
	if (pl->no_huge)
		in->pages_mapped = in->total_bytes / 4096;
	in->n_segments = (int)pr->tab.n_segs;
	in->best_pieces = best_total(pl);
	in->va_base = pr->window_base;
	in->va_len = pr->window_len;
	if (pr->ps.pa_missing && !pl->iova_as_va)
		hmi_mem_note(pr, "no physical addresses (needs CAP_SYS_ADMIN): IOVA = VA");
}

static int check_iova_mode(struct hm_ctx *ctx, const struct hmi_mem *pr, const struct hm_opts *o)
{
	if (o->iova_mode == HM_IOVA_PA && pr->ps.pa_missing)
		return hmi_err(ctx, EPERM,
			       "--iova-mode pa needs physical addresses, which "
			       "/proc/self/pagemap gives only with CAP_SYS_ADMIN: run as "
			       "root or use --iova-mode va");
	return 0;
}

static int discover(struct hm_ctx *ctx, const struct hm_opts *o, struct hm_sysinfo **si)
{
	int rc = hm_sysinfo_read(ctx, o->huge_dir, si);

	if (rc == 0 && (rc = hm_opts_check(ctx, o, *si)) < 0) {
		hm_sysinfo_free(*si);
		*si = NULL;
	}
	return rc;
}

/* --zone (hm_opts.zones): reserved once the heap exists and before the
 * layout is published, so every secondary finds them; a zone that does not
 * fit fails hm_init, which then leaves nothing. */
static int reserve_zones(struct hm_ctx *ctx, const struct hm_opts *o)
{
	char cause[HMI_ERR_MAX];

	for (int i = 0; i < o->n_zones; i++) {
		const struct hm_zone_spec *z = &o->zones[i];
		int rc = hm_memzone_reserve(ctx, z->name, z->len, HM_SOCKET_ANY,
					    z->contig ? HM_MZ_IOVA_CONTIG : 0, 0, NULL);

		if (rc < 0) {
			snprintf(cause, sizeof(cause), "%s", ctx->err);
			return hmi_err(ctx, -rc, "--zone %.*s: %s", HM_ZONE_NAME_MAX, z->name,
				       cause);
		}
	}
	return 0;
}

static int run_flow(struct hm_ctx *ctx, struct hmi_mem *pr, const struct hm_opts *o)
{
	struct hm_sysinfo *si = NULL;
	struct plan pl = {0};
	double t = hmi_now_ms();
	int rc = 0, cleared = 0, asked = 0, served = 0;

	rc = hmi_cancel_check(ctx); /* hm_ctx_cancel: between every step below */
	if (rc == 0)
		rc = check_dma_opts(ctx, o);
	if (rc == 0 && !(o->flags & HM_OPT_NO_HUGE)) { /* a keeper's pages need no discovery */
		rc = hmi_mem_keeper_ask(ctx, pr, o);
		asked = rc > 0;
		rc = rc < 0 ? rc : 0;
	}
	/* the prefix before the plan: pages a dead primary of it left in files
	 * count towards this one's budget once those files are gone; taken
	 * while the keeper (on another CPU) answers, when it was asked */
	if (rc == 0 && asked)
		rc = take_prefix(ctx, pr, o);
	if (rc == 0 && asked) {
		rc = hmi_mem_keeper_take(ctx, pr, o);
		served = rc > 0;
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && (o->flags & HM_OPT_NO_HUGE))
		plan_no_huge(&pl, o);
	else if (rc == 0 && !served)
		rc = discover(ctx, o, &si);
	if (rc == 0 && !asked)
		rc = take_prefix(ctx, pr, o);
	if (rc == 0 && served && dead_files_left(pr)) /* the dead one's files: found by mount */
		rc = discover(ctx, o, &si);
	if (rc == 0)
		rc = clear_dead(ctx, pr, o, si, &cleared);
	if (rc == 0)
		rc = hmi_cancel_check(ctx);
	if (rc == 0 && cleared && !served) {
		hm_sysinfo_free(si);
		si = NULL;
		rc = discover(ctx, o, &si);
	}
	if (rc == 0 && !pl.no_huge)
		rc = served ? keeper_plan(pr, &pl, o) : make_plan(ctx, pr, &pl, o, si);
	if (rc == 0)
		rc = check_base(ctx, &pl, o);
	pr->tab.info.t.discover = hmi_now_ms() - t;
	if (rc == 0)
		rc = dma_open(ctx, pr, o);
	if (rc == 0)
		rc = hmi_cancel_check(ctx);
	if (rc == 0)
		rc = pl.keeper ? keeper_pages(ctx, pr, o) : choose_pages(ctx, pr, &pl);
	if (rc == 0)
		rc = check_iova_mode(ctx, pr, o);
	if (rc == 0)
		rc = hmi_cancel_check(ctx);
	if (rc == 0)
		rc = place_pages(ctx, pr, &pl, o);
	if (rc == 0 && (o->flags & HM_OPT_VERIFY))
		rc = verify_iova(ctx, pr, &pl);
	if (rc == 0)
		rc = hmi_pageset_seal(ctx, &pr->ps); /* memfds: final size, dma-buf ready */
	if (rc == 0)
		rc = dma_map(ctx, pr, o);
	if (rc == 0 && !pl.no_huge) /* --max-mem: the growth area after the window */
		rc = hmi_mem_growth_setup(ctx, pr, o, si, pl.iova_as_va);
	if (rc == 0)
		fill_info(pr, &pl, o);
	if (rc == 0)
		rc = hmi_cancel_check(ctx);
	if (rc == 0)
		rc = hmi_arena_create(ctx); /* heap and zones (heap/heap.h), before secondaries */
	if (rc == 0)
		hmi_mem_auto_trim_setup(ctx);
	if (rc == 0)
		rc = reserve_zones(ctx, o);
	t = hmi_now_ms();
	if (rc == 0 && !pl.no_huge && !(o->flags & (HM_OPT_NO_SHCONF | HM_OPT_HUGE_UNLINK)))
		rc = hmi_publish(ctx, pr); /* last: secondaries see only a final layout */
	pr->tab.info.t.publish = hmi_now_ms() - t;
	hm_sysinfo_free(si);
	return rc;
}

int hm_init(struct hm_ctx *ctx, const struct hm_opts *caller)
{
	double t0 = hmi_now_ms();
	struct hm_opts o; /* the caller's version of the structure, in this library's */
	struct hmi_mem *pr;
	int rc = hmi_opts_take(ctx, caller, &o, "hm_init");

	if (rc == 0)
		rc = hmi_mem_begin(ctx, 0, &pr);
	if (rc < 0)
		return rc;
	return hmi_mem_end(ctx, run_flow(ctx, pr, &o), t0);
}
