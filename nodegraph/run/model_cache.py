"""Warm models for packs' model managers: kept across jobs, the least recently used dropped
first when together they exceed a memory budget (``NODEGRAPH_MODEL_MEMORY``, e.g. ``12G``).

Pack-neutral: ``WarmModels`` holds a manager's own entries (a pipeline and whatever state it
tracks on it) by key; ``WarmModelManager`` is the base of a manager: those entries, the lock that
guards them and their state, and counters. Loading and patching stay in the pack. Importing
this module does not import torch.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
from collections import OrderedDict
from operator import attrgetter
from typing import Callable, Generic, Hashable, TypeVar

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
