#!/bin/sh
# hugemem init on real hugepages, checked from outside: while the primary
# holds, read its /proc/PID/pagemap and numa_maps and verify every page's
# IOVA, each segment's contiguity and node, and the total; after the hold the
# pool is whole and no file is left. For each backing: page files, single
# files, memfd.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 96
CHECK=$HM_TOP/test/tools/check_layout.py
tmp=$(mktemp -d)
pfx=hmt$$
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"map_*
	rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME ARGS...: a holding primary whose stdin is a pipe we keep open
start() {
	name=$1
	shift
	mkfifo "$tmp/$name.in"
	"$HUGEMEM" init --json --hold --file-prefix "$pfx" "$@" <"$tmp/$name.in" >"$tmp/$name.json" \
		2>"$tmp/$name.err" &
	pid=$!
	exec 8>"$tmp/$name.in"
	for _ in $(seq 200); do
		[ -s "$tmp/$name.json" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
stop() { # end the hold by closing its input; the exit status of the primary
	exec 8>&-
	wait "$pid"
	rc=$?
	pid=""
	return $rc
}
files() { ls "$HM_MNT" | grep -c "^${pfx}map_"; }

for mode in page-files --single-file-segments --in-memory; do
	before=$(t_pool)
	free0=$(cat $HP2M/free_hugepages)
	arg=$mode
	[ "$mode" = page-files ] && arg=--verify
	start "$mode" -m 64 "$arg"
	t_ok $? "$mode: init -m 64 --hold prints the layout once ready"
	out=$(python3 "$CHECK" "$pid" "$tmp/$mode.json" 67108864)
	t_ok $? "$mode: outside check of pagemap, contiguity, nodes, total"
	t_diag "$out"
	t_is "$(cat $HP2M/free_hugepages)" $((free0 - 32)) "$mode: 32 pages taken from the pool"
	case $mode in
	page-files) t_is "$(files)" 32 "$mode: one file per page" ;;
	--single-file-segments) t_is "$(files)" 1 "$mode: one file per node" ;;
	--in-memory) t_is "$(files)" 0 "$mode: no file at all" ;;
	esac
	stop
	t_is $? 0 "$mode: the primary exits 0 when its input ends"
	t_is "$(t_pool)" "$before" "$mode: pool counts as before (nr free resv surplus)"
	t_is "$(files)" 0 "$mode: no file left"
done

# a second primary on the same prefix is refused, naming the holder
start first -m 8
"$HUGEMEM" init -m 8 --file-prefix "$pfx" >/dev/null 2>"$tmp/second.err"
t_is $? 1 "a second primary on the same prefix fails"
t_like "$(cat "$tmp/second.err")" "pid $pid" "naming the holder's pid"
t_like "$(cat "$tmp/second.err")" "--file-prefix" "and the option that avoids it"
stop

# stdin at /dev/null does not end the hold; SIGTERM does
"$HUGEMEM" init -m 8 --hold --json --file-prefix "$pfx" </dev/null >"$tmp/dn.json" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/dn.json" ] && break; sleep 0.05; done
sleep 0.3
kill -0 "$pid" 2>/dev/null
t_ok $? "with stdin at /dev/null the hold goes on"
kill -TERM "$pid"
wait "$pid"
t_is $? 143 "SIGTERM ends the hold, and the command by SIGTERM (143) once all is released"
pid=""
t_is "$(files)" 0 "no file left after SIGTERM"

# --contig best reaches the fewest pieces the pool map allows
before=$(t_pool)
"$HUGEMEM" init -m 128 --contig best --json --file-prefix "$pfx" >"$tmp/best.json"
t_is $? 0 "init --contig best exits 0"
python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert l["best_pieces"] == 0 or len(l["segments"]) <= l["best_pieces"], (len(l["segments"]), l["best_pieces"])
assert l["total_bytes"] == 128 << 20, l["total_bytes"]' "$tmp/best.json"
t_ok $? "best mode: no more segments than the pool map's fewest pieces"
t_is "$(t_pool)" "$before" "pool as before after best mode"

# text output and --trace
out=$("$HUGEMEM" init -m 4 --trace --file-prefix "$pfx" 2>"$tmp/trace")
t_like "$out" "primary pid" "text layout names the primary"
t_like "$out" "4 MiB in" "and the total"
t_like "$(cat "$tmp/trace")" "timings (ms): discover" "--trace prints per-step timings on stderr"
t_done
