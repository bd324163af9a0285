"""The websocket protocol end to end with a real client (docs/protocol.md)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request

import pytest

from nodegraph.server import static
from serverkit import Client, add_show, link, sleeper, workflow


def test_core_import_does_not_import_websockets():
    code = ("import sys, nodegraph, nodegraph.cli.main, nodegraph.run.session; "
            "print([m for m in ('websockets', 'aiohttp') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_hello_catalogue_and_queue_state(client):
    hello = client.request({"type": "hello"})
    assert hello["version"] == 1 and hello["token_required"] is False and hello["limits"]["max_message"] > 0
    cat = client.request({"type": "catalogue"})
    types = {n["type"] for n in cat["nodes"]}
    assert {"Int", "MathInt", "Show", "LoadImage", "SaveImage", "TestSleep"} <= types
    assert isinstance(cat["types"], list)
    assert client.request({"type": "queue_state"}) == {"type": "queue_state", "id": "r3", "running": None,
                                                       "pending": []}
    assert client.request({"type": "ping"})["type"] == "pong"


def test_queue_events_done_and_history(client):
    queued = client.queue(add_show(2, 3), client_ref="mine")
    assert queued["type"] == "queued" and queued["position"] in (0, 1) and queued["client_ref"] == "mine"
    events = client.events(queued["job"])
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("executed") == 3
    assert events[-1]["status"] == "success" and events[-1]["executed"] == 3
    show = next(e for e in events if e["event"] == "executed" and e["node"] == "show")
    assert show["ui"] == {"text": "5"}
    assert all(e["type"] == "event" and e["job"] == queued["job"] for e in events)
    # the queued reply came before any event of the job
    first_event = next(i for i, m in enumerate(client.seen) if m.get("type") == "event")
    assert client.seen.index(queued) < first_event
    # status broadcasts on queue changes
    client.wait(lambda m: m["type"] == "status" and m["running"] is None and m["pending"] == 0)
    history = client.request({"type": "history"})["jobs"]
    assert history[0]["job"] == queued["job"] and history[0]["status"] == "success"
    assert history[0]["ui"] == {"show": {"text": "5"}} and history[0]["client_ref"] == "mine"
    job = client.request({"type": "job", "job": queued["job"]})
    assert job["workflow"] == add_show(2, 3)
    # the same workflow again is served from the cache
    again = client.queue(add_show(2, 3))
    assert client.events(again["job"])[-1]["cached"] == 3


def test_validation_problems_are_structured(client):
    bad = workflow({"a": {"type": "NoSuchNode"},
                    "m": {"type": "MathInt", "inputs": {"a": link("ghost", "value"), "op": "pow"}},
                    "img": {"type": "LoadImage", "inputs": {"image": "../../etc/passwd"}}})
    reply = client.queue(bad)
    assert reply["type"] == "error" and reply["code"] == "invalid_workflow"
    problems = reply["problems"]
    assert {p.get("node") for p in problems} >= {"a", "m", "img"}
    assert all({"code", "message"} <= set(p) for p in problems)
    assert any(p["node"] == "img" and p["input"] == "image" for p in problems)  # path escape, at queue time
    assert client.request({"type": "queue_state"})["pending"] == []  # nothing queued
    reply = client.queue({"format": "something-else"})
    assert reply["code"] == "invalid_workflow" and reply["problems"][0]["code"] == "bad_format"


def test_malformed_messages_get_errors_and_the_connection_survives(client):
    client.send("{not json")
    assert client.recv()["code"] == "bad_json"
    client.send(json.dumps([1, 2]))
    assert client.recv()["code"] == "bad_message"
    assert client.request({"type": "launch_missiles"})["code"] == "unknown_type"
    assert client.request({"type": "cancel"})["code"] == "bad_message"
    assert client.request({"type": "cancel", "job": "nope"})["code"] == "not_found"
    assert client.request({"type": "interrupt", "job": "nope"})["code"] == "not_found"
    assert client.request({"type": "files", "kind": "../../etc"})["code"] == "bad_kind"
    client.send(b"\x89PNG stray binary")
    assert client.recv()["code"] == "bad_upload"
    assert client.request({"type": "hello"})["type"] == "hello"
    queued = client.queue(add_show(1, 1))
    assert client.events(queued["job"])[-1]["status"] == "success"


def test_interrupt_stops_the_running_job_and_cancel_a_pending_one(client):
    slow = client.queue(sleeper(30))
    later = client.queue(sleeper(30, 1))
    last = client.queue(add_show(4, 4))
    client.wait(lambda m: m.get("event") == "progress" and m.get("job") == slow["job"])
    assert client.request({"type": "interrupt", "job": later["job"]})["code"] == "not_running"
    assert client.request({"type": "cancel", "job": slow["job"]})["code"] == "not_pending"
    reply = client.request({"type": "cancel", "job": later["job"]})
    assert reply["type"] == "cancelled" and reply["job"] == later["job"]
    assert client.request({"type": "interrupt", "job": slow["job"]})["job"] == slow["job"]
    events = client.events(slow["job"])
    assert [e["event"] for e in events][-2:] == ["interrupted", "done"] and events[-1]["status"] == "interrupted"
    # stopped within the node, at a step: its last progress is far from the end of its 30 s
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["value"] < progress[-1]["max"] / 2
    assert not any(e["event"] == "executed" for e in events)
    # the worker goes on with the next pending job; the cancelled one never runs
    assert client.events(last["job"])[-1]["status"] == "success"
    statuses = {j["job"]: j["status"] for j in client.request({"type": "history"})["jobs"]}
    assert statuses == {slow["job"]: "interrupted", later["job"]: "cancelled", last["job"]: "success"}
    assert not any(m.get("job") == later["job"] and m.get("type") == "event" for m in client.seen)
    reply = client.request({"type": "interrupt"})
    assert reply["type"] == "interrupting" and reply["job"] is None


def test_event_loop_stays_responsive_while_a_job_runs(client):
    job = client.queue(sleeper(30))
    client.wait(lambda m: m.get("event") == "progress")
    for _ in range(20):
        assert client.request({"type": "ping"})["type"] == "pong"
    # all twenty answered while the 30 s job was still running: the loop is never blocked by it
    assert not any(m.get("job") == job["job"] and m.get("event") == "done" for m in client.seen)
    client.request({"type": "interrupt"})
    assert client.events(job["job"])[-1]["status"] == "interrupted"


def test_subscribers_get_events_of_other_connections(server, client):
    with Client(server.port) as watcher, Client(server.port) as bystander:
        assert watcher.request({"type": "subscribe", "job": "all"})["type"] == "subscribed"
        queued = client.queue(add_show(7, 0))
        assert watcher.events(queued["job"])[-1]["status"] == "success"
        client.events(queued["job"])
        bystander.wait(lambda m: m["type"] == "status" and m["running"] is None and m["pending"] == 0)
        bystander.request({"type": "hello"})
        assert not any(m.get("type") == "event" for m in bystander.seen)


def _png(color=(200, 10, 10)) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, format="PNG")
    return buf.getvalue()


def test_upload_png_then_use_it_in_loadimage(server, client, dirs):
    data = _png()
    client.send({"type": "upload", "id": "u1", "name": "../My Cat.png", "kind": "image"})
    client.send(data)
    reply = client.wait(lambda m: m.get("id") == "u1")
    assert reply == {"type": "uploaded", "id": "u1", "name": "My_Cat.png", "kind": "image", "size": len(data)}
    assert (dirs["input"] / "My_Cat.png").read_bytes() == data
    # same bytes reuse the name; different bytes get a new one
    client.send({"type": "upload", "id": "u2", "name": "My_Cat.png"}); client.send(data)
    assert client.wait(lambda m: m.get("id") == "u2")["name"] == "My_Cat.png"
    client.send({"type": "upload", "id": "u3", "name": "My_Cat.png"}); client.send(_png((0, 0, 255)))
    assert client.wait(lambda m: m.get("id") == "u3")["name"] == "My_Cat-1.png"
    client.send({"type": "upload", "id": "u4", "name": "fake.png"}); client.send(b"GIF89a....")
    assert client.wait(lambda m: m.get("id") == "u4")["code"] == "bad_upload"
    files = client.request({"type": "files", "kind": "image"})
    assert files["files"] == ["My_Cat-1.png", "My_Cat.png"]

    wf = workflow({"load": {"type": "LoadImage", "inputs": {"image": "My_Cat.png"}},
                   "save": {"type": "SaveImage", "inputs": {"images": link("load", "image"), "prefix": "cat"}}})
    queued = client.queue(wf)
    assert queued["type"] == "queued", queued
    events = client.events(queued["job"], timeout=60)
    assert events[-1]["status"] == "success", events
    preview = client.wait(lambda m: m["type"] == "preview") if not any(
        m["type"] == "preview" for m in client.seen) else next(m for m in client.seen if m["type"] == "preview")
    assert preview["job"] == queued["job"] and preview["node"] == "save" and preview["url"].startswith("/output/cat_")
    with urllib.request.urlopen(server.url.rstrip("/") + preview["url"]) as resp:
        assert resp.headers["Content-Type"] == "image/png"
        body = resp.read()
    from PIL import Image
    assert Image.open(io.BytesIO(body)).getpixel((0, 0)) == (200, 10, 10)
    entry = client.request({"type": "history", "limit": 1})["jobs"][0]
    assert entry["urls"] == [preview["url"]] and entry["outputs"] == [preview["name"]]
    # a run served from the cache previews the same file
    again = client.queue(wf)
    cached = client.events(again["job"])
    assert cached[-1]["cached"] == 2 and cached[-1]["urls"] == [preview["url"]]
    previews = [m for m in client.seen if m["type"] == "preview" and m["job"] == again["job"]]
    assert [m["url"] for m in previews] == [preview["url"]]  # sent right after the event, before done


def test_files_for_pickers(client, dirs):
    (dirs["models"] / "lora").mkdir()
    (dirs["models"] / "lora" / "style.safetensors").write_bytes(b"x")
    (dirs["models"] / "lora" / ".hidden.safetensors").write_bytes(b"x")
    (dirs["input"] / "a.png").write_bytes(b"x")
    (dirs["input"] / "notes.txt").write_text("x")
    (dirs["output"] / "out.png").write_bytes(b"x")
    assert client.request({"type": "files", "kind": "image"})["files"] == ["a.png"]
    assert "style.safetensors" in client.request({"type": "files", "kind": "lora"})["files"]
    assert ".hidden.safetensors" not in client.request({"type": "files", "kind": "lora"})["files"]
    assert client.request({"type": "files", "kind": "output"})["files"] == ["out.png"]


def test_pickers_list_a_comfyui_models_folder(client, dirs):
    models = dirs["models"]
    for name in ("checkpoints/sd_xl_base_1.0.safetensors", "checkpoints/old.ckpt", "loras/lcm-lora-sdxl.safetensors",
                 "loras/styles/watercolor.safetensors", "vae/sdxl_vae.safetensors", "diffusers/sdxl-base/model_index.json",
                 "diffusers/sdxl-base/unet/diffusion_pytorch_model.safetensors", "upscale_models/4x.safetensors"):
        (models / name).parent.mkdir(parents=True, exist_ok=True)
        (models / name).write_bytes(b"x")
    listed = {kind: client.request({"type": "files", "kind": kind})["files"] for kind in ("checkpoint", "lora", "vae")}
    assert listed == {"checkpoint": ["sd_xl_base_1.0.safetensors", "sdxl-base"],
                      "lora": ["lcm-lora-sdxl.safetensors", "styles/watercolor.safetensors"],
                      "vae": ["sdxl_vae.safetensors"]}


def test_static_files(server):
    with urllib.request.urlopen(server.url) as resp:
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert b"nodegraph" in resp.read()
    for path in ("app.js", "web/app.js"):
        with urllib.request.urlopen(server.url + path) as resp:
            assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert resp.headers["Cache-Control"] == "no-cache"
    with urllib.request.urlopen(server.url + "favicon.ico") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/svg+xml"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "nope.js")
    assert info.value.code == 404
    info.value.close()


def test_default_canvas_is_the_shipped_one(make_server):
    """No --web-dir: the canvas the package ships (nodegraph/web in a wheel, web/ in a checkout)."""
    assert (static.default_web_dir() / "js" / "main.js").is_file()
    handle = make_server(web_dir=None)
    with urllib.request.urlopen(handle.url) as resp:
        assert b"js/main.js" in resp.read()
    with urllib.request.urlopen(handle.url + "js/main.js") as resp:
        assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8" and b"import" in resp.read()


@pytest.mark.parametrize("text", [
    '{"type": "queue", "id": 1, "workflow": {"n": 1' + "0" * 5000 + "}}",
    '{"type": "ping", "id": 2, "n": NaN}',
    '{"type": "ping", "id": 3, "n": Infinity}',
    '{"type": "ping", "id": 4, "n": 1e400}',
    "[" * 100_000 + "]" * 100_000,
    '{"type": "queue", "workflow": ' + '{"a": ' * 500 + "1" + "}" * 500 + "}",
], ids=["5000-digit int", "NaN", "Infinity", "1e400", "100k deep", "500 deep"])
def test_hostile_json_gets_bad_json_and_the_connection_stays(client, text):
    client.send(text)
    reply = client.recv()
    assert reply["type"] == "error" and reply["code"] == "bad_json", reply
    assert client.request({"type": "ping"})["type"] == "pong"
    assert client.request({"type": "queue_state"})["pending"] == []  # nothing was queued
