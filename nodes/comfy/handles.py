"""The values on the comfy pack's MODEL, CLIP, VAE and CLIP_VISION edges: immutable handles.

ComfyUI's CheckpointLoaderSimple returns three objects that share one checkpoint's weights. Here
they are three frozen, picklable descriptions of one base ``ModelSource`` (the SDXL pack's), each
with the patches that concern its part; the model managers (the SDXL pack's for SD 1.x / SDXL /
refiner pipelines, the video pack's for SVD) turn a source into warm weights:

- ``ComfyModel`` (MODEL): the diffusion model (UNet) + LoRA patches restricted to the UNet, the
  sampling mode of ModelSamplingDiscrete and the per-frame guidance of VideoLinearCFGGuidance;
- ``ComfyClip`` (CLIP): the text encoders + LoRA patches restricted to them, and the layer
  CLIPSetLastLayer stops at;
- ``ComfyVae`` (VAE): the checkpoint's VAE, or a separate one (VAELoader);
- ``ComfyClipVision`` (CLIP_VISION): SVD's image encoder.

Importing this module does not import torch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from nodegraph_nodes.sdxl.model_manager import LoraPatch, ModelHandle, ModelSource

# Families: "sd1", "sdxl", "sdxl_refiner" (diffusers image pipelines), "svd" (video).
IMAGE_FAMILIES = ("sd1", "sdxl", "sdxl_refiner")
FAMILY_NAMES = {"sd1": "Stable Diffusion 1.x", "sdxl": "SDXL", "sdxl_refiner": "SDXL refiner",
                "svd": "Stable Video Diffusion"}
UNET = ("unet",)
TEXT = ("text_encoder", "text_encoder_2")


@dataclass(frozen=True)
class ComfyModel:
    __cache_persist__ = True
    source: ModelSource
    family: str
    patches: tuple[LoraPatch, ...] = ()
    sampling: str = "default"  # ModelSamplingDiscrete: "default" (the checkpoint's), "eps", "v_prediction", "lcm", "x0"
    zsnr: bool = False
    min_cfg: float | None = None  # VideoLinearCFGGuidance: guidance rises from this (first frame) to cfg

    @property
    def comfy_family(self) -> str:
        return self.family

    def with_lora(self, patch: LoraPatch) -> "ComfyModel":
        return replace(self, patches=self.patches + (replace(patch, components=UNET),))

    def base_handle(self) -> ModelHandle:
        """What the SDXL pack's manager materialises: the base with the UNet's patches fused."""
        return ModelHandle(self.source, self.patches, fuse=True)


@dataclass(frozen=True)
class ComfyClip:
    __cache_persist__ = True
    source: ModelSource
    family: str
    patches: tuple[LoraPatch, ...] = ()
    stop_at_layer: int | None = None  # CLIPSetLastLayer; None: the family's default

    @property
    def comfy_family(self) -> str:
        return self.family

    def with_lora(self, patch: LoraPatch) -> "ComfyClip":
        return replace(self, patches=self.patches + (replace(patch, components=TEXT),))

    def base_handle(self) -> ModelHandle:
        return ModelHandle(self.source, self.patches, fuse=True)


@dataclass(frozen=True)
class ComfyVae:
    __cache_persist__ = True
    source: ModelSource  # for a separate VAE file: the source whose pipeline it joins (``vae`` set)
    family: str

    @property
    def comfy_family(self) -> str:
        return self.family


@dataclass(frozen=True)
class ComfyClipVision:
    __cache_persist__ = True
    source: ModelSource
    family: str = "svd"

    @property
    def comfy_family(self) -> str:
        return self.family
