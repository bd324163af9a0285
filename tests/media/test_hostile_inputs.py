"""Hostile media through LoadImage, LoadVideo and the SVD start frame, in one session: each is a
one-line node error naming the node, the input and the file, and the next job runs."""
from __future__ import annotations

import pytest

from media_cases import IMAGES, VIDEOS, Hostile
from pack_fixtures import run
from nodegraph.graph.workflow import parse_workflow


def _graph(nodes: dict) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def load(kind: str, name: str, **inputs) -> dict:
    node_type, socket = ("LoadImage", "image") if kind == "image" else ("LoadVideo", "video")
    return _graph({"load": {"type": node_type, "inputs": {socket: name, **inputs}},
                   "out": {"type": "TestCapture", "inputs": {"value": {"from": "load", "output": socket}}}})


def assert_one_line_error(result, node: str, input_name: str, item: Hostile) -> str:
    assert result.status == "failed"
    error = result.error
    assert error["node"] == node and error.get("input") == input_name, error
    assert error["exception"] == "NodeError", error  # a clean error, not a crash inside a library
    message = error["message"]
    assert "\n" not in message and "Traceback" not in message
    assert repr(item.name) in message, message
    assert any(word in message for word in item.says), message
    return message


@pytest.mark.parametrize("item", IMAGES + VIDEOS, ids=lambda item: f"{item.kind}-{item.name}")
def test_a_hostile_file_is_one_line_naming_node_input_and_file_and_the_next_job_runs(make_session, input_dir,
                                                                                      item):
    session = make_session()
    result, _ = run(session, parse_workflow(load(item.kind, item.name)))
    assert_one_line_error(result, "load", item.kind, item)
    good = "good.png" if item.kind == "image" else "good.mp4"
    after, _ = run(session, parse_workflow(load(item.kind, good)))
    assert after.ok, after.error
    value = after.values["out"]["value"]
    frames = value if item.kind == "image" else value["frames"]
    assert frames.shape == ((1, 24, 32, 3) if item.kind == "image" else (12, 48, 64, 3))


def test_the_budgets_are_the_sessions_setting(make_session, input_dir):
    """The same files load once the budget allows them: the limit is the setting, not the file."""
    from nodegraph.run.media_limits import MediaLimits
    session = make_session()
    over, _ = run(session, parse_workflow(load("video", "frames_10000.gif", max_frames=0)))
    assert over.status == "failed" and "over the video budget" in over.error["message"]
    session.env.media_limits = MediaLimits(video_pixels=700_000_000)
    clip = run(session, parse_workflow(load("video", "frames_10000.gif", start_frame=9990)))[0]
    assert clip.ok, clip.error
    assert clip.values["out"]["value"]["frames"].shape == (10, 256, 256, 3)
    session.env.media_limits = MediaLimits(image_pixels=31 * 24)  # good.png is 32×24
    small, _ = run(session, parse_workflow(load("image", "good.png")))
    assert small.status == "failed" and "32×24 (768 pixels), over the image budget of 744" in small.error["message"]


def test_max_frames_makes_a_long_clip_fit_the_budget(make_session, input_dir):
    from nodegraph.run.media_limits import MediaLimits
    session = make_session()
    session.env.media_limits = MediaLimits(video_pixels=64 * 48 * 10)  # ten frames of good.mp4
    whole, _ = run(session, parse_workflow(load("video", "good.mp4")))
    assert whole.status == "failed"
    assert "would keep 12 frames of 64×48" in whole.error["message"] and whole.error["input"] == "video"
    part, _ = run(session, parse_workflow(load("video", "good.mp4", max_frames=10)))
    assert part.ok and part.values["out"]["value"]["frames"].shape[0] == 10
    odd, _ = run(session, parse_workflow(load("video", "good.mp4", every_nth=2)))
    assert odd.ok and odd.values["out"]["value"]["frames"].shape[0] == 6


def _svd(start: dict) -> dict:
    """A start frame node into SVD (tiny demo, test size) and a capture of the clip."""
    return _graph({
        "start": start,
        "model": {"type": "LoadSVD", "inputs": {"checkpoint": "demo:tiny-svd"}},
        "svd": {"type": "SVDImageToVideo", "inputs": {"model": {"from": "model", "output": "model"},
                                                      "image": {"from": "start", "output": "image"},
                                                      "frames": 2, "width": 64, "height": 64, "steps": 1}},
        "out": {"type": "TestCapture", "inputs": {"value": {"from": "svd", "output": "video"}}}})


@pytest.mark.parametrize("start,item", [
    ({"type": "LoadImage", "inputs": {"image": "bomb_11000.png"}}, IMAGES[0]),
    ({"type": "LoadImage", "inputs": {"image": "truncated.png"}}, IMAGES[4]),
], ids=["bomb", "truncated"])
def test_a_hostile_start_frame_fails_its_loader_and_the_next_svd_job_runs(make_session, input_dir, start, item):
    session = make_session()
    result, sink = run(session, parse_workflow(_svd(start)))
    assert_one_line_error(result, "start", "image", item)
    assert not any(e["event"] == "executing" and e["node"] == "svd" for e in sink.events)
    good, _ = run(session, parse_workflow(_svd({"type": "LoadImage", "inputs": {"image": "good.png"}})))
    assert good.ok, good.error
    assert good.values["out"]["value"]["frames"].shape == (2, 64, 64, 3)


def test_a_start_frame_taken_from_a_hostile_clip_fails_at_loadvideo(make_session, input_dir):
    session = make_session()
    result, _ = run(session, parse_workflow(_svd_from_clip("declares_16000.mp4")))
    assert_one_line_error(result, "clip", "video", VIDEOS[5])
    good, _ = run(session, parse_workflow(_svd_from_clip("good.mp4")))
    assert good.ok, good.error


def _svd_from_clip(name: str) -> dict:
    data = _svd({"type": "ExtractFrame", "inputs": {"video": {"from": "clip", "output": "video"}, "index": 0}})
    data["nodes"]["clip"] = {"type": "LoadVideo", "inputs": {"video": name, "max_frames": 1}}
    return data
