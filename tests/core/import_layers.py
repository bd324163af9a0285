"""The import rules of docs/architecture.md, checked by reading the source as a linter would.

Every ``import`` and ``from ... import`` in ``nodegraph/`` and ``nodes/`` counts, those inside
functions too (a lazy import still ties the modules together); only imports under
``if TYPE_CHECKING:`` are left out (annotations, never run). Written by hand in ~100 lines
rather than adding import-linter: the rules are a table and the walk is the ``ast`` module's.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ENGINE_BOTTOM = ("nodegraph.version", "nodegraph.files", "nodegraph.api")
ENGINE = (*ENGINE_BOTTOM, "nodegraph.graph", "nodegraph.run")

# Which layers a module of each layer may import (its own layer always). A layer is the longest
# matching prefix; "nodegraph" alone is the public facade (nodegraph/__init__.py).
ALLOWED: dict[str, tuple[str, ...]] = {
    "nodegraph.version": (),
    "nodegraph.files": ("nodegraph.version",),
    "nodegraph.api": ("nodegraph.version", "nodegraph.files"),
    "nodegraph.graph": ENGINE_BOTTOM,
    "nodegraph.run": (*ENGINE_BOTTOM, "nodegraph.graph"),
    "nodegraph.startup": ENGINE_BOTTOM,
    "nodegraph.ray": (*ENGINE, "nodegraph.startup"),
    "nodegraph.server": (*ENGINE, "nodegraph.startup", "nodegraph.comfyui"),
    "nodegraph.comfyui": (*ENGINE, "nodegraph.startup", "nodegraph.server"),
    "nodegraph.cli": (*ENGINE, "nodegraph.startup", "nodegraph.server", "nodegraph.comfyui"),
    "nodegraph": ENGINE,
    # Packs use the engine's public parts; never start-up, the CLI, the server, Ray or adapters.
    "nodegraph_nodes": ("nodegraph", *ENGINE),
}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module (a submodule when the name imported is one)
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for nodegraph/ and nodes/ (installed as nodegraph_nodes) under ``root``."""
    found = {}
    for folder, package in (("nodegraph", "nodegraph"), ("nodes", "nodegraph_nodes")):
        for path in sorted((root / folder).rglob("*.py")):
            parts = [package, *path.relative_to(root / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _runtime_imports(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _runtime_imports(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _runtime_imports([child])
            elif isinstance(child, ast.excepthandler):
                yield from _runtime_imports(child.body)


def edges(root: Path) -> list[Edge]:
    """The imports between modules of nodegraph/ and nodes/."""
    known = modules(root)
    found = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in dict.fromkeys(targets):
                if target in known and target != name:
                    found.append(Edge(name, target, node.lineno))
    return found


def layer_of(module: str) -> str:
    return max((layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")), key=len)


def wrong_way(root: Path) -> list[str]:
    """Imports that cross a layer the wrong way, one line each."""
    problems = []
    for edge in edges(root):
        source, target = layer_of(edge.source), layer_of(edge.target)
        if source != target and target not in ALLOWED[source]:
            problems.append(f"{edge}: {source} may not import {target}")
    return problems


def circles(root: Path) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a circle (strongly connected)."""
    graph: dict[str, list[str]] = {}
    for edge in edges(root):
        graph.setdefault(edge.source, []).append(edge.target)
    from nodegraph.graph.order import children_of, strongly_connected
    modules = {m for source, targets in graph.items() for m in (source, *targets)}
    children = children_of(sorted(modules), [(a, b) for a, targets in graph.items() for b in targets])
    return sorted(sorted(c) for c in strongly_connected(children) if len(c) > 1)
