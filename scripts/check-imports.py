#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a circle.

  scripts/check-imports.py [CRATE_SRC...]   (default: loadgen/src target-service/src)

Each file is a module (`engine/vu.rs` is `crate::engine::vu`, `engine/mod.rs` is
`crate::engine`). An arrow A -> B is a path in A's code (a `use`, or an inline
`crate::x::y` / `super::x`) that names B or something in B. Left out: `pub use`
re-exports (a module's face, not what it needs), `mod` lines, and test code
(from the first `#[cfg(test)]` on). Prints every circle found, shortest first,
as `a.rs -> b.rs -> a.rs`, and exits 1; prints a count and exits 0 when none.
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?use\s+([^;]+);", re.S | re.M)


def modules(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    out = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            out[tuple(rel)] = path
    return out


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                prefix, inner = tree[:start], tree[start + 1 : i]
                parts, d, last = [], 0, 0
                for j, ch in enumerate(inner):
                    if ch == "{":
                        d += 1
                    elif ch == "}":
                        d -= 1
                    elif ch == "," and d == 0:
                        parts.append(inner[last:j])
                        last = j + 1
                parts.append(inner[last:])
                out = []
                for p in parts:
                    if p:
                        out += expand(prefix + p)
                return out
    return [tree.split(" as ")[0]]


def code_of(path):
    text = open(path, encoding="utf-8").read()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    # Comments name paths in prose; they are not imports.
    text = re.sub(r"//[^\n]*", "", text)
    return text


def resolve(here, path, mods):
    """The module a path lands in, from module `here`."""
    parts = path.split("::")
    head, rest = parts[0], parts[1:]
    if head == "crate":
        base = ()
    elif head == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif head == "self":
        base = here
    else:
        return None
    full = base + tuple(rest)
    for n in range(len(full), -1, -1):
        if full[:n] in mods:
            return full[:n]
    return None


def edges(src):
    mods = modules(src)
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        code = code_of(path)
        # The module a file is in, for `super`: a mod.rs is its folder's module.
        here = mod if os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs") else mod
        is_dir_module = os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs")
        super_from = mod + ("_",) if is_dir_module else mod
        names = []
        for m in USE.finditer(code):
            if m.group(1) and m.group(1).strip().startswith("pub"):
                continue
            names += expand(m.group(3))
        stripped = USE.sub("", code)
        names += [m.group(1) + m.group(2) for m in PATH.finditer(stripped)]
        for name in names:
            if not name.startswith(("crate::", "super::", "self::")):
                continue
            target = resolve(super_from if name.startswith("super") else here, name, mods)
            if target is not None and target != mod:
                graph[mod].add(target)
    return mods, graph


def cycles(graph):
    """Every elementary circle's shortest form, found from each node (small graphs)."""
    found = set()
    out = []
    for start in sorted(graph):
        # Breadth-first: the shortest way back to `start`.
        prev = {start: None}
        queue = [start]
        back = None
        while queue and back is None:
            nxt = []
            for node in queue:
                for to in sorted(graph[node]):
                    if to == start:
                        back = node
                        break
                    if to not in prev:
                        prev[to] = node
                        nxt.append(to)
                if back is not None:
                    break
            queue = nxt
        if back is None:
            continue
        ring = [back]
        while ring[-1] != start:
            ring.append(prev[ring[-1]])
        ring.reverse()
        key = frozenset(ring)
        if key not in found:
            found.add(key)
            out.append(ring)
    return sorted(out, key=len)


def main():
    srcs = sys.argv[1:] or ["loadgen/src", "target-service/src"]
    bad = 0
    for src in srcs:
        mods, graph = edges(src)
        name = lambda m: os.path.relpath(mods[m], src)
        for ring in cycles(graph):
            bad += 1
            print(f"{src}: " + " -> ".join(name(m) for m in ring + [ring[0]]))
        arrows = sum(len(v) for v in graph.values())
        print(f"{src}: {len(mods)} modules, {arrows} imports", file=sys.stderr)
    if bad:
        print(f"{bad} import circle(s): move what both sides need into a module of its own", file=sys.stderr)
        return 1
    print("no import circles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
