"""Devices as a running node sees them: ``auto`` resolved once torch is needed, cache-key
material for that choice without importing torch, and the background warm-up of a CUDA device
that a loader node starts when it knows a model is coming, so the context is ready by the time
the weights are. (``--device`` checked up front by the CLI and server: ``startup.device_check``.)
"""
from __future__ import annotations

import functools
import os
import threading
from typing import Any

from .context import imported


def resolve_device(device: str) -> str:
    """"auto" becomes "cuda" when torch sees a GPU, else "cpu"; anything else is kept."""
    if device != "auto":
        return device
    torch = imported("torch")  # only when a node asks: the core never imports torch at import time
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_key(device: str) -> str:
    """Cache-key material for what ``resolve_device(device)`` decides, without importing torch
    (a fully cached run must not pay for it): for "auto", the installed torch build, the GPUs
    the driver exposes and CUDA_VISIBLE_DEVICES; a machine where any of them changes may decide
    differently, so it gets other keys."""
    if device != "auto":
        return device
    from importlib.metadata import PackageNotFoundError, version
    try:
        torch_build = version("torch")
    except PackageNotFoundError:
        torch_build = "none"
    gpus = len([name for name in _dev_entries() if name.startswith("nvidia") and name[6:].isdigit()])
    return f"auto|{torch_build}|gpus={gpus}|{os.environ.get('CUDA_VISIBLE_DEVICES', '*')}"


def _dev_entries() -> list[str]:
    try:
        return os.listdir("/dev")
    except OSError:
        return []


def warm_up(device: str) -> threading.Thread | None:
    """Start making the CUDA context and the cuBLAS/cuDNN handles on a background thread.

    A cold process otherwise makes them in line: the context when the first weights move to the
    GPU, the handles in the first UNet call. Started by a loader node (which only builds a
    handle), it runs while the main thread imports diffusers and reads the weights: torch's
    device calls release the GIL, so the two overlap. Once per process and device (the context
    is the process's), and only a head start: errors are left for the node that needs the GPU.
    ``NODEGRAPH_WARM_DEVICE=0`` turns it off (benchmarks compare the two).
    """
    if device not in ("cuda", "auto") or os.environ.get("NODEGRAPH_WARM_DEVICE", "1") == "0":
        return None
    return _warm_up_once(device)


@functools.cache
def _warm_up_once(device: str) -> threading.Thread:
    thread = threading.Thread(target=_warm, args=(device,), name="nodegraph-warm-device", daemon=True)
    thread.start()
    return thread


def _warm(device: str) -> None:
    try:
        import torch
        if not torch.cuda.is_available():
            return  # "auto" on a machine without a GPU: nothing to warm
        x = torch.ones(1, 1, 64, 64, device="cuda", dtype=torch.float16)  # the context
        x[0, 0] @ x[0, 0]  # cuBLAS: its handle, workspace and library start-up
        torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device="cuda", dtype=torch.float16))  # cuDNN
        torch.cuda.synchronize()
    except Exception:  # noqa: BLE001 - a head start only: the node that needs the GPU reports
        pass
