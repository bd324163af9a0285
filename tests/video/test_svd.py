"""SVD nodes as a user meets them: the shipped workflow, equality with plain diffusers, caching,
progress and interrupt, bad model files."""
from __future__ import annotations

import json

import pytest
import torch

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.run.cache import Cache
from nodegraph.run.context import InterruptToken
from nodegraph.run.events import CollectingSink

from .conftest import TEST_SIZE, edit, mp4_frames, run, workflow


def test_camera_workflow_writes_a_browser_mp4_with_frames_times_factor_and_provenance(make_session, tmp_path):
    result, sink = run(make_session(), workflow())
    assert result.ok, result.error
    (mp4,) = result.outputs
    frames, fps, tags = mp4_frames(mp4)
    factor, count = 4, TEST_SIZE["frames"]
    assert len(frames) == count * factor - (factor - 1) and fps == 6 * factor
    assert frames[0].shape == (64, 64, 3)
    embedded = json.loads(tags["nodegraph.workflow"])
    assert embedded["nodes"]["camera"]["inputs"]["lora"] == "demo:camera-pan-left"
    provenance = json.loads(tags["nodegraph.provenance"])
    assert len(provenance["files"]["model.checkpoint"]["sha256"]) == 64  # the materialised demo model
    assert len(provenance["files"]["camera.lora"]["sha256"]) == 64
    sidecar = json.loads(open(mp4 + ".json").read())
    assert sidecar["workflow"] == embedded and sidecar["video"]["frames"] == len(frames)
    steps = [e["value"] for e in sink.of("progress") if e["node"] == "svd"]
    assert steps == list(range(TEST_SIZE["steps"] + 1))


def test_sampler_output_equals_the_same_diffusers_calls(make_session, demo_paths):
    from diffusers import StableVideoDiffusionPipeline
    from nodegraph_nodes.video.demo import START_FRAME
    from PIL import Image
    no_lora = workflow(svd__model={"from": "model", "output": "model"})
    result, _ = run(make_session(), edit(no_lora, drop=("camera", "interpolate", "save"),
                                         video="svd.video", latent="svd.latent"))
    assert result.ok, result.error
    pipe = StableVideoDiffusionPipeline.from_pretrained(str(demo_paths["tiny-svd"]), dtype=torch.float32,
                                                        local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    with torch.inference_mode():
        direct = pipe(Image.open(START_FRAME).convert("RGB"), height=64, width=64,
                      num_frames=4, num_inference_steps=2, fps=6, motion_bucket_id=127, noise_aug_strength=0.02,
                      decode_chunk_size=8, generator=torch.Generator().manual_seed(42), output_type="pt").frames[0]
    video = result.values["video"]["value"]
    assert video["fps"] == 6.0 and video["frames"].shape == (4, 64, 64, 3)
    # Equal up to float rounding (the manager re-aligns CPU weights; kernels round by alignment),
    # far below one 8-bit level (3.9e-3).
    assert (video["frames"] - direct.permute(0, 2, 3, 1)).abs().max() < 2e-4
    assert result.values["latent"]["value"]["latents"].shape == (4, 4, 8, 8)


def test_changed_motion_bucket_reruns_exactly_the_sampler_onward(make_session):
    session = make_session(cache=Cache(memory_bytes=1 << 30))
    first, sink = run(session, workflow())
    assert first.ok, first.error
    assert sink.nodes("executed") == {"image", "model", "camera", "svd", "interpolate", "save"}
    changed, sink = run(session, workflow(svd__motion_bucket_id=40))
    assert changed.ok, changed.error
    assert sink.nodes("executed") == {"svd", "interpolate", "save"}
    assert sink.nodes("cached") == {"image", "model", "camera"}
    # the clip's frames, decoded (its bytes would differ anyway: the file embeds its workflow)
    import numpy as np
    assert not np.array_equal(np.stack(mp4_frames(changed.outputs[0])[0]), np.stack(mp4_frames(first.outputs[0])[0]))


def test_decode_video_redecodes_cached_latents_without_sampling(make_session):
    session = make_session(cache=Cache(memory_bytes=1 << 30))
    base = edit(workflow(), drop=("interpolate", "save"), out="svd.video")
    first, _ = run(session, base)
    data = base.to_json()
    data["nodes"]["decode"] = {"type": "DecodeVideo", "inputs": {"model": {"from": "model", "output": "model"},
                                                                "latent": {"from": "svd", "output": "latent"},
                                                                "decode_chunk_size": 2}}
    data["nodes"]["redecoded"] = {"type": "TestCapture", "inputs": {"value": {"from": "decode", "output": "video"}}}
    from nodegraph.graph.workflow import parse_workflow
    again, sink = run(session, parse_workflow(data))
    assert again.ok, again.error
    assert "svd" in sink.nodes("cached") and sink.nodes("executed") >= {"decode"}
    one_chunk, two_chunks = first.values["out"]["value"]["frames"], again.values["redecoded"]["value"]["frames"]
    assert one_chunk.shape == two_chunks.shape
    assert not torch.equal(one_chunk, two_chunks)  # the temporal decoder sees 2 frames at a time


def test_interrupt_inside_the_sampler_stops_within_one_step(make_session):
    session = make_session()
    token, sink = InterruptToken(), CollectingSink()

    def stop_after_first_step(event):
        sink(event)
        if event["event"] == "progress" and event["node"] == "svd" and event["value"] >= 1:
            token.set()

    result = session.run(workflow(svd__steps=5), sink=stop_after_first_step, interrupt=token)
    assert result.status == "interrupted"
    assert [e["value"] for e in sink.of("progress") if e["node"] == "svd"] == [0, 1]
    assert "save" not in sink.nodes("executed")


def test_bad_model_inputs_are_refused_before_anything_runs(make_session, tmp_path):
    ckpt = tmp_path / "models" / "checkpoint"
    ckpt.mkdir(parents=True)
    (ckpt / "svd.ckpt").write_bytes(b"x")
    (ckpt / "svd_xt.safetensors").write_bytes(b"x")
    session = make_session()
    cases = {"svd.ckpt": "pickle", "demo:tiny-sdxl": "not a Stable Video Diffusion model", "svd_xt.safetensors": "not a safetensors file"}
    for value, expected in cases.items():
        with pytest.raises(WorkflowInvalid) as info:
            session.prepare(workflow(model__checkpoint=value, svd__width=100))
        messages = {(p.node, p.input): p.message for p in info.value.problems}
        assert any(expected in m for m in messages.values()), messages
        assert "multiple of 64" in messages[("svd", "width")]
