"""The tiny SDXL demo: a real SDXL-architecture pipeline and two LoRAs, seeded, a few MB.

- ``tiny-sdxl``: diffusers folder (UNet, VAE, two CLIP text encoders, tokenizers, scheduler)
  from the JSON configs in ``tiny_sdxl/``; weights are the models' own random init under a
  fixed seed.
- ``tiny-sdxl-lcm-lora``: a stand-in acceleration LoRA in kohya/A1111 format
  (``lora_unet_<module>.lora_down.weight`` / ``.lora_up.weight`` / ``.alpha``).
- ``tiny-sdxl-style-lora``: a stand-in style LoRA in diffusers/peft format
  (``unet.<module>.lora_A.weight`` / ``.lora_B.weight``, alpha = rank).

The LoRAs are random low-rank deltas scaled to a fixed fraction of each target weight's norm,
so they change the images visibly: tests comparing fused / unfused / no LoRA mean something.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from nodegraph.files.demo_build import build_recipe
from nodegraph.files.roots import canonicalise_safetensors_header

HERE = Path(__file__).parent / "tiny_sdxl"
DEMO_VERSION = 1  # bump when a recipe or config changes: new folder names, new cache keys
BASE_SEED = 20231109

RECIPES = {
    "tiny-sdxl": {"kind": "checkpoint", "path": f"tiny-sdxl-v{DEMO_VERSION}"},
    "tiny-sdxl-lcm-lora": {"kind": "lora", "path": f"tiny-sdxl-lcm-lora-v{DEMO_VERSION}.safetensors",
                           "recipe": "lcm"},
    "tiny-sdxl-style-lora": {"kind": "lora", "path": f"tiny-sdxl-style-lora-v{DEMO_VERSION}.safetensors",
                             "recipe": "style"},
}


def _config(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def build(name: str, demo_dir: Path) -> Path:
    """The files of demo ``name`` under ``demo_dir``, built on first use."""
    return build_recipe(RECIPES, name, demo_dir, {"checkpoint": _build_pipeline, "lora": _build_lora})


def save_seeded_pipeline(folder: Path, seed: int, assemble: Callable[[Callable[[], ContextManager]], Any]) -> None:
    """Save to ``folder`` the demo pipeline ``assemble(seeded)`` returns; it makes its networks
    inside ``with seeded():`` (their classes' own random init under ``seed``, the caller's RNG left
    as it was). Loader chatter is off: the first diffusers import is chatty (torchvision fallbacks).
    The video pack's demo uses it too."""
    from ..model_manager import quiet_loaders
    with quiet_loaders():
        assemble(partial(_seeded, seed)).save_pretrained(folder, safe_serialization=True)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    import torch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _build_pipeline(demo_dir: Path, recipe: dict, folder: Path) -> None:
    save_seeded_pipeline(folder, BASE_SEED, _tiny_sdxl)


def _tiny_sdxl(seeded):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    with seeded():
        unet = UNet2DConditionModel(**_config("unet.json"))
        vae = AutoencoderKL(**_config("vae.json"))
        text_encoder = CLIPTextModel(CLIPTextConfig(**_config("text_encoder.json")))
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**_config("text_encoder_2.json")))
    vocab, merges = str(HERE / "vocab.json"), str(HERE / "merges.txt")
    tokenizer = CLIPTokenizer(vocab, merges, model_max_length=77)
    tokenizer_2 = CLIPTokenizer(vocab, merges, pad_token="!", model_max_length=77)  # as SDXL's second tokenizer
    scheduler = EulerDiscreteScheduler.from_config(_config("scheduler.json"))
    return StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet,
                                     scheduler=scheduler, add_watermarker=False)


def lora_targets(unet_state: dict, targets: list[str]) -> list[str]:
    """UNet module paths (diffusers naming) whose 2-D weight ends with one of ``targets``."""
    names = []
    for key, tensor in unet_state.items():
        if key.endswith(".weight") and tensor.dim() == 2:
            module = key[: -len(".weight")]
            if any(module.endswith("." + t) for t in targets):
                names.append(module)
    return sorted(names)


def _build_lora(demo_dir: Path, recipe: dict, path: Path) -> None:
    write_lora(build("tiny-sdxl", demo_dir), _config("loras.json")[recipe["recipe"]], path)


def write_lora(base: Path, recipe: dict, path: Path) -> None:
    """A seeded random LoRA for the UNet of diffusers folder ``base`` (recipe as in loras.json)."""
    import torch
    from safetensors.torch import load_file, save_file

    unet_dir = base / "unet"
    unet_state = {}
    for shard in sorted(unet_dir.glob("*.safetensors")):
        unet_state.update(load_file(str(shard)))
    rank, alpha, scale = recipe["rank"], float(recipe["alpha"]), recipe["scale"]
    gen = torch.Generator().manual_seed(recipe["seed"])
    out: dict[str, torch.Tensor] = {}
    for module in lora_targets(unet_state, recipe["targets"]):
        weight = unet_state[module + ".weight"].float()  # built in fp32 whatever the base dtype
        down = torch.randn(rank, weight.shape[1], generator=gen)
        up = torch.randn(weight.shape[0], rank, generator=gen)
        # Scale lora_up so that ||delta|| = scale * ||W|| exactly, at strength 1.
        delta = (up @ down) * (alpha / rank)
        up = up * (scale * weight.norm() / delta.norm())
        if recipe["format"] == "kohya":
            stem = "lora_unet_" + module.replace(".", "_")
            out[stem + ".lora_down.weight"] = down.contiguous()
            out[stem + ".lora_up.weight"] = up.contiguous()
            out[stem + ".alpha"] = torch.tensor(alpha)
        else:
            if alpha != rank:
                raise ValueError("diffusers-format demo LoRAs carry no alpha: use alpha = rank")
            out[f"unet.{module}.lora_A.weight"] = down.contiguous()
            out[f"unet.{module}.lora_B.weight"] = up.contiguous()
    save_file(out, str(path), metadata={"format": "pt", "nodegraph.demo": recipe["file"]})
    canonicalise_safetensors_header(path)  # equal tensors, equal bytes (a stable sha256 for provenance)
