"""Demo assets of the video pack, so every video workflow runs offline on any machine.

Registered with the core as ``DEMOS``: ``demo:tiny-svd`` (a tiny seeded SVD-architecture
pipeline), ``demo:camera-pan-left`` / ``demo:camera-zoom-in`` / ``demo:camera-static`` (camera
LoRAs on its temporal attention), built on first use under the session's demo folder
(``env.materialise``) in a temporary folder renamed into place; and ``demo:svd-start-frame``,
a small landscape image shipped in this folder (a LoadImage input). Importing this module does
not import torch.
"""
from __future__ import annotations

from pathlib import Path

from nodegraph import DemoAsset
from nodegraph.files import demo_build

from .recipes import DEMO_VERSION, RECIPES, build

SCHEME = "demo:"
START_FRAME = Path(__file__).parent / "svd_start_frame.png"

__all__ = ["SCHEME", "DEMOS", "DEMO_VERSION", "is_demo", "demo_fingerprint", "materialise", "known"]


def is_demo(value: str) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def demo_fingerprint(value: str) -> str:
    """What the model manager keys a loaded demo by: its name and the version of its recipe."""
    return f"{value}@v{DEMO_VERSION}"


def known(kind: str) -> list[str]:
    """This pack's demo values of ``kind`` (the core accepts any pack's demo of a file kind)."""
    return sorted(SCHEME + n for n, spec in RECIPES.items() if spec["kind"] == kind)


_DESCRIPTIONS = {"tiny-svd": "a few-MB Stable Video Diffusion pipeline (random weights, fixed seed)",
                 "camera-pan-left": "a stand-in camera-motion LoRA (temporal attention) for tiny-svd",
                 "camera-zoom-in": "a stand-in camera-motion LoRA (temporal attention) for tiny-svd",
                 "camera-static": "a stand-in camera-motion LoRA (temporal attention) for tiny-svd"}

DEMOS = demo_build.recipe_assets(RECIPES, build, f"v{DEMO_VERSION}", _DESCRIPTIONS, {"tiny-svd": ("svd",)}) + [
    DemoAsset("svd-start-frame", "image", build=lambda _dir: START_FRAME, locate=lambda _dir: START_FRAME,
              version="v1", description="a 256x192 landscape drawing: a start frame for SVD")]


def materialise(value: str, demo_dir: Path) -> Path:
    """Files of demo ``value`` under ``demo_dir``, built on first use (tests, benchmarks)."""
    return demo_build.materialise(DEMOS, value, demo_dir)
