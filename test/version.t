#!/bin/sh
# SPDX-License-Identifier: MIT
# One version number in one place: the file VERSION. Every copy agrees with it — the
# .TH line of every man page, HM_VERSION_* of include/hugemem.h, the first entry of
# debian/changelog (tools/version.sh check) — and so does what the build makes of it
# (hugemem --version, the shared library's file name, hugemem.pc). tools/version.sh
# check fails, naming the file, on a copy where one of them differs.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(cat "$HM_TOP/VERSION")

case "$version" in
[0-9]*.[0-9]*.[0-9]*) t_ok 0 "VERSION is MAJOR.MINOR.PATCH ($version)" ;;
*) t_ok 1 "VERSION is MAJOR.MINOR.PATCH ('$version')" ;;
esac
out=$("$HM_TOP/tools/version.sh" check 2>&1)
rc=$?
t_is $rc 0 "tools/version.sh check: man pages, hugemem.h, debian/changelog say $version"
[ $rc -eq 0 ] || t_diag "$out"
n=$(grep -l "^\.TH .* \"hugemem $version\"" "$HM_TOP"/man/*.[13] | wc -l)
t_ok "$([ "$n" -ge 2 ] && echo 0 || echo 1)" "$n man pages name hugemem $version in their header"

t_is "$("$HUGEMEM" --version)" "hugemem $version" "hugemem --version"
t_ok "$([ -f "$HM_BUILD/libhugemem.so.$version" ] && echo 0 || echo 1)" "the library is libhugemem.so.$version"
make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null 2>&1
t_is "$(sed -n 's/^Version: //p' "$tmp/root/usr/lib/pkgconfig/hugemem.pc")" "$version" "hugemem.pc's Version"

# A copy of the files the check reads, broken one at a time: each difference is found.
copy() {
	rm -rf "$tmp/top" && mkdir -p "$tmp/top/tools" "$tmp/top/include" "$tmp/top/debian"
	cp -r "$HM_TOP/VERSION" "$HM_TOP/man" "$tmp/top/"
	cp "$HM_TOP/tools/version.sh" "$tmp/top/tools/"
	cp "$HM_TOP/include/hugemem.h" "$tmp/top/include/"
	cp "$HM_TOP/debian/changelog" "$tmp/top/debian/"
}
broken() { # broken WHAT NEEDLE: the check fails and its output has NEEDLE
	out=$("$tmp/top/tools/version.sh" check 2>&1)
	t_ok "$([ $? -ne 0 ] && echo 0 || echo 1)" "check fails: $1"
	t_like "$out" "$2" "...and names it"
}
copy
sed -i '1s/"hugemem [^"]*"/"hugemem 0.0.1"/' "$tmp/top/man/hm_init.3"
broken "a man page with another version" "man/hm_init.3: .TH says 'hugemem 0.0.1'"
copy
sed -i 's/^#define HM_VERSION_MINOR.*/#define HM_VERSION_MINOR 99/' "$tmp/top/include/hugemem.h"
broken "HM_VERSION_MINOR differs" "HM_VERSION_MINOR is '99'"
copy
sed -i '1s/(.*)/(9.9.9)/' "$tmp/top/debian/changelog"
broken "debian/changelog's first entry differs" "debian/changelog: first entry is '9.9.9'"
copy
printf 'garbage\n' >"$tmp/top/man/hm_free.3"
broken "a page with neither a header nor a .so link" "man/hm_free.3: no .TH line"
copy
echo 7.8.9 >"$tmp/top/VERSION"
"$tmp/top/tools/version.sh" set >/dev/null 2>&1
out=$("$tmp/top/tools/version.sh" check 2>&1)
t_like "$out" "debian/changelog: first entry is '$version', VERSION says '7.8.9'" \
	"version.sh set rewrites man pages and header, the changelog is left to dch"
t_is "$(grep -c '^\.TH .* "hugemem 7\.8\.9"' "$tmp/top/man/hm_init.3")" 1 "...hm_init.3 says 7.8.9"
t_is "$(grep -c '^#define HM_VERSION_PATCH 9$' "$tmp/top/include/hugemem.h")" 1 "...HM_VERSION_PATCH 9"
t_done
