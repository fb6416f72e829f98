/* SPDX-License-Identifier: MIT */
/*
 * json.c — streaming JSON for --json output. Addresses are hex strings and
 * lengths integers (DESIGN.md: JSON numbers lose 64-bit precision).
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

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
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
