"""Fuse LoRAs straight from their files into a pipeline's weights, and put the base back exactly.

The model manager's fused path (``handle.fuse``) used to go through peft: inject adapter layers
for every LoRA, ``set_adapters``, ``fuse_lora``. At SDXL size the injection alone costs ~1 s per
LoRA, only to fold the deltas into the weights at once. Here the files are read with diffusers'
own key conversion (``lora_state_dict``: kohya/A1111 and SGM names, diffusers/peft names, alpha
and adapter metadata, the same rank/alpha rules peft applies), and each target weight becomes

    W ← W + Σ_i λ_i · scale_i · B_i·A_i       (scale = alpha / rank, per module)

computed in float32 on the weight's device and written in place, so parameters keep their
storage (compiled modules and CUDA graphs keep seeing them). The touched base weights are kept
aside; ``restore`` copies them back: bit-exact, unlike unfusing by subtraction.

What is not plain LoRA (DoRA, LoRA biases, rsLoRA with patterns, other adapter kinds) raises
``Unsupported``: the manager then uses peft, as it does for unfused and switching paths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

COMPONENT_PREFIXES = (("text_encoder_2", "text_encoder_2."), ("text_encoder", "text_encoder."), ("unet", "unet."))


class Unsupported(Exception):
    """The file is a valid adapter the direct merge does not handle (peft will)."""


class Misfit(Exception):
    """The file does not fit the model (names no layer of it, or shapes differ)."""


@dataclass
class Factors:
    """One LoRA file as (A, B, scale) per module, per pipeline component, on the CPU."""
    modules: dict[str, dict[str, tuple[Any, Any, float]]] = field(default_factory=dict)

    def components(self) -> tuple[str, ...]:
        return tuple(c for c, mods in self.modules.items() if mods)


def read_factors(pipe, path: str) -> Factors:
    """Parse a LoRA file with diffusers' loaders' own conversions (no layers injected)."""
    from diffusers.utils.peft_utils import _create_lora_config
    from diffusers.utils.state_dict_utils import (convert_state_dict_to_diffusers, convert_state_dict_to_peft,
                                                  convert_unet_state_dict_to_peft)

    state, alphas, metadata = pipe.lora_state_dict(path, unet_config=pipe.unet.config, return_lora_metadata=True)
    if not all("lora" in key for key in state):  # load_lora_weights' own check
        raise Misfit("not every key is a LoRA key")
    if any("dora_scale" in k or "lora_magnitude" in k or ".lokr_" in k for k in state):
        raise Unsupported("DoRA/LoKr")
    factors = Factors()
    for component, prefix in COMPONENT_PREFIXES:
        model = getattr(pipe, component, None)
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if model is None or not sub:
            continue
        sub_alphas = None
        if alphas:
            sub_alphas = {k[len(prefix):]: v for k, v in alphas.items()
                          if k.startswith(prefix)} or None
        sub_meta = None
        if metadata:
            sub_meta = {k[len(prefix):]: v for k, v in metadata.items() if k.startswith(prefix)} or None
        if component == "unet":
            if "lora_A" not in next(iter(sub)):
                sub = convert_unet_state_dict_to_peft(sub)
        else:
            sub = convert_state_dict_to_peft(convert_state_dict_to_diffusers(sub))
            if not hasattr(model, "text_model"):
                sub = {k.removeprefix("text_model."): v for k, v in sub.items()}
        if any(k.endswith(".bias") for k in sub):
            raise Unsupported("LoRA biases")
        ranks = {f"^{k}": v.shape[1] for k, v in sub.items() if "lora_B" in k and v.ndim > 1}
        if not ranks:
            continue
        config = _create_lora_config(sub, sub_alphas, sub_meta, ranks, is_unet=component == "unet")
        if getattr(config, "use_dora", False) or getattr(config, "lora_bias", False):
            raise Unsupported("DoRA or LoRA bias")
        modules = {}
        for key, a in sub.items():
            if ".lora_A." not in key:
                continue
            name = key.split(".lora_A.")[0]
            b = sub.get(f"{name}.lora_B.weight")
            if b is None:
                raise Misfit(f"{name} has lora_A but no lora_B")
            modules[name] = (a, b, _scaling(config, name))
        factors.modules[component] = modules
    if not factors.components():
        raise Misfit("none of its keys name a layer of this model (is it a LoRA for another architecture?)")
    return factors


def _scaling(config, name: str) -> float:
    """alpha / r for module ``name`` by peft's own pattern rules."""
    from peft.utils.other import get_pattern_key
    r = config.rank_pattern.get(get_pattern_key(config.rank_pattern.keys(), name), config.r)
    alpha = config.alpha_pattern.get(get_pattern_key(config.alpha_pattern.keys(), name), config.lora_alpha)
    return alpha / math.sqrt(r) if config.use_rslora else alpha / r


def _delta(a, b, weight) -> Any:
    """B·A shaped like ``weight`` (Linear, 1×1 or k×k Conv2d), as peft's get_delta_weight."""
    import torch.nn.functional as F
    if weight.dim() == 2:
        return b.flatten(1) @ a.flatten(1)
    if weight.dim() == 4:
        if weight.shape[2:4] == (1, 1):
            return (b.flatten(1) @ a.flatten(1))[:, :, None, None]
        return F.conv2d(a.transpose(0, 1), b).transpose(0, 1)
    raise Unsupported(f"{weight.dim()}-D weight")


def _base_weight(model, name: str):
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    get_base = getattr(module, "get_base_layer", None)
    if get_base is not None:  # a peft wrapper left from an unfused use: merge into its base layer
        module = get_base()
    weight = getattr(module, "weight", None)
    if weight is None or getattr(module, "groups", 1) != 1:
        return None
    return weight


def merge(pipe, patches: Iterable[tuple[Factors, float]]) -> list[tuple[Any, Any]]:
    """Add Σ λ·scale·B·A into the weights in place; returns (weight, original) pairs for ``restore``.

    One module at a time, so what is held in float32 at once is one module's delta, not every
    module's (8.2 GiB for LCM-LoRA's 722 SDXL UNet modules, on top of the model and its saved base).
    On any failure the weights touched so far are restored before the exception propagates.
    """
    import torch
    terms: dict[tuple[str, str], list[tuple[Any, Any, float]]] = {}  # module -> its (A, B, λ·scale)
    for factors, strength in patches:
        for component, modules in factors.modules.items():
            for name, (a, b, scale) in modules.items():
                terms.setdefault((component, name), []).append((a, b, float(strength) * scale))
    saved: list[tuple[Any, Any]] = []
    try:
        with torch.no_grad():
            for (component, name), module_terms in terms.items():
                weight = _base_weight(getattr(pipe, component), name)
                if weight is None:
                    raise Misfit(f"{component} has no layer {name!r}")
                total = None
                for a, b, factor in module_terms:
                    delta = _delta(a.to(weight.device, torch.float32), b.to(weight.device, torch.float32), weight)
                    if delta.shape != weight.shape:
                        raise Misfit(f"{component}.{name}: LoRA gives {tuple(delta.shape)}, "
                                     f"the layer is {tuple(weight.shape)}")
                    delta.mul_(factor)  # in place: delta is this loop's own tensor
                    total = delta if total is None else total.add_(delta)
                saved.append((weight, weight.detach().clone()))
                weight.copy_(total.add_(weight))  # W + Σ in float32, rounded once into W's dtype
    except BaseException:
        restore(saved)
        raise
    return saved


def restore(saved: list[tuple[Any, Any]]) -> None:
    import torch
    with torch.no_grad():
        for weight, original in reversed(saved):
            weight.copy_(original)


def saved_bytes(saved: list[tuple[Any, Any]]) -> int:
    return sum(original.numel() * original.element_size() for _, original in saved)
