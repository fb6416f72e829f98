#!/bin/sh
# reserve / mount / unmount round trip on the real pool; the pool is put back.
. "$(dirname "$0")/lib.sh"
t_require_hugepages 4
tmp=$(mktemp -d)
mnt=/tmp/hmtest-mnt-$$
orig_nr=$(cat $HP2M/nr_hugepages)
cleanup() {
	umount "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	echo "$orig_nr" >$HP2M/nr_hugepages
	rm -rf "$tmp"
}
trap cleanup EXIT

want=$((orig_nr + 4))
out=$("$HUGEMEM" reserve $((want * 2))M --page-size 2M --json)
t_is $? 0 "reserve $((want * 2))M exits 0"
t_like "$out" "\"pages\":$want" "reserve reports $want pages"
t_is "$(cat $HP2M/nr_hugepages)" "$want" "nr_hugepages is $want"
out=$("$HUGEMEM" reserve 3M 2>"$tmp/err")
t_like "$(cat "$tmp/err")" "rounded up to 2 pages" "a size that is not a page multiple is rounded up, said"
"$HUGEMEM" reserve $((orig_nr * 2))M >/dev/null
t_is "$(cat $HP2M/nr_hugepages)" "$orig_nr" "reserve puts the pool back to $orig_nr"

out=$("$HUGEMEM" mount "$mnt" --page-size 2M)
t_is $? 0 "mount $mnt exits 0"
line=$(grep " $mnt hugetlbfs " /proc/mounts)
t_like "$line" "pagesize=2M" "the mount serves 2 MiB pages"
"$HUGEMEM" mount "$mnt" --page-size 2M 2>"$tmp/err"
t_is $? 1 "mounting twice fails"
t_like "$(cat "$tmp/err")" "$mnt" "the error names the directory"
"$HUGEMEM" status --json --huge-dir "$mnt" >"$tmp/s.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = [p for p in s["pools"] if p["page_size_bytes"] == 2097152][0]
assert p["mount"] == sys.argv[2], p["mount"]' "$tmp/s.json" "$mnt"
t_ok $? "status --huge-dir picks that mount"
out=$("$HUGEMEM" unmount "$mnt")
t_is $? 0 "unmount exits 0"
grep -q " $mnt hugetlbfs " /proc/mounts
t_is $? 1 "the mount is gone"
"$HUGEMEM" mount "$mnt" --page-size 2M --user nobody --group 65534 >/dev/null
t_is $? 0 "mount --user nobody --group 65534"
t_is "$(stat -c '%u:%g' "$mnt")" "65534:65534" "the mount belongs to nobody"
"$HUGEMEM" unmount "$mnt" >/dev/null
t_is $? 0 "and unmounts"
"$HUGEMEM" mount "$mnt" --user no-such-user-hm 2>"$tmp/err"
t_is $? 2 "an unknown user is a usage error"
t_like "$(cat "$tmp/err")" "no-such-user-hm" "naming the user"
"$HUGEMEM" unmount "$tmp" 2>"$tmp/err"
t_is $? 1 "unmounting a plain directory fails"
t_like "$(cat "$tmp/err")" "$tmp" "the error names it"
t_is "$(cat $HP2M/nr_hugepages)" "$orig_nr" "pool size as found"

# reorder: afterwards the first pages handed out are the longest run, ascending
out=$("$HUGEMEM" reorder --json)
t_is $? 0 "reorder exits 0"
longest=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["longest_pages"])' "$out")
t_ok $((longest < 1)) "reorder reports the longest run ($longest pages)"
t_like "$("$HUGEMEM" reorder)" "pages of 2 MiB" "reorder names the page size it ordered"
ask=$((longest < 16 ? longest : 16))
"$HUGEMEM" init -m $((ask * 2))M --json --in-memory --file-prefix hmt$$ >"$tmp/o.json"
python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l["segments"]) == 1, l["segments"]
assert l["mapped_pages"] == int(sys.argv[2]), l["mapped_pages"]' "$tmp/o.json" "$ask"
t_ok $? "after reorder, init -m $((ask * 2))M gets one piece without mapping more"
out=$("$HUGEMEM" reserve $(((orig_nr + 2) * 2))M --page-size 2M)
t_like "$out" "ordered" "growing the pool orders it"
"$HUGEMEM" reserve $((orig_nr * 2))M >/dev/null
t_done
