"""Bytecode for installs Python cannot or may not write to: kept in nodegraph's cache folder.

Python compiles every module it imports and stores the bytecode in ``__pycache__`` beside the
source, so the next process skips the compiling. Where that folder cannot be written (a
read-only image or system site-packages), or writing is turned off (``PYTHONDONTWRITEBYTECODE``,
set in many container images so that no ``.pyc`` lands in the image), and the install shipped
no ``.pyc``, every process compiles torch, transformers and diffusers afresh: on an H200 host
whose image sets ``PYTHONDONTWRITEBYTECODE``, a cold ``nodegraph run`` took 16.2 s as the image
runs it against 13.5 s with every module's bytecode at hand.
``keep_bytecode_in`` points Python's bytecode cache (``sys.pycache_prefix``, what
``PYTHONPYCACHEPREFIX`` sets) at a folder of ours in exactly that case and lets Python write
there: the first process compiles and stores, the later ones read. Nothing is written beside the
sources, which is what turning bytecode off is for.

Nothing changes when the libraries' bytecode is there or can be written (a normal ``pip
install``), when the user chose a prefix (``PYTHONPYCACHEPREFIX``), or with
``NODEGRAPH_PYCACHE=0``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

# The libraries a model run imports whose compiling costs seconds (torch._dynamo comes in with
# diffusers, scipy with transformers' model classes).
HEAVY_PACKAGES = ("torch", "transformers", "diffusers")


def bytecode_unavailable(packages=HEAVY_PACKAGES, writes_allowed: bool | None = None) -> list[str]:
    """The installed ``packages`` whose bytecode is neither stored nor storable beside them
    (``writes_allowed`` False, as under ``PYTHONDONTWRITEBYTECODE``: none is storable)."""
    if writes_allowed is None:
        writes_allowed = not sys.dont_write_bytecode
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
        if not writes_allowed or not os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK):
            unavailable.append(name)
    return unavailable


def keep_bytecode_in(folder: Path, packages=HEAVY_PACKAGES) -> bool:
    """Store and read bytecode under ``folder`` when ``packages`` have none and will not get any
    beside their sources; True when switched. Call before those packages are imported."""
    if sys.pycache_prefix is not None or os.environ.get("NODEGRAPH_PYCACHE") == "0":
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
    sys.dont_write_bytecode = False  # writes go to ``folder`` only, never beside the sources
    return True
