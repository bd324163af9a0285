"""ComfyUI's layouts of LATENT and CONDITIONING values, and the refusals of values that are not.

- LATENT: ``{"samples": float tensor [batch, 4, height/8, width/8]}`` in the VAE's own latent
  space (not multiplied by the model's scaling factor: the sampler does that, as ComfyUI's
  models do); a video latent is one image latent per frame, batched. Optional keys:
  ``batch_index``, ``noise_mask`` (kept through, not used by these nodes).
- CONDITIONING: ``[[embeddings, {"pooled_output": tensor, ...}], ...]`` — one entry per prompt;
  ConditioningCombine concatenates the lists, and the sampler averages the predictions of the
  entries. SVD's entries carry ``concat_latent_image``, ``fps``, ``motion_bucket_id`` and
  ``augmentation_level`` beside the image embedding.

Values live on the CPU in float32, so they cache to disk and move between devices.
"""
from __future__ import annotations

from typing import Any

from nodegraph import NodeError
from nodegraph.api.types import is_tensor


def latent(samples, **extra) -> dict[str, Any]:
    return {"samples": samples.detach().float().cpu().contiguous(), **extra}


def samples_of(value: Any, input_name: str):
    """The samples tensor of a comfy LATENT; a native latent tensor is refused with the way out."""
    if isinstance(value, dict) and is_tensor(value.get("samples")):
        return value["samples"]
    if is_tensor(value):
        raise NodeError("this LATENT comes from a native node (a scaled latent tensor, not ComfyUI's "
                        "{samples: ...}); decode it with DecodeLatent, or build the graph from comfy nodes",
                        input=input_name)
    raise NodeError(f"expects a LATENT ({{samples: tensor}}), got {type(value).__name__}", input=input_name)


def entries(value: Any, input_name: str) -> list:
    """The [embeddings, extras] entries of a comfy CONDITIONING."""
    if isinstance(value, (list, tuple)) and all(isinstance(e, (list, tuple)) and len(e) == 2 for e in value):
        return [[e[0], dict(e[1])] for e in value]
    if isinstance(value, dict):
        raise NodeError("this CONDITIONING comes from a native node (EncodePrompt's dict); encode the prompt "
                        "with CLIPTextEncode for comfy samplers", input=input_name)
    raise NodeError(f"expects a CONDITIONING ([[embeddings, extras], ...]), got {type(value).__name__}",
                    input=input_name)


def handle_of(value: Any, cls: type, input_name: str, what: str):
    """``value`` when it is a ``cls`` handle, else a NodeError naming what came instead."""
    if isinstance(value, cls):
        return value
    origin = "a native node's model handle (LoadSDXL/LoadSVD)" if hasattr(value, "source") else type(value).__name__
    raise NodeError(f"expects a comfy-pack {what} (from CheckpointLoaderSimple and friends), got {origin}",
                    input=input_name)
