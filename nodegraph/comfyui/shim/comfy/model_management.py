"""ComfyUI's ``comfy.model_management`` for custom-node packs: the session's device, memory
figures, and the running job's interrupt (``throw_exception_if_processing_interrupted`` raises
when that job was interrupted; ``InterruptProcessingException`` stops the job as interrupted).

Model loading and offloading (``load_models_gpu``, ``ModelPatcher``...) are ComfyUI's internals
and not provided; ``unload_all_models`` and ``cleanup_models`` are accepted and do nothing
(nodegraph's packs manage their own warm models).
"""
from __future__ import annotations

import os
from typing import Any

from nodegraph.comfyui.surface import current
from nodegraph.api.errors import Interrupted
from nodegraph.run.devices import resolve_device


class InterruptProcessingException(Interrupted):
    """Raised where a pack checks for an interrupt; the job ends as interrupted."""


def _torch() -> Any:
    import torch
    return torch


def __getattr__(name: str) -> Any:
    if name == "OOM_EXCEPTION":
        torch = _torch()
        return getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    raise AttributeError(f"comfy.model_management.{name} is part of ComfyUI's internals, which nodegraph "
                         "does not provide")


def _running_device() -> str:
    call = current()
    device = call.ctx.env.device if call.ctx is not None else call.device
    return resolve_device(device)


def get_torch_device() -> Any:
    return _torch().device(_running_device())


def intermediate_device() -> Any:
    return _torch().device("cpu")  # values between nodes live on the CPU, as in nodegraph


def unet_offload_device() -> Any:
    return _torch().device("cpu")


def text_encoder_offload_device() -> Any:
    return _torch().device("cpu")


def vae_offload_device() -> Any:
    return _torch().device("cpu")


def unet_inference_device() -> Any:
    return get_torch_device()


text_encoder_device = vae_device = unet_inference_device


def intermediate_dtype() -> Any:
    return _torch().float32


def is_device_cpu(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "cpu"


def is_device_cuda(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "cuda"


def is_device_mps(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "mps"


def cpu_mode() -> bool:
    return _running_device() == "cpu"


def mps_mode() -> bool:
    return _running_device() == "mps"


def is_intel_xpu() -> bool:
    return False


def xformers_enabled() -> bool:
    return False


def pytorch_attention_enabled() -> bool:
    return True


def should_use_fp16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    return is_device_cuda(device if device is not None else get_torch_device())


def should_use_bf16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    return False


def get_free_memory(dev: Any = None, torch_free_too: bool = False) -> Any:
    device = dev if dev is not None else get_torch_device()
    if is_device_cuda(device):
        free, _ = _torch().cuda.mem_get_info(device)
        return (free, free) if torch_free_too else free
    free = _ram()[1]
    return (free, free) if torch_free_too else free


def get_total_memory(dev: Any = None, torch_total_too: bool = False) -> Any:
    device = dev if dev is not None else get_torch_device()
    if is_device_cuda(device):
        _, total = _torch().cuda.mem_get_info(device)
    else:
        total = _ram()[0]
    return (total, total) if torch_total_too else total


def _ram() -> tuple[int, int]:
    """(total, available) bytes of RAM."""
    try:
        import psutil
        memory = psutil.virtual_memory()
        return memory.total, memory.available
    except ImportError:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return pages, os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def soft_empty_cache(force: bool = False) -> None:
    import sys
    torch = sys.modules.get("torch")  # never imported just to empty a cache
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def unload_all_models() -> None:
    """Accepted and ignored: nodegraph's packs keep their own warm models."""


def cleanup_models(*args: Any, **kwargs: Any) -> None:
    """Accepted and ignored (see ``unload_all_models``)."""


def processing_interrupted() -> bool:
    ctx = current().ctx
    return ctx is not None and ctx.interrupt.is_set


def throw_exception_if_processing_interrupted() -> None:
    if processing_interrupted():
        raise InterruptProcessingException("interrupted")


def interrupt_current_processing(value: bool = True) -> None:
    """Interrupts the job whose node calls it (never another job)."""
    ctx = current().ctx
    if value and ctx is not None:
        ctx.interrupt.set()
