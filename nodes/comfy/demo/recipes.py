"""The comfy pack's tiny demos: SD 1.x and SDXL refiner pipelines (seeded random weights, a few
MB), built from the configs in ``configs/`` (the VAE of the refiner and the tokenizers are the
SDXL demo's), and ``tiny-sd15-vae``: the SD 1.x demo's VAE as one stand-alone .safetensors file
in the layout ComfyUI's ``models/vae/`` holds (what VAELoader loads). With the SDXL pack's
``tiny-sdxl`` and LoRAs and the video pack's ``tiny-svd`` they cover every family the comfy
nodes load, so ComfyUI workflows run offline.
"""
from __future__ import annotations

import json
from pathlib import Path

from nodegraph.files.demo_build import build_recipe
from nodegraph_nodes.sdxl.demo.recipes import save_seeded_pipeline

HERE = Path(__file__).parent / "configs"
SDXL_DEMO = Path(__file__).resolve().parents[2] / "sdxl" / "demo" / "tiny_sdxl"
DEMO_VERSION = 1  # bump when a recipe or config changes: new folder names, new cache keys
RECIPES = {
    "tiny-sd15": {"kind": "checkpoint", "path": f"tiny-sd15-v{DEMO_VERSION}", "pipeline": "sd15", "seed": 20240101},
    "tiny-sdxl-refiner": {"kind": "checkpoint", "path": f"tiny-sdxl-refiner-v{DEMO_VERSION}", "pipeline": "refiner",
                          "seed": 20240102},
    "tiny-sd15-vae": {"kind": "vae", "path": f"tiny-sd15-vae-v{DEMO_VERSION}.safetensors"},
}


def _config(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def build(name: str, demo_dir: Path) -> Path:
    """The files of demo ``name`` under ``demo_dir``, built on first use."""
    return build_recipe(RECIPES, name, demo_dir, {"checkpoint": _build_pipeline, "vae": _build_vae_file})


def _build_pipeline(demo_dir: Path, recipe: dict, folder: Path) -> None:
    assemble = {"sd15": _tiny_sd15, "refiner": _tiny_refiner}[recipe["pipeline"]]
    save_seeded_pipeline(folder, recipe["seed"], assemble)


def _tiny_sd15(seeded):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    with seeded():
        unet = UNet2DConditionModel(**_config(HERE, "sd1_unet.json"))
        vae = AutoencoderKL(**_config(HERE, "sd1_vae.json"))
        text_encoder = CLIPTextModel(CLIPTextConfig(**_config(HERE, "sd1_text_encoder.json")))
    tokenizer = CLIPTokenizer(str(SDXL_DEMO / "vocab.json"), str(SDXL_DEMO / "merges.txt"), model_max_length=77)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=EulerDiscreteScheduler.from_config(_config(HERE, "scheduler.json")),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def _tiny_refiner(seeded):
    from diffusers import (AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    with seeded():
        unet = UNet2DConditionModel(**_config(HERE, "refiner_unet.json"))
        vae = AutoencoderKL(**_config(SDXL_DEMO, "vae.json"))
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**_config(SDXL_DEMO, "text_encoder_2.json")))
    tokenizer_2 = CLIPTokenizer(str(SDXL_DEMO / "vocab.json"), str(SDXL_DEMO / "merges.txt"), pad_token="!",
                                model_max_length=77)
    return StableDiffusionXLImg2ImgPipeline(
        vae=vae, text_encoder=None, text_encoder_2=text_encoder_2, tokenizer=None, tokenizer_2=tokenizer_2,
        unet=unet, scheduler=EulerDiscreteScheduler.from_config(_config(HERE, "scheduler.json")),
        requires_aesthetics_score=True, force_zeros_for_empty_prompt=False, add_watermarker=False)


def _build_vae_file(demo_dir: Path, recipe: dict, path: Path) -> None:
    from nodegraph_nodes.sdxl.model_manager import quiet_loaders
    with quiet_loaders():  # the first diffusers import is chatty
        _write_vae_file(build("tiny-sd15", demo_dir), path)


def _write_vae_file(pipeline_folder: Path, path: Path) -> None:
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    from nodegraph.files.roots import canonicalise_safetensors_header
    from ..export import vae_to_single_file
    vae = AutoencoderKL.from_pretrained(str(pipeline_folder / "vae"), local_files_only=True)
    save_file(vae_to_single_file(vae), str(path), metadata={"format": "pt"})
    canonicalise_safetensors_header(path)  # equal tensors, equal bytes (a stable sha256 for provenance)
