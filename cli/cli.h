/* SPDX-License-Identifier: MIT */
/*
 * cli.h — what the hugemem command's files share. The CLI reaches the
 * library through include/hugemem.h only; it alone prints and picks exit codes.
 */
#ifndef HM_CLI_H
#define HM_CLI_H

#include "hugemem.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand (status adds its verdicts 3..6, and 7). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	 /* the system said no: the message says why */
	EXIT_USAGE = 2,	 /* bad command line: nothing was touched */
	EXIT_DEVICE = 7, /* status: the pool is usable, a --vfio-device is not */
};

/* The command line's own switches, bits of cli_opts.flags (the library's
 * are in cli_opts.lib.flags). */
enum cli_opt_flag {
	CLI_OPT_MAP = 1u << 0,
	CLI_OPT_JSON = 1u << 1,
	CLI_OPT_HOLD = 1u << 2,
	CLI_OPT_TRACE = 1u << 3,
	CLI_OPT_DRY_RUN = 1u << 4,
	CLI_OPT_FORCE = 1u << 5,
	CLI_OPT_HELP = 1u << 6,
	CLI_OPT_EXPOSE_PA = 1u << 7,
	CLI_OPT_PERSIST = 1u << 8,
	CLI_OPT_FROM_CONFIG = 1u << 9,
};

#define CLI_MAX_ARGS 4 /* positional words of one command */

/* A parsed command line (cli/opts.c): what the library is asked (LIB, handed
 * to hm_init, hm_attach, hm_opts_check ...) and what only this program does
 * with it. String fields point into argv. */
struct cli_opts {
	struct hm_opts lib;
	unsigned flags;		 /* enum cli_opt_flag */
	const char *svg_file;	 /* --svg */
	const char *user;	 /* --user (mount) */
	const char *group;	 /* --group (mount, keeper) */
	const char *keep;	 /* --keep (keeper) */
	const char *chunk;	 /* --chunk (keeper) */
	const char *runtime_dir; /* --runtime-dir (keeper) */
	const char *uid_quota;	 /* --uid-quota (keeper) */
	const char *socket_keep; /* --socket-keep (keeper) */
	const char *mode;	 /* --mode (mount, setup) */
	const char *size;	 /* --size (mount) */
	const char *nr_inodes;	 /* --nr-inodes (mount) */
	const char *overcommit;	 /* --overcommit (reserve) */
	const char *mount;	 /* --mount (setup) */
	int n_args;		 /* positional words */
	const char *args[CLI_MAX_ARGS];
	struct hm_zone_spec zones[HM_MAX_ZONES];		 /* lib.zones: --zone */
	char vfio_devices[HM_MAX_VFIO_DEVICES][HM_PCI_ADDR_MAX]; /* lib.vfio_devices */
};

/* Defaults, LIB's too (its zones and vfio_devices point at ours). */
void cli_opts_init(struct cli_opts *o);
/* The words after the command name: hm_opts_parse_ext with the CLI's own
 * table, at most MAX_ARGS positional words (a word more is refused, named).
 * -h/--help before "--" sets CLI_OPT_HELP and parses nothing else. */
int cli_opts_parse(struct hm_ctx *ctx, struct cli_opts *o, unsigned command, int max_args, int argc,
		   char *const argv[]);
/* The CLI's own options (the library's are hm_opts_table): *LIST, count. */
int cli_opts_table(const struct hm_optdesc **list);

/* A minimal streaming JSON writer: keys NULL inside arrays. json_begin
 * writes the schema_version first: bump it when a key is renamed or removed
 * or its type or meaning changes (docs/json.md, docs/schema/). */
#define CLI_JSON_SCHEMA_VERSION 2
struct json {
	FILE *out;
	int depth;
	int count[32]; /* members written at each depth, for commas */
};

/* "pa", "va", "alloc" (UPPER: "PA", "VA", "allocated"): how IO addresses were made. */
const char *cli_iova_mode_name(enum hm_iova_mode m, int upper);

void json_begin(struct json *j, FILE *out);
void json_end(struct json *j);
void json_obj(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr(struct json *j, const char *key);
void json_arr_end(struct json *j);
/* NULL -> null; not valid UTF-8 -> readable, and the bytes in KEY_base64. */
void json_str(struct json *j, const char *key, const char *value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, int value);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t value);	 /* "0x1f" */
void json_double(struct json *j, const char *key, double value); /* 3 decimals */
/* UINT64_MAX (no limit) as null, else the number. */
void json_limit(struct json *j, const char *key, uint64_t value);

/* Names from the file system made safe to print (cli/text.c): the length of
 * the valid UTF-8 sequence at P (0: not one), whether that sequence is a
 * control character, and S rendered into BUF with control characters, bytes
 * that are not UTF-8 and '\\' as \\xNN (cut short to fit LEN). */
size_t cli_utf8_len(const unsigned char *p);
int cli_is_control(const unsigned char *p, size_t n);

/* BYTES as options and file names spell a size, "64M", "1G", "4K", "3":
 * hm_size_str's exact size ("64 MiB") without the space and "iB" (cli/text.c). */
const char *cli_size_arg(uint64_t bytes, char *buf, size_t len);
/* BYTES for people at a glance, "4.5 GiB", "2 MiB": one decimal when not
 * whole (cli/text.c; hm_size_str is the exact spelling). */
const char *cli_size_approx(uint64_t bytes, char *buf, size_t len);
const char *cli_shown(const char *s, char *buf, size_t len);
#define CLI_SHOWN_MAX 4200 /* a 1024-byte name or path, every byte escaped */

/* Signals (cli/main.c). From the start of every command hugemem catches
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
 * SIGVTALRM, SIGPROF, SIGXCPU and SIGXFSZ: the handler stops a running
 * hm_init (hm_ctx_cancel) and records the signal; the command ends as soon
 * as it can, releasing what it holds, and main then ends by the same signal.
 * The first signal caught (0: none), and the set of them. */
int cli_signal_caught(void);
void cli_signal_set(sigset_t *set);

/* One command of hugemem (the table is in cli/main.c). */
struct cli_command {
	const char *name;
	unsigned bit;	  /* HM_CMD_*: the options it takes; 0 for help */
	const char *args; /* its positional words in the usage line ("SIZE", "[DIR]"), or NULL */
	int max_args;	  /* how many it takes at most (<= CLI_MAX_ARGS); a word more is refused */
	const char *summary;
	int (*run)(struct hm_ctx *ctx, const struct cli_opts *o);
};

/* Help (cli/help.c), made from the option tables: the usage line, the
 * summary and the options of C; the list of commands CMDS[0..N). */
void cli_help_command(FILE *out, const struct cli_command *c);
void cli_help_all(FILE *out, const struct cli_command *cmds, size_t n);

/* Print "hugemem CMD: MESSAGE" on stderr (MESSAGE through cli_shown). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_init(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_attach(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_status(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_reserve(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_mount(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_unmount(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_clear(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_reorder(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_map(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_keeper(struct hm_ctx *ctx, const struct cli_opts *o);
int cmd_setup(struct hm_ctx *ctx, const struct cli_opts *o);

/* What the pool commands and setup share (cli/pool.c). The system read and
 * O checked against it (hm_opts_check): EXIT_OK and *SI, else the exit
 * status, said. */
int cli_read_sysinfo(struct hm_ctx *ctx, const char *cmd, const struct cli_opts *o,
		     struct hm_sysinfo **si);
/* WHAT ("emptying the pool of 2 MiB pages") while a prefix is live that
 * HARM says what it does to: refused, naming the prefix and its pid (-1),
 * or with --force a warning (0); 0 when no prefix is live. */
int cli_live_guard(struct hm_ctx *ctx, const char *cmd, const struct cli_opts *o, const char *what,
		   const char *harm);
/* Growing the pool of PAGE_SIZE, larger than the smallest size, may migrate
 * a live prefix's pages (their IOVAs go stale): cli_live_guard. */
int cli_migration_guard(struct hm_ctx *ctx, const char *cmd, const struct hm_sysinfo *si,
			uint64_t page_size, const struct cli_opts *o);
/* --user, --group, --mode of a mount: (uid_t)-1 etc. when not given; -1
 * with a message when a name or the mode is not one. */
int cli_mount_owner(const char *cmd, const struct cli_opts *o, uid_t *uid, gid_t *gid,
		    mode_t *mode);
/* "ordered N free pages of 2 MiB: R runs, the longest ...", one line. */
void cli_order_text(uint64_t page_size, const struct hm_order_result *r);

/* --group G as a gid: a group name or a number (cli/pool.c); -1 with a
 * message when there is no such group. */
int cli_group_id(const char *cmd, const char *name, gid_t *gid);

/* The keeper's directory: --runtime-dir, else
 * $HUGEMEM_RUNTIME_DIR with "-keeper" appended (as /run/hugemem is to
 * /run/hugemem-keeper), else NULL (the library's default) (cli/keeper.c). */
const char *cli_keeper_dir(const struct cli_opts *o, char *buf, size_t len);

/* init/attach --map: this process's memory against the pool (cli/map.c). */
void cli_map_layout(struct hm_ctx *ctx, const struct cli_opts *o);

/* The progress line of long work on stderr (cli/progress.c): drawn for init
 * and attach when stderr is a terminal and --json is not given. */
struct cli_progress {
	uint64_t page_size; /* bytes, for the rate; 0 = unknown */
	double start;	    /* seconds, when the command started */
	uint64_t last_done; /* pages the last report said */
	uint64_t bytes;	    /* bytes done over every report */
	int shown;	    /* columns of the line on screen; 0 = none */
};
void cli_progress_start(struct cli_progress *p, struct hm_ctx *ctx, unsigned command,
			const struct cli_opts *o);
void cli_progress_stop(struct cli_progress *p, struct hm_ctx *ctx);

/* status: the IOMMU side (cli/status_iommu.c). One device of --vfio-device:
 * what was read, its verdict and line (KNOWN 0: it or the system could not be
 * read, the line says why). */
struct cli_vfio_check {
	char name[HM_PCI_ADDR_MAX];
	struct hm_vfio_device *dev;
	enum hm_vfio_verdict verdict;
	int known, usable;
	char line[1024];
};
struct cli_iommu {
	struct hm_iommu_info *info; /* NULL: not read, INFO_ERR says why */
	char info_err[256];
	int n, unusable; /* devices asked about; of them, not usable */
	struct cli_vfio_check checks[HM_MAX_VFIO_DEVICES];
};
void cli_iommu_gather(struct hm_ctx *ctx, const struct cli_opts *o, struct cli_iommu *io);
void cli_iommu_text(const struct cli_iommu *io);		 /* the "IOMMU and VFIO" section */
void cli_iommu_verdicts_text(const struct cli_iommu *io);	 /* one verdict line per device */
void cli_iommu_json(struct json *j, const struct cli_iommu *io); /* "iommu": {...} */
void cli_iommu_release(struct cli_iommu *io);

/* status: the pool keeper's section (cli/status_keeper.c), only while a
 * keeper answers: ST NULL and ERR "" when none does; ERR says why one that
 * is there could not be asked. */
struct cli_keeper {
	struct hm_keeper_status *st;
	char sock[HM_PATH_MAX];
	char err[512];
};
void cli_keeper_gather(struct hm_ctx *ctx, const struct cli_opts *o, struct cli_keeper *kp);
void cli_keeper_text(const struct cli_keeper *kp);		   /* the "keeper" section */
void cli_keeper_json(struct json *j, const struct cli_keeper *kp); /* "keeper": {...} */
void cli_keeper_release(struct cli_keeper *kp);

/* init/attach: the zones and the heap of the prefix (end of cli/init.c):
 * print zones and heap statistics per node. */
void cli_heap_json(struct hm_ctx *ctx, struct json *j);
void cli_heap_text(struct hm_ctx *ctx);

#endif
