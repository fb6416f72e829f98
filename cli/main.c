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

/* The commands, in the order --help lists them. ARGS and MAX_ARGS are the
 * positional words; the options come from the parser's tables (cli/help.c). */
static const struct cli_command commands[] = {
    {"status", HM_CMD_STATUS, NULL, 0,
     "pools per size and node, mounts, budgets, page files, verdict", cmd_status},
    {"setup", HM_CMD_SETUP, "SIZE", 1,
     "reserve, mount, order in one step; --persist: at every boot (root)", cmd_setup},
    {"reserve", HM_CMD_RESERVE, "SIZE", 1,
     "set the hugepage pool to SIZE; 'reserve 0' empties it (root)", cmd_reserve},
    {"mount", HM_CMD_MOUNT, "[DIR]", 1, "mount hugetlbfs (root)", cmd_mount},
    {"unmount", HM_CMD_UNMOUNT, "DIR", 1, "unmount a hugetlbfs mount (root)", cmd_unmount},
    {"clear", HM_CMD_CLEAR, NULL, 0,
     "remove stale page files, never a live one; the pool stays as it is", cmd_clear},
    {"init", HM_CMD_INIT, NULL, 0, "primary: map hugepages as asked and print the layout",
     cmd_init},
    {"reorder", HM_CMD_REORDER, NULL, 0,
     "order the free pool so the longest run is handed out first (root)", cmd_reorder},
    {"attach", HM_CMD_ATTACH, NULL, 0,
     "secondary: map a live primary's memory at the same addresses", cmd_attach},
    {"map", HM_CMD_MAP, NULL, 0,
     "picture of physical memory: free runs, prefixes, who uses the rest", cmd_map},
    {"keeper", HM_CMD_KEEPER, NULL, 0,
     "hold zeroed, ordered hugepages and lease them to processes (root)", cmd_keeper},
    {"help", 0, "[COMMAND]", 1, "the commands, or the usage and options of COMMAND", NULL},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

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
 * job's SIGINT): whoever started us asked for that. One call per signal sets
 * the handler and reads the old one (a command's start is a measured target:
 * bench/KEEPER.md); an ignored one is put back at once, a signal of that
 * instant being one its sender sent to a process that ignores it. */
static void catch_signals(struct hm_ctx *ctx)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART}, was;

	signal_ctx = ctx;
	cli_signal_set(&sa.sa_mask); /* one handler at a time */
	for (size_t i = 0; i < sizeof(clean_signals) / sizeof(clean_signals[0]); i++)
		if (sigaction(clean_signals[i], &sa, &was) == 0 && was.sa_handler == SIG_IGN)
			sigaction(clean_signals[i], &was, NULL);
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

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* WORD is no command: say so, with the nearest command or top-level option
 * by the rule of the parser's hints for options (hm_nearest_name). CMD is
 * "help" when WORD came after it, else NULL. */
static int unknown_command(const char *cmd, const char *word)
{
	const char *names[N_COMMANDS + 4];
	char shown[CLI_SHOWN_MAX], hint[64] = "";
	int n = 0, near;

	for (size_t i = 0; i < N_COMMANDS; i++)
		names[n++] = commands[i].name;
	if (!cmd) {
		names[n++] = "--help";
		names[n++] = "--version";
	}
	near = hm_nearest_name(word, names, n);
	if (near >= 0)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", names[near]);
	fprintf(stderr, "hugemem%s%s: unknown command '%s': see 'hugemem --help'%s\n",
		cmd ? " " : "", cmd ? cmd : "", cli_shown(word, shown, sizeof(shown)), hint);
	return EXIT_USAGE;
}

/* A word after one that takes none (--version) or one (help COMMAND). */
static int stray_word(const char *cmd, const char *word)
{
	char shown[CLI_SHOWN_MAX];

	fprintf(stderr, "hugemem %s: unexpected argument '%s': see 'hugemem --help'\n", cmd,
		cli_shown(word, shown, sizeof(shown)));
	return EXIT_USAGE;
}

/* hugemem help [COMMAND] (and -h, --help): on stdout, exit 0. */
static int help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc > 1)
		return stray_word("help", argv[1]);
	if (argc == 0) {
		cli_help_all(stdout, commands, N_COMMANDS);
		return EXIT_OK;
	}
	c = find_command(argv[0]);
	if (!c)
		return unknown_command("help", argv[0]);
	cli_help_command(stdout, c);
	return EXIT_OK;
}

static int run(struct hm_ctx *ctx, const struct cli_command *sc, int argc, char **argv)
{
	struct cli_progress progress;
	struct cli_opts o;
	int rc;

	cli_opts_init(&o);
	if (cli_opts_parse(ctx, &o, sc->bit, sc->max_args, argc, argv) < 0) {
		cli_error(sc->name, "%s", hm_errmsg(ctx));
		return EXIT_USAGE;
	}
	if (o.flags & CLI_OPT_HELP) {
		cli_help_command(stdout, sc);
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

static int is_word(const char *arg, const char *a, const char *b, const char *c)
{
	return strcmp(arg, a) == 0 || strcmp(arg, b) == 0 || (c && strcmp(arg, c) == 0);
}

int main(int argc, char **argv)
{
	const struct cli_command *sc;
	struct hm_ctx *ctx;
	int rc;

	if (argc < 2) {
		cli_help_all(stderr, commands, N_COMMANDS);
		return EXIT_USAGE;
	}
	if (is_word(argv[1], "help", "--help", "-h"))
		return help(argc - 2, argv + 2);
	if (is_word(argv[1], "--version", "-V", NULL)) {
		if (argc > 2)
			return stray_word(argv[1], argv[2]);
		printf("hugemem %s\n", HM_VERSION);
		return EXIT_OK;
	}
	sc = find_command(argv[1]);
	if (!sc)
		return unknown_command(NULL, argv[1]);
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
