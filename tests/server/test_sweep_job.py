"""A sweep is one durable job: a server killed mid-sweep resumes at the first unfinished cell."""
from __future__ import annotations

import json
import signal
import time

from serverkit import Client, sleeper
from test_durability import _history, _spawn


def test_killed_sweep_resumes_at_first_unfinished_cell(dirs, tmp_path):
    job_wf = sleeper(1.5)
    job_wf["nodes"]["sleep"]["type"] = "TestSteadySleep"
    job_wf["sweep"] = {"axes": [{"node": "sleep", "input": "value", "values": [1, 2, 3, 4]}]}
    log = tmp_path / "server.log"
    proc, port = _spawn(dirs, log)
    try:
        with Client(port) as c:
            job = c.queue(job_wf)["job"]
            cell = c.wait(lambda m: m.get("event") == "cell" and m.get("job") == job and m["done"] == 2, timeout=30)
            assert cell["total"] == 4 and cell["sheet_url"].startswith("/output/sweeps/")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, port = _spawn(dirs, log)
    try:
        with Client(port) as c:
            deadline = time.monotonic() + 40
            while _history(c)[job]["status"] != "success":
                assert time.monotonic() < deadline, _history(c)[job]
                time.sleep(0.1)
            again = _history(c)[job]
            assert again["attempts"] == 2
            # cells 1 and 2 (sleep + show each) come from the cache; cells 3 and 4 run
            assert (again["executed"], again["cached"]) == (4, 4)
            # the record names the sweep's index and sheet: what a reloaded canvas rebuilds its grid from
            note = again["sweep"]
            assert note["cells"] == 4 and [a["values"] for a in note["axes"]] == [[1, 2, 3, 4]]
            assert note["index_url"].startswith("/output/sweeps/sweep-") and note["index_url"].endswith("/index.json")
            assert note["sheet_url"] == note["index_url"].replace("index.json", "sheet.png")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    (index,) = (dirs["output"] / "sweeps").glob("sweep-*/index.json")
    cells = json.loads(index.read_text())["cells"]
    assert [c["status"] for c in cells] == ["done"] * 4
    assert [c["cached"] for c in cells] == [True, True, False, False]
