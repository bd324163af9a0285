"""The ``prompt``/``workflow`` metadata ComfyUI reads back from a file dropped on it, for outputs
saved for ComfyUI callers. Nodes get it through ``ctx.embedded_texts("comfyui")``: ``install``
registers ``comfy_texts`` in a session's environment (the CLI and the server do), so packs never
import this module. (The ``<prefix>_00001_.png`` numbering is ``nodegraph.files.numbering``.)"""
from __future__ import annotations

import json
from typing import Any

from .api_format import workflow_to_api
from .classes import resolve_class
from .load import STASH_KEY, original_ui_workflow, without_original
from .ui_format import CONTROL_VALUES, _parse_link, has_control, widget_order


def comfy_texts(ctx: Any) -> dict[str, str]:
    """``{"prompt": ..., "workflow": ...}`` as ComfyUI embeds them, for the running job: the API
    prompt of what runs, and the ComfyUI workflow the job came from (with the values that ran)
    when it came from one and still has its shape. Empty outside a job."""
    workflow = ctx.workflow
    graph = ctx.graph.own_graph(ctx.node_id) if ctx.graph is not None else None  # a sweep's cell graph
    registry = getattr(graph, "registry", None) or getattr(ctx.graph, "registry", None)
    if workflow is None or registry is None:
        return {}
    texts: dict[str, str] = {}
    native = without_original(workflow)
    try:
        texts["prompt"] = json.dumps(workflow_to_api(native, registry))
    except Exception:  # noqa: BLE001 - a graph ComfyUI cannot hold: the file simply has no prompt
        pass
    original = original_ui_workflow(workflow)
    if original is not None:
        refreshed = refresh_ui_workflow(original, native, registry)
        if refreshed is not None:
            texts["workflow"] = json.dumps(refreshed)
        elif _verbatim(workflow):  # sent with the prompt (extra_pnginfo): embedded as sent, as ComfyUI does
            texts["workflow"] = json.dumps(original)
    return texts


def _verbatim(workflow: dict) -> bool:
    stash = (workflow.get("ui") or {}).get(STASH_KEY) if isinstance(workflow.get("ui"), dict) else None
    return isinstance(stash, dict) and stash.get("verbatim") is True


def refresh_ui_workflow(original: dict, native: dict, registry: Any) -> dict | None:
    """``original`` (a ComfyUI UI workflow) with the literal values ``native`` runs written back
    into its top-level nodes' ``widgets_values`` (and the PrimitiveNodes feeding them), so the
    file shows what ran after ``--set`` or a change on the canvas. None when ``native`` is no
    longer the same graph (a node that is not in the file): the output then carries the prompt only.
    """
    data = json.loads(json.dumps(original))
    ui_nodes = {str(n.get("id")): n for n in data.get("nodes") or [] if isinstance(n, dict)}
    for node_id, entry in native.get("nodes", {}).items():
        if ":" in node_id:
            continue  # inside a subgraph: its definition is shared by every instance, left as it is
        raw = ui_nodes.get(node_id)
        if raw is None:
            return None
        comfy = resolve_class(str(raw.get("type", "")), registry)
        if comfy is None or comfy.native_type != entry.get("type"):
            return None
        _write_widgets(raw, comfy, entry.get("inputs", {}))
        _write_primitives(data, ui_nodes, raw, comfy, entry.get("inputs", {}))
    return data


def _write_widgets(raw: dict, comfy: Any, inputs: dict) -> None:
    values = raw.get("widgets_values")
    if isinstance(values, dict):
        for name in list(values):
            native = comfy.native_input(str(name))
            if native in inputs and not isinstance(inputs[native], dict):
                values[name] = inputs[native]
        return
    if not isinstance(values, list):
        return
    at = 0
    for name in widget_order(comfy):
        if at >= len(values):
            break
        if name is not None and name in inputs and not isinstance(inputs[name], dict):
            values[at] = inputs[name]
        at += 1
        if name is not None and has_control(comfy.cls, name) and at < len(values) and values[at] in CONTROL_VALUES:
            at += 1


def _write_primitives(data: dict, ui_nodes: dict, raw: dict, comfy: Any, inputs: dict) -> None:
    """A widget fed by a PrimitiveNode shows the primitive's value: write it there."""
    links = {}
    for link in data.get("links") or []:
        parsed = _parse_link(link)
        if parsed is not None:
            links[parsed[0]] = parsed
    for inp in raw.get("inputs") or []:
        if not isinstance(inp, dict) or inp.get("link") is None:
            continue
        name = (inp.get("widget") or {}).get("name") if isinstance(inp.get("widget"), dict) else None
        native = comfy.native_input(str(name)) if name else None
        if native is None or native not in inputs or isinstance(inputs[native], dict):
            continue
        link = links.get(str(inp["link"]))
        source = ui_nodes.get(link[1]) if link else None
        if source is not None and source.get("type") == "PrimitiveNode" and source.get("widgets_values"):
            source["widgets_values"][0] = inputs[native]


__all__ = ["STASH_KEY", "comfy_texts", "refresh_ui_workflow"]
