#!/bin/bash
# SPDX-License-Identifier: MIT
# make dist: build/hugemem-VERSION.tar.gz holds exactly the files git tracks, under
# hugemem-VERSION/, owned by 0:0 with one mtime; made twice (a file touched in between)
# it is the same bytes; unpacked, the tree builds (make all) and its hugemem says VERSION.
# Skipped outside a git work tree (an unpacked tarball has no history to pack).
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || t_skip_all "git missing (apt-get install git)"
git -C "$HM_TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	t_skip_all "$HM_TOP is not a git work tree: make dist packs the files git tracks"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(cat "$HM_TOP/VERSION")
tarball="$tmp/out/hugemem-$version.tar.gz"

make -s -C "$HM_TOP" dist BUILD="$tmp/out" >"$tmp/log" 2>&1
t_ok $? "make dist"
t_ok "$([ -s "$tarball" ] && echo 0 || echo 1)" "it writes \$(BUILD)/hugemem-$version.tar.gz"

listed=$(tar -tzf "$tarball" | LC_ALL=C sort)
want=$(git -C "$HM_TOP" ls-files | sed "s|^|hugemem-$version/|" | LC_ALL=C sort)
t_is "$listed" "$want" "it holds exactly the files git tracks, under hugemem-$version/"
t_is "$(tar -tzf "$tarball" | head -1)" "hugemem-$version/.ci/run" "names in sorted order"
owners=$(tar --numeric-owner -tvzf "$tarball" | awk '{ print $2 }' | sort -u)
t_is "$owners" "0/0" "every entry owned by 0:0"
mtimes=$(tar -tvzf "$tarball" | awk '{ print $4, $5 }' | sort -u | wc -l)
t_is "$mtimes" 1 "one mtime for every entry"
t_is "$(tar -tvzf "$tarball" "hugemem-$version/tools/dist.sh" | cut -c1-10)" "-rwxr-xr-x" \
	"an executable stays executable"
t_is "$(tar -tvzf "$tarball" "hugemem-$version/docs/schema/attach.json" | awk '{ print $6, $7, $8 }')" \
	"hugemem-$version/docs/schema/attach.json -> init.json" "a symbolic link stays one, its target untouched"

cp "$tarball" "$tmp/first.tar.gz"
touch -r "$HM_TOP/README.md" "$tmp/stamp" # its mtime is put back after
sleep 1
touch "$HM_TOP/README.md"
make -s -C "$HM_TOP" dist BUILD="$tmp/out" >/dev/null 2>&1
touch -r "$tmp/stamp" "$HM_TOP/README.md"
cmp -s "$tarball" "$tmp/first.tar.gz"
t_ok $? "made again after a touch: the same bytes (reproducible)"

mkdir "$tmp/src"
tar -C "$tmp/src" -xzf "$tarball"
# As a fresh user would: none of the calling make's variables (MAKEFLAGS: BUILD=...), and the
# system's compiler on a plain PATH (not a sanitizer run's cc wrapper and options).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ASAN_OPTIONS -u UBSAN_OPTIONS -u CC \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	make -C "$tmp/src/hugemem-$version" -j2 all >"$tmp/build.log" 2>&1
rc=$?
t_is $rc 0 "the unpacked tree builds: make -C hugemem-$version all"
[ $rc -eq 0 ] || tail -20 "$tmp/build.log" | sed 's/^/# /'
t_is "$("$tmp/src/hugemem-$version/build/hugemem" --version)" "hugemem $version" \
	"its hugemem says $version"
out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$tmp/src/hugemem-$version" dist 2>&1)
t_ok "$([ $? -ne 0 ] && echo 0 || echo 1)" "make dist in the unpacked tree (no git) fails"
t_like "$out" "not a git work tree" "...saying why"
t_done
