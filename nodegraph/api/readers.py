"""Readers of workflows embedded in files other than workflow JSON (a PNG's text chunk, an MP4's
metadata tags), declared by the packs that write those files.

A pack lists them in ``WORKFLOW_READERS`` (like ``SOCKET_TYPES``); the session's catalogue
collects them and ``load_workflow`` asks them, so the core reads no image or video format
itself. A reader claims a file by its first bytes (``sniff``) or, without one, by its suffix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HEAD_BYTES = 16  # what ``sniff`` is shown: enough for PNG, ISO BMFF (MP4/MOV) and RIFF (WebP) signatures


@dataclass(frozen=True)
class WorkflowReader:
    """``read(path)`` returns the embedded workflow's JSON text, or None when the file has none;
    it raises OSError (or ValueError) when the file cannot be read as its format."""
    name: str  # the format, for messages: "PNG", "video"
    suffixes: tuple[str, ...]  # lower case, with the dot: (".png",)
    read: Callable[[Path], "str | None"]
    sniff: Callable[[bytes], bool] | None = None  # the first HEAD_BYTES bytes are this format
    missing: str = ""  # said after "... without an embedded nodegraph workflow", e.g. "(and no .json sidecar)"
    # The file's first and last frames as PIL images (a sweep's contact sheet shows them for
    # a clip Pillow cannot open); raises OSError or ValueError for a file it cannot read.
    frames: Callable[[Path], list] | None = None

    def claims(self, path: Path, head: bytes) -> bool:
        if self.sniff is not None:
            return bool(self.sniff(head))
        return path.suffix.lower() in self.suffixes
