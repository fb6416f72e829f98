#!/bin/sh
# init refusals that need no hugepages (fixture trees), and --no-huge, which
# works on any machine.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HUGEMEM_RUNTIME_DIR="$tmp/run"

cp -r "$FIXTURES/sparse-nodes" "$tmp/sparse"
echo 0 >"$tmp/sparse/sys/devices/system/node/node2/hugepages/hugepages-2048kB/free_hugepages"
HUGEMEM_ROOT="$tmp/sparse" "$HUGEMEM" init --socket-mem 0,0,64 2>"$tmp/err"
t_is $? 1 "--socket-mem on a node with no free pages fails"
t_like "$(cat "$tmp/err")" "node 2" "naming the node"
t_like "$(cat "$tmp/err")" "0 free" "and what it has"
HUGEMEM_ROOT="$tmp/sparse" "$HUGEMEM" init --socket-mem 0,64 2>"$tmp/err"
t_is $? 2 "--socket-mem on a node that does not exist is a usage error"
t_like "$(cat "$tmp/err")" "node" "naming the node"
HUGEMEM_ROOT="$FIXTURES/cgroup-v2" "$HUGEMEM" init -m 64 2>"$tmp/err"
t_is $? 1 "asking more than a cgroup allows fails before mapping"
t_like "$(cat "$tmp/err")" "cgroup /ci" "naming the cgroup"
HUGEMEM_ROOT="$FIXTURES/no-mount-1g" "$HUGEMEM" init --page-size 1G -m 1G 2>"$tmp/err"
t_is $? 1 "page files without a mount fail"
t_like "$(cat "$tmp/err")" "--in-memory" "and say how to do without one"
HUGEMEM_ROOT="$FIXTURES/no-hugetlb" "$HUGEMEM" init 2>"$tmp/err"
t_is $? 1 "no hugepages at all fails"
t_like "$(cat "$tmp/err")" "--no-huge" "and points at --no-huge"
[ -z "$(ls "$tmp/run" 2>/dev/null)" ] || [ -z "$(find "$tmp/run" -name '*map_*')" ]
t_ok $? "nothing created for refused starts"

out=$("$HUGEMEM" init --no-huge -m 8 --json --file-prefix "nohuge$$")
t_is $? 0 "--no-huge works without hugepages"
python3 -c '
import json, sys
l = json.loads(sys.argv[1])
assert l["hugepages"] is False and l["iova_mode"] == "va", l
assert l["total_bytes"] == 8 << 20 and len(l["segments"]) == 1, l
s = l["segments"][0]
assert s["va"] == s["iova"], s' "$out"
t_ok $? "--no-huge: one segment of 8 MiB, IOVA = VA"
[ -e "$tmp/run/nohuge$$" ]
t_ok $((!$?)) "the primary's runtime directory is gone after it exits"
out=$("$HUGEMEM" init --no-huge -m 8 --json --file-prefix "nohuge$$")
t_is $? 0 "the same prefix starts again"
t_done
