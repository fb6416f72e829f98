#!/usr/bin/env bash
# run.sh — hugemem's NUMA cases on a real kernel with two nodes: boot a tiny
# qemu guest and turn its TAP output into this command's result.
#
# usage: test/numa/run.sh DIR     (`make check-numa` runs it with $(BUILD)/numa)
#
# DIR holds the static `hugemem` and `numa_probe` that mk/numa.mk built; the
# initramfs, the unpacked kernel, the console log and the guest's TAP are
# written there too (nothing else is left anywhere).
#
#  1. What the guest needs, from Debian, installed as root when missing:
#     qemu-system-x86, busybox-static, cpio, xz-utils. Without root, or when
#     qemu cannot run, the check is skipped with the reason;
#     HM_REQUIRE_NUMA_VM=1 (CI) turns a skip into a failure.
#  2. The kernel: Debian's, never installed on the host (no /boot change, no
#     update-initramfs): the package linux-image-amd64 depends on is fetched
#     with `apt-get download` and only its boot/vmlinuz-* and boot/config-*
#     are unpacked (dpkg-deb) into a cache outside the clone, keyed by package
#     and version: HM_GUEST_KERNEL_CACHE (/var/cache/hugemem/guest-kernels),
#     <package>_<version>/. The vmlinux inside the bzImage is unpacked once
#     (cached in DIR) and booted by PVH, about twice as fast under emulation
#     as letting the bzImage decompress itself.
#  3. An initramfs (uncompressed cpio): static busybox, init.sh as /init,
#     guest.sh, jflat.awk, hugemem, numa_probe. The guest's kernel has NUMA,
#     hugetlbfs and migration built in: no modules.
#  4. qemu under TCG (the /dev/kvm of these hosts is a nested PVM that cannot
#     run a stock guest): 2 CPUs in 2 sockets (one per node: one socket
#     across two nodes makes the guest kernel warn), two RAM backends as
#     nodes 0 and 1, HM_NUMA_MEM="4G,3G". The kernel command line reserves
#     HM_NUMA_GB_PAGES (2) 1 GiB pages on each node, and a node must have
#     that many free aligned gigabytes at boot, or the kernel silently takes
#     the missing pages from the other node: the machine is
#     pc,max-ram-below-4g=1G (node 0 is [0,1G) + [4G,7G), node 1 [7G,10G)),
#     the kernel's early allocations at the top of each node spoil one
#     gigabyte there and the kernel itself sits in node 0's first: so node 0
#     gets one more gigabyte. The host touches only the memory the guest
#     uses (about 3 GiB at the peak). The console goes to DIR/console.log,
#     the tests' TAP to the second serial port, DIR/guest.tap. A guest still
#     running after HM_NUMA_TIMEOUT (240) seconds is killed, and the check
#     fails.
#  5. The TAP is read by prove (or checked here when prove is missing): a
#     "not ok" or a missing plan fails.
#
# Knobs: HM_NUMA_TIMEOUT, HM_NUMA_MEM, HM_NUMA_GB_PAGES, HM_NUMA_KERNEL
# (a /boot/vmlinuz-* to boot instead), HM_NUMA_ACCEL=tcg|kvm.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: test/numa/run.sh DIR (with the static hugemem and numa_probe)}
TIMEOUT=${HM_NUMA_TIMEOUT:-240}
NODE_MEM=${HM_NUMA_MEM:-4G,3G}
MEM0=${NODE_MEM%%,*}
MEM1=${NODE_MEM#*,}
GB_PAGES=${HM_NUMA_GB_PAGES:-2}
ACCEL=${HM_NUMA_ACCEL:-tcg}
BUSYBOX=/bin/busybox
QEMU=qemu-system-x86_64
t_start=$(date +%s%N)
# shellcheck disable=SC2034 # read by vm.sh
VM_NAME=check-numa
# shellcheck disable=SC2034 # read by vm.sh
VM_REQUIRE=HM_REQUIRE_NUMA_VM
# say, skip, seconds_since, vm_install, qemu_runs, prove_tap
. "$HERE/../vm.sh"

# ------------------------------------------------------------------ 1. packages

KCACHE=${HM_GUEST_KERNEL_CACHE:-/var/cache/hugemem/guest-kernels}

# The kernel package Debian's linux-image-amd64 depends on now, and its
# version: "linux-image-6.1.0-57-amd64 6.1.158-1".
kernel_package() {
	local pkg ver
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || return 1
	ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] && echo "$pkg $ver"
}
# The cached vmlinuz of that package, when it is there.
debian_kernel() {
	local pv
	pv=$(kernel_package) || return 1
	set -- "$KCACHE/${pv/ /_}"/boot/vmlinuz-*
	[ -r "$1" ] && echo "$1"
}
# Download the package (no root needed for that, nothing installed) and
# unpack its kernel image and config into the cache; atomic by rename.
fetch_kernel() {
	local pv pkg ver dir tmp
	pv=$(kernel_package) || skip "apt-cache names no kernel package for linux-image-amd64"
	pkg=${pv% *}
	ver=${pv#* }
	dir=$KCACHE/${pkg}_$ver
	tmp=$(mktemp -d "$KCACHE/.fetch.XXXXXX") || skip "cannot write the kernel cache $KCACHE"
	say "fetching $pkg $ver into $dir (apt-get download + dpkg-deb; not installed)"
	if ! (cd "$tmp" && apt-get download "$pkg=$ver" >"$OUT/apt.log" 2>&1); then
		rm -rf "$tmp"
		skip "apt-get download $pkg=$ver failed: $(tail -n 1 "$OUT/apt.log")"
	fi
	mkdir -p "$tmp/root"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp/root" --wildcards \
		'./boot/vmlinuz-*' './boot/config-*' || {
		rm -rf "$tmp"
		skip "cannot unpack the kernel from $pkg's package"
	}
	rm -rf "$dir"
	mv "$tmp/root" "$dir" && rm -rf "$tmp"
}
install_packages() {
	vm_install $QEMU=qemu-system-x86 static-busybox=busybox-static cpio=cpio xz=xz-utils ||
		skip "$VM_WHY"
}

# The guest kernel: HM_NUMA_KERNEL, else Debian's from the cache (fetched
# once per package version; the package lists are refreshed when apt knows
# no kernel package yet, as on a fresh machine).
ensure_kernel() {
	[ -n "${HM_NUMA_KERNEL:-}" ] && return 0
	debian_kernel >/dev/null && return 0
	[ "$(id -u)" = 0 ] || skip "no guest kernel in $KCACHE (run as root to fetch it)"
	mkdir -p "$KCACHE" || skip "cannot create the kernel cache $KCACHE"
	kernel_package >/dev/null || apt-get update -qq >/dev/null 2>&1
	fetch_kernel
	debian_kernel >/dev/null || skip "no vmlinuz in the fetched package ($KCACHE)"
}

# ------------------------------------------------------------------ 2. kernel

# Unpack the ELF vmlinux from a bzImage: find each compressed stream's magic
# and keep the first that decompresses to an ELF file.
unpack_vmlinux() {
	local kernel=$1 to=$2 spec dec magic off
	for spec in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
		dec=${spec%%:*}
		magic=${spec#*:}
		command -v "$dec" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$magic" "$kernel" | cut -d: -f1); do
			tail -c +$((off + 1)) "$kernel" | $dec -dc 2>/dev/null >"$to.tmp"
			if [ "$(head -c 4 "$to.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				mv "$to.tmp" "$to"
				return 0
			fi
		done
	done
	rm -f "$to.tmp"
	return 1
}
guest_kernel() {
	local kernel vmlinux
	kernel=${HM_NUMA_KERNEL:-$(debian_kernel)}
	[ -r "$kernel" ] || skip "cannot read the guest kernel '$kernel'"
	vmlinux=$OUT/vmlinux-$(basename "$kernel")
	if [ "$vmlinux" -nt "$kernel" ] || unpack_vmlinux "$kernel" "$vmlinux"; then
		KIMG=$vmlinux
	else
		say "note: no vmlinux found inside $kernel: booting the bzImage (slower)"
		KIMG=$kernel
	fi
}

# ------------------------------------------------------------------ 3. initramfs

pack_initramfs() {
	local root=$OUT/initramfs.d
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,mnt,test}
	cp $BUSYBOX "$root/bin/busybox"
	cp "$OUT/hugemem" "$OUT/numa_probe" "$root/bin/"
	cp "$HERE/init.sh" "$root/init"
	cp "$HERE/guest.sh" "$HERE/jflat.awk" "$root/test/"
	chmod 755 "$root/init" "$root/test/guest.sh"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT/initramfs.cpio"
	local rc=$?
	rm -rf "$root"
	return $rc
}

# ------------------------------------------------------------------ 4. boot

boot() {
	local cpu="-accel tcg -cpu max"
	local cmdline="console=ttyS0 rdinit=/init panic=-1 quiet"
	[ "$ACCEL" = kvm ] && cpu="-accel kvm -cpu host,-arch-capabilities"
	cmdline="$cmdline hugepagesz=1G hugepages=0:$GB_PAGES,1:$GB_PAGES hm_gb=$GB_PAGES"
	rm -f "$OUT/console.log" "$OUT/guest.tap"
	# shellcheck disable=SC2086
	timeout -k 10 "$TIMEOUT" $QEMU $cpu -machine pc,max-ram-below-4g=1G -nodefaults \
		-display none -monitor none -m $((${MEM0%G} + ${MEM1%G}))G \
		-smp 2,sockets=2,cores=1,threads=1 \
		-object memory-backend-ram,id=m0,size="$MEM0" -numa node,nodeid=0,cpus=0,memdev=m0 \
		-object memory-backend-ram,id=m1,size="$MEM1" -numa node,nodeid=1,cpus=1,memdev=m1 \
		-kernel "$KIMG" -initrd "$OUT/initramfs.cpio" \
		-append "$cmdline" \
		-serial "file:$OUT/console.log" -serial "file:$OUT/guest.tap" -nic none -no-reboot \
		</dev/null >"$OUT/qemu.log" 2>&1 &
	QEMU_PID=$!
	wait $QEMU_PID
	QEMU_RC=$?
	QEMU_PID=
}

# ------------------------------------------------------------------ 5. verdict

verdict() {
	local tap=$OUT/guest.tap rc=0
	sed -i 's/\r$//' "$tap" 2>/dev/null
	grep '^guest:' "$OUT/console.log" 2>/dev/null | sed 's/^/  /'
	if [ "$QEMU_RC" != 0 ]; then
		[ "$QEMU_RC" = 124 ] && say "FAIL: the guest was still running after ${TIMEOUT} s: killed"
		[ "$QEMU_RC" != 124 ] && say "FAIL: qemu exited $QEMU_RC: $(tail -n 3 "$OUT/qemu.log")"
		say "the guest's console ($OUT/console.log), last lines:"
		tail -n 30 "$OUT/console.log" | tr -d '\r' | sed 's/^/  | /'
		rc=1
	fi
	prove_tap "$tap" || rc=1
	return $rc
}

cleanup() {
	[ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null
	rm -rf "$OUT/initramfs.d" "$OUT/vmlinux-"*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in hugemem numa_probe; do
	[ -x "$OUT/$f" ] || { say "FAIL: $OUT/$f missing: run it through 'make check-numa'" >&2; exit 1; }
done
install_packages
ensure_kernel
qemu_runs $QEMU "$ACCEL"
t_prep=$(date +%s%N)
guest_kernel
pack_initramfs || { say "FAIL: could not pack the initramfs" >&2; exit 1; }
say "kernel $(basename "$KIMG"), initramfs $(($(stat -c %s "$OUT/initramfs.cpio") >> 10)) KiB," \
	"prepared in $(seconds_since "$t_prep") s; booting 2 nodes ($NODE_MEM) under $ACCEL" \
	"(timeout $TIMEOUT s)"
t_boot=$(date +%s%N)
boot
say "guest ran $(seconds_since "$t_boot") s (qemu exit $QEMU_RC)"
verdict
rc=$?
say "$([ $rc = 0 ] && echo PASS || echo FAIL) in $(seconds_since "$t_start") s" \
	"(packages, kernel, initramfs, boot, cases; the static build is make's)"
exit $rc
