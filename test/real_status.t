#!/bin/sh
# hugemem status on the real machine agrees with sysfs, and its pool map
# agrees with free_hugepages when nothing is reserved.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$HUGEMEM" status --json >"$tmp/s.json"
t_is $? 0 "status exits 0 with free pages and a mount"
sysfs=$(t_pool)
json=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["pools"] if p["page_size"] == 2097152][0]
print(p["total"], p["free"], p["reserved"], p["surplus"])' "$tmp/s.json")
t_is "$json" "$sysfs" "2 MiB counters match sysfs (nr free resv surplus)"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert any(m["path"] == sys.argv[2] for m in s["mounts"]), s["mounts"]' "$tmp/s.json" "$HM_MNT"
t_ok $? "the 2 MiB mount $HM_MNT is listed"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["pools"] if p["page_size"] == 2097152][0]
m = p["pool_map"]
free = sum(n["free_pages"] for n in m["nodes"])
assert free >= p["free"] - p["reserved"], (free, p)
if m["exact"]:
    assert free == p["free"], (free, p)
assert p["budget"] <= p["free"] - p["reserved"], p
' "$tmp/s.json"
t_ok $? "pool map covers the free pages (exact when it says so); budget within free-resv"
text=$("$HUGEMEM" status)
t_like "$text" "pages usable" "text verdict says pages are usable"
t_like "$text" "$HM_MNT" "text names the mount"
t_done
