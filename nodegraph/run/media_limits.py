"""How much media one input may bring into memory: pixel budgets checked from file headers.

A node that loads an image or a clip (LoadImage, LoadVideo) reads the size from the file's
header and refuses the input before decoding when it is over budget, so a 15 KB PNG declaring
11000×11000 pixels, or a clip that would keep 15,000 frames of 1080p, is a one-line error naming
the node and the file instead of gigabytes of memory. docs/cli.md lists the settings:

- ``image_pixels``: pixels of one image, and of one frame of a clip (width × height);
- ``video_pixels``: frames × pixels of the frames a clip input *keeps* (after ``start_frame``,
  ``every_nth`` and ``max_frames``), so the length of the file only matters when all of it is kept.

Set per run or per server with ``--max-image-pixels`` / ``--max-video-pixels``, or with
``NODEGRAPH_MAX_IMAGE_PIXELS`` / ``NODEGRAPH_MAX_VIDEO_PIXELS``. A value is a count
(``67108864``), a count with a decimal unit (``50M``, ``1.2G``) or a size (``8192x8192``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

# 8192 × 8192 (67.1 M pixels): an 8K frame (33 MP), a 48/50 MP phone photo, and the largest
# image SolidImage/ResizeImage make. As a float tensor that is 805 MB.
DEFAULT_IMAGE_PIXELS = 8192 * 8192
# 300 frames of 1920 × 1080 (622 M pixels, 7.5 GB as a float tensor): 10 s of 1080p at 30 fps,
# or 690 frames of 720p. A longer clip loads with max_frames / every_nth, or a larger budget.
DEFAULT_VIDEO_PIXELS = 300 * 1920 * 1080
IMAGE_ENV = "NODEGRAPH_MAX_IMAGE_PIXELS"
VIDEO_ENV = "NODEGRAPH_MAX_VIDEO_PIXELS"
IMAGE_FLAG = "--max-image-pixels"
VIDEO_FLAG = "--max-video-pixels"

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*$", re.IGNORECASE)


def parse_pixels(text: str) -> int:
    """'67108864', '50M', '1.2G' or '8192x8192' -> a positive pixel count; ValueError otherwise."""
    size = _SIZE.match(text)
    if size:
        value = int(size.group(1)) * int(size.group(2))
    else:
        count = _COUNT.match(text)
        if not count:
            raise ValueError(f"{text!r} is not a pixel count (e.g. 67108864, 50M, 8192x8192)")
        value = int(float(count.group(1)) * _UNITS[count.group(2).upper()])
    if value <= 0:
        raise ValueError(f"{text!r}: a pixel budget must be positive")
    return value


def megapixels(pixels: int) -> str:
    """67108864 -> '67.1 M'; small counts stay exact."""
    if pixels < 10**6:
        return f"{pixels:,}"
    if pixels < 10**9:
        return f"{pixels / 1e6:.1f} M"
    return f"{pixels / 1e9:.2f} G"


@dataclass(frozen=True)
class MediaLimits:
    image_pixels: int = DEFAULT_IMAGE_PIXELS
    video_pixels: int = DEFAULT_VIDEO_PIXELS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "MediaLimits":
        """The defaults, changed by NODEGRAPH_MAX_IMAGE_PIXELS / NODEGRAPH_MAX_VIDEO_PIXELS;
        ValueError naming the variable when one is not a pixel count."""
        environ = os.environ if environ is None else environ
        values = {}
        for field_name, name in (("image_pixels", IMAGE_ENV), ("video_pixels", VIDEO_ENV)):
            text = environ.get(name)
            if text:
                try:
                    values[field_name] = parse_pixels(text)
                except ValueError as exc:
                    raise ValueError(f"${name}: {exc}") from None
        return cls(**values)

    def with_overrides(self, image_pixels: int | None = None, video_pixels: int | None = None) -> "MediaLimits":
        """These limits with the command line's values (None: keep)."""
        return MediaLimits(image_pixels or self.image_pixels, video_pixels or self.video_pixels)
