"""Sweeps on the canvas: mark inputs as swept, queue, watch the cells arrive, open one cell."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# Every .sweep-progress the panel renders, in order: the grid must grow one cell at a time.
RECORD_PROGRESS = """() => {
    window.__sweepDone = [];
    new MutationObserver(records => {
        for (const r of records) for (const n of r.addedNodes) {
            if (n.classList && n.classList.contains('sweep-progress')) window.__sweepDone.push(Number(n.dataset.done));
        }
    }).observe(document.querySelector('#queue-panel'), { childList: true, subtree: true });
}"""


def test_sweep_two_inputs_watch_cells_and_open_one(canvas, page):
    solid = canvas.drag_node("SolidImage", 40, 80)
    resize = canvas.drag_node("ResizeImage", 360, 80)
    save = canvas.drag_node("SaveImage", 700, 80)
    canvas.set_widget(solid, "width", 12)
    canvas.set_widget(solid, "height", 12)
    canvas.set_widget(resize, "height", 8)
    canvas.set_widget(save, "prefix", "swept")
    canvas.wire(solid, "image", resize, "image")
    canvas.wire(resize, "image", save, "images")

    # sweep solid.red: the field starts from the current value and takes a list
    canvas.node(solid).locator("[data-sweep-toggle='red']").click()
    assert canvas.widget(solid, "red").get_attribute("data-sweep") == "red"
    assert canvas.widget(solid, "red").input_value() == "0.5"
    canvas.set_widget(solid, "red", "0.2, oops")  # unreadable: marked, and the sweep keeps its values
    assert "invalid" in canvas.widget(solid, "red").get_attribute("class")
    assert canvas.workflow()["sweep"]["axes"][0]["values"] == [0.5]
    canvas.set_widget(solid, "red", "0.2, 0.8")
    # resize.width as a range, both ends included
    canvas.node(resize).locator("[data-sweep-toggle='width']").click()
    canvas.set_widget(resize, "width", "16:24:8")
    assert canvas.workflow()["sweep"] == {"axes": [
        {"node": solid, "input": "red", "values": [0.2, 0.8]},
        {"node": resize, "input": "width", "values": [16, 24]}]}
    assert page.locator(".sweep-count").get_attribute("data-cells") == "4"

    page.evaluate(RECORD_PROGRESS)
    canvas.queue()
    page.wait_for_selector(".sweep-progress[data-done='4'][data-total='4']", timeout=60000)
    assert canvas.wait_done() == "success"
    assert page.evaluate("window.__sweepDone").count(4) >= 1
    seen = sorted(set(page.evaluate("window.__sweepDone")))
    assert seen == [0, 1, 2, 3, 4], seen  # drawn empty, then one more cell per event
    assert page.locator(".sweep-count-done").inner_text() == "4 / 4 cells"

    # the grid: rows are red's values, columns width's, each tile labelled and showing its image
    assert page.locator(".sweep-head.row").all_inner_texts() == ["0.2", "0.8"]
    assert page.locator(".sweep-head.col").all_inner_texts() == ["16", "24"]
    tiles = page.locator(".sweep-cell[data-status='done']")
    assert tiles.count() == 4
    assert page.locator(".sweep-cell .sweep-label").all_inner_texts() == [
        "red=0.2 · width=16", "red=0.2 · width=24", "red=0.8 · width=16", "red=0.8 · width=24"]
    for i, width in enumerate([16, 24, 16, 24]):
        img = page.locator(f".sweep-cell[data-cell='{i}'] img.sweep-thumb")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [width, 8]
    assert "/output/sweeps/sweep-" in page.locator(".sweep-sheet-link").get_attribute("href")

    # a reload forgets the events: the grid is rebuilt from the server's job record and the index
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector(".sweep-progress[data-done='4'][data-total='4'][data-status='success']")
    assert page.locator(".sweep-head.row").all_inner_texts() == ["0.2", "0.8"]
    assert page.locator(".sweep-head.col").all_inner_texts() == ["16", "24"]
    assert page.locator(".sweep-cell[data-status='done']").count() == 4
    for i, width in enumerate([16, 24, 16, 24]):
        img = page.locator(f".sweep-cell[data-cell='{i}'] img.sweep-thumb")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [width, 8]
    assert "/output/sweeps/sweep-" in page.locator(".sweep-sheet-link").get_attribute("href")

    # a click on cell 3 (red=0.8, width=16) puts that cell's own workflow on the canvas
    page.locator(".sweep-cell[data-cell='2']").click()
    page.wait_for_selector(".toast:has-text('Loaded swept_')")
    wf = canvas.workflow()
    assert "sweep" not in wf
    assert wf["nodes"][solid]["inputs"]["red"] == 0.8 and wf["nodes"][resize]["inputs"]["width"] == 16
    assert canvas.widget(solid, "red").input_value() == "0.8"
    assert canvas.widget(resize, "width").input_value() == "16"
    assert canvas.widget(solid, "red").get_attribute("data-sweep") is None
    assert page.locator(".row.swept").count() == 0


def test_a_workflow_with_a_sweep_opens_with_its_inputs_swept(canvas, page):
    wf = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "solid": {"type": "SolidImage", "inputs": {"width": 8, "height": 8, "red": 0.5, "green": 0.5, "blue": 0.5}},
        "save": {"type": "SaveImage", "inputs": {"images": {"from": "solid", "output": "image"}, "prefix": "z"}}},
        "sweep": {"axes": [{"node": "solid", "input": "width", "values": [8, 16, 32]},
                           {"node": "solid", "input": "red", "values": [0.1, 0.9, 0.5]}], "zip": True}}
    page.evaluate("wf => nodegraph.loadObject(wf, 'swept.json')", wf)
    assert canvas.widget("solid", "width").input_value() == "8, 16, 32"
    assert canvas.widget("solid", "red").input_value() == "0.1, 0.9, 0.5"
    assert canvas.widget("solid", "green").get_attribute("data-sweep") is None
    assert canvas.workflow()["sweep"] == wf["sweep"]  # saved as it was opened
    # zipped: 3 cells; crossed: 9
    assert page.locator(".sweep-count").get_attribute("data-cells") == "3"
    page.locator(".sweep-zip").uncheck()
    assert page.locator(".sweep-count").get_attribute("data-cells") == "9"
    assert canvas.workflow()["sweep"]["zip"] is False
    # back to one value: the field is a number again, holding the value it had before the sweep
    canvas.node("solid").locator("[data-sweep-toggle='width']").click()
    assert canvas.widget("solid", "width").input_value() == "8"
    assert canvas.workflow()["sweep"]["axes"] == [wf["sweep"]["axes"][1]]
    assert page.locator(".sweep-count").get_attribute("data-cells") == "3"


def test_a_reload_mid_sweep_rebuilds_the_grid_and_follows_the_job(canvas, page):
    wf = {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "slow": {"type": "SlowCount", "inputs": {"steps": 3, "delay": 0.4}},
        "show": {"type": "Show", "inputs": {"value": {"from": "slow", "output": "value"}}}},
        "sweep": {"axes": [{"node": "slow", "input": "steps", "values": [3, 4, 5, 6]}]}}
    page.evaluate("wf => nodegraph.loadObject(wf, 'slow-sweep.json')", wf)
    canvas.queue()
    page.wait_for_selector(".sweep-progress[data-done='1'][data-total='4']", timeout=30000)
    page.reload()  # the job goes on; the page forgets its events
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector(".sweep-progress[data-total='4'][data-status='running']")
    assert page.locator(".sweep-cell").count() == 4
    # the rebuilt grid follows the job: the cells left fill in and the job's end is shown
    page.wait_for_selector(".sweep-progress[data-done='4'][data-status='success']", timeout=60000)
    assert page.locator(".sweep-cell[data-status='done']").count() == 4
    assert page.locator(".sweep-cell .sweep-label").all_inner_texts() == [
        "steps=3", "steps=4", "steps=5", "steps=6"]


def test_any_sweep_in_the_history_shows_its_grid(canvas, page):
    def sweep_of(name, values):
        return {"format": "nodegraph/workflow", "version": 1, "nodes": {
            "solid": {"type": "SolidImage", "inputs": {"width": 8, "height": 8, "red": 0.5, "green": 0.5, "blue": 0.5}},
            "save": {"type": "SaveImage", "inputs": {"images": {"from": "solid", "output": "image"}, "prefix": name}}},
            "sweep": {"axes": [{"node": "solid", "input": name, "values": values}]}}

    jobs = []
    for name, values in (("red", [0.1, 0.9]), ("green", [0.2, 0.4, 0.6])):
        page.evaluate("wf => nodegraph.loadObject(wf, 'history-sweep.json')", sweep_of(name, values))
        canvas.queue()
        page.wait_for_selector(f".sweep-progress[data-done='{len(values)}'][data-total='{len(values)}']", timeout=60000)
        assert canvas.wait_done() == "success"
        jobs.append(page.evaluate("nodegraph.sweepPanel.job"))
    assert jobs[0] != jobs[1]
    page.locator("#queue-panel .history-list").locator("button[data-action='show-sweep']").first.wait_for()
    # the first sweep's row: its grid replaces the one shown (the last sweep queued)
    page.locator(f".history-list .job[data-job='{jobs[0]}'] [data-action='show-sweep']").click()
    page.wait_for_selector(".sweep-progress[data-done='2'][data-total='2'][data-status='success']")
    assert page.locator(".sweep-cell .sweep-label").all_inner_texts() == ["red=0.1", "red=0.9"]
    for i in range(2):
        img = page.locator(f".sweep-cell[data-cell='{i}'] img.sweep-thumb")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    # and back to the second; a reload keeps the one shown last
    page.locator(f".history-list .job[data-job='{jobs[1]}'] [data-action='show-sweep']").click()
    page.wait_for_selector(".sweep-progress[data-done='3'][data-total='3']")
    assert page.locator(".sweep-cell .sweep-label").all_inner_texts() == ["green=0.2", "green=0.4", "green=0.6"]
    page.locator(f".history-list .job[data-job='{jobs[0]}'] [data-action='show-sweep']").click()
    page.wait_for_selector(".sweep-progress[data-total='2']")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector(".sweep-progress[data-done='2'][data-total='2'][data-status='success']")
    assert page.locator(".sweep-cell .sweep-label").all_inner_texts() == ["red=0.1", "red=0.9"]
    # a job that is not a sweep has no Grid button
    plain = sweep_of("red", [0.3])
    del plain["sweep"]
    page.evaluate("wf => nodegraph.loadObject(wf, 'plain.json')", plain)
    canvas.queue()
    assert canvas.wait_done() == "success"
    records = page.evaluate("nodegraph.api.request('history', {limit: 50})")["jobs"]
    swept = {r["job"]: bool(r.get("sweep")) for r in records if r["status"] == "success"}
    assert set(swept.values()) == {True, False}
    page.wait_for_function("n => document.querySelectorAll('.history-list .job[data-status=success]').length >= n",
                           arg=len(swept))
    for job, is_sweep in swept.items():
        row = page.locator(f".history-list .job[data-job='{job}']")
        assert row.locator("[data-action='show-sweep']").count() == int(is_sweep), job
