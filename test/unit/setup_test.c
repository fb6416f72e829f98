/* SPDX-License-Identifier: MIT */
/*
 * setup_test.c — the set-up in one step and at boot (pool/setup.c,
 * pool/setupconf.c), mount options and dry runs (hm_mount_ext), the
 * overcommit and the reserve that only grows (pool/admin.c), on a copy of
 * test/fixtures/two-sizes in a mkdtemp directory: runs anywhere, as any user.
 *
 * The set-up file is what root applies at boot, so its parser is fed what an
 * editor or another user might leave there (unknown and repeated keys,
 * numbers out of range, control characters, a NUL byte, a line too long) and
 * its reader must refuse a file others could write or a symbolic link; the
 * writer must keep every line it does not own, replace the one it does, and
 * write nothing when the file it would rewrite does not parse. Nothing here
 * mounts: the mounts are dry runs, the fixture has mounts for both sizes.
 */
#include "base/ctx.h"
#include "pool/pool.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB2	 (2ULL << 20)
#define GB1	 (1ULL << 30)
#define NR2M	 "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define OVER2M	 "sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages"
#define NODE0_1G "sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages"
#define CONF	 "etc/hugemem/setup.conf"
#define GRUB	 "etc/default/grub.d/hugemem.cfg"

static char root[256];

static const char *at(const char *rel)
{
	static char path[4][512];
	static int next;

	next = (next + 1) % 4;
	snprintf(path[next], sizeof(path[next]), "%s/%s", root, rel);
	return path[next];
}

static void put(const char *rel, const char *text)
{
	FILE *fp = fopen(at(rel), "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* The whole file REL ("" when missing), in a buffer of its own. */
static const char *get(const char *rel)
{
	static char buf[2][8192];
	static int next;
	FILE *fp = fopen(at(rel), "r");
	size_t n = 0;

	next ^= 1;
	if (fp) {
		n = fread(buf[next], 1, sizeof(buf[next]) - 1, fp);
		fclose(fp);
	}
	buf[next][n] = '\0';
	return buf[next];
}

static struct hm_setup request(uint64_t bytes, uint64_t page_size, int node, const char *dir)
{
	return (struct hm_setup){.bytes = bytes,
				 .page_size = page_size,
				 .node = node,
				 .mount_dir = dir,
				 .uid = (uid_t)-1,
				 .gid = (gid_t)-1,
				 .mode = (mode_t)-1};
}

/* ------------------------------------------------------------------ the file's grammar */

/* TEXT parsed: the count, or -errno (LIST freed either way). */
static int parse(struct hm_ctx *ctx, const char *text, struct hm_setup_list *list)
{
	int rc;

	memset(list, 0, sizeof(*list));
	rc = hmi_setup_conf_parse(ctx, text, "setup.conf", list);
	return rc < 0 ? rc : list->n;
}

static void drop(struct hm_setup_list *list)
{
	for (int i = 0; i < list->n; i++)
		free((char *)list->setups[i].mount_dir);
	free(list->setups);
	memset(list, 0, sizeof(*list));
}

static void bad_line(struct hm_ctx *ctx, const char *text, int err, const char *why)
{
	struct hm_setup_list l;

	is_int(parse(ctx, text, &l), -err, "refused: %s", why);
	like(hm_errmsg(ctx), "setup.conf line 2: ", "%s: the message names the file and line", why);
	drop(&l);
}

static void test_grammar(struct hm_ctx *ctx)
{
	struct hm_setup_list l;
	char longline[HM_PATH_MAX + 400];

	is_int(parse(ctx,
		     "# a comment\n\n  size=2G page-size=2M\n\tsize=4G\tpage-size=1G node=1 "
		     "mount=/mnt/h1 uid=1000 gid=1001 mode=1770  \n   # indented comment\nsize=64M",
		     &l),
	       3, "three set-ups among comments, blanks and tabs; no final newline needed");
	ok(l.n == 3 && l.setups[0].bytes == 2 * GB1 && l.setups[0].page_size == MB2 &&
	       l.setups[0].node == -1 && !l.setups[0].mount_dir && l.setups[0].uid == (uid_t)-1 &&
	       l.setups[0].mode == (mode_t)-1,
	   "line 1: 2G of 2M, system-wide, nothing else");
	ok(l.n == 3 && l.setups[1].bytes == 4 * GB1 && l.setups[1].page_size == GB1 &&
	       l.setups[1].node == 1 && l.setups[1].mount_dir &&
	       strcmp(l.setups[1].mount_dir, "/mnt/h1") == 0 && l.setups[1].uid == 1000 &&
	       l.setups[1].gid == 1001 && l.setups[1].mode == 01770,
	   "line 2: every key, mode in octal");
	ok(l.n == 3 && l.setups[2].page_size == 0, "no page-size: the default size (0)");
	drop(&l);

	bad_line(ctx, "size=1G\nsize=1G sise=2G\n", EINVAL, "an unknown key");
	like(hm_errmsg(ctx), "unknown key 'sise'", "the key is named");
	bad_line(ctx, "size=1G\nsize=1G size=2G\n", EINVAL, "a key given twice");
	bad_line(ctx, "size=1G\npage-size=2M\n", EINVAL, "no size");
	like(hm_errmsg(ctx), "no size=", "says size= is missing");
	bad_line(ctx, "size=1G\nsize=0\n", EINVAL, "size 0");
	bad_line(ctx, "size=1G\nsize=1G page-size=3M\n", EINVAL, "a page size not a power of two");
	bad_line(ctx, "size=1G\nsize=1G page-size=2K\n", EINVAL, "a page size under 4K");
	bad_line(ctx, "size=1G\nsize=lots\n", EINVAL, "a size that is no size");
	bad_line(ctx, "size=1G\nsize=99999999999999999999\n", ERANGE, "a size past 64 bits");
	bad_line(ctx, "size=1G\nsize=1G node=64\n", ERANGE, "node 64");
	bad_line(ctx, "size=1G\nsize=1G node=-1\n", EINVAL, "node -1 written out");
	bad_line(ctx, "size=1G\nsize=1G node=1x\n", EINVAL, "a node with a tail");
	bad_line(ctx, "size=1G\nsize=1G mode=8\n", EINVAL, "mode 8 (not octal)");
	bad_line(ctx, "size=1G\nsize=1G mode=17777\n", ERANGE, "mode 17777");
	bad_line(ctx, "size=1G\nsize=1G uid=4294967295\n", ERANGE, "uid -1 as a number");
	bad_line(ctx, "size=1G\nsize=1G mount=relative/dir\n", EINVAL, "a relative mount point");
	bad_line(ctx, "size=1G\nsize=1G mount=/a\001b\n", EINVAL, "a control character");
	bad_line(ctx, "size=1G\nsize=1G\r\n", EINVAL, "a carriage return");
	bad_line(ctx, "size=1G\nsize=1G node\n", EINVAL, "a word without '='");
	bad_line(ctx, "size=1G\nsize=1G =1\n", EINVAL, "a word without a key");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "size=1G\n#", 9);
	bad_line(ctx, longline, EFBIG, "a line longer than the parser takes");
	is_int(parse(ctx, "", &l), 0, "an empty file: no set-up");
	drop(&l);
}

/* ------------------------------------------------------------------ mounts */

static void test_mount_ext(struct hm_ctx *ctx)
{
	struct hm_mount_spec spec = {
	    .page_size = MB2, .uid = (uid_t)-1, .gid = (gid_t)-1, .mode = (mode_t)-1, .dry_run = 1};
	struct hm_mount_result res;
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/mnt/new/deeper", root);
	spec.dir = dir;
	is_int(hm_mount_ext(ctx, &spec, &res), 0, "dry run on a missing directory");
	is_str(res.options, "pagesize=2097152,mode=0755", "options: the size, mode 0755");
	ok(res.create && access(dir, F_OK) != 0, "the directory would be made, and is not");
	spec.size_limit = 64 << 20;
	spec.nr_inodes = 100;
	spec.gid = 1000;
	is_int(hm_mount_ext(ctx, &spec, &res), 0, "size=, nr_inodes=, gid=");
	is_str(res.options, "pagesize=2097152,size=67108864,nr_inodes=100,gid=1000,mode=1770",
	       "options in order; an owner makes it 1770");
	spec.mode = 0750;
	is_int(hm_mount_ext(ctx, &spec, &res), 0, "an explicit mode");
	like(res.options, "gid=1000,mode=0750", "the mode asked wins over 1770");
	spec.mode = 010000;
	is_int(hm_mount_ext(ctx, &spec, &res), -EINVAL, "mode 010000 refused");
	like(hm_errmsg(ctx), "not a file mode", "says why");
	spec.mode = (mode_t)-1;
	spec.size_limit = 3 << 20;
	is_int(hm_mount_ext(ctx, &spec, &res), -EINVAL, "size= of 3 MiB: not whole 2 MiB pages");
	like(hm_errmsg(ctx), "multiple of 2 MiB", "says which multiple");
	spec.size_limit = 0;
	spec.page_size = 0;
	spec.dir = NULL;
	is_int(hm_mount_ext(ctx, &spec, &res), 0, "no directory, the default size");
	is_str(res.dir, "/dev/hugepages", "hugemem's default: /dev/hugepages");
	spec.page_size = GB1;
	is_int(hm_mount_ext(ctx, &spec, &res), 0, "no directory, 1 GiB");
	is_str(res.dir, "/dev/hugepages1G", "another size: /dev/hugepages1G");
	snprintf(dir, sizeof(dir), "%s/sys", root);
	spec.dir = dir;
	is_int(hm_mount_ext(ctx, &spec, &res), -ENOTEMPTY, "a directory with files refused");
	ok(res.dir[0] && !res.create, "the dry run still says the directory");
	is_int(hm_mount_ext(ctx, NULL, &res), -EINVAL, "no spec");
	spec.page_size = 4ULL << 20;
	is_int(hm_mount_ext(ctx, &spec, NULL), -EINVAL, "4 MiB is not offered; RES may be NULL");
}

/* ------------------------------------------------------------------ reserve, overcommit */

static void test_counts(struct hm_ctx *ctx)
{
	uint64_t got = 0;

	put(NR2M, "50\n");
	is_int(hmi_reserve_at_least(ctx, MB2, -1, 8, &got), 0, "at least 8 of a pool of 50");
	ok(got == 50 && strcmp(get(NR2M), "50\n") == 0, "left at 50: never shrinks");
	is_int(hmi_reserve_at_least(ctx, MB2, -1, 64, &got), 0, "at least 64");
	ok(got == 64 && strcmp(get(NR2M), "64\n") == 0, "grown to 64");
	is_int(hm_overcommit(ctx, MB2, 256, &got), 0, "overcommit 256");
	ok(got == 256 && strcmp(get(OVER2M), "256\n") == 0, "nr_overcommit_hugepages is 256");
	is_int(hm_overcommit(ctx, 4ULL << 20, 1, &got), -EINVAL, "overcommit of 4 MiB: no pool");
	put(OVER2M, "0\n");
	put(NR2M, "1024\n");
}

/* ------------------------------------------------------------------ plan, apply */

static void test_plan(struct hm_ctx *ctx)
{
	struct hm_setup s = request(3 << 20, 0, -1, NULL);
	struct hm_setup_plan p;
	char dir[512];

	is_int(hm_setup_plan(ctx, &s, &p), 0, "plan 3 MiB of the default size");
	ok(p.page_size == MB2 && p.pages_want == 2 && p.pages_now == 1024 && !p.reserve,
	   "2 pages (rounded up) of a pool of 1024: no growth");
	ok(!p.mount && strcmp(p.mount_dir, "/dev/hugepages") == 0, "/dev/hugepages serves it");
	ok(!p.order, "a fixture's pool is not ordered");
	ok(!p.boot && !p.cmdline[0], "2 MiB pages need no boot command line");
	s = request(8 * GB1, GB1, 0, NULL);
	is_int(hm_setup_plan(ctx, &s, &p), 0, "plan 8 GiB of 1 GiB on node 0");
	ok(p.reserve && p.pages_want == 8 && p.pages_now == 4, "node 0 grows from 4 to 8");
	ok(p.boot, "gigantic: best at boot");
	is_str(p.cmdline, "default_hugepagesz=1G hugepagesz=1G hugepages=0:8",
	       "the per-node command line");
	ok(strcmp(p.mount_dir, "/mnt/huge1g") == 0 && !p.mount, "the 1 GiB mount serves it");
	s.node = -1;
	is_int(hm_setup_plan(ctx, &s, &p), 0, "system-wide");
	is_str(p.cmdline, "default_hugepagesz=1G hugepagesz=1G hugepages=8", "spread command line");

	snprintf(dir, sizeof(dir), "%s/mnt/fresh/", root);
	s = request(MB2, MB2, -1, dir);
	s.gid = 1000;
	is_int(hm_setup_plan(ctx, &s, &p), 0, "a mount asked at a new directory");
	ok(p.mount && p.mount_create && p.mount_dir_given, "made there, the directory too");
	ok(p.mount_dir[strlen(p.mount_dir) - 1] != '/', "trailing '/' dropped");
	is_str(p.mount_options, "pagesize=2097152,gid=1000,mode=1770", "with its owner's options");
	ok(access(dir, F_OK) != 0, "planning made nothing");
	s = request(MB2, MB2, -1, "/dev/hugepages");
	is_int(hm_setup_plan(ctx, &s, &p), 0, "the mount asked serves the size");
	ok(!p.mount && p.mount_dir_given, "kept, still recorded as asked");
	s = request(MB2, MB2, -1, "/mnt/huge1g");
	is_int(hm_setup_plan(ctx, &s, &p), -EBUSY, "a mount of another size asked");
	like(hm_errmsg(ctx), "/mnt/huge1g is a hugetlbfs mount of 1 GiB pages, not 2 MiB",
	     "names both sizes");

	s = request(0, MB2, -1, NULL);
	is_int(hm_setup_plan(ctx, &s, &p), -EINVAL, "size 0");
	like(hm_errmsg(ctx), "hugemem reserve 0", "points at the way to empty the pool");
	s = request(MB2, MB2, 1, NULL);
	is_int(hm_setup_plan(ctx, &s, &p), -EINVAL, "node 1 does not exist");
	s = request(MB2, 4ULL << 20, -1, NULL);
	is_int(hm_setup_plan(ctx, &s, &p), -EINVAL, "4 MiB not offered");
	like(hm_errmsg(ctx), "sizes offered: 2 MiB, 1 GiB", "lists the sizes");
	s = request(MB2, MB2, -1, "rel/dir");
	is_int(hm_setup_plan(ctx, &s, &p), -EINVAL, "a relative mount point");
	is_int(hm_setup_plan(ctx, NULL, &p), -EINVAL, "no set-up");
}

static void test_apply(struct hm_ctx *ctx)
{
	struct hm_setup s = request(4 * GB1, GB1, 0, NULL);
	struct hm_setup_result res;
	struct hm_setup_plan p;

	put(NODE0_1G, "4\n");
	is_int(hm_setup_plan(ctx, &s, &p), 0, "plan 4 GiB of 1 GiB on node 0 (it has 4)");
	ok(!p.reserve, "nothing to grow");
	s.bytes = 6 * GB1;
	is_int(hm_setup_plan(ctx, &s, &p), 0, "plan 6 GiB");
	put(NODE0_1G, "9\n"); /* another process grows the pool after the plan */
	is_int(hm_setup_apply(ctx, &p, &res), 0, "apply");
	ok(res.pages == 9 && strcmp(get(NODE0_1G), "9\n") == 0,
	   "what another process added meanwhile is kept (9, not 6)");
	ok(!res.mounted && !res.ordered, "no mount made, a fixture not ordered");
	put(NODE0_1G, "2\n");
	is_int(hm_setup_apply(ctx, &p, NULL), 0, "apply again on a smaller pool; RES may be NULL");
	is_str(get(NODE0_1G), "6\n", "grown to 6");
	is_int(hm_setup_apply(ctx, NULL, &res), -EINVAL, "no plan");
	put(NODE0_1G, "4\n");
}

/* ------------------------------------------------------------------ persist, read back */

static int persist(struct hm_ctx *ctx, uint64_t bytes, uint64_t page_size, int node,
		   const char *dir, int dry_run, struct hm_setup_files *f)
{
	struct hm_setup s = request(bytes, page_size, node, dir);
	struct hm_setup_plan p;
	int rc = hm_setup_plan(ctx, &s, &p);

	return rc < 0 ? rc : hm_setup_persist(ctx, &p, dry_run, f);
}

static void test_persist(struct hm_ctx *ctx)
{
	struct hm_setup_files f;
	struct stat st;

	is_int(persist(ctx, GB1, MB2, -1, NULL, 1, &f), 0, "dry run");
	ok(access(at(CONF), F_OK) != 0 && access(at("etc"), F_OK) != 0, "nothing written");
	is_str(f.line, "size=1G page-size=2M", "the line it would write");
	is_str(f.config, at(CONF), "below the root");
	ok(!f.cmdline_file[0] && !f.cmdline[0], "no gigantic pages, no command line");
	is_int(persist(ctx, GB1, MB2, -1, NULL, 0, &f), 0, "record 1G of 2M");
	like(get(CONF), "# hugemem set-up", "a new file starts with what it is");
	like(get(CONF), "\nsize=1G page-size=2M\n", "then the line");
	ok(stat(at(CONF), &st) == 0 && (st.st_mode & 07777) == 0644, "mode 0644");
	ok(access(at(GRUB), F_OK) != 0, "no GRUB snippet for 2 MiB pages");

	put(CONF, "# mine\nsize=1G page-size=2M\n  # kept\nsize=8M page-size=2M node=0\n");
	is_int(persist(ctx, 2 * GB1, MB2, -1, "/dev/hugepages", 0, &f), 0, "record 2G of 2M");
	is_str(get(CONF),
	       "# mine\nsize=2G page-size=2M mount=/dev/hugepages\n  # kept\nsize=8M "
	       "page-size=2M node=0\n",
	       "the line of that size and node replaced in place, the rest as it was");
	is_int(persist(ctx, 3 * GB1, GB1, 0, NULL, 0, &f), 0, "record 3G of 1G on node 0");
	like(get(CONF), "size=8M page-size=2M node=0\nsize=3G page-size=1G node=0\n",
	     "a new page size: appended");
	is_str(f.cmdline_file, at(GRUB), "the GRUB snippet");
	is_str(f.cmdline, "default_hugepagesz=1G hugepagesz=1G hugepages=0:3", "its command line");
	like(get(GRUB),
	     "\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT default_hugepagesz=1G "
	     "hugepagesz=1G hugepages=0:3\"\n",
	     "added to GRUB_CMDLINE_LINUX_DEFAULT");
	like(get(GRUB), "update-grub", "says update-grub must run");
	put(CONF, "size=3G page-size=1G node=0\nsize=2G page-size=1G node=0\nsize=5G "
		  "page-size=1G\n");
	is_int(persist(ctx, GB1, GB1, 0, NULL, 1, &f), 0, "dry run over two lines of one key");
	is_str(f.cmdline, "default_hugepagesz=1G hugepagesz=1G hugepages=0:1",
	       "the first replaced, the second dropped; node lines win over the spread one");

	put(CONF, "size=1G page-size=2M\nsize=1G bogus=1\n");
	is_int(persist(ctx, GB1, GB1, -1, NULL, 0, &f), -EINVAL, "an existing line does not parse");
	like(hm_errmsg(ctx), "line 2", "named");
	like(hm_errmsg(ctx), "fix or remove it first", "says what to do");
	is_str(get(CONF), "size=1G page-size=2M\nsize=1G bogus=1\n", "the file is as it was");
	is_int(persist(ctx, GB1, MB2, -1, "/mnt/with space", 1, &f), -EINVAL,
	       "a mount point with a blank cannot be recorded");
	unlink(at(GRUB));
}

static void test_read(struct hm_ctx *ctx)
{
	struct hm_setup_list *l = NULL;

	unlink(at(CONF));
	is_int(hm_setup_config_read(ctx, &l), 0, "no file: no set-up");
	ok(l && l->n == 0 && strcmp(l->config, at(CONF)) == 0, "the list names the file");
	hm_setup_list_free(l);
	put(CONF, "# boot\nsize=2G page-size=2M mount=/mnt/h2\nsize=4G page-size=1G node=0\n");
	chmod(at(CONF), 0644);
	is_int(hm_setup_config_read(ctx, &l), 2, "two set-ups");
	ok(l && l->setups[0].bytes == 2 * GB1 && strcmp(l->setups[0].mount_dir, "/mnt/h2") == 0 &&
	       l->setups[1].node == 0,
	   "read as written");
	hm_setup_list_free(l);
	chmod(at(CONF), 0664);
	is_int(hm_setup_config_read(ctx, &l), -EPERM, "a file its group may write");
	like(hm_errmsg(ctx), "chmod go-w", "says the fix");
	ok(l == NULL, "no list on failure");
	chmod(at(CONF), 0644);
	if (geteuid() == 0) {
		ok(chown(at(CONF), 4321, 4321) == 0, "given to uid 4321");
		is_int(hm_setup_config_read(ctx, &l), -EPERM, "another user's file");
		ok(chown(at(CONF), 0, 0) == 0, "back to root");
	}
	rename(at(CONF), at("etc/hugemem/real.conf"));
	ok(symlink("real.conf", at(CONF)) == 0, "the file made a symbolic link");
	is_int(hm_setup_config_read(ctx, &l), -ELOOP, "a symbolic link refused");
	unlink(at(CONF));
	ok(mkfifo(at(CONF), 0644) == 0, "the file made a FIFO");
	is_int(hm_setup_config_read(ctx, &l), -EINVAL, "a FIFO refused, without hanging");
	like(hm_errmsg(ctx), "not a regular file", "said");
	unlink(at(CONF));
	put(CONF, "size=1G\n");
	{
		FILE *fp = fopen(at(CONF), "a");

		if (fp) {
			fputc('\0', fp);
			fclose(fp);
		}
	}
	is_int(hm_setup_config_read(ctx, &l), -EINVAL, "a NUL byte");
	put(CONF, "size=1G\nsize=1G node=99\n");
	is_int(hm_setup_config_read(ctx, &l), -ERANGE, "a node out of range");
	like(hm_errmsg(ctx), "setup.conf line 2", "names the file and the line");
	is_int(hm_setup_config_read(ctx, NULL), -EINVAL, "no place for the list");
	hm_setup_list_free(NULL);
	ok(1, "hm_setup_list_free(NULL) is a no-op");
}

int main(void)
{
	const char *top = getenv("HM_TOP");
	char cmd[1024];
	struct hm_ctx *ctx;

	snprintf(root, sizeof(root), "/tmp/hmsetup-test-XXXXXX");
	if (!mkdtemp(root) || hm_ctx_new(&ctx) < 0)
		return plan_skip_all("no temporary directory, or out of memory");
	snprintf(cmd, sizeof(cmd), "cp -r '%s/test/fixtures/two-sizes/.' '%s/'", top ? top : ".",
		 root);
	if (system(cmd) != 0 || hm_ctx_set_root(ctx, root) < 0) {
		hm_ctx_free(ctx);
		return plan_skip_all("cannot copy test/fixtures/two-sizes (run from the top)");
	}
	test_grammar(ctx);
	test_mount_ext(ctx);
	test_counts(ctx);
	test_plan(ctx);
	test_apply(ctx);
	test_persist(ctx);
	test_read(ctx);
	hm_ctx_free(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	return done();
}
