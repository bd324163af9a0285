"""Opening files, clearing and fitting as a person does: Open takes the clips nodegraph writes
(MP4, WebM, animated WebP and GIF carry their workflow; a clip rewritten without it points to
its sidecar, which opens), Clear starts a new workflow name, and Fit never leaves a node under
the minimap."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = {"format": "nodegraph/workflow", "version": 1,
            "nodes": {"seven": {"type": "Int", "inputs": {"value": 7}},
                      "show": {"type": "Show", "inputs": {"value": {"from": "seven", "output": "value"}}}}}


def opened(canvas, page, path: Path) -> None:
    page.locator("#file-input").set_input_files(str(path))


def wait_for_nodes(page, ids) -> None:
    page.wait_for_function("ids => ids.every(i => document.querySelector(`#canvas .node[data-node-id='${i}']`))",
                           arg=sorted(ids))


def clip(path: Path, fmt: str, embedded: bool = True) -> Path:
    """A clip as SaveVideo writes it (``embedded``: with the workflow in the file)."""
    from nodegraph_nodes.video.video_io import write_av, write_pillow
    frames = (np.arange(2 * 32 * 32 * 3) % 251).astype(np.uint8).reshape(2, 32, 32, 3)
    tags = {"nodegraph.workflow": json.dumps(WORKFLOW)} if embedded else {}
    if fmt in ("mp4", "webm"):
        write_av(path, frames, 6.0, "libx264" if fmt == "mp4" else "libvpx-vp9", 30, tags)
    else:
        write_pillow(path, frames, 6.0, fmt, 80, tags)
    return path


def test_open_offers_and_reads_the_clips_nodegraph_writes(canvas, page, tmp_path):
    accepted = page.locator("#file-input").get_attribute("accept").split(",")
    assert {".json", ".png", ".mp4", ".webm", ".webp", ".gif"} <= set(accepted)
    for fmt in ("mp4", "webm", "webp", "gif"):
        page.evaluate("nodegraph.graph.clear()")
        opened(canvas, page, clip(tmp_path / f"walk_{fmt}.{fmt}", fmt))
        wait_for_nodes(page, WORKFLOW["nodes"])
        assert canvas.workflow()["nodes"]["seven"]["inputs"]["value"] == 7
        assert page.locator("#wf-name").input_value() == f"walk_{fmt}.json"


def test_a_webp_or_gif_clip_without_its_workflow_points_to_its_sidecar_which_opens(canvas, page, tmp_path):
    for fmt in ("webp", "gif"):
        page.evaluate("nodegraph.graph.clear()")
        media = clip(tmp_path / f"loop.{fmt}", fmt, embedded=False)  # as another tool rewrote it
        opened(canvas, page, media)
        alert = page.locator(".toast.error", has_text=f"loop.{fmt}.json")
        alert.wait_for()
        assert canvas.node_ids() == []
        sidecar = tmp_path / f"loop.{fmt}.json"  # as SaveVideo writes it
        sidecar.write_text(json.dumps({"workflow": WORKFLOW, "provenance": {}, "video": {"format": fmt}}))
        opened(canvas, page, sidecar)
        wait_for_nodes(page, WORKFLOW["nodes"])
        assert page.locator("#wf-name").input_value() == "loop.json"


def test_clear_starts_a_new_workflow_name(canvas, page, tmp_path):
    path = tmp_path / "lighthouse_study.json"
    path.write_text(json.dumps(WORKFLOW))
    opened(canvas, page, path)
    wait_for_nodes(page, WORKFLOW["nodes"])
    assert page.locator("#wf-name").input_value() == "lighthouse_study.json"
    page.on("dialog", lambda d: d.accept())
    page.locator("[data-action='clear']").click()
    assert canvas.node_ids() == []
    assert page.locator("#wf-name").input_value() == "workflow.json"
    assert page.evaluate("localStorage.getItem('nodegraph.canvas.name')") == "workflow.json"  # after a reload too
    canvas.drag_node("Int", 200, 200)
    with page.expect_download() as download:
        page.keyboard.press("Control+s")
    assert download.value.suggested_filename == "workflow.json"  # not saved over lighthouse_study.json


def under_minimap(page) -> list[str]:
    return page.evaluate("""() => {
        const m = document.querySelector('#canvas .minimap').getBoundingClientRect();
        return [...document.querySelectorAll('#canvas .node')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.left < m.right && m.left < r.right && r.top < m.bottom && m.top < r.bottom;
        }).map(e => e.dataset.nodeId);
    }""")


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "workflows").glob("*.json")))
def test_fit_leaves_the_minimap_corner_clear(canvas, page, name):
    path = ROOT / "workflows" / name
    ids = set(json.loads(path.read_text())["nodes"])
    for width, height in ((1400, 850), (1500, 900), (1100, 700)):
        page.set_viewport_size({"width": width, "height": height})
        opened(canvas, page, path)
        wait_for_nodes(page, ids)
        page.locator("[data-action='fit']").click()
        canvas.after_frames()
        assert page.locator("#canvas .minimap").is_visible()
        assert under_minimap(page) == [], f"{name} at {width}x{height}"
        canvas.select_none()
        page.keyboard.press("f")  # the key fits too (everything, nothing being selected)
        canvas.after_frames()
        assert under_minimap(page) == [], f"{name} at {width}x{height} (F)"
