#!/bin/bash
# test/setup.sh, the set-up `make check` runs the suite through, on a fixture
# tree (HM_SETUP_ROOT: its own sysfs pool counters, /proc/meminfo, /proc/mounts,
# lock file and mount point; HM_SETUP_UID: root or not): what it would do
# (--dry-run), what it does to the pool counter and puts back after success,
# failure and Ctrl-C, that it leaves the pool alone without root or with
# HM_CHECK_SETUP=0, that HM_REQUIRE_HUGEPAGES=1 is set only when the pool is
# there. As root, a real hugetlbfs is mounted at the fixture's mount point when
# its /proc/mounts shows none, and unmounted at the end. And WANT covers the
# largest pool any real test asks for.
. "$(dirname "$0")/lib.sh"
SETUP=$HM_TOP/test/setup.sh
tmp=$(mktemp -d)
cleanup() {
	grep -q " $tmp/" /proc/mounts 2>/dev/null && awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' \
		/proc/mounts | xargs -r umount
	rm -rf "$tmp"
}
trap cleanup EXIT

# fixture NR FREE RESV AVAIL_KB [MOUNTS]: a fresh tree in $R
fixture() {
	R=$tmp/root$((++n_fix))
	mkdir -p "$R/sys/kernel/mm/hugepages/hugepages-2048kB" "$R/proc"
	echo "$1" >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo "$2" >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
	echo "$3" >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages"
	printf 'MemTotal:       33554432 kB\nMemAvailable:   %s kB\n' "$4" >"$R/proc/meminfo"
	printf 'proc /proc proc rw 0 0\n%s' "${5:-}" >"$R/proc/mounts"
}
n_fix=0
NR() { cat "$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"; }
MOUNTED_2M='nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0
'
run() { # run ARGS...: test/setup.sh on $R as root; stderr in $tmp/err, stdout in $tmp/out
	HM_SETUP_ROOT=$R HM_SETUP_UID=0 "$SETUP" "$@" >"$tmp/out" 2>"$tmp/err"
}
want=$(sed -n 's/^WANT=\([0-9]*\).*/\1/p' "$SETUP")
unset HM_REQUIRE_HUGEPAGES HM_CHECK_SETUP

# ---------------------------------------------------------------- --dry-run
fixture 10 4 0 33554432
run --dry-run sh -c 'echo ran'
t_is "$?" 0 "--dry-run exits 0"
t_like "$(cat "$tmp/err")" "would grow the 2 MiB pool from 10 to $((10 + want - 4)) pages" \
	"--dry-run: grows by what is missing of $want free pages"
t_like "$(cat "$tmp/err")" "would mount hugetlbfs (pagesize=2M) at $R/run/hugemem-check/huge2m-" \
	"--dry-run: mounts when /proc/mounts shows no hugetlbfs"
t_like "$(cat "$tmp/err")" "would set HM_REQUIRE_HUGEPAGES=1" "--dry-run: would require the real tests"
t_like "$(cat "$tmp/err")" "would run: sh -c echo ran" "--dry-run: names the command"
t_is "$(cat "$tmp/out")|$(NR)" "|10" "--dry-run: runs nothing, writes nothing"
t_is "$(ls "$R/run" 2>/dev/null)" "" "--dry-run: creates no mount point"

fixture 100 2400 200 33554432 "$MOUNTED_2M"
run --dry-run true
t_like "$(cat "$tmp/err")" "from 100 to $((100 + want - 2200)) pages" \
	"reserved pages are not free: 2400 free, 200 reserved"
t_like "$(cat "$tmp/err")" "2 MiB hugetlbfs mounted at /dev/hugepages: used as it is" \
	"a 2 MiB mount already there is used"
t_unlike "$(cat "$tmp/err")" "would mount" "and nothing is mounted"

fixture 0 0 0 33554432 'nodev /mnt/huge1g hugetlbfs rw,relatime,pagesize=1024M 0 0
nodev /mnt/ro2m hugetlbfs ro,relatime,pagesize=2M 0 0
'
run --dry-run true
t_like "$(cat "$tmp/err")" "would mount" "a 1 GiB mount or a read-only one does not count"

fixture 0 0 0 $((2 * 1048576)) "$MOUNTED_2M"
run --dry-run true
t_like "$(cat "$tmp/err")" "less than 1 GiB of MemAvailable (2097152 KiB): asking for 512" \
	"never takes the last GiB of MemAvailable"
t_like "$(cat "$tmp/err")" "from 0 to 512 pages" "so grows by 512 pages only"

fixture 10 $((want + 5)) 0 33554432 "$MOUNTED_2M"
run --dry-run true
t_like "$(cat "$tmp/err")" "$((want + 5)) free, $want needed: left as it is" \
	"enough free pages: the pool is left alone"

# ---------------------------------------------------------------- doing it
fixture 10 4 0 33554432 "$MOUNTED_2M"
run sh -c 'echo "nr=$(cat "$HM_SETUP_ROOT/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" \
	"require=${HM_REQUIRE_HUGEPAGES-unset}"'
t_is "$?" 0 "the command's exit status is the set-up's"
t_is "$(cat "$tmp/out")" "nr=$((10 + want - 4)) require=unset" \
	"the command runs with the pool grown; fewer free than wanted (a fixture's kernel gives none): not required"
t_like "$(cat "$tmp/err")" "only 4 free 2 MiB pages, $want wanted" "says the kernel gave too few"
t_is "$(NR)" 10 "the pool is put back afterwards"
t_like "$(cat "$tmp/err")" "2 MiB pool back to 10 pages" "and says so"

fixture 10 $((want + 1)) 0 33554432 "$MOUNTED_2M"
run sh -c 'echo "require=${HM_REQUIRE_HUGEPAGES-unset}"'
t_is "$(cat "$tmp/out")|$(NR)" "require=1|10" \
	"pool and mount there: HM_REQUIRE_HUGEPAGES=1, the pool untouched"
HM_REQUIRE_HUGEPAGES=0 run sh -c 'echo "require=$HM_REQUIRE_HUGEPAGES"'
t_is "$(cat "$tmp/out")" "require=0" "a HM_REQUIRE_HUGEPAGES given is kept"

fixture 10 4 0 33554432 "$MOUNTED_2M"
run sh -c 'exit 7'
t_is "$?|$(NR)" "7|10" "a failing command: its exit status, and the pool put back"

# someone else grows the pool while the suite runs: only what was added goes
fixture 10 4 0 33554432 "$MOUNTED_2M"
run sh -c 'echo $(($(cat "$1") + 50)) >"$1"' sh "$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
t_is "$(NR)" 60 "a change made by another process meanwhile stays"

# two runs at once (helpers, a developer's terminals): the first one to end leaves its
# pages to the other, whose tests may be using them; the last one out puts back all
fixture 10 4 0 33554432 "$MOUNTED_2M"
users=$R/run/hugemem-check/users
run sh -c '
	HM_SETUP_ROOT=$0 HM_SETUP_UID=0 "$1" sh -c "while [ ! -e $2 ]; do sleep 0.1; done" \
		>/dev/null 2>"$3" &
	echo $! >"$4"
	for _ in $(seq 100); do [ "$(wc -l <"$5" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done' \
	"$R" "$SETUP" "$tmp/b.go" "$tmp/b.err" "$tmp/b.pid" "$users"
t_is "$(NR)" $((10 + 2 * (want - 4))) "two runs at once: the first one out leaves the pool grown"
t_like "$(cat "$tmp/err")" "still uses the pool" "and says the last one out puts it back"
touch "$tmp/b.go"
for _ in $(seq 100); do kill -0 "$(cat "$tmp/b.pid")" 2>/dev/null || break; sleep 0.1; done
t_is "$(NR)" 10 "the last one out puts back what both added"
t_is "$(ls "$R/run/hugemem-check" 2>/dev/null)" "" "and leaves no record behind"

# Ctrl-C and a kill of the group: the signal reaches the whole process group (job
# control: the set-up in a group of its own, SIGINT not ignored as a plain & would
# have it), the command ends, the pool is put back
for sig in INT:130 TERM:143; do
	fixture 10 4 0 33554432 "$MOUNTED_2M"
	rm -f "$tmp/cmd.pid"
	set -m
	HM_SETUP_ROOT=$R HM_SETUP_UID=0 "$SETUP" sh -c 'echo $$ >"$0"; exec sleep 60' "$tmp/cmd.pid" \
		>/dev/null 2>"$tmp/err" &
	bg=$!
	set +m
	for _ in $(seq 100); do [ -s "$tmp/cmd.pid" ] && break; sleep 0.1; done
	t_is "$(NR)" $((10 + want - 4)) "SIG${sig%:*}: the pool was grown while the command ran"
	kill -"${sig%:*}" -- -"$bg"
	wait "$bg"
	t_is "$?|$(NR)" "${sig#*:}|10" "SIG${sig%:*} to the group: exit status ${sig#*:}, the pool put back"
done

# ---------------------------------------------------------------- leaving things alone
fixture 10 4 0 33554432
HM_SETUP_ROOT=$R HM_SETUP_UID=1000 "$SETUP" sh -c 'echo "require=${HM_REQUIRE_HUGEPAGES-unset}"' \
	>"$tmp/out" 2>"$tmp/err"
t_is "$(cat "$tmp/out")|$(NR)" "require=unset|10" "not root: nothing touched, nothing required"
t_like "$(cat "$tmp/err")" "not root: the real-hugepage tests will skip" "not root: says so"
HM_CHECK_SETUP=0 run sh -c 'echo ran'
t_is "$(cat "$tmp/out")|$(NR)" "ran|10" "HM_CHECK_SETUP=0: the command runs, nothing touched"
run
t_is "$?" 2 "no command: usage error"

# ---------------------------------------------------------------- a real mount (root)
if [ "$(id -u)" != 0 ]; then
	t_ok 0 "# SKIP not root: no hugetlbfs mounted for real"
elif ! grep -qw hugetlbfs /proc/filesystems; then
	t_ok 0 "# SKIP no hugetlbfs in this kernel"
else
	fixture 10 $((want + 1)) 0 33554432
	HM_SETUP_ROOT=$R "$SETUP" sh -c 'awk -v r="$0/run/hugemem-check/" \
		"index(\$2, r) == 1 { print \$3, \$4 }" /proc/mounts' "$R" >"$tmp/out" 2>"$tmp/err"
	t_like "$(cat "$tmp/out")" "hugetlbfs rw" "root, no mount: a hugetlbfs is mounted while the command runs"
	t_like "$(cat "$tmp/out")" "pagesize=2M" "of 2 MiB pages"
	t_unlike "$(awk '{ print $2 }' /proc/mounts)" "$R/" "and unmounted after it"
	t_is "$(ls -A "$R/run")" "lock" "its mount point is gone too (the lock file stays)"
	t_like "$(cat "$tmp/err")" "unmounted $R/run/hugemem-check/huge2m-" "and it says so"
fi

# ---------------------------------------------------------------- WANT covers every real test
most=$( {
	sed -n 's/.*t_require_hugepages \([0-9][0-9]*\).*/\1/p' "$HM_TOP"/test/*.t
	for f in "$HM_TOP"/test/unit/*.c; do
		grep -o 'real_require\(_room\)\?([A-Z0-9_ +]*' "$f" | sed 's/.*(//' | while read -r e; do
			for m in $(printf '%s' "$e" | grep -o '[A-Z_][A-Z0-9_]*'); do
				e=$(printf '%s' "$e" | sed "s/\\b$m\\b/$(sed -n "s/^#define $m[[:space:]]*\([0-9]*\).*/\1/p" "$f")/")
			done
			echo $((e))
		done
	done
} | sort -n | tail -1)
t_ok "$([ "$most" -ge 2048 ] && [ "$want" -ge "$most" ] && echo 0 || echo 1)" \
	"WANT ($want) covers the most any real test asks for ($most pages)"
t_done
