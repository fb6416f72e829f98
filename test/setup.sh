#!/usr/bin/env bash
# test/setup.sh [--dry-run] [--] COMMAND [ARG...] — run COMMAND (the test suite:
# `make check`, check-unit, check-asan-all and check-valgrind run their prove
# through it) with what the real-hugepage tests need, then put the machine back
# as it was found, whatever way COMMAND ends (failure, Ctrl-C, SIGTERM).
#
# As root:
#   - the 2 MiB pool: when fewer than WANT pages are free and not reserved, it is
#     grown by what is missing (never to a fixed count: other processes may use
#     the pool at the same time), at most down to 1 GiB of MemAvailable; at the
#     end it shrinks by exactly what was added, so a change someone else made
#     meanwhile stays. When the kernel gives fewer pages it says so and goes on:
#     the tests that need more skip, each with its reason.
#   - a hugetlbfs of 2 MiB pages is mounted at /run/hugemem-check/huge2m-PID
#     when none is mounted, and unmounted at the end; nothing else is unmounted.
#   - both happen under the machine-wide test lock (test/lock.sh's file): a real
#     test of another run that compares the pool with its snapshot never sees it
#     move.
#   - runs at the same time share: each writes what it added and mounted in
#     $MNT_BASE/users; a run that ends while another still runs leaves its pages
#     and mount to it (they may be what the other's tests use), and the last one
#     out puts back everything the runs added, its own and theirs (and those of a
#     run that died without putting anything back).
#   - when the pool and a mount are there, HM_REQUIRE_HUGEPAGES=1 (unless the
#     caller set it): a real test that skips for want of them then fails, so a
#     run as root shows every real test run.
# Not root: nothing is touched; the real tests skip and say why.
# 1 GiB pages: no test on this machine needs them (the NUMA guest, make
# check-numa, reserves its own at its boot), so none are reserved.
#
# --dry-run prints what would be done and does nothing (COMMAND is not run).
# HM_CHECK_SETUP=0 runs COMMAND with nothing done. For test/check_setup.t:
# HM_SETUP_ROOT prefixes every path read or written (sysfs, /proc, the lock,
# the mount point), HM_SETUP_UID replaces the user id.
set -u

WANT=2304 # free 2 MiB pages: test/real_pmd_share.t maps 4 GiB primaries (2048 pages)
KEEP_KB=1048576 # MemAvailable the pool never takes: 1 GiB

. "$(dirname "$0")/lock.sh" # HM_TEST_LOCK
R=${HM_SETUP_ROOT:-}
HP=$R/sys/kernel/mm/hugepages/hugepages-2048kB
LOCK=$R$HM_TEST_LOCK
MNT_BASE=$R/run/hugemem-check
MNT=$MNT_BASE/huge2m-$$
USERS=$MNT_BASE/users # "PID ADDED MOUNT" per run using the pool (MOUNT "-": none)
me=test/setup.sh
dry=""
added=0     # pages this run added to the pool
mounted=""  # 1 once this run mounted $MNT
extra_mounts="" # mounts of runs that ended before this one, to unmount

say() { echo "$me: $*" >&2; }

# with_lock FUNCTION: FUNCTION under the machine-wide test lock, held on descriptor 9
# of this shell only while FUNCTION runs (what it starts, cat and mount, ends before
# it returns), closed before COMMAND starts: no test inherits it.
with_lock() {
	local rc
	mkdir -p "${LOCK%/*}" 2>/dev/null
	exec 9>>"$LOCK" || return 1
	flock -n 9 || say "waiting for the machine-wide test lock $LOCK (a real test runs)"
	if ! flock -w 900 9; then
		exec 9>&-
		say "the machine-wide test lock $LOCK stayed busy for 15 minutes"
		return 1
	fi
	"$1"
	rc=$?
	exec 9>&-
	return $rc
}

# The first 2 MiB hugetlbfs mounted read-write, or nothing.
mount_2m() {
	awk '$3 == "hugetlbfs" && $4 !~ /pagesize=(1024M|1G)/ && $4 !~ /(^|,)ro(,|$)/ { print $2; exit }' \
		"$R/proc/mounts" 2>/dev/null
}

# Pages to add for WANT free and unreserved ones, within MemAvailable.
pages_missing() {
	local free resv avail_kb missing room
	free=$(cat "$HP/free_hugepages") resv=$(cat "$HP/resv_hugepages")
	missing=$((WANT - (free - resv)))
	[ "$missing" -gt 0 ] || { echo 0; return; }
	avail_kb=$(awk '$1 == "MemAvailable:" { print $2 }' "$R/proc/meminfo" 2>/dev/null)
	room=$(((${avail_kb:-0} - KEEP_KB) / 2048))
	[ "$room" -gt 0 ] || room=0
	if [ "$missing" -gt "$room" ]; then
		say "$missing more 2 MiB pages would leave less than 1 GiB of MemAvailable" \
			"(${avail_kb:-?} KiB): asking for $room"
		missing=$room
	fi
	echo "$missing"
}

# Grow the pool by what is missing; sets $added. Under the lock.
reserve() {
	local nr want_nr
	nr=$(cat "$HP/nr_hugepages")
	want_nr=$((nr + $(pages_missing)))
	if [ "$want_nr" -eq "$nr" ]; then
		say "2 MiB pool: $(cat "$HP/free_hugepages") free, $WANT needed: left as it is"
		return 0
	fi
	if [ -n "$dry" ]; then
		say "would grow the 2 MiB pool from $nr to $want_nr pages (then shrink it by as many)"
		return 0
	fi
	echo "$want_nr" >"$HP/nr_hugepages" 2>/dev/null # the kernel may give fewer
	added=$(($(cat "$HP/nr_hugepages") - nr))
	[ "$added" -ge 0 ] || added=0 # someone shrank it at the same time: nothing is ours
	say "2 MiB pool grown by $added pages, from $nr (asked $((want_nr - nr)))"
}

# Mount a 2 MiB hugetlbfs when none is. Under the lock.
mount_one() {
	local there
	there=$(mount_2m)
	if [ -n "$there" ]; then
		say "2 MiB hugetlbfs mounted at $there: used as it is"
		return 0
	fi
	if [ -n "$dry" ]; then
		say "would mount hugetlbfs (pagesize=2M) at $MNT (then unmount it)"
		return 0
	fi
	mkdir -p "$MNT_BASE"
	mkdir -p "$MNT" || return 1
	if mount -t hugetlbfs -o pagesize=2M nodev "$MNT"; then
		mounted=1
		say "mounted hugetlbfs (pagesize=2M) at $MNT"
	else
		rmdir "$MNT"
		say "could not mount hugetlbfs at $MNT: the real tests will skip, each saying why"
	fi
}

# Shrink the pool by what was added, unmount what was mounted. Under the lock.
restore() {
	local nr target m
	if [ -n "$(others_alive)" ]; then
		hand_over
		return 0
	fi
	take_over
	for m in $extra_mounts; do # said either way: a mount left here has no record any more
		if umount "$m" 2>/dev/null; then
			rmdir "$m" && say "unmounted $m (a run that ended before)"
		elif awk -v m="$m" '$2 == m { found = 1 } END { exit !found }' "$R/proc/mounts"; then
			say "could not unmount $m (a run that ended before; in use?): umount $m by hand"
		fi
	done
	if [ "$added" -gt 0 ]; then
		nr=$(cat "$HP/nr_hugepages")
		target=$((nr > added ? nr - added : 0))
		echo "$target" >"$HP/nr_hugepages" 2>/dev/null
		say "2 MiB pool back to $(cat "$HP/nr_hugepages") pages (it had $nr; this run added $added)"
	fi
	if [ -n "$mounted" ]; then
		if umount "$MNT"; then
			rmdir "$MNT"
			say "unmounted $MNT"
		else
			say "could not unmount $MNT: unmount it by hand (umount $MNT)"
		fi
	fi
	rmdir "$MNT_BASE" 2>/dev/null || true # when empty: the last one out
}

finish() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -z "$dry" ]; then
		if ! with_lock restore; then
			say "the pool or the mount was NOT put back: shrink" \
				"$HP/nr_hugepages by $added${mounted:+, umount $MNT}"
			[ "$rc" -ne 0 ] || rc=1
		fi
	fi
	exit "$rc"
}

prepare() {
	reserve
	mount_one
	[ -n "$dry" ] && return 0
	mkdir -p "$MNT_BASE" 2>/dev/null
	echo "$$ $added ${mounted:+$MNT}${mounted:--}" >>"$USERS"
}

# Other runs still alive in $USERS (not this one): their pids, one a line.
others_alive() {
	[ -f "$USERS" ] || return 0
	while read -r pid _ _; do
		[ "$pid" != "$$" ] && [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
	done <"$USERS"
}

# Leave this run's pages and mount to the runs still alive ("0" lines: the last
# one out puts them back). Under the lock.
hand_over() {
	local rest
	rest=$(grep -v "^$$ " "$USERS" 2>/dev/null)
	{
		[ -n "$rest" ] && printf '%s\n' "$rest"
		echo "0 $added ${mounted:+$MNT}${mounted:--}"
	} >"$USERS"
	say "another run (pid $(others_alive | head -1)) still uses the pool: the last one out puts" \
		"back the $added pages this run added${mounted:+ and unmounts $MNT}"
}

# The last one out: take over what the runs that ended before (or died) added.
take_over() {
	local pid a m
	[ -f "$USERS" ] || return 0
	while read -r pid a m; do
		[ "$pid" = "$$" ] && continue
		added=$((added + a))
		[ "$m" = - ] || extra_mounts="$extra_mounts $m"
	done <"$USERS"
	rm -f "$USERS"
}

# HM_REQUIRE_HUGEPAGES=1 once the pool and a mount are there (the caller's value wins).
require() {
	local free resv
	free=$(cat "$HP/free_hugepages") resv=$(cat "$HP/resv_hugepages")
	if [ -z "$dry" ] && [ $((free - resv)) -lt "$WANT" ]; then
		say "only $((free - resv)) free 2 MiB pages, $WANT wanted: the kernel could not" \
			"give more; the real tests that need more will skip, each saying why"
	elif [ -z "$dry" ] && [ -z "$mounted" ] && [ -z "$(mount_2m)" ]; then
		: # mount_one said why
	elif [ -n "${HM_REQUIRE_HUGEPAGES+set}" ]; then
		say "HM_REQUIRE_HUGEPAGES=$HM_REQUIRE_HUGEPAGES, as given"
	elif [ -n "$dry" ]; then
		say "would set HM_REQUIRE_HUGEPAGES=1: a real-hugepage test that skips would fail"
	else
		export HM_REQUIRE_HUGEPAGES=1
		say "HM_REQUIRE_HUGEPAGES=1: a real-hugepage test that skips fails"
	fi
}

if [ "${1:-}" = --dry-run ]; then
	dry=1
	shift
fi
[ "${1:-}" = -- ] && shift
if [ $# -eq 0 ]; then
	echo "usage: $me [--dry-run] [--] COMMAND [ARG...]" >&2
	exit 2
fi
if [ "${HM_CHECK_SETUP:-1}" = 0 ]; then
	say "HM_CHECK_SETUP=0: the pool and the mounts are left as they are"
elif [ "${HM_SETUP_UID:-$(id -u)}" != 0 ]; then
	say "not root: the real-hugepage tests will skip, each saying why (as root, make check" \
		"reserves 2 MiB pages and mounts hugetlbfs for them)"
elif [ ! -w "$HP/nr_hugepages" ]; then
	say "no 2 MiB hugepages in this kernel ($HP): the real-hugepage tests will skip"
elif ! command -v flock >/dev/null; then
	say "flock(1) missing (util-linux): the pool is left as it is"
else
	# Ctrl-C reaches COMMAND too (one process group); once it has ended, finish puts
	# things back. A signal to this shell alone waits for COMMAND to end first.
	trap finish EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	if [ -n "$dry" ]; then
		prepare
	else
		with_lock prepare
	fi
	require
fi
if [ -n "$dry" ]; then
	say "would run: $*"
	exit 0
fi
"$@"
