#!/bin/sh
# The documentation holds together: every relative link (and #anchor) in
# README.md and docs/*.md reaches a file (and a heading) that exists, README.md
# stays a front page of at most 250 lines, nothing points outside the
# repository (../shared), and docs/design.md defines every step label the
# sources cite (A, B1-B12, C, D). HM_DOCS_ROOT checks another tree.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || t_skip_all "python3 missing (apt-get install python3)"
root=${HM_DOCS_ROOT:-$HM_TOP}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

lines=$(wc -l <"$root/README.md" | tr -d ' ')
t_ok "$([ "$lines" -le 250 ] && echo 0 || echo 1)" "README.md is at most 250 lines ($lines)"

# One line per document: "0<TAB>what was checked" or "1<TAB>what is broken".
python3 - "$root" >"$tmp" <<'PY'
import glob, os, re, sys

root = os.path.abspath(sys.argv[1])
docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def prose(path):
    """The lines outside fenced code blocks."""
    out, fenced = [], False
    for line in open(path, encoding="utf-8"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append(line)
    return out


def anchors(path):
    """GitHub's anchors for the headings of a markdown file."""
    seen, found = {}, set()
    for line in prose(path):
        m = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if m:
            s = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            found.add(s if s not in seen else "%s-%d" % (s, seen[s]))
            seen[s] = seen.get(s, 0) + 1
    return found


def broken(doc):
    bad = []
    for line in prose(doc):
        for target in link.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
            if full != root and not full.startswith(root + os.sep):
                bad.append(target + " (outside the repository)")
            elif not os.path.exists(full):
                bad.append(target + " (no such file)")
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                bad.append(target + " (no such heading)")
    if "../shared" in open(doc, encoding="utf-8").read():
        bad.append("../shared (outside the repository)")
    return bad


for doc in docs:
    name = os.path.relpath(doc, root)
    bad = broken(doc)
    if bad:
        print("1\tlinks in %s: %s" % (name, "; ".join(bad)))
    else:
        print("0\tevery relative link in %s resolves" % name)
PY
t_is "$?" 0 "the link checker ran"
t_ok "$([ "$(wc -l <"$tmp")" -ge 2 ] && echo 0 || echo 1)" "README.md and docs/*.md were checked"
tab=$(printf '\t')
while IFS="$tab" read -r status what; do
	t_ok "$status" "$what"
done <"$tmp"

for step in A B1 B2 B3 B4 B5 B6 B7 B8 B9 B10 B11 B12 C D; do
	grep -q "^| \*\*$step\*\* |" "$root/docs/design.md" 2>/dev/null
	t_ok $? "docs/design.md defines step $step, which the sources cite"
done
t_done
