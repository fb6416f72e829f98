#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/growth.sh — growth at run time (issue 17, item 7), in one run on one pool: every
# figure is a percentile or a median of this run, every ratio between two figures of it.
#   floor     the kernel's part of one growth: a fresh memfd (MFD_HUGETLB) of 1 or 3 pages of
#             2 MiB, ftruncate, mmap, MADV_POPULATE_WRITE (closed and unmapped between, untimed)
#   hugemem   hm_malloc of 64 KiB and of 4 MiB when the heap is full (hm_init -m 2 --max-mem):
#             only the calls during which hm_heap_stats' total grew are kept
#   DPDK      rte_malloc of the same sizes in DPDK 22.11's default dynamic memory mode (no -m,
#             no --legacy-mem; --no-pci, its own prefix on this script's hugetlbfs mount): only
#             the calls during which heap_totalsz_bytes grew are kept
# Each round runs every contender once, in an order rotated from one round to the next, as a
# process of its own that collects BATCH growths (its first growth is a warm-up, not kept); so
# each figure is over ROUNDS x BATCH growths, and the machine's load of the moment falls on
# all alike. Then translation after STEPS growth steps (hm_virt2iova against
# rte_mem_virt2iova and rte_malloc_virt2iova, random addresses in every block, per second of
# the thread's CPU time). Two more contenders of the rounds have a secondary attached while
# the primary grows by 64 KiB blocks: in hugemem (a forked hm_attach) the secondary then
# times its first call touching the grown unit (no IPC: it must notice by itself); in DPDK
# (bench/probes/dpdk_hold.c, --proc-type=secondary) the primary's rte_malloc includes the
# secondary's sync over DPDK's IPC. Last, the hugemem growth modes run once more under
# `perf trace` (strace -T when perf cannot trace here): the system calls of each growth,
# counted and timed from outside the library. The hugemem parts need growth in the library
# (hm_opts.max_mem): built without it, they print that they were not measured.
#
# As root. Takes the machine-wide lock (test/lock.sh), adds STEPS + 128 pages of 2 MiB to the
# pool and mounts its own hugetlbfs; on every exit path removes its page files, its runtime
# directories and its mount, and puts the pool's size back. Every contender must give back
# every page it took (free_hugepages is compared after each one). Prints bench/GROWTH.md.
#
# usage: [BUILD=dir] bench/growth.sh [--rounds R] [--batch N] [--steps S] [--secs SEC]
#   --rounds R   rounds (default 10)
#   --batch N    growths kept per contender and round (default 20)
#   --steps S    growth steps before translation is timed (default 1000)
#   --secs SEC   CPU seconds per translation round (default 0.2; 7 rounds)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/bench/growth
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
ROUNDS=10 BATCH=20 STEPS=1000 SECS=0.2 XROUNDS=7 INVOKED="bench/growth.sh $*"
PREFIX=hbench$$ DPREFIX=hbench$$d

die() { echo "bench/growth.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=${2:?--rounds R}; shift ;;
	--batch) BATCH=${2:?--batch N}; shift ;;
	--steps) STEPS=${2:?--steps S}; shift ;;
	--secs) SECS=${2:?--secs SEC}; shift ;;
	-h|--help) sed -n '3,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see bench/growth.sh --help)" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "must run as root: it mounts hugetlbfs and resizes the pool"
[ -d $HP ] || die "this kernel has no 2 MiB hugepages ($HP is missing)"
[ -f "$BUILD/libhugemem.a" ] || die "run make first ($BUILD/libhugemem.a is missing)"
command -v python3 >/dev/null || die "needs python3 (for the percentiles)"
pkg-config --exists libdpdk || die "needs DPDK (Debian's libdpdk-dev: tools/deps.sh)"

# ---------------------------------------------------------------- builds
mkdir -p "$OUT"
REORDER="" # the CLI, for `hugemem reorder` (a copy: a rebuild during the run must not change it)
if [ -x "$BUILD/hugemem" ]; then cp "$BUILD/hugemem" "$OUT/hugemem" && REORDER=$OUT/hugemem; fi
growth=() # the hugemem parts, when the library has growth
grep -q 'max_mem;' "$TOP/include/hugemem.h" && growth=(-DHM_BENCH_GROWTH)
cc -O2 -std=gnu11 -Wall -Wextra -D_GNU_SOURCE "${growth[@]}" -I"$TOP/include" \
	-o "$OUT/growth_bench" "$TOP/bench/growth_bench.c" "$BUILD/libhugemem.a" -lpthread
# shellcheck disable=SC2046 # pkg-config's words
cc -O2 -o "$OUT/dpdk_grow_probe" "$TOP/bench/probes/dpdk_grow_probe.c" \
	$(pkg-config --cflags --libs libdpdk)
# shellcheck disable=SC2046
cc -O2 -o "$OUT/dpdk_hold" "$TOP/bench/probes/dpdk_hold.c" $(pkg-config --cflags --libs libdpdk)

# ---------------------------------------------------------------- the lock, the pool, the mount
# shellcheck source=test/lock.sh
. "$TOP/test/lock.sh" # held by a keeper process: no program started here inherits it
hm_test_lock 86400 || die "cannot take $HM_TEST_LOCK"
orig=$(cat $HP/nr_hugepages)
need=$((STEPS + 128))
MNT=$OUT/huge
export HUGEMEM_RUNTIME_DIR=$OUT/run
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	rm -f "$MNT/$PREFIX"* "$MNT/$DPREFIX"* 2>/dev/null || true
	umount "$MNT" 2>/dev/null || true
	rm -rf "$HUGEMEM_RUNTIME_DIR" "/var/run/dpdk/$DPREFIX"
	echo "$orig" >$HP/nr_hugepages
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo $((orig + need)) >$HP/nr_hugepages
free0=$(cat $HP/free_hugepages)
[ "$free0" -ge "$need" ] || die "the pool has $free0 free pages of 2 MiB; this run needs $need"
mkdir -p "$MNT"
mountpoint -q "$MNT" || mount -t hugetlbfs -o pagesize=2M nodev "$MNT"
# Touch every page of the run once (untimed): in a VM the first write to guest memory the
# host has not backed yet costs a host fault per 4 KiB (here up to 5 ms a 2 MiB page, 20x a
# later fault); untouched, whichever contender first drew fresh pages paid for it.
taskset -c 0 "$OUT/growth_bench" floor "$need" 1 >/dev/null ||
	die "could not fault the $need pages of the run once"
# DPDK's default mode keeps a descriptor per page
[ "$(ulimit -n)" -ge $((STEPS + 1024)) ] || ulimit -n $((STEPS + 1024))

# ---------------------------------------------------------------- the contenders
GB=("$OUT/growth_bench")
EAL=(-l 0 --no-pci --huge-dir "$MNT" --file-prefix "$DPREFIX" --log-level=1)
argv_of() {
	case "$1" in
	floor1) echo "taskset -c 0 ${GB[*]} floor 1 $BATCH" ;;
	floor3) echo "taskset -c 0 ${GB[*]} floor 3 $BATCH" ;;
	floor1k) echo "taskset -c 0 ${GB[*]} floor 1 $BATCH keep" ;;
	floor3k) echo "taskset -c 0 ${GB[*]} floor 3 $BATCH keep" ;;
	hm64k) echo "taskset -c 0 ${GB[*]} grow $PREFIX $MNT 65536 $BATCH 1024" ;;
	hm4m) echo "taskset -c 0 ${GB[*]} grow $PREFIX $MNT 4194304 $BATCH 1024" ;;
	hm64kva) echo "taskset -c 0 ${GB[*]} grow $PREFIX $MNT 65536 $BATCH 1024 va" ;;
	hm4mva) echo "taskset -c 0 ${GB[*]} grow $PREFIX $MNT 4194304 $BATCH 1024 va" ;;
	dpdk64k) echo "$OUT/dpdk_grow_probe ${EAL[*]} -- grow 65536 $BATCH" ;;
	dpdk4m) echo "$OUT/dpdk_grow_probe ${EAL[*]} -- grow 4194304 $BATCH" ;;
	hm64ks) echo "taskset -c 0 ${GB[*]} second $PREFIX $MNT $BATCH 1024" ;;
	dpdk64ks) echo "$OUT/dpdk_grow_probe ${EAL[*]} -- grow 65536 $BATCH wait" ;;
	hmxlate) echo "taskset -c 0 ${GB[*]} xlate $PREFIX $MNT $STEPS $XROUNDS $SECS $((STEPS * 2 + 256))" ;;
	dpdkxlate) echo "$OUT/dpdk_grow_probe ${EAL[*]} -- xlate $STEPS $XROUNDS $SECS" ;;
	esac
}
RAW=$OUT/raw.txt
: >"$RAW"
# started FILE: wait until a program's output FILE says "ready"
started() {
	for _ in $(seq 600); do grep -qx ready "$1" && return 0; sleep 0.05; done
	die "${1##*/} did not start: $(tail -3 "${1%.out}.err")"
}
# with_secondary ARGV...: run the DPDK primary ARGV (it waits on its standard input), attach
# a DPDK secondary (on CPU 1) to it, then let the primary grow
with_secondary() {
	local p s pin sin failed=""
	rm -f "$OUT/p.in" "$OUT/s.in"
	mkfifo "$OUT/p.in" "$OUT/s.in"
	"$@" <"$OUT/p.in" >"$OUT/dpdk64ks.out" 2>"$OUT/dpdk64ks.err" &
	p=$!
	exec {pin}>"$OUT/p.in"
	started "$OUT/dpdk64ks.out"
	"$OUT/dpdk_hold" -l 1 --proc-type=secondary --no-pci --file-prefix "$DPREFIX" \
		--log-level=1 <"$OUT/s.in" >"$OUT/hold.out" 2>"$OUT/hold.err" &
	s=$!
	exec {sin}>"$OUT/s.in"
	started "$OUT/hold.out"
	echo go >&"$pin"
	wait "$p" || failed=1
	exec {pin}>&- {sin}>&-
	wait "$s" || failed=1
	[ -z "$failed" ]
}
# run WHO: one contender, its lines tagged with its name in RAW; the pool whole after it
run() {
	local who=$1 argv
	read -ra argv <<<"$(argv_of "$who")" # words without spaces
	# IOVA = PA: a 4 MiB block needs 3 IOVA-contiguous pages; the others' runs leave the free
	# list in any order, so it is put in order first (untimed), as the library's message says
	if [ "$who" = hm4m ] && [ -n "$REORDER" ]; then
		"$REORDER" reorder >/dev/null 2>&1 || die "hugemem reorder failed"
	fi
	if [ "$who" = dpdk64ks ]; then
		with_secondary "${argv[@]}" || die "$who failed: $(tail -3 "$OUT/$who.err")"
	else
		"${argv[@]}" >"$OUT/$who.out" 2>"$OUT/$who.err" ||
			die "$who failed: $(tail -3 "$OUT/$who.err")"
	fi
	sed "s/^/$who /" "$OUT/$who.out" >>"$RAW"
	rm -f "$MNT/$DPREFIX"* # DPDK leaves its page files for secondaries to come
	rm -rf "/var/run/dpdk/$DPREFIX"
	[ "$(cat $HP/free_hugepages)" = "$free0" ] ||
		die "$who did not give every page back: $(cat $HP/free_hugepages) free, $free0 before"
}
names=(floor1 floor3 floor1k floor3k hm64k hm4m hm64kva hm4mva dpdk64k dpdk4m hm64ks dpdk64ks)
for ((r = 0; r < ROUNDS; r++)); do
	k=$((r % ${#names[@]}))
	for who in "${names[@]:k}" "${names[@]:0:k}"; do run "$who"; done
done
run hmxlate
run dpdkxlate

# ---------------------------------------------------------------- where a growth's time goes
# The hugemem growth modes once more, traced from outside the library: growth_bench marks
# each growth with a getppid() (HM_BENCH_MARK), the system calls between two marks are one
# growth's. perf trace (tracepoints) when it works here, else strace -T (ptrace: slower).
TRACER=none
if perf trace -o /dev/null -- true >/dev/null 2>&1; then TRACER=perf
elif command -v strace >/dev/null; then TRACER=strace
fi
traced() {
	local who=$1 argv
	read -ra argv <<<"$(argv_of "$who")"
	if [ "$who" = hm4m ] && [ -n "$REORDER" ]; then
		"$REORDER" reorder >/dev/null 2>&1 || die "hugemem reorder failed"
	fi
	case $TRACER in
	perf) HM_BENCH_MARK=1 perf trace -o "$OUT/$who.trace" -- "${argv[@]}" ;;
	strace) HM_BENCH_MARK=1 strace -f -T -o "$OUT/$who.trace" "${argv[@]}" ;;
	esac >"$OUT/$who.tout" 2>"$OUT/$who.err" || die "$who (traced) failed: $(tail -3 "$OUT/$who.err")"
	[ "$(cat $HP/free_hugepages)" = "$free0" ] || die "$who (traced) did not give every page back"
}
if [ $TRACER != none ]; then for who in hm64k hm64kva hm4m hm4mva; do traced "$who"; done; fi

# ---------------------------------------------------------------- the figures
python3 - "$RAW" "$INVOKED" "$ROUNDS" "$BATCH" "$STEPS" "$XROUNDS" "$SECS" \
	"$(pkg-config --modversion libdpdk)" "$(nproc)" "$(uname -r)" "$TRACER" "$OUT" <<'EOF'
import re, statistics, sys, time
raw, cmd, rounds, batch, steps, xrounds, secs, dpdk, ncpu, kernel, tracer, out = sys.argv[1:]
lines = {}
for line in open(raw):
    who, *words = line.split()
    lines.setdefault(who, []).append(words)

def samples(who, kind, col):
    return [float(w[col]) for w in lines.get(who, []) if w[0] == kind]

def pct(v, p):  # nearest rank
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]

def skip(who):
    return next((" ".join(w[1:]) for w in lines.get(who, []) if w[0] == "skip"), None)

us = lambda ns: "%.0f" % (ns / 1e3) if ns >= 1e5 else "%.1f" % (ns / 1e3)
ratio = lambda a, b: "%.2f×" % (a / b) if a and b else "—"
iova = next((w[1] for w in lines.get("dpdk64k", []) if w[0] == "iova"), "?")

print("# Growth at run time: hugemem against the kernel floor and DPDK %s\n" % dpdk)
print("Issue 17, item 7. Made by `%s` (`make bench` runs it) on %s, %s cores, Linux %s."
      % (cmd.strip(), time.strftime("%Y-%m-%d", time.gmtime()), ncpu, kernel))
print("""One run on one pool of 2 MiB pages: %s rounds, each running every contender once as a
process of its own in an order rotated from one round to the next; each process keeps %s
growths (its first one is a warm-up, not kept), so each figure is over %d growths. Times are
wall time of the one call, in µs, on CPU 0.

- **floor**: what the kernel needs for the memory one growth maps: a fresh memfd
  (`MFD_HUGETLB`), `ftruncate`, `mmap`, `MADV_POPULATE_WRITE` of 1 page (what a 64 KiB block
  needs) or 3 pages (a 4 MiB block and its header), unmapped and closed between (untimed):
  the kernel then hands the page just freed out again, still in the CPU's caches (the
  issue's floor: "p50 ÷ floor"). "Pages not just freed": each memfd kept open until the
  process ends, so every fault gets other pages ("p50 ÷ floor of pages not just freed").
  **The second is the fair floor for a growth**: a heap that grows keeps the pages it has,
  so each growth takes pages from the pool that no one wrote a moment ago, exactly what the
  kept-memfd floor faults; the recycled floor measures a case a growth never meets (a page
  freed microseconds before, its 2 MiB partly still in cache, so the zeroing is cheaper).
  Every page of the run is faulted once before the rounds (untimed): in a VM the first
  write to a guest page the host has not backed yet costs a host fault per 4 KiB.
- **hugemem**: `hm_malloc` when the heap is full (`hm_init -m 2 --max-mem 1G`, filled by the
  calls before): only the calls during which `hm_heap_stats`' total grew are kept. IOVA as PA
  (the default as root) and as VA (`--iova-mode va`): with PA a block is IOVA-contiguous, so
  a 4 MiB growth needs 3 physically contiguous pages; the pool is put in order
  (`hugemem reorder`, untimed) before each such process, the others' runs having left the
  kernel's free list in any order.
- **DPDK**: `rte_malloc` in the default dynamic memory mode (no `-m`, no `--legacy-mem`;
  `--no-pci`, a page file each in hugetlbfs, IOVA as %s): only the calls during which
  `heap_totalsz_bytes` grew are kept.
""" % (rounds, batch, int(rounds) * int(batch), iova))

floor = {1: samples("floor1", "floor", 2), 3: samples("floor3", "floor", 2)}
pop = {1: samples("floor1", "floor", 3), 3: samples("floor3", "floor", 3)}
fresh = {1: samples("floor1k", "floor", 2), 3: samples("floor3k", "floor", 2)}
print("| one growth, µs | p50 | p99 | MiB added (median) | p50 ÷ floor | p50 ÷ DPDK |"
      " p50 ÷ floor of pages not just freed |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for pages in (1, 3):
    f = floor[pages]
    print("| floor, %d page%s (the populate alone: p50 %s) | %s | %s | %d | 1 | | |"
          % (pages, "s" if pages > 1 else "", us(pct(pop[pages], 50)), us(pct(f, 50)),
             us(pct(f, 99)), pages * 2))
    print("| floor, %d page%s, pages not just freed | %s | %s | %d | %s | | 1 |"
          % (pages, "s" if pages > 1 else "", us(pct(fresh[pages], 50)),
             us(pct(fresh[pages], 99)), pages * 2, ratio(pct(fresh[pages], 50),
                                                          pct(f, 50))))
todo, fails = [], []
two = ", a secondary attached"
groups = ((1, "dpdk64k", "64 KiB", (("hm64k", ""), ("hm64kva", ", IOVA as VA"))),
          (3, "dpdk4m", "4 MiB", (("hm4m", " (pool ordered before)"), ("hm4mva", ", IOVA as VA"))),
          (1, "dpdk64ks", "64 KiB" + two, (("hm64ks", ""),)))
row = lambda label, v, grew, fl, other, fr: print(
    "| %s | %s | %s | %.0f | %s | %s | %s |"
    % (label, us(pct(v, 50)), us(pct(v, 99)), statistics.median(grew) / 2**20,
       ratio(pct(v, 50), fl), ratio(pct(v, 50), pct(other, 50)) if other else "",
       ratio(pct(v, 50), fr)))
for pages, dp, name, hms in groups:
    d, fl, fr = samples(dp, "grow", 2), pct(floor[pages], 50), pct(fresh[pages], 50)
    for hm, note in hms:
        col, gcol, kind = (4, 5, "second") if hm == "hm64ks" else (2, 3, "grow")
        h, label = samples(hm, kind, col), "hugemem `hm_malloc` %s%s" % (name, note)
        failed = [w for w in lines.get(hm, []) if w[0] == "fail"]
        if failed:
            label += " — %d calls failed" % len(failed)
            fails.append("%s: %s" % (label, " ".join(failed[0][3:])))
        if not h:
            why = skip(hm) or "no call grew"
            print("| %s | %s | | | | | |" % (label, "to be measured when growth lands"
                                         if "no growth" in why else "not measured (below)"))
            todo.append((label, why))
            continue
        row(label, h, samples(hm, kind, gcol), fl, d, fr)
    row("DPDK `rte_malloc` %s" % name, d, samples(dp, "grow", 3), fl, None, fr)
print("\nThe issue's target, hugemem ≤ 1.5× the floor, against each floor (p50):\n")
print("| hugemem row | ÷ floor (recycled page) | ≤ 1.5×? | ÷ fair floor (pages not just freed) | ≤ 1.5×? |")
print("| --- | --- | --- | --- | --- |")
for pages, hm, name in ((1, "hm64k", "64 KiB, IOVA as PA"), (1, "hm64kva", "64 KiB, IOVA as VA"),
                        (3, "hm4m", "4 MiB, IOVA as PA"), (3, "hm4mva", "4 MiB, IOVA as VA")):
    h = samples(hm, "grow", 2)
    if h:
        a, b = pct(h, 50) / pct(floor[pages], 50), pct(h, 50) / pct(fresh[pages], 50)
        print("| %s | %.2f× | %s | %.2f× | %s |" % (name, a, "met" if a <= 1.5 else "**not met**",
                                                   b, "met" if b <= 1.5 else "**not met**"))
print("\nTargets: hugemem ≤ 1.5× the floor; the ratio to DPDK is reported. With a secondary"
      " attached (rows \"a secondary attached\"), hugemem's primary does not wait for it;"
      " DPDK's primary syncs it over IPC before `rte_malloc` returns.")
why_rows = {}
for label, why in todo:
    why_rows.setdefault(why, []).append(label)
for why, labels in why_rows.items():
    print("\nNot measured: %s. Why: %s" % ("; ".join(labels), why))
for f in fails:
    print("\n%s (the first message)." % f)

print("\n## Translation after %s growth steps\n" % steps)
print("""Each side grows %s times through 64 KiB allocations (the heap filled between growths:
%s units of 2 MiB), then translates 4096 random addresses of the blocks it allocated, over and
over for %s s of the thread's CPU time, %s times; medians, ns per call.
""" % (steps, steps, secs, xrounds))
hx = samples("hmxlate", "xlate", 1)
dx, dm = samples("dpdkxlate", "xlate", 1), samples("dpdkxlate", "xlate", 2)
lay = lambda who: next((w[1:] for w in lines.get(who, []) if w[0] == "layout"), None)
med = lambda v: statistics.median(v) if v else 0
print("| translation, ns per call | median | segments (memsegs) | heap MiB | hugemem is faster by |")
print("| --- | --- | --- | --- | --- |")
if hx:
    l = lay("hmxlate")
    print("| hugemem `hm_virt2iova` | %.1f | %s | %.0f | |" % (med(hx), l[0], int(l[1]) / 2**20))
else:
    print("| hugemem `hm_virt2iova` | to be measured when growth lands | | | |")
l = lay("dpdkxlate")
print("| DPDK `rte_mem_virt2iova` (IOVA as %s) | %.1f | %s | %.0f | %s |"
      % (iova, med(dx), l[0], int(l[1]) / 2**20, ratio(med(dx), med(hx))))
print("| DPDK `rte_malloc_virt2iova` | %.1f | | | %s |" % (med(dm), ratio(med(dm), med(hx))))
print("\nTarget: `hm_virt2iova` ≥ 100× faster than `rte_mem_virt2iova`.")

print("\n## A secondary's first access to grown memory\n")
print("""A secondary (a forked child, `hm_attach`) is attached; the primary grows the heap by one
64 KiB `hm_malloc` and hands the block's address over a pipe; the secondary's first call that
touches the grown unit — in turn `hm_virt2iova` of the block, `hm_free` of it, `hm_malloc`
of 64 KiB (served from the grown unit: the rest of the heap is full) — is timed, then the same
call once more ("later"). No IPC: the secondary must notice the growth by itself, and the
first call carries all it does for that (and its own first fault on the unit's page). µs.
""")
s = skip("hm64ks")
if s or not samples("hm64ks", "second", 2):
    print("Not measured: %s.\n" % (s or "no samples"))
else:
    print("| secondary's call | calls | first, p50 | first, p99 | later, p50 |")
    print("| --- | --- | --- | --- | --- |")
    for op in ("hm_virt2iova", "hm_free", "hm_malloc"):
        f = [float(w[2]) for w in lines["hm64ks"] if w[0] == "second" and w[1] == op]
        l = [float(w[3]) for w in lines["hm64ks"] if w[0] == "second" and w[1] == op]
        print("| `%s` | %d | %.2f | %.2f | %.2f |" % (op, len(f), pct(f, 50) / 1e3,
                                                     pct(f, 99) / 1e3, pct(l, 50) / 1e3))
    print("\nDPDK's secondaries learn of growth the other way: the primary's `rte_malloc` that"
          " grows waits for every secondary to map the pages over DPDK's IPC (the rows \"a"
          " secondary attached\" in the first table).")

print("\n## Where a growth's time goes\n")
# one system call of a trace: (name, seconds); perf trace: "T ( D ms): comm/tid name(...",
# strace -T: "pid name(...) = r <D>"
PERF = re.compile(r"^\s*[\d.]+ \(\s*([\d.]+) ms\): \S+ (\w+)\(")
STRACE = re.compile(r"^\d+\s+(\w+)\(.*<([\d.]+)>$")
def calls(path):
    for line in open(path):
        m = PERF.match(line)
        if m:
            yield m.group(2), float(m.group(1)) / 1e3
            continue
        m = STRACE.match(line)
        if m:
            yield m.group(1), float(m.group(2))
def growths(path):  # the calls between two marks; the first growth is the warm-up
    segs, cur, marks = [], None, []
    for name, sec in calls(path):
        if name == "getppid":
            marks.append(sec)
            if cur is not None:
                segs.append(cur)
            cur = []
        elif cur is not None:
            cur.append((name, sec))
    return segs[1:], marks
why = {
    "openat": "page file: created (O_TMPFILE)", "newfstatat": "page file: its inode",
    "write": "page file: recorded in the run directory", "flock": "page file: locked (in use)",
    "linkat": "page file: named in hugetlbfs", "ftruncate": "page file: sized",
    "close": "page file: descriptor closed", "mmap": "a scratch place, the page mapped there",
    "munmap": "the scratch place trimmed to alignment", "madvise": "MADV_DONTFORK; "
    "MADV_POPULATE_WRITE (the fault and zeroing: the floor's part)", "mbind": "bound to the node",
    "sched_getaffinity": "the calling thread's node", "rt_sigprocmask": "signals blocked "
    "around the populate", "pread64": "pagemap: the page's physical address",
    "move_pages": "the node the page landed on", "mremap": "the page moved into the growth area",
    "getpid": "pid checks", "unlinkat": "page files of pages given back (not contiguous)",
}
runs = (("hm64k", "64 KiB, PA"), ("hm64kva", "64 KiB, VA"), ("hm4m", "4 MiB, PA"),
        ("hm4mva", "4 MiB, VA"))
data = {}
for who, _ in runs:
    try:
        segs, marks = growths("%s/%s.trace" % (out, who))
    except OSError:
        segs, marks = [], []
    if segs:
        grown = [float(l.split()[2]) for l in open("%s/%s.tout" % (out, who))
                 if l.startswith("grow ")]
        data[who] = (segs, statistics.median(marks), grown)
if not data:
    print("Not measured: %s." % ("neither perf nor strace is installed" if tracer == "none"
                                 else "the traces hold no growth"))
else:
    floor_call = statistics.median(v[1] for v in data.values())
    print("""The hugemem growth modes once more (after the rounds, not in the figures above), under
`%s`: `growth_bench` makes a `getppid()` (a call the library never makes) before the
first growth and after each one, and the calls between two of them are one growth's. %d
growths each (the warm-up left out): calls per growth are means, times per growth medians
(the machine was shared: a few growths took 10 ms or more). The tracer slows every call: the
marker itself, which does nothing, takes %.1f µs traced, so each call's time below is its
traced time less %.1f µs (\"net\"); the counts are exact. The untraced p50 is the first
table's. The floor's own calls (`memfd_create`, `ftruncate`, `mmap`, `MADV_POPULATE_WRITE`)
are 4 per growth; everything else below is what hugemem adds.
""" % ("perf trace" if tracer == "perf" else "strace -f -T", len(next(iter(data.values()))[0]),
       floor_call * 1e6, floor_call * 1e6))
    names = sorted({n for segs, _, _ in data.values() for s in segs for n, _ in s},
                   key=lambda n: -max(sum(max(0, d - floor_call) for m, d in s if m == n)
                                      for segs, _, _ in data.values() for s in segs))
    hdr = " | ".join("%s: calls | net µs" % label for who, label in runs if who in data)
    print("| system call | what hugemem does with it | %s |" % hdr)
    print("| --- | --- |%s" % (" --- | --- |" * len(data)))
    per = lambda segs, f: sum(f(s) for s in segs) / len(segs)  # counts: the mean
    mid = lambda segs, f: statistics.median(f(s) for s in segs)  # times: the median
    for n in names:
        cells = []
        for who, _ in runs:
            if who in data:
                segs = data[who][0]
                cells.append("%.1f | %.1f" % (per(segs, lambda s: sum(m == n for m, _ in s)),
                             mid(segs, lambda s: sum(max(0, d - floor_call) * 1e6
                                                     for m, d in s if m == n))))
        print("| `%s` | %s | %s |" % (n, why.get(n, ""), " | ".join(cells)))
    tot, plain = [], []
    for who, _ in runs:
        if who in data:
            segs = data[who][0]
            tot.append("**%.1f** | **%.1f**" % (per(segs, len), mid(segs, lambda s: sum(
                max(0, d - floor_call) * 1e6 for _, d in s))))
            h = samples(who, "grow", 2)
            plain.append(" | %s" % us(pct(h, 50)) if h else " | ")
    print("| all system calls | | %s |" % " | ".join(tot))
    print("| the growth, untraced (p50, µs; first table) | | %s |" % " | ".join(plain))
    fails = {who: sum(1 for l in open("%s/%s.tout" % (out, who)) if l.startswith("fail "))
             for who in data}
    if any(fails.values()):
        print("\nGrowths that failed in the traced runs (their calls are in the means: a "
              "failed growth maps pages, finds no contiguous run, gives them back): %s."
              % ", ".join("%s %d" % (l, fails[w]) for w, l in runs if fails.get(w)))
EOF
