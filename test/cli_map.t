#!/bin/sh
# hugemem map on a fixture pool (test/fixtures/map-two-nodes: two nodes, a
# hole, free runs of known lengths written as a sparse kpageflags/kpagecount
# into a copy of the tree): the JSON contract, the SVG (XML, one strip per
# node, one rectangle per free run, titles with addresses), the terminal
# picture never wider than COLUMNS, colour only on a terminal and never with
# NO_COLOR, what is said without /proc/kpageflags, bad command lines; then,
# with real hugepages (root, the machine lock), a live prefix told apart and
# init --map.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
hold_pid=
cleanup() {
	[ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null && wait "$hold_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
command -v python3 >/dev/null || t_skip_all "python3 missing (apt-get install python3)"

# ---------------------------------------------------------------- the fixture
root=$tmp/root
cp -r "$FIXTURES/map-two-nodes" "$root"
python3 "$HM_TOP/test/tools/kpageflags.py" "$root"
t_ok $? "fixture pool written (sparse kpageflags, kpagecount)"
export HUGEMEM_ROOT="$root" HUGEMEM_RUNTIME_DIR="$tmp/run"
mkdir -p "$tmp/run"
unset NO_COLOR

# ---------------------------------------------------------------- JSON
"$HUGEMEM" map --json >"$tmp/map.json" 2>"$tmp/err"
t_is $? 0 "map --json exits 0"
check=$(python3 - "$tmp/map.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
n = {x["node"]: x for x in m["nodes"]}
def kinds(x, k): return [e for e in x["extents"] if e["kind"] == k]
out = [
    m["page_size_bytes"] == 2 << 20 and m["placed"] and m["exact"] and m["missing"] is None,
    sorted(n) == [0, 1],
    n[0]["free_runs"] == 4 and n[0]["largest_run_pages"] == 32 and n[0]["largest_run_pa"] == hex(100 << 21),
    n[1]["free_runs"] == 3 and n[1]["largest_run_pages"] == 64,
    len(kinds(n[0], "free")) == 4 and len(kinds(n[1], "free")) == 3,
    [e["len"] >> 21 for e in kinds(n[0], "free")] == [32, 3, 1, 2],
    n[0]["free_pages"] == 38 and n[0]["used_pages"] == 14 and n[1]["free_pages"] == 82,
    [(e["pa"], e["len"]) for e in kinds(n[1], "hole")] == [(hex(640 << 21), 128 << 21)],
    n[0]["start"] == "0x0" and n[1]["start"] == hex(512 << 21) and n[1]["end"] == hex(1024 << 21),
    all(int(a["pa"], 16) + a["len"] == int(b["pa"], 16) for x in n.values() for a, b in zip(x["extents"], x["extents"][1:])),
    n[0]["best_pieces"] == 1 and n[1]["best_pieces"] == 1 and m["for_bytes"] == 64 << 20,
    [h["runs"] for h in n[0]["histogram"]] == [1, 2, 0, 0, 0, 1],
    n[0]["pool"] == {"total_pages": 52, "free_pages": 38},
]
print(" ".join("1" if x else "0" for x in out))
EOF
)
set -- $check
t_is "$1" 1 "json: 2 MiB, placed, exact, nothing missing"
t_is "$2" 1 "json: nodes 0 and 1"
t_is "$3" 1 "json: node 0 has 4 free runs, the largest 32 pages at slot 100"
t_is "$4" 1 "json: node 1 has 3 free runs, the largest 64 pages"
t_is "$5" 1 "json: one free extent per free run"
t_is "$6" 1 "json: node 0's runs are 32, 3, 1, 2 pages in address order"
t_is "$7" 1 "json: free and used page counts"
t_is "$8" 1 "json: node 1's hole (blocks 10-11) is one extent"
t_is "$9" 1 "json: node spans from the memory blocks"
t_is "${10}" 1 "json: extents cover each span without gaps"
t_is "${11}" 1 "json: 64 MiB fits in one piece on either node"
t_is "${12}" 1 "json: run-length histogram of node 0 (1, 2-3, 32-63)"
t_is "${13}" 1 "json: sysfs pool counts per node"
status_runs=$("$HUGEMEM" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(" ".join(str(n["free_runs"]) for n in s["pools"][0]["pool_map"]["nodes"]))')
t_is "$status_runs" "4 3" "status's pool map counts the same free runs"
pieces=$("$HUGEMEM" map --json --for 70M | python3 -c '
import json, sys
print(" ".join(str(n["best_pieces"]) for n in json.load(sys.stdin)["nodes"]))')
t_is "$pieces" "2 1" "--for 70M: 2 pieces on node 0 (32 + 3), 1 on node 1"
pieces=$("$HUGEMEM" map --json --for 1G | python3 -c '
import json, sys
print(" ".join(str(n["best_pieces"]) for n in json.load(sys.stdin)["nodes"]))')
t_is "$pieces" "None None" "--for 1G: not reachable on either node (null)"
one=$("$HUGEMEM" map --json --node 1 | python3 -c '
import json, sys
print([n["node"] for n in json.load(sys.stdin)["nodes"]])')
t_is "$one" "[1]" "--node 1: only node 1"

# ---------------------------------------------------------------- SVG
"$HUGEMEM" map --svg "$tmp/map.svg" >"$tmp/out" 2>"$tmp/err"
t_is $? 0 "map --svg exits 0"
t_like "$(cat "$tmp/out")" "picture written to $tmp/map.svg" "says where the picture went"
svg=$(python3 - "$tmp/map.svg" <<'EOF'
import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
strips = [g for g in root.iter(ns + "g") if g.get("class") == "strip"]
out = [root.tag == ns + "svg", len(strips), " ".join(g.get("data-node") for g in strips)]
for g in strips:
    rects = [r for r in g.iter(ns + "rect") if (r.get("class") or "").startswith("free")]
    out.append(len(rects))
    out.append(int(all(r.find(ns + "title") is not None and "0x" in r.find(ns + "title").text for r in rects)))
holes = [r for r in strips[1].iter(ns + "rect") if r.get("class") == "hole"]
out.append(len(holes))
print("|".join(str(x) for x in out))
EOF
)
t_is "$svg" "True|2|0 1|4|1|3|1|1" \
	"svg: XML, 2 strips (nodes 0, 1), 4 and 3 free-run rectangles with address titles, 1 hole"
"$HUGEMEM" map --node 0 --svg "$tmp/one.svg" >/dev/null
n=$(python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(sum(1 for g in r.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "strip"))' "$tmp/one.svg")
t_is "$n" 1 "svg --node 0: one strip"
command -v xmllint >/dev/null && { xmllint --noout "$tmp/map.svg"; t_ok $? "xmllint accepts the SVG"; }

# ---------------------------------------------------------------- terminal
widest() { # the widest line of standard input, in characters, escapes removed
	python3 -c '
import re, sys
text = sys.stdin.buffer.read().decode("utf-8")
lines = re.sub("\x1b\\[[0-9;]*m", "", text).replace("\r", "").split("\n")
print(max(len(l) for l in lines))'
}
for cols in 12 20 33 40 60 80 100 132 250; do
	w=$(COLUMNS=$cols "$HUGEMEM" map | widest)
	[ "$w" -le "$cols" ]
	t_ok $? "COLUMNS=$cols: no line wider (widest $w)"
done
# block characters need a UTF-8 locale; the tests run under C.UTF-8 unless told otherwise
utf8=C.UTF-8
[ "$(LC_ALL=$utf8 locale charmap 2>/dev/null)" = UTF-8 ] || utf8=""
export LC_ALL=${utf8:-C}
text=$(COLUMNS=80 "$HUGEMEM" map)
t_like "$text" "node 1: 768 MiB of memory, 0x40000000-0x80000000" "text: node span"
if [ -n "$utf8" ]; then
	t_like "$text" "$(printf '\342\226\210')" "text: Unicode blocks under a UTF-8 locale"
else
	t_skip "no C.UTF-8 locale here: the Unicode picture is not checked"
fi
# not UTF-8 (LANG=C, POSIX, Latin-1): the picture in ASCII, colour or not
nonascii() { LC_ALL=C grep -c "$(printf '[\200-\377]')"; }
for loc in C POSIX; do
	ascii=$(LC_ALL=$loc COLUMNS=80 "$HUGEMEM" map)
	t_is "$(printf '%s\n' "$ascii" | nonascii)" 0 "LC_ALL=$loc: not one byte outside ASCII"
	t_like "$ascii" "# free run >= 64 MiB" "LC_ALL=$loc: the legend gives the ASCII glyphs"
done
ascii=$(env -u LC_ALL LANG=C COLUMNS=80 "$HUGEMEM" map)
t_is "$(printf '%s\n' "$ascii" | nonascii)" 0 "LANG=C: ASCII too"
ascii=$(LC_ALL=C.UTF-8 LC_CTYPE=C COLUMNS=80 "$HUGEMEM" map)
[ -n "$utf8" ] && t_like "$ascii" "$(printf '\342\226\210')" "LC_ALL wins over LC_CTYPE"
t_like "$text" "largest free run: 64 pages (128 MiB) at 0x64000000" "text: largest free run"
t_like "$text" "fewest pieces for 64 MiB (init --contig best -m 64M, on this node): 1" \
	"text: fewest pieces"
t_like "$text" "free runs by length" "text: histogram"
case "$text" in *"$(printf '\033')"*) esc=1 ;; *) esc=0 ;; esac
t_is "$esc" 0 "no colour when stdout is not a terminal"
if command -v script >/dev/null; then
	tty_out=$(COLUMNS=70 script -qec "$HUGEMEM map" /dev/null)
	case "$tty_out" in *"$(printf '\033[')"*) esc=1 ;; *) esc=0 ;; esac
	t_is "$esc" 1 "colour on a terminal"
	t_ok "$([ "$(printf '%s' "$tty_out" | widest)" -le 70 ] && echo 0 || echo 1)" \
		"on a terminal too, no line wider than COLUMNS"
	tty_out=$(NO_COLOR=1 COLUMNS=70 script -qec "$HUGEMEM map" /dev/null)
	case "$tty_out" in *"$(printf '\033')"*) esc=1 ;; *) esc=0 ;; esac
	t_is "$esc" 0 "NO_COLOR: not one escape byte on a terminal"
	tty_out=$(LC_ALL=C COLUMNS=70 script -qec "$HUGEMEM map" /dev/null)
	t_is "$(printf '%s\n' "$tty_out" | nonascii)" 0 "LC_ALL=C: colour bars in ASCII too"
else
	t_skip "script(1) missing: no pseudo-terminal for the colour checks"
fi

# ---------------------------------------------------------------- without kpageflags
mv "$root/proc/kpageflags" "$root/proc/kpageflags.off"
out=$("$HUGEMEM" map 2>&1)
t_is $? 0 "without kpageflags: exits 0"
t_like "$out" "not known: where each hugepage sits" "says what is missing"
t_like "$out" "kpageflags" "names the file"
t_like "$out" "52, 38 free (sysfs counts" "still gives the pool counts"
nr=$("$HUGEMEM" map --json | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["placed"], m["missing"] is not None, [len(n["extents"]) for n in m["nodes"]])')
t_is "$nr" "False True [0, 0]" "json without kpageflags: not placed, missing said, no extents"
mv "$root/proc/kpageflags.off" "$root/proc/kpageflags"

# ---------------------------------------------------------------- bad command lines
"$HUGEMEM" map extra >/dev/null 2>"$tmp/err"
t_is $? 2 "a positional argument: exit 2"
"$HUGEMEM" map --node 7 >/dev/null 2>"$tmp/err"
t_is $? 2 "--node 7: exit 2"
t_like "$(cat "$tmp/err")" "--node 7 does not exist" "names the node"
"$HUGEMEM" map --for 0 >/dev/null 2>"$tmp/err"
t_is $? 2 "--for 0: exit 2"
"$HUGEMEM" map --svg "$tmp/no/such/dir/x.svg" >/dev/null 2>"$tmp/err"
t_is $? 1 "--svg into a missing directory: exit 1"
t_like "$(cat "$tmp/err")" "$tmp/no/such/dir/x.svg" "names the file"

# ---------------------------------------------------------------- real hugepages
unset HUGEMEM_ROOT HUGEMEM_RUNTIME_DIR
if ! t_have_hugepages 8; then
	t_skip_real "$t_why"
else
	mnt=$HM_MNT
	before=$(t_pool)
	prefix=hmtestmap$$
	mkfifo "$tmp/in"
	"$HUGEMEM" init -m 8 --hold --file-prefix $prefix --huge-dir "$mnt" <"$tmp/in" >"$tmp/init.out" 2>&1 &
	hold_pid=$!
	exec 8>"$tmp/in"
	for _ in $(seq 100); do grep -q segment "$tmp/init.out" && break; sleep 0.1; done
	got=$("$HUGEMEM" map --json | python3 -c "
import json, sys
m = json.load(sys.stdin)
p = [x for x in m['prefixes'] if x['prefix'] == '$prefix']
n = sum(x['prefix_pages'] for x in m['nodes'])
print(len(p), p[0]['placed_pages'] if p else -1, n >= 4)")
	t_is "$got" "1 4 True" "a live prefix: found, its 4 pages placed on the map"
	text=$("$HUGEMEM" map)
	t_like "$text" "'$prefix' pid $hold_pid" "text names the prefix and its pid"
	exec 8>&-
	wait "$hold_pid"
	hold_pid=
	out=$("$HUGEMEM" init -m 4 --map --file-prefix $prefix --huge-dir "$mnt" 2>&1)
	t_is $? 0 "init --map exits 0"
	t_like "$out" "hugemem init --map: 2 MiB pages" "init --map draws the picture"
	t_like "$out" "this process ('$prefix')" "and names this process"
	t_is "$(t_pool)" "$before" "pool as it was"
fi
t_done
