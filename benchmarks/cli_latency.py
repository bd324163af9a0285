"""How fast the light commands answer: `nodegraph validate` of the main workflow and of a
1,000-node one, `nodegraph nodes`, beside a bare `python -c pass` (the interpreter's own start).

Wall time of the real command in a fresh process (median of 5), so Python start-up, plugin
discovery and the catalogue are all included. The core must not import torch for these.
Target (issue 30): under 0.5 s for `validate` of the main workflow and for `nodes` on an idle
2-core machine. `--cold` also times them with the stored catalogue removed first (the first
command after an install or an edit of a pack).

    python benchmarks/cli_latency.py [--cold]
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


MAIN_JOB = Path(__file__).resolve().parents[1] / "workflows" / "lcm_lora_sdxl.json"


def median_seconds(args: list[str], repeats: int = 5, before=None, python: bool = False) -> float:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        command = [sys.executable, *args] if python else [sys.executable, "-m", "nodegraph.cli", *args]
        out = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        assert out.returncode == 0, out.stderr
    return statistics.median(times)


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time them without a stored catalogue")
    args = parser.parse_args()
    from nodegraph.startup.paths import default_cache_dir
    stored = default_cache_dir() / "catalogue"

    def forget() -> None:
        import shutil
        shutil.rmtree(stored, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.json"
        path.write_text(json.dumps(thousand_nodes()))
        rows = [("python -c pass (the floor)", median_seconds(["-c", "pass"], python=True)),
                ("nodegraph --help", median_seconds(["--help"])),
                ("validate the main workflow", median_seconds(["validate", str(MAIN_JOB)])),
                ("validate 1,000-node workflow", median_seconds(["validate", str(path)])),
                ("nodes (whole catalogue)", median_seconds(["nodes"]))]
        if args.cold:
            rows += [("validate main, no stored catalogue", median_seconds(["validate", str(MAIN_JOB)], before=forget)),
                     ("nodes, no stored catalogue", median_seconds(["nodes"], before=forget))]
    for label, seconds in rows:
        print(f"{label:<36} {seconds * 1000:7.0f} ms")
    print("target: validate of the main workflow and nodes < 500 ms on an idle 2-core machine")


if __name__ == "__main__":
    main()
