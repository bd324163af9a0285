"""The main workflow built by hand on an empty canvas: LCM-LoRA on the tiny demo SDXL.

LoadSDXL(demo:tiny-sdxl) -> MergeAcceleration (LCM + style LoRA, fused) -> EncodePrompt ->
LCMSampler (4 steps) -> DecodeLatent -> SaveImage; queued from the canvas, the image appears on
the SaveImage node. A screenshot of the finished canvas is taken every run into the test's
temporary folder; NODEGRAPH_SCREENSHOT=PATH also copies it to PATH (how docs/canvas.png is
refreshed), so a test run never writes into the source tree.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_build_and_run_the_lcm_lora_workflow(canvas, page, server_dirs, tmp_path):
    load = canvas.drag_node("LoadSDXL", 30, 40)
    merge = canvas.drag_node("MergeAcceleration", 30, 250)
    encode = canvas.drag_node("EncodePrompt", 340, 40)
    sampler = canvas.drag_node("LCMSampler", 340, 310)
    decode = canvas.drag_node("DecodeLatent", 650, 40)
    save = canvas.drag_node("SaveImage", 650, 230)

    canvas.wire(load, "model", merge, "model")
    for target in (encode, sampler, decode):
        canvas.wire(merge, "model", target, "model")
    canvas.wire(encode, "conditioning", sampler, "conditioning")
    canvas.wire(sampler, "latent", decode, "latent")
    canvas.wire(decode, "image", save, "images")
    # a conditioning output cannot feed a latent input
    canvas.wire(encode, "conditioning", decode, "latent")
    assert canvas.has_link(sampler, "latent", decode, "latent")

    assert canvas.widget(load, "checkpoint").input_value() == "demo:tiny-sdxl"
    assert canvas.widget(merge, "acceleration_lora").input_value() == "demo:tiny-sdxl-lcm-lora"
    canvas.set_widget(merge, "style_lora", "demo:tiny-sdxl-style-lora")
    canvas.set_widget(merge, "style_strength", 0.8)
    assert canvas.widget(merge, "fuse").is_checked()
    canvas.set_widget(encode, "prompt", "a lighthouse on a cliff at dusk, oil painting")
    canvas.set_widget(sampler, "steps", 4)
    canvas.set_widget(sampler, "width", 128)
    canvas.set_widget(sampler, "height", 128)
    canvas.set_widget(sampler, "seed", 7)
    canvas.set_widget(save, "prefix", "lcm_lora")

    wf = canvas.workflow()
    assert [wf["nodes"][n]["type"] for n in (load, merge, encode, sampler, decode, save)] == [
        "LoadSDXL", "MergeAcceleration", "EncodePrompt", "LCMSampler", "DecodeLatent", "SaveImage"]
    assert wf["nodes"][sampler]["inputs"]["model"] == {"from": merge, "output": "model"}
    assert wf["nodes"][merge]["inputs"]["fuse"] is True

    canvas.queue()
    canvas.wait_status(sampler, "running", "done", timeout=120000)
    assert canvas.wait_done(timeout=180000) == "success"
    img = canvas.node(save).locator("img.preview")
    img.wait_for()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [128, 128]
    for n in (load, merge, encode, sampler, decode, save):
        assert canvas.node(n).get_attribute("data-status") in ("done", "cached")

    canvas.select_none()
    page.keyboard.press("f")
    canvas.after_frames()
    shot = tmp_path / "canvas.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("NODEGRAPH_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["NODEGRAPH_SCREENSHOT"])
    # the PNG written holds the workflow that ran
    png = sorted(Path(server_dirs["output"]).glob("lcm_lora_*.png"))[-1]
    from nodegraph_nodes.basic.image import read_png_workflow
    embedded = read_png_workflow(png)
    assert {k: v["inputs"] for k, v in embedded["nodes"].items()} == {k: v["inputs"] for k, v in wf["nodes"].items()}
    assert embedded["nodes"][sampler]["inputs"]["seed"] == 7 and embedded["nodes"][merge]["inputs"]["style_strength"] == 0.8
