"""Stable Video Diffusion nodes (arXiv 2311.15127): load a model, image → video latents → frames.

VIDEO_MODEL values are ``VideoModelHandle``s (``model_manager.py``): LoadSVD and CameraMotionLoRA
only build handles; the session's ``VideoModelManager`` turns one into a warm pipeline when a
node needs weights. VIDEO values are ``{"frames": float tensor [F, H, W, 3] in 0..1, "fps": float}``
and LATENT_VIDEO values ``{"latents": tensor [F, 4, H/8, W/8], "fps": float}``, on the CPU in
float32, so both cache to disk. Torch and diffusers are imported inside ``run`` only.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, Node, NodeError, Socket, Widget, imported, node
from nodegraph.files.roots import fingerprint_path
from nodegraph.run.devices import resolve_device
from nodegraph_nodes.sdxl.pipeline import MAX_SEED, loader_source, pick_dtype, pickle_refusal, resolve_checkpoint

from . import demo
from .interrupts import interrupt_modules, interrupt_points
from .model_manager import SERVICE_NAME, VideoModelHandle, VideoModelManager
from .single_file import SingleFileError, check_single_file, family_problem, read_header
from .values import make_latent_video, make_video


def model_manager(ctx) -> VideoModelManager:
    return ctx.service(SERVICE_NAME, VideoModelManager)


@node("LoadSVD", category="video", outputs={"model": "VIDEO_MODEL"})
class LoadSVD(Node):
    """Load a Stable Video Diffusion model: a diffusers folder (img2vid / img2vid-xt layout),
    Stability's single-file .safetensors (svd.safetensors, svd_xt.safetensors) with a local
    config folder, a hub id (when online) or the built-in demo `demo:tiny-svd`. Weights load
    when a node first needs them and stay warm.
    """
    checkpoint: str = FileInput("checkpoint", default="demo:tiny-svd", allow_hub_id=True, directory=True,
                                description="diffusers folder, .safetensors file, hub id or demo:tiny-svd")
    config: str = FileInput("checkpoint", optional=True, directory=True,
                            description="local diffusers folder with the configs of a single-file checkpoint")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Widget("auto")

    @classmethod
    def fingerprint(cls, literals: dict[str, Any], env: Any) -> str | None:
        # The weights' device and dtype (what "auto" means here); a demo is keyed by the core.
        device = resolve_device(getattr(env, "device", "auto"))
        return f"{device}|{pick_dtype(literals.get('dtype'), device)}"

    @classmethod
    def check_inputs(cls, literals: dict[str, Any], env: Any) -> list[tuple[str | None, str]]:
        value = literals.get("checkpoint")  # absent when linked
        if demo.is_demo(value):  # the core knows every pack's checkpoint demos; only ours are SVD
            if value not in demo.known("checkpoint"):
                return [("checkpoint", f"{value!r} is not a Stable Video Diffusion model; video demos: "
                                       f"{', '.join(demo.known('checkpoint'))}")]
            return []
        config = literals.get("config")
        for name, text in (("checkpoint", value), ("config", config)):
            refusal = pickle_refusal(text) if text else None
            if refusal:
                return [(name, refusal)]
        path = resolve_checkpoint(env, value)
        if path is None:  # a hub id (the core checked its shape)
            return []
        if path.is_file():
            return _check_single_file(value, path, config, env)
        if not (path / "model_index.json").is_file():
            return [("checkpoint", f"folder {value!r} is not a diffusers pipeline (no model_index.json)")]
        return []

    def run(self, ctx):
        source, config = loader_source(ctx, self.checkpoint, self.config, self.dtype)
        if config is not None:
            try:  # names, shapes and config folder checked now (no weights read): errors name this node
                check_single_file(source.location, config)
            except SingleFileError as exc:
                raise NodeError(f"{self.checkpoint!r} {exc}", input="checkpoint") from None
            # The config folder is part of the identity: it decides the architecture (and may hold
            # the image encoder's weights).
            source = replace(source, config=str(config.resolve()),
                             fingerprint=f"{source.fingerprint}|config:{fingerprint_path(config)}")
        return {"model": VideoModelHandle(source)}


def _check_single_file(value: str, path: Path, config: str | None, env) -> list[tuple[str | None, str]]:
    """A single file is Stability's SGM layout, read with a local config folder (as LoadSDXL)."""
    if path.suffix.lower() != ".safetensors":
        return [("checkpoint", f"{value!r} is not a .safetensors file")]
    try:
        problem = family_problem(read_header(path))
    except (SingleFileError, OSError) as exc:
        return [("checkpoint", f"{value!r} {exc}")]
    if problem:
        return [("checkpoint", f"{value!r} {problem}")]
    if not config:
        return [("config", f"single-file checkpoint {value!r} needs a local config folder (a diffusers "
                           "stable-video-diffusion-img2vid(-xt) folder, weights optional): offline loading "
                           "cannot fetch one")]
    config_path = resolve_checkpoint(env, config)
    if config_path is None or not (config_path / "model_index.json").is_file():
        return [("config", f"config folder {config!r} has no model_index.json")]
    missing = [f"{c}/config.json" for c in ("unet", "vae", "image_encoder") if not (config_path / c / "config.json").is_file()]
    if missing:
        return [("config", f"config folder {config!r} lacks {', '.join(missing)}")]
    return []


def _size_problems(literals) -> list[tuple[str | None, str]]:
    return [(k, f"{literals[k]} is not a multiple of 64 (SVD works on a 1/8 latent grid of a 64-aligned UNet)")
            for k in ("width", "height") if isinstance(literals.get(k), int) and literals[k] % 64]


def _placement(module):
    param = next(module.parameters())
    return param.device, param.dtype


def decode(pipe, latents, chunk: int):
    """Latents [F, C, h, w] → frames [F, H, W, 3] in 0..1 with the temporal VAE, ``chunk`` frames
    at a time (the pipeline's own decode, so chunking behaves exactly as diffusers')."""
    frames = latents.shape[0]
    device, dtype = _placement(pipe.vae)
    video = pipe.decode_latents(latents[None].to(device, dtype), frames, chunk)  # [1, 3, F, H, W]
    video = pipe.video_processor.postprocess_video(video=video, output_type="pt")  # [1, F, 3, H, W]
    return video[0].float().permute(0, 2, 3, 1).clamp(0, 1).cpu().contiguous()


@node("SVDImageToVideo", category="video", outputs={"video": "VIDEO", "latent": "LATENT_VIDEO"})
class SVDImageToVideo(Node):
    """Animate a start image with Stable Video Diffusion.

    Guidance rises linearly across frames from `min_guidance` (first frame) to `max_guidance`
    (last); `min_guidance` = `max_guidance` = 1 turns classifier-free guidance off (one UNet pass
    per step). `fps` and `motion_bucket_id` are the model's conditioning (the clip plays at `fps`);
    `noise_aug_strength` is how much noise is added to the start image. `decode_chunk_size` frames
    go through the temporal VAE at a time (lower: less memory). The latents are an output too:
    DecodeVideo re-decodes them without sampling again.
    """
    model: Any = Socket("VIDEO_MODEL")
    image: Any = Socket("IMAGE", description="the start frame (the first image of the batch)")
    frames: int = Widget(14, ge=1, le=128, description="14 for img2vid, 25 for img2vid-xt; any count works")
    width: int = Widget(1024, ge=64, le=4096, step=64)
    height: int = Widget(576, ge=64, le=4096, step=64)
    fps: int = Widget(6, ge=1, le=60, description="frame rate the model is conditioned on; the clip's rate")
    motion_bucket_id: int = Widget(127, ge=0, le=1023, description="more motion when higher")
    noise_aug_strength: float = Widget(0.02, ge=0.0, le=1.0, step=0.01)
    steps: int = Widget(25, ge=1, le=200)
    min_guidance: float = Widget(1.0, ge=0.0, le=30.0, step=0.1)
    max_guidance: float = Widget(3.0, ge=0.0, le=30.0, step=0.1)
    seed: int = Widget(0, ge=0, le=MAX_SEED)
    decode_chunk_size: int = Widget(8, ge=1, le=128)

    @classmethod
    def check_inputs(cls, literals, env):
        return _size_problems(literals)

    def run(self, ctx):
        torch = imported("torch")  # the first node to need it in a cold process pays its import
        from nodegraph_nodes.basic.image import tensor_to_pil
        start = tensor_to_pil(self.image[:1])[0]
        manager = model_manager(ctx)
        steps = self.steps
        ctx.progress(0, steps)

        def on_step_end(pipe, i, t, tensors):
            ctx.progress(i + 1, steps)  # raises Interrupted when the job is interrupted
            return tensors

        # Interrupts: before each encoder, each UNet call (a step) and each decode chunk, and the
        # blocks inside the UNet and the decoder (interrupts.py); progress also checks per step.
        with torch.inference_mode(), manager.use(self.model) as pipe, \
                interrupt_points(ctx.check_interrupt, interrupt_modules(pipe)):
            pipe.scheduler = pipe.scheduler.__class__.from_config(pipe.scheduler.config)  # no state across calls
            latents = pipe(start, height=self.height, width=self.width, num_frames=self.frames,
                           num_inference_steps=steps, min_guidance_scale=self.min_guidance,
                           max_guidance_scale=self.max_guidance, fps=self.fps,
                           motion_bucket_id=self.motion_bucket_id, noise_aug_strength=self.noise_aug_strength,
                           decode_chunk_size=self.decode_chunk_size,
                           generator=torch.Generator("cpu").manual_seed(self.seed), output_type="latent",
                           callback_on_step_end=on_step_end).frames[0]
            frames = decode(pipe, latents, self.decode_chunk_size)
        return {"video": make_video(frames, self.fps), "latent": make_latent_video(latents, self.fps)}


@node("DecodeVideo", category="video", outputs={"video": "VIDEO"})
class DecodeVideo(Node):
    """Decode SVD latents to frames with the temporal VAE (LoRAs never touch it), `decode_chunk_size`
    frames at a time: re-decode with another chunk size without sampling again."""
    model: Any = Socket("VIDEO_MODEL")
    latent: Any = Socket("LATENT_VIDEO")
    decode_chunk_size: int = Widget(8, ge=1, le=128)

    def run(self, ctx):
        torch = imported("torch")  # the first node to need it in a cold process pays its import
        with torch.inference_mode(), model_manager(ctx).use(self.model, patched=False) as pipe, \
                interrupt_points(ctx.check_interrupt, interrupt_modules(pipe)):
            frames = decode(pipe, self.latent["latents"], self.decode_chunk_size)
        return {"video": make_video(frames, self.latent["fps"])}
