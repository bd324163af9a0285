"""What the engine, camera LoRAs and interpolation cost around Stable Video Diffusion.

(a) image → video latents → frames through the engine (LoadImage, LoadSVD, CameraMotionLoRA
    fused, SVDImageToVideo) vs the same diffusers calls written directly on a pipeline whose
    weights have the same LoRA merged by hand; A/B alternated, cache off, manager warm;
(b) UNet step time (CFG batch 2) with the camera LoRA fused vs unfused vs no LoRA;
(c) Interpolate ×4 (flow) frames per second at 576×1024;
(d) with --full: one UNet step at 14 frames 576×1024 with CFG, and the temporal VAE decode of
    14 frames, on the real SVD-XT architecture (random weights, fp16) — the H200 anchors are
    368 ms and 1.19 s.

    python benchmarks/svd_overhead.py                       # tiny demo model (CPU is fine)
    python benchmarks/svd_overhead.py --full --device cuda  # SVD-XT size, random weights, ~2-3 min

Targets: engine/direct <= 1.02, fused/no-LoRA <= 1.01.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path


from bench_timing import alternated, demo_dir as default_demo_dir, engine_and_direct, timed  # noqa: E402 - also: this checkout first on the path
from nodegraph_nodes.video import svd_xt  # noqa: E402  (real SVD-XT sizes, random weights)

FULL_LORA = dict(name="full-camera", seed=7, rank=32, scale=0.3)


def build_full(folder: Path, device: str) -> tuple[Path, Path]:
    import torch
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    from nodegraph_nodes.video.demo.recipes import HERE, write_lora
    base = folder / "svd-xt-random"
    if not base.exists():
        torch.manual_seed(0)
        with torch.device(device):  # random init on the GPU: seconds instead of minutes
            parts = dict(unet=UNetSpatioTemporalConditionModel(**svd_xt.UNET),
                         vae=AutoencoderKLTemporalDecoder(**svd_xt.VAE),
                         image_encoder=CLIPVisionModelWithProjection(CLIPVisionConfig(**svd_xt.IMAGE_ENCODER)))
        parts = {k: v.half() for k, v in parts.items()}
        pipe = StableVideoDiffusionPipeline(
            **parts, scheduler=EulerDiscreteScheduler.from_config(json.loads((HERE / "scheduler.json").read_text())),
            feature_extractor=CLIPImageProcessor(**json.loads((HERE / "feature_extractor.json").read_text())))
        pipe.save_pretrained(base, safe_serialization=True)
        del pipe, parts
    lora = folder / "full-camera.safetensors"
    if not lora.exists():
        write_lora(base, FULL_LORA, lora)
    return base, lora


def workflow(base: str, lora: str, start: str, args) -> dict:
    n = {"image": {"type": "LoadImage", "inputs": {"image": start}},
         "model": {"type": "LoadSVD", "inputs": {"checkpoint": base}},
         "camera": {"type": "CameraMotionLoRA", "inputs": {"model": {"from": "model", "output": "model"},
                                                          "lora": lora, "strength": 1.0, "fuse": True}},
         "svd": {"type": "SVDImageToVideo", "inputs": {
             "model": {"from": "camera", "output": "model"}, "image": {"from": "image", "output": "image"},
             "frames": args.frames, "width": args.width, "height": args.height, "steps": args.steps, "seed": 42,
             "decode_chunk_size": args.chunk}},
         "sink": {"type": "BenchSink", "inputs": {"value": {"from": "svd", "output": "video"}}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": n}


def direct_job(pipe, image, args):
    """The engine's diffusers calls written by hand (the LoRA is already merged into ``pipe``)."""
    import torch
    from diffusers import EulerDiscreteScheduler
    with torch.inference_mode():
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
        latents = pipe(image, height=args.height, width=args.width, num_frames=args.frames,
                       num_inference_steps=args.steps, fps=6, motion_bucket_id=127, noise_aug_strength=0.02,
                       decode_chunk_size=args.chunk, generator=torch.Generator("cpu").manual_seed(42),
                       output_type="latent").frames
        video = pipe.decode_latents(latents, args.frames, args.chunk)
        video = pipe.video_processor.postprocess_video(video=video, output_type="pt")
    return video[0].float().permute(0, 2, 3, 1).cpu()


def merge_by_hand(pipe, lora_path: str, strength: float = 1.0) -> None:
    """W += strength · B·A · alpha/r on the UNet, from the file (what a user does to bake a LoRA)."""
    import torch
    from nodegraph_nodes.video.lora_format import read_camera_lora
    lora = read_camera_lora(lora_path, pipe.unet)
    with torch.no_grad():
        for module, f in lora.modules.items():
            weight = pipe.unet.get_submodule(module).weight
            delta = (f.up @ f.down) * (strength * f.alpha / f.rank)
            weight.add_(delta.to(weight.device, weight.dtype))


def interpolate_fps(device_label: str, rounds: int) -> dict:
    """Interpolate ×4 (flow) on 6 smooth random frames at 576×1024, on the host CPU."""
    import numpy as np
    import torch
    import cv2
    from nodegraph_nodes.video.interpolate import interpolate_frames
    rng = np.random.default_rng(0)
    small = rng.random((8, 36, 64, 3)).astype(np.float32)
    frames = torch.from_numpy(np.stack([cv2.resize(np.roll(small[0], i, axis=1), (1024, 576),
                                                   interpolation=cv2.INTER_CUBIC) for i in range(6)])).clamp(0, 1)
    times = [timed(lambda: interpolate_frames(frames, 4, "flow"), "cpu") for _ in range(rounds)]
    t = statistics.median(times)
    out = frames.shape[0] * 4 - 3
    return {"new_frames_per_s": (out - frames.shape[0]) / t, "output_frames_per_s": out / t, "seconds": t}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SVD-XT architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 5 tiny, 3 full)")
    parser.add_argument("--frames", type=int, default=None, help="frames (default 8 tiny, 14 full)")
    parser.add_argument("--width", type=int, default=None, help="default 256 tiny, 1024 full")
    parser.add_argument("--height", type=int, default=None, help="default 192 tiny, 576 full")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps in (a) (default 4 tiny, 8 full)")
    parser.add_argument("--chunk", type=int, default=None, help="decode_chunk_size (default = frames)")
    parser.add_argument("--unet-steps", type=int, default=5, help="UNet calls per timing in (b)")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    args = parser.parse_args(argv)
    full = args.full
    args.rounds = args.rounds or (3 if full else 5)
    args.frames = args.frames or (14 if full else 8)
    args.width, args.height = args.width or (1024 if full else 256), args.height or (576 if full else 192)
    args.steps = args.steps or (8 if full else 4)
    args.chunk = args.chunk or args.frames

    import torch
    from PIL import Image
    from nodegraph import ANY, Node, Socket, node
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.run.devices import resolve_device
    from nodegraph.files.roots import FileRoots
    from nodegraph.api.plugins import load_registry
    from nodegraph.run.session import Session
    from nodegraph_nodes.video import demo
    from nodegraph_nodes.video.model_manager import (LoraPatch, ModelSource, VideoModelHandle, VideoModelManager,
                                                     default_dtype, load_pipeline)

    @node("BenchSink", category="bench", output_node=True)
    class BenchSink(Node):
        value: object = Socket(ANY)

        def run(self, ctx):
            return {}

    torch.manual_seed(0)
    device = resolve_device(args.device)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="svd-bench-"))
    demo_dir = default_demo_dir()
    started = time.perf_counter()
    if full:
        base_path, lora_path = build_full(work, device)
        base, lora = str(base_path), str(lora_path)
    else:
        base, lora = "demo:tiny-svd", "demo:camera-pan-left"
        base_path, lora_path = demo.materialise(base, demo_dir), demo.materialise(lora, demo_dir)
    print(f"device {device}, {'SVD-XT-size random weights' if full else 'tiny demo SVD'}, {args.frames} frames "
          f"{args.width}x{args.height}, {args.steps} steps, dtype {default_dtype(device)} "
          f"(setup {time.perf_counter() - started:.1f} s)", flush=True)

    registry = load_registry(())
    registry.add_node(BenchSink, "bench")
    env = Environment(files=FileRoots(output_dir=work / "engine"), device=device, demo_dir=demo_dir)
    manager = env.service("svd_models", VideoModelManager)
    session = Session(registry, env=env, cache=Cache(enabled=False))
    wf = workflow(base, lora, "demo:svd-start-frame", args)
    start_image = Image.open(demo.START_FRAME).convert("RGB")
    direct = load_pipeline(ModelSource("diffusers", str(base_path), "direct", "direct", device, default_dtype(device)))
    merge_by_hand(direct, str(lora_path))

    e, d = engine_and_direct(session, wf, lambda: direct_job(direct, start_image, args), device, args.rounds)
    print(f"(a) image->video  engine {e * 1000:9.1f} ms   direct {d * 1000:9.1f} ms   engine/direct {e / d:.3f}",
          flush=True)
    direct = None  # free its memory before (b)

    # (b) UNet steps with CFG (batch 2). No-LoRA baseline: a pristine pipeline that never saw an adapter.
    src = manager.loaded()[-1]
    patch = LoraPatch(str(Path(lora_path).resolve()), demo.demo_fingerprint(lora) if demo.is_demo(lora) else "f",
                      1.0, lora)
    handles = {"fused": VideoModelHandle(src, (patch,), fuse=True), "unfused": VideoModelHandle(src, (patch,))}
    pristine = load_pipeline(ModelSource("diffusers", str(base_path), "pristine", "p", device, default_dtype(device)))
    dtype = getattr(torch, default_dtype(device))
    cfg = pristine.unet.config
    gen = torch.Generator().manual_seed(0)
    h, w = args.height // 8, args.width // 8
    sample = torch.randn(2, args.frames, cfg.in_channels, h, w, generator=gen).to(device, dtype)
    hidden = torch.randn(2, 1, cfg.cross_attention_dim, generator=gen).to(device, dtype)
    time_ids = torch.tensor([[5.0, 127.0, 0.02]] * 2).to(device, dtype)

    def steps(unet):
        with torch.inference_mode():
            for _ in range(args.unet_steps):
                unet(sample, 1.0, encoder_hidden_states=hidden, added_time_ids=time_ids, return_dict=False)

    for name in ("fused", "unfused"):
        with manager.use(handles[name]) as pipe:
            steps(pipe.unet)
    steps(pristine.unet)
    def step_time(name):
        if name == "no LoRA":
            return timed(lambda: steps(pristine.unet), device) / args.unet_steps
        with manager.use(handles[name]) as pipe:  # switching (merge/restore) is not timed
            return timed(lambda: steps(pipe.unet), device) / args.unet_steps

    med = alternated({name: partial(step_time, name) for name in ("no LoRA", "fused", "unfused")}, args.rounds)
    print(f"(b) UNet step ({args.frames} frames, CFG) no LoRA {med['no LoRA'] * 1000:.2f} ms   fused "
          f"{med['fused'] * 1000:.2f} ms   unfused {med['unfused'] * 1000:.2f} ms   fused/no-LoRA "
          f"{med['fused'] / med['no LoRA']:.3f}   unfused/no-LoRA {med['unfused'] / med['no LoRA']:.3f}", flush=True)

    # (d) temporal VAE decode of the clip's latents (the step time above is (d)'s UNet figure at --full).
    latents = torch.randn(1, args.frames, 4, h, w, generator=gen).to(device, dtype)

    def decode():
        with torch.inference_mode():
            pristine.decode_latents(latents, args.frames, args.chunk)

    decode()
    dec = statistics.median(timed(decode, device) for _ in range(args.rounds))
    print(f"(d) temporal VAE decode, {args.frames} frames {args.width}x{args.height}, chunk {args.chunk}: "
          f"{dec * 1000:.1f} ms   (H200 anchors at 14 frames 576x1024: UNet step with CFG 368 ms, decode 1190 ms)",
          flush=True)
    pristine = None

    # (c) interpolation on the host CPU.
    interp = interpolate_fps(device, max(2, min(args.rounds, 3)))
    print(f"(c) Interpolate x4 flow at 576x1024 (host CPU): {interp['output_frames_per_s']:.2f} output frames/s, "
          f"{interp['new_frames_per_s']:.2f} new frames/s", flush=True)
    print(json.dumps({"device": device, "full": full, "frames": args.frames, "size": [args.width, args.height],
                      "steps": args.steps, "engine_over_direct": round(e / d, 4),
                      "fused_over_no_lora": round(med["fused"] / med["no LoRA"], 4),
                      "unfused_over_no_lora": round(med["unfused"] / med["no LoRA"], 4),
                      "interpolate_output_fps_576x1024": round(interp["output_frames_per_s"], 3),
                      "ms": {"engine": e * 1000, "direct": d * 1000, "vae_decode": dec * 1000,
                             **{f"unet_step_{k.replace(' ', '_')}": v * 1000 for k, v in med.items()}},
                      "total_s": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
