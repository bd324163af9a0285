"""Small builders for the ComfyUI custom-node tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nodegraph.run.events import CollectingSink

PACKS = Path(__file__).resolve().parent / "packs"


def link(node: str, output: str) -> dict[str, str]:
    return {"from": node, "output": output}


def workflow(**nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """wf(a=("SolidImage", {...}), ...) -> a native workflow."""
    return {"format": "nodegraph/workflow", "version": 1,
            "nodes": {nid: {"type": t, "inputs": inputs} for nid, (t, inputs) in nodes.items()}}


def run(session, wf: dict) -> tuple[Any, CollectingSink]:
    sink = CollectingSink()
    result = session.run(wf, sink=sink)
    return result, sink


def shown(sink: CollectingSink, node: str) -> str:
    """The text a node showed (its executed or cached event's ui)."""
    for event in sink.events:
        if event.get("node") == node and event["event"] in ("executed", "cached"):
            return event.get("ui", {}).get("text", "")
    raise AssertionError(f"node {node!r} neither ran nor was cached: {sink.events}")


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)
