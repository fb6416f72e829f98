#!/bin/busybox sh
# init.sh — PID 1 of the VFIO test guest (test/vfio/run.sh packs it as /init
# with a static busybox, the static hugemem, the test programs under /test/
# and tests.txt).
#
# The boot mode comes on the kernel command line (hm_mode=iommu|iommu39|
# noiommu; an unknown name=value parameter reaches init as a variable). Init
# mounts what hugemem and the tests read, binds qemu's edu (1234:11e8) to
# vfio-pci, reserves HM_VFIO_PAGES (hm_pages=) pages of 2 MiB and mounts
# hugetlbfs on /mnt/huge2m, and /mnt/huge1g for the 1 GiB page the command
# line reserved, then writes to the second serial port (ttyS1, a
# file on the host: kernel messages never mix into it) one section per
# program:
#
#   ## test NAME          the section of NAME ("setup": init's own checks)
#   ...                   what NAME printed (TAP, stdout and stderr)
#   ## exit NAME RC       its exit status (124: killed by the timeout)
#   ## done               every program ran
#
# run.sh turns the sections into one TAP stream. Each program listed for the
# mode in tests.txt runs as: /test/NAME BDF /mnt/huge2m MODE, killed after
# hm_test_timeout seconds. Whatever happens, init powers off: the host's
# timeout covers a hang, qemu's -no-reboot and panic=-1 a crash.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /tmp /mnt/huge2m /mnt/huge1g
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
MODE=${hm_mode:-iommu}
PAGES=${hm_pages:-64}
TEST_TIMEOUT=${hm_test_timeout:-120}
HUGE=/mnt/huge2m
HUGE1G=/mnt/huge1g # vfio_guest.h: VG_HUGE_DIR_1G
TAP=/dev/ttyS1
stty -F $TAP raw -echo 2>/dev/null

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}
echo "guest: kernel $(uname -r), mode $MODE, init at $(uptime_s) s"
echo "guest: cmdline: $(cat /proc/cmdline)"
dmesg | grep -E 'WARNING:|BUG:|DMAR: (IOMMU enabled|Intel\(R\))|HugeTLB: (registered|allocat)' |
	sed 's/^/guest: kernel: /'

# ------------------------------------------------------------------ setup checks

n=0
check() { # CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

# The edu, bound to vfio-pci; its BDF in $bdf.
bind_edu() {
	local d drv
	bdf=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] && [ -z "$bdf" ] && bdf=${d##*/}
	done
	# run.sh puts the tests' edu at 00:05.0 (more may sit behind a bridge)
	[ -e /sys/bus/pci/devices/0000:00:05.0 ] && bdf=0000:00:05.0
	[ -n "$bdf" ]
	check $? "qemu's edu (1234:11e8) is on the PCI bus${bdf:+ at $bdf}"
	[ -n "$bdf" ] || return 1
	echo vfio-pci >/sys/bus/pci/devices/$bdf/driver_override
	echo $bdf >/sys/bus/pci/drivers_probe
	drv=$(readlink /sys/bus/pci/devices/$bdf/driver)
	[ "${drv##*/}" = vfio-pci ]
	check $? "edu bound to vfio-pci (driver: ${drv##*/})"
}

# iommu mode: the two edus behind the bridge, one bound to vfio-pci and the
# other to pci-pf-stub, a driver that is not VFIO's: their group is not viable.
bind_bridge_pair() {
	local a=0000:01:01.0 b=0000:01:02.0 da db
	[ -e /sys/bus/pci/devices/$a ] || return 0
	echo vfio-pci >/sys/bus/pci/devices/$a/driver_override
	echo $a >/sys/bus/pci/drivers_probe
	echo pci-pf-stub >/sys/bus/pci/devices/$b/driver_override
	echo $b >/sys/bus/pci/drivers_probe
	da=$(readlink /sys/bus/pci/devices/$a/driver)
	db=$(readlink /sys/bus/pci/devices/$b/driver)
	[ "${da##*/}" = vfio-pci ] && [ "${db##*/}" = pci-pf-stub ]
	check $? "behind the bridge: $a on ${da##*/}, $b on ${db##*/} (one group, not viable)"
}

# The IOMMU the mode asked for: present with its address width (qemu's
# aw-bits: the cap register's MGAW field is width - 1), or absent.
iommu_checks() {
	local cap want=48 grp
	grp=$(readlink /sys/bus/pci/devices/$bdf/iommu_group)
	grp=${grp##*/}
	if [ $MODE = noiommu ]; then
		[ ! -e /sys/class/iommu/dmar0 ] && [ -c /dev/vfio/noiommu-$grp ]
		check $? "no IOMMU; the no-IOMMU group /dev/vfio/noiommu-$grp"
		return
	fi
	[ $MODE = iommu39 ] && want=39
	cap=$(cat /sys/class/iommu/dmar0/intel-iommu/cap 2>/dev/null)
	[ -n "$cap" ] && [ $((((0x$cap >> 16) & 0x3f) + 1)) = $want ]
	check $? "the IOMMU translates $want-bit addresses (cap ${cap:-missing})"
	[ -c /dev/iommu ] && [ -c /dev/vfio/$grp ] && [ -n "$(ls /sys/bus/pci/devices/$bdf/vfio-dev)" ]
	check $? "/dev/iommu, group /dev/vfio/$grp and the device's cdev exist"
}

memory_checks() {
	local hp=/sys/kernel/mm/hugepages
	echo $PAGES >$hp/hugepages-2048kB/nr_hugepages
	[ "$(cat $hp/hugepages-2048kB/nr_hugepages)" = $PAGES ]
	check $? "$PAGES pages of 2 MiB reserved"
	mount -t hugetlbfs -o pagesize=2M none $HUGE
	check $? "hugetlbfs (2 MiB) mounted on $HUGE"
	[ "$(cat $hp/hugepages-1048576kB/nr_hugepages 2>/dev/null)" = 1 ]
	check $? "one 1 GiB page from the command line (hugepagesz=1G hugepages=1)"
	mount -t hugetlbfs -o pagesize=1G none $HUGE1G
	check $? "hugetlbfs (1 GiB) mounted on $HUGE1G"
}

setup() {
	echo "## test setup"
	bind_edu && iommu_checks && bind_bridge_pair
	memory_checks
	echo "1..$n"
	echo "## exit setup 0"
}

# ------------------------------------------------------------------ the programs

run_tests() {
	local name modes t0
	sed 's/#.*//' /test/tests.txt | while read -r name modes; do
		[ -n "$name" ] || continue
		case " $modes " in *" $MODE "*) ;; *) continue ;; esac
		t0=$(uptime_s)
		echo "## test $name"
		timeout $TEST_TIMEOUT /test/$name "$bdf" $HUGE $MODE </dev/null 2>&1
		echo "## exit $name $?"
		echo "guest: $name ran from $t0 s to $(uptime_s) s" >/dev/console
	done
}

{
	setup
	[ -n "$bdf" ] && run_tests
	# the DMAR faults the blocked DMAs caused, kept off the console by loglevel=3
	dmesg | grep -E 'DMAR: .*fault|vfio|noiommu|taint' | head -20 | sed 's/^/# dmesg: /'
	echo "## done"
} >$TAP 2>&1
dmesg | grep -E 'DMAR: .*(fault|DMA (Read|Write))' | head -6 | sed 's/^/guest: dmar: /'
dmesg | grep -E 'WARNING:|BUG:|Oops' | sed 's/^/guest: kernel: /'
echo "guest: done at $(uptime_s) s"
poweroff -f
