#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/deb-check.sh — CI's check of the Debian packages (make deb-check), as root, in a few
# minutes, needing no hugepages:
#   1. the build tools and Build-Depends (tools/deb-deps.sh, apt-get);
#   2. the tree as `make dist` packs it, unpacked in a temporary directory, built with
#      dpkg-buildpackage -us -uc -b (the test suite is not run there: CI runs it as a whole);
#   3. lintian on the .changes: any error or warning fails (remaining tags are overridden in
#      debian/*.lintian-overrides, each with the reason);
#   4. the three packages installed with apt-get; hugemem --version says VERSION; the tool
#      reads a fixture tree; examples/dma_zone.c built against the installed -dev with
#      pkg-config (shared, and static) and run (its usage: no hugepages needed); man pages
#      found; systemd-analyze verify on every installed unit;
#   5. the packages purged, and nothing of them left: dpkg knows none, none of their files
#      or their conffile remains, /usr/include/hugemem.h is gone.
# It refuses to start when one of the packages is installed already, or hugemem.h is in
# /usr/include, and purges what it installed whatever way it ends, so the machine is left as
# found (the build tools apt-get installed stay: they are Debian's).
#   tools/deb-check.sh --build-only DIR   steps 1-3 only, the .debs left in DIR (make deb)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(cat "$top/VERSION")
pkgs=(libhugemem0 libhugemem-dev hugemem)
build_only=""
[ "${1:-}" = --build-only ] && build_only=${2:?"usage: tools/deb-check.sh [--build-only DIR]"}
n=0
say() { echo "deb-check: $*"; }
ok() { n=$((n + 1)) && say "ok $n - $*"; }
fail() {
	say "FAIL: $*" >&2
	exit 1
}
installed() { dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qv '^not-installed$'; }

[ "$(id -u)" = 0 ] || [ -n "$build_only" ] || fail "needs root: it installs and purges packages"
if [ -z "$build_only" ]; then
	for p in "${pkgs[@]}"; do
		! installed "$p" || fail "$p is installed already: the check would purge it; purge it first"
	done
	[ ! -e /usr/include/hugemem.h ] || fail "/usr/include/hugemem.h exists (make install" \
		"PREFIX=/usr?): the check could not tell the packages' files from it; remove it first"
fi
"$top/tools/deb-deps.sh"

tmp=$(mktemp -d /tmp/hugemem-deb.XXXXXX)
we_installed=0
cleanup() {
	if [ $we_installed = 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# 2. build, from the tarball of the tracked files (what a distribution starts from).
make -s -C "$top" dist BUILD="$tmp/dist" >/dev/null
tar -C "$tmp" -xzf "$tmp/dist/hugemem-$version.tar.gz"
src="$tmp/hugemem-$version"
say "dpkg-buildpackage -us -uc -b in $src"
if ! (cd "$src" && env -u HM_REQUIRE_HUGEPAGES DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -60 "$tmp/build.log" >&2
	fail "dpkg-buildpackage failed"
fi
arch=$(dpkg --print-architecture)
changes="$tmp/hugemem_${version}_$arch.changes"
debs=()
for p in "${pkgs[@]}"; do
	debs+=("$tmp/${p}_${version}_$arch.deb")
	[ -f "${debs[-1]}" ] || fail "no ${debs[-1]##*/} after the build"
done
ok "dpkg-buildpackage built ${debs[*]##*/}"

# 3. lintian: errors and warnings fail; info, pedantic and experimental tags are shown.
if ! lintian --display-info --display-experimental --pedantic --fail-on error,warning "$changes" >"$tmp/lintian.log" 2>&1; then
	cat "$tmp/lintian.log" >&2
	fail "lintian"
fi
grep -v '^running with root privileges' "$tmp/lintian.log" | sed 's/^/deb-check: lintian: /' || true
ok "lintian: no error, no warning ($(grep -c '^[IPX]:' "$tmp/lintian.log" || true) info, pedantic or experimental tags)"

if [ -n "$build_only" ]; then
	mkdir -p "$build_only"
	cp "$tmp"/*.deb "$changes" "$tmp"/*.buildinfo "$build_only/"
	say "packages in $build_only"
	exit 0
fi

# 4. install, use.
we_installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2 && fail "apt-get install of the packages"; }
ok "apt-get install ${pkgs[*]}"
[ "$(command -v hugemem)" = /usr/bin/hugemem ] || fail "hugemem is not /usr/bin/hugemem"
got=$(hugemem --version)
[ "$got" = "hugemem $version" ] || fail "hugemem --version says '$got', VERSION '$version'"
ok "hugemem --version: $got"
out=$(HUGEMEM_ROOT="$src/test/fixtures/two-sizes" hugemem status --page-size 2M) || true
grep -q '950 pages usable on node 0' <<<"$out" || fail "hugemem status on a fixture tree: $out"
ok "hugemem status reads a fixture tree"

[ "$(pkg-config --modversion hugemem)" = "$version" ] || fail "pkg-config --modversion hugemem"
# shellcheck disable=SC2046
cc -Wall -Werror -o "$tmp/dma_zone" "$src/examples/dma_zone.c" $(pkg-config --cflags --libs hugemem) ||
	fail "examples/dma_zone.c does not build with pkg-config --cflags --libs hugemem"
ldd "$tmp/dma_zone" | grep -Eq "libhugemem.so.0 => (/usr)?/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libhugemem.so.0 " ||
	fail "dma_zone is not linked with the installed libhugemem.so.0: $(ldd "$tmp/dma_zone")"
set +e
usage=$("$tmp/dma_zone" --help 2>&1)
rc=$?
set -e
if [ $rc != 2 ] || [ "$usage" != "usage: dma_zone [ZONE_BYTES [PREFIX]]" ]; then
	fail "dma_zone --help: exit $rc, '$usage'"
fi
ok "examples/dma_zone.c built with pkg-config against libhugemem-dev, runs (--help)"
# shellcheck disable=SC2046
cc -o "$tmp/dma_zone_static" "$src/examples/dma_zone.c" $(pkg-config --cflags hugemem) \
	"/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libhugemem.a" -lpthread ||
	fail "dma_zone does not build against libhugemem.a"
ok "and against the static library"
for page in 1:hugemem 3:hm_init 3:hm_free 3:hm_keeper_start; do
	man -w "${page%%:*}" "${page#*:}" >/dev/null 2>&1 || fail "man ${page%%:*} ${page#*:} not found"
done
ok "man pages: hugemem(1), hm_init(3), hm_free(3) (a .so link), hm_keeper_start(3)"
[ -f /usr/share/bash-completion/completions/hugemem ] || fail "no bash completion"
ok "bash completion installed"

mapfile -t units < <(dpkg -L hugemem | grep -E '^/usr/lib/systemd/system/[^/]+\.(service|socket|timer|path|target|mount)$')
[ ${#units[@]} -ge 1 ] || fail "the hugemem package ships no systemd unit"
for u in "${units[@]}"; do
	grep -q '^ExecStart=/usr/bin/hugemem ' "$u" || ! grep -q '^ExecStart=' "$u" ||
		fail "$u: ExecStart is not /usr/bin/hugemem"
done
systemd-analyze verify "${units[@]}" >"$tmp/verify.log" 2>&1 ||
	{ cat "$tmp/verify.log" >&2 && fail "systemd-analyze verify"; }
ok "systemd-analyze verify ${units[*]##*/}"
dpkg-query -W -f='${Conffiles}\n' hugemem | grep -q '^ /etc/default/hugemem-keeper ' ||
	fail "/etc/default/hugemem-keeper is not a conffile of hugemem"
ok "/etc/default/hugemem-keeper is a conffile"
# disabled, or static (a unit with no [Install] section, such as hugemem.target, which
# services pull in with Wants=): either way the installation enabled nothing
for u in "${units[@]}"; do
	state=$(systemctl is-enabled "${u##*/}" 2>/dev/null || true)
	case $state in
	disabled | static) ;;
	*) fail "${u##*/} is '$state' after installation, neither disabled nor static" ;;
	esac
done
ok "no unit enabled by the installation"

# 5. purge; nothing left.
files=()
for p in "${pkgs[@]}"; do
	mapfile -t -O ${#files[@]} files < <(dpkg -L "$p" | while read -r f; do [ -d "$f" ] || echo "$f"; done)
done
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >"$tmp/purge.log" 2>&1 ||
	{ cat "$tmp/purge.log" >&2 && fail "apt-get purge"; }
we_installed=0
for p in "${pkgs[@]}"; do
	! installed "$p" || fail "$p is still known to dpkg after the purge"
	[ -z "$(dpkg -L "$p" 2>/dev/null)" ] || fail "dpkg -L $p lists files after the purge"
done
left=()
for f in "${files[@]}" /usr/include/hugemem.h /etc/default/hugemem-keeper; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || left+=("$f")
done
[ ${#left[@]} = 0 ] || fail "left after the purge: ${left[*]}"
ok "purged: dpkg knows none of ${pkgs[*]}; none of their ${#files[@]} files is left"
say "all $n checks passed"
