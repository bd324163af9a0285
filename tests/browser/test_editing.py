"""The editing tools: context menus, bypass/mute, groups, reroute points, minimap, fit selection, big graphs."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def right_click(page, x, y):
    page.mouse.click(x, y, button="right")
    page.wait_for_selector(".ctx-menu")


def menu_item(page, action):
    return page.locator(f".ctx-menu [data-action='{action}']")


def header_point(canvas, node_id):
    return canvas._center(canvas.node(node_id).locator(".node-title"))


def wire_midpoint(page, to, input_name):
    return page.locator(f"svg.wires path.wire-hit[data-to='{to}'][data-input='{input_name}']").evaluate("""p => {
        const pt = p.getPointAtLength(p.getTotalLength() / 2);
        const q = new DOMPoint(pt.x, pt.y).matrixTransform(p.getScreenCTM());
        return [q.x, q.y];
    }""")


def load(page, data):
    page.evaluate("wf => nodegraph.loadObject(wf, 'test.json')", data)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_background_menu_adds_a_node_found_by_search(canvas, page):
    cb = canvas.canvas_box()
    right_click(page, cb["x"] + 300, cb["y"] + 200)
    search = page.locator(".ctx-menu .ctx-search input")
    assert search.evaluate("e => e === document.activeElement")
    search.fill("mathi")
    assert page.locator(".ctx-menu .ctx-list button").all_inner_texts()[0].startswith("MathInt")
    search.press("Enter")
    assert page.locator(".ctx-menu").count() == 0
    (node_id, node), = canvas.workflow()["nodes"].items()
    assert node["type"] == "MathInt"
    box = canvas.node(node_id).bounding_box()  # placed where the menu was opened
    assert box["x"] == pytest.approx(cb["x"] + 300, abs=3) and box["y"] == pytest.approx(cb["y"] + 200, abs=3)


def test_node_menu_renames_colours_duplicates_and_deletes(canvas, page):
    a = canvas.drag_node("Int", 120, 120)
    right_click(page, *header_point(canvas, a))
    title = page.locator(".ctx-menu .ctx-field input")
    title.fill("Seed value")
    title.press("Enter")
    assert canvas.node(a).locator(".node-title").inner_text() == "Seed value"
    right_click(page, *header_point(canvas, a))
    page.locator(".ctx-menu .swatch[title='green']").click()
    ui = canvas.workflow()["nodes"][a]["ui"]
    assert ui["title"] == "Seed value" and ui["color"] == "#2f5a3a"
    assert canvas.node(a).evaluate("e => getComputedStyle(e.querySelector('.node-header')).backgroundColor") == "rgb(47, 90, 58)"
    right_click(page, *header_point(canvas, a))
    menu_item(page, "duplicate").click()
    nodes = canvas.workflow()["nodes"]
    assert len(nodes) == 2
    copy = next(n for n in nodes if n != a)
    assert nodes[copy]["ui"]["title"] == "Seed value"  # the copy keeps its looks
    right_click(page, *header_point(canvas, copy))
    menu_item(page, "delete").click()
    assert list(canvas.workflow()["nodes"]) == [a]
    # Escape closes a menu without doing anything
    right_click(page, *header_point(canvas, a))
    page.keyboard.press("Escape")
    assert page.locator(".ctx-menu").count() == 0 and list(canvas.workflow()["nodes"]) == [a]


def test_bypass_changes_what_runs_and_is_saved(canvas, page):
    a = canvas.drag_node("Int", 60, 80)
    m = canvas.drag_node("MathInt", 380, 80)
    show = canvas.drag_node("Show", 720, 80)
    canvas.set_widget(a, "value", 3)
    canvas.set_widget(m, "b", 4)
    canvas.set_widget(m, "op", "multiply")
    canvas.wire(a, "value", m, "a")
    canvas.wire(m, "value", show, "value")
    canvas.queue()
    assert canvas.wait_done() == "success"
    assert canvas.node(show).locator(".text-preview").inner_text() == "12"

    right_click(page, *header_point(canvas, m))
    menu_item(page, "bypass").click()
    assert canvas.node(m).get_attribute("data-mode") == "bypass"
    assert canvas.workflow()["nodes"][m]["mode"] == "bypass"
    assert json.loads(canvas.save())["nodes"][m]["mode"] == "bypass"
    canvas.queue()
    page.wait_for_function(f"document.querySelector(\"#canvas .node[data-node-id='{show}'] .text-preview\")?.textContent === '3'")
    assert canvas.wait_done() == "success"
    # Ctrl+B on the selected node toggles it back: the multiply runs again
    canvas.node(m).locator(".node-title").click()
    page.keyboard.press("Control+b")
    assert "mode" not in canvas.workflow()["nodes"][m]
    # mute: the engine refuses the run and the Show node says why
    page.keyboard.press("Control+m")
    assert canvas.node(m).get_attribute("data-mode") == "mute"
    canvas.queue()
    canvas.wait_status(show, "invalid")
    assert "is muted" in canvas.node(show).locator(".node-error").inner_text()


def test_wire_menu_inserts_a_node_and_adds_a_reroute_point(canvas, page):
    a = canvas.drag_node("Int", 60, 80)
    show = canvas.drag_node("Show", 760, 140)
    canvas.set_widget(a, "value", 5)
    canvas.wire(a, "value", show, "value")
    right_click(page, *wire_midpoint(page, show, "value"))
    search = page.locator(".ctx-menu .ctx-search input")
    offered = page.locator(".ctx-menu .ctx-list button").evaluate_all("bs => bs.map(b => b.dataset.value)")
    assert "MathInt" in offered and "SaveImage" not in offered  # only nodes that fit an INT wire
    search.fill("MathInt")
    search.press("Enter")
    nodes = canvas.workflow()["nodes"]
    new = next(n for n in nodes if nodes[n]["type"] == "MathInt")
    assert nodes[new]["inputs"]["a"] == {"from": a, "output": "value"}
    assert nodes[show]["inputs"]["value"] == {"from": new, "output": "value"}

    # a reroute point on the wire into Show, then dragged
    x, y = wire_midpoint(page, show, "value")
    right_click(page, x, y)
    menu_item(page, "reroute").click()
    (px, py), = canvas.workflow()["nodes"][show]["ui"]["reroutes"]["value"]
    dot = page.locator(f"circle.reroute[data-to='{show}']")
    dx, dy = canvas._center(dot)
    m = page.mouse
    m.move(dx, dy); m.down(); m.move(dx + 30, dy + 90, steps=5); m.up()
    (qx, qy), = canvas.workflow()["nodes"][show]["ui"]["reroutes"]["value"]
    assert (qx - px, qy - py) == (pytest.approx(30, abs=2), pytest.approx(90, abs=2))
    wire = page.locator(f"svg.wires path.wire[data-to='{show}']").get_attribute("d")
    assert f"{qx} {qy}" in wire  # the wire passes through the point
    right_click(page, *canvas._center(dot))
    menu_item(page, "remove-reroute").click()
    assert "reroutes" not in canvas.workflow()["nodes"][show]["ui"]
    assert page.locator("circle.reroute").count() == 0


def test_group_frames_its_nodes_and_moves_them(canvas, page):
    a = canvas.drag_node("Int", 80, 120)
    b = canvas.drag_node("Int", 80, 300)
    outside = canvas.drag_node("Show", 700, 120)
    canvas.node(a).locator(".node-title").click()
    canvas.node(b).locator(".node-title").click(modifiers=["Shift"])
    page.keyboard.press("Control+g")
    (group,) = canvas.workflow()["ui"]["groups"]
    before = {n: canvas.workflow()["nodes"][n]["ui"]["pos"] for n in (a, b, outside)}
    title = page.locator(".node-group .node-group-title")
    x, y = canvas._center(title)
    m = page.mouse
    m.move(x, y); m.down(); m.move(x + 100, y + 60, steps=6); m.up()
    after = {n: canvas.workflow()["nodes"][n]["ui"]["pos"] for n in (a, b, outside)}
    for n in (a, b):
        assert (after[n][0] - before[n][0], after[n][1] - before[n][1]) == (pytest.approx(100, abs=2), pytest.approx(60, abs=2))
    assert after[outside] == before[outside]
    (moved,) = canvas.workflow()["ui"]["groups"]
    assert moved["bounds"][0] - group["bounds"][0] == pytest.approx(100, abs=2)
    # rename and recolour from its menu; saved in the file's ui
    right_click(page, *canvas._center(title))
    field = page.locator(".ctx-menu .ctx-field input")
    field.fill("inputs")
    field.press("Enter")
    assert title.inner_text() == "inputs"
    assert json.loads(canvas.save())["ui"]["groups"][0]["title"] == "inputs"
    right_click(page, *canvas._center(title))
    menu_item(page, "remove-group").click()
    assert "ui" not in canvas.workflow() and len(canvas.workflow()["nodes"]) == 3


def chain(n):
    nodes = {}
    for i in range(n):
        inputs = {"a": {"from": str(i), "output": "value"} if i else 1, "b": 1, "op": "add"}
        nodes[str(i + 1)] = {"type": "MathInt", "inputs": inputs, "ui": {"pos": [(i % 12) * 330, (i // 12) * 210]}}
    nodes["show"] = {"type": "Show", "inputs": {"value": {"from": str(n), "output": "value"}}, "ui": {"pos": [12 * 330, 0]}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def test_fit_selection_and_minimap_move_the_view(canvas, page):
    load(page, chain(40))
    canvas.select_none()
    page.evaluate("nodegraph.canvas.select(['40'])")
    page.keyboard.press("f")
    box = canvas.node("40").bounding_box()
    cb = canvas.canvas_box()
    # the selected node fills the middle of the view
    assert box["x"] + box["width"] / 2 == pytest.approx(cb["x"] + cb["width"] / 2, abs=4)
    assert box["y"] + box["height"] / 2 == pytest.approx(cb["y"] + cb["height"] / 2, abs=4)
    # clicking the minimap's top-left corner brings node 1 (top-left of the graph) into view
    mm = page.locator("canvas.minimap").bounding_box()
    page.mouse.click(mm["x"] + 30, mm["y"] + 30)
    view = page.evaluate("nodegraph.canvas.visibleWorld()")
    assert view[0] < 250 and view[1] < 150  # node 1's top-left corner is on screen
    assert canvas.node("1").is_visible()


def test_a_thousand_nodes_open_run_and_report_status(canvas, page):
    load(page, chain(1000))
    assert page.evaluate("nodegraph.graph.nodes.size") == 1001
    # zoomed out to fit: drawn as an overview, no DOM per node
    assert page.locator("#canvas").evaluate("e => e.classList.contains('lod')")
    assert page.locator("#canvas .node").count() < 50
    canvas.queue()
    assert canvas.wait_done(timeout=120000) == "success"
    statuses = page.evaluate("[...nodegraph.canvas.runState.values()].map(s => s.status)")
    assert len(statuses) == 1001 and set(statuses) <= {"done", "cached"}
    # zoom in on the end of the chain: its nodes get their DOM with the statuses already applied
    page.evaluate("nodegraph.canvas.select(['show'])")
    page.keyboard.press("f")
    canvas.wait_status("show", "done", "cached")
    assert canvas.node("show").locator(".text-preview").inner_text() == "1001"
    assert 0 < page.locator("#canvas .node:not(.culled)").count() < 60
