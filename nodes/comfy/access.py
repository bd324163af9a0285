"""The warm weights behind comfy handles, from the SDXL pack's and the video pack's model
managers (one per session each, shared with the native nodes): SD 1.x, SDXL and refiner
pipelines from the first, SVD pipelines from the second; a separate VAE file from a small
manager of its own. Each ``with`` block holds the manager's lock while the caller uses weights.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from nodegraph import NodeError
from nodegraph.run.model_cache import WarmModelManager
from nodegraph_nodes.sdxl.model_manager import ModelHandle, ModelSource, quiet_loaders
from nodegraph_nodes.sdxl.pipeline import model_manager as image_manager
from nodegraph_nodes.video.model_manager import VideoModelHandle
from nodegraph_nodes.video.svd import model_manager as video_manager

from .handles import ComfyClip, ComfyModel, ComfyVae


@contextmanager
def pipeline(ctx, handle: Any, parts: str = "all") -> Iterator[Any]:
    """The diffusers pipeline holding ``handle``'s weights, its patches applied for ``parts``
    ("all": the UNet's, "text": the text encoders', "vae"/"image": none)."""
    if handle.family == "svd":
        with video_manager(ctx).use(VideoModelHandle(handle.source), patched=False) as pipe:
            yield pipe
        return
    if isinstance(handle, (ComfyModel, ComfyClip)):
        base = handle.base_handle()
    else:
        base = ModelHandle(handle.source)
    with image_manager(ctx).use(base, parts=parts) as pipe:
        yield pipe


@contextmanager
def vae_module(ctx, vae: ComfyVae) -> Iterator[Any]:
    """The VAE module (AutoencoderKL, or SVD's temporal decoder) of a VAE handle."""
    if vae.source.kind == "vae_file":
        with ctx.service("comfy_vaes", VaeManager).use(vae.source) as module:
            yield module
        return
    with pipeline(ctx, vae, parts="vae") as pipe:
        yield pipe.vae


@contextmanager
def vae_precision(module) -> Iterator[Any]:
    """The dtype to encode and decode with: diffusers' rule for VAEs whose config sets
    ``force_upcast`` (SD 1.x and SDXL VAEs overflow in float16: black or NaN pictures) is float32
    when the weights are float16; the module is float32 for the block and float16 again after
    (it is shared and warm: the manager's lock, held by the caller, keeps other users out)."""
    import torch
    dtype = next(module.parameters()).dtype
    if dtype != torch.float16 or not getattr(module.config, "force_upcast", False):
        yield dtype
        return
    # torch's own .to(): diffusers' override warns on every dtype cast (its keep-in-fp32 list)
    torch.nn.Module.to(module, torch.float32)
    try:
        yield torch.float32
    finally:
        torch.nn.Module.to(module, torch.float16)


class VaeManager(WarmModelManager[ModelSource, Any]):
    """Separate VAE files (VAELoader), warm across jobs like the pipelines."""

    def __init__(self, memory_budget: int | None = None):
        super().__init__(memory_budget)

    @contextmanager
    def use(self, source: ModelSource) -> Iterator[Any]:
        with self._lock:
            yield self._entry(source).module

    def _load(self, source: ModelSource):
        import torch
        from diffusers import AutoencoderKL

        dtype = getattr(torch, source.dtype)
        try:
            with quiet_loaders():
                if source.config is None:  # a diffusers VAE folder
                    module = AutoencoderKL.from_pretrained(source.location, torch_dtype=dtype, local_files_only=True)
                else:
                    module = AutoencoderKL.from_single_file(source.location, config=source.config, torch_dtype=dtype,
                                                            local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - loader errors become a message naming the file
            raise NodeError(f"cannot load VAE {source.label!r}: {str(exc).splitlines()[0] if str(exc) else exc!r}",
                            input="vae_name") from None
        module.requires_grad_(False)
        module.to(source.device).eval()
        return _Vae(module, sum(p.numel() * p.element_size() for p in module.parameters()))


class _Vae:
    def __init__(self, module, nbytes: int):
        self.module, self.nbytes = module, nbytes
