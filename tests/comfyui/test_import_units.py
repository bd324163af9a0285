"""Smaller pieces: the server's `import` message, the write-back of values into a saved ComfyUI
workflow, ComfyUI's output numbering."""
import pytest

from nodegraph.comfyui.load import import_message
from nodegraph.comfyui.outputs import refresh_ui_workflow
from nodegraph.files.numbering import expand_prefix, numbered_paths, output_folder
from nodegraph.comfyui.ui_format import ui_to_workflow
from nodegraph.server import handlers
from nodegraph.server.protocol import ProtocolError, parse

from comfyui_helpers import api_txt2img, ui_txt2img


def test_import_message_converts_json_and_embedded_texts_keeping_every_node(registry):
    import json
    ui = ui_txt2img().to_json()
    ui["nodes"].append({"id": 77, "type": "TScale", "inputs": [{"name": "image", "link": None}], "widgets_values": [2]})
    reply = import_message({"data": ui}, registry)
    assert reply["source"] == "comfyui-ui" and "77" in reply["workflow"]["nodes"]  # a stray node stays on the canvas
    assert reply["workflow"]["ui"]["comfyui"]["workflow"] == ui
    texts = import_message({"prompt": json.dumps(api_txt2img(seed=3)), "name": "x.png"}, registry)
    assert texts["workflow"]["nodes"]["3"]["inputs"]["seed"] == 3
    assert parse('{"type": "import", "data": {"1": {"class_type": "X", "inputs": {}}}}')["type"] == "import"


def test_the_import_route_reports_problems_as_the_queue_does(registry):
    services = handlers.Services(store=None, catalogue={}, file_extensions={}, validate=lambda w: None,
                                 list_files=lambda k, e: [], interrupt=lambda j: None,
                                 convert=lambda msg: import_message(msg, registry))
    conn = handlers.Connection()
    ok = handlers.handle(services, conn, {"type": "import", "id": 1, "data": api_txt2img()})
    assert ok.replies[0]["type"] == "imported" and ok.replies[0]["id"] == 1
    with pytest.raises(ProtocolError) as exc:
        handlers.handle(services, conn, {"type": "import", "id": 2, "data": {"1": {"class_type": "Nope", "inputs": {}}}})
    assert exc.value.code == "invalid_workflow" and "Nope (node 1)" in exc.value.extra["problems"][0]["message"]


def test_values_that_ran_go_back_into_the_comfyui_workflow_unless_its_shape_changed(registry):
    original = ui_txt2img(seed=5).to_json()
    native = ui_to_workflow(original, registry)
    native["nodes"]["3"]["inputs"]["seed"] = 99
    native["nodes"]["5"]["inputs"]["width"] = 128  # fed by the PrimitiveNode: written there
    refreshed = refresh_ui_workflow(original, native, registry)
    sampler = next(n for n in refreshed["nodes"] if n["id"] == 3)
    primitive = next(n for n in refreshed["nodes"] if n["id"] == 11)
    assert sampler["widgets_values"][:2] == [99, "randomize"] and primitive["widgets_values"][0] == 128
    assert next(n for n in original["nodes"] if n["id"] == 3)["widgets_values"][0] == 5  # a copy
    native["nodes"]["42"] = {"type": "TScale", "inputs": {}}  # a node added on nodegraph's canvas
    assert refresh_ui_workflow(original, native, registry) is None


def test_comfyui_numbering_and_prefixes(tmp_path):
    folder, base, sub = output_folder(tmp_path, "a/b/fox")
    assert folder == (tmp_path / "a" / "b").resolve() and base == "fox" and sub == "a/b"
    first = numbered_paths(folder, base, 2)
    assert [p.name for p in first] == ["fox_00001_.png", "fox_00002_.png"]
    (folder / "fox_00007_.png").write_bytes(b"")
    (folder / "foxes_00050_.png").write_bytes(b"")  # another prefix: not counted
    assert [p.name for p in numbered_paths(folder, base, 1)] == ["fox_00008_.png"]
    for bad in ("../x", "/etc/x", "a/../../x"):
        with pytest.raises(ValueError):
            output_folder(tmp_path, bad)
    assert expand_prefix("%width%x%height%/p", 64, 32) == "64x32/p"
