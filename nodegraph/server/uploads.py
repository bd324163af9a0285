"""Uploads into the input folder: the checks every transport runs, and the one disk write.

Pure functions, no I/O but ``store_upload``, so the websocket API and any other transport (an
HTTP ``/upload/image`` route) call the same ones, in this order:

1. ``sanitize_name(name, kind)``: the file name it is stored under (no folders, no hidden, NUL,
   control or over-long names; the extension must be one of the kind's);
2. ``check_size(size, max_bytes)``: before the bytes arrive when the client declares the size,
   and again on the bytes;
3. ``check_content(name, data)``: the bytes are sniffed (PNG, JPEG, WebP, GIF, BMP, MP4/MOV,
   WebM/MKV magic) and must be what the extension claims;
4. ``store_upload(folder, name, data, overwrite)``: written atomically inside ``folder`` only.

A refusal is an ``UploadRefused`` whose message says why; nothing is written before all checks
pass, and a failed write leaves no temporary file (``files.atomic_write``).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..files.roots import atomic_write
from ..files.sniff import is_iso_media

UPLOAD_KINDS = {"image": (".png", ".jpg", ".jpeg", ".webp", ".bmp"),
                "video": (".mp4", ".webm", ".mov", ".mkv", ".m4v", ".gif", ".webp")}
MAX_STEM = 100  # characters of a stored name before its extension
MAX_NAME_INPUT = 1024  # a longer name is refused outright, not cut
MAX_RENAMES = 1000  # name-1 ... name-1000: then the upload is refused (the folder is full of that name)

# The family each extension claims, and how a family's bytes begin.
FAMILY = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WebP", ".gif": "GIF", ".bmp": "BMP",
          ".mp4": "MP4", ".mov": "MP4", ".m4v": "MP4", ".webm": "WebM", ".mkv": "WebM"}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(ValueError):
    """Why an upload is refused (sent back as ``bad_upload``)."""


def sniff(data: bytes) -> str | None:
    """The media family the bytes start like: PNG, JPEG, WebP, GIF, BMP, MP4 (ISO media:
    MP4/MOV/M4V), WebM (EBML: WebM/MKV); None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM") and len(data) >= 26:
        return "BMP"
    if is_iso_media(data[:8]):
        return "MP4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "WebM"
    return None


def sanitize_name(name: str, kind: str = "image") -> str:
    """The file name an upload is stored under: its last path component, reduced to letters,
    digits, '.', '_' and '-', no leading dot, the stem at most MAX_STEM characters."""
    if kind not in UPLOAD_KINDS:
        raise UploadRefused(f"uploads of kind {kind!r} are not accepted; kinds: {', '.join(UPLOAD_KINDS)}")
    if len(name) > MAX_NAME_INPUT:
        raise UploadRefused(f"the name is {len(name)} characters long (at most {MAX_NAME_INPUT})")
    if "\x00" in name:
        raise UploadRefused("the name contains a NUL character")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if base in ("", ".", ".."):
        raise UploadRefused(f"{name[:100]!r} names a folder, not a file")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        raise UploadRefused(f"{name[:100]!r} has no file extension")
    suffix = "." + suffix.lower()
    if suffix not in UPLOAD_KINDS[kind]:
        raise UploadRefused(f"{name[:100]!r}: {kind} uploads must end in {', '.join(UPLOAD_KINDS[kind])}")
    stem = _NAME_CHARS.sub("_", stem).strip("._-")[:MAX_STEM].rstrip("._-") or "upload"
    return stem + suffix


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise UploadRefused(f"the upload is {size:,} bytes, over the server's limit of {max_bytes:,} bytes "
                            "(nodegraph serve --max-upload)")


def check_content(name: str, data: bytes) -> None:
    """The bytes are the file type the name's extension claims."""
    if not data:
        raise UploadRefused("the upload is empty")
    claimed = FAMILY.get(Path(name).suffix.lower())
    found = sniff(data)
    if claimed is not None and found != claimed:
        what = f"a {found} file" if found else "no known image or video format"
        raise UploadRefused(f"the bytes are not a {claimed} file ({Path(name).suffix.lower()}): they are {what}")


def check_upload(name: str, kind: str, data: bytes, max_bytes: int) -> str:
    """Every check at once, for a transport that has the bytes; the sanitized name."""
    stored = sanitize_name(name, kind)
    check_size(len(data), max_bytes)
    check_content(stored, data)
    return stored


def store_upload(folder: Path, name: str, data: bytes, overwrite: bool) -> str:
    """Write atomically under ``name`` (sanitized) in ``folder``, or name-1, name-2, ... unless
    overwriting or the same bytes are already there; the name it was stored under."""
    if name != Path(name).name or name in ("", ".", ".."):
        raise UploadRefused(f"{name!r} is not a plain file name")  # sanitize_name makes this impossible
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
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
        if n > MAX_RENAMES:
            raise UploadRefused(f"{MAX_RENAMES} files named like {name!r} exist already")
        candidate = f"{stem}-{n}{suffix}"
    target = folder / candidate
    if target.is_dir() and not target.is_symlink():
        raise UploadRefused(f"{candidate!r} is a folder in the input folder; it is not replaced")
    if target.parent.resolve() != root:
        raise UploadRefused(f"{candidate!r} would be written outside the input folder")
    if target.is_symlink():  # replaced by a file, never written through
        target.unlink()
    atomic_write(target, data)
    return candidate
