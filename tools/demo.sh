#!/bin/sh
# make demo: show what `hugemem status` says about this machine's hugepages,
# and what its exit status means (README, "Exit status").
set -u
cli=${1:-build/hugemem}
echo "\$ $cli status"
"$cli" status
rc=$?
case $rc in
0) what="memory is usable" ;;
3) what="pages exist but no hugetlbfs mount serves them (hugemem mount)" ;;
4) what="no hugepages reserved (hugemem reserve 128M, as root)" ;;
5) what="every hugepage is in use" ;;
6) what="a cgroup or mount limit leaves this process no pages" ;;
*) echo "demo: hugemem status failed (exit $rc)" >&2; exit "$rc" ;;
esac
echo "(exit status $rc: $what)"
