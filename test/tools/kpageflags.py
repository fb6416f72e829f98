#!/usr/bin/env python3
"""kpageflags.py ROOT: write ROOT/proc/kpageflags and ROOT/proc/kpagecount, sparse,
from ROOT/pages (test/fixtures/map-two-nodes/pages says the format: one line
per stretch of 2 MiB hugepages, FIRST_SLOT COUNT MAPCOUNT). Binary files are
not kept in git; test/cli_map.t and test/json_schema.t write them into a copy
of the tree."""
import os
import struct
import sys

root = sys.argv[1]
stride = (2 << 20) // os.sysconf("SC_PAGE_SIZE")
head = struct.pack("<Q", (1 << 17) | (1 << 15))
tail = struct.pack("<Q", (1 << 17) | (1 << 16))
with open(root + "/proc/kpageflags", "wb") as flags, open(root + "/proc/kpagecount", "wb") as count:
    for line in open(root + "/pages"):
        words = line.split("#")[0].split()
        if not words:
            continue
        first, n, mapcount = map(int, words)
        for slot in range(first, first + n):
            flags.seek(slot * stride * 8)
            flags.write(head + tail * (stride - 1))
            count.seek(slot * stride * 8)
            count.write(struct.pack("<Q", mapcount))
    flags.truncate(1024 * stride * 8)
    count.truncate(1024 * stride * 8)
