"""Where a cold process's model loading goes, and what overlaps: the measurements behind the
cold-start work (issue: cold CLI run at SDXL size).

Fresh processes (median of --rounds, alternating), each printing its own timeline:
- in line: import torch, make the CUDA context, first cuBLAS call, first cuDNN call, import the
  SDXL pipeline class, read every component's weights to the device (safetensors), exit;
- the same with the context and library warm-up on a background thread during the import;
- the same with the weights read on a background thread during the import, by safetensors and
  by nodegraph's own reader (``prefetch.py``, which releases the GIL);
- an ordinary exit against ``os._exit`` (the interpreter's teardown).

Then in one warm process: each component through its library's ``from_pretrained`` against a raw
safetensors read to the device and against building it on the meta device and assigning the
read weights; and the whole pipeline through nodegraph's loader, straight to the device and via
the CPU.

    python benchmarks/load_parts.py                                    # tiny demo model, CPU
    python benchmarks/load_parts.py --full --device cuda --workdir /tmp/sdxl-bench
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_timing  # noqa: E402, F401 - this checkout first on the path, the hub offline

COMPONENTS = ("unet", "text_encoder", "text_encoder_2", "vae")

# One fresh process: argv = device, model folder, mode. Prints a JSON timeline (seconds since
# the interpreter started, read from /proc/self/stat's start time) as its last line.
CHILD = r'''
import json, os, sys, threading, time
def since_start():
    # seconds since this process started (its start time from /proc, in clock ticks since boot)
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
device, folder, mode = sys.argv[1], sys.argv[2], sys.argv[3]
marks = {}
def mark(name):
    marks[name] = round(since_start(), 3)
mark("python")
import torch
mark("torch")
files = [os.path.join(folder, c, f) for c in ("unet", "text_encoder", "text_encoder_2", "vae")
         for f in sorted(os.listdir(os.path.join(folder, c))) if f.endswith(".safetensors")]
def warm():
    if device != "cuda":
        return
    x = torch.ones(1, 1, 64, 64, device="cuda", dtype=torch.float16)
    x[0, 0] @ x[0, 0]
    torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device="cuda", dtype=torch.float16))
    torch.cuda.synchronize()
loaded = {}
def read_all(reader):
    for path in files:
        loaded[path] = reader(path)
    if device == "cuda":
        torch.cuda.synchronize()
def read():
    from safetensors.torch import load_file
    read_all(lambda path: load_file(path, device=device))
def prefetch():  # nodegraph's reader (nodes/sdxl/prefetch.py): GIL released while reading and copying
    from nodegraph_nodes.sdxl.prefetch import read_safetensors
    dtype = torch.float16 if device == "cuda" else torch.float32
    read_all(lambda path: read_safetensors(path, device, dtype))
background = {"warm-behind": warm, "read-behind": read, "prefetch-behind": prefetch}.get(mode)
thread = threading.Thread(target=background) if background else None
if thread:
    thread.start()
elif mode in ("inline", "exit-ordinary", "exit-os"):
    warm()
    mark("context+libraries")
from diffusers import StableDiffusionXLPipeline
mark("pipeline class")
if thread:
    thread.join()
    mark("background joined")
if mode not in ("read-behind", "prefetch-behind"):
    read()
    mark("weights read")
print(json.dumps(marks), flush=True)
if mode == "exit-os":
    os._exit(0)
'''


def child(device: str, folder: Path, mode: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, device, str(folder), mode], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"child {mode} failed:\n{proc.stderr[-3000:]}")
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    marks["process end"] = round(wall, 3)
    return marks


def fresh_processes(device: str, folder: Path, rounds: int) -> None:
    modes = ("inline", "warm-behind", "read-behind", "prefetch-behind", "exit-ordinary", "exit-os")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    child(device, folder, "inline")  # page cache and bytecode warm
    for i in range(rounds):
        for mode in (modes if i % 2 == 0 else tuple(reversed(modes))):
            runs[mode].append(child(device, folder, mode))
    print("== fresh processes: seconds since the process started (median of each mark) ==")
    for mode, rows in runs.items():
        names = list(rows[0])
        med = {n: statistics.median(r[n] for r in rows) for n in names}
        steps, last = [], 0.0
        for n in names:
            steps.append(f"{n} {med[n]:.2f} (+{med[n] - last:.2f})")
            last = med[n]
        print(f"{mode:16s} " + "  ".join(steps), flush=True)
    end = {m: statistics.median(r["process end"] for r in rows) for m, rows in runs.items()}
    print(f"warm-behind/inline {end['warm-behind'] / end['inline']:.3f}   "
          f"read-behind/inline {end['read-behind'] / end['inline']:.3f}   "
          f"prefetch-behind/inline {end['prefetch-behind'] / end['inline']:.3f}   "
          f"teardown: ordinary exit - os._exit = {end['exit-ordinary'] - end['exit-os']:.2f} s", flush=True)


def timed(fn, device: str):
    from bench_timing import sync
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def warm_process(device: str, folder: Path, rounds: int) -> None:
    import gc

    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPTextModelWithProjection
    from nodegraph_nodes.sdxl.model_manager import ModelSource, load_pipeline, quiet_loaders

    dtype = torch.float16 if device == "cuda" else torch.float32
    classes = {"unet": UNet2DConditionModel, "vae": AutoencoderKL, "text_encoder": CLIPTextModel,
               "text_encoder_2": CLIPTextModelWithProjection}

    def weights(name):
        return [p for p in sorted((folder / name).iterdir()) if p.suffix == ".safetensors"]

    def library(name):
        cls = classes[name]
        extra = {"device_map": device} if device != "cpu" else {}
        return cls.from_pretrained(str(folder), subfolder=name, torch_dtype=dtype, local_files_only=True, **extra)

    def raw(name):
        out = {}
        for path in weights(name):
            out.update(load_file(str(path), device=device))
        return out

    def meta_assign(name, state):
        cls = classes[name]
        with torch.device("meta"):
            if name in ("unet", "vae"):
                model = cls.from_config(cls.load_config(str(folder / name)))
            else:
                model = cls(cls.config_class.from_pretrained(str(folder / name)))
        model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False, assign=True)
        return model

    rows: dict[str, list[float]] = {}
    with quiet_loaders():
        for i in range(rounds + 1):  # the first round warms up and is dropped
            for name in COMPONENTS:
                for label, fn in ((f"{name}: from_pretrained", lambda: library(name)),
                                  (f"{name}: safetensors read only", lambda: raw(name))):
                    seconds, out = timed(fn, device)
                    if label.endswith("read only"):
                        state = out
                    del out
                    if i:
                        rows.setdefault(label, []).append(seconds)
                seconds, out = timed(lambda: meta_assign(name, state), device)
                del out, state
                if i:
                    rows.setdefault(f"{name}: meta + assign (after the read)", []).append(seconds)
                gc.collect()
            for label, straight in (("pipeline: nodegraph loader, straight to the device", True),
                                    ("pipeline: nodegraph loader, via the CPU", False)):
                source = ModelSource("diffusers", str(folder), "bench", "bench", device, str(dtype).split(".")[1])
                seconds, out = timed(lambda: load_pipeline(source, straight_to_device=straight), device)
                del out
                gc.collect()
                if device == "cuda":
                    torch.cuda.empty_cache()
                if i:
                    rows.setdefault(label, []).append(seconds)
    print(f"== one warm process, median of {rounds} ==")
    for label, values in rows.items():
        print(f"{label:58s} {statistics.median(values) * 1000:8.1f} ms", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    args = parser.parse_args(argv)
    from lcm_overhead import build_full, model_label
    from nodegraph.run.devices import resolve_device
    from nodegraph_nodes.sdxl import demo

    device = resolve_device(args.device)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="load-parts-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.full:
        folder = build_full(work, device)[0]
    else:
        folder = demo.materialise("demo:tiny-sdxl", work / "demo")
    print(f"device {device}, {model_label(args.full)}, {folder}", flush=True)
    fresh_processes(device, Path(folder), args.rounds)
    warm_process(device, Path(folder), args.rounds)


if __name__ == "__main__":
    main()
