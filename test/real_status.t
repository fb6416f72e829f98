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
p = [p for p in s["pools"] if p["page_size_bytes"] == 2097152][0]
print(p["total_pages"], p["free_pages"], p["reserved_pages"], p["surplus_pages"])' "$tmp/s.json")
t_is "$json" "$sysfs" "2 MiB counters match sysfs (nr free resv surplus)"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert any(m["path"] == sys.argv[2] for m in s["mounts"]), s["mounts"]' "$tmp/s.json" "$HM_MNT"
t_ok $? "the 2 MiB mount $HM_MNT is listed"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["pools"] if p["page_size_bytes"] == 2097152][0]
m = p["pool_map"]
free = sum(n["free_pages"] for n in m["nodes"])
assert free >= p["free_pages"] - p["reserved_pages"], (free, p)
if m["exact"]:
    assert free == p["free_pages"], (free, p)
assert p["budget_pages"] <= p["free_pages"] - p["reserved_pages"], p
' "$tmp/s.json"
t_ok $? "pool map covers the free pages (exact when it says so); budget within free-resv"
text=$("$HUGEMEM" status)
t_like "$text" "pages usable" "text verdict says pages are usable"
t_like "$text" "$HM_MNT" "text names the mount"
# without root: what cannot be read is said, the rest still works
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$HUGEMEM" status >"$tmp/nr.txt" 2>&1
	t_is $? 0 "status as an unprivileged user exits 0"
	t_like "$(cat "$tmp/nr.txt")" "needs root" "and says the pool map needs root"
	t_like "$(cat "$tmp/nr.txt")" "pages usable" "and still gives the verdict"
fi
t_done
