/* SPDX-License-Identifier: MIT */
/*
 * opts.c — the command line's own options (output, --svg, mount owner,
 * positional words, --help ...) beside the library's.
 *
 * The library's parser (hm_opts_parse_ext) reads every word once, from two
 * tables: its own (what hm_init and hm_attach are asked: -m, --zone ...,
 * into struct hm_opts) and cli_table below (what only this program does with
 * the result, into struct cli_opts). So hugemem has one parser, one set of
 * messages, "did you mean" hints over both tables, and one place per option;
 * --help and completion list both tables (test/cli_help.t checks). The other
 * way round — the library handing back words it does not know — cannot tell
 * whether "--svg" takes the next word without a table anyway.
 *
 * This file uses nothing of the CLI's but its table and struct cli_opts, so
 * test/cli_help.t links it alone to dump the options.
 */
#include "cli.h"

#include <string.h>

#define CMD_ALL                                                                                    \
	(HM_CMD_INIT | HM_CMD_ATTACH | HM_CMD_STATUS | HM_CMD_RESERVE | HM_CMD_MOUNT |             \
	 HM_CMD_UNMOUNT | HM_CMD_CLEAR | HM_CMD_MAP | HM_CMD_REORDER | HM_CMD_SETUP)

enum cli_opt_id {
	COPT_MAP,
	COPT_JSON,
	COPT_HOLD,
	COPT_TRACE,
	COPT_DRY_RUN,
	COPT_FORCE,
	COPT_SVG,
	COPT_USER,
	COPT_GROUP,
	COPT_HELP,
	COPT_KEEP,
	COPT_CHUNK,
	COPT_EXPOSE_PA,
	COPT_RUNTIME_DIR,
	COPT_UID_QUOTA,
	COPT_SOCKET_KEEP,
	COPT_MODE,
	COPT_SIZE,
	COPT_NR_INODES,
	COPT_OVERCOMMIT,
	COPT_MOUNT,
	COPT_PERSIST,
	COPT_FROM_CONFIG,
	COPT_COUNT
};

static const struct hm_optdesc cli_table[] = {
    [COPT_MAP] = {"map", 0, NULL, HM_CMD_INIT | HM_CMD_ATTACH, "draw the memory that was got"},
    [COPT_JSON] = {"json", 0, NULL, CMD_ALL, "print one JSON object"},
    [COPT_HOLD] = {"hold", 0, NULL, HM_CMD_INIT | HM_CMD_ATTACH,
		   "keep the memory until a signal or end of input"},
    [COPT_TRACE] = {"trace", 0, NULL, HM_CMD_INIT | HM_CMD_ATTACH, "print each step and its time"},
    [COPT_DRY_RUN] = {"dry-run", 0, NULL,
		      HM_CMD_CLEAR | HM_CMD_RESERVE | HM_CMD_MOUNT | HM_CMD_SETUP,
		      "say what would be done, and change nothing"},
    [COPT_FORCE] = {"force", 0, NULL, HM_CMD_RESERVE | HM_CMD_SETUP,
		    "go on while a hugemem prefix is live (its pages may move, or be left as "
		    "surplus)"},
    [COPT_SVG] = {"svg", 0, "FILE", HM_CMD_MAP, "write the picture as SVG to FILE"},
    [COPT_USER] = {"user", 0, "U", HM_CMD_MOUNT | HM_CMD_SETUP, "owner of the mount (name or uid)"},
    [COPT_GROUP] = {"group", 0, "G", HM_CMD_MOUNT | HM_CMD_KEEPER | HM_CMD_SETUP,
		    "group of the mount, or that may use the keeper (name or gid)"},
    [COPT_HELP] = {"help", 'h', NULL, CMD_ALL | HM_CMD_KEEPER, "show this help"},
    [COPT_KEEP] = {"keep", 0, "SIZE", HM_CMD_KEEPER,
		   "memory the keeper holds, zeroed and ordered (or --socket-keep)"},
    [COPT_CHUNK] = {"chunk", 0, "SIZE", HM_CMD_KEEPER, "bytes of one leased memfd (default 32M)"},
    [COPT_EXPOSE_PA] = {"expose-pa", 0, NULL, HM_CMD_KEEPER,
			"give physical addresses to every client, not only to CAP_SYS_ADMIN"},
    [COPT_RUNTIME_DIR] = {"runtime-dir", 0, "DIR", HM_CMD_KEEPER,
			  "the keeper's directory (default /run/hugemem-keeper)"},
    [COPT_UID_QUOTA] = {"uid-quota", 0, "SIZE", HM_CMD_KEEPER,
			"what the leases of one uid may reach together (default: no quota)"},
    [COPT_SOCKET_KEEP] = {"socket-keep", 0, "A,B,...", HM_CMD_KEEPER,
			  "memory the keeper holds per NUMA node, position = node id"},
    [COPT_MODE] = {"mode", 0, "MODE", HM_CMD_MOUNT | HM_CMD_SETUP,
		   "mode of the mount, octal (default 0755, or 1770 with --user/--group)"},
    [COPT_SIZE] = {"size", 0, "SIZE", HM_CMD_MOUNT,
		   "size= limit: the most the mount holds (whole pages)"},
    [COPT_NR_INODES] = {"nr-inodes", 0, "N", HM_CMD_MOUNT,
			"nr_inodes= limit: the most files the mount holds"},
    [COPT_OVERCOMMIT] =
	{"overcommit", 0, "SIZE", HM_CMD_RESERVE,
	 "surplus the kernel may allocate on demand beyond the pool (not reserved)"},
    [COPT_MOUNT] = {"mount", 0, "DIR", HM_CMD_SETUP,
		    "mount hugetlbfs there (default: only when none serves the size, "
		    "/dev/hugepages[SZ])"},
    [COPT_PERSIST] = {"persist", 0, NULL, HM_CMD_SETUP,
		      "also record it in /etc/hugemem/setup.conf, applied at every boot"},
    [COPT_FROM_CONFIG] = {"from-config", 0, NULL, HM_CMD_SETUP,
			  "apply every set-up of /etc/hugemem/setup.conf (what boot runs)"},
};

/* What each option sets: a flag bit, or a string field of struct cli_opts. */
static const struct {
	unsigned flag;
	size_t field;
} cli_actions[] = {
    [COPT_MAP] = {CLI_OPT_MAP, 0},
    [COPT_JSON] = {CLI_OPT_JSON, 0},
    [COPT_HOLD] = {CLI_OPT_HOLD, 0},
    [COPT_TRACE] = {CLI_OPT_TRACE, 0},
    [COPT_DRY_RUN] = {CLI_OPT_DRY_RUN, 0},
    [COPT_FORCE] = {CLI_OPT_FORCE, 0},
    [COPT_SVG] = {0, offsetof(struct cli_opts, svg_file)},
    [COPT_USER] = {0, offsetof(struct cli_opts, user)},
    [COPT_GROUP] = {0, offsetof(struct cli_opts, group)},
    [COPT_HELP] = {CLI_OPT_HELP, 0},
    [COPT_KEEP] = {0, offsetof(struct cli_opts, keep)},
    [COPT_CHUNK] = {0, offsetof(struct cli_opts, chunk)},
    [COPT_EXPOSE_PA] = {CLI_OPT_EXPOSE_PA, 0},
    [COPT_RUNTIME_DIR] = {0, offsetof(struct cli_opts, runtime_dir)},
    [COPT_UID_QUOTA] = {0, offsetof(struct cli_opts, uid_quota)},
    [COPT_SOCKET_KEEP] = {0, offsetof(struct cli_opts, socket_keep)},
    [COPT_MODE] = {0, offsetof(struct cli_opts, mode)},
    [COPT_SIZE] = {0, offsetof(struct cli_opts, size)},
    [COPT_NR_INODES] = {0, offsetof(struct cli_opts, nr_inodes)},
    [COPT_OVERCOMMIT] = {0, offsetof(struct cli_opts, overcommit)},
    [COPT_MOUNT] = {0, offsetof(struct cli_opts, mount)},
    [COPT_PERSIST] = {CLI_OPT_PERSIST, 0},
    [COPT_FROM_CONFIG] = {CLI_OPT_FROM_CONFIG, 0},
};

_Static_assert(sizeof(cli_table) / sizeof(cli_table[0]) == COPT_COUNT, "one row per option");
_Static_assert(sizeof(cli_actions) / sizeof(cli_actions[0]) == COPT_COUNT, "one row per option");
_Static_assert(COPT_COUNT <= HM_OPTS_EXT_MAX, "the library parser takes the whole table");

int cli_opts_table(const struct hm_optdesc **list)
{
	*list = cli_table;
	return COPT_COUNT;
}

/* hm_opts_ext.take: the parser found one of cli_table's options (INDEX), or
 * a positional word (INDEX -1; the parser keeps to max_args <= CLI_MAX_ARGS). */
static void take(void *arg, int index, const char *value)
{
	struct cli_opts *o = arg;

	if (index < 0)
		o->args[o->n_args++] = value;
	else if (cli_actions[index].flag)
		o->flags |= cli_actions[index].flag;
	else
		memcpy((char *)o + cli_actions[index].field, &value, sizeof(value));
}

/* -h or --help before "--": help is all the command will do, so the other
 * words are not parsed ("hugemem init --bogus --help" shows help). */
static int wants_help(int argc, char *const argv[])
{
	for (int i = 0; argv && i < argc && argv[i] && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

void cli_opts_init(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	hm_opts_init(&o->lib);
	o->lib.zones = o->zones;
	o->lib.max_zones = HM_MAX_ZONES;
	o->lib.vfio_devices = o->vfio_devices;
	o->lib.max_vfio_devices = HM_MAX_VFIO_DEVICES;
}

int cli_opts_parse(struct hm_ctx *ctx, struct cli_opts *o, unsigned command, int max_args, int argc,
		   char *const argv[])
{
	const struct hm_opts_ext ext = {.table = cli_table,
					.n = COPT_COUNT,
					.max_args =
					    max_args < CLI_MAX_ARGS ? max_args : CLI_MAX_ARGS,
					.take = take,
					.arg = o};

	if (wants_help(argc, argv)) {
		o->flags |= CLI_OPT_HELP;
		return 0;
	}
	return hm_opts_parse_ext(ctx, &o->lib, command, argc, argv, &ext);
}
