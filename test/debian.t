#!/bin/bash
# SPDX-License-Identifier: MIT
# debian/ without building a package (tools/deb-check.sh builds, installs and purges them):
# the symbols file is what tools/deb-symbols.sh makes of src/libhugemem.map and names
# exactly what the built library exports, node by node; `make install` with debian/rules'
# variables puts every file into exactly one package (the .install files), as dh_missing
# would insist, with the units' ExecStart in /usr/bin; control asks for what the task set.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
deb=$HM_TOP/debian

"$HM_TOP/tools/deb-symbols.sh" >"$tmp/symbols"
diff -u "$deb/libhugemem0.symbols" "$tmp/symbols" >"$tmp/diff"
rc=$?
t_is $rc 0 "debian/libhugemem0.symbols = tools/deb-symbols.sh (from src/libhugemem.map)"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/diff"
nodes=$(sed -n 's/^\(HUGEMEM_[0-9.]*\) {.*/\1/p' "$HM_TOP/src/libhugemem.map" | tr '\n' ' ')
t_is "$(awk '$1 ~ /^HUGEMEM_/ { split($1, a, "@"); printf "%s ", a[1] }' "$deb/libhugemem0.symbols")" \
	"$nodes" "one entry per version node: $nodes"
t_is "$(grep -c ' hm_keeper_start@HUGEMEM_0.5 0.5.0$' "$deb/libhugemem0.symbols")" 1 \
	"a function of HUGEMEM_0.5 needs libhugemem0 0.5.0"
t_is "$(grep -c ' hm_init@HUGEMEM_0 0.2.0$' "$deb/libhugemem0.symbols")" 1 \
	"a function of HUGEMEM_0 needs 0.2.0, the first baseline"

# What the library exports: functions name@@NODE, and each node as an absolute symbol.
if command -v nm >/dev/null && [ -f "$HM_BUILD/libhugemem.so" ]; then
	nm -D --defined-only --with-symbol-versions "$HM_BUILD/libhugemem.so" |
		awk '$2 == "T" { sub(/@@/, "@", $3); print $3 } $2 == "A" { print $3 "@" $3 }' |
		sed 's/@@.*//' | LC_ALL=C sort >"$tmp/exported"
	awk 'NR > 2 { print $1 }' "$deb/libhugemem0.symbols" | LC_ALL=C sort >"$tmp/listed"
	diff -u "$tmp/listed" "$tmp/exported" >"$tmp/diff"
	rc=$?
	t_is $rc 0 "the symbols file names exactly what build/libhugemem.so exports ($(wc -l <"$tmp/listed"))"
	[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/diff"
else
	t_skip "nm or build/libhugemem.so missing"
fi

# make install as debian/rules runs it, into a DESTDIR: every file in one package.
if [ ! -f /usr/share/dpkg/architecture.mk ]; then
	t_skip "dpkg-dev missing (apt-get install dpkg-dev): debian/rules cannot be read"
	t_done
fi
# shellcheck disable=SC2016 # $(INSTALL_VARS) is make's, expanded by make
vars=$(cd "$HM_TOP" && printf 'include debian/rules\nprint-install-vars:\n\t@echo $(INSTALL_VARS)\n' |
	make -s -f - print-install-vars)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
t_like "$vars" "LIBDIR=/usr/lib/$multiarch" "debian/rules installs the library into /usr/lib/$multiarch"
# shellcheck disable=SC2086
make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/root" $vars >"$tmp/log" 2>&1
t_ok $? "make install DESTDIR=... $vars"
(cd "$tmp/root" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) >"$tmp/installed"
: >"$tmp/claimed"
for pkg in libhugemem0 libhugemem-dev hugemem; do
	while read -r line; do
		line=${line//\$\{DEB_HOST_MULTIARCH\}/$multiarch}
		# shellcheck disable=SC2086
		found=$(cd "$tmp/root" && for f in $line; do [ -e "$f" ] || [ -L "$f" ] && find "$f" ! -type d; done)
		t_ok "$([ -n "$found" ] && echo 0 || echo 1)" "$pkg.install: $line is installed"
		printf '%s\n' "$found" | sed "s|^|$pkg |" >>"$tmp/claimed"
	done <"$deb/$pkg.install"
done
t_is "$(awk '{ print $2 }' "$tmp/claimed" | LC_ALL=C sort)" "$(cat "$tmp/installed")" \
	"every installed file is in exactly one package ($(wc -l <"$tmp/installed") files)"
for f in usr/lib/$multiarch/libhugemem.so.0 usr/include/hugemem.h usr/bin/hugemem \
	usr/share/man/man3/hm_init.3 etc/default/hugemem-keeper; do
	t_like "$(cat "$tmp/claimed")" " $f" "$f is packaged"
done
t_is "$(grep " usr/lib/$multiarch/libhugemem.so.0$" "$tmp/claimed" | cut -d' ' -f1)" libhugemem0 \
	"the soname link is libhugemem0's"
t_is "$(grep " usr/lib/$multiarch/libhugemem.so$" "$tmp/claimed" | cut -d' ' -f1)" libhugemem-dev \
	"the link for -lhugemem is libhugemem-dev's"
units=$(cd "$HM_TOP/systemd" && ls -- *.service *.socket *.timer *.path *.target *.mount 2>/dev/null)
for u in $units; do
	t_is "$(grep " usr/lib/systemd/system/$u$" "$tmp/claimed" | cut -d' ' -f1)" hugemem \
		"systemd/$u is in the hugemem package, in /usr/lib/systemd/system"
	exec=$(grep '^ExecStart=' "$tmp/root/usr/lib/systemd/system/$u")
	t_unlike "$exec" "/usr/local/" "$u: ExecStart runs /usr/bin/hugemem ($exec)"
done

control=$(cat "$deb/control")
t_like "$control" "Standards-Version: 4.6.2" "Standards-Version 4.6.2"
t_like "$control" "debhelper-compat (= 13)" "debhelper compat 13"
t_unlike "$(sed -n '/^Build-Depends/,/^[A-Z]/p' "$deb/control")" "dpdk" "no DPDK to build"
t_unlike "$(sed -n '/^Build-Depends/,/^[A-Z]/p' "$deb/control")" "qemu" "no qemu to build"
t_is "$(sed -n 's/^Package: //p' "$deb/control" | tr '\n' ' ')" "libhugemem0 libhugemem-dev hugemem " \
	"binary packages libhugemem0, libhugemem-dev, hugemem"
t_done
