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

import importlib.metadata
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..api.entry_points import DIST_SUFFIXES, environment_key  # noqa: F401  (one key for both stored scans)
from ..files.roots import kept_answer



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
