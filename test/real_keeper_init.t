#!/bin/bash
# hm_init served by a running pool keeper (docs/keeper.md, mem/keeper.c) on real
# hugepages: with a keeper in $HUGEMEM_RUNTIME_DIR-keeper, `hugemem init` takes its
# memory from it (--trace says so, nothing is faulted: the pool does not move, the
# keeper's leased bytes do), with IOVA = PA from the keeper's runs, which --verify
# checks against pagemap; a secondary attaches and shares the pages; the next primary
# finds every page zero although the one before wrote into all of them (the keeper
# punched them and faulted new ones); --keeper off, --huge-dir and --max-mem do not use
# it, and --trace says why; too much asked: auto falls back to the pool, an explicit
# --keeper DIR refuses naming the keeper's free memory; a keeper killed under a live
# primary leaves it its memory; the pool is whole at the end.
. "$(dirname "$0")/lib.sh"
KC=$HM_BUILD/test-tools/keeper_client
PT=$HM_BUILD/test-tools/pattern
[ -x "$KC" ] && [ -x "$PT" ] || t_skip_all "test tools missing (make tests)"
t_require_hugepages 96
tmp=$(mktemp -d)
export HUGEMEM_RUNTIME_DIR=/run/hm-kinit-$$
kdir=$HUGEMEM_RUNTIME_DIR-keeper
pfx=hmkinit$$
kp=""
kp2=""
prim=""
sec=""
cleanup() {
	exec 8>&- 2>/dev/null
	for p in $prim $sec $kp $kp2; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"*
	rm -rf "$tmp" "$kdir" "$kdir-2m" "$HUGEMEM_RUNTIME_DIR"
}
trap cleanup EXIT
before=$(t_pool)
mib=$((1 << 20))

start_keeper() { t_keeper_start "$kdir" "$tmp/k.out" "$@"; }
held() { t_keeper_held "$1" "$kdir"; }
wait_free() { t_keeper_wait_free "$1" "$kdir"; }
free_pages() { cat "$HP2M/free_hugepages"; }

start_keeper --keep 64M
t_ok $? "a keeper holds 64 MiB"
t_diag "$(cat "$tmp/k.out" "$tmp/k.out.err")"

# ------------------------------------------------------------------ served
pool0=$(free_pages)
out=$("$HUGEMEM" init -m 32 --trace --verify --file-prefix "$pfx" 2>&1)
t_is $? 0 "hugemem init -m 32 --verify with a keeper running"
t_like "$out" "keeper: served by the keeper in $kdir" "--trace: served by the keeper"
t_like "$out" "IOVA = PA" "IOVA = PA: the keeper's physical runs (root may know them), --verify agrees"
t_unlike "$out" "keeper: not used" "no fallback"
wait_free $((64 * mib)) # its chunk faulted again (paused while the next client starts)

coproc PRIM { "$PT" primary "$pfx" -m 32; }
prim=$PRIM_PID
read -r -t 30 line <&"${PRIM[0]}"
t_is "$line" "ready" "a primary served by the keeper wrote into every page"
t_is "$(held leased)" $((32 * mib)) "the keeper has 32 MiB leased to it"
t_is "$(free_pages)" "$pool0" "and the pool did not move: nothing was faulted"
# hm_init asks the keeper first and takes its prefix while the keeper answers:
# a prefix in use fails it after the keeper leased, and that lease comes back
out=$("$HUGEMEM" init -m 32 --file-prefix "$pfx" 2>&1)
t_is $? 1 "a second primary of the same prefix, the keeper asked, fails"
t_like "$out" "file prefix '$pfx' is in use by pid" "naming the prefix and its primary"
wait_free $((32 * mib))
t_is "$(held leased)" $((32 * mib)) "what the keeper leased to it came back: only the first primary's 32 MiB stay leased"
t_ok $([ -e "$HUGEMEM_RUNTIME_DIR/$pfx/layout" ] && [ ! -e "$HUGEMEM_RUNTIME_DIR/$pfx/fds.sock" ]; echo $?) \
	"it publishes its layout but runs no descriptor server (secondaries FETCH from the keeper)"
# a layout (root's file) that names another inode for a chunk: the memfd the
# keeper gives is not taken, nor the one in /proc, and nothing stays held
lay="$HUGEMEM_RUNTIME_DIR/$pfx/layout"
cp "$lay" "$tmp/layout.good"
python3 - "$tmp/layout.good" "$tmp/layout.bad" <<'PY'
import struct, sys
f = bytearray(open(sys.argv[1], "rb").read())
HDR_CHECKSUM, HDR_SIZE, BREC_INO = 24, 8384, 32  # src/shconf/layout_file.c
ino = struct.unpack_from("<Q", f, HDR_SIZE + BREC_INO)[0]
struct.pack_into("<Q", f, HDR_SIZE + BREC_INO, ino + 1)
struct.pack_into("<Q", f, HDR_CHECKSUM, 0)
h = 0xcbf29ce484222325
for b in f:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
struct.pack_into("<Q", f, HDR_CHECKSUM, h)
open(sys.argv[2], "wb").write(f)
PY
cat "$tmp/layout.bad" >"$lay"
out=$("$HUGEMEM" attach --file-prefix "$pfx" 2>&1)
t_is $? 1 "a layout naming another inode for a chunk: the secondary refuses"
t_like "$out" "is not the primary's (inode" "naming the chunk and the inode it expected (from the keeper and from /proc)"
t_is "$("$KC" "$kdir" status | grep -c '^lease pid')" 1 "the keeper's leases name one holder: the primary (the refused one kept nothing)"
cat "$tmp/layout.good" >"$lay"
"$PT" secondary "$pfx"
t_is $? 0 "a secondary attaches and reads the primary's words at the same addresses"
echo go >&"${PRIM[1]}"
wait "$prim"
t_is $? 0 "the primary reads the secondary's words"
prim=""
wait_free $((64 * mib))
t_ok $? "the keeper has the memory back, faulted again"
"$PT" fresh "$pfx" -m 64 --keeper "$kdir"
t_is $? 0 "the next primary (all 64 MiB from the keeper) finds every page zero"
wait_free $((64 * mib))

# ------------------------------------------------------------------ a secondary outlives its primary
coproc PRIM { "$PT" primary "$pfx" -m 32; }
prim=$PRIM_PID
read -r -t 30 line <&"${PRIM[0]}"
"$HUGEMEM" attach --hold --trace --file-prefix "$pfx" </dev/null >"$tmp/a.out" 2>&1 &
sec=$!
for _ in $(seq 100); do grep -q "keeper:" "$tmp/a.out" && break; sleep 0.1; done
t_like "$(cat "$tmp/a.out")" "keeper: fetched the primary's memory from the keeper in $kdir (1 chunks)" "a secondary fetches its primary's memfds from the keeper, and holds them"
echo go >&"${PRIM[1]}"
wait "$prim"
prim=""
sleep 0.5
t_is "$(held leased)" $((32 * mib)) "the primary gone, the chunks stay leased to the secondary that maps them"
kill "$sec"
wait "$sec" 2>/dev/null
sec=""
wait_free $((64 * mib))
t_ok $? "the secondary gone too, the keeper takes them back"

# ------------------------------------------------------------------ more chunks than one FETCH carries
# 300 chunks of 2 MiB: the LEASE comes in two replies, the secondary's FETCH in two batches
k2dir=$kdir-2m
"$HUGEMEM" keeper --runtime-dir "$k2dir" --keep 600M --chunk 2M >"$tmp/k2.out" 2>&1 &
kp2=$!
for _ in $(seq 300); do grep -q ready "$tmp/k2.out" && break; sleep 0.1; done
coproc PRIM { "$PT" primary "$pfx" -m 600 --keeper "$k2dir"; }
prim=$PRIM_PID
read -r -t 60 line <&"${PRIM[0]}"
t_is "$line" "ready" "a primary of 300 keeper chunks (2 MiB each) wrote into every page"
"$PT" secondary "$pfx"
t_is $? 0 "its secondary FETCHes all 300 memfds (two batches of at most 250) and shares every page"
out=$("$HUGEMEM" attach --trace --file-prefix "$pfx" 2>&1)
t_like "$out" "keeper: fetched the primary's memory from the keeper in $k2dir (300 chunks)" "from the keeper, not from /proc"
echo go >&"${PRIM[1]}"
wait "$prim"
t_is $? 0 "the primary reads the secondary's words"
prim=""
kill "$kp2"
wait "$kp2"
t_is $? 0 "that keeper stops"
rm -rf "$k2dir"

# ------------------------------------------------------------------ not used
out=$("$HUGEMEM" init -m 8 --trace --keeper off --file-prefix "$pfx" 2>&1)
t_like "$out" "keeper: not used: --keeper off" "--keeper off: not used, said"
out=$("$HUGEMEM" init -m 8 --trace --huge-dir "$HM_MNT" --file-prefix "$pfx" 2>&1)
t_like "$out" "keeper: not used: --huge-dir names the backing" "--huge-dir: not used, said"
out=$("$HUGEMEM" init -m 8 --max-mem 16M --trace --file-prefix "$pfx" 2>&1)
t_like "$out" "keeper: not used: --max-mem" "--max-mem: not used, said"
out=$("$HUGEMEM" init -m 128 --trace --file-prefix "$pfx" 2>&1)
t_is $? 0 "-m 128 with 64 MiB in the keeper: init still works"
t_like "$out" "keeper: not used: the keeper refused: any node: asked 128 MiB but the keeper has 64 MiB free" "auto falls back to the pool, saying what the keeper lacks"
out=$("$HUGEMEM" init -m 128 --keeper "$kdir" --file-prefix "$pfx" 2>&1)
t_ok $((! $?)) "an explicit --keeper DIR that cannot serve fails"
t_like "$out" "--keeper $kdir: the keeper refused: any node: asked 128 MiB" "naming the keeper and what it lacks"
out=$("$HUGEMEM" init -m 8 --keeper relative --file-prefix "$pfx" 2>&1)
t_like "$out" "give auto, off, or the keeper's directory" "--keeper with a relative path is refused"

# ------------------------------------------------------------------ --socket-keep
out=$("$HUGEMEM" keeper --socket-keep 0,16M --runtime-dir "$kdir-2" 2>&1)
t_is $? 1 "keeper --socket-keep 0,16M on a one-node machine: refused"
t_like "$out" "on node 1 but it has 0 free" "naming node 1 and what it has"
out=$("$HUGEMEM" keeper --keep 16M --socket-keep 16M --runtime-dir "$kdir-2" 2>&1)
t_like "$out" "give --keep SIZE or --socket-keep A,B,... (one of them)" "--keep and --socket-keep: one of them"
rm -rf "$kdir-2"

# ------------------------------------------------------------------ keeper killed
coproc PRIM { "$PT" primary "$pfx" -m 32; }
prim=$PRIM_PID
read -r -t 30 line <&"${PRIM[0]}"
{ kill -9 "$kp"; wait "$kp"; } 2>/dev/null
kp=""
"$PT" secondary "$pfx"
t_is $? 0 "the keeper SIGKILLed: its client and a new secondary keep the memory"
out=$("$HUGEMEM" attach --trace --file-prefix "$pfx" 2>&1)
t_like "$out" "keeper: the keeper did not answer: the primary's memfds from /proc" "that secondary took the primary's memfds from /proc (each proved by its inode), saying so"
echo go >&"${PRIM[1]}"
wait "$prim"
t_is $? 0 "and the primary ends well"
prim=""
rm -rf "$kdir"

t_is "$(t_pool)" "$before" "pool counts as before the test"
t_done
