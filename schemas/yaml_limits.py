"""Bounds on composed YAML, so a small file cannot expand into an enormous tree (a "billion laughs").

PyYAML composes an alias as a second reference to the anchored node: composing
is cheap, but everything that walks the tree (the rules validator, pydantic on
a loaded campaign) walks the alias's subtree again each time. Nine aliases of
nine aliases of … make a 700-byte file expand to hundreds of millions of
nodes. `oversized` measures the expanded size without expanding it (each
distinct node once) and reports the first node that goes over the limit, or an
alias that refers to itself. Anchors, aliases and merge keys stay usable in
files of a sane size.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

MAX_NODES = 20_000  # a rules or campaign file has a few hundred


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def oversized(root: Node, limit: int = MAX_NODES) -> tuple[Node, str] | None:
    """(node, problem) when `root` expands to more than `limit` nodes or contains a cycle; else None.

    The node is the innermost one whose expansion is over the limit, so its
    line points at the aliases that blow up.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > limit:
                return node, f"expands to more than {limit:,} nodes through aliases (a YAML bomb?)"
            continue
        if key in sizes:
            continue
        if key in on_path:
            return node, "an alias refers to a node that contains it (a recursive alias)"
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return None
