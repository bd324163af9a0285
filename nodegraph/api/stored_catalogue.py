"""The installed packs' catalogue, stored after a full load, so the light commands skip the packs.

Building the catalogue imports every pack and builds a pydantic model per node class: most of
the time of `nodegraph nodes` and `nodegraph validate` (over a second on a loaded 2-core
machine, the ComfyUI-style pack alone ~0.4 s). After one full load the catalogue is stored as
JSON with an index (which pack registers which node type, declares which socket types, file
kinds and demos), under a key made of:

- the entry points of the group ``nodegraph.nodes`` (name and target),
- the size and mtime of every source file of each pack's top-level package and of nodegraph,
- the Python version and the installed distributions (``entry_points.environment_key``: a
  pydantic upgrade may change the catalogue's JSON).

A pack installed, removed or edited makes a new key, so a stale catalogue is never read. Only a
load without failures is stored (a failure may depend on the environment). With it,
``nodegraph nodes`` prints without importing any pack, and ``nodegraph validate`` imports only
the packs its workflow's node types need (``packs_for``). This module imports nothing heavy.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

STORE_FOLDER = "catalogue"
ENTRY_POINT_GROUP = "nodegraph.nodes"  # the packs' group (here, not in plugins.py: this module stays light)


def _package_folder(module: str) -> Path | None:
    """The folder (or file) of ``module``'s top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def _source_stats(folder: Path) -> list[tuple[str, int, int]]:
    if folder.is_file():
        found = [folder]
    else:
        found = []
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            found += [Path(root, n) for n in sorted(names) if n.endswith(".py")]
    stats = []
    for path in found:
        try:
            st = path.stat()
        except OSError:
            continue
        stats.append((str(path), st.st_size, st.st_mtime_ns))
    return stats


def catalogue_key(entry_points: Iterable[Any]) -> str | None:
    """The key of the catalogue these entry points (and the files behind them) give, or None
    when a pack's files cannot be found (then nothing is stored or read)."""
    from .entry_points import environment_key  # not importlib.metadata: `nodes` never imports it
    parts: list[Any] = [sys.version, sys.executable, environment_key()]
    folders = {Path(__file__).resolve().parents[1]}  # nodegraph itself
    for ep in sorted(entry_points, key=lambda e: e.name):
        parts.append((ep.name, ep.value))
        folder = _package_folder(ep.value.split(":")[0])
        if folder is None:
            return None
        folders.add(folder)
    for folder in sorted(folders):
        parts.append(_source_stats(folder))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / STORE_FOLDER / f"{key}.json"


def read(cache_dir: Path | None, key: str | None) -> dict[str, Any] | None:
    """The stored catalogue and index for ``key``, or None."""
    if cache_dir is None or key is None:
        return None
    try:
        data = json.loads(_path(cache_dir, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "catalogue" in data and "index" in data else None


def store(cache_dir: Path | None, key: str | None, registry: Any) -> None:
    """Store ``registry``'s catalogue (a full load of the entry points, nothing else) under
    ``key``; older keys are removed. Silently does nothing where the folder is not writable."""
    if cache_dir is None or key is None or registry.failures:
        return
    data = {"catalogue": registry.catalogue(), "index": _index(registry)}
    path = _path(cache_dir, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("*.json"):
            if old != path:
                old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return


def _index(registry: Any) -> dict[str, Any]:
    """Which pack owns each node type, and which packs declare each socket type, file kind and
    demo (several may declare the same one identically: the SDXL and ComfyUI-style packs both
    declare MODEL)."""
    declarers: dict[str, dict[str, list[str]]] = {"types": {}, "file_kinds": {}, "demos": {}}
    for plugin, declared in registry.declared_by.items():
        for what, names in declared.items():
            for name in names:
                declarers[what].setdefault(name, []).append(plugin)
    return {"nodes": dict(registry.origin), **declarers}


def packs_for(stored: dict[str, Any], node_types: Iterable[str], demos: Iterable[str] = ()) -> list[str] | None:
    """The packs to load to validate a workflow of ``node_types`` naming ``demos`` (``demo:NAME``
    values): those registering the types, those declaring the socket types and file kinds their
    inputs and outputs use, and those declaring the demos. None when a type or a demo is not in
    the stored catalogue (then load everything, for the same problem, with its suggestions and
    the known demos, as a full load gives)."""
    index = stored["index"]
    by_type = {n["type"]: n for n in stored["catalogue"]["nodes"]}
    node_types, demos = set(node_types), set(demos)
    if any(t not in index["nodes"] or t not in by_type for t in node_types) or \
            any(d not in index["demos"] for d in demos):
        return None
    packs = {index["nodes"][t] for t in node_types}
    wanted = [("types", t) for n in node_types for t in (*(i["type"] for i in by_type[n]["inputs"]),
                                                         *(o["type"] for o in by_type[n]["outputs"]))]
    wanted += [("file_kinds", i["file"]["kind"]) for n in node_types for i in by_type[n]["inputs"] if i.get("file")]
    wanted += [("demos", d) for d in demos]
    for what, name in wanted:
        declarers = index[what].get(name, [])  # none: the core's own (INT, input, ...)
        if declarers and not packs.intersection(declarers):
            packs.add(declarers[0])
    return sorted(packs)
