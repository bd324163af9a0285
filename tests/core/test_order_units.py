"""nodegraph.graph.order: the graph algorithms planning and validation use (no networkx)."""
from __future__ import annotations

import random

import pytest

from nodegraph.graph.order import (children_of, cycle_through, generations, strongly_connected,
                                   weakly_connected)


def test_generations_are_levels_in_the_given_order():
    children = children_of("abcde", [("a", "c"), ("b", "c"), ("c", "d"), ("a", "d"), ("a", "c")])
    assert generations(children) == [("a", "b", "e"), ("c",), ("d",)]
    assert children["a"] == {"c": None, "d": None}  # a repeated edge counts once
    assert children_of("ab", [("a", "zz"), ("zz", "b")]) == {"a": {}, "b": {}}  # edges to other nodes: left out


def test_generations_refuse_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        generations(children_of("abc", [("a", "b"), ("b", "c"), ("c", "b")]))


def test_a_random_dag_orders_every_edge_forward():
    rng = random.Random(7)
    nodes = [f"n{i}" for i in range(300)]
    edges = [(nodes[i], nodes[j]) for i in range(300) for j in range(i + 1, 300) if rng.random() < 0.02]
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    levels = generations(children_of(shuffled, edges))
    level_of = {n: k for k, level in enumerate(levels) for n in level}
    assert sorted(level_of) == sorted(nodes) and all(level_of[a] < level_of[b] for a, b in edges)
    # every node past the first level has a parent in the level just before (as early as it can be)
    parents = {n: {a for a, b in edges if b == n} for n in nodes}
    assert all(any(level_of[p] == level_of[n] - 1 for p in parents[n]) for n in nodes if level_of[n])


def test_strongly_connected_parts_and_a_cycle_through_each():
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "d"), ("f", "f"), ("g", "a")]
    children = children_of("abcdefg", edges)
    parts = sorted(sorted(p) for p in strongly_connected(children))
    assert parts == [["a", "b", "c"], ["d", "e"], ["f"], ["g"]]
    for part in (["a", "b", "c"], ["d", "e"], ["f"]):
        path = cycle_through(children, part[0], set(part))
        assert path[0] == path[-1] == part[0] and set(path) == set(part)
        assert all(b in children[a] for a, b in zip(path, path[1:]))  # every step is an edge
    with pytest.raises(ValueError):
        cycle_through(children, "g", {"g"})


def test_a_long_chain_needs_no_recursion():
    nodes = [str(i) for i in range(20_000)]
    children = children_of(nodes, zip(nodes, nodes[1:]))
    assert len(strongly_connected(children)) == 20_000
    assert len(generations(children)) == 20_000


def test_weakly_connected_ignores_direction():
    children = children_of("abcdef", [("a", "b"), ("c", "b"), ("d", "e")])
    assert sorted(sorted(p) for p in weakly_connected(children)) == [["a", "b", "c"], ["d", "e"], ["f"]]
