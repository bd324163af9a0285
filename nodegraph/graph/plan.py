"""Planning: which nodes run, in what order, and which could run side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from .graph import Graph

_SINK = object()  # a virtual node every target feeds, so one traversal finds all ancestors


@dataclass(frozen=True)
class Plan:
    order: tuple[str, ...]  # topological order of the nodes that must run
    levels: tuple[tuple[str, ...], ...]  # nodes of one level have no edges between them
    consumers: dict[str, int]  # how many planned nodes read each node's outputs
    graph: nx.DiGraph = field(repr=False, compare=False)  # the planned subgraph

    def __len__(self) -> int:
        return len(self.order)

    @cached_property
    def branches(self) -> tuple[frozenset[str], ...]:
        """Weakly connected parts: fully independent work (for a parallel executor)."""
        return tuple(frozenset(c) for c in nx.weakly_connected_components(self.graph))


def make_plan(graph: Graph, targets: set[str] | None = None) -> Plan:
    """Only ancestors of output nodes (or of ``targets``) are planned. O(nodes + edges)."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from(graph.edges())
    wanted = targets if targets is not None else {n for n, gn in graph.nodes.items() if gn.cls.output_node}
    g.add_edges_from((t, _SINK) for t in wanted)
    needed = nx.ancestors(g, _SINK) if wanted else set()
    g.remove_node(_SINK) if wanted else None
    if len(needed) != len(g):
        g = g.subgraph(needed).copy()  # a copy: traversals over views are several times slower
    # Generations are levels of mutually independent nodes; concatenated, a topological order.
    levels = tuple(tuple(level) for level in nx.topological_generations(g))
    order = tuple(n for level in levels for n in level)
    # Consumers count links, not edges: a node reading two outputs of one parent (a loader's
    # MODEL and CLIP) releases that parent's values only after both reads.
    consumers = dict.fromkeys(order, 0)
    for node_id in order:
        for link in graph.nodes[node_id].links.values():
            if link.node in consumers:
                consumers[link.node] += 1
    return Plan(order, levels, consumers, g)
