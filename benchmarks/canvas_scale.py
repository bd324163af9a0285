"""Canvas cost against graph size: load, pan, wheel zoom and node drag at 2/50/300/1,000 nodes.

Debian's Chromium (1600x900, headless, driven by Playwright) opens the canvas served by an
in-process nodegraph server, loads a chain of MathInt nodes through the Open button's file input,
then drags the background (middle button), turns the wheel and drags one node. Each step is one
input event followed by the next rendered frame (requestAnimationFrame, then a task), so it
includes style, layout and paint. Figures are medians per step; the sizes are measured in turn,
several rounds, and each keeps its best round (the machine is shared: other processes only ever
add time). The 2-node row is the harness's floor; the ratios compare each size with it.

    python benchmarks/canvas_scale.py [--sizes 2,50,300,1000] [--steps 30] [--rounds 3]
                                      [--screenshot docs/canvas-300.png]  (the 300-node graph at 55 %)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("NODEGRAPH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FRAME = "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"
COLUMNS = 12


def chain(n: int) -> dict:
    """n MathInt nodes, each adding 1 to the previous one, laid out in rows like a person would."""
    nodes = {}
    for i in range(n):
        inputs = {"a": {"from": str(i), "output": "value"} if i else 0, "b": 1, "op": "add"}
        pos = [(i % COLUMNS) * 330, (i // COLUMNS) * 210]
        nodes[str(i + 1)] = {"type": "MathInt", "inputs": inputs, "ui": {"pos": pos}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def timed_steps(page, steps: int, act) -> float:
    times = []
    for i in range(steps):
        start = time.perf_counter()
        act(i)
        page.evaluate(FRAME)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(browser, url: str, n: int, tmp: Path, steps: int, screenshot: str | None = None) -> dict:
    ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    path = tmp / f"chain-{n}.json"
    path.write_text(json.dumps(chain(n)))
    start = time.perf_counter()
    page.locator("#file-input").set_input_files(str(path))
    page.wait_for_function(f"nodegraph.graph.nodes.size === {n}", polling="raf")
    page.evaluate(FRAME)
    page.evaluate(FRAME)  # the fit-to-view that loading schedules for the next frame
    load = time.perf_counter() - start

    box = page.locator("#canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if screenshot:
        page.evaluate("document.querySelector('#toasts').replaceChildren()")
        page.evaluate("nodegraph.canvas.setView({x: 30, y: 30, scale: 0.55})")
        page.evaluate(FRAME)
        page.evaluate(FRAME)
        page.screenshot(path=screenshot)
        page.evaluate("nodegraph.canvas.fitView()")
        page.evaluate(FRAME)
    row = {"n": n, "load": load, **steps_at(page, cx, cy, steps, "")}
    # the same at 100 % zoom (the key "0"), where nodes are full DOM with their widgets
    page.keyboard.press("0")
    page.evaluate(FRAME)
    row.update(steps_at(page, cx, cy, steps, "@100%"))
    moved = page.evaluate("nodegraph.graph.toWorkflow().nodes")
    ctx.close()
    if errors:
        raise RuntimeError(f"page errors at {n} nodes: {errors[:3]}")
    assert len(moved) == n
    return row


def steps_at(page, cx: float, cy: float, steps: int, suffix: str) -> dict:
    m = page.mouse
    # pan: middle-drag, back and forth so the view stays over the graph
    m.move(cx, cy)
    m.down(button="middle")
    pan = timed_steps(page, steps, lambda i: m.move(cx + (i % 10) * 6 - 30, cy + (i % 10) * 4 - 20))
    m.up(button="middle")
    # zoom: alternate in and out so every step changes the scale
    zoom = timed_steps(page, steps, lambda i: m.wheel(0, -120 if i % 2 == 0 else 120))
    # drag the node nearest the middle of the view by its header (drawn as DOM or on the overview)
    hx, hy = page.evaluate("""([cx, cy]) => {
        const c = nodegraph.canvas, r = c.root.getBoundingClientRect(), v = c.view;
        let best = null, dist = Infinity;
        for (const id of nodegraph.graph.nodes.keys()) {
            const [x, y] = c.nodeRect(id);
            const sx = r.left + v.x + (x + 60) * v.scale, sy = r.top + v.y + (y + 14) * v.scale;
            const d = Math.hypot(sx - cx, sy - cy);
            if (d < dist) { dist = d; best = [sx, sy]; }
        }
        return best;
    }""", [cx, cy])
    before = page.evaluate("JSON.stringify(nodegraph.graph.toWorkflow().nodes)")
    m.move(hx, hy)
    m.down()
    drag = timed_steps(page, steps, lambda i: m.move(hx + 5 + (i % 10) * 6, hy + 5 + (i % 10) * 3))
    m.up()
    assert page.evaluate("JSON.stringify(nodegraph.graph.toWorkflow().nodes)") != before, "the drag moved nothing"
    return {"pan" + suffix: pan, "zoom" + suffix: zoom, "drag" + suffix: drag}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,50,300,1000")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--screenshot", help="save a screenshot of the 300-node graph here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from playwright.sync_api import sync_playwright
    from nodegraph.server.app import ServerConfig, start_in_thread

    with tempfile.TemporaryDirectory() as tmp_name, sync_playwright() as p:
        tmp = Path(tmp_name)
        dirs = {k: tmp / k for k in ("data", "output", "input", "models")}
        for d in dirs.values():
            d.mkdir()
        server = start_in_thread(ServerConfig(
            host="127.0.0.1", port=0, token=None, data_dir=dirs["data"], output_dir=dirs["output"],
            input_dir=dirs["input"], models_dir=dirs["models"], cache_dir=None, web_dir=None, device="cpu"))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu", "--no-first-run"])
        try:
            rounds = [[measure(browser, server.url, n, tmp, args.steps, args.screenshot if n == 300 and not r else None)
                       for n in sizes] for r in range(args.rounds)]
            rows = [{k: (n if k == "n" else min(r[i][k] for r in rounds)) for k in rounds[0][i]}
                    for i, n in enumerate(sizes)]
        finally:
            browser.close()
            server.stop()

    base = rows[0]
    print(f"Chromium {CHROMIUM}, 1600x900 headless; median ms per step ({args.steps} steps, best of {args.rounds} rounds), ratio to the {base['n']}-node row")
    for suffix, what in (("", "after loading (fit to view)"), ("@100%", "at 100 % zoom")):
        print(f"\n{what}")
        print(f"{'nodes':>6} {'load s':>7} {'pan ms':>8} {'x':>5} {'zoom ms':>8} {'x':>5} {'drag ms':>8} {'x':>5}")
        for r in rows:
            print(f"{r['n']:>6} {r['load']:>7.2f} "
                  + " ".join(f"{r[k + suffix]:>8.1f} {r[k + suffix] / base[k + suffix]:>5.2f}" for k in ("pan", "zoom", "drag")))


if __name__ == "__main__":
    main()
