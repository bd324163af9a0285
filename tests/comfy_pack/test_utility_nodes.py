"""The comfy pack's model-free utility nodes that ComfyUI's templates use: Primitive*,
GetImageSize, PreviewAny, ImageCompare and ComfySwitchNode (incl. its lazy branches), run as
ComfyUI API prompts. Each result follows its input."""
from __future__ import annotations

import pytest
from PIL import Image

from nodegraph.api.errors import WorkflowInvalid


@pytest.fixture
def session(comfy_session):
    return comfy_session


def _ui(session, prompt: dict) -> dict:
    result = session.run(prompt)
    assert result.status == "success", result.error
    return result.ui


def _sized(width: int, height: int, batch_from_switch: bool = False) -> dict:
    return {"1": {"class_type": "PrimitiveInt", "inputs": {"value": width}},
            "2": {"class_type": "SolidImage", "inputs": {"width": ["1", 0], "height": height}},
            "3": {"class_type": "GetImageSize", "inputs": {"image": ["2", 0]}},
            "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
            "5": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}},
            "6": {"class_type": "PreviewAny", "inputs": {"source": ["3", 2]}}}


def test_get_image_size_and_primitive_int_follow_the_image(session):
    ui = _ui(session, _sized(24, 8))
    assert (ui["4"]["text"], ui["5"]["text"], ui["6"]["text"]) == ("24", "8", "1")
    ui = _ui(session, _sized(40, 16))
    assert (ui["4"]["text"], ui["5"]["text"]) == ("40", "16")


@pytest.mark.parametrize("cls, values, shown", [
    ("PrimitiveString", ["a fox", "a boat"], ["a fox", "a boat"]),
    ("PrimitiveStringMultiline", ["line 1\nline 2", ""], ["line 1\nline 2", ""]),
    ("PrimitiveBoolean", [True, False], ["True", "False"]),
    ("PrimitiveFloat", [0.25, -3.5], ["0.25", "-3.5"]),
    ("PrimitiveInt", [7, -9], ["7", "-9"]),
])
def test_primitives_pass_their_value_on(session, cls, values, shown):
    for value, text in zip(values, shown):
        ui = _ui(session, {"1": {"class_type": cls, "inputs": {"value": value}},
                           "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}})
        assert ui["2"]["text"] == text


def test_a_bad_primitive_value_is_refused_at_validation(session):
    with pytest.raises(WorkflowInvalid, match="node '1', input 'value'"):
        session.run({"1": {"class_type": "PrimitiveBoolean", "inputs": {"value": "maybe"}},
                     "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}})


def test_preview_any_writes_structures_as_json():
    from nodegraph_nodes.comfy.preview import as_text
    assert as_text({"a": [1, 2]}) == '{\n    "a": [\n        1,\n        2\n    ]\n}'
    assert as_text(None) == "None" and as_text(object()).startswith("<object")


def test_image_compare_writes_both_previews(session, tmp_path):
    def compare(red_a: float, with_b: bool) -> tuple[dict, list]:
        prompt = {"1": {"class_type": "PrimitiveFloat", "inputs": {"value": red_a}},
                  "2": {"class_type": "SolidImage", "inputs": {"width": 6, "height": 4, "red": ["1", 0]}},
                  "3": {"class_type": "SolidImage", "inputs": {"width": 6, "height": 4, "red": 0.0}},
                  "4": {"class_type": "ImageCompare", "inputs": {"image_a": ["2", 0]}}}
        if with_b:
            prompt["4"]["inputs"]["image_b"] = ["3", 0]
        shown = _ui(session, prompt)["4"]
        reds = []
        for key in ("a_images", "b_images"):
            for entry in shown[key]:
                assert entry["type"] == "temp"
                with Image.open(tmp_path / "out" / "temp" / entry["filename"]) as png:
                    reds.append(png.convert("RGB").getpixel((0, 0))[0])
        return shown, reds

    shown, reds = compare(1.0, with_b=True)
    assert len(shown["a_images"]) == len(shown["b_images"]) == 1 and reds == [255, 0]
    shown, reds = compare(0.5, with_b=False)
    assert shown["b_images"] == [] and reds == [128]


def _switch(switch, *, linked: bool = False) -> dict:
    """on_true: a fine value; on_false: a division by zero, which fails whenever it runs."""
    prompt = {"1": {"class_type": "MathInt", "inputs": {"a": 6, "b": 3, "op": "floordiv"}},
              "2": {"class_type": "MathInt", "inputs": {"a": 1, "b": 0, "op": "floordiv"}},
              "3": {"class_type": "ComfySwitchNode", "inputs": {"switch": switch, "on_false": ["2", 0],
                                                                "on_true": ["1", 0]}},
              "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}
    if linked:
        prompt["5"] = {"class_type": "PrimitiveBoolean", "inputs": {"value": switch}}
        prompt["3"]["inputs"]["switch"] = ["5", 0]
    return prompt


def test_switch_runs_only_the_branch_it_selects(session):
    assert _ui(session, _switch(True))["4"]["text"] == "2"  # the failing on_false branch never ran
    failed = session.run(_switch(False))
    assert failed.status != "success" and "by zero" in str(failed.error)


def test_switch_picks_by_a_linked_boolean(session):
    fine = _switch(True, linked=True)
    fine["2"]["inputs"]["b"] = 2  # a linked switch is decided at run time: both branches run
    assert _ui(session, fine)["4"]["text"] == "2"
    fine["5"]["inputs"]["value"] = False
    assert _ui(session, fine)["4"]["text"] == "0"


def test_image_scale_by_follows_the_factor(session):
    def size(scale: float) -> tuple[str, str]:
        ui = _ui(session, {"1": {"class_type": "SolidImage", "inputs": {"width": 10, "height": 6}},
                           "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "bilinear",
                                                                          "scale_by": scale}},
                           "3": {"class_type": "GetImageSize", "inputs": {"image": ["2", 0]}},
                           "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
                           "5": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}}})
        return ui["4"]["text"], ui["5"]["text"]
    assert size(1.0) == ("10", "6")
    assert size(2.5) == ("25", "15")
    assert size(0.25) == ("2", "2")  # 2.5 -> 2, 1.5 -> 2: Python's rounding, as ComfyUI's


@pytest.mark.parametrize("name, value", [("bit_depth", 10), ("color_space", "HDR"), ("color_space", "HDR PQ"),
                                         ("codec", "av1")])
def test_create_video_refuses_what_it_cannot_encode_at_validation(session, name, value):
    """CreateVideo's newer widgets: 8-bit sRGB H.264 is what nodegraph writes; any other choice is
    refused before anything runs, naming the node and the input (never silently ignored)."""
    prompt = {"1": {"class_type": "SolidImage", "inputs": {"width": 8, "height": 8}},
              "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0, name: value}},
              "3": {"class_type": "GetVideoComponents", "inputs": {"video": ["2", 0]}},
              "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 2]}}}
    with pytest.raises(WorkflowInvalid, match=f"node '2', input '{name}'"):
        session.run(prompt)
    prompt["2"]["inputs"][name] = {"bit_depth": 8, "color_space": "sRGB", "codec": "h264"}[name]
    assert _ui(session, prompt)["4"]["text"] == "8.0"


def test_image_scale_by_follows_the_method(session, tmp_path):
    (tmp_path / "input").mkdir(exist_ok=True)
    checker = Image.new("RGB", (6, 6))
    checker.putdata([(255, 255, 255) if (x + y) % 2 else (0, 0, 0) for y in range(6) for x in range(6)])
    checker.save(tmp_path / "input" / "checker.png")

    def scaled(method: str) -> list:
        result = session.run({"1": {"class_type": "LoadImage", "inputs": {"image": "checker.png"}},
                              "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": method,
                                                                             "scale_by": 1.5}},
                              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": method}}})
        assert result.status == "success", result.error
        (path,) = result.outputs
        picture = Image.open(path).convert("RGB")
        return [picture.getpixel((x, y)) for y in range(picture.height) for x in range(picture.width)]
    nearest, bilinear = scaled("nearest-exact"), scaled("bilinear")
    assert set(nearest) == {(0, 0, 0), (255, 255, 255)}  # nearest keeps the two colours
    assert nearest != bilinear and len(set(bilinear)) > 2  # bilinear blends them
