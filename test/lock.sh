# test/lock.sh — sourced by test/lib.sh and bench/*.sh: the one way to take the
# machine-wide test lock /run/lock/hugemem-test.lock. Test and benchmark code only.
#
# Why not `exec 9>LOCK; flock 9`: every program the script then starts inherits
# descriptor 9 and with it the lock, so a primary that outlives its script (one stuck
# in the kernel in state D, issue 14 item 0) holds it forever and every real test on
# the machine waits. Here the script holds no descriptor of the lock at all: a keeper
# process takes it (flock -o: its command runs without the descriptor) and keeps it
# until the script's shell exits, however it exits. The keeper is started from a
# subshell, so it is not a job of the script (`wait` does not wait for it).
#
# hm_test_lock SECONDS: 0 once the lock is held for this shell ($$), 1 when another
# holder kept it SECONDS long (or flock(1) is missing).
HM_TEST_LOCK=/run/lock/hugemem-test.lock

hm_test_lock() {
	local ready state=""
	command -v flock >/dev/null || return 1
	ready=$(mktemp "${TMPDIR:-/tmp}/hm-lock.XXXXXX") || return 1
	(
		{
			flock -o -w "$1" "$HM_TEST_LOCK" sh -c \
				'echo held >"$1"; exec tail --pid="$2" -s 0.2 -f /dev/null' hm-lock "$ready" "$$" ||
				: # under set -e too, go on to say so
			# not held (busy, or no lock file): say so, unless the caller is gone
			if [ -e "$ready" ] && [ ! -s "$ready" ]; then echo busy >"$ready"; fi
		} </dev/null >/dev/null 2>&1 &
	)
	while [ -z "$state" ]; do
		state=$(cat "$ready" 2>/dev/null || true)
		[ -n "$state" ] || sleep 0.05
	done
	rm -f "$ready"
	[ "$state" = held ]
}
