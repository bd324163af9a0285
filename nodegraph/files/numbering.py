"""Numbered output names as ComfyUI writes them: ``<prefix>_00001_.png`` after the highest number
already in the folder, sub-folders from the prefix, never outside the output folder. For nodes
that save files for ComfyUI callers (the basic pack's SaveImage and PreviewImage, the comfy
pack's animated savers)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable


def expand_prefix(prefix: str, width: int = 0, height: int = 0, now: float | None = None) -> str:
    """ComfyUI's variables in a filename prefix: %width%, %height%, %year%, %month%, %day%,
    %hour%, %minute%, %second% (zero-padded as ComfyUI writes them)."""
    t = time.localtime(now)
    values = {"width": str(width), "height": str(height), "year": str(t.tm_year), "month": f"{t.tm_mon:02d}",
              "day": f"{t.tm_mday:02d}", "hour": f"{t.tm_hour:02d}", "minute": f"{t.tm_min:02d}",
              "second": f"{t.tm_sec:02d}"}
    for key, value in values.items():
        prefix = prefix.replace(f"%{key}%", value)
    return prefix


def output_folder(output_dir: Path, prefix: str) -> tuple[Path, str, str]:
    """(folder, file name stem, sub-folder relative to ``output_dir``) of a prefix such as
    ``portraits/fox``; ValueError for a prefix leaving the output folder or naming no file."""
    text = prefix.replace("\\", "/")
    sub, _, base = text.rpartition("/")
    root = Path(output_dir).resolve()
    folder = (root / sub).resolve() if sub else root
    if text.startswith("/") or (folder != root and root not in folder.parents):
        raise ValueError(f"{prefix!r} would save outside the output folder")
    if not base:
        raise ValueError(f"{prefix!r} names a folder but no file name")
    return folder, base, folder.relative_to(root).as_posix() if folder != root else ""


def numbered_paths(folder: Path, base: str, count: int, suffix: str = ".png",
                   pending: Callable[[Path], bool] = lambda p: False) -> list[Path]:
    """``count`` new paths ``<base>_<counter:05>_<suffix>`` after the highest counter already in
    ``folder``, each reserved (created empty, exclusively) so that two savers never pick one name;
    the writer then replaces the empty file whole. ``pending``: a path being written right now.
    ``%batch_num%`` in ``base`` becomes each file's index in the batch."""
    folder.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(re.escape(base) + r"_(\d+)_")
    counter = 1 + max((int(m.group(1)) for name in os.listdir(folder) if (m := pattern.match(name))), default=0)
    paths: list[Path] = []
    for index in range(count):
        name_base = base.replace("%batch_num%", str(index))
        while True:
            path = folder / f"{name_base}_{counter:05d}_{suffix}"
            counter += 1
            if pending(path):
                continue
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            except FileExistsError:
                continue
            paths.append(path)
            break
    return paths
