"""``--demo-models``: run a workflow on the packs' tiny demo models instead of the model files it
names, so a workflow (a ComfyUI one above all) can be shown to map and run before anyone
downloads weights, and tests run real workflow files offline.

Generic: every file input whose kind has demo assets (``DemoAsset``) gets one of them. The node
and the graph around it decide first, the file name after:
- the loader: a node class may define ``demo_choices(input_name)`` returning the demo values that
  input can take (an image-to-video loader: its video demo only); the others are never chosen;
- the graph: a node class may define ``upstream_demos(input_name)`` returning the demo values
  the loader feeding that input directly must stand in with (an SVD conditioning node claims the
  SVD demo for the checkpoint its clip_vision and vae come from); every consumer's claim counts;
- then, among those, the demo whose ``hints`` best match the file name (the longest matching hint
  wins, then the most matched), e.g. ``sd_xl_refiner_1.0.safetensors`` -> the demo hinted
  ``("refiner",)``;
- else the node's choice: ``default_demo(input_name, value)`` returning a demo value;
- else the first demo without hints, else the first one left.
Kinds kept in models/ (checkpoints, LoRAs, VAEs, ...) are always replaced; kinds of the input
folder (images) only when the file named is not there. Links, empty values and demos stay.
"""
from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ..files.roots import DemoAsset, demo_name
from ..api.registry import Registry
from .workflow import Link, Workflow, parse_workflow


def use_demo_models(workflow: Workflow, registry: Registry, env: Any = None) -> Workflow:
    """``workflow`` with every replaceable file input pointing at a demo asset."""
    data = workflow.to_json()
    changed = False
    for node_id, entry in data["nodes"].items():
        cls = registry.get(entry["type"])
        if cls is None:
            continue
        for name, spec in cls.inputs.items():
            if spec.widget != "file":
                continue
            demos = [d for d in registry.demos.values() if d.kind == spec.file_kind]
            value = entry["inputs"].get(name, spec.default)
            if not demos or isinstance(value, (dict, Link)) or not isinstance(value, str) or not value:
                continue
            if demo_name(value) is not None or _kept_file(registry, spec.file_kind, value, env):
                continue
            claimed = downstream_claims(data["nodes"], node_id, registry)
            entry["inputs"][name] = pick_demo(value, demos, cls, name, claimed).value
            changed = True
    return parse_workflow(data) if changed else workflow


def _kept_file(registry: Registry, kind: str, value: str, env: Any) -> bool:
    """Files of the input folder (pictures) that exist are the user's own: kept."""
    location = registry.file_kinds[kind].location if kind in registry.file_kinds else "models"
    if location == "models" or env is None:
        return False
    try:
        return env.files.resolve(kind, value) is not None
    except ValueError:  # a name escaping its folder: validation says so
        return True


def downstream_claims(nodes: dict[str, dict], node_id: str, registry: Registry) -> list[set[str]]:
    """The demo values each direct consumer of ``node_id``'s outputs asks its source to be
    (``upstream_demos(input_name)`` of the consumer's class), one set per claiming input."""
    claims = []
    for entry in nodes.values():
        cls = registry.get(entry.get("type"))
        claim = getattr(cls, "upstream_demos", None)
        if not callable(claim):
            continue
        for name, value in entry.get("inputs", {}).items():
            if isinstance(value, dict) and value.get("from") == node_id:
                wanted = claim(name)
                if wanted:
                    claims.append(set(wanted))
    return claims


def pick_demo(value: str, demos: list[DemoAsset], cls: Any = None, input_name: str = "",
              claimed: list[set[str]] | None = None) -> DemoAsset:
    """The demo that stands in for the file ``value`` among ``demos`` (all of one kind): the
    node's own choices, narrowed by what the graph claims, then by the file name's hints."""
    choices = getattr(cls, "demo_choices", None)
    allowed = set(choices(input_name) or ()) if callable(choices) else set()
    if allowed:
        demos = [d for d in demos if d.value in allowed] or demos
    for claim in claimed or ():
        narrowed = [d for d in demos if d.value in claim]
        demos = narrowed or demos  # a claim no candidate meets (another family's loader) is ignored
    text = PurePath(value.replace("\\", "/")).as_posix().lower()
    best, best_score = None, None
    for order, demo in enumerate(demos):
        matched = [len(h) for h in demo.hints if h and h.lower() in text]
        if matched:
            score = (max(matched), sum(matched), -order)
            if best_score is None or score > best_score:
                best, best_score = demo, score
    if best is not None:
        return best
    chooser = getattr(cls, "default_demo", None)
    if callable(chooser):
        chosen = chooser(input_name, value)
        name = demo_name(chosen) or chosen if isinstance(chosen, str) else None
        for demo in demos:
            if demo.name == name:
                return demo
    plain = [d for d in demos if not d.hints]
    return (plain or demos)[0]
