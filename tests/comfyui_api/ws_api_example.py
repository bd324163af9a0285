"""A client in the shape of ComfyUI's own websocket API example (script_examples in ComfyUI):
queue a prompt with POST /prompt, wait on /ws for ``executing`` with ``node: null``, read
/history and fetch every image through /view. Nothing in it knows about nodegraph.

    python ws_api_example.py 127.0.0.1:8188 prompt.json out_dir
"""
import json
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import websocket  # websocket-client, as ComfyUI's example uses

server_address = sys.argv[1]
client_id = str(uuid.uuid4())


def queue_prompt(prompt, prompt_id):
    body = json.dumps({"prompt": prompt, "client_id": client_id, "prompt_id": prompt_id}).encode("utf-8")
    urllib.request.urlopen(urllib.request.Request(f"http://{server_address}/prompt", data=body)).read()


def get_image(filename, subfolder, folder_type):
    query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
    with urllib.request.urlopen(f"http://{server_address}/view?{query}") as response:
        return response.read()


def get_history(prompt_id):
    with urllib.request.urlopen(f"http://{server_address}/history/{prompt_id}") as response:
        return json.loads(response.read())


def get_images(ws, prompt):
    prompt_id = str(uuid.uuid4())
    queue_prompt(prompt, prompt_id)
    while True:
        out = ws.recv()
        if isinstance(out, str):
            message = json.loads(out)
            if message["type"] == "executing":
                data = message["data"]
                if data["node"] is None and data["prompt_id"] == prompt_id:
                    break  # the prompt is done
        # binary frames are previews: skipped
    images = {}
    for node_id, node_output in get_history(prompt_id)[prompt_id]["outputs"].items():
        images[node_id] = [get_image(i["filename"], i["subfolder"], i["type"]) for i in node_output.get("images", [])]
    return images


if __name__ == "__main__":
    prompt = json.loads(Path(sys.argv[2]).read_text())
    out_dir = Path(sys.argv[3])
    ws = websocket.WebSocket()
    ws.connect(f"ws://{server_address}/ws?clientId={client_id}")
    for node_id, images in get_images(ws, prompt).items():
        for n, data in enumerate(images):
            (out_dir / f"{node_id}_{n}.png").write_bytes(data)
    ws.close()
