"""Node modes: a bypassed node passes its matching input on, a muted one passes nothing; both saved in the file."""
import json

import pytest

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.graph.workflow import dumps_workflow, parse_workflow

from core_helpers import cli, link, wf, write


def lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def shown(stdout, node="s"):
    return [e["ui"]["text"] for e in lines(stdout) if e.get("node") == node and "ui" in e]


def chain(mode_of_m=None, **m_inputs):
    """a=3 -> m = a (op) b -> s shows it."""
    data = wf(a=("Int", {"value": 3}), m=("MathInt", {"a": link("a"), "b": 4, "op": "multiply", **m_inputs}),
              s=("Show", {"value": link("m")}))
    if mode_of_m:
        data["nodes"]["m"]["mode"] = mode_of_m
    return data


def test_bypass_from_the_cli_passes_the_matching_input_through(tmp_path):
    normal = cli("run", str(write(tmp_path / "n.json", chain())), "--no-cache", "--events", "jsonl")
    assert normal.returncode == 0, normal.stderr
    assert shown(normal.stdout) == ["12"]
    bypassed = cli("run", str(write(tmp_path / "b.json", chain("bypass"))), "--no-cache", "--events", "jsonl")
    assert bypassed.returncode == 0, bypassed.stderr
    assert shown(bypassed.stdout) == ["3"]  # a went straight through: the multiply did not run
    start = next(e for e in lines(bypassed.stdout) if e["event"] == "start")
    assert "m" not in start["nodes"]
    assert cli("validate", str(tmp_path / "b.json")).returncode == 0


def test_bypass_follows_chains_of_bypassed_nodes(session):
    data = chain("bypass")
    data["nodes"]["m2"] = {"type": "MathInt", "inputs": {"a": link("m"), "b": 100}, "mode": "bypass"}
    data["nodes"]["s"]["inputs"]["value"] = link("m2")
    assert session.run(data).ui["s"]["text"] == "3"
    data["nodes"]["m2"].pop("mode")
    assert session.run(data).ui["s"]["text"] == "103"


def test_bypassed_node_with_nothing_to_pass_is_a_clear_problem(session):
    # SolidImage has no IMAGE input: bypassing it leaves ResizeImage without an image.
    data = wf(c=("SolidImage", {}), r=("ResizeImage", {"image": link("c", "image"), "width": 8, "height": 8}),
              o=("SaveImage", {"images": link("r", "image")}))
    data["nodes"]["c"]["mode"] = "bypass"
    with pytest.raises(WorkflowInvalid) as exc:
        session.prepare(data)
    problems = exc.value.problems
    assert [(p.node, p.input, p.code) for p in problems] == [("r", "image", "bypassed_source")]
    assert "#c (SolidImage) is bypassed and has no IMAGE input" in problems[0].message
    # the matching input holds a value, not a link: named as such
    literal = chain("bypass", a=7)
    with pytest.raises(WorkflowInvalid) as exc:
        session.prepare(literal)
    assert [(p.node, p.input) for p in exc.value.problems] == [("s", "value")]
    assert "INT input 'a' has no link to pass through" in exc.value.problems[0].message


def test_muted_source_fails_its_consumer_and_a_muted_output_is_skipped(session, tmp_path):
    data = chain("mute")
    with pytest.raises(WorkflowInvalid) as exc:
        session.prepare(data)
    assert [(p.node, p.input) for p in exc.value.problems] == [("s", "value")]
    assert "#m (MathInt) is muted" in exc.value.problems[0].message
    # a muted output node simply does not run; the other output still does
    two = chain()
    two["nodes"]["s2"] = {"type": "Show", "inputs": {"value": link("a")}, "mode": "mute"}
    result = session.run(two)
    assert set(result.ui) == {"s"} and result.ui["s"]["text"] == "12"
    out = cli("validate", str(write(tmp_path / "m.json", data)))
    assert out.returncode == 2 and "#m (MathInt) is muted" in out.stdout


def test_mode_is_saved_in_the_file_and_checked():
    data = chain("bypass")
    assert json.loads(dumps_workflow(parse_workflow(data)))["nodes"]["m"]["mode"] == "bypass"
    assert "mode" not in json.loads(dumps_workflow(parse_workflow(chain())))["nodes"]["m"]
    data["nodes"]["m"]["mode"] = "sleep"
    with pytest.raises(WorkflowInvalid) as exc:
        parse_workflow(data)
    assert exc.value.problems[0].node == "m" and "mode" in exc.value.problems[0].message


def test_bypassed_resize_saves_the_original_size_and_the_png_keeps_the_mode(session):
    from PIL import Image
    data = wf(c=("SolidImage", {"width": 24, "height": 16}),
              r=("ResizeImage", {"image": link("c", "image"), "width": 8, "height": 8}),
              o=("SaveImage", {"images": link("r", "image"), "prefix": "bypass"}))
    resized = session.run(data)
    with Image.open(resized.outputs[0]) as img:
        assert img.size == (8, 8)
    data["nodes"]["r"]["mode"] = "bypass"
    passed = session.run(data)
    assert passed.ok and "r" not in passed.executed
    with Image.open(passed.outputs[0]) as img:
        assert img.size == (24, 16)
        embedded = json.loads(img.info["nodegraph.workflow"])
    assert embedded["nodes"]["r"]["mode"] == "bypass"  # dropping the PNG on the canvas restores it
