"""Provenance embedded in outputs (docs/workflow-format.md, "Provenance"): workflow, node versions, file hashes."""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from . import __version__


class FileHasher:
    """sha256 of files and folders, remembered by (path, size, mtime) for the session."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}
        self._folders: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def file(self, path: Path) -> str:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._known:
                return self._known[key]
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        with self._lock:
            self._known[key] = value
        return value

    def path(self, path: Path) -> str:
        if path.is_file():
            return self.file(path)
        # One walk of sizes and mtimes decides whether the folder's digest is still good;
        # only a changed folder is hashed again (models are large, jobs are many).
        listing = []
        for root, _dirs, names in os.walk(path):
            for name in names:
                full = os.path.join(root, name)
                st = os.stat(full)
                listing.append((os.path.relpath(full, path).replace(os.sep, "/"), st.st_size, st.st_mtime_ns))
        listing.sort()
        key = (str(path.resolve()), hash(tuple(listing)), len(listing))
        with self._lock:
            if key in self._folders:
                return self._folders[key]
        combined = hashlib.sha256()
        for rel, _size, _mtime in listing:
            combined.update(rel.encode() + b"\0" + self.file(path / rel).encode())
        value = combined.hexdigest()
        with self._lock:
            self._folders[key] = value
        return value


def build_provenance(graph: Any, env: Any) -> dict[str, Any]:
    hasher = env.service("file_hasher", FileHasher)
    nodes: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for node_id, gnode in graph.nodes.items():
        cls = gnode.cls
        nodes[node_id] = {"type": cls.node_type, "version": cls.version, "plugin": getattr(cls, "__plugin__", None)}
        for name, spec in cls.inputs.items():
            value = gnode.literals.get(name)
            if not spec.file_kind or not isinstance(value, str) or not value:
                continue
            try:
                path = cls.resolve_file(name, value, env)
            except ValueError:
                path = None
            entry: dict[str, Any] = {"node": node_id, "input": name, "value": value}
            if path is not None:
                entry["sha256"] = hasher.path(path)
            files[f"{node_id}.{name}"] = entry
    return {"nodegraph": __version__, "nodes": nodes, "files": files}
