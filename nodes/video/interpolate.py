"""Interpolate: raise a clip's frame rate ×N by inserting N−1 frames between each pair.

Frames out = frames × N − (N − 1) (nothing is invented after the last frame); fps out = fps × N,
so the clip keeps its duration up to the last frame. Methods:

- ``flow``: dense optical flow both ways (OpenCV's DIS), the intermediate frame's flows to its
  two neighbours approximated from them (Super SloMo, arXiv 1712.00080, eq. 4), backward warping
  of both neighbours, and a blend weighted by time and *visibility*: a pixel that the
  forward-backward check marks occluded in one neighbour, or whose source lies outside that
  frame, is taken from the other neighbour only.
- ``blend``: linear cross-fade (cheap; ghosts on motion).

A latent-space method is not offered: SVD latents are not linear in motion, so averaging them
ghosts exactly like ``blend`` and then costs a temporal-VAE decode.
"""
from __future__ import annotations

from typing import Any, Literal

from nodegraph import Node, NodeError, Socket, Widget, node

from .values import make_video


def _gray(frame) -> Any:
    import cv2
    import numpy as np
    return cv2.cvtColor((frame * 255.0 + 0.5).clip(0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def _warp(image, grid_x, grid_y, flow) -> tuple[Any, Any]:
    """``image`` sampled at (x, y) + flow, and where that point lies inside the image."""
    import cv2
    h, w = image.shape[:2]
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    warped = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, inside


def _occluded(forward, backward, grid_x, grid_y) -> Any:
    """Pixels whose forward flow is not undone by the backward flow where it lands (occluded in
    the other frame); the threshold grows with the motion (Sundaram et al., ECCV 2010)."""
    back, _inside = _warp(backward, grid_x, grid_y, forward)
    total = forward + back
    mismatch = (total ** 2).sum(-1)
    scale = (forward ** 2).sum(-1) + (back ** 2).sum(-1)
    return mismatch > 0.01 * scale + 0.5


class FlowInterpolator:
    """Intermediate frames between two frames (float32 HxWx3 arrays in 0..1) by optical flow."""

    def __init__(self, height: int, width: int):
        import cv2
        import numpy as np
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.grid_x, self.grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                               np.arange(height, dtype=np.float32))

    def between(self, a, b, times: list[float]) -> list[Any]:
        import numpy as np
        ga, gb = _gray(a), _gray(b)
        f01 = self._dis.calc(ga, gb, None)
        f10 = self._dis.calc(gb, ga, None)
        visible0 = (~_occluded(f01, f10, self.grid_x, self.grid_y)).astype(np.float32)
        visible1 = (~_occluded(f10, f01, self.grid_x, self.grid_y)).astype(np.float32)
        out = []
        for t in times:
            ft0 = -(1 - t) * t * f01 + t * t * f10
            ft1 = (1 - t) * (1 - t) * f01 - t * (1 - t) * f10
            warped0, inside0 = _warp(a, self.grid_x, self.grid_y, ft0)
            warped1, inside1 = _warp(b, self.grid_x, self.grid_y, ft1)
            v0 = _warp(visible0, self.grid_x, self.grid_y, ft0)[0] * inside0
            v1 = _warp(visible1, self.grid_x, self.grid_y, ft1)[0] * inside1
            w0, w1 = (1 - t) * v0, t * v1
            total = w0 + w1
            none = total < 1e-3  # seen in neither: fall back to the plain time weights
            w0 = np.where(none, 1 - t, w0)
            w1 = np.where(none, t, w1)
            total = w0 + w1
            out.append(((w0[..., None] * warped0 + w1[..., None] * warped1) / total[..., None]).astype(np.float32))
        return out


def interpolate_frames(frames, factor: int, method: str, progress=None) -> Any:
    """[F, H, W, 3] float tensor → [F·factor − factor + 1, H, W, 3]."""
    import numpy as np
    import torch
    array = frames.detach().float().cpu().numpy()
    count, height, width = array.shape[:3]
    if factor == 1 or count < 2:
        return frames
    times = [k / factor for k in range(1, factor)]
    flow = FlowInterpolator(height, width) if method == "flow" else None
    out = []
    for i in range(count - 1):
        a, b = np.ascontiguousarray(array[i]), np.ascontiguousarray(array[i + 1])
        out.append(a)
        if flow is not None:
            out.extend(flow.between(a, b, times))
        else:
            out.extend((1 - t) * a + t * b for t in times)
        if progress is not None:
            progress(i + 1, count - 1)
    out.append(array[-1])
    return torch.from_numpy(np.stack(out)).clamp_(0, 1)


@node("Interpolate", category="video", outputs={"video": "VIDEO"})
class Interpolate(Node):
    """Raise the frame rate ×`factor`: `factor`−1 new frames between each pair of frames.

    frames out = frames × factor − (factor − 1); fps out = fps × factor. `flow` warps both
    neighbours along dense optical flow with occlusion handling; `blend` cross-fades.
    """
    video: Any = Socket("VIDEO")
    factor: int = Widget(4, ge=1, le=16, description="4 matches the SVD paper's interpolation model (3 new frames)")
    method: Literal["flow", "blend"] = Widget("flow")

    def run(self, ctx):
        frames = self.video["frames"]
        if frames.shape[-1] != 3:
            raise NodeError(f"expected RGB frames, got {frames.shape[-1]} channels", input="video")
        out = interpolate_frames(frames, self.factor, self.method, progress=ctx.progress)
        return {"video": make_video(out, self.video["fps"] * self.factor)}
