/* SPDX-License-Identifier: MIT */
/*
 * text.c — names from the file system made safe to print. A file name is any
 * bytes but '/' and NUL, chosen by whoever can write the directory: printed
 * raw, an escape sequence would drive the reader's terminal, and bytes that
 * are not UTF-8 make --json output invalid. One rule for both outputs:
 *
 *   - valid UTF-8 that is not a control character passes unchanged;
 *   - text: control characters (C0, DEL, C1), each byte that is not part of
 *     valid UTF-8, and the backslash itself are written \xNN (so the
 *     rendering is unambiguous);
 *   - JSON (json.c): '"' and '\' escaped, control characters written
 *     \u00NN, each byte that is not part of valid UTF-8 written U+FFFD, and
 *     then the exact bytes beside it in base64 (KEY_base64): the output is
 *     valid UTF-8 and strict JSON, and a script still gets every name back.
 */
#include "cli.h"

#include <string.h>

/* Bytes of the valid UTF-8 sequence at P (1 to 4); 0 when P does not start
 * one (a stray continuation byte, an overlong form, a surrogate, a code point
 * above U+10FFFF, a sequence cut short). */
size_t cli_utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* 1 when the valid sequence of N bytes at P is a control character: C0,
 * DEL, or C1 (U+0080..U+009F, which some terminals obey as escapes). */
int cli_is_control(const unsigned char *p, size_t n)
{
	return (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

const char *cli_shown(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0;

	if (!s || len < 5)
		return "?";
	while (*p) {
		size_t n = cli_utf8_len(p);
		int raw = n != 0 && !cli_is_control(p, n) && *p != '\\';
		size_t need = raw ? n : 4 * (n ? n : 1);

		if (used + need >= len) /* cut short: never a partial sequence */
			break;
		if (raw)
			memcpy(buf + used, p, n);
		for (size_t i = 0; !raw && i < (n ? n : 1); i++)
			snprintf(buf + used + 4 * i, 5, "\\x%02x", p[i]);
		used += need;
		p += n ? n : 1;
	}
	buf[used] = '\0';
	return buf;
}

const char *cli_size_arg(uint64_t bytes, char *buf, size_t len)
{
	char exact[32];
	const char *unit;

	hm_size_str(bytes, exact, sizeof(exact));
	unit = strchr(exact, ' ');
	if (unit && unit[1] != 'B')
		snprintf(buf, len, "%.*s%c", (int)(unit - exact), exact, unit[1]);
	else
		snprintf(buf, len, "%.*s", unit ? (int)(unit - exact) : (int)strlen(exact), exact);
	return buf;
}

const char *cli_size_approx(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	uint64_t unit = 1;
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && bytes / 1024 >= unit) {
		unit *= 1024;
		i++;
	}
	if (bytes % unit == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / unit), units[i]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)unit, units[i]);
	return buf;
}
