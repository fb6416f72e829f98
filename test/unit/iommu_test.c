/* SPDX-License-Identifier: MIT */
/*
 * iommu_test.c — sys/iommu.c and sys/iommu_verdict.c on the IOMMU fixture
 * trees (test/fixtures/iommu-none, iommu-vfio, iommu-noiommu; their READMEs
 * say what each holds): the system's answer (IOMMU, groups, nodes, modules,
 * type1's limit, the devices bound to VFIO), each device's reading (ids,
 * driver, group and the other devices there, cdev, node) and its verdict,
 * one per case: usable through iommufd and type1, usable through no-IOMMU,
 * no device, no IOMMU, another driver, no driver, a group that is not
 * viable, a node missing. Copies of the trees with one file broken must fail
 * with -EINVAL naming the file. A denied node and a missing CAP_SYS_RAWIO,
 * which root cannot see on a tree, are given to the verdict by hand
 * (test/cli_iommu.t sees a denied node as nobody). Then the memlock and entry
 * limit refusals, and the public calls.
 */
#include "sys/iommu.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MiB (1ULL << 20)

static struct hm_ctx *ctx;
static char tmp[PATH_MAX];

static int set_fixture(const char *name)
{
	const char *top = getenv("HM_TOP");
	char path[PATH_MAX], real[PATH_MAX];

	snprintf(path, sizeof(path), "%s/test/fixtures/%s", top ? top : ".", name);
	if (!realpath(path, real) || hm_ctx_set_root(ctx, real) < 0) {
		diag("fixture %s not found (set HM_TOP to the repo top)", path);
		return -1;
	}
	return 0;
}

/* Read device ADDR of the current root; its verdict into LINE. */
static enum hm_vfio_verdict verdict_of(const struct hm_iommu_info *info, const char *addr,
				       struct hm_vfio_device *dev, char *line, size_t len)
{
	int rc = hmi_vfio_device_read(ctx, addr, dev);

	if (rc < 0) {
		diag("reading %s: %s", addr, hm_errmsg(ctx));
		snprintf(line, len, "(not read)");
		return (enum hm_vfio_verdict) - 1;
	}
	return hm_vfio_verdict(info, dev, line, len);
}

/* ------------------------------------------------------------------ no IOMMU */

static void test_none(void)
{
	struct hm_iommu_info info;
	struct hm_vfio_device dev;
	char line[HMI_ERR_MAX];

	if (set_fixture("iommu-none") < 0 || !ok(hmi_iommu_read(ctx, &info) == 0, "none: reads"))
		return;
	ok(!info.iommu && info.n_groups == 0, "none: no IOMMU, no group");
	ok(info.iommufd == HM_NODE_MISSING && info.vfio_container == HM_NODE_MISSING,
	   "none: no /dev/iommu, no /dev/vfio/vfio");
	ok(!info.vfio && !info.vfio_pci && !info.noiommu && !info.type1,
	   "none: no vfio, vfio-pci or type1 loaded, no-IOMMU mode off");
	ok(info.dma_entry_limit == 65535 && info.dma_entry_limit_default,
	   "none: type1's limit is the kernel's default, and says so");
	is_int(info.n_vfio_devices, 0, "none: no device bound to VFIO");

	is_int(verdict_of(&info, "00:05.0", &dev, line, sizeof(line)), HM_VFIO_NO_IOMMU,
	       "none: edu without a group: no IOMMU");
	ok(dev.exists && dev.dev.pci && dev.dev.vendor == 0x1234 && dev.dev.device == 0x11e8 &&
	       dev.dev.class_code == 0x00ff00,
	   "none: edu's ids and class");
	ok(!dev.dev.driver[0] && dev.dev.group == -1 && dev.dev.node == -1 &&
	       dev.dev.vfio_cdev == -1,
	   "none: no driver, group, node or cdev");
	is_str(dev.dev.name, "0000:00:05.0", "none: the short address is written in full");
	like(line, "intel_iommu=on / amd_iommu=on", "none: the message names the boot options");
	like(line, "--iommu noiommu (unsafe: modprobe vfio enable_unsafe_noiommu_mode=1)",
	     "none: ... and no-IOMMU mode, with vfio not loaded");
	is_int(hmi_vfio_device_check(ctx, &info, &dev), -ENXIO, "none: check says -ENXIO");
	is_str(hm_errmsg(ctx), line, "none: ... with the verdict's line");
	hmi_vfio_device_release(&dev);

	is_int(verdict_of(&info, "0000:00:09.0", &dev, line, sizeof(line)), HM_VFIO_NO_DEVICE,
	       "none: 0000:00:09.0 does not exist");
	ok(!dev.exists, "none: ... exists 0");
	is_str(line, "no such PCI device 0000:00:09.0 (lspci -D lists this machine's)",
	       "none: ... the message");
	is_int(hmi_vfio_device_check(ctx, &info, &dev), -ENODEV, "none: check says -ENODEV");
	is_int(hmi_vfio_device_read(ctx, "0000:00:05", &dev), -EINVAL,
	       "none: a malformed address is -EINVAL");
	like(hm_errmsg(ctx), "PCI address '0000:00:05'", "none: ... naming it");
	hmi_iommu_release(&info);
}

/* ------------------------------------------------------------------ IOMMU and VFIO */

static void test_vfio_system(const struct hm_iommu_info *info)
{
	ok(info->iommu && info->n_groups == 4, "vfio: an IOMMU, 4 groups");
	ok(info->iommufd == HM_NODE_OPEN && info->vfio_container == HM_NODE_OPEN,
	   "vfio: /dev/iommu and /dev/vfio/vfio openable");
	ok(info->vfio && info->vfio_pci && !info->noiommu && info->type1,
	   "vfio: vfio, vfio-pci, type1 loaded, no-IOMMU mode off");
	ok(info->dma_entry_limit == 65535 && !info->dma_entry_limit_default,
	   "vfio: type1's limit read from its parameter");
	is_int(info->n_vfio_devices, 2, "vfio: two devices bound to vfio-pci");
	if (info->n_vfio_devices != 2)
		return;
	ok(strcmp(info->vfio_devices[0].name, "0000:00:05.0") == 0 &&
	       info->vfio_devices[0].group == 7 && info->vfio_devices[0].node == 0 &&
	       info->vfio_devices[0].vfio_cdev == 0,
	   "vfio: 0000:00:05.0 first, group 7, node 0, vfio0");
	ok(strcmp(info->vfio_devices[1].name, "0000:01:00.0") == 0 &&
	       info->vfio_devices[1].group == 8 && info->vfio_devices[1].vfio_cdev == 1 &&
	       strcmp(info->vfio_devices[1].driver, "vfio-pci") == 0,
	   "vfio: 0000:01:00.0, group 8, vfio1, vfio-pci");
}

static void test_vfio_usable(const struct hm_iommu_info *info)
{
	struct hm_vfio_device dev;
	char line[HMI_ERR_MAX];

	is_int(verdict_of(info, "0000:00:05.0", &dev, line, sizeof(line)), HM_VFIO_USABLE,
	       "vfio: edu alone in group 7 is usable");
	ok(dev.dev.group == 7 && dev.n_peers == 0 && dev.viable && !dev.noiommu_group,
	   "vfio: ... group 7, no other device, viable");
	ok(strcmp(dev.group_path, "/dev/vfio/7") == 0 && dev.group_node == HM_NODE_OPEN,
	   "vfio: ... /dev/vfio/7 openable");
	ok(strcmp(dev.cdev_path, "/dev/vfio/devices/vfio0") == 0 && dev.cdev_node == HM_NODE_OPEN,
	   "vfio: ... /dev/vfio/devices/vfio0 openable");
	is_int(hmi_vfio_paths(info, &dev), HMI_VFIO_IOMMUFD | HMI_VFIO_TYPE1,
	       "vfio: ... through iommufd and type1");
	is_str(line,
	       "0000:00:05.0 [1234:11e8] is usable through iommufd (/dev/vfio/devices/vfio0) and "
	       "type1 (/dev/vfio/7): vfio-pci, IOMMU group 7, node 0",
	       "vfio: ... the message");
	is_int(hmi_vfio_device_check(ctx, info, &dev), 0, "vfio: check says 0");
	hmi_vfio_device_release(&dev);
}

static void test_vfio_refused(const struct hm_iommu_info *info)
{
	struct hm_vfio_device dev;
	char line[HMI_ERR_MAX];

	is_int(verdict_of(info, "0000:00:03.0", &dev, line, sizeof(line)), HM_VFIO_DRIVER,
	       "vfio: the NIC bound to e1000e: another driver");
	is_str(line,
	       "0000:00:03.0 is bound to e1000e: rebind it to vfio-pci: echo 0000:00:03.0 > "
	       "/sys/bus/pci/devices/0000:00:03.0/driver/unbind; echo vfio-pci > "
	       "/sys/bus/pci/devices/0000:00:03.0/driver_override; echo 0000:00:03.0 > "
	       "/sys/bus/pci/drivers_probe",
	       "vfio: ... the message names the three writes");
	is_int(hmi_vfio_device_check(ctx, info, &dev), -EBUSY, "vfio: ... check says -EBUSY");
	hmi_vfio_device_release(&dev);

	is_int(verdict_of(info, "0000:00:06.0", &dev, line, sizeof(line)), HM_VFIO_DRIVER,
	       "vfio: edu with no driver: bind it");
	ok(strstr(line, "is bound to no driver: bind it to vfio-pci: echo vfio-pci > ") &&
	       !strstr(line, "unbind"),
	   "vfio: ... the message binds, unbinds nothing");
	hmi_vfio_device_release(&dev);

	is_int(verdict_of(info, "01:00.0", &dev, line, sizeof(line)), HM_VFIO_NOT_VIABLE,
	       "vfio: edu beside a NIC on e1000e: group not viable");
	ok(dev.n_peers == 2 && strcmp(dev.peers[0].name, "0000:00:1c.0") == 0 &&
	       strcmp(dev.peers[1].name, "0000:01:00.1") == 0,
	   "vfio: ... the bridge and the NIC are its group's other devices");
	ok(dev.n_peers == 2 && dev.peers[0].dma_owned && !dev.peers[1].dma_owned &&
	       strcmp(dev.peers[0].driver, "pcieport") == 0 && dev.peers[0].class_code == 0x060400,
	   "vfio: ... the bridge on pcieport is allowed, the NIC on e1000e is not");
	like(line,
	     "0000:01:00.0: IOMMU group 8 is not viable: 0000:01:00.1 in the same group is bound "
	     "to e1000e (unbind it: echo 0000:01:00.1 > /sys/bus/pci/devices/0000:01:00.1/driver/"
	     "unbind, or bind it to vfio-pci too)",
	     "vfio: ... the message names the NIC and the fix");
	is_int(hmi_vfio_device_check(ctx, info, &dev), -EBUSY, "vfio: ... check says -EBUSY");
	hmi_vfio_device_release(&dev);
}

/* A node missing, a node denied, CAP_SYS_RAWIO missing: given by hand. */
static void test_nodes(const struct hm_iommu_info *real)
{
	struct hm_iommu_info info = *real;
	struct hm_vfio_device dev;
	char line[HMI_ERR_MAX];

	if (verdict_of(&info, "0000:00:05.0", &dev, line, sizeof(line)) != HM_VFIO_USABLE)
		return;
	dev.cdev_node = HM_NODE_MISSING;
	is_int(hm_vfio_verdict(&info, &dev, line, sizeof(line)), HM_VFIO_USABLE,
	       "nodes: without the cdev, type1 still works");
	dev.group_node = HM_NODE_MISSING;
	is_int(hm_vfio_verdict(&info, &dev, line, sizeof(line)), HM_VFIO_NO_NODE,
	       "nodes: without the cdev and the group node: none");
	like(line,
	     "0000:00:05.0 is bound to vfio-pci, but /dev/vfio/devices/vfio0 and /dev/vfio/7 do "
	     "not exist: this /dev is not the host's",
	     "nodes: ... names both");
	is_int(hmi_vfio_device_check(ctx, &info, &dev), -ENOENT, "nodes: ... check says -ENOENT");
	dev.group_node = HM_NODE_DENIED;
	is_int(hm_vfio_verdict(&info, &dev, line, sizeof(line)), HM_VFIO_NO_ACCESS,
	       "nodes: a denied group node: no access");
	like(line, "/dev/vfio/7: permission denied: run as root, or give this user the node",
	     "nodes: ... the message starts with the node");
	is_int(hmi_vfio_device_check(ctx, &info, &dev), -EACCES, "nodes: ... check says -EACCES");
	dev.group_node = HM_NODE_OPEN;
	info.vfio_container = HM_NODE_MISSING;
	is_int(hm_vfio_verdict(&info, &dev, line, sizeof(line)), HM_VFIO_NO_NODE,
	       "nodes: no /dev/vfio/vfio, no cdev: none");
	like(line, "but /dev/vfio/devices/vfio0 and /dev/vfio/vfio do not exist",
	     "nodes: ... names both");
	hmi_vfio_device_release(&dev);
}

static void test_vfio(void)
{
	struct hm_iommu_info info;

	if (set_fixture("iommu-vfio") < 0 || !ok(hmi_iommu_read(ctx, &info) == 0, "vfio: reads"))
		return;
	test_vfio_system(&info);
	test_vfio_usable(&info);
	test_vfio_refused(&info);
	test_nodes(&info);
	hmi_iommu_release(&info);
}

/* ------------------------------------------------------------------ no-IOMMU mode */

static void test_noiommu(void)
{
	struct hm_iommu_info info;
	struct hm_vfio_device dev;
	char line[HMI_ERR_MAX];

	if (set_fixture("iommu-noiommu") < 0 ||
	    !ok(hmi_iommu_read(ctx, &info) == 0, "noiommu: reads"))
		return;
	ok(!info.iommu && info.n_groups == 0, "noiommu: no IOMMU; vfio's own group is not counted");
	ok(info.noiommu && info.vfio && info.type1 && info.dma_entry_limit_default &&
	       info.dma_entry_limit == 65535,
	   "noiommu: mode on, type1 loaded without its parameter: the default limit");
	ok(info.iommufd == HM_NODE_MISSING && info.vfio_container == HM_NODE_OPEN,
	   "noiommu: no /dev/iommu, /dev/vfio/vfio there");
	ok(info.n_vfio_devices == 1 && info.vfio_devices[0].group == 0,
	   "noiommu: edu bound to vfio-pci, group 0");

	info.cap_sys_rawio = 1;
	is_int(verdict_of(&info, "0000:00:05.0", &dev, line, sizeof(line)), HM_VFIO_USABLE,
	       "noiommu: edu usable (with CAP_SYS_RAWIO)");
	ok(dev.noiommu_group && strcmp(dev.group_path, "/dev/vfio/noiommu-0") == 0 &&
	       dev.group_node == HM_NODE_OPEN,
	   "noiommu: ... through /dev/vfio/noiommu-0");
	is_int(hmi_vfio_paths(&info, &dev), HMI_VFIO_NOIOMMU, "noiommu: ... only the no-IOMMU way");
	like(line, "is usable through no-IOMMU (/dev/vfio/noiommu-0; unsafe",
	     "noiommu: ... the message says unsafe");
	info.cap_sys_rawio = 0;
	is_int(hm_vfio_verdict(&info, &dev, line, sizeof(line)), HM_VFIO_NO_ACCESS,
	       "noiommu: without CAP_SYS_RAWIO: no access");
	like(line, "/dev/vfio/noiommu-0: a no-IOMMU group opens only with CAP_SYS_RAWIO",
	     "noiommu: ... naming the capability");
	hmi_vfio_device_release(&dev);

	is_int(verdict_of(&info, "0000:00:03.0", &dev, line, sizeof(line)), HM_VFIO_DRIVER,
	       "noiommu: the NIC without a group, mode on: rebind it (vfio-pci makes the group)");
	hmi_vfio_device_release(&dev);
	hmi_iommu_release(&info);
}

/* ------------------------------------------------------------------ broken trees */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* A copy of iommu-vfio in TMP with REL replaced: by a file holding TEXT, or
 * (TARGET given) by a link to TARGET. */
static int broken_tree(const char *rel, const char *text, const char *target)
{
	const char *top = getenv("HM_TOP");
	char cmd[PATH_MAX * 3], path[PATH_MAX * 2];
	FILE *f;

	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/test/fixtures/iommu-vfio' '%s'", top ? top : ".",
		 tmp);
	if (system(cmd) != 0 || hm_ctx_set_root(ctx, tmp) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	unlink(path);
	if (target)
		return symlink(target, path);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* REL broken so: the device DEVICE (NULL: the system) does not read, with
 * a message naming NAMED and WHY. */
static void broken(const char *rel, const char *text, const char *target, const char *device,
		   const char *named, const char *why)
{
	struct hm_iommu_info info;
	struct hm_vfio_device dev;
	int rc;

	if (broken_tree(rel, text, target) < 0) {
		ok(0, "broken %s: tree made", rel);
		return;
	}
	rc = device ? hmi_vfio_device_read(ctx, device, &dev) : hmi_iommu_read(ctx, &info);
	ok(rc == -EINVAL && strstr(hm_errmsg(ctx), named) && strstr(hm_errmsg(ctx), why),
	   "broken %s: -EINVAL naming it", rel);
	if (rc != -EINVAL || !strstr(hm_errmsg(ctx), named))
		diag("  rc %d: %s", rc, hm_errmsg(ctx));
	if (rc == 0 && device)
		hmi_vfio_device_release(&dev);
	else if (rc == 0)
		hmi_iommu_release(&info);
}

static void test_broken(void)
{
	const char *edu = "sys/devices/pci0000:00/0000:00:05.0", *named = "0000:00:05.0/";
	char rel[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "/tmp/hmtest-iommu-%d", (int)getpid());
	snprintf(rel, sizeof(rel), "%s/vendor", edu);
	broken(rel, "1234\n", NULL, "00:05.0", named, "vendor: expected a hex number up to 0xffff");
	snprintf(rel, sizeof(rel), "%s/class", edu);
	broken(rel, "0x1000000\n", NULL, "00:05.0", named,
	       "class: expected a hex number up to 0xffffff");
	snprintf(rel, sizeof(rel), "%s/numa_node", edu);
	broken(rel, "zero\n", NULL, "00:05.0", named, "numa_node: expected a node number or -1");
	snprintf(rel, sizeof(rel), "%s/driver", edu);
	broken(rel, NULL, "../../../bus/pci/drivers/vfio pci", "00:05.0", named,
	       "driver points to '../../../bus/pci/drivers/vfio pci': not a name sysfs gives");
	snprintf(rel, sizeof(rel), "%s/iommu_group", edu);
	broken(rel, NULL, "../../../kernel/iommu_groups/seven", "00:05.0", named,
	       "iommu_group points to 'seven': not a group number");
	snprintf(rel, sizeof(rel), "%s/0000:01:00.1/vendor", "sys/devices/pci0000:00/0000:00:1c.0");
	broken(rel, "0xfffff\n", NULL, "01:00.0", "iommu_groups/8/devices/0000:01:00.1/vendor",
	       "expected a hex number");
	broken("sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "lots\n", NULL, NULL,
	       "dma_entry_limit", "expected a count of mappings, found 'lots'");
	broken("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "maybe\n", NULL, NULL,
	       "enable_unsafe_noiommu_mode", "expected Y or N, found 'maybe'");
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ limits */

static void test_limits(void)
{
	struct hm_iommu_info info = {
	    .memlock_bytes = 64 * MiB, .dma_entry_limit = 65535, .dma_entry_limit_default = 1};
	struct rlimit old, low = {8 * MiB, 8 * MiB};

	is_int(hmi_iommu_check_memlock(ctx, &info, 64 * MiB), 0, "memlock: 64 MiB fits 64 MiB");
	is_int(hmi_iommu_check_memlock(ctx, &info, 128 * MiB), -ENOMEM,
	       "memlock: 128 MiB does not");
	like(hm_errmsg(ctx), "RLIMIT_MEMLOCK) 64 MiB is too low to pin 128 MiB",
	     "memlock: ... naming the limit and the bytes");
	like(hm_errmsg(ctx), "ulimit -l 131072", "memlock: ... ulimit -l in KiB");
	like(hm_errmsg(ctx), "LimitMEMLOCK=128M", "memlock: ... LimitMEMLOCK=");
	like(hm_errmsg(ctx), "CAP_IPC_LOCK", "memlock: ... and CAP_IPC_LOCK");
	info.cap_ipc_lock = 1;
	is_int(hmi_iommu_check_memlock(ctx, &info, 1ULL << 40), 0, "memlock: CAP_IPC_LOCK: 1 TiB");
	info.cap_ipc_lock = 0;
	info.memlock_bytes = UINT64_MAX;
	is_int(hmi_iommu_check_memlock(ctx, &info, 1ULL << 40), 0, "memlock: unlimited: 1 TiB");

	is_int(hmi_iommu_check_entries(ctx, &info, 65535), 0, "entries: 65535 fit");
	is_int(hmi_iommu_check_entries(ctx, &info, 65536), -ENOSPC, "entries: 65536 do not");
	like(hm_errmsg(ctx), "dma_entry_limit 65535 (the kernel's default)",
	     "entries: ... naming the parameter and its value");
	like(hm_errmsg(ctx), "options vfio_iommu_type1 dma_entry_limit=65536",
	     "entries: ... and how to raise it");

	if (getrlimit(RLIMIT_MEMLOCK, &old) == 0 && setrlimit(RLIMIT_MEMLOCK, &low) == 0 &&
	    set_fixture("iommu-none") == 0 && hmi_iommu_read(ctx, &info) == 0) {
		is_u64(info.memlock_bytes, 8 * MiB, "memlock: the process's limit is read");
		hmi_iommu_release(&info);
	} else {
		ok(0, "memlock: set and read the limit");
	}
	setrlimit(RLIMIT_MEMLOCK, &old);
}

/* ------------------------------------------------------------------ public calls */

static void test_public(void)
{
	struct hm_iommu_info *info = NULL;
	struct hm_vfio_device *dev = (void *)1;
	char line[256];

	if (set_fixture("iommu-vfio") < 0)
		return;
	is_int(hm_iommu_read(ctx, &info), 0, "public: hm_iommu_read");
	ok(info && info->n_vfio_devices == 2, "public: ... two devices bound to VFIO");
	is_int(hm_vfio_device_read(ctx, "zz", &dev), -EINVAL,
	       "public: hm_vfio_device_read of 'zz' is -EINVAL");
	ok(dev == NULL, "public: ... and *out is NULL");
	is_int(hm_vfio_device_read(ctx, "01:00.0", &dev), 0, "public: hm_vfio_device_read");
	ok(dev && info && hm_vfio_verdict(info, dev, line, sizeof(line)) == HM_VFIO_NOT_VIABLE,
	   "public: ... its verdict");
	hm_vfio_device_free(dev);
	hm_iommu_free(info);
	hm_vfio_device_free(NULL);
	hm_iommu_free(NULL);
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	test_none();
	test_vfio();
	test_noiommu();
	test_broken();
	test_limits();
	test_public();
	hm_ctx_free(ctx);
	return done();
}
