"""Latents and pixels: EmptyLatentImage, VAEEncode, VAEDecode, LatentUpscale, LatentUpscaleBy,
ImageScale, ImageScaleBy. LATENT values are ComfyUI's ``{"samples": raw VAE latents}`` (values.py); IMAGE is
[batch, height, width, channels] in 0..1 as everywhere in nodegraph. A video latent is one
latent per frame (the batch); VAEDecode decodes it with SVD's temporal decoder.
"""
from __future__ import annotations

from typing import Any, Literal

from nodegraph import Node, NodeError, Socket, Widget, imported, node

from .access import vae_module, vae_precision
from .handles import ComfyVae
from .values import handle_of, latent, samples_of

MAX_RESOLUTION = 16384
VIDEO_DECODE_CHUNK = 8  # frames through the temporal decoder at once (what diffusers' SVD pipeline defaults to)
LATENT_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "bislerp")
IMAGE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")


def upscale(samples, width: int, height: int, method: str, crop: str):
    """[B, C, H, W] resized to height × width, cropped to the target's aspect first when
    ``crop`` is "center" (ComfyUI's common_upscale)."""
    torch = imported("torch")
    import torch.nn.functional as F
    if crop == "center":
        old_w, old_h = samples.shape[-1], samples.shape[-2]
        old_aspect, new_aspect = old_w / old_h, width / height
        x = y = 0
        if old_aspect > new_aspect:
            x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
        elif old_aspect < new_aspect:
            y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
        samples = samples[..., y:old_h - y, x:old_w - x]
    if method == "lanczos":
        from PIL import Image
        import numpy as np
        out = []
        for image in samples.movedim(1, -1).clamp(0, 1):
            array = (image.cpu().numpy() * 255).round().astype(np.uint8)
            picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array[..., :3])
            resized = np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32) / 255
            out.append(torch.from_numpy(resized.reshape(height, width, -1).copy()))
        return torch.stack(out).movedim(-1, 1)
    mode = {"nearest-exact": "nearest-exact", "bilinear": "bilinear", "area": "area", "bicubic": "bicubic"}[method]
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return F.interpolate(samples.float(), size=(height, width), mode=mode, **kwargs)


def _keep_aspect(width: int, height: int, old_w: int, old_h: int) -> tuple[int, int]:
    """ComfyUI's rule: a 0 side follows the other's scale; both 0 keep the size."""
    if width == 0 and height == 0:
        return old_w, old_h
    if width == 0:
        width = max(1, round(old_w * height / old_h))
    elif height == 0:
        height = max(1, round(old_h * width / old_w))
    return width, height


def _bislerp_problem(literals) -> list[tuple[str | None, str]]:
    if literals.get("upscale_method") == "bislerp":
        return [("upscale_method", "'bislerp' (ComfyUI's spherical interpolation) is not implemented here; "
                                   "nearest supported: bilinear, bicubic, nearest-exact, area")]
    return []


@node("EmptyLatentImage", category="latent", outputs={"latent": "LATENT"})
class EmptyLatentImage(Node):
    """A batch of empty (zero) latents: the start of text-to-image."""
    width: int = Widget(512, ge=16, le=MAX_RESOLUTION, step=8)
    height: int = Widget(512, ge=16, le=MAX_RESOLUTION, step=8)
    batch_size: int = Widget(1, ge=1, le=4096)

    def run(self, ctx):
        torch = imported("torch")
        return {"latent": latent(torch.zeros(self.batch_size, 4, self.height // 8, self.width // 8))}


@node("VAEDecode", category="latent", outputs={"image": "IMAGE"})
class VAEDecode(Node):
    """Decode latents to images (a video latent: its frames, through SVD's temporal decoder)."""
    samples: Any = Socket("LATENT")
    vae: Any = Socket("VAE")

    def run(self, ctx):
        torch = imported("torch")
        samples = samples_of(self.samples, "samples")
        vae = handle_of(self.vae, ComfyVae, "vae", "VAE")
        with vae_module(ctx, vae) as module, vae_precision(module) as dtype, torch.inference_mode():
            x = samples.to(next(module.parameters()).device, dtype)
            if vae.family == "svd":
                pieces = [module.decode(x[i:i + VIDEO_DECODE_CHUNK], num_frames=len(x[i:i + VIDEO_DECODE_CHUNK])).sample
                          for i in range(0, len(x), VIDEO_DECODE_CHUNK)]
                pixels = torch.cat(pieces)
            else:
                pixels = module.decode(x).sample
        image = ((pixels.float() + 1) / 2).clamp(0, 1).movedim(1, -1).cpu().contiguous()
        return {"image": image}


@node("VAEEncode", category="latent", outputs={"latent": "LATENT"})
class VAEEncode(Node):
    """Encode images to latents (the start of image-to-image); sides are cropped to multiples of 8."""
    pixels: Any = Socket("IMAGE")
    vae: Any = Socket("VAE")

    def run(self, ctx):
        torch = imported("torch")
        vae = handle_of(self.vae, ComfyVae, "vae", "VAE")
        pixels = self.pixels[..., :3]
        height, width = (pixels.shape[1] // 8) * 8, (pixels.shape[2] // 8) * 8
        if height == 0 or width == 0:
            raise NodeError(f"image of {pixels.shape[2]}x{pixels.shape[1]} is smaller than 8 pixels", input="pixels")
        top, left = (pixels.shape[1] % 8) // 2, (pixels.shape[2] % 8) // 2
        pixels = pixels[:, top:top + height, left:left + width]
        with vae_module(ctx, vae) as module, vae_precision(module) as dtype, torch.inference_mode():
            x = pixels.movedim(-1, 1).to(next(module.parameters()).device, dtype) * 2 - 1
            samples = module.encode(x).latent_dist.mode()
        return {"latent": latent(samples)}


@node("LatentUpscale", category="latent", outputs={"latent": "LATENT"})
class LatentUpscale(Node):
    """Resize latents to width × height pixels (0: follow the other side's scale)."""
    samples: Any = Socket("LATENT")
    upscale_method: Literal[LATENT_METHODS] = Widget("nearest-exact")  # type: ignore[valid-type]
    width: int = Widget(512, ge=0, le=MAX_RESOLUTION, step=8)
    height: int = Widget(512, ge=0, le=MAX_RESOLUTION, step=8)
    crop: Literal["disabled", "center"] = Widget("disabled")

    @classmethod
    def check_inputs(cls, literals, env):
        return _bislerp_problem(literals)

    def run(self, ctx):
        samples = samples_of(self.samples, "samples")
        width, height = _keep_aspect(self.width, self.height, samples.shape[-1] * 8, samples.shape[-2] * 8)
        resized = upscale(samples, max(1, width // 8), max(1, height // 8), self.upscale_method, self.crop)
        return {"latent": {**self.samples, "samples": resized.float().cpu().contiguous()}}


@node("LatentUpscaleBy", category="latent", outputs={"latent": "LATENT"})
class LatentUpscaleBy(Node):
    """Resize latents by a factor."""
    samples: Any = Socket("LATENT")
    upscale_method: Literal[LATENT_METHODS] = Widget("nearest-exact")  # type: ignore[valid-type]
    scale_by: float = Widget(1.5, ge=0.01, le=8.0, step=0.01)

    @classmethod
    def check_inputs(cls, literals, env):
        return _bislerp_problem(literals)

    def run(self, ctx):
        samples = samples_of(self.samples, "samples")
        width, height = round(samples.shape[-1] * self.scale_by), round(samples.shape[-2] * self.scale_by)
        resized = upscale(samples, max(1, width), max(1, height), self.upscale_method, "disabled")
        return {"latent": {**self.samples, "samples": resized.float().cpu().contiguous()}}


@node("ImageScale", category="image/upscaling", outputs={"image": "IMAGE"})
class ImageScale(Node):
    """Resize images to width × height (0: follow the other side's scale)."""
    image: Any = Socket("IMAGE")
    upscale_method: Literal[IMAGE_METHODS] = Widget("nearest-exact")  # type: ignore[valid-type]
    width: int = Widget(512, ge=0, le=MAX_RESOLUTION, step=1)
    height: int = Widget(512, ge=0, le=MAX_RESOLUTION, step=1)
    crop: Literal["disabled", "center"] = Widget("disabled")

    def run(self, ctx):
        width, height = _keep_aspect(self.width, self.height, self.image.shape[2], self.image.shape[1])
        resized = upscale(self.image.movedim(-1, 1), width, height, self.upscale_method, self.crop)
        return {"image": resized.movedim(1, -1).clamp(0, 1).float().cpu().contiguous()}


@node("ImageScaleBy", category="image/upscaling", outputs={"image": "IMAGE"})
class ImageScaleBy(Node):
    """Resize images by a factor (each side rounded to whole pixels)."""
    image: Any = Socket("IMAGE")
    upscale_method: Literal[IMAGE_METHODS] = Widget("nearest-exact")  # type: ignore[valid-type]
    scale_by: float = Widget(1.0, ge=0.01, le=8.0, step=0.01)

    def run(self, ctx):
        height, width = self.image.shape[1:3]
        size = max(1, round(width * self.scale_by)), max(1, round(height * self.scale_by))
        resized = upscale(self.image.movedim(-1, 1), *size, self.upscale_method, "disabled")
        return {"image": resized.movedim(1, -1).clamp(0, 1).float().cpu().contiguous()}
