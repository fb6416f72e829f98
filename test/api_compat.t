#!/bin/sh
# The API stays source compatible: test/compat/app_0_1.c, an application
# written against the 0.1.0 header (struct hm_opts fields and HM_OPT_* flags
# set by hand after hm_opts_init), builds with -Werror against today's header
# and the shared library, and runs: hm_init on ordinary pages, a block, a
# zone, hm_fini, and the same options set by hand and parsed from words.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror \
	-I"$HM_TOP/include" -o "$tmp/app" "$HM_TOP/test/compat/app_0_1.c" \
	-L"$HM_BUILD" -Wl,-rpath,"$HM_BUILD" -lhugemem 2>"$tmp/cc.log"
rc=$?
t_is $rc 0 "an application written against the 0.1.0 header builds with -Werror"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/cc.log"
needed=$(readelf -d "$tmp/app" | grep -o 'libhugemem.so.[0-9]*')
t_is "$needed" "libhugemem.so.0" "linked against the shared library"

out=$("$tmp/app" "$tmp/run" hmcompat$$ 2>&1)
t_is $? 0 "it runs unchanged"
t_like "$out" "init: 8388608 bytes" "hm_init maps what it set in o.mem"
t_like "$out" "zone rx_ring of 65536 bytes" "and a zone is reserved"
t_like "$out" "set by hand == parsed" "its options set by hand equal those parsed"
t_is "$(ls "$tmp/run" 2>/dev/null)" "" "nothing left in its runtime directory"
t_done
