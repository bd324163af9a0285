"""The canvas in a real browser: build by dragging and wiring, run, refuse bad wires, save/load."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def test_page_loads_clean_with_palette(canvas, page):
    page.wait_for_selector("#conn[data-state='connected']")
    types = page.eval_on_selector_all(".palette-item", "els => els.map(e => e.dataset.nodeType)")
    assert {"Int", "MathInt", "Show", "SolidImage", "SaveImage", "SlowCount"} <= set(types)
    # search filters the palette
    page.locator(".palette-search").fill("resize")
    visible = page.eval_on_selector_all(".palette-item:not(.hidden)", "els => els.map(e => e.dataset.nodeType)")
    assert "ResizeImage" in visible and len(visible) < len(types)
    # every item shown matches (by name, title or description: ComfyUI's ImageScale says "resize"), no other
    texts = page.eval_on_selector_all(".palette-item", "els => els.map(e => [e.dataset.search, !e.classList.contains('hidden')])")
    assert all(("resize" in text) == shown for text, shown in texts)
    assert page.locator(".empty-hint").is_visible()


def test_build_by_dragging_and_run_shows_text_and_image(canvas, page):
    a = canvas.drag_node("Int", 60, 60)
    b = canvas.drag_node("Int", 60, 220)
    add = canvas.drag_node("MathInt", 380, 100)
    show = canvas.drag_node("Show", 700, 120)
    canvas.set_widget(a, "value", 3)
    canvas.set_widget(b, "value", 4)
    canvas.set_widget(add, "op", "multiply")
    canvas.wire(a, "value", add, "a")
    canvas.wire(b, "value", add, "b")
    canvas.wire(add, "value", show, "value")
    assert canvas.has_link(a, "value", add, "a") and canvas.has_link(b, "value", add, "b")
    assert page.locator("svg.wires path.wire").count() == 3
    # a linked input hides its widget
    assert canvas.widget(add, "a").count() == 0

    solid = canvas.drag_node("SolidImage", 60, 420)
    resize = canvas.drag_node("ResizeImage", 380, 400)
    save = canvas.drag_node("SaveImage", 700, 380)
    canvas.set_widget(solid, "red", 0.9)
    canvas.set_widget(solid, "blue", 0.1)
    canvas.set_widget(resize, "width", 96)
    canvas.set_widget(resize, "height", 64)
    canvas.wire(solid, "image", resize, "image")
    canvas.wire(resize, "image", save, "images")
    canvas.set_widget(save, "prefix", "browser")

    wf = canvas.workflow()
    assert wf["nodes"][a]["inputs"]["value"] == 3
    assert wf["nodes"][add]["inputs"]["op"] == "multiply"
    assert wf["nodes"][resize]["inputs"]["width"] == 96

    canvas.queue()
    assert canvas.wait_done() == "success"
    canvas.wait_status(show, "done", "cached")
    assert canvas.node(show).locator(".text-preview").inner_text() == "12"
    img = canvas.node(save).locator("img.preview")
    img.wait_for()
    size = img.evaluate("i => i.complete ? [i.naturalWidth, i.naturalHeight] : null")
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [96, 64]
    # history lists the job with a thumbnail
    page.wait_for_selector(".history-list .job[data-status='success'] .thumbs img")


def test_type_mismatched_wire_is_refused_visibly(canvas, page):
    i = canvas.drag_node("Int", 80, 80)
    save = canvas.drag_node("SaveImage", 460, 80)
    canvas.wire(i, "value", save, "images")
    # refused: no link in the model, no wire drawn, the socket flags it, a toast says why
    assert "images" not in canvas.workflow()["nodes"][save]["inputs"]
    assert page.locator("svg.wires path.wire").count() == 0
    assert canvas.in_socket(save, "images").evaluate("e => e.classList.contains('refused')")
    assert "INT cannot connect to IMAGE" in page.locator(".toast.error").first.inner_text()
    # a compatible wire to a "*" input is accepted
    show = canvas.drag_node("Show", 460, 300)
    canvas.wire(i, "value", show, "value")
    assert canvas.has_link(i, "value", show, "value")


def test_select_move_delete_duplicate_and_undo(canvas, page):
    a = canvas.drag_node("Int", 80, 80)
    show = canvas.drag_node("Show", 420, 80)
    canvas.wire(a, "value", show, "value")
    before = canvas.workflow()["nodes"][a]["ui"]["pos"]
    canvas.move_node(a, 40, 120)
    after = canvas.workflow()["nodes"][a]["ui"]["pos"]
    assert after[0] - before[0] == pytest.approx(40, abs=2) and after[1] - before[1] == pytest.approx(120, abs=2)
    # duplicate both (Ctrl+A, Ctrl+D): the copy keeps its inner link
    canvas.node(a).locator(".node-title").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Control+d")
    nodes = canvas.workflow()["nodes"]
    assert len(nodes) == 4
    copies = [n for n in nodes if n not in (a, show)]
    copy_show = next(n for n in copies if nodes[n]["type"] == "Show")
    copy_int = next(n for n in copies if nodes[n]["type"] == "Int")
    assert nodes[copy_show]["inputs"]["value"] == {"from": copy_int, "output": "value"}
    # Delete removes the selection (the copies) and their links
    page.keyboard.press("Delete")
    assert sorted(canvas.workflow()["nodes"]) == sorted([a, show])
    # Ctrl+Z brings them back (the deletion was recorded in a microtask, done by the next frame)
    canvas.after_frames()
    page.keyboard.press("Control+z")
    assert len(canvas.workflow()["nodes"]) == 4


def test_pan_and_zoom(canvas, page):
    a = canvas.drag_node("Int", 300, 200)
    pos0 = canvas.workflow()["nodes"][a]["ui"]["pos"]
    box0 = canvas.node(a).bounding_box()
    cb = canvas.canvas_box()
    m = page.mouse
    m.move(cb["x"] + 900, cb["y"] + 600)
    m.down()
    m.move(cb["x"] + 800, cb["y"] + 550, steps=5)
    m.up()
    box1 = canvas.node(a).bounding_box()
    assert box1["x"] - box0["x"] == pytest.approx(-100, abs=2)
    assert box1["y"] - box0["y"] == pytest.approx(-50, abs=2)
    m.move(box1["x"], box1["y"])
    m.wheel(0, -400)
    canvas.after_frames()
    box2 = canvas.node(a).bounding_box()
    assert box2["width"] > box1["width"] * 1.3
    # zooming keeps the point under the cursor still
    assert box2["x"] == pytest.approx(box1["x"], abs=3) and box2["y"] == pytest.approx(box1["y"], abs=3)
    # the model's positions are world coordinates: panning/zooming did not move the node
    assert canvas.workflow()["nodes"][a]["ui"]["pos"] == pos0


def test_widget_bounds_are_enforced(canvas, page):
    solid = canvas.drag_node("SolidImage", 100, 100)
    w = canvas.widget(solid, "red")
    assert w.get_attribute("min") == "0" and w.get_attribute("max") == "1"
    canvas.set_widget(solid, "red", 7)
    assert canvas.workflow()["nodes"][solid]["inputs"]["red"] == 1
    assert w.input_value() == "1"
    canvas.set_widget(solid, "width", 12.7)
    assert canvas.workflow()["nodes"][solid]["inputs"]["width"] == 13


def test_error_is_shown_on_the_failing_node(canvas, page):
    n = canvas.drag_node("MathInt", 100, 100)
    show = canvas.drag_node("Show", 460, 100)
    canvas.set_widget(n, "a", 5)
    canvas.set_widget(n, "op", "floordiv")
    canvas.wire(n, "value", show, "value")
    canvas.queue()
    assert canvas.wait_done() == "failed"
    canvas.wait_status(n, "error")
    assert "by zero" in canvas.node(n).locator(".node-error").inner_text()
    assert canvas.node(n).locator(".row.in[data-input='b']").evaluate("e => e.classList.contains('input-error')")


def test_invalid_workflow_problems_are_shown_on_nodes(canvas, page):
    resize = canvas.drag_node("ResizeImage", 100, 100)
    save = canvas.drag_node("SaveImage", 460, 100)
    canvas.wire(resize, "image", save, "images")
    canvas.queue()  # ResizeImage.image is not connected
    canvas.wait_status(resize, "invalid")
    assert canvas.node(resize).locator(".node-error").inner_text().startswith("image")
    assert page.locator(".toast.error").count() >= 1


def test_save_then_reload_gives_the_identical_workflow(canvas, page, tmp_path):
    a = canvas.drag_node("Int", 60, 60)
    add = canvas.drag_node("MathInt", 380, 80)
    s = canvas.drag_node("String", 60, 300)
    fmt = canvas.drag_node("FormatText", 380, 300)
    show = canvas.drag_node("Show", 720, 120)
    canvas.set_widget(a, "value", 41)
    canvas.set_widget(add, "b", 1)
    canvas.set_widget(s, "value", "line one\nline two")
    canvas.wire(a, "value", add, "a")
    canvas.wire(add, "value", show, "value")
    canvas.wire(s, "value", fmt, "a")
    first = canvas.save()
    data = json.loads(first)
    assert data["format"] == "nodegraph/workflow" and data["version"] == 1
    assert data["nodes"][add]["inputs"]["a"] == {"from": a, "output": "value"}
    assert data["nodes"][s]["inputs"]["value"] == "line one\nline two"
    assert all(isinstance(n["ui"]["pos"], list) and len(n["ui"]["pos"]) == 2 for n in data["nodes"].values())
    # the engine accepts it as it is
    from nodegraph.graph.workflow import parse_workflow
    parse_workflow(data)

    path = tmp_path / "saved.json"
    path.write_text(first)
    # A fresh browser context: its own, empty storage (the first page's debounced autosave
    # writes to the shared localStorage at any time and raced a clear-and-reload).
    context = page.context.browser.new_context(accept_downloads=True)
    fresh = context.new_page()
    fresh.goto(canvas.url)
    fresh.wait_for_selector("body[data-ready='true']")
    assert fresh.locator("#canvas .node").count() == 0
    fresh.locator("#file-input").set_input_files(str(path))
    fresh.wait_for_selector(f"#canvas .node[data-node-id='{show}']")
    assert fresh.locator("svg.wires path.wire").count() == 3
    with fresh.expect_download() as info:
        fresh.keyboard.press("Control+s")
    second = open(info.value.path(), encoding="utf-8").read()
    assert second == first
    context.close()


def test_wires_can_be_picked_up_moved_and_deleted(canvas, page):
    a = canvas.drag_node("Int", 60, 60)
    b = canvas.drag_node("Int", 60, 260)
    add = canvas.drag_node("MathInt", 420, 120)
    canvas.set_widget(add, "a", 5)
    canvas.wire(a, "value", add, "a")
    # pick the wire up by its input end and drop it on input b
    x1, y1 = canvas._center(canvas.in_socket(add, "a"))
    x2, y2 = canvas._center(canvas.in_socket(add, "b"))
    m = page.mouse
    m.move(x1, y1); m.down(); m.move(x1 - 80, y1 + 40, steps=5); m.move(x2, y2, steps=5); m.up()
    inputs = canvas.workflow()["nodes"][add]["inputs"]
    assert inputs["b"] == {"from": a, "output": "value"}
    assert inputs["a"] == 5  # the widget's value came back when its link left
    # drop a wire on the node body: it takes the first free input that fits
    x0, y0 = canvas._center(canvas.out_socket(b, "value"))
    tx, ty = canvas._center(canvas.node(add).locator(".node-header .node-title"))
    m.move(x0, y0); m.down(); m.move(tx, ty, steps=8); m.up()
    assert canvas.workflow()["nodes"][add]["inputs"]["a"] == {"from": b, "output": "value"}
    # click a wire, Delete removes it
    wire = page.locator(f"svg.wires path.wire-hit[data-to='{add}'][data-input='b']")
    px, py = wire.evaluate("""p => {
        const pt = p.getPointAtLength(p.getTotalLength() / 2);
        const q = new DOMPoint(pt.x, pt.y).matrixTransform(p.getScreenCTM());
        return [q.x, q.y];
    }""")
    m.click(px, py)
    assert page.locator(f"svg.wires path.wire.selected[data-input='b']").count() == 1, wire
    page.keyboard.press("Delete")
    assert canvas.workflow()["nodes"][add]["inputs"]["b"] == 0  # back to its widget value
    assert page.locator("svg.wires path.wire").count() == 1
