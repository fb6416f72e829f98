#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/deb-deps.sh — install, as root and only when missing, what building, checking and
# trying the Debian packages needs: the tools (dpkg-dev, debhelper, lintian, pkg-config for
# the example, systemd for systemd-analyze, man-db for man -w) and the Build-Depends of
# debian/control (apt-get build-dep on this tree). Without root it only says what is
# missing, and fails if anything is.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tools="build-essential dpkg-dev fakeroot debhelper lintian pkg-config systemd man-db"
missing=""
for p in $tools; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
unmet=""
if command -v dpkg-checkbuilddeps >/dev/null; then
	unmet=$(cd "$top" && dpkg-checkbuilddeps 2>&1 >/dev/null) || true
else
	unmet="(dpkg-dev is missing: the Build-Depends cannot be checked yet)"
fi
[ -z "$missing$unmet" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "hugemem: missing for the Debian packages:$missing $unmet (install as root:" \
		"apt-get install$missing; apt-get build-dep $top)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
if [ -n "$missing" ]; then
	echo "hugemem: installing$missing" >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! (cd "$top" && dpkg-checkbuilddeps) 2>/dev/null; then
	echo "hugemem: installing the Build-Depends of debian/control" >&2
	apt-get build-dep -y -qq --no-install-recommends "$top" >/dev/null
fi
