"""POST /prompt end to end: ComfyUI's messages in ComfyUI's order, its 400 shapes, the queue
controls, and one job in the durable queue that both APIs see."""
from __future__ import annotations

import json
import uuid

import pytest

from comfykit import ComfyWs, Http, NativeClient, add_show, sleeper, solid_save, wait_until


def types(messages):
    return [m["type"] for m in messages if isinstance(m, dict)]


def test_messages_in_comfyuis_order(comfy_server):
    http = Http(comfy_server.port)
    with ComfyWs(comfy_server.port) as ws:
        hello = ws.recv()
        assert hello["type"] == "status" and hello["data"]["sid"] == ws.client_id
        reply = http.prompt(add_show(20, 22), client_id=ws.client_id).json()
        assert set(reply) == {"prompt_id", "number", "node_errors"} and reply["node_errors"] == {}
        pid = reply["prompt_id"]
        seen = ws.until_done(pid)
    kinds = types(seen)
    start, success = kinds.index("execution_start"), kinds.index("execution_success")
    assert kinds[-2:] == ["status", "executing"] and kinds[success + 1] == "status"
    assert seen[-2]["data"]["status"]["exec_info"]["queue_remaining"] == 0
    # never 0 while this prompt was pending or running
    assert all(m["data"]["status"]["exec_info"]["queue_remaining"] >= 1 for m in seen[:success] if m["type"] == "status")
    ran = [m["data"]["node"] for m in seen[start:success] if m["type"] == "executing"]
    assert ran == ["1", "2", "3"]
    executed = [m["data"] for m in seen if m["type"] == "executed"]
    assert executed == [{"node": "3", "display_node": "3", "output": {"text": ["42"]}, "prompt_id": pid}]
    assert all(m["data"].get("prompt_id") == pid for m in seen[start:] if m["type"] != "status")


def test_image_output_reaches_view_and_changes_with_the_input(comfy_server):
    http = Http(comfy_server.port, "/api")
    images = []
    for red in (0.1, 0.9):
        with ComfyWs(comfy_server.port) as ws:
            pid = http.prompt(solid_save(red, prefix="viewed"), client_id=ws.client_id).json()["prompt_id"]
            seen = ws.until_done(pid)
        (out,) = [m["data"]["output"] for m in seen if m["type"] == "executed"]
        (ref,) = out["images"]
        assert ref["type"] == "output" and ref["subfolder"] == "" and ref["filename"].endswith(".png")
        history = http.get(f"/history/{pid}").json()[pid]
        assert history["outputs"]["2"]["images"] == [ref]
        view = http.get(f"/view?filename={ref['filename']}&subfolder=&type=output")
        assert view.status == 200 and view.headers["content-type"] == "image/png"
        assert view.body == (comfy_server.dirs["output"] / ref["filename"]).read_bytes()
        images.append(view.body)
    assert images[0] != images[1]


def test_a_cached_rerun_reports_cached_nodes_and_its_outputs_again(comfy_server):
    http = Http(comfy_server.port)
    prompt = solid_save(0.42, prefix="cached")
    with ComfyWs(comfy_server.port) as ws:
        first = http.prompt(prompt, client_id=ws.client_id).json()["prompt_id"]
        ws.until_done(first)
        second = http.prompt(prompt, client_id=ws.client_id).json()["prompt_id"]
        seen = ws.until_done(second)
    (cached,) = [m["data"] for m in seen if m["type"] == "execution_cached"]
    assert sorted(cached["nodes"]) == ["1", "2"] and cached["prompt_id"] == second
    (executed,) = [m["data"] for m in seen if m["type"] == "executed"]
    assert executed["node"] == "2" and executed["output"]["images"][0]["filename"].endswith(".png")


@pytest.mark.parametrize("prompt,node,kind,details", [
    (solid_save(0.5) | {"1": {"class_type": "SolidImage", "inputs": {"width": 0}}}, "1", "value_smaller_than_min",
     "width"),
    (solid_save(0.5) | {"1": {"class_type": "SolidImage", "inputs": {"height": 9000}}}, "1", "value_bigger_than_max",
     "height"),
    (add_show(1, 2) | {"2": {"class_type": "MathInt", "inputs": {"a": ["1", 0], "op": "pow"}}}, "2",
     "value_not_in_list", "op: 'pow' not in"),
    ({"2": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}}, "2", "required_input_missing", "images"),
    (add_show(1, 2) | {"1": {"class_type": "Int", "inputs": {"value": "seven"}}}, "1", "invalid_input_type", "value"),
    (add_show(1, 2) | {"3": {"class_type": "Show", "inputs": {"value": ["2", 5]}}}, "3", "bad_linked_input", "value"),
])
def test_invalid_prompts_get_comfyuis_400_shape(http, prompt, node, kind, details):
    reply = http.prompt(prompt)
    assert reply.status == 400, reply
    body = reply.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert set(body["error"]) == {"type", "message", "details", "extra_info"}
    entry = body["node_errors"][node]
    assert entry["class_type"] == prompt[node]["class_type"] and entry["dependent_outputs"]
    (error,) = entry["errors"]
    assert error["type"] == kind and details in error["details"], error
    assert set(error) == {"type", "message", "details", "extra_info"}


def test_malformed_requests_are_4xx(http):
    assert http.post("/prompt", raw=b"{not json").status == 400
    assert http.post("/prompt", raw=b'{"prompt": NaN}').status == 400
    assert http.post("/prompt", raw=b"[1, 2]").json()["error"]["type"] == "invalid_prompt"
    assert http.post("/prompt", {"client_id": "x"}).json()["error"]["type"] == "no_prompt"
    assert http.post("/prompt", {"prompt": [1]}).status == 400
    assert http.post("/prompt", {"prompt": add_show(1, 1), "number": "first"}).status == 400
    assert http.post("/prompt", {"prompt": add_show(1, 1), "prompt_id": 7}).status == 400
    unknown = http.prompt({"1": {"class_type": "NoSuchNode", "inputs": {}}}).json()
    assert unknown["error"]["type"] == "invalid_prompt" and "NoSuchNode" in unknown["error"]["message"]
    no_out = http.prompt({"1": {"class_type": "Int", "inputs": {"value": 1}}}).json()
    assert no_out["error"]["type"] == "prompt_no_outputs"
    deep = "[" * 5000 + "]" * 5000
    assert http.post("/prompt", raw=f'{{"prompt": {deep}}}'.encode()).status == 400
    for path in ("/queue", "/history", "/interrupt", "/settings"):
        assert http.post(path, raw=b"{bad").status == 400, path


def test_oversize_json_body_is_413(http):
    big = json.dumps({"prompt": add_show(1, 1), "pad": "x" * (5 << 20)}).encode()
    assert http.post("/prompt", raw=big).status == 413


def test_invalid_outputs_are_left_out_the_valid_ones_run(comfy_server):
    http = Http(comfy_server.port)
    prompt = add_show(3, 4) | {"4": {"class_type": "MathInt", "inputs": {"a": 1, "op": "pow"}},
                               "5": {"class_type": "Show", "inputs": {"value": ["4", 0]}}}
    with ComfyWs(comfy_server.port) as ws:
        reply = http.prompt(prompt, client_id=ws.client_id)
        assert reply.status == 200
        body = reply.json()
        assert body["node_errors"]["4"]["dependent_outputs"] == ["5"]
        seen = ws.until_done(body["prompt_id"])
    ran = {m["data"]["node"] for m in seen if m["type"] == "executing" and m["data"]["node"]}
    assert ran == {"1", "2", "3"}


def test_partial_execution_targets(comfy_server):
    http = Http(comfy_server.port)
    prompt = add_show(5, 5) | {"4": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
    pid = http.prompt(prompt, partial_execution_targets=["4"]).json()["prompt_id"]
    item = wait_until(lambda: http.get(f"/history/{pid}").json().get(pid))
    assert item["outputs"] == {"4": {"text": ["5"]}} and item["prompt"][4] == ["4"]


def test_a_failing_node_sends_execution_error(comfy_server):
    http = Http(comfy_server.port)
    prompt = {"1": {"class_type": "MathInt", "inputs": {"a": 1, "b": 0, "op": "floordiv"}},
              "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
    with ComfyWs(comfy_server.port) as ws:
        pid = http.prompt(prompt, client_id=ws.client_id).json()["prompt_id"]
        seen = ws.until_done(pid)
    (error,) = [m["data"] for m in seen if m["type"] == "execution_error"]
    assert error["node_id"] == "1" and error["node_type"] == "MathInt" and error["prompt_id"] == pid
    assert error["exception_type"] == "NodeError" and "zero" in error["exception_message"].lower()
    assert isinstance(error["traceback"], list) and error["executed"] == []
    assert "execution_success" not in types(seen) and types(seen)[-2:] == ["status", "executing"]
    item = http.get(f"/history/{pid}").json()[pid]
    assert item["status"]["status_str"] == "error" and item["status"]["completed"] is False
    assert item["status"]["messages"][-1][0] == "execution_error"
    assert http.get(f"/jobs/{pid}").json()["status"] == "failed"


def test_interrupt_stops_the_running_prompt(comfy_server):
    http = Http(comfy_server.port)
    with ComfyWs(comfy_server.port) as ws:
        pid = http.prompt(sleeper(60), client_id=ws.client_id).json()["prompt_id"]
        ws.wait(lambda m: m["type"] == "progress" and m["data"]["prompt_id"] == pid)
        assert http.post("/interrupt", {"prompt_id": "someone-else"}).status == 200  # not running: no effect
        assert http.post("/interrupt", {"prompt_id": pid}).status == 200
        seen = ws.until_done(pid, timeout=30)
    (stopped,) = [m["data"] for m in seen if m["type"] == "execution_interrupted"]
    assert stopped["node_id"] == "1" and stopped["node_type"] == "TestSleep"
    assert http.get(f"/history/{pid}").json()[pid]["status"]["status_str"] == "error"


def test_queue_order_front_delete_and_clear(comfy_server):
    http = Http(comfy_server.port)
    blocker = http.prompt(sleeper(60)).json()["prompt_id"]
    wait_until(lambda: http.get("/queue").json()["queue_running"])
    a = http.prompt(add_show(100, 1)).json()
    b = http.prompt(add_show(100, 2)).json()
    c = http.prompt(add_show(100, 3), front=True).json()
    assert c["number"] < a["number"] < b["number"]
    pending = [item[1] for item in http.get("/queue").json()["queue_pending"]]
    assert pending == [c["prompt_id"], a["prompt_id"], b["prompt_id"]]
    running = http.get("/queue").json()["queue_running"]
    assert [item[1] for item in running] == [blocker] and running[0][2] == sleeper(60)
    assert http.get("/prompt").json()["exec_info"]["queue_remaining"] == 4
    assert http.post("/queue", {"delete": [a["prompt_id"]]}).status == 200
    assert [item[1] for item in http.get("/queue").json()["queue_pending"]] == [c["prompt_id"], b["prompt_id"]]
    assert http.post("/queue", {"clear": True}).status == 200
    assert http.get("/queue").json()["queue_pending"] == []
    http.post("/interrupt", {})
    wait_until(lambda: blocker in http.get(f"/history/{blocker}").json())
    # cancelled prompts never ran: not in ComfyUI's history
    assert http.get(f"/history/{a['prompt_id']}").json() == {}


def test_client_chosen_prompt_id(comfy_server):
    http = Http(comfy_server.port)
    mine = str(uuid.uuid4())
    with ComfyWs(comfy_server.port) as ws:
        reply = http.prompt(add_show(1, 2), client_id=ws.client_id, prompt_id=mine).json()
        assert reply["prompt_id"] == mine
        ws.until_done(mine)
    assert http.prompt(add_show(1, 2), prompt_id=mine).json()["error"]["type"] == "duplicate_prompt_id"
    made = http.prompt(add_show(1, 3), prompt_id=None).json()["prompt_id"]  # null: the server makes one
    assert str(uuid.UUID(made)) == made


@pytest.mark.parametrize("bad", ["client-6f1c2d3e-8a9b-4c5d-9e0f-1a2b3c4d5e6f", "6F1C2D3E-8A9B-4C5D-9E0F-1A2B3C4D5E6F",
                                 "6f1c2d3e8a9b4c5d9e0f1a2b3c4d5e6f", "../../etc", "", 7, ["a"]],
                         ids=["prefixed", "uppercase", "no-hyphens", "path", "empty", "number", "list"])
def test_a_prompt_id_that_is_not_a_uuid_is_refused_as_comfyui_does(comfy_server, bad):
    http = Http(comfy_server.port, "/api")
    reply = http.prompt(add_show(4, 5), prompt_id=bad)
    assert reply.status == 400
    body = reply.json()
    assert body["node_errors"] == {} and body["error"]["type"] == "invalid_prompt_id"
    assert body["error"]["message"] == "prompt_id must be a valid UUID"
    assert set(body["error"]) == {"type", "message", "details", "extra_info"}


def test_the_comfy_usage_source_header_joins_extra_data_unless_the_body_names_one(comfy_server):
    http = Http(comfy_server.port)
    sent = http.request("POST", "/prompt", json.dumps({"prompt": add_show(6, 1)}).encode(),
                        {"Content-Type": "application/json", "Comfy-Usage-Source": "my-farm-script"}).json()
    named = http.request("POST", "/prompt", json.dumps({"prompt": add_show(6, 2), "extra_data": {
        "comfy_usage_source": "comfyui-frontend"}}).encode(),
        {"Content-Type": "application/json", "Comfy-Usage-Source": "my-farm-script"}).json()
    plain = http.prompt(add_show(6, 3)).json()

    def extra(reply):
        pid = reply["prompt_id"]
        return wait_until(lambda: http.get(f"/history/{pid}").json().get(pid))["prompt"][3]
    assert extra(sent)["comfy_usage_source"] == "my-farm-script"
    assert extra(named)["comfy_usage_source"] == "comfyui-frontend"
    assert "comfy_usage_source" not in extra(plain)


def test_history_delete_and_clear_reach_both_histories(comfy_server):
    http = Http(comfy_server.port)
    pid = http.prompt(add_show(8, 8)).json()["prompt_id"]
    wait_until(lambda: http.get(f"/history/{pid}").json())
    with NativeClient(comfy_server.port) as native:
        assert pid in {j["job"] for j in native.request({"type": "history", "limit": 1000})["jobs"]}
        assert http.post("/history", {"delete": [pid]}).status == 200
        assert http.get(f"/history/{pid}").json() == {}
        assert pid not in {j["job"] for j in native.request({"type": "history", "limit": 1000})["jobs"]}
    assert http.post("/history", {"clear": True}).status == 200
    assert http.get("/history").json() == {}


def test_a_comfy_alias_is_listed_and_runs(http):
    info = http.get("/object_info/ComfyMultiply").json()["ComfyMultiply"]
    assert info["input_order"]["required"] == ["x", "y"] and info["output"] == ["INT"]
    assert "ComfyMultiply" in http.get("/object_info").json()
    prompt = {"1": {"class_type": "ComfyMultiply", "inputs": {"x": 6, "y": 7}},
              "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}
    pid = http.prompt(prompt).json()["prompt_id"]
    item = wait_until(lambda: http.get(f"/history/{pid}").json().get(pid))
    assert item["outputs"] == {"2": {"text": ["42"]}}
    bad = http.prompt({"1": {"class_type": "ComfyMultiply", "inputs": {"x": "six"}},
                       "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}).json()
    (error,) = bad["node_errors"]["1"]["errors"]
    assert error["extra_info"]["input_name"] == "x" and error["type"] == "invalid_input_type"


def test_preview_frames_when_the_client_asks_for_previews(comfy_server):
    http = Http(comfy_server.port)
    for method, expect in (("auto", True), ("none", False)):
        with ComfyWs(comfy_server.port) as ws:
            pid = http.prompt(solid_save(0.3 if expect else 0.7, prefix=f"preview-{method}"), client_id=ws.client_id,
                              extra_data={"preview_method": method}).json()["prompt_id"]
            seen = ws.until_done(pid)
        frames = [m for m in seen if isinstance(m, bytes)]
        if not expect:
            assert frames == []
            continue
        (frame,) = frames
        assert frame[:8] == b"\x00\x00\x00\x01\x00\x00\x00\x02" and frame[8:16] == b"\x89PNG\r\n\x1a\n"
        at = seen.index(frame)
        assert seen[at + 1]["type"] == "executed"  # the preview comes just before the node's outputs
        name = seen[at + 1]["data"]["output"]["images"][0]["filename"]
        assert frame[8:] == (comfy_server.dirs["output"] / name).read_bytes()


def test_preview_image_outputs_are_temp_files(comfy_server):
    http = Http(comfy_server.port)
    prompt = {"1": {"class_type": "SolidImage", "inputs": {"width": 8, "height": 8, "red": 0.25}},
              "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    with ComfyWs(comfy_server.port) as ws:
        pid = http.prompt(prompt, client_id=ws.client_id).json()["prompt_id"]
        seen = ws.until_done(pid)
    (output,) = [m["data"]["output"] for m in seen if m["type"] == "executed"]
    (ref,) = output["images"]
    assert ref["type"] == "temp" and ref["subfolder"] == "" and ref["filename"].startswith("ComfyUI_temp_")
    assert http.get(f"/history/{pid}").json()[pid]["outputs"]["2"]["images"] == [ref]
    view = http.get(f"/view?filename={ref['filename']}&type=temp")
    assert view.status == 200 and view.body[:8] == b"\x89PNG\r\n\x1a\n"
