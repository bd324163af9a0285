"""Fast mode (--compile) against eager: the main job per image, warm, in one process.

Two sessions on two copies of the same model (one eager, one with ``env.compile``) run the
main job alternately with the cache off. Printed: the first compiled call (compilation), then
medians per image of time-to-image (all nodes but SaveImage) and of writing the PNG (SaveImage
alone), from the executor's per-node ``seconds``; and how far compiled pixels are from eager.

    python benchmarks/fast_mode.py                    # tiny demo model (CPU: inductor codegen, minutes)
    python benchmarks/fast_mode.py --full --device cuda --workdir /tmp/sdxl-bench
                                                      # real SDXL-size architecture, random weights

--regions-ablate adds a third session compiled with the other NODEGRAPH_COMPILE_REGIONS choice than
this device's default (transformer blocks as nested regions, or inline): what the regions cost or
save per image once compiled (benchmarks/compile_time.py measures their compile time).

--full loads a variant of lcm_overhead.py's random SDXL folder whose VAE config allows fp16
(force_upcast false, as an fp16-safe VAE such as sdxl-vae-fp16-fix ships), so "fp16 VAE where
the checkpoint allows it" is part of what is measured; --fp32-vae keeps the upcast VAE.
Goal on an H200: <= 0.10 s per 1024² 4-step image (raw diffusers with CUDA graphs: 0.139 s).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest.mock import patch


from bench_timing import demo_dir as default_demo_dir, sync  # noqa: E402 - also: this checkout first on the path
from lcm_overhead import build_full, main_job, model_label  # noqa: E402


def fp16_vae_variant(base: Path) -> Path:
    """``base`` with a VAE config that allows fp16 (every other file linked, not copied)."""
    variant = base.with_name(base.name + "-fp16vae")
    if variant.exists():
        return variant
    tmp = Path(tempfile.mkdtemp(prefix=".fp16vae.", dir=base.parent))
    for item in base.iterdir():
        if item.name != "vae":
            (tmp / item.name).symlink_to(item.resolve())
    (tmp / "vae").mkdir()
    for item in (base / "vae").iterdir():
        if item.name != "config.json":
            (tmp / "vae" / item.name).symlink_to(item.resolve())
    config = json.loads((base / "vae" / "config.json").read_text())
    config["force_upcast"] = False
    (tmp / "vae" / "config.json").write_text(json.dumps(config, indent=2))
    os.rename(tmp, variant)
    return variant


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--size", type=int, default=None, help="image size (default 256 tiny, 1024 full)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fp32-vae", action="store_true", help="--full: keep the upcast (fp32) VAE")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    parser.add_argument("--regions-ablate", action="store_true",
                        help="also a session compiled with the other NODEGRAPH_COMPILE_REGIONS choice")
    args = parser.parse_args(argv)

    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.run.devices import resolve_device
    from nodegraph.run.events import CollectingSink
    from nodegraph.files.roots import FileRoots
    from nodegraph.run.session import Session
    from nodegraph_nodes.sdxl import fast
    from nodegraph_nodes.sdxl.model_manager import ModelManager

    device = resolve_device(args.device)
    size = args.size or (1024 if args.full else 256)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fast-mode-"))
    demo_dir = default_demo_dir()
    if args.full:
        base, lcm, style = build_full(work, device)
        base = base if args.fp32_vae else fp16_vae_variant(base)
        base, lcm, style = str(base), str(lcm), str(style)
    else:
        base, lcm, style = "demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"
    workflow = main_job(base, lcm, style, size)

    # "compiled" takes this device's default; the ablation, the other choice ("regions" or "inline")
    default_regions = fast.regions(device)
    default_label, other_label = ("regions", "inline") if default_regions else ("inline", "regions")
    other = other_label if args.regions_ablate else None
    modes = ("eager", "compiled") + ((other,) if other else ())
    sessions = {}
    for mode in modes:
        env = Environment(files=FileRoots(output_dir=work / f"out-{mode}"), device=device, demo_dir=demo_dir)
        env.compile = mode != "eager"
        env.services["sdxl_models"] = ModelManager()
        sessions[mode] = Session(env=env, cache=Cache(enabled=False))
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, "
          f"4 LCM steps, compile backend {fast.backend()}", flush=True)

    def once(mode: str) -> dict:
        sink = CollectingSink()
        sync(device)
        start = time.perf_counter()
        result = sessions[mode].run(workflow, sink=sink)
        sync(device)
        wall = time.perf_counter() - start
        assert result.ok, result.error
        seconds = {e["node"]: e["seconds"] for e in sink.of("executed")}
        return {"wall": wall, "image": sum(v for k, v in seconds.items() if k != "save"),
                "write": seconds.get("save", 0.0), "png": result.outputs[0], "nodes": seconds}

    first_eager = once("eager")  # loads the model; first-call costs
    first = once("compiled")  # loads + compiles (UNet, VAE decoder) + first CUDA-graph recording
    second = once("compiled")  # CUDA-graph trees record on the second call of a shape
    if other:  # compiled on its first call, so the setting is read then
        try:
            with patch.dict(os.environ, {"NODEGRAPH_COMPILE_REGIONS": "0" if default_regions else "1"}):
                first_other = once(other)
            once(other)
        except AssertionError as failed:  # a torch release that cannot: say so, keep the other rows
            print(f"compiled with blocks {other} failed: {failed}"[:2000], flush=True)
            other, modes = None, modes[:2]
    manager = sessions["eager"].env.services["sdxl_models"]
    with manager.use(_handle(manager), parts="vae") as pipe:
        vae_dtype = str(next(pipe.vae.parameters()).dtype).replace("torch.", "")
    print(f"first call   eager {first_eager['wall']:7.2f} s   compiled {first['wall']:7.2f} s "
          f"(compilation ~{first['wall'] - first_eager['wall']:.1f} s)   second compiled {second['wall']:.2f} s   "
          f"VAE {vae_dtype}", flush=True)
    if other:
        print(f"first call   compiled, blocks {other} {first_other['wall']:7.2f} s "
              f"(default here: {default_label}; compile caches shared)", flush=True)
    times = {mode: [] for mode in modes}
    for i in range(args.rounds):
        for mode in (modes if i % 2 == 0 else modes[::-1]):
            times[mode].append(once(mode))
    med = {mode: {k: statistics.median(r[k] for r in runs) for k in ("wall", "image", "write")}
           for mode, runs in times.items()}
    for mode in modes:
        m = med[mode]
        print(f"{mode:9s} per image {m['wall'] * 1000:8.1f} ms   time-to-image {m['image'] * 1000:8.1f} ms   "
              f"PNG write {m['write'] * 1000:7.1f} ms", flush=True)
    nodes = {mode: {node: statistics.median(r["nodes"][node] for r in runs) for node in runs[0]["nodes"]}
             for mode, runs in times.items()}
    for mode in modes:  # where time-to-image goes: prompt, sampler (4 steps), decode
        print(f"{mode:9s} per node  " + "   ".join(f"{k} {v * 1000:.1f} ms" for k, v in nodes[mode].items()
                                                  if k != "save"), flush=True)
    ratio = med["compiled"]["image"] / med["eager"]["image"]
    diff = _pixel_diff(times["eager"][-1]["png"], times["compiled"][-1]["png"])
    print(f"compiled/eager time-to-image {ratio:.3f}   max pixel difference {diff} / 255", flush=True)
    if other:
        print(f"compiled ({default_label}) / {other}, time-to-image "
              f"{med['compiled']['image'] / med[other]['image']:.3f}", flush=True)
    print(json.dumps({"device": device, "full": args.full, "size": size, "vae": vae_dtype,
                      "first_call_s": {"eager": round(first_eager["wall"], 3), "compiled": round(first["wall"], 3),
                                       "second_compiled": round(second["wall"], 3)},
                      "ms": {mode: {k: round(v * 1000, 2) for k, v in m.items()} for mode, m in med.items()},
                      "node_ms": {mode: {k: round(v * 1000, 2) for k, v in n.items()} for mode, n in nodes.items()},
                      "compiled_over_eager": round(ratio, 4), "max_pixel_diff": diff}))


def _handle(manager):
    from nodegraph_nodes.sdxl.model_manager import ModelHandle
    return ModelHandle(manager.loaded()[-1])


def _pixel_diff(a: str, b: str) -> int:
    import numpy as np
    from PIL import Image
    with Image.open(a) as x, Image.open(b) as y:
        return int(np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16)).max())


if __name__ == "__main__":
    main()
