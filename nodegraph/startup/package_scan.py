"""Serve ``importlib.metadata.packages_distributions()`` from a file while a run imports libraries.

diffusers calls it when it is imported (to map import names to distributions for its version
checks). The standard library answers by reading every installed distribution's metadata and,
for those without a ``top_level.txt`` (torch, the CUDA wheels), their whole file lists: 0.1-0.2 s
in a small CPU environment, 3.2 s in a profile of a cold ``nodegraph run`` on a GPU host. The
answer changes only when a distribution is installed, upgraded or removed, which adds, renames
or rewrites a ``*.dist-info`` folder on ``sys.path``: the stored copy is keyed by those folders'
names and mtimes (listing them costs ~1 ms).

The replacement is installed only inside ``package_scan_cached`` (the CLI wraps a run, the
server its lifetime) and the original is put back on exit.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..files.roots import kept_answer

DIST_SUFFIXES = (".dist-info", ".egg-info")


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


def stored_scan(store: Path, scan: Callable[[], dict]) -> Callable[[], dict]:
    """A ``packages_distributions`` that reads ``store``'s copy for this environment, else runs
    ``scan`` and keeps its answer (only the latest environment's copy is kept)."""
    def packages_distributions() -> dict:
        return kept_answer(store, "packages", environment_key(), scan, decode=_mapping)
    return packages_distributions


def _mapping(value) -> dict:
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return value


@contextmanager
def package_scan_cached(store: Path | None) -> Iterator[None]:
    """Inside the block, ``importlib.metadata.packages_distributions`` is served from ``store``."""
    if store is None or os.environ.get("NODEGRAPH_STORED_SCANS", "1") == "0":
        yield
        return
    original = importlib.metadata.packages_distributions
    importlib.metadata.packages_distributions = stored_scan(Path(store), original)
    try:
        yield
    finally:
        importlib.metadata.packages_distributions = original
