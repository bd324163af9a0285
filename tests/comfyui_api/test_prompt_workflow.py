"""The UI workflow ComfyUI's frontend sends with a prompt (``extra_data.extra_pnginfo.workflow``)
is the job's ComfyUI workflow: the PNG it saves carries it as ComfyUI's "workflow" chunk, the PNG
reopens in the ComfyUI importer, and /history returns it."""
from __future__ import annotations

import json

from PIL import Image

from comfykit import ComfyWs, Http, solid_save

from nodegraph.api.plugins import load_registry
from nodegraph.comfyui.load import import_message


def ui_workflow(http: Http, prompt: dict, marker: str) -> dict:
    """The UI workflow the frontend would send for ``prompt`` (widgets in /object_info's order)."""
    info = http.get("/object_info").json()
    nodes, links = [], []
    for node_id, entry in prompt.items():
        spec = info[entry["class_type"]]
        order = spec["input_order"]["required"]
        linked = [name for name, value in entry["inputs"].items() if isinstance(value, list)]
        inputs = []
        for name in linked:
            source, slot = entry["inputs"][name]
            links.append([len(links) + 1, int(source), slot, int(node_id), len(inputs), spec["input"]["required"][name][0]])
            inputs.append({"name": name, "type": spec["input"]["required"][name][0], "link": len(links)})
        widgets = [entry["inputs"].get(name, spec["input"]["required"][name][1].get("default"))
                   for name in order if name not in linked and name in entry["inputs"]]
        nodes.append({"id": int(node_id), "type": entry["class_type"], "pos": [0, 0], "size": [200, 100], "flags": {},
                      "order": len(nodes), "mode": 0, "inputs": inputs,
                      "outputs": [{"name": n, "type": t, "links": [], "slot_index": i}
                                  for i, (n, t) in enumerate(zip(spec["output_name"], spec["output"]))],
                      "properties": {"Node name for S&R": entry["class_type"]}, "widgets_values": widgets})
    for link in links:
        nodes[[n["id"] for n in nodes].index(link[1])]["outputs"][link[2]]["links"].append(link[0])
    return {"id": marker, "revision": 0, "last_node_id": max(n["id"] for n in nodes), "last_link_id": len(links),
            "nodes": nodes, "links": links, "groups": [], "config": {}, "extra": {"marker": marker}, "version": 0.4}


def test_the_frontends_workflow_is_embedded_in_the_png_and_reopens(comfy_server):
    http = Http(comfy_server.port)
    registry = load_registry(use_env=False)
    for red, marker in ((0.15, "wf-a"), (0.85, "wf-b")):
        prompt = solid_save(red, prefix=f"embedded-{marker}")
        sent = ui_workflow(http, prompt, marker)
        with ComfyWs(comfy_server.port) as ws:
            reply = http.prompt(prompt, client_id=ws.client_id, extra_data={"extra_pnginfo": {"workflow": sent}})
            pid = reply.json()["prompt_id"]
            ws.until_done(pid)
        item = http.get(f"/history/{pid}").json()[pid]
        assert item["prompt"][3]["extra_pnginfo"]["workflow"] == sent  # /history returns it
        (ref,) = item["outputs"]["2"]["images"]
        with Image.open(comfy_server.dirs["output"] / ref["filename"]) as png:
            texts = dict(png.info)
        assert json.loads(texts["workflow"]) == sent  # ComfyUI's chunk: the workflow the frontend sent
        assert json.loads(texts["prompt"])["1"]["inputs"]["red"] == red
        reopened = import_message({"workflow": texts["workflow"], "prompt": texts["prompt"], "name": ref["filename"]},
                                  registry)
        nodes = reopened["workflow"]["nodes"]
        assert reopened["source"] == "comfyui"
        assert nodes["1"]["type"] == "SolidImage" and nodes["1"]["inputs"]["red"] == red
        assert nodes["2"]["inputs"]["prefix"] == f"embedded-{marker}"


def test_a_workflow_that_does_not_match_the_prompt_is_embedded_as_sent(comfy_server):
    """ComfyUI embeds extra_pnginfo as the client sent it, whatever it holds."""
    http = Http(comfy_server.port)
    sent = {"id": "not-this-graph", "nodes": [], "links": [], "version": 0.4}
    with ComfyWs(comfy_server.port) as ws:
        pid = http.prompt(solid_save(0.33, prefix="as-sent"), client_id=ws.client_id,
                          extra_data={"extra_pnginfo": {"workflow": sent}}).json()["prompt_id"]
        ws.until_done(pid)
    (ref,) = http.get(f"/history/{pid}").json()[pid]["outputs"]["2"]["images"]
    with Image.open(comfy_server.dirs["output"] / ref["filename"]) as png:
        assert json.loads(png.info["workflow"]) == sent
