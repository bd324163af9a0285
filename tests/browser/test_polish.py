"""Canvas details found in use: long widget values readable in full, the workflow's name kept
across a reload, each node's run time shown after a run."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

LONG = "models/checkpoints/a-rather-long-folder-name/sd_xl_base_1.0_with_a_very_long_descriptive_name.safetensors"


def test_long_widget_values_show_in_full_on_hover_and_focus(canvas, page):
    load = canvas.drag_node("LoadSDXL", 60, 60)
    field = canvas.widget(load, "checkpoint")
    field.fill(LONG)
    field.press("Enter")
    assert field.evaluate("e => e.scrollWidth > e.clientWidth")  # it does not fit in the node
    assert field.get_attribute("title").startswith(LONG + "\n")  # hover: the tooltip holds all of it
    holder = field.locator("xpath=..")
    field.focus()
    assert holder.get_attribute("data-full") == LONG
    shown = holder.evaluate("h => getComputedStyle(h, '::after').content")
    assert LONG in shown
    box = holder.evaluate("h => { const s = getComputedStyle(h, '::after'); return [s.position, s.display]; }")
    assert box[0] == "absolute" and box[1] != "none"
    canvas.select_none()
    page.locator("#canvas").click(position={"x": 700, "y": 600})  # focus leaves: the box goes
    assert holder.get_attribute("data-full") is None
    field.fill("demo:tiny-sdxl")
    field.focus()  # a value that fits needs no box
    assert holder.get_attribute("data-full") is None


def test_workflow_name_survives_a_reload(canvas, page):
    canvas.drag_node("Int", 60, 60)
    name = page.locator("#wf-name")
    name.fill("lighthouse_study.json")
    name.press("Enter")
    page.wait_for_function("() => (localStorage.getItem('nodegraph.canvas.workflow') || '').includes('Int')")  # autosaved
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator("#wf-name").input_value() == "lighthouse_study.json"
    page.wait_for_selector("#canvas .node[data-node-type='Int']")  # with the workflow it names


def test_each_node_shows_its_run_time_after_a_run(canvas, page):
    a = canvas.drag_node("Int", 60, 60)
    b = canvas.drag_node("Show", 360, 60)
    fire = "ev => nodegraph.api.fire('event', ev)"
    page.evaluate(fire, {"event": "start", "nodes": [a, b]})
    page.evaluate(fire, {"event": "cached", "node": a})
    page.evaluate(fire, {"event": "executing", "node": b})
    page.evaluate(fire, {"event": "executed", "node": b, "seconds": 1.234, "ui": {"text": "5"}})
    status = canvas.node(b).locator(".node-status")
    expect(status).to_have_text("done · 1.2 s")  # run state is drawn on the next frame
    expect(canvas.node(a).locator(".node-status")).to_have_text("cached")
    page.evaluate(fire, {"event": "executing", "node": b})
    page.evaluate(fire, {"event": "executed", "node": b, "seconds": 0.0123})
    expect(status).to_have_text("done · 12 ms")
    page.evaluate(fire, {"event": "executed", "node": b, "seconds": 125.4})
    expect(status).to_have_text("done · 2 m 05 s")
    page.evaluate(fire, {"event": "executed", "node": b})  # a server that does not time its nodes
    expect(status).to_have_text("done")
    expect(status).to_have_attribute("title", "")
    page.evaluate(fire, {"event": "executing", "node": b})
    page.evaluate(fire, {"event": "executed", "node": b, "seconds": 2.9, "phases": {"imports": 2.64, "load": 0.14}})
    expect(status).to_have_text("done · 2.9 s")
    expect(status).to_have_attribute("title", "imports 2.6 s · load 0.14 s")  # where the time went, on hover
    page.evaluate(fire, {"event": "executing", "node": b})
    expect(status).to_have_attribute("title", "")
