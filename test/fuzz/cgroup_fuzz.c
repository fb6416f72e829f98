/* SPDX-License-Identifier: MIT */
/*
 * cgroup_fuzz.c — the hugetlb cgroup files: /proc/self/cgroup
 * (hmi_parse_proc_cgroup), the v1 and v2 limit and usage files
 * (hmi_parse_cgroup_value: "max" or bytes), and the whole walk that joins
 * them with mountinfo (hmi_sysinfo_cgroup: find the controller's mount, cut
 * its root from the path, read every level's files up to the top).
 *
 * The input is up to three NUL-separated texts: /proc/self/cgroup, then
 * /proc/self/mountinfo, then the content of one limit file. The walk runs in
 * a fake root made once (fuzz_make_root): a v2 hierarchy at
 * /sys/fs/cgroup with levels /ci and /ci/job, a v1 one at
 * /sys/fs/cgroup/hugetlb with /docker and /docker/abc, limits and usages for
 * 2 MB and 1 GB pages, as in test/fixtures/cgroup-v[12]. Each input writes
 * its first text to proc/self/cgroup and its third to
 * /sys/fs/cgroup/ci/job/hugetlb.2MB.max and to
 * /sys/fs/cgroup/hugetlb/docker/abc/hugetlb.2MB.limit_in_bytes.
 *
 * Properties, for every input:
 *  - /proc/self/cgroup: -EINVAL with a one-line message, or version 0, 1 or
 *    2 and an absolute path ("/" for version 0);
 *  - a value file agrees with the model: "max" and white space is
 *    UINT64_MAX, else hmi_parse_u64, with the kernel's "no limit" number
 *    (0x7ffffffffffff000 and above) read as UINT64_MAX;
 *  - the walk fails (with a one-line message) whenever /proc/self/cgroup
 *    does not parse, and otherwise reports the same path, a version of 0 or
 *    the parsed one, and per pool either no limit or one of that version
 *    with an absolute path at or above the process's cgroup.
 */
#include "fuzz.h"
#include "sys/sysinfo.h"

#define MB2	     (2ULL << 20)
#define GB1	     (1ULL << 30)
#define UNLIMITED_AT 0x7ffffffffffff000ULL

static const char v2_file[] = "sys/fs/cgroup/ci/job/hugetlb.2MB.max";
static const char v1_file[] = "sys/fs/cgroup/hugetlb/docker/abc/hugetlb.2MB.limit_in_bytes";

/* The fixed files of the fake root: path, content. */
static const char *const tree[][2] = {
    {"sys/fs/cgroup/ci/hugetlb.2MB.max", "8388608\n"},
    {"sys/fs/cgroup/ci/hugetlb.2MB.current", "2097152\n"},
    {"sys/fs/cgroup/ci/hugetlb.2MB.rsvd.max", "max\n"},
    {"sys/fs/cgroup/ci/hugetlb.2MB.rsvd.current", "0\n"},
    {"sys/fs/cgroup/ci/hugetlb.1GB.max", "max\n"},
    {"sys/fs/cgroup/ci/job/hugetlb.2MB.current", "0\n"},
    {"sys/fs/cgroup/ci/job/hugetlb.2MB.rsvd.max", "4194304\n"},
    {"sys/fs/cgroup/ci/job/hugetlb.1GB.max", "1073741824\n"},
    {"sys/fs/cgroup/ci/job/hugetlb.1GB.current", "1073741824\n"},
    {"sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes", "9223372036854771712\n"},
    {"sys/fs/cgroup/hugetlb/hugetlb.2MB.usage_in_bytes", "0\n"},
    {"sys/fs/cgroup/hugetlb/docker/hugetlb.2MB.limit_in_bytes", "16777216\n"},
    {"sys/fs/cgroup/hugetlb/docker/hugetlb.1GB.limit_in_bytes", "2147483648\n"},
    {"sys/fs/cgroup/hugetlb/docker/abc/hugetlb.2MB.usage_in_bytes", "4194304\n"},
    {"sys/fs/cgroup/hugetlb/docker/abc/hugetlb.2MB.rsvd.limit_in_bytes", "max\n"},
    {"proc/self/cgroup", "0::/\n"},
};

/* Write the file I of the files rewritten per input (proc/self/cgroup, then
 * the two limit files) only when its text changed: fewer system calls. */
static void update_file(int i, const char *rel, const char *text)
{
	static char *last[3];

	if (last[i] && strcmp(last[i], text) == 0)
		return;
	free(last[i]);
	last[i] = strdup(text);
	if (!last[i])
		abort();
	fuzz_put_file(rel, text, strlen(text));
}

static void make_root(struct hm_ctx *ctx)
{
	fuzz_make_root(ctx, "cgroup");
	for (size_t i = 0; i < HMI_ARRAY_SIZE(tree); i++)
		fuzz_put_file(tree[i][0], tree[i][1], strlen(tree[i][1]));
}

static void check_value(const char *text)
{
	uint64_t v = 1, model = 2;
	int rc = hmi_parse_cgroup_value(text, &v), want;

	if (strncmp(text, "max", 3) == 0) {
		want = text[3 + strspn(text + 3, " \t\n\r")] ? -EINVAL : 0;
		model = UINT64_MAX;
	} else {
		want = hmi_parse_u64(text, &model);
		if (want == 0 && model >= UNLIMITED_AT)
			model = UINT64_MAX;
	}
	FUZZ_CHECK(rc == want && (rc < 0 || v == model),
		   "value '%s': %d/%" PRIu64 ", model %d/%" PRIu64, text, rc, v, want, model);
}

/* hmi_parse_proc_cgroup: the version, *PATH (free()) or NULL on failure. */
static int check_proc_cgroup(struct hm_ctx *ctx, const char *text, char **path)
{
	int version = -1, rc;

	*path = NULL;
	hmi_err_clear(ctx);
	rc = hmi_parse_proc_cgroup(ctx, text, &version, path);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ENOMEM), "proc cgroup: %d", rc);
	fuzz_failed(ctx, rc, "hmi_parse_proc_cgroup");
	if (rc < 0)
		return rc;
	FUZZ_CHECK(version >= 0 && version <= 2, "version %d", version);
	FUZZ_CHECK(*path && (*path)[0] == '/' && !strchr(*path, '\n'), "path '%s'",
		   *path ? *path : "(null)");
	FUZZ_CHECK(version != 0 || strcmp(*path, "/") == 0, "no controller, path '%s'", *path);
	return version;
}

/* Is the cgroup LEVEL at or above PATH ("/" is above everything)? */
static int is_at_or_above(const char *level, const char *path)
{
	size_t n = level ? strlen(level) : 0;

	if (!level)
		return 0;
	while (n > 1 && level[n - 1] == '/')
		n--;
	return strcmp(level, "/") == 0 ||
	       (strncmp(path, level, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

static void check_walk(struct hm_ctx *ctx, const char *mountinfo, int version, const char *path)
{
	struct hm_sysinfo si = {.n_pools = 2};
	int rc;

	si.pools[0].page_size = MB2;
	si.pools[1].page_size = GB1;
	hmi_err_clear(ctx);
	rc = hmi_sysinfo_cgroup(ctx, mountinfo, &si);
	fuzz_failed(ctx, rc, "hmi_sysinfo_cgroup");
	FUZZ_CHECK(version >= 0 || rc < 0, "walk succeeds on a bad /proc/self/cgroup");
	if (rc == 0) {
		FUZZ_CHECK(si.cgroup_path && strcmp(si.cgroup_path, path) == 0,
			   "walk path '%s', parsed '%s'",
			   si.cgroup_path ? si.cgroup_path : "(null)", path);
		FUZZ_CHECK(si.cgroup_version == 0 || si.cgroup_version == version,
			   "walk version %d, parsed %d", si.cgroup_version, version);
	}
	for (int i = 0; rc == 0 && i < si.n_pools; i++) {
		const struct hm_cgroup_limit *lim = &si.pools[i].cgroup;

		if (lim->version == 0)
			continue;
		FUZZ_CHECK(lim->version == si.cgroup_version, "pool %d: limit of v%d, walk v%d", i,
			   lim->version, si.cgroup_version);
		FUZZ_CHECK(lim->path && lim->path[0] == '/',
			   "pool %d: limit at '%s': not an absolute cgroup path", i,
			   lim->path ? lim->path : "(null)");
		FUZZ_CHECK(is_at_or_above(lim->path, path),
			   "pool %d: limit at '%s', not above '%s'", i, lim->path, path);
	}
	hmi_sysinfo_release(&si);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size), *path = NULL;
	const char *proc = text, *end = text + size;
	const char *mountinfo = proc + strlen(proc) + 1 <= end ? proc + strlen(proc) + 1 : end;
	const char *value = mountinfo < end ? mountinfo + strlen(mountinfo) + 1 : end;
	int version;

	if (!fuzz_root[0])
		make_root(ctx);
	if (value > end)
		value = end;
	check_value(value);
	check_value(proc);
	version = check_proc_cgroup(ctx, proc, &path);
	update_file(0, "proc/self/cgroup", proc);
	update_file(1, v2_file, value);
	update_file(2, v1_file, value);
	check_walk(ctx, mountinfo, version, path);
	free(path);
	free(text);
	return 0;
}
