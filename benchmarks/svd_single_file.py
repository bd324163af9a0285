"""LoadSVD's single-file route against the diffusers folder it was exported from.

Exports a model to Stability's SGM single-file layout (tests/video/sgm_layout.py), then loads it
both ways through the video model manager's loader and prints side by side: seconds to a ready
pipeline, peak device memory while loading (the single file is read straight to the device
into meta-built modules), and whether every weight of the UNet, VAE and image encoder is
bit-identical.

    python benchmarks/svd_single_file.py                         # the tiny demo, CPU (seconds)
    python benchmarks/svd_single_file.py --full --device cuda    # SVD-XT size, random fp16 weights (~2 min)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def export(folder: Path, path: Path) -> None:
    """The diffusers folder's weights as one SGM-layout .safetensors file."""
    import json
    from safetensors.torch import load_file, save_file
    from tests.video.sgm_layout import to_sgm

    def component(name):
        state = {}
        for shard in sorted((folder / name).glob("*.safetensors")):
            state.update(load_file(str(shard)))
        return state
    unet_cfg = json.loads((folder / "unet" / "config.json").read_text())
    vae_cfg = json.loads((folder / "vae" / "config.json").read_text())
    tensors = to_sgm(component("unet"), component("vae"), component("image_encoder"), unet_cfg["layers_per_block"],
                     len(vae_cfg["block_out_channels"]), extras=False)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


def load(source, device: str):
    import torch
    from nodegraph_nodes.video.model_manager import load_pipeline
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    start = time.perf_counter()
    pipe = load_pipeline(source)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30 if device == "cuda" else float("nan")
    return pipe, seconds, peak


def main() -> None:
    import torch
    from nodegraph_nodes.video.model_manager import ModelSource
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="SVD-XT architecture, random fp16 weights")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--workdir", default=None, help="where the models are kept (default: a temp folder)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="svd-single-file-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.full:
        from benchmarks.svd_overhead import build_full
        folder, _lora = build_full(work, args.device)
        dtype = "float16"
    else:
        from nodegraph_nodes.video import demo
        folder = demo.materialise("demo:tiny-svd", work)
        dtype = "float32"
    file = work / f"{folder.name}.safetensors"
    if not file.exists():
        export(folder, file)
    print(f"{'SVD-XT size, random weights' if args.full else 'tiny demo SVD'}, {args.device}, {dtype}; "
          f"file {file.stat().st_size / 2**30:.2f} GiB")
    rows = {}
    pipes = {}
    for kind in ("folder", "single file"):
        source = (ModelSource("diffusers", str(folder), "folder", "f", args.device, dtype) if kind == "folder" else
                  ModelSource("single_file", str(file), "file", "s", args.device, dtype, config=str(folder)))
        pipes[kind], seconds, peak = load(source, args.device)
        rows[kind] = (seconds, peak)
    for kind, (seconds, peak) in rows.items():
        print(f"  {kind:12s} load {seconds:6.2f} s   peak device memory {peak:6.2f} GiB")
    print(f"  single file / folder load time: {rows['single file'][0] / rows['folder'][0]:.2f}")
    same = all(torch.equal(a, b) for name in ("unet", "vae", "image_encoder")
               for a, b in zip(getattr(pipes["folder"], name).state_dict().values(),
                               getattr(pipes["single file"], name).state_dict().values()))
    keys = all(getattr(pipes["folder"], n).state_dict().keys() == getattr(pipes["single file"], n).state_dict().keys()
               for n in ("unet", "vae", "image_encoder"))
    print(f"  identical weights (UNet, VAE, image encoder): {'yes' if same and keys else 'NO'}")
    print(f"  {pipes['single file'].single_file_conversion.summary()}")


if __name__ == "__main__":
    main()
