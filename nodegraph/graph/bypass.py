"""Node modes: bypassed and muted nodes leave the workflow before validation and planning.

A pure workflow -> workflow transformation, so the CLI, the server and any executor get it alike.

- ``"mode": "bypass"``: the node does not run. Each input fed by one of its outputs gets instead
  the node's *matching input*: the first input whose socket type equals that output's type (else
  the first that can feed it), as ComfyUI's bypass does: the link into that input passes through
  (through chains of bypassed nodes). When no input matches, or the matching one holds a value
  rather than a link, the consumer gets a problem naming the bypassed node.
- ``"mode": "mute"``: the node does not run and passes nothing on; a required input it feeds is a
  problem, an optional one is simply left unset.

A bypassed or muted node nothing reads is just gone (a bypassed SaveImage saves nothing).
"""
from __future__ import annotations

from typing import Any

from ..api.errors import Problem
from ..api.registry import Registry
from .workflow import Link, Workflow

MODES = ("bypass", "mute")
_UNSET = object()  # nothing reaches the consumer


def apply_modes(workflow: Workflow, registry: Registry) -> tuple[Workflow, list[Problem]]:
    """The workflow without its bypassed and muted nodes, and the problems that leaves.

    A bypassed node of an unknown type stays (validation names the type): without its sockets
    there is nothing to pass through.
    """
    removed = {nid for nid, e in workflow.nodes.items()
               if e.mode == "mute" or (e.mode == "bypass" and registry.get(e.type) is not None)}
    if not removed:
        return workflow, []
    resolver = _Resolver(workflow, registry)
    problems: list[Problem] = []
    nodes = {}
    for node_id, entry in workflow.nodes.items():
        if node_id in removed:
            continue
        inputs: dict[str, Any] = {}
        for name, value in entry.inputs.items():
            if not (isinstance(value, Link) and value.node in removed):
                inputs[name] = value
                continue
            passed, why = resolver.resolve(value)
            if passed is not _UNSET:
                inputs[name] = passed
            elif why is not None and _required(registry, entry.type, name):
                problems.append(Problem("bypassed_source", why, node_id, name))
        nodes[node_id] = entry.model_copy(update={"inputs": inputs})
    return workflow.model_copy(update={"nodes": nodes}), problems


def merge_problems(mode_problems: list[Problem], problems: list[Problem]) -> list[Problem]:
    """Validation's problems plus the modes' own, without the 'missing input' a mode explains."""
    explained = {(p.node, p.input) for p in mode_problems}
    return mode_problems + [p for p in problems if not (p.code == "missing_input" and (p.node, p.input) in explained)]


def _required(registry: Registry, node_type: str, name: str) -> bool:
    cls = registry.get(node_type)
    spec = cls.inputs.get(name) if cls is not None else None
    return spec is None or spec.required


class _Resolver:
    """What reaches a consumer through removed nodes: (value, None) or (_UNSET, why)."""

    def __init__(self, workflow: Workflow, registry: Registry):
        self.workflow = workflow
        self.registry = registry

    def resolve(self, link: Link, seen: frozenset[str] = frozenset()) -> tuple[Any, str | None]:
        entry = self.workflow.nodes.get(link.node)
        if entry is None or entry.mode not in MODES:
            return link, None
        label = f"#{link.node} ({entry.type})"
        if entry.mode == "mute":
            return _UNSET, f"its source {label} is muted, so nothing reaches this input"
        if link.node in seen:
            return _UNSET, f"bypassed nodes feed each other in a cycle at {label}"
        cls = self.registry.get(entry.type)
        out = cls.outputs.get(link.output)
        if out is None:
            return _UNSET, f"{label} has no output {link.output!r}"
        spec = self._matching_input(cls, out.type)
        if spec is None:
            return _UNSET, (f"its source {label} is bypassed and has no {out.type} input to pass through; "
                            f"un-bypass it or feed this input from elsewhere")
        value = entry.inputs.get(spec.name)
        if isinstance(value, Link):
            return self.resolve(value, seen | {link.node})
        return _UNSET, (f"its source {label} is bypassed and its {spec.socket} input {spec.name!r} "
                        f"has no link to pass through")

    def _matching_input(self, cls, out_type: str):
        specs = list(cls.inputs.values())
        for spec in specs:
            if spec.socket == out_type:
                return spec
        for spec in specs:
            if self.registry.types.compatible(spec.socket, out_type):
                return spec
        return None
