"""Loading ComfyUI custom-node packs (``--comfy-nodes DIR``, ``$NODEGRAPH_COMFY_NODES``, and the
packs pip installed: entry-point group ``comfyui_legacy.custom_nodes``) as nodegraph plugins.

A folder is read as ComfyUI reads its ``custom_nodes/``: every package (a folder with
``__init__.py``) and every ``.py`` file is one pack, in name order; names starting with ``.`` or
``_`` and those ending ``.disabled`` are skipped. A folder given that is itself a package (an
installed pack, or one pack's folder) is that one pack. A pack exports ``NODE_CLASS_MAPPINGS``
(node type -> class), optionally ``NODE_DISPLAY_NAME_MAPPINGS`` and ``WEB_DIRECTORY``. Each
class becomes a node type through ``v1_adapter``; the pack is the plugin ``comfy:<name>``.

One pack cannot break the others or nodegraph:
- a pack that fails to import is reported with its folder and why (a missing module by name and,
  where it is obvious, the pip package to install; a module of ComfyUI itself as such) and
  skipped; a class that does not follow the contract is reported and the pack's other nodes load;
- while it imports, pip and the network are refused (``import_guard``), and changes it makes to
  nodegraph's modules or to other packs' modules and classes are undone and reported
  (``mutations``);
- a node type already registered (a built-in, a plugin, an earlier pack) keeps its first owner:
  the later one is refused and the warning names both.

A pack module is imported once per process; loading the same folder again (another session)
reuses it and repeats its import report.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from ..api.registry import PluginFailure, Registry
from ..api.types import ANY, SocketType
from ..files.roots import FileRoots
from . import import_guard, surface as surface_mod
from .mutations import Watch
from .surface import comfy_module_name, comfyui_module, surface
from .v1_adapter import ComfyPackSet, make_node_class
from .v1_spec import V1Error, read_v1

PLUGIN_PREFIX = "comfy:"
MODULE_PREFIX = "comfy_custom_nodes"

# Import names whose pip package is named otherwise (the ones packs most often miss).
PIP_PACKAGES = {
    "cv2": "opencv-python-headless", "PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml",
    "skimage": "scikit-image", "bs4": "beautifulsoup4", "dotenv": "python-dotenv", "Crypto": "pycryptodome",
    "git": "GitPython", "fitz": "PyMuPDF", "docx": "python-docx", "dateutil": "python-dateutil",
    "attr": "attrs", "serial": "pyserial", "jwt": "PyJWT", "OpenGL": "PyOpenGL", "google.protobuf": "protobuf",
    "mediapipe": "mediapipe", "onnxruntime": "onnxruntime", "insightface": "insightface", "kornia": "kornia",
    "timm": "timm", "einops": "einops", "numexpr": "numexpr", "imageio": "imageio", "piexif": "piexif",
    "rembg": "rembg", "ultralytics": "ultralytics", "segment_anything": "segment-anything",
    "soundfile": "soundfile", "librosa": "librosa", "omegaconf": "omegaconf", "matplotlib": "matplotlib",
    "scipy": "scipy", "pandas": "pandas", "requests": "requests", "aiohttp": "aiohttp", "toml": "toml",
}
# The adapter's own files: their digest joins every ComfyUI node's cache key (a fix here re-runs).
_ADAPTER_SOURCES = tuple(sorted(str(p) for p in Path(__file__).resolve().parent.rglob("*.py")
                                if p.name not in ("custom_nodes.py", "import_guard.py", "mutations.py")))


@dataclass
class ComfyPack:
    """One loaded pack, as the registry keeps it (``registry.comfy_packs[name]``)."""
    name: str  # the plugin name: comfy:<folder or file name>
    path: Path
    module: str  # the name its module was imported under
    nodes: list[str] = field(default_factory=list)
    display_names: dict[str, str] = field(default_factory=dict)
    web_directory: Path | None = None  # WEB_DIRECTORY, resolved: the pack's frontend files
    routes: list[Any] = field(default_factory=list)  # HTTP routes it declared (method, path, handler, kwargs)
    # PromptServer.instance.add_on_prompt_handler(fn) calls it made: run on every POST /prompt
    on_prompt: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was refused or undone while it imported

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "nodes": list(self.nodes), "display_names": dict(self.display_names),
                "web_directory": str(self.web_directory) if self.web_directory else None,
                "routes": [{"method": r.method, "path": r.path} for r in self.routes],
                "on_prompt_handlers": [getattr(h, "__qualname__", repr(h)) for h in self.on_prompt],
                "notes": list(self.notes)}


@dataclass
class _Imported:
    module: ModuleType
    notes: list[str]
    routes: list[Any]
    on_prompt: list[Any]


# Pack modules already imported in this process, by path: sys.modules holds them anyway, and a
# second load (another session) must not re-run the pack's import, only repeat its report.
_IMPORTED: dict[str, _Imported] = {}
_IMPORT_LOCK = threading.Lock()


def load_custom_nodes(registry: Registry, folders: Iterable[str | Path], files: FileRoots | None = None,
                      device: str = "auto") -> None:
    """Register the packs of every ``custom_nodes``-style folder into ``registry``."""
    files = files if files is not None else FileRoots()
    packs = ComfyPackSet(registry)
    watch = Watch()
    real = surface_mod.real_comfyui()
    for folder in (Path(f) for f in folders):
        if _is_pack(folder):  # a pack itself (a package pip installed, or one pack's folder)
            _load_pack(registry, folder, packs, watch, files, device, real)
            continue
        if not folder.is_dir():
            registry.failures.append(PluginFailure(f"{PLUGIN_PREFIX}{folder}", "ComfyUI custom_nodes folder "
                                                                               f"{folder} does not exist"))
            continue
        for item in sorted(folder.iterdir()):
            if item.name.startswith((".", "_")) or item.name.endswith(".disabled"):
                continue
            if _is_pack(item):
                _load_pack(registry, item, packs, watch, files, device, real)
            elif item.is_dir():
                registry.failures.append(PluginFailure(f"{PLUGIN_PREFIX}{item.name}",
                                                       f"{item}: not a pack (a pack folder has an __init__.py)"))


def _is_pack(path: Path) -> bool:
    """A package folder (with ``__init__.py``) or a ``.py`` file: one pack. A ``custom_nodes``
    folder has no ``__init__.py``: it holds packs."""
    return (path.is_dir() and (path / "__init__.py").is_file()) or (path.is_file() and path.suffix == ".py")


def _load_pack(registry: Registry, item: Path, packs: ComfyPackSet, watch: Watch, files: FileRoots, device: str,
               real: str | None) -> None:
    name = f"{PLUGIN_PREFIX}{item.stem if item.is_file() else item.name}"
    with surface(packs.call(files, device)):
        try:
            imported = _import_once(item, watch, real)
        except BaseException as exc:  # noqa: BLE001 - a broken pack must not break startup
            if isinstance(exc, KeyboardInterrupt):
                raise
            registry.failures.append(PluginFailure(name, f"{item}: {explain_import_failure(exc)}"))
            return
        for note in imported.notes:
            registry.failures.append(PluginFailure(name, f"{item}: {note}"))
        module = imported.module
        watch.add_pack(module.__name__)
        mappings = getattr(module, "NODE_CLASS_MAPPINGS", None)
        if not isinstance(mappings, dict):
            why = ("uses ComfyUI's newer node API (comfy_entrypoint), which nodegraph does not run"
                   if hasattr(module, "comfy_entrypoint") else "has no NODE_CLASS_MAPPINGS: not a ComfyUI node pack")
            registry.failures.append(PluginFailure(name, f"{item}: {why}"))
            return
        display = getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None) or {}
        pack = ComfyPack(name, item, module.__name__, routes=list(imported.routes),
                         on_prompt=list(imported.on_prompt), notes=list(imported.notes))
        web = getattr(module, "WEB_DIRECTORY", None)
        if isinstance(web, str) and web:
            base = Path(module.__file__).resolve().parent
            pack.web_directory = (base / web).resolve()
            packs.web_dirs[name] = str(pack.web_directory)
        registry.plugins.append(name)
        registry.comfy_packs[name] = pack
        sources = _pack_files(item) + list(_ADAPTER_SOURCES)
        for comfy_name, v1 in mappings.items():
            _add_node(registry, pack, packs, str(comfy_name), v1, display, sources)


def _add_node(registry: Registry, pack: ComfyPack, packs: ComfyPackSet, comfy_name: str, v1: Any,
              display: dict, sources: list[str]) -> None:
    try:
        spec = read_v1(comfy_name, v1, str(display[comfy_name]) if comfy_name in display else None)
        _add_types(registry, spec, pack.name)
        cls = make_node_class(spec, v1, pack.name, packs, registry.types)
    except (V1Error, ValueError, TypeError) as exc:
        registry.failures.append(PluginFailure(pack.name, f"node {comfy_name!r} ({pack.path}): {exc}"))
        return
    if registry.add_node(cls, pack.name, sources):
        pack.nodes.append(comfy_name)
        pack.display_names[comfy_name] = spec.display_name
        packs.classes[comfy_name] = v1
        packs.display_names[comfy_name] = spec.display_name


def _add_types(registry: Registry, spec: Any, plugin: str) -> None:
    """Socket types nobody declared become the pack's own, so its nodes connect to each other
    (types already known, IMAGE or a pack's LATENT, connect to the nodes that declared them)."""
    names = {i.type for i in spec.inputs if i.kind == "socket"} | {o.type for o in spec.outputs}
    for declared in sorted(names):
        for member in (part.strip() for part in declared.split(",")):
            if member and member != ANY and member not in registry.types:
                digest = hashlib.blake2b(member.encode(), digest_size=3).hexdigest()
                registry.add_types([SocketType(member, description=f"a ComfyUI type (first used by {plugin})",
                                               color=f"#{digest}")], plugin)


def _import_once(item: Path, watch: Watch, real: str | None) -> _Imported:
    key = str(item.resolve())
    with _IMPORT_LOCK:
        known = _IMPORTED.get(key)
        if known is not None and sys.modules.get(known.module.__name__) is known.module:
            return known
        notes: list[str] = []
        routes = _server_list("routes") if real is None else None
        routes_before = len(routes) if routes is not None else 0
        hooks = _server_list("on_prompt_handlers") if real is None else None
        hooks_before = len(hooks) if hooks is not None else 0
        before = watch.snapshot()
        try:
            with import_guard.guarded(notes), watch.noting_new_modules(before):
                module = _import_path(item)
        except BaseException as exc:
            exc.nodegraph_notes = notes  # type: ignore[attr-defined] - reported with the failure
            raise
        finally:
            for change in watch.undo_changes(before):
                notes.append(f"changed {change.where} while importing ({change.kind}); undone: a pack may not "
                             "patch nodegraph or another pack")
        imported = _Imported(module, notes, list(routes[routes_before:]) if routes is not None else [],
                             list(hooks[hooks_before:]) if hooks is not None else [])
        _IMPORTED[key] = imported
        return imported


def _server_list(name: str) -> Any:
    """What packs add to ``PromptServer.instance`` at import (its ``routes`` or its
    ``on_prompt_handlers``): the part added while one pack imported is that pack's."""
    server = sys.modules.get("server")
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    return getattr(instance, name, None)


def _import_path(path: Path) -> ModuleType:
    """Import a pack file or package under a name unique to its location (its relative imports work)."""
    digest = hashlib.blake2b(str(path.resolve()).encode(), digest_size=4).hexdigest()
    stem = "".join(c if c.isalnum() else "_" for c in (path.stem if path.is_file() else path.name))
    mod_name = f"{MODULE_PREFIX}_{digest}_{stem}"
    location = path if path.is_file() else path / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        mod_name, location, submodule_search_locations=[str(path)] if path.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for name in [n for n in sys.modules if n == mod_name or n.startswith(mod_name + ".")]:
            del sys.modules[name]
        raise
    return module


def explain_import_failure(exc: BaseException) -> str:
    """Why a pack failed to import, in the user's terms: what is missing and what to do."""
    notes = getattr(exc, "nodegraph_notes", ())
    prefix = "".join(f"{note}; " for note in notes)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        if comfyui_module(exc.name):
            return (f"{prefix}needs ComfyUI's module {exc.name!r}, part of ComfyUI's internals that nodegraph "
                    "does not provide (this pack runs only inside ComfyUI)")
        top = exc.name.split(".")[0]
        package = PIP_PACKAGES.get(exc.name) or PIP_PACKAGES.get(top)
        hint = f" (pip install {package})" if package else " (install the package that provides it)"
        return f"{prefix}needs the Python module {exc.name!r}, which is not installed{hint}"
    source = comfy_module_name(exc.name) if isinstance(exc, ImportError) else None
    if isinstance(exc, ImportError) and comfyui_module(source):
        wanted = re.match(r"cannot import name '([^']+)'", str(exc))
        what = f"{source}.{wanted.group(1)}" if wanted else source
        return f"{prefix}needs ComfyUI's {what}, which nodegraph does not provide (this pack runs only inside ComfyUI)"
    if isinstance(exc, SystemExit):
        return f"{prefix}called exit while importing: {exc}"
    return f"{prefix}failed to import: {type(exc).__name__}: {exc}{_where(exc)}"


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    pack_frames = [f for f in frames if "importlib" not in f.filename and "nodegraph" not in Path(f.filename).parts]
    last = (pack_frames or frames or [None])[-1]
    return f" ({Path(last.filename).name}:{last.lineno})" if last is not None else ""


def _pack_files(item: Path) -> list[str]:
    if item.is_file():
        return [str(item)]
    return sorted(str(p) for p in item.rglob("*.py") if "__pycache__" not in p.parts)
