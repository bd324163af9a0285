"""Graph algorithms over node ids: topological generations, connected parts, cycles.

Hand-written, a few lines each: this is all the engine needs, and networkx (which this module
replaced) cost ~0.4 s to import on every `nodegraph validate`, plus several µs per node to
build its graph objects on every plan. ``graphlib`` orders but reports one cycle, not every one.

Graphs are ``children``: node id -> ordered set of child ids (a dict with None values), every
node a key. Orders follow the dicts' insertion order, so results are deterministic.
"""
from __future__ import annotations

from typing import Iterable

Children = dict[str, dict[str, None]]


def children_of(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Children:
    """The adjacency of ``nodes`` (in their order) with the ``edges`` between them (parent, child);
    a repeated edge counts once."""
    children: Children = {n: {} for n in nodes}
    for parent, child in edges:
        if parent in children and child in children:
            children[parent][child] = None
    return children


def generations(children: Children) -> list[tuple[str, ...]]:
    """Kahn's algorithm by levels: each level's nodes depend only on earlier levels; concatenated,
    a topological order. Raises ValueError when the graph has a cycle."""
    waiting = dict.fromkeys(children, 0)
    for kids in children.values():
        for child in kids:
            waiting[child] += 1
    level = [n for n, count in waiting.items() if count == 0]
    levels: list[tuple[str, ...]] = []
    placed = 0
    while level:
        levels.append(tuple(level))
        placed += len(level)
        following = []
        for node in level:
            for child in children[node]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    following.append(child)
        level = following
    if placed != len(children):
        raise ValueError("the graph has a cycle")
    return levels


def weakly_connected(children: Children) -> list[set[str]]:
    """Parts of the graph with no edge between them, ignoring direction."""
    neighbours: dict[str, list[str]] = {n: list(kids) for n, kids in children.items()}
    for node, kids in children.items():
        for child in kids:
            neighbours[child].append(node)
    seen: set[str] = set()
    parts = []
    for start in children:
        if start in seen:
            continue
        part, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node not in part:
                part.add(node)
                stack.extend(neighbours[node])
        seen |= part
        parts.append(part)
    return parts


def strongly_connected(children: Children) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in children:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(children[root]))]
        while work:
            node, kids = work[-1]
            for child in kids:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(children[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def cycle_through(children: Children, start: str, within: set[str]) -> list[str]:
    """A shortest cycle from ``start`` back to it inside ``within`` (a strongly connected part):
    [start, ..., start]."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in children[node]:
                if child not in within:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise ValueError(f"{start!r} is on no cycle")
