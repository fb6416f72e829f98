#!/usr/bin/env bash
# The heap against DPDK 22.11 (issue 6): alloc+free pairs per second at 64 B,
# 2 KiB and 1 MiB, in one process and in a primary and a secondary at once,
# and virt->IOVA lookups per second. As root, holding the machine-wide lock;
# reserves what it needs and puts the pool back. Prints a markdown table.
#   [BUILD=dir] bench/heap.sh [ROUNDS] [SECONDS]   (ROUNDS default 5, SECONDS per measure 0.3)
#
# Three primaries live at once: hugemem, DPDK in its default dynamic memory
# mode, DPDK with --legacy-mem; each round asks each of them in turn, so a
# shared machine's load falls on all three alike. One-process rates are per
# second of the measuring thread's CPU time (a preempted thread does not
# count the time it waited); primary + secondary rates are per second of
# wall time (they wait for each other's lock), summed over both.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
secs=${2:-0.3}
build=${BUILD:-$top/build} # make's build directory
out=$build/bench/heap
hp=/sys/kernel/mm/hugepages/hugepages-2048kB
[ "$(id -u)" = 0 ] || { echo "bench/heap.sh: needs root" >&2; exit 1; }
[ -f "$build/libhugemem.a" ] || { echo "bench/heap.sh: run make first" >&2; exit 1; }
mkdir -p "$out"
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$top/include" -o "$out/heap_bench" "$top/bench/heap_bench.c" \
	"$build/libhugemem.a" -lpthread
# shellcheck disable=SC2046
cc -O2 -o "$out/dpdk_malloc" "$top/bench/probes/dpdk_malloc.c" $(pkg-config --cflags --libs libdpdk)

. "$top/test/lock.sh" # the lock, held so that no program started here inherits it
hm_test_lock 86400 || { echo "bench/heap.sh: cannot take $HM_TEST_LOCK" >&2; exit 1; }
orig=$(cat $hp/nr_hugepages)
mnt=$out/huge
export HUGEMEM_RUNTIME_DIR=$out/run
pids=""
cleanup() {
	for fd in ${FD_hm:-} ${FD_dyn:-} ${FD_leg:-}; do eval "exec $fd>&-"; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	umount "$mnt" 2>/dev/null || true
	echo "$orig" >$hp/nr_hugepages
}
trap cleanup EXIT
echo $((orig + 450)) >$hp/nr_hugepages
mkdir -p "$mnt"
mount -t hugetlbfs -o pagesize=2M nodev "$mnt"

HM=("$out/heap_bench")
DP=("$out/dpdk_malloc")
EAL_dyn=(--no-pci --huge-dir "$mnt" --file-prefix hmbdyn -m 256 --log-level=1)
EAL_leg=(--no-pci --huge-dir "$mnt" --file-prefix hmbleg -m 256 --log-level=1 --legacy-mem)

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# start KEY CMD...: a primary reading commands from a fifo (fd FD_KEY); waits for "ready"
start() {
	local key=$1 fd
	shift
	rm -f "$out/$key.in" "$out/$key.out"
	mkfifo "$out/$key.in"
	"$@" <"$out/$key.in" >"$out/$key.out" 2>"$out/$key.err" &
	pids="$pids $!"
	exec {fd}>"$out/$key.in"
	eval "FD_$key=$fd"
	for _ in $(seq 600); do grep -q ready "$out/$key.out" && return 0; sleep 0.05; done
	echo "primary $key did not start: $(cat "$out/$key.err")" >&2
	exit 1
}
# ask KEY FIELD COMMAND...: one command to primary KEY; field 2 (wall) or 3 (CPU) of its answer
ask() {
	local key=$1 field=$2 n fd
	shift 2
	eval "fd=\$FD_$key"
	n=$(wc -l <"$out/$key.out")
	echo "$*" >&"$fd"
	while [ "$(wc -l <"$out/$key.out")" -le "$n" ]; do sleep 0.01; done
	tail -n 1 "$out/$key.out" | awk -v f="$field" '{ print $f }'
}
# secondary KEY SIZE ZERO: start one at once, on CPU 1
secondary() {
	case $1 in
	hm) taskset -c 1 "${HM[@]}" secondary hmb "$2" "$secs" "$3" ;;
	dyn) "${DP[@]}" -l 1 --proc-type=secondary "${EAL_dyn[@]}" -- secondary "$2" "$secs" "$3" ;;
	leg) "${DP[@]}" -l 1 --proc-type=secondary "${EAL_leg[@]}" -- secondary "$2" "$secs" "$3" ;;
	esac >"$out/sec.out" 2>"$out/sec.err"
}
# both KEY SIZE ZERO: (primary + secondary) pairs/s, run at once, wall time
both() {
	local p s
	secondary "$@" &
	sleep 0.05 # the secondary attaching, then both run at once
	p=$(ask "$1" 2 pairs "$2" "$secs" "$3")
	wait $!
	s=$(awk '{ print $2 }' "$out/sec.out")
	awk -v a="$p" -v b="$s" 'BEGIN { print a + b }'
}

start hm taskset -c 0 "${HM[@]}" primary hmb 256
start dyn "${DP[@]}" -l 0 "${EAL_dyn[@]}" -- primary
start leg "${DP[@]}" -l 0 "${EAL_leg[@]}" -- primary

# one file of samples per measure: $out/s.KEY.MEASURE, a line per round
rm -f "$out"/s.*
for _ in $(seq "$rounds"); do
	for key in hm dyn leg; do
		zeros=0
		[ $key = hm ] && zeros="0 1"
		for size in 64 2048 1048576; do
			for zero in $zeros; do
				ask $key 3 pairs $size "$secs" $zero >>"$out/s.$key.$size.$zero"
				both $key $size $zero >>"$out/s.$key.both.$size.$zero"
			done
		done
		ask $key 3 xlate "$secs" >>"$out/s.$key.xlate"
	done
done
m() { median <"$out/s.$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "—" }'; }
human() { awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2f M", v / 1e6; else if (v >= 1e3) printf "%.1f k", v / 1e3; else printf "%.0f", v }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
name() { case $1 in 64) echo "64 B" ;; 2048) echo "2 KiB" ;; 1048576) echo "1 MiB" ;; esac; }
row() { # LABEL HM0 HM1 DYN LEG
	local best
	best=$(max "$4" "$5")
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(human "$2")" "$(human "$3")" \
		"$(human "$4")" "$(human "$5")" "$(ratio "$2" "$best")" "$(ratio "$3" "$best")"
}

echo "# Heap: hugemem against DPDK $(pkg-config --modversion libdpdk)"
echo
echo "Made by \`bench/heap.sh $rounds $secs\` on $(date -u +%Y-%m-%d), $(nproc) cores, Linux $(uname -r)."
echo "256 MiB of 2 MiB pages for each of three primaries alive at once: hugemem, DPDK in its"
echo "default dynamic memory mode, DPDK with \`--legacy-mem\`; each round asks each in turn."
echo "Medians of $rounds rounds of $secs s; primaries on CPU 0, secondaries on CPU 1; blocks 64-byte"
echo "aligned, one byte written in each. One-process rates are per second of the thread's CPU"
echo "time (the machine is shared); primary + secondary rates are the sum of both, per second of"
echo "wall time. Ratios are against the faster DPDK mode."
echo
echo "hm_free never clears memory; rte_free clears what it frees (so rte_zmalloc need not):"
echo "\"hm_zmalloc + hm_free\" is the like-for-like column (one clearing per pair on both sides);"
echo "\"hm_malloc + hm_free\" is what a caller that does not need zeroed memory gets."
echo
echo "| alloc + free pairs/s | hm_malloc + hm_free | hm_zmalloc + hm_free | rte_malloc + rte_free (dynamic) | rte_malloc + rte_free (legacy) | ratio: hm_malloc | ratio: hm_zmalloc (like for like) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for size in 64 2048 1048576; do
	row "$(name $size), one process" "$(m hm.$size.0)" "$(m hm.$size.1)" \
		"$(m dyn.$size.0)" "$(m leg.$size.0)"
done
for size in 64 2048 1048576; do
	row "$(name $size), primary + secondary at once" "$(m hm.both.$size.0)" \
		"$(m hm.both.$size.1)" "$(m dyn.both.$size.0)" "$(m leg.both.$size.0)"
done
echo
echo "| virt → IOVA lookups/s | hugemem \`hm_virt2iova\` | DPDK \`rte_mem_virt2iova\` (dynamic) | (legacy) | ratio |"
echo "| --- | --- | --- | --- | --- |"
best=$(max "$(m dyn.xlate)" "$(m leg.xlate)")
printf '| 4096 random addresses in 1024 blocks of 64 KiB | %s | %s | %s | %s |\n' \
	"$(human "$(m hm.xlate)")" "$(human "$(m dyn.xlate)")" "$(human "$(m leg.xlate)")" \
	"$(ratio "$(m hm.xlate)" "$best")"
