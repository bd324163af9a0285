"""The tiny SVD demo: a real Stable Video Diffusion pipeline and three camera-motion LoRAs, seeded.

- ``tiny-svd``: a diffusers folder in the ``stable-video-diffusion-img2vid(-xt)`` layout
  (UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder, CLIP vision encoder with
  projection, CLIP image processor, Euler v-prediction scheduler) from the JSON configs in
  ``tiny_svd/``; weights are the models' own random init under a fixed seed.
- ``camera-pan-left`` / ``camera-zoom-in`` / ``camera-static``: stand-ins for the paper's camera
  motion LoRAs, trained there inside the temporal attention blocks only; here seeded random
  low-rank deltas on exactly those layers (``temporal_transformer_blocks.N.attn1/attn2``), in
  diffusers/peft format (``unet.<module>.lora_A.weight`` / ``.lora_B.weight``), scaled to a
  fixed fraction of each weight's norm so they visibly change the clip.
- ``svd-start-frame.png``: a small start image shipped with the pack (not built).
"""
from __future__ import annotations

import json
from pathlib import Path

from nodegraph.files.demo_build import build_recipe
from nodegraph.files.roots import canonicalise_safetensors_header
from nodegraph_nodes.sdxl.demo.recipes import save_seeded_pipeline

HERE = Path(__file__).parent / "tiny_svd"
DEMO_VERSION = 1  # bump when a recipe or config changes: new folder names, new cache keys
BASE_SEED = 20231125
TEMPORAL_ATTENTION = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
                      "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0")

RECIPES = {
    "tiny-svd": {"kind": "checkpoint", "path": f"tiny-svd-v{DEMO_VERSION}"},
    "camera-pan-left": {"kind": "lora", "path": f"camera-pan-left-v{DEMO_VERSION}.safetensors", "recipe": "pan-left"},
    "camera-zoom-in": {"kind": "lora", "path": f"camera-zoom-in-v{DEMO_VERSION}.safetensors", "recipe": "zoom-in"},
    "camera-static": {"kind": "lora", "path": f"camera-static-v{DEMO_VERSION}.safetensors", "recipe": "static"},
}


def _config(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def build(name: str, demo_dir: Path) -> Path:
    """The files of demo ``name`` under ``demo_dir``, built on first use."""
    return build_recipe(RECIPES, name, demo_dir, {"checkpoint": _build_pipeline, "lora": _build_lora})


def _build_pipeline(demo_dir: Path, recipe: dict, folder: Path) -> None:
    save_seeded_pipeline(folder, BASE_SEED, _tiny_svd)


def _tiny_svd(seeded):
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    with seeded():
        unet = UNetSpatioTemporalConditionModel(**_config("unet.json"))
        vae = AutoencoderKLTemporalDecoder(**_config("vae.json"))
        image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**_config("image_encoder.json")))
    return StableVideoDiffusionPipeline(
        vae=vae, image_encoder=image_encoder, unet=unet,
        scheduler=EulerDiscreteScheduler.from_config(_config("scheduler.json")),
        feature_extractor=CLIPImageProcessor(**_config("feature_extractor.json")))


def _build_lora(demo_dir: Path, recipe: dict, path: Path) -> None:
    write_lora(build("tiny-svd", demo_dir), _config("loras.json")[recipe["recipe"]], path)


def temporal_attention_modules(unet_state: dict) -> list[str]:
    """UNet module paths (diffusers naming) of the temporal attention projections."""
    names = []
    for key in unet_state:
        if key.endswith(".weight") and "temporal_transformer_blocks." in key:
            module = key[: -len(".weight")]
            if any(module.endswith("." + t) for t in TEMPORAL_ATTENTION):
                names.append(module)
    return sorted(names)


def write_lora(base: Path, recipe: dict, path: Path) -> None:
    """A seeded random LoRA on the temporal attention of diffusers folder ``base``."""
    import torch
    from safetensors.torch import load_file, save_file

    unet_state = {}
    for shard in sorted((base / "unet").glob("*.safetensors")):
        unet_state.update(load_file(str(shard)))
    rank, scale = recipe["rank"], recipe["scale"]
    gen = torch.Generator().manual_seed(recipe["seed"])
    out: dict[str, torch.Tensor] = {}
    for module in temporal_attention_modules(unet_state):
        weight = unet_state[module + ".weight"].float()  # built in fp32 whatever the base dtype
        down = torch.randn(rank, weight.shape[1], generator=gen)
        up = torch.randn(weight.shape[0], rank, generator=gen)
        up = up * (scale * weight.norm() / (up @ down).norm())  # ||delta|| = scale * ||W|| at strength 1
        out[f"unet.{module}.lora_A.weight"] = down.contiguous()
        out[f"unet.{module}.lora_B.weight"] = up.contiguous()
    save_file(out, str(path), metadata={"format": "pt", "nodegraph.demo": recipe["name"]})
    canonicalise_safetensors_header(path)  # equal tensors, equal bytes (a stable sha256 for provenance)
