/* SPDX-License-Identifier: MIT */
/*
 * main.c — the hugemem command: pick the subcommand, parse its options with
 * the library's own parser (so --help, the parser and the man page agree),
 * and turn library errors into one line on stderr and an exit code.
 */
#include "cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct subcommand {
	const char *name;
	unsigned bit;
	const char *usage;
	const char *summary;
	int (*run)(struct hm_ctx *ctx, const struct cli_opts *o);
};

static const struct subcommand subcommands[] = {
    {"status", HM_CMD_STATUS, "status [--json]",
     "pools per size and node, mounts, budgets, page files, verdict", cmd_status},
    {"reserve", HM_CMD_RESERVE, "reserve SIZE [--page-size SZ] [--node N] [--force]",
     "set the hugepage pool to SIZE (root)", cmd_reserve},
    {"mount", HM_CMD_MOUNT, "mount [DIR] [--page-size SZ] [--user U] [--group G]",
     "mount hugetlbfs (root)", cmd_mount},
    {"unmount", HM_CMD_UNMOUNT, "unmount DIR", "unmount a hugetlbfs mount (root)", cmd_unmount},
    {"clear", HM_CMD_CLEAR, "clear [--file-prefix P] [--dry-run]",
     "remove stale page files (never a live one)", cmd_clear},
    {"init", HM_CMD_INIT, "init [options] [--json] [--hold] [--trace]",
     "primary: map hugepages as asked and print the layout", cmd_init},
    {"reorder", HM_CMD_REORDER, "reorder [--page-size SZ] [--node N]",
     "order the free pool so the longest run is handed out first (root)", cmd_reorder},
    {"attach", HM_CMD_ATTACH, "attach [--file-prefix P] [--json] [--hold] [--verify]",
     "secondary: map a live primary's memory at the same addresses", cmd_attach},
    {"map", HM_CMD_MAP, "map [--node N] [--page-size SZ] [--for SIZE] [--svg FILE] [--json]",
     "picture of physical memory: free runs, prefixes, who uses the rest", cmd_map},
};

/* ------------------------------------------------------------------ signals */

static const int clean_signals[] = {SIGINT,  SIGTERM, SIGHUP,	 SIGQUIT, SIGUSR1, SIGUSR2,
				    SIGALRM, SIGPIPE, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ};

/* The two mutable globals of the CLI: a signal handler reaches nothing else.
 * signal_ctx is set once, before the handlers are installed. */
static struct hm_ctx *signal_ctx;
static volatile sig_atomic_t signal_caught;

/* Async-signal-safe: one store, one atomic store (hm_ctx_cancel). */
static void on_signal(int sig)
{
	if (!signal_caught)
		signal_caught = sig;
	hm_ctx_cancel(signal_ctx);
}

int cli_signal_caught(void)
{
	return signal_caught;
}

void cli_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(clean_signals) / sizeof(clean_signals[0]); i++)
		sigaddset(set, clean_signals[i]);
}

/* SA_RESTART: the library's system calls go on; the cancel stops it. A
 * signal ignored from the start stays ignored (nohup's SIGHUP, a background
 * job's SIGINT): whoever started us asked for that. */
static void catch_signals(struct hm_ctx *ctx)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, was;

	signal_ctx = ctx;
	cli_signal_set(&sa.sa_mask); /* one handler at a time */
	for (size_t i = 0; i < sizeof(clean_signals) / sizeof(clean_signals[0]); i++)
		if (sigaction(clean_signals[i], NULL, &was) == 0 && was.sa_handler != SIG_IGN)
			sigaction(clean_signals[i], &sa, NULL);
}

/* Everything released: end by SIG, so the parent's wait sees it (a shell
 * loop stops on a child's SIGINT). No core for SIGQUIT, SIGXCPU, SIGXFSZ:
 * the process ended on purpose, and a core file would be litter. */
static void end_by_signal(int sig)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	struct rlimit no_core = {0, 0};
	sigset_t one;

	fflush(NULL); /* raise does not flush; a broken pipe's SIGPIPE is still caught */
	setrlimit(RLIMIT_CORE, &no_core);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig); /* not reached */
}

/* ------------------------------------------------------------------ messages and usage */

void cli_error(const char *cmd, const char *fmt, ...)
{
	char text[1024], shown[CLI_SHOWN_MAX];
	va_list ap;

	if (isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr); /* a progress line (cli/progress.c) gives way */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* messages name files others may have named: no raw escape reaches the terminal */
	fprintf(stderr, "hugemem %s: %s\n", cmd, cli_shown(text, shown, sizeof(shown)));
}

static void usage_all(FILE *out)
{
	fprintf(out, "usage: hugemem COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(
	    out,
	    "\n'hugemem COMMAND --help' lists a command's options; man hugemem has the rest.\n");
}

/* The options of TABLE[0..N) that SC takes, one line each. */
static void usage_options(const struct subcommand *sc, const struct hm_optdesc *opt, int n)
{
	for (int i = 0; i < n; i++) {
		char left[64];

		if (!(opt[i].commands & sc->bit))
			continue;
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", opt[i].short_name ? "-" : "",
			 opt[i].short_name ? opt[i].short_name : ' ',
			 opt[i].short_name ? ", " : "  ", opt[i].long_name, opt[i].arg ? " " : "",
			 opt[i].arg ? opt[i].arg : "");
		printf("  %-30s %s\n", opt[i].short_name ? left : left + 2, opt[i].help);
	}
}

/* The library's options, then the command line's own. */
static void usage_command(const struct subcommand *sc)
{
	const struct hm_optdesc *opt;
	int n = hm_opts_table(&opt);

	printf("usage: hugemem %s\n  %s\n\noptions:\n", sc->usage, sc->summary);
	usage_options(sc, opt, n);
	n = cli_opts_table(&opt);
	usage_options(sc, opt, n);
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

static int run(struct hm_ctx *ctx, const struct subcommand *sc, int argc, char **argv)
{
	struct cli_progress progress;
	struct cli_opts o;
	int rc;

	cli_opts_init(&o);
	if (cli_opts_parse(ctx, &o, sc->bit, argc, argv) < 0) {
		cli_error(sc->name, "%s", hm_errmsg(ctx));
		return EXIT_USAGE;
	}
	if (o.flags & CLI_OPT_HELP) {
		usage_command(sc);
		return EXIT_OK;
	}
	if (!sc->run) {
		cli_error(sc->name, "not built yet in this version (see the project's issues)");
		return EXIT_FAIL;
	}
	cli_progress_start(&progress, ctx, sc->bit, &o);
	rc = sc->run(ctx, &o);
	cli_progress_stop(&progress, ctx);
	return rc;
}

/* HUGEMEM_ROOT points the tool at a fixture tree; HUGEMEM_RUNTIME_DIR moves
 * the runtime directories (tests, and users who want them elsewhere). */
static int configure(struct hm_ctx *ctx, const char *cmd)
{
	const char *root = getenv("HUGEMEM_ROOT"), *rundir = getenv("HUGEMEM_RUNTIME_DIR");

	if (root && *root && hm_ctx_set_root(ctx, root) < 0) {
		cli_error(cmd, "HUGEMEM_ROOT: %s", hm_errmsg(ctx));
		return -1;
	}
	if (rundir && *rundir && hm_ctx_set_runtime_dir(ctx, rundir) < 0) {
		cli_error(cmd, "HUGEMEM_RUNTIME_DIR: %s", hm_errmsg(ctx));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct subcommand *sc;
	struct hm_ctx *ctx;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_all(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("hugemem %s\n", HM_VERSION);
		return EXIT_OK;
	}
	sc = find_subcommand(argv[1]);
	if (!sc) {
		fprintf(stderr, "hugemem: unknown command '%s': see 'hugemem --help'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (hm_ctx_new(&ctx) < 0) {
		cli_error(sc->name, "out of memory");
		return EXIT_FAIL;
	}
	catch_signals(ctx); /* before anything is made: no moment is uncovered */
	if (configure(ctx, sc->name) < 0) {
		hm_ctx_free(ctx);
		return EXIT_USAGE;
	}
	rc = run(ctx, sc, argc - 2, argv + 2);
	hm_ctx_free(ctx);
	if (signal_caught)
		end_by_signal(signal_caught);
	return rc;
}
