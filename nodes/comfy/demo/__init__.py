"""Demo assets of the comfy pack: ``demo:tiny-sd15`` (a tiny seeded Stable Diffusion 1.x pipeline),
``demo:tiny-sdxl-refiner`` (a tiny seeded SDXL refiner) and ``demo:tiny-sd15-vae`` (the first's
VAE as a stand-alone file, for VAELoader), built on first use under the
session's demo folder. Each carries name hints: the substrings of real checkpoint names it
stands in for when a ComfyUI workflow runs on demo models. Importing this module does not
import torch.
"""
from __future__ import annotations

from pathlib import Path

from nodegraph.files import demo_build

from .recipes import DEMO_VERSION, RECIPES, build

_DESCRIPTIONS = {"tiny-sd15": "a few-MB Stable Diffusion 1.x pipeline (random weights, fixed seed)",
                 "tiny-sdxl-refiner": "a few-MB SDXL refiner pipeline (random weights, fixed seed)",
                 "tiny-sd15-vae": "tiny-sd15's VAE as one LDM-layout .safetensors file (a models/vae/ file)"}
_HINTS = {"tiny-sd15": ("v1-5", "v1_5", "sd15", "sd-1", "sd_1", "1.5", "sd1"), "tiny-sdxl-refiner": ("refiner",),
          "tiny-sd15-vae": ("vae",)}

DEMOS = demo_build.recipe_assets(RECIPES, build, f"v{DEMO_VERSION}", _DESCRIPTIONS, _HINTS)


def materialise(value: str, demo_dir: Path) -> Path:
    """Files of demo ``value`` under ``demo_dir``, built on first use (tests, benchmarks)."""
    return demo_build.materialise(DEMOS, value, demo_dir)
