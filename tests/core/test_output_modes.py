"""Bypass and mute on every built-in output node: the node does not execute and writes nothing,
and nothing that only fed it runs either. Each output type is taken from the shipped workflow
that uses it (its other outputs muted), or from a small workflow when none does; a probe output
(Int -> Show) keeps the workflow runnable, so the run shows exactly what executed."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from core_helpers import link

from nodegraph.run.events import CollectingSink

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
PROBE = {"probe_value": {"type": "Int", "inputs": {"value": 5}},
         "probe": {"type": "Show", "inputs": {"value": link("probe_value")}}}
SMALL = {  # output types no shipped workflow uses
    "Show": {"text": {"type": "String", "inputs": {"value": "hello"}},
             "tested": {"type": "Show", "inputs": {"value": link("text")}}},
    "SaveText": {"text": {"type": "String", "inputs": {"value": "hello"}},
                 "tested": {"type": "SaveText", "inputs": {"text": link("text"), "filename": "hello.txt"}}},
    "SaveCheckpoint": {"model": {"type": "LoadSDXL", "inputs": {"checkpoint": "demo:tiny-sdxl"}},
                       "tested": {"type": "SaveCheckpoint", "inputs": {"model": link("model", "model"), "filename": "copy"}}},
    "PreviewImage": {"image": {"type": "SolidImage", "inputs": {}},
                     "tested": {"type": "PreviewImage", "inputs": {"images": link("image", "image")}}},
    "SaveAnimatedPNG": {"image": {"type": "SolidImage", "inputs": {}},
                        "tested": {"type": "SaveAnimatedPNG", "inputs": {"images": link("image", "image")}}},
    "SaveAnimatedWEBP": {"image": {"type": "SolidImage", "inputs": {}},
                         "tested": {"type": "SaveAnimatedWEBP", "inputs": {"images": link("image", "image")}}},
    "PreviewAny": {"text": {"type": "String", "inputs": {"value": "hello"}},
                   "tested": {"type": "PreviewAny", "inputs": {"source": link("text")}}},
    "ImageCompare": {"image": {"type": "SolidImage", "inputs": {}},
                     "tested": {"type": "ImageCompare", "inputs": {"image_a": link("image", "image")}}},
}


def output_types(registry) -> set[str]:
    return {n["type"] for n in registry.catalogue()["nodes"] if n["output_node"] and n["plugin"].startswith("builtin.")}


def shipped(registry) -> dict[str, tuple[dict, str]]:
    """output type -> (a shipped workflow's nodes, the id of a node of that type)."""
    found = {}
    for path in sorted(WORKFLOWS.glob("*.json")):
        nodes = json.loads(path.read_text())["nodes"]
        for node_id, entry in nodes.items():
            if entry["type"] in output_types(registry):
                found.setdefault(entry["type"], (nodes, node_id))
    return found


def case(registry, node_type: str) -> tuple[dict, str]:
    if node_type in SMALL:
        return copy.deepcopy(SMALL[node_type]), "tested"
    nodes, node_id = shipped(registry)[node_type]
    nodes = copy.deepcopy(nodes)
    for other, entry in nodes.items():  # the workflow's other outputs stay out of the run
        if other != node_id and entry["type"] in output_types(registry):
            entry["mode"] = "mute"
    return nodes, node_id


def test_every_builtin_output_type_has_a_case(registry):
    assert output_types(registry) == set(shipped(registry)) | set(SMALL)


@pytest.mark.parametrize("mode", ["bypass", "mute"])
@pytest.mark.parametrize("node_type", ["SaveImage", "SaveVideo", "SaveCheckpoint", "SaveText", "Show",
                                       "PreviewRecords", "SaveDataset", "RecallHeatmap", "SaveReport",
                                       "SaveAnimatedPNG", "SaveAnimatedWEBP", "PreviewImage", "PreviewAny",
                                       "ImageCompare"])
def test_a_bypassed_or_muted_output_executes_and_writes_nothing(registry, session, env, node_type, mode):
    assert node_type in output_types(registry)
    nodes, node_id = case(registry, node_type)
    nodes[node_id]["mode"] = mode
    sink = CollectingSink()
    result = session.run({"format": "nodegraph/workflow", "version": 1, "nodes": {**nodes, **PROBE}}, sink)
    assert result.ok, result.error
    assert sink.nodes("executing") == {"probe_value", "probe"}  # not the output, nor what only fed it
    assert set(result.ui) == {"probe"} and result.outputs == []
    written = [p for p in env.output_dir.rglob("*")] if env.output_dir.exists() else []
    assert written == []
    # the control: with its mode cleared the same node is planned to run
    nodes[node_id].pop("mode")
    plan = session.prepare({"format": "nodegraph/workflow", "version": 1, "nodes": {**nodes, **PROBE}}).plan
    assert node_id in plan.order
