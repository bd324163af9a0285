"""ComfyUI's ``node_helpers`` for custom-node packs: opening images with Pillow's retries."""
from __future__ import annotations

from typing import Any, Callable


def pillow(fn: Callable, arg: Any) -> Any:
    """``fn(arg)`` (e.g. ``Image.open``), retried once with truncated images allowed."""
    from PIL import ImageFile
    try:
        return fn(arg)
    except (OSError, UnicodeDecodeError):
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            return fn(arg)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def __getattr__(name: str) -> Any:
    raise AttributeError(f"node_helpers.{name} is part of ComfyUI's internals, which nodegraph does not provide")
