#!/bin/sh
# Install, as root and only when missing, the Debian packages that building and
# testing hugemem need ("tests", the default) or that `make lint` needs
# ("lint"). Without root it only says what is missing.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1; }
want() { have "$1" || need="$need $2"; }
case "${1:-tests}" in
tests)
	want cc gcc
	want make make
	want prove perl
	want flock util-linux
	want python3 python3
	want pkg-config pkg-config
	want nm binutils
	want readelf binutils
	# a DPDK application beside a live prefix (test/real_dpdk.t)
	pkg-config --exists libdpdk 2>/dev/null || need="$need libdpdk-dev"
	;;
lint)
	want cppcheck cppcheck
	want clang-tidy clang-tidy
	want clang-format clang-format
	want python3 python3 # tools/layers.py
	want nm binutils
	# the ABI check against abi/libhugemem.abi (make abi-check)
	want abidiff abigail-tools
	want abidw abigail-tools
	;;
esac
[ -z "$need" ] && exit 0
need=$(printf '%s\n' $need | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
	echo "hugemem: missing packages: $need(install them as root: apt-get install $need)" >&2
	exit 1
fi
echo "hugemem: installing $need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
