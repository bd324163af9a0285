"""Provenance embedded in outputs (docs/workflow-format.md, "Provenance"): workflow, node versions, file hashes."""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from ..version import __version__
from .roots import atomic_write


class FileHasher:
    """sha256 of files and folders, remembered by (path, size, mtime_ns, inode).

    With a ``store`` folder the digests also persist across processes (one small file per
    key), so a multi-GB model is hashed once, not by every CLI run. A file rewritten in place
    changes its mtime or size, a file replaced by another changes its inode: either is
    hashed again. Digests are only computed when provenance is asked for, or ahead of that by
    ``prefetch`` once a job has something to run; a file is read by one thread at a time,
    and a thread asking for a digest another one is computing waits for it.
    """

    def __init__(self, store: Path | None = None) -> None:
        self._store = Path(store) if store is not None else None
        self._known: dict[tuple[str, int, int, int], str] = {}
        self._folders: dict[tuple[str, int, int], str] = {}
        self._busy: dict[tuple[str, int, int, int], threading.Event] = {}
        self._lock = threading.Lock()
        self.computed = 0  # files actually read (tests and benchmarks)

    def file(self, path: Path) -> str:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
        while True:
            with self._lock:
                if key in self._known:
                    return self._known[key]
                busy = self._busy.get(key)
                if busy is None:
                    self._busy[key] = threading.Event()
                    break
            busy.wait()  # another thread is reading it; if it failed, this one tries itself
        try:
            value = self._stored(key)
            if value is None:
                digest = hashlib.sha256()
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)  # releases the GIL: a prefetch runs beside the job
                value = digest.hexdigest()
                with self._lock:
                    self.computed += 1
                self._remember(key, value)
            with self._lock:
                self._known[key] = value
            return value
        finally:
            with self._lock:
                self._busy.pop(key).set()

    def prefetch(self, paths: list[Path]) -> threading.Thread | None:
        """Compute the digests of ``paths`` on a background thread (a multi-GB model takes
        seconds: done while the job imports and loads, not when its output is saved)."""
        if not paths:
            return None
        thread = threading.Thread(target=self._prefetch, args=(list(paths),), name="nodegraph-digests", daemon=True)
        thread.start()
        return thread

    def _prefetch(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                self.path(path)
            except OSError:  # the output node's own call reports it, in its job
                pass

    def _entry(self, key: tuple) -> Path | None:
        if self._store is None:
            return None
        return self._store / (hashlib.sha256(repr(key).encode()).hexdigest()[:40] + ".sha256")

    def _stored(self, key: tuple) -> str | None:
        entry = self._entry(key)
        try:
            text = entry.read_text().strip() if entry is not None else ""
        except OSError:
            return None
        return text if len(text) == 64 else None

    def _remember(self, key: tuple, value: str) -> None:
        entry = self._entry(key)
        if entry is None:
            return
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(entry, value)
        except OSError:  # a read-only cache dir only costs the next process a re-hash
            pass

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


def file_hasher(env: Any) -> FileHasher:
    """The environment's hasher (digests kept in ``env.digest_dir`` when it has one)."""
    return env.service("file_hasher", lambda: FileHasher(getattr(env, "digest_dir", None)))


def _file_inputs(graph: Any, env: Any) -> Iterator[tuple[str, str, str, Path | None]]:
    """(node id, input name, value, resolved path or None) of every file literal in ``graph``."""
    by_class: dict[type, tuple[str, ...]] = {}  # most nodes of a big graph have no file inputs
    for node_id, gnode in graph.nodes.items():
        cls = gnode.cls
        names = by_class.get(cls)
        if names is None:
            names = by_class[cls] = tuple(n for n, spec in cls.inputs.items() if spec.file_kind)
        for name in names:
            value = gnode.literals.get(name)
            if not isinstance(value, str) or not value:
                continue
            try:
                path = cls.resolve_file(name, value, env)
            except ValueError:
                path = None
            yield node_id, name, value, path


def prefetch_digests(graph: Any, env: Any) -> threading.Thread | None:
    """Start hashing the graph's input files in the background (see ``FileHasher.prefetch``)."""
    try:
        paths = [path for *_, path in _file_inputs(graph, env) if path is not None]
    except Exception:  # noqa: BLE001 - only a head start: the node that needs a file reports its problem
        return None
    return file_hasher(env).prefetch(paths)


def build_provenance(graph: Any, env: Any) -> dict[str, Any]:
    hasher = file_hasher(env)
    nodes: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for node_id, gnode in graph.nodes.items():
        cls = gnode.cls
        nodes[node_id] = {"type": cls.node_type, "version": cls.version, "plugin": getattr(cls, "__plugin__", None)}
    for node_id, name, value, path in _file_inputs(graph, env):
        entry: dict[str, Any] = {"node": node_id, "input": name, "value": value}
        if path is not None:
            entry["sha256"] = hasher.path(path)
        files[f"{node_id}.{name}"] = entry
    return {"nodegraph": __version__, "nodes": nodes, "files": files}
