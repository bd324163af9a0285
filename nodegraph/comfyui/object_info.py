"""``GET /object_info``: every registered node — native packs' and the comfy pack's alike —
described in ComfyUI's node-definition shape, so ComfyUI's frontend and clients can draw and
fill it.

Mapping (no I/O here; the caller lists the files once per request):

- widgets: ``int`` -> ``["INT", {default, min, max, step}]``, ``float`` -> ``["FLOAT", {...}]``,
  ``string`` -> ``["STRING", {default, multiline}]``, ``bool`` -> ``["BOOLEAN", {default}]``,
  ``enum`` -> ``[[options], {default}]``;
- file pickers -> a combo of the files present for their kind, then the kind's demos
  (``[[names], {default, image_upload?}]``); an image picker also takes uploads;
- sockets (link-only inputs) -> their type name (``["IMAGE", {}]``); nodegraph's any-type ``*``
  is ComfyUI's ``*`` too; inputs holding JSON values (lists, dicts) can only be linked;
- ``control_after_generate`` comes from the widget's catalogue entry;
- every input is ``required``, in declaration order (``input_order``), as ComfyUI lists its
  widgets with defaults; only link-only inputs that may stay unconnected are ``optional``. The
  frontend orders a node's widgets required-first, so this keeps them in declaration order, the
  order of a UI workflow's ``widgets_values``;
- outputs in declaration order are ComfyUI's slots; an output named like its type in lower
  case (``image`` of IMAGE) shows ComfyUI's upper-case name.

A pack's ``COMFY_ALIASES`` entry is listed under its ComfyUI name with ComfyUI's input names
and without the inputs it fixes; its UI-only inputs with a ComfyUI spec (``ui_specs``: SaveVideo's
``format`` and ``codec``) are listed too, right after the input the alias lists before them, so
the frontend keeps their widgets (and their slots in a UI workflow's ``widgets_values``).
"""
from __future__ import annotations

from typing import Any, Callable

# File kinds whose pickers take uploads in ComfyUI's frontend (its LoadImage has "image_upload").
UPLOAD_FLAGS = {"image": "image_upload", "video": "video_upload"}
ANY = "*"


def input_spec(item: dict[str, Any], files: list[str]) -> list[Any]:
    """One input of the catalogue (``InputSpec.to_json``) as ComfyUI's ``[type, options]``."""
    options: dict[str, Any] = {}
    if item.get("description"):
        options["tooltip"] = item["description"]
    widget = item.get("widget")
    default = item.get("default")
    if widget in ("int", "float"):
        if default is not None:
            options["default"] = default
        for ours, theirs in (("minimum", "min"), ("maximum", "max"), ("step", "step")):
            if item.get(ours) is not None:
                options[theirs] = item[ours]
        if widget == "float" and "step" not in options:
            options["step"] = 0.01  # ComfyUI's frontend otherwise steps floats by whole units
        if item.get("control_after_generate"):
            options["control_after_generate"] = True
        return ["INT" if widget == "int" else "FLOAT", options]
    if widget == "string":
        if default is not None:
            options["default"] = default
        if item.get("multiline"):
            options["multiline"] = True
        return ["STRING", options]
    if widget == "bool":
        if default is not None:
            options["default"] = default
        return ["BOOLEAN", options]
    if widget == "enum":
        choices = list(item.get("options") or ())
        if default is not None:
            options["default"] = default
        return [choices, options]
    if widget == "file":
        file = item.get("file") or {}
        choices = list(files) + [d for d in file.get("demos") or () if d not in files]
        if default and default not in choices:
            choices.append(default)
        if default is not None:
            options["default"] = default
        flag = UPLOAD_FLAGS.get(file.get("kind", ""))
        if flag:
            options[flag] = True
        return [choices, options]
    # link-only inputs (sockets) and JSON-valued inputs, which a ComfyUI widget cannot hold
    if widget == "json":
        options["forceInput"] = True
    return [item.get("type") or ANY, options]


def output_name(name: str, type_name: str) -> str:
    return type_name if name.upper() == type_name else name


def node_info(spec: dict[str, Any], files: Callable[[dict[str, Any]], list[str]],
              comfy_name: str | None = None, renames: dict[str, str | None] | None = None,
              fixed: dict[str, Any] | None = None, ui_specs: dict[str, list] | None = None) -> dict[str, Any]:
    """One node of the catalogue (``Node.to_json``) as ComfyUI's node definition.

    ``files(file_info)`` lists the files a picker offers. ``comfy_name``/``renames``/``fixed``
    describe a COMFY_ALIASES entry: its ComfyUI name, ComfyUI input name -> native input,
    native inputs it sets itself (left out here) and ComfyUI's specs of its UI-only inputs.
    """
    to_comfy = {native: comfy for comfy, native in (renames or {}).items() if native}
    required: dict[str, Any] = {}
    optional: dict[str, Any] = {}
    for item in spec["inputs"]:
        if item["name"] in (fixed or {}):
            continue
        name = to_comfy.get(item["name"], item["name"])
        listed = files(item["file"]) if item.get("widget") == "file" and item.get("file") else []
        loose = item.get("widget") is None and not item.get("required")  # a socket left unconnected
        (optional if loose else required)[name] = input_spec(item, listed)
    if ui_specs:
        required = with_ui_inputs(required, list(renames or {}), ui_specs)
    outputs = spec.get("outputs") or []
    name = comfy_name or spec["type"]
    plugin = spec.get("plugin") or ""
    return {
        "input": {"required": required, "optional": optional},
        "input_order": {"required": list(required), "optional": list(optional)},
        "output": [o["type"] for o in outputs],
        "output_is_list": [False] * len(outputs),
        "output_name": [output_name(o["name"], o["type"]) for o in outputs],
        "output_tooltips": [o.get("description") or "" for o in outputs],
        "name": name,
        "display_name": (spec.get("display_name") if comfy_name is None else None) or name,
        "description": spec.get("description") or "",
        "python_module": python_module(plugin),
        "category": spec.get("category") or "nodegraph",
        "output_node": bool(spec.get("output_node")),
    }


def v1_flags(v1: type | None) -> dict[str, Any]:
    """The flags ComfyUI reads off a custom node's class (``v1``; None for nodegraph's own nodes):
    ``has_intermediate_output`` (``HAS_INTERMEDIATE_OUTPUT``: the node's UI output is shown while
    the prompt runs and again when it is cached) and ``search_aliases`` (``SEARCH_ALIASES``: more
    words the node search matches) always, and ``deprecated``, ``experimental``, ``dev_only`` and
    ``api_node`` only where the class sets them, as ComfyUI sends them."""
    flags: dict[str, Any] = {"has_intermediate_output": getattr(v1, "HAS_INTERMEDIATE_OUTPUT", False) is True,
                             "search_aliases": []}
    if v1 is None:
        return flags
    aliases = getattr(v1, "SEARCH_ALIASES", None)
    if isinstance(aliases, (list, tuple)):
        flags["search_aliases"] = [a for a in aliases if isinstance(a, str)]
    for attribute, key in (("DEPRECATED", "deprecated"), ("EXPERIMENTAL", "experimental"), ("DEV_ONLY", "dev_only")):
        if getattr(v1, attribute, False):
            flags[key] = True
    if hasattr(v1, "API_NODE"):
        flags["api_node"] = bool(v1.API_NODE)
    return flags


def with_ui_inputs(required: dict[str, Any], alias_order: list[str], ui_specs: dict[str, list]) -> dict[str, Any]:
    """``required`` with each UI-only input inserted after the nearest input listed before it in
    the alias (at the end when none is)."""
    out = dict(required)
    for name, spec in ui_specs.items():
        if name in out:
            continue
        before = alias_order[:alias_order.index(name)] if name in alias_order else []
        anchor = next((b for b in reversed(before) if b in out), None)
        keys = list(out)
        at = keys.index(anchor) + 1 if anchor is not None else len(keys)
        entry = [spec[0], dict(spec[1]) if len(spec) > 1 else {}]
        out = {**{k: out[k] for k in keys[:at]}, name: entry, **{k: out[k] for k in keys[at:]}}
    return out


def python_module(plugin: str) -> str:
    """Built-in packs show as ComfyUI's core nodes; other plugins as custom node packs."""
    if not plugin or plugin.startswith("builtin."):
        return "nodes"
    return "custom_nodes." + plugin.replace("/", ".")


def object_info(catalogue: dict[str, Any], aliases: dict[str, dict[str, Any]],
                files: Callable[[dict[str, Any]], list[str]]) -> dict[str, dict[str, Any]]:
    """Every node, keyed by the class name ComfyUI callers use (aliases by their ComfyUI name)."""
    by_type = {spec["type"]: spec for spec in catalogue["nodes"]}
    out = {spec["type"]: node_info(spec, files) for spec in catalogue["nodes"]}
    for comfy_name, alias in aliases.items():
        spec = by_type.get(alias.get("type"))
        if spec is not None:
            out[comfy_name] = node_info(spec, files, comfy_name, alias.get("inputs"), alias.get("set"),
                                        alias.get("ui_specs"))
    return dict(sorted(out.items()))
