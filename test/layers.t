#!/bin/sh
# tools/layers.py, the layering check `make lint` runs: on this tree it finds
# nothing; on a small tree made here it finds each kind of fault (a call into
# a later layer, a cycle inside a layer, an include of a later layer's header,
# a folder src/layers.txt does not list, a CLI file that includes an internal
# header) and names the objects and symbols.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null 2>&1 || t_skip_all "needs python3"
command -v nm >/dev/null 2>&1 || t_skip_all "needs nm (binutils)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(cd "$top" && python3 tools/layers.py "$HM_BUILD" 2>&1)
t_is "$?" 0 "the library has no cycle and no upward call: $(echo "$out" | tail -1)"
t_like "$out" " 0 faults" "and says so"

# A tree of two layers, low below high.
mkdir -p "$tmp/src/low" "$tmp/src/high" "$tmp/cli" "$tmp/build/src/low" "$tmp/build/src/high"
printf 'low   # below\nhigh  # above\n' >"$tmp/src/layers.txt"
cat >"$tmp/src/high/h.c" <<'C'
int high_fn(void);
int high_fn(void) { return 1; }
C
cat >"$tmp/src/low/a.c" <<'C'
int low_a(void);
int low_b(void);
int low_a(void) { return low_b(); }
C
cat >"$tmp/src/low/b.c" <<'C'
int low_a(void);
int low_b(void);
int low_b(void) { return 2; }
C
build() {
	for f in low/a low/b high/h; do
		cc -c "$tmp/src/$f.c" -o "$tmp/build/src/$f.o" || return 1
	done
}
check() { (cd "$tmp" && python3 "$top/tools/layers.py" build 2>&1); }

build
out=$(check)
t_is "$?" 0 "a clean two-layer tree passes"

# low/b calls up into high/h
sed -i 's/return 2;/return high_fn();/; 1i int high_fn(void);' "$tmp/src/low/b.c"
build
out=$(check)
t_is "$?" 1 "a call into a later layer fails"
t_like "$out" "low/b calls up into high/h: high_fn" "naming caller, callee and symbol"

# low/b calls low/a, which calls low/b: a cycle inside one layer
sed -i 's/return high_fn();/return low_a();/' "$tmp/src/low/b.c"
build
out=$(check)
t_is "$?" 1 "a cycle inside a layer fails"
t_like "$out" "cycle: low/a <-> low/b" "naming the objects of the cycle"

# back to clean, then an include of a later layer's header
sed -i 's/return low_a();/return 2;/' "$tmp/src/low/b.c"
build
echo '#include "high/h.h"' >>"$tmp/src/low/b.c"
out=$(check)
t_is "$?" 1 "an include of a later layer's header fails"
t_like "$out" "src/low/b.c:5: includes high/, a layer above low/" "naming the file and line"
sed -i '$d' "$tmp/src/low/b.c"

mkdir -p "$tmp/src/stray"
out=$(check)
t_is "$?" 1 "a folder src/layers.txt does not list fails"
t_like "$out" "src/stray/ is not in src/layers.txt" "naming the folder"
rmdir "$tmp/src/stray"

echo '#include "low/a.h"' >"$tmp/cli/main.c"
out=$(check)
t_is "$?" 1 "a CLI file that includes an internal header fails"
t_like "$out" "cli/main.c:1: includes the library's internal low/" "naming it"
t_done
