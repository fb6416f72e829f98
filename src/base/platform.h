/* SPDX-License-Identifier: MIT */
/*
 * base/platform.h — the one place where hugemem adapts to the C library and kernel
 * headers it is built against. Every #if/#ifdef of the library lives here or in
 * base/platform.c, never inside a function body elsewhere: constants that older
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

/* The same for an open descriptor: 1 (and *BSIZE), 0, -errno. */
int hmi_fd_hugetlbfs(int fd, uint64_t *bsize);

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

/* calloc(N, SIZE) with the whole pages inside the block already faulted in,
 * by one madvise(MADV_POPULATE_WRITE) instead of a fault per 4 KiB page as
 * the block is first written. Worth it for the large arrays a secondary
 * fills at once (a layout of 4096 pages is ~45 pages of records): in a
 * virtual machine a page fault can cost 10 us, three times a populated page;
 * the start-up's own few-page structures (context, sysinfo, primary state) are
 * worth it too. Free with free(). Without MADV_POPULATE_WRITE it is plain
 * calloc. */
void *hmi_calloc_populated(size_t n, size_t size);

/* Call FN(NAME, INO, ARG) for every entry of the directory open as FD, from
 * its start ("." and ".." too, as readdir gives them), until FN returns
 * nonzero: that value; 0 at the end; -errno when reading fails. It moves FD's
 * offset (and that of its dups). Reads through a 4 KiB buffer on the stack:
 * readdir sizes its buffer by the directory's st_blksize, which hugetlbfs sets
 * to its page size, so every opendir of a mount mallocs 1 MiB — mapped,
 * faulted into and unmapped again: a third of a millisecond in a virtual
 * machine, for a listing of a few names. */
int hmi_dir_each(int fd, int (*fn)(const char *name, uint64_t ino, void *arg), void *arg);

/* The end of the user address space (1 << 47 on x86-64 with 4-level page
 * tables, 1 << 56 with 5 levels, 1 << 48 or 1 << 52 or 1 << 39 on arm64),
 * found by mapping one page just below each candidate end with
 * MAP_FIXED_NOREPLACE (and unmapping it): the kernel refuses an address past
 * the end with ENOMEM. 0 when no candidate answers (the caller skips its
 * check). */
uint64_t hmi_user_va_end(void);

/* ------------------------------------------------------------------ pages layer
 * Added for the pages layer (pages/pages.c, pages/backing.c, pages/lookup.c): NUMA
 * policy calls made through syscall(2) (no libnuma), memfd_create, and the
 * constants older headers lack. <numaif.h> belongs to libnuma, not the C
 * library, so the MPOL_* values (kernel ABI) are defined here when missing.
 */
#include <errno.h>
#include <stddef.h>

#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_F_NODE
#define MPOL_F_NODE (1 << 0)
#endif
#ifndef MPOL_F_ADDR
#define MPOL_F_ADDR (1 << 1)
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef EHWPOISON
#define EHWPOISON 133 /* Linux: memory page has hardware error */
#endif

/* mbind(2) of [ADDR, ADDR+LEN) to NODE alone (0 .. HM_MAX_NODES-1) with
 * MODE (MPOL_BIND): 0 or -errno (-ENOSYS on kernels without NUMA). */
int hmi_mbind_node(void *addr, size_t len, int mode, int node);

/* move_pages(2) of this process as a query (NULL node list): STATUS[i] gets
 * the node of PAGES[i] or a negative errno for that page. 0 or -errno. */
int hmi_move_pages_query(unsigned long count, void **pages, int *status);

/* get_mempolicy(2) with MPOL_F_NODE | MPOL_F_ADDR: *NODE = the node the page
 * at ADDR is on. 0 or -errno. */
int hmi_page_node(void *addr, int *node);

/* memfd_create(2): a descriptor, or -errno (-ENOSYS before Linux 3.17). */
int hmi_memfd_create(const char *name, unsigned flags);

/* ------------------------------------------------------------------ capabilities */

#ifndef CAP_IPC_LOCK
#define CAP_IPC_LOCK 14 /* pin memory past RLIMIT_MEMLOCK */
#endif
#ifndef CAP_SYS_RAWIO
#define CAP_SYS_RAWIO 17 /* open a VFIO no-IOMMU group */
#endif

/* Is capability CAP in this thread's effective set (capget(2))? 1 or 0;
 * -EINVAL for a number past 63, -errno when capget fails. */
int hmi_cap_effective(int cap);
/* The same for the process PID (0: this thread): -ESRCH when it is gone.
 * A pid names a process only while it lives: check its pidfd afterwards. */
int hmi_cap_effective_of(pid_t pid, int cap);
#ifndef CAP_SYS_ADMIN
#define CAP_SYS_ADMIN 21 /* read physical addresses (pagemap) */
#endif

/* pidfd_open(2) of PID (Linux 5.3): a descriptor that names that process
 * and no other, readable once it has exited; or -errno (-ENOSYS). Not
 * close-on-exec by itself: pidfds always are (the kernel sets O_CLOEXEC). */
int hmi_pidfd_open(pid_t pid);

/* ------------------------------------------------------------------ descriptors over unix sockets
 */

#define HMI_SCM_MAX 253 /* descriptors one SCM_RIGHTS message may carry (SCM_MAX_FD) */

/* Send the LEN bytes at BUF on SOCK with the N descriptors FDS (SCM_RIGHTS,
 * N <= HMI_SCM_MAX; none when N is 0), MSG_NOSIGNAL, again on EINTR: the
 * bytes sent, or -errno (-EINVAL for N too large). */
long hmi_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n);

/* Receive one message of up to CAP bytes into BUF from SOCK (again on
 * EINTR), its descriptors (close-on-exec) into FDS while MAX allows
 * (*N_FDS), closing any past it (*EXTRA counts them); *FLAGS its msg_flags
 * (MSG_TRUNC, MSG_CTRUNC: some were cut). The length, 0 at end of
 * connection, or -errno. */
long hmi_recv_fds(int sock, void *buf, size_t cap, int *fds, size_t max, size_t *n_fds,
		  size_t *extra, int *flags);

#endif
