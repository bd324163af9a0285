"""The first and last frames of a saved clip, as small pictures: what a sweep's contact sheet
shows for a cell whose output is a video Pillow cannot open (MP4, WebM). The video pack gives this
to the core as its ``WorkflowReader.frames`` (``mp4meta.py``), so the core imports no video
library; PyAV is imported here, when a clip is read.
"""
from __future__ import annotations

from pathlib import Path

from nodegraph.run.media_limits import MediaLimits

from .video_read import Selection, VideoReadError, open_reader


def first_and_last_frames(path: Path) -> list:
    """[first, last] frames of the clip at ``path`` as PIL RGB images ([first] for one frame);
    ValueError (a VideoReadError) when it cannot be read."""
    from PIL import Image

    limits = MediaLimits.from_env()
    reader = open_reader(Path(path), limits)
    try:
        header = reader.header()
        first = next(iter(reader.frames(Selection(0, 1, 1))), None)
    finally:
        reader.close()
    if first is None:
        raise VideoReadError("has no decodable frames")
    frames = [Image.fromarray(first)]
    if header.frames and header.frames > 1:
        reader = open_reader(Path(path), limits)  # a fresh reader: the first read consumed the stream
        try:  # seeks to the key frame before the last and decodes from there (video_read.AvReader)
            last = next(iter(reader.frames(Selection(header.frames - 1, 1, 1))), None)
        finally:
            reader.close()
        if last is not None:
            frames.append(Image.fromarray(last))
    return frames
