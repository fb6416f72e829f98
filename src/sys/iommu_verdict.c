/* SPDX-License-Identifier: MIT */
/*
 * sys/iommu_verdict.c — whether VFIO can hand a device to this process, as
 * one line that names the fix (hm_vfio_verdict), and the refusals the DMA
 * layer makes before it pins anything: memlock and type1's entry limit.
 *
 * The checks go in the order a user has to fix things: a device that does
 * not exist; no IOMMU group without no-IOMMU mode (binding it to vfio-pci
 * would fail: vfio-pci refuses a device without a group); the driver
 * (vfio-pci, or a variant whose name says vfio); the group's viability (an
 * unbound device, pci-stub and pcieport are fine: sys/iommu.c); then the
 * device nodes: iommufd takes /dev/iommu and the cdev
 * /dev/vfio/devices/vfioN, the group API /dev/vfio/vfio and /dev/vfio/N, and
 * a no-IOMMU group /dev/vfio/noiommu-N with CAP_SYS_RAWIO as well
 * (vfio_group_fops_open). A device is usable when one of those ways is open.
 */
#include "sys/iommu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"

static int vfio_driver(const char *driver)
{
	return strstr(driver, "vfio") != NULL;
}

unsigned hmi_vfio_paths(const struct hm_iommu_info *info, const struct hm_vfio_device *dev)
{
	int grouped = dev->exists && dev->dev.group >= 0, iommu = grouped && !dev->noiommu_group;
	int group_api = info->vfio_container == HM_NODE_OPEN && dev->group_node == HM_NODE_OPEN;
	unsigned paths = 0;

	if (iommu && info->iommufd == HM_NODE_OPEN && dev->cdev_node == HM_NODE_OPEN)
		paths |= HMI_VFIO_IOMMUFD;
	if (iommu && group_api)
		paths |= HMI_VFIO_TYPE1;
	if (grouped && dev->noiommu_group && group_api && info->cap_sys_rawio)
		paths |= HMI_VFIO_NOIOMMU;
	return paths;
}

/* ------------------------------------------------------------------ one line per verdict */

static enum hm_vfio_verdict no_iommu(const struct hm_iommu_info *info, const char *name, char *buf,
				     size_t len)
{
	const char *enable =
	    info->vfio ? "echo Y > " NOIOMMU_PARAM : "modprobe vfio enable_unsafe_noiommu_mode=1";

	if (info->iommu)
		snprintf(buf, len,
			 "%s is in no IOMMU group, though this machine has an IOMMU: it does not "
			 "cover the device (see dmesg for DMAR or AMD-Vi); or use --iommu noiommu "
			 "(unsafe: %s)",
			 name, enable);
	else
		snprintf(buf, len,
			 "no IOMMU (%s is in no IOMMU group): boot with intel_iommu=on / "
			 "amd_iommu=on (and VT-d / AMD-Vi on in the firmware), or use --iommu "
			 "noiommu (unsafe: %s)",
			 name, enable);
	return HM_VFIO_NO_IOMMU;
}

static enum hm_vfio_verdict wrong_driver(const struct hm_iommu_info *info, const char *name,
					 const char *driver, char *buf, size_t len)
{
	char unbind[2 * HM_DEV_NAME_MAX + 64] = "";

	if (driver[0])
		snprintf(unbind, sizeof(unbind),
			 "echo %s > /sys/bus/pci/devices/%s/driver/unbind; ", name, name);
	snprintf(buf, len,
		 "%s is bound to %s: %s it to vfio-pci: %s%secho vfio-pci > "
		 "/sys/bus/pci/devices/%s/driver_override; echo %s > /sys/bus/pci/drivers_probe",
		 name, driver[0] ? driver : "no driver", driver[0] ? "rebind" : "bind",
		 info->vfio_pci ? "" : "modprobe vfio-pci; ", unbind, name, name);
	return HM_VFIO_DRIVER;
}

static enum hm_vfio_verdict not_viable(const struct hm_vfio_device *dev, char *buf, size_t len)
{
	const struct hm_pci_dev *first = NULL;
	int others = 0;

	for (int i = 0; i < dev->n_peers; i++) {
		if (dev->peers[i].dma_owned)
			continue;
		others += first != NULL;
		first = first ? first : &dev->peers[i];
	}
	if (!first) /* a peer that could not be read: viable 0, none named */
		snprintf(
		    buf, len,
		    "%s: IOMMU group %d is not viable: see /sys/kernel/iommu_groups/%d/devices",
		    dev->dev.name, dev->dev.group, dev->dev.group);
	else
		snprintf(
		    buf, len,
		    "%s: IOMMU group %d is not viable: %s in the same group is bound to %s%s "
		    "(unbind it: echo %s > /sys/bus/pci/devices/%s/driver/unbind, or bind it to "
		    "vfio-pci too)",
		    dev->dev.name, dev->dev.group, first->name, first->driver,
		    others ? " (and more devices there to other drivers)" : "", first->name,
		    first->name);
	return HM_VFIO_NOT_VIABLE;
}

/* The nodes of the ways DEV could be opened (iommufd: the cdev and
 * /dev/iommu; the group API: the group node and /dev/vfio/vfio) in STATE,
 * joined with " and " into BUF: how many. */
static int nodes_in(const struct hm_iommu_info *info, const struct hm_vfio_device *dev,
		    enum hm_node_access state, char *buf, size_t len)
{
	const char *paths[4] = {NULL};
	enum hm_node_access states[4];
	size_t used = 0;
	int n = 0, found = 0;

	if (dev->cdev_path[0] && !dev->noiommu_group) {
		paths[n] = dev->cdev_path, states[n++] = dev->cdev_node;
		paths[n] = "/dev/iommu", states[n++] = info->iommufd;
	}
	if (dev->group_path[0])
		paths[n] = dev->group_path, states[n++] = dev->group_node;
	paths[n] = "/dev/vfio/vfio", states[n++] = info->vfio_container;
	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++)
		if (states[i] == state)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 found++ ? " and " : "", paths[i]);
	return found;
}

static enum hm_vfio_verdict no_way(const struct hm_iommu_info *info,
				   const struct hm_vfio_device *dev, char *buf, size_t len)
{
	char nodes[160];
	int n;

	if (nodes_in(info, dev, HM_NODE_DENIED, nodes, sizeof(nodes)) > 0) {
		snprintf(buf, len,
			 "%s: permission denied: run as root, or give this user the node (chown "
			 "USER %s; for good, a udev rule: SUBSYSTEM==\"vfio\", OWNER=\"USER\")",
			 nodes, nodes);
		return HM_VFIO_NO_ACCESS;
	}
	n = nodes_in(info, dev, HM_NODE_MISSING, nodes, sizeof(nodes));
	if (n > 0) {
		snprintf(buf, len,
			 "%s is bound to %s, but %s %s: this /dev is not the host's (a container "
			 "needs --device for each)%s",
			 dev->dev.name, dev->dev.driver, nodes,
			 n > 1 ? "do not exist" : "does not exist",
			 info->vfio ? "" : "; modprobe vfio");
		return HM_VFIO_NO_NODE;
	}
	snprintf(buf, len,
		 "%s: a no-IOMMU group opens only with CAP_SYS_RAWIO: run as root (or give the "
		 "program that capability)",
		 dev->group_path);
	return HM_VFIO_NO_ACCESS;
}

static void usable(const struct hm_vfio_device *dev, unsigned paths, char *buf, size_t len)
{
	char node[32] = "";

	if (dev->dev.node >= 0)
		snprintf(node, sizeof(node), ", node %d", dev->dev.node);
	if (paths & HMI_VFIO_NOIOMMU)
		snprintf(buf, len,
			 "%s [%04x:%04x] is usable through no-IOMMU (%s; unsafe: the device can "
			 "reach all memory): %s%s",
			 dev->dev.name, dev->dev.vendor, dev->dev.device, dev->group_path,
			 dev->dev.driver, node);
	else
		snprintf(buf, len,
			 "%s [%04x:%04x] is usable through %s%s%s%s%s%s%s: %s, IOMMU group %d%s",
			 dev->dev.name, dev->dev.vendor, dev->dev.device,
			 paths & HMI_VFIO_IOMMUFD ? "iommufd (" : "",
			 paths & HMI_VFIO_IOMMUFD ? dev->cdev_path : "",
			 paths & HMI_VFIO_IOMMUFD ? ")" : "",
			 paths == (HMI_VFIO_IOMMUFD | HMI_VFIO_TYPE1) ? " and " : "",
			 paths & HMI_VFIO_TYPE1 ? "type1 (" : "",
			 paths & HMI_VFIO_TYPE1 ? dev->group_path : "",
			 paths & HMI_VFIO_TYPE1 ? ")" : "", dev->dev.driver, dev->dev.group, node);
}

enum hm_vfio_verdict hm_vfio_verdict(const struct hm_iommu_info *info,
				     const struct hm_vfio_device *dev, char *buf, size_t len)
{
	const char *name = dev->dev.name;
	unsigned paths;

	if (!dev->exists) {
		snprintf(buf, len, "no such PCI device %s (lspci -D lists this machine's)", name);
		return HM_VFIO_NO_DEVICE;
	}
	if (dev->dev.group < 0 && !info->noiommu)
		return no_iommu(info, name, buf, len);
	if (dev->dev.group < 0 && vfio_driver(dev->dev.driver)) {
		snprintf(buf, len,
			 "%s is bound to %s but in no IOMMU group: it was bound before no-IOMMU "
			 "mode was on; rebind it: echo %s > /sys/bus/pci/devices/%s/driver/unbind; "
			 "echo %s > /sys/bus/pci/drivers_probe",
			 name, dev->dev.driver, name, name, name);
		return HM_VFIO_NO_IOMMU;
	}
	if (!vfio_driver(dev->dev.driver))
		return wrong_driver(info, name, dev->dev.driver, buf, len);
	if (dev->dev.group >= 0 && !dev->viable)
		return not_viable(dev, buf, len);
	paths = hmi_vfio_paths(info, dev);
	if (!paths)
		return no_way(info, dev, buf, len);
	usable(dev, paths, buf, len);
	return HM_VFIO_USABLE;
}

/* ------------------------------------------------------------------ refusals */

int hmi_vfio_device_check(struct hm_ctx *ctx, const struct hm_iommu_info *info,
			  const struct hm_vfio_device *dev)
{
	static const int codes[] = {
	    [HM_VFIO_USABLE] = 0,	  [HM_VFIO_NO_DEVICE] = ENODEV, [HM_VFIO_NO_IOMMU] = ENXIO,
	    [HM_VFIO_DRIVER] = EBUSY,	  [HM_VFIO_NOT_VIABLE] = EBUSY, [HM_VFIO_NO_NODE] = ENOENT,
	    [HM_VFIO_NO_ACCESS] = EACCES,
	};
	char line[HMI_ERR_MAX];
	enum hm_vfio_verdict v = hm_vfio_verdict(info, dev, line, sizeof(line));

	return v == HM_VFIO_USABLE ? 0 : hmi_err(ctx, codes[v], "%s", line);
}

int hmi_iommu_check_memlock(struct hm_ctx *ctx, const struct hm_iommu_info *info, uint64_t bytes)
{
	char need[32], have[32], unit[32];
	uint64_t kib = bytes / 1024 + (bytes % 1024 != 0);

	if (info->cap_ipc_lock || info->memlock_bytes == UINT64_MAX || bytes <= info->memlock_bytes)
		return 0;
	hmi_format_size(bytes, need, sizeof(need));
	hmi_format_size(info->memlock_bytes, have, sizeof(have));
	hmi_format_size_short(kib * 1024, unit, sizeof(unit));
	return hmi_err(ctx, ENOMEM,
		       "the memlock limit (RLIMIT_MEMLOCK) %s is too low to pin %s for DMA (memory "
		       "this process has locked already counts too): raise it (ulimit -l %" PRIu64
		       " in the shell, LimitMEMLOCK=%s in a systemd unit, memlock in "
		       "/etc/security/limits.conf), or give the process CAP_IPC_LOCK",
		       have, need, kib, unit);
}

int hmi_iommu_check_entries(struct hm_ctx *ctx, const struct hm_iommu_info *info, uint64_t entries)
{
	if (entries <= info->dma_entry_limit)
		return 0;
	return hmi_err(ctx, ENOSPC,
		       "%" PRIu64 " DMA mappings are more than vfio_iommu_type1's dma_entry_limit "
		       "%" PRIu64 "%s: raise it before the container is opened (echo %" PRIu64
		       " > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit, or options "
		       "vfio_iommu_type1 dma_entry_limit=%" PRIu64 " in /etc/modprobe.d/), use "
		       "larger pages (fewer segments), or use iommufd, which has no such limit",
		       entries, info->dma_entry_limit,
		       info->dma_entry_limit_default ? " (the kernel's default)" : "", entries,
		       entries);
}
