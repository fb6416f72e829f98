/* SPDX-License-Identifier: MIT */
/*
 * parse/proc_field.c — one "Key:<white space>value" line of the kernel's
 * key-value files (/proc/PID/status, /proc/self/fdinfo/FD): the pool keeper
 * reads a peer's pidfd's "Pid:" line from its fdinfo. The key must start a
 * line; the value is a decimal number, "-1" included (the fdinfo of a pidfd
 * whose process has exited says so).
 */
#include "parse/parse.h"

#include <errno.h>
#include <string.h>

/* The value after KEY at LINE (which starts with KEY): white space, an
 * optional '-', digits, then the end of the line. */
static int field_value(const char *line, size_t key_len, long long *value)
{
	const char *p = line + key_len, *stop = NULL;
	uint64_t v = 0;
	int neg;

	while (*p == ' ' || *p == '\t')
		p++;
	neg = *p == '-';
	if (hmi_scan_u64(p + neg, NULL, 10, &v, &stop) < 0 || v > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (*stop != '\n' && *stop != '\0')
		return -EINVAL;
	*value = neg ? -(long long)v : (long long)v;
	return 0;
}

int hmi_parse_proc_field(const char *text, const char *key, long long *value)
{
	size_t key_len = key ? strlen(key) : 0;
	const char *line = text;

	if (!text || key_len == 0)
		return -EINVAL;
	while (line && *line) {
		if (strncmp(line, key, key_len) == 0)
			return field_value(line, key_len, value);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}
