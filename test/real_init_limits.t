#!/bin/sh
# File descriptors stay bounded whatever the page count: 1024 pages of page
# files under `ulimit -n 64`.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 1040
tmp=$(mktemp -d)
pfx=hmt$$
trap 'rm -f "$HM_MNT/${pfx}"map_*; rm -rf "$tmp"' EXIT
before=$(t_pool)
(ulimit -n 64 && exec "$HUGEMEM" init -m 2G --json --file-prefix "$pfx") >"$tmp/l.json" 2>"$tmp/err"
t_is $? 0 "init -m 2G (1024 pages, one file each) under ulimit -n 64"
t_diag "$(cat "$tmp/err")"
python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert l["total_bytes"] == 2 << 30, l["total_bytes"]
assert sum(s["pages"] for s in l["segments"]) == 1024' "$tmp/l.json"
t_ok $? "all 1024 pages mapped"
t_is "$(t_pool)" "$before" "pool whole afterwards"
t_is "$(ls "$HM_MNT" | grep -c "^${pfx}map_")" 0 "no file left"
t_done
