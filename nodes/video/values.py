"""VIDEO and LATENT_VIDEO values: plain dicts of a CPU float32 tensor and a frame rate, so the
disk cache stores them like any tensor output."""
from __future__ import annotations

from typing import Any


def make_video(frames: Any, fps: float) -> dict[str, Any]:
    """``frames``: [F, H, W, 3] floats in 0..1 (any device or dtype)."""
    return {"frames": frames.detach().float().clamp(0, 1).cpu().contiguous(), "fps": float(fps)}


def video_value(frames: Any, fps: float) -> dict[str, Any]:
    """A VIDEO of ``frames`` that are already a CPU float32 tensor in 0..1 (what LoadVideo builds),
    taken as they are: ``make_video``'s clamp would copy a clip of hundreds of frames once more."""
    return {"frames": frames, "fps": float(fps)}


def make_latent_video(latents: Any, fps: float) -> dict[str, Any]:
    """``latents``: [F, C, h, w] SVD latents."""
    return {"latents": latents.detach().float().cpu().contiguous(), "fps": float(fps)}


def is_latent_video(value: Any) -> bool:
    latents = value.get("latents") if isinstance(value, dict) else None
    return (type(latents).__name__ == "Tensor" and latents.dim() == 4
            and isinstance(value.get("fps"), (int, float)))


def is_video(value: Any) -> bool:
    frames = value.get("frames") if isinstance(value, dict) else None
    return (type(frames).__name__ == "Tensor" and frames.dim() == 4
            and isinstance(value.get("fps"), (int, float)))
