"""Helpers the model packs' test folders share (tests/sdxl, tests/video): a node that hands any
value back, sessions on a shared demo folder and warm model manager, shipped workflows at test
size. Each folder's conftest.py wraps them in its own fixtures (its pack's demos and manager).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

from nodegraph import ANY, Node, Socket, node
from nodegraph.context import Environment
from nodegraph.events import CollectingSink
from nodegraph.files import FileRoots
from nodegraph.session import Session
from nodegraph.workflow import Workflow, parse_workflow


@node("TestCapture", category="tests", outputs={"value": ANY}, output_node=True, deterministic=False)
class Capture(Node):
    """Hands any value back in RunResult.values (tests compare node outputs with diffusers)."""
    value: object = Socket(ANY)

    def run(self, ctx):
        return {"value": self.value}


def capture_registry(plugin: str):
    """The installed catalogue plus TestCapture."""
    from nodegraph.plugins import load_registry
    reg = load_registry(())
    reg.add_node(Capture, plugin)
    return reg


def session_maker(registry, demo_dir: Path, tmp_path: Path, service: str, manager) -> Callable[..., Session]:
    """``make(cache=None, models_dir=None, own_manager=None)``: a CPU Session on ``demo_dir`` with
    ``manager`` (or ``own_manager``) as its ``service``, files under ``tmp_path``, cache off
    unless one is given."""
    def make(cache=None, models_dir: Path | None = None, own_manager=None) -> Session:
        from nodegraph.cache import Cache
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=models_dir or tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device="cpu", demo_dir=demo_dir)
        env.services[service] = own_manager or manager
        return Session(registry, env=env, cache=cache if cache is not None else Cache(enabled=False))
    return make


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
