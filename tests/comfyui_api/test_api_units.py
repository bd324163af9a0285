"""The pure parts of nodegraph.comfyui's API: input specs, error mapping, message translation,
history shapes and file path rules, without a server."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodegraph.comfyui import history, media, object_info, prompt_errors
from nodegraph.comfyui.userdata import Refused
from nodegraph.comfyui.ws_messages import PromptMessages, preview_frame, status_data
from nodegraph.api.errors import Problem


def test_input_specs():
    spec = object_info.input_spec
    assert spec({"widget": "int", "default": 3, "minimum": 0, "maximum": 9, "control_after_generate": True,
                 "description": "the seed"}, []) == \
        ["INT", {"tooltip": "the seed", "default": 3, "min": 0, "max": 9, "control_after_generate": True}]
    assert spec({"widget": "float", "default": 1.0}, []) == ["FLOAT", {"default": 1.0, "step": 0.01}]
    assert spec({"widget": "string", "default": "x", "multiline": True}, []) == ["STRING", {"default": "x",
                                                                                            "multiline": True}]
    assert spec({"widget": "bool", "default": False}, []) == ["BOOLEAN", {"default": False}]
    assert spec({"widget": "enum", "options": ["a", "b"], "default": "b"}, []) == [["a", "b"], {"default": "b"}]
    picker = spec({"widget": "file", "file": {"kind": "image", "demos": ["demo:x"]}}, ["a.png", "b.png"])
    assert picker == [["a.png", "b.png", "demo:x"], {"image_upload": True}]
    assert spec({"widget": None, "type": "LATENT"}, []) == ["LATENT", {}]
    assert spec({"widget": "json", "type": "*"}, []) == ["*", {"forceInput": True}]


def test_alias_is_listed_with_comfyuis_input_names_and_without_fixed_inputs():
    catalogue = {"nodes": [{"type": "MathInt", "category": "primitives", "plugin": "builtin.basic", "inputs": [
        {"name": "a", "widget": "int", "required": False, "default": 0},
        {"name": "b", "widget": "int", "required": False, "default": 0},
        {"name": "op", "widget": "enum", "required": False, "options": ["add", "multiply"], "default": "add"}],
        "outputs": [{"name": "value", "type": "INT"}]}]}
    info = object_info.object_info(catalogue, {"ComfyMultiply": {"type": "MathInt", "inputs": {"x": "a", "y": "b"},
                                                                 "set": {"op": "multiply"}}}, lambda f: [])
    assert list(info) == ["ComfyMultiply", "MathInt"]
    assert info["ComfyMultiply"]["input_order"] == {"required": ["x", "y"], "optional": []}
    assert info["ComfyMultiply"]["name"] == "ComfyMultiply" and info["MathInt"]["input_order"]["required"] == \
        ["a", "b", "op"]
    assert object_info.output_name("image", "IMAGE") == "IMAGE" and object_info.output_name("value", "INT") == "value"


def test_error_mapping():
    prompt = {"1": {"class_type": "SolidImage", "inputs": {"width": -4, "mode": "x", "n": "7"}}}
    width = {"name": "width", "widget": "int", "minimum": 1, "maximum": 8}
    entry = prompt_errors.error_entry(Problem("bad_value", "out of bounds", "1", "width"), prompt, width, "width")
    assert entry["type"] == "value_smaller_than_min" and entry["message"] == "Value -4 smaller than min of 1"
    assert entry["extra_info"] == {"input_name": "width", "input_config": ["INT", {"min": 1, "max": 8}],
                                   "received_value": -4}
    mode = {"name": "mode", "widget": "enum", "options": list("abc")}
    assert prompt_errors.error_entry(Problem("bad_value", "", "1", "mode"), prompt, mode, "mode")["details"] == \
        "mode: 'x' not in ['a', 'b', 'c']"
    n = {"name": "n", "widget": "int"}
    assert prompt_errors.error_entry(Problem("bad_value", "", "1", "n"), prompt, n, "n")["type"] == "invalid_input_type"
    assert prompt_errors.error_entry(Problem("bad_value", "needs an odd number", "1", "width"),
                                     {"1": {"inputs": {"width": 4}}}, width, "width")["type"] == \
        "custom_validation_failed"
    links = prompt_errors.prompt_links({"1": {"inputs": {}}, "2": {"inputs": {"a": ["1", 0]}},
                                        "3": {"inputs": {"b": ["2", 0]}}, "4": {"inputs": {"c": ["1", 0]}}})
    assert prompt_errors.downstream_outputs("1", links, ["3", "4"]) == ["3", "4"]
    assert prompt_errors.downstream_outputs("2", links, ["3", "4"]) == ["3"]
    assert prompt_errors.top_level([Problem("no_output", "none")], {})["type"] == "prompt_no_outputs"
    assert prompt_errors.top_level([Problem("bad_value", "x", "1")], {"1": {}}) is None


def test_translation_groups_cached_nodes_and_reports_cached_outputs(tmp_path):
    image = tmp_path / "out" / "sub" / "a.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG")
    messages = PromptMessages("p1", {"output": tmp_path / "out"}, {"2": "SaveImage"})
    out = []
    for event in ({"event": "start"}, {"event": "cached", "node": "1"},
                  {"event": "cached", "node": "2", "outputs": [str(image)]},
                  {"event": "executing", "node": "3"}, {"event": "progress", "node": "3", "value": 1, "max": 2},
                  {"event": "executed", "node": "3"}, {"event": "done", "status": "success"}):
        out += messages.on_event(event)
    kinds = [k for k, _ in out]
    assert kinds == ["execution_start", "execution_cached", "executed", "executing", "progress_state", "progress",
                     "progress_state", "progress_state", "execution_success"]
    assert out[1][1]["nodes"] == ["1", "2"]
    assert out[2][1]["output"] == {"images": [{"filename": "a.png", "subfolder": "sub", "type": "output"}]}
    assert out[-2][1]["nodes"]["3"]["state"] == "finished" and out[4][1]["nodes"]["3"]["state"] == "running"
    assert messages.end() == ("executing", {"node": None, "display_node": None, "prompt_id": "p1"})
    assert status_data(2, "s") == {"status": {"exec_info": {"queue_remaining": 2}}, "sid": "s"}
    assert preview_frame(b"img", 2) == b"\x00\x00\x00\x01\x00\x00\x00\x02img"


def test_outputs_by_kind(tmp_path):
    out = {"output": tmp_path}
    entry = history.node_output([str(tmp_path / "a.png"), str(tmp_path / "v.mp4"), str(tmp_path / "r.json")],
                                {"text": "hi", "images": ["a.png"]}, out)
    assert entry == {"images": [{"filename": "a.png", "subfolder": "", "type": "output"},
                                {"filename": "v.mp4", "subfolder": "", "type": "output"}],
                     "files": [{"filename": "r.json", "subfolder": "", "type": "output"}],
                     "animated": [True], "text": ["hi"]}
    assert history.node_output(["/elsewhere/x.png"], {}, out) == {}
    assert history.safe_extra({"api_key_comfy_org": "k", "auth_token_comfy_org": "t", "x": 1}) == {"x": 1}
    assert history.job_status("running") == "in_progress" and history.job_status("interrupted") == "failed"


def test_media_path_rules(tmp_path):
    folders = {"output": tmp_path / "out", "input": tmp_path / "in"}
    for folder in folders.values():
        folder.mkdir()
    (tmp_path / "out" / "x.png").write_bytes(b"x")
    assert media.view_path(folders, "x.png") == tmp_path / "out" / "x.png"
    assert media.annotated("x.png [input]") == ("x.png", "input")
    for name, sub in (("../x.png", ""), ("x.png", ".."), ("x.png", "/abs"), ("", ""), (".x", ""), ("a/b.png", "")):
        with pytest.raises(Refused) as info:
            media.view_path(folders, name, sub)
        assert info.value.status in (400, 403), (name, sub)
    with pytest.raises(Refused):
        media.view_path(folders, "x.png", "", "temp")  # no such folder here
    assert media.store(tmp_path / "in", "a/b", "n.png", b"1", False) == "n.png"
    assert media.store(tmp_path / "in", "a/b", "n.png", b"1", False) == "n.png"
    assert media.store(tmp_path / "in", "a/b", "n.png", b"2", False) == "n (1).png"
    assert media.store(tmp_path / "in", "a/b", "n.png", b"3", True) == "n.png"
    assert (tmp_path / "in" / "a" / "b" / "n.png").read_bytes() == b"3"
    assert Path(tmp_path / "in" / "a" / "b" / "n (1).png").read_bytes() == b"2"


def test_ui_only_inputs_sit_after_the_input_the_alias_lists_before_them():
    required = {"video": ["VIDEO", {}], "filename_prefix": ["STRING", {}], "quality": ["INT", {}]}
    order = ["video", "filename_prefix", "format", "codec"]
    specs = {"codec": [["auto", "h264"], {"default": "auto"}], "format": [["auto", "mp4"], {"default": "auto"}]}
    out = object_info.with_ui_inputs(required, order, specs)
    assert list(out) == ["video", "filename_prefix", "format", "codec", "quality"]
    assert out["codec"] == [["auto", "h264"], {"default": "auto"}]
    assert list(object_info.with_ui_inputs(required, [], {"extra": ["INT"]})) == [*required, "extra"]


def test_pack_translations_merge_over_packs_and_skip_broken_files(tmp_path):
    from nodegraph.comfyui import pack_files
    for pack, text in (("a", '{"nodeDefs": {"X": {"display_name": "Ex"}}, "t": 1}'), ("b", "{not json")):
        (tmp_path / pack / "locales" / "en").mkdir(parents=True)
        (tmp_path / pack / "locales" / "en" / "main.json").write_text(text)
    (tmp_path / "b" / "locales" / "en" / "nodeDefs.json").write_text('{"Y": {"display_name": "Why"}}')
    (tmp_path / "b" / "my_workflows").mkdir()
    (tmp_path / "b" / "my_workflows" / "demo.json").write_text("{}")
    folders = {"a": tmp_path / "a", "b": tmp_path / "b"}
    assert pack_files.translations(folders) == {"en": {"nodeDefs": {"X": {"display_name": "Ex"},
                                                                    "Y": {"display_name": "Why"}}, "t": 1}}
    assert pack_files.workflow_templates(folders) == {"b": ["demo"]}
