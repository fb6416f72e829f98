#!/bin/bash
# The last process out removes the runtime directory (docs/reliability.md 5),
# on real hugepages. For each backing (page files, --in-memory,
# --single-file-segments) a primary exits before its two secondaries: the
# directory stays while a secondary lives, and once the last one has exited
# /run/hugemem/<P> is gone, no page file is left and the pool is whole.
# Then the race: a new primary starts while the last secondary leaves. Made
# exact with torture_run pauseat (the secondary stopped while it holds the
# old lock, between removing the clients file and unlinking the lock) and
# by chance (the secondary's SIGTERM and the new primary's start a random
# few milliseconds apart, 20 times): whenever the new primary starts, its
# directory, lock and layout stay, and a secondary attaches to it.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 100
TR=$HM_BUILD/test-tools/torture_run
[ -x "$TR" ] || t_skip_all "test tool $TR missing (make tests)"
tmp=$(mktemp -d)
unset HUGEMEM_RUNTIME_DIR # the real default: /run/hugemem/<prefix> as root
rundir=/run/hugemem
pfx=last$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"map_*
	rm -rf "$tmp" "${rundir:?}/$pfx"
}
trap cleanup EXIT
before=$(t_pool)
files() { ls "$HM_MNT" | grep -c "^${pfx}map_"; }
dir_state() { [ -e "$rundir/$pfx" ] && ls "$rundir/$pfx" | tr '\n' ' ' || echo gone; }

# start NAME CMD...: run CMD (a --hold, input /dev/null: it holds until a
# signal) in the background, output in $tmp/NAME.out; its pid in $last;
# waits for its first line. 0 when it printed one.
start() {
	local name=$1
	shift
	rm -f "$tmp/$name.out" "$tmp/$name.err" # a last round's line must not count
	"$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	last=$!
	pids+=("$last")
	for _ in $(seq 400); do
		[ -s "$tmp/$name.out" ] && return 0
		kill -0 "$last" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}
# stop PID: SIGTERM, then its exit status (143: ended by the signal)
stop() { kill -TERM "$1"; wait "$1"; }
# gone PID: SIGTERM to a process that is not our child; wait until it ended
gone() {
	kill -TERM "$1"
	for _ in $(seq 500); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.01; done
	return 1
}

# ------------------------------------------------------------------ order
for mode in "" --in-memory --single-file-segments; do
	what=${mode:-page files}
	# shellcheck disable=SC2086
	start p "$HUGEMEM" init -m 32 $mode --hold --file-prefix "$pfx"
	p=$last
	start s1 "$HUGEMEM" attach --hold --file-prefix "$pfx"
	s1=$last
	start s2 "$HUGEMEM" attach --hold --file-prefix "$pfx"
	s2=$last
	t_like "$(cat "$tmp/s1.out" "$tmp/s2.out")" "secondary pid $s2" "$what: two secondaries attached"
	stop "$p"
	t_is "$?" 143 "$what: the primary exits first, on SIGTERM"
	t_like "$(dir_state)" clients "$what: the directory stays while secondaries live"
	stop "$s1"
	t_like "$(dir_state)" clients "$what: ... and while the last one lives"
	stop "$s2"
	t_is "$?" 143 "$what: the last secondary exits on SIGTERM"
	t_is "$(dir_state)" gone "$what: the last one out removed /run/hugemem/<P>"
	t_is "$(files)" 0 "$what: no page file left"
	t_is "$(t_pool)" "$before" "$what: the pool is whole"
done

# ------------------------------------------------------------------ race, exact
# The last secondary stops at the unlink of the lock (it holds the old
# prefix lock and the exit lock); meanwhile a new primary starts, meets the
# held lock, waits for the leaver and starts again in a fresh directory.
start p "$HUGEMEM" init -m 32 --hold --file-prefix "$pfx"
p=$last
p2_start="$HUGEMEM init -m 32 --hold --file-prefix $pfx </dev/null >$tmp/p2.out 2>$tmp/p2.err & echo \$! >$tmp/p2.pid; sleep 0.3"
TORTURE_KEEP_INPUT=1 "$TR" pauseat unlink:=lock "$p2_start" \
	"$HUGEMEM" attach --hold --file-prefix "$pfx" >"$tmp/s.out" 2>"$tmp/s.err" &
s=$!
pids+=("$s")
# its output waits in the pipe until the mark: its clients lock says it attached
s_pid=""
for _ in $(seq 1000); do
	s_pid=$(pgrep -P "$s" | head -1)
	[ -n "$s_pid" ] && grep -q "POSIX  ADVISORY  READ  *$s_pid " /proc/locks && break
	sleep 0.01
done
grep -q "POSIX  ADVISORY  READ  *$s_pid " /proc/locks
t_ok $? "race: the traced secondary attached (pid $s_pid holds its clients lock)"
stop "$p"
kill -TERM "$s_pid"
wait "$s"
t_is "$?" 143 "race: the secondary, paused while it removed the directory, ended on SIGTERM"
t_is "$(cat "$tmp/s.err")" "" "race: the pause was reached (nothing on stderr)"
p2=$(cat "$tmp/p2.pid" 2>/dev/null)
[ -n "$p2" ] && pids+=("$p2")
for _ in $(seq 400); do [ -s "$tmp/p2.out" ] && break; sleep 0.01; done
t_like "$(cat "$tmp/p2.out" "$tmp/p2.err")" "primary pid $p2" "race: the new primary started"
t_like "$(dir_state)" "layout lock" "race: its directory, layout and lock stayed"
"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/a.err"
t_is "$?" 0 "race: a secondary attaches to the new primary $(cat "$tmp/a.err")"
[ -n "$p2" ] && gone "$p2"
t_is "$(dir_state)$(files)" gone0 "race: nothing left once the new primary exits"

# ------------------------------------------------------------------ race, by chance
started=0 kept=0 attached=0 refused=0 s_bad=0
for i in $(seq 20); do
	start p "$HUGEMEM" init -m 16 --hold --file-prefix "$pfx" || break
	p=$last
	start s "$HUGEMEM" attach --hold --file-prefix "$pfx" || break
	s=$last
	stop "$p"
	(sleep "0.00$((RANDOM % 10))" && kill -TERM "$s") &
	killer=$!
	sleep "0.00$((RANDOM % 10))"
	if start p2 "$HUGEMEM" init -m 16 --hold --file-prefix "$pfx"; then
		p2=$last
		started=$((started + 1))
		wait "$s"
		st=$?
		[ $st = 143 ] || { s_bad=$((s_bad + 1)); t_diag "secondary: $st $(cat "$tmp/s.err")"; }
		wait "$killer"
		case "$(dir_state)" in *layout*lock*) kept=$((kept + 1)) ;; *) t_diag "dir: $(dir_state)" ;; esac
		"$HUGEMEM" attach --file-prefix "$pfx" >/dev/null 2>&1 && attached=$((attached + 1))
		stop "$p2"
	else
		# the secondary of the dead primary still ran: refused, and said so
		grep -q "still run" "$tmp/p2.err" && refused=$((refused + 1))
		wait "$s"
		[ $? = 143 ] || s_bad=$((s_bad + 1))
		wait "$killer"
	fi
	[ "$(dir_state)$(files)" = gone0 ] || break
done
t_diag "by chance: $started of 20 new primaries started, $refused refused while the secondary lived"
t_is "$((started + refused))" 20 "race: each new primary either started or named the live secondary"
t_is "$s_bad" 0 "race: every secondary lived until its SIGTERM and ended by it"
t_is "$kept/$attached" "$started/$started" "race: every new primary kept its directory and took a secondary"
t_is "$(dir_state)$(files)" gone0 "race: nothing left at the end"
t_is "$(t_pool)" "$before" "race: the pool is whole"
t_done
