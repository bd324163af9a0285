"""The hostile files the tests build (conftest.py's ``hostile_dir``) and what each error must say."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent / "plugins"


@dataclass(frozen=True)
class Hostile:
    name: str  # the file name in the input folder
    kind: str  # "image" or "video"
    says: tuple[str, ...]  # words the one-line error must contain (any of them)


IMAGES = [
    Hostile("bomb_11000.png", "image", ("11000×11000", "over the image budget")),
    Hostile("bomb_16000.png", "image", ("decompression-bomb",)),
    Hostile("empty_0x0.png", "image", ("not a readable image",)),
    Hostile("corrupt.png", "image", ("not a readable image",)),
    Hostile("truncated.png", "image", ("truncated",)),
    Hostile("not_an_image.jpg", "image", ("not a readable image",)),
    Hostile("a_folder.png", "image", ("is a folder",)),
]
VIDEOS = [
    Hostile("truncated.mp4", "video", ("truncated",)),
    Hostile("corrupt.mp4", "video", ("corrupt",)),
    Hostile("empty.mp4", "video", ("not a readable video",)),
    Hostile("no_frames.mp4", "video", ("no video stream with frames", "no frames")),
    Hostile("declares_100000.mp4", "video", ("no frame size (0×0)",)),
    Hostile("declares_16000.mp4", "video", ("16000×16000", "over the image budget")),
    Hostile("fps_million.mp4", "video", ("absurd frame rate",)),
    Hostile("frames_10000.gif", "video", ("10,000 frames", "over the video budget")),
    Hostile("empty_folder", "video", ("no image files",)),
    Hostile("bomb_folder", "video", ("frame 'bomb.png'", "over the image budget")),
]
