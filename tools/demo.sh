#!/bin/sh
# make demo: the main job on this machine. As root with no free 2 MiB pages,
# reserve a small pool first (and give it back afterwards); without a
# hugetlbfs mount, use memfd backing (--in-memory). Then `hugemem init -m 64`
# shows the layout it got: segments contiguous in VA and IOVA, per node.
set -u
cli=${1:-build/hugemem}
hp=/sys/kernel/mm/hugepages/hugepages-2048kB
restore=""
if [ "$(id -u)" = 0 ] && [ -w "$hp/nr_hugepages" ] && [ "$(cat "$hp/free_hugepages")" -lt 32 ]; then
	restore=$(cat "$hp/nr_hugepages")
	echo "\$ $cli reserve $(( (restore + 64) * 2 ))M   # no free pages: a small pool for the demo"
	"$cli" reserve $(( (restore + 64) * 2 ))M || exit 1
fi
backing=""
awk '$3 == "hugetlbfs" { f = 1 } END { exit !f }' /proc/mounts || backing=--in-memory
echo "\$ $cli init -m 64 --trace $backing"
"$cli" init -m 64 --trace $backing
rc=$?
if [ $rc -ne 0 ]; then
	# no memory to be had here (not root, no pool): the diagnosis is the demo
	echo "(init failed; here is what hugemem status says about this machine)"
	"$cli" status
	case $? in 3 | 4 | 5 | 6) rc=0 ;; esac
fi
if [ -n "$restore" ]; then
	"$cli" reserve $((restore * 2))M >/dev/null && echo "(pool given back: $restore pages)"
fi
exit $rc
