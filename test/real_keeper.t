#!/bin/bash
# The pool keeper on real hugepages (docs/keeper.md): `hugemem keeper --keep 64M` in a
# runtime directory of its own, and test-tools/keeper_client as its clients. Isolation
# first: a client that exits, one SIGKILLed mid-use, one that gave its memory back, and
# one that passed its descriptors to a child that outlives it: the next client finds
# every byte zero, and the child never sees the next client's pattern. JOIN: a child
# that joined its parent's chunks keeps them, unpunched, after the parent exits, and they
# come back when it exits too; a memfd that is no leased chunk and a 65th holder are
# refused. Then refusals
# (too much asked, another uid, a socket path that is a file or a link, a second keeper),
# malformed messages (the client is dropped, the keeper goes on), budgets (--uid-quota over
# all of a uid's connections, and the hugetlb limit of a client's parent cgroup, which the
# keeper enforces itself), physical addresses
# hidden from a client without CAP_SYS_ADMIN, sd_notify, 100 clients in a loop, and
# SIGTERM: the pool counts equal the snapshot and nothing is left on disk.
. "$(dirname "$0")/lib.sh"
KC=$HM_BUILD/test-tools/keeper_client
[ -x "$KC" ] || t_skip_all "test tool $KC missing (make tests)"
t_require_hugepages 64
tmp=$(mktemp -d)
dir=/run/hm-keeper-test-$$
dir2=/run/hm-keeper-test2-$$
kp=""
bg=""
jb=""
cg=""
cleanup() {
	exec 7>&- 8>&- 9>&- 2>/dev/null
	for p in $kp $bg $jb; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$cg" ] && rmdir "$cg/job" "$cg" 2>/dev/null
	rm -rf "$tmp" "$dir" "$dir2"
}
trap cleanup EXIT
before=$(t_pool)
mib=$((1 << 20))

start_keeper() { t_keeper_start "$@"; }
stop_keeper() { kill -TERM "$kp"; wait "$kp"; local rc=$?; kp=""; return $rc; }
held() { t_keeper_held "$1" "${2:-$dir}"; }
wait_free() { t_keeper_wait_free "$1" "$dir"; }

# ------------------------------------------------------------------ start
start_keeper "$dir" "$tmp/k.out" --keep 64M
t_ok $? "hugemem keeper --keep 64M prints ready"
t_diag "$(cat "$tmp/k.out" "$tmp/k.out.err")"
t_is "$(stat -c '%a %U' "$dir")" "700 root" "its directory is 0700 root"
t_is "$(stat -c '%a %F' "$dir/keeper.sock")" "600 socket" "its socket is 0600"
t_is "$(held free)" $((64 * mib)) "status: 64 MiB free"
t_is "$(held leased)" 0 "status: nothing leased"

# ------------------------------------------------------------------ isolation
out=$("$KC" "$dir" use 32 aa exit)
t_is $? 0 "client A leases 32 MiB, finds it zero, writes 0xaa, exits"
t_like "$out" "pa=1" "a root client is told physical addresses"
t_unlike "$out" "first_pa=0x0 " "and they are not 0"
wait_free $((64 * mib))
t_ok $? "A's chunk came back and was faulted again (64 MiB free)"
out=$("$KC" "$dir" use 64 bb exit)
t_is $? 0 "client B leases all 64 MiB: every byte zero (no 0xaa of A's)"
t_unlike "$out" "DIRTY" "B saw no byte of A's"
wait_free $((64 * mib))

mkfifo "$tmp/a.in"
"$KC" "$dir" use 32 cc hold <"$tmp/a.in" >"$tmp/a.out" &
bg=$!
exec 7>"$tmp/a.in"
for _ in $(seq 100); do grep -q ready "$tmp/a.out" && break; sleep 0.1; done
t_is "$(held leased)" $((32 * mib)) "while A holds: 32 MiB leased"
t_like "$("$KC" "$dir" status)" "lease pid $bg uid 0 bytes $((32 * mib))" "status names A's pid, uid and bytes"
kill -9 "$bg"
wait "$bg" 2>/dev/null
bg=""
exec 7>&-
wait_free $((64 * mib))
t_ok $? "A SIGKILLed mid-use: its chunk comes back"
out=$("$KC" "$dir" use 64 dd exit)
t_is $? 0 "B after a SIGKILLed A: every byte zero"
wait_free $((64 * mib))

out=$("$KC" "$dir" use 32 ee return)
t_like "$out" "returned 1 zero" "a client that gives its chunk back reads zero in its old mapping (punched)"
wait_free $((64 * mib))
out=$("$KC" "$dir" refill-check 2>&1)
t_is "$out" "refilled after the return" "STATUS's refill stamp: later than the RETURN, not in the future"
wait_free $((64 * mib))

# One epoll_wait of the keeper returning A's end of connection, B's connect and
# A's exit, in that order: A's slot goes to B at the accept, and A's exit that
# follows in the same batch must not end B's lease (a slot's events carry the
# client's generation). The keeper is stopped while the three happen.
mkfifo "$tmp/l.in"
exec 7<>"$tmp/l.in"
"$KC" "$dir" use 32 5c linger <"$tmp/l.in" >"$tmp/l.out" &
bg=$!
for _ in $(seq 100); do grep -q ready "$tmp/l.out" && break; sleep 0.1; done
kill -STOP "$kp"
echo close >&7
for _ in $(seq 100); do grep -q closed "$tmp/l.out" && break; sleep 0.1; done
"$KC" "$dir" use 32 5d exit >"$tmp/m.out" 2>&1 &
mpid=$!
for _ in $(seq 100); do grep -q wait_for_more_packets "/proc/$mpid/wchan" 2>/dev/null && break; sleep 0.05; done
t_like "$(cat "/proc/$mpid/wchan" 2>/dev/null)" "wait_for_more_packets" \
	"B connected and waits for the stopped keeper's answer"
echo exit >&7
wait "$bg"
bg=""
exec 7>&-
kill -CONT "$kp"
wait "$mpid"
t_is $? 0 "B, accepted into A's slot in the batch that also held A's exit, is served"
t_like "$(cat "$tmp/m.out")" "ready" "B got its 32 MiB, zero"
t_diag "$(cat "$tmp/l.out" "$tmp/m.out")"
wait_free $((64 * mib))
t_ok $? "both leases came back"

mkfifo "$tmp/c.in" "$tmp/b.in"
exec 7<>"$tmp/c.in"
"$KC" "$dir" pass 32 a3 <"$tmp/c.in" >"$tmp/c.out"
t_like "$(cat "$tmp/c.out")" "ready" "A leases, forks a child that keeps its mappings, memfds and connection, and exits"
wait_free $((64 * mib))
t_ok $? "A's lease ends with A (its pidfd), though its child keeps the connection"
"$KC" "$dir" use 64 b4 hold <"$tmp/b.in" >"$tmp/b.out" &
bg=$!
exec 8>"$tmp/b.in"
for _ in $(seq 100); do grep -q ready "$tmp/b.out" && break; sleep 0.1; done
t_like "$(cat "$tmp/b.out")" "ready" "B leases all 64 MiB (zero) and writes 0xb4 while the child lives"
echo go >&7
for _ in $(seq 100); do grep -q child "$tmp/c.out" && break; sleep 0.1; done
t_like "$(cat "$tmp/c.out")" "child clean" "the child, reading A's old mapping and memfds, never sees B's 0xb4"
exec 8>&- 7>&-
wait "$bg"
t_is $? 0 "B held its memory to the end, unchanged"
bg=""

# ------------------------------------------------------------------ join
mkfifo "$tmp/j.in"
exec 9<>"$tmp/j.in"
"$KC" "$dir" join 32 a6 <"$tmp/j.in" >"$tmp/j.out"
t_is $? 0 "A leases 32 MiB (0xa6), passes its memfd over a socket pair to its child B, B joins, A exits"
t_like "$(cat "$tmp/j.out")" "child joined 1" "B said HELLO itself and joined A's chunk"
jb=$(awk '/^ready/ { print $2 }' "$tmp/j.out")
for _ in $(seq 50); do "$KC" "$dir" status | grep -q "lease pid $jb " && break; sleep 0.1; done
t_is "$(held leased)" $((32 * mib)) "A gone: its chunk stays leased while B holds it"
t_like "$("$KC" "$dir" status)" "lease pid $jb uid 0 bytes $((32 * mib))" "status names B as its holder now"
echo check >&9
for _ in $(seq 100); do grep -q "child kept\|child LOST" "$tmp/j.out" && break; sleep 0.1; done
t_like "$(cat "$tmp/j.out")" "child kept a6" "B's memory still holds A's 0xa6: not punched"
echo exit >&9
for _ in $(seq 100); do kill -0 "$jb" 2>/dev/null || break; sleep 0.1; done
exec 9>&-
jb=""
wait_free $((64 * mib))
t_ok $? "B exits: the last holder gone, the chunk comes back"
out=$("$KC" "$dir" use 64 c7 exit)
t_is $? 0 "the next client reads every byte zero (no 0xa6)"
wait_free $((64 * mib))
out=$("$KC" "$dir" join-bogus)
t_is $? 0 "JOIN of a sealed memfd of its own, and of a chunk it gave back: both -ENOENT"
t_like "$out" "is no chunk this keeper has leased" "naming why"
t_diag "$out"
wait_free $((64 * mib))
out=$("$KC" "$dir" join-limit)
t_is $? 0 "a chunk takes 64 holders (its leaser and 63 joiners), not one more"
t_like "$out" "has 64 holders already" "the 65th is refused (-EUSERS), saying so"
t_diag "$out"
wait_free $((64 * mib))

# ------------------------------------------------------------------ fetch
out=$("$KC" "$dir" fetch-check)
t_is $? 0 "FETCH of a chunk this pid holds gives its memfd; of one it does not, or of a pid holding nothing, a refusal"
t_like "$out" "fetched same" "the memfd FETCH gives is the leased chunk's (same inode)"
t_like "$out" "is not one pid" "a chunk the pid does not hold: -ENOENT, named"
t_like "$out" "holds memory of this keeper (has it exited?)" "a pid that holds nothing: -ESRCH, named"
wait_free $((64 * mib))
t_ok $? "and all 64 holders gone, the chunk comes back"

# ------------------------------------------------------------------ refusals
"$KC" "$dir" use 96 ff exit >/dev/null 2>"$tmp/err"
t_is $? 2 "asking 96 MiB of a 64 MiB keeper is refused"
t_like "$(cat "$tmp/err")" "larger --keep" "naming the cap and the fix"
setpriv --reuid=65534 --regid=65534 --clear-groups "$KC" "$dir" status 2>"$tmp/err" >/dev/null
t_is $? 1 "another uid may not connect to a root-only keeper"
t_like "$(cat "$tmp/err")" "may not connect" "and hears why"
"$HUGEMEM" keeper --keep 2M --runtime-dir "$dir" >/dev/null 2>"$tmp/err"
t_is $? 1 "a second keeper on the same directory is refused"
t_like "$(cat "$tmp/err")" "another keeper runs in $dir" "naming it"

# ------------------------------------------------------------------ malformed
t_is "$("$KC" "$dir" raw 1 2 3)" "dropped" "three bytes of garbage: the client is dropped"
t_is "$("$KC" "$dir" raw 48 4d 4b 50 03 00 03 00 10 00 00 00 00 00 00 00)" "dropped" "a LEASE cut after its header: dropped"
t_is "$("$KC" "$dir" lease-early)" "dropped" "a LEASE before HELLO: dropped"
t_is "$("$KC" "$dir" hello-fake)" "dropped" "a HELLO with the pidfd of another process: dropped"
out=$("$KC" "$dir" use 32 77 exit)
t_is $? 0 "the keeper goes on serving"
wait_free $((64 * mib))
t_ok $? "and holds all its memory"

# ------------------------------------------------------------------ 100 clients
# one client: a refusal while every chunk is still being faulted again (the keeper says
# what is "coming back") is retried; anything else counts as bad
one_client() { # one_client BYTE
	local out
	for _ in $(seq 200); do
		out=$("$KC" "$dir" use 2 "$1" exit 2>&1) && return 0
		case $out in *"coming back"*) sleep 0.01 ;; *) t_diag "$out"; return 1 ;; esac
	done
	return 1
}
bad=0
for i in $(seq 100); do
	one_client "$(printf '%02x' $((i % 255 + 1)))" || bad=$((bad + 1))
done
t_is "$bad" 0 "100 clients in a loop each found their memory zero"
wait_free $((64 * mib))
t_ok $? "and every chunk came back"

# ------------------------------------------------------------------ stop
stop_keeper
t_is $? 0 "SIGTERM stops the keeper, exit 0"
t_ok $([ ! -e "$dir" ]; echo $?) "its directory and socket are gone"

# ------------------------------------------------------------------ budgets
# in_cg ARGS...: keeper_client in the child cgroup $cg/job, whose parent caps 2 MiB pages at 8 MiB
in_cg() { sh -c 'echo $$ >"$1/job/cgroup.procs" && shift && exec "$@"' sh "$cg" "$KC" "$dir" "$@"; }
start_keeper "$dir" "$tmp/k3.out" --keep 64M --chunk 2M --uid-quota 24M
t_ok $? "a keeper with --chunk 2M --uid-quota 24M is ready"
"$KC" "$dir" use 26 10 exit >/dev/null 2>"$tmp/err"
t_is $? 2 "a lease of 26 MiB past a 24 MiB uid quota is refused"
t_like "$(cat "$tmp/err")" "--uid-quota 24 MiB of uid 0 is reached (0 B leased, 26 MiB asked)" "naming the quota, the uid, what is leased and asked"
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$cg2" ] && grep -qw hugetlb "$cg2/cgroup.controllers"; then
	cg=$cg2/hmkeeper2$$
	t_cgroup_cap "$cg" 4
	mkfifo "$tmp/g.in"
	in_cg use 6 61 hold <"$tmp/g.in" >"$tmp/g.out" &
	bg=$!
	exec 8>"$tmp/g.in"
	for _ in $(seq 100); do grep -q ready "$tmp/g.out" && break; sleep 0.1; done
	t_like "$(cat "$tmp/g.out")" "ready" "a client in a cgroup capped at 8 MiB (its parent's hugetlb.2MB.max) leases 6 MiB"
	in_cg use 4 62 exit >/dev/null 2>"$tmp/err"
	t_is $? 2 "a second client there asking 4 MiB more is refused"
	t_like "$(cat "$tmp/err")" "the hugetlb cgroup limit 8 MiB of /hmkeeper2$$ is reached (6 MiB leased from the keeper, 4 MiB asked)" "naming the cgroup, its limit, what is leased and asked"
	out=$(in_cg use 2 63 exit)
	t_is $? 0 "2 MiB more fits (8 MiB in all)"
	"$KC" "$dir" use 20 64 exit >/dev/null 2>"$tmp/err"
	t_is $? 2 "a root client outside the cgroup: 20 MiB more is past the uid quota"
	t_like "$(cat "$tmp/err")" "--uid-quota 24 MiB of uid 0 is reached (6 MiB leased, 20 MiB asked)" "the quota counts the uid's other connections"
	out=$("$KC" "$dir" use 18 65 exit)
	t_is $? 0 "18 MiB fits the quota (24 MiB in all), the cgroup caps only its own"
	exec 8>&-
	wait "$bg"
	bg=""
	rmdir "$cg/job" "$cg"
	cg=""
else
	t_skip "no cgroup v2 with the hugetlb controller: the cgroup budget is not tested"
fi
wait_free $((64 * mib))
t_ok $? "every budgeted lease came back"
stop_keeper
t_is $? 0 "and the keeper stops"

# ------------------------------------------------------------------ the socket path
mkdir -m 700 "$dir2"
touch "$dir2/keeper.sock"
"$HUGEMEM" keeper --keep 2M --runtime-dir "$dir2" >/dev/null 2>"$tmp/err"
t_is $? 1 "a keeper.sock that is a regular file is refused"
t_like "$(cat "$tmp/err")" "is not a socket" "saying so"
rm "$dir2/keeper.sock"
ln -s /tmp/elsewhere "$dir2/keeper.sock"
"$HUGEMEM" keeper --keep 2M --runtime-dir "$dir2" >/dev/null 2>"$tmp/err"
t_is $? 1 "a keeper.sock that is a symbolic link is refused"
t_like "$(cat "$tmp/err")" "symbolic link" "saying so"
rm "$dir2/keeper.sock"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' "$dir2/keeper.sock"
python3 - "$tmp/notify.sock" >"$tmp/notify.out" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
print(s.recv(256).decode())
EOF
nl=$!
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$tmp/notify.sock start_keeper "$dir2" "$tmp/k2.out" --keep 2M --group 65534
t_ok $? "a dead keeper's socket is replaced (keeper --group 65534 ready)"
wait "$nl"
t_like "$(cat "$tmp/notify.out")" "READY=1" "READY=1 went to \$NOTIFY_SOCKET"
t_is "$(stat -c '%a %g' "$dir2") $(stat -c '%a %g' "$dir2/keeper.sock")" "750 65534 660 65534" "--group: directory 0750 and socket 0660 of that group"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KC" "$dir2" use 2 5a exit 2>&1)
t_like "$out" "pa=0 first_pa=0x0" "a client of the group without CAP_SYS_ADMIN leases, and gets no physical address"
t_keeper_wait_free $((2 * mib)) "$dir2"
coproc HOLD { "$KC" "$dir2" use 2 5a hold; }
read -r line <&"${HOLD[0]}"
hid=$(echo "$line" | sed -n 's/.*first_id=\([0-9]*\).*/\1/p')
hpid=$(echo "$line" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KC" "$dir2" fetch "$hpid" "$hid" 2>&1)
t_is $? 2 "a client of the group may not FETCH a root client's memory"
t_like "$out" "memory belongs to uid 0: only that uid or root may fetch it, not uid 65534" "naming the owner, the rule and the asker"
t_is "$("$KC" "$dir2" fetch "$hpid" "$hid")" "fetched 5a" "root FETCHes it and reads what its holder wrote"
echo >&"${HOLD[1]}"
wait "$HOLD_PID"
stop_keeper
t_is $? 0 "and stops"
t_ok $([ -e "$dir2/keeper.sock" ]; echo $((!$?))) "its socket is gone (the directory it did not make stays)"
rmdir "$dir2"

t_is "$(t_pool)" "$before" "pool counts as before the test"
t_done
