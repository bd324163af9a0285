"""What the engine and LoRA fusing cost, in one process, A/B alternated.

(a) the main job (workflows/lcm_lora_sdxl.json) through the engine vs the same diffusers calls
    written directly (encode, 4 LCM steps on a fused acceleration + style merge, decode, PNG);
(b) UNet step time with acceleration + style LoRAs fused vs unfused vs no LoRA.

    python benchmarks/lcm_overhead.py                 # tiny demo model (CPU is fine)
    python benchmarks/lcm_overhead.py --full --device cuda --size 1024
                                                      # real SDXL-size architecture, random weights

Targets: engine/direct <= 1.02, fused/no-LoRA <= 1.01. The engine runs with the cache off, so
every node executes each time; the model manager keeps the fused pipeline warm, as a server does.
(b) measures all three variants on the engine's own pipeline (no LoRA = base weights restored).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from functools import partial
from pathlib import Path


from bench_timing import REPO, alternated, demo_dir as default_demo_dir, engine_and_direct, timed  # noqa: E402 - also: this checkout first on the path

PROMPT = "a watercolor painting of a lighthouse at sunset, highly detailed"
LCM, STYLE = 1.0, 0.8

# Real SDXL base sizes (configs of stabilityai/stable-diffusion-xl-base-1.0), random weights.
FULL_UNET = dict(sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=[320, 640, 1280],
                 down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                 transformer_layers_per_block=[1, 2, 10], attention_head_dim=[5, 10, 20],
                 use_linear_projection=True, cross_attention_dim=2048, addition_embed_type="text_time",
                 addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816, norm_num_groups=32)
FULL_VAE = dict(in_channels=3, out_channels=3, block_out_channels=[128, 256, 512, 512],
                down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                layers_per_block=2, latent_channels=4, sample_size=1024, scaling_factor=0.13025,
                force_upcast=True)
FULL_TE1 = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                bos_token_id=571, eos_token_id=572, pad_token_id=572)
FULL_TE2 = dict(vocab_size=49408, hidden_size=1280, intermediate_size=5120, projection_dim=1280,
                num_hidden_layers=32, num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu",
                bos_token_id=571, eos_token_id=572, pad_token_id=1)
FULL_LORAS = {  # ≈ LCM-LoRA SDXL's size (rank 64 on attention, ff, proj) and a rank-32 style LoRA
    "lcm": dict(format="kohya", file="full-lcm.safetensors", seed=1, rank=64, alpha=64.0, scale=0.3,
                targets=["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out"]),
    "style": dict(format="diffusers", file="full-style.safetensors", seed=2, rank=32, alpha=32.0, scale=0.3,
                  targets=["to_q", "to_k", "to_v", "to_out.0"]),
}


def full_configs() -> tuple[dict, dict, dict, dict, str]:
    """The SDXL-size configs, or with NODEGRAPH_BENCH_SCALE=tiny the demo's tiny ones: the same
    --full code paths (build, save, LoRA files, loading) in seconds on a CPU, to check scripts."""
    if os.environ.get("NODEGRAPH_BENCH_SCALE") != "tiny":
        return FULL_UNET, FULL_VAE, FULL_TE1, FULL_TE2, "sdxl-random"
    from nodegraph_nodes.sdxl.demo.recipes import HERE
    tiny = [json.loads((HERE / f"{n}.json").read_text()) for n in ("unet", "vae", "text_encoder", "text_encoder_2")]
    return (*tiny, "sdxl-random-tiny-scale")


def model_label(full: bool) -> str:
    if not full:
        return "tiny demo SDXL"
    if os.environ.get("NODEGRAPH_BENCH_SCALE") == "tiny":
        return "--full code paths at tiny scale (NODEGRAPH_BENCH_SCALE=tiny)"
    return "SDXL-size random weights"


def build_full(folder: Path, device: str) -> tuple[Path, Path, Path]:
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
    from nodegraph_nodes.sdxl.demo.recipes import HERE, write_lora
    unet_config, vae_config, te1_config, te2_config, name = full_configs()
    base = folder / name
    if not base.exists():
        torch.manual_seed(0)
        with torch.device(device):  # random init on the GPU: seconds instead of a minute
            parts = dict(unet=UNet2DConditionModel(**unet_config), vae=AutoencoderKL(**vae_config),
                         text_encoder=CLIPTextModel(CLIPTextConfig(**te1_config)),
                         text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**te2_config)))
        parts = {k: v.half() for k, v in parts.items()}
        vocab, merges = str(HERE / "vocab.json"), str(HERE / "merges.txt")
        pipe = StableDiffusionXLPipeline(
            **parts, tokenizer=CLIPTokenizer(vocab, merges, model_max_length=77),
            tokenizer_2=CLIPTokenizer(vocab, merges, pad_token="!", model_max_length=77),
            scheduler=EulerDiscreteScheduler.from_config(json.loads((HERE / "scheduler.json").read_text())),
            add_watermarker=False)
        tmp = base.with_name(f".{base.name}.tmp")
        pipe.save_pretrained(tmp, safe_serialization=True)
        tmp.rename(base)  # a crash never leaves half a model that later runs would take as built
        del pipe, parts
    loras = []
    for lora_name, recipe in FULL_LORAS.items():
        path = folder / (recipe["file"] if name == "sdxl-random" else "tiny-scale-" + recipe["file"])
        if not path.exists():
            tmp = path.with_name(f".{path.name}.tmp")
            write_lora(base, recipe, tmp)
            tmp.rename(path)
        loras.append(path)
    return base, loras[0], loras[1]


def main_job(base: str, lcm: str, style: str, size: int) -> dict:
    data = json.loads((REPO / "workflows" / "lcm_lora_sdxl.json").read_text())
    nodes = data["nodes"]
    nodes["model"]["inputs"]["checkpoint"] = base
    nodes["merge"]["inputs"].update(acceleration_lora=lcm, style_lora=style)
    nodes["prompt"]["inputs"].update(prompt=PROMPT, negative_prompt="")
    nodes["sampler"]["inputs"].update(width=size, height=size, seed=42)
    return data


def direct_job(pipe, size: int, out: Path):
    """The main job's diffusers calls, written by hand (the pipeline is already fused)."""
    import torch
    from diffusers import LCMScheduler
    from nodegraph_nodes.basic.image import tensor_to_pil
    from nodegraph_nodes.sdxl.pipeline import scheduler_from
    with torch.inference_mode():
        device = next(pipe.unet.parameters()).device  # what a user passes; no offload-hook walk
        embeds = pipe.encode_prompt(PROMPT, device=device, num_images_per_prompt=1,
                                    do_classifier_free_guidance=True)
        pipe.scheduler = scheduler_from(LCMScheduler, pipe.scheduler.config)
        latents = pipe(prompt_embeds=embeds[0], pooled_prompt_embeds=embeds[2], num_inference_steps=4,
                       guidance_scale=1.0, width=size, height=size, output_type="latent",
                       generator=torch.Generator("cpu").manual_seed(42)).images
        vae = pipe.vae
        image = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
        image = pipe.image_processor.postprocess(image, output_type="pt")
    tensor_to_pil(image.permute(0, 2, 3, 1).float().cpu())[0].save(out, compress_level=6)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--size", type=int, default=None, help="image size (default 512 tiny, 1024 full)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="UNet steps per timing in (b)")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")
    args = parser.parse_args(argv)

    import torch
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.files.roots import FileRoots
    from nodegraph.run.session import Session
    from nodegraph_nodes.sdxl import demo
    from nodegraph.run.devices import resolve_device
    from nodegraph_nodes.sdxl.model_manager import ModelManager, default_dtype, load_pipeline

    torch.manual_seed(0)
    device = resolve_device(args.device)
    size = args.size or (1024 if args.full else 512)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="lcm-bench-"))
    if args.full:
        base, lcm, style = (str(p) for p in build_full(work, device))
    else:
        demo_dir = default_demo_dir()
        base, lcm, style = "demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"
        paths = {v: demo.materialise(v, demo_dir) for v in (base, lcm, style)}
    env = Environment(files=FileRoots(output_dir=work / "engine"), device=device)
    if not args.full:
        env.demo_dir = demo_dir
    manager = env.service("sdxl_models", ModelManager)
    session = Session(env=env, cache=Cache(enabled=False))
    workflow = main_job(base, lcm, style, size)
    print(f"device {device}, {model_label(args.full)}, {size}x{size}, "
          f"dtype {default_dtype(device)}", flush=True)

    # Direct: the same files loaded with plain diffusers, both LoRAs fused.
    from nodegraph_nodes.sdxl.model_manager import ModelSource
    folder = base if args.full else str(paths[base])
    lcm_file, style_file = (lcm, style) if args.full else (str(paths[lcm]), str(paths[style]))
    source = ModelSource("diffusers", folder, "direct", "direct", device, default_dtype(device))
    direct = load_pipeline(source)
    direct.load_lora_weights(lcm_file, adapter_name="lcm")
    direct.load_lora_weights(style_file, adapter_name="style")
    direct.set_adapters(["lcm", "style"], [LCM, STYLE])
    direct.fuse_lora(components=["unet"], adapter_names=["lcm", "style"])
    direct.unload_lora_weights()  # diffusers' fastest fused form: deltas kept, LoRA layers removed
    direct_png = work / "direct.png"

    e, d = engine_and_direct(session, workflow, lambda: direct_job(direct, size, direct_png), device, args.rounds)
    print(f"(a) main job  engine {e * 1000:8.1f} ms   direct {d * 1000:8.1f} ms   engine/direct {e / d:.3f}",
          flush=True)

    # (b) UNet step time, no LoRA / fused / unfused, all on the engine's own pipeline: "no LoRA"
    # is the same modules with the base weights restored (bit-exact), so placement, dtype and
    # memory layout are identical. A separately loaded pristine pipeline (what this used to
    # compare against) is kept as a diagnostic row. Inputs are the real prompt's embeddings and
    # unit noise, each variant is warmed up alike, and the share of non-finite outputs and the
    # GPU clock are printed: random weights can overflow fp16, and NaN-filled kernels draw less
    # power and run at other clocks than finite ones.
    del direct
    from nodegraph_nodes.sdxl.model_manager import LoraPatch, ModelHandle
    src = manager.loaded()[-1]
    # The same patches the main job's MergeAcceleration built (same files, same fingerprints).
    from nodegraph.files.roots import fingerprint_path
    patches = tuple(LoraPatch(str(Path(f).resolve()), demo.demo_fingerprint(v) if demo.is_demo(v)
                              else fingerprint_path(Path(f)), s, v)
                    for f, v, s in ((lcm_file, lcm, LCM), (style_file, style, STYLE)))
    handles = {"no LoRA": ModelHandle(src), "fused": ModelHandle(src, patches, fuse=True),
               "unfused": ModelHandle(src, patches, fuse=False)}
    pristine = load_pipeline(ModelSource("diffusers", folder, "pristine", "pristine", device, default_dtype(device)))
    dtype = getattr(torch, default_dtype(device))
    latent = torch.randn(1, 4, size // 8, size // 8, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    with torch.inference_mode(), manager.use(handles["no LoRA"], parts="text") as pipe:
        embeds = pipe.encode_prompt(PROMPT, device=device, num_images_per_prompt=1, do_classifier_free_guidance=False)
    text, pooled = embeds[0].to(device, dtype), embeds[2].to(device, dtype)
    added = {"text_embeds": pooled, "time_ids": torch.tensor([[size, size, 0, 0, size, size]], dtype=dtype, device=device)}
    nonfinite: dict[str, float] = {}

    def steps(name, unet):
        with torch.inference_mode():
            for _ in range(args.steps):
                out = unet(latent, 500, text, added_cond_kwargs=added).sample
        nonfinite[name] = 1.0 - torch.isfinite(out).float().mean().item()

    def run_variant(name):
        if name == "pristine pipeline":
            return timed(lambda: steps(name, pristine.unet), device) / args.steps
        with manager.use(handles[name]) as pipe:  # switching (merge/restore, peft) is not timed
            return timed(lambda: steps(name, pipe.unet), device) / args.steps

    order = ["no LoRA", "fused", "unfused", "pristine pipeline"]
    for name in order:  # warm-up, alike for every variant
        for _ in range(2):
            run_variant(name)
    clocks = []

    def measured(name):
        seconds = run_variant(name)
        clocks.append(_sm_clock(device))
        return seconds

    med = alternated({name: partial(measured, name) for name in order}, args.rounds)
    print("(b) UNet step   " + "   ".join(f"{k} {v * 1000:.2f} ms" for k, v in med.items()), flush=True)
    print(f"    fused/no-LoRA {med['fused'] / med['no LoRA']:.3f}   unfused/no-LoRA "
          f"{med['unfused'] / med['no LoRA']:.3f}   pristine-pipeline/no-LoRA {med['pristine pipeline'] / med['no LoRA']:.3f}",
          flush=True)
    print("    non-finite outputs " + "   ".join(f"{k} {v:.1%}" for k, v in nonfinite.items())
          + (f"   SM clock {min(clocks)}-{max(clocks)} MHz" if any(clocks) else ""), flush=True)
    print(json.dumps({"device": device, "full": args.full, "size": size,
                      "engine_over_direct": round(e / d, 4),
                      "fused_over_no_lora": round(med["fused"] / med["no LoRA"], 4),
                      "unfused_over_no_lora": round(med["unfused"] / med["no LoRA"], 4),
                      "nonfinite": nonfinite, "sm_clock_mhz": [min(clocks), max(clocks)],
                      "ms": {"engine": e * 1000, "direct": d * 1000,
                             **{f"step_{k}": v * 1000 for k, v in med.items()}}}))


def _sm_clock(device: str) -> int:
    """The GPU's current SM clock in MHz (0 when unknown: CPU, or no NVML)."""
    if device != "cuda":
        return 0
    import torch
    try:
        return int(torch.cuda.clock_rate())
    except Exception:  # noqa: BLE001 - pynvml missing or unsupported
        return 0


if __name__ == "__main__":
    main()
