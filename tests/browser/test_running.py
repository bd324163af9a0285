"""Running from the canvas: interrupt, restoring a workflow from a PNG it made, same-origin only."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_interrupt_stops_a_running_job(canvas, page):
    slow = canvas.drag_node("SlowCount", 80, 80)
    show = canvas.drag_node("Show", 460, 80)
    canvas.set_widget(slow, "steps", 400)
    canvas.set_widget(slow, "delay", 0.05)
    canvas.wire(slow, "value", show, "value")
    canvas.queue()
    canvas.wait_status(slow, "running")
    # live progress: the bar grows
    page.wait_for_function(
        "id => Number(document.querySelector(`.node[data-node-id='${id}'] .node-progress`).dataset.value) >= 3",
        arg=slow)
    assert page.locator("#btn-interrupt").is_enabled()
    page.locator("#btn-interrupt").click()
    assert canvas.wait_done(timeout=60000) == "interrupted"
    # stopped mid-node: the bar stopped far short of the node's 400 steps
    assert int(canvas.node(slow).locator(".node-progress").get_attribute("data-value")) < 200
    canvas.wait_status(slow, "interrupted")
    assert canvas.node(show).get_attribute("data-status") in ("skipped", "")
    page.wait_for_selector(".history-list .job[data-status='interrupted']")
    assert page.locator("#btn-interrupt").is_disabled()


def test_dropping_a_nodegraph_png_restores_its_workflow(canvas, page, server_dirs):
    solid = canvas.drag_node("SolidImage", 60, 80)
    save = canvas.drag_node("SaveImage", 420, 80)
    canvas.set_widget(solid, "green", 0.8)
    canvas.set_widget(solid, "width", 40)
    canvas.set_widget(save, "prefix", "dropme")
    canvas.wire(solid, "image", save, "images")
    queued = canvas.workflow()
    canvas.queue()
    assert canvas.wait_done() == "success"
    canvas.node(save).locator("img.preview").wait_for()
    png = sorted(Path(server_dirs["output"]).glob("dropme_*.png"))[-1]

    page.on("dialog", lambda d: d.accept())
    page.locator("[data-action='clear']").click()
    assert canvas.node_ids() == []
    # a person drops the file from their desktop onto the canvas
    page.evaluate("""async ([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: "image/png" }));
        const target = document.querySelector('#canvas');
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", [base64.b64encode(png.read_bytes()).decode(), png.name])
    page.wait_for_selector(f"#canvas .node[data-node-id='{save}']")
    assert canvas.workflow() == queued
    assert canvas.widget(solid, "green").input_value() == "0.8"
    assert page.locator("svg.wires path.wire").count() == 1


def test_a_png_without_workflow_is_refused_politely(canvas, page):
    # 1x1 PNG with no text chunks
    tiny = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    page.evaluate("""b64 => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'plain.png', { type: 'image/png' }));
        document.querySelector('#canvas').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", tiny)
    page.wait_for_selector(".toast.error:has-text('holds no nodegraph workflow')")


def test_the_page_works_only_same_origin(browser, server):
    """Served as localhost it works; a websocket from another origin (or none) is refused."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        port = server.port
        page.goto(f"http://localhost:{port}/")
        page.wait_for_selector("body[data-ready='true']")
        probe = """url => new Promise(resolve => {
            const ws = new WebSocket(url);
            ws.onopen = () => { ws.close(); resolve('open'); };
            ws.onerror = () => resolve('refused');
        })"""
        assert page.evaluate(probe, f"ws://localhost:{port}/ws") == "open"
        # this page's origin is http://localhost:PORT; the socket's host is 127.0.0.1: cross-origin
        assert page.evaluate(probe, f"ws://127.0.0.1:{port}/ws") == "refused"
        # a page from elsewhere (here: a data: URL, Origin "null") cannot drive the server either
        page.goto("data:text/html,<title>elsewhere</title>")
        assert page.evaluate(probe, f"ws://127.0.0.1:{port}/ws") == "refused"
    finally:
        ctx.close()


def test_token_from_the_url_fragment(browser, tmp_path):
    """With a token the page connects via #token=…, and its output images load; without, it asks."""
    from nodegraph.server.app import ServerConfig, start_in_thread
    from browser_helpers import Canvas
    dirs = {n: tmp_path / n for n in ("data", "output", "input", "models")}
    handle = start_in_thread(ServerConfig(port=0, token="s3cret-token", data_dir=dirs["data"], output_dir=dirs["output"],
                                          input_dir=dirs["input"], models_dir=dirs["models"]))
    ctx = browser.new_context(viewport={"width": 1300, "height": 800})
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(handle.url)  # no token: the handshake is refused, the page says so
        page.wait_for_selector("#conn[data-state='refused']", timeout=15000)
        c = Canvas(page, handle.url + "#token=s3cret-token")
        page.goto("about:blank")
        c.open()
        solid = c.drag_node("SolidImage", 60, 80)
        save = c.drag_node("SaveImage", 420, 80)
        c.wire(solid, "image", save, "images")
        c.queue()
        assert c.wait_done() == "success"
        img = c.node(save).locator("img.preview")
        img.wait_for()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
        assert "token=s3cret-token" in img.get_attribute("src")
        assert not errors
    finally:
        ctx.close()
        handle.stop()


def test_upload_an_image_through_the_file_widget_and_pick_it(canvas, page, tmp_path, server_dirs):
    from PIL import Image
    src = tmp_path / "my photo.png"
    Image.new("RGB", (24, 16), (20, 200, 90)).save(src)
    load = canvas.drag_node("LoadImage", 60, 80)
    save = canvas.drag_node("SaveImage", 420, 80)
    canvas.wire(load, "image", save, "images")
    canvas.node(load).locator("input[type=file]").set_input_files(str(src))
    page.wait_for_function(
        "id => document.querySelector(`.node[data-node-id='${id}'] [data-widget='image']`).value !== ''", arg=load)
    name = canvas.widget(load, "image").input_value()
    assert name.endswith(".png") and "/" not in name and (Path(server_dirs["input"]) / name).exists()
    assert canvas.workflow()["nodes"][load]["inputs"]["image"] == name
    # the picker lists the server's files of that kind
    canvas.widget(load, "image").focus()
    page.wait_for_function(
        "([id, n]) => [...document.querySelectorAll(`.node[data-node-id='${id}'] datalist option`)].some(o => o.value === n)",
        arg=[load, name])
    canvas.queue()
    assert canvas.wait_done() == "success"
    img = canvas.node(save).locator("img.preview")
    img.wait_for()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [24, 16]
