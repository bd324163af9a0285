"""Literal, file and demo inputs: each problem names the node, the input and what is wrong."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Literal

import pytest

from nodegraph import FileInput, Node, Socket, Widget, node
from nodegraph.api.errors import Problem
from nodegraph.api.node import InputSpec
from nodegraph.api.registry import PluginFailure, Registry
from nodegraph.files.roots import FileRoots
from nodegraph.graph.validate import _check_demo, _check_file, build_graph, validate
from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.context import InterruptToken, RunContext


def spec(kind="image", extensions=(".png", ".jpg"), schemes=(), allow_hub_id=False):
    return InputSpec(name="image", socket="STRING", widget="file", required=True, default=None,
                     file_kind=kind, extensions=extensions, schemes=schemes, allow_hub_id=allow_hub_id)


@pytest.fixture
def env(tmp_path):
    files = FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models",
                      output_dir=tmp_path / "output", strict=True)
    files.locations["image"] = "input"
    files.input_dir.mkdir()
    (files.input_dir / "cat.png").write_bytes(b"png")
    (files.input_dir / "cat.PNG.txt").write_text("no")
    (files.input_dir / "Dog.JPG").write_bytes(b"jpg")
    (files.input_dir / "folder").mkdir()
    return SimpleNamespace(files=files)


def test_existing_file_with_an_accepted_extension_passes(env):
    assert _check_file("n1", spec(), "cat.png", env) is None
    assert _check_file("n1", spec(), "Dog.JPG", env) is None  # extensions are case-insensitive
    assert _check_file("n1", spec(extensions=()), "cat.PNG.txt", env) is None
    assert _check_file("n1", spec(), "folder", env) is None  # folders are the node's business


def test_wrong_extension_names_the_accepted_ones(env):
    assert _check_file("n1", spec(), "cat.PNG.txt", env) == \
        Problem("bad_file", "'cat.PNG.txt' is not a .png/.jpg file", "n1", "image")


def test_missing_file_names_where_it_looked(env, tmp_path):
    assert _check_file("n2", spec(), "dog.png", env) == \
        Problem("missing_file", f"image file 'dog.png' not found (looked in {tmp_path / 'input'})", "n2", "image")
    env.files.locations["image"] = "models"
    assert _check_file("n2", spec(), "dog.png", env).message == \
        f"image file 'dog.png' not found (looked in {tmp_path / 'models' / 'image'}, {tmp_path / 'models'})"


@pytest.mark.parametrize("value, message", [
    ("../secret.png", "'../secret.png' leaves the image folder"),
    ("/etc/passwd", "'/etc/passwd' must be a name relative to the image folder"),
])
def test_escaping_paths_are_refused(env, value, message):
    assert _check_file("n3", spec(), value, env) == Problem("bad_path", message, "n3", "image")


def test_schemes_and_hub_ids(env):
    assert _check_file("n4", spec(schemes=("hf://", "s3://")), "s3://bucket/x.png", env) is None
    assert _check_file("n4", spec(schemes=("hf://",)), "s3://bucket/x.png", env).code == "missing_file"
    assert _check_file("n4", spec(allow_hub_id=True), "stabilityai/sdxl-turbo", env) is None
    assert _check_file("n4", spec(allow_hub_id=False), "stabilityai/sdxl-turbo", env).code == "missing_file"
    for not_an_id in ("a/b/c", "single", "/a", "a/", "./a"):
        problem = _check_file("n4", spec(allow_hub_id=True), not_an_id, env)
        assert problem is not None and problem.node == "n4", not_an_id


def demo(name, kind):
    return SimpleNamespace(name=name, kind=kind, value=f"demo:{name}")


def test_demo_inputs():
    registry = SimpleNamespace(demos={"cat": demo("cat", "image"), "dog": demo("dog", "image"),
                                      "sdxl": demo("sdxl", "checkpoint")})
    assert _check_demo("n5", spec(), "demo:cat", registry) is None
    assert _check_demo("n5", spec(), "demo:sdxl", registry) == \
        Problem("bad_value", "unknown demo 'demo:sdxl'; known image demos: demo:cat, demo:dog", "n5", "image")
    assert _check_demo("n5", spec(kind="lora"), "demo:cat", registry) == \
        Problem("bad_value", "unknown demo 'demo:cat'; known lora demos: none", "n5", "image")


@pytest.mark.parametrize("name", ["old.ckpt", "OLD.PT", "lora.bin"])
def test_pickle_weights_are_refused_with_the_reason_and_the_way_out(env, name):
    (env.files.input_dir / name).write_bytes(b"pickle")
    problem = _check_file("n6", spec(extensions=(".safetensors",)), name, env)
    suffix = name[name.rindex("."):]
    assert problem == Problem(
        "bad_file", f"{name!r} is a pickle-based file ({suffix}); loading pickle can run arbitrary code, so "
        "only .safetensors files are accepted here. Convert it once with a trusted tool (e.g. safetensors' "
        "convert script) and use that file.", "n6", "image")


@node("Knobs", category="test", output_node=True)
class Knobs(Node):
    steps: int = Widget(4, ge=1)
    gain: float = Widget(0.5, le=2.0)
    mix: float = Widget(0.5, ge=0, le=1)
    flip: bool = Widget(False)
    label: str = Widget("x")
    mode: Literal["a", "b"] = Widget("a")
    size: tuple[int, int] = Widget((8, 8))
    weights: dict[str, float] = Widget({})
    picture: str = FileInput("image", default="cat.png")

    def run(self, ctx):  # pragma: no cover - validated only
        return None


def knob_problems(**inputs) -> list[tuple[str, str, str]]:
    registry = Registry()
    registry.add_node(Knobs, "test")
    workflow = parse_workflow({"format": "nodegraph/workflow", "version": 1,
                               "nodes": {"k": {"type": "Knobs", "inputs": inputs}}})
    return [(p.code, p.input, p.message) for p in validate(workflow, registry)]


@pytest.mark.parametrize("inputs, message", [
    ({"steps": 0}, "0 is out of bounds [1, inf]"),  # an open side reads as infinity
    ({"gain": 3.5}, "3.5 is out of bounds [-inf, 2.0]"),
    ({"mix": -1}, "-1 is out of bounds [0, 1]"),
    ({"steps": 1.5}, "1.5 is not an integer"),
    ({"gain": "0.7"}, "'0.7' is not a number"),
    ({"flip": 1}, "1 is not true or false"),
    ({"label": 5}, "5 is not a string"),
    ({"mode": "c"}, "'c' is not one of 'a', 'b'"),
    ({"size": [1, 2, 3]}, "[1, 2, 3]: Tuple should have at most 2 items after validation, not 3"),
    ({"size": [1, "a"]}, "[1, 'a']: Input should be a valid integer (at [1])"),  # where inside the value
    ({"size": "8x8"}, "'8x8': Input should be a valid array"),
    ({"picture": 5}, "5 is not a file name"),
    ({"weights": {"style": "high"}}, "{'style': 'high'}: Input should be a valid number (at ['style'])"),
])
def test_a_bad_literal_says_what_was_expected(inputs, message):
    (name,) = inputs
    assert knob_problems(**inputs) == [("bad_value", name, message)]


def test_a_long_bad_value_is_shortened_to_80_characters():
    fits = "7" * 77  # its repr, with quotes, is 79 characters
    assert knob_problems(steps=fits) == [("bad_value", "steps", f"{fits!r} is not an integer")]
    long = "7" * 78  # 80 characters: cut
    assert knob_problems(steps=long) == [("bad_value", "steps", f"'{'7' * 76}... is not an integer")]


def problems_of(registry: Registry, nodes: dict) -> list[tuple[str, str, str | None, str]]:
    workflow = parse_workflow({"format": "nodegraph/workflow", "version": 1,
                               "nodes": {nid: {"type": t, "inputs": i} for nid, (t, i) in nodes.items()}})
    return [(p.code, p.node, p.input, p.message) for p in validate(workflow, registry)]


def test_unknown_names_get_a_suggestion_or_the_plugins_that_failed():
    registry = Registry()
    registry.add_node(Knobs, "test")
    assert problems_of(registry, {"a": ("Knbos", {}), "b": ("Zebra", {}), "k": ("Knobs", {"stpes": 2, "zz": 1})}) == [
        ("unknown_type", "a", None, "unknown node type 'Knbos' (did you mean 'Knobs'?)"),
        ("unknown_type", "b", None, "unknown node type 'Zebra'"),
        ("unknown_input", "k", "stpes", "Knobs has no input 'stpes' (did you mean 'steps'?)"),
        ("unknown_input", "k", "zz", "Knobs has no input 'zz'"),
    ]
    registry.failures.append(PluginFailure("mine/zebra.py", "failed to import: SyntaxError"))
    assert problems_of(registry, {"b": ("Zebra", {}), "k": ("Knobs", {})})[0] == \
        ("unknown_type", "b", None, "unknown node type 'Zebra' (plugins that failed to load: mine/zebra.py)")
    registry.failures += [PluginFailure("acme.nodes", "failed to import: ImportError: no module named 'cv2'"),
                          PluginFailure("mine/zebra.py", "'x' in DEMOS is not a DemoAsset")]
    assert problems_of(registry, {"b": ("Zebra", {}), "k": ("Knobs", {})})[0] == (
        "unknown_type", "b", None, "unknown node type 'Zebra' (plugins that failed to load: acme.nodes, mine/zebra.py)")


@node("Even", category="test", output_node=True)
class Even(Node):
    steps: int = Widget(...)  # required: a value or a link
    image: Any = Socket("IMAGE")  # required: a link only
    gain: float = Widget(1.0)

    @classmethod
    def check_inputs(cls, literals, env):
        return [("steps", "steps must be even")] if literals.get("steps", 0) % 2 else []

    def run(self, ctx):  # pragma: no cover - validated only
        return None


def test_node_checks_run_once_the_literals_are_fine_and_name_node_and_input():
    registry = Registry()
    registry.add_node(Even, "test")
    registry.add_node(Knobs, "test")
    assert problems_of(registry, {"e": ("Even", {})}) == [
        ("missing_input", "e", "steps", "required input is missing: it needs a value or a link"),
        ("missing_input", "e", "image", "required input is missing: it needs a link from a IMAGE output")]
    found = problems_of(registry, {"e": ("Even", {"steps": 3}), "k": ("Knobs", {})})
    assert ("bad_value", "e", "steps", "steps must be even") not in found  # 'image' is missing: no check yet
    registry.add_node(Pic, "test")
    found = problems_of(registry, {"e": ("Even", {"steps": 3, "image": {"from": "p", "output": "image"}}),
                                   "p": ("Pic", {})})
    assert found == [("bad_value", "e", "steps", "steps must be even")]
    assert problems_of(registry, {"e": ("Even", {"steps": 3, "gain": "x", "image": {"from": "p", "output": "image"}}),
                                  "p": ("Pic", {})}) == [("bad_value", "e", "gain", "'x' is not a number")]


@node("Pic", category="test", outputs={"image": "IMAGE"})
class Pic(Node):
    def run(self, ctx):  # pragma: no cover - validated only
        return None


def test_a_workflow_without_nodes_or_outputs_says_so():
    registry = Registry()
    registry.add_node(Pic, "test")
    assert problems_of(registry, {}) == [("no_output", None, None, "the workflow has no nodes")]
    assert problems_of(registry, {"p": ("Pic", {})}) == [
        ("no_output", None, None, "the workflow has no output node (e.g. SaveImage), so nothing would run")]


@node("Words", category="test", outputs={"text": "STRING"})
class Words(Node):
    def run(self, ctx):  # pragma: no cover - validated only
        return None


@node("Caption", category="test", output_node=True)
class Caption(Node):
    text: str = Widget("")  # typed in, or linked from a node that writes it

    @classmethod
    def check_inputs(cls, literals, env):
        if "text" in literals and not literals["text"].strip():
            return [("text", "the caption is empty: type one or link one")]
        return []

    def run(self, ctx):  # pragma: no cover - validated only
        return None


def test_a_linked_input_has_no_literal_for_node_checks_to_refuse():
    registry = Registry()
    registry.add_node(Words, "test")
    registry.add_node(Caption, "test")
    assert problems_of(registry, {"c": ("Caption", {})}) == [
        ("bad_value", "c", "text", "the caption is empty: type one or link one")]
    linked = {"c": ("Caption", {"text": {"from": "w", "output": "text"}}), "w": ("Words", {})}
    assert problems_of(registry, linked) == []


def test_a_graph_keeps_the_workflow_its_outputs_embed():
    registry = Registry()
    registry.add_node(Caption, "test")
    workflow = parse_workflow({"format": "nodegraph/workflow", "version": 1,
                               "nodes": {"c": {"type": "Caption", "inputs": {"text": "hello"}}}})
    graph = build_graph(workflow, registry)
    ctx = RunContext("c", "Caption", None, InterruptToken(), graph=graph)
    assert ctx.workflow == workflow.to_json() and ctx.workflow["nodes"]["c"]["inputs"] == {"text": "hello"}
