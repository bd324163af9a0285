"""SVD_img2vid_Conditioning: a start image → the conditioning and empty latent of a Stable Video
Diffusion run (then KSampler → VAEDecode, as in ComfyUI's SVD example).

The image embedding is diffusers' own (``StableVideoDiffusionPipeline._encode_image``: CLIP
vision at 224 px); the image latent is the VAE's encoding of the start image resized to the
video's size, with `augmentation_level` noise added first. ComfyUI draws that noise unseeded;
here it comes from a generator seeded 0, so equal inputs give equal videos.
"""
from __future__ import annotations

from typing import Any

from nodegraph import Node, Socket, Widget, imported, node

from .access import pipeline, vae_module, vae_precision
from .handles import ComfyClipVision, ComfyVae
from .latent import MAX_RESOLUTION, upscale
from .loaders import demos_of
from .values import handle_of, latent


@node("SVD_img2vid_Conditioning", category="conditioning/video_models",
      outputs={"positive": "CONDITIONING", "negative": "CONDITIONING", "latent": "LATENT"})
class SVD_img2vid_Conditioning(Node):
    """Condition Stable Video Diffusion on a start image; the latent holds `video_frames` empty frames."""
    clip_vision: Any = Socket("CLIP_VISION")
    init_image: Any = Socket("IMAGE")
    vae: Any = Socket("VAE")
    width: int = Widget(1024, ge=16, le=MAX_RESOLUTION, step=8)
    height: int = Widget(576, ge=16, le=MAX_RESOLUTION, step=8)
    video_frames: int = Widget(14, ge=1, le=4096)
    motion_bucket_id: int = Widget(127, ge=1, le=1023)
    fps: int = Widget(6, ge=1, le=1024)
    augmentation_level: float = Widget(0.0, ge=0.0, le=10.0, step=0.01)

    @classmethod
    def upstream_demos(cls, input_name: str) -> tuple[str, ...]:
        """--demo-models: the checkpoint its clip_vision and vae come from is an SVD one."""
        return demos_of(video=True) if input_name in ("clip_vision", "vae") else ()

    def run(self, ctx):
        torch = imported("torch")
        from nodegraph_nodes.basic.image import tensor_to_pil
        vision = handle_of(self.clip_vision, ComfyClipVision, "clip_vision", "CLIP_VISION")
        vae = handle_of(self.vae, ComfyVae, "vae", "VAE")
        start = self.init_image[:1, :, :, :3]
        with torch.inference_mode():
            with pipeline(ctx, vision, parts="image") as pipe:
                device = next(pipe.image_encoder.parameters()).device
                embeds = pipe._encode_image(tensor_to_pil(start)[0], device, 1, False).float().cpu()
            pixels = upscale(start.movedim(-1, 1), self.width, self.height, "bilinear", "center")
            pixels = pixels * 2 - 1
            if self.augmentation_level > 0:
                generator = torch.Generator("cpu").manual_seed(0)
                pixels = pixels + self.augmentation_level * torch.randn(pixels.shape, generator=generator)
        # the VAE may change dtype for the encode (force_upcast): outside inference mode
        with vae_module(ctx, vae) as module, vae_precision(module) as dtype, torch.inference_mode():
            x = pixels.to(next(module.parameters()).device, dtype)
            image_latent = module.encode(x).latent_dist.mode().float().cpu()
        extras = {"motion_bucket_id": self.motion_bucket_id, "fps": self.fps,
                  "augmentation_level": self.augmentation_level}
        positive = [[embeds.contiguous(), {**extras, "concat_latent_image": image_latent.contiguous()}]]
        negative = [[torch.zeros_like(embeds), {**extras, "concat_latent_image": torch.zeros_like(image_latent)}]]
        empty = torch.zeros(self.video_frames, 4, self.height // 8, self.width // 8)
        return {"positive": positive, "negative": negative, "latent": latent(empty)}
