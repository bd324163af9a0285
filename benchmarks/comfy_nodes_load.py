"""What loading a ComfyUI custom_nodes folder adds to start-up: a generated folder of 20 packs
(5 V1 node classes each, importing folder_paths, comfy.utils and server as real packs do, no
heavy libraries) loaded with ``--comfy-nodes`` against the plain registry load.

Each figure is the median of 5 fresh processes, timing ``load_registry`` alone (Python start-up
and ``import nodegraph`` excluded), so the difference is the packs' import, the import guard,
the mutation watch and the generated node classes. A folder of one pack shows the fixed cost
(importing the adapter and the ComfyUI stand-ins), the full folder the cost of each further pack.

    python benchmarks/comfy_nodes_load.py [--packs 20]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PACK = textwrap.dedent('''
    import folder_paths
    import comfy.utils
    from server import PromptServer

    @PromptServer.instance.routes.get("/pack{n}/ping")
    async def ping(request):
        return None

    def make(index):
        class Node:
            @classmethod
            def INPUT_TYPES(s):
                return {{"required": {{"image": ("IMAGE",),
                                      "amount": ("FLOAT", {{"default": 1.0, "min": 0.0, "max": 4.0, "step": 0.1}}),
                                      "mode": (["a", "b", "c"],), "text": ("STRING", {{"multiline": True}})}},
                        "optional": {{"mask": ("MASK",), "extra": ("PACK{n}_TYPE",)}},
                        "hidden": {{"unique_id": "UNIQUE_ID"}}}}
            RETURN_TYPES = ("IMAGE", "PACK{n}_TYPE")
            RETURN_NAMES = ("image", "extra")
            FUNCTION = "run"
            CATEGORY = "pack{n}"
            def run(self, image, amount, mode, text, mask=None, extra=None, unique_id=None):
                return (image * amount, {{"mode": mode}})
        Node.__name__ = f"Pack{n}Node{{index}}"
        return Node

    NODE_CLASS_MAPPINGS = {{f"Pack{n}Node{{i}}": make(i) for i in range(5)}}
    NODE_DISPLAY_NAME_MAPPINGS = {{k: k.replace("Node", " node ") for k in NODE_CLASS_MAPPINGS}}
    WEB_DIRECTORY = "./js"
''')

PROBE = textwrap.dedent('''
    import json, sys, time
    from nodegraph.api.plugins import load_registry
    started = time.perf_counter()
    registry = load_registry(use_env=False, pack_folders={"comfy": sys.argv[1:]})
    took = time.perf_counter() - started
    print(json.dumps({"seconds": took, "nodes": len(registry.nodes), "failures": len(registry.failures)}))
''')


def generate(folder: Path, count: int) -> None:
    for n in range(count):
        pack = folder / f"comfyui-pack-{n:02d}"
        (pack / "js").mkdir(parents=True)
        (pack / "__init__.py").write_text(PACK.format(n=n))
        (pack / "js" / "ext.js").write_text("// frontend extension\n")


def median_load(args: list[str], repeats: int = 5) -> tuple[float, dict]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return statistics.median(r["seconds"] for r in runs), runs[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, folder = Path(tmp) / "one", Path(tmp) / "custom_nodes"
        generate(one, 1)
        generate(folder, args.packs)
        plain, plain_info = median_load([])
        single, _ = median_load([str(one)])
        loaded, info = median_load([str(folder)])
    added = info["nodes"] - plain_info["nodes"]
    assert added == args.packs * 5 and info["failures"] == plain_info["failures"], (info, plain_info)
    print(f"plain registry load                 {plain * 1000:7.1f} ms  ({plain_info['nodes']} nodes)")
    print(f"with 1 ComfyUI pack (5 nodes)       {single * 1000:7.1f} ms  (+{(single - plain) * 1000:.1f} ms)")
    print(f"with {args.packs} ComfyUI packs ({added} nodes)   {loaded * 1000:7.1f} ms  (x{loaded / plain:.2f}; "
          f"+{(loaded - single) * 1000 / (args.packs - 1):.1f} ms per further pack)")


if __name__ == "__main__":
    main()
