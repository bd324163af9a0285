"""Pipelines → one .safetensors file in Stability's key layout, for SD 1.x and the SDXL refiner
(the SDXL pack's ``checkpoint.pipeline_to_ldm`` writes SDXL base; the converters are its own,
re-prefixed: SD 1.x keeps CLIP-L under ``cond_stage_model.transformer.``, the refiner keeps
OpenCLIP-bigG alone under ``conditioner.embedders.0.model.``). Used to make single-file demos
and by tests of loading without a config folder; ``vae_to_single_file`` writes a VAE alone as
ComfyUI's ``models/vae/`` holds one (``vae-ft-mse-840000-ema-pruned.safetensors``: the LDM keys
with no prefix). Importing this module does not import torch.
"""
from __future__ import annotations

from nodegraph_nodes.sdxl import checkpoint as sgm


def pipeline_to_single_file(pipe, family: str) -> dict:
    """All weights of a diffusers pipeline of ``family`` as one Stability-layout state dict (CPU)."""
    if family == "sdxl":
        return sgm.pipeline_to_ldm(pipe)

    def sd(module) -> dict:
        return {k: v.detach() for k, v in module.state_dict().items()}

    out = {}
    out.update(sgm.unet_to_ldm(sd(pipe.unet), pipe.unet.config.layers_per_block))
    out.update(sgm.vae_to_ldm(sd(pipe.vae), len(pipe.vae.config.down_block_types)))
    if family == "sd1":
        for key, tensor in sgm.clip_l_to_ldm(sd(pipe.text_encoder)).items():
            out["cond_stage_model.transformer." + key[len(sgm.CLIP_L_PREFIX):]] = tensor
    elif family == "sdxl_refiner":
        for key, tensor in sgm.open_clip_to_ldm(sd(pipe.text_encoder_2)).items():
            out["conditioner.embedders.0.model." + key[len(sgm.OPEN_CLIP_PREFIX):]] = tensor
    else:
        raise ValueError(f"no single-file layout for family {family!r} here")
    return {k: v.to("cpu").contiguous().clone() for k, v in out.items()}


def vae_to_single_file(vae) -> dict:
    """A diffusers AutoencoderKL's weights as a stand-alone VAE file's state dict: LDM key names
    (``encoder.down.0.block.0.conv1.weight``, ``mid.attn_1.q`` as 1x1 convs) without the
    checkpoint's ``first_stage_model.`` prefix (CPU)."""
    state = {k: v.detach() for k, v in vae.state_dict().items()}
    prefix = sgm.VAE_PREFIX
    return {k[len(prefix):]: v.to("cpu").contiguous().clone()
            for k, v in sgm.vae_to_ldm(state, len(vae.config.down_block_types)).items()}
