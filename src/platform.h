/* SPDX-License-Identifier: MIT */
/*
 * platform.h — the one place where hugemem adapts to the C library and kernel
 * headers it is built against. Every #if/#ifdef of the library lives here or in
 * platform.c, never inside a function body elsewhere: constants that older
 * headers lack get their Linux values (they are kernel ABI, fixed forever), and
 * small wrappers hide calls whose availability differs between kernels (OFD
 * locks arrived in 3.15: the wrapper falls back to classic F_GETLK).
 */
#ifndef HM_PLATFORM_H
#define HM_PLATFORM_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#endif
#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17 */
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U /* Linux 4.14 */
#endif

/* statfs PATH: 1 when it is a hugetlbfs (then *BSIZE = its page size,
 * *BLOCKS = size= in pages, 0 = no limit, *BAVAIL = pages it still takes),
 * 0 when it is another file system, -errno when statfs fails. */
int hmi_statfs_hugetlbfs(const char *path, uint64_t *bsize, uint64_t *blocks, uint64_t *bavail);

/* Does some lock conflict with a write lock over the whole of FD's file?
 * 1 and *PID = the holder (-1 when the kernel does not say: an OFD lock, or a
 * process in another pid namespace), 0 when none, -errno on failure. Uses
 * F_OFD_GETLK, which — unlike F_GETLK — also sees this process's own POSIX
 * locks; falls back to F_GETLK on kernels without OFD locks. FD may be
 * read-only. */
int hmi_lock_probe(int fd, pid_t *pid);

/* The major and minor numbers of DEV, as /proc/PID/maps and /proc/locks print
 * them. */
void hmi_dev_split(dev_t dev, unsigned *maj, unsigned *min);

#endif
