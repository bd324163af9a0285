"""Stability's single-file SVD checkpoints (``svd.safetensors``, ``svd_xt.safetensors``: the SGM
layout) loaded into diffusers' SVD modules, with the architectures from a local config folder.

Written by hand because no library does it offline: diffusers (0.42) has single-file loaders for
image models only, none for ``UNetSpatioTemporalConditionModel`` or
``AutoencoderKLTemporalDecoder``; its ``convert_svd_to_diffusers.py`` is a repository script (not
installed), reads the SGM yaml and leaves the image encoder out. ComfyUI runs the SGM modules
themselves. What is converted (SGM name ← diffusers name):

- ``model.diffusion_model.*`` (SGM ``VideoUNet``): ``input_blocks`` / ``middle_block`` /
  ``output_blocks``; each ``VideoResBlock`` is a spatial ResBlock (``in_layers`` / ``emb_layers``
  / ``out_layers`` / ``skip_connection`` ← ``spatial_res_block``), a ``time_stack`` ResBlock with
  3-D convs (← ``temporal_res_block``) and ``time_mixer.mix_factor``; each
  ``SpatialVideoTransformer`` keeps ``norm`` / ``proj_in`` / ``transformer_blocks`` / ``proj_out``
  and adds ``time_stack.N`` (← ``temporal_transformer_blocks.N``), ``time_pos_embed.0/.2``
  (← ``linear_1/2``) and ``time_mixer.mix_factor``; ``time_embed``, ``label_emb.0``, ``out``.
- ``first_stage_model.*``: the 2-D LDM encoder (``down.N.block.M``, ``mid.attn_1`` with 1×1-conv
  ``q/k/v/proj_out``, ``nin_shortcut``) and the temporal ``VideoDecoder`` (``up`` blocks in
  reverse order, each ``VideoResBlock`` with ``time_stack`` and a bare ``mix_factor``,
  ``conv_out.time_mix_conv`` ← ``time_conv_out``). SGM's video first stage has no
  ``quant_conv`` (diffusers' module does): absent from the file, it is set to the identity,
  which is what SGM computes.
- ``conditioner.embedders.0.open_clip.model.visual.*`` (OpenCLIP ViT-H/14): ``transformer.resblocks.N``
  with fused ``attn.in_proj_weight`` = [q; k; v] split into ``q/k/v_proj``, ``ln_1/ln_2``,
  ``mlp.c_fc/c_proj``, ``conv1``, ``class_embedding``, ``positional_embedding``,
  ``ln_pre/ln_post`` and ``proj`` transposed into ``visual_projection``.

Every diffusers parameter must be filled and every tensor of the file used or named in the
report (``Conversion.ignored``: the OpenCLIP text-tower leftovers, the conditioning-frame
embedder's copy of the VAE encoder); anything else is an error naming the keys. A file without
the VAE or the image encoder takes it from the config folder's weights when they are there.
Headers are read in pure Python (``read_header``), so validation imports no torch.
"""
from __future__ import annotations

import json
import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNET = "model.diffusion_model."
VAE = "first_stage_model."
CLIP = "conditioner.embedders.0.open_clip.model.visual."
COMPONENT_PREFIX = {"unet": UNET, "vae": VAE, "image_encoder": CLIP}
# Tensors a Stability file may hold that SVD inference does not use, and why.
IGNORED = (
    (re.compile(r"conditioner\.embedders\.0\.open_clip\.model\.(?!visual\.)"),
     "OpenCLIP text-tower leftovers (SVD conditions on the image only)"),
    (re.compile(r"conditioner\.embedders\.\d+\.encoder\."),
     "the conditioning-frame embedder's copy of the VAE encoder (diffusers encodes with the VAE)"),
)
MAX_HEADER = 100 << 20
log = logging.getLogger("nodegraph.video")


class SingleFileError(ValueError):
    """The file cannot be loaded as an SVD checkpoint with these configs (a message for users)."""


# --- the file's header, without torch ---------------------------------------------------------
def read_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{key: (dtype, shape)} of a .safetensors file; checks the file holds all the data it declares."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SingleFileError(f"is not a safetensors file ({size} bytes)")
        length = struct.unpack("<Q", head)[0]
        if length > min(MAX_HEADER, size - 8):
            raise SingleFileError("is not a safetensors file, or is truncated inside its header")
        try:
            header = json.loads(fh.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SingleFileError("is not a safetensors file (its header is not JSON)") from None
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        end = max((v["data_offsets"][1] for v in tensors.values()), default=0)
        out = {k: (v["dtype"], tuple(v["shape"])) for k, v in tensors.items()}
    except (KeyError, TypeError, IndexError):
        raise SingleFileError("is not a safetensors file (malformed header)") from None
    if 8 + length + end > size:
        raise SingleFileError(f"is truncated: its header declares {8 + length + end} bytes, the file has {size}")
    return out


def family_problem(keys) -> str | None:
    """Why a checkpoint with these keys is not an SGM-layout SVD file, or None when it is one."""
    keys = list(keys)
    if any(k.startswith(UNET) and ".time_stack." in k for k in keys):
        return None
    if any(k.startswith("conditioner.embedders.1.model.") for k in keys):
        guess = "an SDXL checkpoint (OpenCLIP-bigG text encoder, no temporal layers): LoadSDXL loads it"
    elif any(k.startswith("cond_stage_model.") for k in keys):
        guess = "a Stable Diffusion 1.x/2.x checkpoint (no temporal layers)"
    elif any(k.startswith(UNET) for k in keys):
        guess = "an image UNet without temporal layers (time_stack)"
    elif any(k.startswith(("down_blocks.", "up_blocks.", "encoder.", "decoder.", "vision_model.")) for k in keys):
        guess = ("one diffusers component's weights (diffusers names), not a whole checkpoint: load the "
                 "diffusers folder it belongs to")
    elif any("lora" in k for k in keys):
        guess = "a LoRA (CameraMotionLoRA applies camera LoRAs)"
    else:
        guess = f"unknown weights ({len(keys)} tensors, no model.diffusion_model.*)"
    return f"is not a Stable Video Diffusion checkpoint: it looks like {guess}"


# --- names: diffusers key -> (SGM key, how to transform) -------------------------------------
_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
           "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
_VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
_CLIP_LAYER = {"self_attn.out_proj": "attn.out_proj", "layer_norm1": "ln_1", "layer_norm2": "ln_2",
               "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}
_CLIP_FIXED = {"vision_model.embeddings.class_embedding": ("class_embedding", None),
               "vision_model.embeddings.patch_embedding.weight": ("conv1.weight", None),
               "vision_model.embeddings.position_embedding.weight": ("positional_embedding", None),
               "visual_projection.weight": ("proj", "transpose")}


def _unet_resnet(stem: str, rest: str) -> str | None:
    """``spatial_res_block.X`` / ``temporal_res_block.X`` / ``time_mixer.mix_factor`` in SGM names."""
    if rest == "time_mixer.mix_factor":
        return f"{stem}.time_mixer.mix_factor"
    m = re.fullmatch(r"(spatial|temporal)_res_block\.(\w+)\.(weight|bias)", rest)
    if m is None or m.group(2) not in _RESNET:
        return None
    inner = "time_stack." if m.group(1) == "temporal" else ""
    return f"{stem}.{inner}{_RESNET[m.group(2)]}.{m.group(3)}"


def _unet_attention(stem: str, rest: str) -> str | None:
    rest = re.sub(r"^temporal_transformer_blocks\.", "time_stack.", rest)
    rest = re.sub(r"^time_pos_embed\.linear_([12])\.", lambda m: f"time_pos_embed.{2 * int(m.group(1)) - 2}.", rest)
    return f"{stem}.{rest}"


def unet_name(key: str, layers_per_block: int, up_attention: set[int]) -> str | None:
    per = layers_per_block + 1
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    module, _, param = key.rpartition(".")
    if module in fixed:
        return f"{fixed[module]}.{param}"
    if m := re.fullmatch(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return _unet_resnet(f"input_blocks.{1 + int(m.group(1)) * per + int(m.group(2))}.0", m.group(3))
    if m := re.fullmatch(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
        return _unet_attention(f"input_blocks.{1 + int(m.group(1)) * per + int(m.group(2))}.1", m.group(3))
    if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)", key):
        return f"input_blocks.{1 + int(m.group(1)) * per + layers_per_block}.0.op.{m.group(2)}"
    if m := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(.+)", key):
        return _unet_resnet(f"middle_block.{2 * int(m.group(1))}", m.group(2))
    if m := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", key):
        return _unet_attention("middle_block.1", m.group(1))
    if m := re.fullmatch(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return _unet_resnet(f"output_blocks.{int(m.group(1)) * per + int(m.group(2))}.0", m.group(3))
    if m := re.fullmatch(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
        return _unet_attention(f"output_blocks.{int(m.group(1)) * per + int(m.group(2))}.1", m.group(3))
    if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)", key):
        b = int(m.group(1))  # the upsampler follows the resnet (and the attention, where there is one)
        return f"output_blocks.{b * per + layers_per_block}.{2 if b in up_attention else 1}.conv.{m.group(2)}"
    return None


def _vae_resnet(stem: str, rest: str, temporal: bool) -> str | None:
    if temporal:
        if rest == "time_mixer.mix_factor":
            return f"{stem}.mix_factor"  # the VAE's VideoResBlock holds it bare, not in a time_mixer
        m = re.fullmatch(r"(spatial|temporal)_res_block\.(\w+)\.(weight|bias)", rest)
        if m is None:
            return None
        part, param = m.group(2), m.group(3)
        if m.group(1) == "temporal":
            return f"{stem}.time_stack.{_RESNET[part]}.{param}" if part in _RESNET else None
    else:
        m = re.fullmatch(r"(\w+)\.(weight|bias)", rest)
        if m is None:
            return None
        part, param = m.group(1), m.group(2)
    return f"{stem}.{_VAE_RESNET.get(part, part)}.{param}"


def vae_name(key: str, num_blocks: int) -> tuple[str, str | None] | None:
    fixed = {"encoder.conv_in": "encoder.conv_in", "encoder.conv_out": "encoder.conv_out",
             "encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_in": "decoder.conv_in",
             "decoder.conv_out": "decoder.conv_out", "decoder.conv_norm_out": "decoder.norm_out",
             "decoder.time_conv_out": "decoder.conv_out.time_mix_conv", "quant_conv": "quant_conv"}
    module, _, param = key.rpartition(".")
    if module in fixed:
        return f"{fixed[module]}.{param}", None
    if m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        name = _vae_resnet(f"encoder.down.{m.group(1)}.block.{m.group(2)}", m.group(3), temporal=False)
        return (name, None) if name else None
    if m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)", key):
        return f"encoder.down.{m.group(1)}.downsample.conv.{m.group(2)}", None
    if m := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
        stem = f"{m.group(1)}.mid.block_{int(m.group(2)) + 1}"
        name = _vae_resnet(stem, m.group(3), temporal=m.group(1) == "decoder")
        return (name, None) if name else None
    if m := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)", key):
        part = _VAE_ATTENTION.get(m.group(2))
        # SGM's attention block projects with 1x1 convs, diffusers' with linears.
        return (f"{m.group(1)}.mid.attn_1.{part}.{m.group(3)}", "squeeze") if part else None
    if m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        stem = f"decoder.up.{num_blocks - 1 - int(m.group(1))}.block.{m.group(2)}"  # SGM counts up from the output
        name = _vae_resnet(stem, m.group(3), temporal=True)
        return (name, None) if name else None
    if m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)", key):
        return f"decoder.up.{num_blocks - 1 - int(m.group(1))}.upsample.conv.{m.group(2)}", None
    return None


def clip_name(key: str) -> tuple[str, Any] | None:
    if key in _CLIP_FIXED:
        return _CLIP_FIXED[key]
    if m := re.fullmatch(r"vision_model\.(pre_layrnorm|post_layernorm)\.(weight|bias)", key):
        return f"{'ln_pre' if m.group(1) == 'pre_layrnorm' else 'ln_post'}.{m.group(2)}", None
    m = re.fullmatch(r"vision_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", key)
    if m is None:
        return None
    layer, module, param = m.groups()
    stem = f"transformer.resblocks.{layer}."
    if q := re.fullmatch(r"self_attn\.([qkv])_proj", module):
        return f"{stem}attn.in_proj_{param}", ("chunk", "qkv".index(q.group(1)))
    if module in _CLIP_LAYER:
        return f"{stem}{_CLIP_LAYER[module]}.{param}", None
    return None


# --- the plan ----------------------------------------------------------------------------------
@dataclass
class Conversion:
    """Where each diffusers tensor of each component comes from, and what the file holds besides."""
    sources: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=dict)  # component -> key -> (file key, op)
    from_config: list[str] = field(default_factory=list)  # components the file lacks (config folder weights)
    derived: dict[str, str] = field(default_factory=dict)  # "vae.quant_conv.weight" -> why
    ignored: dict[str, list[str]] = field(default_factory=dict)  # reason -> file keys

    def summary(self) -> str:
        used = sum(len(v) for v in self.sources.values())
        parts = [f"{used} tensors converted"]
        parts += [f"{len(keys)} ignored: {reason}" for reason, keys in self.ignored.items()]
        parts += [f"{key} {why}" for key, why in self.derived.items()]
        parts += [f"{c} from the config folder" for c in self.from_config]
        return "; ".join(parts)


def _shape_after(op, shape: tuple[int, ...]) -> tuple[int, ...]:
    if op == "squeeze":
        return shape[:2] if len(shape) == 4 and shape[2:] == (1, 1) else shape
    if op == "transpose":
        return tuple(reversed(shape))
    if isinstance(op, tuple):  # ("chunk", i): a third of the fused q/k/v
        return (shape[0] // 3, *shape[1:])
    return shape


def plan(source: dict[str, tuple[int, ...]], targets: dict[str, dict[str, tuple[int, ...]]],
         unet_layers_per_block: int, vae_blocks: int) -> Conversion:
    """Map the file's tensors (``{key: shape}``) onto the diffusers components' (``{component:
    {key: shape}}``, the components the file holds). Raises SingleFileError naming what is
    missing, mismatched or unexplained."""
    problem = family_problem(source)
    if problem:
        raise SingleFileError(problem)
    conversion = Conversion()
    up_attention = {int(m.group(1)) for k in targets.get("unet", ())
                    if (m := re.match(r"up_blocks\.(\d+)\.attentions\.", k))}
    used: set[str] = set()
    missing, mismatched = [], []
    for component, wanted in targets.items():
        prefix = COMPONENT_PREFIX[component]
        if not any(k.startswith(prefix) for k in source):
            if component == "unet":
                raise SingleFileError("has no UNet weights (model.diffusion_model.*)")
            conversion.from_config.append(component)
            continue
        mapping = conversion.sources[component] = {}
        for key, shape in wanted.items():
            if key.endswith(".position_ids"):  # an index buffer the module builds itself (persistent in some versions)
                continue
            if component == "unet":
                name, op = unet_name(key, unet_layers_per_block, up_attention), None
                found = (name, op) if name else None
            elif component == "vae":
                found = vae_name(key, vae_blocks)
            else:
                found = clip_name(key)
            if found is None:
                raise SingleFileError(f"the {component} config has a tensor the SGM layout has no name for: {key!r}")
            name, op = found
            full = prefix + name
            if full not in source:
                if component == "vae" and key.startswith("quant_conv."):
                    conversion.derived[f"vae.{key}"] = "set to the identity (SGM's video VAE has no quant_conv)"
                    mapping[key] = (full, "identity")
                    continue
                missing.append(full)
                continue
            if _shape_after(op, source[full]) != tuple(shape):
                mismatched.append(f"{full} {list(source[full])} (the {component} config wants {list(shape)})")
            mapping[key] = (full, op)
            used.add(full)
    if missing or mismatched:
        lines = []
        if missing:
            lines.append(f"{len(missing)} tensors the configs need are missing, e.g. {', '.join(missing[:4])}")
        if mismatched:
            lines.append(f"{len(mismatched)} tensors have other shapes than the configs, e.g. {'; '.join(mismatched[:3])}")
        raise SingleFileError(" and ".join(lines) + " (is the config folder for this checkpoint?)")
    unexplained = []
    for key in source:
        if key in used:
            continue
        reason = next((why for pattern, why in IGNORED if pattern.match(key)), None)
        if reason is None:
            unexplained.append(key)
        else:
            conversion.ignored.setdefault(reason, []).append(key)
    if unexplained:
        raise SingleFileError(f"{len(unexplained)} tensors match nothing in the configs, e.g. "
                              f"{', '.join(sorted(unexplained)[:4])} (is the config folder for this checkpoint?)")
    return conversion


# --- loading -----------------------------------------------------------------------------------
def _configs(config: Path):
    """Empty (meta) modules built from the config folder, and its scheduler and image processor."""
    import diffusers
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    index = json.loads((config / "model_index.json").read_text())
    library, scheduler_class = index.get("scheduler", ["diffusers", "EulerDiscreteScheduler"])
    if library != "diffusers" or not hasattr(diffusers, scheduler_class):
        raise SingleFileError(f"config folder: unknown scheduler {library}.{scheduler_class}")
    scheduler = getattr(diffusers, scheduler_class).from_pretrained(config, subfolder="scheduler")
    processor = CLIPImageProcessor.from_pretrained(config / "feature_extractor")
    with init_empty_weights():  # parameters on the meta device: the file fills them, no random init
        modules = {
            "unet": UNetSpatioTemporalConditionModel.from_config(
                UNetSpatioTemporalConditionModel.load_config(config, subfolder="unet")),
            "vae": AutoencoderKLTemporalDecoder.from_config(
                AutoencoderKLTemporalDecoder.load_config(config, subfolder="vae")),
            "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig.from_pretrained(config / "image_encoder")),
        }
    return modules, scheduler, processor


def _transform(tensor, op, index: int | None = None):
    import torch
    if op == "squeeze" and tensor.dim() == 4:
        return tensor[:, :, 0, 0]
    if op == "transpose":
        return tensor.t().contiguous()
    if isinstance(op, tuple):
        return torch.chunk(tensor, 3, dim=0)[op[1]].clone()  # its own storage: the fused tensor goes
    return tensor


def _identity_like(shape, dtype, device):
    import torch
    if len(shape) == 4:  # a 1x1 conv weight [C, C, 1, 1]
        return torch.eye(shape[0], dtype=dtype, device=device)[:, :, None, None].contiguous()
    return torch.zeros(shape, dtype=dtype, device=device)  # its bias


def _from_config_folder(component: str, config: Path, dtype):
    from diffusers import AutoencoderKLTemporalDecoder
    from transformers import CLIPVisionModelWithProjection
    folder = config / component
    if not any(folder.glob("*.safetensors")):
        what = {"vae": "VAE (first_stage_model.*)",
                "image_encoder": "image encoder (conditioner.embedders.0.open_clip.model.visual.*)"}[component]
        raise SingleFileError(f"has no {what} weights, and the config folder has no {component}/*.safetensors "
                              f"to take them from")
    if component == "vae":
        return AutoencoderKLTemporalDecoder.from_pretrained(folder, torch_dtype=dtype, use_safetensors=True,
                                                            local_files_only=True)
    return CLIPVisionModelWithProjection.from_pretrained(folder, dtype=dtype, use_safetensors=True,
                                                         local_files_only=True)


def check_single_file(path: str | Path, config: str | Path) -> Conversion:
    """The conversion plan of ``path`` with the architectures of ``config`` (meta-device modules,
    no weights read); raises SingleFileError for anything ``load_single_file`` would refuse."""
    path, config = Path(path), Path(config)
    header = read_header(path)
    modules, _, _ = _configs(config)
    conversion = _plan_for(header, modules)
    for component in conversion.from_config:
        if not any((config / component).glob("*.safetensors")):
            _from_config_folder(component, config, None)  # raises the message naming what is missing
    return conversion


def _plan_for(header, modules) -> Conversion:
    targets = {name: {k: tuple(v.shape) for k, v in module.state_dict().items()} for name, module in modules.items()}
    return plan({k: shape for k, (_, shape) in header.items()}, targets,
                modules["unet"].config.layers_per_block, len(modules["vae"].config.block_out_channels))


def load_single_file(path: str | Path, config: str | Path, device: str, dtype) -> Any:
    """A ``StableVideoDiffusionPipeline`` from an SGM-layout file and a diffusers config folder,
    the weights read straight to ``device`` in ``dtype``."""
    from diffusers import StableVideoDiffusionPipeline
    from safetensors import safe_open

    path, config = Path(path), Path(config)
    header = read_header(path)
    modules, scheduler, processor = _configs(config)
    targets = {name: {k: tuple(v.shape) for k, v in module.state_dict().items()} for name, module in modules.items()}
    conversion = _plan_for(header, modules)
    with safe_open(str(path), framework="pt", device=str(device)) as fh:
        for component, mapping in conversion.sources.items():
            module, state, fused = modules[component], {}, {}
            for key, (name, op) in mapping.items():
                if op == "identity":
                    state[key] = _identity_like(targets[component][key], dtype, device)
                    continue
                if isinstance(op, tuple):  # read each fused q/k/v once
                    tensor = fused.setdefault(name, fh.get_tensor(name))
                else:
                    tensor = fh.get_tensor(name)
                state[key] = _transform(tensor, op).to(dtype=dtype)
            fused.clear()
            state.update({k: v for k, v in module.state_dict().items() if k not in state and not v.is_meta})
            module.load_state_dict(state, strict=True, assign=True)
            module.to(device)  # buffers the file does not hold (e.g. position ids)
    for component in conversion.from_config:
        modules[component] = _from_config_folder(component, config, dtype).to(device)
    for name, module in modules.items():
        empty = [k for k, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
        if empty:  # pragma: no cover - plan() checked every key of the state dicts
            raise SingleFileError(f"{name}: tensors left unfilled: {empty[:4]}")
        module.eval()
    log.info("%s: %s", path.name, conversion.summary())
    pipe = StableVideoDiffusionPipeline(vae=modules["vae"], image_encoder=modules["image_encoder"],
                                        unet=modules["unet"], scheduler=scheduler, feature_extractor=processor)
    pipe.single_file_conversion = conversion  # what was converted, derived and ignored (for callers and tests)
    return pipe
