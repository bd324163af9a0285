"""Camera-motion LoRAs: strength 0 is the base, fusing touches temporal attention only and is
undone exactly, stacking and branch order, and LoRAs for other models are refused by key."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.run.cache import Cache
from nodegraph_nodes.video.lora_format import TEMPORAL_ATTENTION

from .conftest import TWO_BRANCH, edit, run, workflow


def frame_bytes(folder) -> list[bytes]:
    from pathlib import Path
    files = sorted(Path(folder).glob("frame_*.png"))
    assert len(files) == 13  # 4 frames x 4 - 3
    return [f.read_bytes() for f in files]


def _clip(session, wf, tap="svd"):
    result, _ = run(session, edit(wf, drop=("interpolate", "save"), out=f"{tap}.video"))
    assert result.ok, result.error
    return result.values["out"]["value"]["frames"]


def test_strength_zero_gives_bytes_identical_to_no_lora_and_strength_one_differs(make_session):
    session = make_session()
    as_png = {"save__format": "png"}  # lossless frames: byte-identity is about the pixels, not x264
    no_lora, _ = run(session, workflow(svd__model={"from": "model", "output": "model"}, **as_png))
    zero, _ = run(session, workflow(camera__strength=0.0, **as_png))
    one, _ = run(session, workflow(camera__strength=1.0, **as_png))
    assert no_lora.ok and zero.ok and one.ok
    assert frame_bytes(zero.outputs[0]) == frame_bytes(no_lora.outputs[0])
    assert frame_bytes(one.outputs[0]) != frame_bytes(no_lora.outputs[0])


def test_fused_handle_differs_from_the_base_only_in_temporal_attention_and_is_undone_exactly(make_session, manager):
    result, _ = run(make_session(cache=Cache(memory_bytes=1 << 30)),
                    edit(workflow(), drop=("svd", "interpolate", "save"), base="model.model", fused="camera.model"))
    base, fused = result.values["base"]["value"], result.values["fused"]["value"]
    assert fused.fuse and [p.label for p in fused.patches] == ["demo:camera-pan-left"] and base.patches == ()
    with manager.use(base) as pipe:
        before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    with manager.use(fused) as pipe:
        during = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    with manager.use(base) as pipe:
        after = pipe.unet.state_dict()
        assert all(torch.equal(after[k], before[k]) for k in before)  # the base is restored bit for bit
    assert set(during) == set(before)  # fused: the LoRA wrappers are set aside, plain layers remain
    changed = [k for k in before if not torch.equal(before[k], during[k])]
    assert changed and all(TEMPORAL_ATTENTION.search(k.rsplit(".", 1)[0]) for k in changed)
    assert len(changed) == 80  # 20 temporal attention modules (10 blocks x attn1/attn2) x q, k, v, out


def test_fused_and_unfused_agree_and_stacking_is_order_free(make_session):
    session = make_session()
    fused = _clip(session, workflow(camera__fuse=True))
    unfused = _clip(session, workflow(camera__fuse=False))
    assert (fused - unfused).abs().max() < 4e-3  # float rounding over the steps; below one 8-bit level
    data = workflow().to_json()
    data["nodes"]["zoom"] = {"type": "CameraMotionLoRA", "inputs": {"model": {"from": "camera", "output": "model"},
                                                                    "lora": "demo:camera-zoom-in", "strength": 0.5}}
    data["nodes"]["svd"]["inputs"]["model"] = {"from": "zoom", "output": "model"}
    from nodegraph.graph.workflow import parse_workflow
    pan_then_zoom = _clip(session, parse_workflow(data))
    data["nodes"]["camera"]["inputs"]["lora"], data["nodes"]["zoom"]["inputs"]["lora"] = \
        "demo:camera-zoom-in", "demo:camera-pan-left"
    data["nodes"]["camera"]["inputs"]["strength"], data["nodes"]["zoom"]["inputs"]["strength"] = 0.5, 1.0
    zoom_then_pan = _clip(session, parse_workflow(data))
    assert (pan_then_zoom - zoom_then_pan).abs().max() < 4e-3
    assert (pan_then_zoom - fused).abs().max() > 2e-2


def test_two_branches_from_one_base_are_right_in_either_order(make_session, registry, demo_dir):
    from nodegraph_nodes.video.model_manager import VideoModelManager
    both, _ = run(make_session(), edit(workflow(TWO_BRANCH), drop=("interpolate_pan", "interpolate_zoom", "save_pan",
                                                                   "save_zoom"), pan_clip="svd_pan.video",
                                       zoom_clip="svd_zoom.video"))
    assert both.ok, both.error
    fresh = make_session(own_manager=VideoModelManager())  # another manager, the branches the other way round
    zoom_first = _clip(fresh, workflow(camera__lora="demo:camera-zoom-in"))
    pan_second = _clip(fresh, workflow(camera__lora="demo:camera-pan-left"))
    assert torch.equal(zoom_first, both.values["zoom_clip"]["value"]["frames"])
    assert torch.equal(pan_second, both.values["pan_clip"]["value"]["frames"])
    assert not torch.equal(zoom_first, pan_second)


def test_loras_touching_anything_but_temporal_attention_are_refused_naming_keys(make_session, tmp_path):
    lora_dir = tmp_path / "models" / "lora"
    lora_dir.mkdir(parents=True)
    spatial = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"
    save_file({f"unet.{spatial}.lora_A.weight": torch.zeros(4, 32),
               f"unet.{spatial}.lora_B.weight": torch.zeros(32, 4)}, str(lora_dir / "spatial.safetensors"))
    sdxl = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"  # an SDXL kohya LoRA
    save_file({f"{sdxl}.lora_down.weight": torch.zeros(4, 64), f"{sdxl}.lora_up.weight": torch.zeros(64, 4),
               f"{sdxl}.alpha": torch.tensor(4.0)}, str(lora_dir / "sdxl_style.safetensors"))
    session = make_session()
    for name, key in (("spatial.safetensors", spatial), ("sdxl_style.safetensors", sdxl)):
        with pytest.raises(WorkflowInvalid) as info:
            session.prepare(workflow(camera__lora=name))
        (problem,) = info.value.problems
        assert (problem.node, problem.input) == ("camera", "lora")
        assert "outside SVD's temporal attention" in problem.message and key in problem.message


def test_a_temporal_lora_that_does_not_fit_fails_naming_file_and_node(make_session, tmp_path):
    lora_dir = tmp_path / "models" / "lora"
    lora_dir.mkdir(parents=True)
    module = "down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_q"
    save_file({f"unet.{module}.lora_A.weight": torch.zeros(4, 7), f"unet.{module}.lora_B.weight": torch.zeros(32, 4)},
              str(lora_dir / "wrong_shape.safetensors"))
    result, _ = run(make_session(), workflow(camera__lora="wrong_shape.safetensors"))
    assert result.status == "failed" and result.error["node"] == "svd"  # where the weights are first needed
    assert "'wrong_shape.safetensors'" in result.error["message"] and "do not fit" in result.error["message"]
    assert "'camera'" in result.error["message"]
    ok, _ = run(make_session(), workflow())  # the shared pipeline is still fine
    assert ok.ok, ok.error


def test_executed_events_say_when_weights_load_and_camera_loras_switch(make_session):
    from nodegraph_nodes.video.model_manager import VideoModelManager
    session = make_session(own_manager=VideoModelManager())

    def phases(wf) -> dict:
        result, sink = run(session, wf)
        assert result.ok, result.error
        return {e["node"]: set(e["phases"]) for e in sink.of("executed") if "phases" in e}

    first = phases(workflow(camera__strength=1.0))  # svd: the first node to need weights
    assert set(first) == {"svd"} and first["svd"] - {"imports"} == {"load", "LoRAs"}
    assert phases(workflow(camera__strength=1.0)) == {}
    assert phases(workflow(camera__strength=0.5)) == {"svd": {"LoRAs"}}
