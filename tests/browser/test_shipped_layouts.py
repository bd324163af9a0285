"""The shipped workflows as a new user first sees them: every node in view, none hiding
another's rows, and the text at a readable zoom (a 1500x900 window)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
READABLE = 0.75  # below this the widget text is too small to read comfortably


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "workflows").glob("*.json")))
def test_shipped_workflow_opens_with_no_overlaps_at_a_readable_zoom(canvas, page, name):
    path = ROOT / "workflows" / name
    ids = set(json.loads(path.read_text())["nodes"])
    page.locator("#file-input").set_input_files(str(path))
    page.wait_for_function("n => document.querySelectorAll('#canvas .node').length === n", arg=len(ids))
    canvas.after_frames()  # fit-to-view runs on the next frame
    boxes = page.evaluate("""() => [...document.querySelectorAll('#canvas .node')].map(e => {
        const r = e.getBoundingClientRect();
        return {id: e.dataset.nodeId, x: r.left, y: r.top, w: r.width, h: r.height};
    })""")
    assert {b["id"] for b in boxes} == ids
    overlaps = [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]]
    assert overlaps == []
    scale = float(page.locator("#canvas").get_attribute("data-scale"))
    assert scale >= READABLE, f"{name} opens at {scale:.0%}"
    view = canvas.canvas_box()
    outside = [b["id"] for b in boxes if b["x"] < view["x"] or b["y"] < view["y"]
               or b["x"] + b["w"] > view["x"] + view["width"] or b["y"] + b["h"] > view["y"] + view["height"]]
    assert outside == []
