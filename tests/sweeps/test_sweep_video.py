"""A sweep whose cells save MP4 or WebM clips: the contact sheet shows each clip's first and last
frames (read by the video pack), not the file's name."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nodegraph.run.sweep_sheet import SHEET_KEY

from sweep_helpers import run_sweep

pytest.importorskip("av")

# frame k of the input clip is COLOURS[k]: a cell that starts at frame 2 starts blue
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


def _write_clip(path):
    from nodegraph_nodes.video.video_io import write_av
    frames = np.stack([np.full((96, 96, 3), c, dtype=np.uint8) for c in COLOURS])
    write_av(path, frames, 4.0, "libx264", 10, {})


def _close(pixel, colour):
    return all(abs(a - b) <= 40 for a, b in zip(pixel, colour))


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_clip_cells_show_their_first_and_last_frames(make_session, tmp_path, fmt):
    (tmp_path / "input").mkdir()
    _write_clip(tmp_path / "input" / "colours.mp4")
    workflow = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "load": {"type": "LoadVideo", "inputs": {"video": "colours.mp4", "start_frame": 0}},
        "save": {"type": "SaveVideo", "inputs": {"video": {"from": "load", "output": "video"},
                                                 "prefix": "clip", "format": fmt}}},
        "sweep": {"axes": [{"node": "load", "input": "start_frame", "values": [0, 2]}]}}
    events, result = run_sweep(make_session(), workflow)
    assert result.ok, result.error
    assert all(o.endswith(f".{fmt}") for e in events if e["event"] == "cell" for o in e["outputs"])
    with Image.open(events[-1]["sweep"]["sheet"]) as sheet:
        page = json.loads(sheet.text[SHEET_KEY])
        pixels = sheet.convert("RGB")
    boxes = {b["cell"]: b["box"] for b in page["boxes"]}
    firsts = []
    for cell, first in ((0, COLOURS[0]), (1, COLOURS[2])):
        left, top, right, bottom = boxes[cell]
        middle = (top + bottom) // 2
        # the strip is first | last, centred in the box: sample a quarter in from each side
        first_px = pixels.getpixel((left + (right - left) // 4, middle))
        last_px = pixels.getpixel((right - (right - left) // 4, middle))
        assert _close(first_px, first), (cell, first_px)
        assert _close(last_px, COLOURS[3]), (cell, last_px)  # both clips end on the last frame
        firsts.append(first_px)
    assert firsts[0] != firsts[1]
