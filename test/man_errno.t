#!/bin/bash
# Every exported function has a man page, and the header and that page name
# the same errors (issue 15). The exported functions: the hm_ symbols the
# shared library defines (nm -D), and every name listed in the version script
# when it lists names. The two sides, in one fixed form each:
#
#   include/hugemem.h  the comment block right before a function's declaration
#                      ends with "Errors: -EA, -EB." or "Errors: none."; any
#                      -E... named earlier in that block must be in that list
#   man/<fn>.3         (or the page its ".so" link names) in .SH ERRORS: each
#                      .TP tag line names errnos (\-EA), and, when the entry is
#                      not for every function of the page that can fail, the
#                      functions it is for (hm_x); a paragraph with "cannot
#                      fail" names the page's functions that cannot fail
#
# HM_HEADER, HM_MANDIR and HM_MAP point the test at other copies (the test
# checks itself on broken copies that way).
. "$(dirname "$0")/lib.sh"
HEADER=${HM_HEADER:-$HM_TOP/include/hugemem.h}
MANDIR=${HM_MANDIR:-$HM_TOP/man}
MAP=${HM_MAP:-$HM_TOP/src/libhugemem.map}
LIB=$HM_BUILD/libhugemem.so

# The exported functions, one a line.
exported() {
	{
		[ -f "$LIB" ] && nm -D --defined-only "$LIB" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }'
		# an explicit version script: "hm_name;" lines (a pattern like hm_* is no name)
		sed -n 's/^[[:space:]]*\(hm_[a-z0-9_]*\)[[:space:]]*;.*/\1/p' "$MAP"
	} | grep '^hm_' | sort -u
}

# "FN -EA -EB" (or "FN none") per function whose declaration follows a
# comment block that ends with an Errors: line; "FN prose -EX" when the block
# names -EX before its Errors: line and the list leaves it out.
header_errors() {
	awk '
	function flush_decl(line,   n, name) {
		if (!match(line, /hm_[a-z0-9_]+\(/)) return
		name = substr(line, RSTART, RLENGTH - 1)
		if (!(name in want) || pending == "") return
		print name " " pending
		for (e in prose) if (index(" " pending " ", " " e " ") == 0) print name " prose " e
		pending = ""; delete prose
	}
	BEGIN { while ((getline n < "/dev/stdin") > 0) want[n] = 1 }
	/^[ \t]*\/\*/ { incomment = 1; pending = ""; inerr = 0; errs = ""; delete prose }
	incomment {
		text = $0
		if (text ~ /Errors:/) { inerr = 1; errs = ""; sub(/.*Errors:/, "", text) }
		rest = text
		while (match(rest, /-E[A-Z]+/)) {
			e = substr(rest, RSTART + 1, RLENGTH - 1)
			if (inerr) errs = errs " -" e; else prose["-" e] = 1
			rest = substr(rest, RSTART + RLENGTH)
		}
		if (inerr && text ~ /none/) errs = errs " none"
		if ($0 ~ /\*\//) {
			incomment = 0
			if (inerr) { sub(/^ /, "", errs); pending = (errs == "" ? "malformed" : errs) }
			inerr = 0
		}
		next
	}
	{ flush_decl($0) }
	' "$HEADER"
}

# "PAGE FN -EA -EB" / "PAGE FN none" for each hm_ function of each PAGE
# given (man pages with a NAME and an ERRORS section), from that section.
man_errors() {
	awk '
	function endpara(   rest) {
		if (para ~ /cannot fail/) {
			rest = para
			while (match(rest, /hm_[a-z0-9_]+/)) { nofail[substr(rest, RSTART, RLENGTH)] = 1; rest = substr(rest, RSTART + RLENGTH) }
		}
		para = ""
	}
	# an entry names its functions, or is for every function of the page
	# that is not said to be unable to fail
	function flush(   f, i, out) {
		if (sect == "errors") endpara()
		for (f in fn) {
			out = ""
			for (i = 1; i <= n; i++)
				if (index(scope[i], " " f " ") || (scope[i] == "" && !(f in nofail)))
					out = out errs[i]
			if (f in nofail) out = out " none"
			print page " " f out
		}
		for (f in fn) delete fn[f]
		for (f in nofail) delete nofail[f]
		n = 0; sect = ""; para = ""; tag = 0
	}
	FNR == 1 { flush(); page = FILENAME; sub(/.*\//, "", page) }
	/^\.SH NAME/ { sect = "name"; next }
	/^\.SH ERRORS/ { sect = "errors"; para = ""; next }
	/^\.SH/ { if (sect == "errors") endpara(); sect = ""; next }
	sect == "name" {
		rest = $0
		while (match(rest, /hm_[a-z0-9_]+/)) { fn[substr(rest, RSTART, RLENGTH)] = 1; rest = substr(rest, RSTART + RLENGTH) }
		if ($0 ~ /\\-/) sect = ""
		next
	}
	sect != "errors" { next }
	/^\.(TP|PP|P|LP|IP)/ { endpara(); if ($0 ~ /^\.TP/) tag = 1; next }
	tag {
		tag = 0; n++; rest = $0; scope[n] = ""; errs[n] = ""
		while (match(rest, /(\\-E[A-Z]+|hm_[a-z0-9_]+)/)) {
			w = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
			if (w ~ /^hm_/) scope[n] = scope[n] " " w " "; else errs[n] = errs[n] " -" substr(w, 3)
		}
		next
	}
	{ para = para " " $0 }
	END { flush() }
	' "$@"
}

# "FN PAGE" per function: PAGE is the file "man FN" shows (FN.3, or the
# target of its .so link), "-" when there is none.
pages_of() {
	local fn p first
	for fn in "$@"; do
		p=$fn.3 first=
		[ -f "$MANDIR/$p" ] && read -r first <"$MANDIR/$p"
		case $first in .so\ *) p=${first#.so }; p=${p#man3/} ;; esac
		[ -f "$MANDIR/$p" ] || p=-
		echo "$fn $p"
	done
}

# Per function, separated by '|': FN PAGE HEADER-SET MAN-SET ONLY-IN-HEADER
# ONLY-IN-MAN PROSE-NOT-LISTED (sets sorted, space-separated; "" when empty).
compare() {
	awk -v OFS='|' '
	function add(arr, key, e) { if (index(" " arr[key] " ", " " e " ") == 0) arr[key] = arr[key] " " e }
	function sorted(list,   a, n, i, j, t, out) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		out = ""
		for (i = 1; i <= n; i++) if (i == 1 || a[i] != a[i - 1]) out = out (out == "" ? "" : " ") a[i]
		return out
	}
	function minus(x, y,   a, n, i, out) {
		n = split(x, a, " "); out = ""
		for (i = 1; i <= n; i++) if (index(" " y " ", " " a[i] " ") == 0) out = out " " a[i]
		return sorted(out)
	}
	FILENAME == ARGV[1] { if ($2 == "prose") add(prose, $1, $3); else for (i = 2; i <= NF; i++) add(hdr, $1, $i); next }
	FILENAME == ARGV[2] { for (i = 3; i <= NF; i++) add(man, $1 " " $2, $i); next }
	{
		h = sorted(hdr[$1]); m = sorted(man[$2 " " $1])
		print $1, $2, h, m, minus(h, m), minus(m, h), sorted(prose[$1])
	}
	' "$1" "$2" "$3"
}

fns=$(exported)
[ -n "$fns" ] || { echo "1..1"; echo "not ok 1 - no exported function found (built $LIB?)"; exit 1; }
work=$(mktemp -d)
echo "$fns" | header_errors >"$work/hdr"
man_errors "$MANDIR"/*.3 >"$work/man"
# shellcheck disable=SC2086 # one word per function
pages_of $fns >"$work/pages"
compare "$work/hdr" "$work/man" "$work/pages" >"$work/cmp"

while IFS='|' read -r fn page h m only_h only_m prose; do
	[ "$page" != - ]
	t_ok $? "$fn has a man page (man/$fn.3)" || continue
	if [ -z "$h" ] || [ "$h" = malformed ]; then
		t_ok 1 "$fn: its comment in hugemem.h ends with an Errors: line"
		continue
	fi
	if [ -z "$m" ]; then
		t_ok 1 "$fn: $page ERRORS names its errors or says it cannot fail"
		continue
	fi
	case " $h " in *" none "*) [ "$h" = none ] ;; *) true ;; esac
	t_ok $? "$fn: hugemem.h says none or errors, not both"
	case " $m " in *" none "*) [ "$m" = none ] ;; *) true ;; esac
	t_ok $? "$fn: $page says cannot fail or names errors, not both"
	t_is "$h" "$m" "$fn: the errors of hugemem.h and of $page agree"
	[ -z "$only_h$only_m" ] || t_diag "$fn: only in hugemem.h: ${only_h:-nothing}; only in $page: ${only_m:-nothing}"
	t_is "$prose" "" "$fn: every errno its comment names is in its Errors: line"
done <"$work/cmp"
rm -rf "$work"
# The check itself can fail: run it on broken copies (not when it is one of them).
if [ -z "${HM_MAN_ERRNO_COPY:-}" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	broken() { # broken NAME: run this test on $tmp/NAME.{h,man,map}; its output
		HM_MAN_ERRNO_COPY=1 HM_HEADER="$tmp/$1.h" HM_MANDIR="$tmp/$1.man" HM_MAP="$tmp/$1.map" \
			bash "$0" 2>&1 | grep '^not ok\|^#'
	}
	copy() { cp "$HEADER" "$tmp/$1.h"; cp -r "$MANDIR" "$tmp/$1.man"; cp "$MAP" "$tmp/$1.map"; }
	copy noerr
	sed -i '/^int hm_ctx_set_root(/,$!s/^\( \* Errors: -EINVAL\), -ENAMETOOLONG\. \*\/$/\1. *\//' "$tmp/noerr.h"
	out=$(broken noerr)
	t_like "$out" "hm_ctx_set_root: only in hugemem.h: nothing; only in hm_ctx_new.3: -ENAMETOOLONG" \
		"an errno taken out of the header is named (hm_ctx_set_root -ENAMETOOLONG)"
	copy noline
	sed -i 's/^\(\/\* The base of the runtime directories in use.\) Errors: none\. \*\//\1 *\//' "$tmp/noline.h"
	t_like "$(broken noline)" "not ok" "a comment without its Errors: line fails"
	t_like "$(broken noline)" "hm_ctx_runtime_dir: its comment in hugemem.h ends with an Errors: line" \
		"... naming the function"
	copy noman
	rm "$tmp/noman.man/hm_pool_order.3"
	sed -i '/^\.SH ERRORS/,/^\.SH/{/^\.B \\-EEXIST$/s/EEXIST/EXDEV/}' "$tmp/noman.man/hm_init.3"
	out=$(broken noman)
	t_like "$out" "not ok" "a missing page fails"
	t_like "$out" "hm_pool_order has a man page" "... naming the function"
	t_like "$out" "only in hugemem.h: -EEXIST; only in hm_init.3: -EXDEV" \
		"an errno changed in a page is named on both sides"
	copy map
	printf 'HUGEMEM_0 {\n\tglobal:\n\t\thm_init;\n\t\thm_not_documented;\n\tlocal:\n\t\t*;\n};\n' >"$tmp/map.map"
	t_like "$(broken map)" "hm_not_documented has a man page" \
		"a function listed by name in the version script is checked too"
fi
t_done
