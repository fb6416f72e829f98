#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/structure.sh [BUILD] — the figures issue 15 asked to re-measure, from the tree and
# the built objects: cycles and upward calls (tools/layers.py), files per layer folder,
# exported functions with a man page, README length, function lengths. Prints markdown.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
echo "| figure | value |"
echo "|---|---|"
layers=$(python3 tools/layers.py "$build" 2>&1 | tail -1 | sed 's/^layers: //')
echo "| layering (tools/layers.py) | $layers |"
printf '| files per folder (.c/.h) |'
for d in $(sed 's/#.*//' src/layers.txt); do
	printf ' %s %s/%s' "$d/" "$(ls src/"$d"/*.c 2>/dev/null | wc -l)" "$(ls src/"$d"/*.h 2>/dev/null | wc -l)"
done
echo " |"
exported=$(nm -D --defined-only "$build/libhugemem.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort)
n_exp=$(echo "$exported" | wc -l)
n_man=0
for f in $exported; do [ -f "man/$f.3" ] && n_man=$((n_man + 1)); done
echo "| exported functions with a man page | $n_man of $n_exp |"
echo "| README.md lines | $(wc -l <README.md) |"
# function lengths: from a '{' alone at the start of a line to the '}' that closes it
awk 'FNR == 1 { inside = 0 } /^{$/ { inside = 1; n = 0; next } inside && /^}$/ { print n; inside = 0; next } inside { n++ }' \
	src/*/*.c | sort -n | awk '{ a[NR] = $1 } END { printf "| library functions | %d, median %d lines, longest %d |\n", NR, a[int((NR + 1) / 2)], a[NR] }'
