#!/bin/sh
# check-symbols.sh [LIBRARY.so] — the version script src/libhugemem.map names
# exactly the functions include/hugemem.h declares (static inline helpers
# such as hm_opts_init are not exported and not listed), each once; with
# LIBRARY.so, the library exports exactly those functions too (a declaration
# hidden by a missing visibility pragma, or a stray export, fails).
# The header's declarations come from the compiler itself (gcc -aux-info),
# not from a pattern over the text. Prints the differences; exits 1 on any.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
map=$top/src/libhugemem.map
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '#include <hugemem.h>\n' >"$tmp/h.c"
gcc -std=gnu11 -I"$top/include" -aux-info "$tmp/aux" -fsyntax-only "$tmp/h.c"
grep 'include/hugemem.h:' "$tmp/aux" | grep ' extern ' |
	sed -n 's/.* extern [^(]*[ *]\(hm_[A-Za-z0-9_]*\) (.*/\1/p' | sort >"$tmp/header"
sed -n 's/^[[:space:]]*\(hm_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort >"$tmp/map"

bad=0
dups=$(uniq -d "$tmp/map")
if [ -n "$dups" ]; then
	echo "check-symbols: named twice in src/libhugemem.map: $dups" >&2
	bad=1
fi
if grep -q '^[[:space:]]*hm_[A-Za-z0-9_]*\*' "$map"; then
	echo "check-symbols: src/libhugemem.map exports by pattern: list every function by name" >&2
	bad=1
fi
missing=$(sort -u "$tmp/map" | comm -23 "$tmp/header" -)
extra=$(sort -u "$tmp/map" | comm -13 "$tmp/header" -)
if [ -n "$missing" ]; then
	echo "check-symbols: declared in include/hugemem.h but not in src/libhugemem.map:" $missing >&2
	bad=1
fi
if [ -n "$extra" ]; then
	echo "check-symbols: in src/libhugemem.map but not declared in include/hugemem.h:" $extra >&2
	bad=1
fi
if [ $# -ge 1 ]; then
	nm -D --defined-only "$1" | awk '$2 ~ /^[TtWi]$/ { sub(/@.*/, "", $3); print $3 }' |
		sort -u >"$tmp/so"
	notout=$(comm -23 "$tmp/header" "$tmp/so")
	stray=$(comm -13 "$tmp/header" "$tmp/so")
	if [ -n "$notout" ]; then
		echo "check-symbols: declared but not exported by $1:" $notout >&2
		bad=1
	fi
	if [ -n "$stray" ]; then
		echo "check-symbols: exported by $1 but not declared:" $stray >&2
		bad=1
	fi
fi
[ $bad = 0 ] && echo "check-symbols: $(wc -l <"$tmp/header") functions: header, map${1:+ and $1} agree"
exit $bad
