"""NeedleGrid against a real OpenAI-protocol server on loopback with a known recall pattern."""
from __future__ import annotations

import csv
import json

import pytest

from needle_helpers import expected_pattern, grid_workflow

LENGTHS = [1000, 2000, 4000, 8000]
DEPTHS = [0, 25, 50, 75, 100]


def table(runner, prefix: str = "grid") -> dict:
    return json.loads((runner.out / f"{prefix}_table.json").read_text())


@pytest.mark.parametrize("window, short", [(1700, 1500), (3500, 500)])
def test_heatmap_table_equals_the_servers_pattern(runner, pattern_server, window, short):
    pattern_server.window, pattern_server.short = window, short
    result, events = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS))
    assert result.ok, result.error
    got = table(runner)
    assert got["lengths"] == LENGTHS and got["depths"] == DEPTHS
    assert got["scores"] == expected_pattern(LENGTHS, DEPTHS, window, short)
    assert got["token_counter"] == "approximation: 1 token = 4 characters"
    with open(runner.out / "grid_table.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][1:] == [str(n) for n in LENGTHS]
    assert [[float(v) for v in row[1:]] for row in rows[1:]] == got["scores"]
    # One request and one progress event per cell; contexts are the lengths asked for.
    assert pattern_server.requests == len(LENGTHS) * len(DEPTHS)
    progress = [e["value"] for e in events.of("progress") if e["node"] == "grid"]
    assert progress == list(range(len(LENGTHS) * len(DEPTHS) + 1))
    for cell in got["cells"]:
        assert 0.9 * cell["length"] <= cell["tokens"] <= cell["length"]
    report = (runner.out / "report.md").read_text()
    assert "token counts: approximation: 1 token = 4 characters" in report
    assert f"mean recall: {got['mean']:.2f}" in report


def test_widened_grid_asks_only_the_new_cells(runner, pattern_server):
    result, _ = runner.run(grid_workflow(pattern_server.base_url, [1000, 2000, 4000], [0, 50, 100]))
    assert result.ok, result.error
    assert pattern_server.requests == 9
    pattern_server.reset()
    result, _ = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS))
    assert result.ok, result.error
    assert pattern_server.requests == len(LENGTHS) * len(DEPTHS) - 9
    cells = {(c["length"], c["depth"]): c["cached"] for c in table(runner)["cells"]}
    assert [k for k, cached in cells.items() if cached] == [(n, d) for n in (1000, 2000, 4000) for d in (0, 50, 100)]
    assert table(runner)["scores"] == expected_pattern(LENGTHS, DEPTHS, pattern_server.window, pattern_server.short)


def test_interrupted_grid_resumes_with_the_remaining_cells(runner, pattern_server):
    workflow = grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS, llm={"concurrency": 1})
    result, _ = runner.run(workflow, interrupt_after=7)
    assert result.status == "interrupted"
    assert pattern_server.requests == 7
    pattern_server.reset()
    result, events = runner.run(workflow)
    assert result.ok, result.error
    assert pattern_server.requests == len(LENGTHS) * len(DEPTHS) - 7
    assert sum(c["cached"] for c in table(runner)["cells"]) == 7
    assert table(runner)["scores"] == expected_pattern(LENGTHS, DEPTHS, pattern_server.window, pattern_server.short)


def test_an_interrupt_while_the_cells_are_prepared_stops_before_the_next_cell(runner, pattern_server, monkeypatch):
    """Placing the needles and counting a cell's tokens is the grid's first unit of work per cell
    (seconds each at 200K tokens): an interrupt during cell 3 stops before cell 4, and nothing
    is sent."""
    from nodegraph.run.context import InterruptToken
    from nodegraph_nodes.llm import needle
    token, prepared, original = InterruptToken(), [], needle.insert_needles

    def insert_needles(*args, **kwargs):
        prepared.append(args)
        if len(prepared) == 3:
            token.set()
        return original(*args, **kwargs)
    monkeypatch.setattr(needle, "insert_needles", insert_needles)
    result, events = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS), token=token)
    assert result.status == "interrupted"
    assert len(prepared) == 3 and pattern_server.requests == 0


def test_a_backend_failure_names_the_cell(runner, pattern_server):
    pattern_server.fail_when = lambda tokens, from_end: 3600 <= tokens <= 4000 and from_end == tokens
    result, _ = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS))
    assert result.status == "failed"
    assert result.error["node"] == "grid"
    assert "cell (length 4000, depth 0%) failed" in result.error["message"]
    assert "HTTP 500" in result.error["message"]
    # With on_error skip the grid finishes; the failed cell has no score and says why.
    result, _ = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS, grid={"on_error": "skip"}))
    assert result.ok, result.error
    got = table(runner)
    want = expected_pattern(LENGTHS, DEPTHS, pattern_server.window, pattern_server.short)
    want[DEPTHS.index(0)][LENGTHS.index(4000)] = None
    assert got["scores"] == want
    failed = [c for c in got["cells"] if c["error"]]
    assert [(c["length"], c["depth"]) for c in failed] == [(4000, 0)] and "HTTP 500" in failed[0]["error"]


def test_heatmap_png_has_the_grids_shape_and_colours(runner, pattern_server):
    from PIL import Image
    result, _ = runner.run(grid_workflow(pattern_server.base_url, LENGTHS, DEPTHS))
    assert result.ok, result.error
    with Image.open(runner.out / "grid_heatmap.png") as image:
        image.load()
        meta = json.loads(image.info["nodegraph:grid"])
        rgb = image.convert("RGB")
    assert (meta["rows"], meta["cols"]) == (len(DEPTHS), len(LENGTHS))
    left, top, right, bottom = meta["axes_px"]
    assert 0 <= left < right <= rgb.width and 0 <= top < bottom <= rgb.height
    cell_w, cell_h = (right - left) / len(LENGTHS), (bottom - top) / len(DEPTHS)
    pattern = expected_pattern(LENGTHS, DEPTHS, pattern_server.window, pattern_server.short)
    for i in range(len(DEPTHS)):
        for j in range(len(LENGTHS)):
            # a point in the cell away from its centred label
            r, g, b = rgb.getpixel((int(left + (j + 0.2) * cell_w), int(top + (i + 0.2) * cell_h)))
            assert (g > r) if pattern[i][j] == 1.0 else (r > g), (i, j, (r, g, b))


def test_a_prompt_longer_than_the_window_is_refused_before_asking(runner, pattern_server):
    workflow = grid_workflow(pattern_server.base_url, [1000, 4000], [0, 100], llm={"context_window": 3000})
    result, _ = runner.run(workflow)
    assert result.status == "failed" and result.error["node"] == "grid"
    message = result.error["message"]
    assert "cell (length 4000, depth 0%)" in message and "3000-token context window" in message
    assert "approximation" in message
    assert pattern_server.requests == 0


def test_llm_judge_grades_each_cell(runner, pattern_server):
    result, _ = runner.run(grid_workflow(pattern_server.base_url, [1000, 4000], [0, 100], judge=True))
    assert result.ok, result.error
    got = table(runner)
    assert got["method"] == "judge"
    assert got["scores"] == [[1.0, 0.2], [1.0, 1.0]]
    assert [c["grade"] for c in got["cells"]] == [10, 10, 2, 10]
    assert pattern_server.requests == 8  # four answers, four gradings


def test_changing_only_the_scoring_asks_nothing_again(runner, pattern_server):
    result, _ = runner.run(grid_workflow(pattern_server.base_url, [1000, 4000], [0, 100]))
    assert result.ok and pattern_server.requests == 4
    result, _ = runner.run(grid_workflow(pattern_server.base_url, [1000, 4000], [0, 100],
                                         grid={"method": "regex", "expected": r"\bground cardamom\b"}))
    assert result.ok, result.error
    assert pattern_server.requests == 4
    assert table(runner)["method"] == "regex" and table(runner)["scores"] == [[1.0, 0.0], [1.0, 1.0]]


def test_openai_variant_workflow_runs_against_the_loopback_server(runner, pattern_server):
    from needle_helpers import REPO
    workflow = json.loads((REPO / "workflows" / "needle_haystack_openai.json").read_text())
    grid = workflow["nodes"]["grid"]["inputs"]
    assert max(grid["lengths"]) == 200_000 and workflow["nodes"]["model"]["inputs"]["context_window"] >= 200_000
    workflow["nodes"]["model"]["inputs"].update(base_url=pattern_server.base_url, api_key_env="")
    grid.update(lengths=[1000, 4000], depths=[0, 100])
    result, _ = runner.run(workflow)
    assert result.ok, result.error
    assert json.loads((runner.out / "needle_200k_table.json").read_text())["scores"] == [[1.0, 0.0], [1.0, 1.0]]


def test_cells_run_at_most_concurrency_at_a_time(runner, pattern_server):
    pattern_server.hold_until = 2  # each request waits for a second one: concurrency 2 is reached
    pattern_server.hold_last = 8  # (the eighth, last, request may find its partner gone)
    # A request left alone waits out the server's hold: a client timeout above that, so it is
    # not retried (a retry would be a ninth request).
    result, _ = runner.run(grid_workflow(pattern_server.base_url, [1000, 2000], [0, 33, 67, 100],
                                         llm={"concurrency": 2, "timeout": 90.0}))
    assert result.ok, result.error
    assert pattern_server.requests == 8 and pattern_server.peak == 2
