"""CLIPTextEncode and ConditioningCombine: prompts to ComfyUI's CONDITIONING.

Encoding follows ComfyUI's choices, which differ from diffusers' pipelines in places:
- a prompt longer than 75 tokens is encoded in 75-token chunks (each wrapped in start/end
  tokens, padded to 77) whose embeddings are concatenated; the pooled output is the first
  chunk's;
- SD 1.x uses the last layer's output (after the final layer norm); SDXL and the refiner use
  the penultimate layer, without the norm; CLIPSetLastLayer picks another layer (SD 1.x then
  applies the final norm, SDXL does not), and a layer beyond the encoder's depth means the last;
- SDXL concatenates CLIP-L's and OpenCLIP-bigG's hidden states; the refiner has bigG alone;
  the pooled output is bigG's projected end-token embedding;
- an empty prompt is encoded like any other (diffusers' SDXL zeroes empty negatives; ComfyUI does not).
Prompt weighting syntax "(word:1.2)" is not interpreted: the text is encoded as written.
"""
from __future__ import annotations

from typing import Any

from nodegraph import Node, NodeError, Socket, Widget, imported, node

from .access import pipeline
from .handles import ComfyClip
from .values import entries, handle_of

DEFAULT_LAYER = {"sd1": -1, "sdxl": -2, "sdxl_refiner": -2}
FINAL_NORM = {"sd1": True, "sdxl": False, "sdxl_refiner": False}
CHUNK = 75


def _chunks(tokenizer, text: str) -> list[list[int]]:
    ids = tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    pieces = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)] or [[]]
    return [[bos] + piece + [eos] + [pad] * (CHUNK - len(piece)) for piece in pieces]


def _hidden(encoder, ids, layer: int, final_norm: bool):
    torch = imported("torch")
    out = encoder(torch.tensor([ids], device=next(encoder.parameters()).device), output_hidden_states=True)
    depth = len(out.hidden_states) - 1
    if abs(layer) > depth or (layer == -1 and final_norm):
        hidden = out.hidden_states[-1]
        hidden = getattr(encoder, "text_model", encoder).final_layer_norm(hidden) if final_norm else hidden
    else:
        hidden = out.hidden_states[layer]
        if final_norm:
            hidden = getattr(encoder, "text_model", encoder).final_layer_norm(hidden)
    pooled = getattr(out, "text_embeds", None)
    return hidden, pooled


def encode(pipe, clip: ComfyClip, text: str) -> list:
    """One CONDITIONING entry for ``text``."""
    torch = imported("torch")
    family = clip.family
    layer = clip.stop_at_layer if clip.stop_at_layer is not None else DEFAULT_LAYER[family]
    norm = FINAL_NORM[family]
    parts, pooled = [], None
    if family == "sd1":
        for ids in _chunks(pipe.tokenizer, text):
            parts.append(_hidden(pipe.text_encoder, ids, layer, norm)[0])
    elif family == "sdxl":
        first = _chunks(pipe.tokenizer, text)
        second = _chunks(pipe.tokenizer_2, text)
        for n, (a, b) in enumerate(zip(first, second)):
            h1, _ = _hidden(pipe.text_encoder, a, layer, norm)
            h2, p2 = _hidden(pipe.text_encoder_2, b, layer, norm)
            parts.append(torch.cat([h1, h2], dim=-1))
            pooled = p2 if n == 0 else pooled
    else:
        for n, ids in enumerate(_chunks(pipe.tokenizer_2, text)):
            h2, p2 = _hidden(pipe.text_encoder_2, ids, layer, norm)
            parts.append(h2)
            pooled = p2 if n == 0 else pooled
    embeds = torch.cat(parts, dim=1).float().cpu().contiguous()
    extras = {} if pooled is None else {"pooled_output": pooled.float().cpu().contiguous()}
    return [embeds, extras]


@node("CLIPTextEncode", category="conditioning", outputs={"conditioning": "CONDITIONING"})
class CLIPTextEncode(Node):
    """Encode a prompt with the checkpoint's text encoder(s) into CONDITIONING."""
    text: str = Widget(multiline=True, description="the prompt")
    clip: Any = Socket("CLIP")

    def run(self, ctx):
        torch = imported("torch")
        clip = handle_of(self.clip, ComfyClip, "clip", "CLIP")
        if clip.family == "svd":
            raise NodeError("SVD has no text encoder: condition it with SVD_img2vid_Conditioning", input="clip")
        with torch.inference_mode(), pipeline(ctx, clip, parts="text") as pipe:
            return {"conditioning": [encode(pipe, clip, self.text)]}


@node("ConditioningCombine", category="conditioning", outputs={"conditioning": "CONDITIONING"})
class ConditioningCombine(Node):
    """Both conditionings at once: the sampler averages their predictions at every step."""
    conditioning_1: Any = Socket("CONDITIONING")
    conditioning_2: Any = Socket("CONDITIONING")

    def run(self, ctx):
        return {"conditioning": entries(self.conditioning_1, "conditioning_1")
                + entries(self.conditioning_2, "conditioning_2")}
