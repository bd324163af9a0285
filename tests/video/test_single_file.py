"""LoadSVD from Stability's single-file SGM layout (svd.safetensors / svd_xt.safetensors) with a
local config folder: the tiny demo exported to that layout gives frames identical to its diffusers
folder; the key names are the real ones (pinned below as facts, and the converter maps every key
of an SVD-XT-size file); wrong or damaged files are clear errors naming the node and input."""
from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from nodegraph_nodes.video import svd_xt
from nodegraph_nodes.video.single_file import SingleFileError, plan, read_header

from .conftest import edit, run, workflow
from .sgm_layout import EXTRA_OPEN_CLIP, to_sgm

# Real key names (and shapes) of stabilityai's svd_xt.safetensors, from the SGM modules
# (VideoUNet, VideoDecoder, OpenCLIP ViT-H/14): facts the layout must match.
REAL_SVD_XT_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": (320, 8, 3, 3),
    "model.diffusion_model.time_embed.0.weight": (1280, 320),
    "model.diffusion_model.label_emb.0.0.weight": (1280, 768),
    "model.diffusion_model.label_emb.0.2.weight": (1280, 1280),
    "model.diffusion_model.input_blocks.1.0.in_layers.2.weight": (320, 320, 3, 3),
    "model.diffusion_model.input_blocks.1.0.emb_layers.1.weight": (320, 1280),
    "model.diffusion_model.input_blocks.1.0.time_stack.in_layers.2.weight": (320, 320, 3, 1, 1),
    "model.diffusion_model.input_blocks.1.0.time_stack.emb_layers.1.weight": (320, 1280),
    "model.diffusion_model.input_blocks.1.0.time_mixer.mix_factor": (1,),
    "model.diffusion_model.input_blocks.1.1.proj_in.weight": (320, 320),
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024),
    "model.diffusion_model.input_blocks.1.1.time_stack.0.ff_in.net.0.proj.weight": (2560, 320),
    "model.diffusion_model.input_blocks.1.1.time_stack.0.attn1.to_q.weight": (320, 320),
    "model.diffusion_model.input_blocks.1.1.time_stack.0.attn2.to_k.weight": (320, 1024),
    "model.diffusion_model.input_blocks.1.1.time_pos_embed.0.weight": (1280, 320),
    "model.diffusion_model.input_blocks.1.1.time_mixer.mix_factor": (1,),
    "model.diffusion_model.input_blocks.3.0.op.weight": (320, 320, 3, 3),
    "model.diffusion_model.input_blocks.4.0.skip_connection.weight": (640, 320, 1, 1),
    "model.diffusion_model.middle_block.1.time_stack.0.attn1.to_out.0.weight": (1280, 1280),
    "model.diffusion_model.middle_block.2.time_stack.out_layers.3.weight": (1280, 1280, 3, 1, 1),
    "model.diffusion_model.output_blocks.2.1.conv.weight": (1280, 1280, 3, 3),
    "model.diffusion_model.output_blocks.5.2.conv.weight": (1280, 1280, 3, 3),
    "model.diffusion_model.output_blocks.11.1.time_stack.0.norm_in.weight": (320,),
    "model.diffusion_model.out.2.weight": (4, 320, 3, 3),
    "first_stage_model.encoder.down.1.block.0.nin_shortcut.weight": (256, 128, 1, 1),
    "first_stage_model.encoder.mid.attn_1.q.weight": (512, 512, 1, 1),
    "first_stage_model.decoder.mid.block_1.mix_factor": (1,),
    "first_stage_model.decoder.mid.block_1.time_stack.in_layers.2.weight": (512, 512, 3, 1, 1),
    "first_stage_model.decoder.up.0.block.0.time_stack.in_layers.2.weight": (128, 128, 3, 1, 1),
    "first_stage_model.decoder.up.0.block.0.nin_shortcut.weight": (128, 256, 1, 1),
    "first_stage_model.decoder.up.3.upsample.conv.weight": (512, 512, 3, 3),
    "first_stage_model.decoder.conv_out.time_mix_conv.weight": (3, 3, 3, 1, 1),
    "conditioner.embedders.0.open_clip.model.visual.conv1.weight": (1280, 3, 14, 14),
    "conditioner.embedders.0.open_clip.model.visual.positional_embedding": (257, 1280),
    "conditioner.embedders.0.open_clip.model.visual.transformer.resblocks.31.attn.in_proj_weight": (3840, 1280),
    "conditioner.embedders.0.open_clip.model.visual.transformer.resblocks.0.mlp.c_fc.weight": (5120, 1280),
    "conditioner.embedders.0.open_clip.model.visual.proj": (1280, 1024),
}
def _component(folder, name) -> dict:
    state = {}
    for shard in sorted((folder / name).glob("*.safetensors")):
        state.update(load_file(str(shard)))
    return state


def export(folder, path, parts=("unet", "vae", "image_encoder"), quant_conv=True, change=None):
    """The diffusers folder's weights as one SGM-layout file (the layout Stability ships)."""
    import json
    unet_cfg = json.loads((folder / "unet" / "config.json").read_text())
    vae_cfg = json.loads((folder / "vae" / "config.json").read_text())
    states = {name: _component(folder, name) if name in parts else None for name in ("unet", "vae", "image_encoder")}
    if states["vae"] is not None and not quant_conv:
        states["vae"] = {k: v for k, v in states["vae"].items() if not k.startswith("quant_conv.")}
    tensors = to_sgm(states["unet"], states["vae"], states["image_encoder"], unet_cfg["layers_per_block"],
                     len(vae_cfg["block_out_channels"]))
    if change:
        tensors[change] = tensors[change] + 0.05
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
    return path


@pytest.fixture(scope="module")
def sgm_file(demo_paths, tmp_path_factory):
    return export(demo_paths["tiny-svd"], tmp_path_factory.mktemp("sgm") / "tiny_svd_xt.safetensors")


def _frames(make_session, checkpoint, config=None, manager=None):
    inputs = {"model__checkpoint": str(checkpoint)}
    if config is not None:
        inputs["model__config"] = str(config)
    wf = edit(workflow(**inputs), drop=("save", "interpolate"), frames="svd.video")
    result, sink = run(make_session(own_manager=manager), wf)
    assert result.status == "success", [e for e in sink.events if e.get("event") == "error"]
    return result.values["frames"]["value"]["frames"]


def _error(make_session, checkpoint, config=None) -> dict:
    """The first problem of a run: refused before running (validation) or failed while running."""
    from nodegraph.api.errors import WorkflowInvalid
    inputs = {"model__checkpoint": str(checkpoint)}
    if config is not None:
        inputs["model__config"] = str(config)
    try:
        result, sink = run(make_session(own_manager=_fresh_manager()), workflow(**inputs))
    except WorkflowInvalid as exc:
        problem = exc.problems[0]
        return {"node": problem.node, "input": problem.input, "message": problem.message}
    assert result.status != "success"
    errors = [e for e in sink.events if e.get("event") == "error"]
    assert errors, sink.events
    return errors[0]


def _fresh_manager():
    from nodegraph_nodes.video.model_manager import VideoModelManager
    return VideoModelManager()


def test_the_single_file_gives_frames_identical_to_the_folder(make_session, demo_paths, sgm_file):
    folder = demo_paths["tiny-svd"]
    from_folder = _frames(make_session, folder)
    from_file = _frames(make_session, sgm_file, config=folder, manager=_fresh_manager())
    assert torch.equal(from_file, from_folder)


def test_the_file_is_really_used_one_changed_tensor_changes_the_clip(make_session, demo_paths, tmp_path, sgm_file):
    folder = demo_paths["tiny-svd"]
    base = _frames(make_session, sgm_file, config=folder, manager=_fresh_manager())
    for key in ("model.diffusion_model.input_blocks.1.1.time_stack.0.attn1.to_v.weight",  # temporal attention
                "conditioner.embedders.0.open_clip.model.visual.proj",  # the image encoder
                "first_stage_model.decoder.conv_out.time_mix_conv.bias"):  # the temporal decoder
        changed = export(folder, tmp_path / f"{key}.safetensors", change=key)
        assert not torch.equal(_frames(make_session, changed, config=folder, manager=_fresh_manager()), base), key


def test_every_tensor_is_used_or_reported(demo_paths, sgm_file):
    from nodegraph_nodes.video.model_manager import ModelSource, load_pipeline
    pipe = load_pipeline(ModelSource("single_file", str(sgm_file), "tiny", "x", config=str(demo_paths["tiny-svd"])))
    conversion = pipe.single_file_conversion
    used = {name for mapping in conversion.sources.values() for name, _op in mapping.values()}
    ignored = {k for keys in conversion.ignored.values() for k in keys}
    assert used | ignored == set(read_header(sgm_file)) and not used & ignored
    assert ignored == set(EXTRA_OPEN_CLIP) and not conversion.derived and not conversion.from_config
    state = {k: v for k, v in pipe.unet.state_dict().items()}
    assert set(conversion.sources["unet"]) == set(state)  # every diffusers parameter came from the file


def test_the_layout_is_the_real_sgm_one_at_svd_xt_size():
    """Shapes only (meta device): every tensor of an SVD-XT-size file maps, and the real names are in it."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    with init_empty_weights():
        modules = {"unet": UNetSpatioTemporalConditionModel(**svd_xt.UNET),
                   "vae": AutoencoderKLTemporalDecoder(**svd_xt.VAE),
                   "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig(**svd_xt.IMAGE_ENCODER))}
    targets = {n: {k: tuple(v.shape) for k, v in m.state_dict().items()} for n, m in modules.items()}
    source = to_sgm(targets["unet"], targets["vae"], targets["image_encoder"], 2, 4, shapes=True)
    for key, shape in REAL_SVD_XT_KEYS.items():
        assert tuple(source.get(key, ())) == shape, key
    source.pop("first_stage_model.quant_conv.weight"), source.pop("first_stage_model.quant_conv.bias")  # not in SGM
    conversion = plan(source, targets, 2, 4)
    assert sum(map(len, conversion.sources.values())) == sum(map(len, targets.values()))
    assert set(conversion.derived) == {"vae.quant_conv.weight", "vae.quant_conv.bias"}
    assert len([k for k in source if k.startswith("model.")]) == len(targets["unet"])


def test_a_file_without_quant_conv_gets_the_identity(demo_paths, tmp_path):
    from nodegraph_nodes.video.model_manager import ModelSource, load_pipeline
    path = export(demo_paths["tiny-svd"], tmp_path / "no_quant.safetensors", quant_conv=False)
    pipe = load_pipeline(ModelSource("single_file", str(path), "tiny", "x", config=str(demo_paths["tiny-svd"])))
    weight = pipe.vae.quant_conv.weight[:, :, 0, 0]
    assert torch.equal(weight, torch.eye(weight.shape[0])) and not pipe.vae.quant_conv.bias.any()


def test_a_file_without_the_image_encoder_takes_it_from_the_config_folder(make_session, demo_paths, tmp_path):
    folder = demo_paths["tiny-svd"]
    path = export(folder, tmp_path / "no_clip.safetensors", parts=("unet", "vae"))
    assert _frames(make_session, path, config=folder, manager=_fresh_manager()).shape[0] == 4
    configs_only = tmp_path / "configs"
    shutil.copytree(folder, configs_only, ignore=shutil.ignore_patterns("*.safetensors"))
    error = _error(make_session, path, config=configs_only)
    assert error["node"] == "model" and error["input"] == "checkpoint"
    assert "image encoder" in error["message"] and "image_encoder/*.safetensors" in error["message"]


def test_wrong_and_damaged_files_are_clear_errors_naming_the_node(make_session, demo_paths, sgm_file, tmp_path):
    folder = demo_paths["tiny-svd"]
    sdxl = tmp_path / "sd_xl_base_1.0.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(320, 4, 3, 3),
               "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight": torch.zeros(8, 4),
               "conditioner.embedders.1.model.ln_final.weight": torch.zeros(4),
               "first_stage_model.decoder.conv_in.weight": torch.zeros(4, 4, 3, 3)}, str(sdxl))
    truncated = tmp_path / "svd_xt_truncated.safetensors"
    truncated.write_bytes(sgm_file.read_bytes()[: sgm_file.stat().st_size // 2])
    cases = {sdxl: ("checkpoint", "not a Stable Video Diffusion checkpoint: it looks like an SDXL checkpoint"),
             truncated: ("checkpoint", "is truncated"),
             tmp_path / "svd.ckpt": ("checkpoint", "pickle")}
    (tmp_path / "svd.ckpt").write_bytes(b"\x80\x02")
    for path, (name, text) in cases.items():
        error = _error(make_session, path, config=folder)
        assert error["node"] == "model" and error.get("input") == name and text in error["message"], error
    error = _error(make_session, sgm_file)  # no config folder
    assert error["node"] == "model" and error.get("input") == "config" and "config folder" in error["message"]
    wrong = tmp_path / "wrong_configs"  # configs of another architecture: the shapes do not match
    shutil.copytree(folder, wrong)
    cfg = (wrong / "unet" / "config.json")
    cfg.write_text(cfg.read_text().replace('"cross_attention_dim": 32', '"cross_attention_dim": 48'))
    error = _error(make_session, sgm_file, config=wrong)
    assert error["node"] == "model" and error["input"] == "checkpoint"
    assert "other shapes than the configs" in error["message"] and "attn2.to_k.weight" in error["message"]


def test_plan_names_unexplained_and_missing_tensors(demo_paths, sgm_file):
    from nodegraph_nodes.video.single_file import _configs
    modules, _, _ = _configs(demo_paths["tiny-svd"])
    targets = {n: {k: tuple(v.shape) for k, v in m.state_dict().items()} for n, m in modules.items()}
    source = {k: shape for k, (_, shape) in read_header(sgm_file).items()}
    with pytest.raises(SingleFileError, match="match nothing in the configs, e.g. model.diffusion_model.extra"):
        plan({**source, "model.diffusion_model.extra.weight": (1,)}, targets, 1, 4)
    gone = "model.diffusion_model.input_blocks.1.0.time_stack.in_layers.2.weight"
    with pytest.raises(SingleFileError, match=f"missing, e.g. {gone}"):
        plan({k: v for k, v in source.items() if k != gone}, targets, 1, 4)


def test_the_handle_is_keyed_by_the_file_fingerprint(make_session, demo_paths, tmp_path):
    folder = demo_paths["tiny-svd"]
    path = export(folder, tmp_path / "svd.safetensors")
    wf = edit(workflow(model__checkpoint=str(path), model__config=str(folder)), drop=("save", "interpolate", "svd",
                                                                                       "camera", "image"),
              handle="model.model")
    first = run(make_session(), wf)[0].values["handle"]["value"].source
    export(folder, path, change="model.diffusion_model.out.2.bias")  # rewritten in place
    second = run(make_session(), wf)[0].values["handle"]["value"].source
    assert first.kind == second.kind == "single_file" and first.config == str(folder.resolve())
    assert first.fingerprint != second.fingerprint
