"""The installed distributions' entry points of nodegraph's groups, read without a scan.

``importlib.metadata.entry_points`` reads every installed distribution's ``entry_points.txt`` on
each call (~20 ms on a 2-core machine with a system's site-packages) and importing
``importlib.metadata`` costs ~35 ms more: together a third of ``nodegraph nodes`` with a stored
catalogue. The entry points of the ``nodegraph.*`` groups (node packs, executors, pack-folder
loaders) and of installed ComfyUI node packs change only when a distribution is installed, upgraded or removed, which adds, renames
or rewrites a ``*.dist-info`` (or ``*.egg-info``) folder on ``sys.path``: they are kept in the
cache folder (``packages/``, beside the other stored scans) under a key of those folders' names and mtimes (``environment_key``, ~1 ms), and in
the process while the path's folders keep their mtimes. ``NODEGRAPH_STORED_SCANS=0`` scans
every time.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from ..files.cache_home import default_cache_dir
from ..files.roots import kept_answer

DIST_SUFFIXES = (".dist-info", ".egg-info")
# Packs in another format that pip installs, per format: the entry-point group their distributions
# declare, each entry naming the pack's package. ComfyUI node packs published for pip-installed
# ComfyUI declare ``comfyui_legacy.custom_nodes`` (``name = package``). Loaded by api/plugins.py.
INSTALLED_PACK_GROUPS = {"comfy": "comfyui_legacy.custom_nodes"}
# The groups kept (prefixes); any other is scanned when asked for.
KEPT_GROUPS = ("nodegraph.", *INSTALLED_PACK_GROUPS.values())
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@dataclass(frozen=True)
class InstalledEntryPoint:
    """What nodegraph reads of an entry point: ``name``, ``value`` (``module:attr``), ``group``,
    ``load()``, and ``dist`` (its distribution, looked up when asked for)."""
    name: str
    value: str
    group: str

    @property
    def module(self) -> str:
        match = _VALUE.match(self.value)
        return match.group("module") if match else self.value

    @property
    def attr(self) -> str | None:
        match = _VALUE.match(self.value)
        return match.group("attr") if match else None

    def load(self) -> Any:
        """The object named: its module imported, then its attributes followed (as
        ``importlib.metadata.EntryPoint.load`` does)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r} = {self.value!r} names no module")
        value = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            value = getattr(value, attr)
        return value

    @property
    def dist(self) -> Any:
        from importlib.metadata import entry_points
        for ep in entry_points(group=self.group):
            if ep.name == self.name and ep.value == self.value:
                return ep.dist
        return None


def installed_entry_points(group: str) -> list[Any]:
    """The entry points of ``group``, in the order ``entry_points(group=group)`` gives them."""
    if not group.startswith(KEPT_GROUPS):
        from importlib.metadata import entry_points
        return list(entry_points(group=group))
    return [ep for ep in _kept(_path_state()) if ep.group == group]


def installed_packs_exist() -> bool:
    """Whether pip installed any pack of another format (``INSTALLED_PACK_GROUPS``)."""
    return any(installed_entry_points(group) for group in INSTALLED_PACK_GROUPS.values())


def environment_key() -> str:
    """Changes when any distribution visible on ``sys.path`` is added, removed or rewritten."""
    parts = [sys.version]
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(DIST_SUFFIXES))
        except OSError:  # a zip file, a path hook or a missing folder: its own mtime stands in
            try:
                parts.append(f"{entry}|{os.stat(folder).st_mtime_ns}")
            except OSError:
                parts.append(f"{entry}|-")
            continue
        parts.append(f"{os.path.abspath(folder)}|{len(names)}")
        for name in names:
            try:
                parts.append(f"{name}|{os.stat(os.path.join(folder, name)).st_mtime_ns}")
            except OSError:
                parts.append(f"{name}|-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _path_state() -> tuple[tuple[str, int | None], ...]:
    """The path and its folders' mtimes: what keeps the process's copy (``_kept``) valid."""
    state = []
    for folder in sys.path:
        try:
            state.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            state.append((folder, None))
    return tuple(state)


@functools.lru_cache(maxsize=1)  # one state of the path: a changed one replaces it
def _kept(path_state: tuple) -> tuple[InstalledEntryPoint, ...]:
    if os.environ.get("NODEGRAPH_STORED_SCANS", "1") == "0":
        rows = _scan()
    else:
        # the groups join the key: a scan kept for other groups is not reused
        key = hashlib.blake2b(f"{environment_key()} {KEPT_GROUPS}".encode(), digest_size=10).hexdigest()
        rows = kept_answer(default_cache_dir() / "packages", "entry-points", key, _scan, decode=_rows)
    return tuple(InstalledEntryPoint(name, value, group) for group, name, value in rows)


def _scan() -> list[list[str]]:
    from importlib.metadata import entry_points
    every = entry_points()  # one scan; ``select`` then filters it (Python 3.11's SelectableGroups too)
    return [[ep.group, ep.name, ep.value] for group in sorted(every.groups) if group.startswith(KEPT_GROUPS)
            for ep in every.select(group=group)]


def _rows(value: Any) -> list[list[str]]:
    if not (isinstance(value, list) and all(isinstance(r, list) and len(r) == 3 and all(isinstance(v, str) for v in r)
                                            for r in value)):
        raise TypeError("not a list of entry points")
    return value
