#!/bin/sh
# The exported functions and the ABI of the library just built: the version
# script, the header and the library's exports name the same functions
# (tools/check-symbols.sh), and the library keeps the ABI recorded in
# abi/libhugemem.abi (tools/abi-check.sh, abidiff; `make lint` runs both too).
. "$(dirname "$0")/lib.sh"
so=$(readlink -f "$HM_BUILD/libhugemem.so")

out=$("$HM_TOP/tools/check-symbols.sh" "$so" 2>&1)
t_is $? 0 "src/libhugemem.map, include/hugemem.h and the library name the same functions"
t_like "$out" "functions: header, map and" "and it says how many"
t_unlike "$(cat "$HM_TOP/src/libhugemem.map")" "hm_*" "the version script lists names, no pattern"

if command -v abidiff >/dev/null; then
	out=$("$HM_TOP/tools/abi-check.sh" "$HM_TOP/abi/libhugemem.abi" "$so" 2>&1)
	rc=$?
	t_is $rc 0 "the library keeps the ABI of abi/libhugemem.abi"
	[ $rc -eq 0 ] || t_diag "$out"
else
	t_ok 0 "# SKIP abidiff missing (tools/deps.sh lint installs abigail-tools)"
fi
t_done
