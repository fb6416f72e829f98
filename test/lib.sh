# test/lib.sh — sourced by the shell tests (test/*.t): TAP output, the
# hugepage requirement, the machine-wide lock and pool snapshots.
# Test code only.

HM_TOP=$(cd "$(dirname "$0")/.." && pwd)
HM_BUILD=${HM_BUILD:-$HM_TOP/build}
HUGEMEM=$HM_BUILD/hugemem
FIXTURES=$HM_TOP/test/fixtures
. "$HM_TOP/test/lock.sh"
HP2M=/sys/kernel/mm/hugepages/hugepages-2048kB
t_n=0
t_fail=0

t_ok() { # t_ok STATUS DESCRIPTION: STATUS 0 passes
	t_n=$((t_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $t_n - $2"; else echo "not ok $t_n - $2"; t_fail=$((t_fail + 1)); fi
}
t_is() { # t_is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]; local r=$?
	t_ok $r "$3"
	[ $r -eq 0 ] || echo "#   got '$1', want '$2'"
}
t_like() { # t_like TEXT NEEDLE DESCRIPTION
	case "$1" in *"$2"*) t_ok 0 "$3" ;; *) t_ok 1 "$3"; echo "#   '$2' not in:"; printf '%s\n' "$1" | sed 's/^/#   /' ;; esac
}
t_unlike() { # t_unlike TEXT NEEDLE DESCRIPTION
	case "$1" in *"$2"*) t_ok 1 "$3"; echo "#   '$2' unexpectedly in output" ;; *) t_ok 0 "$3" ;; esac
}
t_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
t_done() { echo "1..$t_n"; exit $((t_fail > 0)); }

# Skip everything; under HM_REQUIRE_HUGEPAGES=1 (CI) a hugepage skip fails.
t_skip_all() {
	if [ "${HM_REQUIRE_HUGEPAGES:-0}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - required but skipped: $1"; exit 1
	fi
	echo "1..0 # SKIP $1"; exit 0
}

# One test skipped (t_skip); one skipped for want of real hugepages, which
# under HM_REQUIRE_HUGEPAGES=1 (CI) fails instead (t_skip_real).
t_skip() { t_n=$((t_n + 1)); echo "ok $t_n # SKIP $1"; }
t_skip_real() {
	if [ "${HM_REQUIRE_HUGEPAGES:-0}" = 1 ]; then t_ok 1 "required but skipped: $1"; else t_skip "$1"; fi
}

# Real hugepage tests: root, NEED free 2 MiB pages, a 2 MiB hugetlbfs mount
# (HM_MNT). Takes the machine-wide lock so concurrent runs never share the pool
# (test/lock.sh: held by a keeper process, so no program the test starts
# inherits it). t_have_hugepages returns 1 with the reason in t_why;
# t_require_hugepages skips the whole file.
t_have_hugepages() {
	local need=${1:-16}
	t_why=""
	if [ "$(id -u)" != 0 ]; then
		t_why="needs root for real hugepages"
	elif [ ! -r $HP2M/free_hugepages ]; then
		t_why="no 2 MiB hugepage support in this kernel"
	elif ! command -v flock >/dev/null; then
		t_why="flock(1) missing (util-linux)"
	elif ! hm_test_lock 900; then
		t_why="machine-wide test lock busy for 15 minutes"
	elif [ "$(cat $HP2M/free_hugepages)" -lt "$need" ]; then
		t_why="needs $need free 2 MiB hugepages (echo N > $HP2M/nr_hugepages)"
	else
		HM_MNT=$(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | while read -r m; do
			case "$(grep " $m hugetlbfs" /proc/mounts)" in *pagesize=1024M*|*pagesize=1G*) ;; *) echo "$m"; break ;; esac
		done)
		[ -n "$HM_MNT" ] || t_why="no 2 MiB hugetlbfs mount (mount -t hugetlbfs nodev /dev/hugepages)"
	fi
	[ -z "$t_why" ]
}
t_require_hugepages() {
	t_have_hugepages "$@" || t_skip_all "$t_why"
}

# "nr free resv surplus" of the 2 MiB pool.
t_pool() {
	echo "$(cat $HP2M/nr_hugepages) $(cat $HP2M/free_hugepages) $(cat $HP2M/resv_hugepages) $(cat $HP2M/surplus_hugepages)"
}

# The set-up of the tests that kill or signal primaries at random moments
# (real_torture.t, real_signals.t): TR = test-tools/torture_run, a temporary
# directory $tmp, the real runtime directory ($rundir, /run/hugemem as root),
# the prefix STEM<pid> ($pfx), and a trap that kills a primary left in $prim
# and removes the prefix's files and runtime directory.
t_kill_setup() {
	TR=$HM_BUILD/test-tools/torture_run
	[ -x "$TR" ] || t_skip_all "test tool $TR missing (make tests)"
	tmp=$(mktemp -d)
	unset HUGEMEM_RUNTIME_DIR # the real default: /run/hugemem/<prefix> as root
	rundir=/run/hugemem
	pfx=$1$$
	prim=""
	trap t_kill_cleanup EXIT
}
t_kill_cleanup() {
	[ -n "$prim" ] && kill -9 "$prim" 2>/dev/null
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"map_*
	rm -rf "$tmp" "${rundir:?}/$pfx"
}

# t_cgroup_cap DIR PAGES: DIR a cgroup right below the v2 root ($cg2) with the hugetlb
# controller on and a 2 MiB limit of PAGES pages, and DIR/job a cgroup below it to run
# a process in (its limit is DIR's: an ancestor's cap, as a container's). The caller
# removes both (rmdir DIR/job DIR) in its trap.
t_cgroup_cap() {
	echo +hugetlb >"${1%/*}/cgroup.subtree_control"
	mkdir -p "$1/job"
	echo +hugetlb >"$1/cgroup.subtree_control"
	echo $(($2 * 2097152)) >"$1/hugetlb.2MB.max"
}

# The pool keeper's tests (real_keeper.t, real_keeper_init.t). $KC is test-tools/keeper_client.
# t_keeper_start DIR OUT ARGS...: `hugemem keeper --runtime-dir DIR ARGS` in the background
# ($kp), its stdout in OUT and stderr in OUT.err; 0 once OUT says ready.
t_keeper_start() {
	local d=$1 out=$2
	shift 2
	"$HUGEMEM" keeper --runtime-dir "$d" "$@" >"$out" 2>"$out.err" &
	kp=$!
	for _ in $(seq 600); do
		grep -q ready "$out" && return 0
		kill -0 "$kp" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# t_keeper_held COLUMN DIR: bytes of the keeper in DIR in state COLUMN (free, leased,
# pending), all nodes.
t_keeper_held() {
	"$KC" "$2" status | awk -v c="$1" '/^node/ { for (i = 3; i < NF; i += 2) if ($i == c) s += $(i + 1) } END { print s + 0 }'
}
# t_keeper_wait_free BYTES DIR: up to 10 s for the keeper in DIR to hold BYTES free again.
t_keeper_wait_free() {
	for _ in $(seq 100); do [ "$(t_keeper_held free "$2")" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
