"""Fixtures and helpers the model packs' test folders share (tests/sdxl, tests/video): the pack's
demos built once per session, one warm model manager, sessions on both, a node that hands any
value back, shipped workflows at test size.

A folder's conftest.py defines a ``pack`` fixture (a ``PackUnderTest``) and imports the fixtures
below, which read it.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from nodegraph import ANY, Node, Socket, node
from nodegraph.files.roots import FileRoots
from nodegraph.graph.workflow import Workflow, parse_workflow
from nodegraph.run.context import Environment
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


@pytest.fixture(scope="session")
def registry(pack: PackUnderTest):
    """The installed catalogue plus TestCapture."""
    from nodegraph.api.plugins import load_registry
    reg = load_registry(())
    reg.add_node(Capture, f"tests.{pack.name}")
    return reg


@pytest.fixture(scope="session")
def demo_dir(pack: PackUnderTest, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(f"{pack.name}-demo")
    for value in pack.demos:
        pack.demo.materialise(value, folder)
    return folder


@pytest.fixture(scope="session")
def demo_paths(pack: PackUnderTest, demo_dir) -> dict[str, Path]:
    """The built demos by name (without ``demo:``)."""
    return {value[len("demo:"):]: pack.demo.materialise(value, demo_dir) for value in pack.demos}


@pytest.fixture(scope="session")
def manager(pack: PackUnderTest):
    """The warm model manager the folder's sessions share."""
    return pack.new_manager()


@pytest.fixture
def make_session(pack: PackUnderTest, demo_dir, manager, registry, tmp_path) -> Callable[..., Session]:
    """``make(cache=None, models_dir=None, own_manager=None)``: a CPU Session on the shared demo
    folder and warm manager (or ``own_manager``), files under tmp_path, cache off unless given."""
    def make(cache=None, models_dir: Path | None = None, own_manager=None) -> Session:
        from nodegraph.run.cache import Cache
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=models_dir or tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device="cpu", demo_dir=demo_dir)
        env.services[pack.service] = own_manager or manager
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
