"""Helpers the model packs' test folders share (tests/sdxl, tests/video): what a folder says about
its pack (``PackUnderTest``, returned by its ``pack`` fixture, which the shared fixtures in
tests/conftest.py read), a node that hands any value back, shipped workflows at test size.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nodegraph import ANY, Node, Socket, node
from nodegraph.graph.workflow import Workflow, parse_workflow
from nodegraph.run.events import CollectingSink
from nodegraph.run.session import Session


@node("TestCapture", category="tests", outputs={"value": ANY}, output_node=True, deterministic=False)
class Capture(Node):
    """Hands any value back in RunResult.values (tests compare node outputs with diffusers)."""
    value: object = Socket(ANY)

    def run(self, ctx):
        return {"value": self.value}


@dataclass(frozen=True)
class PackUnderTest:
    name: str  # "sdxl", "video"
    demo: Any  # the pack's demo module (``materialise``)
    demos: tuple[str, ...]  # the demo values its tests use, built once per session
    service: str  # the Environment service its model manager is found under
    new_manager: Callable[[], Any]


def shipped_workflow(path: Path, sizes: dict[str, dict[str, Any]], **inputs) -> Workflow:
    """Workflow file ``path`` with ``sizes[node type]`` set on nodes of that type (test size) and
    ``node__input=value`` overrides."""
    data = copy.deepcopy(json.loads(path.read_text()))
    for entry in data["nodes"].values():
        entry["inputs"].update(sizes.get(entry["type"], {}))
    for key, value in inputs.items():
        node_id, name = key.split("__")
        data["nodes"][node_id]["inputs"][name] = value
    return parse_workflow(data)


def with_captures(wf: Workflow, drop: tuple[str, ...] = (), **taps: str) -> Workflow:
    """``wf`` less the nodes in ``drop``, plus TestCapture nodes: ``name="node.output"``."""
    data = wf.to_json()
    for node_id in drop:
        del data["nodes"][node_id]
    for name, ref in taps.items():
        node_id, output = ref.split(".")
        data["nodes"][name] = {"type": "TestCapture", "inputs": {"value": {"from": node_id, "output": output}}}
    return parse_workflow(data)


def run(session: Session, wf: Workflow):
    """The run's result and every event it emitted."""
    sink = CollectingSink()
    result = session.run(wf, sink=sink)
    return result, sink
