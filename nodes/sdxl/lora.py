"""LoRA nodes: apply one LoRA, stack several, and LCM-LoRA style merging (arXiv 2311.05556).

All of them build new model handles (``model_manager.py``) and never touch weights. The
paper's merge θ' = θ + λ1·τ_style + λ2·τ_LCM is the handle's patch list; the model manager
applies it with set_adapters and, when ``fuse`` is on, folds it into the weights before
sampling so that each UNet step costs what the base model costs.

Both LoRA file formats load through diffusers' ``load_lora_weights``: kohya/A1111
(``lora_unet_…lora_down.weight`` / ``.lora_up.weight`` / ``.alpha``) and diffusers/peft
(``unet.….lora_A.weight`` / ``.lora_B.weight``).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Callable

from nodegraph import FileInput, Node, NodeError, Socket, Widget, node
from nodegraph.files.demo_build import demo_fingerprint
from nodegraph.files.roots import atomic_write, canonicalise_safetensors_header, fingerprint_path
from . import demo
from .model_manager import LORA_COMPONENTS, LoraPatch, ModelHandle
from .pipeline import model_manager, pickle_refusal


def _lora_input(default: Any = ..., **kw) -> Any:
    if default is ...:
        return FileInput("lora", extensions=(".safetensors",), **kw)
    return FileInput("lora", default=default, extensions=(".safetensors",), **kw)


def check_lora_file(value: str, env: Any, check_keys: Callable[[str, Path], str | None] | None = None) -> str | None:
    """A message when ``value`` cannot be a LoRA file; cheap (reads the safetensors header only).

    ``check_keys(value, path)`` judges the file's keys; by default it must hold LoRA weights
    (the video pack passes its stricter camera-LoRA rule).
    """
    if not value:
        return None
    if demo.is_demo(value):
        return None  # the core checked it names a LoRA demo
    refusal = pickle_refusal(value)
    if refusal:
        return refusal
    path = env.files.resolve("lora", value) if env is not None else None
    if path is None:
        return None  # the core reports missing files
    if not path.is_file() or path.suffix.lower() != ".safetensors":
        return f"{value!r} is not a .safetensors LoRA file"
    return (check_keys or _holds_lora_weights)(value, path)


def _holds_lora_weights(value: str, path: Path) -> str | None:
    try:
        keys = safetensors_keys(path)
    except (OSError, ValueError) as exc:
        return f"{value!r} is not a readable safetensors file: {exc}"
    if not any("lora" in k.lower() for k in keys):
        return f"{value!r} holds no LoRA weights (no lora_up/lora_down or lora_A/lora_B keys)"
    return None


def safetensors_keys(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        if size > 100 << 20:
            raise ValueError("header too large")
        header = json.loads(fh.read(size))
    return [k for k in header if k != "__metadata__"]


def lora_patch(ctx, value: str, strength: float, role: str = "lora") -> LoraPatch:
    """The patch of LoRA ``value`` applied by this node: the file's path and content identity
    (a demo's: its name and the version of its pack's recipe)."""
    asset = ctx.env.demo(value)
    if asset is not None:
        path = ctx.env.materialise(value)
        fingerprint = demo_fingerprint(asset)
    else:
        path = ctx.env.files.resolve("lora", value)
        if path is None:
            raise NodeError(f"LoRA file {value!r} not found", input="lora")
        fingerprint = fingerprint_path(path)
    return LoraPatch(str(Path(path).resolve()), fingerprint, float(strength), value, ctx.node_id, role)


class _OneLoraFile(Node):
    """Validation of a node with one ``lora`` file input (not a node)."""

    @classmethod
    def check_inputs(cls, literals, env):
        problem = check_lora_file(literals.get("lora"), env)
        return [("lora", problem)] if problem else []


@node("ApplyLoRA", category="lora", outputs={"model": "MODEL"})
class ApplyLoRA(_OneLoraFile):
    """Add a LoRA (kohya/A1111 or diffusers/peft .safetensors) to a model at a strength.

    Returns a new model handle; the input model is unchanged, so other branches can use it.
    """
    model: Any = Socket("MODEL")
    lora: str = _lora_input()
    strength: float = Widget(1.0, ge=-4.0, le=4.0, step=0.05)

    def run(self, ctx):
        handle: ModelHandle = self.model
        return {"model": handle.with_patches((lora_patch(ctx, self.lora, self.strength),))}


@node("LoadLoRA", category="lora", outputs={"lora": "LORA"})
class LoadLoRA(_OneLoraFile):
    """A LoRA file with a strength, optionally added to a stack (for MergeAcceleration's styles)."""
    lora: str = _lora_input()
    strength: float = Widget(1.0, ge=-4.0, le=4.0, step=0.05)
    stack: Any = Socket("LORA", optional=True)

    def run(self, ctx):
        return {"lora": tuple(self.stack or ()) + (lora_patch(ctx, self.lora, self.strength, role="style"),)}


@node("MergeAcceleration", category="lora", outputs={"model": "MODEL"})
class MergeAcceleration(Node):
    """LCM-LoRA merging: θ + λ1·τ_style (+ more styles) + λ2·τ_acceleration.

    `fuse` folds the merged deltas into the weights before sampling (the fast path: each step
    then costs what the base model costs). `export` also writes the merged LoRA as one
    .safetensors file (diffusers format) to the output folder.
    """
    model: Any = Socket("MODEL")
    acceleration_lora: str = _lora_input("demo:tiny-sdxl-lcm-lora",
                                         description="the acceleration vector, e.g. an LCM-LoRA")
    acceleration_strength: float = Widget(1.0, ge=0.0, le=4.0, step=0.05, description="λ2")
    style_lora: str = _lora_input("", optional=True, description="a style LoRA (optional)")
    style_strength: float = Widget(0.8, ge=-4.0, le=4.0, step=0.05, description="λ1")
    styles: Any = Socket("LORA", optional=True, description="more style LoRAs, each with its strength")
    fuse: bool = Widget(True, description="fuse into the weights before sampling (faster steps)")
    export: bool = Widget(False, description="write the merged LoRA to the output folder")
    export_name: str = Widget("merged_lora")

    @classmethod
    def check_inputs(cls, literals, env):
        problems = []
        for name in ("acceleration_lora", "style_lora"):
            problem = check_lora_file(literals.get(name), env)
            if problem:
                problems.append((name, problem))
        if literals.get("export") and "export_name" in literals and not Path(literals["export_name"]).name:
            problems.append(("export_name", "needs a file name"))
        return problems

    def run(self, ctx):
        patches = [lora_patch(ctx, self.acceleration_lora, self.acceleration_strength, role="acceleration")]
        if self.style_lora:
            patches.append(lora_patch(ctx, self.style_lora, self.style_strength, role="style"))
        patches.extend(self.styles or ())
        handle: ModelHandle = self.model.with_patches(tuple(patches), fuse=self.fuse)
        if self.export:
            path = ctx.env.output_dir / f"{Path(self.export_name).name}.safetensors"
            export_merged_lora(ctx, handle, path)
            ctx.record_file(path)
        return {"model": handle}


def export_merged_lora(ctx, handle: ModelHandle, path: Path) -> None:
    """Write Σ λ·B·A·(alpha/r) of the handle's patches as one diffusers-format LoRA.

    The rank-r_i factors are stacked into one rank-Σr_i LoRA, so the file reproduces the merge
    exactly (no SVD truncation). Every module gets the same total rank (zero-padded) and
    alpha = rank, which diffusers assumes for files without alpha.
    """
    import torch
    from safetensors.torch import save_file

    manager = model_manager(ctx)
    factors: dict[str, list[tuple[Any, Any]]] = {}
    from dataclasses import replace
    # Read the factors from the LoRA layers: those are set aside while fused, so ask unfused.
    with torch.inference_mode(), manager.use(replace(handle, fuse=False)) as pipe:
        weights = dict(manager.adapter_weights(handle))
        for component in LORA_COMPONENTS:
            model = getattr(pipe, component, None)
            if model is None:
                continue
            for module_name, module in model.named_modules():
                lora_a = getattr(module, "lora_A", None)
                if lora_a is None or not hasattr(module, "r"):
                    continue
                for name, weight in weights.items():
                    if name not in lora_a:
                        continue
                    scale = weight * module.lora_alpha[name] / module.r[name]
                    a = lora_a[name].weight.detach().float().cpu()
                    b = module.lora_B[name].weight.detach().float().cpu() * scale
                    factors.setdefault(f"{component}.{module_name}", []).append((a, b))
    if not factors:
        raise NodeError("nothing to export: the model has no LoRA patches")
    rank = max(sum(a.shape[0] for a, _ in pairs) for pairs in factors.values())
    out = {}
    for key, pairs in factors.items():
        a = torch.cat([p[0] for p in pairs], dim=0)
        b = torch.cat([p[1] for p in pairs], dim=1)
        pad = rank - a.shape[0]
        if pad:
            a = torch.cat([a, a.new_zeros((pad,) + tuple(a.shape[1:]))], dim=0)
            b = torch.cat([b, b.new_zeros((b.shape[0], pad) + tuple(b.shape[2:]))], dim=1)
        out[f"{key}.lora_A.weight"] = a.contiguous()
        out[f"{key}.lora_B.weight"] = b.contiguous()
    recipe = [{"lora": p.label, "strength": p.strength, "role": p.role} for p in handle.patches]
    def write(tmp):
        save_file(out, str(tmp), metadata={"format": "pt", "nodegraph.merge": json.dumps(recipe)})
        canonicalise_safetensors_header(tmp)  # the same merge gives the same bytes
    atomic_write(path, write)
