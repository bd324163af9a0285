"""Video files in and out, frame utilities, and bad files as clear errors naming the node."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nodegraph.graph.workflow import load_workflow, parse_workflow
from nodegraph_nodes.video import WORKFLOW_READERS

from .conftest import mp4_frames, run

FPS = 12.0


def _clip(frames: int = 6, h: int = 48, w: int = 64) -> torch.Tensor:
    """A smooth moving gradient: compresses well, so lossy formats stay close."""
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([torch.stack([(x + t / 10) % 1, y, 0.5 + 0.4 * torch.sin(3 * x + t) * y], -1)
                        for t in range(frames)]).float()


def _graph(nodes: dict) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def _save_then_load(session, tmp_path, fmt: str):
    """Save the clip in ``fmt`` through the graph, copy it into input/, load it back."""
    import shutil
    clip = _clip()
    np.save(tmp_path / "clip.npy", clip.numpy())
    result, _ = run(session, parse_workflow(_graph({
        "frames": {"type": "TestClip", "inputs": {}},
        "save": {"type": "SaveVideo", "inputs": {"video": {"from": "frames", "output": "video"}, "format": fmt,
                                                 "prefix": "clip", "quality": 90 if fmt == "webp" else 18}}})))
    assert result.ok, result.error
    (written,) = result.outputs
    (tmp_path / "input").mkdir(exist_ok=True)
    target = tmp_path / "input" / f"in_{fmt}"
    (shutil.copytree if fmt == "png" else shutil.copy)(written, target if fmt == "png" else f"{target}.{fmt}")
    name = f"in_{fmt}" if fmt == "png" else f"in_{fmt}.{fmt}"
    loaded, _ = run(session, parse_workflow(_graph({
        "load": {"type": "LoadVideo", "inputs": {"video": name}},
        "out": {"type": "TestCapture", "inputs": {"value": {"from": "load", "output": "video"}}}})))
    assert loaded.ok, loaded.error
    return clip, written, loaded.values["out"]["value"]


@pytest.fixture
def clip_session(make_session, registry):
    from nodegraph import Node, node
    from nodegraph_nodes.video.values import make_video

    @node("TestClip", category="tests", outputs={"video": "VIDEO"})
    class TestClip(Node):
        def run(self, ctx):
            return {"video": make_video(_clip(), FPS)}

    registry.add_node(TestClip, "tests.video") if "TestClip" not in registry.nodes else None
    return make_session()


@pytest.mark.parametrize("fmt,min_psnr", [("mp4", 27), ("webm", 27), ("webp", 27), ("gif", 20), ("png", 50)])
def test_every_format_round_trips_frames_and_rate(clip_session, tmp_path, fmt, min_psnr):
    clip, written, video = _save_then_load(clip_session, tmp_path, fmt)
    frames = video["frames"]
    assert frames.shape == clip.shape
    if fmt != "png":  # a frame folder carries no rate (LoadVideo's default applies)
        assert video["fps"] == pytest.approx(FPS, rel=0.05)  # GIF stores durations in 10 ms steps
    mse = float(((frames - clip) ** 2).mean())
    assert (10 * math.log10(1 / mse) if mse else 100) >= min_psnr  # png: only the 8-bit rounding
    sidecar = json.loads(open(f"{written}.json").read())
    assert sidecar["video"]["frames"] == 6 and sidecar["workflow"]["nodes"]["save"]["type"] == "SaveVideo"


def test_mp4_workflow_comes_back_from_tags_or_sidecar(clip_session, tmp_path):
    _clip_, written, _video = _save_then_load(clip_session, tmp_path, "mp4")
    frames, fps, tags = mp4_frames(written)
    assert len(frames) == 6 and fps == FPS and "nodegraph.provenance" in tags
    assert load_workflow(written, WORKFLOW_READERS).nodes["save"].type == "SaveVideo"
    # Re-muxed by a tool that drops tags: the sidecar still has it.
    import av
    bare = tmp_path / "bare.mp4"
    with av.open(written) as src, av.open(str(bare), "w", format="mp4") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    assert "nodegraph.workflow" not in mp4_frames(bare)[2]
    (tmp_path / "bare.mp4.json").write_text(open(f"{written}.json").read())
    assert load_workflow(bare, WORKFLOW_READERS).nodes["save"].type == "SaveVideo"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_or_truncated_video_is_a_clear_error_naming_the_node(clip_session, tmp_path, damage):
    _clip_, written, _video = _save_then_load(clip_session, tmp_path, "mp4")
    data = open(written, "rb").read()
    bad = {"garbage": b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40, "truncated": data[: len(data) * 2 // 3],
           "empty": b""}[damage]
    (tmp_path / "input" / "bad.mp4").write_bytes(bad)
    result, _ = run(clip_session, parse_workflow(_graph({
        "clip": {"type": "LoadVideo", "inputs": {"video": "bad.mp4"}},
        "out": {"type": "TestCapture", "inputs": {"value": {"from": "clip", "output": "video"}}}})))
    assert result.status == "failed"
    assert result.error["node"] == "clip" and result.error["input"] == "video"
    assert "'bad.mp4'" in result.error["message"]
    assert any(w in result.error["message"] for w in ("corrupt", "truncated", "no decodable"))
    assert "Traceback" not in result.error["message"]


def test_frame_utilities(clip_session):
    result, _ = run(clip_session, parse_workflow(_graph({
        "frames": {"type": "TestClip", "inputs": {}},
        "last": {"type": "ExtractFrame", "inputs": {"video": {"from": "frames", "output": "video"}, "index": -1}},
        "every2": {"type": "SelectFrames", "inputs": {"video": {"from": "frames", "output": "video"}, "step": 2}},
        "small": {"type": "ResizeVideo", "inputs": {"video": {"from": "every2", "output": "video"}, "width": 32,
                                                    "height": 24}},
        "images": {"type": "VideoToImages", "inputs": {"video": {"from": "small", "output": "video"}}},
        "back": {"type": "ImagesToVideo", "inputs": {"images": {"from": "images", "output": "images"}, "fps": 3.0}},
        "a": {"type": "TestCapture", "inputs": {"value": {"from": "last", "output": "image"}}},
        "b": {"type": "TestCapture", "inputs": {"value": {"from": "small", "output": "video"}}},
        "c": {"type": "TestCapture", "inputs": {"value": {"from": "back", "output": "video"}}}})))
    assert result.ok, result.error
    clip = _clip()
    assert torch.equal(result.values["a"]["value"], clip[-1:])
    small = result.values["b"]["value"]
    assert small["frames"].shape == (3, 24, 32, 3) and small["fps"] == FPS / 2
    assert result.values["c"]["value"]["fps"] == 3.0
    bad, _ = run(clip_session, parse_workflow(_graph({
        "frames": {"type": "TestClip", "inputs": {}},
        "pick": {"type": "ExtractFrame", "inputs": {"video": {"from": "frames", "output": "video"}, "index": 6}},
        "a": {"type": "TestCapture", "inputs": {"value": {"from": "pick", "output": "image"}}}})))
    assert bad.status == "failed" and bad.error["input"] == "index" and "has 6 frames" in bad.error["message"]


def test_behind_the_job_the_mp4_is_encoded_after_the_node_returns(clip_session, tmp_path, monkeypatch):
    """As in a GPU server: SaveVideo returns before its MP4 is on disk; ``executed`` and ``done``
    come once it is, whole, with its sidecar."""
    import threading

    from nodegraph.run.events import CollectingSink
    from nodegraph_nodes.video import video_io
    opened = threading.Event()
    real = video_io.write_av

    def gated(*args, **kwargs):
        assert opened.wait(20), "the gate was never opened"
        return real(*args, **kwargs)

    monkeypatch.setattr(video_io, "write_av", gated)
    clip_session.env.write_behind = True
    sink = CollectingSink()
    job = clip_session.prepare(_graph({
        "frames": {"type": "TestClip", "inputs": {}},
        "save": {"type": "SaveVideo", "inputs": {"video": {"from": "frames", "output": "video"}, "prefix": "behind"}}}),
        sink=sink)
    job.finish_later = True
    result = clip_session.execute(job)
    (written,) = result.outputs
    assert result.finish is not None and not Path(written).exists()
    assert not any(e["event"] == "executed" and e["node"] == "save" for e in sink.events)
    opened.set()
    result.finish()
    assert result.ok and [e["event"] for e in sink.events][-2:] == ["executed", "done"]
    frames, fps, tags = mp4_frames(written)
    assert len(frames) == 6 and fps == FPS and "nodegraph.workflow" in tags
    assert Path(written + ".json").is_file()
    assert not [p.name for p in Path(written).parent.iterdir() if p.name.startswith(".")]


def test_behind_the_job_png_frames_arrive_whole_before_done(clip_session, monkeypatch):
    """SaveVideo's PNG folder goes through the same writer: each frame written whole, and
    ``executed``/``done`` only once every frame is there, with the same bytes as in line."""
    import threading

    from nodegraph.run.events import CollectingSink
    from nodegraph_nodes.video import video_io

    def save(prefix: str):
        return _graph({"frames": {"type": "TestClip", "inputs": {}},
                       "save": {"type": "SaveVideo", "inputs": {"video": {"from": "frames", "output": "video"},
                                                                "prefix": prefix, "format": "png"}}})

    inline = clip_session.run(save("inline"))
    assert inline.ok, inline.error
    opened = threading.Event()
    real = video_io.write_png_frame

    def gated(array, path):
        assert opened.wait(20), "the gate was never opened"
        return real(array, path)

    monkeypatch.setattr(video_io, "write_png_frame", gated)
    clip_session.env.write_behind = True
    sink = CollectingSink()
    job = clip_session.prepare(save("behind"), sink=sink)
    job.finish_later = True
    result = clip_session.execute(job)
    (folder,) = result.outputs
    assert result.finish is not None and not list(Path(folder).glob("frame_*.png"))
    assert not any(e["event"] == "executed" and e["node"] == "save" for e in sink.events)
    opened.set()
    result.finish()
    assert result.ok and [e["event"] for e in sink.events][-2:] == ["executed", "done"]
    frames = sorted(Path(folder).iterdir())
    assert [p.name for p in frames] == [f"frame_{i:05d}.png" for i in range(6)]  # nothing half-written left
    assert [p.read_bytes() for p in frames] == [p.read_bytes() for p in sorted(Path(inline.outputs[0]).iterdir())]
