"""Shared fixtures for the SDXL pack: one demo materialisation and one warm model manager."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from nodegraph.context import Environment
from nodegraph.events import CollectingSink
from nodegraph.files import FileRoots
from nodegraph.session import Session
from nodegraph import ANY, Node, Socket, node
from nodegraph.workflow import Workflow, parse_workflow

REPO = Path(__file__).resolve().parents[2]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"
BASELINE = REPO / "workflows" / "sdxl_style_baseline.json"
SIZE = 64  # tests sample at 64x64: same code paths, a fraction of the time


@node("TestCapture", category="tests", outputs={"value": ANY}, output_node=True, deterministic=False)
class Capture(Node):
    """Hands any value back in RunResult.values (tests compare node outputs with diffusers)."""
    value: object = Socket(ANY)

    def run(self, ctx):
        return {"value": self.value}


@pytest.fixture(scope="session")
def registry():
    from nodegraph.plugins import load_registry
    reg = load_registry(())
    reg.add_node(Capture, "tests.sdxl")
    return reg


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from nodegraph_nodes.sdxl import demo
    folder = tmp_path_factory.mktemp("demo")
    for name in ("demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora"):
        demo.materialise(name, folder)
    return folder


@pytest.fixture(scope="session")
def demo_paths(demo_dir) -> dict[str, Path]:
    from nodegraph_nodes.sdxl import demo
    return {n: demo.materialise("demo:" + n, demo_dir)
            for n in ("tiny-sdxl", "tiny-sdxl-lcm-lora", "tiny-sdxl-style-lora")}


@pytest.fixture(scope="session")
def manager():
    from nodegraph_nodes.sdxl.model_manager import ModelManager
    return ModelManager()


@pytest.fixture
def make_session(demo_dir, manager, registry, tmp_path):
    """A Session on the shared demo folder and warm manager, outputs under tmp_path."""
    def make(cache=None, models_dir: Path | None = None, own_manager=None) -> Session:
        from nodegraph.cache import Cache
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=models_dir or tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device="cpu", demo_dir=demo_dir)
        env.services["sdxl_models"] = own_manager or manager
        return Session(registry, env=env, cache=cache if cache is not None else Cache(enabled=False))
    return make


def workflow(path: Path = MAIN_JOB, size: int = SIZE, **inputs) -> Workflow:
    """A shipped workflow at test size, with ``node.input`` overrides."""
    data = copy.deepcopy(json.loads(path.read_text()))
    for node in data["nodes"].values():
        if node["type"] in ("LCMSampler", "Sampler"):
            node["inputs"].update(width=size, height=size)
    for key, value in inputs.items():
        node_id, name = key.split("__")
        data["nodes"][node_id]["inputs"][name] = value
    return parse_workflow(data)


def capture(wf: Workflow, **taps: str) -> Workflow:
    """Add TestCapture nodes: ``name="node.output"``."""
    data = wf.to_json()
    for name, ref in taps.items():
        node_id, output = ref.split(".")
        data["nodes"][name] = {"type": "TestCapture", "inputs": {"value": {"from": node_id, "output": output}}}
    return parse_workflow(data)


def run(session: Session, wf: Workflow):
    sink = CollectingSink()
    result = session.run(wf, sink=sink)
    return result, sink


def direct_pipeline(demo_paths):
    """A fresh diffusers pipeline from the demo folder: the reference for node outputs."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from nodegraph_nodes.sdxl.model_manager import quiet_loaders
    with quiet_loaders():
        pipe = StableDiffusionXLPipeline.from_pretrained(str(demo_paths["tiny-sdxl"]), torch_dtype=torch.float32,
                                                         use_safetensors=True, local_files_only=True,
                                                         add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe
