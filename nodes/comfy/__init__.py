"""ComfyUI's core nodes, implemented over diffusers: the contract of ComfyUI's /object_info
(class names, input names and order, defaults, ranges, choices, output slots and types) for
SD 1.x, SDXL base and refiner, and Stable Video Diffusion, so ComfyUI workflows run as they are.

Outputs are declared in ComfyUI's slot order, named as ComfyUI's output names lower-cased.
Weights come from the SDXL and video packs' model managers (shared, warm across jobs); LoRAs
merge through the SDXL pack's direct merge. MODEL, LATENT and CONDITIONING are the SDXL pack's
socket types (their values here follow ComfyUI's layouts; see values.py); the types below are
this pack's own. docs/comfyui-nodes.md lists every node and its limits.
"""
from nodegraph import FileKind, Resources, SocketType
from nodegraph.api.types import is_tensor
from nodegraph_nodes.sdxl import SOCKET_TYPES as _SDXL_TYPES

from . import (custom_sampling, image_size, ksampler, latent, loaders, logic, preview, primitives,  # noqa: F401
               svd, text, video)  # (registers the nodes)
from .demo import DEMOS  # noqa: F401  (registered with the core)

_SHARED = [t for t in _SDXL_TYPES if t.name in ("MODEL", "LATENT", "CONDITIONING")]
SOCKET_TYPES = _SHARED + [
    SocketType("CLIP", description="a text-encoder handle: a checkpoint's CLIP models plus LoRA patches",
               color="#ffd500"),
    SocketType("VAE", description="a VAE handle: a checkpoint's VAE or a separate VAE file", color="#ff6e6e"),
    SocketType("CLIP_VISION", description="an image-encoder handle (SVD's CLIP vision model)", color="#a1887f"),
    SocketType("SAMPLER", description="a sampler name (KSamplerSelect)", color="#ecb4b4",
               check=lambda v: isinstance(v, str)),
    SocketType("SIGMAS", description="a 1-D tensor of noise levels, highest first (BasicScheduler)",
               color="#cdffcd", check=lambda v: is_tensor(v) and v.dim() == 1),
    SocketType("NOISE", description="a noise source: its seed, or none (RandomNoise, DisableNoise)",
               color="#b0b0b0", check=lambda v: isinstance(v, dict) and "seed" in v),
    SocketType("GUIDER", description="model + conditioning + cfg (CFGGuider)", color="#66666f"),
    SocketType("AUDIO", description="audio (these nodes neither make nor keep any: always none)",
               color="#9fa8da", check=lambda v: v is None or isinstance(v, dict)),
]
FILE_KINDS = [
    FileKind("checkpoint", "models", "checkpoints: single .safetensors files (no config needed) or diffusers "
                                     "folders (models/checkpoints/, models/diffusers/)"),
    FileKind("lora", "models", "LoRA .safetensors files (models/loras/)"),
    FileKind("vae", "models", "VAE .safetensors files or diffusers VAE folders (models/vae/)"),
]
RESOURCES = Resources(gpus=1, models=True)

# ComfyUI classes served by a native node of another name (docs/comfyui-nodes.md): ComfyUI's
# SaveVideo writes the VIDEO its CreateVideo makes; the video pack's SaveVideo already does,
# under its own input names.
COMFY_ALIASES = {
    "SaveVideo": {"type": "SaveVideo", "inputs": {"video": "video", "filename_prefix": "prefix",
                                                  "format": None, "codec": None},
                  "set": {"format": "mp4"},
                  # ComfyUI's choices, shown by its frontend; nodegraph writes H.264 MP4 for either
                  "ui_specs": {"format": [["auto", "mp4"], {"default": "auto"}],
                               "codec": [["auto", "h264"], {"default": "auto"}]}},
}
