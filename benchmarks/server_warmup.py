"""The first job after `nodegraph serve` starts, with `--warmup` and without.

Each row starts a fresh `nodegraph serve` process (port 0, a new data folder), waits for its
warm-up to finish if it has one, then queues the main job over the websocket and
times it from `queue` to `done`. The warm-up is the main job at another seed, so the job itself
is not served from a cache (nor is the job: each row's prompt and seed are new). Rows: eager, and fast mode (`--compile`). Inductor's compile cache is
kept in the work folder and the server with a warm-up runs first, so the one without finds the
cache it filled: the comparison leaves out the first-ever compile, which would favour the warm-up.

    python benchmarks/server_warmup.py                   # tiny demo model, CPU
    python benchmarks/server_warmup.py --full --device cuda --workdir /tmp/sdxl-bench
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_timing import checkout_env  # noqa: E402 - also: this checkout first on the path, the hub offline
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))


def first_job(run: Path, job: dict, device: str, compiled: bool, warmups: tuple, models: Path):
    """(seconds from queue to done of the first job, seconds from the server's start until it
    listens and any warm-up has finished, the job's phases) for a fresh `nodegraph serve` process."""
    import re
    import subprocess
    from serverkit import Client
    run.mkdir(parents=True)
    cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--device", device,
           "--data-dir", str(run / "data"), "--out", str(run / "out"), "--models-dir", str(models),
           "--input-dir", str(run / "in"), "--cache-dir", str(models.parent / "cache-dir")] + (["--compile"] if compiled else [])
    for path in warmups:
        cmd += ["--warmup", str(path)]
    env = checkout_env()
    log = (run / "server.log").open("w+")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        serving = re.search(r":(\d+)/", proc.stdout.readline())  # "nodegraph: serving http://…:PORT/"
        if serving is None:
            proc.wait(60)
            sys.exit(f"nodegraph serve did not start:\n{(run / 'server.log').read_text()[-3000:]}")
        port = int(serving.group(1))
        deadline = time.monotonic() + 1800
        while warmups and "warm-up" not in _finished(run / "server.log"):
            assert proc.poll() is None and time.monotonic() < deadline, (run / "server.log").read_text()[-3000:]
            time.sleep(0.05)
        ready = time.perf_counter() - start
        with Client(port) as client:
            queued = time.perf_counter()
            events = client.events(client.queue(job)["job"], timeout=1800)
            took = time.perf_counter() - queued
    finally:
        proc.terminate()
        proc.wait(60)
    assert events[-1]["status"] == "success", events[-1]
    phases = {e["node"]: e["phases"] for e in events if e["event"] == "executed" and e.get("phases")}
    return took, ready, phases


def _finished(log: Path) -> str:
    """The log's warm-up end lines ("warm-up FILE: success, …" or "…: failed after …")."""
    return "\n".join(line for line in log.read_text().splitlines()
                     if "warm-up" in line and ": running" not in line)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--size", type=int, default=None, help="image size (default 256 tiny, 1024 full)")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    parser.add_argument("--no-compile", action="store_true", help="only the eager rows")
    args = parser.parse_args(argv)
    from lcm_overhead import build_full, main_job, model_label
    from nodegraph.run.devices import resolve_device

    device = resolve_device(args.device)
    size = args.size or (1024 if args.full else 256)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="server-warmup-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(work / "torch-compile"))
    models = work / "server-models"  # a server takes file inputs by name, from its models folder
    if args.full:
        paths = build_full(work, device)
        for kind, path in zip(("checkpoint", "lora", "lora"), paths):
            # Hard links: a server refuses symlinks that lead out of its folders; no bytes copied.
            (models / kind).mkdir(parents=True, exist_ok=True)
            link = models / kind / path.name
            if not link.exists():
                if path.is_dir():
                    shutil.copytree(path.resolve(), link, copy_function=os.link)
                else:
                    os.link(path.resolve(), link)
        base, lcm, style = (p.name for p in paths)
    else:
        base, lcm, style = "demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"
    job = main_job(base, lcm, style, size)
    warm = json.loads(json.dumps(job))
    warm["nodes"]["sampler"]["inputs"]["seed"] = 7
    warmup = work / "warmup.json"
    warmup.write_text(json.dumps(warm))
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, first job after the server starts",
          flush=True)

    results = {}
    modes = (False,) if args.no_compile else (False, True)
    for compiled in modes:
        for warmups in ((warmup,), ()):  # warm-up first: the row without finds the compile cache filled
            label = f"{'compiled' if compiled else 'eager'}, {'warm-up' if warmups else 'no warm-up'}"
            # A prompt and seed no row used before: the server's disk cache (shared, as the stored
            # import scans are) holds nothing of this job.
            row = json.loads(json.dumps(job))
            row["nodes"]["prompt"]["inputs"]["prompt"] += f", take {time.time_ns()}"
            row["nodes"]["sampler"]["inputs"]["seed"] = 1000 + len(results)
            first, ready, phases = first_job(work / f"run-{time.time_ns()}", row, device, compiled, warmups, models)
            results[label] = {"first_job_s": round(first, 3), "start_to_ready_s": round(ready, 3), "phases": phases}
            print(f"{label:24s} first job {first:8.2f} s   (server start to ready {ready:.2f} s)"
                  + (f"   phases {phases}" if phases else ""), flush=True)
    for compiled in modes:
        name = "compiled" if compiled else "eager"
        ratio = results[f"{name}, warm-up"]["first_job_s"] / results[f"{name}, no warm-up"]["first_job_s"]
        print(f"{name}: first job with / without warm-up {ratio:.3f}", flush=True)
    print(json.dumps({"device": device, "full": args.full, "size": size, "rows": results}))


if __name__ == "__main__":
    main()
