/* SPDX-License-Identifier: MIT */
/*
 * record_test.c — the record of the files a prefix creates (hugedir/record.c):
 * its parser takes outside input (a runtime directory file), so every bad
 * line is skipped, a line cut by a kill is ignored, and only a file whose
 * device, inode and owner match is proved; loading refuses a record another
 * user could have written.
 */
#include "base/ctx.h"
#include "hugedir/hugedir.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct stat file(uint64_t dev, uint64_t ino, uid_t uid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = (dev_t)dev;
	st.st_ino = (ino_t)ino;
	st.st_uid = uid;
	st.st_mode = S_IFREG | 0600;
	return st;
}

static void test_parse(void)
{
	const char text[] = "46 900 hmmap_0\n"
			    "46 12 hmmap_1\n"
			    "x 13 hmmap_2\n"		 /* device not a number */
			    "46 14\n"			 /* no name */
			    "46 15 a/b\n"		 /* not one component */
			    "46 16 two words\n"		 /* a space in the name */
			    "46 -17 hmmap_3\n"		 /* negative */
			    "99999999999999999999 1 x\n" /* overflows */
			    "\n"
			    "47 12 hmmap_2M_0\n"
			    "46 18 hmmap_4"; /* cut by a kill: never linked */
	struct hmi_record_set set = {0};
	struct stat st;

	is_int(hmi_record_parse(text, sizeof(text) - 1, &set), 0, "parse: succeeds");
	is_int((int)set.n, 3, "parse: the 3 good lines, bad ones skipped");
	ok(set.n == 3 && set.e[0].dev == 46 && set.e[0].ino == 12 && set.e[1].ino == 900 &&
	       set.e[2].dev == 47,
	   "parse: sorted by device, inode");
	set.owner = 0;
	st = file(46, 900, 0);
	ok(hmi_record_proves(&set, &st), "proves: recorded inode, same owner");
	st = file(46, 18, 0);
	ok(!hmi_record_proves(&set, &st), "proves: not a line cut by a kill");
	st = file(46, 901, 0);
	ok(!hmi_record_proves(&set, &st), "proves: not another inode");
	st = file(47, 900, 0);
	ok(!hmi_record_proves(&set, &st), "proves: not the inode on another device");
	st = file(46, 900, 65534);
	ok(!hmi_record_proves(&set, &st), "proves: not another owner's file");
	st = file(46, 900, 0);
	st.st_mode = S_IFIFO | 0600;
	ok(!hmi_record_proves(&set, &st), "proves: not a FIFO");
	hmi_record_free(&set);
	is_int(hmi_record_parse("", 0, &set), 0, "parse: empty");
	st = file(46, 900, 0);
	ok(set.n == 0 && !hmi_record_proves(&set, &st), "an empty record proves nothing");
	hmi_record_free(&set);
}

static void test_file(struct hm_ctx *ctx)
{
	char dir[] = "/tmp/hmtest-record-XXXXXX", path[64];
	struct hmi_record_set set = {0};
	struct stat st = file(46, 7, geteuid());
	int fd = -1;

	if (!ok(mkdtemp(dir) != NULL, "file: a private directory"))
		return;
	is_int(hmi_record_load(dir, &set), -ENOENT, "load: no record: -ENOENT");
	is_int(hmi_record_open(ctx, dir, &fd), 0, "open: created");
	is_int(hmi_record_add(ctx, fd, 46, 7, "hmmap_0"), 0, "add: one line");
	close(fd);
	is_int(hmi_record_load(dir, &set), 0, "load: read back");
	ok(set.n == 1 && hmi_record_proves(&set, &st), "load: proves the file it names");
	hmi_record_free(&set);
	snprintf(path, sizeof(path), "%s/" HMI_RECORD_FILE, dir);
	chmod(path, 0622);
	is_int(hmi_record_load(dir, &set), -EPERM, "load: a record others may write: refused");
	chmod(path, 0600);
	chmod(dir, 0777);
	is_int(hmi_record_load(dir, &set), -EPERM,
	       "load: in a directory others may write: refused");
	chmod(dir, 0700);
	unlink(path);
	is_int(symlink("/etc/passwd", path), 0, "a link planted at the record");
	is_int(hmi_record_load(dir, &set), -ELOOP, "load: a link is not followed");
	unlink(path);
	hmi_record_remove(dir);
	is_int(rmdir(dir), 0, "nothing left");
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("out of memory");
	test_parse();
	test_file(ctx);
	hm_ctx_free(ctx);
	return done();
}
