#!/bin/sh
# Every command's --json output against its schema in docs/schema/ and the
# rules of docs/json.md (test/tools/json_check.py): one line of valid UTF-8,
# strict JSON, schema_version first, no key the schema does not list, and
# names that are not UTF-8 shown with U+FFFD beside their exact bytes
# (KEY_base64), read back byte for byte.
#
#  1. Fixture trees (no root needed): status on every tree of test/fixtures,
#     with page files named with a stray 0xff byte, an overlong form, an
#     encoded surrogate, a cut sequence, control characters, quotes,
#     backslashes and a real U+FFFD; a root, a mount and its files all under
#     a directory named with 0xff; clear (--dry-run, then for real), reserve,
#     map (test/fixtures/map-two-nodes) and init --no-huge with zones.
#  2. Real hugepages (root, the machine-wide lock, prefix hmjs<pid>, a mount
#     of its own): init --hold, attach, status, map, clear of a page file
#     named with 0xff and of the prefix's files after SIGKILL, status while a
#     pool keeper runs with a lease (its "keeper" object), reserve to the
#     pool's own size, reorder, mount, unmount; the pool ends as it began.
#
# Needs python3 and its jsonschema (Debian: python3-jsonschema; `make check`
# installs it as root, tools/deps.sh); skipped, saying so, without them.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || t_skip_all "python3 missing (apt-get install python3)"
python3 -c 'import jsonschema' 2>/dev/null ||
	t_skip_all "python3 cannot import jsonschema (apt-get install python3-jsonschema; make check does as root)"
CHECK="python3 $HM_TOP/test/tools/json_check.py $HM_TOP/docs/schema"
FF=$(printf '\377')
tmp=$(mktemp -d)
hold_pid=""
keeper_pid=""
kc_pid=""
pfx=hmjs$$
mnt=""
real_ran=""
cleanup() {
	[ -n "$hold_pid" ] && kill -9 "$hold_pid" 2>/dev/null
	for p in $kc_pid $keeper_pid; do kill -9 "$p" 2>/dev/null; done
	exec 8>&- 9>&- 2>/dev/null
	wait 2>/dev/null
	if [ -n "$HM_MNT" ]; then rm -f "$HM_MNT/$pfx"*map_* "$HM_MNT/${pfx}$FF"map_*; fi
	if [ -n "$mnt" ]; then
		mountpoint -q "$mnt" && umount "$mnt"
		rmdir "$mnt" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
export HUGEMEM_RUNTIME_DIR="$tmp/run"
mkdir -p "$tmp/run"
used=" "

# valid CMD FILE [DIR] DESCRIPTION: FILE (CMD's output) passes json_check.py
valid() {
	local cmd=$1 file=$2 dir="" err
	shift 2
	[ $# -gt 1 ] && dir=$1 && shift
	used="$used$cmd "
	err=$($CHECK "$cmd" "$file" ${dir:+"$dir"} 2>&1)
	t_ok $? "$1"
	[ -z "$err" ] || t_diag "$err"
}

# Page files named as an attacker or an accident may name them (all matching
# *map_*, so every scan lists them), in DIR.
odd_names() {
	for n in 'ff\377' 'utf8-y\303\277' 'fffd\357\277\275' 'overlong\300\257' \
		'surrogate\355\240\200' 'cut\342\202' 'c0\001\n\t' 'c1\302\205' 'del\177' \
		'quote"back\\' 'above\364\220\200\200' 'latin1\351t\351'; do
		: >"$1/$(printf "${n}map_0")"
	done
}

# ---------------------------------------------------------------- 1. fixtures
for fx in "$FIXTURES"/*/; do
	name=$(basename "$fx")
	root=$tmp/fx/$name
	mkdir -p "$tmp/fx"
	cp -r "$fx" "$root"
	[ -d "$root/dev/hugepages" ] && odd_names "$root/dev/hugepages"
	HUGEMEM_ROOT=$root "$HUGEMEM" status --json >"$tmp/$name.json" 2>"$tmp/err"
	rc=$?
	if [ $rc = 1 ] || [ $rc = 2 ]; then # no object: the tree cannot be read
		t_is "$(wc -c <"$tmp/$name.json")" 0 "status on $name: exit $rc, nothing on stdout"
		continue
	fi
	valid status "$tmp/$name.json" "status on fixture $name (exit $rc)"
done

# Root, mount and files under directories named with 0xff: every path's twin.
root=$tmp/r$FF/root
mkdir -p "$tmp/r$FF"
cp -r "$FIXTURES/two-sizes" "$root"
mv "$root/mnt/huge1g" "$root/mnt/huge${FF}1g"
sed -i "s|/mnt/huge1g|/mnt/huge${FF}1g|" "$root/proc/self/mountinfo"
odd_names "$root/mnt/huge${FF}1g"
export HUGEMEM_ROOT="$root"
"$HUGEMEM" status --json >"$tmp/ff.json"
valid status "$tmp/ff.json" "status with root and a mount named with 0xff"
python3 - "$tmp/ff.json" "$root" <<'EOF'
import base64, json, os, sys
s = json.load(open(sys.argv[1]))
root = os.fsencode(sys.argv[2])
assert base64.b64decode(s["root_base64"]) == root, s["root"]
m = [m for m in s["mounts"] if "path_base64" in m]
assert [base64.b64decode(x["path_base64"]) for x in m] == [b"/mnt/huge\xff1g"], s["mounts"]
assert "\ufffd" in s["pools"][1]["mount"] and "mount_base64" in s["pools"][1], s["pools"][1]
assert all("dir_base64" in g for g in s["page_files"]), s["page_files"]
EOF
t_ok $? "status: root_base64, the mount's path_base64, pools' mount_base64, page_files' dir_base64"
"$HUGEMEM" clear --dry-run --json >"$tmp/c.json"
valid clear "$tmp/c.json" "$root/mnt/huge${FF}1g" "clear --dry-run there: every name read back exactly"
unset HUGEMEM_ROOT

# clear, reserve and map on copies of the trees.
root=$tmp/fx/two-sizes
: >"$root/dev/hugepages/rtemap_0" # DPDK's prefix: proved, stale, removed
HUGEMEM_ROOT=$root "$HUGEMEM" clear --dry-run --json >"$tmp/c.json"
valid clear "$tmp/c.json" "$root/dev/hugepages" "clear --dry-run on a fixture: every name read back exactly"
HUGEMEM_ROOT=$root "$HUGEMEM" clear --json >"$tmp/c.json"
valid clear "$tmp/c.json" "clear on a fixture"
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert [r["path"].rsplit("/", 1)[1] for r in c["removed"]] == ["rtemap_0"] and not c["dry_run"], c
assert len(c["not_proved"]) == 12, c["not_proved"]' "$tmp/c.json"
t_ok $? "clear removed rtemap_0 and left the 12 odd names, not proved"
HUGEMEM_ROOT=$root "$HUGEMEM" reserve 16M --page-size 2M --json >"$tmp/r.json"
valid reserve "$tmp/r.json" "reserve on a fixture"
HUGEMEM_ROOT=$root "$HUGEMEM" reserve 32M --overcommit 64M --dry-run --json >"$tmp/r.json"
valid reserve "$tmp/r.json" "reserve --overcommit --dry-run on a fixture"
"$HUGEMEM" mount "$tmp/mnt$FF" --size 64M --nr-inodes 10 --mode 1777 --dry-run --json >"$tmp/mo.json"
valid mount "$tmp/mo.json" "mount --dry-run with limits, at a directory named with 0xff"
HUGEMEM_ROOT=$root "$HUGEMEM" setup 4G --page-size 1G --node 0 --mount "$tmp/h1$FF" --persist \
	--dry-run --json >"$tmp/su.json"
valid setup "$tmp/su.json" "setup --persist --dry-run on a fixture (1 GiB, a new mount named with 0xff)"
HUGEMEM_ROOT=$root "$HUGEMEM" setup 4G --page-size 2M --persist --json >"$tmp/su.json"
valid setup "$tmp/su.json" "setup --persist on a fixture"
HUGEMEM_ROOT=$root "$HUGEMEM" setup --from-config --json >"$tmp/su.json"
valid setup "$tmp/su.json" "setup --from-config on a fixture"
printf 'size=1G page-size=2M\nsize=1G page-size=4M\n' >"$root/etc/hugemem/setup.conf"
HUGEMEM_ROOT=$root "$HUGEMEM" setup --from-config --json >"$tmp/su.json" 2>/dev/null
t_is $? 1 "setup --from-config with a set-up that fails: exit 1"
valid setup "$tmp/su.json" "and its object, the failure in error"
root=$tmp/fx/map-two-nodes
python3 "$HM_TOP/test/tools/kpageflags.py" "$root"
HUGEMEM_ROOT=$root "$HUGEMEM" map --json >"$tmp/m.json"
valid map "$tmp/m.json" "map on fixture map-two-nodes"
HUGEMEM_ROOT=$root "$HUGEMEM" status --json >"$tmp/s.json"
valid status "$tmp/s.json" "status with a pool map (map-two-nodes)"
"$HUGEMEM" init --no-huge -m 8 --zone tiny:4K --zone rx:1M:contig --json --file-prefix "$pfx" \
	>"$tmp/i.json"
valid init "$tmp/i.json" "init --no-huge, with two zones"

# ---------------------------------------------------------------- 2. real
real() { # real CMD NAME ARGS...: run hugemem CMD ARGS --json, check it as NAME
	local cmd=$1 name=$2 rc
	shift 2
	"$HUGEMEM" "$cmd" "$@" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
	rc=$?
	[ "$cmd" = status ] && [ $rc -ge 3 ] && rc=0 # a verdict, with its object
	t_is $rc 0 "real $cmd $*: exits 0"
	[ -s "$tmp/$name.err" ] && t_diag "$(cat "$tmp/$name.err")"
	valid "$cmd" "$tmp/$name.json" "real $cmd $*: valid"
}
if ! t_have_hugepages 8; then
	t_skip_real "$t_why"
else
	real_ran=1
	before=$(t_pool)
	odd="$HM_MNT/${pfx}${FF}map_0"
	: >"$odd"
	mkfifo "$tmp/in"
	"$HUGEMEM" init -m 8 --zone rx:1M:contig --json --hold --file-prefix "$pfx" --huge-dir "$HM_MNT" \
		<"$tmp/in" >"$tmp/init.json" 2>"$tmp/init.err" &
	hold_pid=$!
	exec 8>"$tmp/in"
	for _ in $(seq 200); do [ -s "$tmp/init.json" ] && break; sleep 0.05; done
	valid init "$tmp/init.json" "real init --hold: valid"
	real attach attach --file-prefix "$pfx"
	real status status
	real map map
	real clear clear --dry-run
	python3 -c '
import base64, json, os, sys
c = json.load(open(sys.argv[1]))
want = os.fsencode(sys.argv[2])
got = [base64.b64decode(p["path_base64"]) for p in c["not_proved"] if "path_base64" in p]
assert want in got, (want, c["not_proved"])' "$tmp/clear.json" "$odd"
	t_ok $? "real clear --dry-run: the file named with 0xff read back exactly"
	kill -9 "$hold_pid"
	wait "$hold_pid" 2>/dev/null
	hold_pid=""
	exec 8>&-
	real clear clear-prefix --file-prefix "$pfx"
	python3 -c '
import json, sys
assert len(json.load(open(sys.argv[1]))["removed"]) == 4' "$tmp/clear-prefix.json"
	t_ok $? "real clear after SIGKILL: the prefix's 4 files removed"
	rm -f "$odd"
	KC=$HM_BUILD/test-tools/keeper_client
	if [ -x "$KC" ]; then # the keeper of $HUGEMEM_RUNTIME_DIR, as status finds it
		"$HUGEMEM" keeper --keep 4M --chunk 2M >"$tmp/keeper.out" 2>&1 &
		keeper_pid=$!
		for _ in $(seq 100); do grep -qs ready "$tmp/keeper.out" && break; sleep 0.1; done
		mkfifo "$tmp/kin"
		"$KC" "$tmp/run-keeper" use 2 5a hold <"$tmp/kin" >"$tmp/kc.out" &
		kc_pid=$!
		exec 9>"$tmp/kin"
		for _ in $(seq 100); do grep -qs ready "$tmp/kc.out" && break; sleep 0.1; done
		real status status-keeper
		python3 -c '
import json, sys
k = json.load(open(sys.argv[1]))["keeper"]
assert k["pid"] == int(sys.argv[2]) and k["keep_bytes"] == 4 << 20, k
assert k["leases"] == [{"pid": int(sys.argv[3]), "uid": 0, "bytes": 2 << 20}], k["leases"]
assert k["total_leases"] == 1, k
assert sum(n["leased_pages"] for n in k["nodes"]) == 1, k["nodes"]
assert sum(n["free_bytes"] + n["leased_bytes"] + n["pending_bytes"] for n in k["nodes"]) == 4 << 20
' "$tmp/status-keeper.json" "$keeper_pid" "$kc_pid"
		t_ok $? "real status with a keeper: its object names the keeper, the lease (pid, uid, bytes) and per-node pages"
		exec 9>&-
		wait "$kc_pid"
		kc_pid=""
		kill -TERM "$keeper_pid"
		wait "$keeper_pid"
		keeper_pid=""
		real status status-after
		python3 -c '
import json, sys
assert "keeper" not in json.load(open(sys.argv[1]))' "$tmp/status-after.json"
		t_ok $? "real status once the keeper stopped: no keeper object"
	else
		t_skip "test tool $KC missing (make tests): status with a keeper not checked"
	fi
	nr=$(cat $HP2M/nr_hugepages)
	real reserve reserve $((nr * 2))M --page-size 2M
	real reorder reorder
	real setup setup $((nr * 2))M --page-size 2M
	mnt=$tmp/mnt
	mkdir "$mnt"
	real mount mount "$mnt" --page-size 2M
	real unmount unmount "$mnt"
	t_is "$(t_pool)" "$before" "real: pool counts as before (nr free resv surplus)"
fi

# Every schema file was used (the real-only commands when the real part ran).
for s in "$HM_TOP"/docs/schema/*.json; do
	n=$(basename "$s" .json)
	case "$used" in *" $n "*) continue ;; esac
	case $n in attach | reorder | unmount) [ -z "$real_ran" ] && continue ;; esac
	t_ok 1 "docs/schema/$n.json: no case checks it"
done
t_done
