#!/usr/bin/python3
"""check_cycles.py -- report call circles between the source files of a component.

Usage: scripts/check_cycles.py OBJECT...

Reads the symbol tables of the given object files with nm(1): file A depends
on file B when A references a global symbol that B defines.  Prints every
strongly connected group of two or more files (a circle: A calls into B and
B, directly or through others, back into A) and exits 1 when there is one;
prints "no call circles among N files" and exits 0 otherwise.  `make
check-cycles` runs it on the extension, libpgqueuer and pgq separately.
"""

import os
import subprocess
import sys


def symbols(path):
    """Return (defined, undefined) global symbol sets of one object file."""
    out = subprocess.run(["nm", "--defined-only", "-g", path], check=True,
                         capture_output=True, text=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    out = subprocess.run(["nm", "-u", path], check=True,
                         capture_output=True, text=True).stdout
    undefined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, undefined


def strongly_connected(graph):
    """Tarjan's algorithm; returns the list of components (lists of nodes)."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return comps


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tables = {p: symbols(p) for p in paths}
    owner = {}
    for p, (defined, _) in tables.items():
        for s in defined:
            owner[s] = p
    graph = {p: sorted({owner[s] for s in undefined if s in owner and owner[s] != p})
             for p, (_, undefined) in tables.items()}
    circles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    for c in circles:
        names = [os.path.basename(p) for p in c]
        print("call circle: " + " <-> ".join(names))
        for p in c:
            for q in graph[p]:
                if q in c:
                    used = sorted(s for s in tables[p][1] if owner.get(s) == q)
                    print("  %s uses %s from %s" % (os.path.basename(p),
                                                    ", ".join(used[:6]),
                                                    os.path.basename(q)))
    if circles:
        return 1
    print("no call circles among %d files" % len(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
