"""The main job through ComfyUI's API against the same job through nodegraph's own protocol, on
one `nodegraph serve` process: seconds from submitting the job to holding the image's bytes.

- native: `queue` over /ws, wait for `done`, GET the output URL;
- ComfyUI: POST /prompt (the job as an API-format prompt, as ComfyUI's "Export (API)" writes
  it), wait on /ws?clientId= for `executing` with `node: null`, GET /history/{id}, GET /view.

Each round runs both, in alternating order, at a new seed (nothing is served from the cache);
the models are loaded by a first, untimed run. Prints the median of each and their ratio, and
the median overhead (the total less the job's own run time, as the server recorded it): on a
shared CPU the run time varies more between rounds than the two protocols differ.

    python benchmarks/comfyui_api.py               # tiny demo models, CPU
    python benchmarks/comfyui_api.py --rounds 10 --device cuda
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "comfyui_api"))
sys.path.insert(0, str(REPO / "tests" / "server"))


def with_seed(workflow: dict, seed: int) -> dict:
    job = json.loads(json.dumps(workflow))
    job["nodes"]["sampler"]["inputs"]["seed"] = seed
    return job


def native_round(port: int, workflow: dict) -> tuple[float, float, int]:
    """(seconds from queue to the image's bytes, the job's own run seconds, bytes)."""
    from serverkit import Client
    with Client(port) as client:
        start = time.perf_counter()
        job = client.queue(workflow)["job"]
        done = client.events(job, timeout=1800)[-1]
        assert done["status"] == "success", done
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{done['urls'][0]}") as resp:
            data = resp.read()
        return time.perf_counter() - start, done["seconds"], len(data)


def comfy_round(port: int, prompt: dict) -> tuple[float, float, int]:
    from websockets.sync.client import connect
    client_id = uuid.uuid4().hex
    base = f"http://127.0.0.1:{port}"
    with connect(f"ws://127.0.0.1:{port}/ws?clientId={client_id}", max_size=None) as ws:
        start = time.perf_counter()
        body = json.dumps({"prompt": prompt, "client_id": client_id}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{base}/prompt", data=body)) as resp:
            prompt_id = json.loads(resp.read())["prompt_id"]
        while True:
            message = ws.recv(timeout=1800)
            if isinstance(message, str):
                data = json.loads(message)
                if data["type"] == "executing" and data["data"]["node"] is None \
                        and data["data"]["prompt_id"] == prompt_id:
                    break
        with urllib.request.urlopen(f"{base}/history/{prompt_id}") as resp:
            outputs = json.loads(resp.read())[prompt_id]["outputs"]
        (image,) = [i for entry in outputs.values() for i in entry.get("images", [])]
        with urllib.request.urlopen(f"{base}/view?{urllib.parse.urlencode(image)}") as resp:
            data = resp.read()
        total = time.perf_counter() - start
    with urllib.request.urlopen(f"{base}/api/jobs/{prompt_id}") as resp:  # after the clock: its run time
        job = json.loads(resp.read())
    return total, (job["execution_end_time"] - job["execution_start_time"]) / 1000, len(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workflow", default=str(REPO / "workflows" / "lcm_lora_sdxl.json"))
    args = parser.parse_args()
    from comfykit import ServerProcess
    from nodegraph.comfyui import workflow_to_api
    from nodegraph.api.plugins import load_registry
    workflow = json.loads(Path(args.workflow).read_text())
    registry = load_registry(())
    with tempfile.TemporaryDirectory(prefix="nodegraph-comfy-bench-") as root:
        server = ServerProcess(Path(root), extra=("--device", args.device)).start(timeout=600)
        try:
            native_round(server.port, with_seed(workflow, 1))  # models load here, untimed
            native, comfy, sizes = [], [], set()
            overhead: dict[str, list[float]] = {"native": [], "comfyui": []}
            for n in range(args.rounds):
                seeds = (1000 + 2 * n, 1001 + 2 * n)
                runs = [("native", lambda s: native_round(server.port, with_seed(workflow, s))),
                        ("comfyui", lambda s: comfy_round(server.port, workflow_to_api(with_seed(workflow, s),
                                                                                      registry)))]
                for (name, run), seed in zip(runs if n % 2 == 0 else runs[::-1], seeds):
                    seconds, ran, size = run(seed)
                    (native if name == "native" else comfy).append(seconds)
                    overhead[name].append(seconds - ran)
                    sizes.add(size > 0)
        finally:
            server.stop()
    a, b = statistics.median(native), statistics.median(comfy)
    print(f"main job ({Path(args.workflow).name}, {args.device}), submit -> image bytes, median of {args.rounds}:")
    print(f"  nodegraph protocol   {a:8.3f} s")
    print(f"  ComfyUI API          {b:8.3f} s")
    print(f"  ComfyUI / native     {b / a:8.3f}")
    print(f"overhead (total less the job's run time), median: nodegraph protocol "
          f"{statistics.median(overhead['native']) * 1000:.1f} ms, ComfyUI API "
          f"{statistics.median(overhead['comfyui']) * 1000:.1f} ms")
    return 0 if sizes == {True} else 1


if __name__ == "__main__":
    sys.exit(main())
