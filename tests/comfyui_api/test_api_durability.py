"""A prompt queued through ComfyUI's API is one job of the durable queue: it survives kill -9,
keeps its ComfyUI prompt, client and number, runs after the restart, and shows in both
histories (as does a job queued natively)."""
from __future__ import annotations

from comfykit import ComfyWs, Http, NativeClient, ServerProcess, sleeper, solid_save, wait_until


def test_a_comfyui_prompt_survives_kill_9_and_shows_in_both_histories(tmp_path):
    server = ServerProcess(tmp_path / "srv", aliases=False).start()
    try:
        http = Http(server.port)
        blocker = http.prompt(sleeper(4)).json()["prompt_id"]
        wait_until(lambda: http.get("/queue").json()["queue_running"])
        queued = http.prompt(solid_save(0.6, prefix="durable"), client_id="client-42",
                             extra_data={"extra_pnginfo": {"workflow": {"id": "wf-1"}},
                                         "api_key_comfy_org": "never-stored"}).json()
        with NativeClient(server.port) as native:
            job = native.queue(_native_add(2, 3))["job"]
        assert {item[1] for item in http.get("/queue").json()["queue_pending"]} == {queued["prompt_id"], job}
        server.kill()
        assert b"never-stored" not in (server.dirs["data"] / "jobs.sqlite3").read_bytes()

        server.start()
        http = Http(server.port)
        pending = http.get("/queue").json()
        kept = {item[1]: item for item in pending["queue_running"] + pending["queue_pending"]}
        assert set(kept) == {blocker, queued["prompt_id"], job}
        number, pid, prompt, extra, outputs = kept[queued["prompt_id"]]
        assert number == queued["number"] and prompt == solid_save(0.6, prefix="durable") and outputs == ["2"]
        assert extra.pop("create_time") > 0
        assert extra == {"extra_pnginfo": {"workflow": {"id": "wf-1"}}, "client_id": "client-42"}
        with ComfyWs(server.port, client_id="client-42") as ws:  # the same client, reconnected
            done = wait_until(lambda: all(http.get(f"/history/{p}").json() for p in (blocker, pid, job)), 120)
            assert done
            item = http.get(f"/history/{pid}").json()[pid]
            (image,) = item["outputs"]["2"]["images"]
            assert http.get(f"/view?filename={image['filename']}").body[:8] == b"\x89PNG\r\n\x1a\n"
            assert any(m["type"] == "executed" and m["data"]["prompt_id"] == pid for m in ws.seen + _drain(ws))
        native_job = http.get(f"/history/{job}").json()[job]
        assert native_job["prompt"][2]["sum"]["class_type"] == "MathInt"  # a native job, as an API prompt
        assert native_job["outputs"] == {"show": {"text": ["5"]}}
        with NativeClient(server.port) as native:
            entries = {j["job"]: j for j in native.request({"type": "history", "limit": 100})["jobs"]}
        assert entries[pid]["status"] == "success" and entries[pid]["outputs"] == [image["filename"]]
        assert entries[blocker]["attempts"] == 2  # re-queued by the restart, ran again
        assert http.get(f"/jobs/{pid}").json()["workflow_id"] == "wf-1"
    finally:
        server.stop()


def _native_add(a: int, b: int) -> dict:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "a": {"type": "Int", "inputs": {"value": a}},
        "sum": {"type": "MathInt", "inputs": {"a": {"from": "a", "output": "value"}, "b": b}},
        "show": {"type": "Show", "inputs": {"value": {"from": "sum", "output": "value"}}}}}


def _drain(ws) -> list:
    out = []
    try:
        while True:
            out.append(ws.recv(timeout=0.5))
    except TimeoutError:
        return out
