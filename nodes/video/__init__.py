"""Video family: Stable Video Diffusion (LoadSVD, SVDImageToVideo, DecodeVideo), camera-motion
LoRAs on its temporal attention, frame interpolation, video files in and out, frame utilities.

Its model manager (``model_manager.py``) keeps SVD pipelines warm across jobs; its demo assets
(``demo/``) are a tiny seeded SVD pipeline, three camera LoRAs and a start frame. Its socket
types and file kinds are declared below, with the readers of the workflow a saved clip embeds
(``mp4meta.py`` for MP4, ``clip_meta.py`` for WebM, animated WebP and GIF).
"""
from nodegraph import FileKind, SocketType

from . import camera_lora, frames, interpolate, svd, video_io  # noqa: F401  (importing registers the nodes)
from .demo import DEMOS  # noqa: F401  (registered with the core)
from .clip_meta import WORKFLOW_READERS as CLIP_READERS
from .mp4meta import WORKFLOW_READER
from .values import is_latent_video, is_video

SOCKET_TYPES = [
    SocketType("VIDEO", description="dict: frames (float tensor [frames, height, width, 3] in 0..1) and fps",
               color="#4dd0e1", check=is_video),
    SocketType("VIDEO_MODEL", description="a Stable Video Diffusion model handle: base weights plus camera LoRAs",
               color="#7e57c2", persist=False),
    SocketType("LATENT_VIDEO", description="dict: SVD latents [frames, 4, height/8, width/8] and fps",
               color="#f48fb1", check=is_latent_video),
]
FILE_KINDS = [
    FileKind("video", "input", "clips and frame folders in the input folder (uploads land here)"),
    FileKind("checkpoint", "models", "SVD models: diffusers folders or single-file .safetensors (models/checkpoint/)"),
    FileKind("lora", "models", "camera-motion LoRA .safetensors files (models/lora/)"),
]
# `nodegraph run clip.mp4` (or .webm, .webp, .gif): the workflow SaveVideo embedded
WORKFLOW_READERS = [WORKFLOW_READER, *CLIP_READERS]
