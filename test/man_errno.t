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

# "FN -EA -EB" / "FN none" for each hm_ function on PAGE (a man page with an
# ERRORS section), from that section.
man_errors() {
	awk -v page="$1" '
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
	function endpara(   rest, f) {
		if (para ~ /cannot fail/) {
			rest = para
			while (match(rest, /hm_[a-z0-9_]+/)) { nofail[substr(rest, RSTART, RLENGTH)] = 1; rest = substr(rest, RSTART + RLENGTH) }
		}
		para = ""
	}
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
	END {
		# an entry names its functions, or is for every function of the page
		# that is not said to be unable to fail
		for (f in fn) {
			out = ""
			for (i = 1; i <= n; i++)
				if (index(scope[i], " " f " ") || (scope[i] == "" && !(f in nofail)))
					out = out errs[i]
			if (f in nofail) out = out " none"
			print f out
		}
	}
	' "$1"
}

# The page "man FN" shows: man/FN.3, or the target of its .so link.
page_of() {
	local p=$MANDIR/$1.3
	[ -f "$p" ] || return 1
	if head -1 "$p" | grep -q '^\.so '; then
		p=$MANDIR/$(head -1 "$p" | sed 's/^\.so *man3\///')
		[ -f "$p" ] || return 1
	fi
	echo "$p"
}

sorted_set() { tr ' ' '\n' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//'; }

fns=$(exported)
[ -n "$fns" ] || { echo "1..1"; echo "not ok 1 - no exported function found (built $LIB?)"; exit 1; }
hdr=$(echo "$fns" | header_errors)

for fn in $fns; do
	page=$(page_of "$fn")
	t_ok $? "$fn has a man page (man/$fn.3)" || continue
	[ -n "$page" ] || continue
	h=$(echo "$hdr" | awk -v f="$fn" '$1 == f && $2 != "prose" { $1 = ""; print }' | sorted_set)
	m=$(man_errors "$page" | awk -v f="$fn" '$1 == f { $1 = ""; print }' | sorted_set)
	prose=$(echo "$hdr" | awk -v f="$fn" '$1 == f && $2 == "prose" { print $3 }' | sorted_set)
	if [ -z "$h" ] || [ "$h" = malformed ]; then
		t_ok 1 "$fn: its comment in hugemem.h ends with an Errors: line"
		continue
	fi
	if [ -z "$m" ]; then
		t_ok 1 "$fn: ${page##*/} ERRORS names its errors or says it cannot fail"
		continue
	fi
	case " $h " in *" none "*) [ "$h" = none ] ;; *) true ;; esac
	t_ok $? "$fn: hugemem.h says none or errors, not both"
	case " $m " in *" none "*) [ "$m" = none ] ;; *) true ;; esac
	t_ok $? "$fn: ${page##*/} says cannot fail or names errors, not both"
	only_h=$(comm -23 <(echo "$h" | tr ' ' '\n') <(echo "$m" | tr ' ' '\n') | tr '\n' ' ')
	only_m=$(comm -13 <(echo "$h" | tr ' ' '\n') <(echo "$m" | tr ' ' '\n') | tr '\n' ' ')
	t_is "$h" "$m" "$fn: the errors of hugemem.h and of ${page##*/} agree"
	[ -z "$only_h$only_m" ] || t_diag "$fn: only in hugemem.h: ${only_h:-nothing}; only in ${page##*/}: ${only_m:-nothing}"
	t_is "$prose" "" "$fn: every errno its comment names is in its Errors: line"
done
t_done
