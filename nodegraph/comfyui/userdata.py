"""Per-user storage for ComfyUI's frontend (settings, saved workflows, its other files), under
the server's data dir: ``<data-dir>/users/<user>/`` (``comfy.settings.json`` and the files).

The user is the one named by the ``comfy-user`` header when ``users.json`` knows it, else
``default``. Every name a client sends is checked before it touches the disk: relative, no
``.``/``..`` segments, no backslashes or NUL, and (after following symlinks) inside the user's
folder; anything else is a ``Refused`` with the HTTP status to answer. Blocking: the routes
call these methods in a thread.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..files.roots import atomic_write

DEFAULT_USER = "default"
SETTINGS_FILE = "comfy.settings.json"


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason
        super().__init__(reason)


def check_relative(name: str, what: str = "path") -> str:
    """A client's relative path with forward slashes, or Refused(400)."""
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        raise Refused(400, f"bad {what}")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise Refused(400, f"{what} must be relative")
    parts = [p for p in name.split("/") if p != ""]
    if not parts or any(p in (".", "..") for p in parts):
        raise Refused(400, f"{what} must stay inside its folder")
    return "/".join(parts)


def inside(root: Path, name: str) -> Path:
    """``root/name`` when it stays inside ``root`` once symlinks are followed, else Refused(403)."""
    path = root / name
    root_real = root.resolve()
    real = path.resolve()
    if real != root_real and root_real not in real.parents:
        raise Refused(403, "outside the user's folder")
    return path


class UserData:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    # --- users -----------------------------------------------------------------------
    def users(self) -> dict[str, str]:
        try:
            data = json.loads((self.folder / "users.json").read_text())
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def user_id(self, header: str | None) -> str:
        if header and header in self.users():
            return header
        return DEFAULT_USER

    def add_user(self, name: str) -> str:
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > 100:
            raise Refused(400, "username not provided")
        users = self.users()
        if name in users.values():
            raise Refused(400, "Duplicate username.")
        user_id = re.sub(r"[^a-zA-Z0-9-_]+", "-", name) + "_" + uuid.uuid4().hex
        users[user_id] = name
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / "users.json", json.dumps(users))
        return user_id

    def root(self, user: str) -> Path:
        path = self.folder / user
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- settings --------------------------------------------------------------------
    def settings(self, user: str) -> dict[str, Any]:
        try:
            data = json.loads((self.root(user) / SETTINGS_FILE).read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_settings(self, user: str, settings: dict[str, Any]) -> None:
        atomic_write(self.root(user) / SETTINGS_FILE, json.dumps(settings, indent=2))

    # --- files -----------------------------------------------------------------------
    def path(self, user: str, name: str) -> Path:
        return inside(self.root(user), check_relative(name))

    def listing(self, user: str, directory: str, recurse: bool, full_info: bool, split: bool) -> list[Any]:
        root = self.root(user)
        folder = inside(root, check_relative(directory, "dir"))
        if not folder.is_dir():
            return []  # ComfyUI answers 404; its frontend reads that as "no files yet"
        files = sorted(p for p in (folder.rglob("*") if recurse else folder.glob("*")) if p.is_file())
        out: list[Any] = []
        for p in files:
            rel = p.relative_to(folder).as_posix()
            if full_info:
                stat = p.stat()
                out.append({"path": rel, "size": stat.st_size, "modified": stat.st_mtime,
                            "created": stat.st_ctime})
            elif split:
                out.append([rel, *rel.split("/")])
            else:
                out.append(rel)
        return out

    def listing_v2(self, user: str, path: str) -> list[dict[str, Any]]:
        root = self.root(user)
        folder = inside(root, check_relative(path)) if path else root
        if not folder.exists():
            raise Refused(404, "Requested path not found")
        if not folder.is_dir():
            raise Refused(400, "Requested path is not a directory")
        out = []
        for here, dirs, files in os.walk(folder):
            for d in dirs:
                out.append({"name": d, "path": (Path(here) / d).relative_to(root).as_posix(), "type": "directory"})
            for f in files:
                p = Path(here) / f
                stat = p.stat()
                out.append({"name": f, "path": p.relative_to(root).as_posix(), "type": "file",
                            "size": stat.st_size, "modified": stat.st_mtime})
        out.sort(key=lambda e: (e["type"] != "directory", e["name"].lower()))
        return out

    def info(self, user: str, path: Path) -> dict[str, Any]:
        stat = path.stat()
        return {"path": path.relative_to(self.root(user)).as_posix(), "size": stat.st_size,
                "modified": stat.st_mtime, "created": stat.st_ctime}

    def write(self, user: str, name: str, data: bytes, overwrite: bool) -> Path:
        path = self.path(user, name)
        if path.exists() and not overwrite:
            raise Refused(409, "File already exists")
        if path.is_dir():
            raise Refused(400, "a folder has that name")
        path.parent.mkdir(parents=True, exist_ok=True)
        inside(self.root(user), check_relative(name))  # again, now that the folders exist
        atomic_write(path, data)
        return path

    def delete(self, user: str, name: str) -> None:
        path = self.path(user, name)
        if not path.is_file():
            raise Refused(404, "not found")
        path.unlink()

    def move(self, user: str, source: str, dest: str, overwrite: bool) -> Path:
        src = self.path(user, source)
        if not src.is_file():
            raise Refused(404, "not found")
        target = self.path(user, dest)
        if target.exists() and not overwrite:
            raise Refused(409, "File already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(target))
        return target
