/* SPDX-License-Identifier: MIT */
/*
 * platform.c — small wrappers over calls whose types or availability differ
 * between C libraries and kernels (see platform.h). Nothing here keeps state.
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
#include "platform.h"

#include <errno.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

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
