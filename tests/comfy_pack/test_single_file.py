"""Single-file checkpoints in Stability's key layout load with NO config folder: the demo models
exported as one .safetensors file each (SD 1.x, SDXL, SDXL refiner, SVD) give exactly what the
demo's diffusers folder gives; and the architecture of real-size files is recognised from
their header alone (names and shapes, no weights)."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from nodegraph.graph.workflow import parse_workflow
from nodegraph_nodes.comfy import families
from nodegraph_nodes.comfy.export import pipeline_to_single_file

from .conftest import edited, load, run, with_captures

FAMILIES = {"sd1": ("demo:tiny-sd15", "StableDiffusionPipeline"), "sdxl": ("demo:tiny-sdxl", "StableDiffusionXLPipeline"),
            "sdxl_refiner": ("demo:tiny-sdxl-refiner", "StableDiffusionXLImg2ImgPipeline")}


def _export(demo_paths, family: str, path) -> None:
    import diffusers
    demo, cls = FAMILIES[family]
    pipe = getattr(diffusers, cls).from_pretrained(str(demo_paths[demo[5:]]), local_files_only=True)
    save_file(pipeline_to_single_file(pipe, family), str(path))


@pytest.mark.parametrize("family", ["sd1", "sdxl", "sdxl_refiner"])
def test_image_checkpoint_loads_without_config(make_session, demo_paths, tmp_path, family):
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    _export(demo_paths, family, models / "checkpoints" / f"{family}.safetensors")
    assert not any((models / "checkpoints").glob("*.json"))
    latents = {}
    for name in (FAMILIES[family][0], f"{family}.safetensors"):
        wf = with_captures(edited("sd15_txt2img", drop=("9",), **{"4__ckpt_name": name}), out="3.latent")
        result, _ = run(make_session(models_dir=models), wf)
        assert result.status == "success", result.error
        latents[name] = result.values["out"]["value"]["samples"]
    single, folder = latents.values()
    assert torch.equal(single, folder)


def test_svd_checkpoint_loads_without_config(make_session, demo_paths, tmp_path):
    from safetensors.torch import load_file
    from video.sgm_layout import to_sgm
    folder = demo_paths["tiny-svd"]
    states = {n: {k: v for f in sorted((folder / n).glob("*.safetensors")) for k, v in load_file(str(f)).items()}
              for n in ("unet", "vae", "image_encoder")}
    # The file keeps the VAE's quant_conv: Stability's SVD files have none (the loader then takes the
    # identity, as SGM computes), but the random demo's is no identity, and without it the frames
    # would differ for that reason alone (tests/video covers the file without it).
    assert not torch.equal(states["vae"]["quant_conv.weight"][:, :, 0, 0], torch.eye(8))
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    tensors = to_sgm(states["unet"], states["vae"], states["image_encoder"], 1, 4)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(models / "checkpoints" / "svd_xt.safetensors"))
    frames = {}
    for name in ("demo:tiny-svd", "svd_xt.safetensors"):
        data = load("svd_webp")
        data["nodes"]["15"]["inputs"]["ckpt_name"] = name
        del data["nodes"]["10"]
        wf = with_captures(parse_workflow(data), out="8.image")
        result, _ = run(make_session(models_dir=models), wf)
        assert result.status == "success", result.error
        frames[name] = result.values["out"]["value"]
    assert frames["demo:tiny-svd"].shape[0] == 4
    torch.testing.assert_close(frames["svd_xt.safetensors"], frames["demo:tiny-svd"], rtol=0, atol=1e-5)


def test_real_size_architectures_are_recognised_from_shapes():
    """Headers of real-size SD 1.5 and SVD-XT checkpoints (shapes from meta-device modules)
    give back the released configs' sizes and head counts."""
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel
    from nodegraph_nodes.sdxl import checkpoint as sgm
    real_sd15 = dict(block_out_channels=[320, 640, 1280, 1280], layers_per_block=2, cross_attention_dim=768,
                     attention_head_dim=8, down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                     up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3)
    with init_empty_weights():
        unet = UNet2DConditionModel(**real_sd15)
    shapes = {k: tuple(v.shape) for k, v in sgm.unet_to_ldm(unet.state_dict(), 2).items()}
    shapes["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"] = (49408, 768)
    config = families.unet_config(shapes, families.recognise(shapes))
    assert families.recognise(shapes) == "sd1"
    for key, value in real_sd15.items():
        wanted = [value] * 4 if key == "attention_head_dim" else value  # one value per level
        assert config[key] == wanted, key
    assert config["norm_num_groups"] == 32 and config["use_linear_projection"] is False


def test_unsupported_files_are_named_at_validation(registry, tmp_path):
    from nodegraph.run.context import Environment
    from nodegraph.files.roots import FileRoots
    from nodegraph.graph.validate import validate
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    save_file({"cond_stage_model.model.token_embedding.weight": torch.zeros(2, 2),
               "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2, 4, 3, 3)},
              str(models / "checkpoints" / "sd21.safetensors"))
    env = Environment(files=FileRoots(models_dir=models), device="cpu")
    problems = validate(edited("sd15_txt2img", **{"4__ckpt_name": "sd21.safetensors"}), registry, env)
    assert [(p.node, p.input) for p in problems] == [("4", "ckpt_name")]
    assert "Stable Diffusion 2.x" in problems[0].message
