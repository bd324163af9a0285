"""SVD model handles and the model manager that materialises them (same design as the SDXL pack's).

A VIDEO_MODEL value is a ``VideoModelHandle``: an immutable, picklable description of base
weights plus an ordered tuple of camera-motion LoRA patches and a fuse preference. LoadSVD and
CameraMotionLoRA only build handles. The ``VideoModelManager`` (one per session, via
``ctx.service``) turns a handle into a ready ``StableVideoDiffusionPipeline``:

- one pipeline per base source, warm across jobs; least-recently-used pipelines are evicted when
  the total exceeds the budget (``NODEGRAPH_MODEL_MEMORY``; the core's ``WarmModels``, as in the
  SDXL pack);
- each LoRA file is injected once per (path, content fingerprint) as a peft adapter on the UNet
  (SVD's UNet has no diffusers LoRA loader; the layers are plain peft ``LoraLayer``s);
- the active set is switched by activating adapters and setting their scales; with ``fuse`` the
  deltas are merged into the weights and the LoRA wrappers set aside, so a step costs what a base
  step costs. The weights a merge touches are copied first and copied back when the patch set
  changes: the base is restored bit for bit, never "within rounding".

``use(handle)`` holds the manager's lock while a node works with the pipeline.
Importing this module does not import torch.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from functools import partial
from dataclasses import dataclass, field
from typing import Any, Iterator

from nodegraph import NodeError, phase
from nodegraph.run.model_cache import WarmModelManager, adapter_layers, parameter_bytes, place, put_back, set_aside
from nodegraph_nodes.sdxl.model_manager import LoraPatch, ModelHandle, ModelSource, default_dtype, quiet_loaders

from .lora_format import LoraFileError, read_camera_lora

SERVICE_NAME = "svd_models"
COMPONENTS = ("unet", "vae", "image_encoder")

__all__ = ["SERVICE_NAME", "VideoModelHandle", "VideoModelManager", "ModelSource", "LoraPatch", "default_dtype",
           "load_pipeline", "quiet_loaders"]


@dataclass(frozen=True)
class VideoModelHandle(ModelHandle):
    """Base SVD weights + camera-motion LoRA patches + fuse preference (a VIDEO_MODEL value)."""


@dataclass
class _Loaded:
    pipe: Any
    nbytes: int
    adapters: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, fingerprint) -> adapter
    active: tuple[tuple[str, float], ...] = ()
    fused: bool = False
    saved: list = field(default_factory=list)  # (LoRA layer, original weight) while fused
    stripped: list = field(default_factory=list)  # (parent, attribute, LoRA layer) set aside while fused


class VideoModelManager(WarmModelManager[ModelSource, _Loaded]):
    """Session-long owner of loaded SVD pipelines. Thread-safe; see the module docstring."""

    def __init__(self, memory_budget: int | None = None):
        super().__init__(memory_budget)
        self.stats.update(adapter_loads=0, switches=0, fuse=0, unfuse=0)

    @contextmanager
    def use(self, handle: ModelHandle, patched: bool = True) -> Iterator[Any]:
        """The pipeline of ``handle``, its patches applied (``patched=False``: as it is, for the
        VAE and the image encoder, which LoRAs never touch), locked for the caller."""
        with self._using(handle.source, partial(self._apply, handle=handle) if patched else None) as entry:
            yield entry.pipe

    # --- base pipelines ------------------------------------------------------------------------
    def _import_libraries(self) -> None:
        with quiet_loaders():  # the first import of the image processor is chatty
            from diffusers import StableVideoDiffusionPipeline  # noqa: F401

    def _load(self, source: ModelSource) -> _Loaded:
        pipe = load_pipeline(source)
        return _Loaded(pipe, parameter_bytes(pipe, COMPONENTS))

    # --- adapters -----------------------------------------------------------------------------
    def _adapter(self, entry: _Loaded, patch: LoraPatch) -> str:
        key = (patch.path, patch.fingerprint)
        name = entry.adapters.get(key)
        if name is not None:
            return name
        with phase("LoRAs"):  # reported apart in the node's executed event
            return self._load_adapter(entry, patch, key)

    def _load_adapter(self, entry: _Loaded, patch: LoraPatch, key: tuple[str, str]) -> str:
        self._reset(entry)  # inject into unmerged, unwrapped layers only
        for stale in [k for k in entry.adapters if k[0] == patch.path]:  # the file changed on disk
            _delete_adapter(entry.pipe.unet, entry.adapters.pop(stale))
        name = "camera_" + hashlib.sha1(f"{patch.path}\0{patch.fingerprint}".encode()).hexdigest()[:12]
        try:
            lora = read_camera_lora(patch.path, entry.pipe.unet)
        except LoraFileError as exc:
            where = f" (applied by node {patch.node!r})" if patch.node else ""
            raise NodeError(f"LoRA {patch.label!r}{where}: {exc}", input="lora") from None
        _inject(entry.pipe.unet, name, lora)
        entry.adapters[key] = name
        entry.nbytes = parameter_bytes(entry.pipe, COMPONENTS)
        self.stats["adapter_loads"] += 1
        return name

    def _wanted(self, entry: _Loaded, handle: ModelHandle) -> tuple[tuple[str, float], ...]:
        weights: dict[str, float] = {}
        for patch in handle.patches:  # the same file twice adds up, as the weights would
            name = self._adapter(entry, patch)
            weights[name] = weights.get(name, 0.0) + float(patch.strength)
        # A total strength of 0 contributes nothing: leave the adapter out (exactly the base).
        return tuple((n, w) for n, w in weights.items() if w != 0.0)

    def _apply(self, entry: _Loaded, handle: ModelHandle) -> None:
        wanted = self._wanted(entry, handle)
        fuse = handle.fuse and bool(wanted)
        # Fused or no LoRA active: the UNet runs its plain layers, the LoRA wrappers set aside
        # (a disabled peft wrapper still costs a Python check per layer and call).
        plain = (fuse or not wanted) and bool(entry.adapters)
        if wanted == entry.active and fuse == entry.fused and plain == bool(entry.stripped):
            return
        with phase("LoRAs"):
            self._switch(entry, wanted, fuse, plain)

    def _switch(self, entry: _Loaded, wanted: tuple[tuple[str, float], ...], fuse: bool, plain: bool) -> None:
        """From the entry's current adapter state to ``wanted`` (fused, or plain layers)."""
        self._reset(entry)
        layers = adapter_layers(entry.pipe.unet)
        if wanted:
            names = [n for n, _ in wanted]
            for _parent, _attr, layer in layers:
                present = [n for n in names if n in layer.lora_A]
                if not present:
                    continue
                layer.enable_adapters(True)
                layer.set_adapter(present)
                for name, weight in wanted:
                    if name in layer.lora_A:
                        layer.set_scale(name, weight)
                if fuse:
                    entry.saved.append((layer, layer.get_base_layer().weight.detach().clone()))
                    layer.merge(adapter_names=present)
            self.stats["switches"] += 1
            self.stats["fuse"] += int(fuse)
        if plain:
            entry.stripped = set_aside(layers)
        entry.active, entry.fused = wanted, fuse

    def _reset(self, entry: _Loaded) -> None:
        """Back to the exact base weights with every adapter disabled."""
        put_back(entry.stripped)
        entry.stripped = []
        if entry.fused:
            for layer, weight in entry.saved:  # restore the copies: bit-exact, unlike unmerge()
                layer.get_base_layer().weight.data.copy_(weight)
                layer.merged_adapters.clear()
            self.stats["unfuse"] += 1
        entry.saved = []
        if entry.active:
            for _parent, _attr, layer in adapter_layers(entry.pipe.unet):
                layer.enable_adapters(False)
        entry.active, entry.fused = (), False


def _inject(unet, name: str, lora) -> None:
    """Add ``lora`` (a ``CameraLora``) to the UNet as peft adapter ``name``, disabled."""
    import torch
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    modules = sorted(lora.modules)
    first = lora.modules[modules[0]]
    config = LoraConfig(r=first.rank, lora_alpha=first.alpha, target_modules=modules,
                        rank_pattern={m: lora.modules[m].rank for m in modules},
                        alpha_pattern={m: lora.modules[m].alpha for m in modules})
    param = next(unet.parameters())
    state = {}
    for module, factors in lora.modules.items():
        state[f"{module}.lora_A.weight"] = factors.down.to(param.device, param.dtype)
        state[f"{module}.lora_B.weight"] = factors.up.to(param.device, param.dtype)
    with quiet_loaders(), torch.no_grad():
        inject_adapter_in_model(config, unet, adapter_name=name)
        result = set_peft_model_state_dict(unet, state, adapter_name=name)
    missing = [k for k in getattr(result, "unexpected_keys", ()) if name in k or "lora" in k]
    if missing:  # pragma: no cover - read_camera_lora checked names and shapes already
        raise NodeError(f"LoRA weights were not used: {missing[:5]}")
    for _parent, _attr, layer in adapter_layers(unet):
        if name in layer.lora_A:
            layer.enable_adapters(False)


def _delete_adapter(unet, name: str) -> None:
    for _parent, _attr, layer in adapter_layers(unet):
        if name in layer.lora_A:
            layer.delete_adapter(name)


def load_pipeline(source: ModelSource):
    import torch

    dtype = getattr(torch, source.dtype)
    try:
        with quiet_loaders():  # the first import of the image processor is chatty too
            from diffusers import StableVideoDiffusionPipeline
            if source.kind == "single_file":
                from .single_file import load_single_file
                pipe = load_single_file(source.location, source.config, source.device, dtype)
            elif source.kind == "hub":
                pipe = StableVideoDiffusionPipeline.from_pretrained(source.location, use_safetensors=True,
                                                                    dtype=dtype)
            else:
                pipe = StableVideoDiffusionPipeline.from_pretrained(source.location, use_safetensors=True,
                                                                    local_files_only=True, dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - loader errors become a message naming the model
        raise NodeError(f"cannot load SVD model {source.label!r}: {str(exc).splitlines()[0] if str(exc) else exc!r}",
                        input="checkpoint") from None
    pipe.set_progress_bar_config(disable=True)
    for name in COMPONENTS:
        # Frozen from the start: injecting a LoRA freezes the base weights (peft), and CPU kernels
        # take another path for weights that need no grad (~2e-5 apart), so "no LoRA" would
        # otherwise depend on whether a LoRA had been loaded before.
        getattr(pipe, name).requires_grad_(False)
    place(pipe, source.device, COMPONENTS)  # on the GPU, or on the CPU with its weights aligned
    return pipe
