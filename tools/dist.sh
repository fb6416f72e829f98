#!/bin/bash
# SPDX-License-Identifier: MIT
# tools/dist.sh OUT.tar.gz PREFIX — the source tarball of `make dist`: every file git tracks
# (as it is in the work tree, so a change not yet committed is in it), under PREFIX/, and
# nothing else. Reproducible: the same tree gives the same bytes — names sorted, owner and
# group 0, modes 0644/0755, every mtime the last commit's (or $SOURCE_DATE_EPOCH), gzip
# without a name or time stamp.
set -euo pipefail
out=$1
prefix=$2
top=$(cd "$(dirname "$0")/.." && pwd)
if ! git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "make dist: $top is not a git work tree (the tarball is made of the files git tracks)" >&2
	exit 1
fi
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct)}
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# --no-recursion: the tracked files only, never what else lies in a tracked directory.
git -C "$top" ls-files -z | LC_ALL=C sort -z |
	tar -C "$top" --null --no-recursion --verbatim-files-from --files-from=- \
		--transform="s|^|$prefix/|S" --show-transformed-names --format=gnu \
		--sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
		--mode=u+rw,go-w,a+rX -cf - | gzip -9 -n >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "$out: $(git -C "$top" ls-files | wc -l) files, $(wc -c <"$out") bytes"
