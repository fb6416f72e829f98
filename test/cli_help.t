#!/bin/bash
# --help, the manual and the shell completion agree with the parser's own
# option tables (the library's, hm_opts_table, and the command line's own,
# cli_opts_table in cli/opts.c, dumped by a tiny program built here against
# the static library and that one object): every command's --help exits 0 and lists exactly the options
# the parser accepts for it; every option and command is in hugemem(1); every
# page of man/ renders without a warning and every .so link has its target;
# completion/hugemem.bash offers exactly the table's options per command, and
# completes; `make install` installs the section 3 pages and the completion.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MAN1=$HM_TOP/man/hugemem.1
COMPLETION=$HM_TOP/completion/hugemem.bash

cat >"$tmp/table.c" <<'EOC'
#include <hugemem.h>
#include <stdio.h>
int cli_opts_table(const struct hm_optdesc **list);
/* "COMMAND --long -s ..." per command, then "valued --long ..." */
int main(void)
{
	static const char *const names[] = {"init",  "attach", "status",  "reserve", "mount",
					    "unmount", "clear", "map", "reorder", "keeper", "setup"};
	const struct hm_optdesc *lib, *own;
	struct hm_optdesc o[128];
	int n_lib = hm_opts_table(&lib), n_own = cli_opts_table(&own), n = 0;
	unsigned all = 0, named = 0;

	for (int i = 0; i < n_lib && n < 128; i++)
		o[n++] = lib[i];
	for (int i = 0; i < n_own && n < 128; i++)
		o[n++] = own[i];

	for (unsigned c = 0; c < sizeof(names) / sizeof(names[0]); c++) {
		unsigned bit = hm_command_from_name(names[c]);

		named |= bit;
		printf("%s", names[c]);
		for (int i = 0; i < n; i++) {
			if (!(o[i].commands & bit))
				continue;
			printf(" --%s", o[i].long_name);
			if (o[i].short_name)
				printf(" -%c", o[i].short_name);
		}
		printf("\n");
	}
	printf("valued");
	for (int i = 0; i < n; i++) {
		all |= o[i].commands;
		if (o[i].arg)
			printf(" --%s%s%c", o[i].long_name, o[i].short_name ? " -" : "",
			       o[i].short_name ? o[i].short_name : ' ');
	}
	printf("\n");
	return (all & ~named) != 0; /* a command bit this list does not name */
}
EOC
cc -std=gnu11 -I"$HM_TOP/include" -o "$tmp/table" "$tmp/table.c" "$HM_BUILD/cli/opts.o" \
	"$HM_BUILD/libhugemem.a" -lpthread
t_ok $? "the table dumper builds against the static library and cli/opts.o"
"$tmp/table" >"$tmp/table.txt"
t_ok $? "every command bit of the table is one of the eleven commands"

words() { tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '; }

while read -r cmd opts; do
	[ "$cmd" = valued ] && continue
	help=$("$HUGEMEM" "$cmd" --help)
	t_is $? 0 "hugemem $cmd --help exits 0"
	want=$(printf '%s' "$opts" | words)
	# the option column of each line under "options:" ("-m, --mem SIZE", "--json")
	listed=$(printf '%s\n' "$help" | sed -n '/^options:/,$p' | awk '
		$1 ~ /^-[a-z],$/ { sub(",", "", $1); print $1, $2; next }
		$1 ~ /^--/ { print $1 }' | words)
	t_is "$listed" "$want" "hugemem $cmd --help lists exactly the parser's options"
	# the usage line (and its continuation lines) is made from the same tables: each
	# option but -h/--help, by its short name when it has one
	want_usage=$(printf '%s\n' "$opts" | awk '{ for (i = 1; i <= NF; i++)
		if ($i ~ /^-[^-]/) last = $i; else { if (last != "") print last; last = $i } }
		END { if (last != "") print last }' | grep -v -x -e -h | words)
	usage=$(printf '%s\n' "$help" | awk '/^usage:/ { on = 1; print; next } on && /^ +\[/ { print; next } { on = 0 }')
	t_is "$(printf '%s\n' "$usage" | grep -o -- '-\(-[a-z-]*\|[a-zA-Z]\)' | words)" "$want_usage" \
		"hugemem $cmd --help: the usage line names exactly the parser's options"
	t_unlike "$(printf '%s\n' "$usage" | awk 'length > 79')" "[" "hugemem $cmd --help: usage lines fit 79 columns"
	# the synopsis of hugemem(1) names the same options
	synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$MAN1" |
		sed -n "/^\\.B hugemem $cmd\$/,/^\\.br/p" | sed 's/\\-/-/g')
	t_is "$(printf '%s\n' "$synopsis" | grep -o -- '-\(-[a-z-]*\|[a-zA-Z]\)' | words)" "$want_usage" \
		"hugemem(1) SYNOPSIS of $cmd names exactly the parser's options"
	for opt in $opts; do
		esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "$esc\\b" "$MAN1"
		t_ok $? "hugemem(1) documents $opt ($cmd)"
	done
	grep -q "^\.B hugemem $cmd\$" "$MAN1"
	t_ok $? "hugemem(1) has $cmd in its synopsis"
	t_like "$("$HUGEMEM" --help)" "  $cmd " "hugemem --help lists $cmd"
	comp=$(bash -c ". '$COMPLETION'; _hugemem_options $cmd" | words)
	t_is "$comp" "$want" "completion offers exactly the parser's options for $cmd"
done <"$tmp/table.txt"
"$HUGEMEM" --help >/dev/null
t_is $? 0 "hugemem --help exits 0"

valued=$(sed -n 's/^valued //p' "$tmp/table.txt" | words)
comp=$(bash -c ". '$COMPLETION'; echo \$_hugemem_valued" | words)
t_is "$comp" "$valued" "completion knows which options take a value"
cmds=$(cut -d' ' -f1 "$tmp/table.txt" | grep -v valued | words)
comp=$(bash -c ". '$COMPLETION'; echo \$_hugemem_commands" | words)
t_is "$comp" "$cmds" "completion knows every command"

complete_line() { # complete_line WORDS...: what the completion offers for the last word
	bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hugemem; echo "${COMPREPLY[*]}"' \
		"$COMPLETION" "$@"
}
t_is "$(complete_line hugemem ma)" "map" "completes a command"
t_is "$(complete_line hugemem map --s)" "--svg" "completes an option of the command"
t_is "$(complete_line hugemem init --contig '')" "fast best" "completes a choice"
t_is "$(complete_line hugemem status --sv)" "" "offers no option of another command"
t_is "$(complete_line hugemem he)" "help" "completes help"
t_is "$(complete_line hugemem help st)" "status" "completes the command after help"
t_is "$(complete_line hugemem -)" "--help --version -h -V" "completes the options before a command"

# ---------------------------------------------------------------- pages render
if command -v groff >/dev/null; then
	mkdir -p "$tmp/man/man1" "$tmp/man/man3"
	cp "$HM_TOP"/man/*.3 "$tmp/man/man3/"
	cp "$MAN1" "$tmp/man/man1/"
	for page in "$tmp"/man/man1/*.1 "$tmp"/man/man3/*.3; do
		name=${page##*/}
		if head -1 "$page" | grep -q '^\.so '; then
			target=$(head -1 "$page" | sed 's/^\.so //')
			[ -f "$tmp/man/$target" ]
			t_ok $? "$name links to an existing page ($target)"
			continue
		fi
		warn=$(cd "$tmp/man" && groff -man -ww -z "$page" 2>&1)
		t_is "$warn" "" "$name renders without a warning (groff -man -ww)"
		warn=$(cd "$tmp/man" && groff -man -ww -z -Tutf8 "$page" 2>&1)
		t_is "$warn" "" "$name renders without a warning on a terminal (-Tutf8)"
	done
	for page in "$tmp"/man/man3/*.3; do
		head -1 "$page" | grep -q '^\.so ' && continue
		for fn in $(sed -n '/^\.SH NAME/,/^\.SH/p' "$page" | grep -o 'hm_[a-z0-9_]*'); do
			grep -q "[ *]$fn(" "$HM_TOP/include/hugemem.h"
			t_ok $? "${page##*/}: $fn is in hugemem.h"
			[ -f "$tmp/man/man3/$fn.3" ]
			t_ok $? "${page##*/}: man $fn finds a page"
		done
	done
	if command -v man >/dev/null; then
		MANWIDTH=80 man -l "$MAN1" >/dev/null 2>"$tmp/err"
		t_is "$?|$(cat "$tmp/err")" "0|" "man -l hugemem.1 renders it"
	fi
else
	t_ok 0 "# SKIP groff missing (apt-get install groff-base): pages not rendered"
fi

# ---------------------------------------------------------------- install
make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/dest" PREFIX=/opt/hm >"$tmp/log" 2>&1
t_ok $? "make install DESTDIR=... PREFIX=/opt/hm"
n3=$(ls "$HM_TOP"/man/*.3 | wc -l)
t_is "$(ls "$tmp/dest/opt/hm/share/man/man3" | wc -l)" "$n3" "every man/*.3 installed in man3"
cmp -s "$COMPLETION" "$tmp/dest/opt/hm/share/bash-completion/completions/hugemem"
t_ok $? "the completion installed in share/bash-completion/completions/hugemem"
t_done
