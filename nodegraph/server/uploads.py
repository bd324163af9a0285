"""Storing an uploaded file in the input folder (the one disk write the websocket API makes)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..files.roots import atomic_write


def store_upload(folder: Path, name: str, data: bytes, overwrite: bool) -> str:
    """Write atomically under ``name`` (or name-1, name-2, ... unless overwriting or identical)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = os.path.splitext(name)
    digest = hashlib.sha256(data).digest()
    candidate, n = name, 0
    while not overwrite:
        path = folder / candidate
        if not path.exists() and not path.is_symlink():
            break
        if path.is_file() and not path.is_symlink() and hashlib.sha256(path.read_bytes()).digest() == digest:
            return candidate
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    target = folder / candidate
    if target.is_symlink():
        target.unlink()
    atomic_write(target, data)
    return candidate
