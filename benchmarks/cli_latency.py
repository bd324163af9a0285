"""How fast the light commands answer: `nodegraph validate` on a 1,000-node workflow, `nodegraph nodes`.

Wall time of the real console command in a fresh process (median of 5), so Python start-up,
plugin discovery and the catalogue are all included. The core must not import torch for these.

    python benchmarks/cli_latency.py
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def thousand_nodes() -> dict:
    nodes = {"n0": {"type": "Int", "inputs": {"value": 0}}}
    for i in range(1, 999):
        nodes[f"n{i}"] = {"type": "MathInt", "inputs": {"a": {"from": f"n{i-1}", "output": "value"}, "b": 1}}
    nodes["out"] = {"type": "Show", "inputs": {"value": {"from": "n998", "output": "value"}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def median_seconds(args: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        assert out.returncode == 0, out.stderr
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.json"
        path.write_text(json.dumps(thousand_nodes()))
        bare = median_seconds(["--help"])
        validate = median_seconds(["validate", str(path)])
        nodes = median_seconds(["nodes"])
    print(f"python + nodegraph --help      {bare * 1000:7.0f} ms")
    print(f"validate 1,000-node workflow    {validate * 1000:7.0f} ms  (target: well under 1 s)")
    print(f"nodes (whole catalogue)         {nodes * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
