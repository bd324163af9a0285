"""Shared fixtures for the video pack: one demo materialisation, one warm model manager, and the
shipped workflows at test size (64x64, 4 frames, 2 steps: the same code paths, a fraction of the time)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from nodegraph import ANY, Node, Socket, node
from nodegraph.context import Environment
from nodegraph.events import CollectingSink
from nodegraph.files import FileRoots
from nodegraph.session import Session
from nodegraph.workflow import Workflow, parse_workflow

REPO = Path(__file__).resolve().parents[2]
CAMERA = REPO / "workflows" / "svd_camera_motion.json"
TWO_BRANCH = REPO / "workflows" / "svd_camera_motion_two_branch.json"
TEST_SIZE = {"frames": 4, "width": 64, "height": 64, "steps": 2}
DEMOS = ("demo:tiny-svd", "demo:camera-pan-left", "demo:camera-zoom-in", "demo:camera-static")


@node("TestVideoCapture", category="tests", outputs={"value": ANY}, output_node=True, deterministic=False)
class Capture(Node):
    """Hands any value back in RunResult.values."""
    value: object = Socket(ANY)

    def run(self, ctx):
        return {"value": self.value}


@pytest.fixture(scope="session")
def registry():
    from nodegraph.plugins import load_registry
    reg = load_registry(())
    reg.add_node(Capture, "tests.video")
    return reg


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from nodegraph_nodes.video import demo
    folder = tmp_path_factory.mktemp("video-demo")
    for name in DEMOS:
        demo.materialise(name, folder)
    return folder


@pytest.fixture(scope="session")
def demo_paths(demo_dir) -> dict[str, Path]:
    from nodegraph_nodes.video import demo
    return {name[len("demo:"):]: demo.materialise(name, demo_dir) for name in DEMOS}


@pytest.fixture(scope="session")
def manager():
    from nodegraph_nodes.video.model_manager import VideoModelManager
    return VideoModelManager()


@pytest.fixture
def make_session(demo_dir, manager, registry, tmp_path):
    """A Session on the shared demo folder and warm manager, files under tmp_path."""
    def make(cache=None, own_manager=None) -> Session:
        from nodegraph.cache import Cache
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device="cpu", demo_dir=demo_dir)
        env.services["svd_models"] = own_manager or manager
        return Session(registry, env=env, cache=cache if cache is not None else Cache(enabled=False))
    return make


def workflow(path: Path = CAMERA, **inputs) -> Workflow:
    """A shipped workflow at test size, with ``node__input=value`` overrides."""
    data = copy.deepcopy(json.loads(path.read_text()))
    for entry in data["nodes"].values():
        if entry["type"] == "SVDImageToVideo":
            entry["inputs"].update(TEST_SIZE)
    for key, value in inputs.items():
        node_id, name = key.split("__")
        data["nodes"][node_id]["inputs"][name] = value
    return parse_workflow(data)


def edit(wf: Workflow, drop: tuple[str, ...] = (), **taps: str) -> Workflow:
    """Remove nodes and add TestVideoCapture nodes (``name="node.output"``)."""
    data = wf.to_json()
    for node_id in drop:
        del data["nodes"][node_id]
    for name, ref in taps.items():
        node_id, output = ref.split(".")
        data["nodes"][name] = {"type": "TestVideoCapture", "inputs": {"value": {"from": node_id, "output": output}}}
    return parse_workflow(data)


def run(session: Session, wf: Workflow):
    sink = CollectingSink()
    result = session.run(wf, sink=sink)
    return result, sink


def mp4_frames(path) -> tuple[list, float, dict]:
    """Decoded RGB frames, frame rate and metadata tags of a video file."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate), dict(container.metadata)
