/* SPDX-License-Identifier: MIT */
/*
 * sys/iommu.c — read the IOMMU and VFIO side of the system (sys/iommu.h),
 * every path below the context's root.
 *
 * Where each answer comes from (sysfs-rules, Documentation/driver-api/vfio.rst,
 * Documentation/ABI/testing/sysfs-kernel-iommu_groups):
 *  - an IOMMU: a unit in /sys/class/iommu (dmar0, ivhd0, smmu3...), or an
 *    IOMMU group that is not one of vfio's no-IOMMU groups. vfio makes a
 *    group of its own for each device vfio-pci takes in no-IOMMU mode, named
 *    "vfio-noiommu" (/sys/kernel/iommu_groups/N/name): those translate
 *    nothing, so they are left out of the count.
 *  - device nodes: /dev/iommu (iommufd), /dev/vfio/vfio (the group API's
 *    container), /dev/vfio/N or /dev/vfio/noiommu-N (a group), and the VFIO
 *    cdev /dev/vfio/devices/vfioN named by /sys/bus/pci/devices/<dev>/vfio-dev.
 *    "Openable" is faccessat(R_OK|W_OK, AT_EACCESS): what open() would say
 *    for this process's effective ids, without opening anything.
 *  - modules: /sys/module/vfio (its enable_unsafe_noiommu_mode, Y or N),
 *    /sys/module/vfio_iommu_type1 (its dma_entry_limit).
 *  - a PCI device: /sys/bus/pci/devices/<dev>: vendor, device, class
 *    ("0x8086"), the driver and iommu_group links (only their last part
 *    counts), numa_node ("-1" when the firmware gives none).
 *  - VFIO's viability rule (drivers/vfio/group.c, VFIO_GROUP_GET_STATUS;
 *    since Linux 5.19 the IOMMU core's DMA ownership): VFIO may take a group
 *    only when every device in it has no driver or one that leaves DMA to
 *    the group's owner (driver_managed_dma: the VFIO drivers, pci-stub, and
 *    pcieport for the bridges and switch ports a group holds).
 * Names and numbers found there are checked before use: a driver or device
 * name of other bytes than sysfs writes, a number that does not parse, is
 * -EINVAL naming the file. The memlock limit and the capabilities are this
 * process's (getrlimit, capget), not the root's.
 */
#include "sys/iommu.h"

#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCI_DEVICES  "/sys/bus/pci/devices"
#define PCI_DRIVERS  "/sys/bus/pci/drivers"
#define IOMMU_GROUPS "/sys/kernel/iommu_groups"
#define IOMMU_CLASS  "/sys/class/iommu"
#define VFIO_MODULE  "/sys/module/vfio"
#define TYPE1_MODULE "/sys/module/vfio_iommu_type1"
#define NODE_LIMIT   1024 /* the kernel's MAX_NUMNODES at most */

/* ------------------------------------------------------------------ small readers */

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int join(struct hm_ctx *ctx, char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return hmi_err(ctx, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	return 0;
}

/* The first line of the small file DIR/NAME into BUF (newline left off): 1,
 * 0 when there is no such file, -errno. */
static int read_line(struct hm_ctx *ctx, const char *dir, const char *name, char *buf, size_t len)
{
	char path[HM_PATH_MAX];
	int rc = join(ctx, path, sizeof(path), dir, name);

	if (rc == 0)
		rc = hmi_read_small(ctx, path, buf, len);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		hmi_err_clear(ctx);
		return 0;
	}
	if (rc < 0)
		return rc;
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

/* "0x8086" in DIR/NAME, at most MAX: 1, 0 when there is no such file. */
static int read_hex(struct hm_ctx *ctx, const char *dir, const char *name, uint64_t max,
		    uint64_t *v)
{
	char buf[32];
	int rc = read_line(ctx, dir, name, buf, sizeof(buf));

	if (rc <= 0)
		return rc;
	if (strncmp(buf, "0x", 2) != 0 || hmi_parse_u64_base(buf + 2, 16, v) < 0 || *v > max)
		return hmi_err(ctx, EINVAL,
			       "%s/%s: expected a hex number up to 0x%llx, found '%.20s'", dir,
			       name, (unsigned long long)max, buf);
	return 1;
}

/* A name as sysfs gives devices and drivers: 1 to HM_DEV_NAME_MAX - 1 visible
 * ASCII bytes, none of them a slash, a backslash or a quote. */
static int is_sysfs_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= HM_DEV_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~' || strchr("/\\\"'", name[i]))
			return 0;
	return 1;
}

/* The last part of the target of the link DIR/NAME into BUF: 1, 0 when
 * there is no such link. */
static int read_link_name(struct hm_ctx *ctx, const char *dir, const char *name,
			  char buf[HM_DEV_NAME_MAX])
{
	char path[HM_PATH_MAX], target[HM_PATH_MAX];
	const char *base;
	ssize_t n;
	int rc = join(ctx, path, sizeof(path), dir, name);

	if (rc < 0)
		return rc;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (n < 0)
		return hmi_err(ctx, errno, "cannot read the link %s: %s", path, strerror(errno));
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!is_sysfs_name(base))
		return hmi_err(ctx, EINVAL, "%s points to '%.80s': not a name sysfs gives", path,
			       target);
	memcpy(buf, base, strlen(base) + 1); /* is_sysfs_name: shorter than HM_DEV_NAME_MAX */
	return 1;
}

/* Decimal digits only, below INT_MAX: an IOMMU group's number. */
static int group_number(const char *name)
{
	uint64_t v;

	if (strspn(name, "0123456789") != strlen(name) || hmi_parse_u64(name, &v) < 0 ||
	    v >= 0x7fffffff)
		return -1;
	return (int)v;
}

/* ------------------------------------------------------------------ directory listings */

struct name_list {
	struct hm_ctx *ctx;
	const char *path;
	int (*keep)(const char *name);
	char (*names)[HM_DEV_NAME_MAX];
	size_t n, cap;
	int rc;
};

static int collect(const char *name, uint64_t ino, void *arg)
{
	struct name_list *l = arg;

	(void)ino;
	if (name[0] == '.' || !l->keep(name))
		return 0;
	if (!is_sysfs_name(name)) {
		l->rc = hmi_err(l->ctx, EINVAL, "%s holds '%.80s': not a name sysfs gives", l->path,
				name);
		return 1;
	}
	l->rc = hmi_array_reserve(l->ctx, (void **)&l->names, &l->cap, l->n + 1, sizeof(*l->names),
				  16, "directory names");
	if (l->rc == 0)
		snprintf(l->names[l->n++], HM_DEV_NAME_MAX, "%s", name);
	return l->rc != 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The names in the directory PATH (rooted) that KEEP accepts, sorted, into
 * *L (free L->names): 0; -ENOENT, with no message, when there is no such
 * directory. */
static int list_names(struct hm_ctx *ctx, const char *path, int (*keep)(const char *),
		      struct name_list *l)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	*l = (struct name_list){.ctx = ctx, .path = path, .keep = keep};
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return -ENOENT;
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot list %s: %s", path, strerror(errno));
	rc = hmi_dir_each(fd, collect, l);
	close(fd);
	if (rc < 0)
		l->rc = hmi_err(ctx, -rc, "cannot list %s: %s", path, strerror(-rc));
	if (l->rc < 0) {
		free(l->names);
		l->names = NULL;
		return l->rc;
	}
	if (l->n > 1)
		qsort(l->names, l->n, sizeof(*l->names), by_name);
	return 0;
}

static int keep_any(const char *name)
{
	(void)name;
	return 1;
}

static int keep_group(const char *name)
{
	return group_number(name) >= 0;
}

static int keep_pci(const char *name)
{
	struct hmi_pci_addr a;

	return hmi_parse_pci_addr(NULL, name, &a) == 0;
}

static int keep_vfio_driver(const char *name)
{
	return strstr(name, "vfio") != NULL;
}

/* ------------------------------------------------------------------ one device */

/* A driver that leaves the device's DMA to whoever owns its group. */
static int leaves_dma(const char *driver)
{
	return !driver[0] || strstr(driver, "vfio") || strcmp(driver, "pci-stub") == 0 ||
	       strcmp(driver, "pcieport") == 0;
}

static int read_group(struct hm_ctx *ctx, const char *dir, int *group)
{
	char name[HM_DEV_NAME_MAX];
	int rc = read_link_name(ctx, dir, "iommu_group", name);

	if (rc <= 0)
		return rc;
	*group = group_number(name);
	if (*group < 0)
		return hmi_err(ctx, EINVAL, "%s/iommu_group points to '%s': not a group number",
			       dir, name);
	return 0;
}

static int read_node(struct hm_ctx *ctx, const char *dir, int *node)
{
	char buf[32];
	uint64_t v;
	int rc = read_line(ctx, dir, "numa_node", buf, sizeof(buf));

	if (rc <= 0 || strcmp(buf, "-1") == 0)
		return rc;
	if (hmi_parse_u64(buf, &v) < 0 || v >= NODE_LIMIT)
		return hmi_err(ctx, EINVAL,
			       "%s/numa_node: expected a node number or -1, found '%.20s'", dir,
			       buf);
	*node = (int)v;
	return 0;
}

/* The N of the VFIO cdev "vfioN" in DIR/vfio-dev (Linux 6.2+, VFIO_DEVICE_CDEV). */
static int read_cdev(struct hm_ctx *ctx, const char *dir, int *cdev)
{
	char path[HM_PATH_MAX];
	struct name_list l;
	int rc = join(ctx, path, sizeof(path), dir, "vfio-dev");

	if (rc == 0)
		rc = list_names(ctx, path, keep_any, &l);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (l.n > 0 && strncmp(l.names[0], "vfio", 4) == 0)
		*cdev = group_number(l.names[0] + 4);
	if (l.n > 0 && *cdev < 0)
		rc = hmi_err(ctx, EINVAL, "%s holds '%s': expected vfioN", path, l.names[0]);
	free(l.names);
	return rc;
}

static void dev_init(struct hm_pci_dev *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->group = d->node = d->vfio_cdev = -1;
}

/* The PCI ids and class in DIR: 1, or 0 when there is no vendor file (a
 * device of another bus). */
static int read_ids(struct hm_ctx *ctx, const char *dir, struct hm_pci_dev *d)
{
	uint64_t vendor = 0, device = 0, class_code = 0;
	int rc = read_hex(ctx, dir, "vendor", 0xffff, &vendor);

	if (rc == 1)
		rc = read_hex(ctx, dir, "device", 0xffff, &device);
	if (rc == 1)
		rc = read_hex(ctx, dir, "class", 0xffffff, &class_code);
	d->vendor = (uint16_t)vendor;
	d->device = (uint16_t)device;
	d->class_code = (uint32_t)class_code;
	d->pci = rc == 1;
	return rc;
}

/* The device NAME whose sysfs directory is DIR (rooted) into *D. */
static int read_dev(struct hm_ctx *ctx, const char *dir, const char *name, struct hm_pci_dev *d)
{
	int rc;

	dev_init(d, name);
	rc = read_ids(ctx, dir, d);
	if (rc >= 0)
		rc = read_link_name(ctx, dir, "driver", d->driver);
	if (rc >= 0)
		rc = read_group(ctx, dir, &d->group);
	if (rc >= 0)
		rc = read_node(ctx, dir, &d->node);
	if (rc >= 0)
		rc = read_cdev(ctx, dir, &d->vfio_cdev);
	d->dma_owned = leaves_dma(d->driver);
	return rc < 0 ? rc : 0;
}

/* The state of the device node PATH (absolute, below the root). */
static int node_access(struct hm_ctx *ctx, const char *path, enum hm_node_access *state)
{
	char rooted[HM_PATH_MAX];
	int rc = hmi_path(ctx, rooted, sizeof(rooted), "%s", path);

	if (rc < 0)
		return rc;
	if (faccessat(AT_FDCWD, rooted, R_OK | W_OK, AT_EACCESS) == 0)
		*state = HM_NODE_OPEN;
	else
		*state = errno == ENOENT || errno == ENOTDIR ? HM_NODE_MISSING : HM_NODE_DENIED;
	return 0;
}

/* Is group GROUP one of vfio's no-IOMMU groups? 1, 0, -errno. */
static int noiommu_group(struct hm_ctx *ctx, int group)
{
	char dir[HM_PATH_MAX], name[64] = "";
	int rc = hmi_path(ctx, dir, sizeof(dir), IOMMU_GROUPS "/%d", group);

	if (rc == 0)
		rc = read_line(ctx, dir, "name", name, sizeof(name));
	return rc <= 0 ? rc : strcmp(name, "vfio-noiommu") == 0;
}

/* DEV's group: the other devices in it (DEV->peers), viability, the node. */
static int read_peers(struct hm_ctx *ctx, struct hm_vfio_device *dev)
{
	char dir[HM_PATH_MAX], path[HM_PATH_MAX];
	struct name_list l;
	int rc = hmi_path(ctx, dir, sizeof(dir), IOMMU_GROUPS "/%d/devices", dev->dev.group);

	if (rc == 0)
		rc = list_names(ctx, dir, keep_any, &l);
	if (rc == -ENOENT) /* a link to a group sysfs does not list: no other device known */
		return 0;
	if (rc == 0)
		dev->peers = calloc(l.n ? l.n : 1, sizeof(*dev->peers));
	if (rc == 0 && !dev->peers)
		rc = hmi_err(ctx, ENOMEM, "no memory for the %zu devices of IOMMU group %d", l.n,
			     dev->dev.group);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (strcmp(l.names[i], dev->dev.name) == 0)
			continue;
		rc = join(ctx, path, sizeof(path), dir, l.names[i]);
		if (rc == 0)
			rc = read_dev(ctx, path, l.names[i], &dev->peers[dev->n_peers]);
		dev->viable &= rc == 0 && dev->peers[dev->n_peers].dma_owned;
		dev->n_peers += rc == 0;
	}
	free(l.names);
	return rc;
}

static int read_group_side(struct hm_ctx *ctx, struct hm_vfio_device *dev)
{
	int noiommu = noiommu_group(ctx, dev->dev.group), rc;

	if (noiommu < 0)
		return noiommu;
	dev->noiommu_group = noiommu;
	snprintf(dev->group_path, sizeof(dev->group_path), "/dev/vfio/%s%d",
		 noiommu ? "noiommu-" : "", dev->dev.group);
	rc = node_access(ctx, dev->group_path, &dev->group_node);
	dev->viable = 1;
	return rc < 0 ? rc : read_peers(ctx, dev);
}

int hmi_vfio_device_read(struct hm_ctx *ctx, const char *addr, struct hm_vfio_device *dev)
{
	char name[HM_PCI_ADDR_MAX], dir[HM_PATH_MAX];
	int rc = hmi_pci_addr_canonical(ctx, addr, name, sizeof(name));

	memset(dev, 0, sizeof(*dev));
	dev_init(&dev->dev, rc == 0 ? name : "");
	dev->group_node = dev->cdev_node = HM_NODE_MISSING;
	if (rc == 0)
		rc = hmi_path(ctx, dir, sizeof(dir), PCI_DEVICES "/%s", name);
	if (rc < 0)
		return rc;
	dev->exists = is_dir(dir);
	if (!dev->exists)
		return 0;
	rc = read_dev(ctx, dir, name, &dev->dev);
	if (rc == 0 && dev->dev.group >= 0)
		rc = read_group_side(ctx, dev);
	if (rc == 0 && dev->dev.vfio_cdev >= 0) {
		snprintf(dev->cdev_path, sizeof(dev->cdev_path), "/dev/vfio/devices/vfio%d",
			 dev->dev.vfio_cdev);
		rc = node_access(ctx, dev->cdev_path, &dev->cdev_node);
	}
	if (rc < 0)
		hmi_vfio_device_release(dev);
	return rc;
}

void hmi_vfio_device_release(struct hm_vfio_device *dev)
{
	free(dev->peers);
	dev->peers = NULL;
	dev->n_peers = 0;
}

/* ------------------------------------------------------------------ the system */

/* IOMMU units and groups (no-IOMMU groups left out). */
static int read_groups(struct hm_ctx *ctx, struct hm_iommu_info *info)
{
	char path[HM_PATH_MAX];
	struct name_list l;
	int rc = hmi_path(ctx, path, sizeof(path), IOMMU_CLASS);

	if (rc == 0)
		rc = list_names(ctx, path, keep_any, &l);
	if (rc == 0)
		free(l.names);
	info->iommu = rc == 0 && l.n > 0;
	rc = rc == -ENOENT ? 0 : rc;
	if (rc == 0)
		rc = hmi_path(ctx, path, sizeof(path), IOMMU_GROUPS);
	if (rc == 0)
		rc = list_names(ctx, path, keep_group, &l);
	if (rc == -ENOENT)
		return 0;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		int noiommu = noiommu_group(ctx, group_number(l.names[i]));

		rc = noiommu < 0 ? noiommu : 0;
		info->n_groups += noiommu == 0;
	}
	free(l.names);
	info->iommu |= info->n_groups > 0;
	return rc;
}

/* vfio's no-IOMMU switch: Y or N (absent without CONFIG_VFIO_NOIOMMU). */
static int read_noiommu(struct hm_ctx *ctx, struct hm_iommu_info *info)
{
	char dir[HM_PATH_MAX], buf[16];
	int rc = hmi_path(ctx, dir, sizeof(dir), VFIO_MODULE);

	if (rc < 0)
		return rc;
	info->vfio = is_dir(dir);
	rc = read_line(ctx, dir, "parameters/enable_unsafe_noiommu_mode", buf, sizeof(buf));
	if (rc <= 0)
		return rc;
	if (strcmp(buf, "Y") != 0 && strcmp(buf, "N") != 0)
		return hmi_err(ctx, EINVAL,
			       "%s/parameters/enable_unsafe_noiommu_mode: expected Y or N, found "
			       "'%.20s'",
			       dir, buf);
	info->noiommu = buf[0] == 'Y';
	return 0;
}

static int read_type1(struct hm_ctx *ctx, struct hm_iommu_info *info)
{
	char dir[HM_PATH_MAX], buf[32];
	uint64_t v;
	int rc = hmi_path(ctx, dir, sizeof(dir), TYPE1_MODULE);

	info->dma_entry_limit = HMI_TYPE1_DEFAULT_ENTRIES;
	info->dma_entry_limit_default = 1;
	if (rc < 0)
		return rc;
	info->type1 = is_dir(dir);
	rc = info->type1 ? read_line(ctx, dir, "parameters/dma_entry_limit", buf, sizeof(buf)) : 0;
	if (rc <= 0)
		return rc;
	if (hmi_parse_u64(buf, &v) < 0 || v > UINT32_MAX)
		return hmi_err(ctx, EINVAL,
			       "%s/parameters/dma_entry_limit: expected a count of mappings, found "
			       "'%.20s'",
			       dir, buf);
	info->dma_entry_limit = v;
	info->dma_entry_limit_default = 0;
	return 0;
}

/* The devices bound to the driver whose directory is DIR (rooted), appended
 * to INFO's list; *CAP is the list's room. */
static int read_driver_devices(struct hm_ctx *ctx, const char *dir, struct hm_iommu_info *info,
			       size_t *cap)
{
	char path[HM_PATH_MAX];
	struct name_list devs;
	int rc = list_names(ctx, dir, keep_pci, &devs);

	if (rc == -ENOENT)
		return 0;
	for (size_t j = 0; rc == 0 && j < devs.n; j++) {
		rc = hmi_array_reserve(ctx, (void **)&info->vfio_devices, cap,
				       (size_t)info->n_vfio_devices + 1,
				       sizeof(*info->vfio_devices), 4, "devices bound to VFIO");
		if (rc == 0)
			rc = hmi_path(ctx, path, sizeof(path), PCI_DEVICES "/%s", devs.names[j]);
		if (rc == 0)
			rc = read_dev(ctx, path, devs.names[j],
				      &info->vfio_devices[info->n_vfio_devices]);
		info->n_vfio_devices += rc == 0;
	}
	free(devs.names);
	return rc;
}

/* Every PCI device bound to a driver whose name says VFIO (vfio-pci and its
 * variants: mlx5_vfio_pci, ...). */
static int read_vfio_devices(struct hm_ctx *ctx, struct hm_iommu_info *info)
{
	char dir[HM_PATH_MAX], path[HM_PATH_MAX];
	struct name_list drivers = {.names = NULL};
	size_t cap = 0;
	int rc = hmi_path(ctx, dir, sizeof(dir), PCI_DRIVERS);

	if (rc == 0)
		rc = list_names(ctx, dir, keep_vfio_driver, &drivers);
	if (rc == -ENOENT)
		return 0;
	for (size_t i = 0; rc == 0 && i < drivers.n; i++) {
		rc = join(ctx, path, sizeof(path), dir, drivers.names[i]);
		if (rc == 0)
			rc = read_driver_devices(ctx, path, info, &cap);
	}
	free(drivers.names);
	return rc;
}

static int by_dev_name(const void *a, const void *b)
{
	return strcmp(((const struct hm_pci_dev *)a)->name, ((const struct hm_pci_dev *)b)->name);
}

static void read_limits(struct hm_iommu_info *info)
{
	struct rlimit rl;

	info->memlock_bytes = UINT64_MAX;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		info->memlock_bytes = (uint64_t)rl.rlim_cur;
	info->cap_ipc_lock = hmi_cap_effective(CAP_IPC_LOCK) == 1;
	info->cap_sys_rawio = hmi_cap_effective(CAP_SYS_RAWIO) == 1;
}

int hmi_iommu_read(struct hm_ctx *ctx, struct hm_iommu_info *info)
{
	char path[HM_PATH_MAX];
	int rc;

	memset(info, 0, sizeof(*info));
	read_limits(info);
	rc = read_groups(ctx, info);
	if (rc == 0)
		rc = node_access(ctx, "/dev/iommu", &info->iommufd);
	if (rc == 0)
		rc = node_access(ctx, "/dev/vfio/vfio", &info->vfio_container);
	if (rc == 0)
		rc = read_noiommu(ctx, info);
	if (rc == 0)
		rc = read_type1(ctx, info);
	if (rc == 0)
		rc = hmi_path(ctx, path, sizeof(path), PCI_DRIVERS "/vfio-pci");
	info->vfio_pci = rc == 0 && is_dir(path);
	if (rc == 0)
		rc = read_vfio_devices(ctx, info);
	if (rc == 0 && info->n_vfio_devices > 1)
		qsort(info->vfio_devices, (size_t)info->n_vfio_devices, sizeof(*info->vfio_devices),
		      by_dev_name);
	if (rc < 0)
		hmi_iommu_release(info);
	return rc;
}

void hmi_iommu_release(struct hm_iommu_info *info)
{
	free(info->vfio_devices);
	info->vfio_devices = NULL;
	info->n_vfio_devices = 0;
}

/* ------------------------------------------------------------------ public calls */

int hm_iommu_read(struct hm_ctx *ctx, struct hm_iommu_info **out)
{
	struct hm_iommu_info *info = calloc(1, sizeof(*info));
	int rc;

	hmi_err_clear(ctx);
	*out = NULL;
	if (!info)
		return hmi_err(ctx, ENOMEM, "no memory for the IOMMU's state");
	rc = hmi_iommu_read(ctx, info);
	if (rc < 0) {
		free(info);
		return rc;
	}
	*out = info;
	return 0;
}

void hm_iommu_free(struct hm_iommu_info *info)
{
	if (!info)
		return;
	hmi_iommu_release(info);
	free(info);
}

int hm_vfio_device_read(struct hm_ctx *ctx, const char *addr, struct hm_vfio_device **out)
{
	struct hm_vfio_device *dev = calloc(1, sizeof(*dev));
	int rc;

	hmi_err_clear(ctx);
	*out = NULL;
	if (!dev)
		return hmi_err(ctx, ENOMEM, "no memory for a device's state");
	rc = hmi_vfio_device_read(ctx, addr, dev);
	if (rc < 0) {
		free(dev);
		return rc;
	}
	*out = dev;
	return 0;
}

void hm_vfio_device_free(struct hm_vfio_device *dev)
{
	if (!dev)
		return;
	hmi_vfio_device_release(dev);
	free(dev);
}
