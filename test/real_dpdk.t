#!/bin/sh
# A DPDK application started on the same hugetlbfs mount while a hugemem
# prefix is live must not break it: DPDK's start-up cleaner removes every
# *map_* file nobody flocks; ours hold a shared flock through their mapping,
# so they stay, and a secondary still attaches. Needs Debian's libdpdk-dev
# (make check installs it as root).
. "$(dirname "$0")/lib.sh"
t_require_hugepages 48
command -v pkg-config >/dev/null && pkg-config --exists libdpdk ||
	t_skip_all "DPDK missing (apt-get install libdpdk-dev)"
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=hmt$$
dpfx=dpdkt$$
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"map_* "$HM_MNT/${dpfx}"map_*
	rm -rf "$tmp" "/var/run/dpdk/$dpfx"
}
trap cleanup EXIT
# shellcheck disable=SC2046
cc -O2 -o "$tmp/dpdk_probe" "$HM_TOP/bench/probes/dpdk_eal_probe.c" $(pkg-config --cflags --libs libdpdk)
t_ok $? "DPDK probe builds against $(pkg-config --modversion libdpdk)"
before=$(t_pool)

mkfifo "$tmp/in"
"$HUGEMEM" init -m 16 --json --hold --file-prefix "$pfx" <"$tmp/in" >"$tmp/p.json" 2>"$tmp/p.err" &
pid=$!
exec 8>"$tmp/in"
for _ in $(seq 200); do [ -s "$tmp/p.json" ] && break; sleep 0.05; done
t_is "$(ls "$HM_MNT" | grep -c "^${pfx}map_")" 8 "the primary holds 8 page files"

"$tmp/dpdk_probe" -l 0 --no-pci --huge-dir "$HM_MNT" --file-prefix "$dpfx" -m 8 --log-level=1 \
	>"$tmp/dpdk.out" 2>&1
t_is $? 0 "a DPDK application starts on the same mount and exits"
t_diag "$(tail -1 "$tmp/dpdk.out")"
t_is "$(ls "$HM_MNT" | grep -c "^${pfx}map_")" 8 "DPDK's cleaner left every hugemem page file"
"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/a.err"
t_is $? 0 "a secondary still attaches and verifies every IOVA"
t_diag "$(cat "$tmp/a.err")"
exec 8>&-
wait "$pid"
t_is $? 0 "the primary exits 0"
pid=""
rm -f "$HM_MNT/${dpfx}"map_*
t_is "$(t_pool)" "$before" "pool whole"
t_done
