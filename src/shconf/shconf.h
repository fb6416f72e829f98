/* SPDX-License-Identifier: MIT */
/*
 * shconf/shconf.h — internal interface of the shconf layer (B11 and C of
 * docs/design.md): the layout a primary publishes for its secondaries, as a
 * versioned, checksummed binary file in the prefix's runtime directory, and
 * the descriptor server that hands memfd / single-file descriptors to
 * secondaries over a unix socket (SCM_RIGHTS).
 */
#ifndef HM_SHCONF_H
#define HM_SHCONF_H

#include "base/ctx.h"
#include "layout/layout.h"
#include "pages/pages.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HMI_SHCONF_FILE	  "layout" /* in <rundir>/<prefix>/ */
#define HMI_SHCONF_SOCKET "fds.sock"

/* A backing object as a secondary needs it. */
struct hmi_shconf_backing {
	enum hmi_backing_kind kind;
	int node;
	uint64_t size;	   /* bytes */
	char name[256];	   /* file name inside shconf.dir ("" for memfd: by fd) */
	uint64_t dev, ino; /* files: the inode the primary created (0 for memfd) */
	uint32_t uid;	   /* files: its owner */
	uint64_t chunk;	   /* memfds a keeper leased: the chunk's id (0 otherwise), */
	int fd;		   /* ... the primary's descriptor of it (with a chunk only),
			      and dev, ino its inode: what a secondary checks it got */
};

/* A device of the primary's DMA domain (dma/), as a secondary adopts it. */
struct hmi_shconf_dmadev {
	char bdf[16]; /* canonical PCI address */
	int group;    /* IOMMU group (type1, noiommu), -1 with iommufd */
};

/* The published layout, in memory. */
struct hmi_shconf {
	pid_t pid; /* the primary */
	char prefix[HM_PREFIX_MAX];
	char dir[HM_PATH_MAX]; /* hugetlbfs mount of the files ("" for memfd) */
	/* format 4: the keeper that leased the memfds ("" when none did): a
	 * secondary FETCHes them from it by chunk id (backings[].chunk), and
	 * the descriptor server hands out only the DMA domain's descriptors */
	char keeper_dir[HM_PATH_MAX];
	enum hmi_backing_kind kind;
	enum hm_iova_mode iova_mode;
	int hugepages;
	uint64_t page_size;
	uint64_t va_base, va_len; /* the window: a secondary reserves it whole first */
	uint64_t total_bytes;
	struct hmi_shconf_backing *backings;
	size_t n_backings;
	struct hmi_page *pages; /* va, iova, node, backing, offset of every page */
	size_t n_pages;
	struct hmi_seg *segs; /* the segment table, ascending VA */
	size_t n_segs;
	/* the DMA domain (format 3): backend (enum hmi_dma_backend, 0 = none),
	 * iommufd's IOAS id, the devices; the descriptor server hands out
	 * n_fds descriptors: the memfds (memfd backing), then the domain's
	 * (hmi_shconf_fd_count says how many and in what order) */
	uint32_t dma_backend;
	uint32_t dma_ioas;
	struct hmi_shconf_dmadev *dma_devs;
	size_t n_dma_devs;
	uint32_t n_fds;
};

/* The descriptors the primary of SC serves, in this order: its memfds (one
 * per backing, memfd backing only, none when a keeper serves them), then with a DMA domain the
 * domain's descriptor, each distinct IOMMU group's (in the order the devices name them; none with
 * iommufd) and each device's. */
size_t hmi_shconf_memfd_count(const struct hmi_shconf *sc);
size_t hmi_shconf_dma_groups(const struct hmi_shconf *sc, int *ids, size_t max);
size_t hmi_shconf_fd_count(const struct hmi_shconf *sc);

/* Serialise SC (magic, format version, total size, checksum, fixed-width
 * little-endian fields) into a new buffer *BUF of *LEN bytes (free()). */
int hmi_shconf_encode(struct hm_ctx *ctx, const struct hmi_shconf *sc, void **buf, size_t *len);

/* Parse BUF[0..LEN) (outside input: never trusted) into *SC, allocating its
 * arrays (hmi_shconf_free). Distinct clear errors for: truncated (-EBADMSG,
 * "truncated"), not a hugemem layout (-EBADMSG, "magic"), another format
 * version (-EPROTO, naming both versions), checksum mismatch (-EBADMSG,
 * "checksum"), inconsistent contents (-EBADMSG: counts, sizes, indices,
 * pages outside the window, segments not matching pages). */
int hmi_shconf_decode(struct hm_ctx *ctx, const void *buf, size_t len, struct hmi_shconf *sc);

void hmi_shconf_free(struct hmi_shconf *sc);

/* Write SC atomically as DIR/layout: a temporary file in DIR (O_EXCL,
 * O_NOFOLLOW, 0600), written, renamed over the name (not fsync'd: the
 * layout of a running process means nothing after a machine crash). */
int hmi_shconf_write(struct hm_ctx *ctx, const char *dir, const struct hmi_shconf *sc);

/* Read and decode DIR/layout (O_NOFOLLOW; a file not owned by this user or
 * root is refused). -ENOENT when there is none (no primary published). */
int hmi_shconf_read(struct hm_ctx *ctx, const char *dir, struct hmi_shconf *sc);

/* The descriptor server: a thread that accepts connections on
 * DIR/fds.sock (0600) and sends FDS[0..N) (SCM_RIGHTS, in batches) to each
 * peer whose uid (SO_PEERCRED) is this process's uid or root. */
struct hmi_fdserver;

int hmi_fdserver_start(struct hm_ctx *ctx, const char *dir, const int *fds, size_t n,
		       struct hmi_fdserver **out);
void hmi_fdserver_stop(struct hmi_fdserver *srv);

/* Connect to DIR/fds.sock and receive exactly N descriptors into FDS (in
 * the server's order). Clear errors when no server answers (the primary is
 * gone or has no memfd backing) or it sends a different count. */
int hmi_fdclient_fetch(struct hm_ctx *ctx, const char *dir, int *fds, size_t n);

#endif
