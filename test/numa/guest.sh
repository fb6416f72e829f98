#!/bin/busybox sh
# guest.sh — hugemem's NUMA cases, run as root inside the two-node qemu guest
# (init.sh starts it; its output, TAP, goes to the host through ttyS1).
#
# The guest: nodes 0 and 1, one CPU each; the kernel command line reserved
# $hm_gb 1 GiB pages on each node (hugepagesz=1G hugepages=0:N,1:N). The
# script reserves 64 pages of 2 MiB per node with `hugemem reserve --node`,
# then checks, each time against the kernel rather than against hugemem:
#
#   status     both nodes' pools, budgets and pool-map strips, both sizes, in
#              JSON and text; `hugemem map` draws one strip per node;
#   placement  init --socket-mem 32,32 gets 16 pages on each node: per-node
#              sysfs counts, /proc/PID/numa_maps, and every page's node
#              (move_pages) and IOVA (pagemap) from another process
#              (numa_probe outside); the same with a single file and with a
#              memfd per node; --socket-mem 0,64 takes nothing on node 0;
#   secondary  hugemem attach --verify and hm_attach (numa_probe attach) see
#              the same segments, nodes and IOVAs, for each backing;
#   split      -m alone splits in proportion to each node's free pages
#              (largest remainder); --contig best over both nodes' pools;
#              reorder --node 1 touches node 1 only;
#   refusals   more than a node has fails naming the node and what it has,
#              before a page is touched; a node emptied while init runs
#              (numa_probe race) is an error, never SIGBUS, and every page
#              goes back, for page files, a single file and memfds;
#   growth     --socket-mem 4,4 --socket-max-mem 32,16 (page files, memfds,
#              single files) and --max-mem 24M (numa_probe grow): a full
#              heap grows on the node asked (move_pages, per-node counts),
#              each node up to exactly its cap, refused past it naming the
#              option and the node; hm_mem_trim gives back per node;
#   keeper     hugemem keeper --socket-keep 16M,32M holds 8 and 16 pages on
#              nodes 0 and 1 (sysfs), refuses a node that lacks them by name;
#              init --socket-mem 8,16 --keeper is served from them: 4 and 8
#              pages on the nodes asked (segments, numa_maps, move_pages and
#              pagemap from outside), the pools not moving;
#   1 GiB      init --page-size 1G with a memfd (no mount) and with a 1 GiB
#              hugetlbfs mount, both sizes in use at once, a 1 GiB secondary,
#              a node short of 1 GiB pages, and a mount whose size= sets the
#              budget.
#
# After each case the per-node pools must be as before it and no page file
# left. The plan comes last ("1..N"): a guest that dies half-way has none,
# and the host fails the run.
HM=/bin/hugemem
NP=/bin/numa_probe
JF=/test/jflat.awk
T=/tmp/t
GB=${hm_gb:-2}
SMALL=64
MNT2=/mnt/huge2m
MNT1=/mnt/huge1g
MNT1S=/mnt/huge1g-small
KB2=2048
KB1=1048576
n=0
mkdir -p $T

# ------------------------------------------------------------------ TAP

pass() {
	n=$((n + 1))
	echo "ok $n - $*"
}
fail() {
	n=$((n + 1))
	echo "not ok $n - $*"
}
diag() {
	[ -z "$*" ] || echo "$*" | sed 's/^/# /'
}
t_is() { # GOT WANT DESCRIPTION
	local got=$1 want=$2
	shift 2
	if [ "$got" = "$want" ]; then
		pass "$*"
	else
		fail "$*"
		diag "got '$got', want '$want'"
	fi
}
t_like() { # FILE REGEX DESCRIPTION
	local file=$1 re=$2
	shift 2
	if grep -Eq -- "$re" "$file"; then
		pass "$*"
	else
		fail "$*"
		diag "$(cat "$file")"
		diag "(does not match /$re/)"
	fi
}

# ------------------------------------------------------------------ reading

flat() { # FILE.json -> FILE.json.flat
	awk -f $JF "$1" >"$1.flat" || diag "$1 is not JSON: $(head -c 300 "$1")"
}
jget() { # FILE.json KEY
	awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); f = 1; exit }
		END { if (!f) print "(missing)" }' "$1.flat"
}
jv() { # FILE.json KEY... -> the values, one space apart
	local file=$1 out=""
	shift
	for key in "$@"; do
		out="$out${out:+ }$(jget "$file" "$key")"
	done
	echo "$out"
}
pool_of() { # FILE.json PAGE_SIZE -> index in pools[]
	awk -F= -v ps="$2" '/^pools\.[0-9]+\.page_size_bytes=/ && $2 == ps { split($1, a, "."); print a[2] }' \
		"$1.flat"
}
seg_lines() { # FILE.json -> "seg VA IOVA LEN PAGE_SIZE NODE PAGES" per segment
	awk -F= '/^segments\.[0-9]+\.[a-z_]+=/ { split($1, a, "."); v[a[2], a[3]] = $2
			if (a[2] + 1 > m) m = a[2] + 1 }
		END { for (i = 0; i < m; i++) print "seg", v[i, "va"], v[i, "iova"], v[i, "len"],
			v[i, "page_size_bytes"], v[i, "node"], v[i, "pages"] }' "$1.flat"
}
seg_pages() { # FILE.json NODE -> pages its segments put on NODE
	seg_lines "$1" | awk -v node="$2" '$6 == node { t += $7 } END { print t + 0 }'
}
node_hp() { # NODE KB FIELD
	cat /sys/devices/system/node/node$1/hugepages/hugepages-$2kB/$3
}
frees() { # KB -> "FREE0 FREE1"
	echo "$(node_hp 0 $1 free_hugepages) $(node_hp 1 $1 free_hugepages)"
}
pools() { # every per-node count of both sizes, to compare before and after
	local kb nd
	for kb in $KB2 $KB1; do
		for nd in 0 1; do
			printf '%s ' "$kb/$nd:$(node_hp $nd $kb nr_hugepages)/$(node_hp $nd $kb free_hugepages)"
		done
	done
	printf 'files:%s\n' "$(find $MNT2 $MNT1 -name '*map_*' 2>/dev/null | wc -l)"
}
held_maps() { # NAME -> "N0 N1": hugepages numa_maps counts on each node in held NAME's window
	local pid base len
	pid=$(cat $T/$1.pid)
	base=$(jget $T/$1.json va_base)
	len=$(jget $T/$1.json va_len_bytes)
	echo "$(maps_pages "$pid" 0 "$base" "$len") $(maps_pages "$pid" 1 "$base" "$len")"
}
maps_pages() { # PID NODE VA_BASE VA_LEN -> hugepages numa_maps counts on NODE in the window
	base=$(($3))
	end=$((base + $4))
	total=0
	while read -r addr rest; do
		a=$((0x$addr))
		[ $a -ge $base ] && [ $a -lt $end ] || continue
		for w in $rest; do
			case $w in N$2=*) total=$((total + ${w#*=})) ;; esac
		done
	done </proc/$1/numa_maps
	echo $total
}

# ------------------------------------------------------------------ running

hold() { # NAME ARGS...: start `hugemem init --json --hold ARGS`, wait for its layout
	name=$1
	shift
	# gone before the child's redirection makes it anew: the loop below must not
	# read a previous primary's layout of the same name
	rm -f $T/$name.json $T/$name.json.flat
	$HM init --json --hold "$@" >$T/$name.json 2>$T/$name.err </dev/null &
	pid=$!
	echo $pid >$T/$name.pid
	i=0
	while [ $i -lt 1500 ]; do
		# whole: ends with "}" and a newline (a JSON over 4 KiB comes in pieces)
		if grep -q '}$' $T/$name.json 2>/dev/null && [ -z "$(tail -c 1 $T/$name.json)" ]; then
			flat $T/$name.json
			pass "hugemem init $* (held, pid $pid)"
			return 0
		fi
		kill -0 $pid 2>/dev/null || break
		usleep 100000
		i=$((i + 1))
	done
	fail "hugemem init $* (held)"
	diag "$(cat $T/$name.err)"
	kill -TERM $pid 2>/dev/null
	wait $pid
	return 1
}
release() { # NAME: end a held primary with SIGTERM
	pid=$(cat $T/$1.pid)
	kill -TERM $pid
	wait $pid
	t_is $? 143 "the held primary $1 ends by SIGTERM (143) once all is released"
}
probe() { # WHAT ARGS...: run numa_probe ARGS, fold its ok/not ok lines into the TAP
	what=$1
	shift
	$NP "$@" >$T/probe.out 2>$T/probe.err
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "$what: ${line#ok - }" ;;
		"not ok - "*) fail "$what: ${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <$T/probe.out
	[ -s $T/probe.err ] && diag "$(cat $T/probe.err)"
	[ $rc -lt 128 ] || fail "$what: numa_probe killed by signal $((rc - 128))"
	[ $rc -ne 2 ] || fail "$what: numa_probe $* refused its arguments"
	grep -E '^(seg|node) ' $T/probe.out >$T/probe.data
	return $rc
}
outside() { # NAME WHAT: check every segment of held primary NAME from another process
	seg_lines $T/$1.json >$T/$1.segs
	while read -r _ va iova len ps node _; do
		probe "$2: outside" outside "$(cat $T/$1.pid)" $va $iova $len $ps $node
	done <$T/$1.segs
}
node_of_probe() { # NODE -> pages numa_probe reported on NODE
	awk -v node="$1" '$1 == "node" && $2 == node { print $3; f = 1 } END { if (!f) print 0 }' \
		$T/probe.data
}
map_strips() { # `hugemem map` while primary "a" holds 16 pages on each node: two strips
	local rc
	COLUMNS=80 $HM map >$T/map.txt 2>&1
	rc=$?
	t_is $rc 0 "hugemem map exits 0"
	diag "$(cat $T/map.txt)"
	t_like $T/map.txt "^node 0: " "hugemem map: a strip for node 0"
	t_like $T/map.txt "^node 1: " "hugemem map: a strip for node 1"
	$HM map --json >$T/map.json 2>$T/map.err
	t_is $? 0 "hugemem map --json exits 0"
	flat $T/map.json
	local m=$T/map.json
	t_is "$(jv $m nodes# nodes.0.node nodes.1.node)" "2 0 1" \
		"hugemem map --json: two nodes, 0 and 1"
	t_is "$(jv $m nodes.0.prefix_pages nodes.1.prefix_pages)" "16 16" \
		"hugemem map --json: the live prefix's 16 pages on each node"
}
secondaries() { # NAME PREFIX WHAT: hugemem attach and hm_attach beside held primary NAME
	local f=$T/$1.json
	$HM attach --file-prefix $2 --json --verify >$T/sec.json 2>$T/sec.err
	t_is $? 0 "$3: hugemem attach --verify"
	diag "$(cat $T/sec.err)"
	flat $T/sec.json
	t_is "$(jget $T/sec.json process)" secondary "$3: hugemem attach says secondary"
	t_is "$(seg_lines $T/sec.json)" "$(seg_lines $f)" \
		"$3: hugemem attach sees the same segments, nodes and IOVAs"
	probe "$3: hm_attach" attach --file-prefix $2 --verify
	t_is "$(grep '^seg ' $T/probe.data)" "$(seg_lines $f)" \
		"$3: hm_attach (numa_probe) sees the same segments, nodes and IOVAs"
	t_is "$(node_of_probe 0) $(node_of_probe 1)" "$(seg_pages $f 0) $(seg_pages $f 1)" \
		"$3: hm_attach: as many pages on each node as the primary"
}
section() { # NAME: a diagnostic with the guest's uptime, to see where the time goes
	echo "# == $* (guest uptime $(cut -d' ' -f1 /proc/uptime) s)"
}
fails_cleanly() { # RC WHAT: a refusal is exit 1 with a message, never a signal (SIGBUS: 135)
	t_is "$1" 1 "$2: exit 1, not killed by a signal"
}

# ------------------------------------------------------------------ environment

section "environment"

echo "# guest kernel $(uname -r); 1 GiB pages per node from the command line: $GB"
t_is "$(ls -d /sys/devices/system/node/node* | sed 's|.*/||' | tr '\n' ' ')" "node0 node1 " \
	"the guest has two NUMA nodes"
t_is "$(node_hp 0 $KB1 nr_hugepages) $(node_hp 1 $KB1 nr_hugepages)" "$GB $GB" \
	"the kernel command line reserved $GB 1 GiB pages on each node"
for nd in 0 1; do
	$HM reserve $((SMALL * 2))M --node $nd --json >$T/res$nd.json 2>$T/res$nd.err
	t_is $? 0 "hugemem reserve $((SMALL * 2))M --node $nd"
	diag "$(cat $T/res$nd.err)"
done
t_is "$(node_hp 0 $KB2 nr_hugepages) $(node_hp 1 $KB2 nr_hugepages)" "$SMALL $SMALL" \
	"each node got its $SMALL pages of 2 MiB, and only its own"
$HM mount $MNT2 --page-size 2M >$T/mnt.out 2>&1
t_is $? 0 "hugemem mount $MNT2 --page-size 2M"

# ------------------------------------------------------------------ status

section "status"

$HM status --json >$T/st.json 2>$T/st.err
t_is $? 0 "status --json exits 0 (2 MiB pages usable)"
flat $T/st.json
f=$T/st.json
p=$(pool_of $f 2097152)
g=$(pool_of $f 1073741824)
t_is "$(jv $f nodes# nodes.0 nodes.1)" "2 0 1" "status: nodes [0, 1]"
for nd in 0 1; do
	t_is "$(jv $f pools.$p.nodes.$nd.node pools.$p.nodes.$nd.total_pages)" \
		"$nd $SMALL" "status: 2 MiB pool, node $nd has $SMALL pages"
	t_is "$(jv $f pools.$p.nodes.$nd.free_pages pools.$p.nodes.$nd.budget_pages)" \
		"$SMALL $SMALL" "status: 2 MiB pool, node $nd: all free, budget $SMALL"
	t_is "$(jv $f pools.$g.nodes.$nd.total_pages pools.$g.nodes.$nd.budget_pages)" \
		"$GB $GB" "status: 1 GiB pool, node $nd: $GB pages, budget $GB"
done
t_is "$(jv $f pools.$p.budget_pages pools.$p.budget_cap)" "$((SMALL * 2)) pool" \
	"status: 2 MiB budget is both nodes' pages, set by the pool"
t_is "$(jv $f pools.$g.mount pools.$g.verdict)" "null no-mount" \
	"status: 1 GiB pool has no mount yet (verdict no-mount)"
for sz in $p $g; do
	t_is "$(jget $f pools.$sz.pool_map.nodes#)" 2 \
		"pool map of $(jget $f pools.$sz.page_size_bytes)-byte pages: two strips"
	want=$SMALL
	[ $sz = $g ] && want=$GB
	for nd in 0 1; do
		pm=pools.$sz.pool_map.nodes.$nd
		t_is "$(jv $f $pm.node $pm.total_pages $pm.free_pages)" \
			"$nd $want $want" "pool map strip $nd: node $nd, $want pages, all free"
	done
done
$HM status >$T/st.txt 2>&1
for nd in 0 1; do
	t_like $T/st.txt "node $nd +total $SMALL .*free $SMALL .*budget ~$SMALL" \
		"status text: node $nd's pool and budget"
	t_like $T/st.txt "free runs +node $nd: $SMALL free pages" \
		"status text: node $nd's strip of the pool map"
done
$HM status --page-size 1G >$T/st1g.txt 2>&1
t_is $? 3 "status --page-size 1G exits 3: 1 GiB pages but no mount for them"

# ------------------------------------------------------------------ placement

section "placement"

before=$(pools)
if hold a --socket-mem 32,32; then
	f=$T/a.json
	pid=$(cat $T/a.pid)
	t_is "$(jv $f iova_mode total_bytes)" "pa 67108864" \
		"--socket-mem 32,32: 64 MiB, IOVA = physical address"
	t_is "$(seg_pages $f 0) $(seg_pages $f 1)" "16 16" \
		"--socket-mem 32,32: its segments hold 16 pages on each node"
	t_is "$(jget $f segments#)" 2 \
		"--socket-mem 32,32: one segment per node (reserve left each node's pool in order)"
	t_is "$(frees $KB2)" "$((SMALL - 16)) $((SMALL - 16))" \
		"--socket-mem 32,32: sysfs: 16 pages gone from each node's pool"
	t_is "$(held_maps a)" \
		"16 16" "--socket-mem 32,32: numa_maps of the primary: 16 pages on each node"
	outside a "--socket-mem 32,32"
	$HM status --json >$T/st2.json 2>/dev/null
	flat $T/st2.json
	pm=pools.$p.pool_map.nodes
	t_is "$(jv $T/st2.json $pm.0.free_pages $pm.1.free_pages)" \
		"$((SMALL - 16)) $((SMALL - 16))" "pool map while it holds: 16 pages taken on each strip"
	t_is "$(jv $T/st2.json live_prefixes.0.prefix live_prefixes.0.pid)" \
		"hm $pid" "status names the live primary"
	map_strips

	secondaries a hm "page files"
	release a
fi
t_is "$(pools)" "$before" "after --socket-mem 32,32: every page back, no file left"

# the other backings keep one object per node (a file, a memfd passed over the socket)
for backing in --single-file-segments --in-memory; do
	before=$(pools)
	if hold c --socket-mem 32,32 $backing --file-prefix c; then
		t_is "$(seg_pages $T/c.json 0) $(seg_pages $T/c.json 1)" "16 16" \
			"$backing: 16 pages on each node"
		t_is "$(held_maps c)" "16 16" "$backing: numa_maps agrees"
		outside c "$backing"
		secondaries c c "$backing"
		release c
	fi
	t_is "$(pools)" "$before" "after $backing: every page back, no file left"
done

before=$(pools)
if hold b --socket-mem 0,64 --file-prefix b; then
	f=$T/b.json
	pid=$(cat $T/b.pid)
	t_is "$(seg_pages $f 0) $(seg_pages $f 1)" "0 32" \
		"--socket-mem 0,64: 32 pages, all on node 1"
	t_is "$(frees $KB2)" "$SMALL $((SMALL - 32))" "--socket-mem 0,64: node 0's pool untouched"
	t_is "$(held_maps b)" \
		"0 32" "--socket-mem 0,64: numa_maps: nothing on node 0"
	outside b "--socket-mem 0,64"

	# -m alone splits by each node's free pages (64 and 32 now): 10 pages -> 6.67 : 3.33
	probe "-m 20 beside it" init -m 20 --file-prefix split
	t_is "$(node_of_probe 0) $(node_of_probe 1)" "7 3" \
		"-m 20 with 64 and 32 free pages: 7 on node 0, 3 on node 1 (proportional, largest remainder)"
	release b
fi
t_is "$(pools)" "$before" "after --socket-mem 0,64: every page back, no file left"

# the mirror: 32 and 64 free pages, 10 pages -> 3.33 : 6.67, the larger remainder is node 1's
before=$(pools)
if hold m --socket-mem 64,0 --file-prefix m; then
	$HM init -m 20 --json --file-prefix split >$T/split2.json 2>$T/split2.err
	t_is $? 0 "init -m 20 beside it"
	flat $T/split2.json
	got="$(seg_pages $T/split2.json 0) $(seg_pages $T/split2.json 1)"
	t_is "$got" "3 7" "-m 20 with 32 and 64 free pages: 3 on node 0, 7 on node 1 (largest remainder)"
	release m
fi
t_is "$(pools)" "$before" "after --socket-mem 64,0: every page back, no file left"

before=$(pools)
$HM reorder --node 1 --json >$T/reorder.json 2>$T/reorder.err
t_is $? 0 "hugemem reorder --node 1"
flat $T/reorder.json
t_is "$(jv $T/reorder.json node pages)" "1 $SMALL" \
	"reorder --node 1 ordered node 1's $SMALL free pages"
t_is "$(pools)" "$before" "reorder changed no count on either node"

# ------------------------------------------------------------------ split

section "split"

$HM init -m 64 --json --file-prefix even >$T/even.json 2>$T/even.err
t_is $? 0 "init -m 64 with both nodes free"
flat $T/even.json
t_is "$(seg_pages $T/even.json 0) $(seg_pages $T/even.json 1)" "16 16" \
	"-m 64 splits evenly: 16 pages on each node"
$HM init -m 14 --json --file-prefix odd >$T/odd.json 2>$T/odd.err
t_is $? 0 "init -m 14 (7 pages) with both nodes free"
flat $T/odd.json
t_is "$(seg_lines $T/odd.json | awk '{ t[$6] += $7 }
		END { print (t[0] < t[1] ? t[0] " " t[1] : t[1] " " t[0]) }')" \
	"3 4" "-m 14: 7 pages split 4 and 3"
$HM init --contig best -m 64 --json --file-prefix best >$T/best.json 2>$T/best.err
t_is $? 0 "init --contig best -m 64"
flat $T/best.json
t_is "$(seg_pages $T/best.json 0) $(seg_pages $T/best.json 1) $(jget $T/best.json mapped_pages)" \
	"16 16 $((SMALL * 2))" "--contig best -m 64: 16 pages on each node, chosen from both whole pools"
t_is "$(jget $T/best.json segments#)" "$(jget $T/best.json best_pieces)" \
	"--contig best: as few segments as both nodes' pool maps allow"

# ------------------------------------------------------------------ refusals

section "refusals"

before=$(pools)
$HM init --socket-mem 0,160 >$T/o1.out 2>$T/o1.err
fails_cleanly $? "--socket-mem 0,160 (80 pages on node 1, which has $SMALL)"
t_like $T/o1.err "node 1: asked 80 pages of 2 MiB but it has $SMALL free" \
	"--socket-mem 0,160: the message names node 1 and what it has"
$HM init --socket-mem 160,0 >$T/o2.out 2>$T/o2.err
fails_cleanly $? "--socket-mem 160,0 (node 0 short, node 1 with free pages)"
t_like $T/o2.err "node 0: asked 80 pages of 2 MiB but it has $SMALL free" \
	"--socket-mem 160,0: the message names node 0 and what it has"
$HM init --socket-mem 0,0,64 >$T/o3.out 2>$T/o3.err
t_is $? 2 "--socket-mem 0,0,64: node 2 does not exist (exit 2)"
t_like $T/o3.err "node 2" "--socket-mem 0,0,64: the message names node 2"
t_is "$(pools)" "$before" "refused requests took nothing"

probe "node 1 emptied during init (page files)" race 1 --socket-mem 32,32 --file-prefix race
probe "node 1 emptied during init (memfd)" race 1 --socket-mem 32,32 --in-memory --file-prefix race
probe "node 1 emptied during init (single file)" race 1 --socket-mem 32,32 --single-file-segments \
	--file-prefix race
t_is "$(pools)" "$before" "after the emptied-node cases: every page back, no file left"

# ------------------------------------------------------------------ growth

section "growth"

# docs/growth.md: a heap that is full grows on the node asked, within that
# node's --socket-max-mem (or the total --max-mem); a trim gives back per node
before=$(pools)
probe "--socket-max-mem 32,16" grow --socket-mem 4,4 --socket-max-mem 32,16 --file-prefix hnumag
probe "--socket-max-mem 32,16, memfds" grow --socket-mem 4,4 --socket-max-mem 32,16 --in-memory \
	--file-prefix hnumag
probe "--socket-max-mem 32,16, single files" grow --socket-mem 4,4 --socket-max-mem 32,16 \
	--single-file-segments --file-prefix hnumag
probe "--max-mem 24M" grow --socket-mem 4,4 --max-mem 24M --file-prefix hnumag
t_is "$(pools)" "$before" "after the growth cases: every page back, no file left"

# ------------------------------------------------------------------ keeper

section "keeper"

# docs/keeper.md: --socket-keep holds memory per node; hm_init --socket-mem is
# served from the chunks on the nodes asked, without faulting a page
before=$(pools)
KD=/run/hnumak
$HM keeper --socket-keep 16M,32M --runtime-dir $KD >$T/kp.out 2>$T/kp.err &
kpid=$!
i=0
while [ $i -lt 600 ] && ! grep -q ready $T/kp.out 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
t_like $T/kp.out "ready: 48 MiB" "keeper --socket-keep 16M,32M is ready"
diag "$(cat $T/kp.err)"
t_is "$(frees $KB2)" "$((SMALL - 8)) $((SMALL - 16))" \
	"keeper --socket-keep 16M,32M: sysfs: 8 pages taken on node 0, 16 on node 1"
$HM keeper --socket-keep 0,0,2M --runtime-dir $KD-2 >$T/k2.out 2>$T/k2.err
t_is $? 1 "keeper --socket-keep 0,0,2M: refused (exit 1)"
t_like $T/k2.err "node 2" "keeper --socket-keep 0,0,2M: the message names node 2"
if hold k --socket-mem 8,16 --keeper $KD --trace; then
	t_like $T/k.err "keeper: served by the keeper in $KD" "init --socket-mem 8,16: served by the keeper"
	t_is "$(seg_pages $T/k.json 0) $(seg_pages $T/k.json 1)" "4 8" \
		"init --socket-mem 8,16 from the keeper: 4 pages on node 0, 8 on node 1"
	t_is "$(frees $KB2)" "$((SMALL - 8)) $((SMALL - 16))" \
		"init from the keeper: sysfs: the pools did not move (nothing faulted)"
	t_is "$(held_maps k)" "4 8" "init from the keeper: numa_maps: 4 pages on node 0, 8 on node 1"
	outside k "init from the keeper"
	release k
fi
kill -TERM $kpid
wait $kpid
t_is $? 0 "the keeper ends by SIGTERM (exit 0)"
t_is "$(pools)" "$before" "after the keeper: every page back"

# ------------------------------------------------------------------ 1 GiB

section "1 GiB"

before=$(pools)
probe "1 GiB memfd" init --page-size 1G --in-memory --socket-mem 0,1G --file-prefix g
t_is "$(node_of_probe 0) $(node_of_probe 1)" "0 1" \
	"init --page-size 1G --in-memory --socket-mem 0,1G: one 1 GiB page, on node 1"
$HM mount $MNT1 --page-size 1G >$T/mnt1.out 2>&1
t_is $? 0 "hugemem mount $MNT1 --page-size 1G"
$HM status --json >$T/st3.json 2>/dev/null
flat $T/st3.json
t_is "$(jv $T/st3.json pools.$g.mount pools.$g.verdict)" "$MNT1 usable" \
	"status: the 1 GiB pool is served by $MNT1"
$HM status --page-size 1G >/dev/null 2>&1
t_is $? 0 "status --page-size 1G exits 0 now"

if hold big --page-size 1G -m 2G --file-prefix big; then
	f=$T/big.json
	pid=$(cat $T/big.pid)
	t_is "$(jget $f page_size_bytes) $(seg_pages $f 0) $(seg_pages $f 1)" "1073741824 1 1" \
		"--page-size 1G -m 2G: one 1 GiB page on each node"
	t_is "$(frees $KB1)" "$((GB - 1)) $((GB - 1))" "--page-size 1G -m 2G: sysfs agrees"
	t_is "$(held_maps big)" \
		"1 1" "--page-size 1G -m 2G: numa_maps agrees"
	outside big "1 GiB"

	$HM init -m 64 --json --file-prefix small >$T/small.json 2>$T/small.err
	t_is $? 0 "2 MiB init -m 64 while the 1 GiB primary holds (both sizes in use)"
	flat $T/small.json
	t_is "$(jget $T/small.json page_size_bytes) $(seg_pages $T/small.json 0) $(seg_pages $T/small.json 1)" \
		"2097152 16 16" "the 2 MiB primary: default size, 16 pages on each node"
	$HM status --json >$T/st4.json 2>/dev/null
	flat $T/st4.json
	t_is "$(jv $T/st4.json pools.$g.nodes.0.free_pages pools.$g.nodes.1.free_pages pools.$g.budget_pages)" \
		"$((GB - 1)) $((GB - 1)) $((2 * GB - 2))" "status: 1 GiB pool per node and budget while it holds"
	pm=pools.$g.pool_map.nodes
	t_is "$(jv $T/st4.json $pm.0.free_pages $pm.1.free_pages)" \
		"$((GB - 1)) $((GB - 1))" "1 GiB pool map: one page taken on each strip"

	$HM attach --file-prefix big --json --verify >$T/bigsec.json 2>$T/bigsec.err
	t_is $? 0 "hugemem attach --file-prefix big --verify"
	flat $T/bigsec.json
	t_is "$(seg_lines $T/bigsec.json)" "$(seg_lines $f)" "the 1 GiB secondary sees the same segments"

	$HM init --page-size 1G --socket-mem 2G,0 --file-prefix x >$T/o4.out 2>$T/o4.err
	fails_cleanly $? "--page-size 1G --socket-mem 2G,0 (node 0 has $((GB - 1)) left)"
	t_like $T/o4.err "node 0: asked 2 pages of 1 GiB but it has $((GB - 1)) free" \
		"--page-size 1G --socket-mem 2G,0: the message names node 0 and what it has"
	release big
fi
t_is "$(pools)" "$before" "after the 1 GiB cases: every page back, no file left"

mkdir -p $MNT1S
mount -t hugetlbfs -o pagesize=1G,size=1G none $MNT1S
t_is $? 0 "a 1 GiB hugetlbfs mount with size=1G at $MNT1S"
$HM status --json --page-size 1G --huge-dir $MNT1S >$T/st5.json 2>/dev/null
flat $T/st5.json
t_is "$(jv $T/st5.json pools.0.page_size_bytes pools.0.budget_pages pools.0.budget_cap)" \
	"1073741824 1 mount" "status --huge-dir $MNT1S: budget 1 page, set by the mount"
$HM init --page-size 1G --huge-dir $MNT1S -m 2G >$T/o5.out 2>$T/o5.err
fails_cleanly $? "init --page-size 1G -m 2G on the size=1G mount"
t_like $T/o5.err "mount $MNT1S has room for 1" "the refusal names the mount and its room"
$HM init --page-size 1G --huge-dir $MNT1S -m 1G --json >$T/g1.json 2>$T/g1.err
t_is $? 0 "init --page-size 1G -m 1G on the size=1G mount"
flat $T/g1.json
t_is "$(jv $T/g1.json total_bytes segments.0.page_size_bytes)" \
	"1073741824 1073741824" "it got one 1 GiB page"
umount $MNT1S
t_is "$(pools)" "$before" "after the mount-budget cases: every page back"

section "done"
echo "1..$n"
