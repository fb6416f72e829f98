#!/bin/sh
# hugemem setup, reserve and mount as an administrator drives them (issue 19, items 4
# and 5), on a copy of a fixture tree (HUGEMEM_ROOT): no root needed, nothing real is
# touched (the fixture has a mount for each size, so no set-up mounts; mounts are dry
# runs on directories under a temporary directory).
#  - setup --dry-run prints every action and changes no count, creates no directory;
#  - setup grows only; --persist writes /etc/hugemem/setup.conf (line replaced per page
#    size and node) and, for 1 GiB pages, the GRUB snippet with the kernel command line;
#    --from-config applies the file, refuses one others may write;
#  - 'reserve 0' empties the pool, refused while a prefix is live (named, pid), --force
#    passes; reserve --dry-run writes nothing; --overcommit sets nr_overcommit_hugepages;
#  - mount --size/--nr-inodes/--mode make hugetlbfs options; bad values are usage errors;
#  - status shows sizes beside page counts, and the overcommit.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/hmsetup-cli-XXXXXX)
holder=""
cleanup() {
	[ -n "$holder" ] && kill -9 "$holder" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$FIXTURES/two-sizes" "$tmp/root"
export HUGEMEM_ROOT="$tmp/root" HUGEMEM_RUNTIME_DIR="$tmp/run"
R=$tmp/root
H2=$R/sys/kernel/mm/hugepages/hugepages-2048kB
H1=$R/sys/kernel/mm/hugepages/hugepages-1048576kB
N1=$R/sys/devices/system/node/node0/hugepages/hugepages-1048576kB
counts() { cat "$H2/nr_hugepages" "$H1/nr_hugepages" "$N1/nr_hugepages" "$H2/nr_overcommit_hugepages" | tr '\n' ' '; }
run() { # run ARGS...: hugemem ARGS, stdout in $out, stderr in $err, status in $rc
	"$HUGEMEM" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# ---------------------------------------------------------------- setup --dry-run
before=$(counts)
run setup 4G --page-size 2M --dry-run
t_is "$rc" 0 "setup 4G --dry-run exits 0"
t_like "$out" "dry run: nothing is changed" "it says it is a dry run"
t_like "$out" "2 MiB pages, system-wide: 2048 asked (4 GiB), the pool has 1024" "the pool now and asked"
t_like "$out" "would grow the pool to the size asked" "the reserve it would make"
t_like "$out" "/dev/hugepages serves 2 MiB pages: no mount to make" "the mount that serves the size"
run setup 4G --page-size 2M --mount "$tmp/mnt/h2" --dry-run
t_like "$out" "would mount hugetlbfs at $tmp/mnt/h2 (making the directory) with options pagesize=2097152,mode=0755" \
	"the mount it would make, and its options"
run setup 8G --page-size 1G --node 0 --mount "$tmp/mnt/h1" --mode 1777 --group 0 --dry-run --persist
t_is "$rc" 0 "1 GiB on node 0, --persist --dry-run"
t_like "$out" "1 GiB pages, on node 0: 8 asked (8 GiB), the pool has 4" "node 0's pool"
t_like "$out" "options pagesize=1073741824,gid=0,mode=1777" "owner and mode in the options"
t_like "$out" "default_hugepagesz=1G hugepagesz=1G hugepages=0:8" "the kernel command line, per node"
t_like "$out" "would record in $R/etc/hugemem/setup.conf: size=8G page-size=1G node=0 mount=$tmp/mnt/h1 gid=0 mode=1777" \
	"the line it would record"
t_like "$out" "would write $R/etc/default/grub.d/hugemem.cfg" "and the GRUB snippet"
t_is "$(counts)" "$before" "no count changed by any dry run"
[ ! -e "$tmp/mnt" ] && [ ! -e "$R/etc" ]
t_ok $? "no directory made, no file written"
run setup 1G --page-size 2M --dry-run --json
python3 -c '
import json, sys
o = json.loads(sys.argv[1]); s = o["setups"][0]
assert o["dry_run"] and o["persisted"] is None and o["config"] is None, o
assert (s["asked_pages"], s["before_pages"], s["pages"], s["grow"]) == (512, 1024, 1024, False), s
assert s["mount"] == "/dev/hugepages" and not s["new_mount"] and s["ordered"] is None, s' "$out"
t_ok $? "setup --dry-run --json: the plan, as keys"

# ---------------------------------------------------------------- setup, --persist
run setup 4G --page-size 2M
t_is "$rc" 0 "setup 4G of 2 MiB"
t_is "$(cat "$H2/nr_hugepages")" 2048 "the pool grew to 2048"
t_like "$out" "the pool holds 2048 pages (4 GiB)" "and says so"
t_like "$out" "not ordered" "a fixture's pool is not the kernel's: not ordered, said"
run setup 1G --page-size 2M
t_is "$(cat "$H2/nr_hugepages")" 2048 "a smaller set-up takes nothing back"
run setup 0
t_is "$rc" 2 "setup 0 is a usage error"
t_like "$err" "hugemem reserve 0" "pointing at the way to empty the pool"
run setup
t_is "$rc" 2 "setup without a size"
run setup 1G --page-size 2M --persist
t_is "$rc" 0 "setup --persist"
t_is "$(grep -v '^#' "$R/etc/hugemem/setup.conf")" "size=1G page-size=2M" "setup.conf holds its line"
t_like "$(head -1 "$R/etc/hugemem/setup.conf")" "# hugemem set-up" "after a header that says what it is"
run setup 6G --page-size 1G --node 0 --persist
t_is "$rc" 0 "setup 6G of 1 GiB on node 0 --persist"
t_is "$(grep -v '^#' "$R/etc/hugemem/setup.conf")" "size=1G page-size=2M
size=6G page-size=1G node=0" "a second page size: a second line"
t_is "$(grep -v '^#' "$R/etc/default/grub.d/hugemem.cfg")" \
	'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT default_hugepagesz=1G hugepagesz=1G hugepages=0:6"' \
	"the GRUB snippet adds the kernel command line"
t_like "$out" "run update-grub" "the output says update-grub must run"
t_is "$(cat "$N1/nr_hugepages")" 6 "node 0's 1 GiB pool grew to 6"
run setup 2G --page-size 2M --persist --mount /dev/hugepages
t_is "$(grep -v '^#' "$R/etc/hugemem/setup.conf")" "size=2G page-size=2M mount=/dev/hugepages
size=6G page-size=1G node=0" "the 2 MiB line replaced in place"

# ---------------------------------------------------------------- --from-config
echo 1024 >"$H2/nr_hugepages"
echo 2 >"$N1/nr_hugepages"
run setup --from-config --dry-run
t_is "$rc" 0 "--from-config --dry-run"
t_like "$out" "2 MiB pages, system-wide: 1024 asked (2 GiB), the pool has 1024" "line 1"
t_like "$out" "1 GiB pages, on node 0: 6 asked (6 GiB), the pool has 2" "line 2"
t_is "$(cat "$N1/nr_hugepages")" 2 "nothing changed"
run setup --from-config --json
t_is "$rc" 0 "--from-config applies the file"
t_is "$(cat "$N1/nr_hugepages")" 6 "node 0 grown again to 6"
t_like "$out" "\"config\":\"$R/etc/hugemem/setup.conf\"" "the JSON names the file"
run setup --from-config 1G
t_is "$rc" 2 "--from-config with a size: usage error"
run setup --from-config --persist
t_is "$rc" 2 "--from-config with --persist: usage error"
chmod 0666 "$R/etc/hugemem/setup.conf"
run setup --from-config
t_is "$rc" 1 "a set-up file others may write is refused"
t_like "$err" "chmod go-w" "saying how to fix it"
chmod 0644 "$R/etc/hugemem/setup.conf"
printf 'size=1G page-size=2M\nsize=1G page-size=3M\nsize=8G page-size=1G node=0\n' \
	>"$R/etc/hugemem/setup.conf"
run setup --from-config
t_is "$rc" 1 "a line that does not parse: exit 1"
t_like "$err" "setup.conf line 2" "naming the line"
mv "$R/etc/hugemem/setup.conf" "$tmp/conf"
run setup --from-config
t_is "$rc" 0 "no set-up file: nothing to do, exit 0"
t_like "$out" "no set-up recorded" "said"

# ---------------------------------------------------------------- reserve 0, --dry-run, --overcommit
"$HM_BUILD/test-tools/hold_prefix" hmsetup1 >"$tmp/ready" &
holder=$!
for _ in $(seq 100); do grep -q ready "$tmp/ready" && break; sleep 0.05; done
t_like "$(cat "$tmp/ready")" ready "a primary holds prefix hmsetup1"
echo 1024 >"$H2/nr_hugepages"
run reserve 0 --page-size 2M
t_is "$rc" 1 "reserve 0 while hmsetup1 is live: refused"
t_like "$err" "emptying the pool of 2 MiB pages while live prefix 'hmsetup1' (pid $holder)" \
	"the refusal names the prefix and its pid"
t_like "$err" "--force" "and the way past it"
t_is "$(cat "$H2/nr_hugepages")" 1024 "the pool untouched"
run setup 8G --page-size 1G --node 0
t_is "$rc" 1 "setup growing 1 GiB pages while a prefix is live: refused"
t_like "$err" "hmsetup1" "naming it"
run reserve 0 --page-size 2M --force
t_is "$rc" 0 "--force empties it anyway"
t_like "$err" "warning" "with a warning"
t_is "$(cat "$H2/nr_hugepages")" 0 "the pool is empty"
kill -9 "$holder"
wait "$holder" 2>/dev/null
holder=""
run reserve 2G --page-size 2M --dry-run
t_is "$rc" 0 "reserve --dry-run"
t_like "$out" "would set the 2 MiB pool from 0 to 1024 pages (2 GiB)" "says what it would write"
t_is "$(cat "$H2/nr_hugepages")" 0 "and writes nothing"
run reserve 0 --page-size 2M
t_is "$rc" 0 "no live prefix: reserve 0 passes"
run reserve --overcommit 64M --page-size 2M
t_is "$rc" 0 "reserve --overcommit without SIZE"
t_is "$(cat "$H2/nr_overcommit_hugepages")" 32 "nr_overcommit_hugepages is 32"
t_like "$out" "not reserved" "the output says what overcommit means"
run reserve --overcommit 64M --node 0
t_is "$rc" 2 "--overcommit with --node: usage error (it is system-wide)"
run reserve 16M --overcommit 0 --json --dry-run
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["dry_run"] and o["asked_pages"] == 8 and o["pages"] == 0, o
assert o["asked_overcommit_pages"] == 0 and o["overcommit_pages"] == 32, o' "$out"
t_ok $? "reserve --json --dry-run: asked and found, overcommit too"
t_is "$(counts | cut -d' ' -f1,4)" "0 32" "the dry run changed nothing"

# ---------------------------------------------------------------- mount options
run mount "$tmp/m1" --page-size 2M --size 64M --nr-inodes 10 --mode 1777 --dry-run
t_is "$rc" 0 "mount --dry-run with limits"
t_is "$out" "would mount hugetlbfs at $tmp/m1 (making the directory) with options pagesize=2097152,size=67108864,nr_inodes=10,mode=1777" \
	"size=, nr_inodes=, mode= in the options"
[ ! -e "$tmp/m1" ]
t_ok $? "no directory made"
run mount "$tmp/m1" --page-size 2M --size 3M --dry-run
t_is "$rc" 1 "a size limit that is not whole pages"
t_like "$err" "multiple of 2 MiB" "said"
for bad in "--mode 8" "--mode 17777" "--mode rwx" "--nr-inodes 0" "--nr-inodes -1" "--size 0"; do
	# shellcheck disable=SC2086 # the option and its value
	run mount "$tmp/m1" $bad --dry-run
	t_is "$rc" 2 "mount $bad: usage error"
	t_like "$err" "${bad%% *}" "naming $bad"
done

# ---------------------------------------------------------------- status, help
echo 1024 >"$H2/nr_hugepages"
run status --page-size 2M
t_like "$out" "total 1024 (2 GiB)  free 960 (1.9 GiB)  reserved 10 (20 MiB)  surplus 0  overcommit 32 (64 MiB)" \
	"status: sizes beside page counts, and the overcommit"
t_like "$("$HUGEMEM" --help)" "'reserve 0' empties it" "--help says how to empty the pool"
t_like "$("$HUGEMEM" --help)" "the pool stays as it is" "and that clear is not it"
t_done
