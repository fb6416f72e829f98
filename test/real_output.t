#!/bin/bash
# Issue 14, item 6 and "Also": links planted by another user, misleading or
# unsafe output, on real hugepages (docs/reliability.md, sections 6 and Also).
#   1. The machine-wide test lock is held, and no program a test starts
#      inherits a descriptor of it.
#   2. With fs.protected_symlinks=0 (restored at exit), nobody plants links in
#      /tmp: root's `hugemem mount LINK` and `mount LINK/sub` refuse, naming the
#      link, and mount nothing over its target; a non-empty directory is
#      refused; `map --svg LINK` does not write through the link.
#   3. HUGEMEM_RUNTIME_DIR=/tmp says what is wrong and a fix, and the fix works.
#   4. --base-virtaddr 0x1000 is refused (not rounded up), an address above
#      the user address space is refused naming where it ends.
#   5. A mount with nr_inodes=4 is refused at planning for 10 page files,
#      naming nr_inodes and the fixes; nothing is left in it.
#   6. Files named with ESC[31m and with a \xff byte: status, clear and their
#      --json print no raw ESC or \xff, and the JSON is strict and UTF-8, the
#      \xff name in path_base64 byte for byte (test/json_schema.t does more).
#   7. Two reserves at once: the one that ends last prints the pool's count.
#   8. As nobody under `ulimit -u 1`, the thread init needs names RLIMIT_NPROC.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 16
command -v setpriv >/dev/null || t_skip_all "setpriv(1) missing (util-linux)"
id nobody >/dev/null 2>&1 || t_skip_all "no user nobody"
unset HUGEMEM_RUNTIME_DIR XDG_RUNTIME_DIR
tmp=$(mktemp -d)
chmod 711 "$tmp"
nb=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
pfx=hmout$$
link=/tmp/hmout-link-$$
victim=/tmp/hmout-victim-$$
svg_link=/tmp/hmout-svg-$$.svg
svg_target=/tmp/hmout-target-$$
mnt=/run/hmout-mnt-$$
mnt_ino=/run/hmout-ino-$$
orig_nr=$(cat $HP2M/nr_hugepages)
protected=$(sysctl -n fs.protected_symlinks)
cleanup() {
	sysctl -qw fs.protected_symlinks="$protected"
	for m in "$victim/sub" "$victim" "$mnt" "$mnt_ino"; do
		grep -q " $m hugetlbfs" /proc/mounts && { rm -f "$m"/* 2>/dev/null; umount "$m"; }
	done
	rm -rf "$link" "$victim" "$svg_link" "$svg_target" "$tmp"
	rmdir "$mnt" "$mnt_ino" 2>/dev/null
	echo "$orig_nr" >$HP2M/nr_hugepages
}
trap cleanup EXIT
before=$(t_pool)

# ---------------------------------------------------------------- 1. the lock
t_unlike "$(ls -l /proc/self/fd/)" "hugemem-test.lock" "a program the test starts holds no descriptor of the lock"
t_unlike "$(ls -l /proc/$$/fd/)" "hugemem-test.lock" "nor does the test's shell"
flock -n "$HM_TEST_LOCK" true
t_is $? 1 "the lock is held all the same"

# ---------------------------------------------------------------- 2. links and mount points
sysctl -qw fs.protected_symlinks=0
mkdir "$victim" && echo keep >"$victim/keep"
"${nb[@]}" ln -s "$victim" "$link"
out=$("$HUGEMEM" mount "$link" 2>&1)
t_is $? 1 "mount on nobody's link to a directory: exit 1"
t_like "$out" "$link: 'hmout-link-$$' is a symbolic link" "names the link"
t_unlike "$(cat /proc/mounts)" " $victim " "nothing is mounted over the link's target"
out=$("$HUGEMEM" mount "$link/sub" 2>&1)
t_is $? 1 "mount below nobody's link: exit 1"
t_like "$out" "is a symbolic link" "names the link in the path"
t_ok "$([ ! -e "$victim/sub" ]; echo $?)" "and creates nothing in its target"
out=$("$HUGEMEM" mount "$victim" 2>&1)
t_is $? 1 "mount on a non-empty directory: exit 1"
t_like "$out" "is not empty (it holds 'keep')" "says it is not empty and what it holds"
t_is "$(cat "$victim/keep")" "keep" "what was there is still seen"

echo precious >"$svg_target"
"${nb[@]}" ln -s "$svg_target" "$svg_link"
out=$("$HUGEMEM" map --svg "$svg_link" 2>&1 >/dev/null)
t_is $? 1 "map --svg to nobody's link: exit 1"
t_like "$out" "is a symbolic link: not writing through it" "says it does not follow the link"
t_is "$(cat "$svg_target")" "precious" "the link's target is untouched"
rm -f "$svg_link"
"${nb[@]}" ln "$svg_target" "$svg_link" 2>/dev/null && {
	"$HUGEMEM" map --svg "$svg_link" >/dev/null 2>&1
	t_is "$(cat "$svg_target")" "precious" "a hard link to another file is not written either"
	rm -f "$svg_link"
}
"$HUGEMEM" map --svg "$tmp/ok.svg" >/dev/null
t_is $? 0 "map --svg to a new file still works"
sysctl -qw fs.protected_symlinks="$protected"

# ---------------------------------------------------------------- 3. runtime directory /tmp
out=$(HUGEMEM_RUNTIME_DIR=/tmp "$HUGEMEM" init -m 4 --in-memory --file-prefix $pfx 2>&1)
t_is $? 1 "HUGEMEM_RUNTIME_DIR=/tmp: refused"
t_like "$out" "runtime directory /tmp is writable by others (mode 1777)" "says what is wrong"
t_like "$out" "point HUGEMEM_RUNTIME_DIR (hm_ctx_set_runtime_dir) at a directory of your own" "gives the fix"
t_unlike "$out" "remove it or set XDG_RUNTIME_DIR" "does not suggest removing /tmp"
HUGEMEM_RUNTIME_DIR=$tmp/run "$HUGEMEM" init -m 4 --in-memory --file-prefix $pfx >/dev/null
t_is $? 0 "the fix works: a directory of root's own"

# ---------------------------------------------------------------- 4. --base-virtaddr
out=$("$HUGEMEM" init -m 4 --in-memory --file-prefix $pfx --base-virtaddr 0x1000 2>&1)
t_ok "$([ $? -ne 0 ]; echo $?)" "--base-virtaddr 0x1000: refused, not rounded up"
t_like "$out" "0x1000 is not aligned to the 2 MiB pages in use: give a multiple of 0x200000" \
	"names the address, the alignment and a valid value"
out=$("$HUGEMEM" init -m 4 --in-memory --file-prefix $pfx --base-virtaddr 0x1000000000000000 2>&1)
t_ok "$([ $? -ne 0 ]; echo $?)" "--base-virtaddr above user space: refused"
t_like "$out" "ends above the user address space, which ends at 0x" "names the limit"
t_unlike "$out" "Cannot allocate memory" "not 'Cannot allocate memory'"

# ---------------------------------------------------------------- 5. nr_inodes
mkdir -p "$mnt_ino" && mount -t hugetlbfs -o pagesize=2M,nr_inodes=4 nodev "$mnt_ino"
out=$("$HUGEMEM" init -m 20 --huge-dir "$mnt_ino" --file-prefix $pfx 2>&1)
t_is $? 1 "10 page files in a mount of nr_inodes=4: refused"
t_like "$out" "10 pages need 10 files (one a page) in $mnt_ino but its nr_inodes=4" \
	"names the mount's nr_inodes"
t_like "$out" "larger nr_inodes=" "and the fix"
t_is "$(ls "$mnt_ino" | wc -l)" 0 "refused at planning: no file was made"
"$HUGEMEM" init -m 20 --huge-dir "$mnt_ino" --file-prefix $pfx --single-file-segments >/dev/null
t_is $? 0 "one single file fits: init works"

# ---------------------------------------------------------------- 6. names
mkdir -p "$mnt" && mount -t hugetlbfs -o pagesize=2M nodev "$mnt"
esc=$(printf 'hmo\033[31mmap_0')
bad=$(printf 'hmo\377map_1')
touch "$mnt/$esc" "$mnt/$bad"
raw() { LC_ALL=C grep -c "$(printf '[\033\377]')" "$1"; }
"$HUGEMEM" status >"$tmp/status" 2>&1
t_like "$(cat "$tmp/status")" 'hmo\x' "status shows an example name escaped"
t_is "$(raw "$tmp/status")" 0 "status: no raw ESC or \\xff byte"
"$HUGEMEM" clear --dry-run >"$tmp/clear" 2>&1
t_is "$(raw "$tmp/clear")" 0 "clear: no raw ESC or \\xff byte"
t_like "$(cat "$tmp/clear")" 'hmo\x1b[31mmap_0: not proved' "clear names the ESC file escaped"
t_like "$(cat "$tmp/clear")" 'hmo\xffmap_1: not proved' "clear names the \\xff file escaped"
t_unlike "$(cat "$tmp/clear")" "rm -- '$mnt/hmo" "and offers no rm command it cannot print"
for cmd in status clear; do
	extra=""
	[ $cmd = clear ] && extra=--dry-run
	"$HUGEMEM" $cmd --json $extra >"$tmp/$cmd.json" 2>/dev/null
	got=$(python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")           # strict: invalid UTF-8 raises
json.loads(text, strict=True)         # strict: raw control characters raise
print("ok")' "$tmp/$cmd.json" 2>&1)
	t_is "$got" ok "$cmd --json: valid UTF-8 and strict JSON"
	t_is "$(raw "$tmp/$cmd.json")" 0 "$cmd --json: no raw ESC or \\xff byte"
done
t_like "$(cat "$tmp/clear.json")" 'hmo\u001b[31m' "the ESC is \\u001b in JSON"
t_like "$(cat "$tmp/clear.json")" 'hmo\ufffdmap_1' "the \\xff byte is U+FFFD in JSON"
python3 -c '
import base64, json, os, sys
c = json.load(open(sys.argv[1]))
raw = [base64.b64decode(p["path_base64"]) for p in c["not_proved"] if "path_base64" in p]
assert os.fsencode(sys.argv[2]) in raw, raw' "$tmp/clear.json" "$mnt/$bad"
t_ok $? "and its exact name is in path_base64"
rm -f "$mnt/$esc" "$mnt/$bad"

# ---------------------------------------------------------------- 7. two reserves at once
for round in 1 2 3; do
	"$HUGEMEM" reserve $(((orig_nr + 100) * 2))M --page-size 2M --json >"$tmp/a" 2>&1 &
	a=$!
	sleep "$(echo "$round" | sed 's/1/0.05/; s/2/0.15/; s/3/0.3/')"
	"$HUGEMEM" reserve $(((orig_nr + 50) * 2))M --page-size 2M --json >"$tmp/b" 2>&1 &
	b=$!
	wait $a $b
	final=$(cat $HP2M/nr_hugepages)
	said=$(python3 -c '
import json, sys
print(" ".join(str(json.loads(open(f).read().splitlines()[-1])["pages"]) for f in sys.argv[1:]))' "$tmp/a" "$tmp/b" 2>&1)
	t_like " $said " " $final " "round $round: one of two reserves at once printed the final count $final (printed: $said)"
	echo "$orig_nr" >$HP2M/nr_hugepages
done

# ---------------------------------------------------------------- 8. RLIMIT_NPROC
mkdir "$tmp/nb" && chown nobody "$tmp/nb"
# (an ASan build checks leaks at exit from a thread that ulimit -u 1 refuses too)
out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "${nb[@]}" bash -c \
	"ulimit -u 1; HUGEMEM_RUNTIME_DIR=$tmp/nb/run exec $HUGEMEM init -m 4 --in-memory --file-prefix $pfx" 2>&1)
t_is $? 1 "ulimit -u 1 as nobody: init fails"
t_like "$out" "RLIMIT_NPROC (ulimit -u, now 1)" "names RLIMIT_NPROC and its value"

t_is "$(t_pool)" "$before" "the pool is as it was"
t_done
