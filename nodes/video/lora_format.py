"""Camera-motion LoRA files: which keys they may hold, and reading them for SVD's UNet.

The SVD paper trains its camera-motion LoRAs inside the *temporal attention* blocks only, so a
camera LoRA may only touch the query/key/value/output projections of the temporal transformer
blocks (``…temporal_transformer_blocks.N.attn1|attn2.to_q|to_k|to_v|to_out.0``). Anything else
— typically an SDXL LoRA loaded here by mistake — is refused with the offending keys named,
instead of silently doing nothing. Two key formats are read:

- diffusers / peft: ``[unet.]<module>.lora_A.weight`` and ``.lora_B.weight`` (also with a
  ``base_model.model.`` prefix); alpha = rank unless the file's metadata carries diffusers'
  ``lora_adapter_metadata`` (``lora_alpha`` / ``alpha_pattern``);
- kohya: ``lora_unet_<module with _ for .>.lora_down.weight`` / ``.lora_up.weight`` / ``.alpha``.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPORAL_ATTENTION = re.compile(r"(^|\.)temporal_transformer_blocks\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)$")
_KOHYA_TEMPORAL = re.compile(r"temporal_transformer_blocks_\d+_attn[12]_(to_q|to_k|to_v|to_out_0)$")
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.|unet\.)?(?P<module>.+)\.lora_(?P<part>A|B)(?:\.default)?\.weight$")
_KOHYA_KEY = re.compile(r"^lora_unet_(?P<module>.+)\.(?P<part>lora_down\.weight|lora_up\.weight|alpha)$")
SHOWN = 4  # offending keys named in a message


class LoraFileError(ValueError):
    pass


@dataclass(frozen=True)
class Factors:
    down: Any  # [rank, in]
    up: Any  # [out, rank]
    rank: int
    alpha: float


@dataclass(frozen=True)
class CameraLora:
    modules: dict[str, Factors]  # UNet module path -> factors


def header(path: Path) -> tuple[list[str], dict[str, str]]:
    """Tensor names and metadata of a .safetensors file (reads the header only)."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise LoraFileError("is not a safetensors file (too short)")
        size = struct.unpack("<Q", raw)[0]
        if size > 100 << 20:
            raise LoraFileError("is not a safetensors file (header too large)")
        try:
            data = json.loads(fh.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LoraFileError("is not a safetensors file (unreadable header)") from None
    meta = data.pop("__metadata__", None) or {}
    return list(data), meta


def _named(keys: list[str], why: str) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return f"{why}: {', '.join(repr(k) for k in keys[:SHOWN])}{more}"


def check_keys(keys: list[str]) -> str | None:
    """A message when the keys are not a camera-motion LoRA for SVD's temporal attention."""
    if not keys:
        return "holds no tensors"
    unknown, outside = [], []
    for key in keys:
        peft, kohya = _PEFT_KEY.match(key), _KOHYA_KEY.match(key)
        if peft:
            if not TEMPORAL_ATTENTION.search(peft["module"]):
                outside.append(key)
        elif kohya:
            if not _KOHYA_TEMPORAL.search(kohya["module"]):
                outside.append(key)
        else:
            unknown.append(key)
    if outside:
        return _named(outside, f"touches {len(outside)} weights outside SVD's temporal attention (a camera-motion "
                               "LoRA may only patch temporal_transformer_blocks.N.attn1/attn2 to_q/to_k/to_v/to_out.0; "
                               "is it a LoRA for another model?)")
    if unknown:
        return _named(unknown, "has keys that are not LoRA factors (expected <module>.lora_A/lora_B.weight or "
                               "lora_unet_<module>.lora_down/lora_up.weight)")
    return None


def check_file(path: Path) -> str | None:
    try:
        keys, _meta = header(path)
    except OSError as exc:
        return f"cannot be read: {exc}"
    except LoraFileError as exc:
        return str(exc)
    return check_keys(keys)


def read_camera_lora(path: str | Path, unet) -> CameraLora:
    """The file's factors keyed by UNet module path; checks names, pairs and shapes."""
    from safetensors.torch import load_file
    path = Path(path)
    problem = check_file(path)
    if problem:
        raise LoraFileError(problem)
    _keys, meta = header(path)
    tensors = load_file(str(path))
    modules = dict(unet.named_modules())
    by_underscore = {name.replace(".", "_"): name for name in modules}
    parts: dict[str, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        peft, kohya = _PEFT_KEY.match(key), _KOHYA_KEY.match(key)
        if peft:
            module, part = peft["module"], {"A": "down", "B": "up"}[peft["part"]]
        else:
            module = by_underscore.get(kohya["module"], kohya["module"])
            part = {"lora_down.weight": "down", "lora_up.weight": "up", "alpha": "alpha"}[kohya["part"]]
        parts.setdefault(module, {})[part] = tensor
    alpha, alpha_pattern = _peft_alpha(meta)
    out: dict[str, Factors] = {}
    absent = [m for m in parts if m not in modules]
    if absent:
        raise LoraFileError(_named(absent, "names layers this model does not have"))
    for module, found in sorted(parts.items()):
        if "down" not in found or "up" not in found:
            raise LoraFileError(f"module {module!r} lacks its {'up' if 'down' in found else 'down'} factor")
        down, up = found["down"].float(), found["up"].float()
        weight = modules[module].weight
        if down.dim() != 2 or up.dim() != 2 or up.shape[1] != down.shape[0] or \
                (up.shape[0], down.shape[1]) != tuple(weight.shape):
            raise LoraFileError(f"module {module!r}: factors {tuple(up.shape)} x {tuple(down.shape)} do not fit its "
                                f"weight {tuple(weight.shape)}")
        rank = down.shape[0]
        if "alpha" in found:
            module_alpha = float(found["alpha"])
        else:
            module_alpha = float(alpha_pattern.get(module, alpha if alpha is not None else rank))
        out[module] = Factors(down, up, rank, module_alpha)
    return CameraLora(out)


def _peft_alpha(meta: dict[str, str]) -> tuple[float | None, dict[str, float]]:
    """lora_alpha and alpha_pattern from diffusers' ``lora_adapter_metadata`` (if present)."""
    text = meta.get("lora_adapter_metadata")
    if not text:
        return None, {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        return None, {}
    config = config.get("unet", config) if isinstance(config, dict) else {}
    return config.get("lora_alpha"), dict(config.get("alpha_pattern") or {})
