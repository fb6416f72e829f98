/* SPDX-License-Identifier: MIT */
/*
 * maps_fuzz.c — one /proc/PID/maps line through hmi_parse_maps_line (who maps
 * a page file, hugedir/files.c; what is in the way of a secondary's window,
 * mem/attach.c). The input is the line itself, without a newline, in a heap
 * block of exactly its size, so that ASan sees any read past it.
 *
 * Properties, for every input:
 *  - the result is 0, -EINVAL or -ERANGE, and a failure leaves *M untouched;
 *  - an input holding a NUL or a newline fails;
 *  - on success: start < end; perms is r/w/x or '-' then p or s; the path
 *    (when there is one) lies inside the input, starts with no space and
 *    runs to its end (" (deleted)" after it exactly when DELETED is set);
 *  - the fields written back as the kernel writes a line (hex, one space
 *    apart, padding before the path) parse to the same fields and path;
 *  - every prefix of the line that ends inside the path parses to the same
 *    header (the path is the one field that may be cut).
 */
#include "fuzz.h"
#include "parse/parse.h"

static int same_header(const struct hmi_maps_line *a, const struct hmi_maps_line *b)
{
	return a->start == b->start && a->end == b->end && strcmp(a->perms, b->perms) == 0 &&
	       a->offset == b->offset && a->maj == b->maj && a->min == b->min &&
	       a->inode == b->inode;
}

static void check_fields(const struct hmi_maps_line *m, const char *line, size_t len)
{
	static const char mark[] = " (deleted)";
	const char *end = line + len;

	FUZZ_CHECK(m->start < m->end, "range %" PRIx64 "-%" PRIx64, m->start, m->end);
	FUZZ_CHECK(strlen(m->perms) == 4 && strchr("r-", m->perms[0]) && strchr("w-", m->perms[1]) &&
		       strchr("x-", m->perms[2]) && strchr("ps", m->perms[3]),
		   "perms '%s'", m->perms);
	if (!m->path) {
		FUZZ_CHECK(m->path_len == 0 && !m->deleted, "no path, yet %zu bytes", m->path_len);
		return;
	}
	FUZZ_CHECK(m->path > line && m->path < end && m->path[0] != ' ', "path outside or padded");
	FUZZ_CHECK(m->path + m->path_len + (m->deleted ? sizeof(mark) - 1 : 0) == end,
		   "path does not run to the end of the line");
	FUZZ_CHECK(!m->deleted || memcmp(m->path + m->path_len, mark, sizeof(mark) - 1) == 0,
		   "deleted without the mark");
}

/* The line as the kernel would write it, parsed again. */
static void check_written_back(const struct hmi_maps_line *m)
{
	size_t room = 160 + m->path_len + 16, n;
	char *text = malloc(room);
	struct hmi_maps_line again;
	int rc;

	if (!text)
		abort();
	n = (size_t)snprintf(text, room, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64 " %02x:%02x %" PRIu64 " ",
			     m->start, m->end, m->perms, m->offset, m->maj, m->min, m->inode);
	while (m->path && n < 73)
		text[n++] = ' ';
	if (m->path) {
		memcpy(text + n, m->path, m->path_len);
		n += m->path_len;
		n += m->deleted ? (size_t)sprintf(text + n, " (deleted)") : 0;
	}
	rc = hmi_parse_maps_line(text, n, &again);
	FUZZ_CHECK(rc == 0 && same_header(m, &again) && again.path_len == m->path_len &&
		       again.deleted == m->deleted &&
		       (!m->path || memcmp(again.path, m->path, m->path_len) == 0),
		   "written back: %d, '%.*s'", rc, (int)n, text);
	free(text);
}

static void check_cut(const struct hmi_maps_line *m, const char *line)
{
	struct hmi_maps_line cut;
	size_t keep = (size_t)(m->path - line) + m->path_len / 2 + 1;
	int rc = hmi_parse_maps_line(line, keep, &cut);

	FUZZ_CHECK(rc == 0 && same_header(m, &cut), "cut inside the path at %zu: %d", keep, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	struct hmi_maps_line m = {.start = 1, .end = 7}, before;
	int rc;

	if (!line)
		abort();
	if (size)
		memcpy(line, data, size);
	before = m;
	rc = hmi_parse_maps_line(line, size, &m);
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 2, -EINVAL, -ERANGE), "returned %d", rc);
	FUZZ_CHECK(rc == 0 || memcmp(&m, &before, sizeof(m)) == 0, "failed, but *m changed");
	FUZZ_CHECK(rc < 0 || (!memchr(line, '\0', size) && !memchr(line, '\n', size)),
		   "a NUL or newline inside, yet parsed");
	if (rc == 0) {
		check_fields(&m, line, size);
		check_written_back(&m);
		if (m.path)
			check_cut(&m, line);
	}
	free(line);
	return 0;
}
