"""Muted and bypassed savers in ComfyUI UI files whose pass-through output (SaveImage and
PreviewImage pass their images on in current ComfyUI) feeds another node: bypass passes the
images through and saves nothing; mute passes nothing on, so a required input it feeds is the
one clear validation error, as in ComfyUI."""
from __future__ import annotations

import pytest

from nodegraph.api.errors import WorkflowInvalid

from comfyui_helpers import UIBuilder


@pytest.fixture
def session(comfy_session):
    return comfy_session


def _through_saver(saver: str, mode: int, width: int = 12) -> dict:
    """SolidImage -> saver -> (its pass-through output) GetImageSize -> PreviewAny of the width."""
    b = UIBuilder()
    b.node(1, "SolidImage", [width, 8, 0.5, 0.5, 0.5], outputs=["IMAGE"])
    b.node(2, saver, ["through"] if saver == "SaveImage" else [], inputs=["images"], outputs=["IMAGE"], mode=mode)
    b.node(3, "GetImageSize", [], inputs=["image"], outputs=["width", "height", "batch_size"])
    b.node(4, "PreviewAny", [], inputs=["source"], outputs=["STRING"])
    b.connect(1, 0, 2, "images")
    b.connect(2, 0, 3, "image")
    b.connect(3, 0, 4, "source")
    return b.to_json()


def _saved(tmp_path) -> list[str]:
    out = tmp_path / "out"
    return sorted(p.name for p in out.rglob("*.png")) if out.exists() else []


@pytest.mark.parametrize("saver", ["SaveImage", "PreviewImage"])
def test_an_active_saver_saves_and_passes_its_images_on(session, tmp_path, saver):
    result = session.run(_through_saver(saver, mode=0, width=12))
    assert result.status == "success", result.error
    assert result.ui["4"]["text"] == "12" and len(_saved(tmp_path)) == 1


@pytest.mark.parametrize("saver", ["SaveImage", "PreviewImage"])
def test_a_bypassed_saver_passes_its_images_through_and_saves_nothing(session, tmp_path, saver):
    for width in (12, 20):
        result = session.run(_through_saver(saver, mode=4, width=width))
        assert result.status == "success", result.error
        assert result.ui["4"]["text"] == str(width)
    assert _saved(tmp_path) == []


@pytest.mark.parametrize("saver", ["SaveImage", "PreviewImage"])
def test_a_muted_saver_leaves_what_it_feeds_without_input(session, tmp_path, saver):
    with pytest.raises(WorkflowInvalid) as caught:
        session.run(_through_saver(saver, mode=2))
    problems = caught.value.problems
    assert [(p.node, p.input) for p in problems] == [("3", "image")]
    assert f"#2 ({saver}) is muted" in problems[0].message
    assert _saved(tmp_path) == []
