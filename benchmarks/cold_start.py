"""A cold `nodegraph run` of the main job: one fresh process per image, before and after.

Each run is `python -m nodegraph.cli run MAIN_JOB --no-cache --events jsonl` in a new process
(so Python start-up, imports, CUDA init, loading, LoRA merging, provenance hashing and the image
all count). Variants:

- before: LoRAs fused through peft adapter injection (NODEGRAPH_FUSE_VIA=peft), weights loaded
  on the CPU then moved (NODEGRAPH_LOAD_VIA=cpu), an empty cache folder (every file hashed,
  every installed distribution and transformers' own source scanned when they are imported);
- after, first process: the defaults with an empty cache folder (digests and both scans
  computed once and stored);
- after: the defaults with what a previous process stored (the usual cold run).

Each variant runs twice, by the state of Python's bytecode cache (PYTHONPYCACHEPREFIX):
- "no .pyc": an empty prefix that is never written, so every module is compiled from source in
  every process (a read-only install without .pyc, as on the GPU host measured before);
- ".pyc": a prefix a warm-up run filled with the bytecode of every module a run imports (what a
  normal `pip install` leaves next to the sources).

Then, with the defaults: weights loaded on the CPU and moved (against straight to the device),
and the machine's own bytecode state (no prefix set: a read-only install without .pyc gets its
bytecode kept in the cache folder by nodegraph itself; the first process compiles it).

Printed: wall time per variant (median of --rounds), the per-node seconds of its `executed`
events, and the floor: a process that only imports torch and the SDXL pipeline class and makes
the CUDA context (once more with diffusers' distribution scan and transformers' source scan
served from stored copies, which isolates what that saves).

    python benchmarks/cold_start.py                                  # tiny demo model, CPU
    python benchmarks/cold_start.py --full --device cuda --workdir /tmp/sdxl-bench
                                                                     # SDXL-size random weights
    ... --profile cold.prof                                          # and where one process goes
    ... --python /tmp/lean/bin/python                                # in a lean environment (lean_env.py)
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
from functools import partial
from pathlib import Path

from bench_timing import add_model_args, checkout_env  # noqa: E402 - also: this checkout first on the path

# --ablate: the usual cold run, then with one speed-up turned off at a time.
ABLATIONS = {
    "after": {},
    "  device warm-up off": {"NODEGRAPH_WARM_DEVICE": "0"},
    "  weights not read ahead": {"NODEGRAPH_PREFETCH": "0"},
    "  interpreter teardown at exit": {"NODEGRAPH_FAST_EXIT": "0"},
    "  import scans recomputed": {"NODEGRAPH_STORED_SCANS": "0"},
    "  torch._dynamo imported up front": {"NODEGRAPH_DEFER_DYNAMO": "0"},
}
VARIANTS = {
    "before": {"NODEGRAPH_FUSE_VIA": "peft", "NODEGRAPH_LOAD_VIA": "cpu"},
    "after, first process": {},
    "after": {},
}
FLOOR = "import torch + the SDXL pipeline class, CUDA context"


def bytecode_env(prefix: Path, write: bool = False) -> dict:
    """Python reads (and with ``write`` stores) bytecode only under ``prefix``."""
    env = {"PYTHONPYCACHEPREFIX": str(prefix)}
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def child_env(extra_env: dict) -> dict:
    """A benchmark child's environment: offline, this repo first on the path, and Python's
    bytecode settings only as ``extra_env`` sets them."""
    env = checkout_env(extra_env)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        if name not in extra_env:
            env.pop(name, None)
    return env


def run_cli(workflow: Path, work: Path, device: str, extra_env: dict, cache_dir: Path,
            profile: Path | None = None, python: str = sys.executable) -> tuple[float, dict, dict]:
    """(wall seconds, per-node seconds, the ``done`` event with ``_startup_s`` and ``_exit_s``
    added: process start to the ``start`` event, and the ``done`` event to the process's end)."""
    # Under cProfile the process must end through Python's exit, which writes the profile.
    env = child_env({**extra_env, "NODEGRAPH_FAST_EXIT": "0"} if profile else extra_env)
    # --cache-dir only decides where digests, the import scans and (for a read-only install)
    # bytecode are kept: --no-cache keeps every node running.
    cmd = [python] + (["-m", "cProfile", "-o", str(profile)] if profile else []) + [
        "-m", "nodegraph.cli", "run", str(workflow), "--no-cache", "--cache-dir", str(cache_dir),
        "--out", str(work / "out"), "--events", "jsonl", "--device", device]
    arrived: dict[str, float] = {}  # event name -> seconds since the process started
    events = []
    with tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        with subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=stderr, text=True) as proc:
            for line in proc.stdout:  # the CLI flushes each event line: arrival times are the child's
                if line.startswith("{"):
                    events.append(json.loads(line))
                    arrived.setdefault(events[-1]["event"], time.perf_counter() - start)
            returncode = proc.wait(timeout=900)
        wall = time.perf_counter() - start
        if returncode != 0:
            stderr.seek(0)
            sys.exit(f"nodegraph run failed ({returncode}):\n{stderr.read()[-4000:]}")
    seconds = {e["node"]: e.get("seconds", 0.0) for e in events if e["event"] == "executed"}
    done = {**events[-1], "_startup_s": arrived.get("start", 0.0), "_exit_s": wall - arrived.get("done", wall),
            "_phases": {e["node"]: e["phases"] for e in events if e["event"] == "executed" and "phases" in e}}
    return wall, seconds, done


def import_and_init(device: str, extra_env: dict, scan_store: Path | None = None,
                    python: str = sys.executable) -> float:
    """A process that only imports torch and the SDXL pipeline class and makes the CUDA context
    (with ``scan_store``: diffusers' distribution scan and transformers' source scan served from
    there, and torch._dynamo deferred, as ``nodegraph run`` does)."""
    trimmed = f"trimmed_imports(Path({str(scan_store)!r}))"
    code = ("import torch, contextlib\n"
            "from pathlib import Path\n"
            "from nodegraph.startup.trimmed_imports import trimmed_imports\n"
            f"with {trimmed if scan_store else 'contextlib.nullcontext()'}:\n"
            "    from diffusers import StableDiffusionXLPipeline\n"
            f"torch.zeros(1, device={device!r})\n"
            "torch.cuda.synchronize() if torch.cuda.is_available() else None\n"
            "import os; os._exit(0)  # the interpreter's teardown is not part of the floor\n")
    env = child_env(extra_env)
    start = time.perf_counter()
    subprocess.run([python, "-c", code], env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_args(parser, rounds="processes per variant")
    parser.add_argument("--python", default=None, metavar="PATH",
                        help="run the processes with this interpreter (e.g. a lean environment from lean_env.py)")
    parser.add_argument("--pyc-only", action="store_true",
                        help="skip the rows without a bytecode cache (the slowest processes)")
    parser.add_argument("--ablate", action="store_true",
                        help="only the usual cold run [.pyc] and the same with one speed-up turned off at a "
                             "time (ABLATIONS), interleaved round by round: what each is worth, quickly")
    parser.add_argument("--importtime", action="store_true",
                        help="with --ablate: one more cold process under -X importtime, its costliest imports")
    parser.add_argument("--profile", default=None, metavar="FILE",
                        help="also run one 'after [.pyc]' process under cProfile, save it to FILE and print its top")
    args = parser.parse_args(argv)
    if args.python:  # that interpreter's own packages only (e.g. a lean environment, lean_env.py)
        os.environ.pop("PYTHONPATH", None)
    python = args.python or sys.executable
    run, init = partial(run_cli, python=python), partial(import_and_init, python=python)
    from lcm_overhead import build_full, main_job, model_label
    from nodegraph.run.devices import resolve_device
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
    print(f"python {python}" + (" (only its own packages)" if args.python else ""), flush=True)
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, one fresh `nodegraph run --no-cache` "
          f"process per run, median of {args.rounds}", flush=True)

    empty_prefix, filled_prefix = work / "pycache-empty", work / "pycache-filled"
    shutil.rmtree(empty_prefix, ignore_errors=True)
    shutil.rmtree(filled_prefix, ignore_errors=True)
    cache_dir = work / "cache-dir"
    # Warm-up: stores the bytecode of every module a run of either route imports (and makes the
    # page cache warm).
    for extra in (VARIANTS["after"],) if args.ablate else (VARIANTS["before"], VARIANTS["after"]):
        shutil.rmtree(cache_dir, ignore_errors=True)
        run(workflow, work, device, {**extra, **bytecode_env(filled_prefix, write=True)}, cache_dir)
    init(device, bytecode_env(filled_prefix, write=True))
    bytecode = {"no .pyc": bytecode_env(empty_prefix), ".pyc": bytecode_env(filled_prefix)}
    if args.pyc_only:  # the no-.pyc processes take 30-47 s each at SDXL size on a GPU host
        del bytecode["no .pyc"]

    results: dict = {"floor_s": {}}
    scan_store = work / "scan-store"
    if args.ablate:
        ablate(run, init, workflow, work, device, cache_dir, bytecode_env(filled_prefix), scan_store, args.rounds)
        if args.importtime:
            print_imports(python, workflow, work, device, cache_dir, bytecode_env(filled_prefix))
        return
    init(device, bytecode_env(filled_prefix), scan_store)  # stores the scan
    for state, pyc_env in bytecode.items():
        floor = median(init(device, pyc_env) for _ in range(args.rounds))
        results["floor_s"][state] = round(floor, 3)
        print(f"{FLOOR + ' [' + state + ']':58s} {floor:6.2f} s", flush=True)
    stored = median(init(device, bytecode[".pyc"], scan_store) for _ in range(args.rounds))
    results["floor_s"][".pyc, import scans stored, dynamo deferred"] = round(stored, 3)
    print(f"{'  the same, scans stored, torch._dynamo deferred [.pyc]':58s} {stored:6.2f} s", flush=True)
    for state, pyc_env in bytecode.items():
        for name, extra in VARIANTS.items():
            runs = []
            for _ in range(args.rounds):
                if name != "after":  # an empty cache folder: every file hashed, distributions scanned
                    shutil.rmtree(cache_dir, ignore_errors=True)
                runs.append(run(workflow, work, device, {**extra, **pyc_env}, cache_dir))
            wall = median(r[0] for r in runs)
            _, seconds, done = min(runs, key=lambda r: abs(r[0] - wall))
            label = f"{name} [{state}]"
            results[label] = {"wall_s": round(wall, 3), "nodes_s": {k: round(v, 3) for k, v in seconds.items()}}
            print(f"{label:58s} {wall:6.2f} s   {done['status']}   {timeline(seconds, done)}", flush=True)
    # The same defaults, other conditions (one bytecode state each):
    # - weights loaded on the CPU then moved, against straight to the device;
    # - Python's bytecode as this machine's install has it (no prefix set): where the libraries
    #   are read-only without .pyc, nodegraph keeps their bytecode in the cache folder, so the
    #   first process compiles and the later ones read.
    shutil.rmtree(cache_dir / "pycache", ignore_errors=True)
    others = [("after, weights loaded via the CPU [.pyc]", {"NODEGRAPH_LOAD_VIA": "cpu", **bytecode[".pyc"]}),
              ("after [as installed], first process", {}), ("after [as installed]", {})]
    for label, extra in others:
        runs = [run(workflow, work, device, extra, cache_dir)
                for _ in range(1 if "first process" in label else args.rounds)]
        wall = median(r[0] for r in runs)
        seconds = min(runs, key=lambda r: abs(r[0] - wall))[1]
        results[label] = {"wall_s": round(wall, 3), "nodes_s": {k: round(v, 3) for k, v in seconds.items()}}
        nodes = "  ".join(f"{k} {v:.2f}" for k, v in seconds.items())
        print(f"{label:58s} {wall:6.2f} s   nodes: {nodes}", flush=True)
    kept = sum(1 for _ in (cache_dir / "pycache").rglob("*.pyc")) if (cache_dir / "pycache").is_dir() else 0
    results["bytecode_kept_in_cache_folder"] = kept
    print(f"as installed: {kept} modules' bytecode kept in the cache folder "
          f"({'read-only install without .pyc' if kept else 'the install has or writes its own .pyc'})", flush=True)
    for state in bytecode:
        ratio = results[f"after [{state}]"]["wall_s"] / results[f"before [{state}]"]["wall_s"]
        print(f"after/before [{state}] {ratio:.3f}", flush=True)
    if args.profile:
        profile = Path(args.profile)
        run(workflow, work, device, bytecode[".pyc"], cache_dir, profile=profile)
        print_profile(profile)
    print(json.dumps({"device": device, "full": args.full, "size": size, "rounds": args.rounds, **results}))


def ablate(run, init, workflow: Path, work: Path, device: str, cache_dir: Path, pyc_env: dict,
           scan_store: Path, rounds: int) -> None:
    """The floor, then ABLATIONS interleaved round by round (drift spreads over every row)."""
    floor = median(init(device, pyc_env, scan_store) for _ in range(rounds))
    print(f"{FLOOR + ' [.pyc, scans stored, dynamo deferred]':58s} {floor:6.2f} s", flush=True)
    runs: dict[str, list] = {name: [] for name in ABLATIONS}
    for i in range(rounds):
        names = list(ABLATIONS) if i % 2 == 0 else list(reversed(ABLATIONS))
        for name in names:
            runs[name].append(run(workflow, work, device, {**ABLATIONS[name], **pyc_env}, cache_dir))
    results = {"floor_s": round(floor, 3)}
    for name, rows in runs.items():
        wall = median(r[0] for r in rows)
        _, seconds, done = min(rows, key=lambda r: abs(r[0] - wall))
        results[name.strip()] = {"wall_s": round(wall, 3), "all_s": [round(r[0], 3) for r in rows],
                                 "nodes_s": {k: round(v, 3) for k, v in seconds.items()},
                                 "startup_s": round(done["_startup_s"], 3), "exit_s": round(done["_exit_s"], 3),
                                 "phases_s": done["_phases"]}
        print(f"{name + ' [.pyc]':58s} {wall:6.2f} s   {timeline(seconds, done)}", flush=True)
    for name in list(ABLATIONS)[1:]:
        print(f"after / ({name.strip()}) {results['after']['wall_s'] / results[name.strip()]['wall_s']:.3f}")
    print(json.dumps({"device": device, "rounds": rounds, "ablate": results}))


def print_imports(python: str, workflow: Path, work: Path, device: str, cache_dir: Path, pyc_env: dict,
                  top: int = 25) -> None:
    """One cold run under ``-X importtime``: the imports that cost most, with what pulled them in
    (the chain of importers above each), by cumulative time. Import timing adds a few percent."""
    env = child_env(pyc_env)
    cmd = [python, "-X", "importtime", "-m", "nodegraph.cli", "run", str(workflow), "--no-cache", "--cache-dir",
           str(cache_dir), "--out", str(work / "out"), "--quiet", "--device", device]
    proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=900)
    rows = []  # (cumulative us, depth, name) in the order Python reports them (children first)
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(cumulative), (len(name) - len(name.lstrip())) // 2, name.strip()))
    total = sum(c for c, depth, _ in rows if depth == 0) / 1e6
    print(f"== -X importtime of one cold run: {total:.2f} s of imports; costliest (depth <= 2) ==")
    for i, (cumulative, depth, name) in enumerate(rows):
        if depth > 2:
            continue
        parents, level = [], depth
        for later in rows[i + 1:]:  # importers are reported after what they imported
            if later[1] < level:
                parents.append(later[2])
                level = later[1]
        rows[i] = (cumulative, depth, name + (" <- " + " <- ".join(parents) if parents else ""))
    for cumulative, depth, label in sorted((r for r in rows if r[1] <= 2), reverse=True)[:top]:
        print(f"{cumulative / 1e6:7.2f} s  {label}", flush=True)


def timeline(seconds: dict, done: dict) -> str:
    """Process start to the first event, each node (with the phases it reported: imports,
    load, LoRAs), and ``done`` to the process's end."""
    def node(name: str, took: float) -> str:
        phases = done.get("_phases", {}).get(name)
        return f"{name} {took:.2f}" + (f" ({', '.join(f'{k} {v:.2f}' for k, v in phases.items())})" if phases else "")
    nodes = "  ".join(node(k, v) for k, v in seconds.items())
    return f"start {done['_startup_s']:.2f} | {nodes} | exit {done['_exit_s']:.2f}"


def print_profile(path: Path, top: int = 40) -> None:
    """Where a cold process spends its time: the slowest calls by cumulative time (imports,
    loading, merging, sampling), and the top of the import tree."""
    import io
    import pstats
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"== cProfile of one cold process ({path}), top {top} by cumulative time (profiling slows it) ==")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-12000:], flush=True)


def median(values) -> float:
    import statistics
    return statistics.median(list(values))


if __name__ == "__main__":
    main()
