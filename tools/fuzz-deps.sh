#!/bin/sh
# Install, as root and only when missing, what `make fuzz` needs: clang 14 and
# its compiler-rt (libFuzzer, ASan and UBSan runtimes: Debian's
# libclang-rt-14-dev). Without root it only says what is missing.
# Prints nothing and exits 0 when everything is there.
set -eu
need=""
cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
	need="$need clang-14"
	cc=clang-14
fi
# the libFuzzer runtime lives in clang's resource directory
if [ -n "$(command -v "$cc" || true)" ]; then
	rt="$("$cc" -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
	[ -f "$rt" ] || need="$need libclang-rt-14-dev"
else
	need="$need libclang-rt-14-dev"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "hugemem: fuzzing needs:$need (install them as root: apt-get install$need)" >&2
	exit 1
fi
echo "hugemem: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
