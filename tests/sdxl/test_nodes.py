"""Node behaviour a user notices: caching, bad input, progress and interrupt, the model manager."""
from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import save_file

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.run.cache import Cache
from nodegraph.run.events import CollectingSink
from pack_fixtures import with_captures

from .conftest import BASELINE, capture, run, workflow


def test_changing_only_the_prompt_reruns_encode_sample_decode_save_only(make_session, manager):
    session = make_session(cache=Cache(memory_bytes=1 << 30))
    first, sink = run(session, workflow())
    assert first.ok, first.error
    assert sink.nodes("executed") == {"model", "merge", "prompt", "sampler", "decode", "save"}
    again, sink = run(session, workflow())
    assert sink.nodes("executed") == set() and len(sink.nodes("cached")) == 6
    before = dict(manager.stats)
    changed, sink = run(session, workflow(prompt__prompt="an oil painting of a harbour"))
    assert changed.ok, changed.error
    assert sink.nodes("executed") == {"prompt", "sampler", "decode", "save"}
    assert sink.nodes("cached") == {"model", "merge"}
    # The warm, fused pipeline was reused as it was: no reload, no adapter work.
    assert {k: manager.stats[k] - before[k] for k in before} == {k: 0 for k in before}
    assert changed.outputs != first.outputs


def test_style_baseline_runs_with_standard_sampler_and_per_step_progress(make_session):
    session = make_session()
    result, sink = run(session, workflow(BASELINE, sampler__steps=3, sampler__sampler="dpmpp_2m"))
    assert result.ok, result.error
    steps = [e["value"] for e in sink.of("progress") if e["node"] == "sampler"]
    assert steps == [0, 1, 2, 3]
    assert result.outputs and result.outputs[0].endswith(".png")


def test_interrupt_inside_the_sampler(make_session):
    session = make_session()
    from nodegraph.run.context import InterruptToken
    token = InterruptToken()
    sink = CollectingSink()

    def stop_after_first_step(event):
        sink(event)
        if event["event"] == "progress" and event["node"] == "sampler" and event["value"] >= 1:
            token.set()

    result = session.run(workflow(), sink=stop_after_first_step, interrupt=token)
    assert result.status == "interrupted"
    assert [e["value"] for e in sink.of("progress") if e["node"] == "sampler"] == [0, 1]
    assert "save" not in sink.nodes("executed")


def test_missing_files_are_reported_before_anything_runs(make_session):
    session = make_session()
    wf = workflow(model__checkpoint="no_such_model", merge__style_lora="no_such_style.safetensors")
    with pytest.raises(WorkflowInvalid) as info:
        session.prepare(wf)
    where = {(p.node, p.input) for p in info.value.problems}
    assert {("model", "checkpoint"), ("merge", "style_lora")} <= where


def test_pickle_files_are_refused_with_an_explanation(make_session, tmp_path):
    lora_dir = tmp_path / "models" / "lora"
    lora_dir.mkdir(parents=True)
    (lora_dir / "old.ckpt").write_bytes(b"not really a pickle")
    (tmp_path / "models" / "checkpoint").mkdir()
    (tmp_path / "models" / "checkpoint" / "model.ckpt").write_bytes(b"x")
    session = make_session()
    with pytest.raises(WorkflowInvalid) as info:
        session.prepare(workflow(merge__style_lora="old.ckpt", model__checkpoint="model.ckpt"))
    messages = {p.input: p.message for p in info.value.problems}
    assert "pickle" in messages["style_lora"] and ".safetensors" in messages["style_lora"]
    assert "pickle" in messages["checkpoint"]


def test_a_lora_that_does_not_fit_names_file_and_node(make_session, tmp_path, demo_paths):
    lora_dir = tmp_path / "models" / "lora"
    lora_dir.mkdir(parents=True)
    module = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"
    save_file({f"{module}.lora_down.weight": torch.randn(4, 7), f"{module}.lora_up.weight": torch.randn(64, 4),
               f"{module}.alpha": torch.tensor(4.0)}, str(lora_dir / "wrong_shape.safetensors"))
    save_file({"lora_unet_some_other_model_block.lora_down.weight": torch.randn(4, 8),
               "lora_unet_some_other_model_block.lora_up.weight": torch.randn(8, 4)},
              str(lora_dir / "other_arch.safetensors"))
    session = make_session()
    for name in ("wrong_shape.safetensors", "other_arch.safetensors"):
        result, _ = run(session, workflow(merge__style_lora=name))
        assert result.status == "failed"
        message = result.error["message"]
        assert f"LoRA {name!r}" in message and "does not fit this model" in message and "'merge'" in message
    # The shared pipeline is still fine afterwards.
    result, _ = run(session, workflow())
    assert result.ok, result.error


def test_lru_eviction_within_the_memory_budget(demo_paths, tmp_path):
    from nodegraph_nodes.sdxl import demo
    from nodegraph_nodes.sdxl.model_manager import ModelHandle, ModelManager, ModelSource
    copy = tmp_path / "copy-of-tiny-sdxl"
    shutil.copytree(demo_paths["tiny-sdxl"], copy)
    one = ModelSource("diffusers", str(demo_paths["tiny-sdxl"]), "a", demo.demo_fingerprint("demo:tiny-sdxl"))
    two = ModelSource("diffusers", str(copy), "b", "copy")
    manager = ModelManager(memory_budget=1)  # smaller than any model: keep only the one in use
    for source in (one, two):
        with manager.use(ModelHandle(source), parts="vae"):
            pass
    assert manager.loaded() == [two] and manager.stats["evictions"] == 1
    roomy = ModelManager(memory_budget=1 << 30)
    for source in (one, two, one):
        with roomy.use(ModelHandle(source), parts="vae"):
            pass
    assert roomy.loaded() == [two, one] and roomy.stats["pipeline_loads"] == 2


def test_handles_are_immutable_and_picklable(make_session):
    import pickle
    session = make_session(cache=Cache(memory_bytes=1 << 30))
    result, _ = run(session, capture(workflow(), base="model.model", merged="merge.model"))
    base, merged = result.values["base"]["value"], result.values["merged"]["value"]
    assert base.patches == () and [p.role for p in merged.patches] == ["acceleration", "style"]
    assert merged.fuse and pickle.loads(pickle.dumps(merged)) == merged
    # Frozen data: a node that tried to edit a handle it received would fail loudly.
    import dataclasses
    for attempt in (lambda: setattr(merged, "fuse", False), lambda: setattr(base, "patches", merged.patches),
                    lambda: setattr(merged.patches[0], "strength", 0.0)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            attempt()
    with pytest.raises((TypeError, AttributeError)):
        merged.patches.append(merged.patches[0])
    assert base.patches == () and [p.role for p in merged.patches] == ["acceleration", "style"]


def test_single_file_checkpoint_needs_a_local_config_folder(make_session, tmp_path, demo_paths):
    ckpt_dir = tmp_path / "models" / "checkpoint"
    ckpt_dir.mkdir(parents=True)
    single = ckpt_dir / "model.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1)}, str(single))
    session = make_session()
    with pytest.raises(WorkflowInvalid) as info:
        session.prepare(workflow(model__checkpoint="model.safetensors"))
    (problem,) = info.value.problems
    assert problem.input == "config" and "local config folder" in problem.message
    # With a config folder the workflow validates (the demo folder is a valid diffusers config).
    session.prepare(workflow(model__checkpoint="model.safetensors", model__config=str(demo_paths["tiny-sdxl"])))


def test_manager_pipelines_take_their_device_from_the_unet_and_still_save_as_diffusers(demo_paths, tmp_path):
    """The manager's pipeline class skips diffusers' walk over every module for offload hooks
    (it never offloads) and still writes configs diffusers can load."""
    import json
    from diffusers import StableDiffusionXLPipeline
    from nodegraph_nodes.sdxl.model_manager import ModelHandle, ModelManager, ModelSource
    source = ModelSource("diffusers", str(demo_paths["tiny-sdxl"]), "demo:tiny-sdxl", "t", "cpu", "float32")
    with ModelManager().use(ModelHandle(source)) as pipe:
        assert isinstance(pipe, StableDiffusionXLPipeline)
        assert pipe._execution_device == torch.device("cpu") == next(pipe.unet.parameters()).device
        pipe.unet.to("meta")  # the answer follows the UNet, wherever it is
        assert pipe._execution_device == torch.device("meta")
        pipe.save_config(tmp_path)
    assert json.loads((tmp_path / "model_index.json").read_text())["_class_name"] == "StableDiffusionXLPipeline"


def test_a_batch_saves_one_png_per_image_in_order(make_session):
    """SaveImage encodes a batch on several threads; each file still holds its own image."""
    import numpy as np
    from PIL import Image
    from nodegraph_nodes.basic.image import tensor_to_pil
    wf = capture(workflow(sampler__batch_size=3, sampler__steps=2), image="decode.image")
    result, _ = run(make_session(), wf)
    assert result.ok, result.error
    expected = [np.asarray(p) for p in tensor_to_pil(result.values["image"]["value"])]
    assert len({a.tobytes() for a in expected}) == 3  # three different pictures
    assert [p.rsplit("_", 1)[1] for p in result.outputs] == ["00.png", "01.png", "02.png"]
    for path, want in zip(result.outputs, expected):
        with Image.open(path) as img:
            assert np.array_equal(np.asarray(img), want)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_load_sdxl_warms_the_device_it_will_load_on(make_session, monkeypatch, device):
    """LoadSDXL only builds a handle, and starts the device warm-up for the weights to come."""
    from nodegraph_nodes.sdxl import pipeline
    warmed = []
    monkeypatch.setattr(pipeline, "warm_up", warmed.append)
    session = make_session()
    session.env.device = device
    wf = with_captures(workflow(), drop=("merge", "prompt", "sampler", "decode", "save"), handle="model.model")
    result, _ = run(session, wf)
    assert result.ok, result.error
    assert result.values["handle"]["value"].source.device == device
    assert warmed == [device]


def test_executed_events_say_when_weights_load_and_loras_switch(make_session):
    """The model manager's work shows as phases of the node that caused it: importing the
    libraries and loading weights in the first node that needs them, switching LoRAs in the
    sampler; a warm re-run has none, a new LoRA strength only the switch."""
    from nodegraph_nodes.sdxl.model_manager import ModelManager
    session = make_session(own_manager=ModelManager())

    def phases(wf) -> dict:
        result, sink = run(session, wf)
        assert result.ok, result.error
        return {e["node"]: set(e["phases"]) for e in sink.of("executed") if "phases" in e}

    first = phases(workflow())  # imports only where this test process had not imported diffusers yet
    assert set(first) == {"prompt", "sampler"} and first["prompt"] - {"imports"} == {"load"}
    assert first["sampler"] == {"LoRAs"}
    assert phases(workflow()) == {}
    assert phases(workflow(merge__style_strength=0.3)) == {"sampler": {"LoRAs"}}
