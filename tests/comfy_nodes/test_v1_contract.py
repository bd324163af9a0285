"""ComfyUI's V1 node contract running inside nodegraph workflows, next to nodegraph's own nodes:
lists, IS_CHANGED, VALIDATE_INPUTS, ui returns, hidden inputs, types, errors and the cache."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from comfy_nodes_helpers import link, run, shown, workflow
from nodegraph.api.errors import WorkflowInvalid


def pixel(path) -> tuple:
    with Image.open(path) as picture:
        return picture.getpixel((0, 0))


def solid(value: float, width: int = 8, height: int = 4) -> tuple[str, dict]:
    return ("SolidImage", {"width": width, "height": height, "red": value, "green": value, "blue": value})


def test_our_image_through_a_pack_node_into_our_save_node(session):
    for value, expected in ((0.2, 204), (0.6, 102)):  # 1 - value, as the pack's invert computes it
        result, sink = run(session, workflow(s=solid(value), i=("ToolsInvert", {"image": link("s", "image")}),
                                             save=("SaveImage", {"images": link("i", "image")})))
        assert result.ok, result.error
        assert pixel(result.outputs[0])[0] == expected
        assert any(e["event"] == "progress" and e["node"] == "i" for e in sink.events)  # comfy.utils.ProgressBar


def test_an_output_list_runs_the_next_nodes_once_per_item_and_an_input_list_sees_all(session):
    def wf(amount: int) -> dict:
        return workflow(s=solid(1.0), r=("ToolsRepeatBatch", {"image": link("s", "image"), "amount": amount}),
                        split=("ToolsSplitBatch", {"images": link("r", "image")}),
                        inv=("ToolsInvert", {"image": link("split", "images")}),  # once per item
                        save=("SaveImage", {"images": link("inv", "image")}),  # ours, once per item
                        count=("ToolsCountList", {"images": link("inv", "image"), "label": "items"}),
                        show=("ToolsShowText", {"text": link("count", "text")}))

    result, sink = run(session, wf(3))
    assert result.ok, result.error
    assert sorted(pixel(p)[0] for p in result.outputs) == [0, 26, 51]  # 1 - (1, 0.9, 0.8)
    assert len({str(p) for p in result.outputs}) == 3
    assert shown(sink, "show") == "items: 3"
    assert sum(e["event"] == "progress" and e["node"] == "inv" for e in sink.events) == 3
    result, sink = run(session, wf(5))
    assert result.ok and len(result.outputs) == 5 and shown(sink, "show") == "items: 5"


def test_is_changed_nan_reruns_the_node_every_time_and_the_rest_stays_cached(session):
    wf = workflow(n=("ToolsNoise", {"scale": 1.0}), show=("Show", {"value": link("n", "float")}),
                  s=solid(0.5), i=("ToolsInvert", {"image": link("s", "image")}),
                  save=("SaveImage", {"images": link("i", "image")}))
    first, sink1 = run(session, wf)
    second, sink2 = run(session, wf)
    assert first.ok and second.ok
    assert set(second.executed) == {"n", "show"} and set(second.cached) == {"s", "i", "save"}
    assert shown(sink1, "show") != shown(sink2, "show")


def test_is_changed_value_keys_the_cache(session, dirs):
    note = dirs["input"] / "note.txt"
    note.write_text("first")
    wf = workflow(t=("ToolsLoadText", {"file": "note.txt"}), show=("Show", {"value": link("t", "string")}))
    first, sink = run(session, wf)
    assert first.ok and shown(sink, "show") == "first"
    again, _ = run(session, wf)
    assert again.executed == [] and set(again.cached) == {"t", "show"}  # same file: nothing re-runs
    note.write_text("second")
    changed, sink = run(session, wf)
    assert set(changed.executed) == {"t", "show"} and shown(sink, "show") == "second"


def test_validate_inputs_is_a_problem_naming_node_and_input(session):
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(workflow(e=("ToolsEvenNumber", {"number": 7}), show=("Show", {"value": link("e", "int")})))
    [problem] = bad.value.problems
    assert (problem.node, problem.input, problem.message) == ("e", "number", "number must be even")
    with pytest.raises(WorkflowInvalid) as missing:
        session.prepare(workflow(t=("ToolsLoadText", {"file": "absent.txt"}),
                                 show=("Show", {"value": link("t", "string")})))
    assert [(p.node, p.input, p.message) for p in missing.value.problems] == [("t", "file", "no such text file: absent.txt")]
    result, sink = run(session, workflow(e=("ToolsEvenNumber", {"number": 8}), show=("Show", {"value": link("e", "int")})))
    assert result.ok and shown(sink, "show") == "8"


def test_widget_bounds_and_choices_are_checked_before_anything_runs(session):
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(workflow(s=solid(0.5), b=("ToolsBrightness", {"image": link("s", "image"), "strength": 5.0,
                                                                     "mode": "divide"}),
                                 save=("SaveImage", {"images": link("b", "IMAGE")})))
    problems = {p.input: p.message for p in bad.value.problems}
    assert "out of bounds" in problems["strength"] and "'divide' is not one of 'multiply', 'add'" in problems["mode"]


def test_ui_returns_reach_events_and_are_served_again_from_the_cache(session, dirs):
    wf = workflow(s=solid(0.25), png=("ToolsSavePNG", {"images": link("s", "image"), "filename_prefix": "tools/x"}),
                  who=("ToolsWhoAmI", {"tag": "t"}), show=("ToolsShowText", {"text": link("who", "string")}),
                  prev=("ToolsPreview", {"images": link("s", "image")}))
    result, sink = run(session, wf)
    assert result.ok, result.error
    saved = dirs["output"] / "tools" / "x_00001_.png"
    assert saved.is_file() and [str(p) for p in result.outputs] == [str(saved)]
    executed = {e["node"]: e for e in sink.of("executed")}
    assert executed["png"]["ui"]["images"] == ["tools/x_00001_.png"]
    assert executed["png"]["ui"]["comfyui"] == {"images": [{"filename": "x_00001_.png", "subfolder": "tools",
                                                            "type": "output"}]}
    assert executed["prev"]["ui"]["images"][0].startswith("temp/preview_")  # shown, not an output file
    assert (dirs["output"] / executed["prev"]["ui"]["images"][0]).is_file()
    who = json.loads(executed["show"]["ui"]["text"])
    assert who == {"id": "who", "class_type": "ToolsWhoAmI", "tag": "t",
                   "nodes": ["png", "prev", "s", "show", "who"], "has_workflow": True}
    [message] = sink.of("message")  # PromptServer.instance.send_sync
    assert message["node"] == "show" and message["name"] == "image_tools.shown"
    # The PNG embeds the prompt (API format) and the workflow, as ComfyUI's SaveImage does.
    with Image.open(saved) as picture:
        prompt = json.loads(picture.info["prompt"])
        assert prompt["png"]["inputs"]["images"] == ["s", 0] and "workflow" in picture.info
    again, sink = run(session, wf)
    assert again.executed == [] and [str(p) for p in again.outputs] == [str(saved)]
    cached = {e["node"]: e for e in sink.of("cached")}
    assert cached["png"]["ui"]["images"] == ["tools/x_00001_.png"] and cached["show"]["ui"]["text"]
    saved.unlink()  # an output file gone: the node runs again
    third, _ = run(session, wf)
    assert third.executed == ["png"] and saved.is_file()


def test_types_only_a_pack_knows_connect_its_nodes_and_nothing_else(session):
    result, sink = run(session, workflow(t=("ToolsMakeToken", {"word": "ab"}), r=("ToolsReadToken", {"token": link("t", "tools_token")}),
                                         show=("Show", {"value": link("r", "string")})))
    assert result.ok and shown(sink, "show") == "abab"
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(workflow(t=("ToolsMakeToken", {}), i=("ToolsInvert", {"image": link("t", "tools_token")}),
                                 save=("SaveImage", {"images": link("i", "image")})))
    assert [(p.code, p.input) for p in bad.value.problems] == [("type_mismatch", "image")]


def test_a_comma_type_takes_either_and_a_2d_mask_becomes_a_batch(session):
    wf = workflow(s=solid(0.9, 12, 6), m=("ToolsMask", {"image": link("s", "image")}),
                  size=("ToolsAnySize", {"pixels": link("m", "mask"), "anything": link("s", "image")}),
                  show=("Show", {"value": link("size", "width")}), shape=("Show", {"value": link("m", "mask")}))
    result, sink = run(session, wf)
    assert result.ok, result.error
    assert shown(sink, "show") == "12" and "(1, 6, 12)" in shown(sink, "shape")
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(workflow(i=("Int", {"value": 3}), size=("ToolsAnySize", {"pixels": link("i", "value")}),
                                 show=("Show", {"value": link("size", "width")})))
    assert [p.code for p in bad.value.problems] == ["type_mismatch"]


def test_latents_stay_comfyui_dicts_on_edges_so_comfy_pack_nodes_take_them(session):
    """This catalogue's LATENT takes a native tensor or ComfyUI's {"samples": tensor} (the comfy
    pack's layout): a pack node's latent stays the dict on the edge, as ComfyUI's KSampler wants."""
    result, sink = run(session, workflow(l=("ToolsEmptyLatent", {"width": 64, "height": 32}),
                                         i=("ToolsLatentInfo", {"samples": link("l", "latent")}),
                                         show=("Show", {"value": link("i", "string")}),
                                         edge=("Show", {"value": link("l", "latent")})))
    assert result.ok, result.error
    assert shown(sink, "show") == "['samples'] [1, 4, 4, 8]"
    assert shown(sink, "edge").startswith("{'samples': tensor(")


def test_a_failing_node_is_an_error_naming_node_type_and_pack(session):
    result, sink = run(session, workflow(s=solid(0.5), f=("ToolsFails", {"image": link("s", "image")}),
                                         save=("SaveImage", {"images": link("f", "image")})))
    assert result.status == "failed"
    error = sink.of("error")[0]
    assert (error["node"], error["node_type"], error["plugin"]) == ("f", "ToolsFails", "comfy:image_tools")
    assert error["message"] == "this node always fails" and error["exception"] == "ValueError"


def test_one_object_per_node_kept_between_runs_and_not_idempotent_nodes_stay_apart(session):
    wf = workflow(a=("ToolsCalls", {"value": 1}), b=("ToolsCalls", {"value": 1}),
                  sa=("Show", {"value": link("a", "int")}), sb=("Show", {"value": link("b", "int")}))
    for expected in ("1", "2", "3"):
        result, sink = run(session, wf)
        assert result.ok and shown(sink, "sa") == expected and shown(sink, "sb") == expected


def test_a_pack_interrupting_its_job_stops_only_that_job(session):
    result, sink = run(session, workflow(s=solid(0.5), x=("ToolsInterruptMe", {"image": link("s", "image")}),
                                         save=("SaveImage", {"images": link("x", "image")})))
    assert result.status == "interrupted" and sink.of("interrupted")[0]["node"] == "x"
    after, _ = run(session, workflow(s=solid(0.5), i=("ToolsInvert", {"image": link("s", "image")}),
                                     save=("SaveImage", {"images": link("i", "image")})))
    assert after.ok
