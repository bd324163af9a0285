"""Each comfy node's contract against ComfyUI's /object_info facts: class name, inputs in order
(ComfyUI's input_order: required then optional), widget defaults, ranges and choices, and
output slots (types, and names as ComfyUI's output names lower-cased)."""
from __future__ import annotations

import sys

import pytest

from nodegraph_nodes.comfy.sampler_names import SAMPLER_NAMES, SCHEDULER_NAMES

BIG = 0xFFFFFFFFFFFFFFFF
MAXSIZE = sys.maxsize  # PrimitiveInt/PrimitiveFloat's bounds
R = 16384  # MAX_RESOLUTION
S = "SAMPLERS"
C = "SCHEDULERS"
# node: ([(input, socket type, default, min, max)], [(output name, type)]); None = not checked / link
COMFY = {
    "CheckpointLoaderSimple": ([("ckpt_name", "STRING", None, None, None)], [("model", "MODEL"), ("clip", "CLIP"), ("vae", "VAE")]),
    "CLIPTextEncode": ([("text", "STRING", None, None, None), ("clip", "CLIP", None, None, None)], [("conditioning", "CONDITIONING")]),
    "CLIPSetLastLayer": ([("clip", "CLIP", None, None, None), ("stop_at_clip_layer", "INT", -1, -24, -1)], [("clip", "CLIP")]),
    "ConditioningCombine": ([("conditioning_1", "CONDITIONING", None, None, None), ("conditioning_2", "CONDITIONING", None, None, None)], [("conditioning", "CONDITIONING")]),
    "EmptyLatentImage": ([("width", "INT", 512, 16, R), ("height", "INT", 512, 16, R), ("batch_size", "INT", 1, 1, 4096)], [("latent", "LATENT")]),
    "KSampler": ([("model", "MODEL", None, None, None), ("seed", "INT", 0, 0, BIG), ("steps", "INT", 20, 1, 10000),
                  ("cfg", "FLOAT", 8.0, 0.0, 100.0), ("sampler_name", S, "euler", None, None), ("scheduler", C, "normal", None, None),
                  ("positive", "CONDITIONING", None, None, None), ("negative", "CONDITIONING", None, None, None),
                  ("latent_image", "LATENT", None, None, None), ("denoise", "FLOAT", 1.0, 0.0, 1.0)], [("latent", "LATENT")]),
    "KSamplerAdvanced": ([("model", "MODEL", None, None, None), ("add_noise", ("enable", "disable"), "enable", None, None),
                          ("noise_seed", "INT", 0, 0, BIG), ("steps", "INT", 20, 1, 10000), ("cfg", "FLOAT", 8.0, 0.0, 100.0),
                          ("sampler_name", S, "euler", None, None), ("scheduler", C, "normal", None, None),
                          ("positive", "CONDITIONING", None, None, None), ("negative", "CONDITIONING", None, None, None),
                          ("latent_image", "LATENT", None, None, None), ("start_at_step", "INT", 0, 0, 10000),
                          ("end_at_step", "INT", 10000, 0, 10000),
                          ("return_with_leftover_noise", ("disable", "enable"), "disable", None, None)], [("latent", "LATENT")]),
    "VAEDecode": ([("samples", "LATENT", None, None, None), ("vae", "VAE", None, None, None)], [("image", "IMAGE")]),
    "VAEEncode": ([("pixels", "IMAGE", None, None, None), ("vae", "VAE", None, None, None)], [("latent", "LATENT")]),
    "VAELoader": ([("vae_name", "STRING", None, None, None)], [("vae", "VAE")]),
    "LoraLoader": ([("model", "MODEL", None, None, None), ("clip", "CLIP", None, None, None), ("lora_name", "STRING", None, None, None),
                    ("strength_model", "FLOAT", 1.0, -100.0, 100.0), ("strength_clip", "FLOAT", 1.0, -100.0, 100.0)],
                   [("model", "MODEL"), ("clip", "CLIP")]),
    "LoraLoaderModelOnly": ([("model", "MODEL", None, None, None), ("lora_name", "STRING", None, None, None),
                             ("strength_model", "FLOAT", 1.0, -100.0, 100.0)], [("model", "MODEL")]),
    "ModelSamplingDiscrete": ([("model", "MODEL", None, None, None),
                               ("sampling", ("eps", "v_prediction", "lcm", "x0", "img_to_img"), "eps", None, None),
                               ("zsnr", "BOOLEAN", False, None, None)], [("model", "MODEL")]),
    "LatentUpscale": ([("samples", "LATENT", None, None, None),
                       ("upscale_method", ("nearest-exact", "bilinear", "area", "bicubic", "bislerp"), "nearest-exact", None, None),
                       ("width", "INT", 512, 0, R), ("height", "INT", 512, 0, R), ("crop", ("disabled", "center"), "disabled", None, None)],
                      [("latent", "LATENT")]),
    "LatentUpscaleBy": ([("samples", "LATENT", None, None, None),
                         ("upscale_method", ("nearest-exact", "bilinear", "area", "bicubic", "bislerp"), "nearest-exact", None, None),
                         ("scale_by", "FLOAT", 1.5, 0.01, 8.0)], [("latent", "LATENT")]),
    "ImageScale": ([("image", "IMAGE", None, None, None),
                    ("upscale_method", ("nearest-exact", "bilinear", "area", "bicubic", "lanczos"), "nearest-exact", None, None),
                    ("width", "INT", 512, 0, R), ("height", "INT", 512, 0, R), ("crop", ("disabled", "center"), "disabled", None, None)],
                   [("image", "IMAGE")]),
    "ImageOnlyCheckpointLoader": ([("ckpt_name", "STRING", None, None, None)],
                                  [("model", "MODEL"), ("clip_vision", "CLIP_VISION"), ("vae", "VAE")]),
    "SVD_img2vid_Conditioning": ([("clip_vision", "CLIP_VISION", None, None, None), ("init_image", "IMAGE", None, None, None),
                                  ("vae", "VAE", None, None, None), ("width", "INT", 1024, 16, R), ("height", "INT", 576, 16, R),
                                  ("video_frames", "INT", 14, 1, 4096), ("motion_bucket_id", "INT", 127, 1, 1023),
                                  ("fps", "INT", 6, 1, 1024), ("augmentation_level", "FLOAT", 0.0, 0.0, 10.0)],
                                 [("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("latent", "LATENT")]),
    "VideoLinearCFGGuidance": ([("model", "MODEL", None, None, None), ("min_cfg", "FLOAT", 1.0, 0.0, 100.0)], [("model", "MODEL")]),
    "SaveAnimatedWEBP": ([("images", "IMAGE", None, None, None), ("filename_prefix", "STRING", "ComfyUI", None, None),
                          ("fps", "FLOAT", 6.0, 0.01, 1000.0), ("lossless", "BOOLEAN", True, None, None),
                          ("quality", "INT", 80, 0, 100), ("method", ("default", "fastest", "slowest"), "default", None, None)], []),
    "SaveAnimatedPNG": ([("images", "IMAGE", None, None, None), ("filename_prefix", "STRING", "ComfyUI", None, None),
                         ("fps", "FLOAT", 6.0, 0.01, 1000.0), ("compress_level", "INT", 4, 0, 9)], []),
    "CreateVideo": ([("images", "IMAGE", None, None, None), ("fps", "FLOAT", 30.0, 1.0, 120.0), ("audio", "AUDIO", None, None, None),
                     ("bit_depth", ("auto", 8, 10), "auto", None, None), ("color_space", ("sRGB", "HDR", "HDR PQ"), "sRGB", None, None),
                     ("codec", ("none", "auto", "h264", "av1"), "none", None, None)],
                    [("video", "VIDEO")]),
    "GetVideoComponents": ([("video", "VIDEO", None, None, None)], [("images", "IMAGE"), ("audio", "AUDIO"), ("fps", "FLOAT"),
                                                                    ("bit_depth", "*"), ("color_space", "*")]),
    "KSamplerSelect": ([("sampler_name", S, "euler", None, None)], [("sampler", "SAMPLER")]),
    "BasicScheduler": ([("model", "MODEL", None, None, None), ("scheduler", C, "normal", None, None), ("steps", "INT", 20, 1, 10000),
                        ("denoise", "FLOAT", 1.0, 0.0, 1.0)], [("sigmas", "SIGMAS")]),
    "SDTurboScheduler": ([("model", "MODEL", None, None, None), ("steps", "INT", 1, 1, 10), ("denoise", "FLOAT", 1.0, 0.0, 1.0)],
                         [("sigmas", "SIGMAS")]),
    "RandomNoise": ([("noise_seed", "INT", 0, 0, BIG)], [("noise", "NOISE")]),
    "CFGGuider": ([("model", "MODEL", None, None, None), ("positive", "CONDITIONING", None, None, None),
                   ("negative", "CONDITIONING", None, None, None), ("cfg", "FLOAT", 8.0, 0.0, 100.0)], [("guider", "GUIDER")]),
    "SamplerCustom": ([("model", "MODEL", None, None, None), ("add_noise", "BOOLEAN", True, None, None), ("noise_seed", "INT", 0, 0, BIG),
                       ("cfg", "FLOAT", 8.0, 0.0, 100.0), ("positive", "CONDITIONING", None, None, None),
                       ("negative", "CONDITIONING", None, None, None), ("sampler", "SAMPLER", None, None, None),
                       ("sigmas", "SIGMAS", None, None, None), ("latent_image", "LATENT", None, None, None)],
                      [("output", "LATENT"), ("denoised_output", "LATENT")]),
    "SamplerCustomAdvanced": ([("noise", "NOISE", None, None, None), ("guider", "GUIDER", None, None, None),
                               ("sampler", "SAMPLER", None, None, None), ("sigmas", "SIGMAS", None, None, None),
                               ("latent_image", "LATENT", None, None, None)], [("output", "LATENT"), ("denoised_output", "LATENT")]),
    # model-free utilities of ComfyUI's templates
    "ImageScaleBy": ([("image", "IMAGE", None, None, None), ("upscale_method", ("nearest-exact", "bilinear", "area", "bicubic", "lanczos"),
                      "nearest-exact", None, None), ("scale_by", "FLOAT", 1.0, 0.01, 8.0)], [("image", "IMAGE")]),
    "PrimitiveInt": ([("value", "INT", 0, -MAXSIZE, MAXSIZE)], [("int", "INT")]),
    "PrimitiveFloat": ([("value", "FLOAT", 0.0, -MAXSIZE, MAXSIZE)], [("float", "FLOAT")]),
    "PrimitiveString": ([("value", "STRING", "", None, None)], [("string", "STRING")]),
    "PrimitiveStringMultiline": ([("value", "STRING", "", None, None)], [("string", "STRING")]),
    "PrimitiveBoolean": ([("value", "BOOLEAN", False, None, None)], [("boolean", "BOOLEAN")]),
    "GetImageSize": ([("image", "IMAGE", None, None, None)], [("width", "INT"), ("height", "INT"), ("batch_size", "INT")]),
    "PreviewAny": ([("source", "*", None, None, None)], [("string", "STRING")]),
    "ImageCompare": ([("image_a", "IMAGE", None, None, None), ("image_b", "IMAGE", None, None, None)], []),
    "ComfySwitchNode": ([("switch", "BOOLEAN", False, None, None), ("on_false", "*", None, None, None),
                         ("on_true", "*", None, None, None)], [("output", "*")]),
}
SEEDS = {("KSampler", "seed"), ("KSamplerAdvanced", "noise_seed"), ("RandomNoise", "noise_seed"), ("SamplerCustom", "noise_seed"),
         ("PrimitiveInt", "value")}
OUTPUT_NODES_WITH_OUTPUTS = {"PreviewAny"}  # shows its text and also outputs it


@pytest.mark.parametrize("name", sorted(COMFY))
def test_node_matches_comfyui_object_info(registry, name):
    cls = registry.get(name)
    assert cls is not None and cls.__plugin__ == "builtin.comfy"
    inputs, outputs = COMFY[name]
    assert [i[0] for i in inputs] == list(cls.inputs), "input names and order"
    for input_name, kind, default, low, high in inputs:
        spec = cls.inputs[input_name]
        if kind == S:
            assert spec.options == SAMPLER_NAMES
        elif kind == C:
            assert spec.options == SCHEDULER_NAMES
        elif isinstance(kind, tuple):
            assert spec.options == kind
        else:
            assert spec.socket == kind, input_name
        if default is not None:
            assert spec.default == default and not spec.required, input_name
        assert (spec.minimum, spec.maximum) == (low, high) or low is None, input_name
        assert spec.control_after_generate == ((name, input_name) in SEEDS)
    assert [(n, o.type) for n, o in cls.outputs.items()] == outputs, "output slots"
    assert cls.output_node == (not outputs or name in OUTPUT_NODES_WITH_OUTPUTS)


def test_comfyui_sampler_lists_are_complete():
    assert SAMPLER_NAMES[-3:] == ("ddim", "uni_pc", "uni_pc_bh2") and len(SAMPLER_NAMES) == 42
    assert SCHEDULER_NAMES[:7] == ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta")


def test_catalogue_shows_seed_control_and_demo_hints(registry):
    catalogue = registry.catalogue()
    ksampler = next(n for n in catalogue["nodes"] if n["type"] == "KSampler")
    seed = next(i for i in ksampler["inputs"] if i["name"] == "seed")
    assert seed["control_after_generate"] is True
    assert "control_after_generate" not in next(i for i in ksampler["inputs"] if i["name"] == "steps")
    hints = {d["name"]: d.get("hints", []) for d in catalogue["demos"]}
    assert "refiner" in hints["demo:tiny-sdxl-refiner"] and "v1-5" in hints["demo:tiny-sd15"]
    assert "svd" in hints["demo:tiny-svd"] and "lcm" in hints["demo:tiny-sdxl-lcm-lora"]
