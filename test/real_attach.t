#!/bin/sh
# Secondaries on real hugepages: a pattern written by the primary is seen by
# a secondary at the same addresses and the secondary's writes by the
# primary, for page files, single files and memfds (fd passing); the
# secondary prints the primary's layout; 100 attaches in a row with ASLR on;
# a taken window, a corrupt or truncated layout, a killed primary: each a
# clear error; two prefixes side by side never share a page; the pool ends
# whole and no file is left.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 64
PATTERN=$HM_BUILD/test-tools/pattern
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=hmt$$
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	exec 8>&- 9>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"*map_*
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)

# start NAME FD CMD...: a holder whose stdin is a pipe kept open on FD; waits
# until it prints something (its layout, or "ready")
start() {
	name=$1 fd=$2
	shift 2
	mkfifo "$tmp/$name.in"
	"$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	eval "${name}_pid=$!"
	pids="$pids $!"
	eval "exec $fd>\"\$tmp/\$name.in\""
	for _ in $(seq 200); do [ -s "$tmp/$name.out" ] && return 0; sleep 0.05; done
	return 1
}
finish() { # finish NAME FD: close its input, return its exit status
	eval "exec $2>&-"
	eval "wait \$${1}_pid"
}
files() { ls "$HM_MNT" | grep -c "^${pfx}.*map_"; }

for mode in page-files --single-file-segments --in-memory; do
	arg=$mode
	[ "$mode" = page-files ] && arg=--verify
	start prim 8 "$PATTERN" primary "$pfx" -m 16 "$arg"
	t_ok $? "$mode: primary wrote its pattern"
	"$PATTERN" secondary "$pfx" >/dev/null 2>"$tmp/sec.err"
	t_is $? 0 "$mode: the secondary sees it at the same addresses, and writes back"
	t_diag "$(cat "$tmp/sec.err")"
	finish prim 8
	t_is $? 0 "$mode: the primary sees the secondary's writes"
	rm -f "$tmp/prim.in"
	t_is "$(t_pool)" "$before" "$mode: pool whole after both exit"
	t_is "$(files)" 0 "$mode: no file left"
done

# the secondary prints the primary's layout, with --verify
start init 8 "$HUGEMEM" init -m 32 --json --hold --file-prefix "$pfx"
"$HUGEMEM" attach --json --verify --file-prefix "$pfx" >"$tmp/att.json" 2>"$tmp/att.err"
t_is $? 0 "hugemem attach --verify exits 0"
python3 -c '
import json, sys
p, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["process"] == "secondary" and p["process"] == "primary", (p["process"], s["process"])
assert s["segments"] == p["segments"], "segments differ"
assert s["total_bytes"] == p["total_bytes"] and s["iova_mode"] == p["iova_mode"]
' "$tmp/init.out" "$tmp/att.json"
t_ok $? "same segments, total and IOVA mode as the primary, process secondary"

# 100 secondary starts in a row, ASLR on
t_is "$(cat /proc/sys/kernel/randomize_va_space)" 2 "ASLR is on"
fails=0
for _ in $(seq 100); do "$HUGEMEM" attach --file-prefix "$pfx" >/dev/null 2>&1 || fails=$((fails + 1)); done
t_is "$fails" 0 "100 attaches in a row: no failure"

# a window already taken in the secondary
base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["va_base"])' "$tmp/init.out")
out=$("$PATTERN" occupied "$pfx" "$(printf '0x%x' $((base + 4096)))")
t_is $? 0 "a taken window: -EEXIST and nothing left mapped"
t_like "$out" "is taken in this process by" "the message quotes the mapping in the way"

# corrupt and truncated layout files
lay="$tmp/run/$pfx/layout"
cp "$lay" "$tmp/layout.good"
head -c 40 "$tmp/layout.good" >"$lay"
"$HUGEMEM" attach --file-prefix "$pfx" 2>"$tmp/err"
t_is $? 1 "a truncated layout fails"
t_like "$(cat "$tmp/err")" "truncated" "saying it is truncated"
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x40
open(sys.argv[2], "wb").write(b)' "$tmp/layout.good" "$lay"
"$HUGEMEM" attach --file-prefix "$pfx" 2>"$tmp/err"
t_is $? 1 "a corrupt layout fails"
t_like "$(cat "$tmp/err")" "checksum" "saying the checksum does not match"
cp "$tmp/layout.good" "$lay"

# two primaries with different prefixes never share a page
start other 9 "$HUGEMEM" init -m 32 --json --hold --file-prefix "${pfx}b"
python3 -c '
import json, sys
def pages(f):
    l = json.load(open(f))
    return {int(s["iova"], 16) + i * s["page_size_bytes"] for s in l["segments"] for i in range(s["pages"])}
a, b = pages(sys.argv[1]), pages(sys.argv[2])
assert len(a) == 16 and len(b) == 16 and not a & b, (len(a), len(b), a & b)' "$tmp/init.out" "$tmp/other.out"
t_ok $? "two prefixes side by side: 16 pages each, none shared"
finish other 9
t_is $? 0 "the second primary exits 0"
finish init 8
t_is $? 0 "the first primary exits 0"

# a killed primary: secondaries fail clearly; one still attached keeps its
# memory and blocks a new primary, named; then the next primary cleans up
start init 8 "$HUGEMEM" init -m 16 --json --hold --file-prefix "$pfx"
start sec 9 "$HUGEMEM" attach --json --hold --file-prefix "$pfx"
kill -9 "$init_pid"
wait "$init_pid" 2>/dev/null
exec 8>&-
"$HUGEMEM" attach --file-prefix "$pfx" 2>"$tmp/err"
t_is $? 1 "attaching to a killed primary fails"
t_like "$(cat "$tmp/err")" "is gone" "saying the primary is gone"
"$HUGEMEM" init -m 16 --file-prefix "$pfx" 2>"$tmp/err"
t_is $? 1 "a new primary is refused while the dead one's secondary lives"
t_like "$(cat "$tmp/err")" "pid $sec_pid" "naming the secondary"
finish sec 9
t_is $? 0 "the orphaned secondary exits 0 (its memory stayed valid)"
"$HUGEMEM" init -m 16 --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 0 "the next primary cleans up and starts"
t_is "$(files)" 0 "no file left"
t_is "$(t_pool)" "$before" "pool whole"
t_done
