#!/bin/bash
# Security on real hugepages.
#   1. Modes: under `umask 000`, a root primary's runtime directory is 0700 and
#      its files (lock, layout, clients, fds.sock) 0600, owned by root, page
#      files and single files 0600; a non-root user's (setpriv --reuid nobody)
#      the same, owned by nobody, with HUGEMEM_RUNTIME_DIR and with the
#      default /tmp/hugemem-<uid>.
#   2. Planted paths are refused, not followed: the prefix directory as a
#      symbolic link, as a directory of another user, as a directory others
#      may write; the lock as a symbolic link or a FIFO; the runtime base as a
#      link or another user's; a FIFO with a page file's name. Links planted
#      at layout, clients, fds.sock and a temporary layout are replaced or
#      removed, their targets untouched.
#   3. A non-root user cannot attach to a root primary (even when an admin
#      opens its runtime directory up), cannot take its prefix, and its
#      `clear` removes nothing of root's, live or stale, even in a mount of
#      mode 0777.
#   4. `clear` never removes a file a live process holds: a held hugemem
#      primary (page files, single file), seen live through its prefix or
#      only through its flocks; the files of a SIGKILLed primary that a
#      secondary still maps; a file only held open; a held DPDK process
#      (bench/probes/dpdk_hold.c, Debian's libdpdk-dev); and primaries that
#      start and stop while `clear` runs in a loop.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 64
command -v setpriv >/dev/null || t_skip_all "setpriv(1) missing (util-linux)"
id nobody >/dev/null 2>&1 || t_skip_all "no user nobody"
HOLD=$HM_BUILD/test-tools/hold_file
tmp=$(mktemp -d)
chmod 711 "$tmp" # nobody may reach the directories made below for it
unset HUGEMEM_RUNTIME_DIR XDG_RUNTIME_DIR
pfx=sec$$
dpfx=secd$$
m777=/run/hm-tort-777$$
nb_uid=$(id -u nobody)
nb=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
nb_tmpdir=/tmp/hugemem-$nb_uid
[ -e "$nb_tmpdir" ] && nb_tmpdir_was=1
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 2>/dev/null
	wait 2>/dev/null
	rm -f "$HM_MNT/${pfx}"*map_* "$HM_MNT/${dpfx}"map_*
	if mountpoint -q "$m777"; then rm -f "$m777/${pfx}"*map_*; umount "$m777"; fi
	rmdir "$m777" 2>/dev/null
	rm -rf "/run/hugemem/${pfx:?}" "/run/hugemem/${pfx}m" "/var/run/dpdk/$dpfx" "$tmp"
	rm -rf "${nb_tmpdir:?}/$pfx"
	[ -z "$nb_tmpdir_was" ] && rmdir "$nb_tmpdir" 2>/dev/null
}
trap cleanup EXIT
before=$(t_pool)
# nobody may not reach the build tree (a checkout under /root): then a copy
nbhm=$HUGEMEM
if ! "${nb[@]}" "$HUGEMEM" --version >/dev/null 2>&1; then
	cp "$HUGEMEM" "$tmp/hugemem" && chmod 755 "$tmp/hugemem" && nbhm=$tmp/hugemem
fi

# start NAME FD CMD...: a holder whose stdin is a pipe kept open on FD; waits
# until it prints something (its layout, or "ready")
start() {
	local name=$1 fd=$2
	shift 2
	rm -f "$tmp/$name.in"
	mkfifo -m 666 "$tmp/$name.in"
	"$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	eval "${name}_pid=$!"
	pids="$pids $!"
	eval "exec $fd>\"\$tmp/\$name.in\""
	for _ in $(seq 200); do [ -s "$tmp/$name.out" ] && return 0; sleep 0.05; done
	t_diag "$name did not start: $(cat "$tmp/$name.err")"
	return 1
}
finish() { # finish NAME FD: close its input, return its exit status
	eval "exec $2>&-"
	eval "wait \$${1}_pid"
}
# what PATH: "<type> <mode> <uid>", e.g. "directory 700 0"
what() { stat -c '%F %a %u' "$1" 2>&1 | sed 's/regular empty file/regular file/'; }
files() { ls "${2:-$HM_MNT}" | grep -c "^$1map_"; }

# ------------------------------------------------------------------ 1. modes
umask 000
start prim 8 "$HUGEMEM" init -m 16 --hold --in-memory --file-prefix "$pfx"
t_ok $? "root primary (--in-memory) under umask 000"
start sec 9 "$HUGEMEM" attach --hold --file-prefix "$pfx"
t_ok $? "a root secondary holds it"
d=/run/hugemem/$pfx
t_is "$(what "$d")" "directory 700 0" "root: runtime directory 0700, root's"
for f in lock layout clients; do
	t_is "$(what "$d/$f")" "regular file 600 0" "root: $f 0600, root's"
done
t_is "$(what "$d/fds.sock")" "socket 600 0" "root: fds.sock 0600, root's"
t_is "$(($(stat -c '0%a' /run/hugemem) & 022))" 0 "root: /run/hugemem writable by root only"
t_is "$(ls -A "$d" | grep -vcE '^(lock|layout|clients|fds.sock)$')" 0 "root: nothing else in it"
finish sec 9
finish prim 8
t_is $? 0 "root primary exits 0"
[ ! -e "$d" ]
t_ok $? "root: runtime directory removed at exit"

for mode in page-files --single-file-segments; do
	arg=$mode
	[ "$mode" = page-files ] && arg=--verify
	start prim 8 "$HUGEMEM" init -m 8 --hold --file-prefix "$pfx" "$arg"
	bad=0
	for f in "$HM_MNT/${pfx}"map_*; do
		[ "$(what "$f")" = "regular file 600 0" ] || { bad=$((bad + 1)); t_diag "$f: $(what "$f")"; }
	done
	t_is "$bad" 0 "root: every $mode file is a 0600 regular file of root's ($(files "$pfx") files)"
	finish prim 8
done

# a non-root user, HUGEMEM_RUNTIME_DIR
mkdir "$tmp/nb" && chown nobody "$tmp/nb"
start prim 8 env HUGEMEM_RUNTIME_DIR="$tmp/nb/run" "${nb[@]}" "$nbhm" init -m 8 --hold --in-memory \
	--file-prefix "$pfx"
t_ok $? "nobody: a primary (--in-memory) under umask 000, HUGEMEM_RUNTIME_DIR"
env HUGEMEM_RUNTIME_DIR="$tmp/nb/run" "${nb[@]}" "$nbhm" attach --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 0 "nobody: its own secondary attaches (fds over the socket)"
t_diag "$(cat "$tmp/err")"
t_is "$(what "$tmp/nb/run")" "directory 700 $nb_uid" "nobody: runtime base 0700, nobody's"
t_is "$(what "$tmp/nb/run/$pfx")" "directory 700 $nb_uid" "nobody: runtime directory 0700, nobody's"
for f in lock layout clients; do
	t_is "$(what "$tmp/nb/run/$pfx/$f")" "regular file 600 $nb_uid" "nobody: $f 0600, nobody's"
done
t_is "$(what "$tmp/nb/run/$pfx/fds.sock")" "socket 600 $nb_uid" "nobody: fds.sock 0600, nobody's"
finish prim 8
t_is $? 0 "nobody: the primary exits 0"

# a non-root user, the default /tmp/hugemem-<uid>
start prim 8 "${nb[@]}" "$nbhm" init -m 8 --hold --in-memory --file-prefix "$pfx"
t_is "$(what "$nb_tmpdir")" "directory 700 $nb_uid" "nobody: default base $nb_tmpdir 0700, nobody's"
t_is "$(what "$nb_tmpdir/$pfx/lock")" "regular file 600 $nb_uid" "nobody: its lock there 0600"
finish prim 8
[ ! -e "$nb_tmpdir/$pfx" ]
t_ok $? "nobody: runtime directory removed at exit"
umask 022

# ------------------------------------------------------------------ 2. planted paths
# refused PLANT_DESCRIPTION NEEDLE CMD...: CMD must exit 1 naming NEEDLE
refused() {
	local desc=$1 needle=$2
	shift 2
	"$@" >/dev/null 2>"$tmp/err"
	t_is $? 1 "$desc: refused, exit 1"
	t_like "$(cat "$tmp/err")" "$needle" "$desc: the message says why"
}
init8() { "$HUGEMEM" init -m 8 --file-prefix "$pfx" "$@"; }

mkdir "$tmp/x"
ln -s "$tmp/x" "$d"
refused "runtime directory planted as a symlink" "is a symbolic link or not a directory" init8
t_is "$(ls -A "$tmp/x")" "" "the symlink was not followed: nothing in its target"
[ -L "$d" ]
t_ok $? "the symlink itself is left for the admin to judge"
refused "runtime directory planted as a symlink, attach" "" "$HUGEMEM" attach --file-prefix "$pfx"
rm "$d"

mkdir -m 700 "$d" && chown nobody "$d"
refused "runtime directory owned by nobody" "is owned by uid $nb_uid, not 0" init8
t_is "$(ls -A "$d")" "" "nothing created in nobody's directory"
rmdir "$d"
mkdir -m 777 "$d"
chmod 777 "$d"
refused "runtime directory of mode 0777" "is writable by others (mode 777)" init8
rmdir "$d"

mkdir -m 700 "$d"
ln -s "$tmp/lock-target" "$d/lock"
refused "lock planted as a symlink" "lock is a symbolic link" init8
[ ! -e "$tmp/lock-target" ]
t_ok $? "the lock symlink was not followed: its target was not created"
refused "lock planted as a symlink, attach" "no layout published" "$HUGEMEM" attach --file-prefix "$pfx"
rm "$d/lock"
mkfifo "$d/lock"
# exit 1, not 2: it is no bad command line (was -EINVAL; fixed in src/hugedir/prefix.c)
refused "lock planted as a FIFO" "lock is not a regular file: remove it" init8
rm "$d/lock"

# links at the names of a dead primary's files: removed or replaced, never followed
for f in layout clients fds.sock .layout.1.tmp; do
	echo "victim $f" >"$tmp/victim.$f"
	ln -s "$tmp/victim.$f" "$d/$f"
done
start prim 8 "$HUGEMEM" init -m 8 --hold --in-memory --file-prefix "$pfx"
t_ok $? "a primary starts over links planted at layout, clients, fds.sock, .layout.1.tmp"
bad=0
for f in layout clients fds.sock .layout.1.tmp; do
	[ "$(cat "$tmp/victim.$f")" = "victim $f" ] || { bad=$((bad + 1)); t_diag "$f's target changed"; }
done
t_is "$bad" 0 "every link's target is untouched"
t_is "$(what "$d/layout")" "regular file 600 0" "the layout is the primary's own file"
"$HUGEMEM" attach --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 0 "a secondary attaches"
t_is "$(what "$d/clients")" "regular file 600 0" "clients is a new file"
finish prim 8
t_is $? 0 "the primary exits 0"
[ ! -e "$d" ]
t_ok $? "and leaves no runtime directory (the planted links removed)"

mkdir "$tmp/realbase"
ln -s "$tmp/realbase" "$tmp/baselink"
HUGEMEM_RUNTIME_DIR="$tmp/baselink" refused "runtime base planted as a symlink" "is a symbolic link" init8
t_is "$(ls -A "$tmp/realbase")" "" "the base symlink was not followed"
mkdir -m 700 "$tmp/nbbase" && chown nobody "$tmp/nbbase"
HUGEMEM_RUNTIME_DIR="$tmp/nbbase" refused "runtime base owned by nobody" "owned by uid $nb_uid" init8

mkfifo "$HM_MNT/${pfx}map_0"
refused "a FIFO planted at a page file's name" "${pfx}map_0" init8 --verify
[ -p "$HM_MNT/${pfx}map_0" ]
t_ok $? "the FIFO is left as it was (never opened: no hang)"
! grep -q "run 'hugemem clear" "$tmp/err"
t_ok $? "the FIFO's message does not send the user to 'hugemem clear' (which skips it)"
t_like "$(cat "$tmp/err")" "is not a regular file (not a page file: 'hugemem clear' leaves it): remove it" \
	"the FIFO's message says what it is and to remove it"
rm -f "$HM_MNT/${pfx}map_0"
t_is "$(t_pool)" "$before" "pool whole after the planted paths"

# ------------------------------------------------------------------ 3. non-root vs root
export HUGEMEM_RUNTIME_DIR="$tmp/rootrun"
start prim 8 "$HUGEMEM" init -m 16 --hold --file-prefix "$pfx"
t_ok $? "a root primary (page files)"
start prim2 7 "$HUGEMEM" init -m 16 --hold --in-memory --file-prefix "${pfx}m"
t_ok $? "a root primary (--in-memory)"
for p in "$pfx" "${pfx}m"; do
	"${nb[@]}" "$nbhm" attach --file-prefix "$p" >/dev/null 2>"$tmp/err"
	t_is $? 1 "nobody cannot attach to root's $p"
	t_like "$(cat "$tmp/err")" "Permission denied" "$p: because root's runtime directory is private"
done
# an admin opens everything it can up: still no memory for nobody
chmod 755 "$tmp/rootrun" "$tmp/rootrun/$pfx" "$tmp/rootrun/${pfx}m"
chmod 644 "$tmp/rootrun/$pfx/layout" "$tmp/rootrun/${pfx}m/layout"
chmod 666 "$tmp/rootrun/${pfx}m/fds.sock"
touch "$tmp/rootrun/$pfx/clients" "$tmp/rootrun/${pfx}m/clients"
chmod 666 "$tmp/rootrun/$pfx/clients" "$tmp/rootrun/${pfx}m/clients"
"${nb[@]}" "$nbhm" attach --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 1 "opened up: nobody still cannot attach to root's page files"
t_like "$(cat "$tmp/err")" "Permission denied" "page files: they are root's, mode 0600"
"${nb[@]}" "$nbhm" attach --file-prefix "${pfx}m" >/dev/null 2>"$tmp/err"
t_is $? 1 "opened up: nobody still cannot get root's memfds"
t_diag "$(cat "$tmp/err")"
"${nb[@]}" "$nbhm" init -m 8 --in-memory --file-prefix "$pfx" >/dev/null 2>"$tmp/err"
t_is $? 1 "nobody cannot take root's prefix"
"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>&1
t_is $? 0 "root's secondary still attaches"
"${nb[@]}" "$nbhm" clear >"$tmp/out" 2>&1
"${nb[@]}" "$nbhm" clear --file-prefix "$pfx" >>"$tmp/out" 2>&1
t_is "$(files "$pfx")" 8 "nobody's clear removes none of root's live files"
t_diag "$(cat "$tmp/out")"
{ kill -9 "$prim_pid"; wait "$prim_pid"; } 2>/dev/null
exec 8>&-
"${nb[@]}" "$nbhm" clear --file-prefix "$pfx" >/dev/null 2>&1
t_is "$(files "$pfx")" 8 "nobody's clear removes none of root's stale files"
"$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
t_is "$(files "$pfx")" 0 "root's clear removes them"
finish prim2 7
t_is $? 0 "root's --in-memory primary exits 0"

# the same in a mount anyone may write (mode 0777, no sticky bit)
mkdir -p "$m777" && mount -t hugetlbfs -o mode=0777,pagesize=2M nodev "$m777"
t_ok $? "a hugetlbfs mount of mode 0777 at $m777"
start prim 8 "$HUGEMEM" init -m 8 --hold --huge-dir "$m777" --allow-unsafe-mount --file-prefix "$pfx"
"${nb[@]}" "$nbhm" clear >/dev/null 2>&1
t_is "$(files "$pfx" "$m777")" 4 "0777 mount: nobody's clear removes none of root's live files"
{ kill -9 "$prim_pid"; wait "$prim_pid"; } 2>/dev/null
exec 8>&-
"${nb[@]}" "$nbhm" clear >/dev/null 2>&1
t_is "$(files "$pfx" "$m777")" 4 "0777 mount: nor root's stale files"
"$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
umount "$m777" && rmdir "$m777"
t_is "$(t_pool)" "$before" "pool whole after the non-root part"

# ------------------------------------------------------------------ 4. clear keeps live files
for mode in page-files --single-file-segments; do
	arg=$mode
	[ "$mode" = page-files ] && arg=--verify
	start prim 8 "$HUGEMEM" init -m 16 --hold --file-prefix "$pfx" "$arg"
	n=$(files "$pfx")
	"$HUGEMEM" clear >/dev/null
	"$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
	t_is "$(files "$pfx")" "$n" "$mode: clear keeps a live primary's $n files (its prefix is live)"
	HUGEMEM_RUNTIME_DIR="$tmp/elsewhere" "$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
	t_is "$(files "$pfx")" "$n" "$mode: and seen from another runtime directory (its flocks)"
	"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null
	t_is $? 0 "$mode: a secondary still attaches and verifies"
	# the primary dies; its secondary still maps the files
	start sec 9 "$HUGEMEM" attach --hold --file-prefix "$pfx"
	{ kill -9 "$prim_pid"; wait "$prim_pid"; } 2>/dev/null
	exec 8>&-
	"$HUGEMEM" clear >/dev/null
	t_is "$(files "$pfx")" "$n" "$mode: clear keeps a dead primary's files its secondary maps"
	finish sec 9
	t_is $? 0 "$mode: the secondary exits 0"
	"$HUGEMEM" clear --file-prefix "$pfx" >/dev/null
	t_is "$(files "$pfx")" 0 "$mode: then clear removes them"
done

# a DPDK-style file (its prefix has a DPDK runtime directory: clear may remove it)
mkdir -p "/var/run/dpdk/$dpfx"
"$HOLD" open "$HM_MNT/${dpfx}map_0" >"$tmp/open.out" &
pids="$pids $!"
for _ in $(seq 100); do grep -q ready "$tmp/open.out" && break; sleep 0.05; done
"$HUGEMEM" clear --file-prefix "$dpfx" >/dev/null
[ -e "$HM_MNT/${dpfx}map_0" ]
t_ok $? "clear keeps a file only held open (no lock, no mapping)"
{ kill -9 $! && wait $!; } 2>/dev/null
"$HUGEMEM" clear --file-prefix "$dpfx" >/dev/null
t_is "$(files "$dpfx")" 0 "and removes it once its holder is gone"
rmdir "/var/run/dpdk/$dpfx"

# a held DPDK process
if command -v pkg-config >/dev/null && pkg-config --exists libdpdk; then
	# shellcheck disable=SC2046
	cc -O2 -o "$tmp/dpdk_hold" "$HM_TOP/bench/probes/dpdk_hold.c" $(pkg-config --cflags --libs libdpdk)
	start dpdk 6 "$tmp/dpdk_hold" -l 0 --no-pci --huge-dir "$HM_MNT" --file-prefix "$dpfx" -m 16 \
		--log-level=1
	t_ok $? "a DPDK $(pkg-config --modversion libdpdk) process holds 16 MiB"
	n=$(files "$dpfx")
	"$HUGEMEM" clear >/dev/null
	"$HUGEMEM" clear --file-prefix "$dpfx" >/dev/null
	t_is "$(files "$dpfx")" "$n" "clear keeps every page file of the live DPDK process ($n)"
	finish dpdk 6
	t_is $? 0 "the DPDK process exits 0"
	"$HUGEMEM" clear --file-prefix "$dpfx" >/dev/null
	t_is "$(files "$dpfx")" 0 "then clear removes what it left"
else
	t_diag "SKIP the DPDK case: libdpdk-dev missing (make check installs it as root)"
fi

# primaries start and stop while clear runs in a loop
(while :; do "$HUGEMEM" clear >/dev/null 2>&1; done) &
cl=$!
pids="$pids $cl"
bad=0
for i in $(seq 10); do
	start prim 8 "$HUGEMEM" init -m 16 --hold --file-prefix "$pfx" || bad=$((bad + 1))
	"$HUGEMEM" attach --verify --file-prefix "$pfx" >/dev/null 2>"$tmp/err" || {
		bad=$((bad + 1))
		t_diag "round $i: $(cat "$tmp/err")"
	}
	finish prim 8 || bad=$((bad + 1))
done
kill "$cl"
wait "$cl" 2>/dev/null
t_is "$bad" 0 "10 primaries start, are attached to and stop while clear runs in a loop"
t_is "$(files "$pfx")" 0 "no file left"
t_is "$(t_pool)" "$before" "pool counts as before (nr free resv surplus)"
t_done
