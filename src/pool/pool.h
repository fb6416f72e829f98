/* SPDX-License-Identifier: MIT */
/*
 * pool/pool.h — the order in which to give hugepages back so that the
 * kernel's LIFO free list hands the longest run out first, ascending.
 */
#ifndef HM_POOLORDER_H
#define HM_POOLORDER_H

#include "layout/layout.h"

#include <stddef.h>
#include <stdint.h>

/* PAGES sorted by (node, iova). Write into ORDER the indices of the pages to
 * give back (those with KEEP[i] == 0; every page when KEEP is NULL), in the
 * order to free them: the maximal runs they form (contiguous in IOVA, same
 * node) shortest first (ties: higher address first), each run from its
 * highest page down. Returns the count written; 0 when it could not
 * allocate its run table (a caller with pages to give back reports that as
 * -ENOMEM). Pure: no system calls. */
size_t hmi_release_order(const struct hmi_page *pages, size_t n, uint64_t page_size,
			 const unsigned char *keep, size_t *order);

struct hm_ctx;

/* The machine-wide lock of the pool of PAGE_SIZE (pool/admin.c: a flock on its
 * sysfs directory), taken by every call that changes its size or maps its
 * whole free part: hm_reserve and hm_pool_order. A descriptor to close
 * (which unlocks), or -errno (-EBUSY after a minute held by another
 * process). */
int hmi_pool_lock(struct hm_ctx *ctx, uint64_t page_size);

/* Pages of this size and above are gigantic (1 GiB on x86): the kernel
 * never allocates them on demand, and reserves them best at boot, before
 * memory fragments. */
#define HMI_GIGANTIC_PAGE (1ULL << 30)

/* hm_reserve that only grows: under the pool's lock, read the count of the
 * pool of PAGE_SIZE (on NODE, -1 = system-wide) and write PAGES only when it
 * is lower, so that pages another process added meanwhile are never taken
 * back. *GOT = the count after; -ENOMEM when the kernel gave fewer than
 * PAGES. Messages as hm_reserve's. */
int hmi_reserve_at_least(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages,
			 uint64_t *got);

/* Where hugemem mounts hugetlbfs of PAGE_SIZE when no directory is given:
 * /dev/hugepages for the default size (PAGE_SIZE 0 is it), /dev/hugepages<SZ>
 * for another ("/dev/hugepages1G"), into DIR. Not below the root: a mount
 * point is a real directory. */
void hmi_mount_default_dir(struct hm_ctx *ctx, uint64_t page_size, char *dir, size_t len);

/* "hugepagesz=1G hugepages=4", or with node ids "hugepages=0:2,1:4": the
 * kernel command line words that reserve PAGES[i] pages of PAGE_SIZE on
 * NODES[i] (-1: spread over the nodes; then N is 1) at boot, into BUF
 * (pool/setup.c). */
void hmi_setup_cmdline(uint64_t page_size, const int *nodes, const uint64_t *pages, int n,
		       char *buf, size_t len);

/* Every set-up of TEXT, the text of a set-up file (pool/setupconf.c: its
 * grammar) named NAME in messages, appended to LIST (free its entries with
 * hm_setup_list_free). A line that does not parse is -EINVAL, -ERANGE,
 * -ENAMETOOLONG, -EFBIG or -ENOMEM naming NAME and the line number; LIST
 * keeps the lines before it. Pure: no system call. */
int hmi_setup_conf_parse(struct hm_ctx *ctx, const char *text, const char *name,
			 struct hm_setup_list *list);

/* S as a line of that file, "size=2G page-size=2M node=0", into BUF: what
 * hmi_setup_conf_parse reads back as S. -EINVAL for what a line cannot hold
 * (a mount point that is not absolute or holds a blank or a control
 * character, sizes that are not whole KiB), -ENAMETOOLONG when LEN is short. */
int hmi_setup_conf_line(struct hm_ctx *ctx, const struct hm_setup *s, char *buf, size_t len);

#endif
