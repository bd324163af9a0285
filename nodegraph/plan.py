"""Planning: which nodes run, in what order, and which could run side by side."""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .graph import Graph


@dataclass(frozen=True)
class Plan:
    order: tuple[str, ...]  # topological order of the nodes that must run
    levels: tuple[tuple[str, ...], ...]  # nodes of one level have no edges between them
    branches: tuple[frozenset[str], ...]  # weakly connected parts: fully independent work
    consumers: dict[str, int]  # how many planned nodes read each node's outputs

    def __len__(self) -> int:
        return len(self.order)


def make_plan(graph: Graph, targets: set[str] | None = None) -> Plan:
    """Only ancestors of output nodes (or of ``targets``) are planned."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from(graph.edges())
    wanted = targets if targets is not None else {n for n, gn in graph.nodes.items() if gn.cls.output_node}
    needed = set(wanted)
    for target in wanted:
        needed |= nx.ancestors(g, target)
    sub = g.subgraph(needed)
    order = tuple(nx.lexicographical_topological_sort(sub)) if len(sub) < 2000 else tuple(nx.topological_sort(sub))
    levels = tuple(tuple(level) for level in nx.topological_generations(sub))
    branches = tuple(frozenset(c) for c in nx.weakly_connected_components(sub))
    consumers = {n: sub.out_degree(n) for n in sub}
    return Plan(order, levels, branches, consumers)
