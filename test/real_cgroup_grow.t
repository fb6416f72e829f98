#!/bin/sh
# Growth at run time (docs/growth.md) under a hugetlb cgroup cap (v2): a
# primary started with -m 4 --max-mem 64M inside a child of a cgroup whose
# hugetlb.2MB.max is 8 MiB (4 pages) grows 1 MiB blocks one page at a time
# (test-tools/grow_tool) up to the cap, within which growth works; the
# growth past it is a NULL with ENOMEM whose message names the cgroup's limit
# and path, never SIGBUS; the refused growth takes nothing from the pool, a
# trim gives the grown pages back, and after the process every page is in
# the pool and nothing is charged to the cgroup. For page files and memfds.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 16
GT=$HM_BUILD/test-tools/grow_tool
[ -x "$GT" ] || t_skip_all "test tool $GT missing (make tests)"
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cg2" ] || t_skip_all "no cgroup v2 mount"
grep -qw hugetlb "$cg2/cgroup.controllers" || t_skip_all "cgroup v2 has no hugetlb controller"
tmp=$(mktemp -d)
pfx=hnumag$$
parent=$cg2/hnumag$$
cleanup() {
	rm -f "$HM_MNT/$pfx"map_*
	rmdir "$parent/job" "$parent" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

t_cgroup_cap "$parent" 4
t_is "$(cat "$parent/hugetlb.2MB.max")" 8388608 "parent limit set to 4 pages (8 MiB)"

# grow_tool ARGS inside $parent/job, its own runtime directory; output in $tmp/out
capped() {
	HUGEMEM_RUNTIME_DIR=$tmp sh -c 'echo $$ >"$1/job/cgroup.procs" && shift && exec "$@"' sh \
		"$parent" "$GT" "$@" >"$tmp/out" 2>"$tmp/err"
}
field() { # LINE KEY -> the value of KEY=... in LINE
	printf '%s\n' "$1" | tr ' :' '\n\n' | sed -n "s/^$2=//p" | head -n 1
}

for backing in page-files memfds; do
	case $backing in
	page-files) opts="--huge-dir $HM_MNT" ;;
	memfds) opts="--in-memory" ;;
	esac
	before=$(t_pool)
	# shellcheck disable=SC2086 # $opts is words
	capped -m 4 --max-mem 64M --file-prefix "$pfx" $opts -- \
		1M 1M 1M 1M 1M 1M 1M 1M 1M 1M free trim 1M
	rc=$?
	t_is $rc 0 "$backing: grow_tool ends normally (not killed: no SIGBUS)"
	[ $rc = 0 ] || t_diag "$(cat "$tmp/out" "$tmp/err")"
	t_like "$(head -n 1 "$tmp/out")" "init ok total=4194304" "$backing: -m 4 --max-mem 64M starts with 4 MiB"
	grown=$(grep '^malloc 1M ok' "$tmp/out" | awk '{ sub("total=", "", $4); if ($4 > 4194304) { print; exit } }')
	t_like "$grown" "malloc 1M ok" "$backing: a growth within the cap works"
	fail=$(grep -m 1 '^malloc 1M fail' "$tmp/out")
	prev=$(grep -B 1 -m 1 '^malloc 1M fail' "$tmp/out" | head -n 1)
	t_like "$fail" "malloc 1M fail 12 " "$backing: the growth past the cap is NULL with ENOMEM"
	t_like "$fail" "hugetlb cgroup limit 8 MiB in /hnumag$$" \
		"$backing: the message names the cgroup's limit and path"
	t_is "$(field "$fail" total)" 8388608 "$backing: the memory then holds exactly the cap"
	t_is "$(field "$fail" free)" "$(field "$prev" free)" \
		"$backing: the refused growth took nothing from the pool"
	trim=$(grep '^trim ' "$tmp/out")
	t_like "$trim" "total=4194304" "$backing: hm_mem_trim gives every grown unit back"
	t_is "$(field "$trim" free)" "$(($(field "$fail" free) + 2))" \
		"$backing: the pool has the 2 grown pages back"
	t_is "$(tail -n 1 "$tmp/out")" done "$backing: the steps after the refusal ran, hm_fini"
	t_is "$(t_pool)" "$before" "$backing: the pool is whole"
	t_is "$(cat "$parent/hugetlb.2MB.current")" 0 "$backing: nothing is charged to the cgroup"
	t_is "$(find "$HM_MNT" -name "$pfx*" | wc -l)" 0 "$backing: no page file left"
	t_diag "$(cat "$tmp/out")"
done
t_done
