"""ComfyUI's UI format (what its frontend saves: ``nodes``, ``links``, ``widgets_values``, groups,
subgraphs) to nodegraph's workflow.

What the frontend does before it sends a prompt, done here from the file alone:
- ``widgets_values`` are positional over a node's widget inputs in declaration order (which the
  registry gives); after a seed-like widget comes its ``control_after_generate`` entry.
- UI-only nodes never reach the engine: ``Reroute`` passes its link through (its position becomes
  a reroute point of the wire), ``PrimitiveNode`` gives its value to the widgets it feeds,
  ``Note``/``MarkdownNote`` are dropped.
- ``mode`` 2 (muted) and 4 (bypassed) become nodegraph's ``"mute"``/``"bypass"``.
- A node whose type is a subgraph of ``definitions.subgraphs`` is expanded in place; its nodes get
  ids ``"<instance id>:<inner id>"`` (as ComfyUI's own execution ids), nested ones likewise.
Links are read from 0.4 files (``[id, from, slot, to, slot, type]``) and version-1 files
(``{"id", "origin_id", "origin_slot", "target_id", "target_slot"}``) alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.errors import Problem, WorkflowInvalid
from ..api.registry import Registry
from ..graph.workflow import FORMAT, VERSION
from .api_format import MAX_PASS_THROUGH, PASS_THROUGH_OUTPUTS
from .classes import ComfyClass, missing_classes_problem, resolve_class

CONTROL_VALUES = ("fixed", "randomize", "increment", "decrement")
SEED_NAMES = ("seed", "noise_seed")  # INT widgets the frontend gives a control even without the flag
REROUTE, PRIMITIVE = "Reroute", "PrimitiveNode"
NOTES = ("Note", "MarkdownNote")
SUBGRAPH_INPUT, SUBGRAPH_OUTPUT = "-10", "-20"  # the ids of a subgraph's input and output nodes
MODES = {2: "mute", 4: "bypass"}
MAX_SUBGRAPH_DEPTH = 32


def is_ui_workflow(data: Any) -> bool:
    """Does ``data`` look like a workflow saved by ComfyUI's frontend?"""
    return isinstance(data, dict) and isinstance(data.get("nodes"), list)


@dataclass
class _Node:
    id: str
    raw: dict
    mode: int
    offset: tuple[float, float] = (0.0, 0.0)
    kind: str = "node"  # node, reroute, primitive, note, instance


@dataclass(frozen=True)
class _Ref:
    """A real node's output slot."""
    node: str
    slot: int


@dataclass(frozen=True)
class _MutedSaver:
    """A muted saver's pass-through output: nothing comes out of it (the modes say so)."""
    node: str
    output: str


@dataclass(frozen=True)
class _Value:
    """A PrimitiveNode's value (and its control_after_generate)."""
    value: Any
    control: str | None


@dataclass(frozen=True)
class _Unset:
    """A subgraph input left unlinked on its instance: the instance's widget value, if it has one."""
    instance: str
    slot: int


@dataclass
class _Flat:
    """Every node of the file with subgraphs expanded, and what feeds each input slot."""
    nodes: dict[str, _Node] = field(default_factory=dict)
    feeds: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def ui_to_workflow(data: dict, registry: Registry) -> dict:
    """The native workflow (JSON) of a ComfyUI UI-format workflow; WorkflowInvalid lists every
    problem (one for all class types no pack provides, with their node ids)."""
    if not is_ui_workflow(data):
        raise WorkflowInvalid([Problem("bad_format", "a ComfyUI workflow has a 'nodes' list")])
    subgraphs = {}
    definitions = data.get("definitions")
    if isinstance(definitions, dict) and isinstance(definitions.get("subgraphs"), list):
        subgraphs = {str(sg.get("id")): sg for sg in definitions["subgraphs"] if isinstance(sg, dict)}
    flat = _Flat()
    _expand(flat, data.get("nodes", []), data.get("links") or [], "", None, (0.0, 0.0), subgraphs, ())
    converter = _Converter(flat, registry)
    nodes = converter.convert()
    problems = flat.problems + converter.problems
    if converter.missing:
        problems.insert(0, missing_classes_problem(converter.missing))
    if problems:
        raise WorkflowInvalid(problems)
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "nodes": nodes}
    groups = [_group(g) for g in data.get("groups") or [] if isinstance(g, dict)]
    groups = [g for g in groups if g is not None]
    if groups:
        out["ui"] = {"groups": groups}
    return out


def _expand(flat: _Flat, nodes: list, links: list, scope: str, mode: int | None, offset: tuple[float, float],
            subgraphs: dict[str, dict], stack: tuple[str, ...]) -> None:
    """Add ``nodes`` (ids prefixed by ``scope``) and their feeds; expand subgraph instances."""
    table: dict[str, tuple[str, int]] = {}  # link id -> (origin node, origin slot)
    for raw in links:
        parsed = _parse_link(raw)
        if parsed is None:
            continue
        link_id, origin, origin_slot, target, target_slot = parsed
        table[link_id] = (scope + origin, origin_slot)
        if target == SUBGRAPH_OUTPUT:  # into the subgraph's output node: what its instance outputs
            flat.feeds[(scope + SUBGRAPH_OUTPUT, target_slot)] = (scope + origin, origin_slot)
    for raw in nodes:
        if not isinstance(raw, dict) or "id" not in raw:
            flat.problems.append(Problem("bad_structure", f"a ComfyUI node needs an 'id' and a 'type'"
                                                          f"{' (in subgraph ' + scope[:-1] + ')' if scope else ''}"))
            continue
        node_id = scope + str(raw["id"])
        node_type = str(raw.get("type", ""))
        own_mode = raw.get("mode", 0) if isinstance(raw.get("mode", 0), int) else 0
        node = _Node(node_id, raw, mode if mode else own_mode, offset)
        if node_type == REROUTE:
            node.kind = "reroute"
        elif node_type == PRIMITIVE:
            node.kind = "primitive"
        elif node_type in NOTES:
            node.kind = "note"
        elif node_type in subgraphs:
            node.kind = "instance"
        flat.nodes[node_id] = node
        for slot, inp in enumerate(raw.get("inputs") or []):
            link = inp.get("link") if isinstance(inp, dict) else None
            if link is None:
                continue
            source = table.get(str(link))
            if source is None:
                name = inp.get("name") if isinstance(inp, dict) else None
                flat.problems.append(Problem("bad_link", f"link {link} is not in the workflow's links", node_id, name))
                continue
            flat.feeds[(node_id, slot)] = source
        if node.kind == "instance":
            if node_type in stack or len(stack) >= MAX_SUBGRAPH_DEPTH:
                flat.problems.append(Problem("bad_structure", f"subgraph {node_type} contains itself", node_id))
                continue
            definition = subgraphs[node_type]
            inner_mode = node.mode if node.mode in MODES else None
            _expand(flat, definition.get("nodes") or [], definition.get("links") or [], node_id + ":", inner_mode,
                    _inner_offset(raw, definition, offset), subgraphs, stack + (node_type,))


def _parse_link(raw: Any) -> tuple[str, str, int, str, int] | None:
    """(id, origin, origin slot, target, target slot) of a 0.4 list link or a version-1 object link."""
    if isinstance(raw, list) and len(raw) >= 5:
        link_id, origin, origin_slot, target, target_slot = raw[:5]
    elif isinstance(raw, dict):
        link_id, origin, origin_slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
        target, target_slot = raw.get("target_id"), raw.get("target_slot")
    else:
        return None
    if link_id is None or origin is None or not isinstance(origin_slot, int) or not isinstance(target_slot, int):
        return None
    return str(link_id), str(origin), origin_slot, str(target), target_slot


def _pos(raw: dict) -> tuple[float, float] | None:
    pos = raw.get("pos")
    if isinstance(pos, dict):  # some older files keep [x, y] as {"0": x, "1": y}
        pos = [pos.get("0"), pos.get("1")]
    if isinstance(pos, list) and len(pos) >= 2 and all(isinstance(v, (int, float)) for v in pos[:2]):
        return float(pos[0]), float(pos[1])
    return None


def _inner_offset(instance: dict, definition: dict, offset: tuple[float, float]) -> tuple[float, float]:
    """Where a subgraph's nodes go on the flat canvas: their layout, moved to start at the instance."""
    at = _pos(instance) or (0.0, 0.0)
    inner = [p for p in (_pos(n) for n in definition.get("nodes") or [] if isinstance(n, dict)) if p]
    left = min((p[0] for p in inner), default=0.0)
    top = min((p[1] for p in inner), default=0.0)
    return at[0] + offset[0] - left, at[1] + offset[1] - top


def _group(raw: dict) -> dict | None:
    bounds = raw.get("bounding")
    if not (isinstance(bounds, list) and len(bounds) == 4 and all(isinstance(v, (int, float)) for v in bounds)):
        return None
    group: dict[str, Any] = {"title": str(raw.get("title", "Group")), "bounds": [round(v) for v in bounds]}
    if isinstance(raw.get("color"), str):
        group["color"] = raw["color"]
    return group


class _Converter:
    def __init__(self, flat: _Flat, registry: Registry):
        self.flat = flat
        self.registry = registry
        self.missing: dict[str, list[str]] = {}
        self.problems: list[Problem] = []
        self.classes: dict[str, ComfyClass] = {}
        for node in flat.nodes.values():
            if node.kind != "node":
                continue
            comfy = resolve_class(str(node.raw.get("type", "")), registry)
            if comfy is None:
                self.missing.setdefault(str(node.raw.get("type", "")) or "(no type)", []).append(node.id)
            else:
                self.classes[node.id] = comfy

    def convert(self) -> dict[str, dict]:
        return {node_id: self._node(self.flat.nodes[node_id], comfy) for node_id, comfy in self.classes.items()}

    def _node(self, node: _Node, comfy: ComfyClass) -> dict:
        raw = node.raw
        inputs, controls = self._widget_values(node, comfy)
        reroutes: dict[str, list[list[float]]] = {}
        for slot, inp in enumerate(raw.get("inputs") or []):
            feed = self.flat.feeds.get((node.id, slot))
            if feed is None or not isinstance(inp, dict):
                continue
            comfy_name = (inp.get("widget") or {}).get("name") if isinstance(inp.get("widget"), dict) else None
            comfy_name = comfy_name or inp.get("name")
            native = comfy.native_input(str(comfy_name))
            if native is None:
                continue
            if native not in comfy.cls.inputs:
                self.problems.append(Problem("unknown_input", f"{comfy.comfy_name} has no input {comfy_name!r}",
                                             node.id, comfy_name))
                continue
            points: list[list[float]] = []
            source = self._through_savers(self._resolve(*feed, points=points, seen=set()), points)
            if isinstance(source, _MutedSaver):
                inputs[native] = {"from": source.node, "output": source.output}
            elif isinstance(source, _Ref):
                output = self._output_name(node.id, str(comfy_name), source)
                if output is not None:
                    inputs[native] = {"from": source.node, "output": output}
                    if points:
                        reroutes[native] = points[::-1]
            elif isinstance(source, _Value):
                inputs[native] = source.value
                if source.control is not None:
                    controls[native] = source.control
            elif isinstance(source, _Unset):
                value = self._instance_widget(source)
                if value is not _MISSING:
                    inputs[native] = value
        inputs.update(comfy.fixed)
        entry: dict[str, Any] = {"type": comfy.native_type, "inputs": inputs}
        if node.mode in MODES:
            entry["mode"] = MODES[node.mode]
        ui = self._ui(node, comfy)
        if reroutes:
            ui["reroutes"] = reroutes
        if controls:
            ui["control_after_generate"] = controls
        if ui:
            entry["ui"] = ui
        return entry

    def _widget_values(self, node: _Node, comfy: ComfyClass) -> tuple[dict[str, Any], dict[str, str]]:
        """The literal inputs ``widgets_values`` gives, and each seed widget's control."""
        values = node.raw.get("widgets_values")
        inputs: dict[str, Any] = {}
        controls: dict[str, str] = {}
        if isinstance(values, dict):  # some custom nodes save their widgets by name
            for name, value in values.items():
                native = comfy.native_input(str(name))
                if native in comfy.cls.inputs and comfy.cls.inputs[native].widget is not None:
                    inputs[native] = value
            return inputs, controls
        if not isinstance(values, list):
            return inputs, controls
        at = 0
        for name in widget_order(comfy):
            if at >= len(values):
                break
            if name is not None:
                inputs[name] = values[at]
            at += 1
            if name is None:
                continue
            if has_control(comfy.cls, name) and at < len(values) and values[at] in CONTROL_VALUES:
                controls[name] = values[at]
                at += 1
        return inputs, controls

    def _resolve(self, node_id: str, slot: int, points: list, seen: set) -> Any:
        """What reaches an input fed from ``node_id``'s output ``slot``, through UI-only nodes."""
        if (node_id, slot) in seen:
            return None
        seen.add((node_id, slot))
        scope, _, local = node_id.rpartition(":")
        if local == SUBGRAPH_INPUT and scope:  # a subgraph input: what feeds its instance there
            feed = self.flat.feeds.get((scope, slot))
            return self._resolve(*feed, points=points, seen=seen) if feed else _Unset(scope, slot)
        node = self.flat.nodes.get(node_id)
        if node is None:
            return None
        if node.kind == "reroute":
            pos = _pos(node.raw)
            if pos is not None:
                points.append([round(pos[0] + node.offset[0]), round(pos[1] + node.offset[1])])
            feed = self.flat.feeds.get((node_id, 0))
            return self._resolve(*feed, points=points, seen=seen) if feed else None
        if node.kind == "instance":
            feed = self.flat.feeds.get((node_id + ":" + SUBGRAPH_OUTPUT, slot))
            return self._resolve(*feed, points=points, seen=seen) if feed else None
        if node.kind == "primitive":
            values = node.raw.get("widgets_values") or []
            if not isinstance(values, list) or not values:
                return None
            control = values[1] if len(values) > 1 and values[1] in CONTROL_VALUES else None
            return _Value(values[0], control)
        if node.kind == "note":
            return None
        return _Ref(node_id, slot)

    def _through_savers(self, source: Any, points: list) -> Any:
        """A link from a saver's pass-through output (PASS_THROUGH_OUTPUTS) as a link from what
        feeds that saver's input; any other source as it is. A muted saver passes nothing on, as
        in ComfyUI: the link stays on it (``_MutedSaver``) and the modes leave its consumer
        without input (bypass.py: the clear error for a required input); a bypassed one passes its
        input through, as any bypassed node does."""
        for _ in range(MAX_PASS_THROUGH):
            comfy = self.classes.get(source.node) if isinstance(source, _Ref) else None
            through = PASS_THROUGH_OUTPUTS.get(comfy.comfy_name) if comfy is not None else None
            if through is None or source.slot != 0 or source.slot < len(comfy.output_slots):
                return source
            if MODES.get(self.flat.nodes[source.node].mode) == "mute":
                return _MutedSaver(source.node, through)
            raw_inputs = self.flat.nodes[source.node].raw.get("inputs") or []
            index = next((i for i, inp in enumerate(raw_inputs) if isinstance(inp, dict) and inp.get("name") == through),
                         None)
            feed = self.flat.feeds.get((source.node, index)) if index is not None else None
            if feed is None:
                return source  # nothing feeds it: named as a link to a missing slot
            source = self._resolve(*feed, points=points, seen=set())
        return source

    def _output_name(self, node_id: str, input_name: str, source: _Ref) -> str | None:
        comfy = self.classes.get(source.node)
        if comfy is None:  # an unknown class: listed once in the missing-types problem
            return None
        slots = comfy.output_slots
        if 0 <= source.slot < len(slots):
            return slots[source.slot]
        have = ", ".join(f"{i}: {n}" for i, n in enumerate(slots)) or "none"
        self.problems.append(Problem("bad_link", f"links to output slot {source.slot} of node {source.node!r} "
                                                 f"({comfy.comfy_name}), which has no such slot (slots: {have})",
                                     node_id, input_name))
        return None

    def _instance_widget(self, unset: _Unset) -> Any:
        """The value a subgraph instance holds for an unlinked widget input, else _MISSING (the
        inner node keeps its own)."""
        instance = self.flat.nodes.get(unset.instance)
        if instance is None:
            return _MISSING
        inputs = instance.raw.get("inputs") or []
        values = instance.raw.get("widgets_values")
        if not isinstance(values, list) or unset.slot >= len(inputs) or not isinstance(inputs[unset.slot], dict):
            return _MISSING
        if "widget" not in inputs[unset.slot]:
            return _MISSING
        index = sum(1 for inp in inputs[:unset.slot] if isinstance(inp, dict) and "widget" in inp)
        return values[index] if index < len(values) else _MISSING

    def _ui(self, node: _Node, comfy: ComfyClass) -> dict[str, Any]:
        ui: dict[str, Any] = {}
        pos = _pos(node.raw)
        if pos is not None:
            ui["pos"] = [round(pos[0] + node.offset[0]), round(pos[1] + node.offset[1])]
        title = node.raw.get("title")
        if isinstance(title, str) and title and title != comfy.comfy_name:
            ui["title"] = title
        if isinstance(node.raw.get("color"), str):
            ui["color"] = node.raw["color"]
        return ui


_MISSING = object()


def widget_order(comfy: ComfyClass) -> list[str | None]:
    """The native names of a class's widget inputs in ComfyUI's order: declaration order (the
    inputs an alias fixes are not ComfyUI's); for an alias that lists ComfyUI's inputs, their
    order, where None stands for a UI-only widget whose value is skipped."""
    if comfy.renames:
        order: list[str | None] = []
        for native in comfy.renames.values():
            if native is None:
                order.append(None)
            elif native in comfy.cls.inputs and comfy.cls.inputs[native].widget is not None:
                order.append(native)
        return order
    return [name for name, spec in comfy.cls.inputs.items() if spec.widget is not None and name not in comfy.fixed]


def has_control(cls: Any, name: str) -> bool:
    """Is the widget followed by a control_after_generate entry in widgets_values?"""
    spec = cls.inputs.get(name)
    if spec is None or spec.widget is None:
        return False
    info = cls.model_fields.get(name)
    extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
    meta = extra.get("nodegraph", {}) if isinstance(extra.get("nodegraph", {}), dict) else {}
    if "control_after_generate" in meta:
        return bool(meta["control_after_generate"])
    return spec.widget == "int" and name in SEED_NAMES
