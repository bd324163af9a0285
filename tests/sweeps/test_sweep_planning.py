"""A sweep is one job whose nodes run once per distinct set of inputs (docs/sweeps.md)."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from nodegraph.api.errors import WorkflowInvalid

from sweep_helpers import executed_per_node, run_sweep, swept


def test_crossed_sweep_runs_each_node_once_per_distinct_inputs(make_session):
    events, result = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]))
    assert result.ok
    # base feeds every cell: once; solid once per red; resize and save once per (red, width)
    assert executed_per_node(events) == {"base": 1, "solid": 3, "resize": 6, "save": 6}
    cells = [e for e in events if e["event"] == "cell"]
    assert [c["done"] for c in cells] == [1, 2, 3, 4, 5, 6] and {c["total"] for c in cells} == {6}
    assert [tuple(c["values"].values()) for c in cells] == [(r, w) for r in (0.0, 0.5, 1.0) for w in (16, 24)]


def test_zipped_sweep_pairs_values(make_session):
    events, result = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 16, 24], zip_axes=True))
    assert result.ok
    assert executed_per_node(events) == {"base": 1, "solid": 3, "resize": 3, "save": 3}
    cells = [e for e in events if e["event"] == "cell"]
    assert [tuple(c["values"].values()) for c in cells] == [(0.0, 16), (0.5, 16), (1.0, 24)]


def test_zipped_axes_of_unequal_length_are_refused(make_session):
    with pytest.raises(WorkflowInvalid, match="as many values"):
        make_session().prepare(swept([0.0, 0.5], [16, 24, 32], zip_axes=True))


def test_each_cell_writes_its_own_workflow(make_session, tmp_path):
    events, _ = run_sweep(make_session(), swept([0.0, 1.0], [16, 24]))
    for cell in (e for e in events if e["event"] == "cell"):
        (path,) = cell["outputs"]
        with Image.open(path) as image:
            embedded = json.loads(image.text["nodegraph.workflow"])
            assert image.size == (cell["values"]["resize.width"], 16)
        assert "sweep" not in embedded
        assert embedded["nodes"]["solid"]["inputs"]["red"] == cell["values"]["solid.red"]
        assert embedded["nodes"]["resize"]["inputs"]["width"] == cell["values"]["resize.width"]
        # the cell re-runs alone from its PNG, all served from the sweep's cache
        again = []
        assert make_session().run(path, sink=again.append).ok
        assert executed_per_node(again) == {}


def test_interrupt_keeps_finished_cells_and_a_rerun_finishes_the_rest(make_session):
    events, result = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]), stop_after_cells=2)
    assert result.status == "interrupted"
    index = json.loads(open(events[-1]["sweep"]["index"]).read())
    assert [c["status"] for c in index["cells"]] == ["done", "done"] + ["not run"] * 4
    assert all(c["outputs"] for c in index["cells"][:2])
    # a new session (a new process: the disk cache) runs only the four unfinished cells
    events, result = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]))
    assert result.ok
    assert executed_per_node(events) == {"solid": 2, "resize": 4, "save": 4}
    assert [c["cached"] for c in events if c["event"] == "cell"] == [True, True, False, False, False, False]
    events, _ = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]))
    assert executed_per_node(events) == {}


def test_widened_sweep_runs_only_new_cells(make_session):
    run_sweep(make_session(), swept([0.0, 0.5], [16]))
    events, result = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]))
    assert result.ok
    # new: red 1.0 (solid once), width 24 for every red, width 16 for red 1.0
    assert executed_per_node(events) == {"solid": 1, "resize": 4, "save": 4}


def test_a_bad_value_names_its_cell(make_session):
    with pytest.raises(WorkflowInvalid) as caught:
        make_session().prepare(swept([0.0, 3.0], [16, 24]))
    problems = caught.value.problems
    assert len(problems) == 2  # the two cells with red 3.0; the others are fine
    assert problems[0].node == "solid" and problems[0].input == "red"
    assert "cell 3 (solid.red=3.0, resize.width=16)" in problems[0].message
    assert "cell 4 (solid.red=3.0, resize.width=24)" in problems[1].message


def test_a_failing_cell_is_named_in_its_error(make_session):
    data = swept([0.0], None)
    data["nodes"]["base"]["inputs"]["op"] = "divide"
    data["sweep"]["axes"] = [{"node": "base", "input": "b", "values": [0.5, 0.0]}]
    events, result = run_sweep(make_session(), data)
    assert result.status == "failed"
    (error,) = [e for e in events if e["event"] == "error"]
    assert error["cell"] == 1 and error["node"] == "base[b=0.0]"
    assert error["message"].startswith("cell 2 (base.b=0.0): ")
    assert [e["done"] for e in events if e["event"] == "cell"] == [1]


def test_unknown_axis_is_a_problem(make_session):
    data = swept([0.0])
    data["sweep"]["axes"].append({"node": "nope", "input": "x", "values": [1]})
    with pytest.raises(WorkflowInvalid, match="no node 'nope'"):
        make_session().prepare(data)


def test_cells_sharing_an_upstream_value_run_together(make_session):
    """Axes given downstream first (width, then red): the cells still run red by red, so a node
    fed by red (a LoRA merge, in a real workflow) is left for the next value only once."""
    data = swept([0.0, 0.5], [16, 24])
    data["sweep"]["axes"].reverse()  # resize.width first: cell 1 is (16, 0.5), cell 2 (24, 0.0)
    events, result = run_sweep(make_session(), data)
    assert result.ok
    cells = [e for e in events if e["event"] == "cell"]
    assert [c["cell"] for c in cells] == [0, 2, 1, 3]
    assert [tuple(c["values"].values()) for c in cells] == [(16, 0.0), (24, 0.0), (16, 0.5), (24, 0.5)]
    ran = [e["node"] for e in events if e["event"] == "executed" and e["node"].startswith(("solid", "resize"))]
    assert [n.split("[")[0] for n in ran] == ["solid", "resize", "resize", "solid", "resize", "resize"]
    # the index and the sheet keep the cells' own order (rows: width, the first axis)
    index = json.loads(open(events[-1]["sweep"]["index"]).read())
    assert [tuple(c["values"].values()) for c in index["cells"]] == [(16, 0.0), (16, 0.5), (24, 0.0), (24, 0.5)]
    assert [c["cell"] for c in index["cells"]] == [0, 1, 2, 3]
