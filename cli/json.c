/* SPDX-License-Identifier: MIT */
/*
 * json.c — streaming JSON for --json output, the one writer of JSON: every
 * document starts with its schema_version, strings are valid UTF-8 whatever
 * the bytes given, addresses are hex strings and lengths integers
 * (docs/json.md: JSON numbers lose 64-bit precision).
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

void json_begin(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->count[0] = 0;
	fputc('{', out);
	json_i64(j, "schema_version", CLI_JSON_SCHEMA_VERSION);
}

void json_end(struct json *j)
{
	fputs("}\n", j->out);
	fflush(j->out);
}

/* 1 when S is valid UTF-8 from end to end. */
static int utf8_valid(const unsigned char *p)
{
	for (size_t n; *p; p += n)
		if (!(n = cli_utf8_len(p)))
			return 0;
	return 1;
}

/* S as a JSON string (docs/json.md, "Strings"): valid UTF-8 as it is but '"'
 * and '\\' escaped and control characters (C0, DEL, C1) written \\u00NN;
 * each byte that does not start a valid sequence written \\ufffd, the
 * replacement character (the exact bytes go in the key's _base64 twin). */
static void put_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		size_t n = cli_utf8_len(p);

		if (n == 1 && (*p == '"' || *p == '\\'))
			fprintf(out, "\\%c", *p);
		else if (n && !cli_is_control(p, n))
			fwrite(p, 1, n, out);
		else if (n == 2) /* a C1 control: U+0080..U+009F */
			fprintf(out, "\\u%04x", (unsigned)(p[1] & 0x3f) | 0x80u);
		else if (n == 1)
			fprintf(out, "\\u%04x", *p);
		else
			fputs("\\ufffd", out);
		p += n ? n : 1;
	}
	fputc('"', out);
}

/* The bytes of S in base64 (RFC 4648, with padding), quoted. */
static void put_base64(FILE *out, const char *s)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);

	fputc('"', out);
	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		size_t left = len - i;

		v |= (left > 1 ? (unsigned long)p[i + 1] << 8 : 0) | (left > 2 ? p[i + 2] : 0);
		fputc(digits[v >> 18 & 63], out);
		fputc(digits[v >> 12 & 63], out);
		fputc(left > 1 ? digits[v >> 6 & 63] : '=', out);
		fputc(left > 2 ? digits[v & 63] : '=', out);
	}
	fputc('"', out);
}

/* Comma and key before a member. */
static void member(struct json *j, const char *key)
{
	if (j->count[j->depth]++)
		fputc(',', j->out);
	if (key) {
		put_string(j->out, key);
		fputc(':', j->out);
	}
}

static void open_nested(struct json *j, const char *key, char bracket)
{
	member(j, key);
	fputc(bracket, j->out);
	if (j->depth + 1 < (int)(sizeof(j->count) / sizeof(j->count[0])))
		j->depth++;
	j->count[j->depth] = 0;
}

void json_obj(struct json *j, const char *key)
{
	open_nested(j, key, '{');
}

void json_arr(struct json *j, const char *key)
{
	open_nested(j, key, '[');
}

void json_obj_end(struct json *j)
{
	fputc('}', j->out);
	j->depth--;
}

void json_arr_end(struct json *j)
{
	fputc(']', j->out);
	j->depth--;
}

/* A value that is not valid UTF-8 (a file name is any bytes) cannot be a JSON
 * string as it is: KEY gets it with \\ufffd for each stray byte, readable,
 * and KEY_base64 its exact bytes, so a script can still name the file. An
 * array element has no twin: no array holds such strings (docs/json.md). */
void json_str(struct json *j, const char *key, const char *value)
{
	char twin[64];

	member(j, key);
	if (!value) {
		fputs("null", j->out);
		return;
	}
	put_string(j->out, value);
	if (!key || utf8_valid((const unsigned char *)value))
		return;
	snprintf(twin, sizeof(twin), "%s_base64", key);
	member(j, twin);
	put_base64(j->out, value);
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

void json_i64(struct json *j, const char *key, int64_t value)
{
	member(j, key);
	fprintf(j->out, "%" PRId64, value);
}

void json_bool(struct json *j, const char *key, int value)
{
	member(j, key);
	fputs(value ? "true" : "false", j->out);
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->out);
}

void json_hex(struct json *j, const char *key, uint64_t value)
{
	member(j, key);
	fprintf(j->out, "\"0x%" PRIx64 "\"", value);
}

void json_limit(struct json *j, const char *key, uint64_t value)
{
	if (value == UINT64_MAX)
		json_null(j, key);
	else
		json_u64(j, key, value);
}

void json_double(struct json *j, const char *key, double value)
{
	member(j, key);
	fprintf(j->out, "%.3f", value);
}
