"""Static files: URL path rules, containment, content types (set here, not by ``mimetypes``).

``route(url_path)`` is pure: it maps a request path to (area, relative name) or an error
status. ``resolve_inside(root, name)`` follows symlinks and refuses anything that ends up
outside ``root``. No directory listings: a folder is a 404.
"""
from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".jsonl": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".wav": "audio/wav",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".wasm": "application/wasm",
    ".safetensors": "application/octet-stream",
}
OCTET = "application/octet-stream"
NO_CACHE_SUFFIXES = (".html", ".htm", ".js", ".mjs", ".css", ".json", ".map")

# Shipped when web/ has no favicon of its own, so browsers never log a 404 for it.
FAVICON_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
               b'<rect width="32" height="32" rx="6" fill="#1e2230"/>'
               b'<circle cx="9" cy="10" r="4" fill="#6cf"/><circle cx="23" cy="22" r="4" fill="#fc6"/>'
               b'<path d="M13 10 C20 10 14 22 19 22" stroke="#ddd" stroke-width="2" fill="none"/></svg>')

_BAD_ENCODED = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


def default_web_dir() -> Path:
    """The canvas: ``nodegraph/web`` in an installed wheel, else the checkout's ``web/``.

    The wheel maps web/ to the data package nodegraph.web (pyproject package-dir); an editable
    install or a plain checkout leaves it where it is, at the repository root.
    """
    packaged = importlib.resources.files("nodegraph") / "web"
    if isinstance(packaged, Path) and (packaged / "index.html").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "web"


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason
        super().__init__(f"{status} {reason}")


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), OCTET)


def cache_control(name: str, area: str) -> str:
    if area == "web" and Path(name).suffix.lower() in NO_CACHE_SUFFIXES:
        return "no-cache"
    return "no-cache" if area == "output" else "max-age=300"


def safe_name(raw: str) -> str:
    """A percent-encoded URL path tail -> a safe relative POSIX name, or raise Refused.

    Refused: encoded slashes/backslashes/NUL, backslashes, '..' or '.' segments, empty
    segments ('//' or an absolute path after decoding), hidden names (leading '.').
    Decoding happens exactly once; '%252e' stays the literal name '%2e'.
    """
    if _BAD_ENCODED.search(raw) or "\\" in raw:
        raise Refused(400, "bad path")
    try:
        name = unquote(raw, errors="strict") if "%" in raw else raw
    except UnicodeDecodeError:  # '%ff': not UTF-8 once decoded
        raise Refused(400, "bad path") from None
    if "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise Refused(400, "bad path")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise Refused(400 if part in (".", "..") else 404, "bad path")
        if part.startswith("."):
            raise Refused(404, "not found")
    return "/".join(parts)


def route(path: str) -> tuple[str, str]:
    """Request target -> (area, name). Areas: 'web', 'output', 'favicon', 'ws'."""
    try:
        target = urlsplit(path).path
    except ValueError:
        raise Refused(400, "bad path") from None
    if not target.startswith("/"):
        raise Refused(400, "bad path")
    if target in ("/", "/index.html"):
        return "web", "index.html"
    if target == "/ws":
        return "ws", ""
    if target in ("/favicon.ico", "/favicon.svg"):
        return "favicon", target[1:]
    if target.startswith("/output/"):
        return "output", safe_name(target[len("/output/"):])
    if target.startswith("/web/"):
        return "web", safe_name(target[len("/web/"):])
    return "web", safe_name(target[1:])


def resolve_inside(root: Path, name: str) -> Path:
    """The regular file ``root/name`` after following symlinks; Refused unless inside root."""
    try:
        root_real = root.resolve(strict=True)
        real = (root / name).resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, RuntimeError, OSError):
        raise Refused(404, "not found") from None
    if root_real not in real.parents:
        raise Refused(403, "outside the served folder")
    if not real.is_file():
        raise Refused(404, "not found")  # folders: no listing
    return real
