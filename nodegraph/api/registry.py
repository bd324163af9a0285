"""The catalogue: node classes, socket types, file kinds and demo assets known to one session
(never a global), and the readers of workflows embedded in other files. The core declares only
scalar types and the ``input``/``output`` file kinds; packs declare their domain (docs/plugins.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..files.roots import DEMO_SCHEME, DemoAsset, FileKind
from .node import Node, implementation_digest
from .readers import WorkflowReader
from .types import SocketType, TypeRegistry


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    message: str


CORE_FILE_KINDS = (FileKind("input", "input", "any file in the input folder"),
                   FileKind("output", "output", "files written by output nodes"))


class Registry:
    def __init__(self) -> None:
        self.types = TypeRegistry()
        self.nodes: dict[str, type[Node]] = {}
        self.origin: dict[str, str] = {}  # node type -> plugin that registered it
        self.failures: list[PluginFailure] = []
        self.plugins: list[str] = []
        self.file_kinds: dict[str, FileKind] = {k.name: k for k in CORE_FILE_KINDS}
        self.demos: dict[str, DemoAsset] = {}  # by name, without the "demo:" prefix
        self.workflow_readers: list[WorkflowReader] = []  # for ``load_workflow``, in loading order
        # ComfyUI custom-node packs loaded (--comfy-nodes), by plugin name: their folder, node
        # types, display names, WEB_DIRECTORY and HTTP routes (nodegraph.comfyui.custom_nodes).
        self.comfy_packs: dict[str, Any] = {}
        # ComfyUI class name -> {"type": native type, "inputs": {comfy input: native input or None},
        # "set": {native input: literal}}: a native node serving ComfyUI callers (COMFY_ALIASES).
        self.comfy_aliases: dict[str, dict[str, Any]] = {}
        # plugin -> the names of the socket types, file kinds and demos it declared (what lets a
        # stored catalogue load only the packs a workflow needs: api/stored_catalogue.py)
        self.declared_by: dict[str, dict[str, list[str]]] = {}

    def _declared(self, plugin: str, what: str, name: str) -> None:
        self.declared_by.setdefault(plugin, {"types": [], "file_kinds": [], "demos": []})[what].append(name)

    def add_types(self, types: Iterable[SocketType], plugin: str) -> None:
        for t in types:
            if not isinstance(t, SocketType):
                self.failures.append(PluginFailure(plugin, f"{t!r} in SOCKET_TYPES is not a SocketType"))
                continue
            try:
                self.types.add(t)
            except ValueError as exc:
                self.failures.append(PluginFailure(plugin, str(exc)))
                continue
            self._declared(plugin, "types", t.name)

    def add_file_kinds(self, kinds: Iterable[FileKind], plugin: str) -> None:
        for kind in kinds:
            if not isinstance(kind, FileKind):
                self.failures.append(PluginFailure(plugin, f"{kind!r} in FILE_KINDS is not a FileKind"))
                continue
            existing = self.file_kinds.get(kind.name)
            if existing is not None and existing.location != kind.location:
                self.failures.append(PluginFailure(
                    plugin, f"file kind {kind.name!r} is already declared in the {existing.location} folder"))
            else:
                if existing is None:
                    self.file_kinds[kind.name] = kind
                self._declared(plugin, "file_kinds", kind.name)

    def add_demos(self, demos: Iterable[DemoAsset], plugin: str) -> None:
        for demo in demos:
            if not isinstance(demo, DemoAsset):
                self.failures.append(PluginFailure(plugin, f"{demo!r} in DEMOS is not a DemoAsset"))
                continue
            if demo.name in self.demos and self.demos[demo.name] != demo:
                self.failures.append(PluginFailure(plugin, f"demo {demo.value!r} is already registered; "
                                                           f"the one from {plugin!r} is refused"))
                continue
            if demo.kind not in self.file_kinds:  # a demo of an undeclared kind lives in models/
                self.file_kinds[demo.kind] = FileKind(demo.kind)
                self._declared(plugin, "file_kinds", demo.kind)
            self.demos[demo.name] = demo
            self._declared(plugin, "demos", demo.value)

    def add_workflow_readers(self, readers: Iterable[WorkflowReader], plugin: str) -> None:
        for reader in readers:
            if not isinstance(reader, WorkflowReader):
                self.failures.append(PluginFailure(plugin, f"{reader!r} in WORKFLOW_READERS is not a WorkflowReader"))
            elif reader not in self.workflow_readers:
                self.workflow_readers.append(reader)
    def add_comfy_aliases(self, aliases: Any, plugin: str) -> None:
        """A pack's ``COMFY_ALIASES``: ComfyUI class names served by one of its native nodes.

        ``inputs`` renames ComfyUI's input names to the native ones (None: ComfyUI's input is a
        UI-only widget the native node ignores); ``set`` gives native inputs a fixed value for
        such callers; ``naming_only: True`` says those values only name or label the outputs (a
        native node holding others is still written as this class); ``ui_specs`` gives ComfyUI's
        input spec (``[type or [choices], {options}]``) of UI-only inputs, for its frontend and
        clients. The first pack to alias a name wins; a later one is refused.
        """
        if not isinstance(aliases, dict):
            self.failures.append(PluginFailure(plugin, "COMFY_ALIASES must be a dict of ComfyUI class names"))
            return
        for comfy_name, spec in aliases.items():
            problem = _alias_problem(comfy_name, spec)
            if problem:
                self.failures.append(PluginFailure(plugin, f"COMFY_ALIASES[{comfy_name!r}]: {problem}"))
            elif comfy_name in self.comfy_aliases and self.comfy_aliases[comfy_name] != spec:
                self.failures.append(PluginFailure(plugin, f"ComfyUI class {comfy_name!r} is already aliased; "
                                                           f"the alias from {plugin!r} is refused"))
            else:
                self.comfy_aliases[comfy_name] = {"type": spec["type"], "inputs": dict(spec.get("inputs", {})),
                                                  "set": dict(spec.get("set", {}))}
                if spec.get("naming_only"):
                    self.comfy_aliases[comfy_name]["naming_only"] = True
                if spec.get("ui_specs"):
                    self.comfy_aliases[comfy_name]["ui_specs"] = {k: list(v) for k, v in spec["ui_specs"].items()}

    def add_node(self, cls: type[Node], plugin: str, sources: Iterable[str] = ()) -> bool:
        """Register ``cls``. The first registration of a type wins; a later one is refused.

        ``sources`` are the files of the pack ``cls`` comes from: with its own module they make
        the implementation digest that keys its cached results (``implementation_digest``).
        """
        existing = self.origin.get(cls.node_type)
        if existing is not None:
            if self.nodes[cls.node_type] is cls:
                return True
            self.failures.append(PluginFailure(
                plugin, f"node type {cls.node_type!r} is already registered by plugin {existing!r}; "
                        f"the one from {plugin!r} is refused"))
            return False
        cls.__plugin__ = plugin
        implementation_digest(cls, sources)
        self.nodes[cls.node_type] = cls
        self.origin[cls.node_type] = plugin
        return True

    def get(self, node_type: str) -> type[Node] | None:
        return self.nodes.get(node_type)

    def _node_json(self, cls: type[Node]) -> dict[str, Any]:
        """A node's catalogue entry; each file input lists the demos of its kind (for pickers)."""
        data = cls.to_json()
        for item in data["inputs"]:
            file = item.get("file")
            demos = [d.value for d in self.demos.values() if file and d.kind == file["kind"]]
            if demos:
                file["demos"] = demos
                if DEMO_SCHEME not in file["schemes"]:
                    file["schemes"] = [DEMO_SCHEME, *file["schemes"]]
        return data

    def catalogue(self) -> dict[str, Any]:
        """Everything a UI needs to build widgets, as JSON."""
        return {
            "nodes": [self._node_json(self.nodes[name]) for name in sorted(self.nodes)],
            "types": [{"name": t.name, "parents": list(t.parents), "description": t.description,
                       "color": t.color} for t in self.types.all()],
            "file_kinds": [k.to_json() for k in self.file_kinds.values()],
            "demos": [d.to_json() for d in self.demos.values()],
            "comfy_aliases": self.comfy_aliases,
            "plugins": list(self.plugins),
            "comfy_packs": {name: pack.to_json() for name, pack in self.comfy_packs.items()},
            "failures": [{"plugin": f.plugin, "message": f.message} for f in self.failures],
        }


def _alias_problem(name: Any, spec: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "the ComfyUI class name must be a non-empty string"
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        return 'expected {"type": "<native type>", "inputs": {...}, "set": {...}}'
    unknown = set(spec) - {"type", "inputs", "set", "naming_only", "ui_specs"}
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    inputs = spec.get("inputs", {})
    if not isinstance(inputs, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                               for k, v in inputs.items()):
        return "'inputs' maps ComfyUI input names to native input names (or None)"
    if not isinstance(spec.get("set", {}), dict):
        return "'set' maps native input names to values"
    if not isinstance(spec.get("naming_only", False), bool):
        return "'naming_only' is true or false"
    ui_specs = spec.get("ui_specs", {})
    if not isinstance(ui_specs, dict) or not all(
            k in inputs and inputs[k] is None and isinstance(v, (list, tuple)) and 1 <= len(v) <= 2
            and isinstance(v[0], (str, list)) and (len(v) == 1 or isinstance(v[1], dict))
            for k, v in ui_specs.items()):
        return ("'ui_specs' maps UI-only inputs (mapped to None in 'inputs') to ComfyUI's input spec "
                "[type or [choices], {options}]")
    return None
