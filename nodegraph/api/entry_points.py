"""The installed distributions' entry points, read once while the import path is unchanged.

``importlib.metadata.entry_points(group=...)`` reads every installed distribution's
``entry_points.txt`` on each call (~10-15 ms with a system's site-packages on a 2-core machine),
and one light command asks for several groups (executors, node packs, pack-folder loaders).
Here they are read once and kept for as long as every ``sys.path`` folder's modification time
and the path itself are the same: installing, removing or reinstalling a distribution changes
its folder's mtime, so a new scan follows (as importlib.metadata keys its own folder listings).
"""
from __future__ import annotations

import functools
import os
import sys
from importlib.metadata import EntryPoints, entry_points


def installed_entry_points(group: str) -> EntryPoints:
    """The entry points of ``group``, as ``entry_points(group=group)`` gives them."""
    return _every_entry_point(_path_state()).select(group=group)


def _path_state() -> tuple[tuple[str, int | None], ...]:
    state = []
    for folder in sys.path:
        try:
            state.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            state.append((folder, None))
    return tuple(state)


@functools.lru_cache(maxsize=1)  # one state of the path: a changed one replaces it
def _every_entry_point(path_state: tuple) -> EntryPoints:
    return entry_points()
