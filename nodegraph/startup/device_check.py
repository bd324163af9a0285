"""``--device``, settled before anything runs.

``cuda`` that cannot be had is one line and exit 2 up front (not a torch traceback half-way
through a job); ``auto`` says what it chose. ``auto`` is resolved only where torch is imported
anyway (the server at start, a run once a node has needed torch), so a fully cached run stays
free of the torch import.
"""
from __future__ import annotations

import sys

from ..api.errors import UsageError


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
