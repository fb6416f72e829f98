#!/usr/bin/env python3
"""Check a live hugemem primary's published layout from outside.

usage: check_layout.py PID LAYOUT.json [EXPECT_BYTES]

Reads /proc/PID/pagemap and /proc/PID/numa_maps of the process (root) and
verifies, for every segment of the layout JSON: every page is present at its
VA, its physical address is the claimed IOVA plus the page's offset (IOVA
mode pa), pages of a segment are physically and virtually contiguous, the
segment's node matches numa_maps, no two segments could merge, and the total
is the sum of the segments (and EXPECT_BYTES when given). Prints one line per
failure and exits 1 when there is any; prints a summary otherwise.
"""
import json
import struct
import sys

PFN_MASK = (1 << 55) - 1


def pfn_of(pagemap, va):
    pagemap.seek(va // 4096 * 8)
    entry = struct.unpack("<Q", pagemap.read(8))[0]
    if not entry >> 63 & 1:
        return None
    return entry & PFN_MASK


def numa_nodes(pid):
    """VA of each mapping -> set of nodes that hold its pages."""
    nodes = {}
    with open(f"/proc/{pid}/numa_maps") as f:
        for line in f:
            words = line.split()
            held = {int(w[1:].split("=")[0]) for w in words[1:] if w[0] == "N" and "=" in w}
            nodes[int(words[0], 16)] = held
    return nodes


def check_segment(seg, pagemap, mode, nodes, fail):
    va, iova = int(seg["va"], 16), int(seg["iova"], 16)
    size, count = seg["page_size_bytes"], seg["pages"]
    if seg["len"] != size * count:
        fail(f"segment {seg['va']}: len {seg['len']} != {count} pages of {size}")
    for i in range(count):
        pfn = pfn_of(pagemap, va + i * size)
        if pfn is None:
            fail(f"page {hex(va + i * size)} is not present")
        elif mode == "pa" and pfn * 4096 != iova + i * size:
            fail(f"page {hex(va + i * size)}: physical {hex(pfn * 4096)}, claimed {hex(iova + i * size)}")
    mapped = [n for start, n in nodes.items() if va <= start < va + seg["len"]]
    if mode == "pa" and mapped and any(seg["node"] not in n for n in mapped if n):
        fail(f"segment {seg['va']}: numa_maps puts it on {mapped}, layout says {seg['node']}")


def main():
    pid, path = sys.argv[1], sys.argv[2]
    layout = json.load(open(path))
    errors = []
    fail = errors.append
    nodes = numa_nodes(pid)
    segs = sorted(layout["segments"], key=lambda s: int(s["va"], 16))
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for seg in segs:
            check_segment(seg, pagemap, layout["iova_mode"], nodes, fail)
    for a, b in zip(segs, segs[1:]):
        if (int(a["va"], 16) + a["len"] == int(b["va"], 16) and int(a["iova"], 16) + a["len"] ==
                int(b["iova"], 16) and a["node"] == b["node"]):
            fail(f"segments {a['va']} and {b['va']} could merge: the table is not maximal")
    total = sum(s["len"] for s in segs)
    if total != layout["total_bytes"]:
        fail(f"segments add up to {total}, total_bytes says {layout['total_bytes']}")
    if len(sys.argv) > 3 and total != int(sys.argv[3]):
        fail(f"total {total} bytes, expected {sys.argv[3]}")
    for e in errors:
        print(e)
    if not errors:
        pages = sum(s["pages"] for s in segs)
        print(f"checked {pages} pages in {len(segs)} segments: IOVAs, contiguity, nodes, total")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
