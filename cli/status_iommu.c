/* SPDX-License-Identifier: MIT */
/*
 * status_iommu.c — the IOMMU side of `hugemem status`: the IOMMU and its
 * groups, iommufd and VFIO's nodes, no-IOMMU mode, the memlock budget, type1's
 * entry limit, the devices bound to VFIO; and, per --vfio-device, the device
 * and its verdict (hm_iommu_read, hm_vfio_device_read, hm_vfio_verdict). A
 * part that cannot be read is said, and the rest of status goes on; a device
 * that is not usable (or cannot be read) makes status exit 7 when the pool
 * is usable (docs/usage.md, "Exit status").
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const access_names[] = {"missing", "denied", "open"};

static const char *const vfio_verdict_names[] = {
    [HM_VFIO_USABLE] = "usable",	 [HM_VFIO_NO_DEVICE] = "no-device",
    [HM_VFIO_NO_IOMMU] = "no-iommu",	 [HM_VFIO_DRIVER] = "driver",
    [HM_VFIO_NOT_VIABLE] = "not-viable", [HM_VFIO_NO_NODE] = "no-node",
    [HM_VFIO_NO_ACCESS] = "no-access",
};

static const char *access_name(enum hm_node_access a)
{
	return access_names[(int)a + 1];
}

/* "BDF: unknown: WHY" into C's line; WHY may lie in the same structure as C. */
static void unknown_line(struct cli_vfio_check *c, const char *name, const char *why)
{
	char copy[sizeof(((struct cli_iommu *)0)->info_err)];

	snprintf(copy, sizeof(copy), "%s", why);
	snprintf(c->line, sizeof(c->line), "%s: unknown: %s", name, copy);
}

void cli_iommu_gather(struct hm_ctx *ctx, const struct cli_opts *o, struct cli_iommu *io)
{
	memset(io, 0, sizeof(*io));
	if (hm_iommu_read(ctx, &io->info) < 0)
		snprintf(io->info_err, sizeof(io->info_err), "%s", hm_errmsg(ctx));
	io->n = o->lib.n_vfio_devices;
	for (int i = 0; i < io->n; i++) {
		struct cli_vfio_check *c = &io->checks[i];

		const char *name = o->lib.vfio_devices[i]; /* not inside IO: no overlap */

		snprintf(c->name, sizeof(c->name), "%s", name);
		if (hm_vfio_device_read(ctx, name, &c->dev) < 0)
			snprintf(c->line, sizeof(c->line), "%s: unknown: %s", name, hm_errmsg(ctx));
		else if (!io->info)
			unknown_line(c, name, io->info_err);
		else
			c->verdict = hm_vfio_verdict(io->info, c->dev, c->line, sizeof(c->line));
		c->known = c->dev && io->info;
		c->usable = c->known && c->verdict == HM_VFIO_USABLE;
		io->unusable += !c->usable;
	}
}

void cli_iommu_release(struct cli_iommu *io)
{
	for (int i = 0; i < io->n; i++)
		hm_vfio_device_free(io->checks[i].dev);
	hm_iommu_free(io->info);
	memset(io, 0, sizeof(*io));
}

/* ------------------------------------------------------------------ text */

static const char *node_words(enum hm_node_access a)
{
	return a == HM_NODE_OPEN     ? "you may open it"
	       : a == HM_NODE_DENIED ? "there, but you may not open it (permissions)"
				     : "not there";
}

static void text_memlock(const struct hm_iommu_info *info)
{
	char size[32];

	if (info->cap_ipc_lock)
		printf("  memlock    no limit: this process has CAP_IPC_LOCK\n");
	else if (info->memlock_bytes == UINT64_MAX)
		printf("  memlock    unlimited (RLIMIT_MEMLOCK)\n");
	else
		printf("  memlock    %s may be pinned for DMA (RLIMIT_MEMLOCK, no CAP_IPC_LOCK: "
		       "ulimit -l to raise it)\n",
		       hm_size_str(info->memlock_bytes, size, sizeof(size)));
}

static void text_bound(const struct hm_iommu_info *info)
{
	if (info->n_vfio_devices == 0)
		printf("  vfio-pci   no device bound to a VFIO driver\n");
	for (int i = 0; i < info->n_vfio_devices; i++) {
		const struct hm_pci_dev *d = &info->vfio_devices[i];
		char node[16] = "none";

		if (d->node >= 0)
			snprintf(node, sizeof(node), "%d", d->node);
		printf("  %-10s %s [%04x:%04x] %s, group %d, node %s\n", i ? "" : "vfio-pci",
		       d->name, d->vendor, d->device, d->driver, d->group, node);
	}
}

static void text_info(const struct hm_iommu_info *info)
{
	if (info->iommu)
		printf("  iommu      on, %d group%s\n", info->n_groups,
		       info->n_groups == 1 ? "" : "s");
	else
		printf("  iommu      none: boot with intel_iommu=on / amd_iommu=on (and VT-d / "
		       "AMD-Vi on in the firmware)\n");
	printf("  iommufd    /dev/iommu: %s\n", node_words(info->iommufd));
	printf("  vfio       %s; /dev/vfio/vfio: %s; no-IOMMU mode %s\n",
	       info->vfio ? "loaded" : "not loaded", node_words(info->vfio_container),
	       info->noiommu ? "ON (unsafe)" : "off");
	printf("  type1      dma_entry_limit %llu%s\n", (unsigned long long)info->dma_entry_limit,
	       !info->type1		       ? " (the kernel's default; module not loaded)"
	       : info->dma_entry_limit_default ? " (the kernel's default)"
					       : "");
	text_memlock(info);
	text_bound(info);
}

/* One line per other device of DEV's group. */
static void text_peers(const struct hm_vfio_device *dev)
{
	for (int i = 0; i < dev->n_peers; i++) {
		const struct hm_pci_dev *p = &dev->peers[i];

		printf("  %-10s %s, %s%s\n", i ? "" : "group has", p->name,
		       p->driver[0] ? p->driver : "no driver",
		       p->dma_owned ? "" : ": does DMA, so VFIO may not take the group");
	}
}

static void text_device(const struct cli_vfio_check *c)
{
	const struct hm_vfio_device *dev = c->dev;
	char node[16] = "none";

	if (!dev || !dev->exists)
		return;
	if (dev->dev.node >= 0)
		snprintf(node, sizeof(node), "%d", dev->dev.node);
	printf("device %s\n", dev->dev.name);
	printf("  ids        %04x:%04x, class %06x, node %s, driver %s\n", dev->dev.vendor,
	       dev->dev.device, dev->dev.class_code, node,
	       dev->dev.driver[0] ? dev->dev.driver : "none");
	if (dev->dev.group >= 0)
		printf("  group      %d%s: %s (%s)\n", dev->dev.group,
		       dev->noiommu_group ? " (no-IOMMU)" : "", dev->group_path,
		       access_name(dev->group_node));
	if (dev->cdev_path[0])
		printf("  cdev       %s (%s)\n", dev->cdev_path, access_name(dev->cdev_node));
	text_peers(dev);
}

void cli_iommu_text(const struct cli_iommu *io)
{
	printf("IOMMU and VFIO\n");
	if (io->info)
		text_info(io->info);
	else
		printf("  unknown: %s\n", io->info_err);
	for (int i = 0; i < io->n; i++)
		text_device(&io->checks[i]);
}

void cli_iommu_verdicts_text(const struct cli_iommu *io)
{
	char shown[CLI_SHOWN_MAX];

	for (int i = 0; i < io->n; i++)
		printf("  %s\n", cli_shown(io->checks[i].line, shown, sizeof(shown)));
}

/* ------------------------------------------------------------------ JSON */

static void json_pci(struct json *j, const struct hm_pci_dev *d)
{
	char hex[16];

	json_str(j, "device", d->name);
	if (d->pci) { /* as lspci -n writes them */
		snprintf(hex, sizeof(hex), "0x%04x", d->vendor);
		json_str(j, "vendor_id", hex);
		snprintf(hex, sizeof(hex), "0x%04x", d->device);
		json_str(j, "device_id", hex);
		snprintf(hex, sizeof(hex), "0x%06x", d->class_code);
		json_str(j, "class", hex);
	}
	json_str(j, "driver", d->driver[0] ? d->driver : NULL);
	if (d->group >= 0)
		json_i64(j, "group", d->group);
	else
		json_null(j, "group");
	json_i64(j, "node", d->node);
	json_bool(j, "dma_owned", d->dma_owned);
}

static void json_bound(struct json *j, const struct hm_iommu_info *info)
{
	char cdev[40];

	json_arr(j, "vfio_devices");
	for (int i = 0; i < info->n_vfio_devices; i++) {
		const struct hm_pci_dev *d = &info->vfio_devices[i];

		snprintf(cdev, sizeof(cdev), "/dev/vfio/devices/vfio%d", d->vfio_cdev);
		json_obj(j, NULL);
		json_pci(j, d);
		json_str(j, "cdev", d->vfio_cdev >= 0 ? cdev : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_info(struct json *j, const struct hm_iommu_info *info)
{
	json_bool(j, "present", info->iommu);
	json_i64(j, "groups", info->n_groups);
	json_str(j, "iommufd", access_name(info->iommufd));
	json_str(j, "vfio_container", access_name(info->vfio_container));
	json_bool(j, "vfio_loaded", info->vfio);
	json_bool(j, "vfio_pci_loaded", info->vfio_pci);
	json_bool(j, "noiommu_mode", info->noiommu);
	json_bool(j, "type1_loaded", info->type1);
	json_u64(j, "dma_entry_limit", info->dma_entry_limit);
	json_bool(j, "dma_entry_limit_default", info->dma_entry_limit_default);
	json_limit(j, "memlock_bytes", info->memlock_bytes);
	json_bool(j, "cap_ipc_lock", info->cap_ipc_lock);
	json_bool(j, "cap_sys_rawio", info->cap_sys_rawio);
	json_bound(j, info);
}

static void json_node(struct json *j, const char *key, const char *path, enum hm_node_access a)
{
	char access_key[32];

	snprintf(access_key, sizeof(access_key), "%s_access", key);
	json_str(j, key, path[0] ? path : NULL);
	json_str(j, access_key, path[0] ? access_name(a) : NULL);
}

static void json_check(struct json *j, const struct cli_vfio_check *c)
{
	const struct hm_vfio_device *dev = c->dev;

	json_obj(j, NULL);
	if (dev && dev->exists) {
		json_pci(j, &dev->dev);
		json_bool(j, "exists", 1);
		json_bool(j, "noiommu_group", dev->noiommu_group);
		json_node(j, "group_node", dev->group_path, dev->group_node);
		json_node(j, "cdev", dev->cdev_path, dev->cdev_node);
		json_bool(j, "viable", dev->viable);
		json_arr(j, "group_peers");
		for (int i = 0; i < dev->n_peers; i++) {
			json_obj(j, NULL);
			json_pci(j, &dev->peers[i]);
			json_obj_end(j);
		}
		json_arr_end(j);
	} else {
		json_str(j, "device", c->name);
		if (dev)
			json_bool(j, "exists", 0);
		else
			json_null(j, "exists"); /* could not be read: the message says why */
	}
	json_str(j, "verdict", c->known ? vfio_verdict_names[c->verdict] : "unknown");
	json_bool(j, "usable", c->usable);
	json_str(j, "message", c->line);
	json_obj_end(j);
}

void cli_iommu_json(struct json *j, const struct cli_iommu *io)
{
	json_obj(j, "iommu");
	if (io->info)
		json_info(j, io->info);
	else
		json_str(j, "error", io->info_err);
	json_arr(j, "device_verdicts");
	for (int i = 0; i < io->n; i++)
		json_check(j, &io->checks[i]);
	json_arr_end(j);
	json_obj_end(j);
}
