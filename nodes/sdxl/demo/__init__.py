"""Demo models: tiny, deterministic, built from configs in this folder, so every SDXL workflow
runs offline on any machine.

The pack registers them as demo assets (``DEMOS``): a workflow names ``demo:tiny-sdxl`` and the
core builds it under the session's demo folder on first use (``env.materialise``), in a
temporary folder renamed into place, so a crash never leaves half a model behind. The nodes
then load those files through the same code paths as a user's files. Importing this module
does not import torch.
"""
from __future__ import annotations

from pathlib import Path

from nodegraph.files import demo_build

from .recipes import DEMO_VERSION, RECIPES, build

SCHEME = "demo:"

__all__ = ["SCHEME", "DEMOS", "DEMO_VERSION", "is_demo", "demo_fingerprint", "materialise"]


def is_demo(value: str) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def demo_fingerprint(value: str) -> str:
    """What the model manager keys a loaded demo by: its name and the version of its recipe."""
    return f"{value}@v{DEMO_VERSION}"


_DESCRIPTIONS = {"tiny-sdxl": "a few-MB SDXL-architecture pipeline (random weights, fixed seed)",
                 "tiny-sdxl-lcm-lora": "a stand-in LCM acceleration LoRA (kohya format) for tiny-sdxl",
                 "tiny-sdxl-style-lora": "a stand-in style LoRA (diffusers/peft format) for tiny-sdxl"}

# Which real file names each demo stands in for (a ComfyUI workflow run on demo models).
_HINTS = {"tiny-sdxl": ("sdxl", "sd_xl", "xl_base", "xl-base"), "tiny-sdxl-lcm-lora": ("lcm",)}

DEMOS = demo_build.recipe_assets(RECIPES, build, f"v{DEMO_VERSION}", _DESCRIPTIONS, _HINTS)


def materialise(value: str, demo_dir: Path) -> Path:
    """Files of demo ``value`` under ``demo_dir``, built on first use (tests, benchmarks)."""
    return demo_build.materialise(DEMOS, value, demo_dir)
