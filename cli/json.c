/* SPDX-License-Identifier: MIT */
/*
 * json.c — streaming JSON for --json output. Addresses are hex strings and
 * lengths integers (docs/json.md: JSON numbers lose 64-bit precision).
 */
#include "cli.h"

#include <inttypes.h>

void json_begin(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->count[0] = 0;
	fputc('{', out);
}

void json_end(struct json *j)
{
	fputs("}\n", j->out);
	fflush(j->out);
}

/* S as a JSON string: valid UTF-8 as it is, control characters as \\u00NN,
 * each byte that is not UTF-8 as \\u00NN of its Latin-1 reading (text.c). */
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
		else
			fprintf(out, "\\u%04x", *p);
		p += n ? n : 1;
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

void json_str(struct json *j, const char *key, const char *value)
{
	member(j, key);
	if (value)
		put_string(j->out, value);
	else
		fputs("null", j->out);
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
