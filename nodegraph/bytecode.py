"""Bytecode for installs Python cannot write to: kept in nodegraph's cache folder instead.

Python compiles every module it imports and stores the bytecode in ``__pycache__`` beside the
source, so the next process skips the compiling. Where that folder cannot be written (a
read-only image or system site-packages) and the install shipped no ``.pyc``, every process
compiles torch, transformers and diffusers afresh: 6.6 s of an 18.6 s cold ``nodegraph run`` on
a GPU host. ``keep_bytecode_in`` points Python's bytecode cache (``sys.pycache_prefix``, what
``PYTHONPYCACHEPREFIX`` sets) at a folder of ours in exactly that case: the first process
compiles and stores, the later ones read.

Nothing changes when the libraries' bytecode is there or can be written (a normal ``pip
install``), when the user set a prefix, or when writing bytecode is turned off
(``PYTHONDONTWRITEBYTECODE``, ``-B``): their setting wins.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

# The libraries a model run imports whose compiling costs seconds (torch._dynamo comes in with
# diffusers, scipy with transformers' model classes).
HEAVY_PACKAGES = ("torch", "transformers", "diffusers")


def bytecode_unavailable(packages=HEAVY_PACKAGES) -> list[str]:
    """The installed ``packages`` whose bytecode is neither stored nor storable beside them."""
    unavailable = []
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)  # finds, does not import
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        cached = importlib.util.cache_from_source(spec.origin)
        if os.path.exists(cached):
            continue
        folder = os.path.dirname(cached)  # __pycache__: made on first write, so check its parent then
        if not os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK):
            unavailable.append(name)
    return unavailable


def keep_bytecode_in(folder: Path, packages=HEAVY_PACKAGES) -> bool:
    """Store and read bytecode under ``folder`` when ``packages`` have none and cannot get any
    beside their sources; True when switched. Call before those packages are imported."""
    if sys.pycache_prefix is not None or sys.dont_write_bytecode:
        return False
    if not bytecode_unavailable(packages):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    sys.pycache_prefix = str(folder)
    return True
