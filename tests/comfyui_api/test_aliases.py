"""Native nodes served under ComfyUI class names (COMFY_ALIASES) through the API: a native node
is written as an alias only when the alias keeps what it computes, and an alias's UI-only inputs
(SaveVideo's format and codec) are listed with ComfyUI's choices and accepted."""
from __future__ import annotations

from comfykit import Http, NativeClient, wait_until

from nodegraph.api.registry import Registry
from nodegraph.comfyui.classes import comfy_class_of


def _native_math(op: str | None) -> dict:
    inputs = {"a": 6, "b": 7, **({"op": op} if op else {})}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "m": {"type": "MathInt", "inputs": inputs},
        "show": {"type": "Show", "inputs": {"value": {"from": "m", "output": "value"}}}}}


def test_history_writes_a_native_node_as_an_alias_only_when_the_alias_fixes_what_it_holds(comfy_server):
    """The server has the test alias ComfyMultiply = MathInt with op fixed to multiply."""
    http = Http(comfy_server.port)
    with NativeClient(comfy_server.port) as native:
        jobs = {op: native.queue(_native_math(op))["job"] for op in ("add", "multiply", None)}
    items = {op: wait_until(lambda job=job: http.get(f"/history/{job}").json().get(job)) for op, job in jobs.items()}
    add = items["add"]["prompt"][2]["m"]
    assert add == {"class_type": "MathInt", "inputs": {"a": 6, "b": 7, "op": "add"}, "_meta": {"title": "MathInt"}}
    assert items["add"]["outputs"]["show"] == {"text": ["13"]}
    multiply = items["multiply"]["prompt"][2]["m"]
    assert multiply["class_type"] == "ComfyMultiply" and multiply["inputs"] == {"x": 6, "y": 7}
    # op left at its default (add) is not ComfyMultiply either: the prompt reruns as what ran
    default = items[None]["prompt"][2]["m"]
    assert default["class_type"] == "MathInt" and default["inputs"] == {"a": 6, "b": 7}
    rerun = http.prompt(items["add"]["prompt"][2]).json()["prompt_id"]
    assert wait_until(lambda: http.get(f"/history/{rerun}").json().get(rerun))["outputs"]["show"] == {"text": ["13"]}


def test_naming_only_aliases_still_name_native_nodes():
    from nodegraph import Node, Widget, node
    from typing import Literal

    @node("TestSaver", category="test", output_node=True)
    class TestSaver(Node):
        prefix: str = Widget("x")
        naming: Literal["native", "comfyui"] = Widget("native")

        def run(self, ctx):
            return {}

    @node("TestMath", category="test")
    class TestMath(Node):
        op: Literal["add", "multiply"] = Widget("add")

        def run(self, ctx):
            return {}

    reg = Registry()
    reg.add_node(TestSaver, "t")
    reg.add_node(TestMath, "t")
    reg.add_comfy_aliases({"ComfySave": {"type": "TestSaver", "inputs": {"filename_prefix": "prefix"},
                                         "set": {"naming": "comfyui"}, "naming_only": True},
                           "ComfyTimes": {"type": "TestMath", "set": {"op": "multiply"}}}, "t")
    assert reg.failures == []
    assert comfy_class_of("TestSaver", {"naming": "native"}, reg).comfy_name == "ComfySave"
    assert comfy_class_of("TestMath", {"op": "multiply"}, reg).comfy_name == "ComfyTimes"
    assert comfy_class_of("TestMath", {"op": "add"}, reg).comfy_name == "TestMath"
    reg.add_comfy_aliases({"Bad": {"type": "TestMath", "naming_only": "yes"},
                           "Worse": {"type": "TestMath", "inputs": {"x": "op"}, "ui_specs": {"x": [["a"], {}]}}}, "u")
    assert [f.message.split(":")[0] for f in reg.failures] == ["COMFY_ALIASES['Bad']", "COMFY_ALIASES['Worse']"]


def test_savevideo_lists_comfyuis_format_and_codec(http):
    info = http.get("/object_info/SaveVideo").json()["SaveVideo"]
    required = info["input"]["required"]
    assert required["format"] == [["auto", "mp4"], {"default": "auto"}]
    assert required["codec"] == [["auto", "h264"], {"default": "auto"}]
    order = info["input_order"]["required"]
    assert order.index("filename_prefix") + 1 == order.index("format") == order.index("codec") - 1
    assert http.get("/object_info").json()["SaveVideo"]["input"]["required"]["format"] == required["format"]


def _video_prompt(**save_inputs) -> dict:
    return {"1": {"class_type": "SolidImage", "inputs": {"width": 16, "height": 16, "red": 0.4}},
            "3": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
            "4": {"class_type": "SaveVideo", "inputs": {"video": ["3", 0], "filename_prefix": "clip", **save_inputs}}}


def test_savevideo_accepts_comfyuis_choices_and_refuses_others(http):
    reply = http.prompt(_video_prompt(format="auto", codec="h264"))
    assert reply.status == 200, reply
    pid = reply.json()["prompt_id"]
    item = wait_until(lambda: http.get(f"/history/{pid}").json().get(pid), 120)
    assert item["status"]["status_str"] == "success", item["status"]
    (video,) = item["outputs"]["4"]["images"]
    assert video["filename"].endswith(".mp4") and item["outputs"]["4"]["animated"] == [True]
    bad = http.prompt(_video_prompt(format="webm", codec="auto"))
    assert bad.status == 400
    (error,) = bad.json()["node_errors"]["4"]["errors"]
    assert error["type"] == "value_not_in_list" and error["extra_info"]["input_name"] == "format"
    assert "webm" in error["details"]
