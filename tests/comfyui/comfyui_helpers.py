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
    from nodegraph import DemoAsset, FileInput, FileKind, Node, Socket, SocketType, Widget, node

    SOCKET_TYPES = [SocketType(n) for n in ("TMODEL", "TCLIP", "TVAE", "TCOND", "TLATENT", "TIMAGE")]
    FILE_KINDS = [FileKind("tckpt", "models", "test checkpoints")]

    def _demo(name, hints=()):
        return DemoAsset(name, "tckpt", build=lambda d: Path(d) / name, locate=lambda d: None, hints=hints)

    DEMOS = [_demo("tiny-base"), _demo("tiny-refiner", ("refiner",)), _demo("tiny-v15", ("v1-5", "sd15")),
             _demo("tiny-video", ("svd",))]
    COMFY_ALIASES = {
        "TSaveImage": {"type": "TSave", "inputs": {"filename_prefix": "prefix", "upload": None},
                       "set": {"style": "comfy"}, "naming_only": True},
    }

    @node("TCheckpointLoader", category="test", outputs={"model": "TMODEL", "clip": "TCLIP", "vae": "TVAE"})
    class TCheckpointLoader(Node):
        ckpt_name: str = FileInput("tckpt", extensions=(".safetensors",))
        def run(self, ctx):
            return {"model": f"model({self.ckpt_name})", "clip": f"clip({self.ckpt_name})",
                    "vae": f"vae({self.ckpt_name})"}

    @node("TVideoLoader", category="test", outputs={"model": "TMODEL"})
    class TVideoLoader(Node):
        ckpt_name: str = FileInput("tckpt", extensions=(".safetensors",))
        @classmethod
        def default_demo(cls, input_name, value):
            return "demo:tiny-video"
        def run(self, ctx):
            return {"model": f"video({self.ckpt_name})"}

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


class UIBuilder:
    """A ComfyUI UI-format workflow, built the way the frontend saves one (0.4 list links, or
    version-1 object links with ``objects=True``)."""

    def __init__(self):
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self.subgraphs: list[dict] = []

    def node(self, node_id: int, type_: str, widgets=None, *, inputs=(), outputs=(), mode: int = 0,
             pos=(0, 0), title: str | None = None) -> dict:
        """``inputs``: names (a name "w:NAME" is a widget converted to an input); ``outputs``: names."""
        entry = {"id": node_id, "type": type_, "pos": list(pos), "size": [200, 100], "flags": {}, "order": 0,
                 "mode": mode, "inputs": [], "outputs": [{"name": n, "type": "*", "links": []} for n in outputs],
                 "properties": {"Node name for S&R": type_}}
        for name in inputs:
            if name.startswith("w:"):
                entry["inputs"].append({"name": name[2:], "type": "INT", "widget": {"name": name[2:]}, "link": None})
            else:
                entry["inputs"].append({"name": name, "type": "*", "link": None})
        if widgets is not None:
            entry["widgets_values"] = list(widgets)
        if title:
            entry["title"] = title
        self.nodes.append(entry)
        return entry

    def connect(self, origin: int, slot: int, target: int, input_name: str, *, nodes=None, links=None) -> int:
        nodes = self.nodes if nodes is None else nodes
        links = self.links if links is None else links
        link_id = 1 + max([lk[0] for lk in links] or [0])
        target_node = next(n for n in nodes if n["id"] == target)
        target_slot = next(i for i, inp in enumerate(target_node["inputs"]) if inp["name"] == input_name)
        target_node["inputs"][target_slot]["link"] = link_id
        origin_node = next((n for n in nodes if n["id"] == origin), None)
        if origin_node is not None and slot < len(origin_node["outputs"]):
            origin_node["outputs"][slot]["links"].append(link_id)
        links.append([link_id, origin, slot, target, target_slot, "*"])
        return link_id

    def to_json(self, *, objects: bool = False) -> dict:
        def conv(links):
            if not objects:
                return links
            return [{"id": lk[0], "origin_id": lk[1], "origin_slot": lk[2], "target_id": lk[3],
                     "target_slot": lk[4], "type": lk[5]} for lk in links]
        data = {"last_node_id": max([n["id"] for n in self.nodes] or [0]), "last_link_id": len(self.links),
                "nodes": self.nodes, "links": conv(self.links), "groups": self.groups, "config": {},
                "extra": {"ds": {"scale": 1, "offset": [0, 0]}}, "version": 1 if objects else 0.4}
        if self.subgraphs:
            subgraphs = []
            for sg in self.subgraphs:
                sg = dict(sg)
                sg["links"] = [{"id": lk[0], "origin_id": lk[1], "origin_slot": lk[2], "target_id": lk[3],
                                "target_slot": lk[4], "type": lk[5]} for lk in sg["links"]]
                subgraphs.append(sg)
            data["definitions"] = {"subgraphs": subgraphs}
        return data


def ui_txt2img(seed: int = 5, control: str = "randomize") -> UIBuilder:
    """The API prompt of ``api_txt2img`` as the frontend saves it, with a Reroute on the VAE wire,
    a PrimitiveNode feeding the latent's width (a widget converted to an input), notes and a group."""
    b = UIBuilder()
    b.node(4, "TCheckpointLoader", ["m.safetensors"], outputs=["MODEL", "CLIP", "VAE"], pos=(10, 20), title="Load")
    b.node(6, "TTextEncode", ["a fox"], inputs=["clip"], outputs=["CONDITIONING"], pos=(300, 0))
    b.node(7, "TTextEncode", ["blurry"], inputs=["clip"], outputs=["CONDITIONING"], pos=(300, 200))
    b.node(5, "TEmptyLatent", [512, 32, 1], inputs=["w:width"], outputs=["LATENT"], pos=(300, 400))
    b.node(3, "TKSampler", [seed, control, 20, 7, "euler", 1], inputs=["model", "positive", "negative", "latent_image"],
           outputs=["LATENT"], pos=(600, 0))
    b.node(8, "TDecode", [], inputs=["samples", "vae"], outputs=["IMAGE"], pos=(900, 0))
    b.node(9, "TSaveImage", ["ComfyUI"], inputs=["images"], pos=(1200, 0))
    b.node(10, "Reroute", None, inputs=[""], outputs=["VAE"], pos=(700, 300))
    b.node(11, "PrimitiveNode", [64, "fixed"], outputs=["INT"], pos=(0, 400))
    b.node(12, "Note", ["remember the fox"], pos=(0, 600))
    b.node(13, "MarkdownNote", ["# notes"], pos=(0, 700))
    b.connect(4, 1, 6, "clip")
    b.connect(4, 1, 7, "clip")
    b.connect(4, 0, 3, "model")
    b.connect(6, 0, 3, "positive")
    b.connect(7, 0, 3, "negative")
    b.connect(11, 0, 5, "width")
    b.connect(5, 0, 3, "latent_image")
    b.connect(3, 0, 8, "samples")
    b.connect(4, 2, 10, "")
    b.connect(10, 0, 8, "vae")
    b.connect(8, 0, 9, "images")
    b.groups.append({"id": 1, "title": "Prompts", "bounding": [280, -40, 300, 400], "color": "#3f789e"})
    return b
