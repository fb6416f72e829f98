/* SPDX-License-Identifier: MIT */
/*
 * mountinfo_fuzz.c — /proc/self/mountinfo text through every parser that
 * reads it: hmi_parse_mountinfo_pools (hugetlbfs mounts, with pools of 2 MiB
 * and 1 GiB known so that size=N% is worked out), hmi_parse_mountinfo (the
 * same without pools) and hmi_parse_cgroup_mount (the hugetlb controller's
 * mount, v1 and v2).
 *
 * Properties, for every input:
 *  - a failure is -EINVAL or -ERANGE (-ENOMEM allowed) with a one-line
 *    message; a success of the cgroup search is 0 or 1, with both strings
 *    when 1;
 *  - every hugetlbfs mount found has an absolute path, a non-zero page size,
 *    a size limit that is a whole number of pages, room equal to the limit
 *    (or UINT64_MAX and no limit), a mode of at most 07777, read_only 0 or
 *    1, writable 0 (hugedir's to fill);
 *  - at most one mount per line, and no more than lines naming hugetlbfs;
 *  - the parsers agree: with and without pools the same mounts (paths, page
 *    sizes) are found, and the same verdict given, except that size=N% may
 *    overflow (-ERANGE) only with a pool to take N% of; a line that is not
 *    mountinfo fails all of them (the hugetlbfs parse succeeds only if the
 *    cgroup searches do).
 */
#include "fuzz.h"
#include "sys/sysinfo.h"

#define MB2 (2ULL << 20)
#define GB1 (1ULL << 30)

static size_t count_lines_with(const char *text, const char *word)
{
	size_t n = 0;
	const char *line = text;

	while (*line) {
		size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);

		if (!copy)
			abort();
		n += strstr(copy, word) != NULL;
		free(copy);
		line += len + (line[len] == '\n');
	}
	return n;
}

static void check_mount(const struct hm_mount *m, int i)
{
	FUZZ_CHECK(m->path && m->path[0] == '/', "mount %d path '%s'", i,
		   m->path ? m->path : "(null)");
	FUZZ_CHECK(m->page_size != 0, "mount %d '%s' has page size 0", i, m->path);
	FUZZ_CHECK(m->size_limit % m->page_size == 0,
		   "mount %d '%s': size %" PRIu64 " is not whole pages of %" PRIu64, i, m->path,
		   m->size_limit, m->page_size);
	FUZZ_CHECK(m->room == m->size_limit || (m->room == UINT64_MAX && m->size_limit == 0),
		   "mount %d '%s': room %" PRIu64 ", size %" PRIu64, i, m->path, m->room,
		   m->size_limit);
	FUZZ_CHECK(m->mode <= 07777, "mount %d mode %o", i, (unsigned)m->mode);
	FUZZ_CHECK(m->read_only == 0 || m->read_only == 1, "mount %d read_only %d", i,
		   m->read_only);
	FUZZ_CHECK(m->writable == 0, "mount %d writable %d before hugedir", i, m->writable);
}

static int parse_hugetlbfs(struct hm_ctx *ctx, const char *text)
{
	static const struct hm_pool pools[] = {{.page_size = MB2, .nr = 1024},
					       {.page_size = GB1, .nr = 4}};
	struct hm_mount *with = NULL, *without = NULL;
	int n_with = -1, n_without = -1, rc, rc2;

	hmi_err_clear(ctx);
	rc = hmi_parse_mountinfo_pools(ctx, text, MB2, pools, 2, &with, &n_with);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 3, -EINVAL, -ERANGE, -ENOMEM), "returned %d", rc);
	fuzz_failed(ctx, rc, "hmi_parse_mountinfo_pools");
	hmi_err_clear(ctx);
	rc2 = hmi_parse_mountinfo(ctx, text, MB2, &without, &n_without);
	fuzz_failed(ctx, rc2, "hmi_parse_mountinfo");
	/* only size=N% depends on the pools (N% of 1024 pages may overflow) */
	FUZZ_CHECK(rc2 == rc || (rc == -ERANGE && strchr(text, '%')), "with pools %d, without %d",
		   rc, rc2);
	if (rc < 0) {
		if (rc2 == 0)
			hmi_mounts_free(without, n_without);
		return rc;
	}
	FUZZ_CHECK(n_with >= 0 && (size_t)n_with <= count_lines_with(text, "hugetlbfs"),
		   "%d hugetlbfs mounts from %zu lines naming it", n_with,
		   count_lines_with(text, "hugetlbfs"));
	FUZZ_CHECK(n_with == n_without, "%d mounts with pools, %d without", n_with, n_without);
	for (int i = 0; i < n_with; i++) {
		check_mount(&with[i], i);
		check_mount(&without[i], i);
		FUZZ_CHECK(strcmp(with[i].path, without[i].path) == 0 &&
			       with[i].page_size == without[i].page_size,
			   "mount %d differs with and without pools", i);
	}
	hmi_mounts_free(with, n_with);
	hmi_mounts_free(without, n_without);
	return 0;
}

static int parse_cgroup(struct hm_ctx *ctx, const char *text, int version, const char *path)
{
	char *root = NULL, *mnt = NULL;
	int rc;

	hmi_err_clear(ctx);
	rc = hmi_parse_cgroup_mount(ctx, text, version, path, &root, &mnt);
	FUZZ_CHECK(rc == 0 || rc == 1 || fuzz_rc_in(rc, 2, -EINVAL, -ENOMEM),
		   "cgroup v%d returned %d", version, rc);
	fuzz_failed(ctx, rc, "hmi_parse_cgroup_mount");
	if (rc == 1)
		FUZZ_CHECK(root && mnt, "cgroup v%d found without its strings", version);
	if (rc != 1)
		FUZZ_CHECK(!root && !mnt, "cgroup v%d: %d, yet strings are set", version, rc);
	free(root);
	free(mnt);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	int rc = parse_hugetlbfs(ctx, text);
	int v1 = parse_cgroup(ctx, text, 1, "/docker/abc");
	int v2 = parse_cgroup(ctx, text, 2, "/");

	FUZZ_CHECK(rc < 0 || (v1 >= 0 && v2 >= 0),
		   "hugetlbfs parse succeeds, cgroup searches give %d and %d", v1, v2);
	FUZZ_CHECK((v1 < 0) == (v2 < 0), "cgroup v1 search %d, v2 %d", v1, v2);
	free(text);
	return 0;
}
