/* SPDX-License-Identifier: MIT */
/*
 * sysfs_fuzz.c — the small sysfs texts hugemem reads: counters
 * (nr_hugepages, free_hugepages, ...: hmi_parse_u64, and hmi_read_u64 on a
 * file holding the input), node lists (has_memory, online: hmi_parse_nodelist)
 * and the names of the size directories ("hugepages-2048kB":
 * hmi_parse_hugepages_dirname). Every input goes through all of them.
 *
 * Properties, for every input:
 *  - hmi_parse_u64 agrees with a reference model (decimal digits without
 *    overflow, then only ' ', '\t', '\n'), and an accepted value printed back
 *    parses to itself;
 *  - hmi_read_u64 on a file holding the same bytes agrees with it when the
 *    text fits the reader's buffer (-EFBIG otherwise), and its failures carry
 *    a one-line message;
 *  - a node list gives distinct ascending ids below HM_MAX_NODES, or
 *    -EINVAL / -ERANGE with a message; with room for 2 ids the same list
 *    gives the same first ids or -E2BIG when it names more;
 *  - a size directory name accepted is printed back exactly by
 *    "hugepages-%llukB".
 */
#include "fuzz.h"
#include "sys/sysinfo.h"

#include <sys/mman.h>
#include <unistd.h>

#define READ_MAX 64 /* hmi_read_u64's buffer: holds 62 bytes and the NUL */

static int model_u64(const char *text, uint64_t *value)
{
	const char *p = text;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	p += strspn(p, " \t\n");
	if (*p)
		return -EINVAL;
	*value = v;
	return 0;
}

static void check_counter(const char *text)
{
	uint64_t v = 1, model = 2, again = 3;
	int rc = hmi_parse_u64(text, &v), want = model_u64(text, &model);
	char buf[32];

	FUZZ_CHECK(rc == want && (rc < 0 || v == model), "'%s': %d/%" PRIu64 ", model %d/%" PRIu64,
		   text, rc, v, want, model);
	if (rc < 0)
		return;
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	FUZZ_CHECK(hmi_parse_u64(buf, &again) == 0 && again == v, "%" PRIu64 " printed back", v);
}

/* A memfd holding the input, opened by path as sysfs files are. */
static void check_read(struct hm_ctx *ctx, const uint8_t *data, size_t size, const char *text)
{
	static int fd = -1;
	char path[64];
	uint64_t v = 0, model = 0;
	int rc, want;

	if (fd < 0 && (fd = memfd_create("hm-fuzz-counter", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	hmi_err_clear(ctx);
	rc = hmi_read_u64(ctx, path, &v);
	fuzz_failed(ctx, rc, "hmi_read_u64");
	want = size >= READ_MAX - 1 ? -EFBIG : model_u64(text, &model);
	FUZZ_CHECK(rc == want && (rc < 0 || v == model),
		   "read %zu bytes: %d/%" PRIu64 ", expected %d/%" PRIu64, size, rc, v, want,
		   model);
}

static void check_nodelist(struct hm_ctx *ctx, const char *text)
{
	int ids[HM_MAX_NODES], few[2], n = -1, n_few = -1, rc, rc_few;

	hmi_err_clear(ctx);
	rc = hmi_parse_nodelist(ctx, text, ids, HM_MAX_NODES, &n);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "node list: %d", rc);
	fuzz_failed(ctx, rc, "hmi_parse_nodelist");
	hmi_err_clear(ctx);
	rc_few = hmi_parse_nodelist(ctx, text, few, 2, &n_few);
	fuzz_failed(ctx, rc_few, "hmi_parse_nodelist");
	if (rc < 0) {
		FUZZ_CHECK(rc_few == rc, "node list: %d with room for 64, %d for 2", rc, rc_few);
		return;
	}
	FUZZ_CHECK(n >= 0 && n <= HM_MAX_NODES, "%d node ids", n);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(ids[i] >= 0 && ids[i] < HM_MAX_NODES && (i == 0 || ids[i] > ids[i - 1]),
			   "node id %d at %d", ids[i], i);
	FUZZ_CHECK(n > 2 ? rc_few == -E2BIG : rc_few == 0 && n_few == n,
		   "%d ids with room for 64; with room for 2: %d/%d", n, rc_few, n_few);
	for (int i = 0; rc_few == 0 && i < n_few; i++)
		FUZZ_CHECK(few[i] == ids[i], "id %d: %d vs %d", i, few[i], ids[i]);
}

static void check_dirname(const char *text)
{
	uint64_t bytes = 0;
	char again[64];
	int rc = hmi_parse_hugepages_dirname(text, &bytes);

	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "dirname: %d", rc);
	if (rc < 0)
		return;
	FUZZ_CHECK(bytes % 1024 == 0 && bytes, "'%s' is %" PRIu64 " bytes", text, bytes);
	snprintf(again, sizeof(again), "hugepages-%" PRIu64 "kB", bytes / 1024);
	FUZZ_CHECK(strcmp(again, text) == 0, "'%s' printed back as '%s'", text, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);

	check_counter(text);
	check_read(ctx, data, size, text);
	check_nodelist(ctx, text);
	check_dirname(text);
	free(text);
	return 0;
}
