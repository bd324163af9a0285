"""A ComfyUI models/ folder used as it is: checkpoints/, diffusers/, loras/ and vae/ found by
name, listed for the pickers, and a separate VAE file decodes the image."""
from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import save_file

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.files.roots import FileRoots
from nodegraph.graph.workflow import parse_workflow
from nodegraph_nodes.sdxl.checkpoint import vae_to_ldm

from .conftest import capture, run, workflow


@pytest.fixture
def comfy_models(tmp_path, demo_paths):
    """ComfyUI/models laid out as its users keep it (plus files that are not for us)."""
    models = tmp_path / "ComfyUI" / "models"
    for sub in ("checkpoints", "diffusers", "loras", "vae", "embeddings", "upscale_models"):
        (models / sub).mkdir(parents=True)
    shutil.copytree(demo_paths["tiny-sdxl"], models / "diffusers" / "tiny-sdxl")
    shutil.copy(demo_paths["tiny-sdxl-lcm-lora"], models / "loras" / "lcm-lora-sdxl.safetensors")
    shutil.copy(demo_paths["tiny-sdxl-style-lora"], models / "loras" / "watercolor_style.safetensors")
    (models / "checkpoints" / "old_model.ckpt").write_bytes(b"pickle")
    (models / "checkpoints" / "put_checkpoints_here").write_text("")
    (models / "upscale_models" / "4x.safetensors").write_bytes(b"x")
    return models


def standalone_vae(demo_paths, path, scale: float = 1.0):
    """The demo's VAE as one LDM-layout .safetensors file (sdxl_vae.safetensors style, no prefix)."""
    from diffusers import AutoencoderKL
    vae = AutoencoderKL.from_pretrained(demo_paths["tiny-sdxl"] / "vae", local_files_only=True)
    state = {k.removeprefix("first_stage_model."): v.contiguous()
             for k, v in vae_to_ldm(vae.state_dict(), len(vae.config.down_block_types)).items()}
    state = {k: (v * scale if k == "decoder.conv_out.weight" else v) for k, v in state.items()}
    save_file(state, str(path))
    return path.name


def comfy_job(merge: bool = True, **model_inputs):
    """The main job on names from the ComfyUI folder; without ``merge`` the sampler uses the
    model as it is (the VAE tests need no LoRA)."""
    data = workflow().to_json()
    data["nodes"]["model"]["inputs"].update(checkpoint="tiny-sdxl", **model_inputs)
    data["nodes"]["merge"]["inputs"].update(acceleration_lora="lcm-lora-sdxl.safetensors",
                                            style_lora="watercolor_style.safetensors")
    if not merge:
        del data["nodes"]["merge"]
        for name in ("sampler", "decode"):
            data["nodes"][name]["inputs"]["model"] = {"from": "model", "output": "model"}
    return capture(parse_workflow(data), image="decode.image")


def test_pickers_list_what_comfyui_keeps_where_it_keeps_it(comfy_models, demo_paths):
    standalone_vae(demo_paths, comfy_models / "vae" / "sdxl_vae.safetensors")
    files = FileRoots(models_dir=comfy_models)
    assert files.listing("checkpoint") == ["tiny-sdxl"]  # a diffusers folder is one entry
    assert files.listing("lora") == ["lcm-lora-sdxl.safetensors", "watercolor_style.safetensors"]
    assert files.listing("vae") == ["sdxl_vae.safetensors"]
    (comfy_models / "checkpoints" / "sd_xl_base_1.0.safetensors").write_bytes(b"x")
    assert files.listing("checkpoint") == ["sd_xl_base_1.0.safetensors", "tiny-sdxl"]
    assert files.resolve("lora", "watercolor_style.safetensors") == comfy_models / "loras" / "watercolor_style.safetensors"


def test_main_job_names_resolve_in_a_comfyui_folder(make_session, comfy_models):
    job = make_session(models_dir=comfy_models).prepare(comfy_job())
    assert job.graph is not None  # every file found: validation raises otherwise


def test_a_separate_vae_file_decodes_the_image(make_session, comfy_models, demo_paths):
    session = make_session(models_dir=comfy_models)
    reference, _ = run(session, comfy_job(merge=False))
    assert reference.ok, reference.error
    same = standalone_vae(demo_paths, comfy_models / "vae" / "sdxl_vae.safetensors")
    with_vae, _ = run(session, comfy_job(merge=False, vae=same))
    assert with_vae.ok, with_vae.error
    assert torch.allclose(with_vae.values["image"]["value"], reference.values["image"]["value"], atol=1e-5)
    other = standalone_vae(demo_paths, comfy_models / "vae" / "dark_vae.safetensors", scale=0.5)
    changed, _ = run(session, comfy_job(merge=False, vae=other))
    assert changed.ok, changed.error
    assert not torch.allclose(changed.values["image"]["value"], reference.values["image"]["value"], atol=1e-3)


def test_a_pickle_vae_is_refused_before_anything_runs(make_session, comfy_models):
    (comfy_models / "vae" / "old_vae.pt").write_bytes(b"pickle")
    with pytest.raises(WorkflowInvalid) as info:
        make_session(models_dir=comfy_models).prepare(comfy_job(vae="old_vae.pt"))
    (problem,) = info.value.problems
    assert problem.node == "model" and problem.input == "vae" and "pickle" in problem.message
