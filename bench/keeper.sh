#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/keeper.sh — the pool keeper's targets (issue 18, item 6), in one run on one pool: every
# figure is a median (or p90) over the repetitions of this run, every ratio between two
# figures of it. Three keepers run for the whole run (docs/keeper.md): --keep 2G with the
# default --chunk 32M, in $HUGEMEM_RUNTIME_DIR-keeper where `hugemem init` finds it by itself
# (--keeper auto), and two small ones for other chunk sizes (--chunk 2M --keep 64M,
# --chunk 64M --keep 128M); a fourth (--keep 1G) is started anew when a contender needs a
# fresh one. Each repetition runs every contender once, as a process of its
# own, in an order rotated from one repetition to the next; between two contenders (untimed)
# the script waits until every keeper holds all its memory free again and checks that the
# pool is whole and no page file is left.
#   floorN    kernel_populate_probe N (bench/probes/): N MiB of 2 MiB pages faulted on one
#             thread (MAP_HUGETLB, MADV_POPULATE_WRITE): the kernel floor, for 1024, 64, 32, 2
#   true      a C program that only returns: a bare exec (process start)
#   start     `hugemem --version`: the same binary's start (docs/benchmarks.md's)
#   init1g    `hugemem init -m 1024 --json --trace` served by the keeper (the script checks
#             that --trace says "served"): hm_init's own time (timings_ms.total) and the whole
#             command (fork to reap, bench/timecmd.c)
#   init64    `hugemem init -m 64 ...` served by the keeper, whole command
#   plain64, plain64shm   `hugemem init -m 64 --keeper DIR` as an administrator types it (no
#             --json, no --trace: the target's command; the explicit keeper fails it unless
#             served), /run and tmpfs
#   least64, least64shm   keeper_bench least: the least a served start must do (connect,
#             HELLO, LEASE, map, prefix directory and lock, a layout written, a line printed,
#             all undone), a program with no more in it: the floor of the target's command
#             for this design on this machine, /run and tmpfs
#   init64off, init1goff   the same with --keeper off (page files, faulted by hm_init)
#   init64shm, init1gshm, init64offshm   the same with the runtime directory on a tmpfs
#             (HUGEMEM_RUNTIME_DIR=/dev/shm/hm-keeperbench, --keeper naming the keeper): /run is
#             a tmpfs on most systems, and creating and removing a directory there costs
#             microseconds, where an ext4 /run can take milliseconds
#   init1gfresh  `hugemem init -m 1024` from a fourth keeper (--keep 1G) started anew (untimed)
#             just before: chunks as ordered as the pool allows, never given back and faulted
#             again (the keeper of 2 GiB serves many clients: its chunks drift apart in
#             physical memory, and hm_init then moves more, smaller pieces into its window)
#   hminit1g, hminit64  keeper_bench init: hm_init -m 1024 (64) and hm_fini timed around the calls
#   lease1g   keeper_bench lease: a client's steps for 1 GiB (hm_sysinfo_read, connect,
#             LEASE, map, unmap, RETURN, until the keeper has faulted all of it again)
#   rfC{r,x}  keeper_bench refault on the keeper of C MiB chunks: one chunk given back
#             (r: RETURN; x: its client exits) until the keeper has it free again (the
#             keeper's own stamp, read from STATUS once the polling, every ms, sees it free)
#   busy1g{r,x}  keeper_bench busy: 1 GiB given back (r: RETURN; x: its client exits), then at
#             once `hugemem init -m 1024` from the keeper's other GiB while the keeper's
#             worker faults the returned one again: is the client's time unchanged?
#   busy1gri  busy1gr with the keeper's worker thread under SCHED_IDLE for that contender
#             (chrt --idle; set back after): what a worker that yields to every client gives
# Then (unless --no-perf, and when `perf trace` works) the keeper's own view of a refault:
# `perf trace` attached to the three keepers (memfd_create, write, fallocate) while the rf*
# contenders and the floors for their sizes run again, interleaved, min(REPS, 11) times: the
# worker's refault is its memfd_create to its eventfd write, the punch the main thread's
# burst of fallocate calls. Then whether a keeper's chunks stay in physical order as they come
# and go: the fourth keeper started anew, 1 GiB leased and given back 6 times in one RETURN
# (keeper_bench order), the runs of its chunks counted at each lease; once with its main
# thread and its worker pinned to different CPUs (the worker faults the first chunk again
# while the main thread still punches the others), once both on one CPU. Last (unless
# --no-strace) `hugemem init -m 1024` and `-m 64` served by the keeper under strace -f -T,
# 3 times each, the system calls summed by name. Prints bench/KEEPER.md's tables (markdown)
# on stdout; takes about 5 minutes (--reps 21, perf and strace included).
#
# As root. Takes the machine-wide lock (test/lock.sh); grows the 2 MiB pool by what it lacks
# and shrinks it by exactly that much at the end; mounts a hugetlbfs only when none is
# (for --keeper off); the keepers' and hugemem's runtime directories are /run/hm-keeperbench*.
# Every exit path stops the keepers (SIGTERM: they punch their chunks and remove their
# directories), removes the page files of its prefix, its directories and its mount, and puts
# the pool's size back. Run it as `bash test/setup.sh -- bash bench/keeper.sh`.
#
# usage: [BUILD=dir] bench/keeper.sh [--reps N] [--rt] [--no-perf] [--no-strace] [--raw FILE]
#   --reps N      repetitions (default 21)
#   --rt          every contender under SCHED_FIFO (chrt -f 10): on a machine others load,
#                 what is measured is then the programs, not the others' slices; the keepers
#                 run as a daemon does (SCHED_OTHER)
#   --no-perf     skip the keeper's own view (perf trace)
#   --no-strace   skip the traced inits
#   --raw FILE    every run, one line each (default BUILD/bench/keeper/raw.txt)
# BUILD: a build directory holding hugemem and libhugemem.a (default build/, made here).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-}
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
REPS=21 RT=() PERF=1 STRACE=1 RAW="" INVOKED="bench/keeper.sh $*"
KEEP_MIB=2048 # 1 GiB for the clients plus 1 GiB given back while they start (busy1g*)
RUN=/run/hm-keeperbench
K32=$RUN-keeper K2=$RUN-k2m K64=$RUN-k64m K1=$RUN-k1g
SHM=/dev/shm/hm-keeperbench
PREFIX=hkb

die() { echo "bench/keeper.sh: $*" >&2; exit 1; }
say() { echo "bench/keeper.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--reps) REPS=${2:?--reps N}; shift ;;
	--rt) RT=(chrt -f 10) ;;
	--no-perf) PERF=0 ;;
	--no-strace) STRACE=0 ;;
	--raw) RAW=${2:?--raw FILE}; shift ;;
	-h|--help) sed -n '3,68p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see bench/keeper.sh --help)" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "must run as root: the keeper orders the pool and reads physical addresses"
[ -d $HP ] || die "this kernel has no 2 MiB hugepages ($HP is missing)"
command -v python3 >/dev/null || die "needs python3 (for the medians)"
[ "$REPS" -gt 0 ] 2>/dev/null || die "--reps must be a positive number"

# ---------------------------------------------------------------- builds (copies: a rebuild
# of the tree during the run must not change what is measured)
if [ -z "$BUILD" ]; then
	make -C "$TOP" -s lib cli >&2
	BUILD=$TOP/build
fi
if [ ! -x "$BUILD/hugemem" ] || [ ! -f "$BUILD/libhugemem.a" ]; then
	die "$BUILD has no hugemem or libhugemem.a: run make first"
fi
OUT=$BUILD/bench/keeper
mkdir -p "$OUT"
RAW=${RAW:-$OUT/raw.txt}
HM=$OUT/hugemem
cp "$BUILD/hugemem" "$HM"
cc -O2 -o "$OUT/kernel_populate_probe" "$TOP/bench/probes/kernel_populate_probe.c" -lpthread
cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o "$OUT/timecmd" "$TOP/bench/timecmd.c"
echo 'int main(void) { return 0; }' >"$OUT/true.c"
cc -O2 -o "$OUT/true" "$OUT/true.c"
cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -I"$TOP/include" -I"$TOP/src" -I"$TOP/uapi" \
	-o "$OUT/keeper_bench" "$TOP/bench/keeper_bench.c" "$BUILD/libhugemem.a" -lpthread
KB=$OUT/keeper_bench

# ---------------------------------------------------------------- the lock, the pool, a mount
# shellcheck source=test/lock.sh
. "$TOP/test/lock.sh" # held by a keeper process: no program started here inherits it
hm_test_lock 3600 || die "cannot take $HM_TEST_LOCK"
export HUGEMEM_RUNTIME_DIR=$RUN
added=0 mnt="" kpids=() k1pid="" perfpid=""
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$? nr p
	trap - EXIT INT TERM
	[ -z "$perfpid" ] || { kill -INT "$perfpid" 2>/dev/null; wait "$perfpid" 2>/dev/null || true; }
	for p in "${kpids[@]}" $k1pid; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${kpids[@]}" $k1pid; do wait "$p" 2>/dev/null || true; done
	awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r m; do
		rm -f "$m/$PREFIX"* "$m/hkbprobe"*
	done
	rm -rf "$RUN" "$K32" "$K2" "$K64" "$K1" "$SHM"
	if [ -n "$mnt" ]; then
		umount "$mnt" 2>/dev/null || say "could not unmount $mnt"
		rmdir "$mnt" 2>/dev/null || true
	fi
	if [ "$added" -gt 0 ]; then
		nr=$(cat $HP/nr_hugepages)
		echo $((nr > added ? nr - added : 0)) >$HP/nr_hugepages
		say "2 MiB pool back to $(cat $HP/nr_hugepages) pages (this run added $added)"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the keepers' memory, the 1 GiB of the floor or of --keeper off at a time, and some room
need=$((KEEP_MIB / 2 + 512 + 32 + 64 + 512 + 32))
avail=$(($(cat $HP/free_hugepages) - $(cat $HP/resv_hugepages)))
if [ "$avail" -lt "$need" ]; then
	nr=$(cat $HP/nr_hugepages)
	echo $((nr + need - avail)) >$HP/nr_hugepages
	added=$(($(cat $HP/nr_hugepages) - nr))
	[ "$added" -ge 0 ] || added=0
	say "2 MiB pool grown by $added pages"
	avail=$(($(cat $HP/free_hugepages) - $(cat $HP/resv_hugepages)))
	[ "$avail" -ge "$need" ] || die "the pool has $avail free 2 MiB pages; this run needs $need"
fi
if [ -z "$(awk '$3 == "hugetlbfs" && $4 !~ /pagesize=(1024M|1G)/ && $4 ~ /(^|,)rw(,|$)/ { print $2; exit }' /proc/mounts)" ]; then
	mnt=$(mktemp -d /tmp/hkb-huge.XXXXXX)
	mount -t hugetlbfs -o pagesize=2M nodev "$mnt"
fi
# Touch every free page once (untimed): in a VM the first write to guest memory the host has
# not backed yet costs a host fault per 4 KiB; whichever contender drew such pages paid for it.
"$OUT/kernel_populate_probe" $((avail * 2)) >/dev/null || die "could not fault the pool once"

# ---------------------------------------------------------------- the keepers
kpid="" # the last keeper started
start_keeper() { # DIR ARGS...: in the background, until it says ready
	local dir=$1
	shift
	rm -f "$OUT/keeper.${dir##*-}.out" # not the "ready" of a keeper run before
	"$HM" keeper --runtime-dir "$dir" "$@" >"$OUT/keeper.${dir##*-}.out" 2>&1 &
	kpid=$!
	for _ in $(seq 600); do
		grep -q ready "$OUT/keeper.${dir##*-}.out" && return 0
		kill -0 "$kpid" 2>/dev/null || break
		sleep 0.1
	done
	die "the keeper in $dir did not start: $(cat "$OUT/keeper.${dir##*-}.out")"
}
start_keeper "$K32" --keep "${KEEP_MIB}M"
kpids+=("$kpid")
k32pid=$kpid
start_keeper "$K2" --keep 64M --chunk 2M
kpids+=("$kpid")
k2pid=$kpid
start_keeper "$K64" --keep 128M --chunk 64M
kpids+=("$kpid")
k64pid=$kpid
# the fresh keeper, started anew before each of its contender's runs (untimed)
fresh_keeper() {
	if [ -n "$k1pid" ]; then
		kill -TERM "$k1pid"
		wait "$k1pid" || die "the keeper in $K1 failed: $(cat "$OUT/keeper.k1g.out")"
	fi
	k1pid=""
	start_keeper "$K1" --keep 1G
	k1pid=$kpid
}
fresh_keeper
# The keeper's worker thread (the one that faults returned chunks): its task waits on a
# condition variable (futex); the main thread waits in epoll, the signal thread in sigwait.
worker=$(for t in /proc/"$k32pid"/task/*; do
	if grep -q futex "$t/wchan" 2>/dev/null; then echo "${t##*/}"; fi
done)
[ "$(echo "$worker" | wc -w)" = 1 ] || die "cannot tell the keeper's worker thread (tasks: $(cat /proc/"$k32pid"/task/*/wchan))"
# its policy, put back after busy1gri (SCHED_BATCH, as the keeper sets it: not --other, which
# left the worker SCHED_OTHER for every contender after the first busy1gri, runs A to E)
wpolicy=$(chrt -p "$worker" | sed -n 's/.*policy: SCHED_\([A-Z]*\).*/\1/p' | tr '[:upper:]' '[:lower:]')
case $wpolicy in other | batch | idle) ;; *) die "the keeper's worker runs under '$wpolicy'" ;; esac
free0=$(cat $HP/free_hugepages)

# ---------------------------------------------------------------- the runs
INIT=("$HM" init --json --trace --file-prefix "$PREFIX")
argv_of() {
	case "$1" in
	floor1g) echo "$OUT/kernel_populate_probe 1024" ;;
	floor64) echo "$OUT/kernel_populate_probe 64" ;;
	floor32) echo "$OUT/kernel_populate_probe 32" ;;
	floor2) echo "$OUT/kernel_populate_probe 2" ;;
	true) echo "$OUT/true" ;;
	start) echo "$HM --version" ;;
	init1g) echo "${INIT[*]} -m 1024" ;;
	init64) echo "${INIT[*]} -m 64" ;;
	plain64 | plain64shm) echo "$HM init -m 64 --file-prefix $PREFIX --keeper $K32" ;;
	least64 | least64shm) echo "$KB least $K32 64" ;;
	init64off) echo "${INIT[*]} -m 64 --keeper off" ;;
	init1goff) echo "${INIT[*]} -m 1024 --keeper off" ;;
	init64shm) echo "${INIT[*]} -m 64 --keeper $K32" ;;
	init1gshm) echo "${INIT[*]} -m 1024 --keeper $K32" ;;
	init64offshm) echo "${INIT[*]} -m 64 --keeper off" ;;
	init1gfresh) echo "${INIT[*]} -m 1024 --keeper $K1" ;;
	hminit1g) echo "$KB init 1024 $K32" ;;
	hminit64) echo "$KB init 64 $K32" ;;
	lease1g) echo "$KB lease $K32 1024" ;;
	rf32r) echo "$KB refault $K32 return" ;;
	rf32x) echo "$KB refault $K32 exit" ;;
	rf2r) echo "$KB refault $K2 return" ;;
	rf2x) echo "$KB refault $K2 exit" ;;
	rf64r) echo "$KB refault $K64 return" ;;
	rf64x) echo "$KB refault $K64 exit" ;;
	busy1gr) echo "$KB busy $K32 1024 return $OUT/busy.json -- ${INIT[*]} -m 1024" ;;
	busy1gx) echo "$KB busy $K32 1024 exit $OUT/busy.json -- ${INIT[*]} -m 1024" ;;
	busy1gri) echo "$KB busy $K32 1024 return $OUT/busy.json -- ${INIT[*]} -m 1024" ;;
	esac
}
names=(floor1g floor64 floor32 floor2 true start init1g init64 plain64 plain64shm least64 least64shm init64off init1goff init64shm
	init1gshm init64offshm init1gfresh hminit1g hminit64 lease1g rf32r rf32x rf2r rf2x rf64r rf64x busy1gr
	busy1gx busy1gri)
# settle: every keeper whole again, the pool whole, no page file left (untimed)
settle() {
	"$KB" wait "$K32" "$K2" "$K64" "$K1" >/dev/null || die "a keeper did not get its memory back"
	[ "$(cat $HP/free_hugepages)" = "$free0" ] ||
		die "after $1 the pool has $(cat $HP/free_hugepages) free pages, $free0 before"
	left=$(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r m; do
		ls "$m/$PREFIX"* 2>/dev/null || true
	done)
	[ -z "$left" ] || die "$1 left page files: $left"
}
: >"$RAW"
for ((rep = 0; rep < REPS; rep++)); do
	k=$((rep % ${#names[@]}))
	for who in "${names[@]:k}" "${names[@]:0:k}"; do
		settle "$who"
		[ "$who" != init1gfresh ] || fresh_keeper
		[ "$who" != busy1gri ] || chrt --idle -p 0 "$worker"
		rm -f "$OUT/busy.json"
		rundir=$RUN
		[[ $who != *shm ]] || rundir=$SHM
		# shellcheck disable=SC2046 # the argv is words without spaces
		res=$(HUGEMEM_RUNTIME_DIR=$rundir "${RT[@]}" "$OUT/timecmd" -t 120 -o "$OUT/out" \
			-e "$OUT/err" -- $(argv_of "$who")) || die "$who failed: $res $(cat "$OUT/err")"
		[ "$who" != busy1gri ] || chrt "--$wpolicy" -p 0 "$worker"
		served=$(sed -n 's/^hugemem init: keeper: //p' "$OUT/err" | head -1)
		case $who in
		init*off*) [[ $served == "not used"* ]] || die "$who used the keeper: $served" ;;
		init* | busy*) [[ $served == served* ]] || die "$who was not served: $served" ;;
		hminit*) [[ $(cat "$OUT/out") == *" 1" ]] || die "$who was not served: $(cat "$OUT/out")" ;;
		least*) [[ $(cat "$OUT/out") == "least 64 "* ]] || die "$who: $(cat "$OUT/out")" ;;
		esac
		inner=""
		[ ! -f "$OUT/busy.json" ] || inner=$(tr -d '\n' <"$OUT/busy.json")
		printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$who" "${res%% *}" "$(tr -d '\n' <"$OUT/out")" \
			"$inner" >>"$RAW"
	done
done
settle last

# ---------------------------------------------------------------- the keeper's own view
PERFRAW=$OUT/raw-perf.txt
: >"$PERFRAW"
PREPS=0
if [ $PERF = 1 ] && perf trace -o /dev/null -- true >/dev/null 2>&1; then
	PREPS=$((REPS < 11 ? REPS : 11))
	# the keepers' threads: which keeper a traced thread is
	for p in "$k2pid:2" "$k32pid:32" "$k64pid:64"; do
		for t in /proc/"${p%:*}"/task/*; do echo "tid ${t##*/} ${p#*:}"; done
	done >>"$PERFRAW"
	perf trace -p "$k2pid,$k32pid,$k64pid" -e memfd_create,write,fallocate \
		-o "$OUT/perf.trace" >/dev/null 2>&1 &
	perfpid=$!
	sleep 1 # attached
	pnames=(floor2 rf2r rf2x floor32 rf32r rf32x floor64 rf64r rf64x)
	for ((rep = 0; rep < PREPS; rep++)); do
		k=$((rep % ${#pnames[@]}))
		for who in "${pnames[@]:k}" "${pnames[@]:0:k}"; do
			settle "$who"
			# shellcheck disable=SC2046 # the argv is words without spaces
			res=$("${RT[@]}" "$OUT/timecmd" -t 120 -o "$OUT/out" -e "$OUT/err" -- \
				$(argv_of "$who")) || die "$who failed: $res $(cat "$OUT/err")"
			printf '%s\t%s\t%s\t%s\n' "$rep" "$who" "${res%% *}" "$(cat "$OUT/out")" >>"$PERFRAW"
		done
	done
	settle perf
	kill -INT "$perfpid"
	wait "$perfpid" || true
	perfpid=""
fi

# ---------------------------------------------------------------- chunk order after returns
ORDER=$OUT/raw-order.txt
: >"$ORDER"
for how in split same; do
	[ "$how" = same ] || [ "$(nproc)" -ge 2 ] || continue
	settle order
	fresh_keeper
	w1=$(for t in /proc/"$k1pid"/task/*; do
		if grep -q futex "$t/wchan" 2>/dev/null; then echo "${t##*/}"; fi
	done)
	[ "$(echo "$w1" | wc -w)" = 1 ] || die "cannot tell the worker thread of the keeper in $K1"
	taskset -p -c 0 "$k1pid" >/dev/null
	taskset -p -c "$([ $how = split ] && echo 1 || echo 0)" "$w1" >/dev/null
	"$KB" order "$K1" 1024 all 6 | sed "s/^/$how /" >>"$ORDER" || die "keeper_bench order failed"
done
settle order
fresh_keeper # unpinned again

# ---------------------------------------------------------------- inits, traced
TRACED=0
if [ $STRACE = 1 ] && command -v strace >/dev/null; then
	TRACED=3
	for i in $(seq $TRACED); do
		for mib in 1024 64; do
			strace -f -T -o "$OUT/strace.$mib.$i" "${INIT[@]}" -m $mib >/dev/null \
				2>"$OUT/strace.err" || die "the traced init failed: $(cat "$OUT/strace.err")"
			settle traced
		done
	done
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- the figures
python3 - "$RAW" "$INVOKED" "$REPS" "$(nproc)" "$(uname -r)" \
	"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$load0" "$load1" \
	"$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD -- src cli include 2>/dev/null || echo '+changes')" \
	"${RT[*]:-}" "$TRACED" "$OUT" "$(findmnt -no FSTYPE -T /run 2>/dev/null || echo '?')" \
	"$PREPS" <<'EOF'
import json, re, statistics, sys, time
raw, cmd, reps, ncpu, kernel, cpu, load0, load1, commit, rt, traced, out, runfs, preps = sys.argv[1:]
runs = {}
for line in open(raw):
    rep, who, wall, text, inner = (line.rstrip("\n").split("\t") + [""])[:5]
    r = {"wall": float(wall.split("=")[1])}
    w = text.split()
    if who.startswith("floor"):
        r["pop"] = float(w[0].split("=")[1])
    elif who.startswith("init"):
        j = json.loads(text)
        r["t"], r["segs"] = j["timings_ms"], len(j["segments"])
    elif who.startswith("busy"):
        j = json.loads(inner)
        r["wall"], r["before"], r["after"] = float(w[1]), int(w[2]), int(w[3])
        r["t"], r["segs"] = j["timings_ms"], len(j["segments"])
    elif w:
        r["w"] = w
    runs.setdefault(who, []).append(r)

def pct(v, p):  # nearest rank
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]
def med(who, f):
    return statistics.median(f(r) for r in runs[who])
def p90(who, f):
    return pct([f(r) for r in runs[who]], 90)
pop = lambda r: r["pop"]
wall = lambda r: r["wall"]
total = lambda r: r["t"]["total"]
step = lambda s: (lambda r: r["t"][s])
segs = lambda r: r["segs"]
col = lambda i: (lambda r: float(r["w"][i]))
ms = lambda x: "%.2f" % x if x < 100 else "%.1f" % x
def cell(who, f):
    return "%s (p90 %s)" % (ms(med(who, f)), ms(p90(who, f)))
met = lambda ok: "**met**" if ok else "**not met**"

print("Made by `%s` on %s UTC: %s repetitions, each contender once per repetition in an "
      "order rotated from one repetition to the next; medians (p90) in ms. %s CPUs (%s), "
      "Linux %s, load average %s at the start and %s at the end, `/run` on %s; tree %s%s."
      % (cmd.strip(), time.strftime("%Y-%m-%d %H:%M", time.gmtime()), reps, ncpu, cpu, kernel,
         load0, load1, runfs, commit, "; every contender under `%s`" % rt if rt else ""))

floor1g = med("floor1g", pop)
print("\n### 1. `hm_init` of 1 GiB served by the keeper, against the kernel floor for 1 GiB\n")
print("| measure | median (p90) | ÷ floor 1 GiB | target ≤ 0.1× | segments (median) |")
print("| --- | --- | --- | --- | --- |")
print("| kernel floor: 1 GiB faulted, one thread (`kernel_populate_probe 1024`, in process) | %s | 1 | | |"
      % cell("floor1g", pop))
for who, what in (("init1g", "`hm_init` served (`hugemem init -m 1024`'s `timings_ms.total`)"),
                  ("init1gshm", "the same, runtime directory on tmpfs"),
                  ("init1gfresh", "the same from a keeper just started (chunks in pool order)")):
    t = med(who, total)
    print("| %s | %s | **%.3f×** | %s | %d |" % (what, cell(who, total), t / floor1g,
                                               met(t / floor1g <= 0.1), med(who, segs)))
h = med("hminit1g", col(2))
print("| `hm_init` served, timed around the call (`keeper_bench init`) | %s | %.3f× | %s | |"
      % (cell("hminit1g", col(2)), h / floor1g, met(h / floor1g <= 0.1)))
print("| `hm_fini` after it (`keeper_bench init`) | %s | %.3f× | | |"
      % (cell("hminit1g", col(3)), med("hminit1g", col(3)) / floor1g))
for who, what in (("init1g", "`hugemem init -m 1024`, whole command, served"),
                  ("init1gshm", "the same, runtime directory on tmpfs"),
                  ("init1gfresh", "the same from a keeper just started")):
    print("| %s | %s | %.3f× | | |" % (what, cell(who, wall), med(who, wall) / floor1g))
print("| `hm_init` with `--keeper off` (`timings_ms.total`) | %s | %.2f× | | %d |"
      % (cell("init1goff", total), med("init1goff", total) / floor1g, med("init1goff", segs)))
print("| `hugemem init -m 1024 --keeper off`, whole command | %s | %.2f× | | |"
      % (cell("init1goff", wall), med("init1goff", wall) / floor1g))
print("| kernel floor probe, whole command | %s | %.2f× | | |" % (cell("floor1g", wall),
      med("floor1g", wall) / floor1g))

print("\n### 2. `hugemem init -m 64` as a whole command, against process start\n")
true, start = med("true", wall), med("start", wall)
print("| measure | median (p90) | − bare exec | − `hugemem --version` | target ≤ start + 1 ms | `hm_init` (`total`) |")
print("| --- | --- | --- | --- | --- | --- |")
print("| bare exec: a C program that returns (process start) | %s | 0 | | | |" % cell("true", wall))
print("| `hugemem --version` | %s | %+.2f | 0 | | |" % (cell("start", wall), start - true))
for who, what in (("plain64", "`hugemem init -m 64`, served by the keeper (the target's command)"),
                  ("plain64shm", "the same, runtime directory on tmpfs"),
                  ("least64", "the least a served start must do, a program with no more in it "
                   "(`keeper_bench least`: connect, HELLO, LEASE, map, prefix and lock, a "
                   "layout written, a line printed, all undone)"),
                  ("least64shm", "the same, runtime directory on tmpfs"),
                  ("init64", "`hugemem init -m 64 --json --trace`, served"),
                  ("init64shm", "the same, runtime directory on tmpfs"),
                  ("init64off", "`hugemem init -m 64 --keeper off`"),
                  ("init64offshm", "the same, runtime directory on tmpfs")):
    x = med(who, wall)
    tgt = "" if "off" in who or "least" in who else "%s (bare exec), %s (`--version`)" % (
        met(x - true <= 1), met(x - start <= 1))
    inner = "" if who.startswith(("plain", "least")) else ms(med(who, total))
    print("| %s | %s | **%+.2f** | %+.2f | %s | %s |" % (what, cell(who, wall), x - true,
                                                     x - start, tgt, inner))
f64 = med("floor64", pop)
print("\nThe least a served start must do already takes %+.2f ms above a bare exec (%+.2f on "
      "tmpfs): the target's command spends %+.2f ms (%+.2f) above that floor of its design on "
      "this machine."
      % (med("least64", wall) - true, med("least64shm", wall) - true,
         med("plain64", wall) - med("least64", wall), med("plain64shm", wall) - med("least64shm", wall)))
print("\nFor scale: the floor for 64 MiB is %s ms in process; `--keeper off` ÷ (floor + "
      "`--version`) = %.2f (bench/STARTUP.md's measure); served ÷ `--keeper off` = %.2f. "
      "Timed around the calls in a process of its own (`keeper_bench init 64`): `hm_init` %s, "
      "`hm_fini` %s."
      % (ms(f64), med("init64off", wall) / (f64 + start), med("init64", wall) / med("init64off", wall),
         cell("hminit64", col(2)), cell("hminit64", col(3))))

print("\n### 3. A returned chunk ready again, against the kernel floor for its size\n")
print("From the client's RETURN (or the instant before its `exit`) until the keeper had the "
      "chunk free again: its own stamp (CLOCK_MONOTONIC, in its STATUS reply) of the instant "
      "it installed the new memfd. A second connection asks STATUS every millisecond until "
      "every byte is free (\"STATUS saw it\": that time; the last column, the mean time from "
      "one STATUS to the next); asked every 50 µs, as runs A–E did, the polling took the "
      "CPU from the refault it timed (run F). \"RETURN\" is its round trip, "
      "during which the keeper punches the chunk. \"exit over\": the part of an exit the "
      "kernel spends tearing the process down (until its pidfd is readable), and the ready "
      "time counted from that instant on, ÷ the floor. "
      "The verdict of an exit is on that figure: a chunk is given back when its client "
      "has exited, and until the kernel is done with the process its pages are still "
      "mapped there (docs/keeper.md). "
      "The floor: `kernel_populate_probe SIZE`.\n")
print("| chunk | kernel floor (in process) | given back by | ready again (keeper's stamp) | ÷ floor | target ≤ 1.5× (an exit: from its end) | RETURN | exit over | ready after it, ÷ floor | STATUS saw it | STATUS interval, µs |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for size, fl in ((2, "floor2"), (32, "floor32"), (64, "floor64")):
    f = med(fl, pop)
    for how, tag in (("RETURN", "r"), ("exit", "x")):
        who = "rf%d%s" % (size, tag)
        rdy = med(who, col(7))
        judged, after = rdy / f, " | "
        if tag == "x":
            judged = med(who, lambda r: float(r["w"][7]) - float(r["w"][6])) / f
            after = "%s | %.2f×" % (ms(med(who, col(6))), judged)
        print("| %d MiB | %s | %s | %s | **%.2f×** | %s | %s | %s | %s | %.0f |"
              % (size, cell(fl, pop), how, cell(who, col(7)), rdy / f, met(judged <= 1.5),
                 ms(med(who, col(2))) if tag == "r" else "", after, ms(med(who, col(3))),
                 med(who, col(5))))
print("| 1 GiB (32 × 32 MiB, `keeper_bench lease`) | %s | RETURN | %s | %.2f× | | %s | | | | |"
      % (cell("floor1g", pop), cell("lease1g", col(9)), med("lease1g", col(9)) / floor1g,
         ms(med("lease1g", col(8)))))

n = int(preps)
if n:
    tids, prow = {}, {}
    for line in open(out + "/raw-perf.txt"):
        f = line.rstrip("\n").split("\t")
        if f[0].startswith("tid "):
            _, tid, size = f[0].split()
            tids[tid] = int(size)
        else:
            w = f[3].split()
            prow.setdefault(f[1], []).append(float(w[0].split("=")[1]) if f[1].startswith("floor")
                                             else float(w[7]))
    PERF = re.compile(r"^\s*([\d.]+) \(\s*([\d.]+) ms\): \S+?/(\d+) (\w+)\(")
    start, refault, punch, last = {}, {}, {}, {}
    for line in open(out + "/perf.trace"):
        m = PERF.match(line)
        if not m or m.group(3) not in tids:
            continue
        ts, dur, tid, name = float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        size = tids[tid]
        if name == "memfd_create":
            start[tid] = ts
        elif name == "write" and tid in start:
            refault.setdefault(size, []).append(ts + dur - start.pop(tid))
        elif name == "fallocate":  # a burst: calls less than 0.5 ms apart
            b = punch.setdefault(size, [])
            if b and tid == last.get(size, ("", 0))[0] and ts - last[size][1] < 0.5:
                b[-1] = (b[-1][0], ts + dur, b[-1][2] + 1)
            else:
                b.append((ts, ts + dur, 1))
            last[size] = (tid, ts + dur)
    print("\nThe keeper's own view: `perf trace` attached to the three keepers while the "
          "refault contenders and the floors for their sizes ran again, interleaved, %d times "
          "each (the contenders' figures of these rounds are not in the table above). The "
          "refault is the worker's `memfd_create` to its eventfd `write` (new memfd, size, "
          "map, bind, `MADV_POPULATE_WRITE`, pagemap, unmap, seal); the punch is the main "
          "thread's burst of `fallocate` calls, one per page. Times as perf saw them (it adds a "
          "little to each traced call).\n" % n)
    print("| chunk | kernel floor (in process) | refault in the worker | ÷ floor | target ≤ 1.5× | refaults seen | punch (per chunk) | ready again, outside (these rounds, RETURN / exit) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in (2, 32, 64):
        fl = prow.get("floor%d" % size, [])
        rf = refault.get(size, [])
        pu = [e - s0 for s0, e, _ in punch.get(size, [])]
        if not fl or not rf:
            continue
        f, r = statistics.median(fl), statistics.median(rf)
        print("| %d MiB | %s (p90 %s) | %s (p90 %s) | **%.2f×** | %s | %d | %s | %s / %s |"
              % (size, ms(f), ms(pct(fl, 90)), ms(r), ms(pct(rf, 90)), r / f, met(r / f <= 1.5),
                 len(rf), ms(statistics.median(pu)) if pu else "—",
                 ms(statistics.median(prow["rf%dr" % size])), ms(statistics.median(prow["rf%dx" % size]))))

orders = {}
for line in open(out + "/raw-order.txt"):
    how, _, cyc, chunks, nruns, npieces = line.split()
    orders.setdefault(how, []).append((int(cyc), int(chunks), int(nruns), int(npieces)))
print("\nDo the chunks stay in physical order as they come and go? A keeper of 1 GiB started "
      "anew (`hm_pool_order`, then 32 chunks faulted in order), all of it leased and given "
      "back in one RETURN 6 times (`keeper_bench order`: the main thread punches all 32 "
      "chunks, the highest first, then queues them for the worker, the lowest first); the physical "
      "runs of its 32 chunks at each lease (32 when each chunk is one run, a few more where "
      "the pool's runs end; 512 when no two pages of a chunk follow each other):\n")
print("| keeper | " + " | ".join("lease %d" % (i + 1) for i in range(6)) + " |")
print("| --- |" + " --- |" * 6)
for how, what in (("split", "main thread and worker on different CPUs"),
                  ("same", "main thread and worker on one CPU")):
    print("| %s | %s |" % (what, " | ".join(str(r[2]) for r in orders.get(how, []))))

print("\n**Off the client's critical path?** `hugemem init -m 1024` served from the keeper's "
      "other GiB while its worker faults 1 GiB given back just before (`keeper_bench busy`), "
      "against the same command with the keeper idle. \"Not free\": bytes of the keeper "
      "leased or still being faulted when the command started and when it ended (at the end "
      "the command's own GiB is coming back too).\n")
print("| keeper | `hm_init` (`total`) | ÷ idle | discover | map | remap | whole command | ÷ idle | not free at start / end |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
t_idle, w_idle = med("init1g", total), med("init1g", wall)
print("| idle | %s | 1 | %s | %s | %s | %s | 1 | 0 / 0 |"
      % (cell("init1g", total), ms(med("init1g", step("discover"))), ms(med("init1g", step("map"))),
         ms(med("init1g", step("remap"))), cell("init1g", wall)))
for who, how in (("busy1gr", "1 GiB given back by RETURN just before"),
                 ("busy1gx", "1 GiB given back by a client's exit just before"),
                 ("busy1gri", "by RETURN, the keeper's worker under SCHED_IDLE")):
    b = med(who, lambda r: r["before"])
    print("| %s | %s | %.2f | %s | %s | %s | %s | %.2f | %s / %d MiB |"
          % (how, cell(who, total), med(who, total) / t_idle, ms(med(who, step("discover"))),
             ms(med(who, step("map"))), ms(med(who, step("remap"))), cell(who, wall),
             med(who, wall) / w_idle, "—" if b < 0 else "%d MiB" % (int(b) >> 20),
             int(med(who, lambda r: r["after"])) >> 20))

print("\n### 4. Where the served `hm_init` spends its time\n")
print("`timings_ms` of `hugemem init --json --trace` (the numbers of its `--trace` timings "
      "line), medians; \"outside\" is the whole command less `total` (process start, options, "
      "output, `hm_fini`, exit).\n")
cols = (("init1g", "served -m 1024"), ("init1gfresh", "served -m 1024, fresh keeper"),
        ("init64", "served -m 64"), ("init64shm", "served -m 64, tmpfs"),
        ("init1goff", "off -m 1024"), ("init64off", "off -m 64"))
print("| step | " + " | ".join(c[1] for c in cols) + " |")
print("| --- |" + " --- |" * len(cols))
for s in runs["init1g"][0]["t"]:
    print("| %s | %s |" % (s, " | ".join(ms(med(c, step(s))) for c, _ in cols)))
untimed = lambda r: r["t"]["total"] - sum(v for k, v in r["t"].items() if k != "total")
print("| untimed (total less the steps) | %s |" % " | ".join(ms(med(c, untimed)) for c, _ in cols))
print("| outside (whole command less total) | %s |"
      % " | ".join(ms(med(c, lambda r: r["wall"] - r["t"]["total"])) for c, _ in cols))
print("| whole command | %s |" % " | ".join(ms(med(c, wall)) for c, _ in cols))
print("| segments | %s |" % " | ".join("%d" % med(c, segs) for c, _ in cols))
for who, what in (("init1g", "Served `-m 1024`"), ("init64", "Served `-m 64`")):
    top = sorted(((med(who, step(s)), s) for s in runs[who][0]["t"] if s != "total"), reverse=True)
    print("\n%s, the largest steps: %s (of %s ms); outside `hm_init` %s ms."
          % (what, ", ".join("%s %s ms" % (s, ms(v)) for v, s in top[:4]), ms(med(who, total)),
             ms(med(who, lambda r: r["wall"] - r["t"]["total"]))))
r = [(r["segs"], r["t"]["remap"]) for r in runs["init1g"] + runs["init1gfresh"]]
few = [t for n, t in r if n <= 8]
many = [t for n, t in r if n >= 100]
if few and many:
    print("\n`remap` against the pieces it moves (served `-m 1024`, this run): %d runs with at "
          "most 8 segments, median %s ms; %d runs with 100 or more, median %s ms."
          % (len(few), ms(statistics.median(few)), len(many), ms(statistics.median(many))))
print("\nA client's steps for 1 GiB by hand (`keeper_bench lease`, in a fresh process: what "
      "`hm_init`'s `discover` and `map` hold):\n")
print("| `hm_sysinfo_read` (cold) | connect + HELLO | LEASE (32 memfds received) | map (one window, `MAP_POPULATE` per chunk) | unmap | RETURN (punch) |")
print("| --- | --- | --- | --- | --- | --- |")
print("| %s |" % " | ".join(cell("lease1g", col(i)) for i in range(3, 9)))
lr = runs["lease1g"]
print("\nThe keeper's 32 chunks as `keeper_bench lease` got them: physical runs (chunk by chunk) "
      "and pieces (all runs sorted and joined), first repetition %s and %s, median %d and %d, "
      "last repetition %s and %s. The pool it was taken from gave `--keeper off` %d segments "
      "(median) for the same 1 GiB."
      % (lr[0]["w"][10], lr[0]["w"][11], med("lease1g", col(10)), med("lease1g", col(11)),
         lr[-1]["w"][10], lr[-1]["w"][11], med("init1goff", segs)))
n = int(traced)
if n:
    print("\n`strace -f -T` of `hugemem init` served by the keeper (%d runs of each after the "
          "repetitions; strace slows every call, so read the counts and the order, not the "
          "times):\n" % n)
    RE = re.compile(r"^\d+\s+(\w+)\((.*)<([\d.]+)>$")
    stats = {}
    slow = {}
    for mib in ("1024", "64"):
        calls = stats.setdefault(mib, {})
        for i in range(1, n + 1):
            for line in open("%s/strace.%s.%d" % (out, mib, i)):
                m = RE.match(line)
                if m:
                    c = calls.setdefault(m.group(1), [0, 0.0])
                    c[0] += 1
                    c[1] += float(m.group(3))
                    slow.setdefault(mib, []).append((float(m.group(3)), m.group(1),
                                                    re.split(r"[,)]", m.group(2))[0][:50]))
    names = sorted(set(stats["1024"]) | set(stats["64"]),
                   key=lambda k: -stats["1024"].get(k, [0, 0])[1])[:14]
    print("| system call | -m 1024: calls per run | ms per run (traced) | -m 64: calls per run | ms per run (traced) |")
    print("| --- | --- | --- | --- | --- |")
    for k in names:
        a, b = stats["1024"].get(k, [0, 0]), stats["64"].get(k, [0, 0])
        print("| `%s` | %.0f | %.2f | %.0f | %.2f |" % (k, a[0] / n, a[1] * 1e3 / n, b[0] / n,
                                                     b[1] * 1e3 / n))
    for mib in ("1024", "64"):
        top = sorted(slow[mib], reverse=True)[:6]
        print("\nThe slowest single calls of the `-m %s` runs: %s." % (mib, "; ".join(
            "`%s(%s, …)` %.2f ms" % (c, a.replace("|", "\\|"), t * 1e3) for t, c, a in top)))
EOF
