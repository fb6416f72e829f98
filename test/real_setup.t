#!/bin/sh
# hugemem setup, mount options, --dry-run and the overcommit on the real pool (issue 19,
# items 4 and 5): setup reserves, mounts and orders in one step and a second run changes
# nothing; --dry-run changes no count and no mount; mount --size/--nr-inodes/--mode show
# in /proc/mounts; reserve --overcommit sets nr_overcommit_hugepages. Root, the
# machine-wide lock, mounts of its own (hmsetup-*), and a trap that unmounts them and puts
# nr_hugepages and nr_overcommit_hugepages back: pool counts end as the snapshot. Nothing
# is persisted here (that would write /etc): test/cli_setup.t does it on a fixture.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 4
tmp=$(mktemp -d /tmp/hmsetup-real-XXXXXX)
mnt=$tmp/mnt
mnt2=$tmp/mnt2
orig_nr=$(cat $HP2M/nr_hugepages)
orig_over=$(cat $HP2M/nr_overcommit_hugepages)
before=$(t_pool)
cleanup() {
	for m in "$mnt" "$mnt2"; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	echo "$orig_over" >$HP2M/nr_overcommit_hugepages
	echo "$orig_nr" >$HP2M/nr_hugepages
	rm -rf "$tmp"
}
trap cleanup EXIT
hugetlbfs_mounts() { grep ' hugetlbfs ' /proc/mounts | sort; }
want=$((orig_nr + 4))

# --dry-run: every action said, nothing done
mounts=$(hugetlbfs_mounts)
out=$("$HUGEMEM" setup $((want * 2))M --page-size 2M --mount "$mnt" --dry-run)
t_is $? 0 "setup --dry-run exits 0"
t_like "$out" "would grow the pool" "it would reserve"
t_like "$out" "would mount hugetlbfs at $mnt (making the directory)" "it would mount"
t_like "$out" "would put the free pool in order" "it would order"
t_is "$(t_pool)" "$before" "--dry-run: pool counts unchanged"
t_is "$(hugetlbfs_mounts)" "$mounts" "--dry-run: mounts unchanged"
[ ! -e "$mnt" ]
t_ok $? "--dry-run: no directory made"

# setup: reserve, mount, order in one step
out=$("$HUGEMEM" setup $((want * 2))M --page-size 2M --mount "$mnt" --user nobody --mode 1770 2>"$tmp/err")
rc=$?
t_is "$rc" 0 "setup $((want * 2))M --mount exits 0"
[ -s "$tmp/err" ] && t_diag "$(cat "$tmp/err")"
t_is "$(cat $HP2M/nr_hugepages)" "$want" "the pool grew by 4 pages, to $want"
line=$(grep " $mnt hugetlbfs " /proc/mounts)
t_like "$line" "pagesize=2M" "mounted, serving 2 MiB pages"
t_like "$line" "mode=1770" "with the mode asked"
t_like "$line" "uid=65534" "owned by nobody"
t_like "$out" "mounted hugetlbfs at $mnt" "it says it mounted"
t_like "$out" "ordered " "and ordered the free pool"
out=$("$HUGEMEM" setup $((want * 2))M --page-size 2M --mount "$mnt" --json)
t_is $? 0 "setup again exits 0"
python3 -c '
import json, sys
s = json.loads(sys.argv[1])["setups"][0]
assert not s["grow"] and not s["new_mount"] and s["mount"] == sys.argv[2], s
assert s["pages"] == int(sys.argv[3]) and s["ordered"] is not None, s' "$out" "$mnt" "$want"
t_ok $? "a second run grows nothing, mounts nothing, orders again"
t_is "$(grep -c " $mnt hugetlbfs " /proc/mounts)" 1 "one mount there, not two"
"$HUGEMEM" setup 2M --page-size 2M >/dev/null
t_is "$(cat $HP2M/nr_hugepages)" "$want" "a smaller set-up takes nothing back"
"$HUGEMEM" unmount "$mnt" >/dev/null
t_is $? 0 "unmount"

# mount options: size=, nr_inodes=, mode= reach the kernel
"$HUGEMEM" mount "$mnt2" --page-size 2M --size 64M --nr-inodes 100 --mode 1777 >"$tmp/out" 2>&1
t_is $? 0 "mount --size 64M --nr-inodes 100 --mode 1777"
line=$(grep " $mnt2 hugetlbfs " /proc/mounts)
t_like "$line" "size=67108864" "size= in /proc/mounts"
t_like "$line" "nr_inodes=100" "nr_inodes= in /proc/mounts"
t_like "$line" "mode=1777" "mode= in /proc/mounts"
"$HUGEMEM" status --json --huge-dir "$mnt2" >"$tmp/s.json"
python3 -c '
import json, sys
m = [m for m in json.load(open(sys.argv[1]))["mounts"] if m["path"] == sys.argv[2]][0]
assert m["size_limit_bytes"] == 64 << 20 and m["mode"] == "1777", m' "$tmp/s.json" "$mnt2"
t_ok $? "status reads the limits back"
"$HUGEMEM" unmount "$mnt2" >/dev/null
t_is $? 0 "unmount"

# reserve --dry-run and --overcommit
"$HUGEMEM" reserve $(((want + 8) * 2))M --page-size 2M --dry-run >/dev/null
t_is "$(cat $HP2M/nr_hugepages)" "$want" "reserve --dry-run writes nothing"
"$HUGEMEM" reserve --overcommit 8M --page-size 2M >"$tmp/out"
t_is $? 0 "reserve --overcommit 8M"
t_is "$(cat $HP2M/nr_overcommit_hugepages)" 4 "nr_overcommit_hugepages is 4"
t_like "$("$HUGEMEM" status --page-size 2M)" "overcommit 4 (8 MiB)" "status shows it"
"$HUGEMEM" reserve --overcommit $((orig_over * 2))M --page-size 2M >/dev/null
t_is "$(cat $HP2M/nr_overcommit_hugepages)" "$orig_over" "put back to $orig_over"
if [ -d /sys/kernel/mm/hugepages/hugepages-1048576kB ]; then
	"$HUGEMEM" reserve --overcommit 1G --page-size 1G 2>"$tmp/err"
	t_is $? 1 "no overcommit of 1 GiB pages: the kernel refuses"
	t_like "$(cat "$tmp/err")" "gigantic" "and the message says why"
fi

echo "$orig_nr" >$HP2M/nr_hugepages
t_is "$(t_pool)" "$before" "pool counts as before (nr free resv surplus)"
t_done
