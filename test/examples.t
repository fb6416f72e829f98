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
left=$(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r m; do ls "$m"; done | grep -c "^$prefix")
t_is "$left" 0 "no page file left in any hugetlbfs mount"
t_done
