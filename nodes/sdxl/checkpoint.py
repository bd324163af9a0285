"""SaveCheckpoint: write a model handle's weights as ONE .safetensors file in the original
Stability (LDM/SGM) key layout, the format A1111, ComfyUI and ``from_single_file`` read.

diffusers ships only the opposite direction as a library function
(``diffusers.loaders.single_file_utils``: ``convert_ldm_unet_checkpoint``,
``convert_ldm_vae_checkpoint``, ``convert_ldm_clip_checkpoint``, ``convert_open_clip_checkpoint``).
The converters here are written by hand as the exact inverse of those, so that
``from_single_file(saved, config=folder)`` gives back the same tensors bit for bit:

- UNet → ``model.diffusion_model.*`` (``input_blocks`` / ``middle_block`` / ``output_blocks``,
  resnets as ``in_layers`` / ``out_layers`` / ``emb_layers`` / ``skip_connection``, ``label_emb``
  for SDXL's text-time embedding);
- VAE → ``first_stage_model.*`` (``down.N.block.M``, ``up`` blocks in reverse order, ``mid.attn_1``
  with 1×1-conv q/k/v/proj_out, ``nin_shortcut``);
- CLIP-L → ``conditioner.embedders.0.transformer.text_model.*`` (the HF layout, unchanged);
- OpenCLIP-bigG → ``conditioner.embedders.1.model.*`` (``transformer.resblocks.N``, fused
  ``attn.in_proj_weight`` = [q; k; v], ``ln_1``/``ln_2``, ``mlp.c_fc``/``c_proj``,
  ``text_projection`` transposed, ``positional_embedding``, ``token_embedding``, ``ln_final``).

Importing this module does not import torch.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nodegraph import Node, NodeError, Socket, Widget, node
from nodegraph.files.roots import canonicalise_safetensors_header
from .model_manager import SERVICE_NAME, ModelHandle, ModelManager

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_L_PREFIX = "conditioner.embedders.0.transformer."
OPEN_CLIP_PREFIX = "conditioner.embedders.1.model."
MODELSPEC_ARCHITECTURE = "stable-diffusion-xl-v1-base"

_UNET_FIXED = {
    "time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
}
_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
                "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}
_VAE_FIXED = {
    "encoder.conv_in": "encoder.conv_in", "encoder.conv_out": "encoder.conv_out",
    "encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_in": "decoder.conv_in",
    "decoder.conv_out": "decoder.conv_out", "decoder.conv_norm_out": "decoder.norm_out",
    "quant_conv": "quant_conv", "post_quant_conv": "post_quant_conv",
}
_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
_OPEN_CLIP_LAYER = {"self_attn.out_proj": "attn.out_proj", "layer_norm1": "ln_1", "layer_norm2": "ln_2",
                    "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}


def _split(key: str) -> tuple[str, str]:
    """'a.b.weight' -> ('a.b', 'weight')."""
    module, _, param = key.rpartition(".")
    return module, param


def unet_to_ldm(state: dict, layers_per_block: int) -> dict:
    """Diffusers UNet2DConditionModel state dict -> SGM ``model.diffusion_model.*`` keys."""
    if not isinstance(layers_per_block, int):
        raise ValueError("only UNets with one layers_per_block for all blocks are supported")
    per = layers_per_block + 1
    up_with_attention = {int(m.group(1)) for k in state if (m := re.match(r"up_blocks\.(\d+)\.attentions\.", k))}
    out = {}
    for key, tensor in state.items():
        module, param = _split(key)
        new = None
        if module in _UNET_FIXED:
            new = _UNET_FIXED[module]
        elif m := re.fullmatch(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)", module):
            b, l, part = int(m.group(1)), int(m.group(2)), m.group(3)
            new = f"input_blocks.{1 + b * per + l}.0.{_UNET_RESNET[part]}"
        elif m := re.fullmatch(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", module):
            b, l = int(m.group(1)), int(m.group(2))
            new = f"input_blocks.{1 + b * per + l}.1.{m.group(3)}"
        elif m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv", module):
            new = f"input_blocks.{1 + int(m.group(1)) * per + layers_per_block}.0.op"
        elif m := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(\w+)", module):
            new = f"middle_block.{2 * int(m.group(1))}.{_UNET_RESNET[m.group(2)]}"
        elif m := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", module):
            new = f"middle_block.1.{m.group(1)}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)", module):
            b, l, part = int(m.group(1)), int(m.group(2)), m.group(3)
            new = f"output_blocks.{b * per + l}.0.{_UNET_RESNET[part]}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", module):
            b, l = int(m.group(1)), int(m.group(2))
            new = f"output_blocks.{b * per + l}.1.{m.group(3)}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv", module):
            b = int(m.group(1))
            new = f"output_blocks.{b * per + layers_per_block}.{2 if b in up_with_attention else 1}.conv"
        if new is None:
            raise ValueError(f"UNet key {key!r} has no SGM equivalent")
        out[f"{UNET_PREFIX}{new}.{param}"] = tensor
    return out


def vae_to_ldm(state: dict, num_blocks: int) -> dict:
    """Diffusers AutoencoderKL state dict -> ``first_stage_model.*`` keys (decoder blocks reversed)."""
    out = {}
    for key, tensor in state.items():
        module, param = _split(key)
        new = None
        if module in _VAE_FIXED:
            new = _VAE_FIXED[module]
        elif m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)", module):
            new = f"encoder.down.{m.group(1)}.block.{m.group(2)}.{_vae_resnet(m.group(3))}"
        elif m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv", module):
            new = f"encoder.down.{m.group(1)}.downsample.conv"
        elif m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)", module):
            new = f"decoder.up.{num_blocks - 1 - int(m.group(1))}.block.{m.group(2)}.{_vae_resnet(m.group(3))}"
        elif m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv", module):
            new = f"decoder.up.{num_blocks - 1 - int(m.group(1))}.upsample.conv"
        elif m := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(\w+)", module):
            new = f"{m.group(1)}.mid.block_{int(m.group(2)) + 1}.{_vae_resnet(m.group(3))}"
        elif m := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)", module):
            new = f"{m.group(1)}.mid.attn_1.{_VAE_ATTN[m.group(2)]}"
            if param == "weight" and tensor.dim() == 2:  # linear -> 1x1 conv, as the LDM VAE stores it
                tensor = tensor[:, :, None, None]
        if new is None:
            raise ValueError(f"VAE key {key!r} has no LDM equivalent")
        out[f"{VAE_PREFIX}{new}.{param}"] = tensor
    return out


def _vae_resnet(part: str) -> str:
    return "nin_shortcut" if part == "conv_shortcut" else part


def clip_l_to_ldm(state: dict) -> dict:
    """CLIPTextModel state dict -> ``conditioner.embedders.0.transformer.text_model.*`` (HF layout)."""
    out = {}
    for key, tensor in state.items():
        if key.endswith("position_ids"):
            continue
        key = key if key.startswith("text_model.") else "text_model." + key
        out[CLIP_L_PREFIX + key] = tensor
    return out


def open_clip_to_ldm(state: dict) -> dict:
    """CLIPTextModelWithProjection state dict -> OpenCLIP ``conditioner.embedders.1.model.*`` keys."""
    state = {(k if k.startswith(("text_model.", "text_projection")) else "text_model." + k): v
             for k, v in state.items() if not k.endswith("position_ids")}
    fixed = {"text_model.embeddings.position_embedding.weight": "positional_embedding",
             "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
             "text_model.final_layer_norm.weight": "ln_final.weight",
             "text_model.final_layer_norm.bias": "ln_final.bias"}
    out, qkv = {}, {}
    for key, tensor in state.items():
        if key in fixed:
            out[OPEN_CLIP_PREFIX + fixed[key]] = tensor
            continue
        if key == "text_projection.weight":  # nn.Linear [proj, hidden] -> OpenCLIP matrix [hidden, proj]
            out[OPEN_CLIP_PREFIX + "text_projection"] = tensor.t().contiguous()
            continue
        m = re.fullmatch(r"text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", key)
        if m is None:
            raise ValueError(f"text encoder 2 key {key!r} has no OpenCLIP equivalent")
        layer, module, param = m.groups()
        stem = f"{OPEN_CLIP_PREFIX}transformer.resblocks.{layer}."
        if q := re.fullmatch(r"self_attn\.([qkv])_proj", module):
            qkv.setdefault((stem, param), {})[q.group(1)] = tensor
        elif module in _OPEN_CLIP_LAYER:
            out[f"{stem}{_OPEN_CLIP_LAYER[module]}.{param}"] = tensor
        else:
            raise ValueError(f"text encoder 2 key {key!r} has no OpenCLIP equivalent")
    import torch
    for (stem, param), parts in qkv.items():
        out[f"{stem}attn.in_proj_{param}"] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    return out


def pipeline_to_ldm(pipe) -> dict:
    """All weights of an SDXL pipeline as one SGM-layout state dict (CPU, contiguous)."""
    def sd(module) -> dict:
        return {k: v.detach() for k, v in module.state_dict().items()}
    out = {}
    out.update(unet_to_ldm(sd(pipe.unet), pipe.unet.config.layers_per_block))
    out.update(vae_to_ldm(sd(pipe.vae), len(pipe.vae.config.down_block_types)))
    if getattr(pipe, "text_encoder", None) is not None:
        out.update(clip_l_to_ldm(sd(pipe.text_encoder)))
    out.update(open_clip_to_ldm(sd(pipe.text_encoder_2)))
    return {k: v.to("cpu").contiguous().clone() for k, v in out.items()}


@node("SaveCheckpoint", category="sdxl", output_node=True)
class SaveCheckpoint(Node):
    """Save the model as one .safetensors checkpoint (Stability/LDM key layout) in the output folder.

    LoRAs on the handle are merged into the weights first (a "baked" model for A1111, ComfyUI or
    LoadSDXL with a config folder). The file's metadata holds the workflow and node versions.
    Refuses to replace an existing file unless `overwrite` is on.
    """
    model: Any = Socket("MODEL")
    filename: str = Widget("checkpoint", description="file name in the output folder (.safetensors added)")
    overwrite: bool = Widget(False)

    @classmethod
    def check_inputs(cls, literals, env):
        name = literals.get("filename")  # absent when linked
        if name is not None and not Path(name).name.removesuffix(".safetensors"):
            return [("filename", "needs a file name")]
        return []

    def run(self, ctx):
        import torch
        from dataclasses import replace
        from safetensors.torch import save_file

        name = Path(self.filename).name
        path = ctx.env.output_dir / (name if name.endswith(".safetensors") else f"{name}.safetensors")
        if ctx.output_exists(path) and not self.overwrite:
            raise NodeError(f"{path} exists; turn on overwrite to replace it", input="overwrite")
        handle: ModelHandle = self.model
        # Fused, the LoRA deltas are in the base weights and the wrappers are set aside, so the
        # state dicts hold exactly the merged θ + Σ λ·τ under the plain module names.
        wanted = replace(handle, fuse=True) if handle.patches else handle
        manager = ctx.service(SERVICE_NAME, ModelManager)
        with torch.inference_mode(False), torch.no_grad(), manager.use(wanted) as pipe:
            tensors = pipeline_to_ldm(pipe)
        metadata = {"format": "pt", "modelspec.architecture": MODELSPEC_ARCHITECTURE,
                    "nodegraph.model": handle.describe()}
        if ctx.graph is not None:
            metadata["nodegraph.workflow"] = json.dumps(ctx.workflow, sort_keys=True)
            metadata["nodegraph.provenance"] = json.dumps(ctx.provenance(), sort_keys=True)
        def write(tmp):
            save_file(tensors, str(tmp), metadata=metadata)
            canonicalise_safetensors_header(tmp)  # the same model gives the same bytes
        ctx.write_files([(path, write)])  # whole or not at all; in a GPU server, behind the job
        ctx.ui["checkpoint"] = path.name
        return {}
