"""SaveCheckpoint (one .safetensors, Stability/LDM layout) and loading it back offline with a
local config folder; demo model hashes in PNG provenance."""
from __future__ import annotations

import copy
import json
import os

import torch
from safetensors import safe_open

from nodegraph.files.provenance import FileHasher
from nodegraph_nodes.basic.image import PNG_PROVENANCE_KEY
from nodegraph_nodes.sdxl.model_manager import ModelManager

from .conftest import MAIN_JOB, capture, run, workflow
from nodegraph.graph.workflow import parse_workflow

COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")


def save_job(source: str = "model", filename: str = "baked", overwrite: bool = False):
    """LoadSDXL (demo) → MergeAcceleration (fused) → SaveCheckpoint of ``source``'s model."""
    data = json.loads(MAIN_JOB.read_text())
    nodes = {k: data["nodes"][k] for k in ("model", "merge")}
    nodes["ckpt"] = {"type": "SaveCheckpoint", "inputs": {"model": {"from": source, "output": "model"},
                                                          "filename": filename, "overwrite": overwrite}}
    return parse_workflow({**data, "nodes": nodes})


def single_file_job(path, config, merge: bool = True):
    """The main job on a single-file checkpoint; without ``merge`` the sampler uses it as it is."""
    data = copy.deepcopy(workflow().to_json())
    data["nodes"]["model"]["inputs"].update(checkpoint=str(path), config=str(config))
    if not merge:
        del data["nodes"]["merge"]
        for name in ("sampler", "decode"):
            data["nodes"][name]["inputs"]["model"] = {"from": "model", "output": "model"}
    return parse_workflow(data)


def weights(pipe) -> dict:
    return {f"{c}.{k}": v.detach().clone() for c in COMPONENTS for k, v in getattr(pipe, c).state_dict().items()}


def test_sgm_layout_keys(make_session, demo_paths):
    session = make_session()
    result, _ = run(session, save_job())
    assert result.ok, result.error
    (path,) = result.outputs
    with safe_open(path, "pt") as fh:
        keys, meta = set(fh.keys()), fh.metadata()
    for key in ("model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.label_emb.0.0.weight",
                "model.diffusion_model.middle_block.1.proj_in.weight", "model.diffusion_model.out.2.weight",
                "first_stage_model.decoder.up.0.block.0.conv1.weight", "first_stage_model.encoder.mid.attn_1.q.weight",
                "conditioner.embedders.0.transformer.text_model.embeddings.position_embedding.weight",
                "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight",
                "conditioner.embedders.1.model.text_projection", "conditioner.embedders.1.model.positional_embedding"):
        assert key in keys, key
    assert not any(k.startswith(("unet.", "vae.", "text_encoder")) or "lora" in k for k in keys)
    provenance = json.loads(meta["nodegraph.provenance"])
    assert provenance["nodes"]["ckpt"]["type"] == "SaveCheckpoint" and "version" in provenance["nodes"]["ckpt"]
    assert json.loads(meta["nodegraph.workflow"])["nodes"]["ckpt"]["type"] == "SaveCheckpoint"


def test_single_file_loads_offline_with_config_folder_identical_weights_and_image(make_session, demo_paths):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    folder = demo_paths["tiny-sdxl"]
    saved, _ = run(make_session(), save_job(filename="plain"))
    assert saved.ok, saved.error
    (path,) = saved.outputs

    # Weights: LoadSDXL's handle on the file, materialised by a fresh manager, vs the folder.
    loaded, _ = run(make_session(), capture(single_file_job(path, folder), handle="model.model"))
    assert loaded.ok, loaded.error
    handle = loaded.values["handle"]["value"]
    assert handle.source.kind == "single_file"
    fresh = ModelManager()
    with fresh.use(handle) as pipe:
        from_file = weights(pipe)
    from .conftest import direct_pipeline
    reference = weights(direct_pipeline(demo_paths))
    assert from_file.keys() == reference.keys()
    assert all(torch.equal(from_file[k], reference[k]) for k in reference)
    fresh.close()

    # Image: the main job (fused LCM + style merge) on the file == on the diffusers folder.
    # Fresh managers on both sides: a shared pipeline that was fused and unfused before holds
    # base weights off by float rounding (unfuse subtracts the delta again).
    a, _ = run(make_session(own_manager=ModelManager()), capture(workflow(), image="decode.image"))
    b, _ = run(make_session(own_manager=ModelManager()), capture(single_file_job(path, folder), image="decode.image"))
    assert a.ok and b.ok, (a.error, b.error)
    assert torch.equal(a.values["image"]["value"], b.values["image"]["value"])


def test_baked_merge_equals_fused_weights_and_image_and_refuses_overwrite(make_session, demo_paths, manager):
    session = make_session()
    saved, _ = run(session, save_job(source="merge", filename="baked"))
    assert saved.ok, saved.error
    (path,) = saved.outputs
    with safe_open(path, "pt") as fh:
        assert "tiny-sdxl-lcm-lora" in fh.metadata()["nodegraph.model"]

    # Weights: the file holds exactly θ + λ2·τ_LCM + λ1·τ_style as the manager fuses it.
    job = capture(workflow(), fused="merge.model", image="decode.image")
    reference, _ = run(make_session(), job)
    assert reference.ok, reference.error
    with manager.use(reference.values["fused"]["value"]) as pipe:
        fused = weights(pipe)
    baked, _ = run(make_session(), capture(single_file_job(path, demo_paths["tiny-sdxl"], merge=False),
                                           handle="model.model", image="decode.image"))
    assert baked.ok, baked.error
    assert not baked.values["handle"]["value"].patches
    with manager.use(baked.values["handle"]["value"]) as pipe:
        from_file = weights(pipe)
    assert from_file.keys() == fused.keys()
    assert all(torch.equal(from_file[k], fused[k]) for k in fused)
    assert torch.equal(baked.values["image"]["value"], reference.values["image"]["value"])

    # The file exists now: refused without overwrite (nothing changes), replaced with it.
    mtime = os.stat(path).st_mtime_ns
    again, _ = run(make_session(), save_job(source="merge", filename="baked"))
    assert not again.ok and "overwrite" in str(again.error)
    assert os.stat(path).st_mtime_ns == mtime
    replaced, _ = run(make_session(), save_job(source="merge", filename="baked", overwrite=True))
    assert replaced.ok, replaced.error


def test_behind_the_job_the_checkpoint_is_written_after_the_node_and_still_not_replaced(make_session,
                                                                                       monkeypatch):
    """As in a GPU server: SaveCheckpoint returns before its file is written, ``done`` waits for
    it, and a second job saving the same name meanwhile is refused as if the file were there."""
    import threading

    import safetensors.torch
    opened = threading.Event()
    real = safetensors.torch.save_file

    def gated(*args, **kwargs):
        assert opened.wait(30), "the gate was never opened"
        return real(*args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", gated)
    session = make_session()
    session.env.write_behind = True
    job = session.prepare(save_job(filename="pending"))
    job.finish_later = True
    first = session.execute(job)
    (path,) = first.outputs
    assert first.finish is not None and not os.path.exists(path)
    second, _ = run(session, save_job(filename="pending"))
    assert not second.ok and second.error["node"] == "ckpt" and "overwrite" in second.error["message"]
    opened.set()
    first.finish()
    assert first.ok, first.error
    with safe_open(path, "pt") as fh:
        assert "model.diffusion_model.out.2.weight" in fh.keys()
    assert not [p for p in os.listdir(os.path.dirname(path)) if p.startswith(".")]


def test_png_provenance_holds_demo_model_and_lora_hashes(make_session, demo_paths):
    from PIL import Image
    result, _ = run(make_session(), workflow())
    assert result.ok, result.error
    (png,) = result.outputs
    with Image.open(png) as img:
        files = json.loads(img.info[PNG_PROVENANCE_KEY])["files"]
    hasher = FileHasher()
    expected = {"model.checkpoint": demo_paths["tiny-sdxl"],
                "merge.acceleration_lora": demo_paths["tiny-sdxl-lcm-lora"],
                "merge.style_lora": demo_paths["tiny-sdxl-style-lora"]}
    for entry, path in expected.items():
        assert files[entry]["sha256"] == hasher.path(path), entry
    assert files["model.checkpoint"]["value"] == "demo:tiny-sdxl"
