#!/bin/sh
# abi-check.sh DUMP LIBRARY.so — compare the freshly built LIBRARY.so with the
# committed ABI dump (abi/libhugemem.abi) by abidiff, public types only (those
# of include/), and fail on anything that breaks a program built against the
# dump: a removed function, a changed function or public type. abidiff's exit
# status is a set of bits: 1 error, 2 usage error, 4 ABI change, 8
# incompatible ABI change (libabigail's "abidiff" manual). Bit 8 fails; bit 4
# fails unless the only changes are added functions (abidiff run once more
# with --no-added-syms says so): a new function is how the ABI grows (in a new
# version node of src/libhugemem.map), and `make abi-dump` then records it.
# abi/hugemem.suppr lists the changes that are growth by design (a member
# appended to struct hm_opts, which its size field versions).
set -u
dump=$1
lib=$2
top=$(cd "$(dirname "$0")/.." && pwd)
set -- --headers-dir2 "$top/include" --suppressions "$top/abi/hugemem.suppr"

abidiff "$@" "$dump" "$lib"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: abidiff could not compare $dump with $lib (exit $rc)" >&2
	exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "abi-check: $lib breaks the ABI of $dump (abidiff exit $rc: incompatible change)" >&2
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	abidiff --no-added-syms "$@" "$dump" "$lib" >/dev/null
	if [ $(($? & 4)) -ne 0 ]; then
		echo "abi-check: $lib changes the ABI of $dump (abidiff exit $rc): a function or" \
			"public type changed; give back the old one, or, for a new ABI, a new" \
			"SOVERSION and \`make abi-dump\`" >&2
		exit 1
	fi
	echo "abi-check: functions added, nothing else changed: \`make abi-dump\` records them"
fi
echo "abi-check: $lib keeps the ABI of $dump"
exit 0
