/* SPDX-License-Identifier: MIT */
/*
 * parse/parse.h — the parsing layer: every piece of sysfs and procfs text hugemem
 * reads goes through one of these functions. They take the text itself (never
 * a file), so tests and fuzz harnesses can feed them anything, and never trust
 * it: any byte sequence gives either a result or -EINVAL/-ERANGE with a
 * message (when a context is given).
 */
#ifndef HM_PARSE_H
#define HM_PARSE_H

#include "base/ctx.h"

#include <sys/types.h>

/* "hugepages-2048kB" -> 2097152. -EINVAL when the name is not of that form. */
int hmi_parse_hugepages_dirname(const char *name, uint64_t *bytes);

/* /proc/meminfo text -> Hugepagesize in bytes (0 when the line is absent). */
int hmi_parse_meminfo(struct hm_ctx *ctx, const char *text, uint64_t *default_size);

/* /proc/self/mountinfo text -> every hugetlbfs mount (malloc'd array, free with
 * hmi_mounts_free). Paths are unescaped (\040 \011 \012 \134). DEFAULT_SIZE is
 * the page size of mounts without pagesize=. uid/gid/mode come from the mount
 * options when given, else (uid_t)-1 / (gid_t)-1 / 0 for the caller to stat.
 * room is set to size_limit (or UINT64_MAX), writable to 0: hugedir fills them. */
int hmi_parse_mountinfo(struct hm_ctx *ctx, const char *text, uint64_t default_size,
			struct hm_mount **mounts, int *n);
void hmi_mounts_free(struct hm_mount *mounts, int n);

/* hmi_parse_mountinfo knowing the pools, so that size=N% (a share of the
 * pool of the mount's page size) can be turned into bytes. */
int hmi_parse_mountinfo_pools(struct hm_ctx *ctx, const char *text, uint64_t default_size,
			      const struct hm_pool *pools, int n_pools, struct hm_mount **mounts,
			      int *n);

/* The mount of the hugetlb cgroup controller of VERSION serving CGROUP_PATH,
 * from mountinfo TEXT: *ROOT (the mount's root inside the hierarchy) and
 * *MOUNT_POINT, malloc'd. Returns 1 when found, 0 when not. */
int hmi_parse_cgroup_mount(struct hm_ctx *ctx, const char *text, int version,
			   const char *cgroup_path, char **root, char **mount_point);

/* Node list text "0,2-3\n" -> ascending ids (at most MAX). */
int hmi_parse_nodelist(struct hm_ctx *ctx, const char *text, int *ids, int max, int *n);

/* /proc/self/cgroup text -> the hugetlb controller's cgroup path and version
 * (v1 line "N:...hugetlb...:/path" wins; else the v2 line "0::/path" with
 * VERSION 2; *PATH malloc'd). */
int hmi_parse_proc_cgroup(struct hm_ctx *ctx, const char *text, int *version, char **path);

/* A cgroup limit file's value: "max" -> UINT64_MAX, else decimal bytes.
 * The kernel's own "no limit" number (PAGE_COUNTER_MAX pages, printed as
 * 9223372036854771712 by v1 and by some v2 kernels) is UINT64_MAX too. */
int hmi_parse_cgroup_value(const char *text, uint64_t *value);

/* The hugetlb cgroup's name for a page size: 2097152 -> "2MB", 1 GiB -> "1GB",
 * 64 KiB -> "64KB". */
void hmi_cgroup_size_name(uint64_t page_size, char *buf, size_t len);

/* /proc/locks text -> the pid of a process holding a lock (FLOCK, POSIX or
 * OFDLCK, any mode) on inode INO of device MAJ:MIN; 0 when none. OFD locks
 * show pid -1: reported as -1. */
int hmi_parse_proc_locks(const char *text, unsigned maj, unsigned min, uint64_t ino, pid_t *pid);

/* Every holder of a lock on that inode, up to MAX pids (-1 for holders that
 * cannot be named): the count. */
int hmi_parse_proc_locks_all(const char *text, unsigned maj, unsigned min, uint64_t ino,
			     pid_t *pids, int max);

/* One line of /proc/PID/maps. PATH points into the parsed text (it is not
 * NUL-terminated: PATH_LEN bytes, " (deleted)" left off and DELETED set when
 * the line ended so); NULL and 0 for a mapping without one. */
struct hmi_maps_line {
	uint64_t start, end; /* [start, end), start < end */
	char perms[5];	     /* "rw-p": r/w/x or '-', then p (private) or s (shared) */
	uint64_t offset;     /* in the file */
	unsigned maj, min;   /* the file's device */
	uint64_t inode;	     /* 0 for anonymous memory */
	const char *path;
	size_t path_len;
	int deleted;
};

/* The LEN bytes at LINE (one line, without its newline) -> *M. -EINVAL when
 * the line is not of that form (a NUL or newline in it, a field missing or
 * malformed, start >= end), -ERANGE when a number does not fit (addresses,
 * offset, inode in 64 bits, device numbers in 32). *M is untouched then. */
int hmi_parse_maps_line(const char *line, size_t len, struct hmi_maps_line *m);

/* A PCI device's address: the name sysfs gives it, in fields. */
struct hmi_pci_addr {
	uint32_t domain;
	uint8_t bus, dev, fn;
};

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0) -> *ADDR: hex digits of either
 * case, the domain 4 to 8 of them, bus and device 2, function 1; device at
 * most 1f, function at most 7; nothing else before or after. -EINVAL
 * otherwise, with a message naming TEXT and the form when CTX is given;
 * *ADDR untouched then. */
int hmi_parse_pci_addr(struct hm_ctx *ctx, const char *text, struct hmi_pci_addr *addr);

/* ADDR as sysfs names the device, "0000:03:00.0", into BUF (HM_PCI_ADDR_MAX
 * bytes hold every address). */
void hmi_pci_addr_format(const struct hmi_pci_addr *addr, char *buf, size_t len);

/* TEXT parsed and written back in that form: 0, or -EINVAL as
 * hmi_parse_pci_addr (BUF untouched). */
int hmi_pci_addr_canonical(struct hm_ctx *ctx, const char *text, char *buf, size_t len);

/* The number after KEY ("Pid:") on the line of TEXT that starts with it
 * (/proc/PID/status, /proc/self/fdinfo/FD): 0 and *VALUE; -ENOENT when no
 * line starts with KEY, -EINVAL when its value is not one decimal number
 * (a leading '-' allowed) alone on the line. *VALUE untouched on failure. */
int hmi_parse_proc_field(const char *text, const char *key, long long *value);

#endif
