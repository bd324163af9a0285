"""Loading node packs: entry points (group ``nodegraph.nodes``) and plugin folders.

Built-in packs are entry points of this very distribution, loaded like anyone else's.
A pack is a module; every ``@node``-decorated class defined in it or its submodules (or listed
in its ``NODES``) is registered, plus the ``SOCKET_TYPES``, ``FILE_KINDS``, ``DEMOS``,
``WORKFLOW_READERS`` and ``COMFY_ALIASES`` that it or its submodules declare (docs/plugins.md).
A pack that fails to import is recorded by name and loading goes on. Order: entry points sorted by name (built-ins are
named ``builtin.*`` so they come first), then folders in the order given; the first
registration of a node type wins and later ones are refused with an error naming both.

Folders of packs in another format (ComfyUI's ``custom_nodes``) come last, each format through
its loader registered in the entry-point group ``nodegraph.pack_folders`` (the ComfyUI adapter
registers ``comfy``): the engine never imports a loader it is not asked for. Packs of such a
format that pip installed are found by the entry-point group their distributions declare
(``entry_points.INSTALLED_PACK_GROUPS``) and loaded with the folders, each package folder as one pack.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

from .entry_points import INSTALLED_PACK_GROUPS, installed_entry_points
from .node import is_node_class
from .registry import PluginFailure, Registry
from .stored_catalogue import ENTRY_POINT_GROUP  # "nodegraph.nodes": kept where the light commands read it

PLUGINS_ENV = "NODEGRAPH_PLUGINS"
PACK_FOLDERS_GROUP = "nodegraph.pack_folders"


def load_registry(plugin_dirs: Iterable[str | Path] = (), *, use_entry_points: bool = True,
                  use_env: bool = True, modules: Iterable[str] = (),
                  pack_folders: Mapping[str, Iterable[str | Path]] | None = None,
                  files: Any = None, device: str = "auto",
                  only_entry_points: Iterable[str] | None = None) -> Registry:
    """The catalogue of this session.

    ``pack_folders`` maps a format to folders of packs in it, e.g. ``{"comfy": [custom_nodes]}``;
    with ``use_env``, ``$NODEGRAPH_<FORMAT>_NODES`` adds folders too (``NODEGRAPH_COMFY_NODES``).
    Their loaders see the session's ``files`` (a FileRoots) and ``device`` while packs load.
    ``only_entry_points`` names the entry points to load (in their usual order), the others
    left out: what ``nodegraph validate`` does with a stored catalogue (api/stored_catalogue.py).
    """
    registry = Registry()
    if use_entry_points:
        only = None if only_entry_points is None else set(only_entry_points)
        for ep in sorted(installed_entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name):
            if only is None or ep.name in only:
                _load(registry, ep.name, lambda ep=ep: _ep_module(ep))
    for name in modules:
        _load(registry, name, lambda name=name: importlib.import_module(name))
    dirs = [Path(d) for d in plugin_dirs]
    if use_env and os.environ.get(PLUGINS_ENV):
        dirs += [Path(d) for d in os.environ[PLUGINS_ENV].split(os.pathsep) if d]
    for folder in dirs:
        if not folder.is_dir():
            registry.failures.append(PluginFailure(str(folder), "plugin folder does not exist"))
            continue
        for item in sorted(folder.iterdir()):
            if item.name.startswith((".", "_")):
                continue
            if item.suffix == ".py" or (item.is_dir() and (item / "__init__.py").exists()):
                _load(registry, f"{folder.name}/{item.name}", lambda item=item: _import_path(item))
    _load_pack_folders(registry, pack_folders or {}, use_env, files, device, use_entry_points)
    return registry


def _load_pack_folders(registry: Registry, given: Mapping[str, Iterable[str | Path]], use_env: bool,
                       files: Any, device: str, installed: bool = True) -> None:
    """Each format's folders through its registered loader, imported only when it has some;
    with ``installed``, the package folders of packs pip installed in that format first."""
    wanted: dict[str, list[Path]] = {}
    if installed:
        for name, group in INSTALLED_PACK_GROUPS.items():
            for ep in installed_entry_points(group):
                folder = _package_folder(ep.module)
                if folder is None:
                    registry.failures.append(PluginFailure(f"{name}:{ep.name}", f"installed pack {ep.value!r} "
                                                           f"(entry point {group}): no such package"))
                else:
                    wanted.setdefault(name, []).append(folder)
    for name, dirs in given.items():
        wanted.setdefault(name, []).extend(Path(d) for d in dirs)
    loaders = {ep.name: ep for ep in installed_entry_points(PACK_FOLDERS_GROUP)}
    for name in loaders:
        value = os.environ.get(f"NODEGRAPH_{name.upper()}_NODES") if use_env else None
        if value:
            wanted.setdefault(name, []).extend(Path(d) for d in value.split(os.pathsep) if d)
    for name, folders in wanted.items():
        if not folders:
            continue
        if name not in loaders:
            registry.failures.append(PluginFailure(f"{name}:", f"no loader for {name} pack folders is installed "
                                                              f"(entry-point group {PACK_FOLDERS_GROUP})"))
            continue
        loaders[name].load()(registry, folders, files, device)


def _package_folder(module: str) -> Path | None:
    """The folder of top-level package ``module`` (the file, for a one-file module), found
    without importing it: its format's loader imports it, under its own guards."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)


def _ep_module(ep) -> ModuleType:
    obj = ep.load()
    if isinstance(obj, ModuleType):
        return obj
    # An entry point may name a callable returning node classes instead of a module.
    module = ModuleType(ep.name)
    module.NODES = list(obj() if callable(obj) else obj)
    return module


def _import_path(path: Path) -> ModuleType:
    """Import a plugin file or package under a name unique to its location."""
    digest = hashlib.blake2b(str(path.resolve()).encode(), digest_size=4).hexdigest()
    stem = path.stem if path.is_file() else path.name
    mod_name = f"nodegraph_plugin_{digest}_{stem}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    location = path if path.is_file() else path / "__init__.py"
    spec = importlib.util.spec_from_file_location(mod_name, location,
                                                  submodule_search_locations=[str(path)] if path.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module


def _load(registry: Registry, name: str, importer) -> None:
    try:
        module = importer()
    except (KeyboardInterrupt, SystemExit) as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        registry.failures.append(PluginFailure(name, f"called exit during import: {exc}"))
        return
    except BaseException as exc:  # a broken plugin must not break startup
        registry.failures.append(PluginFailure(name, f"failed to import: {type(exc).__name__}: {exc}{_where(exc)}"))
        return
    registry.plugins.append(name)
    owned = _owned_modules(module)
    for part in owned:  # declarations first: the nodes' types and kinds must exist
        registry.add_types(getattr(part, "SOCKET_TYPES", ()), name)
        registry.add_file_kinds(getattr(part, "FILE_KINDS", ()), name)
        registry.add_demos(getattr(part, "DEMOS", ()), name)
        registry.add_workflow_readers(getattr(part, "WORKFLOW_READERS", ()), name)
        if hasattr(part, "COMFY_ALIASES"):
            registry.add_comfy_aliases(part.COMFY_ALIASES, name)
    classes = list(getattr(module, "NODES", ()))
    own_names = {part.__name__ for part in owned}  # classes defined here, not merely imported
    for part in owned:
        for value in vars(part).values():
            if is_node_class(value) and value.__module__ in own_names and value not in classes:
                classes.append(value)
    sources = _pack_sources(module) if any(is_node_class(c) and "_ng_code" not in c.__dict__
                                           for c in classes) else ()
    for cls in classes:
        if is_node_class(cls):
            registry.add_node(cls, name, sources)
        else:
            registry.failures.append(PluginFailure(name, f"{cls!r} in NODES is not a @node class"))


def _where(exc: BaseException) -> str:
    """`` (file.py:line)`` of the frame that raised, unless it is the import machinery's (a
    SyntaxError names its file and line itself)."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    if last is None or last.filename.startswith("<") or Path(last.filename).parent == _IMPORTLIB:
        return ""
    return f" ({Path(last.filename).name}:{last.lineno})"


_IMPORTLIB = Path(importlib.__file__).parent


def _pack_sources(module: ModuleType) -> list[str]:
    """The Python files of a pack: every ``.py`` of a package, or the module's own file.

    A node's cached results are keyed by these (with its own module), so editing any helper of
    the pack re-runs its nodes; a few small files hashed once per process.
    """
    folders = list(getattr(module, "__path__", ()) or ())
    if not folders:
        return [module.__file__] if getattr(module, "__file__", None) else []
    return sorted(str(p) for folder in folders for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts)


def _owned_modules(module: ModuleType) -> list[ModuleType]:
    """``module`` and the submodules it imports (a family folder's ``__init__`` imports its node
    modules); never modules it merely imports from elsewhere. Sorted by name, so declarations
    and nodes register in the same order on every load."""
    prefix = module.__name__ + "."
    found: dict[str, ModuleType] = {}
    stack = [module]
    while stack:
        current = stack.pop()
        if current.__name__ in found:
            continue
        found[current.__name__] = current
        for value in vars(current).values():
            if isinstance(value, ModuleType) and value.__name__.startswith(prefix):
                stack.append(value)
    return [found[n] for n in sorted(found)]
