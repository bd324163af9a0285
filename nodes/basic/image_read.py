"""Opening image files within a pixel budget, and turning them into IMAGE tensors in one copy.

Pillow reads only the header in ``Image.open`` (no pixels yet), so the size is checked before
anything is decoded: an 11000×11000 PNG of 15 KB is refused in a millisecond instead of taking
4.5 GB. Pillow's own decompression-bomb check (a warning above 89 M pixels, an error above
179 M) still applies on top of the budget; its error is reported the same way.
LoadImage and LoadVideo's frame folders use these helpers.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from nodegraph.run.media_limits import IMAGE_ENV, IMAGE_FLAG, VIDEO_ENV, VIDEO_FLAG, MediaLimits, megapixels


class ImageReadError(ValueError):
    """What is wrong with an image file, worded to follow its name ("'x.png' is ...")."""


def budget_hint(flag: str, env: str) -> str:
    return f"raise it with {flag} or ${env}"


def check_size(width: int, height: int, max_pixels: int, what: str = "image") -> None:
    """An empty or over-budget size is an ImageReadError."""
    if width <= 0 or height <= 0:
        raise ImageReadError(f"declares an empty {what} ({width}×{height})")
    if width * height > max_pixels:
        raise ImageReadError(f"is {width}×{height} ({megapixels(width * height)} pixels), over the image budget "
                             f"of {megapixels(max_pixels)} pixels ({budget_hint(IMAGE_FLAG, IMAGE_ENV)})")


def open_image(path: Path, max_pixels: int):
    """The Pillow image at ``path``, header read and size checked, pixels not decoded yet.

    The caller closes it (``with open_image(...) as img``)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():  # the budget speaks for itself: no DecompressionBombWarning lines
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"is over Pillow's decompression-bomb limit ({exc}); the image budget is "
                             f"{megapixels(max_pixels)} pixels") from None
    except UnidentifiedImageError:
        raise ImageReadError("is not a readable image (not a PNG, JPEG, WebP, GIF or BMP file, or a "
                             "corrupt one)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"is not a readable image: {exc}") from None
    try:
        check_size(*img.size, max_pixels)
    except ImageReadError:
        img.close()
        raise
    return img


def check_frames(img, limits: MediaLimits) -> None:
    """An animated picture (APNG, WebP) loads as a batch: its frames × pixels must fit the video
    budget. The count comes from the header (PNG's acTL, WebP's demuxer), nothing is decoded."""
    frames = getattr(img, "n_frames", 1)
    width, height = img.size
    if frames > 1 and frames * width * height > limits.video_pixels:
        raise ImageReadError(f"has {frames:,} frames of {width}×{height} ({megapixels(frames * width * height)} "
                             f"pixels), over the video budget of {megapixels(limits.video_pixels)} pixels "
                             f"({budget_hint(VIDEO_FLAG, VIDEO_ENV)})")


def decode_rgb(img, name: str = "") -> Any:
    """``img`` decoded to a uint8 RGB array [H, W, 3]; a corrupt or truncated file is an ImageReadError."""
    import numpy as np
    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            return np.asarray(rgb)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"is over Pillow's decompression-bomb limit ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated data, broken chunks
        raise ImageReadError(f"cannot be decoded (corrupt or truncated?): {exc}") from None


def rgb_to_tensor(rgb: Any, out: Any = None) -> Any:
    """uint8 [H, W, 3] -> float [H, W, 3] in 0..1, written into ``out`` when given (no other
    full-size copy: the cast happens in the copy, the division in place)."""
    import torch
    with warnings.catch_warnings():  # Pillow's arrays are read-only; this one is only read from
        warnings.simplefilter("ignore", UserWarning)
        source = torch.from_numpy(rgb)
    if out is None:
        out = torch.empty(source.shape, dtype=torch.float32)
    out.copy_(source)
    return out.div_(255.0)


def load_image_tensor(path: Path, max_pixels: int) -> Any:
    """The image at ``path`` as an IMAGE tensor [1, H, W, 3] in 0..1, within ``max_pixels``."""
    import torch
    with open_image(path, max_pixels) as img:
        rgb = decode_rgb(img)
    out = torch.empty((1, *rgb.shape), dtype=torch.float32)
    rgb_to_tensor(rgb, out[0])
    return out
