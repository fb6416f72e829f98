#!/bin/sh
# Install, as root and only when missing, the Debian packages the sanitizer targets of
# mk/sanitize.mk need: "asan" (make check-asan-all: the compiler's AddressSanitizer and
# UndefinedBehaviorSanitizer runtimes, checked by building and running a program with them)
# or "valgrind" (make check-valgrind). Without root it only says what is missing.
set -eu
cc=${CC:-cc}
need=""
case "${1:-}" in
asan)
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	echo 'int main(void) { return 0; }' >"$dir/t.c"
	# gcc-12's runtimes on Debian 12 (normally there already: gcc depends on them)
	$cc -fsanitize=address,undefined -o "$dir/t" "$dir/t.c" 2>/dev/null && "$dir/t" ||
		need="libasan8 libubsan1"
	;;
valgrind)
	command -v valgrind >/dev/null 2>&1 || need="valgrind"
	;;
*)
	echo "usage: tools/sanitize-deps.sh asan|valgrind" >&2
	exit 2
	;;
esac
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "hugemem: missing packages: $need (install them as root: apt-get install $need)" >&2
	exit 1
fi
echo "hugemem: installing $need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
