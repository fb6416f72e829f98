#!/bin/sh
# A stray write into the shared heap's state on real hugepages (issue 14 item
# 4): a page-file primary with blocks in its thread cache has segment 0
# overwritten — node 0's free-list heads and bitmaps, then, in other
# primaries, 64 runs of random bytes in the first 24 KiB (never the lock's
# own bytes). hm_malloc, hm_free, hm_heap_stats and hm_heap_check must not
# crash; once the heap is found damaged they fail with -ENOTRECOVERABLE (-131),
# a secondary attached afterwards is refused the heap too; and hm_fini +
# hm_ctx_free still give everything back: every page file gone, the runtime
# directory gone, the pool whole.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 32
W=${HEAP_WORKER:-$HM_BUILD/test-tools/heap_worker}
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=hms$$
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"*
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)

wait_line() { # wait_line FILE PATTERN: until FILE has a matching line (60 s)
	for _ in $(seq 1200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
files() { find "$HM_MNT" -maxdepth 1 -name "$1*" | wc -l; }

# start NAME: a primary of 16 MiB (page files) reading commands from a fifo on fd 8
start() {
	rm -f "$tmp/p.in"
	mkfifo "$tmp/p.in"
	"$W" primary "$1" 16 <"$tmp/p.in" >"$tmp/p.out" 2>"$tmp/p.err" &
	ppid=$!
	pids="$pids $ppid"
	exec 8>"$tmp/p.in"
	wait_line "$tmp/p.out" '^ready'
}
# pcmd COMMAND...: one command to the primary, its answer line
pcmd() {
	n=$(wc -l <"$tmp/p.out")
	echo "$*" >&8
	for _ in $(seq 600); do
		[ "$(wc -l <"$tmp/p.out")" -gt "$n" ] && { tail -n 1 "$tmp/p.out"; return 0; }
		kill -0 "$ppid" 2>/dev/null || { echo "primary died"; return 1; }
		sleep 0.05
	done
	echo "timeout waiting for: $*"
}
stop() { # close the primary's input: hm_fini, hm_ctx_free, exit
	exec 8>&-
	wait "$ppid"
}

start "$pfx"
t_ok $? "a page-file primary is up"
[ "$(files "$pfx")" -gt 0 ]
t_ok $? "with page files ($(files "$pfx"))"
r=$(pcmd scribble lists)
t_like "$r" "ok scribble malloc=null stats=-131 check=-131" \
	"free-list heads overwritten: calls fail with -ENOTRECOVERABLE, no crash"
t_like "$r" "broken" "the message says the heap is broken"
t_diag "$r"
r=$("$W" secondary "$pfx" malloc 5000 2>&1)
t_like "$r" "fail malloc" "a secondary attached afterwards: hm_malloc fails"
t_like "$r" "broken" "saying the heap is broken"
stop
t_is $? 0 "the primary ends normally (hm_fini, hm_ctx_free)"
t_is "$(files "$pfx")" 0 "its page files are gone"
t_ok "$([ ! -e "$tmp/run/$pfx" ]; echo $?)" "its runtime directory is gone"
t_is "$(t_pool)" "$before" "the pool is whole"

crashed=0
for seed in 1 2 3 4 5 6 7 8; do
	start "$pfx$seed" || { crashed=$((crashed + 1)); continue; }
	r=$(pcmd scribble "$seed")
	case $r in ok\ scribble*) ;; *) crashed=$((crashed + 1)); t_diag "seed $seed: $r" ;; esac
	stop || { crashed=$((crashed + 1)); t_diag "seed $seed: exit $?"; }
	[ "$(files "$pfx$seed")" = 0 ] || { crashed=$((crashed + 1)); t_diag "seed $seed: files left"; }
done
t_is "$crashed" 0 "8 primaries with random bytes in segment 0: every call returns, every exit is clean, no file left"
t_is "$(t_pool)" "$before" "the pool is whole at the end"
t_done
