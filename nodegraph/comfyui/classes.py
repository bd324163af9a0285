"""ComfyUI class names -> registered node classes (directly, or through a pack's COMFY_ALIASES),
and back; output slots; the one problem that lists every class type nothing provides."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.errors import Problem
from ..api.node import Node
from ..api.registry import Registry


@dataclass(frozen=True)
class ComfyClass:
    """How a ComfyUI class type runs here: ``native_type`` (``cls``), ComfyUI's input names renamed
    to the native ones (a name mapped to None is a UI-only widget the native node ignores; an alias
    lists ComfyUI's inputs in ComfyUI's order, which is its widgets' order), native inputs
    fixed for such callers (``fixed``; ``naming_only`` when they only name or label the outputs),
    and ComfyUI's input specs of its UI-only inputs (``ui_specs``: ``[type or choices, options]``)."""
    comfy_name: str
    native_type: str
    cls: type[Node]
    renames: dict[str, str | None] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    naming_only: bool = False
    ui_specs: dict[str, list] = field(default_factory=dict)

    def native_input(self, comfy_input: str) -> str | None:
        """The native input a ComfyUI input name feeds; None for an ignored UI-only widget."""
        if comfy_input in self.renames:
            return self.renames[comfy_input]
        return comfy_input

    def comfy_input(self, native_input: str) -> str:
        for comfy, native in self.renames.items():
            if native == native_input:
                return comfy
        return native_input

    @property
    def output_slots(self) -> list[str]:
        """Output names in slot order: a node's outputs, in declaration order, are ComfyUI's slots."""
        return list(self.cls.outputs)


def resolve_class(comfy_name: str, registry: Registry) -> ComfyClass | None:
    """The class serving ComfyUI's ``comfy_name``; an alias wins over a node of the same name
    (it carries the renames ComfyUI callers need). None when nothing provides it."""
    alias = registry.comfy_aliases.get(comfy_name)
    if alias is not None:
        cls = registry.get(alias["type"])
        if cls is not None:
            return ComfyClass(comfy_name, alias["type"], cls, dict(alias.get("inputs", {})),
                              dict(alias.get("set", {})), bool(alias.get("naming_only")),
                              dict(alias.get("ui_specs", {})))
    cls = registry.get(comfy_name)
    return ComfyClass(comfy_name, comfy_name, cls) if cls is not None else None


def comfy_class_of(native_type: str, inputs: dict[str, Any], registry: Registry) -> ComfyClass | None:
    """The ComfyUI class a native node is written as (``/history``'s prompt, ``convert --to
    comfyui-api``, the ``prompt`` embedded in outputs). None for unknown types.

    An alias of its type whose fixed values its inputs hold, else one that fixes nothing, else
    one whose fixed values only name or label the outputs (``naming_only``: SaveImage's
    ``naming``); else its own name: an alias that fixes what the node computes (an operation)
    would turn it into another node.
    """
    cls = registry.get(native_type)
    if cls is None:
        return None
    candidates = [name for name, alias in registry.comfy_aliases.items() if alias["type"] == native_type]
    for name in candidates:
        fixed = registry.comfy_aliases[name].get("set", {})
        if fixed and all(inputs.get(k) == v for k, v in fixed.items()):
            return resolve_class(name, registry)
    plain = [name for name in candidates if not registry.comfy_aliases[name].get("set")]
    naming = [name for name in candidates if registry.comfy_aliases[name].get("naming_only")]
    if plain or naming:  # the native node serves that ComfyUI class: written with its input names
        return resolve_class((plain or naming)[0], registry)
    return ComfyClass(native_type, native_type, cls)


def ui_spec_entry(name: str, spec: list) -> dict[str, Any]:
    """An alias's UI-only input (``ui_specs``) as a catalogue input entry, for error messages."""
    kind, options = spec[0], spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    entry: dict[str, Any] = {"name": name, "required": False, "default": options.get("default")}
    if isinstance(kind, list):
        entry.update(widget="enum", options=list(kind))
    return entry


def ui_input_problems(prompt: dict, registry: Registry) -> list[Problem]:
    """Values of aliases' UI-only choice inputs (SaveVideo's ``format``) that are not among
    ComfyUI's choices: the native node ignores them, but ComfyUI refuses them, so they are not
    accepted silently."""
    problems = []
    for node_id, entry in prompt.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("class_type"), str):
            continue
        comfy = resolve_class(entry["class_type"], registry)
        inputs = entry.get("inputs")
        if comfy is None or not comfy.ui_specs or not isinstance(inputs, dict):
            continue
        for name, spec in comfy.ui_specs.items():
            choices = spec[0]
            value = inputs.get(name)
            if name in inputs and isinstance(choices, list) and not _is_link(value) and value not in choices:
                problems.append(Problem("bad_value", f"{value!r} is not one of {choices}", str(node_id), name))
    return problems


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def missing_classes_problem(missing: dict[str, list[str]]) -> Problem:
    """One problem naming every ComfyUI class type no pack provides, with the ids of its nodes."""
    parts = []
    for name in sorted(missing):
        ids = missing[name]
        parts.append(f"{name} (node{'s' if len(ids) > 1 else ''} {', '.join(ids)})")
    return Problem("unknown_type", f"{len(missing)} ComfyUI node type{'s' if len(missing) != 1 else ''} "
                                   f"that no installed pack provides: {'; '.join(parts)}. Install the packs "
                                   "that provide them (nodegraph nodes lists what is installed).")


def keep_needed(native: dict, registry: Registry) -> dict:
    """Native workflow JSON without the nodes no output node needs.

    ComfyUI runs and validates only what its outputs need, so a stray node left unconnected on
    the canvas never stops a prompt there; it must not stop the same file here either.
    """
    nodes = native.get("nodes", {})
    wanted = [nid for nid, e in nodes.items()
              if e.get("mode") != "mute" and getattr(registry.get(e.get("type")), "output_node", False)]
    needed: set[str] = set()
    while wanted:
        nid = wanted.pop()
        if nid in needed or nid not in nodes:
            continue
        needed.add(nid)
        wanted.extend(v["from"] for v in nodes[nid].get("inputs", {}).values() if isinstance(v, dict) and "from" in v)
    if not needed or len(needed) == len(nodes):
        return native  # no output at all: validation says so, about the whole file
    return {**native, "nodes": {nid: e for nid, e in nodes.items() if nid in needed}}
