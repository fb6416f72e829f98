/* SPDX-License-Identifier: MIT */
/*
 * meminfo_fuzz.c — /proc/meminfo text through hmi_parse_meminfo (the
 * default hugepage size, "Hugepagesize:    2048 kB").
 *
 * Properties, for every input:
 *  - a failure is -EINVAL or -ERANGE with a one-line message;
 *  - 0 bytes exactly when no line starts with "Hugepagesize:" (a kernel
 *    without hugetlb), else a non-zero whole number of KiB;
 *  - the size written back as a meminfo line, between two other lines, parses
 *    to the same size, and so does the input with its first such line moved
 *    to the end of the text (the first one counts, wherever it is).
 */
#include "fuzz.h"
#include "sys/sysinfo.h"

static const char key[] = "Hugepagesize:";

/* The first line of TEXT starting with the key, or NULL. */
static const char *key_line(const char *text)
{
	const char *line = text;

	while (*line) {
		if (strncmp(line, key, sizeof(key) - 1) == 0)
			return line;
		line += strcspn(line, "\n");
		line += *line == '\n';
	}
	return NULL;
}

static void check_written_back(struct hm_ctx *ctx, uint64_t bytes)
{
	char text[160];
	uint64_t again = 0;
	int rc;

	snprintf(text, sizeof(text),
		 "HugePages_Surp:        0\n%s    %" PRIu64 " kB\nHugetlb:   0 kB\n", key,
		 bytes / 1024);
	hmi_err_clear(ctx);
	rc = hmi_parse_meminfo(ctx, text, &again);
	FUZZ_CHECK(rc == 0 && again == bytes, "%" PRIu64 " written back reads %d/%" PRIu64, bytes,
		   rc, again);
}

/* The text without its first key line, followed by that line. */
static void check_moved(struct hm_ctx *ctx, const char *text, const char *line, int rc,
			uint64_t bytes)
{
	size_t head = (size_t)(line - text), len = strcspn(line, "\n");
	const char *rest = line + len + (line[len] == '\n');
	size_t rest_len = strlen(rest);
	char *moved = malloc(head + rest_len + len + 2), *p = moved;
	uint64_t again = 0;
	int rc2;

	if (!moved)
		abort();
	memcpy(p, text, head);
	p += head;
	memcpy(p, rest, rest_len);
	p += rest_len;
	if (p > moved && p[-1] != '\n')
		*p++ = '\n';
	memcpy(p, line, len);
	p[len] = '\0';
	if (key_line(moved) == p) { /* no other key line came before it */
		hmi_err_clear(ctx);
		rc2 = hmi_parse_meminfo(ctx, moved, &again);
		FUZZ_CHECK(rc2 == rc && (rc < 0 || again == bytes),
			   "moved to the end: %d/%" PRIu64 ", in place %d/%" PRIu64, rc2, again, rc,
			   bytes);
	}
	free(moved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	const char *line = key_line(text);
	uint64_t bytes = 12345;
	int rc;

	hmi_err_clear(ctx);
	rc = hmi_parse_meminfo(ctx, text, &bytes);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "returned %d", rc);
	fuzz_failed(ctx, rc, "hmi_parse_meminfo");
	FUZZ_CHECK(line || rc == 0, "no key line, yet %d", rc);
	if (rc == 0) {
		FUZZ_CHECK((bytes == 0) == (line == NULL), "%" PRIu64 " bytes, key line %s", bytes,
			   line ? "present" : "absent");
		FUZZ_CHECK(bytes % 1024 == 0, "%" PRIu64 " bytes: not whole KiB", bytes);
		if (bytes)
			check_written_back(ctx, bytes);
	}
	if (line)
		check_moved(ctx, text, line, rc, bytes);
	free(text);
	return 0;
}
