"""Every read-only route answers in ComfyUI's shape, under / and /api/ alike."""
from __future__ import annotations

import uuid

from comfykit import Http, add_show, sleeper, wait_until


def test_object_info_lists_every_node_in_comfyuis_input_spec_shape(http):
    info = http.get("/object_info").json()
    # native nodes of every built-in pack and the test plugin
    assert {"Int", "MathInt", "Show", "LoadImage", "SaveImage", "LoadSDXL", "LCMSampler", "TestSleep"} <= set(info)
    math = info["MathInt"]
    assert math["input"]["required"]["a"] == ["INT", {"default": 0}]
    assert math["input"]["required"]["op"][0] == ["add", "subtract", "multiply", "floordiv", "mod", "min", "max"]
    assert math["input_order"] == {"required": ["a", "b", "op"], "optional": []}
    assert math["output"] == ["INT"] and math["output_is_list"] == [False] and math["output_name"] == ["value"]
    assert math["name"] == "MathInt" and math["category"] == "primitives" and math["output_node"] is False
    sleep = info["TestSleep"]["input"]["required"]["seconds"]
    assert sleep[0] == "FLOAT" and sleep[1]["min"] == 0.0 and sleep[1]["max"] == 600.0
    assert info["TestSleep"]["python_module"].startswith("custom_nodes.")
    save = info["SaveImage"]
    assert save["input"]["required"]["images"] == ["IMAGE", {}] and save["output_node"] is True
    sampler = info["LCMSampler"]["input"]
    assert sampler["required"]["model"] == ["MODEL", {}] and sampler["required"]["conditioning"] == ["CONDITIONING", {}]
    assert sampler["required"]["steps"][0] == "INT" and info["LCMSampler"]["input_order"]["required"][:3] == \
        ["model", "conditioning", "steps"]
    assert info["LoadLoRA"]["input_order"] == {"required": ["lora", "strength"], "optional": ["stack"]}
    # a file picker is a combo of the files present (plus the demos)
    load = info["LoadImage"]["input"]["required"]["image"]
    assert isinstance(load[0], list) and load[1]["image_upload"] is True
    sdxl = info["LoadSDXL"]["input"]["required"]["checkpoint"]
    assert "demo:tiny-sdxl" in sdxl[0] and sdxl[1]["default"] == "demo:tiny-sdxl"


def test_object_info_of_one_class(http):
    one = http.get("/object_info/MathInt").json()
    # ComfyUI's own classes (the comfy pack) in ComfyUI's order, seeds with control_after_generate
    ksampler = http.get("/object_info/KSampler").json()["KSampler"]
    assert ksampler["input_order"]["required"] == ["model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                                                   "positive", "negative", "latent_image", "denoise"]
    assert ksampler["input"]["required"]["seed"][1]["control_after_generate"] is True
    assert ksampler["output"] == ["LATENT"] and ksampler["output_name"] == ["LATENT"]
    assert "euler" in ksampler["input"]["required"]["sampler_name"][0]
    assert list(one) == ["MathInt"] and one["MathInt"]["output"] == ["INT"]
    assert http.get("/object_info/NoSuchNode").json() == {}


def test_file_pickers_follow_the_folder(http, comfy_server):
    image = comfy_server.dirs["input"] / f"picker{http.prefix.replace('/', '_')}.png"
    before = http.get("/object_info/LoadImage").json()["LoadImage"]["input"]["required"]["image"][0]
    assert image.name not in before
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    after = http.get("/object_info/LoadImage").json()["LoadImage"]["input"]["required"]["image"][0]
    assert image.name in after


def test_prompt_queue_and_history_shapes(http):
    assert set(http.get("/prompt").json()) == {"exec_info"}
    assert isinstance(http.get("/prompt").json()["exec_info"]["queue_remaining"], int)
    queue = http.get("/queue").json()
    assert set(queue) == {"queue_running", "queue_pending"}
    reply = http.prompt(add_show(2, 40)).json()
    prompt_id = reply["prompt_id"]
    item = wait_until(lambda: http.get(f"/history/{prompt_id}").json().get(prompt_id), 60)
    number, pid, prompt, extra, outputs = item["prompt"]
    assert pid == prompt_id and number == reply["number"] and prompt == add_show(2, 40) and outputs == ["3"]
    assert item["outputs"] == {"3": {"text": ["42"]}}
    assert item["status"]["status_str"] == "success" and item["status"]["completed"] is True
    assert [m[0] for m in item["status"]["messages"]] == ["execution_start", "execution_cached", "execution_success"]
    assert prompt_id in http.get("/history?max_items=5").json()
    assert http.get("/history/not-a-prompt").json() == {}


def test_jobs_api_shapes(http):
    reply = http.prompt(add_show(1, 1)).json()
    job = wait_until(lambda: (j := http.get(f"/jobs/{reply['prompt_id']}").json()).get("status") == "completed" and j)
    assert job["id"] == reply["prompt_id"] and job["outputs"] == {"3": {"text": ["2"]}}
    assert job["workflow"]["prompt"] == add_show(1, 1) and isinstance(job["create_time"], int)
    page = http.get("/jobs?status=completed,failed&limit=2&offset=0").json()
    assert set(page) == {"jobs", "pagination"} and len(page["jobs"]) <= 2
    assert set(page["pagination"]) == {"offset", "limit", "total", "has_more"}
    assert all(j["status"] in ("completed", "failed") for j in page["jobs"])
    assert http.get("/jobs/missing").status == 404
    assert http.get("/jobs?status=bogus").status == 400
    assert http.get("/jobs?limit=x").status == 400


def test_jobs_filter_by_workflow_sort_by_duration_and_page_as_comfyui(http):
    workflow = str(uuid.uuid4())
    salt = int(workflow[:6], 16)  # values no other test ran: nothing comes from the cache
    tagged = {"extra_pnginfo": {"workflow": {"id": workflow, "nodes": []}}}
    slow = http.prompt(sleeper(0.6, salt), extra_data=tagged).json()["prompt_id"]
    quick = http.prompt(add_show(salt, 1), extra_data=tagged).json()["prompt_id"]
    middle = http.prompt(sleeper(0.3, salt + 1), extra_data=tagged).json()["prompt_id"]
    other = http.prompt(add_show(salt, 2), extra_data={"extra_pnginfo": {"workflow": {"id": "another"}}}).json()
    for pid in (slow, quick, middle, other["prompt_id"]):
        wait_until(lambda pid=pid: http.get(f"/jobs/{pid}").json().get("status") == "completed")
    mine = http.get(f"/jobs?workflow_id={workflow}").json()
    assert {j["id"] for j in mine["jobs"]} == {slow, quick, middle} and mine["pagination"]["total"] == 3
    assert all(j["workflow_id"] == workflow for j in mine["jobs"])
    assert mine["pagination"]["limit"] is None  # no limit: every job, as ComfyUI answers
    longest = http.get(f"/jobs?workflow_id={workflow}&sort_by=execution_duration").json()["jobs"]
    assert [j["id"] for j in longest] == [slow, middle, quick]
    shortest = http.get(f"/jobs?workflow_id={workflow}&sort_by=execution_duration&sort_order=asc").json()["jobs"]
    assert [j["id"] for j in shortest] == [quick, middle, slow]
    page = http.get(f"/jobs?workflow_id={workflow}&sort_by=execution_duration&limit=1&offset=1").json()
    assert [j["id"] for j in page["jobs"]] == [middle]
    assert page["pagination"] == {"offset": 1, "limit": 1, "total": 3, "has_more": True}
    negative = http.get(f"/jobs?workflow_id={workflow}&sort_by=execution_duration&limit=2&offset=-4").json()
    assert negative["pagination"]["offset"] == 0 and [j["id"] for j in negative["jobs"]] == [slow, middle]
    for bad in ("limit=0", "limit=-1", "sort_by=duration", "sort_order=up", "offset=x"):
        assert http.get(f"/jobs?{bad}").status == 400, bad
    assert http.get("/jobs?workflow_id=no-such-workflow").json()["jobs"] == []


def test_jobs_cancel_answers_comfyuis_boolean(comfy_server):
    http = Http(comfy_server.port, "/api")
    running = http.prompt(sleeper(3, value=71)).json()["prompt_id"]
    pending = http.prompt(add_show(71, 1)).json()["prompt_id"]
    assert http.post(f"/jobs/{pending}/cancel", {}).json() == {"cancelled": True}
    assert http.post(f"/jobs/{pending}/cancel", {}).json() == {"cancelled": False}  # already cancelled: a no-op
    assert http.post("/jobs/cancel", {"job_ids": ["unknown-id", running]}).json() == {"cancelled": True}
    assert http.post("/jobs/cancel", {"job_ids": ["unknown-id"]}).json() == {"cancelled": False}
    assert http.post("/jobs/cancel", {"job_ids": "all"}).status == 400
    done = wait_until(lambda: http.get(f"/history/{running}").json().get(running))
    assert done["status"]["status_str"] == "error"  # interrupted
    assert http.get(f"/history/{pending}").json() == {}  # cancelled before it ran


def test_machine_and_model_routes(http, comfy_server):
    stats = http.get("/system_stats").json()
    assert {"os", "ram_total", "ram_free", "comfyui_version", "python_version", "pytorch_version"} <= set(stats["system"])
    assert stats["devices"][0]["type"] == "cpu" and stats["system"]["ram_total"] > 0
    assert http.get("/embeddings").json() == []
    folders = http.get("/models").json()
    assert {"checkpoints", "loras", "vae"} <= set(folders)
    lora = comfy_server.dirs["models"] / "loras" / f"style{http.prefix.replace('/', '_')}.safetensors"
    lora.parent.mkdir(exist_ok=True)
    lora.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    assert lora.name in http.get("/models/loras").json()
    assert lora.name in http.get("/models/lora").json()  # nodegraph's own kind name too
    assert http.get("/models/nope").status == 404
    assert any(f["name"] == "loras" for f in http.get("/experiment/models").json())
    assert isinstance(http.get("/extensions").json(), list)
    features = http.get("/features").json()
    assert features["max_upload_size"] > 0 and "supports_preview_metadata" in features


def test_unknown_methods_and_routes(http):
    assert http.request("DELETE", "/prompt").status == 405
    assert http.request("PUT", "/history").status == 405
    assert http.get("/no/such/route").status == 404


def test_internal_routes_of_the_frontend(comfy_server):
    http = Http(comfy_server.port)
    (comfy_server.dirs["input"] / "older.png").write_bytes(b"x")
    import os
    import time
    os.utime(comfy_server.dirs["input"] / "older.png", (time.time() - 100, time.time() - 100))
    (comfy_server.dirs["input"] / "newer.png").write_bytes(b"y")
    listed = http.get("/internal/files/input").json()
    assert listed.index("newer.png") < listed.index("older.png")
    assert http.get("/internal/files/models").status == 400
    raw = http.get("/internal/logs/raw").json()
    assert set(raw) == {"entries", "size"} and isinstance(raw["entries"], list)
    assert isinstance(http.get("/internal/logs").json(), str)
    assert "checkpoints" in http.get("/internal/folder_paths").json()
    assert http.request("PATCH", "/internal/logs/subscribe", b'{"clientId": "x", "enabled": true}',
                        {"Content-Type": "application/json"}).status == 200


def test_a_fresh_server_adds_nothing_to_its_folders(tmp_path):
    from comfykit import ServerProcess
    server = ServerProcess(tmp_path / "fresh").start()
    try:
        http = Http(server.port)
        assert http.get("/internal/files/temp").json() == []
        assert http.get("/view?filename=x.png&type=temp").status == 404
        assert list(server.dirs["output"].iterdir()) == [] and list(server.dirs["input"].iterdir()) == []
    finally:
        server.stop()
