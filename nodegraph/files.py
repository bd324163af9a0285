"""Where file inputs live, and how a name in a workflow becomes a path.

The CLI trusts its user: absolute paths and paths relative to the working directory are
allowed. The server does not: a name must resolve inside one of the kind's roots, with no
``..`` escape and no symlink pointing outside (``strict=True``).
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Default sub-folders of the models directory, by file kind.
MODEL_KINDS = ("checkpoint", "lora", "llm", "vae", "embedding")


class PathEscape(ValueError):
    pass


@dataclass
class FileRoots:
    input_dir: Path = field(default_factory=lambda: Path("input"))
    models_dir: Path = field(default_factory=lambda: Path("models"))
    output_dir: Path = field(default_factory=lambda: Path("output"))
    extra: dict[str, list[Path]] = field(default_factory=dict)
    strict: bool = False  # server mode: only inside the roots

    def roots(self, kind: str) -> list[Path]:
        if kind in ("image", "input", "tasks", "video"):
            base = [self.input_dir]
        elif kind == "output":
            base = [self.output_dir]
        else:
            base = [self.models_dir / kind, self.models_dir]
        return base + self.extra.get(kind, [])

    def resolve(self, kind: str, name: str) -> Path | None:
        """The existing path ``name`` refers to, or None. Raises PathEscape in strict mode."""
        if not name:
            return None
        if self.strict:
            return self._resolve_strict(kind, name)
        candidate = Path(name).expanduser()
        if candidate.is_absolute():
            return candidate if candidate.exists() else None
        for root in self.roots(kind):
            path = root / candidate
            if path.exists():
                return path
        return candidate if candidate.exists() else None

    def _resolve_strict(self, kind: str, name: str) -> Path | None:
        if "\x00" in name or os.path.isabs(name) or name.startswith("~"):
            raise PathEscape(f"{name!r} must be a name relative to the {kind} folder")
        parts = Path(name).parts
        if ".." in parts:
            raise PathEscape(f"{name!r} leaves the {kind} folder")
        for root in self.roots(kind):
            root_real = root.resolve()
            path = (root / name)
            if not path.exists():
                continue
            real = path.resolve()
            if real != root_real and root_real not in real.parents:
                raise PathEscape(f"{name!r} points outside the {kind} folder")
            return path
        return None

    def listing(self, kind: str, extensions: tuple[str, ...] = ()) -> list[str]:
        """Names (relative to the roots) of files of ``kind``, for the canvas's pickers."""
        names: set[str] = set()
        for root in self.roots(kind):
            if not root.is_dir():
                continue
            for path in root.rglob("*"):
                if path.is_file() and (not extensions or path.suffix.lower() in extensions):
                    names.add(path.relative_to(root).as_posix())
        return sorted(names)


def fingerprint_path(path: Path) -> str:
    """Cheap identity of a file or folder's content: sizes and mtimes (ns) of its files."""
    if path.is_file():
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    parts = []
    for sub in sorted(path.rglob("*")):
        if sub.is_file():
            st = sub.stat()
            parts.append(f"{sub.relative_to(path).as_posix()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def current_umask() -> int:
    """The process umask, read without setting it where Linux allows (other threads may be
    creating files at that moment); elsewhere by the usual set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | str) -> int:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part.

    A temporary file in the same folder is written, synced and renamed over ``path``; on any
    failure it is removed. The file gets the mode a plain ``open`` would give it (0666 less the
    umask, so 0644 typically; a replaced file keeps its own), not mkstemp's private 0600.
    Returns the number of bytes written.
    """
    blob = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(blob)
