/* SPDX-License-Identifier: MIT */
/*
 * cli_dma.c — the device side through the command line and the example
 * driver, in the VFIO guest: what a user types.
 *
 *   cli_dma BDF HUGE_DIR MODE      (run by the guest's init, see vfio_guest.h)
 *
 *  iommu    `hugemem status --vfio-device BDF` says usable (exit 0);
 *           `hugemem init --vfio-device BDF --json` prints the dma object
 *           (iommufd, one mapping) and `--iommu type1` the type1 one; the text
 *           output's devices line; examples/edu_driver (built like a user's
 *           driver, against the library) DMAs out and back through iommufd
 *           and type1; a process without CAP_IPC_LOCK whose memlock limit is
 *           below the memory is refused before anything is pinned, naming
 *           ulimit -l; an edu whose group (behind one PCI bridge) holds a
 *           device bound to pci-pf-stub: status exit 7 and init exit 1, both
 *           naming the device in the way.
 *  iommu39  `hugemem init --vfio-device BDF` exits 1 naming --iova-mode
 *           alloc; with it, it maps.
 *  noiommu  `hugemem init --vfio-device BDF --iommu noiommu`: IOVA = PA; the
 *           example driver in no-IOMMU mode.
 */
#include "hugemem.h"

#include "tap.h"
#include "vfio_guest.h"

#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct vg_args *args;

/* Run CMD (a shell line) and keep its standard output and error in OUT;
 * the exit status. */
static int run(const char *cmd, char *out, size_t len)
{
	char line[1024];
	FILE *p;
	size_t used = 0;
	int st;

	snprintf(line, sizeof(line), "%s 2>&1", cmd);
	p = popen(line, "r");
	if (!p)
		return -1;
	out[0] = '\0';
	while (used + 1 < len && fgets(out + used, (int)(len - used), p))
		used += strlen(out + used);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int init_line(char *out, size_t len, const char *extra)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "/bin/hugemem init -m 8 --huge-dir %s --file-prefix clidma --vfio-device %s %s",
		 args->huge_dir, args->bdf, extra);
	return run(cmd, out, len);
}

static void example(const char *backend)
{
	char cmd[256], out[4096];

	snprintf(cmd, sizeof(cmd), "/bin/edu_driver %s %s", args->bdf, backend);
	is_int(run(cmd, out, sizeof(out)), 0, "%s: edu: examples/edu_driver DMAs out and back",
	       backend);
	ok(strstr(out, ": match") != NULL, "%s: edu: ...and says the bytes match: %.120s", backend,
	   out);
}

/* Without CAP_IPC_LOCK and with a memlock limit of 1 MiB, 8 MiB cannot be
 * pinned: hm_init refuses before mapping, naming the limit. */
static void memlock_child(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	struct rlimit lim = {1 << 20, 1 << 20};
	char out[4096];

	syscall(SYS_capget, &h, d);
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	d[0].permitted &= ~(1u << CAP_IPC_LOCK);
	d[0].inheritable &= ~(1u << CAP_IPC_LOCK);
	prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0 || setrlimit(RLIMIT_MEMLOCK, &lim) < 0)
		_exit(20);
	if (init_line(out, sizeof(out), "--iommu iommufd") == 0 || !strstr(out, "ulimit -l"))
		_exit(21);
	_exit(0);
}

static void memlock(void)
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0)
		memlock_child();
	waitpid(pid, &st, 0);
	is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0,
	       "iommufd: no CAP_IPC_LOCK, memlock 1 MiB: init refused, naming ulimit -l");
}

/* The edu at 01:01.0 shares its group (one PCI bridge) with one bound to
 * pci-pf-stub (the guest's init): status and init refuse it, naming the other. */
static void not_viable(void)
{
	char out[8192];

	is_int(run("/bin/hugemem status --vfio-device 0000:01:01.0", out, sizeof(out)), 7,
	       "type1: status of an edu in a group that is not viable: exit 7");
	ok(strstr(out, "not viable") && strstr(out, "0000:01:02.0") && strstr(out, "pci-pf-stub"),
	   "type1: ...naming the device in the way and its driver");
	snprintf(out, sizeof(out),
		 "/bin/hugemem init -m 8 --huge-dir %s --file-prefix clidma "
		 "--vfio-device 0000:01:01.0",
		 args->huge_dir);
	is_int(run(out, out, sizeof(out)), 1,
	       "type1: init with it: exit 1, before anything is pinned");
	ok(strstr(out, "0000:01:02.0") != NULL, "type1: ...naming 0000:01:02.0");
}

static void iommu(void)
{
	char out[8192], cmd[256];

	snprintf(cmd, sizeof(cmd), "/bin/hugemem status --vfio-device %s", args->bdf);
	is_int(run(cmd, out, sizeof(out)), 0, "iommufd: hugemem status --vfio-device: exit 0");
	ok(strstr(out, "is usable through iommufd") != NULL, "iommufd: ...the device is usable");
	is_int(init_line(out, sizeof(out), "--json"), 0,
	       "iommufd: hugemem init --vfio-device --json");
	ok(strstr(out, "\"dma\":{\"backend\":\"iommufd\",\"mappings\":1") != NULL,
	   "iommufd: ...its dma object: auto chose iommufd, one mapping");
	is_int(init_line(out, sizeof(out), "--iommu type1 --json"), 0,
	       "type1: hugemem init --vfio-device --iommu type1 --json");
	ok(strstr(out, "\"backend\":\"type1\"") != NULL, "type1: ...its dma object says type1");
	is_int(init_line(out, sizeof(out), ""), 0, "iommufd: hugemem init --vfio-device, text");
	ok(strstr(out, "devices (iommufd): 0000:00:05.0; 1 mapping, 8 MiB pinned") != NULL,
	   "iommufd: ...the devices line (devices, mappings, bytes pinned)");
	example("iommufd");
	example("type1");
	memlock();
	not_viable();
}

int main(int argc, char **argv)
{
	struct vg_args a;
	char out[8192];

	if (vg_args_parse(argc, argv, &a) < 0)
		return 2;
	args = &a;
	if (strcmp(a.mode, "iommu") == 0) {
		iommu();
	} else if (strcmp(a.mode, "iommu39") == 0) {
		is_int(init_line(out, sizeof(out), ""), 1, "iommufd: init with IOVA = VA: exit 1");
		ok(strstr(out, "--iova-mode alloc") != NULL,
		   "iommufd: ...naming --iova-mode alloc");
		is_int(init_line(out, sizeof(out), "--iova-mode alloc"), 0,
		       "iommufd: init --iova-mode alloc maps");
	} else {
		is_int(init_line(out, sizeof(out), "--iommu noiommu"), 0,
		       "noiommu: hugemem init --vfio-device --iommu noiommu");
		ok(strstr(out, "IOVA = PA") != NULL, "noiommu: ...IOVA = PA");
		example("noiommu");
	}
	return done();
}
