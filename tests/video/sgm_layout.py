"""Test helper: diffusers SVD weights → Stability's SGM single-file layout (the inverse of
nodes/video/single_file.py, written separately as rewrite rules so the two cannot share a
mistake; tests/video/test_single_file.py pins real SGM key names on top).

Works on tensors or on shapes (``to_sgm(..., shapes=True)``), so the real SVD-XT key list can be
produced from meta-device modules without weights.
"""
from __future__ import annotations

import re

RESNET_PARTS = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
                ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]
# What a Stability file also holds that SVD inference does not use (kept out of diffusers).
EXTRA_OPEN_CLIP = {"conditioner.embedders.0.open_clip.model.logit_scale": (),
                   "conditioner.embedders.0.open_clip.model.token_embedding.weight": (8, 4)}


def _unet(key: str, per: int, lpb: int, up_attention: set[int]) -> str:
    rules = [
        (r"^conv_in\.", lambda m: "input_blocks.0.0."),
        (r"^time_embedding\.linear_([12])\.", lambda m: f"time_embed.{0 if m[1] == '1' else 2}."),
        (r"^add_embedding\.linear_([12])\.", lambda m: f"label_emb.0.{0 if m[1] == '1' else 2}."),
        (r"^conv_norm_out\.", lambda m: "out.0."),
        (r"^conv_out\.", lambda m: "out.2."),
        (r"^down_blocks\.(\d+)\.resnets\.(\d+)\.", lambda m: f"input_blocks.{1 + int(m[1]) * per + int(m[2])}.0.R."),
        (r"^down_blocks\.(\d+)\.attentions\.(\d+)\.", lambda m: f"input_blocks.{1 + int(m[1]) * per + int(m[2])}.1.A."),
        (r"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.", lambda m: f"input_blocks.{1 + int(m[1]) * per + lpb}.0.op."),
        (r"^mid_block\.resnets\.(\d+)\.", lambda m: f"middle_block.{2 * int(m[1])}.R."),
        (r"^mid_block\.attentions\.0\.", lambda m: "middle_block.1.A."),
        (r"^up_blocks\.(\d+)\.resnets\.(\d+)\.", lambda m: f"output_blocks.{int(m[1]) * per + int(m[2])}.0.R."),
        (r"^up_blocks\.(\d+)\.attentions\.(\d+)\.", lambda m: f"output_blocks.{int(m[1]) * per + int(m[2])}.1.A."),
        (r"^up_blocks\.(\d+)\.upsamplers\.0\.",
         lambda m: f"output_blocks.{int(m[1]) * per + lpb}.{2 if int(m[1]) in up_attention else 1}."),
    ]
    for pattern, repl in rules:
        new, n = re.subn(pattern, repl, key)
        if n:
            break
    else:
        raise KeyError(key)
    if ".R." in new:  # a VideoResBlock
        new = new.replace(".R.spatial_res_block.", ".").replace(".R.temporal_res_block.", ".time_stack.")
        new = new.replace(".R.time_mixer.", ".time_mixer.")
        for diffusers, sgm in RESNET_PARTS:
            new = re.sub(rf"\.{diffusers}\.(weight|bias)$", rf".{sgm}.\1", new)
    if ".A." in new:  # a SpatialVideoTransformer
        new = new.replace(".A.temporal_transformer_blocks.", ".time_stack.").replace(".A.", ".")
        new = new.replace(".time_pos_embed.linear_1.", ".time_pos_embed.0.")
        new = new.replace(".time_pos_embed.linear_2.", ".time_pos_embed.2.")
    return "model.diffusion_model." + new


def _vae(key: str, blocks: int) -> str:
    new = key
    new = re.sub(r"^decoder\.up_blocks\.(\d+)\.", lambda m: f"decoder.up.{blocks - 1 - int(m[1])}.", new)
    new = re.sub(r"^encoder\.down_blocks\.(\d+)\.", lambda m: f"encoder.down.{m[1]}.", new)
    new = re.sub(r"\.resnets\.(\d+)\.", lambda m: f".block.{m[1]}.", new)
    new = re.sub(r"\.mid_block\.block\.(\d+)\.", lambda m: f".mid.block_{int(m[1]) + 1}.", new)
    new = new.replace(".mid_block.attentions.0.", ".mid.attn_1.")
    new = new.replace(".downsamplers.0.", ".downsample.").replace(".upsamplers.0.", ".upsample.")
    new = new.replace(".spatial_res_block.", ".").replace(".time_mixer.mix_factor", ".mix_factor")
    new = re.sub(r"\.temporal_res_block\.(\w+)\.", lambda m: ".time_stack." + dict(RESNET_PARTS)[m[1]] + ".", new)
    new = new.replace(".conv_shortcut.", ".nin_shortcut.")
    for diffusers, sgm in (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")):
        new = new.replace(f".attn_1.{diffusers}.", f".attn_1.{sgm}.")
    new = new.replace("encoder.conv_norm_out.", "encoder.norm_out.").replace("decoder.conv_norm_out.", "decoder.norm_out.")
    new = new.replace("decoder.time_conv_out.", "decoder.conv_out.time_mix_conv.")
    return "first_stage_model." + new


def _clip(key: str) -> tuple[str, str | None]:
    fixed = {"vision_model.embeddings.class_embedding": "class_embedding",
             "vision_model.embeddings.patch_embedding.weight": "conv1.weight",
             "vision_model.embeddings.position_embedding.weight": "positional_embedding",
             "vision_model.pre_layrnorm.weight": "ln_pre.weight", "vision_model.pre_layrnorm.bias": "ln_pre.bias",
             "vision_model.post_layernorm.weight": "ln_post.weight",
             "vision_model.post_layernorm.bias": "ln_post.bias", "visual_projection.weight": "proj"}
    if key in fixed:
        return fixed[key], "T" if key == "visual_projection.weight" else None
    m = re.fullmatch(r"vision_model\.encoder\.layers\.(\d+)\.(.+)", key)
    rest = (m[2].replace("self_attn.out_proj", "attn.out_proj").replace("layer_norm1", "ln_1")
            .replace("layer_norm2", "ln_2").replace("mlp.fc1", "mlp.c_fc").replace("mlp.fc2", "mlp.c_proj"))
    q = re.fullmatch(r"self_attn\.([qkv])_proj\.(weight|bias)", rest)
    if q:
        return f"transformer.resblocks.{m[1]}.attn.in_proj_{q[2]}", q[1]
    return f"transformer.resblocks.{m[1]}.{rest}", None


def to_sgm(unet: dict, vae: dict | None, image_encoder: dict | None, layers_per_block: int, vae_blocks: int,
           shapes: bool = False, extras: bool = True) -> dict:
    """One SGM-layout dict from the three diffusers state dicts (``shapes``: values are shapes)."""
    per = layers_per_block + 1
    up_attention = {int(m[1]) for k in unet if (m := re.match(r"up_blocks\.(\d+)\.attentions\.", k))}
    out = {_unet(k, per, layers_per_block, up_attention): v for k, v in unet.items()}
    for key, value in (vae or {}).items():
        name = _vae(key, vae_blocks)
        if re.search(r"\.attn_1\.(q|k|v|proj_out)\.weight$", name):  # linear -> 1x1 conv, as SGM stores it
            value = (*value, 1, 1) if shapes else value[:, :, None, None]
        out[name] = value
    if image_encoder is not None:
        prefix = "conditioner.embedders.0.open_clip.model.visual."
        fused: dict[str, dict] = {}
        for key, value in image_encoder.items():
            name, how = _clip(key)
            if how in ("q", "k", "v"):
                fused.setdefault(prefix + name, {})[how] = value
            elif how == "T":
                out[prefix + name] = tuple(reversed(value)) if shapes else value.t().contiguous()
            else:
                out[prefix + name] = value
        for name, parts in fused.items():
            if shapes:
                out[name] = (3 * parts["q"][0], *parts["q"][1:])
            else:
                import torch
                out[name] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
        if extras:
            import torch
            for name, shape in EXTRA_OPEN_CLIP.items():
                out[name] = shape if shapes else torch.zeros(shape)
    return out
