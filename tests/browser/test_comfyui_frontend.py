"""ComfyUI's own frontend (the comfyui-frontend-package wheel) served by `nodegraph serve --ui
comfyui`, driven in Chromium: it loads with no failed request and no error, lists every node,
opens a workflow, runs it with progress on the nodes, shows the image and the video, takes an
upload into LoadImage, and Cancel stops a run."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PLUGINS = HERE.parent / "server" / "plugins"


@pytest.fixture(scope="module")
def comfy_ui(tmp_path_factory):
    from nodegraph.server.app import ServerConfig, start_in_thread
    root = tmp_path_factory.mktemp("comfy-ui")
    dirs = {name: root / name for name in ("data", "output", "input", "models")}
    for folder in dirs.values():
        folder.mkdir()
    handle = start_in_thread(ServerConfig(
        host="127.0.0.1", port=0, data_dir=dirs["data"], output_dir=dirs["output"], input_dir=dirs["input"],
        models_dir=dirs["models"], cache_dir=None, plugin_dirs=(PLUGINS,), device="cpu", ui="comfyui"))
    handle.dirs = dirs
    yield handle
    handle.stop()


class Frontend:
    """One page of ComfyUI's frontend, with the requests that failed and the frames received."""

    def __init__(self, page, server, tmp_path):
        self.page, self.server, self.tmp_path = page, server, tmp_path
        self.failed: list[str] = []
        self.frames: list[dict] = []
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 400 else None)
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.set_default_timeout(60000)
        first_visit = not server.server.comfy.users.settings("default").get("Comfy.TutorialCompleted")
        page.goto(server.url)
        page.wait_for_function("() => window.app && app.graph && Object.keys(LiteGraph.registered_node_types).length")
        if first_visit:  # a new user is greeted with the template gallery: closed as a person would
            overlay = page.locator("[data-testid=dialog-overlay]")
            overlay.wait_for(state="visible")
            page.keyboard.press("Escape")
            overlay.wait_for(state="hidden")

    def _frame(self, payload):
        if isinstance(payload, str):
            self.frames.append(json.loads(payload))

    def open_workflow(self, prompt: dict, name: str = "workflow.json") -> None:
        """Open a workflow file the way a person does: through the frontend's file input."""
        path = self.tmp_path / name
        path.write_text(json.dumps(prompt))
        self.page.set_input_files("#comfy-file-input", str(path))
        self.page.wait_for_function(f"() => app.graph.nodes.length === {len(prompt)}")

    def run(self) -> None:
        self.page.click("[data-testid=queue-button]")

    def wait_frame(self, kind: str, timeout: float = 120000, **data) -> dict:
        self.page.wait_for_function("() => true")  # let events be delivered
        deadline = timeout
        while deadline > 0:
            for frame in self.frames:
                if frame["type"] == kind and all(frame["data"].get(k) == v for k, v in data.items()):
                    return frame
            self.page.wait_for_timeout(100)
            deadline -= 100
        raise TimeoutError(f"no {kind} {data}; got {[f['type'] for f in self.frames][-15:]}")

    def node_state(self, node: str, expression: str):
        return self.page.evaluate(f"() => {{ const n = app.graph.getNodeById({node}); return {expression}; }}")


@pytest.fixture
def frontend(page, comfy_ui, tmp_path):
    return Frontend(page, comfy_ui, tmp_path)


def test_loads_without_a_failed_request_and_lists_every_node(frontend):
    page = frontend.page
    page.wait_for_timeout(1500)  # the requests a fresh page makes after it drew itself
    registered = set(page.evaluate("() => Object.keys(LiteGraph.registered_node_types)"))
    catalogue = set(page.evaluate("async () => Object.keys(await (await fetch('/api/object_info')).json())"))
    assert {"MathInt", "SaveImage", "LoadSDXL", "LCMSampler", "SVDImageToVideo", "TestSleep"} <= catalogue
    assert catalogue <= registered
    # the node library a person browses lists them too
    page.click("[data-testid=node-library-tab-button]")
    page.keyboard.type("MathInt")
    page.wait_for_selector("text=MathInt")
    assert page.locator(".p-dialog:has-text('Error')").count() == 0
    assert frontend.failed == []


def test_a_workflow_runs_with_progress_and_shows_the_image_and_the_video(frontend):
    frontend.open_workflow({
        "1": {"class_type": "SolidImage", "inputs": {"width": 32, "height": 24, "red": 0.9, "green": 0.1, "blue": 0.1}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "frontend"}},
        "3": {"class_type": "TestSleep", "inputs": {"seconds": 3.0, "value": 3}},
        "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}},
        "5": {"class_type": "ImagesToVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
        "6": {"class_type": "SaveVideo", "inputs": {"video": ["5", 0], "filename_prefix": "frontend"}}})
    frontend.run()
    frontend.wait_frame("progress", node="3")
    # the running node shows its progress (the frontend draws node.progress on the canvas)
    frontend.page.wait_for_function("() => app.graph.getNodeById(3).progress > 0")
    end = frontend.wait_frame("execution_success")
    assert frontend.wait_frame("executing", node=None, prompt_id=end["data"]["prompt_id"])
    frontend.page.wait_for_function("() => (app.graph.getNodeById(2).imgs || []).some(i => i.naturalWidth === 32)")
    src = frontend.node_state("2", "n.imgs[0].src")
    assert "/view?filename=frontend_" in src and "type=output" in src
    video = frontend.page.wait_for_selector("video[src*='.mp4']")
    assert "/view?filename=frontend_" in video.get_attribute("src")
    frontend.page.wait_for_function("() => [...document.querySelectorAll('video')].some(v => v.readyState >= 1)")
    assert frontend.failed == []


def test_an_uploaded_image_reaches_loadimage(frontend, comfy_ui):
    from PIL import Image
    (comfy_ui.dirs["input"] / "start.png").write_bytes(_png((0, 0, 0)))
    frontend.open_workflow({"1": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
                            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "uploaded"}}})
    upload = frontend.tmp_path / "my photo.png"
    upload.write_bytes(_png((20, 200, 120)))
    # LoadImage's "choose file to upload" widget opens a file chooser
    with frontend.page.expect_file_chooser() as chooser:
        frontend.page.evaluate("() => app.graph.getNodeById(1).widgets.find(w => w.name === 'upload').callback()")
    with frontend.page.expect_response(lambda r: "/upload/image" in r.url) as uploaded:
        chooser.value.set_files(str(upload))
    assert uploaded.value.status == 200
    frontend.page.wait_for_function(
        "() => app.graph.getNodeById(1).widgets.find(w => w.name === 'image').value === 'my photo.png'")
    assert (comfy_ui.dirs["input"] / "my photo.png").read_bytes() == upload.read_bytes()
    frontend.run()
    done = frontend.wait_frame("executed", node="2")
    (image,) = done["data"]["output"]["images"]
    picture = Image.open(comfy_ui.dirs["output"] / image["subfolder"] / image["filename"])
    assert picture.convert("RGB").getpixel((2, 2)) == (20, 200, 120)
    assert frontend.failed == []


def test_cancel_interrupts_the_run(frontend, comfy_ui):
    frontend.open_workflow({"1": {"class_type": "TestSleep", "inputs": {"seconds": 120.0, "value": 1}},
                            "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}})
    frontend.run()
    progress = frontend.wait_frame("progress", node="1")
    frontend.page.click("button[aria-label='Cancel current run']")
    stopped = frontend.wait_frame("execution_interrupted", timeout=30000)
    assert stopped["data"]["prompt_id"] == progress["data"]["prompt_id"] and stopped["data"]["node_id"] == "1"
    record = comfy_ui.server.store.get(progress["data"]["prompt_id"])
    assert record.status == "interrupted"
    assert frontend.failed == []


def _png(color) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (10, 8), color).save(buf, format="PNG")
    return buf.getvalue()
