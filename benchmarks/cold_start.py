"""A cold `nodegraph run` of the main job: one fresh process per image, before and after.

Each run is `python -m nodegraph.cli run MAIN_JOB --no-cache --events jsonl` in a new process
(so Python start-up, imports, CUDA init, loading, LoRA merging, provenance hashing and the image
all count). Variants:

- before: LoRAs fused through peft adapter injection (NODEGRAPH_FUSE_VIA=peft), weights loaded
  on the CPU then moved (NODEGRAPH_LOAD_VIA=cpu), an empty digest store (every file hashed);
- after, first process: the defaults with an empty digest store (files hashed once, stored);
- after: the defaults with the digests a previous process stored (the usual cold run).

Printed: wall time per variant, and the per-node seconds of its `executed` events.

    python benchmarks/cold_start.py                                  # tiny demo model, CPU
    python benchmarks/cold_start.py --full --device cuda --workdir /tmp/sdxl-bench
                                                                     # SDXL-size random weights
Target on an H200 at SDXL size: <= 8 s (floor ~6 s: CUDA init + load + the image).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = {
    "before": {"NODEGRAPH_FUSE_VIA": "peft", "NODEGRAPH_LOAD_VIA": "cpu"},
    "after, first process": {},
    "after": {},
}


def run_cli(workflow: Path, work: Path, device: str, extra_env: dict, digests: Path) -> tuple[float, dict, dict]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra_env,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    # --cache-dir only decides where the digest store lives: --no-cache keeps every node running.
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(workflow), "--no-cache", "--cache-dir", str(digests),
           "--out", str(work / "out"), "--events", "jsonl", "--device", device]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"nodegraph run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    seconds = {e["node"]: e.get("seconds", 0.0) for e in events if e["event"] == "executed"}
    return wall, seconds, events[-1]


def import_and_init(device: str) -> float:
    """A process that only imports torch + diffusers (and makes the CUDA context): the floor."""
    code = ("import torch, diffusers, transformers\n"
            f"torch.zeros(1, device={device!r})\n"
            "torch.cuda.synchronize() if torch.cuda.is_available() else None\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--size", type=int, default=None, help="image size (default 256 tiny, 1024 full)")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    args = parser.parse_args(argv)
    from lcm_overhead import build_full, main_job, model_label
    from nodegraph.context import resolve_device
    from nodegraph_nodes.sdxl import demo

    device = resolve_device(args.device)
    size = args.size or (1024 if args.full else 256)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cold-start-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.full:
        base, lcm, style = (str(p) for p in build_full(work, device))
    else:  # real files, so provenance hashes something
        demo_dir = work / "demo"
        base, lcm, style = (str(demo.materialise(v, demo_dir)) for v in
                            ("demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"))
    workflow = work / "main_job.json"
    workflow.write_text(json.dumps(main_job(base, lcm, style, size)))
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, "
          f"one fresh `nodegraph run --no-cache` process per row", flush=True)
    floor = import_and_init(device)
    print(f"{'import torch+diffusers, CUDA context':34s} {floor:6.2f} s", flush=True)
    digests = work / "digest-store"
    results = {}
    for name, extra in VARIANTS.items():
        if name != "after":  # an empty store: every file is hashed in this process
            shutil.rmtree(digests, ignore_errors=True)
        wall, seconds, done = run_cli(workflow, work, device, extra, digests)
        results[name] = {"wall_s": round(wall, 3), "nodes_s": {k: round(v, 3) for k, v in seconds.items()}}
        nodes = "  ".join(f"{k} {v:.2f}" for k, v in seconds.items())
        print(f"{name:34s} {wall:6.2f} s   {done['status']}   nodes: {nodes}", flush=True)
    print(f"after/before {results['after']['wall_s'] / results['before']['wall_s']:.3f}", flush=True)
    print(json.dumps({"device": device, "full": args.full, "size": size, "import_init_s": round(floor, 3),
                      **results}))


if __name__ == "__main__":
    main()
