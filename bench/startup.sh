#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench/startup.sh — start-up overhead of `hugemem init -m 64` as a whole command against
# (kernel floor + process start), interleaved in one run (issue 15, item 8):
#   floor  the kernel_populate_probe for the same size (1 thread): its populate_ms, the time
#          the kernel takes to hand out and zero the pages (and its whole command, for scale)
#   start  `hugemem --version` of the same binary: fork, exec, dynamic linking, exit
#   true   a C program that only returns (the same compiler and linking as the CLI)
#   init   `hugemem init -m MIB --json --huge-dir H --file-prefix hst`: maps, publishes,
#          prints, gives everything back and exits (what a user waits for)
# Each repetition runs every contender once, in an order rotated from one repetition to the
# next; every figure is a median over the repetitions. The ratio is init's whole command
# over (floor's populate_ms + start), the issue's measure (bench/RESULTS.md's "÷ (floor +
# start)"). With --old BIN a second hugemem (e.g. a build of an older commit) runs in the same
# repetitions, so before and after come from one run. Per phase: init's `timings_ms`;
# "untimed" is `total` less its steps, "outside" the whole command less `total` (process
# start, options, output, hm_fini, exit).
#
# As root. Takes the machine-wide lock /run/lock/hugemem-test.lock (test/lock.sh), mounts its
# own 2 MiB hugetlbfs, uses the file prefix hst, and on every exit path removes its page files,
# its runtime directory and its mount. The pool is used as it is reserved (it needs MIB/2 free
# pages); nothing resizes it.
#
# usage: bench/startup.sh [--reps N] [--mem MIB] [--old BIN] [--new BIN] [--raw FILE] [--rt]
#   --reps N    repetitions (default 21)
#   --mem MIB   the size asked (default 64)
#   --old BIN   a second hugemem to interleave, reported as "old"
#   --new BIN   the hugemem to measure (default build/hugemem), reported as "new"
#   --raw FILE  also write every run, one line each (default build/bench/startup/raw.txt)
#   --rt        run every contender under SCHED_FIFO (chrt -f 10): on a machine others load,
#               what is measured is then the programs, not the other load's time slices
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build/bench/startup
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
PREFIX=hst
REPS=21 MEM=64 OLD="" NEW="" RAW="" RT=() INVOKED="bench/startup.sh $*"

die() { echo "bench/startup.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--reps) REPS=${2:?--reps N}; shift ;;
	--mem) MEM=${2:?--mem MIB}; shift ;;
	--old) OLD=${2:?--old BIN}; shift ;;
	--new) NEW=${2:?--new BIN}; shift ;;
	--raw) RAW=${2:?--raw FILE}; shift ;;
	--rt) RT=(chrt -f 10) ;;
	-h|--help) sed -n '3,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see bench/startup.sh --help)" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "must run as root: it mounts hugetlbfs and maps hugepages"
[ -d $HP ] || die "this kernel has no 2 MiB hugepages ($HP is missing)"
command -v python3 >/dev/null || die "needs python3 (for the medians)"
if [ $((MEM % 2)) != 0 ] || [ "$MEM" -le 0 ]; then
	die "--mem must be a positive even number of MiB"
fi

# ---------------------------------------------------------------- builds (copies: a rebuild
# of build/ during the run must not change what is measured)
mkdir -p "$B"
RAW=${RAW:-$B/raw.txt}
if [ -z "$NEW" ]; then
	make -C "$TOP" -s cli
	NEW=$TOP/build/hugemem
fi
cp "$NEW" "$B/hugemem-new"
[ -z "$OLD" ] || cp "$OLD" "$B/hugemem-old"
cc -O2 -o "$B/kernel_populate_probe" "$TOP/bench/probes/kernel_populate_probe.c" -lpthread
cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o "$B/timecmd" "$TOP/bench/timecmd.c"
echo 'int main(void) { return 0; }' >"$B/true.c"
cc -O2 -o "$B/true" "$B/true.c"

# ---------------------------------------------------------------- the lock, the mount
# shellcheck source=test/lock.sh
. "$TOP/test/lock.sh" # held by a keeper process: no program started here inherits it
hm_test_lock 3600 || die "cannot take $HM_TEST_LOCK"
free=$(cat $HP/free_hugepages)
[ "$free" -ge $((MEM / 2)) ] || die "the 2 MiB pool has $free free pages; -m $MEM needs $((MEM / 2))"
H=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$H" ]; then
		rm -f "$H/$PREFIX"map_*
		umount "$H" 2>/dev/null || echo "bench/startup.sh: could not unmount $H" >&2
		rmdir "$H" 2>/dev/null || true
	fi
	rm -rf "/run/hugemem/$PREFIX"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
H=$(mktemp -d /tmp/hst-startup.XXXXXX)
mount -t hugetlbfs -o pagesize=2M nodev "$H"

# ---------------------------------------------------------------- the runs
names=(floor start-new true init-new)
[ -z "$OLD" ] || names+=(start-old init-old)
argv_of() {
	case "$1" in
	floor) echo "$B/kernel_populate_probe $MEM" ;;
	true) echo "$B/true" ;;
	start-*) echo "$B/hugemem-${1#start-} --version" ;;
	init-*) echo "$B/hugemem-${1#init-} init -m $MEM --json --huge-dir $H --file-prefix $PREFIX" ;;
	esac
}
: >"$RAW"
for ((rep = 0; rep < REPS; rep++)); do
	k=$((rep % ${#names[@]}))
	for who in "${names[@]:k}" "${names[@]:0:k}"; do
		# shellcheck disable=SC2046 # the argv is words without spaces
		res=$("${RT[@]}" "$B/timecmd" -t 60 -o "$B/out" -e "$B/err" -- $(argv_of "$who")) ||
			die "$who failed: $res $(cat "$B/err")"
		printf '%s\t%s\t%s\t%s\n' "$rep" "$who" "${res%% *}" "$(tr -d '\n' <"$B/out")" >>"$RAW"
		[ -z "$(ls "$H")" ] || die "$who left files in $H: $(ls "$H")"
	done
done

# ---------------------------------------------------------------- the medians
python3 - "$RAW" "$MEM" "$REPS" "$INVOKED" <<'EOF'
import json, statistics, sys
raw, mem, reps, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {}
for line in open(raw):
    rep, who, wall, out = line.rstrip("\n").split("\t", 3)
    r = {"wall": float(wall.split("=")[1])}
    if who == "floor":
        r["inproc"] = float(out.split()[0].split("=")[1])
    elif who.startswith("init"):
        r["t"] = json.loads(out)["timings_ms"]
    runs.setdefault(who, []).append(r)
med = lambda who, f: statistics.median(f(r) for r in runs[who])
floor, floor_wall = med("floor", lambda r: r["inproc"]), med("floor", lambda r: r["wall"])
true = med("true", lambda r: r["wall"])
bins = [b for b in ("old", "new") if "init-" + b in runs]
print("Made by `%s`, %s repetitions, -m %d; medians in ms.\n" % (cmd, reps, mem))
print("| | " + " | ".join(bins) + " |")
print("| --- |" + " --- |" * len(bins))
row = lambda name, vals: print("| %s | %s |" % (name, " | ".join(vals)))
row("kernel floor (populate_ms, in process)", ["%.2f" % floor] * len(bins))
row("kernel floor probe, whole command", ["%.2f" % floor_wall] * len(bins))
row("a C program that returns, whole command", ["%.2f" % true] * len(bins))
start = {b: med("start-" + b, lambda r: r["wall"]) for b in bins}
init = {b: med("init-" + b, lambda r: r["wall"]) for b in bins}
row("process start (`hugemem --version`)", ["%.2f" % start[b] for b in bins])
row("`hugemem init -m %d`, whole command" % mem, ["%.2f" % init[b] for b in bins])
row("**init ÷ (floor + start)**", ["**%.2f**" % (init[b] / (floor + start[b])) for b in bins])
row("init ÷ floor probe's whole command", ["%.2f" % (init[b] / floor_wall) for b in bins])
print("\nWhere init's time goes (medians of `timings_ms` and of what they leave out):\n")
steps = list(runs["init-" + bins[0]][0]["t"].keys())
print("| step | " + " | ".join(bins) + " |")
print("| --- |" + " --- |" * len(bins))
for s in steps:
    row(s, ["%.2f" % med("init-" + b, lambda r: r["t"][s]) for b in bins])
untimed = lambda r: r["t"]["total"] - sum(v for k, v in r["t"].items() if k != "total")
row("untimed (total less the steps)", ["%.2f" % med("init-" + b, untimed) for b in bins])
row("outside (whole command less total)",
    ["%.2f" % med("init-" + b, lambda r: r["wall"] - r["t"]["total"]) for b in bins])
EOF
