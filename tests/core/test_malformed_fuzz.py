"""Hundreds of generated malformed workflows: each exits 2 with structured errors, never a traceback."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodegraph.cli import main as cli

VALID = {
    "format": "nodegraph/workflow", "version": 1,
    "nodes": {
        "a": {"type": "Int", "inputs": {"value": 2}},
        "b": {"type": "MathInt", "inputs": {"a": {"from": "a", "output": "value"}, "b": 3, "op": "add"}},
        "img": {"type": "SolidImage", "inputs": {"width": 8, "height": 8}},
        "r": {"type": "ResizeImage", "inputs": {"image": {"from": "img", "output": "image"}, "width": 16}},
        "s": {"type": "Show", "inputs": {"value": {"from": "b", "output": "value"}}},
        "save": {"type": "SaveImage", "inputs": {"images": {"from": "r", "output": "image"}}},
    },
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6)
node_ids = st.sampled_from(sorted(VALID["nodes"]))
names = st.text(min_size=1, max_size=10)


RAW = "@@raw@@"


def copy():
    return json.loads(json.dumps(VALID))


@st.composite
def malformed(draw):
    """A workflow (as text) with at least one thing wrong; the kinds cover every check."""
    data = copy()
    nodes = data["nodes"]
    kind = draw(st.sampled_from([
        "not_json", "top_not_object", "format", "version", "nodes_not_object", "node_not_object", "type_not_str",
        "unknown_type", "unknown_input", "missing_required", "missing_link_node", "unknown_output",
        "type_mismatch", "out_of_bounds", "enum", "wrong_literal_type", "cycle", "no_output", "bad_link_shape",
        "extra_top_key", "inputs_not_object", "literal_for_link", "deep_nesting", "huge_int", "non_finite"]))
    nid = draw(node_ids)
    raw = None  # JSON text json.dumps cannot (or must not) write, put in place of RAW
    if kind == "deep_nesting":
        depth = draw(st.sampled_from([65, 200, 5_000, 100_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
        raw = opener * depth + "1" + closer * depth
    elif kind == "huge_int":
        raw = draw(st.sampled_from(["", "-"])) + "9" * draw(st.integers(4001, 6000))
    elif kind == "non_finite":
        raw = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400"]))
    if raw is not None:
        where = draw(st.sampled_from(["input", "ui", "version"]))
        if where == "input":
            nodes[nid]["inputs"][draw(st.sampled_from(["value", "width", "zz"]))] = RAW
        elif where == "ui":
            nodes[nid]["ui"] = {"pos": [RAW, 0]}
        else:
            data["version"] = RAW
        return json.dumps(data).replace(json.dumps(RAW), raw)
    if kind == "not_json":
        return json.dumps(data)[: draw(st.integers(0, 40))] + draw(st.sampled_from(["{", "]", ",", "\x00", "nul"]))
    if kind == "top_not_object":
        return json.dumps(draw(st.lists(json_values, max_size=3) | st.integers() | st.text(max_size=5)))
    if kind == "format":
        data["format"] = draw(json_values.filter(lambda v: v != "nodegraph/workflow"))
    elif kind == "version":
        data["version"] = draw(json_values.filter(lambda v: v != 1 or isinstance(v, bool)))
    elif kind == "nodes_not_object":
        data["nodes"] = draw(st.lists(json_values, max_size=3) | st.integers() | st.text(max_size=4))
    elif kind == "node_not_object":
        nodes[nid] = draw(st.integers() | st.text(max_size=5) | st.lists(json_values, max_size=2) | st.none())
    elif kind == "type_not_str":
        nodes[nid]["type"] = draw(st.integers() | st.none() | st.lists(st.integers(), max_size=2) | st.just(""))
    elif kind == "unknown_type":
        nodes[nid]["type"] = draw(names.filter(lambda s: s not in ("Int", "MathInt", "SolidImage", "ResizeImage",
                                                                     "Show", "SaveImage", "Float", "String",
                                                                     "Boolean", "Seed", "MathFloat", "JoinText",
                                                                     "FormatText", "SaveText", "LoadImage")))
    elif kind == "unknown_input":
        nodes[nid]["inputs"]["zz_" + draw(names)] = draw(json_values)
    elif kind == "missing_required":
        which = draw(st.sampled_from([("r", "image"), ("s", "value"), ("save", "images")]))
        del nodes[which[0]]["inputs"][which[1]]
    elif kind == "missing_link_node":
        nodes["s"]["inputs"]["value"] = {"from": "ghost_" + draw(names), "output": "value"}
    elif kind == "unknown_output":
        nodes["s"]["inputs"]["value"] = {"from": "b", "output": "x_" + draw(names)}
    elif kind == "type_mismatch":
        nodes["r"]["inputs"]["image"] = {"from": draw(st.sampled_from(["a", "b"])), "output": "value"}
    elif kind == "out_of_bounds":
        nodes["r"]["inputs"]["width"] = draw(st.integers(max_value=0) | st.integers(min_value=8193))
    elif kind == "enum":
        nodes["b"]["inputs"]["op"] = draw(st.text(max_size=8).filter(
            lambda s: s not in ("add", "subtract", "multiply", "floordiv", "mod", "min", "max")))
    elif kind == "wrong_literal_type":
        nodes["a"]["inputs"]["value"] = draw(st.text(max_size=5) | st.floats(allow_nan=False) | st.booleans()
                                             | st.lists(st.integers(), max_size=2) | st.none())
    elif kind == "cycle":
        nodes["a"] = {"type": "MathInt", "inputs": {"a": {"from": "b", "output": "value"}}}
    elif kind == "no_output":
        del nodes["s"], nodes["save"]
    elif kind == "bad_link_shape":
        nodes["s"]["inputs"]["value"] = draw(st.sampled_from([
            {"from": "b"}, {"from": 3, "output": "value"}, {"from": "b", "output": "value", "x": 1},
            {"from": None, "output": None}]))
    elif kind == "extra_top_key":
        data["x_" + draw(names)] = draw(json_values)
    elif kind == "inputs_not_object":
        nodes[nid]["inputs"] = draw(st.lists(json_values, max_size=2) | st.integers() | st.text(max_size=3))
    elif kind == "literal_for_link":
        nodes["save"]["inputs"]["images"] = draw(st.integers() | st.text(max_size=4))
    return json.dumps(data)


@settings(max_examples=320, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=malformed())
def test_malformed_workflows_exit_2_with_structured_errors(text, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz", numbered=True)
    path = folder / "w.json"
    path.write_text(text)
    capsys.readouterr()
    code = cli.main(["validate", str(path), "--json", "--input-dir", str(folder), "--models-dir", str(folder)])
    out, err = capsys.readouterr()
    assert code == 2, text
    problems = json.loads(out)
    assert problems and all(p["code"] and p["message"] for p in problems)
    assert "Traceback" not in err
    code = cli.main(["run", str(path), "--no-cache", "--events", "jsonl", "--out", str(folder / "out"),
                     "--input-dir", str(folder), "--models-dir", str(folder)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    events = [json.loads(line) for line in out.splitlines()]
    assert events and all(e["event"] == "error" and e["kind"] == "validation" and e["message"] for e in events)
    assert not (folder / "out").exists()  # nothing ran


def test_a_workflow_nested_100000_levels_deep_exits_2_with_a_clear_message(tmp_path):
    """The real console entry point: no RecursionError traceback, for validate and run alike."""
    from core_helpers import cli as run_cli
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(VALID).replace('"value": 2', '"value": ' + deep))
    for args in (["validate", str(path)], ["run", str(path), "--no-cache", "--out", str(tmp_path / "out")]):
        out = run_cli(*args, cwd=tmp_path)
        assert out.returncode == 2, out.stderr[-2000:]
        assert "nests more than 64 levels deep" in out.stdout + out.stderr
        assert "Traceback" not in out.stderr and "RecursionError" not in out.stderr


def test_huge_integers_and_non_finite_numbers_exit_2_naming_the_problem(tmp_path, capsys):
    cases = {"9" * 5000: "an integer of 5000 digits is too long", "NaN": "NaN is not a JSON number",
             "Infinity": "Infinity is not a JSON number", "-Infinity": "-Infinity is not a JSON number",
             "1e999": "1e999 is too large for a number"}
    for raw, message in cases.items():
        path = tmp_path / "w.json"
        path.write_text(json.dumps(VALID).replace('"value": 2', '"value": ' + raw))
        capsys.readouterr()
        assert cli.main(["validate", str(path), "--json"]) == 2
        (problem,) = json.loads(capsys.readouterr().out)
        assert problem["code"] == "bad_json" and message in problem["message"], problem


def test_set_values_follow_the_same_rules_as_workflow_files(tmp_path, capsys):
    """--set cannot smuggle in what a workflow file may not hold: NaN, huge numbers, deep JSON."""
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"format": "nodegraph/workflow", "version": 1, "nodes": {
        "f": {"type": "Float", "inputs": {}}, "i": {"type": "Int", "inputs": {}},
        "t": {"type": "Strategies", "inputs": {}},
        "s": {"type": "Show", "inputs": {"value": {"from": "f", "output": "value"}}}}}))
    cases = {"f.value=nan": "numbers must be finite", "f.value=-inf": "numbers must be finite",
             "i.value=" + "9" * 5000: "more than 4000 digits",
             "t.extra=" + '{"a":' * 100 + '"x"' + "}" * 100: "nests more than 64 levels deep",
             "t.extra=" + '{"a": NaN}': "NaN is not a JSON number"}
    for arg, message in cases.items():
        capsys.readouterr()
        assert cli.main(["run", str(path), "--no-cache", "--out", str(tmp_path / "out"), "--set", arg]) == 2, arg
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (arg[:40], err[-500:])
