/* SPDX-License-Identifier: MIT */
/*
 * sysinfo_parse_test.c — the sysinfo layer's text parsers on strings: good
 * input of every shape the kernel writes (long lines, escapes, sparse lists),
 * every error path with its message, and truncated / random input that must
 * give a result or an error, never a crash (run it under ASan too).
 */
#include "sys/sysinfo.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* sysinfo internals not (yet) declared in sys/sysinfo.h */
int hmi_parse_mountinfo_pools(struct hm_ctx *ctx, const char *text, uint64_t default_size,
			      const struct hm_pool *pools, int n_pools, struct hm_mount **mounts,
			      int *n);
int hmi_parse_cgroup_mount(struct hm_ctx *ctx, const char *text, int version,
			   const char *cgroup_path, char **root, char **mount_point);

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_dirname(void)
{
	static const char *const bad[] = {"",
					  "nr_hugepages",
					  "hugepages-",
					  "hugepages-kB",
					  "hugepages-2048",
					  "hugepages-2048KB",
					  "hugepages-2048kBx",
					  "hugepages--2048kB",
					  "hugepages-+2048kB",
					  "hugepages-02048kB",
					  "hugepages-0kB",
					  "hugepages- 2048kB",
					  "Hugepages-2048kB"};
	uint64_t v = 0;

	is_int(hmi_parse_hugepages_dirname("hugepages-2048kB", &v), 0, "dirname 2048kB parses");
	is_u64(v, 2 * MiB, "2048kB is 2 MiB");
	is_int(hmi_parse_hugepages_dirname("hugepages-1048576kB", &v), 0, "dirname 1 GiB parses");
	is_u64(v, GiB, "1048576kB is 1 GiB");
	is_int(hmi_parse_hugepages_dirname("hugepages-64kB", &v), 0, "dirname 64kB parses");
	is_u64(v, 64 * 1024, "64kB is 65536 bytes");
	for (size_t i = 0; i < HMI_ARRAY_SIZE(bad); i++)
		is_int(hmi_parse_hugepages_dirname(bad[i], &v), -EINVAL, "dirname '%s' is refused",
		       bad[i]);
	is_int(hmi_parse_hugepages_dirname("hugepages-99999999999999999999kB", &v), -ERANGE,
	       "dirname beyond 64 bits: -ERANGE");
	is_int(hmi_parse_hugepages_dirname("hugepages-18014398509481984kB", &v), -ERANGE,
	       "dirname whose kB * 1024 overflows: -ERANGE");
}

static void test_size_names(void)
{
	static const struct {
		uint64_t size;
		const char *name;
	} cases[] = {{2 * MiB, "2MB"},	 {GiB, "1GB"},	     {64 * 1024, "64KB"},
		     {16 * GiB, "16GB"}, {32 * MiB, "32MB"}, {512 * MiB, "512MB"},
		     {16384, "16KB"},	 {8 * MiB, "8MB"}};
	char buf[32];

	for (size_t i = 0; i < HMI_ARRAY_SIZE(cases); i++) {
		hmi_cgroup_size_name(cases[i].size, buf, sizeof(buf));
		is_str(buf, cases[i].name, "cgroup size name of %" PRIu64 " bytes", cases[i].size);
	}
	hmi_cgroup_size_name(2 * MiB, buf, 3);
	is_str(buf, "2M", "cgroup size name is cut to the buffer, NUL-terminated");
}

static const char meminfo_text[] = "MemTotal:       16318480 kB\n"
				   "HugePages_Total:    1024\n"
				   "HugePages_Free:      960\n"
				   "Hugepagesize:       2048 kB\n"
				   "Hugetlb:         2097152 kB\n";

static void test_meminfo(struct hm_ctx *ctx)
{
	uint64_t v = 1;

	is_int(hmi_parse_meminfo(ctx, meminfo_text, &v), 0, "meminfo parses");
	is_u64(v, 2 * MiB, "meminfo Hugepagesize 2 MiB");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize:    1048576 kB", &v), 0,
	       "meminfo without trailing newline parses");
	is_u64(v, GiB, "meminfo Hugepagesize 1 GiB");
	is_int(hmi_parse_meminfo(ctx, "MemTotal: 1 kB\nHugePages_Total: 0\n", &v), 0,
	       "meminfo without Hugepagesize is not an error");
	is_u64(v, 0, "... and gives 0");
	is_int(hmi_parse_meminfo(ctx, "", &v), 0, "empty meminfo gives 0");
	is_int(hmi_parse_meminfo(ctx, "xHugepagesize: 2048 kB\n", &v), 0,
	       "a key that only ends in Hugepagesize is not it");
	is_u64(v, 0, "... so no default size");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: abc kB\n", &v), -EINVAL,
	       "non-numeric Hugepagesize: -EINVAL");
	like(hm_errmsg(ctx), "'abc kB'", "message quotes the value");
	like(hm_errmsg(ctx), "Hugepagesize", "message names the field");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: 2048\nHugetlb: 0 kB\n", &v), -EINVAL,
	       "Hugepagesize without kB: -EINVAL");
	like(hm_errmsg(ctx), "'2048'", "message shows only that line");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: 2048 kB extra\n", &v), -EINVAL,
	       "Hugepagesize with trailing words: -EINVAL");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: 0 kB\n", &v), -EINVAL,
	       "Hugepagesize 0: -EINVAL");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize:", &v), -EINVAL,
	       "Hugepagesize cut after the colon: -EINVAL");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: -2048 kB\n", &v), -EINVAL,
	       "negative Hugepagesize: -EINVAL");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: 99999999999999999999 kB\n", &v), -ERANGE,
	       "Hugepagesize beyond 64 bits: -ERANGE");
	is_int(hmi_parse_meminfo(ctx, "Hugepagesize: 18014398509481984 kB\n", &v), -ERANGE,
	       "Hugepagesize whose bytes overflow: -ERANGE");
}

static void test_nodelist(struct hm_ctx *ctx)
{
	int ids[HM_MAX_NODES], n = -1;

	is_int(hmi_parse_nodelist(ctx, "0\n", ids, HM_MAX_NODES, &n), 0, "node list '0'");
	ok(n == 1 && ids[0] == 0, "... is node 0");
	is_int(hmi_parse_nodelist(ctx, "0,2\n", ids, HM_MAX_NODES, &n), 0, "node list '0,2'");
	ok(n == 2 && ids[0] == 0 && ids[1] == 2, "... is nodes 0 and 2 (sparse)");
	is_int(hmi_parse_nodelist(ctx, "0-1,4,6-7", ids, HM_MAX_NODES, &n), 0,
	       "node list with ranges, no newline");
	ok(n == 5 && ids[0] == 0 && ids[1] == 1 && ids[2] == 4 && ids[3] == 6 && ids[4] == 7,
	   "... is 0 1 4 6 7");
	is_int(hmi_parse_nodelist(ctx, "63\n", ids, HM_MAX_NODES, &n), 0, "node 63 is accepted");
	ok(n == 1 && ids[0] == 63, "... as id 63");
	is_int(hmi_parse_nodelist(ctx, "2,0,2\n", ids, HM_MAX_NODES, &n), 0,
	       "unsorted list with a repeat");
	ok(n == 2 && ids[0] == 0 && ids[1] == 2, "... comes out sorted, once each");
	is_int(hmi_parse_nodelist(ctx, "\n", ids, HM_MAX_NODES, &n), 0, "empty list");
	is_int(n, 0, "... has no node");
	is_int(hmi_parse_nodelist(ctx, "", ids, HM_MAX_NODES, &n), 0, "empty text");
	is_int(hmi_parse_nodelist(ctx, "3-1", ids, HM_MAX_NODES, &n), -EINVAL,
	       "backward range: -EINVAL");
	like(hm_errmsg(ctx), "'3-1'", "message quotes the list");
	is_int(hmi_parse_nodelist(ctx, "a", ids, HM_MAX_NODES, &n), -EINVAL, "letters: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "0,,1", ids, HM_MAX_NODES, &n), -EINVAL,
	       "empty item: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "0-", ids, HM_MAX_NODES, &n), -EINVAL,
	       "open range: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "-1", ids, HM_MAX_NODES, &n), -EINVAL,
	       "negative id: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "0 1", ids, HM_MAX_NODES, &n), -EINVAL,
	       "space separated ids: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "0,", ids, HM_MAX_NODES, &n), -EINVAL,
	       "trailing comma: -EINVAL");
	is_int(hmi_parse_nodelist(ctx, "64", ids, HM_MAX_NODES, &n), -ERANGE,
	       "node 64: beyond HM_MAX_NODES, -ERANGE");
	like(hm_errmsg(ctx), "limit of 64 nodes", "message gives the limit");
	is_int(hmi_parse_nodelist(ctx, "0-4000000000", ids, HM_MAX_NODES, &n), -ERANGE,
	       "huge range is refused before it is walked");
	is_int(hmi_parse_nodelist(ctx, "99999999999999999999", ids, HM_MAX_NODES, &n), -ERANGE,
	       "id beyond 64 bits: -ERANGE");
	is_int(hmi_parse_nodelist(ctx, "0-3", ids, 2, &n), -E2BIG,
	       "more ids than the array holds: -E2BIG");
}

static void test_proc_cgroup(struct hm_ctx *ctx)
{
	char *path = NULL;
	int version = -1;

	is_int(hmi_parse_proc_cgroup(ctx, "0::/ci/job\n", &version, &path), 0, "v2 only");
	is_int(version, 2, "... version 2");
	is_str(path, "/ci/job", "... path /ci/job");
	free(path);
	is_int(hmi_parse_proc_cgroup(ctx, "12:pids:/docker/abc\n5:hugetlb:/docker/abc\n0::/other\n",
				     &version, &path),
	       0, "hybrid v1 + v2");
	is_int(version, 1, "... the v1 hugetlb line wins");
	is_str(path, "/docker/abc", "... with its path");
	free(path);
	is_int(hmi_parse_proc_cgroup(ctx, "0::/x\n3:cpu,hugetlb,memory:/a/b", &version, &path), 0,
	       "hugetlb inside a controller list, no final newline");
	ok(version == 1 && path && strcmp(path, "/a/b") == 0, "... v1 /a/b");
	free(path);
	is_int(hmi_parse_proc_cgroup(ctx, "3:hugetlbx:/a\n4:xhugetlb:/b\n", &version, &path), 0,
	       "controller names that only contain 'hugetlb'");
	ok(version == 0 && path && strcmp(path, "/") == 0, "... do not count: none, path '/'");
	free(path);
	is_int(hmi_parse_proc_cgroup(ctx, "", &version, &path), 0, "empty file");
	ok(version == 0 && path && strcmp(path, "/") == 0, "... no controller, path '/'");
	free(path);
	is_int(hmi_parse_proc_cgroup(ctx, "0::/a:b c\n", &version, &path), 0,
	       "path with a colon and a space");
	is_str(path, "/a:b c", "... kept whole");
	free(path);
	path = NULL;
	is_int(hmi_parse_proc_cgroup(ctx, "0::/\nabc\n", &version, &path), -EINVAL,
	       "a line without colons: -EINVAL");
	like(hm_errmsg(ctx), "line 2", "message names the line");
	ok(path == NULL, "nothing is allocated on error");
	is_int(hmi_parse_proc_cgroup(ctx, "5:hugetlb\n", &version, &path), -EINVAL,
	       "missing path: -EINVAL");
	is_int(hmi_parse_proc_cgroup(ctx, "5:hugetlb:\n", &version, &path), -EINVAL,
	       "empty path: -EINVAL");
	is_int(hmi_parse_proc_cgroup(ctx, "5:hugetlb:relative\n", &version, &path), -EINVAL,
	       "relative path: -EINVAL");
	is_int(hmi_parse_proc_cgroup(ctx, "x:hugetlb:/a\n", &version, &path), -EINVAL,
	       "non-numeric hierarchy id: -EINVAL");
}

static void test_cgroup_value(void)
{
	uint64_t v = 0;

	is_int(hmi_parse_cgroup_value("max\n", &v), 0, "'max' parses");
	is_u64(v, UINT64_MAX, "... as UINT64_MAX");
	is_int(hmi_parse_cgroup_value("16777216\n", &v), 0, "a byte count parses");
	is_u64(v, 16777216, "... as itself");
	is_int(hmi_parse_cgroup_value("0", &v), 0, "0 parses");
	is_u64(v, 0, "... as 0");
	is_int(hmi_parse_cgroup_value("", &v), -EINVAL, "empty: -EINVAL");
	is_int(hmi_parse_cgroup_value("maxx", &v), -EINVAL, "'maxx': -EINVAL");
	is_int(hmi_parse_cgroup_value("max 1", &v), -EINVAL, "'max 1': -EINVAL");
	is_int(hmi_parse_cgroup_value("-1", &v), -EINVAL, "negative: -EINVAL");
	is_int(hmi_parse_cgroup_value(" 5", &v), -EINVAL, "leading space: -EINVAL");
	is_int(hmi_parse_cgroup_value("12k", &v), -EINVAL, "suffix: -EINVAL");
	is_int(hmi_parse_cgroup_value("99999999999999999999", &v), -ERANGE,
	       "beyond 64 bits: -ERANGE");
}

#define HUGE2M                                                                                     \
	"40 24 0:45 / /dev/hugepages rw,relatime shared:30 - hugetlbfs hugetlbfs rw,pagesize=2M\n"

static void test_mountinfo_basic(struct hm_ctx *ctx)
{
	const char *text =
	    "22 1 0:21 / /proc rw,nosuid - proc proc rw\n" HUGE2M
	    "41 1 0:46 / /mnt/huge1g rw,relatime - hugetlbfs nodev rw,pagesize=1024M\n"
	    "42 1 0:47 / /mnt/g rw - hugetlbfs nodev rw,pagesize=1G\n"
	    "43 1 0:48 / /mnt/k rw - hugetlbfs nodev rw,pagesize=2048K\n"
	    "44 1 0:49 / /mnt/d rw - hugetlbfs nodev rw\n"
	    "45 1 0:50 / /mnt/t rw - tmpfs tmpfs rw,pagesize=2M";
	struct hm_mount *m = NULL;
	int n = -1;

	is_int(hmi_parse_mountinfo(ctx, text, 2 * MiB, &m, &n), 0, "mountinfo parses");
	is_int(n, 5, "five hugetlbfs mounts, the tmpfs and proc lines skipped");
	if (n != 5) {
		hmi_mounts_free(m, n);
		return;
	}
	is_str(m[0].path, "/dev/hugepages", "first mount point");
	is_u64(m[0].page_size, 2 * MiB, "pagesize=2M");
	is_u64(m[1].page_size, GiB, "pagesize=1024M is 1 GiB");
	is_u64(m[2].page_size, GiB, "pagesize=1G is 1 GiB");
	is_u64(m[3].page_size, 2 * MiB, "pagesize=2048K is 2 MiB");
	is_u64(m[4].page_size, 2 * MiB, "no pagesize=: the default size");
	is_u64(m[0].size_limit, 0, "no size=: no limit");
	is_u64(m[0].room, UINT64_MAX, "no size=: room unlimited");
	ok(m[0].uid == (uid_t)-1 && m[0].gid == (gid_t)-1, "no uid=/gid=: left at -1");
	is_int(m[0].mode, 0, "no mode=: left at 0");
	is_int(m[0].read_only, 0, "rw mount is not read-only");
	is_int(m[0].writable, 0, "writable is left for hugedir");
	hmi_mounts_free(m, n);

	is_int(hmi_parse_mountinfo(ctx, "", 2 * MiB, &m, &n), 0, "empty mountinfo parses");
	is_int(n, 0, "... no mounts");
	hmi_mounts_free(m, n);
	is_int(hmi_parse_mountinfo(ctx, "\n\n" HUGE2M "\n", 2 * MiB, &m, &n), 0,
	       "blank lines are skipped");
	is_int(n, 1, "... one mount");
	hmi_mounts_free(m, n);
}

static void test_mountinfo_options(struct hm_ctx *ctx)
{
	struct hm_pool pools[2] = {{.page_size = 2 * MiB, .nr = 64}, {.page_size = GiB, .nr = 3}};
	const char *text =
	    "61 1 0:61 / /mnt/my\\040huge rw,nosuid shared:41 - hugetlbfs none "
	    "rw,pagesize=2M,size=64M,uid=1000,gid=1001,mode=1770\n"
	    "62 1 0:62 / /mnt/half rw - hugetlbfs hugetlbfs rw,size=50%,pagesize=2M\n"
	    "63 1 0:63 / /mnt/a\\134b\\011c\\012d ro,relatime - hugetlbfs h rw,size=3145728\n"
	    "64 1 0:64 / /mnt/gig rw - hugetlbfs h ro,pagesize=1G,size=50%\n"
	    "65 1 0:65 / /mnt/zero rw - hugetlbfs h rw,size=0,min_size=0,nr_inodes=4\n"
	    "66 1 0:66 / /mnt/odd\\9\\400\\ rw - hugetlbfs h rw,size=4m\n";
	struct hm_mount *m = NULL;
	int n = -1;

	is_int(hmi_parse_mountinfo_pools(ctx, text, 2 * MiB, pools, 2, &m, &n), 0,
	       "mountinfo with options parses");
	is_int(n, 6, "six mounts");
	if (n != 6) {
		hmi_mounts_free(m, n);
		return;
	}
	is_str(m[0].path, "/mnt/my huge", "\\040 is a space");
	is_u64(m[0].size_limit, 64 * MiB, "size=64M");
	is_u64(m[0].room, 64 * MiB, "room = size limit");
	is_int(m[0].uid, 1000, "uid=1000");
	is_int(m[0].gid, 1001, "gid=1001");
	is_int(m[0].mode, 01770, "mode=1770 is octal");
	is_u64(m[1].size_limit, 32 * 2 * MiB, "size=50%% of a 64-page 2M pool is 32 pages");
	is_str(m[2].path, "/mnt/a\\b\tc\nd", "\\134 \\011 \\012 unescape");
	is_u64(m[2].size_limit, 2 * MiB, "size=3145728 rounds down to whole 2M pages");
	is_int(m[2].read_only, 1, "ro in the mount options: read-only");
	is_u64(m[3].size_limit, GiB, "size=50%% of a 3-page 1G pool is 1 page");
	is_int(m[3].read_only, 1, "ro in the super options: read-only");
	is_u64(m[4].size_limit, 0, "size=0");
	is_u64(m[4].room, 0, "size=0: the mount takes nothing");
	is_str(m[5].path, "/mnt/odd\\9\\400\\", "invalid escapes are kept as written");
	is_u64(m[5].size_limit, 4 * MiB, "size=4m: lower-case suffix");
	hmi_mounts_free(m, n);

	is_int(hmi_parse_mountinfo(ctx, "62 1 0:62 / /mnt/half rw - hugetlbfs h rw,size=50%\n",
				   2 * MiB, &m, &n),
	       0, "size=50%% without pool information");
	ok(n == 1 && m[0].size_limit == 0 && m[0].room == 0, "... is 50%% of no pages: no room");
	hmi_mounts_free(m, n);
	is_int(
	    hmi_parse_mountinfo(ctx, "62 1 0:62 / /mnt/x rw - hugetlbfs h rw,size=5M\n", 0, &m, &n),
	    0, "no default size, no pagesize=");
	ok(n == 1 && m[0].page_size == 0 && m[0].size_limit == 5 * MiB,
	   "... page size 0, size kept in bytes");
	hmi_mounts_free(m, n);
	/* found by fuzzing: a message stays one line even for a mount point
	 * with a newline in it (quoted as the kernel escaped it) */
	m = NULL;
	ok(hmi_parse_mountinfo(ctx, "46 24 0:51 / /mnt/a\\012b rw - hugetlbfs none rw,mode=9\n",
			       2 * MiB, &m, &n) < 0,
	   "bad option on a mount point with an escaped newline: refused");
	ok(strchr(hm_errmsg(ctx), '\n') == NULL, "... in a one-line message: %s", hm_errmsg(ctx));
	like(hm_errmsg(ctx), "/mnt/a\\012b", "... quoting the mount point as escaped");
	hmi_mounts_free(m, m ? n : 0);
	/* nsfs mounts show a root that is no path ("net:[4026532]"): still a
	 * mountinfo line */
	m = NULL;
	is_int(hmi_parse_mountinfo(
		   ctx, "3 1 0:4 net:[4026532] /run/netns/x rw - nsfs nsfs rw\n" HUGE2M "\n",
		   2 * MiB, &m, &n),
	       0, "a root field that is no path: parses");
	is_int(n, 1, "... and the hugetlbfs mount after it is found");
	hmi_mounts_free(m, n);
}

static void test_mountinfo_long(struct hm_ctx *ctx)
{
	size_t cap = 64 * 1024, len = 0;
	char *text = malloc(cap);
	struct hm_mount *m = NULL;
	int n = -1;

	if (!text)
		return;
	len += (size_t)snprintf(
	    text, cap, "60 1 0:60 / /var/lib/x rw shared:1 master:2 - overlay o rw,lowerdir=");
	for (int i = 0; i < 400; i++)
		len += (size_t)snprintf(text + len, cap - len, "/var/lib/docker/l/%08d:", i);
	len += (size_t)snprintf(text + len, cap - len, "/end\n61 1 0:61 / /mnt/h rw");
	for (int i = 0; i < 300; i++) /* many optional fields */
		len += (size_t)snprintf(text + len, cap - len, " shared:%d", i);
	len += (size_t)snprintf(text + len, cap - len, " - hugetlbfs none rw");
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, cap - len, ",opt%d=%d", i, i);
	snprintf(text + len, cap - len, ",pagesize=1G,size=2G\n");
	ok(strlen(text) > 3 * 4096, "test text has lines over 4 KiB");
	is_int(hmi_parse_mountinfo(ctx, text, 2 * MiB, &m, &n), 0, "long lines parse");
	is_int(n, 1, "... one hugetlbfs mount");
	if (n == 1) {
		is_str(m[0].path, "/mnt/h", "... after 300 optional fields");
		is_u64(m[0].page_size, GiB, "... pagesize= after 300 options");
		is_u64(m[0].size_limit, 2 * GiB, "... size=2G");
	}
	hmi_mounts_free(m, n);
	free(text);
}

static void mountinfo_error(struct hm_ctx *ctx, const char *text, int want, const char *needle,
			    const char *what)
{
	struct hm_mount *m = (struct hm_mount *)1;
	int n = -1;

	is_int(hmi_parse_mountinfo(ctx, text, 2 * MiB, &m, &n), want, "%s", what);
	like(hm_errmsg(ctx), needle, "... message has '%s'", needle);
}

static void test_mountinfo_errors(struct hm_ctx *ctx)
{
	mountinfo_error(ctx, HUGE2M "41 1 0:46 / /mnt/x rw,relat", -EINVAL, "line 2",
			"truncated line: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw hugetlbfs none rw\n", -EINVAL,
			"not a mountinfo line", "missing ' - ' separator: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw -\n", -EINVAL, "line 1",
			"nothing after the separator: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs none\n", -EINVAL, "line 1",
			"no super options: -EINVAL");
	mountinfo_error(ctx, "x 1 0:46 / /mnt/x rw - hugetlbfs none rw\n", -EINVAL, "line 1",
			"non-numeric mount id: -EINVAL");
	mountinfo_error(ctx, "41 1 046 / /mnt/x rw - hugetlbfs none rw\n", -EINVAL, "line 1",
			"device without colon: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / mnt/x rw - hugetlbfs none rw\n", -EINVAL, "line 1",
			"relative mount point: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,pagesize=abc\n", -EINVAL,
			"pagesize=abc", "pagesize=abc: -EINVAL");
	like(hm_errmsg(ctx), "/mnt/x", "... message names the mount point");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,pagesize=0\n", -EINVAL,
			"pagesize=0", "pagesize=0: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,pagesize=2Q\n", -EINVAL,
			"pagesize=2Q", "unknown suffix: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,pagesize=16E\n", -ERANGE,
			"pagesize=16E", "pagesize=16E overflows: -ERANGE");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,size=abc\n", -EINVAL,
			"size=abc", "size=abc: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,size=99999999999999999999\n",
			-ERANGE, "size=9999", "size beyond 64 bits: -ERANGE");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,size=5x%\n", -EINVAL,
			"size=5x%", "size=5x%: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,size=5%%\n", -EINVAL,
			"size=5%%", "size=5%%: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,size=%\n", -EINVAL, "size=%",
			"size=%: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,uid=abc\n", -EINVAL, "uid=abc",
			"uid=abc: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,uid=4294967295\n", -ERANGE,
			"uid=4294967295", "uid=-1 as a number: -ERANGE");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,gid=\n", -EINVAL,
			"gid=", "empty gid=: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,mode=0789\n", -EINVAL,
			"mode=0789", "non-octal mode: -EINVAL");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,mode=17777\n", -ERANGE,
			"mode=17777", "mode beyond 07777: -ERANGE");
	mountinfo_error(ctx, "41 1 0:46 / /mnt/x rw - hugetlbfs n rw,mode=\n", -EINVAL,
			"mode=", "empty mode=: -EINVAL");
}

/* Every prefix of a valid table, and the table with one byte changed at every
 * position: a result or -EINVAL/-ERANGE, never a crash (ASan checks reads). */
static void test_mountinfo_truncations(struct hm_ctx *ctx)
{
	const char *text = HUGE2M "61 1 0:61 / /mnt/my\\040huge rw shared:41 - hugetlbfs none "
				  "rw,pagesize=2M,size=64M,uid=1000,gid=1000,mode=1770\n";
	static const char subst[] = {' ', '-', '\\', ',', '=', '%', '0', 'x', '\n'};
	size_t len = strlen(text);
	char *buf = malloc(len + 1);
	int bad = 0;

	if (!buf)
		return;
	for (size_t cut = 0; cut <= len; cut++) {
		struct hm_mount *m = NULL;
		int n = 0, rc;

		memcpy(buf, text, cut);
		buf[cut] = '\0';
		rc = hmi_parse_mountinfo(ctx, buf, 2 * MiB, &m, &n);
		if (rc == 0)
			hmi_mounts_free(m, n);
		bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
	}
	for (size_t pos = 0; pos < len; pos++) {
		for (size_t s = 0; s < sizeof(subst); s++) {
			struct hm_mount *m = NULL;
			int n = 0, rc;

			memcpy(buf, text, len + 1);
			buf[pos] = subst[s];
			rc = hmi_parse_mountinfo(ctx, buf, 2 * MiB, &m, &n);
			if (rc == 0)
				hmi_mounts_free(m, n);
			bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
		}
	}
	is_int(bad, 0, "every truncation and byte change gives 0, -EINVAL or -ERANGE");
	free(buf);
}

static void test_cgroup_mount(struct hm_ctx *ctx)
{
	const char *text =
	    "30 23 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
	    "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
	    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "34 30 0:30 /docker/abc /sys/fs/cgroup/huge\\040tlb rw - cgroup cgroup rw,hugetlb\n";
	char *root = NULL, *mnt = NULL;

	is_int(hmi_parse_cgroup_mount(ctx, text, 2, "/", &root, &mnt), 1, "v2 mount found");
	is_str(mnt, "/sys/fs/cgroup/unified", "... at /sys/fs/cgroup/unified");
	is_str(root, "/", "... showing the root cgroup");
	free(root);
	free(mnt);
	is_int(hmi_parse_cgroup_mount(ctx, text, 1, "/docker/abc/x", &root, &mnt), 1,
	       "v1 hugetlb mount found");
	is_str(mnt, "/sys/fs/cgroup/huge tlb", "... its mount point unescaped");
	is_str(root, "/docker/abc", "... its root field");
	free(root);
	free(mnt);
	is_int(hmi_parse_cgroup_mount(ctx, text, 1, "/docker/abcd", &root, &mnt), 0,
	       "a path the mount does not show: none");
	ok(root == NULL && mnt == NULL, "... nothing allocated");
	is_int(
	    hmi_parse_cgroup_mount(ctx, "1 0 0:1 / / rw - ext4 /dev/sda rw\n", 2, "/", &root, &mnt),
	    0, "no cgroup mount at all: none");
	is_int(hmi_parse_cgroup_mount(ctx, "1 0 0:1 / / rw ext4\n", 2, "/", &root, &mnt), -EINVAL,
	       "garbage table: -EINVAL");
	/* found by fuzzing: a hugetlb mount with an empty root field showed
	 * every cgroup, and the limit got the cgroup path "" */
	is_int(hmi_parse_cgroup_mount(ctx,
				      "3 1 0:30  /sys/fs/cgroup/h rw - cgroup cgroup rw,hugetlb\n",
				      1, "/x", &root, &mnt),
	       0, "a cgroup mount whose root is no path shows no cgroup");
	ok(root == NULL && mnt == NULL, "... nothing allocated");
}

static void test_locks(void)
{
	const char *text = "1: POSIX  ADVISORY  WRITE 99 08:01:1234 0 EOF\n"
			   "2: FLOCK  ADVISORY  READ  1234 00:2e:5678 0 EOF\n"
			   "2: -> FLOCK  ADVISORY  WRITE 555 00:2e:4242 0 EOF\n"
			   "3: OFDLCK ADVISORY  READ  -1 00:2e:12 0 EOF\n"
			   "4: LEASE  ACTIVE    READ  77 00:2e:99 0 EOF\n"
			   "5: POSIX  ADVISORY  READ  0 fd:0a:7 0 EOF\n"
			   "6: OFDLCK ADVISORY  WRITE -1 00:2f:8 0 EOF\n"
			   "7: POSIX  ADVISORY  WRITE 4321 00:2f:8 0 EOF\n"
			   "8: FLOCK  ADVISORY  WRITE 11 <none>:0 0 EOF";
	pid_t pid = 7;

	is_int(hmi_parse_proc_locks(text, 0, 0x2e, 5678, &pid), 0, "locks parse");
	is_int(pid, 1234, "flock holder of 00:2e:5678 is 1234");
	hmi_parse_proc_locks(text, 8, 1, 1234, &pid);
	is_int(pid, 99, "posix holder of 08:01:1234 is 99");
	hmi_parse_proc_locks(text, 0, 0x2e, 12, &pid);
	is_int(pid, -1, "OFD lock: held, pid -1");
	hmi_parse_proc_locks(text, 0, 0x2e, 4242, &pid);
	is_int(pid, 0, "a blocked waiter ('->') holds nothing");
	hmi_parse_proc_locks(text, 0, 0x2e, 99, &pid);
	is_int(pid, 0, "a lease is not a lock");
	hmi_parse_proc_locks(text, 0xfd, 0x0a, 7, &pid);
	is_int(pid, -1, "pid 0 (another pid namespace): held, -1");
	hmi_parse_proc_locks(text, 0, 0x2f, 8, &pid);
	is_int(pid, 4321, "a real pid wins over an OFD lock on the same file");
	hmi_parse_proc_locks(text, 0, 0x2e, 5679, &pid);
	is_int(pid, 0, "other inode: no holder");
	hmi_parse_proc_locks(text, 0, 0x2d, 5678, &pid);
	is_int(pid, 0, "other minor: no holder");
	hmi_parse_proc_locks(text, 0, 46, 5678, &pid);
	is_int(pid, 1234, "device numbers are hex: 0x2e = 46");
	is_int(hmi_parse_proc_locks("", 0, 0, 1, &pid), 0, "empty /proc/locks");
	is_int(pid, 0, "... no holder");
	is_int(
	    hmi_parse_proc_locks("1: FLOCK  ADVISORY  WRITE abc 00:2e:1 0 EOF\n", 0, 0x2e, 1, &pid),
	    -EINVAL, "non-numeric pid: -EINVAL");
	is_int(
	    hmi_parse_proc_locks("1: FLOCK  ADVISORY  WRITE 12 00-2e-1 0 EOF\n", 0, 0x2e, 1, &pid),
	    -EINVAL, "device without colons: -EINVAL");
	is_int(hmi_parse_proc_locks("1: FLOCK\n", 0, 0x2e, 1, &pid), -EINVAL,
	       "truncated line: -EINVAL");
	is_int(hmi_parse_proc_locks("1 FLOCK ADVISORY WRITE 1 00:2e:1 0 EOF\n", 0, 0x2e, 1, &pid),
	       -EINVAL, "id without colon: -EINVAL");
	is_int(hmi_parse_proc_locks("1: FLOCK ADVISORY WRITE 99999999999 00:2e:1 0 EOF\n", 0, 0x2e,
				    1, &pid),
	       -EINVAL, "pid beyond 32 bits: -EINVAL");
	is_int(hmi_parse_proc_locks("1: FLOCK ADVISORY WRITE 1 00:2e:1x 0 EOF\n", 0, 0x2e, 1, &pid),
	       -EINVAL, "inode with trailing junk: -EINVAL");
}

static void test_pagemap(void)
{
	uint64_t pfn = 7;

	is_int(hm_pagemap_decode((1ULL << 63) | 0x12345, &pfn), 1, "present entry");
	is_u64(pfn, 0x12345, "... PFN from bits 0-54");
	is_int(hm_pagemap_decode(0x12345, &pfn), 0, "absent entry");
	is_u64(pfn, 0, "... PFN 0");
	is_int(hm_pagemap_decode(1ULL << 63, &pfn), 1, "present with PFN 0 (no CAP_SYS_ADMIN)");
	is_u64(pfn, 0, "... PFN 0");
	is_int(hm_pagemap_decode((1ULL << 63) | (1ULL << 62) | (1ULL << 61) | (1ULL << 56) |
				     (1ULL << 55) | 42,
				 &pfn),
	       1, "present with flag bits 55-62 set");
	is_u64(pfn, 42, "... flag bits are not part of the PFN");
	hm_pagemap_decode((1ULL << 63) | ((1ULL << 55) - 1), &pfn);
	is_u64(pfn, (1ULL << 55) - 1, "largest PFN");
	is_int(hm_pagemap_decode(1ULL << 62, &pfn), 0, "swapped entry is not present");
	is_int(hm_pagemap_decode((1ULL << 63) | 5, NULL), 1, "NULL pfn pointer is accepted");
}

/* Random bytes into every parser: a fixed-seed generator, so a failure
 * repeats. */
static void test_random_input(struct hm_ctx *ctx)
{
	static const char alphabet[] = "0123456789abcdefx:-,/ \n\\%=kKMGmax";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char buf[200];
	int bad = 0;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % (int)sizeof(buf));
		struct hm_mount *m = NULL;
		int ids[HM_MAX_NODES], n = 0, version, rc;
		uint64_t v;
		char *path = NULL;
		pid_t pid;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
		}
		buf[len] = '\0';
		rc = hmi_parse_mountinfo(ctx, buf, 2 * MiB, &m, &n);
		bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
		if (rc == 0)
			hmi_mounts_free(m, n);
		rc = hmi_parse_nodelist(ctx, buf, ids, HM_MAX_NODES, &n);
		bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
		rc = hmi_parse_proc_cgroup(ctx, buf, &version, &path);
		bad += rc != 0 && rc != -EINVAL;
		if (rc == 0)
			free(path);
		rc = hmi_parse_meminfo(ctx, buf, &v);
		bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
		rc = hmi_parse_cgroup_value(buf, &v);
		bad += rc != 0 && rc != -EINVAL && rc != -ERANGE;
		rc = hmi_parse_proc_locks(buf, 0, 0x2e, 1, &pid);
		bad += rc != 0 && rc != -EINVAL;
	}
	is_int(bad, 0, "20000 random inputs: every parser gives a result or -EINVAL/-ERANGE");
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	test_dirname();
	test_size_names();
	test_meminfo(ctx);
	test_nodelist(ctx);
	test_proc_cgroup(ctx);
	test_cgroup_value();
	test_mountinfo_basic(ctx);
	test_mountinfo_options(ctx);
	test_mountinfo_long(ctx);
	test_mountinfo_errors(ctx);
	test_mountinfo_truncations(ctx);
	test_cgroup_mount(ctx);
	test_locks();
	test_pagemap();
	test_random_input(ctx);
	hm_ctx_free(ctx);
	return done();
}
