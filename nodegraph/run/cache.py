"""Cache of node outputs: Merkle keys, an LRU memory tier bounded in bytes, a disk tier.

key = hash(node type, node version, literal inputs, (key, output) of each linked input,
fingerprints of external state). Computing a key is O(1) in the size of the graph: it
never looks past a node's parents, whose keys already summarise their ancestry.

Disk tier layout (one entry per key): ``<dir>/<key[:2]>/<key>.safetensors`` holding every
tensor of the outputs and ``<key>.json`` holding the rest plus the tensor file's size and
hash. Both are written to temporary names and renamed (atomic); the JSON is renamed last,
so an entry without a readable JSON, or whose tensor file does not match it, is a miss
and is removed. Types that cannot live on disk stay in memory only. Frozen dataclasses whose
class sets ``__cache_persist__ = True`` (small descriptions such as model handles) are stored
as their fields and rebuilt from their class.

A disk entry's tensors are checked when it is read but decoded on first use of its outputs: a
re-run whose nodes are all cached reads no tensor into torch (and never imports it).
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii
from pathlib import Path
from typing import Any

from ..api.lists import ValueList
from ..api.types import is_tensor
from ..files.roots import atomic_write

DEFAULT_MEMORY_BYTES = 4 << 30
DEFAULT_DISK_BYTES = 20 << 30
_OBJECT_BYTES = 256  # what a non-tensor value is assumed to cost in the memory budget


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, enum.Enum):  # an enum widget's literal: keyed by its value
        return value.value
    return repr(value)  # e.g. a pydantic model in a JSON input: its repr shows every field


# One stateless encoder: json.dumps with options builds a new encoder per call (~2 µs).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_default)
# JSONEncoder.encode also builds its C encoder on every call (~3 µs, a tenth of the engine's
# per-node budget): the same C encoder, built once, gives the same text. Without the circular
# check (its markers would be state shared between threads): a key's parts come from JSON
# literals and hooks' fingerprints, and a cyclic value still fails (RecursionError).
_C_CANONICAL = None if c_make_encoder is None else c_make_encoder(
    None, _json_default, encode_basestring_ascii, None, ":", ",", True, False, True)


def canonical_json(parts: Any) -> str:
    """``parts`` as canonical JSON text (sorted keys, no whitespace, ASCII)."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(parts)
    if isinstance(parts, str):  # the C encoder takes containers and scalars the same way, but
        return encode_basestring_ascii(parts)  # a bare string goes through encode's own path
    return "".join(_C_CANONICAL(parts, 0))


def cache_key(parts: list[Any]) -> str:
    """Hash of JSON-able parts (canonical form: sorted keys, no whitespace)."""
    return hashlib.blake2b(canonical_json(parts).encode(), digest_size=20).hexdigest()


def key_start(fixed: list[Any]) -> Any:
    """The hash state of a key whose parts begin with ``fixed`` (for ``continued_key``)."""
    return hashlib.blake2b(canonical_json(fixed)[:-1].encode(), digest_size=20)


def continued_key(start: Any, parts: list[Any]) -> str:
    """``cache_key(fixed + parts)`` where ``start = key_start(fixed)``: the same key, the fixed
    parts serialised and hashed once (a node class's type, version and code), not once per node."""
    text = canonical_json(parts)
    hasher = start.copy()
    hasher.update(("," + text[1:] if parts else "]").encode())
    return hasher.hexdigest()


_SCALARS = (int, float, bool, type(None))


def value_nbytes(value: Any) -> int:
    if type(value) in _SCALARS:
        return _OBJECT_BYTES
    if is_tensor(value):
        return value.element_size() * value.nelement()
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, dict):
        return _OBJECT_BYTES + sum(value_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return _OBJECT_BYTES + sum(value_nbytes(v) for v in value)
    if isinstance(value, (str, bytes)):
        return _OBJECT_BYTES + len(value)
    return _OBJECT_BYTES


@dataclass(slots=True)  # slots: one entry per node of a big graph, kept small for the collector
class CacheEntry:
    outputs: Mapping[str, Any]  # a dict, or LazyOutputs read from disk
    files: tuple[str, ...] = ()  # files an output node wrote
    ui: dict[str, Any] = field(default_factory=dict)  # what the canvas shows for the node
    # Its size in the memory tier's budget, set there (on the entry, not in a (entry, size) pair:
    # one object fewer per node for the cycle collector to walk in a big graph).
    nbytes: int = 0

    def files_present(self) -> bool:
        return all(os.path.exists(f) for f in self.files)


class MemoryTier:
    def __init__(self, max_bytes: int = DEFAULT_MEMORY_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        outputs = entry.outputs
        # not decoded yet: its tensor file's size (a plain dict first: an ABC's isinstance costs ~1 µs)
        if type(outputs) is not dict and isinstance(outputs, LazyOutputs):
            size = outputs.nbytes + _OBJECT_BYTES * (1 + len(outputs))
        else:
            size = _OBJECT_BYTES
            for value in outputs.values():  # a loop, not sum() of a generator: this runs for every node
                size += _OBJECT_BYTES if type(value) in _SCALARS else value_nbytes(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old.nbytes
            if size > self.max_bytes:
                return
            entry.nbytes = size
            self._entries[key] = entry
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= evicted.nbytes

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


class NotStorable(Exception):
    pass


def _encode(outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split outputs into tensors (for safetensors) and a JSON description of the rest."""
    tensors: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for name, value in outputs.items():
        described[name] = _encode_value(value, name, tensors)
    return tensors, described


def _encode_value(value: Any, path: str, tensors: dict[str, Any]) -> Any:
    if is_tensor(value):
        tensors[path] = value.detach().contiguous().cpu()
        return {"$tensor": path}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode_value(v, f"{path}/{i}", tensors) for i, v in enumerate(value)]
        if isinstance(value, ValueList):
            return {"$list": items, "values": True}
        return {"$list": items, "tuple": isinstance(value, tuple)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: _encode_value(v, f"{path}/{k}", tensors) for k, v in value.items()}}
    cls = type(value)
    if dataclasses.is_dataclass(value) and cls.__dict__.get("__cache_persist__") is True:
        return {"$data": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _encode_value(getattr(value, f.name), f"{path}/{f.name}", tensors)
                           for f in dataclasses.fields(value)}}
    raise NotStorable(cls.__name__)


def _decode_value(desc: Any, tensors: dict[str, Any]) -> Any:
    if isinstance(desc, dict):
        if "$tensor" in desc:
            return tensors[desc["$tensor"]]
        if "$list" in desc:
            items = [_decode_value(v, tensors) for v in desc["$list"]]
            if desc.get("values"):
                return ValueList(items)
            return tuple(items) if desc.get("tuple") else items
        if "$dict" in desc:
            return {k: _decode_value(v, tensors) for k, v in desc["$dict"].items()}
        if "$data" in desc:
            cls = _persistable_class(desc["$data"])
            return cls(**{k: _decode_value(v, tensors) for k, v in desc["fields"].items()})
    return desc


def _persistable_class(name: str) -> type:
    """The class a ``$data`` entry names; only dataclasses that opted in (a cache file cannot
    make us build anything else)."""
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__dict__.get("__cache_persist__") is True):
        raise ValueError(f"{name} is not a persistable value class")
    return obj


class LazyOutputs(Mapping):
    """A disk entry's outputs, decoded (tensors loaded) on first access."""

    __slots__ = ("_described", "_blob", "_values", "nbytes")

    def __init__(self, described: dict[str, Any], blob: bytes | None):
        self._described = described
        self._blob = blob
        self._values: dict[str, Any] | None = None
        self.nbytes = len(blob or b"")

    def _load(self) -> dict[str, Any]:
        if self._values is None:
            tensors = {}
            if self._blob is not None:
                from safetensors.torch import load as load_tensors
                tensors = load_tensors(self._blob)
            self._values = {name: _decode_value(desc, tensors) for name, desc in self._described.items()}
            self._blob = None
        return self._values

    def __getitem__(self, name: str) -> Any:
        return self._load()[name]

    def __iter__(self):
        return iter(self._described)

    def __len__(self) -> int:
        return len(self._described)

    def __repr__(self) -> str:
        return f"LazyOutputs({list(self._described)})"


def _check_classes(desc: Any) -> None:
    """Every ``$data`` class of an entry can be rebuilt (else the entry is a miss, not a failure later)."""
    if isinstance(desc, dict):
        if "$data" in desc:
            _persistable_class(desc["$data"])
        for value in desc.values():
            _check_classes(value)
    elif isinstance(desc, list):
        for value in desc:
            _check_classes(value)


class DiskTier:
    def __init__(self, directory: str | Path, max_bytes: int = DEFAULT_DISK_BYTES):
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bytes = sum(p.stat().st_size for p in self.dir.glob("*/*") if p.is_file())

    def _paths(self, key: str) -> tuple[Path, Path]:
        sub = self.dir / key[:2]
        return sub / f"{key}.json", sub / f"{key}.safetensors"

    def get(self, key: str) -> CacheEntry | None:
        meta_path, data_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._remove(key)
            return None
        try:
            blob = None
            if meta.get("tensor_file"):
                blob = data_path.read_bytes()
                if len(blob) != meta["tensor_file"]["size"] or \
                        hashlib.blake2b(blob, digest_size=20).hexdigest() != meta["tensor_file"]["hash"]:
                    raise ValueError("tensor file does not match its metadata")
            for desc in meta["outputs"].values():
                _check_classes(desc)
            outputs = LazyOutputs(meta["outputs"], blob)
            entry = CacheEntry(outputs, tuple(meta.get("files", ())), meta.get("ui", {}))
        except Exception:  # corrupt or truncated: a miss; the node recomputes and rewrites it
            self._remove(key)
            return None
        now = time.time()
        for path in (meta_path, data_path):
            try:
                os.utime(path, (now, now))  # LRU order is mtime order
            except OSError:
                pass
        return entry

    def put(self, key: str, entry: CacheEntry) -> bool:
        try:
            tensors, described = _encode(entry.outputs)
        except NotStorable:
            return False
        meta_path, data_path = self._paths(key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"outputs": described, "files": list(entry.files), "ui": entry.ui}
        written = 0
        if tensors:
            from safetensors.torch import save as save_tensors
            try:
                blob = save_tensors(tensors)
            except RuntimeError:  # one tensor in two outputs (or views of one): safetensors refuses sharing
                blob = save_tensors({name: t.clone() for name, t in tensors.items()})
            meta["tensor_file"] = {"size": len(blob), "hash": hashlib.blake2b(blob, digest_size=20).hexdigest()}
            written += atomic_write(data_path, blob)
        try:
            text = json.dumps(meta).encode()
        except (TypeError, ValueError):
            return False
        written += atomic_write(meta_path, text)
        with self._lock:
            self.bytes += written
        self._evict()
        return True

    def _remove(self, key: str) -> None:
        for path in self._paths(key):
            try:
                size = path.stat().st_size
                path.unlink()
                with self._lock:
                    self.bytes -= size
            except OSError:
                pass

    def _evict(self) -> None:
        if self.bytes <= self.max_bytes:
            return
        entries: dict[str, list[os.stat_result]] = {}
        for path in self.dir.glob("*/*"):
            if path.suffix in (".json", ".safetensors"):
                try:
                    entries.setdefault(path.stem, []).append(path.stat())
                except OSError:
                    pass
        # Evict down to 90% of the cap so that the next few writes do not rescan the folder.
        target = self.max_bytes * 0.9
        for key in sorted(entries, key=lambda k: max(s.st_mtime for s in entries[k])):
            if self.bytes <= target:
                break
            self._remove(key)


class Cache:
    """Both tiers behind one interface. ``persist`` says which outputs may go to disk."""

    def __init__(self, memory_bytes: int = DEFAULT_MEMORY_BYTES, disk_dir: str | Path | None = None,
                 disk_bytes: int = DEFAULT_DISK_BYTES, enabled: bool = True):
        self.enabled = enabled
        self.memory = MemoryTier(memory_bytes)
        self.disk = DiskTier(disk_dir, disk_bytes) if (disk_dir is not None and enabled) else None

    def get(self, key: str) -> tuple[CacheEntry | None, str | None]:
        if not self.enabled:
            return None, None
        entry = self.memory.get(key)
        if entry is not None:
            return entry, "memory"
        if self.disk is not None:
            entry = self.disk.get(key)
            if entry is not None:
                self.memory.put(key, entry)
                return entry, "disk"
        return None, None

    def put(self, key: str, entry: CacheEntry, persist: bool) -> None:
        if not self.enabled:
            return
        self.memory.put(key, entry)
        if persist and self.disk is not None:
            self.disk.put(key, entry)
