#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/version.sh check|set — the release number lives in the file VERSION alone; this
# script keeps the copies that must be literal text in sync with it:
#   man/*.1, man/*.3    the .TH line's source field, "hugemem X.Y.Z" (a page that is only a
#                       ".so" link has no header)
#   include/hugemem.h   HM_VERSION_MAJOR, HM_VERSION_MINOR, HM_VERSION_PATCH
#   debian/changelog    the version of its first entry (a native package: no revision)
# The Makefile reads VERSION itself (hugemem --version, the .so name, hugemem.pc).
# `check` prints every copy that differs and fails; `set` rewrites the man pages and the
# header (a new changelog entry is written by hand: dch -v X.Y.Z). HM_TOP: another tree.
set -eu
top=${HM_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
version=$(cat VERSION)
case "$version" in
[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "VERSION: '$version' is not MAJOR.MINOR.PATCH" >&2 && exit 1 ;;
esac
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
patch=${rest#*.}

# The source field of a page's .TH line, the 4th word: .TH NAME SECTION "DATE" "SOURCE" ...
man_source() {
	sed -n 's/^\.TH [^ ]* [^ ]* "[^"]*" "\([^"]*\)".*/\1/p' "$1"
}

check() {
	bad=0
	for page in man/*.[13]; do
		if ! grep -q '^\.TH ' "$page"; then
			[ "$(cat "$page")" = "$(grep '^\.so ' "$page")" ] && continue
			echo "$page: no .TH line and not a .so link" && bad=1 && continue
		fi
		src=$(man_source "$page")
		[ "$src" = "hugemem $version" ] ||
			{ echo "$page: .TH says '$src', VERSION says 'hugemem $version'" && bad=1; }
	done
	for part in MAJOR:"$major" MINOR:"$minor" PATCH:"$patch"; do
		got=$(sed -n "s/^#define HM_VERSION_${part%%:*}[[:space:]]*\([0-9]*\).*/\1/p" include/hugemem.h)
		[ "$got" = "${part#*:}" ] ||
			{ echo "include/hugemem.h: HM_VERSION_${part%%:*} is '$got', VERSION says '${part#*:}'" && bad=1; }
	done
	deb=$(sed -n '1s/^hugemem (\([^)]*\)).*/\1/p' debian/changelog)
	[ "$deb" = "$version" ] ||
		{ echo "debian/changelog: first entry is '$deb', VERSION says '$version' (dch -v $version)" && bad=1; }
	[ $bad = 0 ] && echo "version $version: man pages, include/hugemem.h and debian/changelog agree"
	return $bad
}

set_copies() {
	for page in man/*.[13]; do
		grep -q '^\.TH ' "$page" || continue
		sed -i "s/^\(\.TH [^ ]* [^ ]* \"[^\"]*\" \)\"[^\"]*\"/\1\"hugemem $version\"/" "$page"
	done
	sed -i -e "s/^\(#define HM_VERSION_MAJOR[[:space:]]*\)[0-9]*/\1$major/" \
		-e "s/^\(#define HM_VERSION_MINOR[[:space:]]*\)[0-9]*/\1$minor/" \
		-e "s/^\(#define HM_VERSION_PATCH[[:space:]]*\)[0-9]*/\1$patch/" include/hugemem.h
}

case "${1:-check}" in
check) check ;;
set) set_copies && check ;;
*) echo "usage: tools/version.sh check|set" >&2 && exit 2 ;;
esac
