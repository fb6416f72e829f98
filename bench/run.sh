#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh — `make bench`: hugemem against the kernel's floor and DPDK 22.11 (dynamic and
# legacy memory), for -m 64 and -m 1024, on three 2 MiB pools: (a) as reserved, (b) fragmented
# (fragment_pool), (c) that fragmented pool after `hugemem reorder`; plus the default mode's
# trade-off curve (FAST_EXTRA_FACTOR 0, 1, 2, 4). Writes bench/RESULTS.md (between its
# GENERATED markers) and the raw runs to build/bench/raw.jsonl.
#
# As root. It installs what it misses (Debian's libdpdk-dev, pkg-config, python3), builds the
# probes (bench/probes/, copies of ../shared/bench/) and helpers into build/bench/, takes the
# machine-wide lock /run/lock/hugemem-test.lock for the whole run, and puts back on every exit
# path what it changed: the pool size (nr_hugepages, nr_overcommit_hugepages), its own hugetlbfs
# mount, the page files of its own prefixes, DPDK's and hugemem's runtime directories of its own
# prefixes. The pool comes back to its size, not to its former pages or order.
#
# usage: bench/run.sh [--quick] [--reps N] [--pages N] [--seed S]
#   --quick   3 repetitions, no FAST_EXTRA_FACTOR curve, no 16 GiB descriptor check
#             (about 8 minutes instead of about 15)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build/bench
HP=/sys/kernel/mm/hugepages/hugepages-2048kB # no spaces: used unquoted
LOCK=/run/lock/hugemem-test.lock
QUICK=0 REPS="" PAGES=4096 SEED=7 FACTORS="0 1 2 4" INVOKED="bench/run.sh $*"
NOTES=()

die() { echo "bench/run.sh: $*" >&2; exit 1; }
say() { echo "bench/run.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--reps) REPS=${2:?--reps N}; shift ;;
	--pages) PAGES=${2:?--pages N}; shift ;;
	--seed) SEED=${2:?--seed S}; shift ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see bench/run.sh --help)" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "must run as root: it reserves and fragments the hugepage pool and " \
	"reads physical addresses (sudo make bench)"
[ -d $HP ] || die "this kernel has no 2 MiB hugepages ($HP is missing)"
if [ $QUICK = 1 ]; then
	REPS=${REPS:-3} FACTORS=""
else
	REPS=${REPS:-15}
fi

# ---------------------------------------------------------------- what it needs
need=""
command -v cc >/dev/null || need="$need gcc"
command -v make >/dev/null || need="$need make"
command -v pkg-config >/dev/null || need="$need pkg-config"
command -v python3 >/dev/null || need="$need python3"
command -v flock >/dev/null || need="$need util-linux"
dpkg -s libdpdk-dev >/dev/null 2>&1 || need="$need libdpdk-dev"
if [ -n "$need" ]; then
	say "installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
pkg-config --exists libdpdk || die "pkg-config does not find libdpdk after installing libdpdk-dev"
DPDK_VERSION=$(pkg-config --modversion libdpdk)
COMMIT=${HM_BENCH_COMMIT:-$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)}
[ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
	COMMIT="$COMMIT with uncommitted changes"

# ---------------------------------------------------------------- builds
say "building hugemem, its FAST_EXTRA_FACTOR variants and the probes into $B"
make -C "$TOP" -s -j"$(nproc)" all
mkdir -p "$B"
for f in $FACTORS; do
	make -C "$TOP" -s -j"$(nproc)" BUILD="build/bench/f$f" CFLAGS="-O2 -DFAST_EXTRA_FACTOR=$f" cli
done
STRICT="-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
-Wmissing-prototypes -Wvla -Wundef -D_GNU_SOURCE"
# the probes as their README builds them (measuring instruments, kept as they are)
cc -O2 -o "$B/kernel_populate_probe" "$TOP/bench/probes/kernel_populate_probe.c" -lpthread
cc -O2 -o "$B/pool_runs_probe" "$TOP/bench/probes/pool_runs_probe.c"
cc -O2 -o "$B/pool_map_probe" "$TOP/bench/probes/pool_map_probe.c"
cc -O2 -o "$B/pool_order_probe" "$TOP/bench/probes/pool_order_probe.c"
cc -O2 -o "$B/fragment_pool" "$TOP/bench/probes/fragment_pool.c"
# shellcheck disable=SC2046
cc -O2 -o "$B/dpdk_eal_probe" "$TOP/bench/probes/dpdk_eal_probe.c" \
	$(pkg-config --cflags --libs libdpdk) 2>"$B/dpdk_build.log" ||
	{ cat "$B/dpdk_build.log" >&2; die "building the DPDK probe failed"; }
# shellcheck disable=SC2086
cc $STRICT -o "$B/timecmd" "$TOP/bench/timecmd.c"
# shellcheck disable=SC2086
cc $STRICT -o "$B/pool_replay" "$TOP/bench/pool_replay.c" -lpthread

# ---------------------------------------------------------------- the lock, the snapshot
. "$TOP/test/lock.sh" # held by a keeper process: no program started here inherits it
if ! flock -n "$LOCK" true; then
	say "waiting for $LOCK (another test or benchmark holds the pool)"
fi
hm_test_lock 86400 || die "cannot take $LOCK"
NR0=$(cat $HP/nr_hugepages)
OVER0=$(cat $HP/nr_overcommit_hugepages)
if [ "$(cat $HP/free_hugepages)" != "$NR0" ] || [ "$(cat $HP/resv_hugepages)" != 0 ] ||
	[ "$(cat $HP/surplus_hugepages)" != 0 ]; then
	die "the 2 MiB pool is in use (nr $NR0, free $(cat $HP/free_hugepages), resv" \
		"$(cat $HP/resv_hugepages), surplus $(cat $HP/surplus_hugepages)): the benchmark" \
		"rebuilds it, so every page must be free; stop what holds them and run again"
fi
grep hugetlbfs /proc/mounts >"$B/mounts-before.txt" || true

H="" DRIVER=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
		kill -TERM -- "-$DRIVER" 2>/dev/null || true # its process group: probes, timecmd
		wait "$DRIVER" 2>/dev/null || true
	fi
	if [ -n "$H" ]; then
		rm -f "$H"/hmbench*map_* "$H"/hmbdyn*map_* "$H"/hmbleg*map_*
		umount "$H" 2>/dev/null || say "could not unmount $H"
		rmdir "$H" 2>/dev/null || true
	fi
	rm -rf /var/run/dpdk/hmbdyn /var/run/dpdk/hmbleg /run/hugemem/hmbench
	echo "$OVER0" >$HP/nr_overcommit_hugepages
	echo 0 >$HP/nr_hugepages
	echo "$NR0" >$HP/nr_hugepages
	[ "$(cat $HP/nr_hugepages)" = "$NR0" ] ||
		say "the pool is back to $(cat $HP/nr_hugepages) pages, not $NR0"
	grep hugetlbfs /proc/mounts >"$B/mounts-after.txt" || true
	cmp -s "$B/mounts-before.txt" "$B/mounts-after.txt" ||
		say "hugetlbfs mounts differ from before the run (see $B/mounts-*.txt)"
	say "pool put back: $(cat $HP/nr_hugepages) pages (was $NR0)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo 0 >$HP/nr_overcommit_hugepages # surplus pages would leave the pool when freed
H=$(mktemp -d /tmp/hmbench.XXXXXX)
mount -t hugetlbfs -o pagesize=2M nodev "$H"

# fragment_pool holds most of the free memory in 4 KiB pages: about 2.5 times the pool
avail_mb=$(($(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024))
if [ $((PAGES * 2 * 5 / 2)) -gt $avail_mb ]; then
	scaled=$((avail_mb * 2 / 5 / 2 / 512 * 512))
	[ $scaled -ge 1024 ] || die "only $avail_mb MiB available: a fragmented pool of 1024 pages" \
		"needs about 5 GiB"
	NOTES+=(--note "MemAvailable was $avail_mb MiB: the pools were scaled down from $PAGES to $scaled pages")
	say "MemAvailable is $avail_mb MiB: pools of $scaled pages instead of $PAGES"
	PAGES=$scaled
fi

say "measuring: pools of $PAGES pages, seed $SEED, $REPS repetitions (lock held; the" \
	"fragmented pool pins nearly all memory for two or three minutes)"
cmd="make bench"
[ "$INVOKED" = "bench/run.sh " ] || cmd=${INVOKED% }
args=(--bin "$B" --hm "$TOP/build/hugemem" --huge-dir "$H" --pages "$PAGES" --seed "$SEED"
	--reps "$REPS" --factors "${FACTORS// /,}" --results "$TOP/bench/RESULTS.md"
	--command "$cmd" --dpdk-version "$DPDK_VERSION"
	--hm-version "$("$TOP/build/hugemem" --version)" --commit "$COMMIT")
[ $QUICK = 1 ] || args+=(--fd-check)
start=$(date +%s)
setsid python3 "$TOP/bench/bench.py" "${args[@]}" "${NOTES[@]}" &
DRIVER=$!
rc=0
wait $DRIVER || rc=$?
DRIVER=""
say "measured in $(($(date +%s) - start)) s (exit $rc); results in bench/RESULTS.md"
exit $rc
