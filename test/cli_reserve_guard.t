#!/bin/sh
# Growing a pool of larger pages while a hugemem prefix is live is refused
# without --force (the kernel may migrate the prefix's smaller hugepages and
# stale its IOVAs), allowed with a warning with --force, and allowed freely
# once the prefix is gone. Runs on a copy of a fixture tree: no root needed.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
holder=""
cleanup() {
	[ -n "$holder" ] && kill -9 "$holder" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$FIXTURES/two-sizes" "$tmp/root"
export HUGEMEM_ROOT="$tmp/root" HUGEMEM_RUNTIME_DIR="$tmp/run"
nr1g="$tmp/root/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
nr2m="$tmp/root/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

"$HM_BUILD/test-tools/hold_prefix" app1 >"$tmp/ready" &
holder=$!
for _ in $(seq 100); do grep -q ready "$tmp/ready" && break; sleep 0.05; done
t_like "$(cat "$tmp/ready")" ready "a primary holds prefix app1"

"$HUGEMEM" reserve 2G --page-size 1G >"$tmp/out" 2>"$tmp/err"
t_is $? 1 "1 GiB reserve while app1 is live: refused (exit 1)"
t_like "$(cat "$tmp/err")" "app1" "the refusal names the live prefix"
t_like "$(cat "$tmp/err")" "pid $holder" "and its pid"
t_like "$(cat "$tmp/err")" "--force" "and the way past it"
t_is "$(cat "$nr1g")" 4 "nr_hugepages of 1 GiB untouched"

"$HUGEMEM" reserve 16M --page-size 2M >"$tmp/out" 2>"$tmp/err"
t_is $? 0 "the smallest size is not guarded"
t_is "$(cat "$nr2m")" 8 "2 MiB pool set to 8 pages"

"$HUGEMEM" reserve 2G --page-size 1G --force >"$tmp/out" 2>"$tmp/err"
t_is $? 0 "--force reserves anyway"
t_like "$(cat "$tmp/err")" "warning" "with a warning on stderr"
t_is "$(cat "$nr1g")" 2 "nr_hugepages of 1 GiB set to 2"

kill -9 "$holder"; wait "$holder" 2>/dev/null; holder=""
"$HUGEMEM" reserve 3G --page-size 1G --json >"$tmp/out" 2>"$tmp/err"
t_is $? 0 "no live prefix: no guard"
t_like "$(cat "$tmp/out")" '"pages":3' "JSON reports the pages got"
t_is "$(cat "$tmp/err")" "" "and no warning"
t_done
