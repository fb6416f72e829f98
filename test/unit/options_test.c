/* SPDX-License-Identifier: MIT */
/*
 * options_test.c — the options layer: every accepted form of every option,
 * every refusal (return code and the words of the message), per-command
 * acceptance driven by hm_opts_table, size and --socket-mem parsing, and
 * hm_opts_check against a hand-built machine with sparse nodes 0 and 2 and
 * pools of 2 MiB and 1 GiB. Touches nothing on the system.
 */
#include "base/ctx.h"
#include "tap.h"

#include "../../cli/cli.h"

#include <errno.h>
#include <stdarg.h>

#define MiB	  (1ULL << 20)
#define GiB	  (1ULL << 30)
#define MAX_WORDS 80

static struct hm_ctx *ctx;

/* hm_opts_parse of the NULL-terminated words after CMD into a fresh *O. */
static int parse_list(struct cli_opts *o, unsigned cmd, ...)
{
	char *argv[MAX_WORDS];
	const char *w;
	int argc = 0;
	va_list ap;

	cli_opts_init(o);
	va_start(ap, cmd);
	while ((w = va_arg(ap, const char *)) != NULL && argc < MAX_WORDS)
		argv[argc++] = (char *)w;
	va_end(ap);
	return cli_opts_parse(ctx, o, cmd, CLI_MAX_ARGS, argc, argv);
}

#define PARSE(o, cmd, ...) parse_list(o, cmd, __VA_ARGS__, (const char *)NULL)

/* The last call failed with RC_WANT and a one-line message holding NEEDLE. */
static void failed(int rc, int rc_want, const char *needle, const char *label)
{
	is_int(rc, rc_want, "%s: refused", label);
	like(hm_errmsg(ctx), needle, "%s: message names it", label);
	if (strchr(hm_errmsg(ctx), '\n'))
		ok(0, "%s: message is one line: '%s'", label, hm_errmsg(ctx));
}

#define PARSE_FAILS(cmd, needle, ...)                                                              \
	do {                                                                                       \
		struct cli_opts o_;                                                                \
		failed(PARSE(&o_, cmd, __VA_ARGS__), -EINVAL, needle, needle);                     \
	} while (0)

/* ------------------------------------------------------------------ sizes */

static void test_sizes(void)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
	    {"64", 64 * MiB},
	    {"64M", 64 * MiB},
	    {"64m", 64 * MiB},
	    {"64MB", 64 * MiB},
	    {"64MiB", 64 * MiB},
	    {"64mib", 64 * MiB},
	    {"1G", GiB},
	    {"1g", GiB},
	    {"1GB", GiB},
	    {"1GiB", GiB},
	    {"512K", 512 << 10},
	    {"512k", 512 << 10},
	    {"4KiB", 4096},
	    {"2T", 2ULL << 40},
	    {"0", 0},
	    {"007M", 7 * MiB},
	    {"16777215T", 16777215ULL << 40},
	    {"17592186044415M", 17592186044415ULL << 20},
	};
	static const struct {
		const char *text, *needle;
		int rc;
	} bad[] = {
	    {"", "size '' is empty", -EINVAL},
	    {"-5", "size '-5' is negative", -EINVAL},
	    {"abc", "size 'abc' is not a number", -EINVAL},
	    {"+5", "size '+5' is not a number", -EINVAL},
	    {"64X", "size '64X': unknown unit 'X' (use K, M, G or T; a bare number is MiB)",
	     -EINVAL},
	    {"64MBB", "unknown unit 'MBB'", -EINVAL},
	    {"64Mi", "unknown unit 'Mi'", -EINVAL},
	    {"0x10M", "size '0x10M': hexadecimal sizes are not accepted", -EINVAL},
	    {"1.5G", "size '1.5G': fractional sizes are not accepted: write 1536M", -EINVAL},
	    {"0.5", "write 512K", -EINVAL},
	    {"2.0G", "write 2G", -EINVAL},
	    {"1.3G", "fractional sizes are not accepted: give a whole number", -EINVAL},
	    {"1.", "fractional sizes are not accepted", -EINVAL},
	    {"64 M", "size '64 M' contains a space", -EINVAL},
	    {" 64", "contains a space", -EINVAL},
	    {"64\n", "size '64?' contains a space", -EINVAL},
	    {"16777216T", "size '16777216T' does not fit in 64 bits", -ERANGE},
	    {"17592186044416M", "does not fit in 64 bits", -ERANGE},
	    {"99999999999999999999", "does not fit in 64 bits", -ERANGE},
	};
	uint64_t v;

	for (size_t i = 0; i < HMI_ARRAY_SIZE(good); i++) {
		v = 12345;
		is_int(hm_parse_size(ctx, good[i].text, &v), 0, "size '%s' parses", good[i].text);
		is_u64(v, good[i].bytes, "size '%s' is %" PRIu64, good[i].text, good[i].bytes);
	}
	for (size_t i = 0; i < HMI_ARRAY_SIZE(bad); i++) {
		v = 12345;
		failed(hm_parse_size(ctx, bad[i].text, &v), bad[i].rc, bad[i].needle,
		       bad[i].needle);
		is_u64(v, 12345, "%s: result untouched", bad[i].needle);
	}
	failed(hm_parse_size(ctx, NULL, &v), -EINVAL, "size missing", "NULL size");
	is_int(hm_parse_size(ctx, "1M", &v), 0, "a success after a failure");
	is_str(hm_errmsg(ctx), "", "clears the message");
}

/* ------------------------------------------------------------------ --socket-mem */

static void test_socket_mem(void)
{
	uint64_t b[HM_MAX_NODES];
	char many[HM_MAX_NODES * 2 + 8];
	int n = -7;

	is_int(hm_parse_socket_mem(ctx, "64,0,128", b, &n), 0, "socket-mem 64,0,128");
	is_int(n, 3, "three entries");
	ok(b[0] == 64 * MiB && b[1] == 0 && b[2] == 128 * MiB, "per node, bare = MiB");
	is_u64(b[3], 0, "the rest is zeroed");
	is_int(hm_parse_socket_mem(ctx, "0,1G", b, &n), 0, "0,1G");
	ok(n == 2 && b[0] == 0 && b[1] == GiB, "units per entry");

	memset(many, 0, sizeof(many));
	for (int i = 0; i < HM_MAX_NODES; i++)
		strcat(many, i ? ",1" : "1");
	is_int(hm_parse_socket_mem(ctx, many, b, &n), 0, "64 entries: one per node id");
	ok(n == HM_MAX_NODES && b[HM_MAX_NODES - 1] == MiB, "the last node is set");
	strcat(many, ",1");
	n = -7;
	failed(hm_parse_socket_mem(ctx, many, b, &n), -EINVAL, "more than 64 entries",
	       "65 entries");
	is_int(n, -7, "count untouched on failure");

	failed(hm_parse_socket_mem(ctx, "", b, &n), -EINVAL, "--socket-mem '' is empty", "empty");
	failed(hm_parse_socket_mem(ctx, NULL, b, &n), -EINVAL, "is empty", "NULL");
	failed(hm_parse_socket_mem(ctx, "1,,2", b, &n), -EINVAL,
	       "--socket-mem '1,,2': entry 2 (node 1) is empty", "empty entry");
	failed(hm_parse_socket_mem(ctx, "1,2,", b, &n), -EINVAL, "'1,2,' ends with a comma",
	       "trailing comma");
	failed(hm_parse_socket_mem(ctx, ",1", b, &n), -EINVAL, "',1' starts with a comma",
	       "leading comma");
	failed(hm_parse_socket_mem(ctx, ",", b, &n), -EINVAL, "starts with a comma", "a comma");
	failed(hm_parse_socket_mem(ctx, "0,0", b, &n), -EINVAL,
	       "every entry is 0, so nothing is asked", "all zero");
	failed(hm_parse_socket_mem(ctx, "64,x", b, &n), -EINVAL,
	       "--socket-mem entry 2 ('x', node 1): size 'x' is not a number", "bad entry");
	failed(hm_parse_socket_mem(ctx, "1.5G", b, &n), -EINVAL, "entry 1 ('1.5G', node 0)",
	       "fractional entry");
	failed(hm_parse_socket_mem(ctx, "1,99999999T", b, &n), -ERANGE,
	       "entry 2 ('99999999T', node 1): size '99999999T' does not fit", "overflowing entry");
	failed(hm_parse_socket_mem(ctx, "1, 2", b, &n), -EINVAL, "contains a space", "space entry");
}

/* ------------------------------------------------------------------ forms of options */

static void test_defaults(void)
{
	struct cli_opts o;

	memset(&o, 0x5a, sizeof(o));
	cli_opts_init(&o);
	ok(o.lib.mem == 0 && o.lib.socket_mem_count == 0 && o.lib.page_size == 0,
	   "no memory asked");
	ok(o.lib.file_prefix == NULL, "no prefix until one is given (commands choose the default)");
	ok(o.lib.node == -1 && o.lib.huge_dir == NULL && o.svg_file == NULL,
	   "node -1, no dir, no svg");
	ok(o.flags == 0 && o.lib.n_zones == 0 && o.n_args == 0, "no flags, zones, args");
	ok(o.lib.iova_mode == HM_IOVA_DEFAULT && o.lib.contig == HM_CONTIG_FAST &&
	       o.lib.base_virtaddr == 0 && o.user == NULL && o.group == NULL,
	   "iova default, contig fast, base 0");
	is_int(PARSE(&o, HM_CMD_INIT, NULL), 0, "no words at all");
}

static void test_mem_forms(void)
{
	static const char *const forms[][2] = {
	    {"-m", "64"},	{"-m64", NULL}, {"--mem", "64"},
	    {"--mem=64", NULL}, {"-m", "64M"},	{"-m64MiB", NULL},
	};
	struct cli_opts o;

	for (size_t i = 0; i < HMI_ARRAY_SIZE(forms); i++) {
		is_int(PARSE(&o, HM_CMD_INIT, forms[i][0], forms[i][1]), 0, "%s %s", forms[i][0],
		       forms[i][1] ? forms[i][1] : "");
		is_u64(o.lib.mem, 64 * MiB, "%s: 64 MiB", forms[i][0]);
	}
	is_int(PARSE(&o, HM_CMD_INIT, "-m", "1G"), 0, "-m 1G");
	is_u64(o.lib.mem, GiB, "-m 1G is a GiB");
	PARSE_FAILS(HM_CMD_INIT, "-m: size '64X': unknown unit 'X'", "-m", "64X");
	PARSE_FAILS(HM_CMD_INIT, "-m: size 'abc' is not a number", "-mabc");
	PARSE_FAILS(HM_CMD_INIT, "--mem: size '-5' is negative", "--mem=-5");
	PARSE_FAILS(HM_CMD_INIT, "-m: size '-5' is negative", "-m", "-5");
	PARSE_FAILS(HM_CMD_INIT, "-m 0 asks for no memory", "-m", "0");
	PARSE_FAILS(HM_CMD_INIT, "does not fit in 64 bits", "-m", "99999999T");
	PARSE_FAILS(HM_CMD_INIT, "-m needs a value: write -m SIZE", "-m");
	PARSE_FAILS(HM_CMD_INIT, "-m is given twice ('64', then '128'): give it once", "-m", "64",
		    "-m", "128");
	PARSE_FAILS(HM_CMD_INIT, "-m is given twice", "--mem", "1G", "-m2G");
}

static void test_socket_mem_option(void)
{
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_INIT, "--socket-mem", "64,0,128"), 0, "--socket-mem A,B,C");
	ok(o.lib.socket_mem_count == 3 && o.lib.socket_mem[2] == 128 * MiB, "three nodes");
	is_int(PARSE(&o, HM_CMD_INIT, "--socket-mem=0,1G"), 0, "--socket-mem=A,B");
	ok(o.lib.socket_mem_count == 2 && o.lib.socket_mem[1] == GiB, "=form");
	PARSE_FAILS(HM_CMD_INIT, "--socket-mem '1,,2': entry 2", "--socket-mem", "1,,2");
	PARSE_FAILS(HM_CMD_INIT, "--socket-mem '' is empty", "--socket-mem=");
	PARSE_FAILS(HM_CMD_INIT, "--socket-mem needs a value", "--socket-mem");
	PARSE_FAILS(HM_CMD_INIT, "--socket-mem is given twice", "--socket-mem", "1", "--socket-mem",
		    "2");
	/* an overflow is -ERANGE from hm_parse_socket_mem, a bad word (-EINVAL) here */
	PARSE_FAILS(HM_CMD_INIT, "does not fit in 64 bits", "--socket-mem", "99999999T");
}

static void test_strings(void)
{
	char dir[] = "--huge-dir=/mnt/huge";
	char *argv[] = {dir};
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_INIT, "--huge-dir", "/mnt/huge"), 0, "--huge-dir DIR");
	is_str(o.lib.huge_dir, "/mnt/huge", "huge_dir");
	cli_opts_init(&o);
	is_int(cli_opts_parse(ctx, &o, HM_CMD_STATUS, 0, 1, argv), 0, "--huge-dir=DIR");
	ok(o.lib.huge_dir == dir + strlen("--huge-dir="), "points into argv");
	is_int(PARSE(&o, HM_CMD_ATTACH, "--file-prefix", "app1"), 0, "--file-prefix P");
	is_str(o.lib.file_prefix, "app1", "file_prefix");
	is_int(PARSE(&o, HM_CMD_CLEAR, "--file-prefix=--json"), 0, "=form takes a dashed value");
	is_str(o.lib.file_prefix, "--json", "taken literally");
	is_int(PARSE(&o, HM_CMD_MAP, "--svg", "pool.svg"), 0, "--svg FILE");
	is_str(o.svg_file, "pool.svg", "svg_file");
	is_int(PARSE(&o, HM_CMD_MOUNT, "--user", "alice", "--group=wheel"), 0, "--user, --group");
	ok(o.user && o.group && !strcmp(o.user, "alice") && !strcmp(o.group, "wheel"),
	   "user and group");
	PARSE_FAILS(HM_CMD_INIT, "--huge-dir is given an empty value", "--huge-dir=");
	PARSE_FAILS(HM_CMD_MAP, "--svg is given an empty value: give one, e.g. --svg FILE", "--svg",
		    "");
	PARSE_FAILS(HM_CMD_INIT, "--file-prefix is given an empty value", "--file-prefix", "");
	PARSE_FAILS(HM_CMD_INIT, "--file-prefix 'a/b' is not a file name", "--file-prefix", "a/b");
	PARSE_FAILS(HM_CMD_INIT, "--file-prefix '..' is not a file name", "--file-prefix", "..");
	PARSE_FAILS(HM_CMD_INIT, "is longer than 63 bytes", "--file-prefix",
		    "0123456789012345678901234567890123456789012345678901234567890123");
	is_int(PARSE(&o, HM_CMD_INIT, "--file-prefix",
		     "012345678901234567890123456789012345678901234567890123456789012"),
	       0, "a 63-byte prefix fits");
	PARSE_FAILS(HM_CMD_INIT,
		    "--file-prefix needs a value (P), found the option '--json': "
		    "write --file-prefix=--json",
		    "--file-prefix", "--json");
	PARSE_FAILS(HM_CMD_INIT, "--huge-dir needs a value: write --huge-dir DIR", "--huge-dir");
	PARSE_FAILS(HM_CMD_INIT, "--file-prefix is given twice ('a', then 'b')", "--file-prefix",
		    "a", "--file-prefix=b");
}

static void test_choices(void)
{
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_INIT, "--iova-mode", "pa"), 0, "--iova-mode pa");
	is_int(o.lib.iova_mode, HM_IOVA_PA, "pa");
	is_int(PARSE(&o, HM_CMD_INIT, "--iova-mode=va"), 0, "--iova-mode=va");
	is_int(o.lib.iova_mode, HM_IOVA_VA, "va");
	is_int(PARSE(&o, HM_CMD_INIT, "--contig", "best"), 0, "--contig best");
	is_int(o.lib.contig, HM_CONTIG_BEST, "best");
	is_int(PARSE(&o, HM_CMD_INIT, "--contig=fast"), 0, "--contig=fast");
	is_int(o.lib.contig, HM_CONTIG_FAST, "fast");
	PARSE_FAILS(HM_CMD_INIT, "--iova-mode 'xx' is not accepted: give pa, va or alloc",
		    "--iova-mode", "xx");
	PARSE_FAILS(HM_CMD_INIT, "--iova-mode 'PA' is not accepted", "--iova-mode=PA");
	PARSE_FAILS(HM_CMD_INIT, "--contig 'max' is not accepted: give fast or best", "--contig",
		    "max");
	PARSE_FAILS(HM_CMD_INIT, "--contig is given twice", "--contig", "best", "--contig", "best");
}

/* The CLI's bits beside the library's in one number. */
#define CLI_BIT(f) ((f) << 16)

static void test_flags(void)
{
	static const struct {
		const char *word;
		unsigned flag, command;
	} flags[] = {
	    {"--no-huge", HM_OPT_NO_HUGE, HM_CMD_INIT},
	    {"--in-memory", HM_OPT_IN_MEMORY, HM_CMD_INIT},
	    {"--huge-unlink", HM_OPT_HUGE_UNLINK, HM_CMD_INIT},
	    {"--no-shconf", HM_OPT_NO_SHCONF, HM_CMD_INIT},
	    {"--single-file-segments", HM_OPT_SINGLE_FILE, HM_CMD_INIT},
	    {"--verify", HM_OPT_VERIFY, HM_CMD_ATTACH},
	    {"--map", CLI_BIT(CLI_OPT_MAP), HM_CMD_INIT},
	    {"--json", CLI_BIT(CLI_OPT_JSON), HM_CMD_UNMOUNT},
	    {"--hold", CLI_BIT(CLI_OPT_HOLD), HM_CMD_INIT},
	    {"--trace", CLI_BIT(CLI_OPT_TRACE), HM_CMD_INIT},
	    {"--dry-run", CLI_BIT(CLI_OPT_DRY_RUN), HM_CMD_CLEAR},
	    {"--force", CLI_BIT(CLI_OPT_FORCE), HM_CMD_RESERVE},
	};
	struct cli_opts o;

	for (size_t i = 0; i < HMI_ARRAY_SIZE(flags); i++) {
		is_int(PARSE(&o, flags[i].command, flags[i].word), 0, "%s", flags[i].word);
		is_int(o.lib.flags | CLI_BIT(o.flags), flags[i].flag, "%s sets its bit, only it",
		       flags[i].word);
	}
	is_int(PARSE(&o, HM_CMD_INIT, "--json", "--hold", "--trace", "--json"), 0,
	       "flags combine and may repeat");
	is_int(o.flags, CLI_OPT_JSON | CLI_OPT_HOLD | CLI_OPT_TRACE, "three bits");
	PARSE_FAILS(HM_CMD_INIT, "--json takes no value: write --json alone, not '--json=1'",
		    "--json=1");
	PARSE_FAILS(HM_CMD_INIT, "--hold takes no value", "--hold=");
}

static void test_address(void)
{
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_INIT, "--base-virtaddr", "0x100000000000"), 0, "hex address");
	is_u64(o.lib.base_virtaddr, 0x100000000000ULL, "hex value");
	is_int(PARSE(&o, HM_CMD_INIT, "--base-virtaddr=0X2000"), 0, "upper-case 0X");
	is_u64(o.lib.base_virtaddr, 0x2000, "0X2000");
	is_int(PARSE(&o, HM_CMD_INIT, "--base-virtaddr", "8192"), 0, "decimal address");
	is_u64(o.lib.base_virtaddr, 8192, "decimal value");
	is_int(PARSE(&o, HM_CMD_INIT, "--base-virtaddr", "0xfffffffffffff000"), 0, "16 hex digits");
	PARSE_FAILS(HM_CMD_INIT, "--base-virtaddr '0' is zero", "--base-virtaddr", "0");
	PARSE_FAILS(HM_CMD_INIT, "--base-virtaddr '0x0' is zero", "--base-virtaddr", "0x0");
	PARSE_FAILS(HM_CMD_INIT, "'0x1001' is not page aligned (4096): give e.g. 0x1000",
		    "--base-virtaddr", "0x1001");
	PARSE_FAILS(HM_CMD_INIT, "'0x10' is not page aligned (4096): give e.g. 0x1000",
		    "--base-virtaddr", "0x10");
	PARSE_FAILS(HM_CMD_INIT, "'zz' is not an address: give hex", "--base-virtaddr", "zz");
	PARSE_FAILS(HM_CMD_INIT, "'0x' is not an address", "--base-virtaddr", "0x");
	PARSE_FAILS(HM_CMD_INIT, "'0x1g' is not an address", "--base-virtaddr", "0x1g");
	PARSE_FAILS(HM_CMD_INIT, "'4096K' is not an address", "--base-virtaddr", "4096K");
	PARSE_FAILS(HM_CMD_INIT, "'-4096' is not an address", "--base-virtaddr", "-4096");
	PARSE_FAILS(HM_CMD_INIT, "does not fit in 64 bits", "--base-virtaddr",
		    "0x11112222333344445");
	PARSE_FAILS(HM_CMD_INIT, "does not fit in 64 bits", "--base-virtaddr",
		    "99999999999999999999999");
}

static void test_page_size_node(void)
{
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_RESERVE, "--page-size", "2M"), 0, "--page-size 2M");
	is_u64(o.lib.page_size, 2 * MiB, "2 MiB");
	is_int(PARSE(&o, HM_CMD_MOUNT, "--page-size=1G"), 0, "--page-size=1G");
	is_u64(o.lib.page_size, GiB, "1 GiB");
	is_int(PARSE(&o, HM_CMD_STATUS, "--page-size", "4K"), 0, "4K is a page size");
	PARSE_FAILS(HM_CMD_INIT, "--page-size '3M' is not a page size: give a power of two",
		    "--page-size", "3M");
	PARSE_FAILS(HM_CMD_INIT, "--page-size '2K' is not a page size", "--page-size", "2K");
	PARSE_FAILS(HM_CMD_INIT, "--page-size '0' is not a page size", "--page-size", "0");
	PARSE_FAILS(HM_CMD_INIT, "--page-size: size 'huge' is not a number", "--page-size", "huge");

	is_int(PARSE(&o, HM_CMD_RESERVE, "--node", "0"), 0, "--node 0");
	is_int(o.lib.node, 0, "node 0");
	is_int(PARSE(&o, HM_CMD_MAP, "--node=63"), 0, "--node=63");
	is_int(o.lib.node, 63, "node 63");
	PARSE_FAILS(HM_CMD_MAP, "--node '64' is not a node id: give a decimal number from 0 to 63",
		    "--node", "64");
	PARSE_FAILS(HM_CMD_MAP, "--node '-1' is not a node id", "--node", "-1");
	PARSE_FAILS(HM_CMD_MAP, "--node '1x' is not a node id", "--node", "1x");
	PARSE_FAILS(HM_CMD_MAP, "--node '' is not a node id", "--node=");
	PARSE_FAILS(HM_CMD_MAP, "--node '0x1' is not a node id", "--node", "0x1");
	PARSE_FAILS(HM_CMD_MAP, "--node is given twice", "--node", "0", "--node", "0");
}

static void test_zones(void)
{
	char words[HM_MAX_ZONES + 1][16];
	char *argv[2 * (HM_MAX_ZONES + 1)];
	struct cli_opts o;
	int rc;

	is_int(PARSE(&o, HM_CMD_INIT, "--zone", "rx:16M", "--zone=tx.ring-1:1G:contig"), 0,
	       "two zones");
	is_int(o.lib.n_zones, 2, "n_zones 2");
	ok(!strcmp(o.lib.zones[0].name, "rx") && o.lib.zones[0].len == 16 * MiB &&
	       !o.lib.zones[0].contig,
	   "zone rx: 16 MiB, not contiguous");
	ok(!strcmp(o.lib.zones[1].name, "tx.ring-1") && o.lib.zones[1].len == GiB &&
	       o.lib.zones[1].contig,
	   "zone tx.ring-1: 1 GiB, contiguous");
	is_int(PARSE(&o, HM_CMD_INIT, "--zone", "abcdefghijklmnopqrstuvwxyz_1234:1"), 0,
	       "a 31-character name");
	is_u64(o.lib.zones[0].len, MiB, "bare zone size is MiB");

	for (int i = 0; i <= HM_MAX_ZONES; i++) {
		snprintf(words[i], sizeof(words[i]), "z%d:1M", i);
		argv[2 * i] = (char *)"--zone";
		argv[2 * i + 1] = words[i];
	}
	cli_opts_init(&o);
	is_int(cli_opts_parse(ctx, &o, HM_CMD_INIT, 0, 2 * HM_MAX_ZONES, argv), 0, "16 zones fit");
	is_int(o.lib.n_zones, HM_MAX_ZONES, "all 16 kept");
	cli_opts_init(&o);
	rc = cli_opts_parse(ctx, &o, HM_CMD_INIT, 0, 2 * (HM_MAX_ZONES + 1), argv);
	failed(rc, -EINVAL, "--zone 'z16:1M': more than 16 zones", "17 zones");

	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx': give NAME:SIZE[:contig]", "--zone", "rx");
	PARSE_FAILS(HM_CMD_INIT, "--zone ':16M': the name must be 1 to 31 characters", "--zone",
		    ":16M");
	PARSE_FAILS(HM_CMD_INIT, "the name must be 1 to 31 characters", "--zone",
		    "abcdefghijklmnopqrstuvwxyz_12345:1M");
	PARSE_FAILS(HM_CMD_INIT, "the name 'r x' may hold only letters, digits", "--zone",
		    "r x:1M");
	PARSE_FAILS(HM_CMD_INIT, "the name 'r/x' may hold only", "--zone", "r/x:1M");
	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx:32M': zone 'rx' is given twice", "--zone", "rx:16M",
		    "--zone", "rx:32M");
	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx:abc': size 'abc' is not a number", "--zone", "rx:abc");
	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx:': size '' is empty", "--zone", "rx:");
	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx:1.5G': size '1.5G': fractional", "--zone", "rx:1.5G");
	PARSE_FAILS(HM_CMD_INIT, "--zone 'rx:0': a zone of 0 bytes", "--zone", "rx:0");
	PARSE_FAILS(HM_CMD_INIT,
		    "--zone 'rx:16M:foo': unknown flag 'foo': the only one is 'contig'", "--zone",
		    "rx:16M:foo");
	PARSE_FAILS(HM_CMD_INIT, "unknown flag 'contig:x'", "--zone", "rx:16M:contig:x");
	PARSE_FAILS(HM_CMD_INIT, "unknown flag ''", "--zone", "rx:16M:");
	PARSE_FAILS(HM_CMD_INIT, "--zone needs a value", "--zone");
}

static void test_positionals(void)
{
	struct cli_opts o;

	is_int(PARSE(&o, HM_CMD_RESERVE, "1G", "--page-size", "1G"), 0, "SIZE then an option");
	ok(o.n_args == 1 && !strcmp(o.args[0], "1G") && o.lib.page_size == GiB, "reserve 1G");
	is_int(PARSE(&o, HM_CMD_MOUNT, "-", "/mnt"), 0, "'-' alone is a word");
	ok(o.n_args == 2 && !strcmp(o.args[0], "-"), "'-' kept");
	is_int(PARSE(&o, HM_CMD_INIT, "--", "-m", "64", "--help", "--"), 0, "'--' ends options");
	ok(o.lib.mem == 0 && o.n_args == 4 && !(o.flags & CLI_OPT_HELP),
	   "after '--' all positional");
	ok(o.n_args == 4 && !strcmp(o.args[0], "-m") && !strcmp(o.args[3], "--"),
	   "a second '--' is a word");
	is_int(PARSE(&o, HM_CMD_MOUNT, "a", "b", "c", "d"), 0, "four words");
	is_int(o.n_args, CLI_MAX_ARGS, "CLI_MAX_ARGS kept");
	PARSE_FAILS(HM_CMD_MOUNT, "too many arguments: 'e' is one more than the 4 'mount' takes",
		    "a", "b", "c", "d", "e");
	PARSE_FAILS(HM_CMD_MOUNT, "too many arguments: '-e'", "a", "b", "--", "c", "d", "-e");
}

static void test_help(void)
{
	const char *names[] = {"init",	"attach", "status",  "reserve", "mount", "unmount",
			       "clear", "map",	  "reorder", "keeper",	"setup"};
	struct cli_opts o;

	for (size_t i = 0; i < HMI_ARRAY_SIZE(names); i++) {
		unsigned cmd = hm_command_from_name(names[i]);

		is_int(PARSE(&o, cmd, "--help"), 0, "%s --help", names[i]);
		ok(o.flags & CLI_OPT_HELP, "%s: help flag", names[i]);
	}
	is_int(PARSE(&o, HM_CMD_STATUS, "-h"), 0, "-h");
	ok(o.flags & CLI_OPT_HELP, "-h sets help");
	is_int(PARSE(&o, HM_CMD_STATUS, "--bogus", "--hold", "--help"), 0, "help wins");
	ok(o.flags & CLI_OPT_HELP, "help wins over bad words");
	PARSE_FAILS(HM_CMD_INIT, "--help takes no value", "--help=yes");
}

static void test_unknown(void)
{
	struct cli_opts o;

	PARSE_FAILS(HM_CMD_INIT, "unknown option '--qux': see 'hugemem init --help'", "--qux");
	ok(!strstr(hm_errmsg(ctx), "did you mean"), "no hint for --qux (no name within 2 edits)");
	PARSE_FAILS(HM_CMD_STATUS, "unknown option '--qux': see 'hugemem status --help'",
		    "--qux=3");
	PARSE_FAILS(HM_CMD_INIT,
		    "unknown option '--socket-men': see 'hugemem init --help'; did you "
		    "mean --socket-mem?",
		    "--socket-men", "64");
	PARSE_FAILS(HM_CMD_INIT, "did you mean --json?", "--jsno");
	PARSE_FAILS(HM_CMD_INIT, "did you mean --socket-mem?", "--sockt-men=1");
	PARSE_FAILS(HM_CMD_STATUS, "did you mean --hold?", "--holdd");
	PARSE_FAILS(HM_CMD_INIT, "did you mean --huge-dir?", "--hugedir=/x");
	PARSE_FAILS(HM_CMD_INIT, "did you mean --page-size?", "--pagesize", "2M");
	PARSE_FAILS(HM_CMD_INIT, "unknown option '-x'", "-x");
	PARSE_FAILS(HM_CMD_INIT,
		    "unknown option '-json': see 'hugemem init --help'; did you mean "
		    "--json?",
		    "-json");
	PARSE_FAILS(HM_CMD_INIT, "unknown option '---json'", "---json");
	PARSE_FAILS(HM_CMD_INIT, "unknown option '--xyzzyplugh'", "--xyzzyplugh");
	ok(!strstr(hm_errmsg(ctx), "did you mean"), "no hint when nothing is near");
	PARSE_FAILS(HM_CMD_INIT, "unknown option '--a?b'", "--a\nb");

	failed(PARSE(&o, 0, "-m", "1"), -EINVAL, "are not one hugemem command", "command 0");
	failed(PARSE(&o, HM_CMD_INIT | HM_CMD_MAP, "-m", "1"), -EINVAL, "0x81", "two command bits");
	failed(cli_opts_parse(ctx, &o, HM_CMD_INIT, CLI_MAX_ARGS, 1, NULL), -EINVAL,
	       "no argument vector", "NULL argv");
}

static void test_commands(void)
{
	struct cli_opts o;

	PARSE_FAILS(HM_CMD_STATUS,
		    "--hold is not an option of 'status' (it belongs to: init, attach)", "--hold");
	PARSE_FAILS(HM_CMD_STATUS, "-m is not an option of 'status' (it belongs to: init)", "-m64");
	PARSE_FAILS(HM_CMD_ATTACH,
		    "--page-size is not an option of 'attach' (it belongs to: init, status, "
		    "reserve, mount, map, reorder, keeper, setup)",
		    "--page-size", "2M");
	PARSE_FAILS(
	    HM_CMD_UNMOUNT,
	    "--dry-run is not an option of 'unmount' (it belongs to: reserve, mount, clear, "
	    "setup)",
	    "--dry-run");
	PARSE_FAILS(HM_CMD_INIT, "--node is not an option of 'init'", "--node", "0");
	is_int(hm_command_from_name("init"), HM_CMD_INIT, "init");
	is_int(hm_command_from_name("attach"), HM_CMD_ATTACH, "attach");
	is_int(hm_command_from_name("status"), HM_CMD_STATUS, "status");
	is_int(hm_command_from_name("reserve"), HM_CMD_RESERVE, "reserve");
	is_int(hm_command_from_name("mount"), HM_CMD_MOUNT, "mount");
	is_int(hm_command_from_name("unmount"), HM_CMD_UNMOUNT, "unmount");
	is_int(hm_command_from_name("clear"), HM_CMD_CLEAR, "clear");
	is_int(hm_command_from_name("map"), HM_CMD_MAP, "map");
	is_int(hm_command_from_name("reorder"), HM_CMD_REORDER, "reorder");
	is_int(hm_command_from_name("keeper"), HM_CMD_KEEPER, "keeper");
	is_int(hm_command_from_name("setup"), HM_CMD_SETUP, "setup");
	ok(!hm_command_from_name("INIT") && !hm_command_from_name("") &&
	       !hm_command_from_name(NULL) && !hm_command_from_name("initx"),
	   "unknown command names are 0");
	is_int(PARSE(&o, HM_CMD_CLEAR, "--file-prefix", "p", "--dry-run", "--huge-dir", "/h",
		     "--json"),
	       0, "clear takes its four options");
}

/* hm_nearest_name: the hint rule of options, for a program's own words. */
static void test_nearest_name(void)
{
	static const char *const names[] = {"init", "status", "reserve",  "help",
					    "map",  NULL,     "--version"};
	const int n = (int)(sizeof(names) / sizeof(names[0]));

	is_int(hm_nearest_name("stauts", names, n), 1, "stauts: status (a transposition)");
	is_int(hm_nearest_name("resrve", names, n), 2, "resrve: reserve (a deletion)");
	is_int(hm_nearest_name("status", names, n), 1, "an exact name is its own nearest");
	is_int(hm_nearest_name("--verison", names, n), 6, "--verison: --version, past a NULL");
	is_int(hm_nearest_name("mop", names, n), 4, "mop: map");
	is_int(hm_nearest_name("xyzzy", names, n), -1, "xyzzy: nothing within 2");
	is_int(hm_nearest_name("statusxyz", names, n), -1, "3 away is too far");
	is_int(hm_nearest_name("hel", names, n), 3, "hel: help");
	is_int(hm_nearest_name("ma", names, 4), -1, "only the N names given count");
	is_int(hm_nearest_name(NULL, names, n), -1, "a NULL word: -1");
	is_int(hm_nearest_name("init", NULL, 3), -1, "NULL names: -1");
	is_int(hm_nearest_name("abcdefghijklmnopqrstuvwxyz0123456789", names, n), -1,
	       "a word longer than 32 bytes is never near");
}

static void test_conflicts(void)
{
	struct cli_opts o;

	PARSE_FAILS(HM_CMD_INIT, "-m and --socket-mem cannot be combined: give one", "-m", "64",
		    "--socket-mem", "64");
	PARSE_FAILS(HM_CMD_INIT, "-m and --socket-mem cannot be combined", "--socket-mem=1,1",
		    "--mem=2");
	PARSE_FAILS(HM_CMD_INIT, "--no-huge and --socket-mem cannot be combined", "--no-huge",
		    "--socket-mem", "64");
	PARSE_FAILS(HM_CMD_INIT, "--no-huge and --huge-dir cannot be combined", "--huge-dir", "/h",
		    "--no-huge");
	PARSE_FAILS(HM_CMD_INIT, "--no-huge and --in-memory cannot be combined", "--in-memory",
		    "--no-huge");
	PARSE_FAILS(HM_CMD_INIT, "--in-memory and --huge-dir cannot be combined", "--in-memory",
		    "--huge-dir=/h");
	PARSE_FAILS(HM_CMD_INIT, "--no-huge and --page-size cannot be combined", "--no-huge",
		    "--page-size", "2M");
	is_int(PARSE(&o, HM_CMD_INIT, "--no-huge", "-m", "64"), 0, "--no-huge with -m");
	ok(o.lib.mem == 64 * MiB && (o.lib.flags & HM_OPT_NO_HUGE), "both kept");
	is_int(PARSE(&o, HM_CMD_INIT, "--in-memory", "--socket-mem", "0,64"), 0,
	       "--in-memory with --socket-mem");
}

/* On failure *o is what the caller passed in. */
static void test_untouched(void)
{
	char *argv[] = {(char *)"--json", (char *)"-m",	 (char *)"64",	   (char *)"--zone",
			(char *)"a:1",	  (char *)"pos", (char *)"--bogus"};
	struct cli_opts o, before;

	cli_opts_init(&o);
	o.lib.node = 3;
	before = o;
	is_int(cli_opts_parse(ctx, &o, HM_CMD_INIT, CLI_MAX_ARGS, 7, argv), -EINVAL,
	       "fails at the last word");
	/* the library's part; the CLI's own (--json, "pos") is taken as words are read */
	ok(memcmp(&o.lib, &before.lib, sizeof(o.lib)) == 0, "options untouched after a failure");
	o.n_args = 0; /* the CLI's own part is dropped after a failure (hm_opts_ext.take) */
	is_int(cli_opts_parse(ctx, &o, HM_CMD_INIT, CLI_MAX_ARGS, 6, argv), 0,
	       "succeeds without it");
	ok(o.lib.mem == 64 * MiB && o.lib.n_zones == 1 && o.n_args == 1 && o.lib.node == 3,
	   "success keeps what the caller set and adds the words");
	is_str(hm_errmsg(ctx), "", "no message after success");
}

/* ------------------------------------------------------------------ the table */

/* A valid value for an option, by name. */
static const char *sample_value(const char *name)
{
	static const char *const samples[][2] = {
	    {"mem", "64"},
	    {"socket-mem", "64"},
	    {"huge-dir", "/h"},
	    {"file-prefix", "p"},
	    {"iova-mode", "va"},
	    {"page-size", "2M"},
	    {"base-virtaddr", "0x200000000000"},
	    {"contig", "best"},
	    {"zone", "z:1M"},
	    {"node", "1"},
	    {"for", "64M"},
	    {"svg", "f.svg"},
	    {"user", "root"},
	    {"group", "root"},
	    {"iommu", "auto"},
	    {"vfio-device", "0000:00:05.0"},
	    {"dma-mask-bits", "48"},
	    {"max-mem", "1G"},
	    {"socket-max-mem", "64,0"},
	    {"auto-trim", "0"},
	    {"keeper", "off"},
	    {"keep", "64M"},
	    {"chunk", "32M"},
	    {"runtime-dir", "/run/k"},
	    {"uid-quota", "1G"},
	    {"socket-keep", "64,0"},
	    {"mode", "1770"},
	    {"size", "64M"},
	    {"nr-inodes", "100"},
	    {"overcommit", "1G"},
	    {"mount", "/dev/hugepages"},
	};

	for (size_t i = 0; i < HMI_ARRAY_SIZE(samples); i++)
		if (strcmp(samples[i][0], name) == 0)
			return samples[i][1];
	return NULL;
}

/* One row: is it well formed, and is it taken exactly by its commands? */
static int table_row_ok(const struct hm_optdesc *d)
{
	char word[64], shortw[8];
	const char *value = d->arg ? sample_value(d->long_name) : NULL;
	int good = d->long_name && d->help && d->commands && (!d->arg || value);

	snprintf(word, sizeof(word), "--%s", d->long_name);
	snprintf(shortw, sizeof(shortw), "-%c", d->short_name);
	for (unsigned bit = 1; good && bit <= HM_CMD_SETUP; bit <<= 1) {
		struct cli_opts o;
		int want = (d->commands & bit) ? 0 : -EINVAL;

		good = PARSE(&o, bit, word, value) == want &&
		       (want == 0 || strstr(hm_errmsg(ctx), "is not an option of"));
		if (good && d->short_name)
			good = PARSE(&o, bit, shortw, value) == want;
		if (!good)
			diag("--%s for command 0x%x: %s", d->long_name, bit, hm_errmsg(ctx));
	}
	return good;
}

static void test_table(void)
{
	const struct hm_optdesc *lib = NULL, *own = NULL;
	int n_lib = hm_opts_table(&lib), n_own = cli_opts_table(&own), n = 0;
	int dup = 0, flags_refuse_values = 1;
	struct hm_optdesc t[64];

	for (int i = 0; i < n_lib && n < 64; i++)
		t[n++] = lib[i];
	for (int i = 0; i < n_own && n < 64; i++)
		t[n++] = own[i];
	ok(lib != NULL && n_lib >= 18, "the library's table has its options (%d)", n_lib);
	ok(own != NULL && n_own >= 10, "the command line's table has its own (%d)", n_own);
	for (int i = 0; i < n; i++) {
		ok(table_row_ok(&t[i]), "--%s: taken by its commands, refused by the others",
		   t[i].long_name);
		for (int j = 0; j < i; j++)
			dup += !strcmp(t[i].long_name, t[j].long_name) ||
			       (t[i].short_name && t[i].short_name == t[j].short_name);
		if (!t[i].arg && strcmp(t[i].long_name, "help") != 0) {
			char word[64];
			struct cli_opts o;

			snprintf(word, sizeof(word), "--%s=x", t[i].long_name);
			flags_refuse_values &=
			    PARSE(&o, t[i].commands & -t[i].commands, word) == -EINVAL;
		}
	}
	is_int(dup, 0, "no name is used twice");
	ok(flags_refuse_values, "every flag refuses a value");
}

static void test_vfio_devices(void)
{
	char words[HM_MAX_VFIO_DEVICES + 1][16];
	char *argv[2 * (HM_MAX_VFIO_DEVICES + 1)];
	struct cli_opts o;
	int rc;

	is_int(PARSE(&o, HM_CMD_STATUS, "--vfio-device", "03:00.0", "--vfio-device=ABCD:EF:1f.7"),
	       0, "two devices");
	ok(o.lib.n_vfio_devices == 2 && !strcmp(o.lib.vfio_devices[0], "0000:03:00.0") &&
	       !strcmp(o.lib.vfio_devices[1], "abcd:ef:1f.7"),
	   "each kept in the canonical form");
	PARSE_FAILS(HM_CMD_STATUS,
		    "--vfio-device: PCI address '0000:00:5.0' is not of that form: give "
		    "DDDD:BB:DD.F or BB:DD.F (hex), e.g. 0000:03:00.0",
		    "--vfio-device", "0000:00:5.0");
	PARSE_FAILS(HM_CMD_STATUS, "PCI address '00:20.0' has device 20, past 1f", "--vfio-device",
		    "00:20.0");
	PARSE_FAILS(HM_CMD_STATUS,
		    "--vfio-device '0000:03:00.0': device 0000:03:00.0 is given twice: give each "
		    "device once",
		    "--vfio-device", "03:00.0", "--vfio-device", "0000:03:00.0");
	PARSE_FAILS(HM_CMD_ATTACH,
		    "--vfio-device is not an option of 'attach' (it belongs to: init, status)",
		    "--vfio-device", "03:00.0");
	for (int i = 0; i <= HM_MAX_VFIO_DEVICES; i++) {
		snprintf(words[i], sizeof(words[i]), "00:%02x.0", i);
		argv[2 * i] = (char *)"--vfio-device";
		argv[2 * i + 1] = words[i];
	}
	cli_opts_init(&o);
	is_int(cli_opts_parse(ctx, &o, HM_CMD_STATUS, 0, 2 * HM_MAX_VFIO_DEVICES, argv), 0,
	       "16 devices fit");
	cli_opts_init(&o);
	rc = cli_opts_parse(ctx, &o, HM_CMD_STATUS, 0, 2 * (HM_MAX_VFIO_DEVICES + 1), argv);
	failed(rc, -EINVAL, "--vfio-device '00:10.0': more than 16 devices", "17 devices");
}

/* ------------------------------------------------------------------ the library alone */

/* hm_opts_parse as an application calls it: the library's options only. */
static void test_library_parser(void)
{
	char *json[] = {(char *)"-m", (char *)"64", (char *)"--json"};
	char *word[] = {(char *)"-m", (char *)"64", (char *)"extra"};
	char *zones[] = {(char *)"--zone", (char *)"a:1", (char *)"--zone", (char *)"b:1"};
	char *devices[] = {(char *)"--vfio-device", (char *)"00:05.0"};
	char device_room[1][HM_PCI_ADDR_MAX];
	struct hm_zone_spec room[1];
	struct hm_opts o;

	hm_opts_init(&o);
	failed(hm_opts_parse(ctx, &o, HM_CMD_INIT, 3, json), -EINVAL, "unknown option '--json'",
	       "the command line's --json is not the library's");
	failed(hm_opts_parse(ctx, &o, HM_CMD_INIT, 3, word), -EINVAL, "unexpected argument 'extra'",
	       "no positional word");
	is_u64(o.mem, 0, "nothing kept after a failure");
	failed(hm_opts_parse(ctx, &o, HM_CMD_INIT, 2, zones), -EINVAL,
	       "no room for zones: point opts.zones at an array", "--zone without an array");
	o.zones = room;
	o.max_zones = 1;
	is_int(hm_opts_parse(ctx, &o, HM_CMD_INIT, 2, zones), 0, "--zone into the caller's array");
	ok(o.n_zones == 1 && !strcmp(room[0].name, "a"), "one zone, in the caller's array");
	o.n_zones = 0;
	failed(hm_opts_parse(ctx, &o, HM_CMD_INIT, 4, zones), -EINVAL, "more than 1 zones",
	       "max_zones is the limit");
	failed(hm_opts_parse(ctx, &o, HM_CMD_STATUS, 2, devices), -EINVAL,
	       "no room for devices: point opts.vfio_devices at an array",
	       "--vfio-device without an array");
	o.vfio_devices = device_room;
	o.max_vfio_devices = 1;
	is_int(hm_opts_parse(ctx, &o, HM_CMD_STATUS, 2, devices), 0,
	       "--vfio-device into the caller's array");
	ok(o.n_vfio_devices == 1 && !strcmp(device_room[0], "0000:00:05.0"),
	   "one device, in the caller's array");
	o.n_vfio_devices = 1;
	o.vfio_devices = NULL;
	failed(hm_opts_check(ctx, &o, NULL), -EINVAL,
	       "opts.n_vfio_devices is 1 with no opts.vfio_devices array",
	       "devices counted, no array");
}

/* The size field: the caller's version of struct hm_opts. */
static void test_versions(void)
{
	unsigned char buf[sizeof(struct hm_opts) + 64];
	struct hm_opts *o = (struct hm_opts *)(void *)buf;
	struct hm_sysinfo si;
	size_t i, beyond = 0;

	memset(&si, 0, sizeof(si));
	memset(buf, 0x5a, sizeof(buf));
	hm_opts_init(o);
	is_u64(o->size, sizeof(struct hm_opts),
	       "hm_opts_init sets the size of the caller's header");
	for (i = sizeof(struct hm_opts); i < sizeof(buf); i++)
		beyond += buf[i] != 0x5a;
	is_u64(beyond, 0, "and writes nothing past it");
	o->size = 0;
	failed(hm_opts_parse(ctx, o, HM_CMD_INIT, 0, NULL), -EINVAL, "call hm_opts_init(&opts)",
	       "size 0: hm_opts_parse");
	failed(hm_opts_check(ctx, o, &si), -EINVAL, "hm_opts_check: struct hm_opts has size 0",
	       "size 0: hm_opts_check");
	failed(hm_init(ctx, o), -EINVAL, "hm_init: struct hm_opts has size 0", "size 0: hm_init");
	failed(hm_attach(ctx, o), -EINVAL, "hm_attach: struct hm_opts has size 0",
	       "size 0: hm_attach");
	failed(hm_init(ctx, NULL), -EINVAL, "no options (NULL)", "NULL options");
	memset(buf, 0x5a, sizeof(buf));
	hm_opts_init_size(o, 16);
	ok(o->size == 16 && buf[16] == 0x5a, "a short size: only its bytes are set");
	failed(hm_opts_parse(ctx, o, HM_CMD_INIT, 0, NULL), -EINVAL,
	       "size 16, less than the first version's", "smaller than the first version");
	memset(buf, 0x5a, sizeof(buf));
	hm_opts_init_size(o, sizeof(buf));
	ok(o->size == sizeof(buf) && o->node == -1 && buf[sizeof(buf) - 1] == 0,
	   "a newer caller's structure: defaults, the rest cleared");
	failed(hm_opts_parse(ctx, o, HM_CMD_INIT, 0, NULL), -EINVAL,
	       "built against a newer hugemem.h", "larger than the library's");
	hm_opts_init(o);
	o->n_zones = 1;
	failed(hm_init(ctx, o), -EINVAL, "opts.n_zones is 1 with no opts.zones array",
	       "zones counted, no array");
}

/* The caller's table: checked before any word is read. */
static void test_ext(void)
{
	struct hm_opts_ext ext = {.n = HM_OPTS_EXT_MAX + 1};
	struct hm_opts o;

	hm_opts_init(&o);
	failed(hm_opts_parse_ext(ctx, &o, HM_CMD_INIT, 0, NULL, &ext), -EINVAL,
	       "a table of 33 options (at most 32)", "table too long");
	ext.n = 0;
	ext.max_args = 1;
	failed(hm_opts_parse_ext(ctx, &o, HM_CMD_INIT, 0, NULL, &ext), -EINVAL,
	       "needs the table and a take function", "positional words without a take");
}

/* ------------------------------------------------------------------ against the system */

static void machine(struct hm_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	si->n_nodes = 2;
	si->node_ids[0] = 0;
	si->node_ids[1] = 2;
	si->n_pools = 2;
	si->pools[0].page_size = 2 * MiB;
	si->pools[1].page_size = GiB;
	si->default_page_size = 2 * MiB;
}

static int check(struct hm_sysinfo *si, unsigned cmd, const char *w1, const char *w2)
{
	struct cli_opts o;

	if (PARSE(&o, cmd, w1, w2) < 0) {
		diag("parse failed: %s", hm_errmsg(ctx));
		return -999;
	}
	return hm_opts_check(ctx, &o.lib, si);
}

static void test_check(void)
{
	struct hm_sysinfo si;
	struct cli_opts o;

	machine(&si);
	cli_opts_init(&o);
	is_int(hm_opts_check(ctx, &o.lib, &si), 0, "defaults pass");
	is_int(check(&si, HM_CMD_INIT, "--socket-mem", "64,0,128"), 0, "64,0,128 on nodes 0 and 2");
	is_int(check(&si, HM_CMD_INIT, "--socket-mem", "64"), 0, "node 0 only");
	is_int(check(&si, HM_CMD_INIT, "--socket-mem", "0,0,64,0,0,0"), 0, "zero entries beyond");
	failed(check(&si, HM_CMD_INIT, "--socket-mem", "64,64"), -EINVAL,
	       "--socket-mem asks 64 MiB on node 1, but this machine has nodes 0,2: give one entry "
	       "per node id",
	       "node 1 does not exist");
	failed(check(&si, HM_CMD_INIT, "--socket-mem", "0,0,0,1G"), -EINVAL, "asks 1 GiB on node 3",
	       "node 3 beyond the last");
	is_int(check(&si, HM_CMD_RESERVE, "--node", "2"), 0, "--node 2");
	is_int(check(&si, HM_CMD_MAP, "--node", "0"), 0, "--node 0");
	failed(check(&si, HM_CMD_MAP, "--node", "1"), -EINVAL,
	       "--node 1 does not exist: this machine has nodes 0,2", "--node 1");
	failed(check(&si, HM_CMD_MAP, "--node", "63"), -EINVAL, "--node 63 does not exist",
	       "--node 63");
	is_int(check(&si, HM_CMD_STATUS, "--page-size", "2M"), 0, "2M offered");
	is_int(check(&si, HM_CMD_STATUS, "--page-size", "1G"), 0, "1G offered");
	failed(check(&si, HM_CMD_STATUS, "--page-size", "4K"), -EINVAL,
	       "--page-size 4 KiB is not offered here: give one of 2 MiB, 1 GiB", "4K not offered");
	failed(check(&si, HM_CMD_STATUS, "--page-size", "16G"), -EINVAL,
	       "--page-size 16 GiB is not offered", "16G not offered");
	is_int(check(&si, HM_CMD_STATUS, "--json", NULL), 0, "no page size: nothing to check");

	si.n_nodes = 1;
	failed(check(&si, HM_CMD_RESERVE, "--node", "2"), -EINVAL, "this machine has node 0",
	       "one node: singular");
	si.n_pools = 0;
	failed(check(&si, HM_CMD_STATUS, "--page-size", "2M"), -EINVAL,
	       "--page-size 2 MiB: this kernel offers no hugepage size at all", "no pools");
	si.n_nodes = 0;
	failed(check(&si, HM_CMD_INIT, "--socket-mem", "1"), -EINVAL,
	       "this machine has no NUMA node", "no nodes");
	is_int(check(&si, HM_CMD_INIT, "-m", "1"), 0, "-m needs no node");
	is_str(hm_errmsg(ctx), "", "message cleared by a passing check");
}

/* ------------------------------------------------------------------ robustness */

/* Random words from an alphabet that hits every branch: no crash, and every
 * failure leaves one non-empty line. */
static void test_random(void)
{
	static const char alphabet[] = "0123456789kKmMgGtTiIbBxX.,:-= \n/azcontig";
	static const char *const heads[] = {"--zone=", "--socket-mem=", "-m", "--base-virtaddr=",
					    "--node=", "--page-size=",	"--", "-",
					    ""};
	uint32_t seed = 12345;
	int bad_msgs = 0, runs = 0;

	for (int i = 0; i < 20000; i++, runs++) {
		char word[48], *argv[1] = {word};
		struct cli_opts o;
		uint64_t v;
		int len, rc, n;

		seed = seed * 1103515245u + 12345u;
		len =
		    snprintf(word, sizeof(word), "%s", heads[(seed >> 8) % HMI_ARRAY_SIZE(heads)]);
		for (n = (int)((seed >> 16) % 14); n > 0 && len < (int)sizeof(word) - 1; n--) {
			seed = seed * 1103515245u + 12345u;
			word[len++] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		word[len] = '\0';
		cli_opts_init(&o);
		rc = cli_opts_parse(ctx, &o, HM_CMD_INIT, CLI_MAX_ARGS, 1, argv);
		bad_msgs += rc < 0 && (!hm_errmsg(ctx)[0] || strchr(hm_errmsg(ctx), '\n'));
		rc = hm_parse_size(ctx, word, &v);
		bad_msgs += rc < 0 && (!hm_errmsg(ctx)[0] || strchr(hm_errmsg(ctx), '\n'));
		rc = hm_parse_socket_mem(ctx, word, o.lib.socket_mem, &n);
		bad_msgs += rc < 0 && (!hm_errmsg(ctx)[0] || strchr(hm_errmsg(ctx), '\n'));
	}
	is_int(bad_msgs, 0, "%d random words: every failure has one line", runs);
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0) {
		printf("1..1\nnot ok 1 - hm_ctx_new\n");
		return 1;
	}
	test_sizes();
	test_socket_mem();
	test_defaults();
	test_mem_forms();
	test_socket_mem_option();
	test_strings();
	test_choices();
	test_flags();
	test_address();
	test_page_size_node();
	test_zones();
	test_vfio_devices();
	test_positionals();
	test_help();
	test_unknown();
	test_nearest_name();
	test_commands();
	test_conflicts();
	test_untouched();
	test_table();
	test_library_parser();
	test_versions();
	test_ext();
	test_check();
	test_random();
	hm_ctx_free(ctx);
	return done();
}
