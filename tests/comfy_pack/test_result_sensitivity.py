"""Every literal of the comfy pack's nodes changes what comes out, compared as content: sampled
latents, decoded pixels, the frames SVD makes, the frames and frame durations of a written
animation (not its bytes: the file embeds the prompt). File name prefixes change the name only;
a compression level changes the size only. The loaders' file names are their own tests' (named
below). A literal of the pack that none of the lists names fails the coverage test.

Everything runs on the tiny demo models at 64x64, a few steps, on one graph per family; runs
share one node cache, so a case re-runs only the node it changes and what follows it (an input
the node ignored still gives the same result there, and the case fails)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.cache import Cache
from sensitivity import same, uncovered

from .conftest import load, run


def L(node: str, output: str) -> dict:  # noqa: N802 - a link, as the workflows write them
    return {"from": node, "output": output}


def sd15_graph() -> dict:
    """sd15_txt2img (KSampler on an empty latent, two prompts through CLIPSetLastLayer and a
    ModelSamplingDiscrete model) with the latent, image and custom-sampling nodes beside it."""
    data = copy.deepcopy(load("sd15_txt2img"))
    nodes = data["nodes"]
    del nodes["9"]  # SaveImage: its own tests
    nodes["30"] = {"type": "CLIPSetLastLayer", "inputs": {"clip": L("4", "clip"), "stop_at_clip_layer": -1}}
    nodes["6"]["inputs"]["clip"] = nodes["7"]["inputs"]["clip"] = L("30", "clip")
    nodes["34"] = {"type": "ModelSamplingDiscrete", "inputs": {"model": L("4", "model"), "sampling": "eps",
                                                               "zsnr": False}}
    nodes["3"]["inputs"]["model"] = L("34", "model")
    nodes.update({
        "31": {"type": "LatentUpscale", "inputs": {"samples": L("3", "latent"), "upscale_method": "nearest-exact",
                                                   "width": 96, "height": 64, "crop": "disabled"}},
        "32": {"type": "LatentUpscaleBy", "inputs": {"samples": L("3", "latent"), "upscale_method": "nearest-exact",
                                                     "scale_by": 1.5}},
        "33": {"type": "ImageScale", "inputs": {"image": L("8", "image"), "upscale_method": "nearest-exact",
                                                "width": 96, "height": 64, "crop": "disabled"}},
        "40": {"type": "KSamplerAdvanced", "inputs": {
            "model": L("4", "model"), "positive": L("6", "conditioning"), "negative": L("7", "conditioning"),
            "latent_image": L("5", "latent"), "add_noise": "enable", "noise_seed": 1, "steps": 4, "cfg": 8.0,
            "sampler_name": "euler", "scheduler": "normal", "start_at_step": 0, "end_at_step": 10000,
            "return_with_leftover_noise": "disable"}},
        "20": {"type": "RandomNoise", "inputs": {"noise_seed": 7}},
        "21": {"type": "CFGGuider", "inputs": {"model": L("4", "model"), "positive": L("6", "conditioning"),
                                               "negative": L("7", "conditioning"), "cfg": 8.0}},
        "22": {"type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "23": {"type": "BasicScheduler", "inputs": {"model": L("4", "model"), "scheduler": "normal", "steps": 3,
                                                    "denoise": 1.0}},
        "24": {"type": "SamplerCustomAdvanced", "inputs": {"noise": L("20", "noise"), "guider": L("21", "guider"),
                                                           "sampler": L("22", "sampler"), "sigmas": L("23", "sigmas"),
                                                           "latent_image": L("5", "latent")}},
        "25": {"type": "SDTurboScheduler", "inputs": {"model": L("4", "model"), "steps": 2, "denoise": 1.0}},
        "26": {"type": "SamplerCustom", "inputs": {"model": L("4", "model"), "add_noise": True, "noise_seed": 1,
                                                   "cfg": 2.0, "positive": L("6", "conditioning"),
                                                   "negative": L("7", "conditioning"), "sampler": L("22", "sampler"),
                                                   "sigmas": L("25", "sigmas"), "latent_image": L("5", "latent")}},
    })
    taps = {"ks": "3.latent", "image": "8.image", "up": "31.latent", "up_by": "32.latent", "scaled": "33.image",
            "adv": "40.latent", "custom": "24.output", "turbo": "26.output"}
    for name, ref in taps.items():
        node, output = ref.split(".")
        nodes[f"tap_{name}"] = {"type": "TestCapture", "inputs": {"value": L(node, output)}}
    return data


def edited(data: dict, changes: dict) -> dict:
    data = copy.deepcopy(data)
    for key, value in changes.items():
        node, name = key.split(".")
        data["nodes"][node]["inputs"][name] = value
    return data


def captured(result) -> dict:
    return {name: v["value"] for name, v in result.values.items()}


@pytest.fixture(scope="module")
def shared() -> dict:
    """One node cache for the module's runs, and the unchanged runs' results."""
    return {"cache": Cache(), "references": {}}


def outcome(make_session, shared, data: dict) -> dict:
    result, _ = run(make_session(cache=shared["cache"]), parse_workflow(data))
    assert result.status == "success", result.error
    return captured(result)


def reference(make_session, shared, key: str, data: dict) -> dict:
    if key not in shared["references"]:
        shared["references"][key] = outcome(make_session, shared, data)
    return shared["references"][key]


SD15_CHANGES = [  # (node type, input, both runs' changes, the change)
    ("EmptyLatentImage", "width", {}, {"5.width": 72}),
    ("EmptyLatentImage", "height", {}, {"5.height": 72}),
    ("EmptyLatentImage", "batch_size", {}, {"5.batch_size": 2}),
    ("KSampler", "seed", {}, {"3.seed": 5}),
    ("KSampler", "steps", {}, {"3.steps": 3}),
    ("KSampler", "cfg", {}, {"3.cfg": 3.0}),
    ("KSampler", "sampler_name", {}, {"3.sampler_name": "dpmpp_2m"}),
    ("KSampler", "scheduler", {}, {"3.scheduler": "karras"}),
    ("KSampler", "denoise", {}, {"3.denoise": 0.5}),
    ("CLIPTextEncode", "text", {}, {"6.text": "a red boat"}),
    ("CLIPSetLastLayer", "stop_at_clip_layer", {}, {"30.stop_at_clip_layer": -2}),
    ("ModelSamplingDiscrete", "sampling", {}, {"34.sampling": "v_prediction"}),
    ("ModelSamplingDiscrete", "zsnr", {}, {"34.zsnr": True}),
    ("LatentUpscale", "upscale_method", {}, {"31.upscale_method": "bilinear"}),
    ("LatentUpscale", "width", {}, {"31.width": 128}),
    ("LatentUpscale", "height", {}, {"31.height": 96}),
    ("LatentUpscale", "crop", {}, {"31.crop": "center"}),  # 64x64 to 96x64: a crop changes what is kept
    ("LatentUpscaleBy", "upscale_method", {}, {"32.upscale_method": "bilinear"}),
    ("LatentUpscaleBy", "scale_by", {}, {"32.scale_by": 2.0}),
    ("ImageScale", "upscale_method", {}, {"33.upscale_method": "bilinear"}),
    ("ImageScale", "width", {}, {"33.width": 128}),
    ("ImageScale", "height", {}, {"33.height": 96}),
    ("ImageScale", "crop", {}, {"33.crop": "center"}),
    ("KSamplerAdvanced", "add_noise", {}, {"40.add_noise": "disable"}),
    ("KSamplerAdvanced", "noise_seed", {}, {"40.noise_seed": 2}),
    ("KSamplerAdvanced", "steps", {}, {"40.steps": 3}),
    ("KSamplerAdvanced", "cfg", {}, {"40.cfg": 3.0}),
    ("KSamplerAdvanced", "sampler_name", {}, {"40.sampler_name": "dpmpp_2m"}),
    ("KSamplerAdvanced", "scheduler", {}, {"40.scheduler": "karras"}),
    ("KSamplerAdvanced", "start_at_step", {}, {"40.start_at_step": 1}),
    ("KSamplerAdvanced", "end_at_step", {}, {"40.end_at_step": 2}),
    # the leftover noise matters where sampling stops early
    ("KSamplerAdvanced", "return_with_leftover_noise", {"40.end_at_step": 2}, {"40.return_with_leftover_noise": "enable"}),
    ("RandomNoise", "noise_seed", {}, {"20.noise_seed": 8}),
    ("CFGGuider", "cfg", {}, {"21.cfg": 3.0}),
    ("KSamplerSelect", "sampler_name", {}, {"22.sampler_name": "dpmpp_2m"}),
    ("BasicScheduler", "scheduler", {}, {"23.scheduler": "karras"}),
    ("BasicScheduler", "steps", {}, {"23.steps": 2}),
    ("BasicScheduler", "denoise", {}, {"23.denoise": 0.5}),
    ("SDTurboScheduler", "steps", {}, {"25.steps": 1}),
    ("SDTurboScheduler", "denoise", {}, {"25.denoise": 0.5}),
    ("SamplerCustom", "add_noise", {}, {"26.add_noise": False}),
    ("SamplerCustom", "noise_seed", {}, {"26.noise_seed": 2}),
    ("SamplerCustom", "cfg", {}, {"26.cfg": 3.0}),
]


@pytest.mark.parametrize("node_type, name, both, change", SD15_CHANGES, ids=[f"{t}.{i}" for t, i, *_ in SD15_CHANGES])
def test_each_sd15_family_input_changes_the_result(make_session, shared, node_type, name, both, change):
    base = reference(make_session, shared, f"sd15{sorted(both.items())}", edited(sd15_graph(), both))
    assert not same(outcome(make_session, shared, edited(sd15_graph(), {**both, **change})), base), (node_type, name)


# ---- SVD: image-only checkpoint, conditioning, video CFG, the decoded frames --------------

def svd_graph() -> dict:
    data = copy.deepcopy(load("svd_webp"))
    del data["nodes"]["10"]  # SaveAnimatedWEBP: the animation tests below
    data["nodes"]["12"]["inputs"]["video_frames"] = 3  # the fewest that still make a clip of its own
    data["nodes"]["tap"] = {"type": "TestCapture", "inputs": {"value": L("8", "image")}}
    return data


SVD_CHANGES = [
    ("SVD_img2vid_Conditioning", "width", {"12.width": 72}),
    ("SVD_img2vid_Conditioning", "height", {"12.height": 72}),
    ("SVD_img2vid_Conditioning", "video_frames", {"12.video_frames": 2}),
    ("SVD_img2vid_Conditioning", "motion_bucket_id", {"12.motion_bucket_id": 30}),
    ("SVD_img2vid_Conditioning", "fps", {"12.fps": 12}),
    ("SVD_img2vid_Conditioning", "augmentation_level", {"12.augmentation_level": 0.2}),
    ("VideoLinearCFGGuidance", "min_cfg", {"14.min_cfg": 2.0}),  # KSampler's cfg is 2.5
]


@pytest.mark.parametrize("node_type, name, change", SVD_CHANGES, ids=[f"{t}.{i}" for t, i, _ in SVD_CHANGES])
def test_each_svd_input_changes_the_decoded_frames(make_session, shared, node_type, name, change):
    base = reference(make_session, shared, "svd", svd_graph())
    assert not same(outcome(make_session, shared, edited(svd_graph(), change)), base), (node_type, name)


# ---- animations and videos from images ----------------------------------------------------

def animation_graph() -> dict:
    """Two 64x64 pictures (SD 1.5 at batch 2) into SaveAnimatedWEBP, SaveAnimatedPNG and CreateVideo."""
    data = copy.deepcopy(load("sd15_txt2img"))
    nodes = data["nodes"]
    del nodes["9"]
    nodes["5"]["inputs"]["batch_size"] = 2
    nodes["3"]["inputs"]["steps"] = 2
    nodes.update({
        "50": {"type": "SaveAnimatedWEBP", "inputs": {"images": L("8", "image"), "filename_prefix": "anim",
                                                      "fps": 6.0, "lossless": False, "quality": 80,
                                                      "method": "default"}},
        "51": {"type": "SaveAnimatedPNG", "inputs": {"images": L("8", "image"), "filename_prefix": "anim",
                                                     "fps": 6.0, "compress_level": 4}},
        "52": {"type": "CreateVideo", "inputs": {"images": L("8", "image"), "fps": 30.0}},
        "tap_video": {"type": "TestCapture", "inputs": {"value": L("52", "video")}},
    })
    return data


def frames_and_durations(path: str) -> tuple[np.ndarray, list]:
    """What a viewer shows: every frame's pixels and how long each stays."""
    with Image.open(path) as image:
        pictures, durations = [], []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            pictures.append(np.asarray(image.convert("RGB")))
            durations.append(image.info.get("duration"))
    return np.stack(pictures), durations


def animation(make_session, shared, changes: dict) -> tuple[dict, dict]:
    """(content by file kind, path by file kind), and the captured video."""
    result, _ = run(make_session(cache=shared["cache"]), parse_workflow(edited(animation_graph(), changes)))
    assert result.status == "success", result.error
    paths = {path.rsplit(".", 1)[-1]: path for path in result.outputs}
    content = {kind: frames_and_durations(path) for kind, path in paths.items()}
    content["video"] = result.values["tap_video"]["value"]
    return content, paths


ANIMATION_CHANGES = [
    ("SaveAnimatedWEBP", "fps", {"50.fps": 12.0}),
    ("SaveAnimatedWEBP", "lossless", {"50.lossless": True}),
    ("SaveAnimatedWEBP", "quality", {"50.quality": 20}),
    ("SaveAnimatedWEBP", "method", {"50.method": "fastest"}),
    ("SaveAnimatedPNG", "fps", {"51.fps": 12.0}),
    ("CreateVideo", "fps", {"52.fps": 12.0}),
]


@pytest.mark.parametrize("node_type, name, change", ANIMATION_CHANGES, ids=[f"{t}.{i}" for t, i, _ in ANIMATION_CHANGES])
def test_each_animation_input_changes_the_frames_or_their_timing(make_session, shared, node_type, name, change):
    base = shared["references"].get("animation") or animation(make_session, shared, {})[0]
    shared["references"]["animation"] = base
    assert not same(animation(make_session, shared, change)[0], base), (node_type, name)


def test_prefixes_change_names_and_the_compression_level_only_the_size(make_session, shared):
    import os
    base, base_paths = animation(make_session, shared, {})
    renamed, renamed_paths = animation(make_session, shared, {"50.filename_prefix": "other",
                                                              "51.filename_prefix": "other"})
    assert all(os.path.basename(p).startswith("other_") for p in renamed_paths.values())
    assert same(renamed, base)
    stored, stored_paths = animation(make_session, shared, {"51.compress_level": 0})
    assert same(stored["png"], base["png"])  # lossless: the same frames and durations
    assert os.path.getsize(stored_paths["png"]) > os.path.getsize(base_paths["png"])  # 0: stored, not deflated


# ---- coverage -----------------------------------------------------------------------------

SAME_CONTENT = [("SaveAnimatedWEBP", "filename_prefix"), ("SaveAnimatedPNG", "filename_prefix"),
                ("SaveAnimatedPNG", "compress_level")]  # test_prefixes_change_names_and_the_compression_level_only_the_size
COVERED_ELSEWHERE = {
    ("CheckpointLoaderSimple", "ckpt_name"): "which file loads: test_single_file, test_contract",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "which file loads: test_single_file",
    ("VAELoader", "vae_name"): "a separate VAE file decodes: test_vae_file",
    ("LoraLoader", "lora_name"): "LoRA files: test_results' test_lora_strengths_change_the_result, the loaders' tests",
    ("LoraLoader", "strength_model"): "test_results' test_lora_strengths_change_the_result",
    ("LoraLoader", "strength_clip"): "test_results' test_lora_strengths_change_the_result (no text-encoder keys in "
                                     "the demo LoRA: nothing to scale, as in ComfyUI)",
    ("LoraLoaderModelOnly", "lora_name"): "test_results' test_lcm_lora_four_steps_cfg_one",
    ("LoraLoaderModelOnly", "strength_model"): "test_lora_model_only_strength_changes_the_latent below",
    # The model-free utility nodes: test_utility_nodes.py varies each and checks the result.
    **{(cls, "value"): "test_utility_nodes' test_primitives_pass_their_value_on"
       for cls in ("PrimitiveInt", "PrimitiveFloat", "PrimitiveString", "PrimitiveStringMultiline", "PrimitiveBoolean")},
    ("ComfySwitchNode", "switch"): "test_utility_nodes' test_switch_runs_only_the_branch_it_selects and "
                                   "test_switch_picks_by_a_linked_boolean",
    ("ImageScaleBy", "scale_by"): "test_utility_nodes' test_image_scale_by_follows_the_factor",
    ("ImageScaleBy", "upscale_method"): "test_utility_nodes' test_image_scale_by_follows_the_method",
    # One encoding is supported (8-bit sRGB H.264): every other choice is refused at validation.
    **{("CreateVideo", name): "test_utility_nodes' test_create_video_refuses_what_it_cannot_encode_at_validation"
       for name in ("bit_depth", "color_space", "codec")},
}


def test_lora_model_only_strength_changes_the_latent(make_session, shared):
    data = copy.deepcopy(load("lcm_lora"))
    del data["nodes"]["9"]
    data["nodes"]["tap"] = {"type": "TestCapture", "inputs": {"value": L("3", "latent")}}
    base = outcome(make_session, shared, data)
    assert not same(outcome(make_session, shared, edited(data, {"10.strength_model": 0.4})), base)


def test_every_literal_of_the_comfy_pack_is_covered(registry):
    covered = [(t, i) for t, i, *_ in SD15_CHANGES + SVD_CHANGES + ANIMATION_CHANGES] + SAME_CONTENT
    assert uncovered(registry, "builtin.comfy", covered, COVERED_ELSEWHERE) == set()
