#!/bin/sh
# clear never removes a page file a live process holds (a DPDK-style shared
# flock kept by the mapping, a plain flock, a mapping without lock), removes
# the stale ones, and removes the rest once their holders are SIGKILLed;
# status names the holders; the pool ends as it began. Its files are made
# the way DPDK makes them, so their prefix has a DPDK runtime directory
# (/var/run/dpdk/<prefix>): clear removes only files proved to be hugemem's or
# DPDK's (issue 14, item 7). Files of another program that merely look like
# page files (mybitmap_0, dbcachemap_1, shared_map_7: holding data, not open)
# are left, with how to remove them by hand, and status calls none of them a
# prefix.
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
	rm -f "$HM_MNT/${pfx}"map_* "$HM_MNT/mybitmap_0" "$HM_MNT/dbcachemap_1" "$HM_MNT/shared_map_7"
	rm -rf "$tmp" "/var/run/dpdk/$pfx"
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
mkdir -p "/var/run/dpdk/$pfx" # a DPDK process of this prefix ran here

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

# another program's files with names like page files: holding data, not open
others="mybitmap_0 dbcachemap_1 shared_map_7"
for o in $others; do fallocate -l 2M "$HM_MNT/$o"; done
t_is "$(for o in $others; do stat -c %b "$HM_MNT/$o"; done | sort -u | wc -l)" 1 \
	"3 files of another program, holding a page each"
"$HUGEMEM" status >"$tmp/status"
t_unlike "$(cat "$tmp/status")" "prefix 'mybit'" "status does not call mybitmap_0 a prefix"
t_unlike "$(cat "$tmp/status")" "prefix 'shared_'" "nor shared_map_7"
t_unlike "$(cat "$tmp/status")" "clear --file-prefix mybit" "nor suggests clear for them"
t_like "$(cat "$tmp/status")" "not proved hugemem's or DPDK's" "status says they are not proved page files"
"$HUGEMEM" status --json | python3 -c '
import json, sys
g = [g for g in json.load(sys.stdin)["page_files"] if g["dir"] == sys.argv[1] and g["owner"] == "unknown"]
assert len(g) == 1 and g[0]["prefix"] is None and g[0]["files"] >= 3, g' "$HM_MNT"
t_ok $? "status --json: one group of owner \"unknown\", prefix null"
out=$("$HUGEMEM" clear)
t_is $? 0 "clear exits 0"
for o in $others; do
	[ -e "$HM_MNT/$o" ]
	t_ok $? "clear leaves $o"
	t_like "$out" "left $HM_MNT/$o: not proved a page file of hugemem or DPDK" "clear says why it left $o"
	t_like "$out" "remove it by hand: rm -- '$HM_MNT/$o'" "and how to remove $o by hand"
done
for p in mybit dbcache shared_; do "$HUGEMEM" clear --file-prefix "$p" >/dev/null; done
t_is "$(for o in $others; do [ -e "$HM_MNT/$o" ] && echo "$o"; done | wc -l)" 3 \
	"clear --file-prefix mybit / dbcache / shared_ leaves them too"
"$HUGEMEM" clear --json | python3 -c '
import json, sys
c = json.load(sys.stdin)
left = {x["path"] for x in c["not_proved"]}
assert all(sys.argv[1] + "/" + o in left for o in sys.argv[2:]), c' "$HM_MNT" $others
t_ok $? "clear --json lists them as not_proved"
for o in $others; do rm -f "$HM_MNT/$o"; done
t_is "$(t_pool)" "$before" "pool counts as before (nr free resv surplus)"
t_done
