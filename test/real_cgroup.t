#!/bin/sh
# A hugetlb limit on a PARENT cgroup (v2) caps this process's budget: status
# run inside a child cgroup reports the parent's limit and "cgroup" as the cap.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 12
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg2" ] || t_skip_all "no cgroup v2 mount"
grep -qw hugetlb "$cg2/cgroup.controllers" || t_skip_all "cgroup v2 has no hugetlb controller"
tmp=$(mktemp -d)
parent=$cg2/hmtest$$
cleanup() {
	rmdir "$parent/job" "$parent" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

t_cgroup_cap "$parent" 8
t_is "$(cat "$parent/hugetlb.2MB.max")" 16777216 "parent limit set to 8 pages"

sh -c 'echo $$ >"$1/job/cgroup.procs" && exec "$2" status --json' sh "$parent" "$HUGEMEM" >"$tmp/s.json"
rc=$?
t_is $rc 0 "status inside the child cgroup exits 0 (8 pages usable)"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["pools"] if p["page_size_bytes"] == 2097152][0]
assert p["budget_pages"] == 8, p
assert p["budget_cap"] == "cgroup", p
assert p["cgroup_limit"]["path"] == "/hmtest" + sys.argv[2], p["cgroup_limit"]
assert p["cgroup_limit"]["max_bytes"] == 16777216, p["cgroup_limit"]
assert s["cgroup"]["path"] == "/hmtest" + sys.argv[2] + "/job", s["cgroup"]
' "$tmp/s.json" "$$"
t_ok $? "budget is 8 pages, capped by the parent cgroup /hmtest$$"
before=$(t_pool)
sh -c 'echo $$ >"$1/job/cgroup.procs" && exec "$2" init -m 64 --file-prefix "hmcg$3"' sh "$parent" \
	"$HUGEMEM" "$$" >"$tmp/init.out" 2>"$tmp/init.err"
t_is $? 1 "init -m 64 under an 8-page cgroup cap fails, no SIGBUS"
t_like "$(cat "$tmp/init.err")" "cgroup /hmtest$$" "the error names the cgroup"
t_is "$(t_pool)" "$before" "and the pool is whole"
sh -c 'echo $$ >"$1/job/cgroup.procs" && exec "$2" init -m 16 --file-prefix "hmcg$3"' sh "$parent" \
	"$HUGEMEM" "$$" >"$tmp/init.out" 2>"$tmp/init.err"
t_is $? 0 "init -m 16 (8 pages) fits under the cap"
t_is "$(t_pool)" "$before" "and gives every page back"
echo 0 >"$parent/hugetlb.2MB.max"
sh -c 'echo $$ >"$1/job/cgroup.procs" && exec "$2" status' sh "$parent" "$HUGEMEM" >"$tmp/s.txt"
t_is $? 6 "status exits 6 (capped) when the cgroup leaves no page"
t_like "$(cat "$tmp/s.txt")" "cgroup" "the verdict names the cgroup"
t_done
