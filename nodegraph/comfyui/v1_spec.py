"""Reading a ComfyUI V1 node class (the contract of its ``custom_nodes`` packs) into a plain
description: inputs with their kinds and options, hidden inputs, output slots, flags.

The contract, as ComfyUI defines it: ``INPUT_TYPES()`` returns ``{"required": {...},
"optional": {...}, "hidden": {...}}``, each input spec a tuple ``(TYPE, {options})`` where TYPE is
``"INT" | "FLOAT" | "STRING" | "BOOLEAN"`` (a widget), a list of choices or ``"COMBO"`` (a
drop-down), or any other name (a socket; ``"*"`` is any type and ``"A,B"`` either); plus the class
attributes ``RETURN_TYPES``, ``RETURN_NAMES``, ``FUNCTION``, ``OUTPUT_NODE``, ``CATEGORY``,
``DESCRIPTION``, ``INPUT_IS_LIST``, ``OUTPUT_IS_LIST``, ``IS_CHANGED``, ``VALIDATE_INPUTS`` and
``NOT_IDEMPOTENT``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

WIDGET_TYPES = {"INT": "int", "FLOAT": "float", "STRING": "string", "BOOLEAN": "bool"}
# What ComfyUI hands a node for each hidden input kind it knows; others are passed as None.
HIDDEN_KINDS = ("PROMPT", "EXTRA_PNGINFO", "UNIQUE_ID", "DYNPROMPT", "AUTH_TOKEN_COMFY_ORG", "API_KEY_COMFY_ORG")


class V1Error(Exception):
    """A class that does not follow the V1 contract; the message says what is wrong."""


@dataclass(frozen=True)
class V1Input:
    name: str
    kind: str  # "int", "float", "string", "bool", "combo" (widgets) or "socket" (link only)
    type: str  # the socket type links must match: "INT", "IMAGE", "IMAGE,MASK", "*", ...
    required: bool
    options: dict[str, Any] = field(default_factory=dict)  # the spec's option dict as declared
    choices: tuple[Any, ...] = ()  # a combo's choices


@dataclass(frozen=True)
class V1Output:
    name: str  # the native output name: RETURN_NAMES, else the type lower-cased, made unique
    type: str
    is_list: bool
    comfy_name: str  # ComfyUI's output_name (RETURN_NAMES entry, else the type)


@dataclass(frozen=True)
class V1Spec:
    comfy_name: str  # the NODE_CLASS_MAPPINGS key: the node type
    display_name: str
    inputs: tuple[V1Input, ...]
    hidden: dict[str, str]  # input name -> PROMPT / EXTRA_PNGINFO / UNIQUE_ID / ...
    outputs: tuple[V1Output, ...]
    function: str
    output_node: bool
    category: str
    description: str
    input_is_list: bool
    not_idempotent: bool
    has_is_changed: bool
    validate_params: frozenset[str] | None  # parameters VALIDATE_INPUTS names; None: it has none
    validate_kwargs: bool  # VALIDATE_INPUTS takes **kwargs (every input)
    input_types: dict[str, Any]  # INPUT_TYPES() as declared (for /object_info)

    def validated_by_node(self, name: str) -> bool:
        """ComfyUI skips its own bounds and choice checks for the inputs VALIDATE_INPUTS takes."""
        return self.validate_params is not None and (self.validate_kwargs or name in self.validate_params)


def read_v1(comfy_name: str, v1: type, display_name: str | None = None) -> V1Spec:
    """The description of ``v1``; raises V1Error naming what does not follow the contract."""
    if not inspect.isclass(v1):
        raise V1Error(f"NODE_CLASS_MAPPINGS[{comfy_name!r}] is {type(v1).__name__}, not a class")
    input_types = _input_types(v1)
    inputs: list[V1Input] = []
    for section in ("required", "optional"):
        declared = input_types.get(section) or {}
        if not isinstance(declared, dict):
            raise V1Error(f"INPUT_TYPES()[{section!r}] is {type(declared).__name__}, not a dict")
        for name, spec in declared.items():
            inputs.append(_read_input(str(name), spec, section == "required"))
    hidden = input_types.get("hidden") or {}
    if not isinstance(hidden, dict):
        raise V1Error(f"INPUT_TYPES()['hidden'] is {type(hidden).__name__}, not a dict")
    hidden = {str(name): str(kind[0] if isinstance(kind, (tuple, list)) and kind else kind)
              for name, kind in hidden.items()}
    function = getattr(v1, "FUNCTION", None)
    if not isinstance(function, str) or not callable(getattr(v1, function, None)):
        raise V1Error(f"FUNCTION is {function!r}, which does not name a method of {v1.__name__}")
    validate = getattr(v1, "VALIDATE_INPUTS", None)
    params, kwargs = _parameters(validate) if callable(validate) else (None, False)
    return V1Spec(
        comfy_name=comfy_name, display_name=display_name or comfy_name, inputs=tuple(inputs), hidden=hidden,
        outputs=_read_outputs(v1), function=function, output_node=bool(getattr(v1, "OUTPUT_NODE", False)),
        category=str(getattr(v1, "CATEGORY", "sd")),  # ComfyUI's default category
        description=str(getattr(v1, "DESCRIPTION", "") or ""),
        input_is_list=bool(getattr(v1, "INPUT_IS_LIST", False)),
        not_idempotent=bool(getattr(v1, "NOT_IDEMPOTENT", False)),
        has_is_changed=callable(getattr(v1, "IS_CHANGED", None)),
        validate_params=params, validate_kwargs=kwargs, input_types=input_types)


def _input_types(v1: type) -> dict[str, Any]:
    method = getattr(v1, "INPUT_TYPES", None)
    if not callable(method):
        raise V1Error("has no INPUT_TYPES classmethod")
    try:
        declared = method()
    except Exception as exc:  # noqa: BLE001 - the pack's code: its failure is the node's problem
        raise V1Error(f"INPUT_TYPES() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(declared, dict):
        raise V1Error(f"INPUT_TYPES() returned {type(declared).__name__}, not a dict")
    return declared


def _read_input(name: str, spec: Any, required: bool) -> V1Input:
    if isinstance(spec, str):  # ("IMAGE",) written without the tuple
        spec = (spec,)
    if not isinstance(spec, (tuple, list)) or not spec:
        raise V1Error(f"input {name!r}: spec {spec!r} is not a (TYPE, {{options}}) tuple")
    declared = spec[0]
    options = dict(spec[1]) if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if isinstance(declared, (list, tuple)):
        return V1Input(name, "combo", "STRING", required, options, tuple(declared))
    type_name = str(declared)
    if type_name == "COMBO":
        return V1Input(name, "combo", "STRING", required, options, tuple(options.get("options") or ()))
    kind = WIDGET_TYPES.get(type_name)
    if kind is None or options.get("forceInput") or options.get("defaultInput"):
        return V1Input(name, "socket", type_name, required, options)
    return V1Input(name, kind, type_name, required, options)


def _read_outputs(v1: type) -> tuple[V1Output, ...]:
    types = getattr(v1, "RETURN_TYPES", ())
    if isinstance(types, str):
        raise V1Error(f"RETURN_TYPES is the string {types!r}, not a tuple (a missing trailing comma: ({types!r},)?)")
    if not isinstance(types, (tuple, list)):
        raise V1Error(f"RETURN_TYPES is {type(types).__name__}, not a tuple")
    names = getattr(v1, "RETURN_NAMES", None) or ()
    if isinstance(names, str):
        names = (names,)
    is_list = getattr(v1, "OUTPUT_IS_LIST", None) or ()
    outputs: list[V1Output] = []
    taken: set[str] = set()
    for slot, declared in enumerate(types):
        # A list of choices as an output type feeds drop-downs: their links carry strings.
        type_name = "STRING" if isinstance(declared, (list, tuple)) else str(declared)
        comfy_name = str(names[slot]) if slot < len(names) else (
            "COMBO" if isinstance(declared, (list, tuple)) else type_name)
        name = comfy_name if slot < len(names) else comfy_name.lower()
        outputs.append(V1Output(_unique(name, taken), type_name, bool(is_list[slot]) if slot < len(is_list) else False,
                                comfy_name))
    return tuple(outputs)


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... when an earlier slot has it (slots stay in order)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _parameters(func: Any) -> tuple[frozenset[str], bool]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return frozenset(), True
    named = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return named, any(p.kind is p.VAR_KEYWORD for p in params)


def widget_default(inp: V1Input) -> Any:
    """The value a widget starts with: its declared default, else what ComfyUI's frontend puts
    there (the minimum or 0 for numbers, "" for text, false, a combo's first choice)."""
    opts = inp.options
    if inp.kind == "combo":
        default = opts.get("default")
        if default in inp.choices:
            return default
        return inp.choices[0] if inp.choices else ""
    if "default" in opts:
        return opts["default"]
    if inp.kind in ("int", "float"):
        low = opts.get("min")
        value = low if isinstance(low, (int, float)) and low > 0 else 0
        high = opts.get("max")
        if isinstance(high, (int, float)) and value > high:
            value = high
        return float(value) if inp.kind == "float" else int(value)
    return {"string": "", "bool": False}[inp.kind]
