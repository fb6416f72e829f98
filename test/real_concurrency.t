#!/usr/bin/env bash
# Concurrency (issue 8): four primaries with prefixes of their own and two
# secondaries each, started together, allocate and free through their shared
# heaps for a bounded time (3 s), every block carrying a check pattern and
# often freed by another process than the one that allocated it. Then: every
# process exits 0, every heap passes its checker, no physical page belongs to
# two prefixes, and once all have exited the pool is whole and no file is left.
. "$(dirname "$0")/lib.sh"

t_require_hugepages 160
W=$HM_BUILD/test-tools/heap_worker
N=4 # the pipes to the primaries are descriptors 21..24
tmp=$(mktemp -d)
pfx=cc$$_
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	for i in $(seq $N); do eval "exec $((20 + i))>&-" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$HM_MNT/$pfx"*map_*
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)

lines() { wc -l <"$1"; }
# wait_lines FILE N: until FILE has N lines (20 s at most)
wait_lines() {
	for _ in $(seq 400); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- four primaries, started together
for i in $(seq $N); do
	mkfifo "$tmp/p$i.in"
	# without the other primaries' pipe ends: each must see the end of its own input
	"$W" primary "$pfx$i" 32 <"$tmp/p$i.in" >"$tmp/p$i.out" 2>"$tmp/p$i.err" \
		21>&- 22>&- 23>&- 24>&- &
	pids="$pids $!"
	eval "ppid$i=$!"
	eval "exec $((20 + i))>\"$tmp/p$i.in\""
done
up=0
for i in $(seq $N); do wait_lines "$tmp/p$i.out" 1 && grep -q '^ready' "$tmp/p$i.out" && up=$((up + 1)); done
t_is "$up" "$N" "$N primaries up at once, each on its own prefix"
[ "$up" = "$N" ] || t_diag "$(cat "$tmp"/p*.err)"

# --- two secondaries per primary and the primaries themselves: 3 s of alloc/free
spids=""
for i in $(seq $N); do
	for k in 1 2; do
		"$W" secondary "$pfx$i" stress 3 "$k" >"$tmp/s$i.$k.out" 2>&1 21>&- 22>&- 23>&- 24>&- &
		spids="$spids $!"
	done
	echo "stress 3 0" >&$((20 + i))
done
pids="$pids $spids"
bad=0
for p in $spids; do wait "$p" || bad=$((bad + 1)); done
t_is "$bad" 0 "$((N * 2)) secondaries: 3 s of alloc/free each, every block they took out intact"
[ "$bad" = 0 ] || t_diag "$(cat "$tmp"/s*.out)"
ok_p=0
for i in $(seq $N); do wait_lines "$tmp/p$i.out" 2 && sed -n 2p "$tmp/p$i.out" | grep -q '^ok stress' && ok_p=$((ok_p + 1)); done
t_is "$ok_p" "$N" "the $N primaries: the same, at the same time"
cross=$(cat "$tmp"/s*.out | sed -n 's/.*cross=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$cross" -gt 100 ]
t_ok $? "$cross blocks freed by another process than the one that allocated them"

# --- every heap checks and accounts for every byte once the secondaries are gone
ok_c=0
for i in $(seq $N); do
	echo "drain" >&$((20 + i))
	echo "check alone" >&$((20 + i))
	wait_lines "$tmp/p$i.out" 4 && sed -n 4p "$tmp/p$i.out" | grep -q '^ok check rc=0 accounted=1' &&
		ok_c=$((ok_c + 1))
done
t_is "$ok_c" "$N" "every primary's heap passes hm_heap_check and accounts for every byte"

# --- no physical page in two prefixes (IOVA = PA as root)
for i in $(seq $N); do
	"$HUGEMEM" attach --json --file-prefix "$pfx$i" >"$tmp/a$i.json" 2>"$tmp/a$i.err" || t_diag "$(cat "$tmp/a$i.err")"
done
python3 - "$tmp" $N <<'EOF'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
spans = []
for i in range(1, n + 1):
    d = json.load(open(f"{tmp}/a{i}.json"))
    assert d["iova_mode"] == "pa", d["iova_mode"]
    for s in d["segments"]:
        iova = int(s["iova"], 16) if isinstance(s["iova"], str) else s["iova"]
        spans.append((iova, iova + s["len"], i))
spans.sort()
for a, b in zip(spans, spans[1:]):
    assert a[1] <= b[0], f"prefix {a[2]} and {b[2]} share physical memory: {a} {b}"
assert len({p for _, _, p in spans}) == n
EOF
t_ok $? "no physical page belongs to two of the $N prefixes"

# --- all exit 0; the pool is whole, nothing is left
codes=""
for i in $(seq $N); do
	eval "exec $((20 + i))>&-"
	eval "wait \$ppid$i"
	codes="$codes$?"
done
t_is "$codes" "$(printf '0%.0s' $(seq $N))" "every primary exits 0"
pids=""
t_is "$(t_pool)" "$before" "pool whole after all $((N * 3)) processes exited"
t_is "$(ls "$HM_MNT" | grep -c "^$pfx")" 0 "no page file left"
t_done
