"""Queued jobs in a server: PNGs written behind the jobs against written inside them.

A server (in this process, on 127.0.0.1) runs the main job (workflows/lcm_lora_sdxl.json, a new
seed each time, cache on so only sampler, decode and save run) N times in a row, queued at
once, with output files written on writer threads while the next job runs (the default) and
with each PNG written inside its job, alternating the two modes round by round. Printed: the
median seconds per job of each mode and their ratio. Random-weight images are noise, the worst
case for PNG (a 1024² one takes ~0.2 s to encode); a natural image encodes several times faster.

    python benchmarks/write_behind.py                 # 1024², 6 jobs a round, 3 rounds, CPU
    python benchmarks/write_behind.py --full --device cuda --workdir /tmp/sdxl-bench
                                                      # real SDXL-size architecture, random weights

On a CPU the encoder competes with the next job for the same cores (the server writes inside
the job there); the overlap pays where the jobs compute on a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"


def job(base: dict, size: int, seed: int) -> dict:
    workflow = json.loads(json.dumps(base))
    workflow["nodes"]["sampler"]["inputs"].update(seed=seed, width=size, height=size)
    return workflow


def run_queue(port: int, workflows: list[dict]) -> float:
    """Queue ``workflows`` at once; seconds until the last one's ``done``."""
    from websockets.sync.client import connect
    with connect(f"ws://127.0.0.1:{port}/ws", max_size=None, open_timeout=10) as ws:
        start = time.perf_counter()
        for i, workflow in enumerate(workflows):
            ws.send(json.dumps({"type": "queue", "workflow": workflow, "id": f"q{i}"}))
        left = len(workflows)
        while left:
            msg = json.loads(ws.recv(timeout=600))
            if msg.get("type") == "error":
                sys.exit(f"the server refused a job: {msg}")
            if msg.get("type") == "event" and msg.get("event") == "done":
                if msg["status"] != "success":
                    sys.exit(f"a job failed: {msg}")
                left -= 1
        return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=6, help="jobs queued per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode (alternated)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    args = parser.parse_args(argv)
    from nodegraph.server.app import ServerConfig, start_in_thread

    work = Path(tempfile.mkdtemp(prefix="write-behind-", dir=args.workdir))
    folders = {name: work / name for name in ("data", "output", "input", "models", "cache")}
    for folder in folders.values():
        folder.mkdir()
    base = json.loads(MAIN_JOB.read_text())
    if args.full:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from lcm_overhead import build_full, main_job
        model, lcm, style = build_full(Path(args.workdir or work), args.device)
        # The server takes names inside its models folder (and refuses links out of it): hard
        # links put the files there without copying gigabytes.
        for kind, path in (("checkpoint", model), ("lora", lcm), ("lora", style)):
            sources = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for source in sources:
                target = folders["models"] / kind / path.name / source.relative_to(path) if path.is_dir() \
                    else folders["models"] / kind / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)
        base = main_job(model.name, lcm.name, style.name, args.size)
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=folders["data"], output_dir=folders["output"],
                          input_dir=folders["input"], models_dir=folders["models"], cache_dir=folders["cache"],
                          device=args.device)
    handle = start_in_thread(config)
    env = handle.server.session.env
    try:
        run_queue(handle.port, [job(base, args.size, 10_000)])  # loads the models, caches model/merge/prompt
        seconds: dict[str, list[float]] = {"behind": [], "inside": []}
        seed = 0
        for r in range(args.rounds):
            for mode in (("behind", "inside") if r % 2 == 0 else ("inside", "behind")):
                env.write_behind = mode == "behind"
                workflows = [job(base, args.size, seed + i) for i in range(args.jobs)]
                seed += args.jobs
                seconds[mode].append(run_queue(handle.port, workflows) / args.jobs)
    finally:
        handle.stop()
    med = {mode: statistics.median(values) for mode, values in seconds.items()}
    print(f"device {args.device}, {'SDXL-size random weights' if args.full else 'tiny demo SDXL'}, "
          f"{args.size}x{args.size}, {args.jobs} jobs queued at once, median of {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs")
    for mode in ("inside", "behind"):
        print(f"PNG written {mode:6s} the job: {med[mode] * 1000:8.1f} ms per job")
    print(f"behind/inside {med['behind'] / med['inside']:.3f}")
    print(json.dumps({"size": args.size, "jobs": args.jobs, "rounds": args.rounds,
                      "ms_per_job": {k: round(v * 1000, 1) for k, v in med.items()},
                      "behind_over_inside": round(med["behind"] / med["inside"], 4)}))


if __name__ == "__main__":
    main()
