"""Shared fixtures for the comfy pack: every pack's demos in one session folder, one warm SDXL
manager, the test workflows (native format, comfy nodes) and a helper that edits and runs them.

The folder is named comfy_pack, not comfy: test folders are importable packages, and a package
named ``comfy`` would shadow ComfyUI's module name, which custom-node shims provide.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from nodegraph.graph.workflow import Workflow, parse_workflow
from pack_fixtures import PackUnderTest, run, with_captures

HERE = Path(__file__).parent
WORKFLOWS = HERE / "workflows"
REPO = HERE.parents[1]

__all__ = ["HERE", "WORKFLOWS", "REPO", "load", "edited", "run", "with_captures"]


def _materialise(value: str, folder: Path) -> Path:
    from nodegraph_nodes.comfy import demo as comfy_demo
    from nodegraph_nodes.sdxl import demo as sdxl_demo
    from nodegraph_nodes.video import demo as video_demo
    for module in (comfy_demo, sdxl_demo, video_demo):
        if any(d.value == value for d in module.DEMOS):
            return module.materialise(value, folder)
    raise KeyError(value)


@pytest.fixture(scope="session")
def pack() -> PackUnderTest:
    from nodegraph_nodes.sdxl.model_manager import ModelManager
    return PackUnderTest("comfy", SimpleNamespace(materialise=_materialise),
                         ("demo:tiny-sd15", "demo:tiny-sdxl", "demo:tiny-sdxl-refiner", "demo:tiny-svd",
                          "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"), "sdxl_models", ModelManager)


def load(name: str) -> dict:
    return json.loads((WORKFLOWS / f"{name}.json").read_text())


def edited(name: str, drop: tuple[str, ...] = (), **changes) -> Workflow:
    """Test workflow ``name`` with ``node__input=value`` changes."""
    data = copy.deepcopy(load(name))
    for key, value in changes.items():
        node_id, input_name = key.split("__")
        data["nodes"][node_id]["inputs"][input_name] = value
    for node_id in drop:
        del data["nodes"][node_id]
    return parse_workflow(data)
