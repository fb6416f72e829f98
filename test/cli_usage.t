#!/bin/sh
# Bad command lines: exit status 2, one line on stderr naming the input and the
# fix, nothing on stdout, nothing touched. --help of every command exits 0.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bad() { # bad NEEDLE ARGS...: hugemem ARGS fails as a usage error naming NEEDLE
	needle=$1
	shift
	out=$("$HUGEMEM" "$@" 2>"$tmp/err")
	rc=$?
	t_is "$rc" 2 "exit 2: hugemem $*"
	t_like "$(cat "$tmp/err")" "$needle" "message names '$needle': hugemem $*"
	t_is "$(wc -l <"$tmp/err" | tr -d ' ')" 1 "one line on stderr: hugemem $*"
	t_is "$out" "" "nothing on stdout: hugemem $*"
}

bad "hugemem --help" frobnicate
bad "-m" init -m ''
bad "-5" init -m -5
bad "99999999999999999999" init -m 99999999999999999999
bad "64X" init -m 64X
bad "1.5G" init -m 1.5G
bad "socket-mem" init --socket-mem 1,,2
bad "socket-mem" init --socket-mem 1,2,
bad "socket-mem" init --socket-mem ,1
bad "socket-mem" init -m 64 --socket-mem 64
bad "--bogus" init --bogus
bad "--hold" status --hold
bad "pa" init --iova-mode xx
bad "fast" init --contig slow
bad "a/b" init --file-prefix a/b
bad "rx" init --zone rx:16M:foo
bad "size" reserve
bad "abc" reserve abc
bad "--node" reserve 64M --node 77

# a node that does not exist, against a fixture tree with nodes 0 and 2
if [ -d "$FIXTURES/sparse-nodes" ]; then
	HUGEMEM_ROOT=$FIXTURES/sparse-nodes bad "node 1" reserve 64M --node 1
fi

"$HUGEMEM" >/dev/null 2>&1
t_is $? 2 "no command: exit 2"
for cmd in status reserve reorder mount unmount clear init attach map; do
	help=$("$HUGEMEM" $cmd --help)
	t_is $? 0 "hugemem $cmd --help exits 0"
	t_like "$help" "usage: hugemem $cmd" "hugemem $cmd --help shows its usage"
	# every option the help lists is in the man page
	for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$HM_TOP/man/hugemem.1"
		t_ok $? "man page documents $opt ($cmd)"
	done
done
"$HUGEMEM" --help | grep -q "status"
t_ok $? "hugemem --help lists the commands"

# ---------------------------------------------------------------- conventions (issue 19, item 7)
# a mistyped command gets the nearest one, as a mistyped option does
bad "did you mean 'status'?" stauts
bad "did you mean 'reserve'?" resrve
bad "did you mean 'help'?" hlep
bad "did you mean '--version'?" --verison
bad "unknown command 'xyzzy'" xyzzy
t_unlike "$("$HUGEMEM" xyzzy 2>&1)" "did you mean" "no hint when no command is near"

# every command refuses a word it does not take, naming it; nothing runs
for cmd in status clear init attach map reorder; do
	bad "'extra'" $cmd extra
done
bad "'extra'" reserve 1G extra
bad "'extra'" mount /nonexistent/hm extra
bad "'extra'" unmount /nonexistent/hm extra
bad "'extra'" help status extra
bad "'extra'" --version extra

# help [CMD], -h, --help: the same text, on stdout, exit 0
out=$("$HUGEMEM" help 2>"$tmp/err")
t_is "$?|$(cat "$tmp/err")" "0|" "hugemem help exits 0, nothing on stderr"
t_is "$out" "$("$HUGEMEM" --help)" "hugemem help = hugemem --help"
t_is "$out" "$("$HUGEMEM" -h)" "hugemem help = hugemem -h"
for cmd in status reserve reorder mount unmount clear init attach map; do
	out=$("$HUGEMEM" help $cmd)
	t_is "$?" 0 "hugemem help $cmd exits 0"
	t_is "$out" "$("$HUGEMEM" $cmd --help)" "hugemem help $cmd = hugemem $cmd --help"
done
t_like "$("$HUGEMEM" help help)" "usage: hugemem help [COMMAND]" "hugemem help help"
bad "did you mean 'status'?" help stauts
top=$("$HUGEMEM" --help)
t_like "$top" "  help " "hugemem --help lists help"
t_like "$top" "-V, --version" "hugemem --help lists -V, --version"
t_like "$top" "-h, --help" "hugemem --help lists -h, --help"

# -V = --version: one line, the version of the file VERSION
want=$(cat "$HM_TOP/VERSION")
t_is "$("$HUGEMEM" -V)" "hugemem $want" "hugemem -V prints the version"
t_is "$("$HUGEMEM" --version)" "hugemem $want" "hugemem --version prints the version"
t_done
