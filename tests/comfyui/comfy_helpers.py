"""Test nodes shaped like ComfyUI's (names, input order, output slots) and small builders."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

TEST_PLUGIN = textwrap.dedent('''
    """ComfyUI-shaped test nodes over strings: each output says what made it."""
    from typing import Any, Literal
    from pathlib import Path
    from nodegraph import Node, Socket, SocketType, Widget, node

    SOCKET_TYPES = [SocketType(n) for n in ("TMODEL", "TCLIP", "TVAE", "TCOND", "TLATENT", "TIMAGE")]
    COMFY_ALIASES = {
        "TSaveImage": {"type": "TSave", "inputs": {"filename_prefix": "prefix", "upload": None},
                       "set": {"style": "comfy"}},
    }

    @node("TCheckpointLoader", category="test", outputs={"model": "TMODEL", "clip": "TCLIP", "vae": "TVAE"})
    class TCheckpointLoader(Node):
        ckpt_name: str = Widget("a.safetensors")
        def run(self, ctx):
            return {"model": f"model({self.ckpt_name})", "clip": f"clip({self.ckpt_name})",
                    "vae": f"vae({self.ckpt_name})"}

    @node("TTextEncode", category="test", outputs={"conditioning": "TCOND"})
    class TTextEncode(Node):
        text: str = Widget("", multiline=True)
        clip: Any = Socket("TCLIP")
        def run(self, ctx):
            return {"conditioning": f"cond({self.text})"}

    @node("TEmptyLatent", category="test", outputs={"latent": "TLATENT"})
    class TEmptyLatent(Node):
        width: int = Widget(512, ge=16, le=4096)
        height: int = Widget(512, ge=16, le=4096)
        batch_size: int = Widget(1, ge=1, le=64)
        def run(self, ctx):
            return {"latent": f"latent({self.width}x{self.height})"}

    @node("TKSampler", category="test", outputs={"latent": "TLATENT"})
    class TKSampler(Node):
        model: Any = Socket("TMODEL")
        seed: int = Widget(0, ge=0)
        steps: int = Widget(20, ge=1, le=10000)
        cfg: float = Widget(8.0, ge=0.0, le=100.0)
        sampler_name: Literal["euler", "lcm", "dpmpp_2m"] = Widget("euler")
        positive: Any = Socket("TCOND")
        negative: Any = Socket("TCOND")
        latent_image: Any = Socket("TLATENT")
        denoise: float = Widget(1.0, ge=0.0, le=1.0)
        def run(self, ctx):
            return {"latent": f"sample({self.model},{self.seed},{self.steps},{self.cfg},{self.sampler_name},"
                              f"{self.positive},{self.negative},{self.latent_image},{self.denoise})"}

    @node("TDecode", category="test", outputs={"image": "TIMAGE"})
    class TDecode(Node):
        samples: Any = Socket("TLATENT")
        vae: Any = Socket("TVAE")
        def run(self, ctx):
            return {"image": f"decode({self.samples})"}

    @node("TScale", category="test", outputs={"image": "TIMAGE"})
    class TScale(Node):
        image: Any = Socket("TIMAGE")
        factor: float = Widget(2.0)
        def run(self, ctx):
            return {"image": f"scale({self.image},{self.factor})"}

    @node("TSave", category="test", output_node=True)
    class TSave(Node):
        images: Any = Socket("TIMAGE")
        prefix: str = Widget("out")
        style: Literal["native", "comfy"] = Widget("native")
        def run(self, ctx):
            out = ctx.env.output_dir
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{self.prefix}-{self.style}.txt").write_text(self.images)
            ctx.ui["text"] = self.images
            return {}
''')


def api_txt2img(seed: int = 5, steps: int = 20) -> dict:
    """An API-format prompt over the test nodes, ids as ComfyUI numbers them."""
    return {
        "4": {"class_type": "TCheckpointLoader", "inputs": {"ckpt_name": "m.safetensors"}, "_meta": {"title": "Load"}},
        "6": {"class_type": "TTextEncode", "inputs": {"text": "a fox", "clip": ["4", 1]}},
        "7": {"class_type": "TTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "5": {"class_type": "TEmptyLatent", "inputs": {"width": 64, "height": 32, "batch_size": 1}},
        "3": {"class_type": "TKSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": 7, "sampler_name": "euler", "denoise": 1,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "TDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "TSaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
              "_meta": {"title": "Save Image"}},
    }


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, (str, bytes)) else data) if not isinstance(data, bytes) \
        else path.write_bytes(data)
    return path


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
