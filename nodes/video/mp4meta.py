"""Read the metadata tags of an MP4/MOV file (ISO BMFF ``moov/udta/meta``), in pure Python.

Used to get the workflow back out of a clip saved by nodegraph (``nodegraph run clip.mp4``)
without a video library: the video pack declares ``WORKFLOW_READER`` for the core's ``load_workflow``. Handles both tag layouts FFmpeg writes: iTunes-style items
(``ilst/©cmt/data``) and QuickTime ``mdta`` keys (``keys`` + ``ilst/<index>/data``), which is how
arbitrary names such as ``nodegraph.workflow`` are stored (``movflags=use_metadata_tags``).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import BinaryIO, Iterator

from nodegraph import WorkflowReader
from nodegraph.files.sniff import is_iso_media
from nodegraph.graph.workflow import PNG_WORKFLOW_KEY

MAX_MOOV = 64 << 20  # a moov box larger than this is not read (metadata lives in the first KBs)
_ITUNES = {b"\xa9cmt": "comment", b"\xa9nam": "title", b"\xa9too": "encoder", b"desc": "description"}


def read_workflow(path: Path) -> str | None:
    """The workflow JSON a clip saved by SaveVideo embeds: its ``nodegraph.workflow`` tag, else
    its sidecar ``<file>.json`` (``{"workflow": ...}``), for files another tool re-muxed without
    the tags; None when neither has one (the video pack's ``WorkflowReader``)."""
    return with_sidecar(read_tags(path).get(PNG_WORKFLOW_KEY), path)


def with_sidecar(text: str | None, path: Path) -> str | None:
    """``text`` (the workflow a clip embeds), else the workflow in its sidecar ``<file>.json``;
    None when neither has one. Shared by the readers of every clip format (``clip_meta.py``)."""
    sidecar = Path(str(path) + ".json")
    if not text and sidecar.is_file():
        try:
            embedded = json.loads(sidecar.read_text(encoding="utf-8")).get("workflow")
        except (OSError, ValueError, AttributeError) as exc:
            raise ValueError(f"its sidecar {sidecar.name}: {exc}") from None
        text = json.dumps(embedded) if embedded else None
    return text


def first_and_last_frames(path: Path) -> list:
    """The clip's first and last frames (PIL images), read with PyAV (``clip_frames.py``)."""
    from .clip_frames import first_and_last_frames as read
    return read(path)


WORKFLOW_READER = WorkflowReader("video", (".mp4", ".mov", ".m4v"), read_workflow, sniff=is_iso_media,
                                 missing="(and no .json sidecar)", frames=first_and_last_frames)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _read_moov(fh: BinaryIO) -> bytes | None:
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
            header = 16
        if kind == b"moov":
            if size == 0 or size - header > MAX_MOOV:
                return None
            return fh.read(size - header)
        if size == 0 or size < header:
            return None
        fh.seek(size - header, 1)


def _data_text(data: bytes, start: int, end: int) -> str | None:
    for kind, s, e in _boxes(data, start, end):
        if kind == b"data" and e - s >= 8:
            return data[s + 8:e].decode("utf-8", errors="replace")
    return None


def read_tags(path: str | Path) -> dict[str, str]:
    """Text tags of the file's movie-level metadata; {} when there are none or it is not an MP4."""
    with open(path, "rb") as fh:
        moov = _read_moov(fh)
    if moov is None:
        return {}
    tags: dict[str, str] = {}
    for kind, s, e in _boxes(moov):
        if kind != b"udta":
            continue
        for mkind, ms, me in _boxes(moov, s, e):
            if mkind != b"meta":
                continue
            if moov[ms:ms + 4] == b"\0\0\0\0":  # ISO full box: version and flags first
                ms += 4
            keys: list[str] = []
            for ckind, cs, ce in _boxes(moov, ms, me):
                if ckind == b"keys" and ce - cs >= 8:
                    pos = cs + 8
                    while pos + 8 <= ce:
                        size = struct.unpack(">I", moov[pos:pos + 4])[0]
                        if size < 8:
                            break
                        keys.append(moov[pos + 8:pos + size].decode("utf-8", errors="replace"))
                        pos += size
            for ckind, cs, ce in _boxes(moov, ms, me):
                if ckind == b"ilst":
                    for ikind, is_, ie in _boxes(moov, cs, ce):
                        text = _data_text(moov, is_, ie)
                        if text is None:
                            continue
                        index = struct.unpack(">I", ikind)[0]
                        if ikind in _ITUNES:
                            tags.setdefault(_ITUNES[ikind], text)
                        elif 1 <= index <= len(keys):
                            tags[keys[index - 1]] = text
    return tags
