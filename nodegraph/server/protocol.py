"""The websocket protocol without I/O: parse client frames, shape server messages.

Every client text frame is a JSON object with ``type`` and an optional ``id`` that the reply
echoes. ``parse`` returns the checked message or raises ``ProtocolError`` (sent back as an
``error`` frame; the connection stays open). docs/protocol.md documents each message.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Collection
from urllib.parse import quote

from . import uploads

VERSION = 1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
VIDEO_SUFFIXES = (".mp4", ".webm")  # what browsers play inline: previewed as <video>
UPLOAD_KINDS = uploads.UPLOAD_KINDS
MAX_ID_LENGTH = 200


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, id: Any = None, **extra: Any):
        self.code = code
        self.message = message
        self.id = id
        self.extra = extra
        super().__init__(message)

    def to_message(self) -> dict[str, Any]:
        return error(self.code, self.message, self.id, **self.extra)


def error(code: str, message: str, id: Any = None, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if id is not None:
        msg["id"] = id
    msg.update(extra)
    return msg


def reply(request: dict[str, Any], type: str, **fields: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": type}
    if request.get("id") is not None:
        msg["id"] = request["id"]
    msg.update(fields)
    return msg


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, default=str, separators=(",", ":"))


# field -> (accepted python types, required)
_STR, _INT = (str,), (int,)
SCHEMAS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "hello": {},
    "catalogue": {},
    "queue": {"workflow": ((dict,), True), "client_ref": ((str,), False)},
    "interrupt": {"job": ((str, type(None)), False)},
    "cancel": {"job": (_STR, True)},
    "history": {"limit": (_INT, False), "before": (_INT, False)},
    "job": {"job": (_STR, True)},
    "queue_state": {},
    "files": {"kind": (_STR, True)},
    "upload": {"name": (_STR, True), "kind": (_STR, False), "overwrite": ((bool,), False), "size": (_INT, False)},
    "subscribe": {"job": (_STR, True)},
    "unsubscribe": {"job": (_STR, True)},
    "ping": {},
    # a workflow file to open on the canvas, converted by the server (a ComfyUI file): its JSON as
    # ``data``, or the ``workflow``/``prompt`` texts a PNG or WebP embeds
    "import": {"data": ((dict, list), False), "workflow": (_STR, False), "prompt": (_STR, False),
               "name": (_STR, False)},
}


MAX_DEPTH = 64  # nesting of objects and arrays in one message; workflows need far less


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a finite number")
    return value


def loads(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no number that overflows, at most MAX_DEPTH levels deep.

    Every refusal is a ``bad_json`` ProtocolError, so a hostile frame never reaches a handler
    (where a 5,000-digit integer or a 100,000-level nesting would blow up much later).
    """
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ProtocolError("bad_json", f"not valid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # int digits limit, NaN, 1e999, C-level nesting
        raise ProtocolError("bad_json", f"not valid JSON: {str(exc) or type(exc).__name__}"[:300]) from None
    if _deeper_than(data, MAX_DEPTH):
        raise ProtocolError("bad_json", f"not valid JSON: nested deeper than {MAX_DEPTH} levels")
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    level: list[Any] = [data]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return any(isinstance(item, (dict, list)) for item in level)


def parse(text: str, file_kinds: Collection[str] = ()) -> dict[str, Any]:
    """A client text frame -> a checked message dict, or ProtocolError.

    ``file_kinds``: the catalogue's file kinds (packs declare them), the ones ``files`` may list.
    """
    data = loads(text)
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", f"a message is a JSON object, not {type(data).__name__}")
    msg_id = data.get("id")
    if msg_id is not None and (isinstance(msg_id, bool) or not isinstance(msg_id, (str, int))
                               or len(str(msg_id)) > MAX_ID_LENGTH):
        raise ProtocolError("bad_message", "'id' must be a string or an integer (at most 200 characters)")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "a message needs a string 'type'", msg_id)
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}; known: {', '.join(sorted(SCHEMAS))}",
                            msg_id)
    for name, (types, required) in schema.items():
        if name not in data:
            if required:
                raise ProtocolError("bad_message", f"{kind!r} needs {name!r}", msg_id)
            continue
        value = data[name]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ProtocolError("bad_message", f"{kind}.{name} must be {wanted}", msg_id)
    if kind == "history":
        limit = data.get("limit", 50)
        if not 1 <= limit <= 1000:
            raise ProtocolError("bad_message", "history.limit must be 1..1000", msg_id)
        if not 0 <= data.get("before", 0) <= 2**62:
            raise ProtocolError("bad_message", "history.before must be a job's seq", msg_id)
    if kind == "files" and data["kind"] not in file_kinds:
        raise ProtocolError("bad_kind", f"unknown file kind {data['kind']!r}; known: {', '.join(file_kinds)}", msg_id)
    return data


def upload_name(name: str, kind: str = "image") -> str:
    """The sanitised file name an upload is stored under (uploads.sanitize_name), or bad_upload."""
    try:
        return uploads.sanitize_name(name, kind)
    except uploads.UploadRefused as exc:
        raise ProtocolError("bad_upload", str(exc)) from None


def check_upload_bytes(name: str, data: bytes, max_bytes: int | None = None) -> None:
    """The bytes are within ``max_bytes`` and are the file type the name claims, or bad_upload."""
    try:
        if max_bytes is not None:
            uploads.check_size(len(data), max_bytes)
        uploads.check_content(name, data)
    except uploads.UploadRefused as exc:
        raise ProtocolError("bad_upload", str(exc)) from None


def output_url(path: str | Path, output_dir: Path, token: str | None = None) -> str | None:
    """/output/<relative name> for a file inside the output folder, else None."""
    try:
        rel = Path(path).resolve().relative_to(output_dir.resolve())
    except (ValueError, OSError):
        return None
    url = "/output/" + quote(rel.as_posix())
    if token:
        url += "?token=" + quote(token, safe="")
    return url


def event_message(event: dict[str, Any], output_dir: Path, token: str | None = None) -> dict[str, Any]:
    """An executor event as a frame: ``{"type": "event", **event}`` plus ``urls`` for files."""
    msg = {"type": "event", **event}
    files = event.get("outputs")
    if isinstance(files, list) and files:
        urls = [output_url(f, output_dir, token) for f in files]
        msg["urls"] = [u for u in urls if u]
    if event.get("event") == "cell" and isinstance(event.get("sheet"), str):  # a sweep's contact sheet
        msg["sheet_url"] = output_url(event["sheet"], output_dir, token)
    return msg


def sweep_note(event: dict[str, Any], output_dir: Path) -> dict[str, Any]:
    """What a job record keeps of its ``sweep`` event: the axes and the URLs (no token) of the
    sweep's index and contact sheet, which are rewritten as its cells finish."""
    folder = Path(event["folder"])
    return {"id": event.get("sweep"), "cells": event.get("cells"), "axes": event.get("axes"),
            "zip": bool(event.get("zip")), "index_url": output_url(folder / "index.json", output_dir),
            "sheet_url": output_url(folder / "sheet.png", output_dir)}


def preview_messages(event: dict[str, Any], output_dir: Path, token: str | None = None) -> list[dict[str, Any]]:
    """One ``preview`` message per image or browser-playable clip an ``executed``/``cached`` event reports."""
    if event.get("event") not in ("executed", "cached"):
        return []
    out = []
    for f in event.get("outputs") or ():
        if not isinstance(f, str) or Path(f).suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            continue
        url = output_url(f, output_dir, token)
        if url:
            out.append({"type": "preview", "job": event.get("job"), "node": event.get("node"),
                        "url": url, "name": Path(f).resolve().relative_to(output_dir.resolve()).as_posix()})
    return out
