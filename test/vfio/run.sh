#!/usr/bin/env bash
# run.sh — hugemem's DMA cases against a real DMA engine: boot a tiny qemu
# guest with an emulated Intel IOMMU and qemu's edu PCI device, once per mode,
# and turn the guests' TAP into this command's result.
#
# usage: test/vfio/run.sh DIR     (`make check-vfio` runs it with $(BUILD)/vfio)
#
# DIR holds the static `hugemem` and test programs mk/vfio.mk built; the
# initramfs, each boot's console and TAP, and the merged TAP (vfio.tap) are
# written there too.
#
#  1. Host packages, installed as root when missing: qemu-system-x86,
#     busybox-static, cpio. Without root, or when qemu cannot run, the check
#     is skipped with the reason; HM_REQUIRE_VFIO_VM=1 (CI) turns a skip into
#     a failure.
#  2. The kernel: Linux 6.12 built by test/vfio/kernel.sh into a cache outside
#     the clone (HM_GUEST_KERNEL_CACHE, /var/cache/hugemem/guest-kernels/
#     linux-6.12-iofd_<version>_<hash>/vmlinux), booted by PVH. Debian's
#     kernels will not do: 6.1 has no iommufd, Debian's 6.12 config has
#     IOMMUFD and VFIO_DEVICE_CDEV off. Not cached: skipped with how to build
#     it (`make vfio-kernel`, about 9 minutes once), or built first when
#     HM_REQUIRE_VFIO_VM=1.
#  3. One initramfs (uncompressed cpio) for every mode: static busybox,
#     init.sh as /init, tests.txt, hugemem and the programs under /test/.
#  4. One boot per mode in HM_VFIO_MODES (all three by default), qemu under
#     TCG, 2 CPUs, HM_VFIO_MEM (3G), edu at 00:05.0 with
#     dma_mask=0xffffffffffffffff (its default 28 bits would cut IOVAs). The
#     machine is q35,max-ram-below-4g=1G: RAM is [0,1G) + [4G,6G), so that a
#     free aligned gigabyte is left for the 1 GiB page at boot (the kernel
#     sits in the first, its early allocations and the firmware's tables at
#     the top of each range; with q35's default 2G below 4G no gigabyte was
#     free), and physical addresses are above 4G. The host touches only what
#     the guest uses. The modes:
#       iommu     -device intel-iommu,intremap=on,aw-bits=48 (legacy mode),
#                 intel_iommu=on iommu=pt: IOVA = VA fits (user VAs < 2^47);
#                 two more edus behind a pci-bridge at 01:01.0 and 01:02.0
#                 (one IOMMU group), which init binds to vfio-pci and to
#                 pci-pf-stub: a group that is not viable
#       iommu39   the same with aw-bits=39, for the "IOVA = VA does not fit"
#                 cases (hugemem's VAs start at 2^45)
#       noiommu   no IOMMU, vfio.enable_unsafe_noiommu_mode=1: DMA to
#                 physical addresses
#     intremap=on: iommufd and type1 refuse a device without interrupt
#     remapping (EPERM). Scalable mode stays off: qemu 7.2 with this guest
#     loses the DMAs silently in it. The command line also reserves one
#     1 GiB page (hugepagesz=1G hugepages=1) and says the mode (hm_mode=),
#     loglevel=3 keeps the DMAR faults of the blocked-DMA checks off the
#     console (init.sh prints them at the end). The console goes to
#     DIR/console-MODE.log, the tests' sections to the second serial port,
#     DIR/guest-MODE.out. A guest still running after HM_VFIO_TIMEOUT (180)
#     seconds is killed, and the check fails; a program still running after
#     HM_VFIO_TEST_TIMEOUT (120) seconds is killed by the guest's init.
#  5. The sections of every boot become one TAP stream, DIR/vfio.tap: each
#     description prefixed with the mode and the program ("iommu: raw_dma:
#     iommufd: ..."), renumbered, one plan. A program without a plan, with
#     fewer tests than planned, with a non-zero exit, or never run (the guest
#     died or timed out) is a "not ok". prove reads it (or this script, when
#     prove is missing).
#
# To add a test program: write test/vfio/NAME.c (TAP with test/tap.h; the
# arguments and helpers in vfio_guest.h, the device in edu.h) and add a line
# "NAME MODE..." to test/vfio/tests.txt. Nothing else (test/vfio/README.md).
#
# Derived from the iofd kit (iommufd-vm: run.sh, init.sh, the qemu command
# line and its pitfalls) in the shape of test/numa/run.sh.
#
# Knobs: HM_VFIO_MODES, HM_VFIO_MEM, HM_VFIO_PAGES (64), HM_VFIO_TIMEOUT,
# HM_VFIO_TEST_TIMEOUT, HM_VFIO_KERNEL (a vmlinux to boot instead of the
# cached one), HM_GUEST_KERNEL_CACHE, HM_VFIO_ACCEL=tcg|kvm.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: test/vfio/run.sh DIR (with the static hugemem and test programs)}
MODES=${HM_VFIO_MODES:-iommu iommu39 noiommu}
MEM=${HM_VFIO_MEM:-3G}
PAGES=${HM_VFIO_PAGES:-64}
TIMEOUT=${HM_VFIO_TIMEOUT:-180}
TEST_TIMEOUT=${HM_VFIO_TEST_TIMEOUT:-120}
ACCEL=${HM_VFIO_ACCEL:-tcg}
BUSYBOX=/bin/busybox
QEMU=qemu-system-x86_64
t_start=$(date +%s%N)

# shellcheck disable=SC2034 # read by vm.sh
VM_NAME=check-vfio
# shellcheck disable=SC2034 # read by vm.sh
VM_REQUIRE=HM_REQUIRE_VFIO_VM
# say, skip, seconds_since, vm_install, qemu_runs, prove_tap
. "$HERE/../vm.sh"

# The programs tests.txt lists, one "NAME MODE..." a line.
test_list() {
	sed 's/#.*//' "$HERE/tests.txt" | awk 'NF'
}

# ------------------------------------------------------------------ 1. packages

install_packages() {
	vm_install $QEMU=qemu-system-x86 static-busybox=busybox-static cpio=cpio || skip "$VM_WHY"
}

# ------------------------------------------------------------------ 2. kernel

guest_kernel() {
	if [ -n "${HM_VFIO_KERNEL:-}" ]; then
		KIMG=$HM_VFIO_KERNEL
		[ -r "$KIMG" ] || skip "cannot read HM_VFIO_KERNEL=$KIMG"
		return 0
	fi
	KIMG=$("$HERE/kernel.sh" path) && return 0
	[ "${HM_REQUIRE_VFIO_VM:-0}" = 1 ] ||
		skip "no guest kernel in ${HM_GUEST_KERNEL_CACHE:-/var/cache/hugemem/guest-kernels}:" \
			"build it once with 'make vfio-kernel' (as root, about 9 minutes)"
	say "no guest kernel cached and HM_REQUIRE_VFIO_VM=1: building it (about 9 minutes)"
	"$HERE/kernel.sh" build || skip "the guest kernel did not build"
	KIMG=$("$HERE/kernel.sh" path) || skip "no vmlinux after the kernel build"
}

# ------------------------------------------------------------------ 3. initramfs

pack_initramfs() {
	local root=$OUT/initramfs.d name
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,mnt,test}
	cp $BUSYBOX "$root/bin/busybox"
	cp "$OUT/hugemem" "$root/bin/"
	cp "$OUT/edu_driver" "$root/bin/" # examples/edu_driver.c, run by cli_dma
	cp "$HERE/init.sh" "$root/init"
	cp "$HERE/tests.txt" "$root/test/"
	for name in $(test_list | awk '{ print $1 }'); do
		cp "$OUT/$name" "$root/test/" || return 1
	done
	chmod 755 "$root/init"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$OUT/initramfs.cpio"
	local rc=$?
	rm -rf "$root"
	return $rc
}

# ------------------------------------------------------------------ 4. boot

boot() { # MODE
	local cpu="-accel tcg -cpu max" machine=q35,max-ram-below-4g=1G iommu="" bridge="" cmdline
	# no_timer_check: on a busy host the emulated timer can miss the kernel's
	# boot-time check of the interrupt-remapped IO-APIC, a panic ("timer doesn't
	# work through Interrupt-remapped IO-APIC"); virtual machines skip the check
	cmdline="console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 no_timer_check hm_mode=$1"
	cmdline="$cmdline hm_pages=$PAGES hm_test_timeout=$TEST_TIMEOUT hugepagesz=1G hugepages=1"
	# kernel-irqchip=split: interrupt remapping under KVM (untested: no usable KVM here)
	[ "$ACCEL" = kvm ] && cpu="-accel kvm -cpu host" && machine=$machine,kernel-irqchip=split
	case $1 in
	iommu)
		iommu="-device intel-iommu,intremap=on,aw-bits=48"
		# two more edus behind a conventional PCI bridge share one IOMMU group:
		# init binds one to vfio-pci and the other to pci-pf-stub, so that
		# group is not viable (cli_dma's refusal)
		bridge="-device pci-bridge,id=br1,chassis_nr=1,addr=06.0"
		bridge="$bridge -device edu,bus=br1,addr=01.0,dma_mask=0xffffffffffffffff"
		bridge="$bridge -device edu,bus=br1,addr=02.0,dma_mask=0xffffffffffffffff"
		;;
	iommu39) iommu="-device intel-iommu,intremap=on,aw-bits=39" ;;
	esac
	if [ -n "$iommu" ]; then
		cmdline="$cmdline intel_iommu=on iommu=pt"
	else
		cmdline="$cmdline vfio.enable_unsafe_noiommu_mode=1"
	fi
	rm -f "$OUT/console-$1.log" "$OUT/guest-$1.out"
	# the IOMMU must come before the device it translates
	# shellcheck disable=SC2086
	timeout -k 10 "$TIMEOUT" $QEMU $cpu -machine $machine -nodefaults -display none \
		-monitor none -m "$MEM" -smp 2 $iommu \
		-device edu,addr=05.0,dma_mask=0xffffffffffffffff $bridge \
		-kernel "$KIMG" -initrd "$OUT/initramfs.cpio" -append "$cmdline" \
		-serial "file:$OUT/console-$1.log" -serial "file:$OUT/guest-$1.out" \
		-nic none -no-reboot </dev/null >"$OUT/qemu-$1.log" 2>&1 &
	QEMU_PID=$!
	wait $QEMU_PID
	QEMU_RC=$?
	QEMU_PID=
}

# ------------------------------------------------------------------ 5. verdict

# One mode's sections (guest-MODE.out) as TAP lines numbered from START, the
# programs tests.txt lists for MODE checked off; the last line is "count N".
mode_tap() { # MODE START QEMU_RC
	[ -f "$OUT/guest-$1.out" ] || : >"$OUT/guest-$1.out" # qemu never started
	awk -v mode="$1" -v n="$2" -v qrc="$3" -v tmo="$TEST_TIMEOUT" -v list="$(test_list)" '
		function emit(good, text) { n++; print (good ? "ok " : "not ok ") n " - " text }
		function close_section(rc) {
			if (rc == 143) rc = rc ": killed after " tmo " s"
			if (plan == "" && !skipped) emit(0, mode ": " prog ": no plan (exit " rc ")")
			else if (plan != "" && plan != ran) emit(0, mode ": " prog ": planned " plan ", ran " ran)
			else if (rc != 0 && !failed) emit(0, mode ": " prog ": exit status " rc)
			prog = ""
		}
		BEGIN {
			lines = split(list, line, "\n")
			for (l = 1; l <= lines; l++) {
				k = split(line[l], w, " ")
				for (i = 2; i <= k; i++) if (w[i] == mode) want[w[1]] = 1
			}
		}
		{ sub(/\r$/, "") }
		/^## test / { prog = $3; seen[prog] = 1; plan = ""; ran = failed = skipped = 0; next }
		/^## exit / { if (prog != "") close_section($4); next }
		/^## done$/ { done = 1; next }
		prog == "" { print (/^#/ ? $0 : "# " $0); next }
		/^1\.\.0 *# *[Ss][Kk][Ii][Pp]/ {
			sub(/^1\.\.0 *# *[Ss][Kk][Ii][Pp] */, ""); skipped = 1
			n++; print "ok " n " - " mode ": " prog " # SKIP " $0; next
		}
		/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
		/^(not )?ok( |$)/ {
			good = !/^not /; ran++; failed += !good
			sub(/^(not )?ok *[0-9]* *-? */, "")
			emit(good, mode ": " prog ": " $0); next
		}
		{ print "# " prog ": " $0 }
		END {
			if (prog != "") close_section("none: killed, or the guest died")
			for (p in want) if (!(p in seen)) emit(0, mode ": " p ": never ran")
			if (!("setup" in seen)) emit(0, mode ": the guest never reached its init")
			if (!done) emit(0, mode ": the guest did not finish (qemu exit " qrc \
				(qrc == 124 ? ": killed after the timeout" : "") ")")
			print "count " n
		}' "$OUT/guest-$1.out"
}

cleanup() {
	[ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null
	rm -rf "$OUT/initramfs.d"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for mode in $MODES; do
	case $mode in
	iommu | iommu39 | noiommu) ;;
	*) say "FAIL: HM_VFIO_MODES: no mode '$mode' (iommu, iommu39, noiommu)" >&2 && exit 1 ;;
	esac
done
for f in hugemem $(test_list | awk '{ print $1 }'); do
	[ -x "$OUT/$f" ] || { say "FAIL: $OUT/$f missing: run it through 'make check-vfio'" >&2; exit 1; }
done
install_packages
qemu_runs $QEMU "$ACCEL"
guest_kernel
pack_initramfs || { say "FAIL: could not pack the initramfs" >&2; exit 1; }
say "kernel $KIMG, initramfs $(($(stat -c %s "$OUT/initramfs.cpio") >> 10)) KiB;" \
	"booting under $ACCEL once per mode: $MODES (timeout $TIMEOUT s each)"
n=0
: >"$OUT/vfio.tap.tmp"
for mode in $MODES; do
	t_boot=$(date +%s%N)
	boot "$mode"
	say "$mode: guest ran $(seconds_since "$t_boot") s (qemu exit $QEMU_RC)"
	grep -a '^guest:' "$OUT/console-$mode.log" 2>/dev/null | tr -d '\r' | sed "s/^/  $mode | /"
	if [ "$QEMU_RC" != 0 ] || ! grep -q '^## done' "$OUT/guest-$mode.out" 2>/dev/null; then
		say "$mode: the console ($OUT/console-$mode.log), last lines:"
		tail -n 20 "$OUT/console-$mode.log" | tr -d '\r' | sed 's/^/  | /'
	fi
	mode_tap "$mode" "$n" "$QEMU_RC" >"$OUT/tap-$mode.tmp"
	n=$(awk '$1 == "count" { c = $2 } END { print c + 0 }' "$OUT/tap-$mode.tmp")
	grep -v '^count ' "$OUT/tap-$mode.tmp" >>"$OUT/vfio.tap.tmp"
	rm -f "$OUT/tap-$mode.tmp"
done
{
	cat "$OUT/vfio.tap.tmp"
	echo "1..$n"
} >"$OUT/vfio.tap"
rm -f "$OUT/vfio.tap.tmp"
prove_tap "$OUT/vfio.tap"
rc=$?
say "$([ $rc = 0 ] && echo PASS || echo FAIL) in $(seconds_since "$t_start") s" \
	"(packages, kernel, initramfs, $(echo "$MODES" | wc -w) boots; the static build is make's)"
exit $rc
