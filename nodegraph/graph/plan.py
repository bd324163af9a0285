"""Planning: which nodes run, in what order, and which could run side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

from .graph import Graph
from .order import Children, generations, weakly_connected


@dataclass(frozen=True)
class Plan:
    order: tuple[str, ...]  # topological order of the nodes that must run
    levels: tuple[tuple[str, ...], ...]  # nodes of one level have no edges between them
    consumers: dict[str, int]  # how many planned nodes read each node's outputs
    children: Children = field(repr=False, compare=False)  # the planned subgraph's edges

    def __len__(self) -> int:
        return len(self.order)

    @cached_property
    def branches(self) -> tuple[frozenset[str], ...]:
        """Weakly connected parts: fully independent work (for a parallel executor)."""
        return tuple(frozenset(part) for part in weakly_connected(self.children))


def make_plan(graph: Graph, targets: set[str] | None = None) -> Plan:
    """Only ancestors of output nodes (or of ``targets``) are planned. O(nodes + edges)."""
    nodes = graph.nodes
    wanted = targets if targets is not None else [n for n, gn in nodes.items() if gn.cls.output_node]
    needed: set[str] = set()  # the wanted nodes and everything they depend on
    stack = [n for n in wanted if n in nodes]
    push = stack.append  # plain loops, no generators: planning runs for every node of every job
    while stack:
        node_id = stack.pop()
        if node_id not in needed:
            needed.add(node_id)
            for link in nodes[node_id].links.values():
                push(link.node)
    children: Children = {n: {} for n in nodes if n in needed}  # in the workflow's order
    # Consumers count links, not edges: a node reading two outputs of one parent (a loader's
    # MODEL and CLIP) releases that parent's values only after both reads.
    consumers = dict.fromkeys(children, 0)
    for node_id in children:
        for link in nodes[node_id].links.values():  # a needed node's parents are needed
            children[link.node][node_id] = None
            consumers[link.node] += 1
    # Generations are levels of mutually independent nodes; concatenated, a topological order.
    levels = tuple(generations(children))
    order = tuple(chain.from_iterable(levels))
    return Plan(order, levels, consumers, children)
