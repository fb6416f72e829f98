/* SPDX-License-Identifier: MIT */
/*
 * setupconf_fuzz.c — the set-up file root applies at boot,
 * /etc/hugemem/setup.conf, through hmi_setup_conf_parse (and its writer,
 * hmi_setup_conf_line).
 *
 * Properties, for every input:
 *  - a failure is -EINVAL, -ERANGE, -ENAMETOOLONG, -EFBIG or -ENOMEM with a
 *    one-line message naming the file and the line ("setup.conf line N: ");
 *  - a success obeys struct hm_setup: a size that is not 0, a page size 0 or
 *    a power of two of 4 KiB or more, a node -1..63, a mount point NULL or
 *    absolute without a blank or a control character, uid and gid not -1
 *    unless absent, a mode at most 07777 or absent; no more set-ups than
 *    lines;
 *  - every set-up written back as a line (hmi_setup_conf_line) parses to the
 *    very same set-up, and that line written again is the same line.
 */
#include "fuzz.h"
#include "pool/pool.h"

static int same(const struct hm_setup *a, const struct hm_setup *b)
{
	return a->bytes == b->bytes && a->page_size == b->page_size && a->node == b->node &&
	       a->uid == b->uid && a->gid == b->gid && a->mode == b->mode &&
	       (a->mount_dir ? b->mount_dir && strcmp(a->mount_dir, b->mount_dir) == 0
			     : !b->mount_dir);
}

static void check_setup(const struct hm_setup *s)
{
	FUZZ_CHECK(s->bytes != 0, "size 0 accepted");
	FUZZ_CHECK(s->page_size == 0 || (s->page_size >= 4096 && !(s->page_size & (s->page_size - 1))),
		   "page size %" PRIu64, s->page_size);
	FUZZ_CHECK(s->node >= -1 && s->node < HM_MAX_NODES, "node %d", s->node);
	FUZZ_CHECK(s->mode == (mode_t)-1 || s->mode <= 07777, "mode %o", (unsigned)s->mode);
	if (!s->mount_dir)
		return;
	FUZZ_CHECK(s->mount_dir[0] == '/', "mount point '%s' not absolute", s->mount_dir);
	for (const unsigned char *p = (const unsigned char *)s->mount_dir; *p; p++)
		FUZZ_CHECK(*p > ' ' && *p != 0x7f, "mount point with byte 0x%02x", *p);
}

/* S written as a line, read back, written again. */
static void check_round_trip(struct hm_ctx *ctx, const struct hm_setup *s)
{
	char line[HM_PATH_MAX + 256], again[HM_PATH_MAX + 256];
	struct hm_setup_list back = {0};
	int rc = hmi_setup_conf_line(ctx, s, line, sizeof(line));

	FUZZ_CHECK(rc == 0, "a parsed set-up cannot be written: %s", hm_errmsg(ctx));
	rc = hmi_setup_conf_parse(ctx, line, "again", &back);
	FUZZ_CHECK(rc == 0 && back.n == 1, "'%s' does not read back (%d): %s", line, rc,
		   hm_errmsg(ctx));
	FUZZ_CHECK(same(s, &back.setups[0]), "'%s' reads back as another set-up", line);
	rc = hmi_setup_conf_line(ctx, &back.setups[0], again, sizeof(again));
	FUZZ_CHECK(rc == 0 && strcmp(line, again) == 0, "'%s' written again as '%s'", line, again);
	free((char *)back.setups[0].mount_dir);
	free(back.setups);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	struct hm_setup_list list = {0};
	int rc = hmi_setup_conf_parse(ctx, text, "setup.conf", &list), lines = 1;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	FUZZ_CHECK(rc == 0 || fuzz_rc_in(rc, 5, -EINVAL, -ERANGE, -ENAMETOOLONG, -EFBIG, -ENOMEM),
		   "returned %d", rc);
	fuzz_failed(ctx, rc, "hmi_setup_conf_parse");
	FUZZ_CHECK(rc == 0 || strncmp(hm_errmsg(ctx), "setup.conf line ", 16) == 0,
		   "the message does not name the line: %s", hm_errmsg(ctx));
	FUZZ_CHECK(list.n <= lines, "%d set-ups from %d lines", list.n, lines);
	for (int i = 0; rc == 0 && i < list.n; i++) {
		check_setup(&list.setups[i]);
		check_round_trip(ctx, &list.setups[i]);
	}
	for (int i = 0; i < list.n; i++)
		free((char *)list.setups[i].mount_dir);
	free(list.setups);
	free(text);
	return 0;
}
