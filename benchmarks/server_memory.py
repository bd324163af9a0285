"""Memory of a server over many main jobs: RSS every 100 jobs, and what grows per job.

A server runs in this process (``start_in_thread``, the same code as ``nodegraph serve``) with the
demo main job (workflows/lcm_lora_sdxl.json, a new seed each time, so every job computes and
stores new outputs); one websocket client queues the jobs one after another and keeps nothing.
RSS is read from /proc every ``--every`` jobs. With ``--tracemalloc`` Python's allocations are
traced from the second job on (tracing the imports and model loading would take many minutes) and, after the run, the allocation sites that grew between job ``--warm`` and the last
job are printed (tracemalloc sees Python objects and numpy arrays, not torch's tensor storage).

    python benchmarks/server_memory.py --jobs 2000 --minutes 10            # RSS every 100 jobs
    python benchmarks/server_memory.py --jobs 400 --tracemalloc            # + what grows, by line
    python benchmarks/server_memory.py --jobs 400 --cache-memory 0         # without the memory tier

The loop is bounded by ``--jobs`` and by ``--minutes`` (whichever comes first).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(args) -> dict:
    from websockets.sync.client import connect

    from nodegraph.run.model_cache import parse_bytes
    from nodegraph.server.app import ServerConfig, start_in_thread

    if args.light:  # the server's own per-job work, without a model: thousands of jobs a minute
        data = {"format": "nodegraph/workflow", "version": 1, "nodes": {
            "a": {"type": "Int", "inputs": {"value": 0}},
            "sum": {"type": "MathInt", "inputs": {"a": {"from": "a", "output": "value"}, "b": 1}},
            "show": {"type": "Show", "inputs": {"value": {"from": "sum", "output": "value"}}}}}
        sampler = data["nodes"]["a"]
    else:
        data = json.loads(MAIN_JOB.read_text())
        sampler = next(n for n in data["nodes"].values() if n["type"] == "LCMSampler")
        sampler["inputs"].update(width=args.size, height=args.size)
    samples: list[tuple[int, float, float]] = []  # (jobs done, RSS MiB, seconds)
    snapshots = {}
    with tempfile.TemporaryDirectory(prefix="server-memory-") as tmp:
        work = Path(tmp)
        config = ServerConfig(port=0, data_dir=work / "data", output_dir=work / "out", input_dir=work / "input",
                              models_dir=work / "models", cache_dir=work / "cache", device="cpu")
        if args.cache_memory is not None:
            config.cache_memory = parse_bytes(args.cache_memory)
        started = time.perf_counter()
        handle = start_in_thread(config)
        deadline = started + args.minutes * 60
        try:
            with connect(f"ws://127.0.0.1:{handle.port}/ws", max_size=None, compression=None) as ws:
                for k in range(1, args.jobs + 1):
                    sampler["inputs"]["value" if args.light else "seed"] = k
                    ws.send(json.dumps({"type": "queue", "id": k, "workflow": data}))
                    job = None
                    while True:  # read until this job's done; keep nothing
                        msg = json.loads(ws.recv(timeout=600))
                        if msg.get("id") == k:
                            if msg.get("type") != "queued":
                                raise RuntimeError(f"job {k} refused: {msg}")
                            job = msg["job"]
                        elif msg.get("event") == "done" and msg.get("job") == job:
                            if msg["status"] != "success":
                                raise RuntimeError(f"job {k} ended {msg['status']}")
                            break
                    if k == 1 and args.tracemalloc:  # after the first job: imports and model loading untraced
                        tracemalloc.start(args.frames)
                    if k == 1 or k % args.every == 0:
                        samples.append((k, rss_mib(), time.perf_counter() - started))
                        print(f"  job {k:5d}: RSS {samples[-1][1]:7.1f} MiB   {samples[-1][2]:7.1f} s", flush=True)
                    if args.tracemalloc and k in (args.warm, args.jobs):
                        snapshots[k] = tracemalloc.take_snapshot()
                    if time.perf_counter() > deadline:
                        print(f"  stopped after {k} jobs: --minutes {args.minutes:g} reached", flush=True)
                        if samples[-1][0] != k:
                            samples.append((k, rss_mib(), time.perf_counter() - started))
                        if args.tracemalloc and k not in snapshots and args.warm in snapshots:
                            snapshots[k] = tracemalloc.take_snapshot()
                        break
        finally:
            handle.stop()
    return {"samples": samples, "snapshots": snapshots}


def report(result: dict, args) -> None:
    samples = result["samples"]
    first = next((s for s in samples if s[0] >= args.every), samples[0])
    last = samples[-1]
    if last[0] > first[0]:
        per_job = (last[1] - first[1]) * 1024 / (last[0] - first[0])
        print(f"RSS {first[1]:.1f} MiB after job {first[0]} -> {last[1]:.1f} MiB after job {last[0]}: "
              f"{per_job:+.1f} KiB per job; {last[2] / last[0]:.2f} s per job")
        if len(samples) >= 4:
            half = samples[len(samples) // 2]
            late = (last[1] - half[1]) * 1024 / max(1, last[0] - half[0])
            print(f"  second half alone (job {half[0]} -> {last[0]}): {late:+.1f} KiB per job")
    snaps = result["snapshots"]
    if len(snaps) >= 2:
        (a, early), (b, late) = sorted(snaps.items())[:1][0], sorted(snaps.items())[-1]
        stats = late.compare_to(early, "traceback" if args.frames > 1 else "lineno")
        grown = sum(s.size_diff for s in stats)
        print(f"tracemalloc, job {a} -> {b}: {grown / 1024:+.1f} KiB in Python allocations "
              f"({grown / max(1, b - a):+.0f} B per job); the sites that grew most:")
        for stat in stats[:args.top]:
            if stat.size_diff <= 0:
                break
            frame = stat.traceback[-1]  # the allocating line (a traceback runs oldest to newest)
            print(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks  {_where(frame)}")
            for caller in list(stat.traceback)[-2::-1][:args.frames - 1]:
                print(f"        from {_where(caller)}")


def _where(frame) -> str:
    name = frame.filename
    return f"{os.path.relpath(name, REPO) if name.startswith(str(REPO)) else name}:{frame.lineno}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="main jobs to run at most (default 2000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="stop after this long (default 10)")
    parser.add_argument("--every", type=int, default=100, help="print RSS every N jobs (default 100)")
    parser.add_argument("--size", type=int, default=64, help="image width and height (default 64)")
    parser.add_argument("--light", action="store_true",
                        help="a three-node integer workflow instead of the main job (the server's own per-job costs)")
    parser.add_argument("--cache-memory", default=None, help="the server's memory tier (e.g. 0); default 4G")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations, print what grew")
    parser.add_argument("--warm", type=int, default=100, help="tracemalloc: the job of the first snapshot")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc: frames kept per allocation")
    parser.add_argument("--top", type=int, default=15, help="tracemalloc: sites printed")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("NODEGRAPH_DEMO_DIR", str(Path.home() / ".cache" / "nodegraph" / "demo"))
    print(f"{'light workflow' if args.light else f'main job at {args.size}px'}, up to {args.jobs} jobs or {args.minutes:g} min, memory tier "
          f"{args.cache_memory or 'default (4G)'}{', tracemalloc on' if args.tracemalloc else ''}", flush=True)
    report(run(args), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
