"""Small builders shared by the engine tests."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def wf(**nodes) -> dict:
    """Workflow JSON from node entries: wf(a=("Int", {"value": 1}), ...)."""
    return {"format": "nodegraph/workflow", "version": 1,
            "nodes": {nid: {"type": t, "inputs": inputs} for nid, (t, inputs) in nodes.items()}}


def link(node: str, output: str = "value") -> dict:
    return {"from": node, "output": output}


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120):
    """Run the real console entry point in a subprocess."""
    import os
    import subprocess
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
