"""Shared fixtures for the video pack: one demo materialisation, one warm model manager, and the
shipped workflows at test size (64x64, 4 frames, 2 steps: the same code paths, a fraction of the time)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodegraph.graph.workflow import Workflow
from pack_fixtures import PackUnderTest, run, shipped_workflow, with_captures

REPO = Path(__file__).resolve().parents[2]
CAMERA = REPO / "workflows" / "svd_camera_motion.json"
TWO_BRANCH = REPO / "workflows" / "svd_camera_motion_two_branch.json"
TEST_SIZE = {"frames": 4, "width": 64, "height": 64, "steps": 2}

__all__ = ["REPO", "CAMERA", "TWO_BRANCH", "TEST_SIZE", "workflow", "edit", "run", "mp4_frames"]


@pytest.fixture(scope="session")
def pack() -> PackUnderTest:
    from nodegraph_nodes.video import demo
    from nodegraph_nodes.video.model_manager import VideoModelManager
    return PackUnderTest("video", demo, ("demo:tiny-svd", "demo:camera-pan-left", "demo:camera-zoom-in",
                                         "demo:camera-static"), "svd_models", VideoModelManager)


def workflow(path: Path = CAMERA, **inputs) -> Workflow:
    """A shipped workflow at test size, with ``node__input=value`` overrides."""
    return shipped_workflow(path, {"SVDImageToVideo": TEST_SIZE}, **inputs)


def edit(wf: Workflow, drop: tuple[str, ...] = (), **taps: str) -> Workflow:
    """Remove nodes and add TestCapture nodes (``name="node.output"``)."""
    return with_captures(wf, drop, **taps)


def mp4_frames(path) -> tuple[list, float, dict]:
    """Decoded RGB frames, frame rate and metadata tags of a video file."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate), dict(container.metadata)
