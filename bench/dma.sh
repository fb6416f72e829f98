#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench/dma.sh — issue 16's DMA-mapping benchmark, in the VFIO guest: the time and
# the ioctls to map a layout for a device and unmap it again, hugemem's way (one
# mapping per segment, the library's own hmi_dma_map_segments) against DPDK's (one
# mapping per page), iommufd and type1, for 64 MiB and for 1024 pages of 2 MiB
# (test/vfio/dma_bench.c). Under TCG absolute times mean little: read the ratios.
#
# It boots the guest of `make check-vfio` once, in mode iommu, with more memory
# and hugepages than the test boot (HM_VFIO_MEM 5G, HM_VFIO_PAGES 1100), so that
# the 1024-page layout fits; the kernel comes from the same cache (make vfio-kernel).
# As root. Prints the BENCH lines; the whole TAP is in build/vfio/vfio.tap.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench/dma.sh: run as root (it boots the VFIO guest)" >&2; exit 1; }
make -C "$TOP" -s vfio-build
HM_VFIO_MODES=iommu HM_VFIO_MEM=${HM_VFIO_MEM:-5G} HM_VFIO_PAGES=${HM_VFIO_PAGES:-1100} \
	HM_VFIO_TEST_TIMEOUT=${HM_VFIO_TEST_TIMEOUT:-600} HM_VFIO_TIMEOUT=${HM_VFIO_TIMEOUT:-900} \
	"$TOP/test/vfio/run.sh" "$TOP/build/vfio" >"$TOP/build/vfio/bench.log" 2>&1 || {
	tail -20 "$TOP/build/vfio/bench.log" >&2
	exit 1
}
grep -E 'dma_bench: .*(BENCH|SKIP)' "$TOP/build/vfio/vfio.tap" | sed 's/^ok [0-9]* - //'
