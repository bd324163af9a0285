"""`--ui comfyui` serves ComfyUI's frontend; without its wheel, one line saying what to install
(exit 2); our canvas stays the default UI."""
from __future__ import annotations

import subprocess
import sys

from comfykit import REPO, Http


def test_without_the_frontend_package_one_line_and_exit_2(tmp_path):
    code = ("import sys; sys.modules['comfyui_frontend_package'] = None; from nodegraph.cli.main import main; "
            f"sys.exit(main(['serve', '--ui', 'comfyui', '--port', '0', '--data-dir', {str(tmp_path)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'nodegraph[comfyui]'" in lines[0], done.stderr
    assert done.stdout == ""


def test_the_canvas_stays_the_default_ui(comfy_server):
    page = Http(comfy_server.port).get("/")
    assert page.status == 200 and b"nodegraph" in page.body and b"ComfyUI" not in page.body


def test_the_frontend_is_served_with_ui_comfyui(tmp_path):
    from nodegraph.server.app import ServerConfig, start_in_thread
    dirs = {n: tmp_path / n for n in ("data", "output", "input", "models")}
    handle = start_in_thread(ServerConfig(port=0, data_dir=dirs["data"], output_dir=dirs["output"],
                                          input_dir=dirs["input"], models_dir=dirs["models"], ui="comfyui"))
    try:
        page = Http(handle.port).get("/")
        assert page.status == 200 and b"<title>ComfyUI</title>" in page.body
        script = page.body.split(b'src="./assets/')[1].split(b'"')[0].decode()
        js = Http(handle.port).get(f"/assets/{script}")
        assert js.status == 200 and js.headers["content-type"].startswith("text/javascript")
    finally:
        handle.stop()
