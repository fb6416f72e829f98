/* SPDX-License-Identifier: MIT */
/*
 * dma/udmabuf.c — a dma-buf over memfd pages, through /dev/udmabuf (Linux
 * 4.20+; hugetlb memfds since 6.x): what RDMA (ibv_reg_dmabuf_mr) and GPU
 * drivers import. The kernel takes a list of (memfd, offset, size) items,
 * each page aligned, from memfds sealed against shrinking (F_SEAL_SHRINK:
 * pages/backing.c seals them when hm_init's sizes are final), and refuses
 * more than its module parameters allow: size_limit_mb (64 by default) in
 * all and list_limit (1024) items. Both are read first so a refusal names
 * the limit and the parameter instead of a bare EINVAL or ENOMEM.
 *
 * A dma-buf pins its pages (memfd_pin_folios) until its last descriptor and
 * mapping are gone: pages hm_fini gives back while a dma-buf holds them go
 * back to the pool only then.
 */
#include "dma/dma.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/udmabuf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define UDMABUF_SIZE_LIMIT_MB 64 /* the module's defaults, when sysfs does not say */
#define UDMABUF_LIST_LIMIT    1024

static uint64_t module_param(struct hm_ctx *ctx, const char *name, uint64_t dflt)
{
	char path[HM_PATH_MAX];
	uint64_t v;

	if (hmi_path(ctx, path, sizeof(path), "/sys/module/udmabuf/parameters/%s", name) < 0 ||
	    hmi_read_u64(ctx, path, &v) < 0) {
		hmi_err_clear(ctx);
		return dflt;
	}
	return v;
}

static int check_limits(struct hm_ctx *ctx, size_t n, uint64_t total)
{
	uint64_t size_mb = module_param(ctx, "size_limit_mb", UDMABUF_SIZE_LIMIT_MB);
	uint64_t list = module_param(ctx, "list_limit", UDMABUF_LIST_LIMIT);

	if (total > (size_mb << 20))
		return hmi_err(
		    ctx, E2BIG,
		    "a dma-buf of %" PRIu64 " bytes is beyond udmabuf's size_limit_mb of "
		    "%" PRIu64 ": export less, or raise it (udmabuf.size_limit_mb=N on the "
		    "kernel command line, or modprobe udmabuf size_limit_mb=N)",
		    total, size_mb);
	if (n > list)
		return hmi_err(ctx, E2BIG,
			       "a dma-buf of %zu pieces is beyond udmabuf's list_limit of %" PRIu64
			       ": export a range of fewer pieces, or raise udmabuf.list_limit",
			       n, list);
	return 0;
}

int hmi_udmabuf_create(struct hm_ctx *ctx, const struct hmi_udmabuf_item *items, size_t n)
{
	struct udmabuf_create_list *req = calloc(1, sizeof(*req) + (n + 1) * sizeof(req->list[0]));
	char path[HM_PATH_MAX];
	uint64_t total = 0;
	int dev = -1, fd, rc;

	if (!req)
		return hmi_err(ctx, ENOMEM, "out of memory building a dma-buf");
	for (size_t i = 0; i < n; i++) {
		req->list[i] = (struct udmabuf_create_item){.memfd = (uint32_t)items[i].memfd,
							    .offset = items[i].offset,
							    .size = items[i].len};
		total += items[i].len;
	}
	req->flags = UDMABUF_FLAGS_CLOEXEC;
	req->count = (uint32_t)n;
	rc = check_limits(ctx, n, total);
	if (rc == 0)
		rc = hmi_path(ctx, path, sizeof(path), "/dev/udmabuf");
	if (rc == 0 && (dev = open(path, O_RDWR | O_CLOEXEC)) < 0)
		rc = hmi_err(ctx, errno, "cannot open %s: %s (%s)", path, strerror(errno),
			     errno == ENOENT ? "a kernel with CONFIG_UDMABUF, modprobe udmabuf"
					     : "give this user the device");
	fd = rc == 0 ? ioctl(dev, UDMABUF_CREATE_LIST, req) : -1;
	if (rc == 0 && fd < 0)
		rc = hmi_err(ctx, errno, "UDMABUF_CREATE_LIST of %zu pieces, %" PRIu64 " bytes: %s",
			     n, total, strerror(errno));
	if (dev >= 0)
		close(dev);
	free(req);
	return rc < 0 ? rc : fd;
}
