/* SPDX-License-Identifier: MIT */
/*
 * parse/maps.c — one line of /proc/PID/maps, as fs/proc/task_mmu.c's
 * show_map_vma writes it:
 *
 *   start-end perms offset maj:min inode [padding path]
 *   7f2c40000000-7f2c40200000 rw-s 00000000 00:2d 408224     /dev/hugepages/hmmap_0
 *
 * addresses, offset and device numbers in hex, the inode in decimal, one
 * space between fields; after the inode the kernel pads with spaces to a
 * column and writes the path, which may hold spaces and ends with
 * " (deleted)" when the file was removed. Anonymous mappings have no path.
 *
 * The text comes from another process's mappings, so nothing in it is
 * trusted: every number is overflow-checked (through base/'s hmi_scan_u64),
 * a NUL or newline inside the line, a field missing or malformed, or an
 * empty range is -EINVAL. The path is not copied: it points into the line,
 * with its length, so no buffer can cut it short.
 */
#include "parse/parse.h"

#include <errno.h>
#include <string.h>

static const char deleted_mark[] = " (deleted)";

/* A number in BASE at *P, then the byte SEP; *P moves past both. */
static int take(const char **p, const char *end, unsigned base, char sep, uint64_t *v)
{
	const char *s;
	int rc = hmi_scan_u64(*p, end, base, v, &s);

	if (rc < 0)
		return rc;
	if (s >= end || *s != sep)
		return -EINVAL;
	*p = s + 1;
	return 0;
}

/* "rwxp": each of r, w, x or '-', then p (private) or s (shared). */
static int take_perms(const char **p, const char *end, char perms[5])
{
	const char *s = *p;

	if (end - s < 5 || (s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's') || s[4] != ' ')
		return -EINVAL;
	memcpy(perms, s, 4);
	perms[4] = '\0';
	*p = s + 5;
	return 0;
}

/* "maj:min " in hex, each at most 32 bits. */
static int take_dev(const char **p, const char *end, struct hmi_maps_line *m)
{
	uint64_t maj, min;
	int rc = take(p, end, 16, ':', &maj);

	if (rc == 0)
		rc = take(p, end, 16, ' ', &min);
	if (rc == 0 && (maj > UINT32_MAX || min > UINT32_MAX))
		rc = -ERANGE;
	if (rc == 0) {
		m->maj = (unsigned)maj;
		m->min = (unsigned)min;
	}
	return rc;
}

/* The inode, then the end of the line or the padding and the path. */
static int take_inode_path(const char *p, const char *end, struct hmi_maps_line *m)
{
	size_t mark = sizeof(deleted_mark) - 1;
	int rc = hmi_scan_u64(p, end, 10, &m->inode, &p);

	if (rc < 0)
		return rc;
	if (p < end && *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	m->path = p < end ? p : NULL;
	m->path_len = (size_t)(end - p);
	m->deleted = m->path_len > mark && memcmp(end - mark, deleted_mark, mark) == 0;
	if (m->deleted)
		m->path_len -= mark;
	return 0;
}

int hmi_parse_maps_line(const char *line, size_t len, struct hmi_maps_line *m)
{
	const char *p = line, *end = line + len;
	struct hmi_maps_line got = {0};
	int rc;

	if (memchr(line, '\0', len) || memchr(line, '\n', len))
		return -EINVAL;
	rc = take(&p, end, 16, '-', &got.start);
	if (rc == 0)
		rc = take(&p, end, 16, ' ', &got.end);
	if (rc == 0 && got.start >= got.end)
		rc = -EINVAL;
	if (rc == 0)
		rc = take_perms(&p, end, got.perms);
	if (rc == 0)
		rc = take(&p, end, 16, ' ', &got.offset);
	if (rc == 0)
		rc = take_dev(&p, end, &got);
	if (rc == 0)
		rc = take_inode_path(p, end, &got);
	if (rc == 0)
		*m = got;
	return rc;
}
