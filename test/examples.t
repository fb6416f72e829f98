#!/bin/sh
# examples/ as a driver author gets it: `make examples` installs into a DESTDIR
# tree and builds examples/dma_zone.c against it through pkg-config; the
# program then runs on real hugepages: init, an IOVA-contiguous zone, a
# second process that attaches and finds the zone at the same virtual address
# with the same IOVA; the pool is left as it was found.
. "$(dirname "$0")/lib.sh"
command -v pkg-config >/dev/null || t_skip_all "pkg-config missing (apt-get install pkg-config)"
t_require_hugepages 40
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make -s -C "$HM_TOP" BUILD="$HM_BUILD" EXAMPLES_ROOT="$tmp/root" EXAMPLES_BUILD="$tmp/bin" \
	examples >"$tmp/log" 2>&1
rc=$?
t_is $rc 0 "make examples: installs into a DESTDIR tree and builds against it"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/log"
t_ok "$([ -x "$tmp/bin/dma_zone" ] && echo 0 || echo 1)" "examples/dma_zone built"
t_ok "$([ -x "$tmp/bin/edu_driver" ] && echo 0 || echo 1)" "examples/edu_driver built"
if pkg-config --exists libdpdk 2>/dev/null; then
	t_ok "$([ -x "$tmp/bin/dpdk_heap" ] && echo 0 || echo 1)" "examples/dpdk_heap built (libdpdk found)"
fi
cflags=$(PKG_CONFIG_PATH="$tmp/root/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
	pkg-config --cflags hugemem | sed 's/ *$//')
t_is "$cflags" "-I$tmp/root/usr/local/include" "pkg-config points into the DESTDIR tree"
needed=$(readelf -d "$tmp/bin/dma_zone" | grep -o 'libhugemem.so.[0-9]*')
t_is "$needed" "libhugemem.so.0" "linked against the installed shared library"

before=$(t_pool)
prefix=hmtestex$$
out=$(LD_LIBRARY_PATH="$tmp/root/usr/local/lib" "$tmp/bin/dma_zone" 1048576 $prefix 2>&1)
t_is $? 0 "dma_zone runs: primary, zone, secondary"
t_like "$out" "primary:   zone rx_ring va" "the primary prints the zone's VA and IOVA"
p_va=$(printf '%s\n' "$out" | sed -n 's/^primary: *zone rx_ring va \([^ ]*\) iova \([^ ]*\).*/\1 \2/p')
s_va=$(printf '%s\n' "$out" | sed -n 's/^secondary: zone rx_ring va \([^ ]*\) iova \([^ ]*\).*/\1 \2/p')
t_ok "$([ -n "$p_va" ] && [ "$p_va" = "$s_va" ] && echo 0 || echo 1)" \
	"the secondary sees the same VA and IOVA ($p_va / $s_va)"
t_like "$out" "IOVA = PA" "as root, the IOVA is the physical address"
t_like "$out" "the secondary saw the same zone" "and the bytes the primary wrote"
t_is "$(t_pool)" "$before" "pool as it was"

# examples/dpdk_heap.c: built only where DPDK is; its mbuf's IOVA as DPDK and
# hugemem see it must be one.
if pkg-config --exists libdpdk 2>/dev/null; then
	dpfx=hmtestexd$$
	out=$(LD_LIBRARY_PATH="$tmp/root/usr/local/lib" timeout 60 "$tmp/bin/dpdk_heap" -l 0 --no-pci \
		--huge-dir "$HM_MNT" --file-prefix "$dpfx" --log-level=1 2>&1)
	t_is $? 0 "dpdk_heap runs: an mbuf pool on hugemem memory"
	ivs=$(printf '%s\n' "$out" | sed -n 's/.*buf_iova \(0x[0-9a-f]*\), hugemem says \(0x[0-9a-f]*\).*/\1 \2/p')
	t_ok "$(set -- $ivs; [ -n "$1" ] && [ "$1" = "$2" ] && echo 0 || echo 1)" \
		"the mbuf's buf_iova is hugemem's IOVA ($ivs)"
	rm -f "$HM_MNT/$dpfx"map_* # DPDK leaves its own page files
	rm -rf "/var/run/dpdk/$dpfx"
	t_is "$(t_pool)" "$before" "pool as it was after dpdk_heap"
else
	t_skip "examples/dpdk_heap: no libdpdk (apt-get install libdpdk-dev)"
fi
left=$(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r m; do ls "$m"; done | grep -c "^$prefix")
t_is "$left" 0 "no page file left in any hugetlbfs mount"
t_done
