"""Helpers for sweep tests: a small image workflow (no models), running and counting."""
from __future__ import annotations

import copy

from nodegraph.run.context import InterruptToken

# base (shared by every cell) -> solid (swept: red) -> resize (swept: width) -> save
IMAGE_WORKFLOW = {"format": "nodegraph/workflow", "version": 1, "nodes": {
    "base": {"type": "MathFloat", "inputs": {"a": 0.25, "b": 0.25, "op": "add"}},
    "solid": {"type": "SolidImage", "inputs": {"width": 24, "height": 24, "red": 0.2,
                                               "green": {"from": "base", "output": "value"}, "blue": 0.1}},
    "resize": {"type": "ResizeImage", "inputs": {"image": {"from": "solid", "output": "image"},
                                                 "width": 16, "height": 16}},
    "save": {"type": "SaveImage", "inputs": {"images": {"from": "resize", "output": "image"}, "prefix": "cell"}},
}}


def swept(reds, widths=None, zip_axes=False):
    data = copy.deepcopy(IMAGE_WORKFLOW)
    axes = [{"node": "solid", "input": "red", "values": list(reds)}]
    if widths is not None:
        axes.append({"node": "resize", "input": "width", "values": list(widths)})
    data["sweep"] = {"axes": axes, "zip": zip_axes}
    return data


def run_sweep(session, workflow, stop_after_cells=None):
    """Run; returns (events, result). ``stop_after_cells``: interrupt once that many cells are done."""
    events = []
    token = InterruptToken()

    def sink(event):
        events.append(event)
        if stop_after_cells is not None and event["event"] == "cell" and event["done"] >= stop_after_cells:
            token.set()

    result = session.run(workflow, sink=sink, interrupt=token)
    return events, result


def executed_per_node(events):
    """How often each workflow node ran: combined ids are 'node[axis=value,...]'."""
    counts = {}
    for e in events:
        if e["event"] == "executed":
            name = e["node"].split("[")[0]
            counts[name] = counts.get(name, 0) + 1
    return counts
