#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of every fuzz harness under test/fuzz/corpus/<name>/.

Run from the repository top: python3 test/fuzz/seeds.py. It (re)writes the
seeds it knows by name and leaves other files alone (test/fuzz/corpus/shconf/
comes from test/unit/shconf_file_test.c with HM_SHCONF_CORPUS=<dir>, and
inputs found while fuzzing are added by hand, minimised with -merge=1).

Seeds are small and real-looking: lines of test/fixtures/*, of a real
/proc/self/mountinfo, /proc/meminfo and /proc/locks, EAL-style command lines,
and for binary formats records built the way the kernel writes them.
"""
import glob
import os
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(TOP, "test", "fuzz", "corpus")


def put(name, fname, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def fixture_files(rel):
    """(fixture name, bytes) of test/fixtures/*/REL."""
    out = []
    for path in sorted(glob.glob(os.path.join(TOP, "test", "fixtures", "*", rel))):
        fx = path[len(os.path.join(TOP, "test", "fixtures")) + 1:].split("/")[0]
        with open(path, "rb") as f:
            out.append((fx, f.read()))
    return out


# ------------------------------------------------------------------ sizes
SIZES = ["64M", "1G", "512", "2048kB", "1536MiB", "4K", "2mb", "1gib", "3t", "0",
         "16777215T", "16777216T", "18446744073709551615", "1.5G", "0.25M", "0x10",
         "64 M", "-1", "", "10q", "1GiBB", "007M"]


def sizes():
    for i, s in enumerate(SIZES):
        put("size", "s%02d" % i, s)


SOCKET_MEM = ["64,0,128", "0,1024", "1G", "2048M,2048M", "0,0,0,512", ",64", "64,", "64,,64",
              "0,0", "1.5G,0", "64M,1Z", ",".join(["1"] * 64), ",".join(["1"] * 65),
              "16777216T,1", "512,512"]


def socket_mem():
    for i, s in enumerate(SOCKET_MEM):
        put("socket_mem", "s%02d" % i, s)


# ------------------------------------------------------------------ command lines
LINES = [
    ["init", "-m", "64"],
    ["init", "-m64M", "--file-prefix", "app1", "--iova-mode", "va", "--contig=best"],
    ["init", "--socket-mem=64,0,128", "--huge-dir", "/dev/hugepages", "--single-file-segments"],
    ["init", "--zone", "rx:16M:contig", "--zone=tx:8M", "--base-virtaddr", "0x200000000000"],
    ["init", "--in-memory", "--no-shconf", "--huge-unlink", "--page-size", "1G", "--map"],
    ["init", "-m", "64", "--socket-mem", "64"],
    ["init", "--no-huge", "--in-memory"],
    ["init", "--help", "--bogus"],
    ["init", "--mem-size", "64"],
    ["init", "--", "-m", "64"],
    ["init", "--file-prefix", "../x"],
    ["init", "--zone", "a:1M", "--zone", "a:2M"],
    ["attach", "--file-prefix=app1", "--verify", "--json", "--hold", "--trace"],
    ["status", "--json", "--page-size", "2M", "--huge-dir=/mnt/huge"],
    ["reserve", "1024", "--node", "1", "--force", "--page-size=2M"],
    ["mount", "/mnt/huge", "--page-size=1G", "--user", "dpdk", "--group=dpdk"],
    ["unmount", "/mnt/huge"],
    ["clear", "--dry-run", "--file-prefix", "hm"],
    ["map", "--svg", "pool.svg", "--node=0", "--file-prefix", "hm"],
    ["reorder", "--page-size", "2M", "--node", "0"],
    ["status", "-m", "64"],
    ["init", "--base-virtaddr", "4097"],
    ["status", "--vfio-device", "03:00.0", "--vfio-device=0000:03:00.1", "--json"],
    ["status", "--vfio-device", "03:00.0", "--vfio-device", "0000:03:00.0"],
]


def opts():
    for i, words in enumerate(LINES):
        put("opts", "l%02d" % i, "\0".join(words))
    put("opts", "multi", "\n".join("\0".join(w) for w in LINES[:6]))


# ------------------------------------------------------------------ mountinfo
REAL_MOUNTINFO = """21 26 0:20 / /proc rw,relatime - proc proc rw
22 26 0:21 / /sys rw,relatime - sysfs sysfs rw
23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334416k,nr_inodes=3083604,mode=755
24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683620k
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 26 0:38 / /run/hm-torture-mnt rw,relatime - hugetlbfs nodev rw,pagesize=2M
"""
MOUNT_LINES = [
    "40 24 0:45 / /dev/hugepages rw,relatime shared:30 - hugetlbfs hugetlbfs rw,pagesize=2M\n",
    "41 24 0:46 / /dev/hugepages1G rw,relatime shared:31 - hugetlbfs hugetlbfs rw,pagesize=1024M\n",
    "42 24 0:47 / /mnt/huge\\040dir rw,relatime - hugetlbfs nodev rw,pagesize=2M,size=64M,"
    "uid=1000,gid=1000,mode=1770\n",
    "43 24 0:48 / /mnt/half ro,relatime - hugetlbfs nodev ro,pagesize=2M,size=50%\n",
    "44 24 0:49 / /mnt/min rw - hugetlbfs nodev rw,size=3000000,min_size=2M\n",
    "45 24 0:50 / /mnt/bad rw - hugetlbfs nodev rw,pagesize=2Q\n",
    "46 24 0:51 / /mnt/tab\\011and\\134back rw master:1 shared:2 - hugetlbfs none rw,mode=0777\n",
    "34 30 0:30 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
    "cgroup rw,hugetlb\n",
    "30 23 0:27 /docker/abc /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n",
    "47 24 0:52 / /mnt/x rw - hugetlbfs\n",
    "48 1 0:5 / /mnt/h rw - hugetlbfs nodev rw,size=18014398509481985%\n",
    "not a mountinfo line\n",
]


def mountinfo():
    put("mountinfo", "real", REAL_MOUNTINFO)
    # reproducer of a reported bug (fuzz-findings.md): a two-line message
    put("mountinfo", "bug-newline-in-mount-point",
        "46 24 0:51 / /mnt/a\\012b rw - hugetlbfs none rw,mode=9\n")
    for fx, data in fixture_files("proc/self/mountinfo"):
        put("mountinfo", "fixture-" + fx, data)
    for i, line in enumerate(MOUNT_LINES):
        put("mountinfo", "line%02d" % i, line)


# ------------------------------------------------------------------ meminfo
REAL_MEMINFO = """MemTotal:       24683620 kB
MemFree:        20170248 kB
MemAvailable:   22958920 kB
AnonHugePages:         0 kB
ShmemHugePages:        0 kB
FileHugePages:      2048 kB
HugePages_Total:     400
HugePages_Free:      400
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:          819200 kB
"""
MEMINFO_EXTRA = ["Hugepagesize:    1048576 kB", "MemTotal: 1 kB\nHugepagesize: 0 kB\n",
                 "Hugepagesize: 2048 MB\n", "Hugepagesize:\t18014398509481984 kB\n",
                 "Hugepagesize: 2048kB\nHugepagesize: 4 kB\n", "MemTotal: 1 kB\n",
                 "Hugepagesize: 99999999999999999999 kB\n", "Hugepagesize: 2048 kB junk\n"]


def meminfo():
    put("meminfo", "real", REAL_MEMINFO)
    for fx, data in fixture_files("proc/meminfo"):
        put("meminfo", "fixture-" + fx, data)
    for i, text in enumerate(MEMINFO_EXTRA):
        put("meminfo", "m%02d" % i, text)


# ------------------------------------------------------------------ sysfs
SYSFS = ["0\n", "1024\n", "18446744073709551615\n", "18446744073709551616\n", "12a\n", "",
         " 1\n", "1 2\n", "0-3\n", "0,2-3\n", "0-63\n", "0-64\n", "3-1\n", "0,,1\n",
         "hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB", "hugepages-0kB",
         "hugepages-02048kB", "hugepages-18014398509481984kB", "9" * 70 + "\n"]


def sysfs():
    for i, text in enumerate(SYSFS):
        put("sysfs", "s%02d" % i, text)
    for rel in ["sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
                "sys/devices/system/node/has_memory", "sys/devices/system/node/possible"]:
        for fx, data in fixture_files(rel)[:3]:
            put("sysfs", "fixture-%s-%s" % (fx, os.path.basename(rel)), data)


# ------------------------------------------------------------------ cgroup
CGROUP = [
    ("0::/ci/job\n", "cgroup-v2", "4194304\n"),
    ("0::/ci/job\n", "cgroup-v2", "max\n"),
    ("12:pids:/docker/abc\n5:hugetlb:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n",
     "cgroup-v1", "2097152\n"),
    ("5:hugetlb:/docker/abc\n", "cgroup-v1", "9223372036854771712\n"),
    ("0::/\n", "cgroup-v2", "max"),
    ("0::/ci/job/\n", "cgroup-v2", "12x\n"),
    ("0::/ci/../ci/job\n", "cgroup-v2", "0\n"),
    ("5:hugetlb:/docker/abc\n", "cgroup-v1", "-1\n"),
    ("bad line\n", "cgroup-v2", "max junk\n"),
    ("4:cpu,cpuacct:/docker/abc\n", "cgroup-v1", "1\n"),
]


def cgroup():
    mi = dict(fixture_files("proc/self/mountinfo"))
    for i, (proc, fx, value) in enumerate(CGROUP):
        put("cgroup", "c%02d" % i, proc.encode() + b"\0" + mi[fx] + b"\0" + value.encode())
    v2root = mi["cgroup-v2"].replace(b"30 23 0:27 / /sys/fs/cgroup",
                                     b"30 23 0:27 /ci /sys/fs/cgroup")
    put("cgroup", "c-v2-nsroot", b"0::/ci/job\n\0" + v2root + b"\0max\n")
    # reproducer of a reported bug (fuzz-findings.md): an empty mount root
    put("cgroup", "bug-empty-mount-root",
        b"5:hugetlb:/x\n\0003 1 0:30  /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n"
        b"\0001048576\n")
    # reproducer of a reported bug (fuzz-findings.md): a newline in a quoted path
    put("cgroup", "bug-newline-in-cgroup-mount",
        b"5:hugetlb:/\n\0" + b"34 30 0:30 / /sys/fs/x\\012" + b"a" * 300 +
        b" rw - cgroup cgroup rw,hugetlb\n\0" + b"1\n")


# ------------------------------------------------------------------ pagemap / kpageflags
HEAD = (1 << 17) | (1 << 15)
TAIL = (1 << 17) | (1 << 16)


def records(flags, counts):
    return b"".join(struct.pack("<QQ", f, c) for f, c in zip(flags, counts))


def pool(shift, pages, stride_of, mapped=(), larger=(), n=None):
    """Words for hugepages of 1 << shift base pages: heads, tails, counts."""
    stride = 1 << shift
    n = n or pages * stride
    flags, counts = [0] * n, [0] * n
    for p in range(pages):
        at = p * stride
        if at in larger:
            continue
        flags[at] = HEAD
        for t in range(1, stride):
            flags[at + t] = TAIL
        counts[at] = 1 if p in mapped else 0
    for at, size in larger:
        flags[at] = HEAD
        for t in range(1, size):
            flags[at + t] = TAIL
    return flags, counts


def pagemap():
    def header(shift, smaller=False, two=False, free=0, block=b""):
        return bytes([shift | (16 if smaller else 0) | (32 if two else 0), free,
                      len(block)]) + block

    f, c = pool(2, 16, 4)
    put("pagemap", "run16", header(2, free=16) + records(f, c))
    f, c = pool(2, 16, 4, mapped={3, 9})
    put("pagemap", "mapped-split", header(2, free=14) + records(f, c))
    f, c = pool(1, 32, 2, larger=[(16, 8)])
    put("pagemap", "larger-skipped", header(1, free=28) + records(f, c))
    f, c = pool(1, 16, 2)
    put("pagemap", "smaller-offered", header(2, smaller=True, free=4) + records(f, c))
    f, c = pool(2, 8, 4, mapped={2})
    put("pagemap", "smaller-both", header(2, smaller=True, free=7) + records(f, c))
    f, c = pool(2, 16, 4)
    put("pagemap", "two-nodes", header(2, two=True, free=16, block=b"8000\n") + records(f, c))
    put("pagemap", "bug-block-size-newline", header(2, two=True, block=b"zz\n") + records(f, c))
    f, c = pool(0, 64, 1, mapped={5})
    f = [w | (1 << 63) | i for i, w in enumerate(f)]
    put("pagemap", "present-bits", header(0, free=63) + records(f, c))
    f, c = pool(9, 2, 512)
    put("pagemap", "two-2mb", header(9, free=2) + records(f, c))
    put("pagemap", "empty", header(3))


# ------------------------------------------------------------------ /proc/locks
LOCKS = [
    "1: POSIX  ADVISORY  WRITE 20164 fe:00:408224 0 EOF\n"
    "2: POSIX  ADVISORY  WRITE 18371 fe:00:404740 0 EOF\n"
    "3: POSIX  ADVISORY  WRITE 18371 fe:00:408225 0 EOF\n",
    "1: FLOCK  ADVISORY  WRITE 4242 fe:01:408224 0 EOF\n",
    "1: OFDLCK ADVISORY  READ  -1 fe:01:408224 0 EOF\n2: POSIX  ADVISORY  WRITE 77 fe:01:408224 0 EOF\n",
    "1: POSIX  ADVISORY  WRITE 100 fe:01:408224 0 EOF\n1: -> POSIX  ADVISORY  WRITE 101 fe:01:408224 0 EOF\n",
    "1: LEASE  ACTIVE    READ  12 fe:01:408224 0 EOF\n",
    "1: FLOCK  ADVISORY  WRITE 0 fe:01:408224 0 EOF\n",
    "1: POSIX  ADVISORY  WRITE 5 00:00:0 0 EOF\n2: FLOCK  MSNFS  READ 6 <none> 0 EOF\n",
    "1: POSIX ADVISORY WRITE x fe:01:408224 0 EOF\n",
    "1 POSIX ADVISORY WRITE 5 fe:01:408224 0 EOF\n",
    "1: POSIX ADVISORY WRITE 5 fe:01\n",
]


def locks():
    for i, text in enumerate(LOCKS):
        put("locks", "l%02d" % i, text)


# maps: one /proc/PID/maps line each (test/fuzz/maps_fuzz.c), as the kernel
# writes them: page files, memfds, paths with spaces, deleted files, anonymous
# memory, pseudo paths, numbers at their largest.
MAPS = [
    "7f2c40000000-7f2c40200000 rw-s 00000000 00:2d 408224                     "
    "/dev/hugepages/hmmap_0",
    "7f2c40200000-7f2c40400000 rw-s 00200000 00:01 3082                       "
    "/memfd:hm_node0 (deleted)",
    "7f0000000000-7f0000001000 r-xp 0001a000 fd:01 1234                       "
    "/opt/my dir/lib x.so",
    "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ",
    "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]",
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
    "7f00c0000000-7f0100000000 rw-s 00000000 00:33 99 /dev/hugepages1G/a (deleted) (deleted)",
    "0-ffffffffffffffff ---p ffffffffffffffff fff:fffff 18446744073709551615 /x",
    "7f00-7f01 rw-p 0 00:00 18446744073709551616",
    "7f2c40000000-7f2c40200000 rw-s 00000000 00:2d",
]


def maps():
    for i, text in enumerate(MAPS):
        put("maps", "m%02d" % i, text)


# heap: a program of calls and scribbles (test/fuzz/heap_fuzz.c): a config
# byte (bit 0: segment 1 on node 1; bit 1: a secondary opens the arena at
# the end), then steps. Offsets in segment 0 of the one-node arena: the heap
# at 16512 (broken mark 16560), node 0 at 16728 (sl_map 16732, fl_map 16904,
# heads 16912), zone entries at 72 + 64 * i (va at +32); offsets from 65536
# on are segment 1's, whose first block (prev_size at 65576) is where the
# first block of 40000 bytes goes (the smaller region fits first).
def h_malloc(size, align=0):
    return bytes([0]) + struct.pack(">HB", size, align)


def h_free(i):
    return bytes([3, i])


def h_realloc(i, size):
    return bytes([5]) + struct.pack(">HB", size, i)


def h_scribble_bytes(off, data):
    return bytes([7, 0]) + struct.pack(">I", off)[1:] + bytes([len(data) - 1]) + data


def h_scribble_small(off, v):
    return bytes([7, 1]) + struct.pack(">I", off)[1:] + struct.pack(">H", v)


def h_scribble_addr(off, to):
    return bytes([7, 2]) + struct.pack(">I", off)[1:] + struct.pack(">I", to)[1:]


H_STATS, H_CHECK, H_UNBREAK = bytes([8, 1]), bytes([8, 0]), bytes([10])


def h_zone(op, n, size=4096):
    return bytes([9, op * 8 + n]) + (struct.pack(">H", size) if op == 0 else b"")


def heap():
    busy = h_malloc(100) + h_malloc(5000) + h_malloc(40000, 12) + h_free(0) + h_malloc(64)
    put("heap", "calls", bytes([0]) + busy + h_realloc(1, 20000) + h_zone(0, 1) +
        h_zone(1, 1) + h_zone(3, 0) + H_STATS + H_CHECK + h_zone(2, 1) + bytes([6, 0, 0x60, 0]))
    put("heap", "calls-two-nodes", bytes([3]) + busy * 3 + H_STATS + H_CHECK)
    put("heap", "sl-bit16", bytes([0]) + busy + h_scribble_bytes(16732 + 6 * 4, b"\0\0\1\0") +
        h_malloc(40000) + H_STATS + h_malloc(100))
    put("heap", "fl-bit62", bytes([0]) + busy + h_scribble_bytes(16911, b"\x40") + H_STATS +
        h_malloc(30000))
    put("heap", "head-wild", bytes([0]) + h_malloc(100) + h_scribble_addr(16912 + 8 * 200, 22500)
        + h_scribble_bytes(16904, b"\xff" * 6) + h_malloc(9000) + h_malloc(200))
    put("heap", "prev-size-odd", bytes([0]) + h_malloc(40000) + h_malloc(100) +
        h_scribble_small(65576, 8) + h_free(0) + h_malloc(40000) + H_STATS)
    put("heap", "unbreak", bytes([0]) + busy + h_scribble_small(16728 + 200, 99) + H_CHECK +
        H_UNBREAK + h_malloc(100) + h_free(1) + H_STATS)
    put("heap", "zone-va", bytes([2]) + h_zone(0, 0) + h_scribble_addr(104, 30000) +
        h_zone(1, 0) + h_zone(3, 0) + h_zone(2, 0))
    put("heap", "arena-header", bytes([2]) + busy + h_scribble_small(40, 99) + h_malloc(100))


# ------------------------------------------------------------------ PCI addresses
PCI = ["0000:00:05.0", "00:05.0", "0000:03:00.1", "ABCD:EF:1F.7", "10000:e1:00.0",
       "ffffffff:ff:1f.7", "0000:00:20.0", "0000:00:05.8", "000:00:05.0", "0000:00:5.0",
       "0000:00:05.0\n", " 00:05.0", "0x00:05.0", "0000:00:00:05.0", "05.0", ""]


def pci():
    for i, s in enumerate(PCI):
        put("pci", "p%02d" % i, s)


# ------------------------------------------------------------------ the set-up file
SETUPCONF = [
    "# hugemem set-up\nsize=2G page-size=2M\n",
    "size=4G page-size=1G node=0 mount=/dev/hugepages1G\n",
    "size=1G page-size=2M node=1 mount=/mnt/h uid=1000 gid=1000 mode=1770\n",
    "\tsize=64M\t page-size=2M  \n  # indented\n\nsize=8G page-size=1G node=3\n",
    "size=1G sise=2G\n", "size=1G size=2G\n", "page-size=2M\n", "size=0\n",
    "size=1G page-size=3M\n", "size=1G node=64\n", "size=1G mode=17777\n",
    "size=1G uid=4294967295\n", "size=1G mount=rel\n", "size=1G mount=/a\x01b\n",
    "size=1G\r\n", "size=16777215T page-size=8388608T\n", "size=1G =x\n", "node\n",
]


def setupconf():
    for i, s in enumerate(SETUPCONF):
        put("setupconf", "c%02d" % i, s)


def main():
    for fn in (sizes, socket_mem, opts, mountinfo, meminfo, sysfs, cgroup, pagemap, locks, maps,
               heap, pci, setupconf):
        fn()
    return 0


if __name__ == "__main__":
    sys.exit(main())
