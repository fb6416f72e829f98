/* SPDX-License-Identifier: MIT */
/*
 * help.c — what `hugemem --help`, `hugemem help [COMMAND]` and `hugemem
 * COMMAND --help` print. Everything about an option comes from the parser's
 * two tables (the library's, hm_opts_table, and the command line's own,
 * cli_opts_table): the usage line of a command is made from them as well as
 * its list of options, so an option added to a table shows in both, and
 * nothing written by hand can disagree with what the parser accepts
 * (test/cli_help.t compares them).
 */
#include "cli.h"

#include <string.h>

#define USAGE_WIDTH 79 /* columns of a usage line, continuation lines included */

/* -h/--help is how the reader got here; every usage line would repeat it. */
static int is_help(const struct hm_optdesc *d)
{
	return strcmp(d->long_name, "help") == 0;
}

/* "[-m SIZE]", "[--json]": option D in a usage line, by its short name when it has one. */
static void usage_item(const struct hm_optdesc *d, char *buf, size_t len)
{
	if (d->short_name)
		snprintf(buf, len, "[-%c%s%s]", d->short_name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
	else
		snprintf(buf, len, "[--%s%s%s]", d->long_name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
}

/* The options of TABLE[0..N) that C takes appended to the usage line, which
 * is *COL columns wide; a line that would pass USAGE_WIDTH goes on under the
 * first word after the command name (INDENT). */
static void usage_items(FILE *out, const struct cli_command *c, const struct hm_optdesc *opt, int n,
			int indent, int *col)
{
	for (int i = 0; i < n; i++) {
		char item[128];
		int w;

		if (!(opt[i].commands & c->bit) || is_help(&opt[i]))
			continue;
		usage_item(&opt[i], item, sizeof(item));
		w = (int)strlen(item);
		if (*col + 1 + w > USAGE_WIDTH && *col > indent) {
			fprintf(out, "\n%*s%s", indent, "", item);
			*col = indent + w;
		} else {
			fprintf(out, " %s", item);
			*col += 1 + w;
		}
	}
}

static void usage_line(FILE *out, const struct cli_command *c)
{
	const struct hm_optdesc *opt;
	int n, col, indent;

	col = fprintf(out, "usage: hugemem %s", c->name);
	indent = col + 1;
	if (c->args)
		col += fprintf(out, " %s", c->args);
	n = hm_opts_table(&opt);
	usage_items(out, c, opt, n, indent, &col);
	n = cli_opts_table(&opt);
	usage_items(out, c, opt, n, indent, &col);
	fputc('\n', out);
}

/* The options of TABLE[0..N) that C takes, one line each. */
static void option_lines(FILE *out, const struct cli_command *c, const struct hm_optdesc *opt,
			 int n)
{
	for (int i = 0; i < n; i++) {
		char left[64];

		if (!(opt[i].commands & c->bit))
			continue;
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", opt[i].short_name ? "-" : "",
			 opt[i].short_name ? opt[i].short_name : ' ',
			 opt[i].short_name ? ", " : "  ", opt[i].long_name, opt[i].arg ? " " : "",
			 opt[i].arg ? opt[i].arg : "");
		fprintf(out, "  %-30s %s\n", opt[i].short_name ? left : left + 2, opt[i].help);
	}
}

void cli_help_command(FILE *out, const struct cli_command *c)
{
	const struct hm_optdesc *opt;
	int n;

	usage_line(out, c);
	fprintf(out, "  %s\n", c->summary);
	if (!c->bit)
		return; /* help takes no option */
	fprintf(out, "\noptions:\n");
	n = hm_opts_table(&opt);
	option_lines(out, c, opt, n);
	n = cli_opts_table(&opt);
	option_lines(out, c, opt, n);
}

void cli_help_all(FILE *out, const struct cli_command *cmds, size_t n)
{
	fprintf(out, "usage: hugemem COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\noptions:\n"
		     "  -h, --help     this list ('hugemem help COMMAND': a command's options)\n"
		     "  -V, --version  print the version\n"
		     "\nman hugemem has the rest.\n");
}
