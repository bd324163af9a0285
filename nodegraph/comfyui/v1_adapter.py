"""A ComfyUI V1 node class as a nodegraph node class, so that validation, the cache, the
catalogue, the canvas and every executor treat it like any node.

- Inputs: widgets (INT, FLOAT, STRING, BOOLEAN, combos) become typed widgets with ComfyUI's
  bounds, steps and defaults (a widget without a declared default starts where ComfyUI's
  frontend starts it); sockets (``forceInput`` widgets included) become link-only inputs of
  their type. Input names and order are ComfyUI's.
- Outputs: one per ``RETURN_TYPES`` slot, in slot order, named by ``RETURN_NAMES`` or the type
  lower-cased (``image``, ``image_2`` for a second IMAGE).
- Running: ComfyUI's list semantics (``INPUT_IS_LIST``, ``OUTPUT_IS_LIST``, one call per item
  otherwise), hidden inputs (``PROMPT``, ``EXTRA_PNGINFO``, ``UNIQUE_ID``), one instance of the
  class per node kept between runs (as ComfyUI does), a ``{"ui", "result"}`` return's ``ui``
  shown on the canvas and kept under ``ui["comfyui"]`` as ComfyUI reports it.
- Cache: ``IS_CHANGED``'s value is part of the node's key (NaN, or an exception: run every time),
  ``NOT_IDEMPOTENT`` keys by node id; the pack's source is in the key as for any pack.
- Validation: ``VALIDATE_INPUTS`` runs with the rest of validation; anything but True is a
  problem naming the node and the inputs it checked.
"""


import enum
import inspect
import json
import logging
import math
import numbers
import threading
import warnings
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, create_model

from ..api.errors import NodeError
from ..api.lists import ValueList, as_value
from ..api.node import NEVER_CACHED, Node, Socket, Widget, node
from ..api.types import TypeRegistry, is_tensor
from ..files.roots import FileRoots
from .surface import SurfaceCall, comfyui_module, surface, temp_dir
from .v1_spec import V1Input, V1Spec, widget_default

log = logging.getLogger("nodegraph.comfyui")

INSTANCES_KEPT = 256  # node objects kept between runs per session (ComfyUI keeps one per node id)


class ComfyPackSet:
    """What ``nodes.NODE_CLASS_MAPPINGS`` and friends show packs: the ComfyUI classes of one load."""

    def __init__(self, registry: Any = None) -> None:
        self.classes: dict[str, type] = {}
        self.display_names: dict[str, str] = {}
        self.web_dirs: dict[str, str] = {}
        self.registry = registry
        self.natives: dict[str, type] = {}

    def call(self, files: FileRoots, device: str = "auto", ctx: Any = None, node_id: str | None = None) -> SurfaceCall:
        return SurfaceCall(files, device, ctx, node_id, self.classes, self.display_names, self.web_dirs,
                           self.registry, self.natives)


class ComfyV1Node(Node):
    """Base of the generated classes: runs the ComfyUI class with ComfyUI's semantics."""

    # The engine never validates through the model (each input has its own adapter): the
    # model's validator is never built.
    model_config = ConfigDict(**{**Node.model_config, "defer_build": True})  # (Node's defers too)
    accepts_lists = True  # ComfyUI's list semantics are applied here, INPUT_IS_LIST included
    local_only = True  # generated at load: a Ray worker runs none of these (they run on the driver)
    comfy_spec: ClassVar[V1Spec]
    comfy_class: ClassVar[type]
    comfy_pack: ClassVar[str]
    comfy_packs: ClassVar[ComfyPackSet]
    comfy_types: ClassVar[TypeRegistry]
    comfy_checked_choices: ClassVar[dict[str, tuple]] = {}  # combos checked by membership

    def _comfy_run(self, ctx: Any) -> dict[str, Any]:
        cls = type(self)
        spec = cls.comfy_spec
        values = self.__dict__
        args: dict[str, list[Any]] = {}
        for inp in spec.inputs:
            value = values.get(inp.name)
            if value is None and not inp.required:
                continue  # an optional input left open is not passed, as in ComfyUI
            items = list(value) if isinstance(value, ValueList) else [value]
            args[inp.name] = [_into_comfy(inp.type, item) for item in items]
        for name, kind in spec.hidden.items():
            args[name] = [_hidden_value(kind, ctx)]
        with surface(cls.comfy_packs.call(ctx.env.files, ctx.env.device, ctx, ctx.node_id)):
            try:
                func = getattr(_instance(cls, ctx), spec.function)
                returns = _call_over_lists(func, args, spec.input_is_list, ctx.check_interrupt)
            except ModuleNotFoundError as exc:
                if comfyui_module(exc.name):
                    raise NodeError(f"{spec.comfy_name} (pack {cls.comfy_pack}) needs ComfyUI's module "
                                    f"{exc.name!r}, which nodegraph does not provide") from exc
                raise
        outputs, ui = _merge_returns(cls, returns)
        _show(ctx, ui)
        return outputs

    # A data descriptor: an input named "run" cannot shadow the method on the instance.
    run = property(lambda self: self._comfy_run)

    @classmethod
    def fingerprint(cls, literals: dict[str, Any], env: Any, node_id: str | None = None) -> Any:
        spec = cls.comfy_spec
        facts: list[Any] = []
        if spec.not_idempotent:
            facts.append(node_id)
        if spec.has_is_changed:
            args = _hook_args(cls, literals, node_id, None)
            files = env.files if env is not None else FileRoots()
            try:
                with surface(cls.comfy_packs.call(files, getattr(env, "device", "auto"), None, node_id)):
                    value = cls.comfy_class.IS_CHANGED(**_as_lists(args, spec.input_is_list))
            except Exception as exc:  # noqa: BLE001 - as ComfyUI: a failing IS_CHANGED means "changed"
                log.warning("%s (node %s): IS_CHANGED raised %s: %s; it runs every time",
                            spec.comfy_name, node_id, type(exc).__name__, exc)
                return NEVER_CACHED
            if _has_nan(value):
                return NEVER_CACHED
            facts.append(_keyable(value))
        return facts or None

    @classmethod
    def check_inputs(cls, literals: dict[str, Any], env: Any, node_id: str | None = None) -> list[tuple[str | None, str]]:
        spec = cls.comfy_spec
        problems: list[tuple[str | None, str]] = []
        for name, choices in cls.comfy_checked_choices.items():
            if name in literals and literals[name] not in choices:
                shown = ", ".join(repr(c) for c in choices[:20]) + (", ..." if len(choices) > 20 else "")
                problems.append((name, f"{literals[name]!r} is not one of the choices ({shown or 'there are none'})"))
        if spec.validate_params is None or problems:
            return problems
        args = _hook_args(cls, literals, node_id, None if spec.validate_kwargs else spec.validate_params)
        if "input_types" in spec.validate_params:
            args["input_types"] = {}  # the linked types are not known to this hook (docs/plugins.md)
        files = env.files if env is not None else FileRoots()
        try:
            with surface(cls.comfy_packs.call(files, getattr(env, "device", "auto"), None, node_id)):
                result = cls.comfy_class.VALIDATE_INPUTS(**_as_lists(args, spec.input_is_list))
        except Exception as exc:  # noqa: BLE001 - the pack's check failing is a problem to show
            return [(None, f"VALIDATE_INPUTS raised {type(exc).__name__}: {exc}")]
        if isinstance(result, list) and len(result) == 1:
            result = result[0]
        if result is True:
            return []
        message = "invalid value" if result is False else str(result)
        named = [n for n in args if n in {i.name for i in spec.inputs}] if not spec.validate_kwargs else []
        return [(name, message) for name in named] or [(None, message)]

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        data = super().to_json()
        data["display_name"] = cls.comfy_spec.display_name
        data["comfyui"] = {"pack": cls.comfy_pack, "class": cls.comfy_class.__name__}
        return data

    @classmethod
    def comfy_object_info(cls) -> dict[str, Any]:
        """This node as ComfyUI's ``/object_info`` describes a node (from the class itself)."""
        spec, v1 = cls.comfy_spec, cls.comfy_class
        declared = _json_safe(spec.input_types)
        returns = list(getattr(v1, "RETURN_TYPES", ()))
        return {
            "input": declared, "input_order": {k: list(v) for k, v in declared.items() if isinstance(v, dict)},
            "output": _json_safe(returns), "output_is_list": [o.is_list for o in spec.outputs],
            "output_name": [o.comfy_name for o in spec.outputs], "name": spec.comfy_name,
            "display_name": spec.display_name, "description": spec.description,
            "python_module": f"custom_nodes.{cls.comfy_pack.split(':', 1)[-1]}", "category": spec.category,
            "output_node": spec.output_node,
        }


def make_node_class(spec: V1Spec, v1: type, pack: str, packs: ComfyPackSet, types: TypeRegistry) -> type[Node]:
    """The nodegraph node class for ``v1`` (read into ``spec``); raises ValueError for what
    cannot be an input name here."""
    fields: dict[str, Any] = {}
    patches: dict[str, dict[str, Any]] = {}
    checked: dict[str, tuple] = {}
    for inp in spec.inputs:
        if inp.name.startswith("_") or inp.name == "model_config":
            raise ValueError(f"input name {inp.name!r} is not supported (names starting with '_' and "
                             "'model_config' are reserved)")
        fields[inp.name], patch, choices = _field(inp, spec)
        if patch:
            patches[inp.name] = patch
        if choices is not None:
            checked[inp.name] = choices
    with warnings.catch_warnings():  # input names like "json" or "copy" shadow BaseModel's methods: harmless here
        warnings.simplefilter("ignore")
        cls = create_model(v1.__name__, __base__=ComfyV1Node, __module__=v1.__module__, **fields)
    cls.comfy_spec, cls.comfy_class, cls.comfy_pack = spec, v1, pack
    cls.comfy_packs, cls.comfy_types, cls.comfy_checked_choices = packs, types, checked
    cls.__qualname__ = v1.__qualname__
    outputs = {o.name: o.type for o in spec.outputs}
    cls = node(spec.comfy_name, category=spec.category, outputs=outputs, output_node=spec.output_node,
               description=spec.description)(cls)
    for name, patch in patches.items():  # what the catalogue shows of inputs the node validates itself
        cls.inputs[name] = replace(cls.inputs[name], **patch)
    return cls


def _field(inp: V1Input, spec: V1Spec) -> tuple[tuple[Any, Any], dict[str, Any], tuple | None]:
    """(annotation, field) of one input; changes to its catalogue entry; choices to check by membership."""
    opts = inp.options
    description = str(opts.get("tooltip", "") or "")
    if inp.kind == "socket":
        return (Any, Socket(inp.type, optional=not inp.required, description=description)), {}, None
    default = widget_default(inp)
    own_check = spec.validated_by_node(inp.name)  # ComfyUI skips its bounds and choice checks for these
    if inp.kind == "combo":
        choices = inp.choices
        patch = {"widget": "enum", "socket": "STRING", "options": choices}
        if own_check:
            return (Any, Widget(default, description=description)), patch, None
        if choices and all(isinstance(c, (str, int, float, bool)) for c in choices):
            return (Literal[choices], Widget(default, description=description)), {}, None  # type: ignore[valid-type]
        return (Any, Widget(default, description=description)), patch, tuple(choices)
    python_type = {"int": int, "float": float, "string": str, "bool": bool}[inp.kind]
    bounds = {"ge": _number(opts.get("min")), "le": _number(opts.get("max"))} if inp.kind in ("int", "float") else {}
    step = _number(opts.get("step")) if inp.kind in ("int", "float") else None
    multiline = bool(opts.get("multiline")) if inp.kind == "string" else False
    extra = {"control_after_generate": True} if opts.get("control_after_generate") and _WIDGET_HAS_CONTROL else {}
    if own_check and bounds:
        return ((python_type, Widget(default, step=step, description=description, **extra)),
                {"minimum": bounds["ge"], "maximum": bounds["le"]}, None)
    return (python_type, Widget(default, step=step, multiline=multiline, description=description, **bounds, **extra)), \
        {}, None


# Widget(control_after_generate=True) marks a seed-like widget followed by ComfyUI's control
# entry in UI-format files; passed on where this nodegraph's Widget knows the keyword.
_WIDGET_HAS_CONTROL = "control_after_generate" in inspect.signature(Widget).parameters


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _hook_args(cls: type[ComfyV1Node], literals: dict[str, Any], node_id: str | None,
               only: frozenset[str] | None) -> dict[str, Any]:
    """What ComfyUI passes IS_CHANGED and VALIDATE_INPUTS: literal inputs, None for linked ones
    (their values do not exist yet), the hidden inputs it knows without a running job."""
    spec = cls.comfy_spec
    args: dict[str, Any] = {}
    for inp in spec.inputs:
        if only is not None and inp.name not in only:
            continue
        if inp.name in literals:
            args[inp.name] = literals[inp.name]
        elif inp.kind != "socket" or inp.required:  # a widget missing from the literals is linked
            args[inp.name] = None
    for name, kind in spec.hidden.items():
        if only is None or name in only:
            args[name] = node_id if kind == "UNIQUE_ID" else ({} if kind == "PROMPT" else None)
    return args


def _as_lists(args: dict[str, Any], input_is_list: bool) -> dict[str, Any]:
    return {k: [v] for k, v in args.items()} if input_is_list else args


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v) for v in value)
    return False


def _keyable(value: Any) -> Any:
    """IS_CHANGED's value as cache-key material: itself when JSON can hold it, else its text."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _call_over_lists(func: Any, args: dict[str, list[Any]], input_is_list: bool, before: Any) -> list[Any]:
    """ComfyUI's calling convention over input lists: one call with every list (INPUT_IS_LIST),
    else one call per index, a shorter list repeating its last item; an empty list calls nothing."""
    if input_is_list:
        before()
        return [func(**args)]
    if not args:
        before()
        return [func()]
    lengths = [len(v) for v in args.values()]
    returns = []
    for index in range(max(lengths) if min(lengths) else 0):
        before()
        returns.append(func(**{k: v[index] if index < len(v) else v[-1] for k, v in args.items()}))
    return returns


def _merge_returns(cls: type[ComfyV1Node], returns: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Outputs (a ValueList where several values came out) and the merged ``ui``."""
    spec = cls.comfy_spec
    results: list[Any] = []
    uis: list[dict] = []
    for value in returns:
        if isinstance(value, dict):
            if "expand" in value:
                raise NodeError(f"{spec.comfy_name} returned a graph expansion ('expand'), which nodegraph does not run")
            if isinstance(value.get("ui"), dict):
                uis.append(value["ui"])
            if "result" in value:
                results.append(value["result"])
        else:
            results.append(value)
    items: list[list[Any]] = [[] for _ in spec.outputs]
    for result in results:
        if spec.outputs and not isinstance(result, (tuple, list)):
            raise NodeError(f"{spec.comfy_name}.{spec.function} returned {type(result).__name__}; a ComfyUI node "
                            f"returns a tuple of its {len(spec.outputs)} output(s)")
        if len(result or ()) < len(spec.outputs):
            raise NodeError(f"{spec.comfy_name}.{spec.function} returned {len(result)} value(s) for "
                            f"{len(spec.outputs)} output(s) ({', '.join(o.type for o in spec.outputs)})")
        for slot, output in enumerate(spec.outputs):
            value = result[slot]
            if output.is_list:
                if not isinstance(value, (list, tuple)):
                    raise NodeError(f"{spec.comfy_name}: output {output.name!r} is an OUTPUT_IS_LIST output "
                                    f"but {type(value).__name__} was returned, not a list")
                items[slot].extend(value)
            else:
                items[slot].append(value)
    outputs = {}
    for output, values in zip(spec.outputs, items):
        values = [_out_of_comfy(output.type, v, cls.comfy_types) for v in values]
        outputs[output.name] = as_value(values) if values else ValueList()
    if len(uis) > 1:
        merged: dict[str, Any] = {}
        for ui in uis:
            for key, value in ui.items():
                merged.setdefault(key, []).extend(value if isinstance(value, (list, tuple)) else [value])
        return outputs, merged
    return outputs, (uis[0] if uis else {})


def _into_comfy(type_name: str, value: Any) -> Any:
    """nodegraph's value as ComfyUI's: a LATENT tensor becomes ``{"samples": tensor}``."""
    if type_name == "LATENT" and is_tensor(value):
        return {"samples": value}
    return value


def _out_of_comfy(type_name: str, value: Any, types: TypeRegistry) -> Any:
    """ComfyUI's value as the type registered here expects it, where the two differ in form only."""
    if type_name == "MASK" and is_tensor(value) and value.dim() == 2:
        return value.unsqueeze(0)  # ComfyUI tolerates [H, W] masks; MASK is [B, H, W]
    if type_name == "LATENT" and isinstance(value, dict) and not types.check_value("LATENT", value) \
            and types.check_value("LATENT", value.get("samples")):
        return value["samples"]  # this catalogue's LATENT is the tensor itself
    if type_name == "INT" and isinstance(value, numbers.Integral) and not isinstance(value, (int, bool)):
        return int(value)
    if type_name == "FLOAT" and isinstance(value, numbers.Real) and not isinstance(value, (int, float, bool)):
        return float(value)
    return value


def _hidden_value(kind: str, ctx: Any) -> Any:
    if kind == "UNIQUE_ID":
        return ctx.node_id
    if kind == "PROMPT":
        return api_prompt(ctx.graph) if ctx.graph is not None else {}
    if kind == "EXTRA_PNGINFO":
        return {"workflow": ctx.workflow} if ctx.graph is not None else None
    return None


def api_prompt(graph: Any) -> dict[str, Any]:
    """The job as ComfyUI's API-format prompt: ``{id: {"class_type", "inputs"}}``, links as
    ``[node id, output slot]`` (slots in declaration order)."""
    prompt: dict[str, Any] = {}
    for node_id, gnode in graph.nodes.items():
        inputs: dict[str, Any] = dict(_json_safe(gnode.literals))
        for name, link in gnode.links.items():
            source = graph.nodes.get(link.node)
            slots = list(source.cls.outputs) if source is not None else []
            inputs[name] = [link.node, slots.index(link.output) if link.output in slots else 0]
        prompt[node_id] = {"class_type": gnode.cls.node_type, "inputs": inputs}
    return prompt


def _show(ctx: Any, ui: dict[str, Any]) -> None:
    """A ComfyUI ``ui`` on the canvas: images and clips it names (output or temp folder), its
    text; output files recorded as the node's outputs; the whole of it under ``ui["comfyui"]``."""
    if not ui:
        return
    ctx.ui["comfyui"] = _json_safe(ui)
    files = ctx.env.files
    output_dir = Path(files.output_dir).resolve()
    folders = {"output": Path(files.output_dir), "temp": temp_dir(files), "input": Path(files.input_dir)}
    images, videos = [], []
    for key in ("images", "gifs", "videos", "animated"):
        for entry in ui.get(key) or ():
            if not isinstance(entry, dict) or "filename" not in entry:
                continue
            kind = entry.get("type", "output")
            if kind not in folders:
                continue
            path = folders[kind] / str(entry.get("subfolder") or "") / str(entry["filename"])
            if kind == "output" and path.is_file():
                ctx.record_file(path)
            real = path.resolve()
            if output_dir in real.parents:  # the canvas shows files of the output folder (temp/ is in it)
                name = real.relative_to(output_dir).as_posix()
                (videos if real.suffix.lower() in (".mp4", ".webm", ".mov", ".mkv") else images).append(name)
    if images:
        ctx.ui["images"] = images
    if videos:
        ctx.ui["videos"] = videos
    text = ui.get("text", ui.get("string"))
    if isinstance(text, (list, tuple)):
        ctx.ui["text"] = "\n".join(str(t) for t in text)
    elif isinstance(text, str):
        ctx.ui["text"] = text


def _json_safe(value: Any) -> Any:
    """JSON-able copy: tuples become lists, keys text, other values their text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    if isinstance(value, enum.Enum):
        return _json_safe(value.value)
    return str(value)


class _Instances:
    """The node objects of one session, one per (node id, class), least recently used dropped."""

    def __init__(self) -> None:
        self._objects: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Any) -> Any:
        with self._lock:
            obj = self._objects.get(key)
            if obj is not None:
                self._objects.move_to_end(key)
                return obj
        obj = make()  # the pack's __init__, outside the lock
        with self._lock:
            self._objects[key] = obj
            while len(self._objects) > INSTANCES_KEPT:
                self._objects.popitem(last=False)
        return obj


def _instance(cls: type[ComfyV1Node], ctx: Any) -> Any:
    instances = ctx.env.service("comfyui.v1_instances", _Instances)
    return instances.get((ctx.node_id, cls.node_type, id(cls.comfy_class)), cls.comfy_class)


__all__ = ["ComfyPackSet", "ComfyV1Node", "api_prompt", "make_node_class"]
