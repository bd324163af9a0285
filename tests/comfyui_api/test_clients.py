"""Real ComfyUI clients, unmodified: a client library from PyPI (comfy-api-simplified) and a
script in the shape of ComfyUI's own websocket API example."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from comfykit import ServerProcess, png, solid_save

HERE = Path(__file__).resolve().parent


def titled(prompt: dict, titles: dict[str, str]) -> dict:
    return {nid: {**node, "_meta": {"title": titles.get(nid, node["class_type"])}} for nid, node in prompt.items()}


def in_fresh_thread(call):
    """``call()`` in a thread of its own, as a user's script runs it: the client calls
    ``asyncio.run``, which refuses to start where an event loop already runs, and the browser
    tests' Playwright session (sync API, one per test session) leaves one running on the main
    thread."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def test_comfyuis_websocket_example_script_gets_the_images(comfy_server, tmp_path):
    images = []
    for red in (0.2, 0.8):
        (tmp_path / "prompt.json").write_text(json.dumps(solid_save(red, prefix="example", size=20)))
        out = tmp_path / f"out{red}"
        out.mkdir()
        subprocess.run([sys.executable, str(HERE / "ws_api_example.py"), comfy_server.address,
                        str(tmp_path / "prompt.json"), str(out)], check=True, timeout=120)
        (image,) = out.iterdir()
        images.append(image.read_bytes())
    from PIL import Image
    reds = [Image.open(io.BytesIO(b)).convert("RGB").getpixel((0, 0))[0] for b in images]
    assert reds == [round(0.2 * 255), round(0.8 * 255)]


def test_comfy_api_simplified_from_pypi(comfy_server, tmp_path):
    from comfy_api_simplified import ComfyApiWrapper, ComfyWorkflowWrapper
    api = ComfyApiWrapper(f"http://{comfy_server.address}")
    assert "SaveImage" in api.get_object_info()
    assert api.get_system_stats()["devices"]
    image = tmp_path / "client-upload.png"
    image.write_bytes(png((30, 60, 90), (10, 10)))
    uploaded = api.upload_image(image)
    assert uploaded["subfolder"] == "default_upload_folder"
    name = f"{uploaded['subfolder']}/{uploaded['name']}"
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": name}},
              "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "simplified"}}}
    wrapper = ComfyWorkflowWrapper(titled(prompt, {"2": "Save Image"}))
    results = in_fresh_thread(lambda: api.queue_and_wait_images(wrapper, "Save Image"))
    (data,) = results.values()
    from PIL import Image
    assert Image.open(io.BytesIO(data)).convert("RGB").getpixel((5, 5)) == (30, 60, 90)
    assert api.get_queue() == {"queue_running": [], "queue_pending": []}
    api.interrupt()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("client-token"), token="client-t0ken").start()
    yield server
    server.stop()


def test_comfy_api_simplified_with_the_token_as_password(token_server):
    from comfy_api_simplified import ComfyApiWrapper, ComfyWorkflowWrapper
    anonymous = ComfyApiWrapper(f"http://{token_server.address}")
    with pytest.raises(Exception):
        anonymous.get_queue()
    api = ComfyApiWrapper(f"http://{token_server.address}", user="me", password="client-t0ken")
    wrapper = ComfyWorkflowWrapper(titled(solid_save(0.5, prefix="tokened"), {"2": "Save"}))
    (data,) = in_fresh_thread(lambda: api.queue_and_wait_images(wrapper, "Save")).values()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


SD15 = {  # ComfyUI's default text-to-image graph, on the comfy pack's tiny SD1.5 demo model
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "demo:tiny-sd15"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 5, "steps": 2, "cfg": 8.0,
                                               "sampler_name": "euler", "scheduler": "normal", "positive": ["6", 0],
                                               "negative": ["7", 0], "latent_image": ["5", 0], "denoise": 1.0}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "ComfyUI"}},
}


def test_the_example_script_runs_comfyuis_default_graph(comfy_server, tmp_path):
    (tmp_path / "prompt.json").write_text(json.dumps(SD15))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, str(HERE / "ws_api_example.py"), comfy_server.address,
                    str(tmp_path / "prompt.json"), str(out)], check=True, timeout=600)
    (image,) = out.iterdir()
    from PIL import Image
    picture = Image.open(io.BytesIO(image.read_bytes()))
    assert picture.size == (64, 64)
    assert json.loads(picture.info["prompt"])["3"]["class_type"] == "KSampler"  # ComfyUI's own metadata


def test_comfy_script_from_pypi_builds_and_runs_comfyuis_default_graph(comfy_server, tmp_path):
    """ComfyScript turns /object_info into Python node functions: every node it calls must be
    described as ComfyUI describes it, and what it queues must run; the seed it passes is used."""
    pytest.importorskip("comfy_script", reason="the test extra installs comfy-script[client]")
    from PIL import Image

    def run(seed: int, name: str):
        out = tmp_path / name
        done = subprocess.run([sys.executable, str(HERE / "comfy_script_client.py"), comfy_server.address,
                               str(seed), "a lighthouse at dusk", str(out)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Nodes:" in done.stdout  # the catalogue it generated its functions from
        return Image.open(out).convert("RGB")

    first, again, other = run(5, "a.png"), run(5, "b.png"), run(6, "c.png")
    assert first.size == (64, 64)
    assert first.tobytes() == again.tobytes()  # the same graph and seed: the same picture
    assert first.tobytes() != other.tobytes()  # another seed: another picture
    saved = sorted((comfy_server.root / "output").glob("comfyscript_*.png"))
    assert saved, "SaveImage wrote nothing on the server"
    prompt = json.loads(Image.open(saved[-1]).info["prompt"])
    (sampler,) = [n for n in prompt.values() if n["class_type"] == "KSampler"]
    assert sampler["inputs"]["seed"] == 6 and sampler["inputs"]["steps"] == 2
