#!/bin/bash
# Signals at any moment, on real hugepages (docs/reliability.md 3): each of
# the twelve signals the CLI ends cleanly on (INT TERM HUP QUIT USR1 USR2
# ALRM PIPE VTALRM PROF XCPU XFSZ) is sent to `hugemem init ... --hold` at
# random moments of its start, across page files, --in-memory,
# --single-file-segments and `--contig best -m 540` (which maps the whole
# free pool first: the case where a Ctrl-C left 270 page files and the pool
# reserved). The delay runs from 0 to 1.25 times the start time measured
# first, so signals land before exec, in discovery, the prefix lock, mapping,
# fault-in, release, remap, publish and the hold. After EACH one: the command
# ended by that signal (status 128+N), the pool counts equal the snapshot, no
# page file of the prefix is left and no runtime directory /run/hugemem/<P>.
# Then the same for `hugemem attach --hold` with a primary alive: after each
# signal the primary still serves a new `attach --verify`, and once it exits
# nothing is left. HM_SIGNAL_SEED replays a run's delays; HM_SIGNAL_MOMENTS
# (default 120 for init, a fifth of it for attach) scales it; all of it must
# take at most HM_SIGNAL_SECONDS (60; 240 for an AddressSanitizer build).
. "$(dirname "$0")/lib.sh"
t_require_hugepages 600
t_kill_setup sig

seed=${HM_SIGNAL_SEED:-$$}
RANDOM=$seed
moments=${HM_SIGNAL_MOMENTS:-120}
t_diag "seed $seed (HM_SIGNAL_SEED=$seed replays the delays), $moments moments"
signals=(INT TERM HUP QUIT USR1 USR2 ALRM PIPE VTALRM PROF XCPU XFSZ)
modes=("-m 256" "-m 256 --in-memory" "-m 256 --single-file-segments" "-m 540 --contig best")
before=$(t_pool)
files() { ls "$HM_MNT" | grep -c "^${pfx}map_"; }
rand_us() { echo $(((RANDOM * 32768 + RANDOM) % ($1 + 1))); }
started=$SECONDS
# the time bound: 60 s; an AddressSanitizer build starts 4-8x slower
seconds=${HM_SIGNAL_SECONDS:-60}
if ldd "$HUGEMEM" 2>/dev/null | grep -q libasan; then
	seconds=${HM_SIGNAL_SECONDS:-240}
	t_diag "AddressSanitizer build: the time bound is $seconds s"
fi

# ------------------------------------------------------------------ measure
# the start time per mode, fork to printed layout: the median of 3 after one
# that warms the pool up
declare -A ready_us
for m in "${modes[@]}"; do
	times=()
	for run in 0 1 2 3; do
		# shellcheck disable=SC2086
		read -r r _ st < <("$TR" ready "$HUGEMEM" init $m --hold --file-prefix "$pfx" 2>>"$tmp/err")
		[ "$st" = 0 ] && [ "$run" -gt 0 ] && times+=("$r")
	done
	ready_us[$m]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
	t_ok $((${#times[@]} != 3)) "$m: three measured starts print their layout and exit 0"
	t_diag "$m: start to layout $((${ready_us[$m]:-0} / 1000)) ms"
done
[ -s "$tmp/err" ] && t_diag "$(cat "$tmp/err")"

# ------------------------------------------------------------------ one moment
# check_moment WHAT SIG RESULT: the result line of torture_run signal, then
# the exit status, the pool, the files and the runtime directory. Failures
# are counted per kind; the first few are shown.
bad_status=0 bad_pool=0 bad_files=0 bad_dir=0 shown=0
check_moment() {
	local what=$1 sig=$2 result=$3 want ok=1
	want=$((128 + $(kill -l "$sig")))
	case "$result" in *" status=$want") ;; *) bad_status=$((bad_status + 1)) ok=0 ;; esac
	[ "$(t_pool)" = "$before" ] || { bad_pool=$((bad_pool + 1)) ok=0; }
	[ "$(files)" = 0 ] || { bad_files=$((bad_files + 1)) ok=0; }
	[ ! -e "$rundir/$pfx" ] || { bad_dir=$((bad_dir + 1)) ok=0; }
	if [ $ok = 0 ] && [ $shown -lt 5 ]; then
		shown=$((shown + 1))
		t_diag "$what SIG$sig: '$result', pool $(t_pool) (want $before), $(files) files, rundir: $(ls "$rundir/$pfx" 2>&1 | tr '\n' ' ')"
		rm -f "$HM_MNT/${pfx}"map_* # the next moment starts clean
		rm -rf "${rundir:?}/$pfx"
	fi
}

# ------------------------------------------------------------------ init
n=0 before_hold=0
for ((i = 0; i < moments; i++)); do
	sig=${signals[i % 12]}
	# the first round of twelve with --contig best (a start of ~0.5 s), the
	# rest over the three quick backings, so 120 moments fit in 60 s
	m=${modes[3]}
	[ "$i" -ge 12 ] && m=${modes[(i / 12 + i) % 3]}
	limit=${ready_us[$m]:-50000}
	delay=$(rand_us $((limit * 5 / 4)))
	# shellcheck disable=SC2086
	result=$("$TR" signal "$(kill -l "$sig")" "$delay" "$HUGEMEM" init $m --hold --file-prefix "$pfx" 2>/dev/null | tail -1)
	case "$result" in *ready=0*) before_hold=$((before_hold + 1)) ;; esac
	check_moment "init $m at ${delay}us" "$sig" "$result"
	n=$((n + 1))
done
t_diag "init: $n moments, $before_hold of them before the layout was printed, $((SECONDS - started)) s"
t_is "$bad_status" 0 "init: every signal ends the command by that signal (status 128+N)"
t_is "$bad_pool" 0 "init: the pool equals the snapshot after every signal"
t_is "$bad_files" 0 "init: no page file of the prefix is left after any signal"
t_is "$bad_dir" 0 "init: no runtime directory is left after any signal"

# ------------------------------------------------------------------ attach
exec 8> >(exec "$HUGEMEM" init -m 128 --hold --file-prefix "$pfx" >"$tmp/prim.out" 2>&1)
prim=$!
for _ in $(seq 200); do grep -q "^primary" "$tmp/prim.out" && break; sleep 0.05; done
read -r attach_us _ st < <("$TR" ready "$HUGEMEM" attach --hold --file-prefix "$pfx" 2>/dev/null)
t_is "$st" 0 "attach: a measured attach exits 0 (took $((attach_us / 1000)) ms)"
bad_status=0 bad_attach=0 shown=0
for ((i = 0; i < moments / 5; i++)); do
	sig=${signals[i % 12]}
	delay=$(rand_us $((attach_us * 5 / 4)))
	result=$("$TR" signal "$(kill -l "$sig")" "$delay" "$HUGEMEM" attach --hold --file-prefix "$pfx" 2>/dev/null | tail -1)
	case "$result" in *" status=$((128 + $(kill -l "$sig")))") ;; *) bad_status=$((bad_status + 1)) ;; esac
	"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>&1 || bad_attach=$((bad_attach + 1))
done
t_is "$bad_status" 0 "attach: every signal ends the secondary by that signal"
t_is "$bad_attach" 0 "attach: after each signal a new attach --verify succeeds"
exec 8>&-
wait "$prim"
t_is "$?" 0 "attach: the primary exits 0 when its input ends"
prim=""
t_is "$(t_pool)" "$before" "attach: the pool equals the snapshot at the end"
t_is "$(files)" 0 "attach: no page file left"
t_ok "$([ ! -e "$rundir/$pfx" ]; echo $?)" "attach: no runtime directory left"
t_ok $((SECONDS - started > seconds)) "all of it within $seconds s ($((SECONDS - started)) s)"
t_done
