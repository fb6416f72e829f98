/* SPDX-License-Identifier: MIT */
/*
 * cli.h — what the hugemem command's files share. The CLI reaches the
 * library through include/hugemem.h only; it alone prints and picks exit codes.
 */
#ifndef HM_CLI_H
#define HM_CLI_H

#include "hugemem.h"

#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand (status adds its verdicts 3..6). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* the system said no: the message says why */
	EXIT_USAGE = 2, /* bad command line: nothing was touched */
};

/* A minimal streaming JSON writer: keys NULL inside arrays. */
struct json {
	FILE *out;
	int depth;
	int count[32]; /* members written at each depth, for commas */
};

void json_begin(struct json *j, FILE *out);
void json_end(struct json *j);
void json_obj(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *value); /* NULL -> null */
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, int value);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t value); /* "0x1f" */
void json_double(struct json *j, const char *key, double value);   /* 3 decimals */
/* UINT64_MAX (no limit) as null, else the number. */
void json_limit(struct json *j, const char *key, uint64_t value);

/* Print "hugemem CMD: MESSAGE" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_init(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_attach(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_status(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_reserve(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_mount(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_unmount(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_clear(struct hm_ctx *ctx, const struct hm_opts *o);
int cmd_reorder(struct hm_ctx *ctx, const struct hm_opts *o);

#endif
