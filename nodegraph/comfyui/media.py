"""Files through ComfyUI's routes: ``/view`` and ``/upload/image|mask``, with ComfyUI's path
rules and stricter ones of ours.

A file is named by ``type`` (``output``, ``input`` or ``temp``: a folder), ``subfolder`` and
``filename``. Refused (never a file outside its folder): absolute names, ``..`` and ``.``
segments, backslashes, NUL, a ``filename`` with a folder in it, hidden names, and anything that
leaves the folder once symlinks are followed. ``filename`` may carry ComfyUI's annotation
``"name.png [output]"``, which picks the folder.

Uploads land in ``subfolder`` of the chosen folder (``input`` by default). The same name with
the same bytes is reused; with other bytes the upload becomes ``name (1).png``, ``name (2).png``...
unless ``overwrite`` is true. Blocking: the routes call these in a thread.
"""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from ..files.roots import atomic_write
from ..server.protocol import ProtocolError, UPLOAD_KINDS, check_upload_bytes
from .userdata import Refused

TYPES = ("output", "input", "temp")
UPLOAD_SUFFIXES = tuple(dict.fromkeys(UPLOAD_KINDS["image"] + UPLOAD_KINDS["video"]))
_ANNOTATION = re.compile(r"^(.*) \[(output|input|temp)\]$")
MAX_NAME = 255


def annotated(filename: str) -> tuple[str, str | None]:
    """``"x.png [input]"`` -> ("x.png", "input"); a plain name -> (name, None)."""
    match = _ANNOTATION.match(filename)
    return (match.group(1), match.group(2)) if match else (filename, None)


def check_filename(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise Refused(400, "bad filename")
    if any(c in name for c in "/\\\x00") or name in (".", "..") or name.startswith(".") \
            or any(ord(c) < 32 for c in name):
        raise Refused(400, "the filename must be a plain file name (no folders, no hidden names)")
    return name


def check_subfolder(subfolder: str) -> str:
    """'' or a relative folder path; Refused(400) for anything that could leave the folder."""
    if not subfolder:
        return ""
    if not isinstance(subfolder, str) or "\x00" in subfolder or "\\" in subfolder or len(subfolder) > 1024:
        raise Refused(400, "bad subfolder")
    if subfolder.startswith("/") or re.match(r"^[A-Za-z]:", subfolder):
        raise Refused(400, "the subfolder must be relative")
    parts = [p for p in subfolder.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        raise Refused(400, "the subfolder must stay inside its folder")
    return "/".join(parts)


def folder(folders: dict[str, Path], kind: str | None, default: str) -> tuple[str, Path]:
    kind = kind or default
    if kind not in folders:
        raise Refused(400, f"unknown type {kind!r}; types: {', '.join(folders)}")
    return kind, Path(folders[kind])


def contained(root: Path, *parts: str) -> Path:
    """``root/parts`` after symlinks, or Refused(403) when that leaves ``root``."""
    root_real = root.resolve()
    path = root.joinpath(*[p for p in parts if p])
    real = path.resolve()
    if real != root_real and root_real not in real.parents:
        raise Refused(403, "outside the folder")
    return path


def view_path(folders: dict[str, Path], filename: str, subfolder: str = "", kind: str | None = None) -> Path:
    """The file ``/view`` serves, or Refused (400 bad name, 403 outside, 404 missing)."""
    name, annotated_kind = annotated(filename or "")
    name = check_filename(name)
    _, root = folder(folders, annotated_kind or kind, "output")
    path = contained(root, check_subfolder(subfolder), name)
    if not path.is_file():
        raise Refused(404, "not found")
    return path


def upload_bytes_ok(name: str, data: bytes) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise Refused(400, f"{name!r}: uploads must end in {', '.join(UPLOAD_SUFFIXES)}")
    try:
        check_upload_bytes(name, data)
    except ProtocolError as exc:
        raise Refused(400, exc.message) from None


def store(root: Path, subfolder: str, filename: str, data: bytes, overwrite: bool) -> str:
    """Write an upload under ``root/subfolder``; the name it was stored under."""
    subfolder = check_subfolder(subfolder)
    name = check_filename(filename)
    target_dir = contained(root, subfolder)
    target_dir.mkdir(parents=True, exist_ok=True)
    contained(root, subfolder)  # again: a folder created just now cannot be a link out
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    digest = hashlib.sha256(data).digest()
    candidate, n = name, 0
    while not overwrite:
        path = target_dir / candidate
        if not path.exists() and not path.is_symlink():
            break
        if path.is_file() and not path.is_symlink() and hashlib.sha256(path.read_bytes()).digest() == digest:
            return candidate  # the same bytes under the same name: reused
        n += 1
        if n > 10000:
            raise Refused(409, "too many files of that name")
        candidate = f"{stem} ({n}){dot}{suffix}"
    path = target_dir / candidate
    if path.is_symlink():
        path.unlink()
    atomic_write(path, data)
    return candidate


def mask_onto(original: Path, mask_png: bytes) -> bytes:
    """``original`` (its text chunks kept) with the alpha channel of ``mask_png``, as PNG bytes:
    what ComfyUI's mask editor uploads to /upload/mask."""
    from PIL import Image, PngImagePlugin
    with Image.open(original) as picture:
        info = PngImagePlugin.PngInfo()
        for key, value in (getattr(picture, "text", None) or {}).items():
            info.add_text(key, value)
        rgba = picture.convert("RGBA")
    with Image.open(io.BytesIO(mask_png)) as mask:
        alpha = mask.convert("RGBA").getchannel("A")
    if alpha.size != rgba.size:
        alpha = alpha.resize(rgba.size)
    rgba.putalpha(alpha)
    out = io.BytesIO()
    rgba.save(out, format="PNG", pnginfo=info, compress_level=4)
    return out.getvalue()


def preview(path: Path, spec: str, channel: str) -> tuple[bytes, str]:
    """``/view?preview=webp;90`` / ``channel=rgb|a``: the image converted, and its content type."""
    from PIL import Image
    with Image.open(path) as img:
        if spec:
            fmt, _, quality = spec.partition(";")
            fmt = fmt if fmt in ("webp", "jpeg") and "a" not in channel else "webp"
            out = io.BytesIO()
            picture = img.convert("RGB") if fmt == "jpeg" or channel == "rgb" else img
            picture.save(out, format=fmt, quality=int(quality) if quality.isdigit() else 90)
            return out.getvalue(), f"image/{fmt}"
        out = io.BytesIO()
        if channel == "rgb":
            img.convert("RGB").save(out, format="PNG")
        else:  # "a": the alpha channel as an image
            alpha = img.getchannel("A") if img.mode == "RGBA" else Image.new("L", img.size, 255)
            shown = Image.new("RGBA", img.size)
            shown.putalpha(alpha)
            shown.save(out, format="PNG")
        return out.getvalue(), "image/png"
