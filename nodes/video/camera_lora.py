"""CameraMotionLoRA: a camera-motion LoRA (pan, zoom, static, ...) on SVD's temporal attention.

Like the SDXL pack's LoRA nodes it builds a new VIDEO_MODEL handle and never touches weights;
several stack (chain the nodes), each with its strength. The model manager injects each file
once, switches the active set, and with `fuse` merges the deltas into the weights before
sampling (restoring the exact base weights before another set is used). File format and the
temporal-attention-only rule: ``lora_format.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nodegraph import FileInput, Node, Socket, Widget, node
from nodegraph_nodes.sdxl.lora import check_lora_file, lora_patch

from . import demo
from .lora_format import check_file
from .model_manager import VideoModelHandle


def check_camera_lora(value: str, env: Any) -> str | None:
    """A message when ``value`` cannot be a camera-motion LoRA (reads the file header only)."""
    if demo.is_demo(value):  # the core knows every pack's LoRA demos; only ours are camera LoRAs
        if value not in demo.known("lora"):
            return f"{value!r} is not a camera-motion LoRA; video demos: {', '.join(demo.known('lora'))}"
        return None
    return check_lora_file(value, env, _camera_lora_problem)


def _camera_lora_problem(value: str, path: Path) -> str | None:
    problem = check_file(path)
    return f"LoRA {value!r} {problem}" if problem else None


@node("CameraMotionLoRA", category="video", outputs={"model": "VIDEO_MODEL"})
class CameraMotionLoRA(Node):
    """Add a camera-motion LoRA (temporal attention only, as in the SVD paper) to a video model.

    Returns a new handle; the input model is unchanged, so other branches can use it. Chain
    several to stack them. `fuse` merges the active LoRAs into the weights before sampling, so
    each step costs what the base model costs. Demo LoRAs for demo:tiny-svd:
    demo:camera-pan-left, demo:camera-zoom-in, demo:camera-static.
    """
    model: Any = Socket("VIDEO_MODEL")
    lora: str = FileInput("lora", default="demo:camera-pan-left", extensions=(".safetensors",))
    strength: float = Widget(1.0, ge=-4.0, le=4.0, step=0.05)
    fuse: bool = Widget(True, description="merge into the weights before sampling (faster steps)")

    @classmethod
    def check_inputs(cls, literals, env):
        value = literals.get("lora")  # absent when linked
        problem = check_camera_lora(value, env) if value else None
        return [("lora", problem)] if problem else []

    def run(self, ctx):
        patch = lora_patch(ctx, self.lora, self.strength, role="camera")
        handle: VideoModelHandle = self.model
        return {"model": handle.with_patches((patch,), fuse=self.fuse)}
