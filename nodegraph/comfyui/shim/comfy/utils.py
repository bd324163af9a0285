"""ComfyUI's ``comfy.utils`` for custom-node packs: ``ProgressBar`` (nodegraph progress events of
the running node, each also an interrupt point) and the tensor and file helpers packs use most.
Anything else is ComfyUI's and not provided: using it raises AttributeError saying so."""
from __future__ import annotations

from typing import Any

from nodegraph.comfyui.surface import current

PROGRESS_BAR_ENABLED = True


def set_progress_bar_enabled(enabled: bool) -> None:
    """ComfyUI's console progress switch: nodegraph's progress events are always on."""


def set_progress_bar_global_hook(function: Any) -> None:
    """ComfyUI's hook for its own progress bars; progress goes to nodegraph's events instead."""


class ProgressBar:
    """Progress of the node that created it: ``update(n)`` adds, ``update_absolute(v)`` sets. Each
    update is a ``progress`` event and an interrupt point (an interrupted job stops here)."""

    def __init__(self, total: int, node_id: Any = None) -> None:
        self.total = total
        self.current = 0
        self._call = current()  # the node call it belongs to, even if updated from another thread

    def update_absolute(self, value: int, total: int | None = None, preview: Any = None) -> None:
        if total is not None:
            self.total = total
        self.current = min(value, self.total) if self.total else value
        ctx = self._call.ctx
        if ctx is not None:
            ctx.progress(self.current, self.total)

    def update(self, value: int) -> None:
        self.update_absolute(self.current + value)


def common_upscale(samples: Any, width: int, height: int, upscale_method: str, crop: str) -> Any:
    """``samples`` [B, C, H, W] resized to height × width by ``upscale_method`` (nearest-exact,
    bilinear, area, bicubic, bislerp as bilinear, lanczos), ``crop="center"`` keeping the aspect."""
    import torch.nn.functional as F
    if crop == "center":
        old_h, old_w = samples.shape[-2], samples.shape[-1]
        old_aspect, new_aspect = old_w / old_h, width / height
        x = y = 0
        if old_aspect > new_aspect:
            x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
        elif old_aspect < new_aspect:
            y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
        samples = samples.narrow(-2, y, old_h - y * 2).narrow(-1, x, old_w - x * 2)
    if upscale_method == "lanczos":
        return _lanczos(samples, width, height)
    mode = {"bislerp": "bilinear"}.get(upscale_method, upscale_method)
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return F.interpolate(samples, size=(height, width), mode=mode, **kwargs)


def _lanczos(samples: Any, width: int, height: int) -> Any:
    import numpy as np
    import torch
    from PIL import Image
    out = []
    for image in samples.movedim(1, -1).float().cpu():
        array = (image.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
        resized = np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
        out.append(torch.from_numpy(resized.reshape(height, width, -1).copy()))
    return torch.stack(out).movedim(-1, 1).to(samples.device, samples.dtype)


def repeat_to_batch_size(tensor: Any, batch_size: int, dim: int = 0) -> Any:
    if tensor.shape[dim] > batch_size:
        return tensor.narrow(dim, 0, batch_size)
    if tensor.shape[dim] < batch_size:
        repeats = [1] * tensor.dim()
        repeats[dim] = -(-batch_size // tensor.shape[dim])
        return tensor.repeat(*repeats).narrow(dim, 0, batch_size)
    return tensor


def load_torch_file(ckpt: str, safe_load: bool = False, device: Any = None, return_metadata: bool = False) -> Any:
    """A state dict from ``.safetensors`` (with its metadata if asked), or from a torch pickle
    loaded with ``weights_only=True`` (tensors only: never arbitrary code)."""
    import torch
    device = device if device is not None else torch.device("cpu")
    metadata = None
    if str(ckpt).lower().endswith((".safetensors", ".sft")):
        from safetensors import safe_open
        with safe_open(ckpt, framework="pt", device=str(device)) as handle:
            state = {key: handle.get_tensor(key) for key in handle.keys()}
            metadata = handle.metadata() if return_metadata else None
    else:
        state = torch.load(ckpt, map_location=device, weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    return (state, metadata) if return_metadata else state


def save_torch_file(sd: dict, ckpt: str, metadata: dict | None = None) -> None:
    from safetensors.torch import save_file
    save_file(sd, ckpt, metadata=metadata)


def __getattr__(name: str) -> Any:
    raise AttributeError(f"comfy.utils.{name} is part of ComfyUI's internals, which nodegraph does not provide")
