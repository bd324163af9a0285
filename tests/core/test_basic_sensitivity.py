"""Every literal of the basic pack (images, primitives, text) changes what comes out, compared as
content: the pixels of the saved PNG, the text shown, the text file's content. The file names
(SaveImage's prefix, SaveText's filename) change the name only. A literal of the pack that no
case names fails the coverage test."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core_helpers import link, wf

from sensitivity import same, uncovered


def image_chain(**changes) -> dict:
    """SolidImage -> ResizeImage -> SaveImage, and LoadImage -> SaveImage."""
    data = wf(solid=("SolidImage", {"width": 24, "height": 16, "red": 0.2, "green": 0.5, "blue": 0.9}),
              grad=("LoadImage", {"image": "gradient.png"}),
              resize=("ResizeImage", {"image": link("grad", "image"), "width": 12, "height": 8, "method": "bilinear"}),
              save=("SaveImage", {"images": link("solid", "image"), "prefix": "solid"}),
              save2=("SaveImage", {"images": link("resize", "image"), "prefix": "resized"}))
    for key, value in changes.items():
        node, name = key.split(".")
        data["nodes"][node]["inputs"][name] = value
    return data


def text_chain(**changes) -> dict:
    """Primitives through math and text nodes into Show and SaveText."""
    data = wf(i=("Int", {"value": 6}), f=("Float", {"value": 1.5}), b=("Boolean", {"value": False}),
              s=("String", {"value": "plum"}), seed=("Seed", {"seed": 7, "mode": "fixed"}),
              mi=("MathInt", {"a": link("i"), "b": 4, "op": "multiply"}),
              mf=("MathFloat", {"a": link("f"), "b": 2.0, "op": "add"}),
              fmt=("FormatText", {"template": "{a}-{b}", "a": link("s"), "b": "cake"}),
              join=("JoinText", {"a": link("fmt", "text"), "b": "tart", "separator": ", "}),
              show_i=("Show", {"value": link("mi")}), show_f=("Show", {"value": link("mf")}),
              show_b=("Show", {"value": link("b")}), show_seed=("Show", {"value": link("seed", "seed")}),
              show_t=("Show", {"value": link("join", "text")}),
              save=("SaveText", {"text": link("join", "text"), "filename": "joined.txt"}))
    for key, value in changes.items():
        node, name = key.split(".")
        data["nodes"][node]["inputs"][name] = value
    return data


IMAGE_CHANGES = [("SolidImage", "width", {"solid.width": 20}), ("SolidImage", "height", {"solid.height": 20}),
                 ("SolidImage", "red", {"solid.red": 0.8}), ("SolidImage", "green", {"solid.green": 0.1}),
                 ("SolidImage", "blue", {"solid.blue": 0.3}), ("ResizeImage", "width", {"resize.width": 10}),
                 ("ResizeImage", "height", {"resize.height": 10}), ("ResizeImage", "method", {"resize.method": "nearest"}),
                 ("LoadImage", "image", {"grad.image": "other.png"})]
TEXT_CHANGES = [("Int", "value", {"i.value": 7}), ("Float", "value", {"f.value": 2.5}),
                ("Boolean", "value", {"b.value": True}), ("String", "value", {"s.value": "fig"}),
                ("Seed", "seed", {"seed.seed": 8}), ("Seed", "mode", {"seed.mode": "random"}),
                ("MathInt", "a", {"mi.a": 3}), ("MathInt", "b", {"mi.b": 5}), ("MathInt", "op", {"mi.op": "add"}),
                ("MathFloat", "a", {"mf.a": 0.5}), ("MathFloat", "b", {"mf.b": 3.0}),
                ("MathFloat", "op", {"mf.op": "multiply"}),
                ("FormatText", "template", {"fmt.template": "{b}/{a}"}), ("FormatText", "a", {"fmt.a": "fig"}),
                ("FormatText", "b", {"fmt.b": "pie"}), ("JoinText", "a", {"join.a": "fig"}),
                ("JoinText", "b", {"join.b": "pie"}), ("JoinText", "separator", {"join.separator": " & "}),
                ("SaveText", "text", {"save.text": "written as is"})]
NAME_ONLY = [("SaveImage", "prefix"), ("SaveImage", "naming"), ("SaveText", "filename")]  # test_file_names_...


@pytest.fixture
def images(env):
    y, x = np.mgrid[0:16, 0:24]
    Image.fromarray(np.stack([x * 10, y * 15, (x + y) * 6], -1).astype(np.uint8)).save(env.files.input_dir / "gradient.png")
    Image.fromarray(np.stack([y * 15, x * 10, (x * y) % 256], -1).astype(np.uint8)).save(env.files.input_dir / "other.png")


def pixels(session, env, data) -> dict:
    result = session.run(data)
    assert result.ok, result.error
    return {path.split("/")[-1].split("_")[0]: np.asarray(Image.open(path)) for path in result.outputs}


def texts(session, env, data) -> dict:
    result = session.run(data)
    assert result.ok, result.error
    shown = {node: ui.get("text") for node, ui in result.ui.items()}
    return {**shown, "file": [open(p).read() for p in result.outputs]}


def test_every_literal_of_the_basic_pack_is_covered(registry):
    covered = [(t, i) for t, i, _ in IMAGE_CHANGES + TEXT_CHANGES] + NAME_ONLY
    assert uncovered(registry, "builtin.basic", covered) == set()


def test_unchanged_runs_reproduce(session, env, images):
    assert same(pixels(session, env, image_chain()), pixels(session, env, image_chain()))
    assert same(texts(session, env, text_chain()), texts(session, env, text_chain()))


@pytest.mark.parametrize("node_type, name, change", IMAGE_CHANGES, ids=[f"{t}.{i}" for t, i, _ in IMAGE_CHANGES])
def test_each_image_input_changes_the_pixels(session, env, images, node_type, name, change):
    assert not same(pixels(session, env, image_chain(**change)), pixels(session, env, image_chain()))


@pytest.mark.parametrize("node_type, name, change", TEXT_CHANGES, ids=[f"{t}.{i}" for t, i, _ in TEXT_CHANGES])
def test_each_primitive_and_text_input_changes_what_is_shown_or_written(session, env, node_type, name, change):
    assert not same(texts(session, env, text_chain(**change)), texts(session, env, text_chain()))


def test_file_names_change_names_only(session, env, images):
    first = session.run(image_chain())
    renamed = session.run(image_chain(**{"save.prefix": "renamed"}))
    assert sorted(p.split("/")[-1].split("_")[0] for p in renamed.outputs) == ["renamed", "resized"]
    by_prefix = lambda r: {p.split("/")[-1].split("_")[0]: np.asarray(Image.open(p)) for p in r.outputs}  # noqa: E731
    assert same(by_prefix(first)["solid"], by_prefix(renamed)["renamed"])
    comfy = session.run(image_chain(**{"save.naming": "comfyui"}))  # ComfyUI's numbered names, same pixels
    named = {p.split("/")[-1]: p for p in comfy.outputs}
    assert "solid_00001_.png" in named
    assert same(by_prefix(first)["solid"], np.asarray(Image.open(named["solid_00001_.png"])))
    text = session.run(text_chain(**{"save.filename": "other.txt"}))
    assert [p.split("/")[-1] for p in text.outputs] == ["other.txt"]
    assert open(text.outputs[0]).read() == open(session.run(text_chain()).outputs[0]).read()
