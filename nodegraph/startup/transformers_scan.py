"""Serve transformers' scan of its own source files from the cache folder while a run imports it.

``import transformers`` builds its lazy module table by reading every file under
``transformers/models`` (about 2,600) for its ``__all__`` and ``@requires`` lines, and it does so
twice per process (``transformers`` and ``transformers.models`` key the in-process cache by a
``Path`` and by a ``str``): 0.55-0.6 s of the 3 s that ``from diffusers import
StableDiffusionXLPipeline`` takes on this project's 2-core CPU machine, in every new process.
The answer depends only on those files and on the scanner itself, so it is stored, keyed by each
file's path, size and mtime (listing them costs ~15 ms) and by the scanner's own source file.

Written by hand because transformers has no switch for it. The stored copy stands in for
``transformers.utils.import_utils.define_import_structure`` only inside
``import_structure_cached`` (the CLI wraps a run, the server its lifetime); when transformers is
not imported yet, an import hook puts it in place as soon as that module has run, before
``transformers/__init__`` calls it. On exit the original is put back. Anything unexpected (an
unreadable store, a layout this does not know) leaves the original to answer.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..files.roots import kept_answer

SCANNER = "transformers.utils.import_utils"
FORMAT = 1  # of the stored files; part of their key

Structure = dict  # frozenset(backends) -> {module name: set of exported names}


def tree_key(folder: str) -> str:
    """Changes when any file under ``folder`` is added, removed, resized or rewritten."""
    entries: list[str] = []

    def walk(path: str) -> None:
        with os.scandir(path) as it:
            for entry in it:
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir():
                    walk(entry.path)
                else:
                    info = entry.stat()
                    entries.append(f"{entry.path}|{info.st_size}|{info.st_mtime_ns}")

    walk(folder)
    entries.sort()
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def to_json(structure: Structure) -> list:
    return [[sorted(backends), {module: sorted(names) for module, names in modules.items()}]
            for backends, modules in structure.items()]


def from_json(data: list) -> Structure:
    return {frozenset(backends): {module: set(names) for module, names in modules.items()}
            for backends, modules in data}


def stored_define(store: Path, define: Callable[..., Structure], scanner_key: str) -> Callable[..., Structure]:
    """A ``define_import_structure`` that reads ``store``'s copy for the folder as it is now,
    else calls ``define`` and keeps its answer (one copy per folder and prefix)."""
    tree_keys: dict[str, str] = {}  # a folder is listed once per process

    def define_import_structure(module_path, prefix: str | None = None) -> Structure:
        path = os.fspath(module_path)
        folder = os.path.dirname(path) if os.path.isfile(path) else path  # as the scanner reads it
        try:
            if folder not in tree_keys:
                tree_keys[folder] = tree_key(folder)
        except OSError:
            return define(module_path, prefix=prefix)
        family = hashlib.sha256(f"{folder}|{prefix}".encode()).hexdigest()[:16]
        key = hashlib.sha256(f"{FORMAT}|{scanner_key}|{tree_keys[folder]}".encode()).hexdigest()[:16]
        return kept_answer(store, family, key, lambda: define(module_path, prefix=prefix), to_json, from_json)

    return define_import_structure


def _scanner_key(module: Any) -> str:
    info = os.stat(module.__file__)
    return f"{module.__file__}|{info.st_size}|{info.st_mtime_ns}"


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` right after module ``name`` has run, before its importer goes on."""

    def __init__(self, name: str, then: Callable[[Any], None]):
        self.name, self.then = name, then

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None:  # a namespace package: no code of its own to run
            return spec
        run = loader.exec_module

        def exec_module(module) -> None:
            run(module)
            self.then(module)

        loader.exec_module = exec_module  # this module's own loader object, made for this spec
        return spec


@contextmanager
def import_structure_cached(store: Path | None) -> Iterator[None]:
    """Inside the block, transformers' source scan is served from ``store``."""
    if store is None or os.environ.get("NODEGRAPH_STORED_SCANS", "1") == "0":
        yield
        return
    replaced: list[tuple[Any, Callable]] = []
    active = True

    def replace(module) -> None:
        original = getattr(module, "define_import_structure", None)
        if not active or not callable(original):
            return
        try:
            key = _scanner_key(module)
        except (AttributeError, OSError, TypeError):
            return
        module.define_import_structure = stored_define(Path(store), original, key)
        replaced.append((module, original))

    hook = None
    if SCANNER in sys.modules:
        replace(sys.modules[SCANNER])
    else:
        hook = _AfterImport(SCANNER, replace)
        sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        active = False
        if hook is not None and hook in sys.meta_path:
            sys.meta_path.remove(hook)
        for module, original in replaced:
            module.define_import_structure = original
