"""Warm models for packs' model managers: kept across jobs, the least recently used dropped
first when together they exceed a memory budget (``NODEGRAPH_MODEL_MEMORY``, e.g. ``12G``).

Pack-neutral: ``WarmModels`` holds a manager's own entries (a pipeline and whatever state it
tracks on it) by key; ``WarmModelManager`` is the base of a manager: those entries, the lock that
guards them and their state, counters, the ``imports``/``load`` phases of a cold load, and
``_using`` (an entry, loaded if cold and patched, held under the lock). Below it, what every
pipeline-keeping manager does alike: ``weights_mode``, ``parameter_bytes`` (an entry's size),
``place`` (device moves, CPU weight alignment) and setting peft adapter layers aside. What to
load and how to patch it stays in the pack. Importing this module does not import torch.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
from collections import OrderedDict
from contextlib import contextmanager
from operator import attrgetter
from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, TypeVar

from .context import phase

BUDGET_ENV = "NODEGRAPH_MODEL_MEMORY"
DEFAULT_BUDGET = 16 << 30

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def parse_bytes(text: str) -> int:
    """'12G', '512M', '1.5G' or plain bytes."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))


def budget_from_env() -> int:
    value = os.environ.get(BUDGET_ENV)
    return parse_bytes(value) if value else DEFAULT_BUDGET


class WarmModels(Generic[K, V]):
    """Entries by key in least-recently-used order, within ``memory_budget`` bytes. Not
    thread-safe: its owner calls it under its own lock.

    ``size_of(entry)`` is read whenever the budget is checked, so an entry that grows (a LoRA
    loaded into it) counts at its current size. The entry just added is never evicted, even
    when it alone exceeds the budget: it is the one a job is about to use.
    """

    def __init__(self, size_of: Callable[[V], int], memory_budget: int | None = None):
        self.size_of = size_of
        self.memory_budget = budget_from_env() if memory_budget is None else memory_budget
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The entry of ``key``, now the most recently used; None when not loaded."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def add(self, key: K, entry: V) -> int:
        """Keep ``entry`` as the most recently used; returns how many others were evicted."""
        self._entries[key] = entry
        self._entries.move_to_end(key)
        evicted = 0
        while len(self._entries) > 1 and sum(map(self.size_of, self._entries.values())) > self.memory_budget:
            self._entries.popitem(last=False)
            evicted += 1
        if evicted:
            _release_memory()
        return evicted

    def keys(self) -> list[K]:
        """Least recently used first."""
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        gc.collect()


class WarmModelManager(Generic[K, V]):
    """The base of a pack's model manager (one per session, a ``ctx.service``).

    A subclass loads an entry for a key in ``_load`` (an object with an ``nbytes`` attribute,
    kept current as the entry grows); ``_entry(key)`` returns the warm one or loads it, evicting
    others over the budget. Callers hold ``_lock`` around ``_entry`` and all use of an entry:
    two jobs never see each other's half-applied patches.
    """

    def __init__(self, memory_budget: int | None = None):
        self._models: WarmModels[K, V] = WarmModels(attrgetter("nbytes"), memory_budget)
        self._lock = threading.RLock()
        # Counters tests and benchmarks read: what work the manager actually did.
        self.stats = {"pipeline_loads": 0, "evictions": 0}

    @property
    def memory_budget(self) -> int:
        return self._models.memory_budget

    def loaded(self) -> list[K]:
        """The warm entries' keys, least recently used first."""
        with self._lock:
            return self._models.keys()

    def close(self) -> None:
        with self._lock:
            self._models.clear()

    @contextmanager
    def _using(self, key: K, prepare: Callable[[V], None] | None = None) -> Iterator[V]:
        """The entry of ``key`` (loaded now if cold, ``prepare(entry)`` applied: the caller's
        patches), the manager's lock held for the block. Loading and patching run in
        ``weights_mode``; the block itself runs as the caller's code does."""
        with self._lock:
            with weights_mode():
                entry = self._entry(key)
                if prepare is not None:
                    prepare(entry)
            yield entry

    def _entry(self, key: K) -> V:
        entry = self._models.get(key)
        if entry is None:
            # Reported apart in the node's ``executed`` event: in a new process importing the
            # libraries can cost more than reading the weights.
            with phase("imports"):
                self._import_libraries()
            with phase("load"):
                entry = self._load(key)
            self.stats["pipeline_loads"] += 1
            self.stats["evictions"] += self._models.add(key, entry)
        return entry

    def _import_libraries(self) -> None:
        """Import what ``_load`` needs (a no-op once imported)."""

    def _load(self, key: K) -> V:
        raise NotImplementedError


def _release_memory() -> None:
    """Free what evicted models held: pipelines keep reference cycles that only a collection
    breaks, and PyTorch's CUDA allocator keeps freed blocks from other processes until emptied.
    torch is not imported here: when nothing imported it, no model is on a GPU."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


# --- the pipelines the managers keep: pack-neutral torch/peft helpers, imported on first call ---
@contextmanager
def weights_mode() -> Iterator[None]:
    """Loading, patching and restoring weights happen outside inference mode and without grad
    (callers often sample inside inference mode): tensors made there would be inference tensors
    that later merges, unmerges or adapter switches may not modify."""
    import torch
    with torch.inference_mode(False), torch.no_grad():
        yield


def parameter_bytes(pipe, components: Iterable[str]) -> int:
    """Bytes of the parameters of ``pipe``'s ``components`` (those it has): a warm entry's size."""
    total = 0
    for name in components:
        module = getattr(pipe, name, None)
        if module is not None:
            total += sum(p.numel() * p.element_size() for p in module.parameters())
    return total


def place(pipe, device: str, components: Iterable[str], alignment: int = 64) -> int:
    """Put a freshly loaded ``pipe`` where it runs: on a GPU, move any of ``components`` still
    on the CPU; on the CPU, copy weights at an odd address (a tensor's offset inside its
    .safetensors file) into fresh allocations, returning how many moved.

    CPU kernels pick vector paths by alignment, so the same weights at another offset round
    differently (~1e-6 per UNet call): a single-file checkpoint and the diffusers folder it was
    saved from would give different results. Aligned, the result depends on the weights only.
    """
    models = [m for m in (getattr(pipe, name, None) for name in components) if m is not None]
    if device != "cpu" and any(next(m.parameters()).device.type == "cpu" for m in models):
        pipe.to(device)
        return 0
    moved = 0
    for model in models:
        for module in model.modules():
            for table in (module._parameters, module._buffers):  # noqa: SLF001 - torch keeps no public view
                for tensor in table.values():
                    if tensor is not None and tensor.device.type == "cpu" and tensor.data_ptr() % alignment:
                        tensor.data = tensor.data.clone()
                        moved += 1
    return moved


def adapter_layers(model) -> list[tuple[Any, str, Any]]:
    """(parent module, attribute, peft adapter layer) of every adapter layer injected in ``model``."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    found = []
    for name, module in list(model.named_modules()):
        if isinstance(module, BaseTunerLayer) and name:
            parent_name, _, attr = name.rpartition(".")
            found.append((model.get_submodule(parent_name) if parent_name else model, attr, module))
    return found


def set_aside(layers: list[tuple[Any, str, Any]]) -> list[tuple[Any, str, Any]]:
    """Swap each adapter layer for its base layer (while its deltas are fused into that, or no
    adapter is active): a set-aside wrapper costs nothing per call. Returns what ``put_back``
    restores."""
    for parent, attr, layer in layers:
        setattr(parent, attr, layer.get_base_layer())
    return list(layers)


def put_back(stripped: list[tuple[Any, str, Any]]) -> None:
    """Undo ``set_aside``."""
    for parent, attr, layer in stripped:
        setattr(parent, attr, layer)
