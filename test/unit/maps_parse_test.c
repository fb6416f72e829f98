/* SPDX-License-Identifier: MIT */
/*
 * maps_parse_test.c — the one number scanner (base/'s hmi_scan_u64) and the
 * one /proc/PID/maps line parser (parse/'s hmi_parse_maps_line) on strings:
 * lines as the kernel writes them (paths with spaces, " (deleted)", no path,
 * pseudo paths), numbers at the 64-bit edge, and broken lines (truncated,
 * NUL bytes, bad fields) that must give -EINVAL or -ERANGE, never a result.
 * Each line is parsed from an exact-size heap copy, so that ASan sees any
 * read past its end.
 */
#include "parse/parse.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_scan(void)
{
	const char *text = "18446744073709551615x", *stop = NULL;
	uint64_t v = 7;

	is_int(hmi_scan_u64(text, NULL, 10, &v, &stop), 0, "scan: UINT64_MAX in decimal");
	is_u64(v, UINT64_MAX, "... its value");
	ok(stop == text + 20, "... stops at the x");
	v = 7;
	is_int(hmi_scan_u64("18446744073709551616", NULL, 10, &v, &stop), -ERANGE,
	       "scan: UINT64_MAX + 1 is -ERANGE");
	is_u64(v, 7, "... value untouched");
	is_int(hmi_scan_u64("ffffffffffffffff", NULL, 16, &v, NULL), 0, "scan: 16 hex f");
	is_u64(v, UINT64_MAX, "... is UINT64_MAX");
	is_int(hmi_scan_u64("10000000000000000", NULL, 16, &v, NULL), -ERANGE,
	       "scan: 17 hex digits is -ERANGE");
	is_int(hmi_scan_u64("DeadBeef", NULL, 16, &v, NULL), 0, "scan: hex in either case");
	is_u64(v, 0xdeadbeef, "... its value");
	is_int(hmi_scan_u64("0755", NULL, 8, &v, &stop), 0, "scan: octal");
	is_u64(v, 0755, "... its value");
	is_int(hmi_scan_u64("78", NULL, 8, &v, &stop), 0, "scan: octal stops at 8");
	ok(v == 7 && *stop == '8', "... after the 7");
	is_int(hmi_scan_u64("12345", "12345" + 2, 10, &v, &stop), 0, "scan: up to LIMIT");
	is_u64(v, 12, "... only the digits before it");
	is_int(hmi_scan_u64("", NULL, 10, &v, NULL), -EINVAL, "scan: no digit is -EINVAL");
	is_int(hmi_scan_u64("-1", NULL, 10, &v, NULL), -EINVAL, "scan: no sign");
	is_int(hmi_scan_u64(" 1", NULL, 10, &v, NULL), -EINVAL, "scan: no leading space");
	is_int(hmi_scan_u64("0x10", NULL, 16, &v, &stop), 0, "scan: no 0x prefix (0, then x)");
	ok(v == 0 && *stop == 'x', "... stops at the x");
	is_int(hmi_scan_u64("1", "1", 10, &v, NULL), -EINVAL, "scan: an empty range");
	is_int(hmi_parse_u64("42 \n", &v), 0, "parse_u64: digits then white space");
	is_int(hmi_parse_u64("42x", &v), -EINVAL, "parse_u64: anything else after is -EINVAL");
}

/* Parse TEXT (its whole length) from a heap copy of exactly that size. */
static int parse(const char *text, struct hmi_maps_line *m)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		abort();
	memcpy(copy, text, len);
	rc = hmi_parse_maps_line(copy, len, m);
	if (rc == 0 && m->path) /* the path points into the copy: compare it now */
		m->path = strndup(m->path, m->path_len);
	free(copy);
	return rc;
}

static void test_good(void)
{
	struct hmi_maps_line m;

	is_int(parse("7f2c40000000-7f2c40200000 rw-s 00000000 00:2d 408224                     "
		     "/dev/hugepages/hmmap_0",
		     &m),
	       0, "hugetlbfs page file");
	ok(m.start == 0x7f2c40000000 && m.end == 0x7f2c40200000, "... its range");
	is_str(m.perms, "rw-s", "... its perms");
	ok(m.offset == 0 && m.maj == 0 && m.min == 0x2d && m.inode == 408224,
	   "... offset, device 00:2d and inode 408224");
	is_str(m.path, "/dev/hugepages/hmmap_0", "... its path");
	ok(!m.deleted, "... not deleted");
	free((char *)m.path);

	is_int(parse("7f0000000000-7f0000001000 r-xp 0001a000 fd:01 1234 /opt/my dir/lib x.so", &m),
	       0, "a path with spaces");
	is_str(m.path, "/opt/my dir/lib x.so", "... whole, spaces and all");
	ok(m.offset == 0x1a000 && m.maj == 0xfd && m.min == 1, "... offset and device");
	free((char *)m.path);

	is_int(parse("7f0000000000-7f0000200000 rw-s 00200000 00:01 77 /memfd:hm_0 (deleted)", &m),
	       0, "a deleted memfd");
	is_str(m.path, "/memfd:hm_0", "... path without ' (deleted)'");
	ok(m.deleted, "... marked deleted");
	free((char *)m.path);

	is_int(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ", &m), 0,
	       "anonymous: no path, a trailing space");
	ok(m.path == NULL && m.path_len == 0 && m.inode == 0, "... no path, inode 0");
	is_int(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0", &m), 0,
	       "anonymous without the trailing space");
	ok(m.path == NULL, "... no path");

	is_int(parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0   [vsyscall]", &m), 0,
	       "vsyscall, near the top of 64 bits");
	ok(m.end == 0xffffffffff601000ULL, "... its end");
	is_str(m.path, "[vsyscall]", "... a pseudo path");
	free((char *)m.path);

	is_int(parse("0-ffffffffffffffff ---p ffffffffffffffff ffffffff:ffffffff "
		     "18446744073709551615 x",
		     &m),
	       0, "every number at its largest");
	ok(m.end == UINT64_MAX && m.offset == UINT64_MAX && m.maj == UINT32_MAX &&
	       m.min == UINT32_MAX && m.inode == UINT64_MAX,
	   "... all of them kept");
	free((char *)m.path);
}

static void test_bad(void)
{
	static const char *const einval[] = {
	    "",
	    "7f00",
	    "7f00-",
	    "7f00-7f01",
	    "7f00-7f01 ",
	    "7f00-7f01 rw-",
	    "7f00-7f01 rw-p",
	    "7f00-7f01 rw-p 0",
	    "7f00-7f01 rw-p 0 00:",
	    "7f00-7f01 rw-p 0 00:00",
	    "7f00-7f01 rw-p 0 00:00 ",
	    "7f01-7f00 rw-p 0 00:00 0",	 /* start after end */
	    "7f00-7f00 rw-p 0 00:00 0",	 /* empty */
	    "7f00-7f01 rwxq 0 00:00 0",	 /* neither p nor s */
	    "7f00-7f01 Rw-p 0 00:00 0",	 /* r or '-' only */
	    "7f00-7f01  rw-p 0 00:00 0", /* two spaces */
	    "7f00-7f01 rw-p 0 00-00 0",
	    "7f00-7f01 rw-p 0 00:00 12a /x",
	    "7f00-7f01 rw-p 0 00:00 -1",
	    "-7f00-7f01 rw-p 0 00:00 0",
	    "0x7f00-7f01 rw-p 0 00:00 0",
	};
	struct hmi_maps_line m = {.start = 42};
	static const char with_nul[] = "7f00-7f01 rw-p 0 00:00 5 /a\0b";

	for (size_t i = 0; i < sizeof(einval) / sizeof(einval[0]); i++)
		is_int(parse(einval[i], &m), -EINVAL, "-EINVAL: '%s'", einval[i]);
	is_int(hmi_parse_maps_line(with_nul, sizeof(with_nul) - 1, &m), -EINVAL,
	       "-EINVAL: a NUL byte in the path");
	is_int(parse("7f00-7f01 rw-p 0 00:00 0 /a\nb", &m), -EINVAL,
	       "-EINVAL: a newline inside the line");
	is_int(parse("7f00-10000000000000000 rw-p 0 00:00 0", &m), -ERANGE,
	       "-ERANGE: an end past 64 bits");
	is_int(parse("7f00-7f01 rw-p 0 100000000:00 0", &m), -ERANGE,
	       "-ERANGE: a major number past 32 bits");
	is_int(parse("7f00-7f01 rw-p 0 00:00 18446744073709551616", &m), -ERANGE,
	       "-ERANGE: an inode past 64 bits");
	is_u64(m.start, 42, "a failed parse leaves the result untouched");
}

int main(void)
{
	test_scan();
	test_good();
	test_bad();
	return done();
}
