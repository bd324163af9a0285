"""Fast mode's compile wait, with the UNet's repeated blocks as nested compile regions and without.

Each run is a fresh `nodegraph run MAIN_JOB --no-cache --events jsonl` process with
NODEGRAPH_COMPILE=1 (what `--compile` sets), so what a user waits for counts: imports, loading,
tracing, code generation and the first compiled calls. Rows, interleaved round by round:

- regions (NODEGRAPH_COMPILE_REGIONS=1: each distinct transformer block compiled once, the default
  where no CUDA graphs are recorded) and inline (=0: every block traced and compiled where it
  stands, the default on a GPU until regions are measured there);
- each with an empty compile cache (a first `--compile` process, or a server's first start) and
  then with the cache that process filled (later processes, server restarts: the compiled code
  loads, the models are still traced).

Printed per row: wall seconds and the `compile` phases of the sampler and the decoder (compiling,
then that first call), median of --rounds; then regions/inline for each cache state.

    python benchmarks/compile_time.py                        # tiny demo model, CPU (minutes)
    python benchmarks/compile_time.py --full --device cuda --workdir /tmp/sdxl-bench
                                                             # SDXL-size random weights
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_timing import add_model_args  # noqa: E402 - also: this checkout first on the path, the hub offline
from cold_start import run_cli  # noqa: E402

MODES = {"regions": {"NODEGRAPH_COMPILE_REGIONS": "1"}, "inline": {"NODEGRAPH_COMPILE_REGIONS": "0"}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_args(parser, rounds="processes per row")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                        help="LoadSDXL's dtype (auto: float16 on a GPU, float32 on a CPU, where a --full "
                             "compile needs more than 24 GB: use bfloat16 there)")
    args = parser.parse_args(argv)
    from fast_mode import fp16_vae_variant
    from lcm_overhead import build_full, main_job, model_label
    from nodegraph.run.devices import resolve_device
    from nodegraph_nodes.sdxl import demo

    device = resolve_device(args.device)
    size = args.size or (1024 if args.full else 256)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="compile-time-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.full:  # as fast_mode.py: a VAE config that allows fp16
        base, lcm, style = build_full(work, device)
        base, lcm, style = str(fp16_vae_variant(base)), str(lcm), str(style)
    else:
        base, lcm, style = (str(demo.materialise(v, work / "demo")) for v in
                            ("demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"))
    job = main_job(base, lcm, style, size)
    job["nodes"]["model"]["inputs"]["dtype"] = args.dtype
    workflow = work / "main_job.json"
    workflow.write_text(json.dumps(job))
    os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)  # each mode's cache folder keeps its own compile cache
    backend = os.environ.get("NODEGRAPH_COMPILE_BACKEND", "inductor")
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, dtype {args.dtype}, compile backend {backend}, "
          f"one fresh `nodegraph run --compile --no-cache` process per run, median of {args.rounds}", flush=True)

    rows: dict[str, list] = {}
    for i in range(args.rounds):
        for mode in (list(MODES) if i % 2 == 0 else list(reversed(MODES))):
            cache_dir = work / f"cache-{mode}"
            shutil.rmtree(cache_dir / "torch-compile", ignore_errors=True)
            for state in ("empty compile cache", "filled compile cache"):
                env = {"NODEGRAPH_COMPILE": "1", **MODES[mode]}
                try:
                    rows.setdefault(f"{mode}, {state}", []).append(run_cli(workflow, work, device, env, cache_dir))
                except SystemExit as failed:  # a torch release that cannot: say so, keep the other rows
                    print(f"{mode}, {state}: {failed}"[-3000:], flush=True)
                    break
    results = {}
    for label, runs in rows.items():
        if not runs:
            continue
        wall = statistics.median(r[0] for r in runs)
        compile_s = {node: statistics.median(r[2]["_phases"].get(node, {}).get("compile", 0.0) for r in runs)
                     for node in ("sampler", "decode")}
        results[label] = {"wall_s": round(wall, 3), "all_s": [round(r[0], 3) for r in runs],
                          "compile_s": {k: round(v, 3) for k, v in compile_s.items()}}
        print(f"{label:34s} {wall:7.2f} s   compile: sampler {compile_s['sampler']:.2f} s, "
              f"decode {compile_s['decode']:.2f} s", flush=True)
    for state in ("empty compile cache", "filled compile cache"):
        if f"regions, {state}" not in results or f"inline, {state}" not in results:
            continue
        on, off = results[f"regions, {state}"], results[f"inline, {state}"]
        print(f"regions/inline, {state}: wall {on['wall_s'] / off['wall_s']:.3f}   sampler compile "
              f"{on['compile_s']['sampler'] / max(off['compile_s']['sampler'], 1e-9):.3f}", flush=True)
    print(json.dumps({"device": device, "full": args.full, "size": size, "backend": backend,
                      "rounds": args.rounds, "rows": results}))


if __name__ == "__main__":
    main()
