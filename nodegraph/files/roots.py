"""Where file inputs live, and how a name in a workflow becomes a path.

The CLI trusts its user: absolute paths and paths relative to the working directory are
allowed. The server does not: a name must resolve inside one of the kind's roots, with no
``..`` escape and no symlink pointing outside (``strict=True``).
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

DEMO_SCHEME = "demo:"


@dataclass(frozen=True)
class FileKind:
    """A kind of file that ``FileInput(kind)`` names, declared by the pack that reads it.

    ``location`` says where names of this kind are looked up: ``"input"`` (the input folder),
    ``"output"``, or ``"models"`` (``models/<kind>/`` then ``models/``; also the place of a kind
    nobody declared).
    """
    name: str
    location: Literal["input", "models", "output"] = "models"
    description: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "location": self.location, "description": self.description}


@dataclass(frozen=True)
class DemoAsset:
    """A named demo file or folder a pack ships or builds, named ``demo:<name>`` in workflows.

    ``build(demo_dir)`` returns its path, building it under ``demo_dir`` on first use (atomically;
    a later call returns the same path at once). ``locate(demo_dir)`` returns that path when it
    already exists, else None, and never builds. ``version`` goes into cache keys in place of
    the file's fingerprint: change it whenever the recipe's result changes.
    """
    name: str
    kind: str  # the FileKind it stands in for (checkpoint, lora, tasks, ...)
    build: Callable[[Path], Path] = field(compare=False)
    locate: Callable[[Path], "Path | None"] = field(compare=False)
    version: str = "1"
    description: str = ""
    # Substrings of real file names this demo stands in for (e.g. ("refiner",)): which demo a
    # ComfyUI workflow's file name maps to when its model files are replaced by demos.
    hints: tuple[str, ...] = ()

    @property
    def value(self) -> str:
        return DEMO_SCHEME + self.name

    def to_json(self) -> dict:
        data = {"name": self.value, "kind": self.kind, "version": self.version, "description": self.description}
        if self.hints:
            data["hints"] = list(self.hints)
        return data


def demo_name(value: object) -> str | None:
    """``NAME`` of a ``demo:NAME`` value, else None."""
    return value[len(DEMO_SCHEME):] if isinstance(value, str) and value.startswith(DEMO_SCHEME) else None


# Sub-folders of the models directory, by file kind: nodegraph's own name, then the names a
# ComfyUI models/ folder uses, so `--models-dir ~/ComfyUI/models` finds files where they are.
MODEL_FOLDERS = {
    "checkpoint": ("checkpoint", "checkpoints", "diffusers"),
    "lora": ("lora", "loras"),
    "vae": ("vae",),
    "embedding": ("embedding", "embeddings"),
    "llm": ("llm", "LLM"),
    # ComfyUI's names for further kinds (a kind not listed is looked up in models/<kind>/).
    "upscale_model": ("upscale_model", "upscale_models"),
    "unet": ("unet", "diffusion_models"),
    "clip": ("clip", "text_encoders"),
}
# What a picker offers for these kinds: weights the loaders here open (pickles are refused, so
# .ckpt/.pt/.bin are left out); any kind kept in models/ also lists model folders (a folder
# holding one of the markers) as one entry.
MODEL_FILE_SUFFIXES = (".safetensors",)
MODEL_FOLDER_MARKERS = ("model_index.json", "config.json")


class PathEscape(ValueError):
    pass


@dataclass
class FileRoots:
    input_dir: Path = field(default_factory=lambda: Path("input"))
    models_dir: Path = field(default_factory=lambda: Path("models"))
    output_dir: Path = field(default_factory=lambda: Path("output"))
    extra: dict[str, list[Path]] = field(default_factory=dict)
    strict: bool = False  # server mode: only inside the roots
    # Where each declared kind lives: the catalogue's file kinds (``Environment.use_catalogue``).
    locations: dict[str, str] = field(default_factory=lambda: {"input": "input", "output": "output"})

    def roots(self, kind: str) -> list[Path]:
        location = self.locations.get(kind, "models")
        if location == "input":
            base = [self.input_dir]
        elif location == "output":
            base = [self.output_dir]
        else:
            base = [self.models_dir / folder for folder in MODEL_FOLDERS.get(kind, (kind,))] + [self.models_dir]
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
        """Names (relative to the roots) of files of ``kind``, for the canvas's pickers.

        For kinds kept in models/ a folder holding a model (``model_index.json``/``config.json``)
        is one entry, and the models folder itself is listed one level deep only (its sub-folders
        belong to the other kinds); checkpoints, LoRAs, VAEs... default to .safetensors files.
        """
        model_kind = self.locations.get(kind, "models") == "models"
        if not extensions and kind in MODEL_FOLDERS:
            extensions = MODEL_FILE_SUFFIXES
        names: set[str] = set()
        for root in self.roots(kind):
            if not root.is_dir():
                continue
            shallow = model_kind and root == self.models_dir
            for folder, dirs, files in os.walk(root, followlinks=True):
                here = Path(folder)
                rel = here.relative_to(root)
                if model_kind and here != root and any(m in files for m in MODEL_FOLDER_MARKERS):
                    names.add(rel.as_posix())
                    dirs.clear()
                    continue
                names.update((rel / f).as_posix() for f in files
                             if not extensions or Path(f).suffix.lower() in extensions)
                if shallow:
                    dirs[:] = [d for d in dirs if any((here / d / m).is_file() for m in MODEL_FOLDER_MARKERS)]
                dirs[:] = [d for d in dirs if not d.startswith(".")]
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


def atomic_write(path: Path, data: bytes | str | Callable[[Path], None]) -> int:
    """Write ``path`` so readers see the old file or the whole new one, never a part.

    ``data`` is the content, or a writer called with a temporary path in the same folder (for
    files too large to hold twice in memory, e.g. ``safetensors.torch.save_file``). The temporary
    file is synced and renamed over ``path``; on any failure it is removed. The folder is created
    when missing. The file gets the mode a plain ``open`` would give it (0666 less the umask, so
    0644 typically; a replaced file keeps its own), not mkstemp's private 0600.
    Returns the number of bytes written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        if callable(data):
            os.close(fd)
            data(Path(tmp))
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            size = os.path.getsize(tmp)
        else:
            blob = data.encode("utf-8") if isinstance(data, str) else data
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            size = len(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def kept_answer(folder: Path, family: str, key: str, compute: Callable[[], object],
                encode: Callable[[object], object] = lambda v: v,
                decode: Callable[[object], object] = lambda v: v) -> object:
    """``compute()``'s answer kept in ``folder/<family>-<key>.json``: read back while ``key``
    holds; computed, stored and the family's other copies dropped when it changes. A copy that
    cannot be read or that ``decode`` cannot use (it raises), and a folder that cannot be
    written, only cost the computation."""
    path = Path(folder) / f"{family}-{key}.json"
    try:
        return decode(json.loads(path.read_text()))
    except Exception:  # noqa: BLE001 - missing, unreadable, or not the shape stored: recompute
        pass
    value = compute()
    try:
        atomic_write(path, json.dumps(encode(value), sort_keys=True))
        for old in Path(folder).glob(f"{family}-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, ValueError, TypeError):  # a read-only folder, or an answer JSON cannot hold
        pass
    return value


def canonicalise_safetensors_header(path: Path) -> None:
    """Rewrite a .safetensors file's header in place with its ``__metadata__`` keys sorted.

    safetensors (0.8) serialises the metadata from a Rust ``HashMap``, so a file saved twice with
    the same tensors and two or more metadata keys can differ in its header bytes, and with them
    in its sha256 (provenance, cache keys, output names). Sorting makes equal content equal
    bytes. The header keeps its length (same JSON, reordered), so nothing else in the file moves.
    """
    import json
    import struct
    with open(path, "r+b") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        raw = fh.read(size)
        header = json.loads(raw)
        metadata = header.get("__metadata__")
        if not isinstance(metadata, dict) or len(metadata) < 2:
            return
        header["__metadata__"] = dict(sorted(metadata.items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > size:  # pragma: no cover - serde_json and json escape alike
            raise ValueError(f"{path}: re-serialised safetensors header is longer than the original")
        fh.seek(8)
        fh.write(text + b" " * (size - len(text)))
