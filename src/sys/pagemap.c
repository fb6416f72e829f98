/* SPDX-License-Identifier: MIT */
/*
 * sys/pagemap.c — reading /proc/PID/pagemap (Documentation/admin-guide/mm/
 * pagemap.rst): one 64-bit entry per base page of the address space, at
 * offset (va / base page size) * 8, decoded by parse/'s hm_pagemap_decode.
 * The base page is the system's (sysconf), never an assumed 4096: arm64 and
 * ppc64 kernels run with 16 or 64 KiB pages. The entry of a hugepage's first
 * base page carries the frame of its head, so callers read one entry a page:
 * the kernel builds every entry of a range it is asked for (512 per 2 MiB
 * page), so reading ahead costs more than the system calls it saves.
 */
#include "sys/pagemap.h"
#include "parse/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

void hmi_pagemap_init(struct hmi_pagemap *pm)
{
	pm->fd = -1;
	pm->base_page = 0;
	pm->path[0] = '\0';
}

int hmi_pagemap_open(struct hm_ctx *ctx, struct hmi_pagemap *pm, pid_t pid)
{
	long base = sysconf(_SC_PAGESIZE);
	int rc;

	if (pm->fd >= 0)
		return 0;
	rc = pid ? hmi_path(ctx, pm->path, sizeof(pm->path), "/proc/%d/pagemap", (int)pid)
		 : hmi_path(ctx, pm->path, sizeof(pm->path), "/proc/self/pagemap");
	if (rc < 0)
		return rc;
	pm->base_page = base > 0 ? (uint64_t)base : 4096;
	pm->fd = open(pm->path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", pm->path, strerror(errno));
	return 0;
}

int hmi_pagemap_entries(struct hm_ctx *ctx, const struct hmi_pagemap *pm, uint64_t va, size_t n,
			uint64_t *entries)
{
	uint64_t first = va / pm->base_page;
	size_t want = n * sizeof(*entries), done = 0;

	if (first > (uint64_t)INT64_MAX / sizeof(*entries) - n)
		return hmi_err(ctx, EINVAL, "%s has no entry for VA 0x%" PRIx64, pm->path, va);
	while (done < want) {
		ssize_t got = pread(pm->fd, (char *)entries + done, want - done,
				    (off_t)(first * sizeof(*entries) + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return hmi_err(ctx, errno,
				       "cannot read the entry of VA 0x%" PRIx64 " in %s: %s", va,
				       pm->path, strerror(errno));
		if (got == 0)
			return hmi_err(ctx, EIO, "%s ends before the entry of VA 0x%" PRIx64,
				       pm->path, va);
		done += (size_t)got;
	}
	return 0;
}

int hmi_pagemap_pa(struct hm_ctx *ctx, const struct hmi_pagemap *pm, uint64_t va, uint64_t *pa)
{
	uint64_t entry = 0, pfn = 0;
	int rc = hmi_pagemap_entries(ctx, pm, va, 1, &entry), present;

	*pa = 0;
	if (rc < 0)
		return rc;
	present = hm_pagemap_decode(entry, &pfn);
	if (pfn > UINT64_MAX / pm->base_page)
		return hmi_err(ctx, EIO,
			       "%s gives frame 0x%" PRIx64 ", beyond any physical address",
			       pm->path, pfn);
	*pa = pfn * pm->base_page;
	return present;
}

void hmi_pagemap_close(struct hmi_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}
