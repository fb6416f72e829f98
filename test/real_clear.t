#!/bin/sh
# clear never removes a page file a live process holds (a DPDK-style shared
# flock kept by the mapping, a plain flock, a mapping without lock), removes
# the stale ones, and removes the rest once their holders are SIGKILLed;
# status names the holders; the pool ends as it began.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 8
HOLD=$HM_BUILD/test-tools/hold_file
tmp=$(mktemp -d)
pfx=hmt$$
pids=""
before=$(t_pool)
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"map_*
	rm -rf "$tmp"
}
trap cleanup EXIT

hold() { # hold MODE FILE: start a holder, wait until it holds
	"$HOLD" "$1" "$2" >"$tmp/$3.out" &
	pids="$pids $!"
	eval "$3=$!"
	for _ in $(seq 100); do grep -q ready "$tmp/$3.out" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
f() { echo "$HM_MNT/${pfx}map_$1"; }

hold flock-map "$(f 0)" dpdk_like; t_ok $? "holder: shared flock kept by the mapping"
hold flock "$(f 1)" flocker; t_ok $? "holder: shared flock on an open fd"
hold map "$(f 2)" mapper; t_ok $? "holder: mapping without a lock"
hold map "$(f 3)" gone; t_ok $? "a fourth file is faulted"
kill -9 "$gone"; wait "$gone" 2>/dev/null
t_is "$(t_pool | cut -d' ' -f2)" "$(($(echo "$before" | cut -d' ' -f2) - 4))" "4 pages held by the files"

"$HUGEMEM" status --json >"$tmp/s.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
g = [g for g in s["page_files"] if g["prefix"] == sys.argv[2]]
assert len(g) == 1 and g[0]["files"] == 4 and g[0]["live_files"] == 3, g
assert g[0]["state"] == "live" and g[0]["pid"] in [int(p) for p in sys.argv[3:]], g
' "$tmp/s.json" "$pfx" "$dpdk_like" "$flocker" "$mapper"
t_ok $? "status groups the prefix's 4 files, 3 live, with a holder's pid"

out=$("$HUGEMEM" clear --file-prefix "$pfx" --dry-run)
t_like "$out" "would remove $(f 3)" "dry run lists the stale file"
t_unlike "$out" "would remove $(f 0)" "dry run keeps the flock+map file"
[ -e "$(f 3)" ]; t_ok $? "dry run removed nothing"

out=$("$HUGEMEM" clear --file-prefix "$pfx")
t_is $? 0 "clear exits 0"
t_like "$out" "removed $(f 3)" "clear removes the stale file"
for i in 0 1 2; do [ -e "$(f $i)" ]; t_ok $? "clear keeps live $(f $i)"; done
[ -e "$(f 3)" ]; t_ok $((!$?)) "the stale file is gone"

kill -9 $pids 2>/dev/null; wait 2>/dev/null; pids=""
out=$("$HUGEMEM" clear --file-prefix "$pfx" --json)
python3 -c '
import json, sys
c = json.load(sys.stdin)
assert len(c["removed"]) == 3 and not c["kept"], c' <<EOF2
$out
EOF2
t_ok $? "after SIGKILL, clear removes the other three"
t_is "$(ls "$HM_MNT" | grep -c "^${pfx}map_")" 0 "no file of the prefix is left"
t_is "$(t_pool)" "$before" "pool counts as before (nr free resv surplus)"
t_done
