#!/bin/bash
# hugemem status, the IOMMU side, on the fixture trees iommu-none, iommu-vfio
# and iommu-noiommu (their READMEs say what each holds): the text section,
# one verdict per --vfio-device and exit status 7 when the pool is usable and
# a device is not; the JSON section "iommu"; the memlock budget with and
# without CAP_IPC_LOCK (setpriv drops it); a denied device node, as nobody;
# CAP_SYS_RAWIO for a no-IOMMU group; a device whose sysfs files are garbage;
# bad command lines (malformed address, twice the same device).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v python3 >/dev/null || t_skip_all "python3 missing (apt-get install python3)"
export HUGEMEM_RUNTIME_DIR="$tmp/run"
mkdir -p "$tmp/run"

st() { # st FIXTURE ARGS...: status on FIXTURE (a name, or a path); stdout in $out, exit in $rc
	local root=$1
	shift
	case $root in /*) ;; *) root=$FIXTURES/$root ;; esac
	out=$(HUGEMEM_ROOT=$root "$HUGEMEM" status "$@" 2>"$tmp/err")
	rc=$?
}
# The value of a Python expression over the JSON on stdout (J), or "bad JSON".
jq_() { printf '%s' "$out" | python3 -c "import json, sys
J = json.load(sys.stdin)
print($1)" 2>/dev/null || echo "bad JSON"; }

# ---------------------------------------------------------------- an IOMMU, vfio-pci
st iommu-vfio
t_is "$rc" 0 "iommu-vfio: exit 0 (pool usable, no device asked)"
t_like "$out" "IOMMU and VFIO
  iommu      on, 4 groups
  iommufd    /dev/iommu: you may open it
  vfio       loaded; /dev/vfio/vfio: you may open it; no-IOMMU mode off
  type1      dma_entry_limit 65535
" "iommu-vfio: IOMMU on, iommufd, VFIO, type1's limit"
t_like "$out" "  vfio-pci   0000:00:05.0 [1234:11e8] vfio-pci, group 7, node 0
             0000:01:00.0 [1234:11e8] vfio-pci, group 8, node 0" \
	"iommu-vfio: the devices bound to vfio-pci, with group and node"

st iommu-vfio --vfio-device 00:05.0
t_is "$rc" 0 "edu alone in its group: exit 0"
t_like "$out" "verdict
  2 MiB: 98 pages usable on node 0
  0000:00:05.0 [1234:11e8] is usable through iommufd (/dev/vfio/devices/vfio0) and type1 (/dev/vfio/7): vfio-pci, IOMMU group 7, node 0" \
	"edu alone in its group: usable, through iommufd and type1"
t_like "$out" "device 0000:00:05.0
  ids        1234:11e8, class 00ff00, node 0, driver vfio-pci
  group      7: /dev/vfio/7 (open)
  cdev       /dev/vfio/devices/vfio0 (open)" "edu alone in its group: its ids, group and cdev"

st iommu-vfio --vfio-device 0000:01:00.0
t_is "$rc" 7 "edu beside a NIC on e1000e: exit 7"
t_like "$out" "0000:01:00.0: IOMMU group 8 is not viable: 0000:01:00.1 in the same group is bound to e1000e (unbind it: echo 0000:01:00.1 > /sys/bus/pci/devices/0000:01:00.1/driver/unbind, or bind it to vfio-pci too)" \
	"edu beside a NIC on e1000e: not viable, naming the NIC and the fix"
t_like "$out" "  group has  0000:00:1c.0, pcieport
             0000:01:00.1, e1000e: does DMA, so VFIO may not take the group" \
	"... the bridge on pcieport is fine, the NIC is not"

st iommu-vfio --vfio-device 00:03.0
t_is "$rc" 7 "NIC on e1000e: exit 7"
t_like "$out" "0000:00:03.0 is bound to e1000e: rebind it to vfio-pci: echo 0000:00:03.0 > /sys/bus/pci/devices/0000:00:03.0/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/0000:00:03.0/driver_override; echo 0000:00:03.0 > /sys/bus/pci/drivers_probe" \
	"NIC on e1000e: the three writes that rebind it"

st iommu-vfio --vfio-device 00:06.0
t_is "$rc" 7 "edu with no driver: exit 7"
t_like "$out" "0000:00:06.0 is bound to no driver: bind it to vfio-pci: echo vfio-pci > /sys/bus/pci/devices/0000:00:06.0/driver_override; echo 0000:00:06.0 > /sys/bus/pci/drivers_probe" \
	"edu with no driver: the two writes that bind it"

st iommu-vfio --vfio-device 00:05.0 --vfio-device 00:09.0
t_is "$rc" 7 "one usable, one missing: exit 7"
t_like "$out" "no such PCI device 0000:00:09.0 (lspci -D lists this machine's)" \
	"a missing device is named, with lspci -D"

# ---------------------------------------------------------------- JSON
st iommu-vfio --json --vfio-device 00:05.0 --vfio-device 01:00.0 --vfio-device 00:09.0
t_is "$rc" 7 "JSON: exit 7"
t_is "$(jq_ 'J["exit_status"]')" 7 "JSON: exit_status 7"
t_is "$(jq_ '[J["iommu"][k] for k in ("present", "groups", "iommufd", "vfio_container", "noiommu_mode", "type1_loaded", "dma_entry_limit", "dma_entry_limit_default")]')" \
	"[True, 4, 'open', 'open', False, True, 65535, False]" "JSON: the system's fields"
t_is "$(jq_ '[(d["device"], d["group"], d["node"], d["cdev"]) for d in J["iommu"]["vfio_devices"]]')" \
	"[('0000:00:05.0', 7, 0, '/dev/vfio/devices/vfio0'), ('0000:01:00.0', 8, 0, '/dev/vfio/devices/vfio1')]" \
	"JSON: vfio_devices with group, node and cdev"
t_is "$(jq_ '[(d["device"], d["verdict"], d["usable"]) for d in J["iommu"]["device_verdicts"]]')" \
	"[('0000:00:05.0', 'usable', True), ('0000:01:00.0', 'not-viable', False), ('0000:00:09.0', 'no-device', False)]" \
	"JSON: one verdict per device"
t_is "$(jq_ '[(p["device"], p["driver"], p["dma_owned"]) for p in J["iommu"]["device_verdicts"][1]["group_peers"]]')" \
	"[('0000:00:1c.0', 'pcieport', True), ('0000:01:00.1', 'e1000e', False)]" "JSON: the group's other devices"
t_is "$(jq_ '(J["iommu"]["device_verdicts"][0]["vendor_id"], J["iommu"]["device_verdicts"][0]["class"], J["iommu"]["device_verdicts"][0]["group_node_access"])')" \
	"('0x1234', '0x00ff00', 'open')" "JSON: ids as lspci -n writes them, node access"
t_is "$(jq_ 'sorted(k for k in J["iommu"] if "memlock" in k or "byte" in k or "socket" in k)')" \
	"['memlock_bytes']" "JSON: the byte count is named *_bytes, no socket"

# ---------------------------------------------------------------- no IOMMU
st iommu-none --vfio-device 00:05.0
t_is "$rc" 7 "no IOMMU: exit 7"
t_like "$out" "  iommu      none: boot with intel_iommu=on / amd_iommu=on" "no IOMMU: said, with the fix"
t_like "$out" "  vfio       not loaded; /dev/vfio/vfio: not there; no-IOMMU mode off" \
	"no IOMMU: vfio not loaded"
t_like "$out" "  type1      dma_entry_limit 65535 (the kernel's default; module not loaded)" \
	"no IOMMU: type1's limit is the default"
t_like "$out" "no IOMMU (0000:00:05.0 is in no IOMMU group): boot with intel_iommu=on / amd_iommu=on (and VT-d / AMD-Vi on in the firmware), or use --iommu noiommu (unsafe: modprobe vfio enable_unsafe_noiommu_mode=1)" \
	"no IOMMU: the device's verdict names the boot options and no-IOMMU mode"
st iommu-none --json
t_is "$(jq_ '(J["iommu"]["present"], J["iommu"]["groups"], J["iommu"]["iommufd"], J["iommu"]["vfio_devices"], J["iommu"]["device_verdicts"])')" \
	"(False, 0, 'missing', [], [])" "no IOMMU: JSON"

# ---------------------------------------------------------------- no-IOMMU mode
st iommu-noiommu --vfio-device 00:05.0
t_is "$rc" 0 "no-IOMMU mode, edu on vfio-pci, as root: exit 0"
t_like "$out" "  vfio       loaded; /dev/vfio/vfio: you may open it; no-IOMMU mode ON (unsafe)" \
	"no-IOMMU mode: said"
t_like "$out" "  group      0 (no-IOMMU): /dev/vfio/noiommu-0 (open)" "no-IOMMU mode: the group node"
t_like "$out" "0000:00:05.0 [1234:11e8] is usable through no-IOMMU (/dev/vfio/noiommu-0; unsafe: the device can reach all memory): vfio-pci" \
	"no-IOMMU mode: usable, said unsafe"
out=$(HUGEMEM_ROOT=$FIXTURES/iommu-noiommu setpriv --bounding-set=-sys_rawio "$HUGEMEM" status --vfio-device 00:05.0 2>&1)
t_is "$?" 7 "no-IOMMU mode without CAP_SYS_RAWIO: exit 7"
t_like "$out" "/dev/vfio/noiommu-0: a no-IOMMU group opens only with CAP_SYS_RAWIO" "... naming the capability"

# ---------------------------------------------------------------- memlock
out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio "$HUGEMEM" status 2>&1)
t_like "$out" "  memlock    no limit: this process has CAP_IPC_LOCK" "memlock: CAP_IPC_LOCK (root)"
out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio setpriv --bounding-set=-ipc_lock bash -c 'ulimit -l 4096 && "$0" status' "$HUGEMEM" 2>&1)
t_like "$out" "  memlock    4 MiB may be pinned for DMA (RLIMIT_MEMLOCK, no CAP_IPC_LOCK: ulimit -l to raise it)" \
	"memlock: 4 MiB without CAP_IPC_LOCK"
out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio setpriv --bounding-set=-ipc_lock bash -c 'ulimit -l 4096 && "$0" status --json' "$HUGEMEM" 2>&1)
t_is "$(jq_ '(J["iommu"]["memlock_bytes"], J["iommu"]["cap_ipc_lock"])')" "(4194304, False)" \
	"memlock: JSON memlock_bytes and cap_ipc_lock"
if [ "$(ulimit -H -l)" = unlimited ]; then
	out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio setpriv --bounding-set=-ipc_lock bash -c 'ulimit -l unlimited && "$0" status' "$HUGEMEM" 2>&1)
	t_like "$out" "  memlock    unlimited (RLIMIT_MEMLOCK)" "memlock: unlimited"
else
	t_n=$((t_n + 1)); echo "ok $t_n # SKIP memlock unlimited: the hard limit here is $(ulimit -H -l) KiB"
fi

# ---------------------------------------------------------------- a denied node (as nobody)
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chmod 755 "$tmp"
	cp -a "$FIXTURES/iommu-vfio" "$tmp/denied"
	chmod 600 "$tmp/denied/dev/vfio/7" "$tmp/denied/dev/vfio/devices/vfio0"
	chmod 666 "$tmp/denied/dev/vfio/vfio" "$tmp/denied/dev/iommu"
	out=$(HUGEMEM_ROOT=$tmp/denied setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$HUGEMEM" status --vfio-device 00:05.0 2>&1)
	t_is "$?" 7 "a denied group node and cdev, as nobody: exit 7"
	t_like "$out" "/dev/vfio/devices/vfio0 and /dev/vfio/7: permission denied: run as root, or give this user the node" \
		"... naming both nodes and the fix"
	t_like "$out" "  group      7: /dev/vfio/7 (denied)" "... the group node shown denied"
else
	for i in 1 2 3; do t_n=$((t_n + 1)); echo "ok $t_n # SKIP needs root, setpriv and user nobody"; done
fi

# ---------------------------------------------------------------- what cannot be read
cp -a "$FIXTURES/iommu-vfio" "$tmp/garbage"
printf 'zz\n' >"$tmp/garbage/sys/devices/pci0000:00/0000:00:06.0/vendor"
st "$tmp/garbage" --vfio-device 00:06.0 --vfio-device 00:05.0
t_is "$rc" 7 "a device whose vendor file is garbage: exit 7"
t_like "$out" "  0000:00:06.0: unknown: $tmp/garbage/sys/bus/pci/devices/0000:00:06.0/vendor: expected a hex number up to 0xffff, found 'zz'" \
	"... its verdict names the file"
t_like "$out" "  0000:00:05.0 [1234:11e8] is usable" "... the other device still has its verdict"
cp -a "$FIXTURES/iommu-vfio" "$tmp/garbage2"
printf 'lots\n' >"$tmp/garbage2/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
st "$tmp/garbage2" --json --vfio-device 00:05.0
t_is "$rc" 7 "type1's limit is garbage: exit 7 (nothing about the device can be said)"
t_like "$(jq_ 'J["iommu"]["error"]')" "dma_entry_limit: expected a count of mappings, found 'lots'" \
	"... JSON: iommu.error names the file"
t_is "$(jq_ 'J["iommu"]["device_verdicts"][0]["verdict"]')" unknown "... the device's verdict is unknown"
cp -a "$FIXTURES/iommu-vfio" "$tmp/nopages"
echo 0 >"$tmp/nopages/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
echo 0 >"$tmp/nopages/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
echo 0 >"$tmp/nopages/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages"
echo 0 >"$tmp/nopages/sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages"
st "$tmp/nopages" --vfio-device 00:03.0
t_is "$rc" 4 "no pages and a device on e1000e: the pool's verdict (4) comes first"

# ---------------------------------------------------------------- bad command lines
bad() { # bad NEEDLE ARGS...: status ARGS is a usage error naming NEEDLE
	local needle=$1
	shift
	out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio "$HUGEMEM" "$@" 2>"$tmp/err")
	t_is "$?" 2 "exit 2: hugemem $*"
	t_like "$(cat "$tmp/err")" "$needle" "names '$needle': hugemem $*"
	t_is "$out" "" "nothing on stdout: hugemem $*"
}
bad "--vfio-device: PCI address '0000:00:5.0' is not of that form: give DDDD:BB:DD.F or BB:DD.F (hex), e.g. 0000:03:00.0" \
	status --vfio-device 0000:00:5.0
bad "PCI address '00:20.0' has device 20, past 1f" status --vfio-device 00:20.0
bad "PCI address 'eth0'" status --vfio-device eth0
bad "device 0000:00:05.0 is given twice" status --vfio-device 00:05.0 --vfio-device 0000:00:05.0
bad "--vfio-device needs a value" status --vfio-device
bad "--vfio-device is not an option of 'attach'" attach --vfio-device 00:05.0
# init takes the device and checks it before it opens anything (docs/dma.md)
init_refused() {
	local needle=$1
	shift
	out=$(HUGEMEM_ROOT=$FIXTURES/iommu-vfio "$HUGEMEM" init -m 2 "$@" 2>"$tmp/err")
	t_is "$?" 1 "exit 1: hugemem init $*"
	t_like "$(cat "$tmp/err")" "$needle" "names '$needle': hugemem init $*"
}
init_refused "e1000e" --vfio-device 00:03.0
init_refused "0000:01:00.1" --vfio-device 01:00.0 --iommu type1
init_refused "IOMMU_IOAS_ALLOC" --vfio-device 00:05.0 --iommu iommufd
t_done
