"""Every input of the video pack a user turns changes what comes out, compared as content
(frame tensors, decoded frames of the written file), never as file bytes (a clip embeds its
workflow, so its bytes change with any input). Inputs that must NOT change the content (fusing
a LoRA, a file's name) are checked for that; the few no content test applies to are named with
the reason. A literal of the pack that none of these lists names fails the coverage test."""
from __future__ import annotations

import numpy as np
import pytest

from nodegraph.graph.workflow import parse_workflow
from sensitivity import same, uncovered

from .conftest import edit, mp4_frames, run, workflow

# ---- through the sampler: the frames SVDImageToVideo makes (the camera workflow at test size) ----
SVD_CHANGES = [
    ("SVDImageToVideo", "frames", {"svd__frames": 5}),
    ("SVDImageToVideo", "width", {"svd__width": 128}),
    ("SVDImageToVideo", "height", {"svd__height": 128}),
    ("SVDImageToVideo", "fps", {"svd__fps": 12}),  # conditioning: the frames change, not only the rate
    ("SVDImageToVideo", "motion_bucket_id", {"svd__motion_bucket_id": 30}),
    ("SVDImageToVideo", "noise_aug_strength", {"svd__noise_aug_strength": 0.2}),
    ("SVDImageToVideo", "steps", {"svd__steps": 3}),
    ("SVDImageToVideo", "min_guidance", {"svd__min_guidance": 2.0}),
    ("SVDImageToVideo", "max_guidance", {"svd__max_guidance": 2.0}),
    ("SVDImageToVideo", "seed", {"svd__seed": 43}),
    ("SVDImageToVideo", "decode_chunk_size", {"svd__decode_chunk_size": 2}),  # 4 frames: 2 chunks, not 1
    ("CameraMotionLoRA", "lora", {"camera__lora": "demo:camera-zoom-in"}),
    ("CameraMotionLoRA", "strength", {"camera__strength": 0.5}),
    ("LoadSVD", "dtype", {"model__dtype": "bfloat16"}),  # auto is float32 on the CPU
]

# ---- on a clip read from a file: every frame distinct, so any change of selection shows ----
CLIP_CHANGES = [
    ("LoadVideo", "video", {"load.video": "other.mp4"}),
    ("LoadVideo", "start_frame", {"load.start_frame": 1}),
    ("LoadVideo", "every_nth", {"load.every_nth": 2}),
    ("LoadVideo", "max_frames", {"load.max_frames": 3}),
    ("LoadVideo", "fps", {"load.fps": 12.0}),  # the clip's rate (content: {"frames", "fps"})
    ("Interpolate", "factor", {"interpolate.factor": 2}),
    ("Interpolate", "method", {"interpolate.method": "blend"}),
    ("ExtractFrame", "index", {"extract.index": 2}),
    ("SelectFrames", "start", {"select.start": 1}),
    ("SelectFrames", "end", {"select.end": 3}),
    ("SelectFrames", "step", {"select.step": 2}),
    ("ResizeVideo", "width", {"resize.width": 48}),
    ("ResizeVideo", "height", {"resize.height": 24}),
    ("ResizeVideo", "method", {"resize.method": "nearest"}),
    ("ImagesToVideo", "fps", {"rebuilt.fps": 12.0}),
    ("DecodeVideo", "decode_chunk_size", None),  # on SVD latents: test_decode_chunk_size_changes_the_frames
]
# The written file, decoded: format and quality change the frames a player shows; the prefix only the name.
SAVE_CHANGES = [("SaveVideo", "format", {"format": "webm"}), ("SaveVideo", "quality", {"quality": 40})]
SAVE_SAME = [("SaveVideo", "prefix", {"prefix": "renamed"})]
NO_CONTENT_TEST = {
    ("LoadSVD", "checkpoint"): "one SVD model is available offline (the tiny demo); loading real layouts is "
                               "test_single_file's and test_model_manager's",
    ("LoadSVD", "config"): "read only with a single-file checkpoint (test_single_file)",
    ("CameraMotionLoRA", "fuse"): "the same frames fused or not, by design: test_camera_lora's "
                                  "test_fused_and_unfused_agree_and_stacking_is_order_free checks that",
}


def test_every_literal_of_the_video_pack_is_covered(registry):
    covered = [(t, i) for t, i, *_ in SVD_CHANGES + CLIP_CHANGES + SAVE_CHANGES + SAVE_SAME]
    assert uncovered(registry, "builtin.video", covered, NO_CONTENT_TEST) == set()


def svd_frames(make_session, **inputs):
    result, _ = run(make_session(), edit(workflow(**inputs), drop=("interpolate", "save"), out="svd.video"))
    assert result.ok, result.error
    return result.values["out"]["value"]["frames"]


@pytest.fixture(scope="module")
def reference() -> dict:
    """Unchanged runs' results, made once per module (each run is deterministic: asserted below)."""
    return {}


def reference_frames(make_session, reference) -> object:
    if "svd" not in reference:
        reference["svd"] = svd_frames(make_session)
    return reference["svd"]


def test_the_sampler_reproduces_exactly(make_session, reference):
    assert same(svd_frames(make_session), reference_frames(make_session, reference))


@pytest.mark.parametrize("node_type, name, change", SVD_CHANGES, ids=[f"{t}.{i}" for t, i, _ in SVD_CHANGES])
def test_each_sampler_input_changes_the_frames(make_session, reference, node_type, name, change):
    assert not same(svd_frames(make_session, **change), reference_frames(make_session, reference)), (node_type, name)


def test_decode_chunk_size_changes_the_frames(make_session):
    def decoded(chunk: int):
        data = edit(workflow(), drop=("interpolate", "save")).to_json()
        data["nodes"]["decode"] = {"type": "DecodeVideo", "inputs": {
            "model": {"from": "camera", "output": "model"}, "latent": {"from": "svd", "output": "latent"},
            "decode_chunk_size": chunk}}
        data["nodes"]["out"] = {"type": "TestCapture", "inputs": {"value": {"from": "decode", "output": "video"}}}
        result, _ = run(make_session(), parse_workflow(data))
        assert result.ok, result.error
        return result.values["out"]["value"]["frames"]
    assert not same(decoded(2), decoded(4)) and same(decoded(4), decoded(4))


def test_the_motion_bucket_changes_the_decoded_frames_of_the_written_clip(make_session):
    """End to end, as the issue that found it: the MP4's frames, decoded, not its bytes."""
    def clip(**inputs):
        result, _ = run(make_session(), workflow(**inputs))
        assert result.ok, result.error
        return np.stack(mp4_frames(result.outputs[0])[0])
    assert not same(clip(svd__motion_bucket_id=30), clip())


# ---- the clip chain -----------------------------------------------------------------------

def write_clip(path, offset: int) -> None:
    from nodegraph_nodes.video.video_io import write_av
    y, x = np.mgrid[0:32, 0:64]
    frames = np.stack([np.stack([(x * 4 + 37 * k + offset) % 256, (y * 8 + 11 * k) % 256,
                                 np.full_like(x, (60 * k + offset) % 256)], -1) for k in range(6)]).astype(np.uint8)
    write_av(path, frames, 6.0, "libx264", 10, {})


@pytest.fixture
def clip_session(make_session, tmp_path):
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    write_clip(folder / "clip.mp4", 0)
    write_clip(folder / "other.mp4", 90)
    return make_session()


def chain(changes: dict) -> dict:
    """LoadVideo -> Interpolate -> SelectFrames -> ResizeVideo -> VideoToImages -> ImagesToVideo, and
    ExtractFrame; captured at the end of each branch and after LoadVideo."""
    def link(node, output="video"):
        return {"from": node, "output": output}
    nodes = {
        "load": {"type": "LoadVideo", "inputs": {"video": "clip.mp4"}},
        "interpolate": {"type": "Interpolate", "inputs": {"video": link("load"), "factor": 4}},
        "select": {"type": "SelectFrames", "inputs": {"video": link("interpolate")}},
        "resize": {"type": "ResizeVideo", "inputs": {"video": link("select"), "width": 32, "height": 16}},
        "images": {"type": "VideoToImages", "inputs": {"video": link("resize")}},
        "rebuilt": {"type": "ImagesToVideo", "inputs": {"images": link("images", "images"), "fps": 8.0}},
        "extract": {"type": "ExtractFrame", "inputs": {"video": link("load"), "index": 0}},
        "clip": {"type": "TestCapture", "inputs": {"value": link("rebuilt")}},
        "frame": {"type": "TestCapture", "inputs": {"value": link("extract", "image")}},
        "loaded": {"type": "TestCapture", "inputs": {"value": link("load")}},
    }
    for key, value in changes.items():
        node, name = key.split(".")
        nodes[node]["inputs"][name] = value
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def chain_content(session, changes: dict) -> dict:
    result = session.run(chain(changes))
    assert result.ok, result.error
    return {name: result.values[name]["value"] for name in ("clip", "frame", "loaded")}


def test_the_clip_chain_reproduces_exactly(clip_session):
    assert same(chain_content(clip_session, {}), chain_content(clip_session, {}))


CHAIN = [c for c in CLIP_CHANGES if c[2] is not None]


@pytest.mark.parametrize("node_type, name, change", CHAIN, ids=[f"{t}.{i}" for t, i, _ in CHAIN])
def test_each_clip_input_changes_the_result(clip_session, node_type, name, change):
    assert not same(chain_content(clip_session, change), chain_content(clip_session, {})), (node_type, name)


def saved_frames(session, **inputs) -> tuple[str, np.ndarray]:
    data = chain({})
    data["nodes"]["save"] = {"type": "SaveVideo", "inputs": {"video": {"from": "load", "output": "video"},
                                                             "prefix": "clip", "format": "mp4", "quality": 18,
                                                             **inputs}}
    result = session.run(data)
    assert result.ok, result.error
    (path,) = result.outputs
    return path, np.stack(mp4_frames(path)[0])


@pytest.mark.parametrize("node_type, name, change", SAVE_CHANGES, ids=[f"{t}.{i}" for t, i, _ in SAVE_CHANGES])
def test_each_save_input_changes_the_decoded_frames(clip_session, node_type, name, change):
    assert not same(saved_frames(clip_session, **change)[1], saved_frames(clip_session)[1])


def test_the_prefix_changes_the_name_not_the_frames(clip_session):
    (path, frames), (renamed, again) = saved_frames(clip_session), saved_frames(clip_session, prefix="renamed")
    assert renamed != path and renamed.split("/")[-1].startswith("renamed_") and same(frames, again)
