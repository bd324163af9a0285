"""Noticing a pack that changes someone else's code as it imports, and undoing it.

Before each pack imports, the attributes of nodegraph's modules (``nodegraph.*``,
``nodegraph_nodes.*``, the ComfyUI stand-ins), of the classes they define, and of the modules
and classes of the packs loaded before it are noted (one of our modules that the pack's import
loads for the first time is noted as soon as it has loaded, before the pack gets it); afterwards
every attribute the import reassigned, deleted or added there is put back as it was and
reported. Attribute assignment is what monkeypatching is; changes inside a mutable value
(appending to a module's list) are not seen.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import inspect
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterator

_MISSING = object()
OWN_PREFIXES = ("nodegraph", "nodegraph_nodes")
# Attributes the engine and pydantic set lazily on classes (caches, not patches).
_LAZY = ("_ng_", "__pydantic")


def _ours(name: str, roots: tuple[str, ...], dotted: tuple[str, ...]) -> bool:
    return name.startswith(roots) and (name in roots or name.startswith(dotted))


@dataclass(frozen=True)
class Change:
    where: str  # "nodegraph_nodes.basic.image.SaveImage.run"
    kind: str  # "replaced", "deleted", "added"


class Watch:
    """The attribute tables being watched (modules by name, classes by identity)."""

    def __init__(self) -> None:
        self.roots: tuple[str, ...] = OWN_PREFIXES  # ours, then the modules of the packs loaded so far
        self._tables: dict[int, tuple[str, Any, dict[str, Any]]] = {}

    def add_pack(self, module_name: str) -> None:
        self.roots += (module_name,)

    def snapshot(self) -> dict[int, tuple[str, Any, dict[str, Any]]]:
        """id(owner) -> (its name, the owner, a copy of its attributes), for every watched module
        and class. Kept between packs: ``undo_changes`` brings the watched state back to it, so
        only modules new since the last call are read."""
        dotted = tuple(r + "." for r in self.roots)
        for name, module in list(sys.modules.items()):
            if isinstance(module, ModuleType) and id(module) not in self._tables and _ours(name, self.roots, dotted):
                _note_module(self._tables, name, module)
        return self._tables

    @contextlib.contextmanager
    def noting_new_modules(self, tables: dict[int, tuple[str, Any, dict[str, Any]]]) -> Iterator[None]:
        """While the block runs, each of our modules imported for the first time joins ``tables``
        as it was when it finished loading."""
        finder = _NoteOnLoad(tables, self.roots)
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)

    def undo_changes(self, before: dict[int, tuple[str, Any, dict[str, Any]]]) -> list[Change]:
        """Every change made to the watched tables since ``before``, each undone."""
        changes: list[Change] = []
        for label, owner, old in before.values():
            now = vars(owner)
            for key, value in old.items():
                current = now.get(key, _MISSING)
                if current is value or _lazy(owner, key):
                    continue
                changes.append(Change(f"{label}.{key}", "deleted" if current is _MISSING else "replaced"))
                _set(owner, key, value)
            for key in [k for k in now if k not in old]:
                if _lazy(owner, key) or _submodule(owner, key, now[key]):
                    continue
                changes.append(Change(f"{label}.{key}", "added"))
                _delete(owner, key)
        return changes


def _note_module(tables: dict, name: str, module: ModuleType) -> None:
    attrs = dict(vars(module))
    tables[id(module)] = (name, module, attrs)
    for value in attrs.values():
        if inspect.isclass(value) and value.__module__ == name and id(value) not in tables:
            tables[id(value)] = (f"{name}.{value.__qualname__}", value, dict(vars(value)))


class _NoteOnLoad(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it asks the other finders and wraps the loader of our modules."""

    def __init__(self, tables: dict, roots: tuple[str, ...]) -> None:
        self.tables, self.roots, self.dotted = tables, roots, tuple(r + "." for r in roots)

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if not _ours(name, self.roots, self.dotted):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _NotingLoader(spec.loader, self.tables)
                return spec
        return None


class _NotingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, tables: dict) -> None:
        self._loader, self._tables = loader, tables

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _note_module(self._tables, module.__name__, module)

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the real loader's
        return getattr(self._loader, name)


def _lazy(owner: Any, key: str) -> bool:
    return inspect.isclass(owner) and key.startswith(_LAZY)


def _submodule(owner: Any, key: str, value: Any) -> bool:
    """The import system binding a submodule imported for the first time on its package."""
    return isinstance(owner, ModuleType) and isinstance(value, ModuleType) and value.__name__ == f"{owner.__name__}.{key}"


def _set(owner: Any, key: str, value: Any) -> None:
    if isinstance(owner, ModuleType):
        vars(owner)[key] = value
    else:
        type.__setattr__(owner, key, value)


def _delete(owner: Any, key: str) -> None:
    if isinstance(owner, ModuleType):
        vars(owner).pop(key, None)
    else:
        type.__delattr__(owner, key)
