#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/deb-symbols.sh [MAP] — print debian/libhugemem0.symbols (dpkg-gensymbols format) from
# the version script src/libhugemem.map: every function of a node, and the node itself, with
# the first release of that node as the minimal version. A node HUGEMEM_X.Y came with hugemem
# X.Y.0; HUGEMEM_0 with 0.2.0, the first ABI baseline (the map's opening comment).
# test/debian.t fails when the committed file differs from this output:
#   tools/deb-symbols.sh > debian/libhugemem0.symbols
set -eu
map=${1:-$(dirname "$0")/../src/libhugemem.map}
echo "libhugemem.so.0 libhugemem0 #MINVER#"
echo "* Build-Depends-Package: libhugemem-dev"
# Comments out, then: "NODE {" opens a node, "name;" in its global part is a function.
sed -e 's|/\*.*\*/||' -e '/\/\*/,/\*\//d' "$map" | awk '
	function release(node) {
		if (node == "HUGEMEM_0") return "0.2.0"
		sub(/^HUGEMEM_/, "", node)
		return node ".0"
	}
	/^[A-Z_0-9.]+[ \t]*\{/ { node = $1; global = 0; print " " node "@" node " " release(node); next }
	/global:/ { global = 1; next }
	/local:/ { global = 0; next }
	/^\}/ { node = ""; next }
	node != "" && global && /^[ \t]*[a-z_0-9]+;/ {
		name = $1; sub(/;.*/, "", name)
		print " " name "@" node " " release(node)
	}'
