"""SDXL model handles and the model manager that materialises them.

A MODEL value on an edge is a ``ModelHandle``: an immutable, picklable description of base
weights plus an ordered tuple of LoRA patches and a fuse preference. Nodes that "apply" a LoRA
return a new handle and never touch weights. The ``ModelManager`` (one per session, via
``ctx.service``) turns handles into a ready pipeline:

- one pipeline per base source, kept warm across jobs, least-recently-used pipelines evicted
  when the total exceeds a memory budget (``NODEGRAPH_MODEL_MEMORY``, e.g. ``12G``; the core's
  ``WarmModels``);
- a fused patch set (``handle.fuse``, MergeAcceleration's default) is merged straight from the
  LoRA files into the weights (``merge.py``: no adapter layers) and the touched base weights are
  kept aside, so a different patch set starts from the exact base;
- unfused patch sets go through peft: each LoRA file loaded once per (path, content
  fingerprint) under a stable adapter name, switched with ``set_adapters``.

Pipelines are shared, so a node uses one inside ``with manager.use(handle) as pipe:``, which
holds the manager's lock: two jobs never see each other's adapter state half-way.
Importing this module does not import torch.
"""
from __future__ import annotations

import functools
import hashlib
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from nodegraph import NodeError, phase
from nodegraph.run.model_cache import (WarmModelManager, adapter_layers, parameter_bytes, place, put_back, set_aside,
                                       weights_mode)

SERVICE_NAME = "sdxl_models"
LORA_COMPONENTS = ("unet", "text_encoder", "text_encoder_2")
TEXT_COMPONENTS = ("text_encoder", "text_encoder_2")
PIPELINE_COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")  # what holds weights


@dataclass(frozen=True)
class ModelSource:
    """Where base weights come from and how to place them."""
    __cache_persist__ = True  # handles are small data: the disk cache keeps them (no weights inside)
    kind: str  # "diffusers" (folder), "single_file" (+ config folder) or "hub"
    location: str  # folder, file or hub id (demo models are diffusers folders)
    label: str  # what the user wrote, for messages (e.g. "demo:tiny-sdxl")
    fingerprint: str  # content identity (size+mtime, demo version, hub id)
    device: str = "cpu"
    dtype: str = "float32"
    config: str | None = None  # local diffusers config folder for single files
    vae: str | None = None  # a VAE file or diffusers folder replacing the checkpoint's own
    # Which diffusers pipeline holds the weights: "sdxl" (StableDiffusionXLPipeline), "sd1"
    # (StableDiffusionPipeline) or "sdxl_refiner" (StableDiffusionXLImg2ImgPipeline, no CLIP-L).
    family: str = "sdxl"


@dataclass(frozen=True)
class LoraPatch:
    __cache_persist__ = True
    path: str
    fingerprint: str
    strength: float
    label: str  # the name the user wrote
    node: str = ""  # node id that applied it, for error messages
    role: str = "lora"  # "lora", "style" or "acceleration"
    # The pipeline components it may patch; empty = every component its file has keys for.
    # ComfyUI's LoraLoader applies one file at two strengths: the UNet part and the text part.
    components: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelHandle:
    __cache_persist__ = True
    source: ModelSource
    patches: tuple[LoraPatch, ...] = ()
    fuse: bool = False

    def with_patches(self, patches: tuple[LoraPatch, ...], fuse: bool | None = None) -> "ModelHandle":
        return replace(self, patches=self.patches + tuple(patches),
                       fuse=self.fuse if fuse is None else fuse)

    def describe(self) -> str:
        parts = [self.source.label] + [f"{p.label}×{p.strength:g}" for p in self.patches]
        return " + ".join(parts) + (" (fused)" if self.fuse and self.patches else "")


@dataclass
class _Adapter:
    name: str
    path: str
    fingerprint: str
    components: tuple[str, ...]  # which pipeline components it patches


PatchSet = tuple[tuple[tuple, float], ...]  # ((path, fingerprint[, components]), summed strength), in order


def patch_key(patch: LoraPatch) -> tuple:
    """(path, fingerprint), plus the components when the patch is restricted to some."""
    key = (patch.path, patch.fingerprint)
    return key + (patch.components,) if patch.components else key


def patch_set(handle: ModelHandle) -> PatchSet:
    """The handle's LoRAs by file with summed strengths: the same file twice adds up, as the
    weights would."""
    weights: dict[tuple, float] = {}
    for patch in handle.patches:
        key = patch_key(patch)
        weights[key] = weights.get(key, 0.0) + float(patch.strength)
    return tuple(weights.items())


@dataclass
class _Loaded:
    """One warm pipeline and the LoRA state currently applied to it."""
    pipe: Any
    nbytes: int
    scheduler_config: dict
    adapters: dict[tuple[str, str], _Adapter] = field(default_factory=dict)  # peft adapters loaded
    active: PatchSet = ()  # the patch set applied now
    fused: bool = False
    merged: list = field(default_factory=list)  # (weight, base copy) while merged directly
    stripped: list = field(default_factory=list)  # (parent, attribute, LoRA wrapper) set aside while fused
    compiled: Any = None  # fast mode: the compiled UNet and VAE decoder (fast.py)


class ModelManager(WarmModelManager[ModelSource, _Loaded]):
    """Session-long owner of loaded SDXL pipelines. Thread-safe; see the module docstring."""

    def __init__(self, memory_budget: int | None = None):
        super().__init__(memory_budget)
        # Fused patch sets merge straight from the files; "peft" forces the adapter route
        # (benchmarks compare the two).
        self.direct_merge = os.environ.get("NODEGRAPH_FUSE_VIA", "files") != "peft"
        self._components: dict[tuple[str, str], tuple[str, ...]] = {}  # which components a LoRA file patches
        # Weights read onto the device beside the imports (prefetch.py), waiting for ``_load``;
        # on a GPU only unless a test asks (on a 2-core CPU the reads take the imports' core).
        self.prefetch_weights = os.environ.get("NODEGRAPH_PREFETCH", "1") != "0"
        self.prefetch_on_cpu = False
        self._prefetches: dict[ModelSource, Any] = {}
        self._prefetch_lock = threading.Lock()
        self.stats.update(adapter_loads=0, set_adapters=0, fuse=0, unfuse=0, direct_merge=0, restore=0, compiles=0,
                          prefetches=0, prefetched_components=0)

    # --- public ----------------------------------------------------------------------------
    @contextmanager
    def use(self, handle: ModelHandle, parts: str = "all", compiled: bool = False, call: tuple = ()) -> Iterator[Any]:
        """The pipeline of ``handle`` with its patches applied, locked for the caller.

        ``parts`` says which components the caller needs: "all", "text" (text encoders: only
        patches touching them matter) or "vae" (LoRAs never touch the VAE). ``compiled``
        (fast mode) swaps in the pipeline's compiled UNet and VAE decoder, made once per
        pipeline (``fast.py``); ``call`` names the shapes the caller runs them at, so the first
        call at new ones is reported as the node's "compile" phase.
        """
        def patch(entry: _Loaded) -> None:
            if parts == "all" or (parts == "text" and
                                  self._text_part(patch_set(handle)) != self._text_part(entry.active)):
                self._apply(entry, handle)

        with self._using(handle.source, patch) as entry:
            if not compiled:
                yield entry.pipe
                return
            from . import fast
            if entry.compiled is None:
                with phase("compile"):  # torch.compile's own imports and setup, before any call
                    entry.compiled = fast.compile_pipeline(entry.pipe)
                self.stats["compiles"] += 1
            with fast.swapped_in(entry.pipe, entry.compiled), fast.first_call(entry.compiled, (parts, *call)):
                yield entry.pipe

    def prefetch(self, source: ModelSource) -> bool:
        """Start reading ``source``'s weights onto its device on a background thread, for the
        load that follows (LoadSDXL calls this: it only builds a handle). Only for a diffusers
        folder and while this manager holds no model: a cold process, where the reads overlap the
        imports, and never beside a warm model the load may have to evict first."""
        if not (self.prefetch_weights and source.kind == "diffusers" and source.family == "sdxl"
                and (source.device != "cpu" or self.prefetch_on_cpu)):
            return False
        from . import prefetch
        with self._prefetch_lock:
            if self._models.keys() or self._prefetches:
                return False
            components = tuple(c for c in prefetch.COMPONENTS if not (c == "vae" and source.vae))
            self._prefetches[source] = prefetch.Prefetch(Path(source.location), source.device, source.dtype,
                                                         components)
        self.stats["prefetches"] += 1
        return True

    def adapter_weights(self, handle: ModelHandle) -> tuple[tuple[str, float], ...]:
        """(peft adapter name, summed strength) of the handle's patches, loading adapters as needed."""
        with self._lock, weights_mode():
            return self._wanted(self._entry(handle.source), handle)

    def scheduler_config(self, handle: ModelHandle) -> dict:
        with self._using(handle.source) as entry:
            return dict(entry.scheduler_config)

    def close(self) -> None:
        self._claim_prefetch(None)  # whatever was read ahead, no node used
        super().close()

    # --- base pipelines ----------------------------------------------------------------------
    def _import_libraries(self) -> None:
        placed_pipeline_class("sdxl")  # diffusers' SDXL pipeline, and transformers with it (cached as _load asks)

    def _load(self, source: ModelSource) -> _Loaded:
        prefetched = self._claim_prefetch(source)
        pipe = load_pipeline(source, prefetched=prefetched)
        if prefetched is not None:
            self.stats["prefetched_components"] += len(prefetched.used)
        return _Loaded(pipe, parameter_bytes(pipe, PIPELINE_COMPONENTS), dict(pipe.scheduler.config))

    def _claim_prefetch(self, source: ModelSource | None):
        """The weights read ahead for ``source`` (or None); any read for another model is dropped."""
        with self._prefetch_lock:
            pending, self._prefetches = self._prefetches, {}
        claimed = pending.pop(source, None)
        for other in pending.values():
            other.discard()
        return claimed

    # --- adapters ------------------------------------------------------------------------------
    def _adapter(self, entry: _Loaded, patch: LoraPatch) -> _Adapter:
        key = (patch.path, patch.fingerprint)
        adapter = entry.adapters.get(key)
        if adapter is not None:
            return adapter
        stale = [k for k in entry.adapters if k[0] == patch.path]
        if stale:  # the file changed on disk: drop the old version of it first
            self._reset(entry)
            for k in stale:
                entry.pipe.delete_adapters(entry.adapters.pop(k).name)
        if entry.fused:  # peft would silently unmerge to inject a new adapter: do it ourselves
            self._reset(entry)
        name = "lora_" + hashlib.sha1(f"{patch.path}\0{patch.fingerprint}".encode()).hexdigest()[:12]
        before = _adapter_components(entry.pipe)
        try:
            with quiet_loaders():
                entry.pipe.load_lora_weights(patch.path, adapter_name=name)
        except Exception as exc:  # noqa: BLE001 - any loader failure means "does not fit"
            _discard(entry.pipe, name)
            raise NodeError(_misfit(patch, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from None
        components = tuple(c for c, names in _adapter_components(entry.pipe).items()
                           if name in names and name not in before.get(c, ()))
        if not components:
            _discard(entry.pipe, name)
            raise NodeError(_misfit(patch, "none of its keys name a layer of this model "
                                           "(is it a LoRA for another architecture?)"))
        adapter = entry.adapters[key] = _Adapter(name, patch.path, patch.fingerprint, components)
        self.stats["adapter_loads"] += 1
        entry.nbytes = parameter_bytes(entry.pipe, PIPELINE_COMPONENTS)
        return adapter

    def _wanted(self, entry: _Loaded, handle: ModelHandle) -> tuple[tuple[str, float], ...]:
        """(peft adapter name, summed strength) of the handle's patches, loading adapters as needed."""
        by_key = {patch_key(p): p for p in handle.patches}
        restricted = [p for p in handle.patches if p.components]
        if restricted:  # peft's set_adapters scales a whole file; only the direct merge splits it
            raise NodeError(_misfit(restricted[0], "it needs peft (DoRA, LoRA biases or another adapter kind), "
                                                   "which cannot give its UNet and text-encoder parts "
                                                   "different strengths"))
        return tuple((self._adapter(entry, by_key[key]).name, weight) for key, weight in patch_set(handle))

    def _text_part(self, patches: PatchSet) -> PatchSet:
        """The patches among ``patches`` that touch a text encoder (from the files' key names)."""
        return tuple(item for item in patches if set(self._file_components(item[0])) & set(TEXT_COMPONENTS))

    def _file_components(self, key: tuple) -> tuple[str, ...]:
        components = self._components.get(key[:2])
        if components is None:
            components = self._components[key[:2]] = lora_file_components(key[0])
        if len(key) > 2:  # restricted to some components
            components = tuple(c for c in components if c in key[2])
        return components

    def _apply(self, entry: _Loaded, handle: ModelHandle) -> None:
        wanted = patch_set(handle)
        fuse = handle.fuse and bool(wanted)
        if wanted == entry.active and fuse == entry.fused:
            return
        with phase("LoRAs"):  # reported apart in the node's executed event
            self._switch(entry, handle, wanted, fuse)

    def _switch(self, entry: _Loaded, handle: ModelHandle, wanted: PatchSet, fuse: bool) -> None:
        """From the entry's current LoRA state to ``wanted`` (fused or not)."""
        self._reset(entry)
        if not wanted:
            # Base weights are exact again; disabled peft wrappers would still run their own
            # forward per layer (measured on an H200 at SDXL size: 72 ms per UNet step against
            # 57 ms for a pipeline that never saw a LoRA), so set them aside as when fused.
            if entry.adapters:
                entry.stripped = _strip_lora_wrappers(entry.pipe)
            return
        if fuse and self.direct_merge and self._merge_files(entry, handle, wanted):
            return
        pipe = entry.pipe
        named = self._wanted(entry, handle)
        names = [n for n, _ in named]
        pipe.enable_lora()
        pipe.set_adapters(names, [w for _, w in named])
        self.stats["set_adapters"] += 1
        if fuse:
            pipe.fuse_lora(components=list(LORA_COMPONENTS), adapter_names=names, lora_scale=1.0)
            self.stats["fuse"] += 1
            entry.stripped = _strip_lora_wrappers(pipe)
        entry.active, entry.fused = wanted, fuse

    def _merge_files(self, entry: _Loaded, handle: ModelHandle, wanted: PatchSet) -> bool:
        """Fuse ``wanted`` straight from the LoRA files; False when a file needs peft."""
        from . import merge
        by_key = {patch_key(p): p for p in handle.patches}
        factors = []
        for key, weight in wanted:
            patch = by_key[key]
            try:
                with quiet_loaders():
                    parsed = merge.read_factors(entry.pipe, patch.path)
            except merge.Unsupported:
                return False
            except merge.Misfit as exc:
                raise NodeError(_misfit(patch, str(exc))) from None
            except Exception as exc:  # noqa: BLE001 - any reader failure means "does not fit"
                raise NodeError(_misfit(patch, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from None
            self._components[key[:2]] = parsed.components()
            if patch.components:
                parsed = merge.Factors({c: m for c, m in parsed.modules.items() if c in patch.components})
            factors.append((patch, parsed, weight))
        try:
            entry.merged = merge.merge(entry.pipe, [(parsed, weight) for _, parsed, weight in factors])
        except merge.Misfit as exc:
            # Name the file at fault: the first one that does not fit on its own.
            for patch, parsed, weight in factors:
                try:
                    merge.restore(merge.merge(entry.pipe, [(parsed, weight)]))
                except merge.Misfit as own:
                    raise NodeError(_misfit(patch, str(own))) from None
            raise NodeError(_misfit(factors[0][0], str(exc))) from None
        except merge.Unsupported:
            return False
        self.stats["direct_merge"] += 1
        entry.stripped = _strip_lora_wrappers(entry.pipe) if entry.adapters else []
        entry.active, entry.fused = wanted, True
        entry.nbytes = parameter_bytes(entry.pipe, PIPELINE_COMPONENTS) + merge.saved_bytes(entry.merged)
        return True

    def _reset(self, entry: _Loaded) -> None:
        """Back to base weights: copy merged weights back, unfuse peft (with the scales that
        were fused) and disable adapters."""
        put_back(entry.stripped)
        entry.stripped = []
        if entry.merged:
            from . import merge
            merge.restore(entry.merged)
            entry.merged = []
            entry.nbytes = parameter_bytes(entry.pipe, PIPELINE_COMPONENTS)
            self.stats["restore"] += 1
        elif entry.fused:
            entry.pipe.unfuse_lora(components=list(LORA_COMPONENTS))
            self.stats["unfuse"] += 1
        if entry.adapters:
            entry.pipe.disable_lora()
        entry.active, entry.fused = (), False


def lora_file_components(path: str) -> tuple[str, ...]:
    """Which pipeline components a LoRA file patches, from its key names (header only)."""
    import json
    import struct
    with open(path, "rb") as fh:
        header = json.loads(fh.read(struct.unpack("<Q", fh.read(8))[0]))
    found = set()
    for key in header:
        if key.startswith(("lora_te2_", "text_encoder_2.")):
            found.add("text_encoder_2")
        elif key.startswith(("lora_te1_", "lora_te_", "text_encoder.")):
            found.add("text_encoder")
        elif key != "__metadata__":
            found.add("unet")
    return tuple(c for c in LORA_COMPONENTS if c in found)


def _strip_lora_wrappers(pipe) -> list:
    """Swap every LoRA wrapper for its base layer while the deltas are fused into it.

    A fused peft layer still runs its own forward (a Python check per layer before calling the
    base layer): ~1.5% of a step on the tiny model, more on a launch-bound GPU. Set aside, fused
    steps cost exactly what base steps cost; ``_reset`` puts the wrappers back before unfusing.
    """
    models = [getattr(pipe, c) for c in LORA_COMPONENTS if getattr(pipe, c, None) is not None]
    return set_aside([layer for model in models for layer in adapter_layers(model)])


def _misfit(patch: LoraPatch, why: str) -> str:
    where = f" (applied by node {patch.node!r})" if patch.node else ""
    return f"LoRA {patch.label!r}{where} does not fit this model: {why}"


def _adapter_components(pipe) -> dict[str, list[str]]:
    try:
        return pipe.get_list_adapters()
    except Exception:  # noqa: BLE001 - no adapters yet
        return {}


def _discard(pipe, name: str) -> None:
    try:
        pipe.delete_adapters(name)
    except Exception:  # noqa: BLE001 - nothing was injected
        pass


# --- loading ------------------------------------------------------------------------------
def default_dtype(device: str) -> str:
    """fp32 on CPU (fp16 there is ~28x slower than fp32), fp16 on GPU."""
    return "float32" if device == "cpu" else "float16"


def load_pipeline(source: ModelSource, straight_to_device: bool | None = None, prefetched=None):
    """A diffusers SDXL pipeline for ``source``, on its device and dtype.

    On a GPU the weights load straight to it (``device_map``: no CPU copy first);
    ``straight_to_device=False`` (or NODEGRAPH_LOAD_VIA=cpu) loads on the CPU and moves the
    pipeline, as before (benchmarks compare the two). ``prefetched`` (a ``prefetch.Prefetch``)
    holds components' weights already read onto the device: those are built around them.
    """
    if straight_to_device is None:
        straight_to_device = os.environ.get("NODEGRAPH_LOAD_VIA", "device") != "cpu"
    with quiet_loaders():
        return _load_pipeline(source, straight_to_device and source.device != "cpu", prefetched)


@contextmanager
def quiet_loaders() -> Iterator[None]:
    """Loader chatter (progress bars, "no LoRA keys for the text encoder") off while loading.

    Nested blocks (a loader calling another) leave the settings as the outer block wants them:
    each restores what it found, never "on"."""
    import warnings
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog
    levels = dlog.get_verbosity(), tlog.get_verbosity()
    bars = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=".*peft_config.*")
            yield
    finally:
        dlog.set_verbosity(levels[0])
        tlog.set_verbosity(levels[1])
        if bars[0]:
            dlog.enable_progress_bar()
        if bars[1]:
            tlog.enable_progress_bar()


def _load_vae(source: ModelSource, dtype):
    """A separate VAE: a diffusers folder, or one .safetensors file (LDM keys, as ComfyUI users
    keep them) read with the configs of the checkpoint it goes with."""
    from diffusers import AutoencoderKL
    if os.path.isdir(source.vae):
        return AutoencoderKL.from_pretrained(source.vae, torch_dtype=dtype, local_files_only=True)
    config = source.config if source.kind == "single_file" else source.location
    return AutoencoderKL.from_single_file(source.vae, config=config, subfolder="vae", torch_dtype=dtype,
                                          local_files_only=source.kind != "hub")


# The diffusers pipeline class of each family a ModelSource may name (see ``ModelSource.family``).
PIPELINE_CLASSES = {"sdxl": "StableDiffusionXLPipeline", "sd1": "StableDiffusionPipeline",
                    "sdxl_refiner": "StableDiffusionXLImg2ImgPipeline"}


@functools.cache
def placed_pipeline_class(family: str = "sdxl"):
    """The family's diffusers pipeline class (StableDiffusionXLPipeline for SDXL), reading its
    execution device from the UNet's first parameter.

    diffusers' ``_execution_device`` walks every module of every component looking for offload
    hooks, then walks them again for ``.device``: 20 ms per pipeline call at SDXL size on a busy
    2-core host, on the critical path of every image. The manager never offloads, so the UNet's
    placement is the answer. The subclass keeps diffusers' class name, so any config it writes
    still names a class diffusers can load.
    """
    with quiet_loaders():  # transformers warns that its image processors fall back to PIL
        import diffusers
        base = getattr(diffusers, PIPELINE_CLASSES[family])

    class Pipeline(base):
        @property
        def _execution_device(self):
            return next(self.unet.parameters()).device

    Pipeline.__name__ = Pipeline.__qualname__ = base.__name__
    return Pipeline


def _prefetched_components(source: ModelSource, prefetched, dtype) -> dict:
    """The components built around weights read ahead (prefetch.py); the others are left out."""
    from . import prefetch
    built = {}
    for component in prefetch.COMPONENTS:
        tensors = prefetched.take(component)
        if tensors is None:
            continue
        try:
            model = prefetch.build(component, Path(source.location), tensors, dtype, source.device)
        except Exception:  # noqa: BLE001 - the library loads it, and reports what is wrong
            model = None
        if model is not None:
            built[component] = model
    prefetched.used = tuple(built)
    return built


def _load_pipeline(source: ModelSource, straight_to_device: bool = False, prefetched=None):
    import torch

    StableDiffusionXLPipeline = placed_pipeline_class(source.family)
    dtype = getattr(torch, source.dtype)
    if source.family == "sd1":  # no safety checker (nodegraph never filters images)
        common = dict(torch_dtype=dtype, safety_checker=None, requires_safety_checker=False)
    else:
        common = dict(torch_dtype=dtype, add_watermarker=False)
    if source.vae:
        try:
            common["vae"] = _load_vae(source, dtype)
        except Exception as exc:  # noqa: BLE001 - a message naming the file
            raise NodeError(f"cannot load VAE {source.vae!r} for {source.label!r}: {exc}") from None
    pipe = None
    try:
        if source.kind == "single_file":
            pipe = StableDiffusionXLPipeline.from_single_file(
                source.location, config=source.config, local_files_only=True, **common)
        else:
            options = dict(use_safetensors=True, **common)
            if source.kind != "hub":
                options["local_files_only"] = True
            if prefetched is not None:
                options.update(_prefetched_components(source, prefetched, dtype))
                if all(name in options for name in ("unet", "vae", "text_encoder", "text_encoder_2")):
                    straight_to_device = False  # only tokenizers and the scheduler left to load
            if straight_to_device:
                try:
                    pipe = StableDiffusionXLPipeline.from_pretrained(source.location, device_map=source.device,
                                                                     **options)
                except Exception:  # noqa: BLE001 - a device or version diffusers cannot map to: load, then move
                    pipe = None
            if pipe is None:
                pipe = StableDiffusionXLPipeline.from_pretrained(source.location, **options)
    except NodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - turn loader errors into a message naming the file
        what = {"sd1": "Stable Diffusion 1.x", "sdxl_refiner": "SDXL refiner"}.get(source.family, "SDXL")
        raise NodeError(f"cannot load {what} model {source.label!r}: {exc}") from None
    pipe.set_progress_bar_config(disable=True)
    place(pipe, source.device, PIPELINE_COMPONENTS)  # what loaded on the CPU moves; on the CPU, aligned
    vae = pipe.vae
    if vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False):
        vae.to(torch.float32)  # the SDXL VAE overflows in fp16; diffusers upcasts it too
    return pipe
