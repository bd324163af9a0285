"""LoadVideo decodes only what it keeps: counted in frames out of the decoder and packets read,
and the kept frames are exactly those a full decode then slicing gives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import corpus
from nodegraph.run.media_limits import MediaLimits
from nodegraph_nodes.video.video_read import Selection, open_reader, read_clip

LIMITS = MediaLimits()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {"mp4": corpus.mp4(d / "long.mp4", frames=120, width=96, height=64, gop=12, profile="main"),
            "gif": _gif(d / "long.gif", 40), "folder": _folder(d / "frames", 30)}


def _gif(path: Path, frames: int) -> Path:
    from PIL import Image
    pictures = [Image.fromarray(np.full((16, 24, 3), (i * 6) % 256, np.uint8)) for i in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=50, loop=0)
    return path


def _folder(path: Path, frames: int) -> Path:
    from PIL import Image
    path.mkdir()
    for i in range(frames):
        Image.fromarray(np.full((12, 20, 3), i * 8, np.uint8)).save(path / f"f{i:03d}.png")
    return path


def _full(path: Path) -> torch.Tensor:
    """Every frame, decoded the plain way (a reference independent of the readers)."""
    if path.is_dir():
        from PIL import Image
        arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(path.iterdir())]
    elif path.suffix == ".gif":
        from PIL import Image, ImageSequence
        arrays = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(path))]
    else:
        import av
        with av.open(str(path)) as c:
            arrays = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    return torch.from_numpy(np.stack(arrays)).float() / 255.0


def _read(path: Path, selection: Selection):
    reader = open_reader(path, LIMITS)
    try:
        frames, fps = read_clip(reader, selection, LIMITS)
        return frames, reader.stats
    finally:
        reader.close()


SELECTIONS = [Selection(0, 1, 0), Selection(0, 1, 8), Selection(7, 3, 5), Selection(50, 1, 4),
              Selection(100, 4, 0), Selection(13, 2, 0)]


@pytest.mark.parametrize("kind", ["mp4", "gif", "folder"])
@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: f"start{s.start}-step{s.step}-max{s.limit}")
def test_kept_frames_equal_a_full_decode_sliced(clips, kind, selection):
    path = clips[kind]
    full = _full(path)
    expected = full[selection.start::selection.step]
    if selection.limit:
        expected = expected[:selection.limit]
    frames, _stats = _read(path, selection)
    if len(expected) == 0:
        assert frames is None
        return
    assert frames.dtype == torch.float32 and frames.is_contiguous()
    assert torch.equal(frames, expected)


def test_max_frames_stops_the_decoder_after_the_last_kept_frame(clips):
    _frames, stats = _read(clips["mp4"], Selection(0, 2, 3))  # frames 0, 2, 4 of 120
    assert stats.decoded == 5  # frames 0..4 and no more
    assert stats.packets <= 5 + 4  # FFmpeg's frame threads read at most 4 packets ahead
    assert not stats.reached_end
    _frames, whole = _read(clips["mp4"], Selection(0, 2, 0))
    assert whole.decoded == 120 and whole.reached_end  # the same clip, read to its end


def test_start_frame_seeks_to_the_key_frame_before_it(clips):
    _frames, stats = _read(clips["mp4"], Selection(100, 1, 2))  # key frames every 12: 96 is the one before 100
    assert stats.seeked and stats.first_index == 96
    assert stats.decoded == 102 - 96  # 96..101
    assert stats.packets <= 6 + 4


def test_gif_and_folder_stop_at_the_last_kept_frame(clips):
    _frames, gif = _read(clips["gif"], Selection(3, 5, 2))  # frames 3 and 8
    assert gif.decoded == 9  # each GIF frame is drawn over the last: 0..8 decoded, none after
    _frames, folder = _read(clips["folder"], Selection(3, 5, 2))
    assert folder.decoded == 2  # only the kept files are opened


def test_the_header_budget_refuses_before_any_frame_is_decoded(clips):
    from nodegraph_nodes.video.video_read import VideoReadError
    limits = MediaLimits(video_pixels=96 * 64 * 50)
    reader = open_reader(clips["mp4"], limits)
    with pytest.raises(VideoReadError, match="would keep 120 frames"):
        read_clip(reader, Selection(), limits)
    assert reader.stats.decoded == 0 and reader.stats.packets == 0
    reader.close()
