"""Single-file checkpoints without a config folder: which architecture a file holds, from its
tensors' names and shapes, and the diffusers configuration built from facts kept here.

ComfyUI loads ``checkpoints/*.safetensors`` with no configuration beside them; diffusers'
``from_single_file`` needs a folder of component configs (offline it cannot fetch one). So the
header is read (names and shapes, no weights), the family recognised, every size the shapes
show derived (channels per level, layers per block, transformer depth, cross-attention width,
text-time embedding sizes, text and vision encoder widths, depths and vocabularies), and the
facts no shape shows taken from the family (attention head sizes, activations, VAE scaling
factors, schedules, tokenizers). The configs are written once per architecture under the
session's config folder and handed to the SDXL pack's loader (``from_single_file(config=…)``) or
the video pack's SVD loader. Families: SD 1.x, SDXL base, SDXL refiner, SVD / SVD-XT.

Architectures narrower than any released model (widths under 320) are the packs' tiny demos;
their head counts are the demos' (``DEMO_*`` below), since no weight shape shows them.
Importing this module does not import torch.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from nodegraph.files.demo_build import build_once

UNET = "model.diffusion_model."
VAE = "first_stage_model."
CLIP_L = {"sd1": "cond_stage_model.transformer.text_model.", "sdxl": "conditioner.embedders.0.transformer.text_model."}
OPEN_CLIP = {"sdxl": "conditioner.embedders.1.model.", "sdxl_refiner": "conditioner.embedders.0.model."}
VISION = "conditioner.embedders.0.open_clip.model.visual."
CONFIG_VERSION = 1  # bump when what is written changes: new folder names

# Facts no tensor shape shows, per family (the released models').
HEAD_SIZE = {"sdxl": 64, "sdxl_refiner": 64, "svd": 64}  # UNet attention: channels per head
SD1_HEADS = 8  # SD 1.x: 8 heads at every level
TEXT_HEAD_SIZE = 64  # CLIP-L (768 / 12) and OpenCLIP-bigG (1280 / 20)
VISION_HEAD_SIZE = 80  # OpenCLIP ViT-H/14 (1280 / 16)
VAE_SCALING = {"sd1": 0.18215, "sdxl": 0.13025, "sdxl_refiner": 0.13025, "svd": 0.18215}
SAMPLE_SIZE = {"sd1": 64, "sdxl": 128, "sdxl_refiner": 128, "svd": 96}
TIME_IDS = {"sdxl": 6, "sdxl_refiner": 5, "svd": 3}  # numbers in the text-time / added-time embedding
PIPELINES = {"sd1": "StableDiffusionPipeline", "sdxl": "StableDiffusionXLPipeline",
             "sdxl_refiner": "StableDiffusionXLImg2ImgPipeline", "svd": "StableVideoDiffusionPipeline"}
IMAGE_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
                   "beta_end": 0.012, "beta_schedule": "scaled_linear", "prediction_type": "epsilon",
                   "timestep_spacing": "leading", "steps_offset": 1, "interpolation_type": "linear",
                   "use_karras_sigmas": False}
SVD_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                 "beta_end": 0.012, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
                 "interpolation_type": "linear", "sigma_max": 700.0, "sigma_min": 0.002, "timestep_type": "continuous",
                 "use_karras_sigmas": True, "timestep_spacing": "leading", "steps_offset": 1}
CLIP_IMAGE_PROCESSOR = {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
                        "do_normalize": True, "do_rescale": True, "do_resize": True,
                        "image_mean": [0.48145466, 0.4578275, 0.40821073],
                        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
                        "rescale_factor": 1 / 255, "size": {"shortest_edge": 224}}
# The tiny demos (nodegraph_nodes.sdxl/video/comfy demo folders): 16 channels per UNet head,
# 4 heads per text/vision encoder, quick_gelu in the vision tower.
DEMO_WIDTH = 320
DEMO_HEAD_SIZE = 16
DEMO_ENCODER_HEADS = 4
REAL_VOCAB = 49408  # CLIP's BPE vocabulary (SD 1.x, SDXL, OpenCLIP)
DEMO_VOCAB = Path(__file__).resolve().parents[1] / "sdxl" / "demo" / "tiny_sdxl"  # the demos' 573-token vocabulary


class UnknownArchitecture(ValueError):
    """The file is not a checkpoint of a family this pack builds configs for (a message for users)."""


def read_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    from nodegraph_nodes.video.single_file import SingleFileError, read_header
    try:
        return {k: shape for k, (_, shape) in read_header(Path(path)).items()}
    except SingleFileError as exc:
        raise UnknownArchitecture(str(exc)) from None


def recognise(shapes: dict[str, tuple[int, ...]]) -> str:
    """The family of a Stability-layout checkpoint: "sd1", "sdxl", "sdxl_refiner" or "svd"."""
    keys = list(shapes)
    if not any(k.startswith(UNET) for k in keys):
        if any("lora" in k for k in keys):
            raise UnknownArchitecture("is a LoRA, not a checkpoint (load it with LoraLoader)")
        if any(k.startswith(("encoder.", "decoder.")) for k in keys):
            raise UnknownArchitecture("is a VAE, not a checkpoint (load it with VAELoader)")
        raise UnknownArchitecture(f"holds no diffusion model (no {UNET}* tensors among its {len(keys)})")
    if any(k.startswith(UNET) and ".time_stack." in k for k in keys):
        return "svd"
    if any(k.startswith(OPEN_CLIP["sdxl"]) for k in keys):
        return "sdxl"
    if any(k.startswith(OPEN_CLIP["sdxl_refiner"]) for k in keys):
        return "sdxl_refiner"
    if any(k.startswith(CLIP_L["sd1"]) for k in keys):
        return "sd1"
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        raise UnknownArchitecture("is a Stable Diffusion 2.x checkpoint (OpenCLIP-H text encoder): not supported "
                                  "(families: SD 1.x, SDXL base and refiner, SVD)")
    raise UnknownArchitecture("is a diffusion model of an unsupported family (families: SD 1.x, SDXL base and "
                              "refiner, SVD); no text or image encoder this pack knows")


# --- sizes from shapes ---------------------------------------------------------------------------
def _count(shapes, pattern: str) -> int:
    found = {int(m.group(1)) for k in shapes if (m := re.match(pattern, k))}
    return max(found) + 1 if found else 0


def _groups(channels) -> int:
    """GroupNorm groups: 32 for every released model; the largest power of two up to 32 dividing
    every width (the demos' narrow VAEs use 8)."""
    for groups in (32, 16, 8, 4, 2, 1):
        if groups <= min(channels) and all(c % groups == 0 for c in channels):
            return groups
    return 1


def _levels(shapes, prefix: str = UNET) -> list[list[int]]:
    """The input blocks of each UNet level (resnets, without the downsampler)."""
    levels, current, index = [], [], 1
    while any(k.startswith(f"{prefix}input_blocks.{index}.") for k in shapes):
        if f"{prefix}input_blocks.{index}.0.op.weight" in shapes:
            levels.append(current)
            current = []
        else:
            current.append(index)
        index += 1
    levels.append(current)
    return levels


def _heads(channels: int, family: str) -> int:
    if channels < DEMO_WIDTH:
        return max(1, channels // DEMO_HEAD_SIZE)
    if family == "sd1":
        return SD1_HEADS
    return channels // HEAD_SIZE[family]


def unet_config(shapes, family: str) -> dict[str, Any]:
    levels = _levels(shapes)
    resnet = "0.out_layers.3.weight"
    channels = [shapes[f"{UNET}input_blocks.{level[0]}.{resnet}"][0] for level in levels]
    attention = [f"{UNET}input_blocks.{level[0]}.1.proj_in.weight" in shapes for level in levels]
    depth = [max(1, _count(shapes, rf"{re.escape(UNET)}input_blocks\.{level[0]}\.1\.transformer_blocks\.(\d+)\."))
             for level in levels]
    to_k = next(k for k in shapes if k.startswith(UNET) and k.endswith("attn2.to_k.weight"))
    conv_in = shapes[f"{UNET}input_blocks.0.0.weight"]
    video = family == "svd"
    down = [("CrossAttnDownBlockSpatioTemporal" if a else "DownBlockSpatioTemporal") if video
            else ("CrossAttnDownBlock2D" if a else "DownBlock2D") for a in attention]
    up = [d.replace("Down", "Up") for d in reversed(down)]
    heads = [_heads(c, family) for c in channels]
    config: dict[str, Any] = {
        "_class_name": "UNetSpatioTemporalConditionModel" if video else "UNet2DConditionModel",
        "sample_size": SAMPLE_SIZE[family], "in_channels": conv_in[1],
        "out_channels": shapes[f"{UNET}out.2.weight"][0], "layers_per_block": len(levels[0]),
        "block_out_channels": channels, "down_block_types": down, "up_block_types": up,
        "transformer_layers_per_block": depth, "cross_attention_dim": shapes[to_k][1],
    }
    label = shapes.get(f"{UNET}label_emb.0.0.weight")
    if video:
        config["num_attention_heads"] = heads
        config["addition_time_embed_dim"] = label[1] // TIME_IDS["svd"]
        config["projection_class_embeddings_input_dim"] = label[1]
        config["num_frames"] = 14
        return config
    config["attention_head_dim"] = heads  # diffusers' name for the number of heads
    config["use_linear_projection"] = len(shapes[f"{UNET}input_blocks.{levels[[i for i, a in enumerate(attention) if a][0]][0]}.1.proj_in.weight"]) == 2
    config["norm_num_groups"] = _groups(channels)
    if label is not None:
        pooled = shapes[OPEN_CLIP[family] + "text_projection"][1]
        config.update(addition_embed_type="text_time", projection_class_embeddings_input_dim=label[1],
                      addition_time_embed_dim=(label[1] - pooled) // TIME_IDS[family])
    return config


def vae_config(shapes, family: str) -> dict[str, Any]:
    blocks = _count(shapes, rf"{re.escape(VAE)}encoder\.down\.(\d+)\.")
    channels = [shapes[f"{VAE}encoder.down.{i}.block.0.conv1.weight"][0] for i in range(blocks)]
    video = family == "svd"
    config = {"_class_name": "AutoencoderKLTemporalDecoder" if video else "AutoencoderKL",
              "in_channels": shapes[f"{VAE}encoder.conv_in.weight"][1],
              "out_channels": shapes[f"{VAE}decoder.conv_out.weight"][0],
              "down_block_types": ["DownEncoderBlock2D"] * blocks, "block_out_channels": channels,
              "layers_per_block": _count(shapes, rf"{re.escape(VAE)}encoder\.down\.0\.block\.(\d+)\."),
              "latent_channels": shapes[f"{VAE}encoder.conv_out.weight"][0] // 2,
              "sample_size": SAMPLE_SIZE[family] * 8, "scaling_factor": VAE_SCALING[family],
              # fp16 decodes in fp32: SVD's temporal VAE always (its released config and demo
              # say so), SDXL's at real size (the narrow demos' configs say no)
              "force_upcast": video or (family != "sd1" and min(channels) >= DEMO_WIDTH // 4)}
    if not video:
        config["up_block_types"] = ["UpDecoderBlock2D"] * blocks
        config["norm_num_groups"] = _groups(channels)
    return config


def _tokens(vocab: int) -> dict[str, int]:
    if vocab == REAL_VOCAB:  # openai/clip-vit-large-patch14's text config (pooling at the largest id: the end token)
        return {"bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}
    return {"bos_token_id": vocab - 2, "eos_token_id": vocab - 1, "pad_token_id": vocab - 1}


def _encoder_heads(hidden: int, head_size: int) -> int:
    return DEMO_ENCODER_HEADS if hidden < DEMO_WIDTH else hidden // head_size


def clip_l_config(shapes, prefix: str) -> dict[str, Any]:
    vocab, hidden = shapes[prefix + "embeddings.token_embedding.weight"]
    return {"vocab_size": vocab, "hidden_size": hidden,
            "intermediate_size": shapes[prefix + "encoder.layers.0.mlp.fc1.weight"][0],
            "num_hidden_layers": _count(shapes, rf"{re.escape(prefix)}encoder\.layers\.(\d+)\."),
            "num_attention_heads": _encoder_heads(hidden, TEXT_HEAD_SIZE),
            "max_position_embeddings": shapes[prefix + "embeddings.position_embedding.weight"][0],
            "hidden_act": "quick_gelu", **_tokens(vocab)}


def open_clip_config(shapes, prefix: str) -> dict[str, Any]:
    vocab, hidden = shapes[prefix + "token_embedding.weight"]
    return {"vocab_size": vocab, "hidden_size": hidden,
            "intermediate_size": shapes[prefix + "transformer.resblocks.0.mlp.c_fc.weight"][0],
            "projection_dim": shapes[prefix + "text_projection"][1],
            "num_hidden_layers": _count(shapes, rf"{re.escape(prefix)}transformer\.resblocks\.(\d+)\."),
            "num_attention_heads": _encoder_heads(hidden, TEXT_HEAD_SIZE),
            "max_position_embeddings": shapes[prefix + "positional_embedding"][0], "hidden_act": "gelu",
            **_tokens(vocab)}


def vision_config(shapes) -> dict[str, Any]:
    hidden, _, patch, _ = shapes[VISION + "conv1.weight"]
    positions = shapes[VISION + "positional_embedding"][0]
    demo = hidden < DEMO_WIDTH
    return {"hidden_size": hidden, "projection_dim": shapes[VISION + "proj"][1],
            "num_hidden_layers": _count(shapes, rf"{re.escape(VISION)}transformer\.resblocks\.(\d+)\."),
            "num_attention_heads": _encoder_heads(hidden, VISION_HEAD_SIZE),
            "intermediate_size": shapes[VISION + "transformer.resblocks.0.mlp.c_fc.weight"][0],
            "image_size": patch * round((positions - 1) ** 0.5), "patch_size": patch, "num_channels": 3,
            "hidden_act": "quick_gelu" if demo else "gelu", "layer_norm_eps": 1e-5}


def architecture(shapes) -> dict[str, Any]:
    """Everything the configs need: the family and each component's config."""
    family = recognise(shapes)
    try:
        arch: dict[str, Any] = {"family": family, "unet": unet_config(shapes, family)}
        if any(k.startswith(VAE) for k in shapes):
            arch["vae"] = vae_config(shapes, family)
        if family == "svd":
            arch["image_encoder"] = vision_config(shapes)
        if family in CLIP_L:
            arch["text_encoder"] = clip_l_config(shapes, CLIP_L[family])
        if family in OPEN_CLIP:
            arch["text_encoder_2"] = open_clip_config(shapes, OPEN_CLIP[family])
    except (KeyError, StopIteration, IndexError, TypeError) as exc:
        raise UnknownArchitecture(f"looks like a {family} checkpoint but lacks tensors its layout has "
                                  f"({exc}); is the file complete?") from None
    missing = [c for c in ("vae",) + (("image_encoder",) if family == "svd" else ()) if c not in arch]
    if missing:
        raise UnknownArchitecture(f"has no {' or '.join(missing)} weights ({VAE}*): a checkpoint without them "
                                  "needs a config folder")
    return arch


# --- the config folder ------------------------------------------------------------------------
def config_folder(path: Path, root: Path) -> tuple[str, Path]:
    """(family, a diffusers config folder for single file ``path``), written under ``root`` once
    per architecture. Raises UnknownArchitecture with a message for users."""
    arch = architecture(read_shapes(path))
    text = json.dumps(arch, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(root) / f"{arch['family']}-v{CONFIG_VERSION}-{digest}"
    tokenizer = _tokenizer_source(arch)  # before building: a missing vocabulary is the user's to fix
    return arch["family"], build_once(folder, lambda target: _write(arch, tokenizer, target))


def tokenizer_places() -> list[Path]:
    """Where CLIP's BPE vocabulary (vocab.json + merges.txt) is looked for, for real-size text encoders."""
    import os
    places = [Path(p) for p in os.environ.get("NODEGRAPH_CLIP_TOKENIZER", "").split(os.pathsep) if p]
    hub = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    places += sorted(hub.glob("models--openai--clip-vit-large-patch14/snapshots/*"))
    places += sorted(hub.glob("models--stabilityai--stable-diffusion-xl-base-1.0/snapshots/*/tokenizer"))
    return places


def _tokenizer_source(arch) -> Path | None:
    encoders = [arch[c] for c in ("text_encoder", "text_encoder_2") if c in arch]
    if not encoders:
        return None
    vocab = encoders[0]["vocab_size"]
    if vocab != REAL_VOCAB:
        if vocab != 573:
            raise UnknownArchitecture(f"has a text encoder with a {vocab}-token vocabulary; known: CLIP's "
                                      f"{REAL_VOCAB} and the demos' 573")
        return DEMO_VOCAB
    for place in tokenizer_places():
        if (place / "vocab.json").is_file() and (place / "merges.txt").is_file():
            return place
    raise UnknownArchitecture(
        "needs CLIP's tokenizer vocabulary (vocab.json + merges.txt), which no weight file carries; "
        "get it once with `hf download openai/clip-vit-large-patch14 vocab.json merges.txt` (or name a "
        "folder holding both in NODEGRAPH_CLIP_TOKENIZER); looked in: "
        + (", ".join(str(p) for p in tokenizer_places()) or "the Hugging Face cache"))


def _dump(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _write(arch: dict, tokenizer: Path | None, folder: Path) -> None:
    from diffusers import __version__ as diffusers_version
    family = arch["family"]
    index: dict[str, Any] = {"_class_name": PIPELINES[family], "_diffusers_version": diffusers_version,
                             "unet": ["diffusers", arch["unet"]["_class_name"]],
                             "vae": ["diffusers", arch["vae"]["_class_name"]],
                             "scheduler": ["diffusers", "EulerDiscreteScheduler"]}
    _dump(folder / "unet" / "config.json", arch["unet"])
    _dump(folder / "vae" / "config.json", arch["vae"])
    if family == "svd":
        index.update(image_encoder=["transformers", "CLIPVisionModelWithProjection"],
                     feature_extractor=["transformers", "CLIPImageProcessor"])
        _dump(folder / "scheduler" / "scheduler_config.json", SVD_SCHEDULER)
        from transformers import CLIPImageProcessor, CLIPVisionConfig
        CLIPVisionConfig(**arch["image_encoder"]).save_pretrained(folder / "image_encoder")
        CLIPImageProcessor(**CLIP_IMAGE_PROCESSOR).save_pretrained(folder / "feature_extractor")
        _dump(folder / "model_index.json", index)
        return
    _dump(folder / "scheduler" / "scheduler_config.json", IMAGE_SCHEDULER)
    from transformers import CLIPTextConfig, CLIPTokenizer
    vocab, merges = str(tokenizer / "vocab.json"), str(tokenizer / "merges.txt")
    if "text_encoder" in arch:
        index.update(text_encoder=["transformers", "CLIPTextModel"], tokenizer=["transformers", "CLIPTokenizer"])
        CLIPTextConfig(**arch["text_encoder"]).save_pretrained(folder / "text_encoder")
        CLIPTokenizer(vocab, merges, model_max_length=77).save_pretrained(folder / "tokenizer")
    else:
        index.update(text_encoder=[None, None], tokenizer=[None, None])
    if "text_encoder_2" in arch:
        index.update(text_encoder_2=["transformers", "CLIPTextModelWithProjection"],
                     tokenizer_2=["transformers", "CLIPTokenizer"])
        config = CLIPTextConfig(**arch["text_encoder_2"])
        config.architectures = ["CLIPTextModelWithProjection"]
        config.save_pretrained(folder / "text_encoder_2")
        CLIPTokenizer(vocab, merges, pad_token="!", model_max_length=77).save_pretrained(folder / "tokenizer_2")
    if family == "sd1":
        index.update(safety_checker=[None, None], feature_extractor=[None, None], requires_safety_checker=False)
    elif family == "sdxl":
        index["force_zeros_for_empty_prompt"] = True
    else:
        index.update(requires_aesthetics_score=True, force_zeros_for_empty_prompt=False)
    _dump(folder / "model_index.json", index)


# --- a VAE file alone (VAELoader) ---------------------------------------------------------------
def vae_file_config(shapes) -> dict[str, Any]:
    """The AutoencoderKL config of a VAE file (LDM keys, bare or under ``first_stage_model.``).
    No scaling factor matters here: latents on the edges are raw, the sampler scales them."""
    if not any(k.startswith(VAE) for k in shapes):
        shapes = {VAE + k: v for k, v in shapes.items()}
    if f"{VAE}encoder.conv_in.weight" not in shapes:
        if any(k.startswith(VAE + "encoder.down_blocks.") for k in shapes):
            raise UnknownArchitecture("is a VAE in diffusers' key layout: load its diffusers folder (config.json "
                                      "beside the weights)")
        raise UnknownArchitecture("is not a VAE (no encoder.conv_in weights)")
    try:
        config = vae_config(shapes, "sd1")
    except (KeyError, IndexError, TypeError) as exc:
        raise UnknownArchitecture(f"looks like a VAE but lacks tensors of the LDM layout ({exc})") from None
    if any(".time_stack." in k or "time_mix" in k for k in shapes):
        raise UnknownArchitecture("is a video (temporal) VAE: ImageOnlyCheckpointLoader loads SVD's own")
    config.pop("scaling_factor")
    return config


def vae_config_folder(path: Path, root: Path) -> Path:
    config = vae_file_config(read_shapes(path))
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(root) / f"vae-v{CONFIG_VERSION}-{digest}"
    return build_once(folder, lambda target: _dump(target / "config.json", config))
