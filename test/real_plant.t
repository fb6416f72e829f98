#!/bin/bash
# Page files are proved, not trusted by name (issue 14, item 1; docs/reliability.md
# section 1). In a hugetlbfs mount anyone may write (mode 0777, not sticky),
# `nobody` renames a live root primary's page file and plants its own file
# under that name:
#   - `init` refuses such a mount (naming it and the fix) unless
#     --allow-unsafe-mount; `status` says why it is unsafe;
#   - `attach` and `attach --verify` (root) refuse, naming the planted file,
#     and never block, even while `nobody` holds the planted file LOCK_EX;
#   - the primary's exit leaves the planted file and removes its own page
#     file under the name it was renamed to: the pool is whole again;
# and `hugemem mount --group` makes a sticky mount (mode 1770) in which
# `nobody`, though it may write the mount, cannot rename root's files, and
# that init and status accept.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 16
command -v setpriv >/dev/null || t_skip_all "setpriv(1) missing (util-linux)"
id nobody >/dev/null 2>&1 || t_skip_all "no user nobody"
tmp=$(mktemp -d)
chmod 711 "$tmp"
export HUGEMEM_RUNTIME_DIR="$tmp/run"
pfx=plant$$
m777=/run/hm-plant-777-$$
mgrp=/run/hm-plant-grp-$$
nb=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	exec 8>&- 2>/dev/null
	wait 2>/dev/null
	for m in "$m777" "$mgrp"; do
		if mountpoint -q "$m"; then rm -f "$m"/*; umount "$m"; fi
		rmdir "$m" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
before=$(t_pool)

start() { # start DIR ARGS...: a held primary of $pfx in DIR, its stdin on fd 8
	local dir=$1
	shift
	rm -f "$tmp/in" "$tmp/p.out"
	mkfifo "$tmp/in"
	"$HUGEMEM" init -m 8 --hold --huge-dir "$dir" --file-prefix "$pfx" "$@" <"$tmp/in" \
		>"$tmp/p.out" 2>"$tmp/p.err" &
	prim=$!
	pids="$pids $prim"
	exec 8>"$tmp/in"
	for _ in $(seq 200); do [ -s "$tmp/p.out" ] && return 0; sleep 0.05; done
	t_diag "primary did not start: $(cat "$tmp/p.err")"
	return 1
}
finish() { # close the primary's stdin; its exit status
	exec 8>&-
	wait "$prim"
}

# ------------------------------------------------------------------ an unsafe mount
mkdir -p "$m777" && mount -t hugetlbfs -o mode=0777,pagesize=2M nodev "$m777"
t_ok $? "a hugetlbfs mount of mode 0777 (not sticky) at $m777"
"$HUGEMEM" init -m 8 --huge-dir "$m777" --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 1 "init refuses a mount others may write that is not sticky"
t_like "$(cat "$tmp/err")" "hugetlbfs mount $m777 may be written by users other than its owner and is not sticky" \
	"the message names the mount and why"
t_like "$(cat "$tmp/err")" "chmod +t $m777" "and the fix"
t_like "$(cat "$tmp/err")" "--allow-unsafe-mount" "and the override"
t_is "$(ls "$m777" | wc -l)" 0 "nothing created in it"
"$HUGEMEM" status >"$tmp/status" 2>&1
t_like "$(cat "$tmp/status")" "unsafe mount $m777: users other than its owner may write it and it is not sticky" \
	"status says why the mount is unsafe"
"$HUGEMEM" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["mounts"] if m["path"] == sys.argv[1]]
assert len(m) == 1 and m[0]["unsafe"] is True, m' "$m777"
t_ok $? "status --json: \"unsafe\": true"

start "$m777" --allow-unsafe-mount
t_ok $? "with --allow-unsafe-mount a root primary starts there"
t_is "$(ls "$m777" | grep -c "^${pfx}map_")" 4 "it holds 4 page files"
"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 0 "a root secondary attaches before the attack"

# nobody renames page file 1 and plants its own file, with its own data, there
"${nb[@]}" mv "$m777/${pfx}map_1" "$m777/stolen$$"
t_ok $? "nobody renames the primary's ${pfx}map_1"
# (hugetlbfs has no write(2): the attacker writes through a mapping)
"${nb[@]}" /usr/bin/python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.ftruncate(fd, 2 << 20)
m = mmap.mmap(fd, 2 << 20)
m[:13] = b"attacker data"' "$m777/${pfx}map_1"
t_ok $? "nobody plants its own ${pfx}map_1"
timeout 20 "$HUGEMEM" attach --file-prefix "$pfx" >"$tmp/out" 2>"$tmp/err"
t_is $? 1 "attach refuses the planted file"
t_like "$(cat "$tmp/err")" "$m777/${pfx}map_1 is not the page file the primary (pid $prim) created" \
	"the message names the file and what is wrong"
t_unlike "$(cat "$tmp/out")" "IOVA" "no layout printed"

# held LOCK_EX by nobody: attach used to block forever in flock(LOCK_SH)
"${nb[@]}" /usr/bin/python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
time.sleep(120)' "$m777/${pfx}map_1" &
pids="$pids $!"
sleep 0.3
for v in "" --verify; do
	timeout 20 "$HUGEMEM" attach $v --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
	t_is $? 1 "attach $v does not block on the planted file held LOCK_EX, and refuses it"
	t_like "$(cat "$tmp/err")" "${pfx}map_1 is not the page file" "attach $v names the planted file"
done

finish
t_is $? 0 "the primary exits 0"
[ -f "$m777/${pfx}map_1" ] && [ "$(stat -c %U "$m777/${pfx}map_1")" = nobody ]
t_ok $? "its exit leaves nobody's planted file"
[ ! -e "$m777/stolen$$" ]
t_ok $? "and removes its own page file under the name it was renamed to"
t_is "$(ls "$m777" | grep -c "^${pfx}map_")" 1 "no other file of the prefix left"
rm -f "$m777/${pfx}map_1"
[ ! -e "$tmp/run/$pfx" ]
t_ok $? "no runtime directory left (its record of files removed)"
t_is "$(t_pool)" "$before" "pool whole (nr free resv surplus)"
umount "$m777" && rmdir "$m777"

# ------------------------------------------------------------------ a sticky group mount
"$HUGEMEM" mount "$mgrp" --group "$(id -gn nobody)" >/dev/null 2>"$tmp/err"
t_is $? 0 "hugemem mount --group $(id -gn nobody) $mgrp"
t_diag "$(cat "$tmp/err")"
t_is "$(stat -c '%a' "$mgrp")" 1770 "the group mount is sticky (mode 1770)"
"$HUGEMEM" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["mounts"] if m["path"] == sys.argv[1]]
assert len(m) == 1 and m[0]["unsafe"] is False, m' "$mgrp"
t_ok $? "status: the group mount is not unsafe"
start "$mgrp"
t_ok $? "a root primary starts there without --allow-unsafe-mount"
"${nb[@]}" mv "$mgrp/${pfx}map_1" "$mgrp/stolen$$" 2>/dev/null
t_is $? 1 "nobody, a member of the mount's group, cannot rename root's page file"
"${nb[@]}" rm -f "$mgrp/${pfx}map_1" 2>/dev/null
t_is $? 1 "nor remove it"
"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 0 "a root secondary attaches and verifies"
t_diag "$(cat "$tmp/err")"
finish
t_is $? 0 "the primary exits 0"
t_is "$(ls -A "$mgrp" | wc -l)" 0 "nothing left in the group mount"
"$HUGEMEM" unmount "$mgrp" >/dev/null && rmdir "$mgrp"
t_is "$(t_pool)" "$before" "pool whole at the end"
t_done
