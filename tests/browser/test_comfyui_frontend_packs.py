"""ComfyUI's own frontend with a ComfyUI custom-node pack loaded (`--comfy-nodes`): the pack's
frontend extension (its WEB_DIRECTORY) is loaded and runs, its nodes are listed, its routes
answer the page, and no request fails."""
from __future__ import annotations

from pathlib import Path

import pytest

from test_comfyui_frontend import Frontend

ROUTE_PACKS = Path(__file__).resolve().parents[1] / "comfy_nodes" / "route_packs"


@pytest.fixture(scope="module")
def comfy_ui_with_pack(tmp_path_factory):
    from nodegraph.server.app import ServerConfig, start_in_thread
    root = tmp_path_factory.mktemp("comfy-ui-packs")
    dirs = {name: root / name for name in ("data", "output", "input", "models")}
    for folder in dirs.values():
        folder.mkdir()
    handle = start_in_thread(ServerConfig(
        host="127.0.0.1", port=0, data_dir=dirs["data"], output_dir=dirs["output"], input_dir=dirs["input"],
        models_dir=dirs["models"], cache_dir=None, comfy_dirs=(ROUTE_PACKS,), device="cpu", ui="comfyui"))
    yield handle
    handle.stop()


def test_a_packs_frontend_extension_loads_and_its_routes_answer_the_page(page, comfy_ui_with_pack, tmp_path):
    frontend = Frontend(page, comfy_ui_with_pack, tmp_path)
    page.wait_for_function("() => app.extensions.some(e => e.name === 'web_routes.notes')")
    assert {"WebRoutesWords", "WebRoutesJoin", "WebRoutesEcho"} <= set(
        page.evaluate("() => Object.keys(LiteGraph.registered_node_types)"))
    stored = page.evaluate("""async () => {
        const post = await fetch('/api/web_routes/notes', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                           body: JSON.stringify({text: 'from the page'})});
        return [(await post.json()).count, (await (await fetch('/web_routes/notes')).json()).notes];
    }""")
    assert stored[0] >= 1 and "from the page" in stored[1]
    page.wait_for_timeout(1000)
    assert frontend.failed == []
