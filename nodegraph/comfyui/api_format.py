"""ComfyUI's API format (``{id: {"class_type", "inputs", "_meta"}}``, what "Export (API)" writes
and clients POST to /prompt) to nodegraph's workflow and back.

A link there is ``[source id, output slot]``; here it names the output. A node's outputs, in
declaration order, are ComfyUI's slots, so the slot is an index into ``cls.outputs``. Node ids
stay ComfyUI's ("3", "9"): ``--set 3.seed=5`` and every event name the node a ComfyUI user knows.
"""
from __future__ import annotations

import json
from typing import Any

from ..graph.bypass import apply_modes
from ..api.errors import Problem, WorkflowInvalid
from ..api.registry import Registry
from ..graph.workflow import FORMAT, VERSION, Link, parse_workflow
from .classes import ComfyClass, comfy_class_of, missing_classes_problem, resolve_class


# ComfyUI's savers that (in its current versions) also output their input unchanged: a link from
# that output is a link from whatever feeds the input. nodegraph's savers have no outputs, so the
# import follows such a link back to its source.
PASS_THROUGH_OUTPUTS = {"SaveImage": "images", "PreviewImage": "images", "SaveVideo": "video"}
MAX_PASS_THROUGH = 64  # savers chained output to input; bounds a cycle in a malformed file


def is_api_prompt(data: Any) -> bool:
    """Does ``data`` look like an API-format prompt (every value a node with a ``class_type``)?"""
    return (isinstance(data, dict) and bool(data)
            and all(isinstance(v, dict) and "class_type" in v for v in data.values()))


def is_api_link(value: Any) -> bool:
    """ComfyUI's test for a link: a list of a node id (a string) and an integer slot."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int) and not isinstance(value[1], bool))


def api_to_workflow(prompt: dict, registry: Registry) -> dict:
    """The native workflow (JSON) of an API-format prompt.

    Raises WorkflowInvalid with every problem: one listing all class types no pack provides (with
    their node ids), and one per malformed node, bad link or unknown input, named by node and input.
    """
    if not isinstance(prompt, dict) or not prompt:
        raise WorkflowInvalid([Problem("bad_format", "a ComfyUI API prompt is a non-empty JSON object "
                                                     "of node id -> {\"class_type\", \"inputs\"}")])
    problems: list[Problem] = []
    missing: dict[str, list[str]] = {}
    classes: dict[str, ComfyClass] = {}
    for node_id, entry in prompt.items():
        node_id = str(node_id)
        if not isinstance(entry, dict) or not isinstance(entry.get("class_type"), str) or not entry["class_type"]:
            problems.append(Problem("bad_structure", "a ComfyUI node is {\"class_type\": \"<name>\", \"inputs\": {...}}",
                                    node_id))
            continue
        if not isinstance(entry.get("inputs", {}), dict):
            problems.append(Problem("bad_structure", "'inputs' must be an object", node_id))
            continue
        comfy = resolve_class(entry["class_type"], registry)
        if comfy is None:
            missing.setdefault(entry["class_type"], []).append(node_id)
        else:
            classes[node_id] = comfy

    nodes: dict[str, dict] = {}
    for node_id, comfy in classes.items():
        entry = prompt[node_id]
        inputs: dict[str, Any] = {}
        for comfy_input, value in entry.get("inputs", {}).items():
            native = comfy.native_input(comfy_input)
            if native is None:
                continue  # a UI-only widget the native node does without
            if native not in comfy.cls.inputs:
                problems.append(Problem("unknown_input", f"{comfy.comfy_name} has no input {comfy_input!r} "
                                                         f"(inputs: {', '.join(_comfy_inputs(comfy))})",
                                        node_id, comfy_input))
                continue
            if is_api_link(value):
                link, problem = _link_from_slot(node_id, comfy_input, value, prompt, classes, missing)
                if problem:
                    problems.append(problem)
                elif link is not None:
                    inputs[native] = link
            else:
                inputs[native] = value
        inputs.update(comfy.fixed)
        node: dict[str, Any] = {"type": comfy.native_type, "inputs": inputs}
        title = (entry.get("_meta") or {}).get("title") if isinstance(entry.get("_meta"), dict) else None
        if isinstance(title, str) and title and title != comfy.comfy_name:
            node["ui"] = {"title": title}
        nodes[node_id] = node
    if missing:
        problems.insert(0, missing_classes_problem(missing))
    if problems:
        raise WorkflowInvalid(problems)
    return {"format": FORMAT, "version": VERSION, "nodes": nodes}


def _comfy_inputs(comfy: ComfyClass) -> list[str]:
    return [comfy.comfy_input(name) for name in comfy.cls.inputs if name not in comfy.fixed]


def _link_from_slot(node_id: str, input_name: str, value: list, prompt: dict, classes: dict[str, ComfyClass],
                    missing: dict[str, list[str]]) -> tuple[dict | None, Problem | None]:
    for _ in range(MAX_PASS_THROUGH):
        source_id, slot = value
        if source_id not in prompt:
            return None, Problem("bad_link", f"links to node {source_id!r}, which does not exist", node_id, input_name)
        source = classes.get(source_id)
        if source is None:  # an unknown class (listed once, above) or a malformed node (named already)
            return None, None
        slots = source.output_slots
        if 0 <= slot < len(slots):
            return {"from": source_id, "output": slots[slot]}, None
        through = PASS_THROUGH_OUTPUTS.get(source.comfy_name)
        fed = (prompt[source_id].get("inputs") or {}).get(through) if through and slot == 0 else None
        if not is_api_link(fed):
            have = ", ".join(f"{i}: {n}" for i, n in enumerate(slots)) or "none"
            return None, Problem("bad_link", f"links to output slot {slot} of node {source_id!r} ({source.comfy_name}), "
                                             f"which has no such slot (slots: {have})", node_id, input_name)
        value = fed  # the saver's output is its input unchanged: link to what feeds it
    return None, Problem("bad_link", "links through a cycle of savers", node_id, input_name)


def workflow_to_api(workflow: dict, registry: Registry) -> dict:
    """ComfyUI's API format of a native workflow (JSON), for graphs of ComfyUI-named nodes.

    Modes are applied first, as ComfyUI's own export does (muted nodes are left out, bypassed
    ones are passed through). Raises WorkflowInvalid for unknown types and unresolvable modes.
    """
    parsed = parse_workflow(workflow)
    runnable, problems = apply_modes(parsed, registry)
    if problems:
        raise WorkflowInvalid(problems)
    unknown = [Problem("unknown_type", f"unknown node type {e.type!r}", nid)
               for nid, e in runnable.nodes.items() if registry.get(e.type) is None]
    if unknown:
        raise WorkflowInvalid(unknown)
    prompt: dict[str, Any] = {}
    for node_id, entry in runnable.nodes.items():
        literals = {k: v for k, v in entry.inputs.items() if not isinstance(v, Link)}
        comfy = comfy_class_of(entry.type, literals, registry)
        inputs: dict[str, Any] = {}
        for name, value in entry.inputs.items():
            if name in comfy.fixed:
                continue
            if isinstance(value, Link):
                source = runnable.nodes.get(value.node)
                source_cls = registry.get(source.type) if source is not None else None
                if source_cls is None or value.output not in source_cls.outputs:
                    raise WorkflowInvalid([Problem("bad_link", f"links to {value.node!r}.{value.output}, "
                                                               "which does not exist", node_id, name)])
                inputs[comfy.comfy_input(name)] = [value.node, list(source_cls.outputs).index(value.output)]
            else:
                inputs[comfy.comfy_input(name)] = _plain(value)
        title = entry.ui.get("title") if isinstance(entry.ui.get("title"), str) else comfy.comfy_name
        prompt[node_id] = {"inputs": inputs, "class_type": comfy.comfy_name, "_meta": {"title": title}}
    return prompt


def _plain(value: Any) -> Any:
    """A literal as JSON holds it (tuples become lists)."""
    return json.loads(json.dumps(value))
