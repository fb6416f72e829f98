#!/usr/bin/env bash
# Secondary attach time, hugemem per backing vs DPDK 22.11, for 64 MiB and
# 8 GiB of 2 MiB pages (issue 5). As root, holding the machine-wide lock;
# reserves what it needs and puts the pool back. Prints a markdown table.
#   bench/attach.sh [RUNS]        (make bench runs it; RUNS default 7)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-7}
hm=$top/build/bench/attach/hugemem # a copy: rebuilding build/ during a run must not disturb it
out=$top/build/bench/attach
hp=/sys/kernel/mm/hugepages/hugepages-2048kB
[ "$(id -u)" = 0 ] || { echo "bench/attach.sh: needs root" >&2; exit 1; }
mkdir -p "$out"
cp "$top/build/hugemem" "$hm"
# shellcheck disable=SC2046
cc -O2 -o "$out/dpdk_probe" "$top/bench/probes/dpdk_eal_probe.c" $(pkg-config --cflags --libs libdpdk)
# shellcheck disable=SC2046
cc -O2 -o "$out/dpdk_hold" "$top/bench/probes/dpdk_hold.c" $(pkg-config --cflags --libs libdpdk)

. "$top/test/lock.sh" # the lock, held so that no program started here inherits it
hm_test_lock 86400 || { echo "bench/attach.sh: cannot take $HM_TEST_LOCK" >&2; exit 1; }
orig=$(cat $hp/nr_hugepages)
mnt=$out/huge
export HUGEMEM_RUNTIME_DIR=$out/run
cleanup() {
	exec 8>&- 2>/dev/null || true
	umount "$mnt" 2>/dev/null || true
	rm -f "$mnt"/* 2>/dev/null || true
	echo "$orig" >$hp/nr_hugepages
}
trap cleanup EXIT
echo $((orig + 4200)) >$hp/nr_hugepages
mkdir -p "$mnt"
mount -t hugetlbfs -o pagesize=2M nodev "$mnt"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# hold CMD...: start a primary with stdin a fifo, wait for its first output
hold() {
	rm -f "$out/in"
	mkfifo "$out/in"
	"$@" <"$out/in" >"$out/primary.out" 2>&1 &
	exec 8>"$out/in"
	for _ in $(seq 600); do [ -s "$out/primary.out" ] && return 0; sleep 0.05; done
	echo "primary did not start: $(cat "$out/primary.out")" >&2
	exit 1
}
release() { exec 8>&-; wait; }

hugemem_row() { # SIZE_MB MODE
	hold "$hm" init -m "$1" --hold --json --file-prefix hmb $2
	lib=$(for _ in $(seq "$runs"); do
		"$hm" attach --json --file-prefix hmb | sed -n 's/.*"total":\([0-9.]*\).*/\1/p'
	done | median)
	wall=$(for _ in $(seq "$runs"); do
		t=$EPOCHREALTIME
		"$hm" attach --file-prefix hmb >/dev/null
		awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a) * 1000 }'
	done | median)
	segs=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["segments"]))' \
		"$out/primary.out")
	release
	printf '| %s MiB | %s | hugemem %s | %s | %.1f |\n' "$1" "$segs" "${2:-page files}" "$lib" "$wall"
}

dpdk_row() { # SIZE_MB
	hold "$out/dpdk_hold" -l 0 --no-pci --huge-dir "$mnt" --file-prefix dpb -m "$1" --log-level=1
	lib=$(for _ in $(seq "$runs"); do
		"$out/dpdk_probe" -l 0 --no-pci --proc-type=secondary --file-prefix dpb --log-level=1 |
			sed -n 's/.*init_ms=\([0-9.]*\).*/\1/p'
	done | median)
	release
	printf '| %s MiB | — | DPDK 22.11 secondary | %s | — |\n' "$1" "$lib"
}

echo "# Secondary attach time"
echo
echo "Made by \`make bench\` (\`bench/attach.sh $runs\`) on $(date -u +%Y-%m-%d), $(nproc) cores,"
echo "Linux $(uname -r), DPDK $(pkg-config --modversion libdpdk), hugemem $("$hm" --version | cut -d' ' -f2)."
echo "A 2 MiB pool reserved through sysfs; medians of $runs in one run; 'library' is"
echo "\`timings_ms.total\` of \`hugemem attach --json\`, DPDK's is \`rte_eal_init\` of a secondary."
echo "'as left' rows take the pool as the previous contender left it; 'ordered' rows run"
echo "\`hugemem reorder\` before the primary starts (the longest run handed out first): a"
echo "secondary maps one stretch of pages that continue each other in VA and file offset"
echo "with one mmap, so the pool's order decides how many mmaps an attach makes."
echo
echo "The segments column is the primary's: a secondary of a single file or memfd maps each"
echo "segment with one mmap (page files: one mmap per page)."
echo
echo "| pool | memory | segments | secondary | attach ms (library, median of $runs) | whole command ms (median) |"
echo "| --- | --- | --- | --- | --- | --- |"
for pool in "as left" ordered; do
	for mb in 64 8192; do
		for mode in "" --single-file-segments --in-memory; do
			[ "$pool" = ordered ] && "$hm" reorder >/dev/null
			printf '| %s ' "$pool"
			hugemem_row $mb "$mode"
		done
		[ "$pool" = ordered ] && "$hm" reorder >/dev/null
		printf '| %s ' "$pool"
		dpdk_row $mb
	done
done
