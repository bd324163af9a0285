"""SDXL + LCM-LoRA family: loading, prompts, sampling, decoding, LoRAs, checkpoints.

Its model manager (``model_manager.py``) keeps materialised pipelines warm across jobs; its demo
models (``demo/``, registered as ``demo:`` assets) are tiny seeded SDXL-architecture files built
on first use. Its socket types and file kinds are declared below.
"""
from nodegraph import FileKind, Resources, SocketType
from nodegraph.api.types import is_tensor, is_tensor_dict

from . import checkpoint, lora, pipeline  # noqa: F401  (importing registers the @node classes)

SOCKET_TYPES = [
    SocketType("LATENT", description="latent tensor [batch, channels, height, width] (or with frames)",
               color="#ff9cf9", check=is_tensor),
    SocketType("CONDITIONING", description="dict of prompt-embedding tensors", color="#ffa931",
               check=is_tensor_dict),
    # Handles describe weights (paths, fingerprints, strengths); the model manager holds the weights.
    # Persisted, an unchanged re-run in a new process serves LoadSDXL and the LoRA nodes from disk.
    SocketType("MODEL", description="a model handle: base weights plus patches", color="#b39ddb"),
    SocketType("LORA", description="a LoRA reference with strength", color="#9575cd"),
]
FILE_KINDS = [
    FileKind("checkpoint", "models", "SDXL models: diffusers folders or single-file .safetensors "
                                     "(models/checkpoint/; ComfyUI's checkpoints/ and diffusers/)"),
    FileKind("lora", "models", "LoRA .safetensors files, kohya or diffusers format (models/lora/; ComfyUI's loras/)"),
    FileKind("vae", "models", "VAE .safetensors files or diffusers VAE folders (models/vae/)"),
]

# Every node of the family may touch the model manager: on a cluster they run in a GPU worker
# that keeps pipelines warm (a GPU is asked for only when the job runs on a GPU).
RESOURCES = Resources(gpus=1, models=True)
