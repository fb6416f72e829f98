#!/bin/busybox sh
# init.sh — PID 1 of the two-node test guest (test/numa/run.sh packs it as
# /init with a static busybox, the static hugemem, numa_probe and guest.sh).
#
# Mounts what hugemem reads (proc, sysfs, devtmpfs; tmpfs on /run for the
# runtime directories and /tmp for scratch), says what the guest has on the
# console (ttyS0), runs the tests with their TAP going to the second serial
# port (ttyS1, a file on the host: kernel messages never mix into it), and
# powers off. Whatever happens, it powers off: the host's timeout covers a
# hang, qemu's -no-reboot and panic=-1 a crash.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
echo "guest: kernel $(uname -r), $(ls -d /sys/devices/system/node/node* | wc -l) nodes," \
	"init at $(cut -d' ' -f1 /proc/uptime) s"
echo "guest: cmdline: $(cat /proc/cmdline)"
for n in /sys/devices/system/node/node*; do
	echo "guest: ${n##*/} cpus $(cat $n/cpulist)," \
		"$(awk '/MemTotal/ { print $4 / 1024 " MiB" }' $n/meminfo)"
done
dmesg | grep -E 'WARNING:|BUG:|HugeTLB: (registered|allocating)' | sed 's/^/guest: kernel: /'
stty -F /dev/ttyS1 raw -echo 2>/dev/null
/test/guest.sh >/dev/ttyS1 2>&1
echo "guest: tests exited $?, uptime $(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
