"""Driving the canvas like a person: drag from the palette, wire with the mouse, type in widgets."""
from __future__ import annotations

import json


class Canvas:
    def __init__(self, page, url: str):
        self.page = page
        self.url = url

    # ---- page ---------------------------------------------------------------------------
    def open(self, url: str | None = None) -> None:
        self.page.goto(url or self.url)
        self.page.wait_for_selector("body[data-ready='true']")
        self.page.wait_for_selector(".palette-item")

    def workflow(self) -> dict:
        return self.page.evaluate("nodegraph.graph.toWorkflow()")

    def node_ids(self) -> list[str]:
        return self.page.eval_on_selector_all("#canvas .node", "els => els.map(e => e.dataset.nodeId)")

    def after_frames(self) -> None:
        """Two animation frames later: what was scheduled for the next frame (a fit, a zoom) has
        been applied and drawn. A wait on the page, not on the clock."""
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def canvas_box(self) -> dict:
        return self.page.locator("#canvas").bounding_box()

    # ---- building -----------------------------------------------------------------------
    def drag_node(self, node_type: str, x: float, y: float) -> str:
        """Drag `node_type` from the palette and drop it at (x, y) relative to the canvas; its id."""
        before = set(self.node_ids())
        search = self.page.locator(".palette-search")
        search.fill(node_type)
        item = self.page.locator(f".palette-item[data-node-type='{node_type}']")
        item.scroll_into_view_if_needed()
        box = item.bounding_box()
        canvas = self.canvas_box()
        m = self.page.mouse
        m.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        m.down()
        m.move(canvas["x"] + x, canvas["y"] + y, steps=8)
        m.up()
        search.fill("")
        added = [i for i in self.node_ids() if i not in before]
        assert len(added) == 1, f"dragging {node_type} added {added}"
        return added[0]

    def node(self, node_id: str):
        return self.page.locator(f"#canvas .node[data-node-id='{node_id}']")

    def out_socket(self, node_id: str, output: str):
        return self.node(node_id).locator(f".socket.out[data-output='{output}']")

    def in_socket(self, node_id: str, input_name: str):
        return self.node(node_id).locator(f".socket.in[data-input='{input_name}']")

    def _center(self, locator):
        box = locator.bounding_box()
        assert box is not None, f"{locator} is not visible"
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def wire(self, src: str, output: str, dst: str, input_name: str) -> None:
        """Press on an output socket, drag, release on an input socket."""
        x1, y1 = self._center(self.out_socket(src, output))
        x2, y2 = self._center(self.in_socket(dst, input_name))
        m = self.page.mouse
        m.move(x1, y1)
        m.down()
        m.move((x1 + x2) / 2, (y1 + y2) / 2 + 20, steps=6)
        m.move(x2, y2, steps=6)
        m.up()

    def move_node(self, node_id: str, dx: float, dy: float) -> None:
        header = self.node(node_id).locator(".node-header .node-title")
        x, y = self._center(header)
        m = self.page.mouse
        m.move(x, y)
        m.down()
        m.move(x + dx, y + dy, steps=8)
        m.up()

    def select_none(self) -> None:
        self.page.keyboard.press("Escape")
        self.page.evaluate("nodegraph.canvas.select([])")

    def widget(self, node_id: str, name: str):
        return self.node(node_id).locator(f"[data-widget='{name}']")

    def set_widget(self, node_id: str, name: str, value) -> None:
        w = self.widget(node_id, name)
        tag = w.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            w.select_option(str(value))
        elif tag == "input:checkbox":
            w.set_checked(bool(value))
        else:
            w.fill(str(value))
            w.press("Tab")  # commit: a change event, like a person leaving the field

    def has_link(self, src: str, output: str, dst: str, input_name: str) -> bool:
        value = self.workflow()["nodes"][dst]["inputs"].get(input_name)
        return value == {"from": src, "output": output}

    # ---- running ------------------------------------------------------------------------
    def queue(self) -> None:
        self.page.locator("#btn-queue").click()

    def wait_status(self, node_id: str, *statuses: str, timeout: float = 30000) -> str:
        sel = ", ".join(f"#canvas .node[data-node-id='{node_id}'][data-status='{s}']" for s in statuses)
        self.page.wait_for_selector(sel, timeout=timeout)
        return self.node(node_id).get_attribute("data-status")

    def wait_done(self, timeout: float = 60000) -> str:
        self.page.wait_for_function(
            "() => ['success','failed','interrupted'].includes(document.querySelector('#run-status').dataset.status)",
            timeout=timeout)
        return self.page.locator("#run-status").get_attribute("data-status")

    def save(self) -> str:
        with self.page.expect_download() as info:
            self.page.keyboard.press("Control+s")
        path = info.value.path()
        return open(path, encoding="utf-8").read()


def dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
