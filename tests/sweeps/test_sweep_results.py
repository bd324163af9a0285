"""What a sweep leaves to look at: the contact sheet and the index (docs/sweeps.md)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from nodegraph.run.sweep_sheet import SHEET_KEY

from sweep_helpers import IMAGE_WORKFLOW, run_sweep, swept


def _done(events):
    return events[-1]["sweep"]


def test_contact_sheet_grid_labels_and_pictures(make_session):
    events, _ = run_sweep(make_session(), swept([0.0, 0.5, 1.0], [16, 24]))
    with Image.open(_done(events)["sheet"]) as sheet:
        page = json.loads(sheet.text[SHEET_KEY])
        pixels = sheet.convert("RGB")
        assert list(sheet.size) == page["size"]
        assert page["rows"] == ["solid.red=0.0", "solid.red=0.5", "solid.red=1.0"]
        assert page["columns"] == ["resize.width=16", "resize.width=24"]
        assert page["grid"] == [[0, 1], [2, 3], [4, 5]]
        boxes = {b["cell"]: b["box"] for b in page["boxes"]}
        # each place shows its own cell's picture: a solid colour whose red is the row's value
        for index, cell in enumerate(e for e in events if e["event"] == "cell"):
            left, top, right, bottom = boxes[index]
            red = pixels.getpixel(((left + right) // 2, (top + bottom) // 2))[0]
            assert abs(red - round(255 * cell["values"]["solid.red"])) <= 2, (index, red)
        # the row labels are drawn left of the grid: ink there, none in an empty corner
        first_top = boxes[0][1]
        label_band = pixels.crop((0, first_top, boxes[0][0], first_top + boxes[0][3] - boxes[0][1]))
        assert label_band.getextrema()[0][0] < 100


def test_three_axes_make_pages(make_session):
    data = swept([0.0, 1.0], [16, 24])
    data["sweep"]["axes"].insert(0, {"node": "solid", "input": "blue", "values": [0.0, 1.0, 0.5]})
    events, result = run_sweep(make_session(), data)
    assert result.ok
    index = json.loads(Path(_done(events)["index"]).read_text())
    assert [p["file"] for p in index["sheets"]] == ["sheet.png", "sheet-2.png", "sheet-3.png"]
    assert [p["title"] for p in index["sheets"]] == ["solid.blue=0.0", "solid.blue=1.0", "solid.blue=0.5"]
    folder = Path(_done(events)["index"]).parent
    assert all((folder / p["file"]).exists() for p in index["sheets"])


def test_index_json_and_csv(make_session):
    events, _ = run_sweep(make_session(), swept([0.0, 1.0], [16, 24]))
    index = json.loads(Path(_done(events)["index"]).read_text())
    assert index["cells_total"] == index["cells_done"] == 4
    assert [a["name"] for a in index["axes"]] == ["solid.red", "resize.width"]
    cells = index["cells"]
    assert [c["values"] for c in cells] == [{"solid.red": r, "resize.width": w} for r in (0.0, 1.0) for w in (16, 24)]
    assert all(c["status"] == "done" and c["cached"] is False and c["seconds"] >= 0 for c in cells)
    assert all(len(c["outputs"]) == 1 and Path(c["outputs"][0]).exists() for c in cells)
    assert len({c["outputs"][0] for c in cells}) == 4
    assert cells[3]["workflow"]["nodes"]["resize"]["inputs"]["width"] == 24
    rows = list(csv.DictReader(open(Path(_done(events)["index"]).with_suffix(".csv"))))
    assert [(r["solid.red"], r["resize.width"]) for r in rows] == [("0.0", "16"), ("0.0", "24"), ("1.0", "16"), ("1.0", "24")]
    assert [r["outputs"] for r in rows] == [c["outputs"][0] for c in cells]
    # run again: same folder, every cell now cached
    events, _ = run_sweep(make_session(), swept([0.0, 1.0], [16, 24]))
    rows = list(csv.DictReader(open(Path(_done(events)["index"]).with_suffix(".csv"))))
    assert {r["cached"] for r in rows} == {"true"}


def test_cli_sweep_ranges_zip_and_errors(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(IMAGE_WORKFLOW))
    base = [sys.executable, "-m", "nodegraph.cli", "run", str(path), "--out", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--events", "jsonl"]

    def run(*extra):
        done = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=300, cwd=tmp_path)
        return done, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    done, events = run("--sweep", "solid.red=0:1:0.5", "--sweep", "resize.width=16,24")
    assert done.returncode == 0, done.stderr
    sweep = next(e for e in events if e["event"] == "sweep")
    assert sweep["cells"] == 6 and sweep["axes"][0]["values"] == [0.0, 0.5, 1.0]
    assert "cell 6/6 done" in done.stderr and "contact sheet" in done.stderr
    done, events = run("--sweep", "solid.red=0,1", "--sweep", "resize.width=16,24", "--zip")
    assert [tuple(e["values"].values()) for e in events if e["event"] == "cell"] == [(0.0, 16), (1.0, 24)]
    done, _ = run("--sweep", "solid.red=0,x")
    assert done.returncode == 2 and "--sweep 'solid.red=0,x'" in done.stderr
    done, _ = run("--sweep", "solid.red=0,2")
    assert done.returncode == 2 and "cell 2 (solid.red=2.0)" in done.stderr
    done, _ = run("--zip")
    assert done.returncode == 2 and "--zip" in done.stderr
