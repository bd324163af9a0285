"""SDXL + LCM-LoRA family: loading, prompts, sampling, decoding, LoRAs, checkpoints.

Its model manager (``model_manager.py``) keeps materialised pipelines warm across jobs; its demo
models (``demo/``, registered as ``demo:`` assets) are tiny seeded SDXL-architecture files built
on first use. Its socket types and file kinds are declared below.
"""
from nodegraph import FileKind, Resources, SocketType
from nodegraph.api.types import is_tensor, is_tensor_dict

from . import checkpoint, lora, pipeline  # noqa: F401  (importing registers the @node classes)


def is_latent(value) -> bool:
    """A native latent tensor, or ComfyUI's ``{"samples": tensor, ...}`` (the comfy pack's)."""
    return is_tensor(value) or (isinstance(value, dict) and is_tensor(value.get("samples")))


def is_conditioning(value) -> bool:
    """A native dict of prompt tensors, or ComfyUI's ``[[tensor, {extras}], ...]`` (the comfy pack's)."""
    if isinstance(value, (list, tuple)):
        return all(isinstance(e, (list, tuple)) and len(e) == 2 and is_tensor(e[0]) and isinstance(e[1], dict)
                   for e in value)
    return is_tensor_dict(value)


# LATENT, CONDITIONING and MODEL are shared with the comfy pack (nodegraph_nodes.comfy), whose
# values follow ComfyUI's layouts; each pack's nodes tell the other's values apart and say so.
SOCKET_TYPES = [
    SocketType("LATENT", description="latent tensor [batch, channels, height, width] (or with frames); "
                                     "comfy-pack nodes: ComfyUI's {samples: tensor}",
               color="#ff9cf9", check=is_latent),
    SocketType("CONDITIONING", description="dict of prompt-embedding tensors; comfy-pack nodes: ComfyUI's "
                                           "[[embeddings, {pooled_output, ...}], ...]", color="#ffa931",
               check=is_conditioning),
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
