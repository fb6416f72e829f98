/* SPDX-License-Identifier: MIT */
/*
 * vfio_guest.c — the VFIO guest's shared test helpers (vfio_guest.h).
 */
#include "vfio_guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* dmar_fault()'s rate limit: DEFAULT_RATELIMIT_BURST lines in
 * DEFAULT_RATELIMIT_INTERVAL, a second of margin added to the interval (the
 * log's clock and CLOCK_MONOTONIC need not agree to the millisecond). */
#define DMAR_BURST     10
#define DMAR_WINDOW_US 6000000ULL

int vg_args_parse(int argc, char **argv, struct vg_args *a)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s BDF HUGE_DIR MODE (run by test/vfio/init.sh)\n",
			argc > 0 ? argv[0] : "test");
		return -EINVAL;
	}
	a->bdf = argv[1];
	a->huge_dir = argv[2];
	a->mode = argv[3];
	return 0;
}

int vg_cdev_path(const char *bdf, char *buf, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = -ENOENT;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "vfio", 4) == 0) {
			snprintf(buf, len, "/dev/vfio/devices/%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int vg_group_path(const char *bdf, int noiommu, char *buf, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *group;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	group = strrchr(target, '/');
	group = group ? group + 1 : target;
	snprintf(buf, len, "/dev/vfio/%s%s", noiommu ? "noiommu-" : "", group);
	return 0;
}

int vg_primary(struct hm_ctx **ctx, const char *huge_dir, const char *prefix, uint64_t mem,
	       char *msg, size_t len)
{
	struct hm_opts o;
	int r;

	*ctx = NULL;
	r = hm_ctx_new(ctx);
	if (r < 0) {
		snprintf(msg, len, "hm_ctx_new: %s", strerror(-r));
		return r;
	}
	hm_opts_init(&o);
	o.mem = mem;
	o.huge_dir = huge_dir;
	o.file_prefix = prefix;
	r = hm_init(*ctx, &o);
	if (r < 0) {
		snprintf(msg, len, "hm_init: %s", hm_errmsg(*ctx));
		hm_ctx_free(*ctx);
		*ctx = NULL;
	}
	return r;
}

int vg_primary_end(struct hm_ctx *ctx)
{
	int r = hm_fini(ctx);

	hm_ctx_free(ctx);
	return r;
}

/* DMAR fault lines of the kernel log stamped at SINCE_US (its clock, from
 * boot) or later. */
static int dmar_lines_since(unsigned long long since_us)
{
	char buf[4096];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), n = 0;
	unsigned long long ts;
	ssize_t k;

	while (fd >= 0 && (k = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[k] = '\0';
		if (sscanf(buf, "%*u,%*u,%llu", &ts) != 1 || ts < since_us)
			continue;
		n += strstr(buf, "DMAR") && strstr(buf, "fault") ? 1 : 0;
	}
	if (fd >= 0)
		close(fd);
	return n;
}

int vg_dmar_faults(void)
{
	return dmar_lines_since(0);
}

/* The limit's window starts at a logged line: at most BURST - 2 lines in
 * the last window's length leave room for the two of one more fault. */
void vg_dmar_room(void)
{
	struct timespec t;

	for (int i = 0; i < 40; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (dmar_lines_since((unsigned long long)t.tv_sec * 1000000 + t.tv_nsec / 1000 -
				     DMAR_WINDOW_US) <= DMAR_BURST - 2)
			return;
		usleep(250000);
	}
}
