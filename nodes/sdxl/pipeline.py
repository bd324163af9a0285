"""SDXL nodes: load a model, encode a prompt, sample (LCM or a standard scheduler), decode.

MODEL values are ``ModelHandle``s (``model_manager.py``): loading and LoRA nodes only build
handles, so they are instant and never mutate anything; the session's model manager turns a
handle into a warm pipeline when a node needs weights. Values on the other edges live on the
CPU in float32 (CONDITIONING, LATENT, IMAGE), so they cache to disk and move between devices.
Torch and diffusers are imported inside ``run`` only.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, Node, NodeError, Socket, Widget, imported, node
from . import demo, fast
from nodegraph.files.demo_build import demo_fingerprint
from nodegraph.files.roots import fingerprint_path
from nodegraph.graph.validate import PICKLE_SUFFIXES
from nodegraph.run.devices import device_key, resolve_device, warm_up
from .model_manager import SERVICE_NAME, ModelHandle, ModelManager, ModelSource, default_dtype

MAX_SEED = 2**63 - 1


def model_manager(ctx) -> ModelManager:
    return ctx.service(SERVICE_NAME, ModelManager)


def pickle_refusal(value: str) -> str | None:
    if Path(value).suffix.lower() in PICKLE_SUFFIXES:
        return (f"{value!r} is a pickle-based file ({Path(value).suffix}); loading pickle can run arbitrary "
                "code, so nodegraph loads weights only from .safetensors. Convert it once with a trusted "
                "tool (e.g. safetensors' convert script) and use the .safetensors file.")
    return None


@node("LoadSDXL", category="sdxl", outputs={"model": "MODEL"})
class LoadSDXL(Node):
    """Load an SDXL model: a diffusers folder, a single-file .safetensors with a local config
    folder, a hub id (when online) or the built-in demo `demo:tiny-sdxl`.

    The weights load when a downstream node first needs them, and stay warm in the session's
    model manager. dtype "auto" is float32 on CPU and float16 on GPU.
    """
    checkpoint: str = FileInput("checkpoint", default="demo:tiny-sdxl", allow_hub_id=True, directory=True,
                                description="diffusers folder, .safetensors file, hub id or demo:tiny-sdxl")
    config: str = FileInput("checkpoint", optional=True, directory=True,
                            description="local diffusers folder with the configs of a single-file checkpoint")
    vae: str = FileInput("vae", optional=True, directory=True,
                         description="a VAE instead of the checkpoint's own: .safetensors file (as in "
                                     "ComfyUI's models/vae) or diffusers folder")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Widget("auto")

    @classmethod
    def fingerprint(cls, literals: dict[str, Any], env: Any) -> str | None:
        # The weights' device decision without importing torch (a fully cached run never
        # imports it); dtype "auto" follows the device, and the dtype itself is in the key
        # (a literal) or keyed upstream (linked). A demo is keyed by the core.
        return device_key(getattr(env, "device", "auto"))

    @classmethod
    def check_inputs(cls, literals: dict[str, Any], env: Any) -> list[tuple[str | None, str]]:
        value, config = literals.get("checkpoint"), literals.get("config")  # absent when linked
        if demo.is_demo(value):  # the core checked it names a checkpoint demo
            return []
        for name, text in (("checkpoint", value), ("config", config)):
            refusal = pickle_refusal(text) if text else None
            if refusal:
                return [(name, refusal)]
        path = resolve_checkpoint(env, value)
        if path is None:  # a hub id (the core checked the shape of it)
            return []
        if path.is_file():
            if path.suffix.lower() != ".safetensors":
                return [("checkpoint", f"{value!r} is not a .safetensors file")]
            if not config:
                return [("config", f"single-file checkpoint {value!r} needs a local config folder (a diffusers "
                                   "folder of the same architecture, weights optional): offline loading "
                                   "cannot fetch one")]
        elif not (path / "model_index.json").is_file():
            return [("checkpoint", f"folder {value!r} is not a diffusers pipeline (no model_index.json)")]
        if config:
            config_path = resolve_checkpoint(env, config)
            if config_path is None or not (config_path / "model_index.json").is_file():
                return [("config", f"config folder {config!r} has no model_index.json")]
        return _check_vae(literals.get("vae", ""), env)

    def run(self, ctx):
        source, config = loader_source(ctx, self.checkpoint, self.config, self.dtype)
        if config is not None:
            source = replace(source, config=str(config.resolve()))
        if self.vae:
            vae = ctx.env.files.resolve("vae", self.vae)
            if vae is None:
                raise NodeError(f"VAE {self.vae!r} not found", input="vae")
            source = replace(source, vae=str(vae.resolve()),
                             fingerprint=f"{source.fingerprint}|vae:{fingerprint_path(vae)}")
        model_manager(ctx).prefetch(source)  # a cold process: the weights read while diffusers imports
        return {"model": ModelHandle(source)}


def base_source(ctx, value: str, device: str, dtype: str) -> ModelSource:
    """Where checkpoint ``value`` comes from: a demo (built on first use, keyed by its recipe's
    version), a hub id (no such local path), a diffusers folder, or a single file (kind
    "single_file": the caller adds what loading it needs)."""
    asset = ctx.env.demo(value)
    if asset is not None:
        return ModelSource("diffusers", str(ctx.env.materialise(value)), value, demo_fingerprint(asset), device, dtype)
    path = resolve_checkpoint(ctx.env, value)
    if path is None:
        return ModelSource("hub", value, value, value, device, dtype)
    kind = "single_file" if path.is_file() else "diffusers"
    return ModelSource(kind, str(path.resolve()), value, fingerprint_path(path), device, dtype)


def _check_vae(value: str, env) -> list[tuple[str | None, str]]:
    if not value:
        return []
    refusal = pickle_refusal(value)
    if refusal:
        return [("vae", refusal)]
    path = env.files.resolve("vae", value)
    if path is None:
        return []  # the core reports missing files
    if path.is_file() and path.suffix.lower() != ".safetensors":
        return [("vae", f"{value!r} is not a .safetensors file")]
    if path.is_dir() and not (path / "config.json").is_file():
        return [("vae", f"folder {value!r} is not a diffusers VAE (no config.json)")]
    return []


def pick_dtype(choice: str, device: str) -> str:
    """A loader's dtype widget: "auto" is the device's default."""
    return default_dtype(device) if choice == "auto" else choice


def resolve_checkpoint(env, value: str) -> Path | None:
    return env.files.resolve("checkpoint", value) if value else None


def loader_source(ctx, checkpoint: str, config: str, dtype: str) -> tuple[ModelSource, Path | None]:
    """What a loader node (LoadSDXL, LoadSVD) loads: the source of ``checkpoint`` on the session's
    device, with the config folder a single file needs (else None). The CUDA context starts
    warming meanwhile: it gets made while diffusers imports and the weights load."""
    device = resolve_device(ctx.env.device)
    warm_up(device)
    source = base_source(ctx, checkpoint, device, pick_dtype(dtype, device))
    if source.kind != "single_file":
        return source, None
    folder = resolve_checkpoint(ctx.env, config)
    if folder is None:
        raise NodeError(f"config folder {config!r} not found", input="config")
    return source, folder


@node("EncodePrompt", category="sdxl", outputs={"conditioning": "CONDITIONING"})
class EncodePrompt(Node):
    """Encode a prompt (and a negative prompt) with the model's two text encoders.

    Link `model` straight from LoadSDXL: LoRAs that only patch the UNet (LCM-LoRA, most style
    LoRAs) then do not change this node's cache key. Link the LoRA'd model instead when a LoRA
    also trains the text encoders.
    """
    model: Any = Socket("MODEL")
    prompt: str = Widget("", multiline=True)
    negative_prompt: str = Widget("", multiline=True)

    def run(self, ctx):
        torch = imported("torch")  # the first node to need it in a cold process pays its import
        with torch.inference_mode(), model_manager(ctx).use(self.model, parts="text") as pipe:
            embeds = pipe.encode_prompt(self.prompt, device=placement(pipe.text_encoder_2)[0], num_images_per_prompt=1,
                                        do_classifier_free_guidance=True,
                                        negative_prompt=self.negative_prompt or None)
        names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
        return {"conditioning": {n: t.float().cpu().contiguous() for n, t in zip(names, embeds)}}


def placement(module):
    """(device, dtype) of a model from its first parameter. diffusers' ``_execution_device``,
    ``.device`` and ``.dtype`` walk every submodule (offload hooks): ~1 ms per call on SDXL, paid
    several times per job; the manager never offloads, so the first parameter tells the truth."""
    param = next(module.parameters())
    return param.device, param.dtype


def refuse_comfy_value(value, input_name: str, use: str) -> None:
    """A NodeError when ``value`` is a comfy-pack value (ComfyUI's layout) on an input of a native
    node: the two packs share the type names, not the layouts."""
    if isinstance(value, (dict, list, tuple)) and (isinstance(value, (list, tuple)) or "samples" in value):
        raise NodeError(f"this is a ComfyUI-layout value from a comfy-pack node; {use}", input=input_name)
    if getattr(value, "comfy_family", None) is not None:
        raise NodeError(f"this is a comfy-pack model handle; {use}", input=input_name)


def sample(ctx, handle: ModelHandle, cond: dict, make_scheduler, steps: int, guidance: float, seed: int,
           width: int, height: int, batch_size: int):
    """Shared sampling loop: the diffusers SDXL pipeline with per-step progress and interrupt."""
    refuse_comfy_value(handle, "model", "sample it with KSampler")
    refuse_comfy_value(cond, "conditioning", "sample it with KSampler")
    torch = imported("torch")
    manager = model_manager(ctx)
    scheduler = make_scheduler(manager.scheduler_config(handle))
    ctx.progress(0, steps)

    def on_step_end(pipe, i, t, tensors):
        ctx.progress(i + 1, steps)  # raises Interrupted when the job is interrupted
        if ctx.env.compile:
            fast.mark_step()
        return tensors

    shapes = (width, height, batch_size, guidance > 1.0)  # what a compiled UNet is specialised to
    with torch.inference_mode(), manager.use(handle, compiled=ctx.env.compile, call=shapes) as pipe:
        pipe.scheduler = scheduler  # a fresh scheduler per call: schedulers keep per-run state
        device, dtype = placement(pipe.unet)
        kwargs = {k: cond[k].to(device, dtype) for k in ("prompt_embeds", "pooled_prompt_embeds")}
        if guidance > 1.0:
            kwargs.update({k: cond[k].to(device, dtype)
                           for k in ("negative_prompt_embeds", "negative_pooled_prompt_embeds")})
        latents = pipe(**kwargs, num_inference_steps=steps, guidance_scale=guidance, width=width, height=height,
                       num_images_per_prompt=batch_size, generator=torch.Generator("cpu").manual_seed(seed),
                       output_type="latent", callback_on_step_end=on_step_end).images
    return latents.float().cpu().contiguous()


def scheduler_from(cls, config: dict, **overrides):
    """``cls.from_config`` with only the keys ``cls`` accepts (no warning about the others)."""
    import inspect
    accepted = inspect.signature(cls.__init__).parameters
    return cls.from_config({k: v for k, v in config.items() if k in accepted}, **overrides)


def lcm_scheduler(config: dict):
    from diffusers import LCMScheduler
    return scheduler_from(LCMScheduler, config)


@node("LCMSampler", category="sdxl", outputs={"latent": "LATENT"})
class LCMSampler(Node):
    """Few-step sampling with the LCM scheduler (for models with an LCM-LoRA applied).

    Guidance 1.0 means no classifier-free guidance (one UNet pass per step); up to 2.0 adds
    the negative prompt at the cost of a doubled batch.
    """
    model: Any = Socket("MODEL")
    conditioning: Any = Socket("CONDITIONING")
    steps: int = Widget(4, ge=1, le=8)
    guidance: float = Widget(1.0, ge=1.0, le=2.0, step=0.1)
    seed: int = Widget(0, ge=0, le=MAX_SEED)
    width: int = Widget(1024, ge=64, le=4096, step=8)
    height: int = Widget(1024, ge=64, le=4096, step=8)
    batch_size: int = Widget(1, ge=1, le=16)

    @classmethod
    def check_inputs(cls, literals, env):
        return _check_size(literals)

    def run(self, ctx):
        latent = sample(ctx, self.model, self.conditioning, lcm_scheduler, self.steps, self.guidance, self.seed,
                        self.width, self.height, self.batch_size)
        return {"latent": latent}


def _check_size(literals) -> list[tuple[str | None, str]]:
    return [(k, f"{literals[k]} is not a multiple of 8") for k in ("width", "height")
            if k in literals and literals[k] % 8]  # absent when linked


SAMPLERS = ("euler", "euler_ancestral", "heun", "dpmpp_2m", "dpmpp_2m_karras", "dpmpp_2m_sde", "ddim", "unipc")


def standard_scheduler(name: str):
    """A factory of the diffusers scheduler behind a sampler name, from the model's config."""
    def make(config: dict):
        import diffusers
        cls_name, extra = {
            "euler": ("EulerDiscreteScheduler", {}),
            "euler_ancestral": ("EulerAncestralDiscreteScheduler", {}),
            "heun": ("HeunDiscreteScheduler", {}),
            "dpmpp_2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
            "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++",
                                                                "use_karras_sigmas": True}),
            "dpmpp_2m_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
            "ddim": ("DDIMScheduler", {}),
            "unipc": ("UniPCMultistepScheduler", {}),
        }[name]
        return scheduler_from(getattr(diffusers, cls_name), config, **extra)
    return make


@node("Sampler", category="sdxl", outputs={"latent": "LATENT"})
class Sampler(Node):
    """Standard sampling with classifier-free guidance (Euler, DPM++ and friends)."""
    model: Any = Socket("MODEL")
    conditioning: Any = Socket("CONDITIONING")
    sampler: Literal[SAMPLERS] = Widget("euler")  # type: ignore[valid-type]
    steps: int = Widget(25, ge=1, le=150)
    cfg: float = Widget(5.0, ge=1.0, le=30.0, step=0.1)
    seed: int = Widget(0, ge=0, le=MAX_SEED)
    width: int = Widget(1024, ge=64, le=4096, step=8)
    height: int = Widget(1024, ge=64, le=4096, step=8)
    batch_size: int = Widget(1, ge=1, le=16)

    @classmethod
    def check_inputs(cls, literals, env):
        return _check_size(literals)

    def run(self, ctx):
        latent = sample(ctx, self.model, self.conditioning, standard_scheduler(self.sampler), self.steps, self.cfg,
                        self.seed, self.width, self.height, self.batch_size)
        return {"latent": latent}


@node("DecodeLatent", category="sdxl", outputs={"image": "IMAGE"})
class DecodeLatent(Node):
    """Decode latents to images with the model's VAE (LoRAs never touch the VAE)."""
    model: Any = Socket("MODEL")
    latent: Any = Socket("LATENT")

    def run(self, ctx):
        refuse_comfy_value(self.latent, "latent", "decode it with VAEDecode")
        torch = imported("torch")
        with torch.inference_mode(), model_manager(ctx).use(self.model, parts="vae", compiled=ctx.env.compile,
                                                            call=tuple(self.latent.shape)) as pipe:
            vae = pipe.vae
            latents = self.latent.to(*placement(vae))
            mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
            if mean is not None and std is not None:
                mean = torch.tensor(mean).view(1, -1, 1, 1).to(latents)
                std = torch.tensor(std).view(1, -1, 1, 1).to(latents)
                latents = latents * std / vae.config.scaling_factor + mean
            else:
                latents = latents / vae.config.scaling_factor
            image = vae.decode(latents, return_dict=False)[0]
            image = pipe.image_processor.postprocess(image, output_type="pt")
            # Laid out [batch, height, width, channels] on the device: one plain copy to the host
            # (a strided copy on the CPU took ~6 ms per 1024² image).
            image = image.float().clamp(0, 1).permute(0, 2, 3, 1).contiguous().cpu()
        return {"image": image}
