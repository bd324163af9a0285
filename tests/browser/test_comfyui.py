"""A ComfyUI workflow opened on the canvas: the server converts it, the canvas shows ComfyUI's node
ids, runs it, and applies control_after_generate after queueing as ComfyUI's canvas does."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def _comfy_ui_file() -> dict:
    """Seed (its seed control 'increment') -> Show; SolidImage -> Reroute -> SaveImage; a Note."""
    return {
        "last_node_id": 6, "last_link_id": 3, "version": 0.4, "config": {}, "extra": {},
        "groups": [{"title": "Picture", "bounding": [280, 300, 700, 260], "color": "#3f789e"}],
        "nodes": [
            {"id": 1, "type": "Seed", "pos": [40, 40], "size": [200, 80], "mode": 0, "inputs": [],
             "outputs": [{"name": "INT", "type": "INT", "links": [1]}], "widgets_values": [5, "increment", "fixed"]},
            {"id": 2, "type": "Show", "pos": [400, 40], "size": [200, 80], "mode": 0,
             "inputs": [{"name": "value", "type": "*", "link": 1}], "outputs": [], "widgets_values": []},
            {"id": 3, "type": "SolidImage", "pos": [300, 340], "size": [200, 80], "mode": 0, "inputs": [],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [2]}], "widgets_values": [16, 8, 0.9, 0.1, 0.1]},
            {"id": 4, "type": "Reroute", "pos": [560, 380], "size": [75, 26], "mode": 0,
             "inputs": [{"name": "", "type": "*", "link": 2}], "outputs": [{"name": "", "type": "IMAGE", "links": [3]}]},
            {"id": 5, "type": "SaveImage", "pos": [700, 340], "size": [200, 80], "mode": 0,
             "inputs": [{"name": "images", "type": "IMAGE", "link": 3}], "outputs": [], "widgets_values": ["canvas_comfy"]},
            {"id": 6, "type": "Note", "pos": [40, 200], "size": [200, 80], "mode": 0, "inputs": [], "outputs": [],
             "widgets_values": ["a note for people"]},
        ],
        "links": [[1, 1, 0, 2, 0, "INT"], [2, 3, 0, 4, 0, "IMAGE"], [3, 4, 0, 5, 0, "IMAGE"]],
    }


def test_a_comfyui_file_opens_runs_and_its_seed_control_applies(canvas, page, tmp_path, server_dirs):
    path = tmp_path / "comfy_workflow.json"
    path.write_text(json.dumps(_comfy_ui_file()))
    page.locator("#file-input").set_input_files(str(path))
    canvas.node("5").wait_for()
    assert sorted(canvas.node_ids()) == ["1", "2", "3", "5"]  # ComfyUI's ids; Reroute and Note are gone
    wf = canvas.workflow()
    assert wf["nodes"]["5"]["inputs"]["images"] == {"from": "3", "output": "image"}
    assert wf["nodes"]["5"]["ui"]["reroutes"] == {"images": [[560, 380]]}
    assert wf["nodes"]["5"]["inputs"]["naming"] == "comfyui"
    assert wf["ui"]["groups"][0]["title"] == "Picture"
    assert page.locator("svg.wires path.wire").count() == 2
    assert canvas.widget("1", "seed").input_value() == "5"

    canvas.queue()
    assert canvas.wait_done() == "success"
    assert canvas.node("2").locator(".text-preview").inner_text() == "5"  # the stored seed ran
    assert canvas.widget("1", "seed").input_value() == "6"  # then "increment" moved it on
    assert canvas.workflow()["nodes"]["1"]["inputs"]["seed"] == 6
    assert (server_dirs["output"] / "canvas_comfy_00001_.png").is_file()


def test_a_broken_comfyui_file_says_what_is_missing(canvas, page, tmp_path):
    data = _comfy_ui_file()
    data["nodes"][0]["type"] = "SeedOfAnotherPack"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    page.allowed_errors = ("import",)
    page.locator("#file-input").set_input_files(str(path))
    toast = page.locator(".toast.error", has_text="SeedOfAnotherPack")
    toast.wait_for()
    assert "node 1" in toast.inner_text() or "(node 1)" in toast.inner_text()
    assert canvas.node_ids() == []
