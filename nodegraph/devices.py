"""``--device``, settled before anything runs.

``cuda`` that cannot be had is one line and exit 2 up front (not a torch traceback half-way
through a job); ``auto`` says what it chose. ``auto`` is resolved only where torch is imported
anyway (the server at start, a run once a node has needed torch), so a fully cached run stays
free of the torch import.

``warm_up`` makes the CUDA context on a background thread once a loader node knows a model is
coming, so it is ready by the time the weights are.
"""
from __future__ import annotations

import functools
import os
import sys
import threading

from .errors import UsageError


def check_device(requested: str) -> tuple[str, str]:
    """(device, a line saying what was chosen and why) for "auto", "cpu" or "cuda".

    Raises UsageError with one line when "cuda" is asked for and torch cannot use it.
    """
    if requested == "cpu":
        return "cpu", "device: cpu"
    try:
        import torch
    except ImportError:
        if requested == "auto":
            return "cpu", "device: cpu (auto: torch is not installed)"
        raise UsageError("--device cuda: torch is not installed") from None
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return "cuda", f"device: cuda ({'auto: ' if requested == 'auto' else ''}{name})"
    if torch.version.cuda is None:
        why = f"torch {torch.__version__} is a CPU-only build"
    else:
        why = f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device"
    if requested == "auto":
        return "cpu", f"device: cpu (auto: {why})"
    raise UsageError(f"--device cuda: {why}; install a CUDA build of torch on a machine with an NVIDIA GPU "
                     "and its driver, or use --device cpu")


def chosen_auto_device() -> str | None:
    """The line for ``auto`` once torch is loaded (a node needed it); None before that."""
    if "torch" not in sys.modules:
        return None
    return check_device("auto")[1]


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
