/* SPDX-License-Identifier: MIT */
/*
 * vfio_guest.c — the VFIO guest's shared test helpers (vfio_guest.h).
 */
#include "vfio_guest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
