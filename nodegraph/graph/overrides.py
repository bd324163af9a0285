"""``--set NODE.INPUT=VALUE``: VALUE is parsed by the input's declared type."""
from __future__ import annotations

import math
from typing import Any

from ..api.errors import UsageError
from ..api.registry import Registry
from .workflow import MAX_INT_DIGITS, Workflow, parse_workflow, strict_json


def parse_value(widget: str | None, text: str) -> Any:
    if widget == "int":
        if len(text.strip().lstrip("+-")) > MAX_INT_DIGITS:
            raise ValueError(f"more than {MAX_INT_DIGITS} digits")
        return int(text)
    if widget == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if widget == "bool":
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean (true/false)")
    if widget == "json":
        return strict_json(text)  # what a workflow file may hold, no more
    return text  # string, enum, file: taken verbatim; validation checks enums and files


def apply_overrides(workflow: Workflow, overrides: list[str], registry: Registry) -> Workflow:
    data = workflow.to_json()
    for item in overrides:
        target, sep, text = item.partition("=")
        node_id, dot, input_name = target.rpartition(".")
        if not sep or not dot or not node_id or not input_name:
            raise UsageError(f"--set {item!r}: expected NODE.INPUT=VALUE")
        entry = data["nodes"].get(node_id)
        if entry is None:
            raise UsageError(f"--set {item!r}: no node {node_id!r} in the workflow")
        cls = registry.get(entry["type"])
        if cls is None:
            raise UsageError(f"--set {item!r}: node {node_id!r} has unknown type {entry['type']!r}")
        spec = cls.inputs.get(input_name)
        if spec is None:  # a ComfyUI input name of a native node serving ComfyUI (COMFY_ALIASES)
            input_name = _native_name(registry, entry["type"], input_name)
            spec = cls.inputs.get(input_name)
        if spec is None:
            raise UsageError(f"--set {item!r}: {entry['type']} has no input {input_name!r} "
                             f"(inputs: {', '.join(cls.inputs)})")
        if spec.widget is None:
            raise UsageError(f"--set {item!r}: input {input_name!r} takes a link, not a value")
        try:
            entry["inputs"][input_name] = parse_value(spec.widget, text)
        except ValueError as exc:
            raise UsageError(f"--set {item!r}: {text!r} is not a valid {spec.widget} for "
                             f"{node_id}.{input_name} ({exc})") from None
    return parse_workflow(data)  # the file's checks (depth included) for the new values too


def _native_name(registry: Registry, node_type: str, name: str) -> str:
    for alias in getattr(registry, "comfy_aliases", {}).values():
        if alias["type"] == node_type and alias["inputs"].get(name):
            return alias["inputs"][name]
    return name
