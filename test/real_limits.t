#!/bin/bash
# Limits on real hugepages: each case either works or fails with one line
# naming the cause and the fix, the exit status docs/usage.md documents (1: the
# system refused; 2: bad command line), and nothing left behind — the pool's
# counts equal the snapshot, no file of the prefix in any mount, no runtime
# directory of the prefix.
#   - descriptors: `ulimit -n 32` (page files need 128 files for -m 256: the
#     library closes each at once) works for every backing and for attach;
#     `ulimit -n 5` fails clearly;
#   - address space: `ulimit -v` too small for the VA window, for init and
#     attach (skipped under AddressSanitizer, which needs terabytes of it);
#   - no hugetlbfs mount: --huge-dir to a plain directory; a private mount
#     namespace (unshare -m) with every hugetlbfs mount hidden (--in-memory
#     still works there, status says 3);
#   - a read-only hugetlbfs mount (-o ro), named with --huge-dir and as the
#     only mount of a namespace;
#   - a full mount (size=8M, -m 64), and one a crashed primary of the same
#     prefix filled;
#   - a pool that shrinks between discovery and mapping: torture_run grab
#     takes the free pages the moment hugemem creates its runtime directory
#     (after the budget check, before the first page), for every backing, and
#     fills a size-limited mount the same way.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 200
TR=$HM_BUILD/test-tools/torture_run
[ -x "$TR" ] || t_skip_all "test tool $TR missing (make tests)"
command -v unshare >/dev/null || t_skip_all "unshare(1) missing (util-linux)"
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=lim$$
ro=/run/hm-tort-ro$$
full=/run/hm-tort-full$$
prim=""
cleanup() {
	[ -n "$prim" ] && kill -9 "$prim" 2>/dev/null
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	for m in "$ro" "$full"; do
		rm -f "$m/${pfx}"map_* "$m/grabbed" 2>/dev/null
		mountpoint -q "$m" && umount "$m"
		rmdir "$m" 2>/dev/null
	done
	rm -f "$HM_MNT/${pfx}"map_*
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)
cases=0

has() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }

# nothing_left WHAT [MOUNT...]: pool whole, no file of the prefix, no runtime dir
nothing_left() {
	local what=$1 why="" m
	shift
	[ "$(t_pool)" = "$before" ] || why="pool $(t_pool), want $before; "
	for m in "$HM_MNT" "$@"; do
		ls "$m" 2>/dev/null | grep -q "^${pfx}map_" && why="$why files left in $m; "
	done
	[ -e "$tmp/run/$pfx" ] && why="${why}runtime dir left: $(ls -A "$tmp/run/$pfx" | tr '\n' ' ')"
	t_is "$why" "" "$what: nothing left (pool, files, runtime directory)"
}

# run WHAT WANT_STATUS CMD...: run CMD, check its exit status; $st holds it,
# $err its stderr
run() {
	local what=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	t_is $st "$want" "$what: exit status $want"
	err=$(cat "$tmp/err")
	cases=$((cases + 1))
}

margs() { # the options of backing mode $1, into the array m
	m=()
	[ "$1" = page-files ] || m=("$1")
}

# ------------------------------------------------------------------ descriptors
for mode in page-files --in-memory --single-file-segments; do
	margs "$mode"
	run "ulimit -n 32, $mode" 0 bash -c 'ulimit -n 32 && exec "$@"' - \
		"$HUGEMEM" init -m 256 --json --file-prefix "$pfx" "${m[@]}"
	python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["total_bytes"] == 256 << 20' \
		"$tmp/out" 2>/dev/null
	t_ok $? "ulimit -n 32, $mode: all 256 MiB mapped"
	[ -n "$err" ] && t_diag "$err"
	nothing_left "ulimit -n 32, $mode"
done

# a primary with 128 page files; a secondary opens each, under the same limit
mkfifo "$tmp/prim.in"
"$HUGEMEM" init -m 256 --hold --file-prefix "$pfx" <"$tmp/prim.in" >"$tmp/prim.out" 2>&1 &
prim=$!
exec 8>"$tmp/prim.in"
for _ in $(seq 200); do [ -s "$tmp/prim.out" ] && break; sleep 0.05; done
run "ulimit -n 32, attach to 128 page files" 0 bash -c 'ulimit -n 32 && exec "$@"' - \
	"$HUGEMEM" attach --verify --file-prefix "$pfx"
if ldd "$HUGEMEM" 2>/dev/null | grep -q libasan; then
	t_diag "AddressSanitizer build: the ulimit -v cases are skipped (ASan reserves terabytes of address space)"
	asan=1
else
	asan=0
	# below the smallest window a 256 MiB primary can have (no process of
	# hugemem needs more than a few MiB besides)
	for v in 100000 200000; do
		run "ulimit -v $v, attach" 1 bash -c "ulimit -v $v && exec \"\$@\"" - \
			"$HUGEMEM" attach --file-prefix "$pfx"
		t_like "$err" "Cannot allocate memory" "ulimit -v $v, attach: the cause (no address space)"
		t_like "$err" "is limited to" "ulimit -v $v, attach: the message names the limit"
		t_like "$err" "raise the limit, e.g. \`ulimit -v unlimited\`" "ulimit -v $v, attach: ... and the fix"
	done
fi
exec 8>&-
wait "$prim"
t_is $? 0 "the primary exits 0"
prim=""
nothing_left "attach under limits"

for mode in page-files --in-memory --single-file-segments; do
	margs "$mode"
	run "ulimit -n 5, $mode" 1 bash -c 'ulimit -n 5 && exec "$@"' - \
		"$HUGEMEM" init -m 256 --file-prefix "$pfx" "${m[@]}"
	t_like "$err" "Too many open files" "ulimit -n 5, $mode: the cause (descriptor limit)"
	has "$err" "ulimit -n"
	t_ok $? "ulimit -n 5, $mode: the message names the fix (ulimit -n)"
	nothing_left "ulimit -n 5, $mode"
done

# ------------------------------------------------------------------ address space
if [ "$asan" = 0 ]; then
	# 200000 KiB: the first mapping of 256 MiB fails; 400000: the VA window does
	for v in 200000 400000; do
		for mode in page-files --in-memory; do
			margs "$mode"
			bash -c "ulimit -v $v && exec \"\$@\"" - \
				"$HUGEMEM" init -m 256 --file-prefix "$pfx" "${m[@]}" >"$tmp/out" 2>"$tmp/err"
			st=$? err=$(cat "$tmp/err") cases=$((cases + 1))
			if [ "$st" = 0 ] && [ "$v" = 400000 ]; then
				# pages handed out as one run in VA order are already where
				# they go: no window is reserved, and 256 MiB fits the limit
				t_like "$(cat "$tmp/out")" "256 MiB in 1 segment" \
					"ulimit -v $v, $mode: it fits only as one run already in place"
			else
				t_is "$st" 1 "ulimit -v $v, $mode: exit status 1"
				t_like "$err" "Cannot allocate memory" "ulimit -v $v, $mode: the cause (no address space)"
				t_like "$err" "address space is limited to" "ulimit -v $v, $mode: the message names the limit"
				t_like "$err" "\`ulimit -v unlimited\`" "ulimit -v $v, $mode: ... and the fix"
			fi
			t_diag "$err"
			nothing_left "ulimit -v $v, $mode"
		done
	done
fi

# ------------------------------------------------------------------ no mount
mkdir "$tmp/plain"
run "--huge-dir to a plain directory" 2 "$HUGEMEM" init -m 64 --file-prefix "$pfx" \
	--huge-dir "$tmp/plain"
t_like "$err" "is not a hugetlbfs mount" "plain directory: the cause"
t_like "$err" "hugemem mount $tmp/plain" "plain directory: the fix"
t_is "$(ls -A "$tmp/plain")" "" "plain directory: nothing created in it"
nothing_left "plain directory"

# every hugetlbfs mount hidden in a private mount namespace
# shellcheck disable=SC2016
hide='for m in $(awk '\''$3 == "hugetlbfs" { print $2 }'\'' /proc/mounts); do umount -l "$m" || exit 9; done; exec "$@"'
run "no hugetlbfs mount (unshare -m)" 1 unshare -m --propagation private sh -c "$hide" - \
	"$HUGEMEM" init -m 64 --file-prefix "$pfx"
t_like "$err" "no hugetlbfs mount serves 2 MiB pages" "no mount: the cause"
t_like "$err" "or use --in-memory" "no mount: a fix that needs no mount"
has "$err" "--page-size 2 MiB"
t_ok $((!$?)) "no mount: the suggested 'hugemem mount --page-size ...' is a valid command line"
t_like "$err" "--page-size 2M'" "no mount: ... namely '--page-size 2M'"
nothing_left "no mount"
run "no mount, --in-memory" 0 unshare -m --propagation private sh -c "$hide" - \
	"$HUGEMEM" init -m 64 --file-prefix "$pfx" --in-memory
nothing_left "no mount, --in-memory"
run "no mount, status" 3 unshare -m --propagation private sh -c "$hide" - "$HUGEMEM" status

# ------------------------------------------------------------------ read-only mount
mkdir -p "$ro" && mount -t hugetlbfs -o ro,pagesize=2M nodev "$ro"
t_ok $? "a read-only hugetlbfs mount at $ro"
for mode in page-files --single-file-segments; do
	margs "$mode"
	run "read-only mount, $mode" 1 "$HUGEMEM" init -m 64 --file-prefix "$pfx" \
		--huge-dir "$ro" "${m[@]}"
	t_like "$err" "ead-only" "read-only mount, $mode: the cause"
	has "$err" "read-only" || has "$err" "remount"
	t_ok $? "read-only mount, $mode: refused before mapping, naming the fix (remount rw, another mount, --in-memory)"
	nothing_left "read-only mount, $mode"
done
# the only mount a namespace sees is read-only
# shellcheck disable=SC2016
only_ro='for m in $(awk -v ro="$RO" '\''$3 == "hugetlbfs" && $2 != ro { print $2 }'\'' /proc/mounts); do umount -l "$m" || exit 9; done; exec "$@"'
run "only a read-only mount" 1 unshare -m --propagation private env RO="$ro" sh -c "$only_ro" - \
	"$HUGEMEM" init -m 64 --file-prefix "$pfx"
t_like "$err" "ead-only" "only a read-only mount: the cause"
nothing_left "only a read-only mount"
unshare -m --propagation private env RO="$ro" sh -c "$only_ro" - "$HUGEMEM" status >/dev/null 2>&1
st=$?
cases=$((cases + 1))
t_is $st 3 "only a read-only mount: status does not call the pool usable (exit 3, no-mount)"
umount "$ro" && rmdir "$ro"

# ------------------------------------------------------------------ full mount
mkdir -p "$full" && mount -t hugetlbfs -o size=8M,pagesize=2M nodev "$full"
t_ok $? "a hugetlbfs mount with size=8M at $full"
run "full mount: -m 64 into size=8M" 1 "$HUGEMEM" init -m 64 --file-prefix "$pfx" --huge-dir "$full"
t_like "$err" "has room for 4 (its size= limit)" "full mount: the cause, with the room left"
t_like "$err" "ask less, or use another mount with --huge-dir" "full mount: the fix"
nothing_left "full mount" "$full"

# a crashed primary of the same prefix filled the mount: its files are stale,
# and the next init of the prefix removes them anyway: it should count them
"$TR" kill 1000000 "$HUGEMEM" init -m 8 --hold --file-prefix "$pfx" --huge-dir "$full" >/dev/null
t_is "$(ls "$full" | grep -c "^${pfx}map_")" 4 "a killed primary left 4 stale page files filling the mount"
run "full of its own stale files: the next init of the prefix counts them as room" 0 \
	"$HUGEMEM" init -m 8 --file-prefix "$pfx" --huge-dir "$full"
nothing_left "full of its own stale files" "$full"
# the same with `clear` first
"$TR" kill 1000000 "$HUGEMEM" init -m 8 --hold --file-prefix "$pfx" --huge-dir "$full" >/dev/null
"$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
run "full of its own stale files: clear, then init" 0 "$HUGEMEM" init -m 8 --file-prefix "$pfx" \
	--huge-dir "$full"
nothing_left "full of its own stale files, cleared" "$full"

# ------------------------------------------------------------------ shrinking pool
free=$(cat $HP2M/free_hugepages)
for mode in page-files --in-memory --single-file-segments; do
	margs "$mode"
	[ "$mode" = --in-memory ] || m+=(--huge-dir "$HM_MNT")
	# keep 16 of the 32 pages asked: mapping fails half-way
	run "pool shrinks under $mode" 1 "$TR" grab "mkdir:$pfx" $((free - 16)) \
		"$HUGEMEM" init -m 64 --file-prefix "$pfx" "${m[@]}"
	t_like "$err" "grabbed $((free - 16))" "pool shrinks under $mode: the pages were taken after discovery"
	t_like "$err" "of 32 pages of 2 MiB on node 0: the pool" "pool shrinks under $mode: the cause"
	has "$err" "reserve" || has "$err" "try again"
	t_ok $? "pool shrinks under $mode: the message names the fix (try again, reserve more)"
	nothing_left "pool shrinks under $mode"
done
for mode in page-files --single-file-segments; do
	margs "$mode"
	# the mount has room for 4 at discovery; 3 are taken before mapping
	run "mount fills under $mode" 1 "$TR" grab "mkdir:$pfx" "3:$full/grabbed" \
		"$HUGEMEM" init -m 8 --file-prefix "$pfx" --huge-dir "$full" "${m[@]}"
	t_like "$err" "grabbed 3" "mount fills under $mode: its room was taken after discovery"
	t_like "$err" "of 4 pages of 2 MiB" "mount fills under $mode: mapping stopped short"
	t_like "$err" "hugetlbfs mount $full has room for " "mount fills under $mode: the message names the mount"
	t_like "$err" "more (its size= limit" "mount fills under $mode: ... and its size= limit"
	t_like "$err" "ask less, or use another mount with --huge-dir" "mount fills under $mode: ... and the fix"
	t_is "$(ls -A "$full")" "" "mount fills under $mode: the mount is empty again"
	nothing_left "mount fills under $mode" "$full"
done
umount "$full" && rmdir "$full"

t_diag "$cases limit cases run"
t_done
