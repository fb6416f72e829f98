/* SPDX-License-Identifier: MIT */
/*
 * sysinfo_test.c — hmi_sysinfo_parse on whole trees: the committed fixture
 * trees under test/fixtures/ (each a fake root), trees this test builds in a
 * temporary directory with one file broken at a time (each must fail with the
 * right code and a message naming the file), and once on the real root "/",
 * checked against the counters in /sys read directly.
 *
 * Fixtures are found below $HM_TOP (else the current directory, as `make
 * check` runs from the repo top).
 */
#include "sys/sysinfo.h"
#include "real.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MiB	 (1ULL << 20)
#define GiB	 (1ULL << 30)
#define HP2M	 "/sys/kernel/mm/hugepages/hugepages-2048kB"
#define NODE0_2M "/sys/devices/system/node/node0/hugepages/hugepages-2048kB"

static const struct hm_pool *pool_of(const struct hm_sysinfo *si, uint64_t size)
{
	for (int i = 0; i < si->n_pools; i++)
		if (si->pools[i].page_size == size)
			return &si->pools[i];
	return NULL;
}

static const struct hm_mount *mount_at(const struct hm_sysinfo *si, const char *path)
{
	for (int i = 0; i < si->n_mounts; i++)
		if (strcmp(si->mounts[i].path, path) == 0)
			return &si->mounts[i];
	return NULL;
}

/* Parse fixture NAME into SI; the return code of hmi_sysinfo_parse. */
static int parse_fixture(struct hm_ctx *ctx, const char *name, struct hm_sysinfo *si)
{
	const char *top = getenv("HM_TOP");
	char path[PATH_MAX], real[PATH_MAX];

	snprintf(path, sizeof(path), "%s/test/fixtures/%s", top ? top : ".", name);
	if (!realpath(path, real) || hm_ctx_set_root(ctx, real) < 0) {
		diag("fixture %s not found (set HM_TOP to the repo top)", path);
		memset(si, 0, sizeof(*si));
		return -ENOENT;
	}
	return hmi_sysinfo_parse(ctx, si);
}

static void check_pool_defaults(const struct hm_pool *p, const char *what)
{
	ok(p->mount == -1 && p->budget == 0 && p->budget_cap == 0 && p->node_budget[0] == 0,
	   "%s: mount choice and budgets are left to hugedir", what);
}

static void test_two_sizes(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p2, *p1g;
	const struct hm_mount *m;
	char dir[PATH_MAX];
	struct stat st;

	is_int(parse_fixture(ctx, "two-sizes", &si), 0, "two-sizes parses");
	is_int(si.n_pools, 2, "two-sizes: 2 pools");
	ok(si.n_pools == 2 && si.pools[0].page_size == 2 * MiB && si.pools[1].page_size == GiB,
	   "pools in ascending page size");
	is_u64(si.default_page_size, 2 * MiB, "default size from meminfo: 2 MiB");
	p2 = pool_of(&si, 2 * MiB);
	p1g = pool_of(&si, GiB);
	if (!p2 || !p1g)
		goto out;
	ok(p2->nr == 1024 && p2->free == 960 && p2->resv == 10 && p2->surplus == 0 &&
	       p2->overcommit == 0,
	   "2M counters 1024/960/10/0/0");
	ok(p1g->nr == 4 && p1g->free == 4 && p1g->resv == 0, "1G counters 4/4/0");
	ok(p2->is_default && !p1g->is_default, "2M is the default size, 1G is not");
	ok(si.n_nodes == 1 && si.node_ids[0] == 0, "one node: 0");
	ok(p2->n_nodes == 1 && p2->nodes[0].node == 0 && p2->nodes[0].nr == 1024 &&
	       p2->nodes[0].free == 960 && p2->nodes[0].surplus == 0,
	   "2M node 0: 1024/960/0");
	ok(p1g->n_nodes == 1 && p1g->nodes[0].nr == 4 && p1g->nodes[0].free == 4, "1G node 0: 4/4");
	is_int(si.n_mounts, 2, "two hugetlbfs mounts");
	m = mount_at(&si, "/dev/hugepages");
	ok(m && m->page_size == 2 * MiB, "/dev/hugepages serves 2M");
	ok(m && m->size_limit == 0 && m->room == UINT64_MAX && m->writable == 0,
	   "/dev/hugepages: no size limit, room unlimited, writable left at 0");
	snprintf(dir, sizeof(dir), "%s/dev/hugepages", hm_ctx_root(ctx));
	if (m && stat(dir, &st) == 0) {
		ok(m->uid == st.st_uid && m->gid == st.st_gid,
		   "owner without uid=/gid= comes from stat of the mount point");
		is_int(m->mode, st.st_mode & 07777, "mode without mode= comes from stat");
	}
	m = mount_at(&si, "/mnt/huge1g");
	ok(m && m->page_size == GiB, "/mnt/huge1g serves 1G (pagesize=1024M)");
	is_int(si.cgroup_version, 2, "cgroup v2");
	is_str(si.cgroup_path, "/", "cgroup path /");
	ok(p2->cgroup.version == 0 && p2->cgroup.path == NULL && p2->cgroup.max == UINT64_MAX &&
	       p2->cgroup.rsvd_max == UINT64_MAX,
	   "no hugetlb limit files: no limit");
	check_pool_defaults(p2, "two-sizes 2M");
	check_pool_defaults(p1g, "two-sizes 1G");
out:
	hmi_sysinfo_release(&si);
}

static void test_sparse_nodes(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p2, *p1g;

	is_int(parse_fixture(ctx, "sparse-nodes", &si), 0, "sparse-nodes parses");
	ok(si.n_nodes == 2 && si.node_ids[0] == 0 && si.node_ids[1] == 2,
	   "nodes 0 and 2 (has_memory), not memoryless node 1");
	p2 = pool_of(&si, 2 * MiB);
	p1g = pool_of(&si, GiB);
	if (!p2 || !p1g)
		goto out;
	is_u64(p2->nr, 768, "2M: 768 pages");
	is_int(p2->n_nodes, 2, "2M on two nodes");
	ok(p2->nodes[0].node == 0 && p2->nodes[0].nr == 512 && p2->nodes[0].free == 480,
	   "2M node 0: 512/480");
	ok(p2->nodes[1].node == 2 && p2->nodes[1].nr == 256 && p2->nodes[1].free == 220,
	   "2M node 2: 256/220");
	ok(p1g->nr == 0 && p1g->n_nodes == 2 && p1g->nodes[1].node == 2 && p1g->nodes[1].nr == 0,
	   "1G: no pages, both nodes listed with 0");
	is_int(si.n_mounts, 1, "one mount");
out:
	hmi_sysinfo_release(&si);
}

static void test_no_mount_1g(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p1g;
	int mounts_1g = 0;

	is_int(parse_fixture(ctx, "no-mount-1g", &si), 0, "no-mount-1g parses");
	p1g = pool_of(&si, GiB);
	ok(p1g && p1g->nr == 4 && p1g->free == 4, "1G pool of 4 pages");
	is_int(si.n_mounts, 1, "only the 2M hugetlbfs mount (the tmpfs is not one)");
	for (int i = 0; i < si.n_mounts; i++)
		mounts_1g += si.mounts[i].page_size == GiB;
	is_int(mounts_1g, 0, "no mount serves 1G");
	ok(si.n_mounts == 1 && si.mounts[0].page_size == 2 * MiB, "the mount serves 2M");
	hmi_sysinfo_release(&si);
}

static void test_space_mount(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_mount *m;

	is_int(parse_fixture(ctx, "space-mount", &si), 0, "space-mount parses (6 KiB line)");
	is_int(si.n_mounts, 3, "three hugetlbfs mounts after the long overlay line");
	m = mount_at(&si, "/mnt/my huge");
	ok(m != NULL, "'/mnt/my\\040huge' unescaped to '/mnt/my huge'");
	if (m) {
		is_u64(m->size_limit, 64 * MiB, "size=64M");
		is_u64(m->room, 64 * MiB, "room = size limit");
		ok(m->uid == 1000 && m->gid == 1000, "uid=1000,gid=1000 from the options");
		is_int(m->mode, 01770, "mode=1770 (octal) from the options, not stat");
		is_int(m->read_only, 0, "rw");
	}
	m = mount_at(&si, "/mnt/half");
	ok(m && m->page_size == 2 * MiB && m->size_limit == 32 * 2 * MiB,
	   "size=50%% of the 64-page pool: 32 pages");
	m = mount_at(&si, "/mnt/back\\slash\ttab");
	ok(m != NULL, "\\134 and \\011 unescape");
	if (m) {
		ok(m->read_only == 1 && m->size_limit == 4 * MiB, "ro, size=4194304");
		ok(m->uid == (uid_t)-1 && m->gid == (gid_t)-1 && m->mode == 0,
		   "mount point that does not exist: owner -1, mode 0");
	}
	hmi_sysinfo_release(&si);
}

static void test_cgroup_v2(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p2, *p1g;

	is_int(parse_fixture(ctx, "cgroup-v2", &si), 0, "cgroup-v2 parses");
	is_int(si.cgroup_version, 2, "cgroup version 2");
	is_str(si.cgroup_path, "/ci/job", "cgroup path /ci/job");
	p2 = pool_of(&si, 2 * MiB);
	p1g = pool_of(&si, GiB);
	if (!p2 || !p1g)
		goto out;
	is_int(p2->cgroup.version, 2, "2M limited by a v2 cgroup");
	is_str(p2->cgroup.path, "/ci", "2M: the parent /ci has the least room");
	is_u64(p2->cgroup.max, 16 * MiB, "2M max 16 MiB (8 pages)");
	is_u64(p2->cgroup.usage, 4 * MiB, "2M usage 4 MiB");
	is_u64(p2->cgroup.rsvd_max, UINT64_MAX, "2M rsvd.max 'max'");
	is_u64(p2->cgroup.rsvd_usage, 2 * MiB, "2M rsvd.current 2 MiB");
	is_int(p1g->cgroup.version, 2, "1G limited by a v2 cgroup");
	is_str(p1g->cgroup.path, "/ci/job", "1G: the child's 1 GiB limit is lower than max");
	is_u64(p1g->cgroup.max, GiB, "1G max 1 GiB");
	is_u64(p1g->cgroup.usage, 0, "1G usage 0");
out:
	hmi_sysinfo_release(&si);
}

/* Another process's limits (the keeper's clients): proc/4242/cgroup of the
 * fixture is /ci/job, proc/4243/cgroup the root, no proc/4244. */
static void test_cgroup_caps_of(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	struct hmi_cgroup_caps cg;
	char *mi = NULL;

	if (parse_fixture(ctx, "cgroup-v2", &si) < 0)
		return;
	hmi_sysinfo_release(&si);
	is_int(hmi_read_mountinfo(ctx, &mi), 0, "the fixture's mountinfo read");
	is_int(hmi_cgroup_caps_of(ctx, 4242, 2 * MiB, mi, &cg), 0, "caps of pid 4242 (2M) read");
	is_str(cg.path, "/ci/job", "  its cgroup /ci/job");
	ok(cg.n == 1 && strcmp(cg.caps[0].path, "/ci") == 0 && cg.caps[0].max == 16 * MiB,
	   "  one cap: /ci, 16 MiB (the job's own is max)");
	hmi_cgroup_caps_free(&cg);
	is_int(hmi_cgroup_caps_of(ctx, 4242, GiB, mi, &cg), 0, "caps of pid 4242 (1G) read");
	ok(cg.n == 1 && strcmp(cg.caps[0].path, "/ci/job") == 0 && cg.caps[0].max == GiB,
	   "  one cap: /ci/job, 1 GiB (the parent's is max)");
	hmi_cgroup_caps_free(&cg);
	is_int(hmi_cgroup_caps_of(ctx, 4243, 2 * MiB, mi, &cg), 0, "caps of pid 4243 read");
	ok(cg.n == 0 && cg.version == 2 && strcmp(cg.path, "/") == 0,
	   "  in the root cgroup: no cap");
	hmi_cgroup_caps_free(&cg);
	is_int(hmi_cgroup_caps_of(ctx, 4244, 2 * MiB, mi, &cg), 0,
	       "no /proc/4244/cgroup: read as no controller");
	ok(cg.n == 0 && cg.version == 0 && strcmp(cg.path, "/") == 0 && cg.caps == NULL,
	   "  path / and no cap");
	hmi_cgroup_caps_free(&cg);
	free(mi);
}

static void test_cgroup_v1(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p2, *p1g;

	is_int(parse_fixture(ctx, "cgroup-v1", &si), 0, "cgroup-v1 parses");
	is_int(si.cgroup_version, 1, "v1 hugetlb line wins over the v2 line");
	is_str(si.cgroup_path, "/docker/abc", "cgroup path /docker/abc");
	p2 = pool_of(&si, 2 * MiB);
	p1g = pool_of(&si, GiB);
	if (!p2 || !p1g)
		goto out;
	is_int(p2->cgroup.version, 1, "2M limited by a v1 cgroup");
	is_str(p2->cgroup.path, "/docker/abc", "2M: the container's own cgroup");
	is_u64(p2->cgroup.max, 32 * MiB, "2M limit_in_bytes 32 MiB");
	is_u64(p2->cgroup.usage, 2 * MiB, "2M usage_in_bytes 2 MiB");
	is_u64(p2->cgroup.rsvd_max, UINT64_MAX, "v1 'unlimited' rsvd limit reads as UINT64_MAX");
	is_u64(p1g->cgroup.max, UINT64_MAX, "1G: 9223372036854771712 is unlimited");
	is_str(p1g->cgroup.path, "/docker/abc", "1G: unlimited everywhere, the deepest is kept");
out:
	hmi_sysinfo_release(&si);
}

static void test_small_fixtures(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	const struct hm_pool *p;

	is_int(parse_fixture(ctx, "exhausted", &si), 0, "exhausted parses");
	p = pool_of(&si, 2 * MiB);
	ok(p && p->nr == 256 && p->free == 0, "exhausted: 256 pages, none free");
	hmi_sysinfo_release(&si);

	is_int(parse_fixture(ctx, "no-hugetlb", &si), 0, "no-hugetlb parses");
	ok(si.n_pools == 0 && si.default_page_size == 0 && si.n_mounts == 0,
	   "no-hugetlb: no pools, no default size, no mounts");
	ok(si.n_nodes == 1 && si.node_ids[0] == 0, "no-hugetlb: node 0");
	hmi_sysinfo_release(&si);

	is_int(parse_fixture(ctx, "no-numa", &si), 0, "no-numa parses");
	p = pool_of(&si, 2 * MiB);
	ok(si.n_nodes == 1 && si.node_ids[0] == 0, "no node directory: node 0 alone");
	ok(p && p->n_nodes == 1 && p->nodes[0].node == 0 && p->nodes[0].nr == 128 &&
	       p->nodes[0].free == 100 && p->nodes[0].surplus == 1,
	   "no-numa: node 0 holds the global counters");
	ok(p && p->resv == 2 && p->overcommit == 8, "no-numa: resv 2, overcommit 8");
	ok(si.n_mounts == 1 && si.mounts[0].page_size == 2 * MiB,
	   "mount without pagesize= serves the default size");
	ok(si.cgroup_version == 0 && si.cgroup_path && strcmp(si.cgroup_path, "/") == 0,
	   "no /proc/self/cgroup: no controller, path '/'");
	hmi_sysinfo_release(&si);

	is_int(parse_fixture(ctx, "garbage-counter", &si), -EINVAL, "garbage-counter: -EINVAL");
	like(hm_errmsg(ctx), HP2M "/free_hugepages", "message names the counter file");
	like(hm_errmsg(ctx), "'abc", "message quotes what was found");
	hmi_sysinfo_release(&si);

	is_int(parse_fixture(ctx, "garbage-mountinfo", &si), -EINVAL, "garbage-mountinfo: -EINVAL");
	like(hm_errmsg(ctx), "/proc/self/mountinfo: line 6", "message names file and line");
	like(hm_errmsg(ctx), "'41 1 0:46 / /mnt/huge1g rw,relat'", "message quotes the line");
	hmi_sysinfo_release(&si);
	ok(si.mounts == NULL && si.cgroup_path == NULL,
	   "release after a failure leaves no pointer");
	hmi_sysinfo_release(&si);
	ok(1, "a second release is harmless");
}

/* ------------------------------------------------------------------ built trees */

static char tree[64];

static int put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", tree, rel);
	for (char *s = strchr(path + strlen(tree) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void drop(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", tree, rel);
	unlink(path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void put_pool(const char *dir, const char *nr, const char *free_, int node_level)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	put(path, nr);
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	put(path, free_);
	snprintf(path, sizeof(path), "%s/surplus_hugepages", dir);
	put(path, "0\n");
	if (node_level)
		return;
	snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
	put(path, "0\n");
	snprintf(path, sizeof(path), "%s/nr_overcommit_hugepages", dir);
	put(path, "0\n");
}

/* A fresh minimal valid tree: 2M pool of 64 pages on node 0, one mount, v2. */
static void fresh_tree(void)
{
	if (tree[0])
		nftw(tree, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(tree, sizeof(tree), "/tmp/hm-sysinfo-XXXXXX");
	if (!mkdtemp(tree)) {
		tree[0] = '\0';
		return;
	}
	put_pool(HP2M, "64\n", "64\n", 0);
	put("/sys/devices/system/node/has_memory", "0\n");
	put("/sys/devices/system/node/online", "0\n");
	put_pool(NODE0_2M, "64\n", "64\n", 1);
	put("/proc/meminfo", "MemTotal: 1000 kB\nHugepagesize:    2048 kB\n");
	put("/proc/self/mountinfo",
	    "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "30 1 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	    "40 1 0:45 / /dev/hugepages rw - hugetlbfs hugetlbfs rw,pagesize=2M\n");
	put("/proc/self/cgroup", "0::/\n");
}

/* Parse the built tree; release it; the return code. */
static int parse_tree(struct hm_ctx *ctx, struct hm_sysinfo *si)
{
	int rc;

	hm_ctx_set_root(ctx, tree);
	rc = hmi_sysinfo_parse(ctx, si);
	return rc;
}

static void expect_error(struct hm_ctx *ctx, int want, const char *needle, const char *what)
{
	struct hm_sysinfo si;

	is_int(parse_tree(ctx, &si), want, "%s", what);
	like(hm_errmsg(ctx), needle, "... message has '%s'", needle);
	hmi_sysinfo_release(&si);
}

static void test_counter_errors(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;

	fresh_tree();
	is_int(parse_tree(ctx, &si), 0, "built base tree parses");
	hmi_sysinfo_release(&si);
	put(HP2M "/free_hugepages", "");
	expect_error(ctx, -EINVAL,
		     HP2M "/free_hugepages: expected a decimal count, found '(empty)'",
		     "empty counter: -EINVAL");
	put(HP2M "/free_hugepages", "abc\n");
	expect_error(ctx, -EINVAL, "found 'abc", "non-numeric counter: -EINVAL");
	put(HP2M "/free_hugepages", "99999999999999999999\n");
	expect_error(ctx, -ERANGE, HP2M "/free_hugepages: '99999999999999999999",
		     "counter beyond 64 bits: -ERANGE");
	put(HP2M "/free_hugepages", "-1\n");
	expect_error(ctx, -EINVAL, "found '-1", "negative counter: -EINVAL");
	put(HP2M "/free_hugepages", "64\n");
	drop(HP2M "/resv_hugepages");
	expect_error(ctx, -ENOENT, HP2M "/resv_hugepages", "missing counter file: -ENOENT");
	put(HP2M "/resv_hugepages", "0\n");
	put(NODE0_2M "/nr_hugepages", "12x\n");
	expect_error(ctx, -EINVAL, NODE0_2M "/nr_hugepages", "garbage node counter: -EINVAL");
	put(NODE0_2M "/nr_hugepages", "64\n");
	put("/sys/kernel/mm/hugepages/hugepages-99999999999999999999kB/nr_hugepages", "0\n");
	expect_error(ctx, -ERANGE, "hugepages-99999999999999999999kB",
		     "size directory beyond 64 bits: -ERANGE");
}

static void test_pool_listing(struct hm_ctx *ctx)
{
	static const char *const sizes[] = {"64",   "128",  "256",   "512",  "1024",
					    "4096", "8192", "16384", "32768"};
	struct hm_sysinfo si;
	char dir[PATH_MAX];

	fresh_tree();
	put("/sys/kernel/mm/hugepages/hugepages-2048kB.bak/x", "");
	put("/sys/kernel/mm/hugepages/README", "not a pool\n");
	put_pool("/sys/kernel/mm/hugepages/hugepages-64kB", "0\n", "0\n", 0);
	is_int(parse_tree(ctx, &si), 0, "entries that are not hugepages-<N>kB are skipped");
	ok(si.n_pools == 2 && si.pools[0].page_size == 64 * 1024 &&
	       si.pools[1].page_size == 2 * MiB,
	   "64K and 2M pools, ascending");
	ok(si.n_pools == 2 && si.pools[0].n_nodes == 0 && si.pools[1].n_nodes == 1,
	   "a size without a node directory lists no node");
	hmi_sysinfo_release(&si);
	for (size_t i = 0; i < HMI_ARRAY_SIZE(sizes); i++) {
		snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%skB", sizes[i]);
		put_pool(dir, "0\n", "0\n", 0);
	}
	expect_error(ctx, -E2BIG, "more than 8 hugepage sizes", "10 sizes: -E2BIG");
}

static void test_node_sources(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;

	fresh_tree();
	drop("/sys/devices/system/node/has_memory");
	put("/sys/devices/system/node/online", "0-1\n");
	put("/sys/devices/system/node/node1/cpulist", "\n");
	put("/sys/devices/system/node/node5/cpulist", "\n");
	is_int(parse_tree(ctx, &si), 0, "no has_memory: online is read");
	ok(si.n_nodes == 2 && si.node_ids[1] == 1, "... nodes 0-1 (not the offline node5 dir)");
	ok(si.n_pools == 1 && si.pools[0].n_nodes == 1 && si.pools[0].nodes[0].node == 0,
	   "node 1 without a hugepages directory is not in the pool's nodes");
	hmi_sysinfo_release(&si);
	drop("/sys/devices/system/node/online");
	put("/sys/devices/system/node/node3/cpulist", "\n");
	put("/sys/devices/system/node/nodefoo/x", "\n");
	is_int(parse_tree(ctx, &si), 0, "no node list file: nodeN directories are listed");
	ok(si.n_nodes == 4 && si.node_ids[0] == 0 && si.node_ids[1] == 1 && si.node_ids[2] == 3 &&
	       si.node_ids[3] == 5,
	   "... nodes 0, 1, 3, 5 (nodefoo ignored)");
	hmi_sysinfo_release(&si);
	put("/sys/devices/system/node/has_memory", "0-x\n");
	expect_error(ctx, -EINVAL, "/sys/devices/system/node/has_memory: node list",
		     "garbage has_memory: -EINVAL naming the file");
	put("/sys/devices/system/node/has_memory", "0,64\n");
	expect_error(ctx, -ERANGE, "has_memory", "node id 64: -ERANGE");
}

static void test_meminfo_errors(struct hm_ctx *ctx)
{
	fresh_tree();
	put("/proc/meminfo", "MemTotal: 1000 kB\n");
	expect_error(ctx, -EINVAL, "/proc/meminfo has no Hugepagesize line",
		     "meminfo without Hugepagesize while pools exist: -EINVAL");
	put("/proc/meminfo", "Hugepagesize: 4096 kB\n");
	expect_error(ctx, -EINVAL, "Hugepagesize 4 MiB matches no pool",
		     "Hugepagesize of no pool: -EINVAL");
	put("/proc/meminfo", "Hugepagesize: lots kB\n");
	expect_error(ctx, -EINVAL, "/proc/meminfo: Hugepagesize 'lots kB'",
		     "garbage Hugepagesize: -EINVAL naming the file");
	drop("/proc/meminfo");
	expect_error(ctx, -ENOENT, "/proc/meminfo", "no meminfo: -ENOENT");
}

static void test_mountinfo_errors(struct hm_ctx *ctx)
{
	fresh_tree();
	put("/proc/self/mountinfo", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n40 1 0:45 / /dev/hu");
	expect_error(ctx, -EINVAL, "/proc/self/mountinfo: line 2", "truncated mountinfo: -EINVAL");
	put("/proc/self/mountinfo", "40 1 0:45 / /dev/hugepages rw hugetlbfs none rw\n");
	expect_error(ctx, -EINVAL, "/proc/self/mountinfo: line 1 is not a mountinfo line",
		     "mountinfo without ' - ': -EINVAL");
	put("/proc/self/mountinfo", "40 1 0:45 / /dev/hugepages rw - hugetlbfs n rw,mode=9\n");
	expect_error(ctx, -EINVAL, "bad option 'mode=9'", "bad mode=: -EINVAL");
	drop("/proc/self/mountinfo");
	expect_error(ctx, -ENOENT, "/proc/self/mountinfo", "no mountinfo: -ENOENT");
}

static void put_v2_limit(const char *cg, const char *max, const char *cur)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/hugetlb.2MB.max", cg);
	put(path, max);
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/hugetlb.2MB.current", cg);
	put(path, cur);
}

static void test_cgroup_trees(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;

	fresh_tree();
	put("/proc/self/cgroup", "0::/a/b\n");
	put_v2_limit("/a", "8388608\n", "10485760\n");
	put_v2_limit("/a/b", "max\n", "0\n");
	is_int(parse_tree(ctx, &si), 0, "v2 without rsvd files (kernel < 5.7)");
	ok(si.n_pools == 1 && si.pools[0].cgroup.path &&
	       strcmp(si.pools[0].cgroup.path, "/a") == 0 && si.pools[0].cgroup.usage == 10 * MiB,
	   "usage over the limit: that cgroup (no room) is kept");
	ok(si.n_pools == 1 && si.pools[0].cgroup.rsvd_max == UINT64_MAX &&
	       si.pools[0].cgroup.rsvd_usage == 0,
	   "missing rsvd files: no rsvd limit");
	hmi_sysinfo_release(&si);

	/* reservations bind first: /a has 62 MiB under max but 2 MiB under rsvd.max */
	put_v2_limit("/a", "67108864\n", "2097152\n");
	put("/sys/fs/cgroup/a/hugetlb.2MB.rsvd.max", "4194304\n");
	put("/sys/fs/cgroup/a/hugetlb.2MB.rsvd.current", "2097152\n");
	put_v2_limit("/a/b", "8388608\n", "0\n");
	is_int(parse_tree(ctx, &si), 0, "v2 with a reservation limit");
	ok(si.n_pools == 1 && si.pools[0].cgroup.path &&
	       strcmp(si.pools[0].cgroup.path, "/a") == 0 &&
	       si.pools[0].cgroup.rsvd_max == 4 * MiB && si.pools[0].cgroup.rsvd_usage == 2 * MiB,
	   "rsvd.max - rsvd.current (2 MiB) is less room than the child's 8 MiB max");
	hmi_sysinfo_release(&si);

	put("/proc/self/cgroup", "0::/gone\n");
	is_int(parse_tree(ctx, &si), 0, "a cgroup directory that does not exist is no error");
	ok(si.n_pools == 1 && si.pools[0].cgroup.version == 0 && si.cgroup_version == 2,
	   "... and no limit");
	hmi_sysinfo_release(&si);

	put("/proc/self/cgroup", "0::/a/../..\n");
	is_int(parse_tree(ctx, &si), 0, "a cgroup path with '..'");
	ok(si.n_pools == 1 && si.pools[0].cgroup.version == 0, "... is not followed");
	hmi_sysinfo_release(&si);

	put("/proc/self/cgroup", "0::/a/b\n");
	put_v2_limit("/a/b", "12abc\n", "0\n");
	expect_error(ctx, -EINVAL, "/sys/fs/cgroup/a/b/hugetlb.2MB.max: expected 'max'",
		     "garbage cgroup limit: -EINVAL naming the file");
	put_v2_limit("/a/b", "max\n", "");
	expect_error(ctx, -EINVAL,
		     "hugetlb.2MB.current: expected 'max' or a byte count, found '(empty)'",
		     "empty cgroup usage: -EINVAL");
	put_v2_limit("/a/b", "max\n", "99999999999999999999\n");
	expect_error(ctx, -ERANGE, "hugetlb.2MB.current", "cgroup usage beyond 64 bits: -ERANGE");
	put("/proc/self/cgroup", "0::/\nrubbish\n");
	expect_error(ctx, -EINVAL, "/proc/self/cgroup: line 2",
		     "garbage /proc/self/cgroup: -EINVAL");
}

static void test_cgroup_v1_bind_root(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;

	/* a container without a cgroup namespace: the mount shows /docker/abc */
	fresh_tree();
	put("/proc/self/cgroup", "7:hugetlb:/docker/abc\n");
	put("/proc/self/mountinfo",
	    "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
	    "34 1 0:30 /docker/abc /sys/fs/cgroup/hugetlb ro - cgroup cgroup rw,hugetlb\n");
	put("/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes", "4194304\n");
	put("/sys/fs/cgroup/hugetlb/hugetlb.2MB.usage_in_bytes", "0\n");
	is_int(parse_tree(ctx, &si), 0, "v1 mount whose root is the process's cgroup");
	ok(si.cgroup_version == 1 && si.n_pools == 1 && si.pools[0].cgroup.version == 1,
	   "... v1 limit found");
	ok(si.n_pools == 1 && si.pools[0].cgroup.path &&
	       strcmp(si.pools[0].cgroup.path, "/docker/abc") == 0 &&
	       si.pools[0].cgroup.max == 4 * MiB,
	   "... read at the mount's top, reported as /docker/abc");
	ok(si.n_mounts == 0, "no hugetlbfs mount in this table");
	hmi_sysinfo_release(&si);
	put("/proc/self/mountinfo", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
	is_int(parse_tree(ctx, &si), 0, "v1 line but no hugetlb mount");
	ok(si.cgroup_version == 0 && si.pools[0].cgroup.version == 0, "... no controller");
	hmi_sysinfo_release(&si);
	nftw(tree, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tree[0] = '\0';
}

/* ------------------------------------------------------------------ the real root */

static int read_direct(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	int ok_ = f && fscanf(f, "%" SCNu64, v) == 1;

	if (f)
		fclose(f);
	return ok_ ? 0 : -1;
}

/* 1 when POOL's counters match /sys right now (read before and after). */
static int pool_matches(const struct hm_pool *p)
{
	static const char *const names[] = {"nr_hugepages", "free_hugepages", "resv_hugepages",
					    "surplus_hugepages"};
	const uint64_t got[] = {p->nr, p->free, p->resv, p->surplus};
	char path[PATH_MAX];

	for (size_t i = 0; i < HMI_ARRAY_SIZE(names); i++) {
		uint64_t v = UINT64_MAX;

		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s",
			 p->page_size / 1024, names[i]);
		if (read_direct(path, &v) < 0 || v != got[i]) {
			diag("%s: parsed %" PRIu64 ", now %" PRIu64, path, got[i], v);
			return 0;
		}
	}
	return 1;
}

static int count_real_mounts(void)
{
	char line[8192];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, " - hugetlbfs ") != NULL;
	if (f)
		fclose(f);
	return n;
}

static void test_real_root(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	struct stat st;
	uint64_t v;
	int rc = -1, same = 0;

	if (stat("/sys/kernel/mm/hugepages", &st) < 0) {
		ok(1, "# SKIP no /sys/kernel/mm/hugepages on this machine");
		return;
	}
	hm_ctx_set_root(ctx, "/");
	/* the tests that change the pool hold the machine-wide lock while they
	 * do; other programs may still, hence a few tries */
	real_lock();
	for (int attempt = 0; attempt < 5 && !same; attempt++) {
		if (attempt)
			hmi_sysinfo_release(&si);
		rc = hmi_sysinfo_parse(ctx, &si);
		same = rc == 0;
		for (int i = 0; same && i < si.n_pools; i++)
			same = pool_matches(&si.pools[i]);
	}
	is_int(rc, 0, "the real root parses");
	if (rc < 0)
		diag("%s", hm_errmsg(ctx));
	real_unlock();
	ok(same, "real pools (%d) agree with /sys read directly", si.n_pools);
	ok(si.n_pools > 0, "the real root has at least one hugepage size");
	for (int i = 1; i < si.n_pools; i++)
		ok(si.pools[i - 1].page_size < si.pools[i].page_size, "real pools ascending");
	if (read_direct("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", &v) == 0)
		ok(pool_of(&si, 2 * MiB) != NULL, "the real 2M pool is listed");
	ok(si.n_nodes >= 1 && si.node_ids[0] >= 0, "real root: %d node(s)", si.n_nodes);
	is_int(si.n_mounts, count_real_mounts(), "real hugetlbfs mounts all found");
	ok(si.default_page_size == 0 || pool_of(&si, si.default_page_size) != NULL,
	   "real default size (%" PRIu64 ") is one of the pools", si.default_page_size);
	ok(si.cgroup_path && si.cgroup_path[0] == '/', "real cgroup path '%s'",
	   si.cgroup_path ? si.cgroup_path : "(null)");
	hmi_sysinfo_release(&si);
}

/* /proc/locks as this kernel writes it: an flock and an OFD lock of ours. */
static void test_real_locks(void)
{
	char path[] = "/tmp/hm-locks-XXXXXX", *text = NULL;
	struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct hm_ctx *ctx = NULL;
	int fd = mkstemp(path), fd2 = fd < 0 ? -1 : open(path, O_RDWR);
	pid_t pid = 0;
	struct stat st;

	if (fd < 0 || fd2 < 0 || fstat(fd, &st) < 0 || hm_ctx_new(&ctx) < 0 ||
	    flock(fd, LOCK_SH) < 0) {
		ok(1, "# SKIP cannot set up a lock file in /tmp");
		goto out;
	}
	if (hmi_read_alloc(ctx, "/proc/locks", 1 << 24, &text, NULL) == 0) {
		is_int(
		    hmi_parse_proc_locks(text, major(st.st_dev), minor(st.st_dev), st.st_ino, &pid),
		    0, "the real /proc/locks parses");
		is_int(pid, getpid(), "our flock is found with our pid");
		free(text);
		text = NULL;
	}
	flock(fd, LOCK_UN);
	if (fcntl(fd2, F_OFD_SETLK, &ofd) == 0 &&
	    hmi_read_alloc(ctx, "/proc/locks", 1 << 24, &text, NULL) == 0) {
		hmi_parse_proc_locks(text, major(st.st_dev), minor(st.st_dev), st.st_ino, &pid);
		is_int(pid, -1, "our OFD lock is found, pid -1");
	}
out:
	free(text);
	hm_ctx_free(ctx);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (fd2 >= 0)
		close(fd2);
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	test_two_sizes(ctx);
	test_sparse_nodes(ctx);
	test_no_mount_1g(ctx);
	test_space_mount(ctx);
	test_cgroup_v2(ctx);
	test_cgroup_v1(ctx);
	test_cgroup_caps_of(ctx);
	test_small_fixtures(ctx);
	test_counter_errors(ctx);
	test_pool_listing(ctx);
	test_node_sources(ctx);
	test_meminfo_errors(ctx);
	test_mountinfo_errors(ctx);
	test_cgroup_trees(ctx);
	test_cgroup_v1_bind_root(ctx);
	test_real_root(ctx);
	test_real_locks();
	hm_ctx_free(ctx);
	return done();
}
