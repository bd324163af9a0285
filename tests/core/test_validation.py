"""Validation reports every problem at once, each naming node id and input."""
import json

import pytest
from core_helpers import cli, link, wf, write

from nodegraph.graph.validate import validate
from nodegraph.graph.workflow import parse_workflow


def problems(registry, env, data):
    return {(p.code, p.node, p.input) for p in validate(parse_workflow(data), registry, env)}, \
        validate(parse_workflow(data), registry, env)


def test_every_problem_is_reported_at_once_with_node_and_input(registry, env):
    found, detail = problems(registry, env, wf(
        a=("Int", {"value": 3}),
        typo=("MathInnt", {}),
        b=("MathInt", {"a": link("a"), "c": 1}),  # unknown input
        m=("ResizeImage", {"width": 64}),  # missing required link 'image'
        l1=("MathInt", {"a": link("ghost")}),  # link to a missing node
        l2=("MathInt", {"a": link("a", "nope")}),  # unknown output
        t=("ResizeImage", {"image": link("a")}),  # INT into IMAGE
        big=("ResizeImage", {"image": link("img", "image"), "width": 100000}),  # out of bounds
        en=("MathInt", {"op": "pow"}),  # not in the enum
        wt=("MathInt", {"a": "three"}),  # wrong literal type
        img=("SolidImage", {}),
        lit=("ResizeImage", {"image": 5}),  # literal where a link is needed
        s=("Show", {"value": link("b")}),
    ))
    assert found == {
        ("unknown_type", "typo", None), ("unknown_input", "b", "c"), ("missing_input", "m", "image"),
        ("bad_link", "l1", "a"), ("bad_link", "l2", "a"), ("type_mismatch", "t", "image"),
        ("bad_value", "big", "width"), ("bad_value", "en", "op"), ("bad_value", "wt", "a"),
        ("needs_link", "lit", "image"),
    }
    text = {p.node: str(p) for p in detail}
    assert "did you mean 'MathInt'" in text["typo"]
    assert "expects IMAGE but 'a'.value is INT" in text["t"]
    assert "100000 is out of bounds [1, 8192]" in text["big"]
    assert "'pow' is not one of" in text["en"]
    assert "'nope'" in text["l2"] and "outputs: value" in text["l2"]


def test_a_cycle_names_its_path(registry, env):
    _, detail = problems(registry, env, wf(
        a=("MathInt", {"a": link("c")}), b=("MathInt", {"a": link("a")}), c=("MathInt", {"a": link("b")}),
        s=("Show", {"value": link("c")})))
    (cycle,) = [p for p in detail if p.code == "cycle"]
    path = cycle.message.removeprefix("cycle: ").split(" -> ")
    assert path[0] == path[-1] and set(path) == {"a", "b", "c"} and len(path) == 4


def test_self_loop_is_a_cycle(registry, env):
    found, _ = problems(registry, env, wf(a=("MathInt", {"a": link("a")}), s=("Show", {"value": link("a")})))
    assert ("cycle", "a", None) in found


def test_a_workflow_without_output_node_is_refused(registry, env):
    found, _ = problems(registry, env, wf(a=("Int", {})))
    assert ("no_output", None, None) in found


def test_subtypes_and_any_are_compatible(registry):
    from nodegraph.api.types import SocketType, TypeRegistry
    types = TypeRegistry()
    types.add(SocketType("SDXL_MODEL", parents=("MODEL",)))
    types.add(SocketType("SDXL_TURBO", parents=("SDXL_MODEL",)))
    assert types.compatible("SDXL_TURBO", "MODEL") and types.compatible("INT", "*") and types.compatible("*", "IMAGE")
    assert not types.compatible("MODEL", "SDXL_MODEL") and not types.compatible("INT", "FLOAT")


def test_missing_file_inputs_fail_validation_before_anything_runs(registry, env):
    found, detail = problems(registry, env, wf(i=("LoadImage", {"image": "nope.png"}),
                                               s=("SaveImage", {"images": link("i", "image")})))
    assert found == {("missing_file", "i", "image")}
    assert "'nope.png' not found" in str(detail[0])


@pytest.mark.parametrize("text, expected", [
    ("{", "is not valid JSON"),
    ('{"format": "comfy", "version": 1, "nodes": {}}', "'format' must be 'nodegraph/workflow'"),
    ('{"format": "nodegraph/workflow", "version": 7, "nodes": {}}', "unknown workflow version 7"),
    ("[1, 2]", "a workflow is a JSON object"),
])
def test_file_level_errors_are_clear(tmp_path, text, expected):
    path = write(tmp_path / "w.json", text)
    out = cli("validate", str(path))
    assert out.returncode == 2 and expected in out.stdout and "Traceback" not in out.stderr


def test_validate_cli_prints_one_problem_per_line_and_exits_2(tmp_path):
    path = write(tmp_path / "w.json", wf(a=("Int", {"value": "x"}), b=("Nope", {}), s=("Show", {"value": link("a")})))
    out = cli("validate", str(path))
    assert out.returncode == 2
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("node 'a', input 'value':") for line in lines)
    assert any(line.startswith("node 'b':") and "unknown node type 'Nope'" in line for line in lines)
    as_json = cli("validate", str(path), "--json")
    assert {(p["node"], p.get("input")) for p in json.loads(as_json.stdout)} == {("a", "value"), ("b", None)}


def test_valid_workflow_validates(tmp_path):
    path = write(tmp_path / "w.json", wf(a=("Int", {"value": 2}), s=("Show", {"value": link("a")})))
    out = cli("validate", str(path))
    assert out.returncode == 0 and "valid" in out.stderr
