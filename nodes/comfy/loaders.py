"""ComfyUI's loaders and model patchers: CheckpointLoaderSimple, ImageOnlyCheckpointLoader,
VAELoader, LoraLoader, LoraLoaderModelOnly, CLIPSetLastLayer, ModelSamplingDiscrete,
VideoLinearCFGGuidance. Each builds handles (handles.py) and touches no weights; the model
managers load them when a node first needs them.

A checkpoint is a diffusers folder (its model_index.json names the family), a single
Stability-layout .safetensors file WITHOUT a config folder (families.py recognises it and
writes the configs), or a demo (``demo:tiny-sd15``, ``demo:tiny-sdxl``, ``demo:tiny-sdxl-refiner``,
``demo:tiny-svd``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, Node, NodeError, Socket, Widget, node
from nodegraph.run.devices import device_key, resolve_device
from nodegraph.files.demo_build import demo_fingerprint
from nodegraph.files.roots import fingerprint_path
from nodegraph_nodes.sdxl.lora import check_lora_file, lora_patch
from nodegraph_nodes.sdxl.model_manager import ModelSource, default_dtype
from nodegraph_nodes.sdxl.pipeline import pickle_refusal

from . import families
from .handles import FAMILY_NAMES, ComfyClip, ComfyClipVision, ComfyModel, ComfyVae
from .values import handle_of

CLASS_FAMILIES = {"StableDiffusionPipeline": "sd1", "StableDiffusionXLPipeline": "sdxl",
                  "StableDiffusionXLImg2ImgPipeline": "sdxl_refiner", "StableVideoDiffusionPipeline": "svd"}
CATEGORY = "loaders"


def config_root(env) -> Path:
    """Where configs of single files are written (beside the demo folder: a per-user cache)."""
    return Path(env.demo_dir).parent / "comfy-configs"


def folder_family(folder: Path) -> str | None:
    try:
        name = json.loads((folder / "model_index.json").read_text()).get("_class_name")
    except (OSError, ValueError):
        return None
    return CLASS_FAMILIES.get(name)


def checkpoint_problem(value: str | None, env, video: bool) -> str | None:
    """Why ``value`` cannot be loaded by this loader (header and folder checks only), or None."""
    if not value:
        return None
    wanted = "Stable Video Diffusion" if video else "SD 1.x / SDXL / SDXL refiner"
    asset = env.demo(value) if env is not None else None
    if asset is not None:
        family = DEMO_FAMILIES.get(value)
        if family is not None and (family == "svd") != video:
            return f"{value!r} is a {FAMILY_NAMES[family]} demo; this loader takes {wanted} checkpoints"
        return None
    refusal = pickle_refusal(value)
    if refusal:
        return refusal
    path = env.files.resolve("checkpoint", value) if env is not None else None
    if path is None:
        return None  # the core reports missing files
    if path.is_dir():
        family = folder_family(path)
        if family is None:
            return f"folder {value!r} is not a diffusers pipeline of a supported family (model_index.json)"
    elif path.suffix.lower() != ".safetensors":
        return f"{value!r} is not a .safetensors file"
    else:
        try:
            arch = families.architecture(families.read_shapes(path))
            families._tokenizer_source(arch)
        except families.UnknownArchitecture as exc:
            return f"{value!r} {exc}"
        family = arch["family"]
    if (family == "svd") != video:
        other = "ImageOnlyCheckpointLoader" if family == "svd" else "CheckpointLoaderSimple"
        return f"{value!r} is a {FAMILY_NAMES[family]} checkpoint: load it with {other}"
    return None


# Demo checkpoints by family (the packs' demos; a demo of another kind never reaches here).
DEMO_FAMILIES = {"demo:tiny-sd15": "sd1", "demo:tiny-sdxl": "sdxl", "demo:tiny-sdxl-refiner": "sdxl_refiner",
                 "demo:tiny-svd": "svd"}


def load_source(ctx, value: str, input_name: str) -> tuple[ModelSource, str]:
    """(the ModelSource, its family) of checkpoint ``value``."""
    device = resolve_device(ctx.env.device)
    dtype = default_dtype(device)
    asset = ctx.env.demo(value)
    if asset is not None:
        folder = Path(ctx.env.materialise(value))
        family = DEMO_FAMILIES.get(value) or folder_family(folder)
        return ModelSource("diffusers", str(folder), value, demo_fingerprint(asset), device, dtype,
                           family=family or "sdxl"), family or "sdxl"
    path = ctx.env.files.resolve("checkpoint", value)
    if path is None:
        raise NodeError(f"checkpoint {value!r} not found (looked in "
                        f"{', '.join(str(r) for r in ctx.env.files.roots('checkpoint'))})", input=input_name)
    if path.is_dir():
        family = folder_family(path)
        if family is None:
            raise NodeError(f"folder {value!r} is not a diffusers pipeline of a supported family", input=input_name)
        return ModelSource("diffusers", str(path.resolve()), value, fingerprint_path(path), device, dtype,
                           family=family), family
    try:
        family, config = families.config_folder(path, config_root(ctx.env))
    except families.UnknownArchitecture as exc:
        raise NodeError(f"{value!r} {exc}", input=input_name) from None
    return ModelSource("single_file", str(path.resolve()), value,
                       f"{fingerprint_path(path)}|configs-v{families.CONFIG_VERSION}", device, dtype,
                       config=str(config), family=family), family


class _Loader(Node):
    @classmethod
    def fingerprint(cls, literals: dict[str, Any], env: Any) -> str | None:
        return device_key(getattr(env, "device", "auto"))  # where the weights go, and so their dtype


def demos_of(video: bool) -> tuple[str, ...]:
    """The demo checkpoints an image loader (video=False) or an image-to-video loader can take."""
    return tuple(value for value, family in DEMO_FAMILIES.items() if (family == "svd") == video)


@node("CheckpointLoaderSimple", category=CATEGORY, outputs={"model": "MODEL", "clip": "CLIP", "vae": "VAE"})
class CheckpointLoaderSimple(_Loader):
    """Load a Stable Diffusion 1.x, SDXL or SDXL refiner checkpoint: a single .safetensors file
    (no config folder needed: the architecture is read from its tensors), a diffusers folder,
    or a demo (demo:tiny-sd15, demo:tiny-sdxl, demo:tiny-sdxl-refiner)."""
    ckpt_name: str = FileInput("checkpoint", directory=True, description="the checkpoint to load")

    @classmethod
    def demo_choices(cls, input_name: str) -> tuple[str, ...]:
        """--demo-models: never the SVD demo (this loader cannot load it)."""
        return demos_of(video=False)

    @classmethod
    def check_inputs(cls, literals, env):
        problem = checkpoint_problem(literals.get("ckpt_name"), env, video=False)
        return [("ckpt_name", problem)] if problem else []

    def run(self, ctx):
        source, family = load_source(ctx, self.ckpt_name, "ckpt_name")
        if family == "svd":
            raise NodeError(f"{self.ckpt_name!r} is a Stable Video Diffusion checkpoint: load it with "
                            "ImageOnlyCheckpointLoader", input="ckpt_name")
        return {"model": ComfyModel(source, family), "clip": ComfyClip(source, family), "vae": ComfyVae(source, family)}


@node("ImageOnlyCheckpointLoader", category="loaders/video_models",
      outputs={"model": "MODEL", "clip_vision": "CLIP_VISION", "vae": "VAE"})
class ImageOnlyCheckpointLoader(_Loader):
    """Load a Stable Video Diffusion checkpoint (svd.safetensors, svd_xt.safetensors: single
    files need no config folder), a diffusers img2vid folder, or demo:tiny-svd."""
    ckpt_name: str = FileInput("checkpoint", directory=True, description="the SVD checkpoint to load")

    @classmethod
    def demo_choices(cls, input_name: str) -> tuple[str, ...]:
        """--demo-models: the SVD demo, whatever the file is called (its name may lack "svd")."""
        return demos_of(video=True)

    @classmethod
    def default_demo(cls, input_name: str, value: str) -> str:
        return demos_of(video=True)[0]

    @classmethod
    def check_inputs(cls, literals, env):
        problem = checkpoint_problem(literals.get("ckpt_name"), env, video=True)
        return [("ckpt_name", problem)] if problem else []

    def run(self, ctx):
        source, family = load_source(ctx, self.ckpt_name, "ckpt_name")
        if family != "svd":
            raise NodeError(f"{self.ckpt_name!r} is a {FAMILY_NAMES[family]} checkpoint: load it with "
                            "CheckpointLoaderSimple", input="ckpt_name")
        return {"model": ComfyModel(source, family), "clip_vision": ComfyClipVision(source),
                "vae": ComfyVae(source, family)}


@node("VAELoader", category=CATEGORY, outputs={"vae": "VAE"})
class VAELoader(_Loader):
    """Load a VAE: a .safetensors file (LDM keys, as ComfyUI's models/vae holds them; no config
    folder needed), a diffusers VAE folder, or demo:tiny-sd15-vae."""
    vae_name: str = FileInput("vae", directory=True, description="the VAE to load")

    @classmethod
    def check_inputs(cls, literals, env):
        value = literals.get("vae_name")
        if not value or env is None or env.demo(value) is not None:
            return []
        refusal = pickle_refusal(value)
        if refusal:
            return [("vae_name", refusal)]
        path = env.files.resolve("vae", value)
        if path is not None and path.is_file():
            try:
                families.vae_file_config(families.read_shapes(path))
            except families.UnknownArchitecture as exc:
                return [("vae_name", f"{value!r} {exc}")]
        elif path is not None and not (path / "config.json").is_file():
            return [("vae_name", f"folder {value!r} is not a diffusers VAE (no config.json)")]
        return []

    def run(self, ctx):
        device = resolve_device(ctx.env.device)
        asset = ctx.env.demo(self.vae_name)
        path = Path(ctx.env.materialise(self.vae_name)) if asset is not None \
            else ctx.env.files.resolve("vae", self.vae_name)
        if path is None:
            raise NodeError(f"VAE {self.vae_name!r} not found (looked in "
                            f"{', '.join(str(r) for r in ctx.env.files.roots('vae'))})", input="vae_name")
        config = None
        if path.is_file():
            try:
                config = str(families.vae_config_folder(path, config_root(ctx.env)))
            except families.UnknownArchitecture as exc:
                raise NodeError(f"{self.vae_name!r} {exc}", input="vae_name") from None
        fingerprint = demo_fingerprint(asset) if asset is not None else fingerprint_path(path)
        source = ModelSource("vae_file", str(path.resolve()), self.vae_name, fingerprint, device,
                             default_dtype(device), config=config, family="vae")
        return {"vae": ComfyVae(source, "vae")}


class _OneLora(Node):
    @classmethod
    def check_inputs(cls, literals, env):
        problem = check_lora_file(literals.get("lora_name"), env)
        return [("lora_name", problem)] if problem else []


@node("LoraLoader", category=CATEGORY, outputs={"model": "MODEL", "clip": "CLIP"})
class LoraLoader(_OneLora):
    """Apply a LoRA to the diffusion model at `strength_model` and to the text encoders at
    `strength_clip` (kohya/A1111 or diffusers .safetensors). New handles; the inputs are unchanged."""
    model: Any = Socket("MODEL")
    clip: Any = Socket("CLIP")
    lora_name: str = FileInput("lora", extensions=(".safetensors",), description="the LoRA file")
    strength_model: float = Widget(1.0, ge=-100.0, le=100.0, step=0.01)
    strength_clip: float = Widget(1.0, ge=-100.0, le=100.0, step=0.01)

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        clip = handle_of(self.clip, ComfyClip, "clip", "CLIP")
        if model.family == "svd":
            raise NodeError("LoRAs on SVD models are the video pack's CameraMotionLoRA; LoraLoader patches SD 1.x "
                            "and SDXL models", input="model")
        out_model = model.with_lora(lora_patch(ctx, self.lora_name, self.strength_model)) \
            if self.strength_model else model
        out_clip = clip.with_lora(lora_patch(ctx, self.lora_name, self.strength_clip)) if self.strength_clip else clip
        return {"model": out_model, "clip": out_clip}


@node("LoraLoaderModelOnly", category=CATEGORY, outputs={"model": "MODEL"})
class LoraLoaderModelOnly(_OneLora):
    """Apply a LoRA to the diffusion model only (its text-encoder keys, if any, are left out)."""
    model: Any = Socket("MODEL")
    lora_name: str = FileInput("lora", extensions=(".safetensors",), description="the LoRA file")
    strength_model: float = Widget(1.0, ge=-100.0, le=100.0, step=0.01)

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        if model.family == "svd":
            raise NodeError("LoraLoaderModelOnly patches SD 1.x and SDXL models", input="model")
        if not self.strength_model:
            return {"model": model}
        return {"model": model.with_lora(lora_patch(ctx, self.lora_name, self.strength_model))}


@node("CLIPSetLastLayer", category="conditioning", outputs={"clip": "CLIP"})
class CLIPSetLastLayer(Node):
    """Stop the text encoders at this layer (-1: the last, -2: the one before: "clip skip")."""
    clip: Any = Socket("CLIP")
    stop_at_clip_layer: int = Widget(-1, ge=-24, le=-1, step=1)

    def run(self, ctx):
        clip = handle_of(self.clip, ComfyClip, "clip", "CLIP")
        return {"clip": replace(clip, stop_at_layer=self.stop_at_clip_layer)}


@node("ModelSamplingDiscrete", category="advanced/model", outputs={"model": "MODEL"})
class ModelSamplingDiscrete(Node):
    """Say what the model predicts: eps (noise), v_prediction, lcm (an LCM model or LoRA: sample
    with the lcm sampler), x0; `zsnr` rescales the schedule to zero terminal SNR."""
    model: Any = Socket("MODEL")
    sampling: Literal["eps", "v_prediction", "lcm", "x0", "img_to_img"] = Widget("eps")
    zsnr: bool = Widget(False)

    @classmethod
    def check_inputs(cls, literals, env):
        if literals.get("sampling") == "img_to_img":
            return [("sampling", "'img_to_img' (ComfyUI's Lotus-style x0 image model sampling) has no diffusers "
                                 "counterpart; supported: eps, v_prediction, lcm, x0")]
        return []

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        return {"model": replace(model, sampling=self.sampling, zsnr=self.zsnr)}


@node("VideoLinearCFGGuidance", category="sampling/video_models", outputs={"model": "MODEL"})
class VideoLinearCFGGuidance(Node):
    """Guidance that rises linearly over the frames from `min_cfg` (first) to the sampler's cfg (last)."""
    model: Any = Socket("MODEL")
    min_cfg: float = Widget(1.0, ge=0.0, le=100.0, step=0.5)

    @classmethod
    def upstream_demos(cls, input_name: str) -> tuple[str, ...]:
        """--demo-models: the checkpoint feeding `model` is an SVD one."""
        return demos_of(video=True)

    def run(self, ctx):
        model = handle_of(self.model, ComfyModel, "model", "MODEL")
        return {"model": replace(model, min_cfg=self.min_cfg)}
