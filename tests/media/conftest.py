"""Fixtures for the media-input tests: the hostile corpus (built once, small on disk), sessions
reading it from their input folder, the video pack's demos for the SVD start-frame path."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import corpus
from pack_fixtures import PackUnderTest


@pytest.fixture(scope="session")
def pack() -> PackUnderTest:
    from nodegraph_nodes.video import demo
    from nodegraph_nodes.video.model_manager import VideoModelManager
    return PackUnderTest("media", demo, ("demo:tiny-svd", "demo:camera-static"), "svd_models", VideoModelManager)


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory) -> Path:
    """Every hostile file, plus good ones, in one folder (about 0.6 MB)."""
    d = tmp_path_factory.mktemp("hostile")
    corpus.png(d / "bomb_11000.png", 11000, 11000)  # 15 KB, 121 M pixels
    corpus.png(d / "bomb_16000.png", 16000, 16000)  # over Pillow's own limit too
    corpus.png(d / "empty_0x0.png", 0, 0, rows=b"")
    corpus.garbage(d / "corrupt.png", b"\x89PNG\r\n\x1a\n")
    corpus.truncated(d / "truncated.png", corpus.png_that_lies(d / "lies_source.png"), 0.5)
    corpus.garbage(d / "not_an_image.jpg")
    (d / "a_folder.png").mkdir()
    corpus.small_png(d / "good.png")
    corpus.mp4(d / "good.mp4", frames=12)
    corpus.truncated(d / "truncated.mp4", corpus.mp4(d / "full.mp4", frames=30, faststart=True), 0.6)
    corpus.garbage(d / "corrupt.mp4", b"\x00\x00\x00\x18ftypisom")
    (d / "empty.mp4").write_bytes(b"")
    corpus.mp4_without_frames(d / "no_frames.mp4")
    corpus.mp4_declaring_size(d / "declares_100000.mp4", 100000, 100000)
    corpus.mp4_declaring_size(d / "declares_16000.mp4", 16000, 16000)
    corpus.mp4_with_frame_rate(d / "fps_million.mp4", 1e6)
    corpus.gif_of_many_frames(d / "frames_10000.gif", 10_000)
    (d / "empty_folder").mkdir()
    (d / "bomb_folder").mkdir()
    corpus.small_png(d / "bomb_folder" / "a.png")
    corpus.png(d / "bomb_folder" / "bomb.png", 11000, 11000)
    return d


@pytest.fixture
def input_dir(tmp_path, hostile_dir) -> Path:
    """tmp_path/input holding the corpus (hard links or copies: the sessions read it there)."""
    target = tmp_path / "input"
    shutil.copytree(hostile_dir, target)
    return target
