"""nodegraph's validation problems in ComfyUI's shape, for ``POST /prompt``'s answer.

ComfyUI answers an invalid prompt with ``{"error": {type, message, details, extra_info},
"node_errors": {id: {"errors": [...], "dependent_outputs": [...], "class_type"}}}``. Each
``Problem`` (node id, input, code, message) becomes one error entry with ComfyUI's type:

| nodegraph problem | ComfyUI error type |
|---|---|
| missing_input | required_input_missing |
| bad_value on a choice (enum) | value_not_in_list |
| bad_value below / above the bounds | value_smaller_than_min / value_bigger_than_max |
| bad_value of another type | invalid_input_type |
| bad_value from a node's own check | custom_validation_failed |
| missing_file, bad_path, bad_file | value_not_in_list (a file picker is a combo there) |
| bad_link, needs_link, bypassed_source | bad_linked_input |
| type_mismatch | return_type_mismatch |
| problems without a node (no output, malformed prompt, unknown classes) | the top-level ``error`` |

``dependent_outputs`` are the output nodes downstream of the failing node. Pure: no I/O.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..api.errors import Problem
from .object_info import input_spec

NO_OUTPUTS = {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "", "extra_info": {}}
OUTPUTS_FAILED = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                  "details": "", "extra_info": {}}


def top_error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def _received(prompt: dict, node: str, comfy_input: str | None) -> Any:
    entry = prompt.get(node)
    if not isinstance(entry, dict) or comfy_input is None or not isinstance(entry.get("inputs"), dict):
        return None
    return entry["inputs"].get(comfy_input)


def _list_info(options: list) -> str:
    return f"(list of length {len(options)})" if len(options) > 20 else str(list(options))


def error_entry(problem: Problem, prompt: dict, spec: dict[str, Any] | None, comfy_input: str | None
                ) -> dict[str, Any]:
    """One ``Problem`` of a node as ComfyUI's error entry. ``spec``: the input's catalogue entry."""
    name = comfy_input or problem.input or ""
    value = _received(prompt, problem.node or "", comfy_input)
    extra: dict[str, Any] = {"input_name": name} if name else {}
    if spec is not None:
        extra["input_config"] = input_spec(spec, [])
        extra["received_value"] = value
    code, message = problem.code, problem.message
    if code == "missing_input":
        return {"type": "required_input_missing", "message": "Required input is missing", "details": name,
                "extra_info": extra}
    if code in ("missing_file", "bad_path", "bad_file"):
        return {"type": "value_not_in_list", "message": "Value not in list",
                "details": f"{name}: '{value}' not in the {spec.get('file', {}).get('kind', '') if spec else ''} "
                           f"files - {message}", "extra_info": extra}
    if code in ("bad_link", "needs_link", "bypassed_source"):
        return {"type": "bad_linked_input", "message": message, "details": name, "extra_info": extra}
    if code == "type_mismatch":
        return {"type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
                "details": f"{name}, {message}", "extra_info": extra}
    if code == "bad_value" and spec is not None:
        return _bad_value(spec, name, value, message, extra)
    return {"type": code, "message": message, "details": name, "extra_info": extra}


def _bad_value(spec: dict[str, Any], name: str, value: Any, message: str, extra: dict) -> dict[str, Any]:
    widget = spec.get("widget")
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if widget == "enum" and isinstance(value, (str, int, float)) and value not in (spec.get("options") or ()):
        return {"type": "value_not_in_list", "message": "Value not in list",
                "details": f"{name}: '{value}' not in {_list_info(spec.get('options') or [])}", "extra_info": extra}
    if widget in ("int", "float") and numeric:
        low, high = spec.get("minimum"), spec.get("maximum")
        if low is not None and value < low:
            return {"type": "value_smaller_than_min", "message": f"Value {value} smaller than min of {low}",
                    "details": name, "extra_info": extra}
        if high is not None and value > high:
            return {"type": "value_bigger_than_max", "message": f"Value {value} bigger than max of {high}",
                    "details": name, "extra_info": extra}
    if widget in ("int", "float", "string", "bool") and not _fits(widget, value):
        kind = {"int": "INT", "float": "FLOAT", "string": "STRING", "bool": "BOOLEAN"}[widget]
        return {"type": "invalid_input_type", "message": f"Failed to convert an input value to a {kind} value",
                "details": f"{name}, {value}, {message}", "extra_info": extra}
    return {"type": "custom_validation_failed", "message": "Custom validation failed for node",
            "details": f"{name} - {message}", "extra_info": extra}


def _fits(widget: str, value: Any) -> bool:
    if widget == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if widget == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if widget == "string":
        return isinstance(value, str)
    return isinstance(value, bool)


def downstream_outputs(node: str, links: dict[str, set[str]], outputs: Iterable[str]) -> list[str]:
    """Output nodes at or downstream of ``node``. ``links``: node -> the nodes it feeds."""
    seen, todo = set(), [node]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(links.get(current, ()))
    return [o for o in outputs if o in seen]


def prompt_links(prompt: dict) -> dict[str, set[str]]:
    """Source node -> nodes it feeds, from an API-format prompt's ``[id, slot]`` links."""
    feeds: dict[str, set[str]] = {}
    for node_id, entry in prompt.items():
        inputs = entry.get("inputs") if isinstance(entry, dict) else None
        for value in (inputs or {}).values():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                feeds.setdefault(value[0], set()).add(str(node_id))
    return feeds


def node_errors(problems: list[Problem], prompt: dict, outputs: list[str],
                describe: Callable[[str, str | None], tuple[dict | None, str | None]]) -> dict[str, Any]:
    """ComfyUI's ``node_errors`` for the problems that name a node of the prompt.

    ``describe(node, native_input)`` -> (the input's catalogue entry or None, ComfyUI's name for
    the input). ``outputs``: the prompt's output node ids.
    """
    links = prompt_links(prompt)
    found: dict[str, Any] = {}
    for problem in problems:
        if problem.node is None or problem.node not in prompt:
            continue
        spec, comfy_input = describe(problem.node, problem.input)
        entry = found.setdefault(problem.node, {
            "errors": [], "dependent_outputs": downstream_outputs(problem.node, links, outputs),
            "class_type": prompt[problem.node].get("class_type") if isinstance(prompt[problem.node], dict) else None})
        entry["errors"].append(error_entry(problem, prompt, spec, comfy_input))
    return found


def top_level(problems: list[Problem], prompt: dict) -> dict[str, Any] | None:
    """The top-level ``error`` for problems that name no node of the prompt (None if there are none)."""
    loose = [p for p in problems if p.node is None or p.node not in prompt]
    if not loose:
        return None
    first = loose[0]
    if first.code == "no_output":
        return {**NO_OUTPUTS, "details": first.message}
    if first.code == "unknown_type":
        return top_error("invalid_prompt", f"Cannot execute because a node type does not exist: {first.message}",
                         "; ".join(p.message for p in loose[1:]))
    return top_error("invalid_prompt", first.message, "; ".join(str(p) for p in loose[1:]))
