"""A stand-alone VAE file through VAELoader, as ComfyUI's models/vae/ holds one (LDM key names, no
prefix, no config beside it): VAEDecode decodes with THAT file's weights. The demo SD 1.x
checkpoint's VAE, exported alone, decodes exactly as the checkpoint's own; one changed tensor in
the file changes the image; the shipped demo:tiny-sd15-vae is that same file."""
from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file

from nodegraph_nodes.comfy.export import vae_to_single_file

from .conftest import edited, run, with_captures

LOADER = {"type": "VAELoader", "inputs": {"vae_name": "sd15_vae.safetensors"}}


def _image(make_session, models, vae_name: str | None):
    """The txt2img demo's decoded image, decoded by VAE file ``vae_name`` (None: the checkpoint's VAE)."""
    data = edited("sd15_txt2img", drop=("9",)).to_json()
    if vae_name is not None:
        data["nodes"]["10"] = {"type": "VAELoader", "inputs": {"vae_name": vae_name}}
        data["nodes"]["8"]["inputs"]["vae"] = {"from": "10", "output": "vae"}
    from nodegraph.graph.workflow import parse_workflow
    result, _ = run(make_session(models_dir=models), with_captures(parse_workflow(data), out="8.image"))
    assert result.status == "success", result.error
    return result.values["out"]["value"]


def _export(demo_paths, path) -> dict:
    from diffusers import AutoencoderKL
    vae = AutoencoderKL.from_pretrained(str(demo_paths["tiny-sd15"] / "vae"), local_files_only=True)
    tensors = vae_to_single_file(vae)
    save_file(tensors, str(path))
    return tensors


def test_vae_file_is_what_decodes(make_session, demo_paths, tmp_path):
    models = tmp_path / "models"
    (models / "vae").mkdir(parents=True)
    tensors = _export(demo_paths, models / "vae" / "sd15_vae.safetensors")
    # ComfyUI's layout: bare LDM names, attention as 1x1 convs, no checkpoint prefix
    assert "decoder.mid.attn_1.q.weight" in tensors and tensors["decoder.mid.attn_1.q.weight"].dim() == 4
    assert not any(k.startswith("first_stage_model.") for k in tensors)
    own = _image(make_session, models, None)
    from_file = _image(make_session, models, "sd15_vae.safetensors")
    torch.testing.assert_close(from_file, own, rtol=0, atol=1e-5)

    changed = dict(tensors)
    changed["decoder.conv_out.bias"] = tensors["decoder.conv_out.bias"] - 0.2  # darker everywhere
    save_file(changed, str(models / "vae" / "darker.safetensors"))
    darker = _image(make_session, models, "darker.safetensors")
    assert darker.shape == own.shape and not torch.allclose(darker, own)
    assert darker.mean() < own.mean() - 0.02


def test_demo_vae_is_the_checkpoint_vae_alone(make_session, demo_paths, tmp_path):
    exported = _export(demo_paths, tmp_path / "exported.safetensors")
    from nodegraph_nodes.comfy import demo
    shipped = load_file(str(demo.materialise("demo:tiny-sd15-vae", demo_paths["tiny-sd15"].parent)))
    assert shipped.keys() == exported.keys() and all(torch.equal(shipped[k], exported[k]) for k in shipped)
    torch.testing.assert_close(_image(make_session, tmp_path / "models", "demo:tiny-sd15-vae"),
                               _image(make_session, tmp_path / "models", None), rtol=0, atol=1e-5)


def test_a_file_that_is_not_a_vae_is_named_at_validation(registry, tmp_path):
    from nodegraph.files.roots import FileRoots
    from nodegraph.graph.validate import validate
    from nodegraph.run.context import Environment
    models = tmp_path / "models"
    (models / "vae").mkdir(parents=True)
    save_file({"lora_unet_down_blocks_0.lora_down.weight": torch.zeros(2, 2)}, str(models / "vae" / "x.safetensors"))
    data = edited("sd15_txt2img").to_json()
    data["nodes"]["10"] = {"type": "VAELoader", "inputs": {"vae_name": "x.safetensors"}}
    data["nodes"]["8"]["inputs"]["vae"] = {"from": "10", "output": "vae"}
    from nodegraph.graph.workflow import parse_workflow
    problems = validate(parse_workflow(data), registry, Environment(files=FileRoots(models_dir=models), device="cpu"))
    assert [(p.node, p.input) for p in problems] == [("10", "vae_name")]
    assert "not a VAE" in problems[0].message
