"""The catalogue: node classes and socket types known to one session (never a global)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .node import Node, implementation_digest
from .types import SocketType, TypeRegistry


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    message: str


class Registry:
    def __init__(self) -> None:
        self.types = TypeRegistry()
        self.nodes: dict[str, type[Node]] = {}
        self.origin: dict[str, str] = {}  # node type -> plugin that registered it
        self.failures: list[PluginFailure] = []
        self.plugins: list[str] = []

    def add_types(self, types: Iterable[SocketType], plugin: str) -> None:
        for t in types:
            try:
                self.types.add(t)
            except ValueError as exc:
                self.failures.append(PluginFailure(plugin, str(exc)))

    def add_node(self, cls: type[Node], plugin: str, sources: Iterable[str] = ()) -> bool:
        """Register ``cls``. The first registration of a type wins; a later one is refused.

        ``sources`` are the files of the pack ``cls`` comes from: with its own module they make
        the implementation digest that keys its cached results (``implementation_digest``).
        """
        existing = self.origin.get(cls.node_type)
        if existing is not None:
            if self.nodes[cls.node_type] is cls:
                return True
            self.failures.append(PluginFailure(
                plugin, f"node type {cls.node_type!r} is already registered by plugin {existing!r}; "
                        f"the one from {plugin!r} is refused"))
            return False
        cls.__plugin__ = plugin
        implementation_digest(cls, sources)
        self.nodes[cls.node_type] = cls
        self.origin[cls.node_type] = plugin
        return True

    def get(self, node_type: str) -> type[Node] | None:
        return self.nodes.get(node_type)

    def catalogue(self) -> dict[str, Any]:
        """Everything a UI needs to build widgets, as JSON."""
        return {
            "nodes": [self.nodes[name].to_json() for name in sorted(self.nodes)],
            "types": [{"name": t.name, "parents": list(t.parents), "description": t.description,
                       "color": t.color} for t in self.types.all()],
            "plugins": list(self.plugins),
            "failures": [{"plugin": f.plugin, "message": f.message} for f in self.failures],
        }
