#!/bin/sh
# Run the libFuzzer harnesses built by `make fuzz-build` (mk/fuzz.mk).
#
#   tools/fuzz.sh run DIR NAME...      fuzz each harness DIR/NAME in turn for
#                                      $FUZZ_TIME seconds (default 30; with
#                                      $FUZZ_RUNS set, also stop after that many
#                                      executions; FUZZ_TIME=0: no time limit)
#   tools/fuzz.sh regress DIR NAME...  run each harness once over every input of
#                                      its committed corpus, test/fuzz/corpus/NAME
#
# FUZZ_TMP (default /dev/shm) holds the fake roots of the harnesses that read
# files, in a directory per run that is removed afterwards.
#
# "run" works on a copy of the committed corpus (DIR/corpus/NAME, made afresh
# each time: the committed one never grows), saves what crashes, leaks or
# hangs as DIR/crashes/NAME-<kind>-<sha1> (the reproducer: replay it with
# DIR/NAME FILE) and keeps each log as DIR/logs/NAME.log. Harnesses run one
# after the other (one core each). Per harness it prints executions, exec/s
# and corpus size; it fails (exit 1) when any harness failed, after running
# them all.
set -u
mode=${1:-}
dir=${2:-}
[ $# -ge 2 ] && shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
time_limit=${FUZZ_TIME:-30}
timeout=${FUZZ_TIMEOUT:-10}
failed=""

usage() {
	echo "usage: tools/fuzz.sh run|regress BUILD_DIR NAME..." >&2
	exit 2
}

# Inputs larger than this are not tried: the binary formats need room.
max_len() {
	case $1 in
	shconf) echo 16384 ;;
	keeper) echo 8192 ;;
	pagemap) echo 16400 ;;
	opts) echo 1024 ;;
	*) echo 4096 ;;
	esac
}

stat_of() { # stat_of LOG NAME
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

# The lines of LOG that say what went wrong, and where the reproducer is.
show_failure() {
	grep -a -E 'ERROR|property does not hold|^  |SUMMARY|Test unit written|runtime error' "$1" |
		grep -v -e '^    #' -e 'Combine libFuzzer' | head -n 20 | sed 's/^/    /'
}

run_one() {
	name=$1
	bin=$dir/$name
	corpus=$dir/corpus/$name
	log=$dir/logs/$name.log
	rm -rf "$corpus"
	mkdir -p "$corpus" "$dir/crashes" "$dir/logs"
	cp "$top/test/fuzz/corpus/$name/"* "$corpus/" 2>/dev/null
	seeds=$(find "$corpus" -type f | wc -l)
	set -- -max_total_time="$time_limit" -timeout="$timeout" -max_len="$(max_len "$name")" \
		-print_final_stats=1 -artifact_prefix="$dir/crashes/$name-"
	[ -n "${FUZZ_RUNS:-}" ] && set -- "$@" -runs="$FUZZ_RUNS"
	start=$(date +%s)
	# the harnesses' fake roots (cgroup, pagemap): a private directory, removed
	# even when a crash leaves them behind
	tmp=$(mktemp -d "${FUZZ_TMP:-/dev/shm}/hm-fuzz.XXXXXX" 2>/dev/null || mktemp -d)
	HM_FUZZ_TMP=$tmp "$bin" "$@" "$corpus" >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	secs=$(($(date +%s) - start))
	runs=$(stat_of "$log" number_of_executed_units)
	speed=$(stat_of "$log" average_exec_per_sec)
	files=$(find "$corpus" -type f | wc -l)
	printf 'fuzz: %-11s %11s execs %8s exec/s %5ss  corpus %4s -> %5s inputs  %s\n' \
		"$name" "${runs:-?}" "${speed:-?}" "$secs" "$seeds" "$files" \
		"$([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc, log $log)")"
	if [ $rc != 0 ]; then
		show_failure "$log"
		failed="$failed $name"
	fi
}

regress_one() {
	name=$1
	log=$dir/logs/$name.regress.log
	mkdir -p "$dir/logs"
	tmp=$(mktemp -d "${FUZZ_TMP:-/dev/shm}/hm-fuzz.XXXXXX" 2>/dev/null || mktemp -d)
	# shellcheck disable=SC2046
	HM_FUZZ_TMP=$tmp "$dir/$name" -timeout="$timeout" \
		$(find "$top/test/fuzz/corpus/$name" -type f | sort) >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	n=$(find "$top/test/fuzz/corpus/$name" -type f | wc -l)
	printf 'fuzz-regress: %-11s %4s inputs  %s\n' "$name" "$n" \
		"$([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc, log $log)")"
	if [ $rc != 0 ]; then
		show_failure "$log"
		failed="$failed $name"
	fi
}

[ -n "$dir" ] && [ $# -gt 0 ] || usage
for name in "$@"; do
	case $mode in
	run) run_one "$name" ;;
	regress) regress_one "$name" ;;
	*) usage ;;
	esac
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (logs in $dir/logs/$([ "$mode" = run ] && echo ", reproducers in $dir/crashes/"))" >&2
	exit 1
fi
