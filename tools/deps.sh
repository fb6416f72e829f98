#!/bin/sh
# Install, as root and only when missing, the Debian packages that building and
# testing hugemem need ("tests", the default) or that `make lint` needs
# ("lint"). Without root it only says what is missing, and fails when a
# package every test needs is.
set -eu
need=""
optional="" # only some tests need these: without them those skip, saying why
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
	# every --json against docs/schema/ (test/json_schema.t, which skips without it)
	python3 -c 'import jsonschema' 2>/dev/null || optional="$optional python3-jsonschema"
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
[ -z "$need$optional" ] && exit 0
[ -z "$need" ] || need=$(printf '%s\n' $need | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
	[ -z "$optional" ] || echo "hugemem: missing packages:$optional (the tests that need" \
		"them skip; install them as root: apt-get install$optional)" >&2
	[ -z "$need" ] && exit 0
	echo "hugemem: missing packages: $need(install them as root: apt-get install $need)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || [ -z "$need" ] # the optional ones only: go on
if [ -n "$need" ]; then
	echo "hugemem: installing $need" >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
if [ -n "$optional" ]; then
	echo "hugemem: installing$optional" >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $optional >/dev/null ||
		echo "hugemem: could not install$optional: the tests that need them skip" >&2
fi
