"""The small ComfyUI surface that custom-node packs import — ``folder_paths``, ``comfy.utils``,
``comfy.model_management``, ``server`` and ``nodes`` — installed into ``sys.modules`` only while
a pack loads or one of its nodes runs, and only when no real ComfyUI is importable.

The modules themselves live in ``nodegraph.comfyui.shim`` (nothing else in nodegraph imports
them). What they report (folders, progress, interrupts, events) comes from the ``SurfaceCall`` set
around the current load or node call in a context variable: per job, never a global, so two
jobs, or a job and a load, never see each other's state.

If ``import comfy`` or ``import folder_paths`` finds a real ComfyUI (its folder on the Python
path), nothing is installed and packs use ComfyUI's own modules.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from ..files.roots import FileRoots

SHIM_PACKAGE = "nodegraph.comfyui.shim"
SHIM_DIR = Path(__file__).resolve().parent / "shim"
# sys.modules name -> the shim module standing in for it.
SHIM_MODULES = {
    "folder_paths": f"{SHIM_PACKAGE}.folder_paths",
    "comfy": f"{SHIM_PACKAGE}.comfy",
    "comfy.utils": f"{SHIM_PACKAGE}.comfy.utils",
    "comfy.model_management": f"{SHIM_PACKAGE}.comfy.model_management",
    "server": f"{SHIM_PACKAGE}.server",
    "nodes": f"{SHIM_PACKAGE}.nodes",
    "node_helpers": f"{SHIM_PACKAGE}.node_helpers",
}
# Top-level modules of a ComfyUI installation: a pack importing one we do not provide needs
# ComfyUI itself (reported as such, never as "pip install ...").
COMFYUI_MODULES = frozenset({
    "comfy", "comfy_extras", "comfy_execution", "comfy_api", "comfy_api_nodes", "comfy_config", "latent_preview",
    "node_helpers", "execution", "server", "nodes", "folder_paths", "cuda_malloc", "comfyui_version",
    "hook_breaker_ac10a0", "new_updater"})


@dataclass
class SurfaceCall:
    """What the shim modules see during one load or one node call."""
    files: FileRoots
    device: str = "auto"
    ctx: Any = None  # the running node's RunContext; None while a pack loads or a hook runs
    node_id: str | None = None
    # The ComfyUI classes loaded so far (``nodes.NODE_CLASS_MAPPINGS`` and friends).
    classes: dict[str, type] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)
    web_dirs: dict[str, str] = field(default_factory=dict)
    registry: Any = None  # the catalogue the packs load into: ComfyUI's core nodes come from it
    natives: dict[str, type] = field(default_factory=dict)  # nodes.<core node> classes made so far

    @property
    def temp_dir(self) -> Path:
        return temp_dir(self.files)


def temp_dir(files: FileRoots) -> Path:
    """ComfyUI's temp folder (previews): ``temp/`` inside the output folder, so that the canvas
    and the server can show what a pack previews."""
    return Path(files.output_dir) / "temp"


_CURRENT: ContextVar[SurfaceCall | None] = ContextVar("nodegraph_comfy_surface", default=None)


def current() -> SurfaceCall:
    """The call in progress; outside any (a pack's thread that outlived its node), default folders."""
    call = _CURRENT.get()
    return call if call is not None else SurfaceCall(FileRoots())


class _Installer:
    """Puts the shim modules into ``sys.modules`` while at least one load or call needs them and
    restores what was there after the last one. ``sys.modules`` is process-wide, so this is too:
    a counter under a lock, nothing else."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: dict[str, ModuleType | None] = {}
        self._real: dict[tuple[str, ...], str | None] = {}  # sys.path -> a real ComfyUI found there

    def enter(self) -> None:
        with self._lock:
            if self._users == 0 and self.real_comfyui() is None:
                self._saved = {name: sys.modules.get(name) for name in SHIM_MODULES}
                for name, real_name in SHIM_MODULES.items():
                    sys.modules[name] = importlib.import_module(real_name)
            self._users += 1

    def exit(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users or not self._saved:
                return
            for name in [n for n in sys.modules if n in SHIM_MODULES or n.startswith("comfy.")]:
                if getattr(sys.modules[name], "__name__", "").startswith(SHIM_PACKAGE):
                    del sys.modules[name]
            for name, module in self._saved.items():
                if module is not None:
                    sys.modules[name] = module
            self._saved = {}

    def real_comfyui(self) -> str | None:
        """Where a real ComfyUI's ``comfy`` or ``folder_paths`` is importable, else None."""
        key = tuple(sys.path)
        if key not in self._real:
            self._real[key] = _find_real_comfyui()
        return self._real[key]


def _find_real_comfyui() -> str | None:
    for name in ("comfy", "folder_paths"):
        module = sys.modules.get(name)
        if module is not None:
            if not getattr(module, "__name__", "").startswith(SHIM_PACKAGE):
                return getattr(module, "__file__", None) or name
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            return spec.origin or name
    return None


_INSTALLER = _Installer()


def real_comfyui() -> str | None:
    """Where a real ComfyUI is importable (then no shim is installed), else None."""
    return _INSTALLER.real_comfyui()


@contextmanager
def surface(call: SurfaceCall) -> Iterator[SurfaceCall]:
    """The shim modules installed and ``call`` current for the duration of the block."""
    token = _CURRENT.set(call)
    _INSTALLER.enter()
    try:
        yield call
    finally:
        _INSTALLER.exit()
        _CURRENT.reset(token)


def comfy_module_name(name: str | None) -> str | None:
    """ComfyUI's name of a module: a stand-in's (``nodegraph.comfyui.shim.nodes``) is ``nodes``."""
    if name and name.startswith(SHIM_PACKAGE + "."):
        return name[len(SHIM_PACKAGE) + 1:]
    return name


def comfyui_module(name: str | None) -> bool:
    """Whether a module name belongs to ComfyUI itself (``comfy.samplers``, ``comfy_extras.x``)."""
    return bool(name) and name.split(".")[0] in COMFYUI_MODULES
