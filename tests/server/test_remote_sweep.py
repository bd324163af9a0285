"""`nodegraph run --server URL --sweep ...`: one sweep job on the server, its cells streamed and
copied here, the contact sheet and index fetched into the local output folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from serverkit import link, workflow


def _sweep_events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_remote_sweep_streams_cells_and_fetches_the_sheet(server, tmp_path):
    client_side = tmp_path / "client"
    client_side.mkdir()
    path = client_side / "job.json"
    path.write_text(json.dumps(workflow({
        "solid": {"type": "SolidImage", "inputs": {"width": 12, "height": 12, "red": 0.5, "green": 0.1, "blue": 0.1}},
        "resize": {"type": "ResizeImage", "inputs": {"image": link("solid", "image"), "width": 8, "height": 6}},
        "save": {"type": "SaveImage", "inputs": {"images": link("resize", "image"), "prefix": "swept"}}})))
    run = subprocess.run(
        [sys.executable, "-m", "nodegraph.cli", "run", str(path), "--server", f"http://127.0.0.1:{server.port}",
         "--sweep", "solid.red=0,1", "--sweep", "resize.width=8,16", "--out", "got", "--events", "jsonl"],
        capture_output=True, text=True, cwd=client_side, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    seen = _sweep_events(run.stdout)
    (sweep,) = [e for e in seen if e["event"] == "sweep"]
    assert sweep["cells"] == 4 and [a["name"] for a in sweep["axes"]] == ["solid.red", "resize.width"]
    # one job: solid once per red, resize and save once per cell
    ran = [e["node"].split("[")[0] for e in seen if e["event"] == "executed"]
    assert {n: ran.count(n) for n in set(ran)} == {"solid": 2, "resize": 4, "save": 4}
    cells = [e for e in seen if e["event"] == "cell"]
    assert [(c["values"]["solid.red"], c["values"]["resize.width"]) for c in cells] == [
        (0.0, 8), (0.0, 16), (1.0, 8), (1.0, 16)]
    assert [c["done"] for c in cells] == [1, 2, 3, 4]
    for cell in cells:  # each cell's image copied here, the cell's own values in it
        (png,) = cell["outputs"]
        assert png.startswith("got/")
        with Image.open(client_side / png) as image:
            assert image.size == (cell["values"]["resize.width"], 6)
            assert abs(image.getpixel((2, 2))[0] - 255 * cell["values"]["solid.red"]) <= 2
            assert json.loads(image.text["nodegraph.workflow"])["nodes"]["solid"]["inputs"]["red"] == \
                cell["values"]["solid.red"]
    done = seen[-1]
    assert done["event"] == "done" and done["status"] == "success"
    sheet, index = client_side / done["sweep"]["sheet"], client_side / done["sweep"]["index"]
    assert sheet.parent == index.parent and sheet.parent.parent == client_side / "got" / "sweeps"
    assert [c["status"] for c in json.loads(index.read_text())["cells"]] == ["done"] * 4
    with Image.open(sheet) as image:
        page = json.loads(image.text["nodegraph.sweep_sheet"])
    assert page["rows"] == ["solid.red=0.0", "solid.red=1.0"] and page["columns"] == ["resize.width=8", "resize.width=16"]
    assert f"contact sheet {done['sweep']['sheet']}" in run.stderr
