#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""layers.py -- the library's dependency check, run by `make lint`.

src/ holds one folder per layer; src/layers.txt lists them bottom to top. A
file may use its own layer and the layers below it, never one above, and no
two objects may depend on each other, even through others (no cycle, inside
a layer or across layers).

What an object uses is read from the objects themselves, not the sources:
`nm` gives each object's defined symbols and its undefined ones, and an
undefined symbol defined by another library object is an edge. So a call
through a macro, an inline function in a header or a renamed include is
seen the same as a plain call. Includes are checked from the sources too
(a header of a higher layer may carry types and inline code upward).

usage: tools/layers.py BUILD_DIR      (objects under BUILD_DIR/src/<layer>/)
       tools/layers.py --graph BUILD_DIR   print the object graph and exit
The command line (cli/) may include the public header only.
Exit 0 when clean; 1 with one line per cycle / upward use otherwise.
"""
import os
import re
import subprocess
import sys

SRC = "src"


def layer_order():
    """The folders of src/layers.txt, bottom first (text after '#' ignored)."""
    order = []
    with open(os.path.join(SRC, "layers.txt")) as f:
        for line in f:
            word = line.split("#", 1)[0].split()
            if word:
                order.append(word[0])
    return order


def objects(build):
    found = []
    for layer in sorted(os.listdir(os.path.join(build, SRC))):
        d = os.path.join(build, SRC, layer)
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".o")]
    return found


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVWGS":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def name_of(build, obj):
    """build/src/heap/arena.o -> heap/arena"""
    return os.path.relpath(obj, os.path.join(build, SRC))[:-2]


def graph(build):
    """{object: {object it uses: [symbols]}}"""
    defs, undefs = {}, {}
    for o in objects(build):
        defs[o], undefs[o] = symbols(o)
    owner = {s: o for o, d in defs.items() for s in d}
    g = {}
    for o, und in undefs.items():
        edges = {}
        for s in sorted(und):
            if s in owner and owner[s] != o:
                edges.setdefault(name_of(build, owner[s]), []).append(s)
        g[name_of(build, o)] = edges
    return g


def cycles(g):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')


def include_faults(rank):
    faults = []
    for layer in sorted(rank):
        d = os.path.join(SRC, layer)
        for n in sorted(os.listdir(d)):
            if not n.endswith((".c", ".h")):
                continue
            with open(os.path.join(d, n)) as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and rank.get(m.group(1), -1) > rank[layer]:
                        faults.append(f"{d}/{n}:{lineno}: includes {m.group(1)}/, a layer "
                                      f"above {layer}/")
                    elif m and m.group(1) not in rank:
                        faults.append(f"{d}/{n}:{lineno}: includes {m.group(1)}/, which "
                                      f"src/layers.txt does not list")
    return faults


def cli_faults():
    """The command line is a user of the library: public header only."""
    faults = []
    for n in sorted(os.listdir("cli")):
        if n.endswith((".c", ".h")):
            with open(os.path.join("cli", n)) as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m:
                        faults.append(f"cli/{n}:{lineno}: includes the library's internal "
                                      f"{m.group(1)}/ (the CLI uses hugemem.h only)")
    return faults


def main(argv):
    if len(argv) == 3 and argv[1] == "--graph":
        for o, edges in sorted(graph(argv[2]).items()):
            print(o, "->", " ".join(sorted(edges)))
        return 0
    if len(argv) != 2:
        print(__doc__.split("\n\n")[-2], file=sys.stderr)
        return 2
    order = layer_order()
    rank = {layer: i for i, layer in enumerate(order)}
    folders = {n for n in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, n))}
    faults = [f"src/{f}/ is not in src/layers.txt" for f in sorted(folders - set(order))]
    faults += [f"src/layers.txt lists {f}, which is not a folder" for f in order
               if f not in folders]
    g = graph(argv[1])
    for o, edges in sorted(g.items()):
        for target, syms in sorted(edges.items()):
            a, b = o.split("/")[0], target.split("/")[0]
            if rank.get(b, -1) > rank.get(a, -1):
                faults.append(f"{o} calls up into {target}: {', '.join(syms)}")
    for comp in cycles(g):
        faults.append("cycle: " + " <-> ".join(comp))
    faults += include_faults({k: v for k, v in rank.items() if k in folders})
    faults += cli_faults()
    for f in faults:
        print("layers:", f, flush=True)
    n_edges = sum(len(e) for e in g.values())
    print(f"layers: {len(g)} objects in {len(order)} layers, {n_edges} dependencies, "
          f"{len(faults)} faults", file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
