"""``nodegraph serve --executor ray``: the canvas's jobs run on the cluster, progress included."""
from __future__ import annotations

import json
import time

from ray_helpers import PLUGIN_DIR, wf


def test_server_runs_jobs_on_ray_and_relays_progress(cluster, tmp_path):
    from websockets.sync.client import connect
    from nodegraph.ray.executor import RayExecutor
    from nodegraph.server.app import ServerConfig, start_in_thread
    dirs = {name: tmp_path / name for name in ("data", "output", "input", "models", "web")}
    for folder in dirs.values():
        folder.mkdir()
    (dirs["web"] / "index.html").write_text("<!doctype html><title>nodegraph</title>")
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=dirs["data"], output_dir=dirs["output"],
                          input_dir=dirs["input"], models_dir=dirs["models"], web_dir=dirs["web"],
                          plugin_dirs=(PLUGIN_DIR,), device="cpu", executor=RayExecutor())
    handle = start_in_thread(config)
    try:
        with connect(f"ws://127.0.0.1:{handle.port}/ws", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "queue", "id": "q1", "workflow": wf(
                s=("RaySteps", {"steps": 3}), show=("Show", {"value": "@s.value"}))}))
            events, job, deadline = [], None, time.monotonic() + 120
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if msg.get("id") == "q1":
                    job = msg["job"]
                elif msg.get("type") == "event" and msg.get("job") == job:
                    events.append(msg)
                    if msg["event"] == "done":
                        break
    finally:
        handle.stop()
    assert events[-1]["event"] == "done" and events[-1]["status"] == "success"
    assert [e["value"] for e in events if e["event"] == "progress"] == [1, 2, 3]
    executed = {e["node"]: e for e in events if e["event"] == "executed"}
    assert executed["s"]["ray_node"] in cluster.values() and executed["show"]["ui"] == {"text": "3"}
