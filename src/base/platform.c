/* SPDX-License-Identifier: MIT */
/*
 * base/platform.c — small wrappers over calls whose types or availability differ
 * between C libraries and kernels (see base/platform.h). Nothing here keeps state.
 *
 * statfs: f_type's C type differs between libcs and architectures (__fsword_t,
 * signed on some), and HUGETLBFS_MAGIC has bit 31 set: compare both as 32-bit
 * unsigned values so a sign-extended f_type still matches.
 *
 * Lock probing: F_OFD_GETLK asks "could this open file description take the
 * lock?"; since an OFD request is owned by the file description, not the
 * process, the answer includes POSIX locks this very process holds, which
 * F_GETLK would hide. Kernels before 3.15 answer EINVAL: then F_GETLK.
 */
#include "base/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* malloc, then populate, then zero: calloc would zero first (a block that is
 * not fresh from the kernel), taking the faults one page at a time. */
void *hmi_calloc_populated(size_t n, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start, end;
	size_t len;
	char *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	len = n * size;
	p = malloc(len > 0 ? len : 1);
	if (!p)
		return NULL;
	start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	end = ((uintptr_t)p + len) & ~((uintptr_t)page - 1);
	if (page > 0 && end > start) /* a failure only means the faults come later */
		(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
	memset(p, 0, len);
	return p;
}

/* The kernel's record (struct linux_dirent64: kernel ABI), read through
 * getdents64(2) directly: glibc declares it only since 2.30. */
struct dirent_rec {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int dir_chunk(char *buf, long len, int (*fn)(const char *, uint64_t, void *), void *arg)
{
	for (long at = 0; at < len;) {
		const struct dirent_rec *e = (const struct dirent_rec *)(void *)(buf + at);
		int rc;

		if (e->reclen == 0 || e->reclen > len - at)
			return -EIO; /* not a record the kernel writes */
		rc = fn(e->name, e->ino, arg);
		if (rc != 0)
			return rc;
		at += e->reclen;
	}
	return 0;
}

int hmi_dir_each(int fd, int (*fn)(const char *name, uint64_t ino, void *arg), void *arg)
{
	_Alignas(8) char buf[4096];
	long len = 0;
	int rc = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while (rc == 0 && (len = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		rc = dir_chunk(buf, len, fn, arg);
	if (rc == 0 && len < 0)
		rc = -errno;
	return rc;
}

uint64_t hmi_user_va_end(void)
{
	static const int bits[] = {56, 52, 48, 47, 42, 39};

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		uint64_t end = 1ULL << bits[i], at = end - (2ULL << 20);
		void *p =
		    mmap((void *)(uintptr_t)at, 4096, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED && errno == EEXIST) /* taken: so it is user space */
			return end;
		if (p == MAP_FAILED)
			continue;
		munmap(p, 4096);
		if ((uintptr_t)p == at) /* a kernel before 4.17 takes the flag for a hint */
			return end;
	}
	return 0;
}

int hmi_statfs_hugetlbfs(const char *path, uint64_t *bsize, uint64_t *blocks, uint64_t *bavail)
{
	struct statfs st;

	if (statfs(path, &st) < 0)
		return -errno;
	if ((uint32_t)st.f_type != (uint32_t)HUGETLBFS_MAGIC)
		return 0;
	*bsize = (uint64_t)st.f_bsize;
	*blocks = (uint64_t)st.f_blocks;
	*bavail = (uint64_t)st.f_bavail;
	return 1;
}

int hmi_fd_hugetlbfs(int fd, uint64_t *bsize)
{
	struct statfs st;

	if (fstatfs(fd, &st) < 0)
		return -errno;
	if ((uint32_t)st.f_type != (uint32_t)HUGETLBFS_MAGIC)
		return 0;
	*bsize = (uint64_t)st.f_bsize;
	return 1;
}

static int probe_with(int fd, int cmd, pid_t *pid)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl)); /* F_OFD_GETLK demands l_pid == 0 */
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0; /* to the end of the file, however it grows */
	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (fl.l_type == F_UNLCK)
		return 0;
	*pid = fl.l_pid > 0 ? fl.l_pid : -1;
	return 1;
}

int hmi_lock_probe(int fd, pid_t *pid)
{
	int rc = probe_with(fd, F_OFD_GETLK, pid);

	if (rc == -EINVAL)
		rc = probe_with(fd, F_GETLK, pid);
	return rc;
}

void hmi_dev_split(dev_t dev, unsigned *maj, unsigned *min)
{
	*maj = major(dev);
	*min = minor(dev);
}

/* ------------------------------------------------------------------ pages layer
 * NUMA calls through syscall(2): libnuma is not needed for three calls, and
 * the C library wraps none of them. A kernel built without NUMA answers
 * ENOSYS; headers without the numbers get stubs that say so too. The kernel
 * reads MAXNODE - 1 bits of a node mask (a historical off-by-one that libnuma
 * also compensates for), hence the "+ 1".
 */
#include "hugemem.h" /* HM_MAX_NODES */

#include <sys/syscall.h>
#include <unistd.h>

/* Node masks handed to the kernel: one unsigned long per 64 node ids. */
#define HMI_NODEMASK_LONGS ((HM_MAX_NODES + 63) / 64)

static long syscall_result(long rc)
{
	return rc < 0 ? -errno : rc;
}

#if defined(SYS_mbind) && defined(SYS_move_pages) && defined(SYS_get_mempolicy)
int hmi_mbind_node(void *addr, size_t len, int mode, int node)
{
	unsigned long mask[HMI_NODEMASK_LONGS] = {0};

	if (node < 0 || node >= HM_MAX_NODES)
		return -EINVAL;
	mask[node / 64] = 1UL << (node % 64);
	return (int)syscall_result(
	    syscall(SYS_mbind, addr, len, mode, mask, (unsigned long)HM_MAX_NODES + 1, 0U));
}

int hmi_move_pages_query(unsigned long count, void **pages, int *status)
{
	return (int)syscall_result(syscall(SYS_move_pages, 0, count, pages, NULL, status, 0));
}

int hmi_page_node(void *addr, int *node)
{
	return (int)syscall_result(
	    syscall(SYS_get_mempolicy, node, NULL, 0UL, addr, MPOL_F_NODE | MPOL_F_ADDR));
}
#else
int hmi_mbind_node(void *addr, size_t len, int mode, int node)
{
	(void)addr, (void)len, (void)mode, (void)node;
	return -ENOSYS;
}

int hmi_move_pages_query(unsigned long count, void **pages, int *status)
{
	(void)count, (void)pages, (void)status;
	return -ENOSYS;
}

int hmi_page_node(void *addr, int *node)
{
	(void)addr, (void)node;
	return -ENOSYS;
}
#endif

#ifdef SYS_pidfd_open
int hmi_pidfd_open(pid_t pid)
{
	return (int)syscall_result(syscall(SYS_pidfd_open, pid, 0U));
}
#else
int hmi_pidfd_open(pid_t pid)
{
	(void)pid;
	return -ENOSYS;
}
#endif

#ifdef SYS_memfd_create
int hmi_memfd_create(const char *name, unsigned flags)
{
	return (int)syscall_result(syscall(SYS_memfd_create, name, flags));
}
#else
int hmi_memfd_create(const char *name, unsigned flags)
{
	(void)name, (void)flags;
	return -ENOSYS;
}
#endif

/* ------------------------------------------------------------------ capabilities
 * capget(2) without libcap: version 3 takes two 32-bit words per set, which
 * hold every capability number up to 63. */
#include <linux/capability.h>

int hmi_cap_effective(int cap)
{
	return hmi_cap_effective_of(0, cap);
}

int hmi_cap_effective_of(pid_t pid, int cap)
{
	struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, pid};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (cap < 0 || cap >= 32 * _LINUX_CAPABILITY_U32S_3)
		return -EINVAL;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &head, data) < 0)
		return -errno;
	return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

/* ------------------------------------------------------------------ descriptors over unix sockets
 */

#include <sys/socket.h>

union scm_buf { /* aligned as a cmsghdr, room for HMI_SCM_MAX descriptors */
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * HMI_SCM_MAX)];
};

long hmi_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
	union scm_buf cm;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t sent;

	if (n > HMI_SCM_MAX)
		return -EINVAL;
	if (n > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do
		sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	return sent < 0 ? -errno : (long)sent;
}

/* Every descriptor of every SCM_RIGHTS message of MSG: into FDS while
 * there is room, closed past it. */
static void take_fds(struct msghdr *msg, int *fds, size_t max, size_t *n_fds, size_t *extra)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (*n_fds < max) {
				fds[(*n_fds)++] = fd;
			} else {
				close(fd);
				++*extra;
			}
		}
	}
}

long hmi_recv_fds(int sock, void *buf, size_t cap, int *fds, size_t max, size_t *n_fds,
		  size_t *extra, int *flags)
{
	union scm_buf cm;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t got;

	*n_fds = *extra = 0;
	*flags = 0;
	do {
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	take_fds(&msg, fds, max, n_fds, extra);
	*flags = msg.msg_flags;
	return (long)got;
}
