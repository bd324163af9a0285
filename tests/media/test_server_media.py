"""A server fed hostile media, hostile uploads and a crashing node keeps serving: each job fails
with a one-line error (its traceback in the record, the event and the log), each refused upload
leaves nothing behind, and the next job runs."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from media_cases import IMAGES, PLUGINS, VIDEOS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from serverkit import Client, link, workflow  # noqa: E402

MEDIA = {item.name: item for item in IMAGES + VIDEOS}


@pytest.fixture
def media_server(tmp_path, hostile_dir):
    from nodegraph.server.app import ServerConfig, start_in_thread
    d = {name: tmp_path / name for name in ("data", "output", "models", "web")}
    for p in d.values():
        p.mkdir()
    (d["web"] / "index.html").write_text("<!doctype html>")
    shutil.copytree(hostile_dir, tmp_path / "input")
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=d["data"], output_dir=d["output"],
                          input_dir=tmp_path / "input", models_dir=d["models"], web_dir=d["web"],
                          plugin_dirs=(PLUGINS,), device="cpu", max_upload=64 << 10)
    handle = start_in_thread(config)
    yield handle, tmp_path
    handle.stop()


def _load(kind: str, name: str) -> dict:
    node_type, socket = ("LoadImage", "image") if kind == "image" else ("LoadVideo", "video")
    nodes = {"load": {"type": node_type, "inputs": {socket: name}}}
    if kind == "video":
        nodes["frame"] = {"type": "ExtractFrame", "inputs": {"video": link("load", "video")}}
        socket, source = "image", "frame"
    else:
        source = "load"
    nodes["show"] = {"type": "Show", "inputs": {"value": link(source, socket)}}
    return workflow(nodes)


def _run(client: Client, wf: dict) -> list[dict]:
    queued = client.queue(wf)
    assert queued["type"] == "queued", queued
    return client.events(queued["job"], timeout=120)


HOSTILE = ["bomb_11000.png", "bomb_16000.png", "truncated.png", "a_folder.png", "frames_10000.gif",
           "declares_100000.mp4", "declares_16000.mp4", "fps_million.mp4", "truncated.mp4", "no_frames.mp4"]


def test_hostile_media_fail_their_job_in_one_line_and_the_server_keeps_serving(media_server):
    handle, _root = media_server
    with Client(handle.port) as client:
        for name in HOSTILE:
            item = MEDIA[name]
            events = _run(client, _load(item.kind, name))
            (error,) = [e for e in events if e["event"] == "error"]
            assert error["node"] == "load" and error["input"] == item.kind and error["exception"] == "NodeError"
            assert "\n" not in error["message"] and repr(name) in error["message"]
            assert any(word in error["message"] for word in item.says), error["message"]
            assert events[-1]["status"] == "failed"
            good = _run(client, _load(item.kind, "good.png" if item.kind == "image" else "good.mp4"))
            assert good[-1]["status"] == "success", (name, good)


def test_a_crashing_node_reports_one_line_with_its_traceback_in_the_record_event_and_log(media_server):
    handle, root = media_server
    with Client(handle.port) as client:
        queued = client.queue(workflow({"boom": {"type": "TestBoom", "inputs": {}},
                                        "show": {"type": "Show", "inputs": {"value": link("boom", "value")}}}))
        events = client.events(queued["job"])
        (error,) = [e for e in events if e["event"] == "error"]
        assert error["exception"] == "RuntimeError" and error["message"].startswith("kaboom in a helper")
        assert "Traceback (most recent call last)" in error["traceback"] and "in _deep" in error["traceback"]
        record = client.request({"type": "job", "job": queued["job"]})
        assert "in _deep" in record["error"]["traceback"] and record["status"] == "failed"
        log = (root / "data" / "errors.log").read_text()
        assert f"job {queued['job']} node 'boom' (TestBoom): RuntimeError" in log and "in _deep" in log
        after = client.queue(workflow({"boom": {"type": "TestBoom", "inputs": {"fail": False, "value": 3}},
                                       "show": {"type": "Show", "inputs": {"value": link("boom", "value")}}}))
        assert client.events(after["job"])[-1]["status"] == "success"


def _upload_bytes(client: Client, name: str, data: bytes, kind: str = "image", **extra) -> dict:
    client._n += 1
    msg_id = f"u{client._n}"
    client.send({"type": "upload", "id": msg_id, "name": name, "kind": kind, **extra})
    client.send(data)
    return client.wait(lambda m: m.get("id") == msg_id)


def _png_bytes(_root: Path = None) -> bytes:
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("name,kind,data,says", [
    ("../../escape.png", "image", "png", None),  # stored as escape.png, inside
    ("/etc/passwd.png", "image", "png", None),
    ("a\x00b.png", "image", "png", "NUL"),
    ("x" * 2000 + ".png", "image", "png", "characters long"),
    ("folder/", "image", "png", "names a folder"),
    ("..", "image", "png", "names a folder"),
    ("a_folder.png", "image", "png", "is a folder"),  # overwrite onto a folder of that name
    ("fake.png", "image", b"GIF89a" + bytes(40), "not a PNG file"),
    ("clip.mp4", "video", b"\x89PNG\r\n\x1a\n" + bytes(40), "not a MP4 file"),
    ("big.png", "image", b"\x89PNG\r\n\x1a\n" + bytes(70 << 10), "over the server's limit"),
    ("script.sh", "image", "png", "image uploads must end in"),
])
def test_hostile_uploads(media_server, name, kind, data, says):
    handle, root = media_server
    input_dir = root / "input"
    before = _snapshot(input_dir)
    payload = _png_bytes(root) if data == "png" else data
    with Client(handle.port) as client:
        reply = _upload_bytes(client, name, payload, kind, overwrite=(name == "a_folder.png"))
        if says is None:
            assert reply["type"] == "uploaded", reply
            stored = input_dir / reply["name"]
            assert stored.parent == input_dir and stored.read_bytes() == payload
            assert reply["name"] in ("escape.png", "passwd.png")
        else:
            assert reply["type"] == "error" and reply["code"] == "bad_upload", reply
            assert says in reply["message"], reply["message"]
            assert _snapshot(input_dir) == before  # nothing written, no temporary file left
        good = _upload_bytes(client, "after.png", _png_bytes(root))
        assert good["type"] == "uploaded" and (input_dir / "after.png").is_file()
        events = _run(client, _load("image", "after.png"))
        assert events[-1]["status"] == "success"
    assert not list(root.glob("*.png")) and not (root / "etc").exists()  # nothing beside the input folder


def test_a_declared_size_over_the_limit_is_refused_before_the_bytes(media_server):
    handle, root = media_server
    with Client(handle.port) as client:
        hello = client.request({"type": "hello"})
        assert hello["limits"]["max_upload"] == 64 << 10
        client.send({"type": "upload", "id": "big", "name": "big.png", "size": 10 << 20})
        reply = client.wait(lambda m: m.get("id") == "big")
        assert reply["code"] == "bad_upload" and "10,485,760 bytes" in reply["message"]
        client.send(b"\x89PNG\r\n\x1a\n")  # bytes nobody asked for: refused, nothing stored
        assert client.recv()["code"] == "bad_upload"
        assert not (root / "input" / "big.png").exists()
        ok = _upload_bytes(client, "small.png", _png_bytes(root), size=len(_png_bytes(root)))
        assert ok["type"] == "uploaded"
