"""Helpers for the Ray executor tests: tiny workflows, runs collecting events, placements."""
from __future__ import annotations

from pathlib import Path

from nodegraph.run.events import CollectingSink
from nodegraph.run.session import Session

PLUGIN_DIR = Path(__file__).parent / "plugin"  # the test nodes (RayWork, RaySteps, RaySimGPU, ...)


def run(session: Session, workflow: dict, **kwargs):
    sink = CollectingSink()
    result = session.run(workflow, sink=sink, **kwargs)
    return result, sink


def wf(**nodes) -> dict:
    """A workflow from ``id=(type, inputs)``; ``"@node.output"`` strings become links."""
    def value(v):
        if isinstance(v, str) and v.startswith("@"):
            node_id, output = v[1:].split(".")
            return {"from": node_id, "output": output}
        return v
    return {"format": "nodegraph/workflow", "version": 1,
            "nodes": {n: {"type": t, "inputs": {k: value(v) for k, v in inputs.items()}}
                      for n, (t, inputs) in nodes.items()}}


def placed(sink: CollectingSink) -> dict[str, str]:
    """Node id -> Ray node id it ran on (from ``executed`` events)."""
    return {e["node"]: e["ray_node"] for e in sink.of("executed") if "ray_node" in e}
