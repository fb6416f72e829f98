#!/bin/sh
# Large primaries never reach the kernel's hugetlb PMD-sharing deadlock
# (docs/reliability.md, item 0). On Linux 5.16..6.18, mremap of a MAP_SHARED
# hugetlb mapping whose new place covers a whole 1 GiB-aligned range sleeps
# in state D forever (huge_pmd_share under move_hugetlb_page_tables). hugemem
# moves a single file's or memfd's pages by mapping them again, never by
# mremap: those primaries run here under test-tools/no_mremap (seccomp:
# mremap fails with EPERM), so code that still issued the move fails at once
# instead of hanging this machine. Primaries of 2 GiB and 4 GiB in each
# backing, and --contig best, each attached by a secondary with --verify;
# every process is watched and the test fails if one sits in state D for 3 s
# or runs past its time. The pool ends whole and no file is left.
. "$(dirname "$0")/lib.sh"
[ "$(uname -m)" = x86_64 ] || t_skip_all "the no_mremap seccomp filter is written for x86_64"
t_require_hugepages 2048
NO_MREMAP=$HM_BUILD/test-tools/no_mremap
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=hmpmd$$
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"*map_*
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)

# watch SECONDS PID: wait for PID, sampling its threads' states every 0.2 s.
# Returns 0 once it has exited; 2 (and its kernel stack in $tmp/stuck) when a
# thread of it stays in state D for 3 s; 3 after SECONDS (then it is killed).
watch() {
	limit=$(($1 * 5)) pid=$2 d=0 n=0
	while kill -0 "$pid" 2>/dev/null; do
		if grep -qs '^[0-9]* ([^)]*) D' /proc/"$pid"/task/*/stat; then d=$((d + 1)); else d=0; fi
		if [ "$d" -ge 15 ]; then
			cat /proc/"$pid"/task/*/stack >"$tmp/stuck" 2>&1
			return 2
		fi
		n=$((n + 1))
		[ "$n" -lt "$limit" ] || { kill -9 "$pid"; return 3; }
		[ -s "$tmp/prim.out" ] && [ "$pid" = "$prim_pid" ] && return 0
		sleep 0.2
	done
	return 0
}
files() { ls "$HM_MNT" | grep -c "^${pfx}.*map_"; }

# one_case NAME SIZE_MIB WRAPPER ARGS...: primary (held; run by WRAPPER
# when not ""), secondary, primary exits
one_case() {
	name=$1 mib=$2 wrap=$3
	shift 3
	rm -f "$tmp/prim.in" "$tmp/prim.out"
	mkfifo "$tmp/prim.in"
	$wrap "$HUGEMEM" init -m "$mib" --json --hold --file-prefix "$pfx" "$@" <"$tmp/prim.in" \
		>"$tmp/prim.out" 2>"$tmp/prim.err" &
	prim_pid=$!
	pids="$pids $prim_pid"
	exec 8>"$tmp/prim.in"
	watch 120 "$prim_pid"
	t_is $? 0 "$name: the primary maps $mib MiB, never stuck in state D"
	t_is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_bytes"] >> 20)' \
		"$tmp/prim.out" 2>&1)" "$mib" "$name: its layout holds $mib MiB"
	"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/att.err" &
	att_pid=$!
	watch 120 "$att_pid"
	t_is $? 0 "$name: the secondary attaches, never stuck in state D"
	wait "$att_pid"
	t_is $? 0 "$name: attach --verify finds every IO address right"
	exec 8>&-
	watch 60 "$prim_pid"
	t_is $? 0 "$name: the primary exits, never stuck in state D"
	wait "$prim_pid"
	t_is $? 0 "$name: the primary exits 0"
	[ -s "$tmp/stuck" ] && t_diag "kernel stack: $(cat "$tmp/stuck")"
	[ -s "$tmp/prim.err" ] && t_diag "$(cat "$tmp/prim.err")"
	t_is "$(t_pool)" "$before" "$name: pool whole"
	t_is "$(files)" 0 "$name: no file left"
}

"$NO_MREMAP" true
t_is $? 0 "no_mremap runs a program"
"$NO_MREMAP" python3 -c 'import mmap; m = mmap.mmap(-1, 4096); m.resize(8192)' 2>/dev/null
t_is $? 1 "...and mremap fails inside it"

for mib in 2048 4096; do
	one_case "page files, $mib MiB" "$mib" ""
	one_case "single file, $mib MiB" "$mib" "$NO_MREMAP" --single-file-segments
	one_case "memfd, $mib MiB" "$mib" "$NO_MREMAP" --in-memory
done
one_case "page files, --contig best" 2048 "" --contig best
one_case "single file, --contig best" 2048 "$NO_MREMAP" --single-file-segments --contig best
one_case "memfd, --contig best" 2048 "$NO_MREMAP" --in-memory --contig best
t_done
