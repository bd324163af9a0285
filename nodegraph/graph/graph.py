"""A validated workflow, resolved against a catalogue: what planning and execution consume."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.node import Node
from .workflow import Link, Workflow


@dataclass
class GraphNode:
    id: str
    cls: type[Node]
    literals: dict[str, Any]  # normalised literal inputs: coerced by type, defaults filled, links left out
    links: dict[str, Link]  # input name -> upstream output


@dataclass
class Graph:
    workflow: Workflow
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    # The catalogue it was resolved against (outputs that write ComfyUI's prompt read class names from it).
    registry: Any = field(default=None, repr=False, compare=False)
    # A sweep's combined graph (sweep.py): node id -> the graph of the cell it belongs to,
    # whose workflow and provenance the node's outputs embed (so one cell re-runs alone).
    origins: dict[str, "Graph"] = field(default_factory=dict)

    def own_graph(self, node_id: str) -> "Graph":
        return self.origins.get(node_id, self)

    def edges(self):
        for node in self.nodes.values():
            for link in node.links.values():
                yield link.node, node.id
