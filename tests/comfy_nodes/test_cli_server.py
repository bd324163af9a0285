"""ComfyUI custom-node packs through the command line and the server's websocket protocol, with
the disk cache across processes."""
from __future__ import annotations

import json

from comfy_nodes_helpers import PACKS, cli, link, workflow
from nodegraph.server.app import ServerConfig, start_in_thread

# Our nodes around a pack's nodes: SolidImage -> ToolsInvert -> SaveImage, a list through a pack
# node into ours, a text shown through a pack's output node, and a node re-run on every job.
JOB = workflow(
    s=("SolidImage", {"width": 8, "height": 8, "red": 0.2, "green": 0.2, "blue": 0.2}),
    inv=("ToolsInvert", {"image": link("s", "image")}),
    save=("SaveImage", {"images": link("inv", "image"), "prefix": "comfy"}),
    rep=("ToolsRepeatBatch", {"image": link("inv", "image"), "amount": 2}),
    split=("ToolsSplitBatch", {"images": link("rep", "image")}),
    count=("ToolsCountList", {"images": link("split", "images")}),
    show=("ToolsShowText", {"text": link("count", "text")}),
    noise=("ToolsNoise", {}), shown=("Show", {"value": link("noise", "float")}),
)


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_cli_runs_pack_nodes_and_a_second_process_reruns_only_what_is_changed(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(JOB))
    args = ("run", str(path), "--comfy-nodes", str(PACKS), "--events", "jsonl", "--cache-dir", str(tmp_path / "cache"),
            "--device", "cpu")
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    events = _events(first.stdout)  # every stdout line is an event: packs' prints went to stderr
    assert "pip_at_import loaded" in first.stderr and "pip_at_import loaded" not in first.stdout
    assert "warning: plugin comfy:needs_samplers:" in first.stderr and "comfy.samplers" in first.stderr
    executed = {e["node"]: e for e in events if e["event"] == "executed"}
    assert executed["show"]["ui"]["text"] == "count: 2"
    assert set(executed) == set(JOB["nodes"])
    second = cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    events = _events(second.stdout)
    assert {e["node"] for e in events if e["event"] == "executed"} == {"noise", "shown"}  # IS_CHANGED NaN
    cached = {e["node"]: e for e in events if e["event"] == "cached"}
    assert cached["show"]["ui"]["text"] == "count: 2" and cached["save"]["outputs"]


def test_cli_validate_and_nodes_see_pack_nodes(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(workflow(e=("ToolsEvenNumber", {"number": 3}), show=("Show", {"value": link("e", "int")}))))
    out = cli("validate", str(bad), "--comfy-nodes", str(PACKS), "--json", cwd=tmp_path)
    assert out.returncode == 2
    assert json.loads(out.stdout) == [{"code": "bad_value", "message": "number must be even", "node": "e",
                                       "input": "number"}]
    listed = cli("nodes", "--json", cwd=tmp_path, env={"NODEGRAPH_COMFY_NODES": str(PACKS)})
    assert listed.returncode == 0, listed.stderr
    catalogue = json.loads(listed.stdout)
    invert = next(n for n in catalogue["nodes"] if n["type"] == "ToolsInvert")
    assert invert["display_name"] == "Invert Image (tools)" and invert["plugin"] == "comfy:image_tools"
    assert catalogue["comfy_packs"]["comfy:image_tools"]["web_directory"].endswith("image_tools/web")
    assert any(f["plugin"] == "comfy:missing_module" for f in catalogue["failures"])
    text = cli("nodes", "--comfy-nodes", str(PACKS), cwd=tmp_path)
    assert "ToolsBrightness(image:IMAGE, strength:FLOAT=1.0, mode:STRING=\"multiply\", [mask:MASK])" in text.stdout


def test_the_server_runs_pack_nodes_over_its_websocket_and_caches_them(tmp_path):
    from serverkit import Client
    folders = {name: tmp_path / name for name in ("data", "output", "input", "models", "web")}
    for folder in folders.values():
        folder.mkdir()
    (folders["web"] / "index.html").write_text("<!doctype html><title>canvas</title>")
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=folders["data"], output_dir=folders["output"],
                          input_dir=folders["input"], models_dir=folders["models"], web_dir=folders["web"],
                          comfy_dirs=(PACKS,), device="cpu")
    with start_in_thread(config) as server, Client(server.port) as client:
        catalogue = client.request({"type": "catalogue"})
        assert any(n["type"] == "ToolsSavePNG" for n in catalogue["nodes"])
        wf = workflow(s=("SolidImage", {"width": 8, "height": 8}),
                      png=("ToolsSavePNG", {"images": link("s", "image"), "filename_prefix": "served"}),
                      who=("ToolsWhoAmI", {"tag": "ws"}), show=("ToolsShowText", {"text": link("who", "string")}))
        first = client.events(client.queue(wf)["job"], timeout=60)
        executed = {e["node"]: e for e in first if e["event"] == "executed"}
        assert executed["png"]["ui"]["images"] == ["served_00001_.png"] and executed["png"]["urls"]
        assert json.loads(executed["show"]["ui"]["text"])["tag"] == "ws"
        assert any(e["event"] == "message" and e["name"] == "image_tools.shown" for e in first)
        assert (folders["output"] / "served_00001_.png").is_file()
        second = client.events(client.queue(wf)["job"], timeout=60)
        assert [e["node"] for e in second if e["event"] == "executed"] == []
        assert {e["node"] for e in second if e["event"] == "cached"} == {"s", "png", "who", "show"}
        refused = client.queue(workflow(e=("ToolsEvenNumber", {"number": 5}), show=("Show", {"value": link("e", "int")})))
        assert refused["type"] == "error" and refused["problems"] == [
            {"code": "bad_value", "message": "number must be even", "node": "e", "input": "number"}]
